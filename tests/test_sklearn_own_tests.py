"""scikit-learn's own tests of its MLP, run against fastmlp's estimators.

The installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py`` and the
``sklearn/conftest.py`` whose fixtures it uses are copied at run time into a temporary
directory; only the line ``from sklearn.neural_network import MLPClassifier, MLPRegressor``
is changed, to import fastmlp's estimators. The copy runs in one pytest subprocess, and
each of its test functions is one test here, failing with the failures of its cases. So
the drop-in is held to whatever scikit-learn version is installed. Nothing of
scikit-learn's is kept in this repository.

The few tests that reach into scikit-learn's private internals are excused (EXCUSED, with
the reason and the test of ours that makes the same check through the public API).
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import pytest

import fastmlp

sklearn = pytest.importorskip("sklearn")

from fastmlp.estimators import MLPClassifier  # noqa: E402

ORIGINAL_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
OUR_IMPORT = "from fastmlp.estimators import MLPClassifier, MLPRegressor"

# scikit-learn's tests that set or read its estimators' private attributes, which fastmlp's
# estimators do not have; each check is made through the public API in test_sklearn_twins.py.
EXCUSED = {
    "test_fit": "sets the private momentum buffers _coef_velocity by hand; the same worked example is "
                "test_sklearn_twins.py::test_one_sgd_step_from_set_weights_is_the_worked_example",
    "test_gradient": "calls the private _loss_grad_lbfgs; the same finite-difference check is "
                     "test_sklearn_twins.py::test_the_lbfgs_objective_gradient_matches_finite_differences",
    "test_learning_rate_warmstart": "reads the private _optimizer.learning_rate; the same rates are checked "
                                    "through the weights in test_sklearn_twins.py::"
                                    "test_a_warm_refit_leaves_the_rate_partial_fit_goes_on_with",
    "test_adaptive_learning_rate": "reads the private _optimizer.learning_rate; the same stop below 1e-6 is "
                                   "test_sklearn_twins.py::test_adaptive_divides_the_rate_until_below_1e_6",
}


def _sparse_input() -> bool:
    return bool(MLPClassifier().__sklearn_tags__().input_tags.sparse)


def _poisson_loss() -> bool:
    from fastmlp.estimators import MLPRegressor

    try:
        MLPRegressor(loss="poisson", hidden_layer_sizes=1, solver="lbfgs", max_iter=1).fit([[0.0], [1.0]], [1, 2])
    except ValueError as exc:
        return not str(exc).startswith("loss must be")
    return True


# Tests of features fastmlp's estimators declare they lack: they run once the estimators
# take sparse input (their sparse input tag) and loss="poisson".
NEEDS = {
    "test_sparse_matrices": (_sparse_input, "the estimators do not take sparse X (input_tags.sparse is False)"),
    "test_mlp_vs_poisson_glm_equivalent": (_poisson_loss, "MLPRegressor refuses loss='poisson'"),
}


def _installed(relative: str) -> Path:
    return Path(sklearn.__file__).parent / relative


TEST_FILE = _installed("neural_network/tests/test_mlp.py")
CONFTEST = _installed("conftest.py")
MISSING = [str(path) for path in (TEST_FILE, CONFTEST) if not path.is_file()]


def _test_names() -> list:
    """The names of the test functions in the installed test file, in its order."""
    if MISSING:
        return []
    tree = ast.parse(TEST_FILE.read_text(encoding="utf-8"))
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test")]


@dataclass
class Case:
    """One test case of the run (a test function, or one of its parametrisations)."""

    name: str
    outcome: str  # "passed", "failed" or "skipped"
    message: str = ""


def swapped_copy(directory: Path) -> Path:
    """Copy the test file and scikit-learn's conftest.py into ``directory``, the test file
    with its one import of the estimators changed to fastmlp's; returns the test file."""
    source = TEST_FILE.read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    matching = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == ORIGINAL_IMPORT]
    assert len(matching) == 1, f"{TEST_FILE} should have the line {ORIGINAL_IMPORT!r} once"
    lines[matching[0]] = OUR_IMPORT + "\n"
    shutil.copyfile(CONFTEST, directory / "conftest.py")
    copy = directory / TEST_FILE.name
    copy.write_text("".join(lines), encoding="utf-8")
    return copy


def run(directory: Path, leave_out) -> dict:
    """Run the swapped copy in a pytest subprocess that imports the fastmlp this process
    imported; returns {test function name: [Case, ...]}."""
    copy = swapped_copy(directory)
    report = directory / "report.xml"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(fastmlp.__file__).parents[1]),
                                                      env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull,
               "--rootdir", str(directory), f"--junitxml={report}", copy.name]
    command += [f"--deselect={copy.name}::{name}" for name in leave_out]
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=1800)
    if not report.is_file():
        pytest.fail(f"scikit-learn's test file did not run (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    cases = {}
    for testcase in ElementTree.parse(report).iter("testcase"):
        name = testcase.get("name")
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            found = testcase.find(kind)
            if found is not None:
                outcome = "skipped" if kind == "skipped" else "failed"
                message = f"{found.get('message', '')}\n{found.text or ''}".strip()
                break
        cases.setdefault(name.split("[")[0], []).append(Case(name, outcome, message))
    if not cases:
        pytest.fail(f"scikit-learn's test file ran no tests (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return cases


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if MISSING:
        pytest.skip(f"scikit-learn's MLP tests are not installed here: {', '.join(MISSING)} missing")
    leave_out = set(EXCUSED) | {name for name, (supported, _) in NEEDS.items() if not supported()}
    return run(tmp_path_factory.mktemp("sklearn_own_tests"), sorted(leave_out))


@pytest.mark.parametrize("name", _test_names() or ["(the test file)"])
def test_scikit_learn_test_passes(name, results):
    """Every case of scikit-learn's test function ``name`` passes with fastmlp's estimators."""
    if name in EXCUSED:
        pytest.skip(f"excused: {EXCUSED[name]}")
    if name in NEEDS and not NEEDS[name][0]():
        pytest.skip(f"not yet run: {NEEDS[name][1]}")
    cases = results.get(name)
    assert cases, f"{name} did not run"
    failed = [case for case in cases if case.outcome == "failed"]
    assert not failed, "\n\n".join(f"{case.name}:\n{case.message}" for case in failed)
    if all(case.outcome == "skipped" for case in cases):
        pytest.skip(f"scikit-learn's test skipped itself: {cases[0].message}")


def test_the_excused_tests_exist():
    """Every excused or feature-gated name is one of the installed file's tests, so the
    lists stay current."""
    if MISSING:
        pytest.skip(f"scikit-learn's MLP tests are not installed here: {', '.join(MISSING)} missing")
    names = set(_test_names())
    assert set(EXCUSED) <= names and set(NEEDS) <= names
