"""The command line on the user's own data: train --data ... --save, predict, info and
example as subprocesses, and every mistake as one line on stderr with a non-zero exit."""
import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import io as fio
from fastmlp.cli import main


def run(*args, cwd):
    """``python -m fastmlp ARGS`` in ``cwd`` with this checkout importable; (code, stdout, stderr)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(fm.__file__)), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-m", "fastmlp", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    return done.returncode, done.stdout, done.stderr


def circle_csv(path, n=240, seed=0):
    """Two coordinates and whether the point lies inside a circle, with a header row."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 2))
    labels = np.where((X**2).sum(axis=1) < 1.5, "inside", "outside")
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["x1", "x2", "where"])
        writer.writerows([[f"{a:.4f}", f"{b:.4f}", label] for (a, b), label in zip(X, labels)])
    return X.round(4), labels


def wave_csv(path, n=300, seed=1):
    """Three inputs and y = sin(2 x1) + x2 x3, without a header row."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3)).round(5)
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.5f")
    return X, y.round(5)


def test_train_save_predict_info_on_a_csv_of_labels(tmp_path):
    X, labels = circle_csv(tmp_path / "circle.csv")
    code, out, err = run("train", "--data", "circle.csv", "--hidden", "8", "--epochs", "20", "--eta", "0.05",
                         "--standardise", "--save", "model.npz", cwd=tmp_path)
    assert code == 0, err
    assert re.search(r"^circle\.csv: 180 training and 60 held-out samples", out, flags=re.M)
    accuracy = float(re.search(r"held-out accuracy ([\d.]+)", out).group(1))
    assert 0.8 < accuracy <= 1.0
    model, header = fio.load_with_header(tmp_path / "model.npz")
    meta = header["metadata"]
    assert meta["classes"] == ["inside", "outside"] and meta["columns"] == ["x1", "x2"] and meta["target"] == "where"
    assert abs(meta["training"]["held_out_accuracy"] - accuracy) <= 5e-5  # printed to 4 decimals

    # predict applies the saved standardisation and maps class indices back to the labels.
    expected = np.array(meta["classes"])[model.predict((X - meta["input_mean"]) / np.array(meta["input_std"]))]
    code, out, err = run("predict", "model.npz", "circle.csv", cwd=tmp_path)  # the target column is dropped
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "where" and lines[1:] == expected.tolist()
    assert np.mean(expected == labels) > 0.8

    code, _, err = run("predict", "model.npz", "circle.csv", "--proba", "-o", "proba.csv", cwd=tmp_path)
    assert code == 0, err
    proba = np.loadtxt(tmp_path / "proba.csv", delimiter=",", skiprows=1)
    assert (tmp_path / "proba.csv").read_text().splitlines()[0] == "inside,outside"
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.array(meta["classes"])[proba.argmax(axis=1)], expected)

    code, out, err = run("info", "model.npz", cwd=tmp_path)
    assert code == 0, err
    assert "architecture: 2-8-2" in out and "parameters: 42" in out and "dtype: float64" in out
    assert "classify into 2 classes: inside, outside" in out and "data circle.csv" in out and "epochs 20" in out


def test_regression_on_a_csv_without_header_and_predictions_to_npy(tmp_path):
    X, y = wave_csv(tmp_path / "wave.csv")
    code, out, err = run("train", "--data", "wave.csv", "--hidden", "16", "--epochs", "30", "--eta", "0.02",
                         "--standardise", "--save", "wave.npz", cwd=tmp_path)
    assert code == 0, err
    assert "225 training and 75 held-out" in out and "loss='l2'" in out  # the task was guessed: regress
    r2, rmse = map(float, re.search(r"held-out R\^2 ([-\d.]+), RMSE ([\d.e-]+)", out).groups())
    assert r2 > 0.9 and rmse < 0.2
    np.save(tmp_path / "X.npy", X)
    code, _, err = run("predict", "wave.npz", "X.npy", "-o", "y.npy", cwd=tmp_path)
    assert code == 0, err
    predicted = np.load(tmp_path / "y.npy")
    model, header = fio.load_with_header(tmp_path / "wave.npz")
    meta = header["metadata"]
    by_hand = model.forward((X - meta["input_mean"]) / np.array(meta["input_std"]))[:, 0] * meta["target_std"]
    np.testing.assert_allclose(predicted, by_hand + meta["target_mean"], rtol=1e-12)
    assert np.sqrt(np.mean((predicted - y) ** 2)) < 0.2


def test_train_on_an_npz_with_validation_and_early_stopping(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(int) + 2 * (X[:, 2] > 0)  # four classes 0..3
    np.savez(tmp_path / "four.npz", X=X, y=y)
    code, out, err = run("train", "--data", "four.npz", "--epochs", "200", "--early-stopping", "--patience", "3",
                         "--threads", "1", "--batch-size", "8", "--eta", "0.2", "--optimizer", "adam", cwd=tmp_path)
    assert code == 0, err
    assert "val_loss" in out and re.search(r"stopped early after epoch \d+; kept the weights of epoch \d+", out)
    assert float(re.search(r"held-out accuracy ([\d.]+)", out).group(1)) > 0.6


def test_example_prints_the_lecture_values(tmp_path):
    code, out, err = run("example", cwd=tmp_path)
    assert code == 0, err
    # The lecture's values (notes and DESIGN.md), at the end of each step's line.
    for pattern in [r"s_a = .* = -1$", r"f_a = x_a = max\(0, s_a\) = 0$", r"f_b = x_b = max\(0, s_b\) = 3$",
                    r"h\(x\) = f_c = 0\.875$", r"l = 1/2 \(h\(x\) - y\)\^2 = 1/2 \(0\.875 - 2\)\^2 = 0\.6328125$",
                    r"delta_c = .* = -1\.125$", r"delta_b = .* = -0\.140625$", r"delta_a = .* = 0$",
                    r"w_3b <- w_3b - eta x_3 delta_b = 0\.25 - 0\.1 \* 4 \* \(-0\.140625\) = 0\.30625$"]:
        assert re.search(pattern, out, flags=re.M), pattern


def test_example_is_computed_by_the_network(monkeypatch):
    """Change the lecture's input and the printed values follow: nothing is written in."""
    from fastmlp._cli import example as _example

    monkeypatch.setattr(_example, "X", [2.0, 0.0, 0.0])
    text = "\n".join(_example.worked_example("reference"))
    # s_a = 1 + 0.25 * 2 = 1.5, s_b = 1 + 0.5 * 2 = 2, s_c = 0.5 + 0.5 * 1.5 + 0.125 * 2 = 1.5
    assert re.search(r"h\(x\) = f_c = 1\.5$", text, flags=re.M)
    assert re.search(r"= 1/2 \(1\.5 - 2\)\^2 = 0\.125$", text, flags=re.M)


