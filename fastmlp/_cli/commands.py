"""What ``fastmlp train``, ``predict`` and ``info`` do (fastmlp.cli parses their arguments).

``train`` saves with the network what ``predict`` needs to apply it to new rows, as the
model file's metadata: the task, the class labels (so that class indices map back to
them), the input columns and target, and the standardisation (the training rows' mean and
standard deviation of each input, and of a regression target). ``predict`` checks that
metadata as strictly as the rest of the file.
"""
from __future__ import annotations

import csv
import math
import os
import sys
import time
from dataclasses import dataclass
from io import StringIO

import numpy as np

from .. import io
from . import tabular
from ..datasets import load_digits, train_test_split
from ..network import MLP
from ..perceptron import Perceptron

TASKS = ("classify", "regress")
# A numeric target with at most this many distinct whole values is taken for class labels.
MAX_GUESSED_CLASSES = 20
# The metadata train saves (info shows any other keys as they are).
TRAIN_METADATA = ("task", "classes", "columns", "target", "target_index", "input_mean", "input_std", "target_mean",
                  "target_std", "training")


# -- train ---------------------------------------------------------------------------------


@dataclass
class Problem:
    """A data set as the train command learns it: inputs, encoded targets (class indices,
    or floats) and what maps them back."""

    source: str
    X: np.ndarray
    y: np.ndarray
    task: str
    classes: np.ndarray | None
    columns: list
    target: str | None
    target_index: int | None


def guess_task(y) -> str:
    """classify for text labels or at most MAX_GUESSED_CLASSES distinct whole numbers, else
    regress."""
    if y.dtype.kind == "U":
        return "classify"
    whole = bool(np.all(y == np.round(y)))
    return "classify" if whole and len(np.unique(y)) <= MAX_GUESSED_CLASSES else "regress"


