"""scikit-learn's gallery scripts that use its MLP print, warn and draw the same with the
import changed to fastmlp's estimators (see sklearn_gallery.py for where the scripts come
from; without them these tests skip). Slow (minutes): run with pytest -m slow."""
from __future__ import annotations

import os

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

import sklearn_gallery as gallery  # noqa: E402

# Scripts whose drawings are allowed to differ, and why. plot_mlp_alpha fits with L-BFGS
# for 10-700 iterations; last-bit differences in the gradient grow through the iterations
# (1e-16 in the weights after 5, 1e-10 after 50, 1e-6 to 1e-5 after 100 on its third data
# set at alpha 0.1), so long fits end apart and some contours and test accuracies move.
# scikit-learn does the same against itself: with OpenBLAS's generic kernels (OTHER_KERNELS)
# instead of the ones it picks for the CPU (AVX-512 on an AMD EPYC), 10 of the 15 fits end
# after other iteration counts, weights up to 55% of the largest apart, and one accuracy
# moves (.900 to .875), the one that moves with fastmlp. What it prints and warns must
# still be the same; test_scikit_learn_moves_against_itself keeps the excuse honest.
ROUNDING_GROWS = {"plot_mlp_alpha"}


@pytest.fixture(scope="module")
def folder():
    found = gallery.examples_folder()
    if found is None:
        pytest.skip("scikit-learn's examples are not here: set FASTMLP_SKLEARN_EXAMPLES (see tests/sklearn_gallery.py)")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", gallery.SCRIPTS)
def test_the_script_prints_warns_and_draws_the_same(name, folder, tmp_path):
    script = folder / gallery.SCRIPTS[name]
    theirs, ours = gallery.run(script, False, tmp_path), gallery.run(script, True, tmp_path)
    found = gallery.differences(theirs, ours)
    if name in ROUNDING_GROWS:
        found = [f for f in found if not f.startswith("figure ")]
        assert len(theirs["drawn"]) == len(ours["drawn"])
    assert not found, "\n".join(found)


def _openblas_architecture() -> str | None:
    """The core type of the OpenBLAS numpy uses on an x86-64 CPU, or None."""
    import platform

    from threadpoolctl import threadpool_info

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    import numpy  # noqa: F401  (loads its BLAS for threadpoolctl to find)

    found = [i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"]
    return found[0] if found else None


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ROUNDING_GROWS))
def test_scikit_learn_moves_against_itself(name, folder, tmp_path):
    """A script excused for rounding draws differently in scikit-learn alone when only the
    BLAS kernels, and so the rounding of the same products, change."""
    if _openblas_architecture() in (None, gallery.OTHER_KERNELS):
        pytest.skip("needs numpy on OpenBLAS on x86-64 picking kernels other than OTHER_KERNELS")
    script = folder / gallery.SCRIPTS[name]
    first = gallery.run(script, False, tmp_path)
    second = gallery.run(script, False, tmp_path, gallery.OTHER_KERNELS)
    found = gallery.differences(first, second)
    assert found and all(f.startswith("figure ") for f in found), found


def test_a_run_uses_the_kernels_it_is_given(tmp_path):
    script = tmp_path / "kernels.py"
    script.write_text("import os\nprint(os.environ.get('OPENBLAS_CORETYPE'))\n")
    assert gallery.run(script, False, tmp_path, "Haswell")["printed"] == "Haswell\n"
    assert gallery.run(script, False, tmp_path)["printed"] == f"{os.environ.get('OPENBLAS_CORETYPE')}\n"


def test_only_the_import_changes():
    source = "import numpy as np\nfrom sklearn.neural_network import MLPClassifier\nMLPClassifier()\n"
    assert gallery.swapped(source) == source.replace("sklearn.neural_network", "fastmlp.estimators")
    with pytest.raises(ValueError, match="expected one import"):
        gallery.swapped("from sklearn.neural_network import MLPClassifier, MLPRegressor\n")
