"""Sphinx configuration of the fastmlp documentation: ``bash .ci/docs`` builds it.

The pages are Markdown (MyST), the API reference comes from the numpydoc docstrings, the
gallery scripts in ``examples/`` run at build time (sphinx-gallery), and the lecture's
figures are drawn by ``fastmlp.plot`` into ``_generated/`` when the build starts.
"""
import pathlib
import sys

import fastmlp

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # make_figures and gallery_scraper beside this file

import make_figures  # noqa: E402

project = "fastmlp"
author = "the fastmlp authors"
copyright = "the fastmlp authors"
release = fastmlp.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "examples", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.md5", "auto_examples/*.codeobj.json", "sg_execution_times.rst"]
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"fastmlp {release}"
html_static_path = []

autodoc_member_order = "bysource"
# scikit-learn adds metadata-routing methods to every estimator; they are its, not fastmlp's.
autodoc_default_options = {"exclude-members": "set_fit_request,set_partial_fit_request,set_score_request"}
autodoc_typehints = "none"  # the numpydoc Parameters sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "image_scrapers": ("gallery_scraper.figures",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
}


def draw_figures(app):
    """The lecture's figures, drawn by fastmlp.plot at the start of every build."""
    make_figures.draw_all(HERE / "_generated")


def setup(app):
    app.connect("builder-inited", draw_figures)
