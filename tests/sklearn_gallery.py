"""scikit-learn's gallery scripts that use its MLP, run as shipped and with only the import
of the estimators changed to fastmlp's; what each run prints, warns and draws, compared.

scikit-learn's examples come with its source distribution, not its wheel. Unpack the
sdist of the installed version and point FASTMLP_SKLEARN_EXAMPLES at its ``examples``
folder, or copy that folder to ~/.cache/fastmlp/scikit-learn-<version>/examples:

    pip download --no-binary :all: --no-deps scikit-learn==<version> -d /tmp/skl-sdist
    python tests/sklearn_gallery.py [EXAMPLES]   # prints a table: which scripts agree
    python tests/sklearn_gallery.py --against-itself [EXAMPLES]

(pip download prepares the package's metadata, which takes minutes; the unpacked tree it
leaves in its temporary folder is enough.) tests/test_sklearn_gallery.py runs the same
comparison when the examples are there, and skips otherwise. Nothing of scikit-learn's is
kept in this repository.

With ``--against-itself`` the table compares scikit-learn with itself instead: each script
as shipped, once with the BLAS kernels OpenBLAS picks for this CPU and once with its generic
x86-64 ones (OPENBLAS_CORETYPE, see OTHER_KERNELS). Both compute the same products and
differ only in rounding, so a script that disagrees there draws numbers that no
implementation of the same arithmetic can be expected to reproduce to the last digit.

Each run is a fresh interpreter with matplotlib's Agg backend and numpy's and Python's
global generators seeded (some of the scripts' other estimators draw from them). It
records the standard output, every warning that gets past the script's own filters (what
would reach stderr), and the data of every artist on every figure: lines, collections
(points, contour paths, colour values), images and texts.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPTS = {
    "plot_classifier_comparison": "classification/plot_classifier_comparison.py",
    "plot_partial_dependence_visualization_api": "inspection/plot_partial_dependence_visualization_api.py",
    "plot_mlp_training_curves": "neural_networks/plot_mlp_training_curves.py",
    "plot_mlp_alpha": "neural_networks/plot_mlp_alpha.py",
}
IMPORT = re.compile(r"^from sklearn\.neural_network import (MLPClassifier|MLPRegressor)$", re.MULTILINE)
# Two computations that agree to rounding draw the same within this (contour paths are
# interpolated from the decision function, which magnifies rounding near a level).
DRAWN = {"rtol": 1e-6, "atol": 1e-9}
# OpenBLAS core type whose kernels every x86-64 CPU runs (SSE3). Its products add their terms
# in another order than the AVX2 and AVX-512 kernels OpenBLAS picks on today's CPUs.
OTHER_KERNELS = "Prescott"


def examples_folder() -> Path | None:
    """The scikit-learn examples folder (see the module docstring), or None."""
    import sklearn

    given = os.environ.get("FASTMLP_SKLEARN_EXAMPLES")
    folder = Path(given) if given else Path.home() / ".cache" / "fastmlp" / f"scikit-learn-{sklearn.__version__}" / \
        "examples"
    return folder if all((folder / path).is_file() for path in SCRIPTS.values()) else None


def swapped(source: str) -> str:
    """The script with its import of scikit-learn's MLP estimators changed to fastmlp's."""
    changed, count = IMPORT.subn(r"from fastmlp.estimators import \1", source)
    if count != 1:
        raise ValueError(f"expected one import of scikit-learn's MLP estimators, found {count}")
    return changed


def _drawn(figure) -> list:
    """[(kind, data), ...] for every artist on the figure's axes, in drawing order."""
    from matplotlib.collections import Collection
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    found = []
    for axes in figure.axes:
        found.append(("title", axes.get_title()))
        for artist in axes.get_children():
            if isinstance(artist, Line2D):
                found.append(("line", np.asarray(artist.get_xydata(), dtype=float).tolist()))
            elif isinstance(artist, Collection):
                values = artist.get_array()
                found.append(("offsets", np.asarray(artist.get_offsets(), dtype=float).tolist()))
                found.append(("values", None if values is None else np.asarray(values, dtype=float).ravel().tolist()))
                found.append(("paths", [np.asarray(path.vertices, dtype=float).tolist() for path in artist.get_paths()]))
            elif isinstance(artist, AxesImage):
                found.append(("image", np.asarray(artist.get_array(), dtype=float).tolist()))
            elif isinstance(artist, Text) and artist.get_text():
                found.append(("text", artist.get_text()))
    return found