def problem(data, target, task) -> Problem:
    """The training problem from a file (or the shipped digits when ``data`` is None)."""
    if data is None:
        if target is not None or task == "regress":
            raise ValueError("--target and --task regress go with --data FILE; the digits are a classification task")
        X, labels = load_digits()
        table = tabular.Table(X, labels, [f"pixel {i}" for i in range(X.shape[1])], "digit", None)
        source = "digits"
    else:
        table = tabular.read_training(data, target)
        source = os.path.basename(data)
    task = task or guess_task(table.y)
    if task == "regress":
        if table.y.dtype.kind == "U":
            raise ValueError(f"{data}: the target column {table.target or table.target_index} holds text; "
                             "--task regress needs numbers")
        return Problem(source, table.X, table.y.astype(np.float64), task, None, table.columns, table.target,
                       table.target_index)
    classes, y = np.unique(table.y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{data}: the target has one value, {classes[0]!r}; classification needs two classes or more")
    if classes.dtype.kind == "f" and np.all(classes == np.round(classes)):
        classes = classes.astype(np.int64)
    return Problem(source, table.X, y, task, classes, table.columns, table.target, table.target_index)


def split(p: Problem, test_fraction, seed):
    """Training and held-out rows: stratified by class when classifying, at random else."""
    if p.task == "classify":
        parts = train_test_split(p.X, p.y, test_fraction, seed=seed)
    else:
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
        order = np.random.default_rng(seed).permutation(len(p.X))
        test = np.zeros(len(p.X), dtype=bool)
        test[order[: int(round(test_fraction * len(p.X)))]] = True
        parts = p.X[~test], p.X[test], p.y[~test], p.y[test]
    if len(parts[0]) == 0 or len(parts[1]) == 0:
        raise ValueError(f"{len(p.X)} rows leave no {'held-out' if len(parts[0]) else 'training'} rows at "
                         f"--test-fraction {test_fraction}: give more rows or another fraction")
    return parts


def standardisation(X):
    """Each column's mean and standard deviation (1 where a column is constant)."""
    mean, std = X.mean(axis=0), X.std(axis=0)
    return mean, np.where(std == 0, 1.0, std)


def train(args) -> int:
    if args.save is not None and not os.path.isdir(os.path.dirname(os.path.abspath(args.save))):
        raise ValueError(f"--save {args.save}: the folder {os.path.dirname(os.path.abspath(args.save))} does not exist")
    p = problem(args.data, args.target, args.task)
    X_train, X_test, y_train, y_test = split(p, args.test_fraction, args.seed)
    standardise = args.data is None if args.standardise is None else args.standardise
    mean = std = y_mean = y_std = None
    if standardise:
        mean, std = standardisation(X_train)
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
        if p.task == "regress":
            y_mean, y_std = standardisation(y_train)
            y_train = (y_train - y_mean) / y_std
    classify = p.task == "classify"
    sizes = [p.X.shape[1], *args.hidden, len(p.classes) if classify else 1]
    net = MLP(sizes, activation=args.activation, loss="cross_entropy" if classify else "l2", dtype=args.dtype,
              seed=args.seed, backend=args.backend, n_threads=args.threads)
    print(f"{p.source}: {len(X_train)} training and {len(X_test)} held-out samples; {net!r}")

    def report(epoch, history):
        line = f"epoch {epoch:3d}  loss {history.loss[-1]:.5f}  {history.samples_per_second[-1]:>12,.0f} samples/s"
        if history.val_loss:
            line += f"  val_loss {history.val_loss[-1]:.5f}  val_score {history.val_score[-1]:.4f}"
        print(line)

    validation = args.validation_fraction
    if args.early_stopping and validation is None:
        validation = 0.1
    start = time.perf_counter()
    history = net.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size, eta=args.eta, seed=args.seed,
                      callback=None if args.progress else report, progress=args.progress,
                      optimizer=args.optimizer, l2=args.l2, dropout=args.dropout, update_dropout=args.update_dropout,
                      validation_fraction=validation, early_stopping=args.early_stopping, patience=args.patience)
    seconds = time.perf_counter() - start
    if history.stopped_epoch is not None:
        print(f"stopped early after epoch {history.stopped_epoch}; kept the weights of epoch {history.best_epoch}")
    scores = held_out_scores(net, p.task, X_test, y_test, y_mean, y_std)
    if "accuracy" in scores:
        result = f"held-out accuracy {scores['accuracy']:.4f}"
    else:
        result = f"held-out R^2 {scores['r2']:.4f}, RMSE {scores['rmse']:.6g}"
    print(f"trained {history.epochs} epochs in {seconds:.3f} s; {result}")
    if args.save is not None:
        training = {
            "data": p.source, "samples": len(X_train), "held_out": len(X_test), "epochs": history.epochs,
            "batch_size": args.batch_size, "eta": args.eta, "optimizer": args.optimizer, "l2": args.l2,
            "dropout": args.dropout, "update_dropout": args.update_dropout, "validation_fraction": validation,
            "early_stopping": args.early_stopping, "seed": args.seed, "test_fraction": args.test_fraction,
            **{f"held_out_{name}": value for name, value in scores.items()},
        }
        metadata = {
            "task": p.task, "classes": None if p.classes is None else p.classes.tolist(), "columns": p.columns,
            "target": p.target, "target_index": p.target_index,
            "input_mean": None if mean is None else mean.tolist(), "input_std": None if std is None else std.tolist(),
            "target_mean": None if y_mean is None else float(y_mean), "target_std": None if y_std is None else float(y_std),
            "training": training,
        }
        io.save(net, args.save, metadata=metadata)
        print(f"saved the model to {args.save}")
    return 0


def held_out_scores(net, task, X_test, y_test, y_mean, y_std) -> dict:
    """{"accuracy": ...} for a classifier; {"r2": ..., "rmse": ...} for a regressor, in the
    target's own units (undoing its standardisation)."""
    if task == "classify":
        return {"accuracy": float(np.mean(net.predict(X_test) == y_test))}
    predicted = net.forward(X_test).astype(np.float64)
    if y_std is not None:
        predicted = predicted * y_std + y_mean
    Y = y_test.reshape(-1, 1)
    return {"r2": net.loss.score(predicted, Y), "rmse": math.sqrt(float(np.mean((predicted - Y) ** 2)))}


