"""The documentation's code runs and prints what it says: every Python block of the pages in
docs/ (each page's blocks in order, in one namespace, in a fresh directory), every printed
result shown after a block, the command-line transcript of the user guide, every example
in the public modules' docstrings (doctest), and, for every name the API reference
documents, an example that runs, the shapes of X and y, and no pointer to a private module."""
import contextlib
import doctest
import importlib
import inspect
import io
import os
import pathlib
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastmlp as fm

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
# A block right after a line "% not run: <why>" is shown only; these are the only ones.
NOT_RUN = {"guide/nielsen.md": 1, "guide/threads.md": 1}
BLOCK = re.compile(r"(?:^(?P<skip>[ ]*% not run: .*)\n)?^(?P<indent>[ ]*)```python\n(?P<code>.*?)^(?P=indent)```\n"
                   r"(?:\n(?P=indent)```text\n(?P<printed>.*?)^(?P=indent)```\n)?", flags=re.S | re.M)

PUBLIC_MODULES = [
    "fastmlp", "fastmlp.network", "fastmlp.training", "fastmlp.trace", "fastmlp.perceptron", "fastmlp.activations",
    "fastmlp.losses", "fastmlp.schedules", "fastmlp.io", "fastmlp.onnx", "fastmlp.plot", "fastmlp.estimators",
    "fastmlp.compat.columns", "fastmlp.compat.nielsen", "fastmlp.compat.nielsen2", "fastmlp.datasets",
    "fastmlp.datasets.toy", "fastmlp.progress", "fastmlp.reference", "fastmlp.cli",
]
# An autodoc directive of docs/api/*.rst with its options, and the members conf.py excludes.
DIRECTIVE = re.compile(r"^\.\. (auto\w+|currentmodule)::[ ]*(\S+)\n((?:[ ]+:[\w-]+:.*\n)*)", flags=re.M)
EXCLUDED = {"set_fit_request", "set_partial_fit_request", "set_score_request"}
PRIVATE = re.compile(r"fastmlp[./]_[a-z]\w*")  # a private module, by name or by path


def blocks(page):
    """[(code, printed or None, skipped)] of a page, code dedented."""
    found = []
    for m in BLOCK.finditer(page.read_text()):
        strip = len(m["indent"])
        code = "".join(line[strip:] + "\n" for line in m["code"].splitlines())
        printed = m["printed"] and "".join(line[strip:] + "\n" for line in m["printed"].splitlines())
        found.append((code, printed, bool(m["skip"])))
    return found


