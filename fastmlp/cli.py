"""Command line: ``fastmlp train`` (the main job, on the shipped digits) and ``fastmlp bench``."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _train(args) -> int:
    from . import MLP
    from .datasets import load_digits, train_test_split

    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, args.test_fraction, seed=args.seed)
    # Standardise each pixel with the training set's statistics (constant pixels stay 0).
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1.0
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

    sizes = [X.shape[1], *args.hidden, 10]
    net = MLP(sizes, activation=args.activation, loss="cross_entropy", dtype=args.dtype, seed=args.seed,
              backend=args.backend)
    print(f"digits: {len(X_train)} training and {len(X_test)} held-out samples; {net!r}")

    def report(epoch, history):
        print(f"epoch {epoch:3d}  loss {history.loss[-1]:.5f}  {history.samples_per_second[-1]:>12,.0f} samples/s")

    start = time.perf_counter()
    net.fit(X_train, y_train, epochs=args.epochs, batch_size=args.batch_size, eta=args.eta, seed=args.seed,
            callback=report, optimizer=args.optimizer, l2=args.l2, dropout=args.dropout,
            update_dropout=args.update_dropout)
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(net.predict(X_test) == y_test))
    print(f"trained {args.epochs} epochs in {seconds:.3f} s; held-out accuracy {accuracy:.4f}")
    return 0


def _batch_size(text: str):
    return None if text.lower() in ("none", "full") else int(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fastmlp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train an MLP on the shipped UCI digits and report held-out accuracy")
    train.add_argument("--hidden", type=int, nargs="+", default=[64], help="hidden layer widths (default: 64)")
    train.add_argument("--activation", default="tanh", help="hidden theta (default: tanh)")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--batch-size", type=_batch_size, default=1, help="1 (per-sample SGD), k, or 'full'")
    train.add_argument("--eta", type=float, default=0.01, help="learning rate (default: 0.01)")
    train.add_argument("--optimizer", default="sgd", choices=["sgd", "momentum", "nesterov", "adam"])
    train.add_argument("--l2", type=float, default=0.0, help="weight decay on the weights (default: 0)")
    train.add_argument("--dropout", type=float, default=None, help="dropout rate of the hidden units")
    train.add_argument("--update-dropout", type=float, default=0.0,
                       help="share of the weights each step leaves unchanged (default: 0)")
    train.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    train.add_argument("--backend", default=None, choices=["cython", "reference"])
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--test-fraction", type=float, default=0.25)
    commands.add_parser("bench", help="time fastmlp against numpy, scikit-learn and PyTorch (see bench/)",
                        add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        from . import benchmark

        return benchmark.main(rest)
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    try:
        return _train(args)
    except (ValueError, TypeError) as exc:
        print(f"fastmlp: error: {exc}", file=sys.stderr)
        return 2