# -- the metadata predict reads --------------------------------------------------------------


@dataclass
class Saved:
    """A model file's model and the checked metadata that predict and info use."""

    model: object
    header: dict
    task: str
    classes: np.ndarray | None = None
    target: str | None = None
    target_index: int | None = None
    input_mean: np.ndarray | None = None
    input_std: np.ndarray | None = None
    target_mean: float = 0.0
    target_std: float = 1.0

    @property
    def inputs(self) -> int:
        if isinstance(self.model, Perceptron):
            return len(self.model.w) - 1
        return self.model.sizes[0]


def read_model(path) -> Saved:
    """Load a model file and check the metadata train saved with it (if any)."""
    model, header = io.load_with_header(path)
    if isinstance(model, Perceptron) and model.w is None:
        raise ValueError(f"{path}: the perceptron in it was never fitted")
    if not isinstance(model, (MLP, Perceptron)):
        raise ValueError(f"{path}: holds a {header['kind']}; the command line applies MLP and Perceptron models")
    classifier = isinstance(model, Perceptron) or model.loss.classifier
    meta = header["metadata"]
    saved = Saved(model, header, "classify" if classifier else "regress")

    def bad(problem):
        return ValueError(f"{path}: the model's metadata {problem}")

    def numbers(key, length, positive=False):
        value = meta.get(key)
        if value is None:
            return None
        if (not isinstance(value, list) or len(value) != length
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
                or positive and not all(v > 0 for v in value)):
            raise bad(f"{key!r} must be a list of {length} finite{' positive' if positive else ''} numbers")
        return np.array(value, dtype=np.float64)

    task = meta.get("task", saved.task)
    if task != saved.task:
        raise bad(f"says task {task!r}, but the model is a {'classifier' if classifier else 'regressor'}")
    if meta.get("classes") is not None:
        classes = meta["classes"]
        if isinstance(model, Perceptron) or model.loss.name != "cross_entropy":
            raise bad("gives 'classes', which name the outputs of a softmax network")
        if not (isinstance(classes, list) and len(classes) == model.sizes[-1]
                and (all(isinstance(c, str) for c in classes)
                     or all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes))):
            raise bad(f"'classes' must list {model.sizes[-1]} labels, all text or all numbers")
        saved.classes = np.array(classes)
    saved.input_mean = numbers("input_mean", saved.inputs)
    saved.input_std = numbers("input_std", saved.inputs, positive=True)
    if (saved.input_mean is None) != (saved.input_std is None):
        raise bad("gives only one of 'input_mean' and 'input_std'")
    for key in ("target_mean", "target_std"):
        value = meta.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (
                    key == "target_std" and value <= 0):
                raise bad(f"{key!r} must be a finite{' positive' if key == 'target_std' else ''} number")
            if saved.task != "regress" or model.sizes[-1] != 1:
                raise bad(f"gives {key!r} to a model that is not a one-output regressor")
            setattr(saved, key, float(value))
    target, index = meta.get("target"), meta.get("target_index")
    if target is not None and not isinstance(target, str) or index is not None and not (
            isinstance(index, int) and not isinstance(index, bool) and 0 <= index <= saved.inputs):
        raise bad("names its target column by a string 'target' and a column number 'target_index'")
    saved.target, saved.target_index = target, index
    return saved


# -- predict ---------------------------------------------------------------------------------


