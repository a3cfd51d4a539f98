"""The command line on files a user really has: predict finds a model's inputs by name in a
CSV with a header (any order, extra columns left out, a missing one refused by name); class
labels are kept exactly (beyond int64, beyond 2^53); a missing regression target is refused
by its line; train standardises by default; and the small things: clear one-line errors
for odd metadata, a folder given to --save, a closed pipe, and --version."""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from test_cli_data import circle_csv

import fastmlp as fm
from fastmlp import io as fio
from fastmlp._version import __version__
from fastmlp.cli import main


def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def circle(tmp_path, monkeypatch, capsys):
    """A circle model trained on x1, x2 -> where, and its training points, in the working directory."""
    monkeypatch.chdir(tmp_path)
    X, labels = circle_csv(tmp_path / "circle.csv", n=120)
    assert main(["train", "--data", "circle.csv", "--hidden", "6", "--epochs", "15", "--eta", "0.05",
                 "--save", "model.npz"]) == 0
    capsys.readouterr()
    return X, labels


def predictions(capsys, data, code=0):
    assert main(["predict", "model.npz", data]) == code
    captured = capsys.readouterr()
    return captured.out.splitlines()[1:] if code == 0 else captured.err


def test_predict_finds_the_inputs_by_name(circle, capsys):
    X, _ = circle
    write_csv("in_order.csv", ["x1", "x2"], X.tolist())
    expected = predictions(capsys, "in_order.csv")
    assert set(expected) == {"inside", "outside"}
    write_csv("swapped.csv", ["x2", "x1"], X[:, ::-1].tolist())
    assert predictions(capsys, "swapped.csv") == expected
    write_csv("with_id.csv", ["id", "x2", "where", "x1"],
              [[k, b, "?", a] for k, (a, b) in enumerate(X.tolist())])
    assert predictions(capsys, "with_id.csv") == expected


def test_a_header_without_a_model_input_is_refused_by_name(circle, capsys):
    X, _ = circle
    write_csv("lacking.csv", ["x1", "y2"], X.tolist())
    err = predictions(capsys, "lacking.csv", code=2)
    assert err.startswith("fastmlp: error: lacking.csv: the header lacks the model's input column 'x2'")
    assert len(err.splitlines()) == 1


def test_a_file_without_a_header_goes_by_position_with_or_without_the_target(circle, capsys):
    X, labels = circle
    write_csv("in_order.csv", ["x1", "x2"], X.tolist())
    expected = predictions(capsys, "in_order.csv")
    write_csv("bare.csv", None, X.tolist())
    assert predictions(capsys, "bare.csv") == expected
    write_csv("bare_with_target.csv", None, [[a, b, label] for (a, b), label in zip(X.tolist(), labels)])
    assert predictions(capsys, "bare_with_target.csv") == expected


def test_train_standardises_by_default_and_no_standardise_opts_out(circle, capsys):
    header = fio.load_with_header("model.npz")[1]
    assert header["metadata"]["input_mean"] is not None and header["metadata"]["input_std"] is not None
    assert main(["train", "--data", "circle.csv", "--epochs", "1", "--no-standardise", "--save", "raw.npz"]) == 0
    assert fio.load_with_header("raw.npz")[1]["metadata"]["input_mean"] is None


@pytest.mark.parametrize("labels", [
    ["10000000000000000000", "30000000000000000000"],  # beyond int64
    ["1e19", "3e19"],
    ["9007199254740993", "9007199254740992"],  # 2^53 + 1 and 2^53: one float64
    ["-9223372036854775809", "18446744073709551616"],
], ids=["beyond-int64", "exponents", "beyond-2^53", "both-ends"])
def test_class_labels_are_kept_exactly(tmp_path, monkeypatch, capsys, labels):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)).round(4)
    y = (X[:, 0] > 0).astype(int)
    write_csv("big.csv", ["a", "b", "label"], [[a, b, labels[k]] for (a, b), k in zip(X.tolist(), y)])
    assert main(["train", "--data", "big.csv", "--epochs", "5", "--save", "model.npz"]) == 0
    assert "held-out accuracy" in capsys.readouterr().out
    classes = fio.load_with_header("model.npz")[1]["metadata"]["classes"]
    assert sorted(classes) == sorted(int(float(v)) if "e" in v else int(v) for v in labels)
    write_csv("new.csv", ["a", "b"], X.tolist())
    out = predictions(capsys, "new.csv")
    assert set(out) <= {str(c) for c in classes} and len(set(out)) == 2


