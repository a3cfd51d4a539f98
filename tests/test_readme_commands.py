"""The README's command-line example runs and prints what the README shows (timings,
samples/s and the backend's name aside)."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np

import fastmlp as fm

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def steps(block):
    """[(command, printed lines)] of a shell transcript."""
    found = []
    for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
        command, *printed = chunk.rstrip("\n").split("\n")
        found.append((command, printed))
    return found


def transcript():
    """(the Python that writes the CSV, the commands' steps, the mistakes' steps) from the README."""
    section = README.read_text().split("## The command line on your own data", 1)[1]
    block, mistakes = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[:2]
    script = re.search(r"\$ python - <<'EOF'\n(.*?)\nEOF\n", block, flags=re.S).group(1)
    return script, steps(block.split("\nEOF\n", 1)[1]), steps(mistakes)


def test_the_readme_train_save_predict_example(tmp_path):
    script, commands, mistakes = transcript()
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
    for command, printed in mistakes:
        done = shell(command)
        assert done.returncode == 2 and done.stderr.splitlines() == printed
