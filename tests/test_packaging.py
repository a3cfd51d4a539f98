"""What the sdist and wheel carry besides code: the licence and the digits' attribution."""
import fnmatch
import pathlib

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_licence_files_exist_and_say_what_pyproject_says():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    meta = project["project"]
    assert meta["license"] == "BSD-3-Clause"
    for name in meta["license-files"]:
        assert (ROOT / name).is_file(), name
    licence = (ROOT / "LICENSE").read_text()
    assert "BSD 3-Clause License" in licence and "Copyright (c) 2026, the fastmlp developers" in licence


def test_the_digits_attribution_ships_as_package_data():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    attribution = ROOT / "fastmlp/datasets/data/README.rst"
    assert "fastmlp/datasets/data/README.rst" in project["project"]["license-files"]
    globs = project["tool"]["setuptools"]["package-data"]["fastmlp.datasets"]
    assert any(fnmatch.fnmatch("data/README.rst", glob) for glob in globs)
    text = attribution.read_text()
    assert "https://doi.org/10.24432/C50P49" in text and "CC BY 4.0" in text and "Alpaydin" in text
