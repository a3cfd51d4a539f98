"""The README: one page whose code runs (the worked example printing what the README says
it prints), whose two commands are the ones CI runs, and whose links lead to pages that
exist."""
import contextlib
import io
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_worked_example_prints_the_lecture_values():
    text = README.read_text()
    section = text.split("## The lecture's worked example", 1)[1]
    code, printed = re.findall(r"```(?:python)?\n(.*?)```", section, flags=re.S)[:2]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().split() == printed.split()


def test_every_python_block_runs_in_order():
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for code in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S):
            exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["labels"].shape == (1797,) and namespace["h"].shape == (1797, 10)


def test_one_page_that_opens_with_the_two_commands_ci_runs():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    commands = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1).splitlines()
    assert commands == ['pip install -e . && fastmlp train', 'pip install -e ".[test,crosscheck]" && pytest']
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_links_lead_to_files_that_exist():
    links = re.findall(r"\]\(((?!https?:)[^)#]+)", README.read_text())
    assert len(links) >= 10
    for link in links:
        assert (ROOT / link).is_file(), link
