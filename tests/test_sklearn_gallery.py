"""scikit-learn's gallery scripts that use its MLP print, warn and draw the same with the
import changed to fastmlp's estimators (see sklearn_gallery.py for where the scripts come
from; without them these tests skip). Slow (minutes): run with pytest -m slow."""
from __future__ import annotations

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

import sklearn_gallery as gallery  # noqa: E402

# Scripts whose drawings are allowed to differ, and why. plot_mlp_alpha fits with L-BFGS
# for 100-600 iterations; the last-bit differences between fastmlp's gradient and numpy's
# grow through the iterations (1e-16 in the weights after 5, 1e-10 after 40, 1e-4 after
# 100 on its first data set at alpha 0.1), so long fits end apart and some contours and
# one test accuracy of the 15 move. What it prints and warns must still be the same.
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


def test_only_the_import_changes():
    source = "import numpy as np\nfrom sklearn.neural_network import MLPClassifier\nMLPClassifier()\n"
    assert gallery.swapped(source) == source.replace("sklearn.neural_network", "fastmlp.estimators")
    with pytest.raises(ValueError, match="expected one import"):
        gallery.swapped("from sklearn.neural_network import MLPClassifier, MLPRegressor\n")
