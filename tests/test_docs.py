"""The documentation's code runs and prints what it says: every Python block of the pages in
docs/ (each page's blocks in order, in one namespace, in a fresh directory), every printed
result shown after a block, the command-line transcript of the user guide, and every
example in the public modules' docstrings (doctest)."""
import contextlib
import doctest
import importlib
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
    "fastmlp.compat.nielsen", "fastmlp.compat.nielsen2", "fastmlp.datasets", "fastmlp.datasets.toy", "fastmlp.progress",
    "fastmlp.reference",
]


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
