"""The command line: the main job on the shipped digits, and the benchmark's smoke run."""
import re

import pytest

from fastmlp.cli import main


def test_train_reports_every_epoch_and_a_held_out_accuracy(capsys):
    assert main(["train", "--epochs", "3", "--hidden", "32"]) == 0
    out = capsys.readouterr().out
    epochs = re.findall(r"^epoch +(\d+) +loss ([\d.]+) +([\d,]+) samples/s$", out, flags=re.M)
    assert [int(e) for e, _, _ in epochs] == [1, 2, 3]
    losses = [float(loss) for _, loss, _ in epochs]
    assert losses[2] < losses[0]
    accuracy = float(re.search(r"held-out accuracy ([\d.]+)", out).group(1))
    assert 0.85 < accuracy <= 1.0  # 3 epochs of a 64-32-10 net on the digits


def test_train_takes_the_training_options(capsys):
    argv = ["train", "--epochs", "2", "--batch-size", "16", "--eta", "0.05", "--optimizer", "adam", "--l2", "1e-4",
            "--dropout", "0.2", "--update-dropout", "0.1"]
    assert main(argv) == 0
    accuracy = float(re.search(r"held-out accuracy ([\d.]+)", capsys.readouterr().out).group(1))
    assert 0.85 < accuracy <= 1.0
    assert main(["train", "--dropout", "1.5"]) == 2
    assert "dropout must lie in [0, 1)" in capsys.readouterr().err


def test_train_rejects_bad_settings_with_a_message(capsys):
    assert main(["train", "--eta", "-1"]) == 2
    assert "eta must be a finite number >= 0" in capsys.readouterr().err


def test_bench_quick_smoke_run(capsys):
    assert main(["bench", "--quick", "--workloads", "W1", "--peers", "fastmlp,numpy"]) == 0
    out = capsys.readouterr().out
    assert "W1" in out and "numpy" in out


def test_unknown_command_exits_with_usage():
    with pytest.raises(SystemExit):
        main(["fly"])
