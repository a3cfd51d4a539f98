"""The public surface: what `import fastmlp` and a network show, the real signatures of fit
and partial_fit, and an import graph whose arrows never point back up."""
import ast
import inspect
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm

PACKAGE = pathlib.Path(fm.__file__).resolve().parent
README = pathlib.Path(__file__).resolve().parent.parent / "README.md"

# What a user sees on a network: the lecture's quantities, the settings and the methods.
NETWORK_NAMES = {
    "L", "activations", "backend", "copy", "dtype", "fit", "forward", "gradient", "init", "initialise", "loss",
    "loss_value", "n_threads", "optimizer", "params", "partial_fit", "predict", "rng", "save", "set_weights", "sgd_step",
    "sizes", "to_onnx", "trace", "weights",
}
# The modules a user may import by name: the design's rooms and the teaching reference.
PUBLIC_MODULES = {
    "activations", "datasets", "io", "losses", "network", "perceptron", "progress", "reference", "schedules", "trace",
    "training",
}


def readme_public_names():
    section = README.read_text().split("## Public names", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`fm\.(\w+)`", section))


def test_all_is_what_the_readme_documents():
    assert set(fm.__all__) == readme_public_names()
    for name in fm.__all__:
        assert hasattr(fm, name), name


def test_import_fastmlp_shows_public_names_and_public_modules_only(tmp_path):
    # In a fresh interpreter: other tests import more modules (the command line, say).
    script = ("import types, fastmlp; print(*(f'{n} {isinstance(getattr(fastmlp, n), types.ModuleType)}' "
              "for n in dir(fastmlp) if not n.startswith('_')), sep='\\n')")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout  # cwd: import the package under test, not the sources
    listed = dict(line.split() for line in out.splitlines())
    shown, modules = set(listed), {name for name, module in listed.items() if module == "True"}
    assert modules <= PUBLIC_MODULES, f"internal modules on the package: {sorted(modules - PUBLIC_MODULES)}"
    assert shown - modules <= set(fm.__all__)


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_a_network_shows_only_the_users_names(backend):
    net = fm.MLP([3, 2, 1], backend=backend)
    assert {name for name in dir(net) if not name.startswith("_")} == NETWORK_NAMES


def test_fit_and_partial_fit_show_every_option_as_keyword_only():
    net = fm.MLP([3, 2, 1])
    fit = inspect.signature(net.fit).parameters
    assert list(fit)[:2] == ["X", "y"]
    options = [p for p in fit.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert len(options) == len(fit) - 2 and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in fit.values())
    for name in fit:  # every option is explained in the docstring help() shows
        assert f"{name}" in net.fit.__doc__ or name in ("X", "y"), name
    partial = inspect.signature(net.partial_fit).parameters
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in partial.values())
    assert set(partial) - {"eta"} <= set(fit) and "epochs" not in partial


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_misspelt_option_is_a_type_error_naming_it(method):
    net = fm.MLP([3, 2, 1])
    before = net.params.copy()
    with pytest.raises(TypeError, match="epoch_count"):
        getattr(net, method)(np.zeros((4, 3)), np.zeros(4), epoch_count=3)
    np.testing.assert_array_equal(net.params, before)


def _module_name(path):
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def _imports(path, modules):
    """The fastmlp modules that the module at ``path`` imports, at any depth of its code
    (``from . import x`` depends on the module x, ``from . import MLP`` on the package)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            module = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != name}


def test_no_module_imports_one_that_imports_it_back():
    paths = list(PACKAGE.rglob("*.py"))
    modules = {_module_name(path) for path in paths + list(PACKAGE.rglob("*.pyx"))}  # kernels import nothing above
    graph = {_module_name(path): _imports(path, modules) for path in paths}
    assert "fastmlp.training" in graph["fastmlp.network"]  # the walk sees imports

    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return path + [start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [cycle for cycle in map(cycle_from, graph) if cycle]
    assert not cycles, cycles