def test_every_page_is_found_and_the_shown_only_blocks_are_the_known_ones():
    assert len(PAGES) >= 20
    skipped = {p.relative_to(DOCS).as_posix(): sum(s for _, _, s in blocks(p)) for p in PAGES}
    assert {k: v for k, v in skipped.items() if v} == NOT_RUN


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=lambda p: p.relative_to(DOCS).as_posix())
def test_the_pages_code_runs_and_prints_what_the_page_shows(page, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for code, printed, skipped in blocks(page):
        if skipped:
            compile(code, str(page), "exec")  # shown only, but at least Python
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("ignore", fm.ConvergenceWarning)
            exec(compile(code, str(page), "exec"), namespace)
        if printed is not None:
            assert out.getvalue().split() == printed.split(), code


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_docstring_examples(name):
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    if name == "fastmlp.onnx":
        pytest.importorskip("onnx")
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.ConvergenceWarning)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def _resolve(target):
    """The object a dotted name such as "fastmlp.estimators.MLPClassifier.fit" names."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            found = getattr(found, part)
        return found
    raise ImportError(target)


def _class_members(cls, names, inherited):
    """[(name, object)] of the methods and properties autodoc shows for ``cls``: those named
    in ``names`` (inherited ones too), or else the public ones with a docstring that it
    defines itself, or that it or a base class but ``object`` defines if ``inherited``."""
    found = []
    owners = [c for c in cls.__mro__ if c is not object] if inherited else [cls]
    for name in names if names is not None else dict.fromkeys(n for c in owners for n in vars(c)):
        raw = inspect.getattr_static(cls, name)
        member = getattr(cls, name)
        if names is None and (name.startswith("_") or name in EXCLUDED or not inspect.getdoc(member)
                              or not (callable(member) or isinstance(raw, property))):
            continue
        found.append((f"{cls.__module__}.{cls.__qualname__}.{name}", raw if isinstance(raw, property) else member))
    return found


def documented_names(pages):
    """[(name, object)] of the functions, classes, methods and properties that the autodoc
    directives of the rst ``pages`` (texts) document, chosen as autodoc chooses them:
    ``automodule`` with an empty ``:members:`` takes the module's ``__all__`` (or, without
    one, the public names it defines), with each class's members (and its bases' with
    ``:inherited-members:``); ``:members: a, b`` takes those; a class directive without
    ``:members:`` only the class."""
    found = []
    for page in pages:
        current = "fastmlp"
        for kind, target, options in DIRECTIVE.findall(page):
            if kind == "currentmodule":
                current = target
                continue
            options = dict(re.findall(r":([\w-]+):[ ]*(.*)", options))
            members, inherited = options.get("members"), "inherited-members" in options
            names = [m.strip() for m in members.split(",")] if members else None
            target = target if target.startswith("fastmlp") else f"{current}.{target}"
            found_object = _resolve(target)
            if kind != "automodule":
                found.append((target, found_object))
                if inspect.isclass(found_object) and members is not None:
                    found += _class_members(found_object, names, inherited)
                continue
            if members is None:
                continue
            module = found_object
            if names is None:
                names = getattr(module, "__all__", None) or [
                    n for n, v in vars(module).items()
                    if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__]
            for name in names:
                value = getattr(module, name)
                if callable(value) and not inspect.ismodule(value) and inspect.getdoc(value):
                    found.append((f"{module.__name__}.{name}", value))
                    if inspect.isclass(value):
                        found += _class_members(value, None, inherited)
    return found


def without_examples(pages):
    """The names of ``documented_names(pages)`` whose docstring has no example that the
    doctests of PUBLIC_MODULES run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = {inspect.cleandoc(test.docstring) for name in PUBLIC_MODULES
               for test in doctest.DocTestFinder().find(importlib.import_module(name)) if test.examples}
    return [name for name, value in documented_names(pages)
            if "Examples\n--------" not in (inspect.getdoc(value) or "") or inspect.getdoc(value) not in run]


def test_every_name_in_the_api_reference_has_an_example_that_the_doctests_run():
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    pytest.importorskip("onnx")
    pages = [page.read_text() for page in sorted((DOCS / "api").glob("*.rst"))]
    names = dict(documented_names(pages))
    # The directives are read as autodoc reads them: members listed, all of a module's, a class's.
    for name in ("fastmlp.MLP", "fastmlp.network.MLP.fit", "fastmlp.network.MLP.params", "fastmlp.load",
                 "fastmlp.network.epochs_in_order", "fastmlp.estimators.MLPClassifier.predict_proba",
                 "fastmlp.schedules.constant", "fastmlp.compat.nielsen2.Network.cost", "fastmlp.datasets.xor",
                 "fastmlp.compat.nielsen.Network.feedforward"):
        assert name in names, name
    assert not any(name.endswith(("set_fit_request", "MLPRegressor.score")) for name in names)
    assert without_examples(pages) == []