# -- mistakes: one line on stderr, exit status 2, no traceback --------------------------------


def test_a_mistake_in_a_subprocess_is_one_line_without_traceback(tmp_path):
    (tmp_path / "model.npz").write_bytes(b"not a model")
    for args in (["predict", "model.npz", "data.csv"], ["train", "--data", "missing.csv"]):
        code, out, err = run(*args, cwd=tmp_path)
        assert code == 2 and out == ""
        assert len(err.splitlines()) == 1 and err.startswith("fastmlp: error: ") and "Traceback" not in err


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A folder with a trained circle model and data files, as the working directory."""
    monkeypatch.chdir(tmp_path)
    circle_csv(tmp_path / "circle.csv", n=80)
    assert main(["train", "--data", "circle.csv", "--hidden", "4", "--epochs", "2", "--standardise",
                 "--save", "model.npz"]) == 0
    wave_csv(tmp_path / "wave.csv", n=40)
    return tmp_path


MISTAKES = [
    (["train", "--data", "missing.csv"], "missing.csv: No such file or directory"),
    (["predict", "missing.npz", "circle.csv"], "missing.npz: No such file or directory"),
    (["info", "circle.csv"], "circle.csv: not a model file"),
    (["predict", "model.npz", "wave.csv"], "wave.csv: has 4 columns; the model takes 2 inputs (or 3 with the target"),
    (["predict", "model.npz", "circle.csv", "-o", "out.txt"], "the output must end in .csv or .npy"),
    (["train", "--data", "circle.csv", "--target", "nope"], "circle.csv: has no column 'nope'; its columns are x1, x2"),
    (["train", "--data", "circle.csv", "--target", "5"], "has 3 columns; --target 5 is out of range"),
    (["train", "--data", "circle.csv", "--task", "regress"], "holds text; --task regress needs numbers"),
    (["train", "--target", "3"], "--target and --task regress go with --data FILE"),
    (["train", "--data", "circle.csv", "--save", "nowhere/model.npz"], "the folder"),
    (["train", "--data", "circle.csv", "--test-fraction", "1.5"], "test_fraction must lie strictly between 0 and 1"),
    (["train", "--data", "circle.csv", "--validation-fraction", "2"], "validation_fraction"),
]


@pytest.mark.parametrize("argv, message", MISTAKES, ids=[" ".join(a) for a, _ in MISTAKES])
def test_each_mistake_is_one_line_naming_it(files, capsys, argv, message):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("fastmlp: error: ") and len(captured.err.splitlines()) == 1
    assert message in captured.err


BAD_CSVS = {
    "ragged.csv": ("x1,x2,y\n1,2,a\n3,4\n", "ragged.csv, line 3: has 2 cells; expected 3, as in the header"),
    "text.csv": ("x1,x2,y\n1,2,a\n3,four,b\n", "text.csv, line 3: 'four' in column x2 is not a finite number"),
    "empty_cell.csv": ("1,2,0\n3,,1\n", "empty_cell.csv, line 2: the cell in column column 1 is empty"),
    "nan.csv": ("1,2,0\nnan,3,1\n", "nan.csv, line 2: 'nan' in column column 0 is not a finite number"),
    "empty.csv": ("", "empty.csv: has no rows"),
    "header_only.csv": ("a,b,c\n", "header_only.csv: has a header but no rows of data"),
    "one_column.csv": ("1\n2\n", "one_column.csv: has one column"),
    "twice.csv": ("a,a,y\n1,2,0\n", "the header names a column twice"),
    "binary.csv": (bytes(range(256)) * 4, "binary.csv: not a text (UTF-8) CSV file"),
    "one_class.csv": ("1,2,0\n3,4,0\n", "the target has one value"),
}


@pytest.mark.parametrize("name", BAD_CSVS)
def test_bad_csv_files_are_refused_with_their_line(files, capsys, name):
    content, message = BAD_CSVS[name]
    (files / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["train", "--data", name]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_a_model_file_failing_the_checks_is_one_line(files, capsys):
    model, header = fio.load_with_header(files / "model.npz")
    for meta_edit, message in [({"classes": ["only one"]}, "'classes' must list 2 labels"),
                               ({"input_std": [1.0, 0.0]}, "'input_std' must be a list of 2 finite positive numbers"),
                               ({"target_mean": 1.0}, "not a one-output regressor")]:
        fio.save(model, files / "edited.npz", metadata={**header["metadata"], **meta_edit})
        assert main(["predict", "edited.npz", "circle.csv"]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.splitlines()) == 1
    data = (files / "model.npz").read_bytes()
    (files / "cut.npz").write_bytes(data[: len(data) // 2])
    assert main(["info", "cut.npz"]) == 2
    assert "cut.npz: not a model file" in capsys.readouterr().err


def test_a_model_saved_from_python_predicts_class_indices(files, capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), rng.integers(0, 3, 30)
    net = fm.MLP([2, 3, 3], loss="cross_entropy", seed=0)
    net.fit(X, y, epochs=2)
    net.save("plain.npz", metadata={"note": "made in a notebook"})
    np.save("X.npy", X)
    assert main(["predict", "plain.npz", "X.npy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction" and [int(v) for v in lines[1:]] == net.predict(X).tolist()
    assert main(["info", "plain.npz"]) == 0
    assert "note: made in a notebook" in capsys.readouterr().out


def test_guess_task():
    from fastmlp._cli.commands import guess_task

    assert guess_task(np.array(["a", "b"])) == "classify"
    assert guess_task(np.arange(20.0)) == "classify"
    assert guess_task(np.arange(21.0)) == "regress"
    assert guess_task(np.array([0.5, 1.0])) == "regress"


def test_probabilities_to_npy(files):
    assert main(["predict", "model.npz", "circle.csv", "--proba", "-o", "p.npy"]) == 0
    proba = np.load(files / "p.npy")
    assert proba.shape == (80, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_numeric_labels_come_back_as_they_were_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 2)).round(3)
    labels = np.where(X[:, 0] > 0, 7, 3)
    np.savetxt("sevens.csv", np.column_stack([X, labels]), delimiter=",", fmt=["%.3f", "%.3f", "%d"])
    assert main(["train", "--data", "sevens.csv", "--hidden", "4", "--epochs", "20", "--eta", "0.05",
                 "--save", "sevens.npz"]) == 0
    assert float(re.search(r"held-out accuracy ([\d.]+)", capsys.readouterr().out).group(1)) > 0.9
    assert main(["predict", "sevens.npz", "sevens.csv"]) == 0  # four columns: the last, the target, is dropped
    predicted = capsys.readouterr().out.splitlines()
    assert predicted[0] == "prediction" and set(predicted[1:]) == {"3", "7"}
    assert np.mean(np.array(predicted[1:], dtype=int) == labels) > 0.9


def test_train_with_progress_draws_the_bar_on_stderr_instead_of_epoch_lines(tmp_path):
    code, out, err = run("train", "--epochs", "3", "--hidden", "16", "--progress", cwd=tmp_path)
    assert code == 0, err
    assert re.search(r"3/3.*loss [\d.]+", err), err  # tqdm's bar, or the plain one
    assert not re.search(r"^epoch +\d+ +loss", out, flags=re.M)
    assert "held-out accuracy" in out