def _run_here(script: Path, swap: bool, out: Path) -> None:
    """Run ``script`` in this interpreter and write what it printed, warned and drew."""
    import contextlib
    import io
    import random
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.show = lambda *args, **kwargs: None
    np.random.seed(0)
    random.seed(0)
    shown = []

    def record(message, category, filename, lineno, file=None, line=None):
        shown.append(f"{category.__name__}: {message}")

    warnings.showwarning = record
    source = script.read_text(encoding="utf-8")
    code = compile(swapped(source) if swap else source, str(script), "exec")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {"__name__": "__main__", "__file__": str(script)})
    drawn = [_drawn(plt.figure(number)) for number in plt.get_fignums()]
    out.write_text(json.dumps({"printed": printed.getvalue(), "warnings": shown, "drawn": drawn}))


def run(script: Path, swap: bool, workdir: Path, coretype: str | None = None) -> dict:
    """Run ``script`` (with the import swapped if ``swap``) in a fresh interpreter that
    imports the fastmlp this one imported; returns what it printed, warned and drew.
    ``coretype`` names the OpenBLAS kernels that interpreter uses (OPENBLAS_CORETYPE);
    None leaves the environment's choice as it is."""
    import fastmlp

    out = workdir / f"{script.stem}{'-swapped' if swap else ''}{'-' + coretype if coretype else ''}.json"
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONWARNINGS", "MPLBACKEND")}
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(fastmlp.__file__).parents[1]), env.get("PYTHONPATH")]))
    command = [sys.executable, __file__, "--run-one", str(script), str(out)] + (["--swap"] if swap else [])
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{script.name}{' (swapped)' if swap else ''} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(out.read_text())


def differences(theirs: dict, ours: dict) -> list:
    """What differs between two runs' records (empty if they agree)."""
    found = []
    if theirs["printed"] != ours["printed"]:
        found.append(f"printed:\n--- scikit-learn\n{theirs['printed']}\n--- fastmlp\n{ours['printed']}")
    if theirs["warnings"] != ours["warnings"]:
        found.append(f"warnings: scikit-learn {theirs['warnings']}, fastmlp {ours['warnings']}")
    if len(theirs["drawn"]) != len(ours["drawn"]):
        return found + [f"figures: {len(theirs['drawn'])} against {len(ours['drawn'])}"]
    for number, (a, b) in enumerate(zip(theirs["drawn"], ours["drawn"]), start=1):
        if len(a) != len(b):
            found.append(f"figure {number}: {len(a)} artists' data against {len(b)}")
            continue
        for (kind, x), (kind_b, y) in zip(a, b):
            if kind != kind_b or not _same(x, y):
                found.append(f"figure {number}: {kind} differs")
                break
    return found


def _same(x, y) -> bool:
    if isinstance(x, str) or x is None or y is None:
        return x == y
    if isinstance(x, list) and x and isinstance(x[0], list) and isinstance(x[0][0], list):  # paths
        return len(x) == len(y) and all(_same(p, q) for p, q in zip(x, y))
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, equal_nan=True, **DRAWN)


def main(argv) -> int:
    if argv[:1] == ["--run-one"]:
        _run_here(Path(argv[1]), "--swap" in argv, Path(argv[2]))
        return 0
    against_itself = argv[:1] == ["--against-itself"]
    argv = argv[1:] if against_itself else argv
    folder = Path(argv[0]) if argv else examples_folder()
    if folder is None:
        print(__doc__)
        return 2
    import tempfile

    print("| script | agrees | differences |\n|---|---|---|")
    with tempfile.TemporaryDirectory() as workdir:
        for name, path in SCRIPTS.items():
            first = run(folder / path, False, Path(workdir))
            second = run(folder / path, False, Path(workdir), OTHER_KERNELS) if against_itself else \
                run(folder / path, True, Path(workdir))
            found = differences(first, second)
            print(f"| {name} | {'yes' if not found else 'no'} | {'; '.join(f.splitlines()[0] for f in found)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