def test_labels_that_merge_as_float64_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_csv("close.csv", ["a", "label"], [[k, "0.1" if k % 2 else "0.10000000000000000001"] for k in range(20)])
    assert main(["train", "--data", "close.csv", "--task", "classify"]) == 2
    err = capsys.readouterr().err
    assert "the class labels 0.10000000000000000001 and 0.1 differ but are the same float64" in err


@pytest.mark.parametrize("missing", ["nan", "NaN", "inf"])
def test_a_missing_regression_target_is_refused_naming_its_line(tmp_path, monkeypatch, capsys, missing):
    monkeypatch.chdir(tmp_path)
    rows = [[k, 0.5 * k + 100.25 + k % 7] for k in range(90)]
    rows[40][1] = missing
    write_csv("prices.csv", ["size", "price"], rows)
    assert main(["train", "--data", "prices.csv"]) == 2
    err = capsys.readouterr().err
    assert err == (f"fastmlp: error: prices.csv, line 42: the target {missing!r} in column price is not a finite number "
                   "(missing targets are not supported: remove the row or fill it in)\n")


def offset_csv(path, n=400, seed=3):
    """y = 100 + 3 x1 - 2 x2: a target whose mean is far from 0."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2)).round(4)
    write_csv(path, ["x1", "x2", "y"], [[a, b, round(100 + 3 * a - 2 * b, 4)] for a, b in X.tolist()])


def test_held_out_regression_scores_are_in_the_targets_own_units(tmp_path, monkeypatch, capsys):
    """The held-out predictions are unstandardised (times the target's std, plus its mean)
    before scoring: with a target around 100, leaving out the mean scores R^2 far below 0."""
    monkeypatch.chdir(tmp_path)
    offset_csv(tmp_path / "offset.csv")
    assert main(["train", "--data", "offset.csv", "--hidden", "8", "--epochs", "30", "--eta", "0.02"]) == 0
    r2, rmse = map(float, re.search(r"held-out R\^2 ([-\d.]+), RMSE ([\d.e+-]+)", capsys.readouterr().out).groups())
    assert r2 > 0.95 and rmse < 0.5


# -- clear errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("key, value", [("input_mean", [10**400, 0]), ("input_std", [1, 10**400]),
                                        ("target_mean", 10**400), ("target_std", -(10**400))])
@pytest.mark.parametrize("command", ["info", "predict"])
def test_a_huge_integer_in_the_metadata_is_one_line(tmp_path, monkeypatch, capsys, key, value, command):
    monkeypatch.chdir(tmp_path)
    write_csv("in.csv", ["a", "b"], [[0.5, 1.0]])
    fio.save(fm.MLP([2, 3, 1], seed=0), "model.npz", metadata={key: value})
    assert main([command, "model.npz", *(["in.csv"] if command == "predict" else [])]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fastmlp: error: model.npz: the model's metadata {key!r} must be") and err.count("\n") == 1


def test_save_to_a_folder_names_the_folder_not_a_temporary_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    circle_csv(tmp_path / "circle.csv", n=40)
    (tmp_path / "models").mkdir()
    assert main(["train", "--data", "circle.csv", "--epochs", "1", "--save", "models"]) == 2
    err = capsys.readouterr().err
    assert err == f"fastmlp: error: --save models: is a folder; give the model file's name, e.g. models/model.npz\n"
    assert list((tmp_path / "models").iterdir()) == []


def test_io_save_onto_a_folder_names_the_folder(tmp_path):
    with pytest.raises(OSError) as info:
        fm.MLP([2, 1]).save(tmp_path)
    assert info.value.filename == str(tmp_path) and ".tmp" not in str(info.value)


@pytest.mark.parametrize("rows, read_first", [(400, True), (1, False)], ids=["head-1", "closed-at-once"])
def test_predict_into_a_closed_pipe_ends_quietly(tmp_path, capsys, monkeypatch, rows, read_first):
    """As ``fastmlp predict ... | head -1``: the reader goes away after the first line of
    24,000 (more than a pipe holds), or before a short output is flushed."""
    monkeypatch.chdir(tmp_path)
    X, _ = circle_csv(tmp_path / "circle.csv", n=60)
    assert main(["train", "--data", "circle.csv", "--epochs", "1", "--save", "model.npz"]) == 0
    write_csv("many.csv", ["x1", "x2"], np.tile(X, (rows, 1)).tolist())
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(fm.__file__)))
    process = subprocess.Popen([sys.executable, "-m", "fastmlp", "predict", "model.npz", "many.csv"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if read_first:
        assert process.stdout.readline() == b"where\n"
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert err == ""


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"fastmlp {__version__}\n"
