"""A sphinx-gallery image scraper for the Figures that ``fastmlp.plot`` returns.

fastmlp.plot builds its Figures without pyplot, so matplotlib's own scraper (which asks
pyplot for its open figures) never sees them. This one looks through the example's
variables after each code block for Figures it has not shown yet and saves those.
"""
from matplotlib.figure import Figure
from sphinx_gallery.scrapers import figure_rst

_shown = {}  # example file -> the Figures already saved (kept, so that no id is reused)


def figures(block, block_vars, gallery_conf):
    """Save the new Figures among the example's variables; return their reST."""
    seen = _shown.setdefault(block_vars["src_file"], [])
    paths = []
    for value in list(block_vars["example_globals"].values()):
        if isinstance(value, Figure) and not any(value is old for old in seen):
            seen.append(value)
            path = next(block_vars["image_path_iterator"])
            value.savefig(path, dpi=80)
            paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])