def predict(args) -> int:
    saved = read_model(args.model)
    X = tabular.read_inputs(args.data, saved.inputs, saved.target, saved.target_index).X
    if saved.input_mean is not None:
        X = (X - saved.input_mean) / saved.input_std
    model = saved.model
    if args.proba:
        if saved.task != "classify" or isinstance(model, Perceptron):
            raise ValueError(f"{args.model}: --proba needs a network trained to classify (softmax or sigmoid outputs)")
        values = model.forward(X)
        if saved.classes is not None:
            columns = [str(c) for c in saved.classes]
        else:
            columns = [f"p{k}" for k in range(values.shape[1])]
    elif saved.task == "classify":
        values = model.predict(X)
        if saved.classes is not None:
            values = saved.classes[values]
        columns = [saved.target or "prediction"]
    else:
        values = model.forward(X).astype(np.float64) * saved.target_std + saved.target_mean
        columns = [saved.target or "prediction"] if values.shape[1] == 1 else [f"output {k}" for k in range(values.shape[1])]
        if values.shape[1] == 1:
            values = values[:, 0]
    write_table(values, columns, args.output)
    return 0


def write_table(values, columns, path) -> None:
    """Predictions to ``path``: .npy (the array) or .csv (a header row, then one row per
    sample), or as CSV to stdout when ``path`` is None. A file is written atomically."""
    if path is not None and not path.lower().endswith((".csv", ".npy")):
        raise ValueError(f"-o {path}: the output must end in .csv or .npy")
    if path is not None and path.lower().endswith(".npy"):
        with io.atomic_write(path) as file:
            np.save(file, values, allow_pickle=False)
        return
    rows = values.reshape(len(values), -1).tolist()
    if path is None:
        _write_csv(sys.stdout, columns, rows)
        return
    text = StringIO()
    _write_csv(text, columns, rows)
    with io.atomic_write(path) as file:
        file.write(text.getvalue().encode("utf-8"))


def _write_csv(stream, columns, rows) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)


# -- info ------------------------------------------------------------------------------------


def info(args) -> int:
    saved = read_model(args.model)
    model, header, meta = saved.model, saved.header, saved.header["metadata"]
    print(f"{args.model}: a fastmlp {header['kind']} (model file format {header['version']})")
    if isinstance(model, MLP):
        layers = ", ".join(f"{d} {_theta(a)}" for d, a in zip(model.sizes[1:], model.activations))
        print(f"architecture: {'-'.join(map(str, model.sizes))} ({model.sizes[0]} inputs; layers 1..{model.L}: {layers})")
        print(f"loss: {model.loss.name}; dtype: {model.dtype.name}; parameters: {model.params.size}; init: {model.init}")
        opt = model.optimizer
        if opt is None:
            print("optimizer: sgd (no state)")
        else:
            settings = ", ".join(f"{key} {value}" for key, value in opt.settings().items())
            print(f"optimizer: {opt.kind} ({settings}) after {opt.t} steps")
    else:
        print(f"perceptron: {len(model.w) - 1} inputs; classes {model.classes.tolist()}; dtype {model.dtype.name}; "
              f"parameters: {model.w.size}")
        print(f"trained {len(model.mistakes)} epochs at eta {model.eta}; "
              f"{'converged' if model.converged else 'did not converge'}")
    if saved.classes is not None:
        print(f"task: classify into {len(saved.classes)} classes: {', '.join(map(str, saved.classes.tolist()))}")
    elif isinstance(model, MLP):
        print(f"task: {saved.task}")
    if meta.get("columns") is not None:
        print(f"inputs: {', '.join(map(str, meta['columns']))}" + (f"; target: {saved.target}" if saved.target else ""))
    if saved.input_mean is not None:
        print("standardised: each input by the training rows' mean and standard deviation"
              + (", and the target" if meta.get("target_std") is not None else ""))
    training = meta.get("training")
    if isinstance(training, dict):
        print("trained with: " + ", ".join(f"{key} {value}" for key, value in training.items()))
    for key, value in meta.items():
        if key not in TRAIN_METADATA:
            print(f"{key}: {value}")
    return 0


def _theta(a) -> str:
    named = ", ".join(f"{k}={v:g}" for k, v in zip(a.kind.defaults, a.params))
    return f"{a.name}({named})" if named else a.name