def _parameters(doc):
    """{name: (its type, its description)} of a numpydoc docstring's Parameters section."""
    section = re.search(r"^Parameters\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, flags=re.S | re.M)
    entries = {}
    for line in section[1].splitlines() if section else []:
        if line and not line[0].isspace():
            names, _, kind = line.partition(" : ")
            text = []
            entries.update((name.strip(), (kind, text)) for name in names.split(","))
        elif entries:
            text.append(line.strip())
    return {name: (kind, " ".join(text)) for name, (kind, text) in entries.items()}


def data_without_shapes(pages):
    """The names of ``documented_names(pages)`` taking X, Y or y whose Parameters section
    gives it no shape or length (nor points to where one is given, "As for ...") and no
    number type: one float has no shape."""
    found = []
    for name, value in documented_names(pages):
        try:
            taken = inspect.signature(value.fget if isinstance(value, property) else value).parameters
        except (TypeError, ValueError):
            continue
        entries = _parameters(inspect.getdoc(value) or "")
        for data in ("X", "Y", "y"):
            kind, text = entries.get(data, ("", ""))
            given = re.search(r"shape|length|As for", f"{kind} {text}") or kind in ("float", "int")
            if data in taken and not given:
                found.append(f"{name}({data})")
    return found


def test_the_api_references_functions_give_the_shapes_of_x_and_y():
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    pytest.importorskip("onnx")
    pages = [page.read_text() for page in sorted((DOCS / "api").glob("*.rst"))]
    assert data_without_shapes(pages) == []
    kind, _ = _parameters(inspect.getdoc(fm.MLP.fit))["X"]
    assert kind == "array-like or scipy.sparse matrix of shape (n_samples, d^(0))"


def private_pointers(pages):
    """(name, what it names) for each docstring on the rst ``pages`` (the modules' of the
    automodule directives too) that names a private module."""
    modules = [(target, _resolve(target)) for page in pages for kind, target, _ in DIRECTIVE.findall(page)
               if kind == "automodule"]
    return [(name, m[0]) for name, value in modules + documented_names(pages)
            for m in PRIVATE.finditer(inspect.getdoc(value) or "")]


def test_the_api_reference_points_to_no_private_module():
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    pytest.importorskip("onnx")
    assert private_pointers([page.read_text() for page in sorted((DOCS / "api").glob("*.rst"))]) == []
    page = ".. automodule:: fastmlp.network\n\n.. autoclass:: fastmlp._engine.feeding.InOrder\n"
    assert private_pointers([page]) == [("fastmlp._engine.feeding.InOrder", "fastmlp._engine")]


def test_the_checks_find_a_missing_example_and_a_missing_shape():
    page = ".. currentmodule:: fastmlp\n\n.. autofunction:: fastmlp._checks.seed\n\n.. autoclass:: MLP\n"
    assert [name for name, _ in documented_names([page])] == ["fastmlp._checks.seed", "fastmlp.MLP"]
    assert without_examples([page]) == ["fastmlp._checks.seed"]
    # Functions taking X and Y: one with their shapes in its Parameters, one without a Parameters section.
    pages = [".. autofunction:: fastmlp.network.epoch_in_order\n",
             ".. autofunction:: fastmlp._engine.feeding.epoch_in_order\n"]
    assert data_without_shapes(pages) == ["fastmlp._engine.feeding.epoch_in_order(X)",
                                          "fastmlp._engine.feeding.epoch_in_order(Y)"]


def _steps(block):
    """[(command, printed lines)] of a shell transcript."""
    found = []
    for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
        command, *printed = chunk.rstrip("\n").split("\n")
        found.append((command, printed))
    return found


def test_the_command_line_transcript(tmp_path):
    """The user guide's train / info / predict session runs and prints what it shows (timings,
    samples/s and the backend's name aside), and its mistakes exit with status 2."""
    text = (DOCS / "guide" / "cli.md").read_text()
    block, mistakes = re.findall(r"```console\n(.*?)```", text, flags=re.S)[:2]
    script = re.search(r"\$ python - <<'EOF'\n(.*?)\nEOF\n", block, flags=re.S).group(1)
    commands, mistakes = _steps(block.split("\nEOF\n", 1)[1]), _steps(mistakes)
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(pathlib.Path(fm.__file__).parent.parent), env.get("PYTHONPATH", "")])

    def shell(command):
        return subprocess.run(command.replace("fastmlp ", f"{sys.executable} -m fastmlp "), shell=True, cwd=tmp_path,
                              env=env, capture_output=True, text=True)

    for command, printed in commands:
        done = shell(command)
        assert done.returncode == 0, done.stderr
        out = done.stdout.splitlines()
        if command.startswith("fastmlp train"):
            assert out[0].split("backend=")[0] == printed[0].split("backend=")[0]
            seconds = r"in [\d.]+ s"
            assert re.sub(seconds, "", out[-2]) == re.sub(seconds, "", printed[-2]) and out[-1] == printed[-1]
        elif command.endswith("cat proba.csv"):
            assert out[0] == printed[0]
            np.testing.assert_allclose(np.loadtxt(out[1:], delimiter=","), np.loadtxt(printed[1:], delimiter=","),
                                       rtol=1e-6, atol=1e-9)
        else:
            assert out == printed, command
    assert mistakes
    for command, printed in mistakes:
        done = shell(command)
        assert done.returncode == 2 and done.stderr.splitlines() == printed
