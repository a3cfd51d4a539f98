"""Installing from the source tree: the build checks for a C compiler before Cython runs and
names what is missing; a checkout without built kernels says what to run; and the README's
set-up commands leave a clone whose root runs the README's code and bench commands."""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def source_copy(to: pathlib.Path) -> pathlib.Path:
    """The checkout's files as a fresh clone has them: no built kernels, no generated C."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    for name in listed.stdout.splitlines():
        if (ROOT / name).is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, to / name)
    return to


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FASTMLP_BACKEND", "FASTMLP_ISA")}
    env.update(extra)
    return env


def test_a_missing_compiler_stops_the_build_before_cython_with_one_sentence(tmp_path):
    tree = source_copy(tmp_path)
    missing = str(tmp_path / "no-such-cc")
    done = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=tree,
                          env=clean_env(CC=missing), capture_output=True, text=True)
    assert done.returncode != 0
    sentence = (f"error: fastmlp's kernels cannot be built here: the C compiler {missing} does not run; "
                f"install ")
    assert sentence in done.stderr, done.stderr
    assert "or install fastmlp from a wheel, which needs no compiler." in done.stderr
    assert not list((tree / "fastmlp" / "_kernels").glob("*.c"))  # stopped before Cython


def test_a_checkout_without_kernels_says_what_to_run(tmp_path):
    tree = source_copy(tmp_path)
    script = "import fastmlp as fm\nprint('imported')\nfm.MLP([2, 2])"
    done = subprocess.run([sys.executable, "-c", script], cwd=tree, env=clean_env(), capture_output=True, text=True)
    assert done.returncode != 0 and done.stdout == "imported\n"
    assert f"run `pip install -e .` in {tree.resolve()} to build them in place" in done.stderr, done.stderr
    done = subprocess.run([sys.executable, "-c", script + ".backend.name"], cwd=tree,
                          env=clean_env(FASTMLP_BACKEND="reference"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # the reference still runs, as the message says


def readme_setup_commands() -> list:
    """The install commands at the top of the README."""
    block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.S).group(1)
    return [line.split("&&")[0].strip() for line in block.splitlines() if line.startswith("pip install")]


@pytest.mark.slow
def test_the_readme_example_runs_from_the_root_of_a_clone_after_the_readme_set_up(tmp_path):
    # The README's set-up command in a fresh virtual environment (pip, setuptools and the
    # dependencies from this one, so that nothing is downloaded), then its worked example and
    # a bench command from the clone's root, where the source folder shadows any installed copy.
    tree = source_copy(tmp_path / "clone")
    env_dir = tmp_path / "env"
    venv.create(env_dir, system_site_packages=True)
    python = env_dir / "bin" / "python"
    command = readme_setup_commands()[0]
    assert command == "pip install -e ."
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "-e", "."],
                   cwd=tree, env=clean_env(), check=True)
    section = README.read_text().split("## The lecture's worked example", 1)[1]
    code, printed = re.findall(r"```(?:python)?\n(.*?)```", section, flags=re.S)[:2]
    done = subprocess.run([str(python), "-c", code], cwd=tree, env=clean_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == printed.split()
    done = subprocess.run(f"PYTHONPATH=. {python} bench/small_batches.py --base . --sizes 8-4-2 --batches 2 "
                          f"--repeats 1", shell=True, cwd=tree, env=clean_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_package_files_are_the_sources_and_data_without_generated_c_or_warnings(tmp_path):
    tree = source_copy(tmp_path)
    (tree / "fastmlp" / "_kernels" / "_core.c").write_text("/* what an in-place build leaves */\n")
    done = subprocess.run([sys.executable, "setup.py", "build_py", "--build-lib", "lib"], cwd=tree, env=clean_env(),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "absent from the `packages` configuration" not in done.stderr + done.stdout
    lib = tree / "lib" / "fastmlp"
    kernels = {p.name for p in (lib / "_kernels").iterdir()}
    assert {"_core.pyx", "_core.pyi", "small_batches.pxi", "column_blocks.h", "portable.h"} <= kernels
    assert not [name for name in kernels if name.endswith(".c")]
    assert (lib / "datasets" / "data" / "digits.csv.gz").is_file() and (lib / "py.typed").is_file()
