"""Only fastmlp/estimators.py touches the estimators' private names: the other modules (the
fit loop, model files, io, onnx, the command line) go through their parameters, fitted
attributes and public methods (``to_state``, ``from_state``)."""
import ast
import pathlib

import pytest

import fastmlp as fm

PACKAGE = pathlib.Path(fm.__file__).resolve().parent
ESTIMATORS = PACKAGE / "estimators.py"
# Reading or calling getattr(obj, "_name"), setattr, hasattr and delattr reach a name too.
BY_TEXT = {"getattr", "setattr", "hasattr", "delattr"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def estimator_private_names() -> set:
    """The private names estimators.py defines: its module's functions, classes and constants,
    its classes' methods and class attributes, and the attributes its code sets on objects."""
    tree = ast.parse(ESTIMATORS.read_text())
    names = set()
    bodies = [tree.body] + [node.body for node in tree.body if isinstance(node, ast.ClassDef)]
    for body in bodies:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return {name for name in names if _private(name)}


def reaches(source: str, private: set) -> list:
    """Where ``source`` uses a name of ``private`` on an object other than its own ``self``
    or ``cls``, by attribute, by getattr-like text, or by importing it from the estimators."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in private and not (
                isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append(f"line {node.lineno}: .{node.attr}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BY_TEXT
              and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value in private):
            found.append(f"line {node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "estimators":
            found += [f"line {node.lineno}: import {alias.name}" for alias in node.names if _private(alias.name)]
    return found


def test_the_estimators_private_names_are_found():
    private = estimator_private_names()
    assert {"_network", "_loop", "_binarizer", "_is_classifier", "_check_params", "_theta", "_out_activation",
            "_export", "_MLPEstimator"} <= private
    assert not any(name.endswith("__") for name in private)


@pytest.mark.parametrize("source", [
    "net = est._network()",
    "rate = est._loop.learning_rate",
    "est._export()",
    "if cls_._is_classifier: pass",
    "kind = getattr(est, '_binarizer').y_type_",
    "from fastmlp.estimators import _MLPEstimator",
    "from ..estimators import _label_binarizer",
])
def test_a_reach_into_the_estimators_is_caught(source):
    assert reaches(source, estimator_private_names())


@pytest.mark.parametrize("source", [
    "state = est.to_state()",
    "est = cls.from_state(state)",
    "n = est.n_iter_ + est.t_",
    "class Loop:\n    def step(self):\n        return self._loop",
    "lock = net._lock",
])
def test_public_names_and_a_class_of_its_own_are_not_a_reach(source):
    assert not reaches(source, estimator_private_names())


def test_no_module_but_estimators_py_uses_the_estimators_private_names():
    private = estimator_private_names()
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path != ESTIMATORS:
            places = reaches(path.read_text(), private)
            if places:
                found[str(path.relative_to(PACKAGE))] = places
    assert not found, found
