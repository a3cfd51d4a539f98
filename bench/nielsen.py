"""Time fastmlp.compat.nielsen against Nielsen's algorithm in numpy, in one run.

    python bench/nielsen.py [--samples 1797] [--epochs 3] [--repeats 5]

The classic network of the book's chapter 1: 784-30-10, sigmoid units, quadratic cost,
minibatches of 10, eta 3.0. The data are the 1797 digits fastmlp ships (8x8, scaled to
[0, 1]) upsampled to 28x28 = 784 pixels by bilinear interpolation, so the network has
MNIST's shape. Three trainers run the same seeded algorithm (the same random.shuffle, the
same minibatches):

  fastmlp     fastmlp.compat.nielsen.Network.SGD (the drop-in; stacking the list included)
  vectorised  numpy, each minibatch as one matrix of columns: one forward and one backward
              pass of matrix products per step (written below)
  per-sample  numpy, the book's own loop: backprop one sample at a time, sum, step
              (tests/nielsen_textbook.py, the version the tests check against)

and, to show where the time goes, "fit only": the same training on the network's MLP
(``net.mlp.fit``) from arrays stacked beforehand (shuffled by fastmlp, so its weights
differ), the time of the two BLAS products of the first layer in one step as the BLAS
path would call them (steps of up to 16 samples take fastmlp's own kernels instead), and
the arithmetic roof: the multiply-adds of one step at the rate of numpy's float64 matmul.

Each is timed for ``--epochs`` epochs of SGD, ``--repeats`` times; the table gives the
median seconds per epoch, samples per second and the speedup of fastmlp over each. BLAS
is held to one thread for all. It also shows how far apart the three trainers' weights
are after one, two and three epochs: rounding alone, which eta 3.0 amplifies from epoch to
epoch just as much between the two numpy versions.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import random
import statistics
import sys
import time
import timeit
from pathlib import Path

import numpy as np
from scipy.linalg.blas import dgemm
from scipy.ndimage import zoom
from threadpoolctl import threadpool_limits

from fastmlp.compat.nielsen import Network
from fastmlp.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from nielsen_textbook import Textbook  # noqa: E402

SIZES = [784, 30, 10]
MINI_BATCH, ETA = 10, 3.0


def upsampled_digits(n):
    """n (x, y) pairs: x a (784, 1) column of 28x28 pixels in [0, 1], y one-hot (10, 1)."""
    X, labels = load_digits()
    images = zoom((X[:n] / 16.0).reshape(-1, 8, 8), (1, 3.5, 3.5), order=1).clip(0.0, 1.0)
    eye = np.eye(10)
    return [(image.reshape(784, 1), eye[:, [label]]) for image, label in zip(images, labels[:n])]


class Vectorised:
    """Nielsen's network with each minibatch stacked into matrices of columns."""

    def __init__(self, sizes):
        self.b = [np.random.randn(n, 1) for n in sizes[1:]]
        self.w = [np.random.randn(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]

    def step(self, X, Y, eta):
        """X (d_in, m), Y (d_out, m): one step on the mean gradient of the m columns."""
        activations, zs = [X], []
        for b, w in zip(self.b, self.w):
            zs.append(w @ activations[-1] + b)
            activations.append(1.0 / (1.0 + np.exp(-zs[-1])))
        a = activations[-1]
        delta = (a - Y) * a * (1 - a)
        rate = eta / X.shape[1]
        for l in range(len(self.w) - 1, -1, -1):
            grad_w, grad_b = delta @ activations[l].T, delta.sum(axis=1, keepdims=True)
            if l > 0:
                a = activations[l]
                delta = (self.w[l].T @ delta) * a * (1 - a)
            self.w[l] -= rate * grad_w
            self.b[l] -= rate * grad_b

    def train(self, training, epochs, m, eta):
        training = list(training)
        for _ in range(epochs):
            random.shuffle(training)
            for start in range(0, len(training), m):
                batch = training[start : start + m]
                self.step(np.hstack([x for x, _ in batch]), np.hstack([y for _, y in batch]), eta)


def run(trainer, training, epochs):
    """Seed, build, train on a copy of the list (SGD shuffles the list it is given in place,
    as Nielsen's does, so each trainer starts from the same order); returns (seconds,
    biases, weights)."""
    training = list(training)
    np.random.seed(0)
    random.seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        if trainer == "fit only":
            net = Network(SIZES)
            X = np.ascontiguousarray(np.hstack([x for x, _ in training]).T)  # rows, as fit keeps them
            Y = np.ascontiguousarray(np.hstack([y for _, y in training]).T)
            start = time.perf_counter()
            net.mlp.fit(X, Y, epochs=epochs, batch_size=MINI_BATCH, eta=ETA, seed=0)
            return time.perf_counter() - start, None, None
        if trainer == "fastmlp":
            net = Network(SIZES)
            start = time.perf_counter()
            net.SGD(training, epochs, MINI_BATCH, ETA)
            return time.perf_counter() - start, list(net.biases), list(net.weights)
        net = Vectorised(SIZES) if trainer == "vectorised" else Textbook(SIZES)
        start = time.perf_counter()
        net.train(training, epochs, MINI_BATCH, ETA)
        return time.perf_counter() - start, net.b, net.w


def first_layer_products(repeats=2000):
    """Seconds of the first layer's two BLAS products in one step of 10 rows, as the
    kernels call them (column-major): the forward sums W^T X_b^T and the update
    W^T += a D^T X_b, by scipy's dgemm; the best of 5 means of ``repeats`` calls."""
    rng = np.random.default_rng(0)
    Wt = np.asfortranarray(rng.random((SIZES[1], SIZES[0])))
    XbT = np.asfortranarray(rng.random((SIZES[0], MINI_BATCH)))
    Dt = np.asfortranarray(rng.random((SIZES[1], MINI_BATCH)))

    def step():
        dgemm(1.0, Wt, XbT)
        dgemm(-1e-9, Dt, XbT, 1.0, Wt, trans_b=1, overwrite_c=1)

    return min(timeit.repeat(step, number=repeats, repeat=5)) / repeats


def matmul_rate(n=1024, repeats=5):
    """Multiply-adds per second of numpy's float64 matmul of two n x n matrices (BLAS on the
    threads the caller allows): the arithmetic roof of this machine, for comparison."""
    rng = np.random.default_rng(0)
    A, B = rng.random((n, n)), rng.random((n, n))
    A @ B  # warm up
    return n**3 / min(timeit.repeat(lambda: A @ B, number=1, repeat=repeats))


def step_multiply_adds(sizes, m):
    """Multiply-adds of one minibatch step of m samples: the forward sums and the gradient's
    outer products of every layer (biases included), and the delta recursion below layer 1."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    forward = sum((d_in + 1) * d_out for d_in, d_out in layers)
    return m * (2 * forward + sum(d_in * d_out for d_in, d_out in layers[1:]))


def differences(training, epochs=(1, 2, 3)):
    """The largest difference of a bias or weight between each two of the seeded trainers
    after each number of ``epochs``: rounding, which grows from epoch to epoch."""
    pairs = (("fastmlp", "per-sample"), ("vectorised", "per-sample"), ("fastmlp", "vectorised"))
    apart = {f"{a} vs {b}": [] for a, b in pairs}
    for e in epochs:
        layers = {t: sum(run(t, training, e)[1:], []) for t in ("fastmlp", "vectorised", "per-sample")}
        for a, b in pairs:
            apart[f"{a} vs {b}"].append(max(abs(x - y).max() for x, y in zip(layers[a], layers[b])))
    return apart


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1797, help="training samples (at most 1797)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per trainer")
    args = parser.parse_args(argv)
    training = upsampled_digits(args.samples)
    n = len(training)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    print(f"784-30-10 sigmoid, quadratic cost, minibatch {MINI_BATCH}, eta {ETA}; {n} upsampled digits, "
          f"{args.epochs} epochs per run, {args.repeats} runs, BLAS on 1 thread")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"CPU: {cpu} ({os.cpu_count()} cores, load average {load}); numpy {np.__version__}; "
          f"Python {platform.python_version()}")
    trainers = ("fastmlp", "fit only", "vectorised", "per-sample")
    seconds = {t: [] for t in trainers}
    with threadpool_limits(1):
        for _ in range(args.repeats):
            for t in trainers:  # interleaved, so that load on the machine hits all of them alike
                seconds[t].append(run(t, training, args.epochs)[0] / args.epochs)
        blas = first_layer_products()
        roof = matmul_rate()
        apart = differences(training)
    median = {t: statistics.median(s) for t, s in seconds.items()}
    print(f"\n{'trainer':<12}{'s/epoch (median)':>18}{'min':>10}{'max':>10}{'samples/s':>12}{'fastmlp is':>14}")
    for t in trainers:
        ratio = median[t] / median["fastmlp"]
        print(f"{t:<12}{median[t]:>18.4f}{min(seconds[t]):>10.4f}{max(seconds[t]):>10.4f}"
              f"{n / median[t]:>12,.0f}{ratio:>13.1f}x")
    print("\nlargest difference of a weight after 1, 2, 3 epochs (rounding, which eta 3.0 amplifies):")
    for pair, values in apart.items():
        print(f"  {pair:<24}" + "".join(f"{v:>10.1e}" for v in values))
    steps = -(-n // MINI_BATCH)  # minibatch steps per epoch
    step = median["fit only"] / steps
    print(f"per minibatch step: fit only {step * 1e6:.1f} us; the two OpenBLAS products of the 784x30 layer as "
          f"the BLAS path calls them {blas * 1e6:.1f} us ({blas / step:.0%})")
    macs = step_multiply_adds(SIZES, MINI_BATCH)
    bound = macs / roof
    print(f"arithmetic roof: {macs:,} multiply-adds per step at numpy's matmul rate ({roof / 1e9:.1f} G/s) take "
          f"{bound * 1e6:.1f} us, so fit only runs at {bound / step:.0%} of it, and no trainer that does this "
          f"arithmetic exceeds {n / (bound * steps):,.0f} samples/s; 5x vectorised is "
          f"{5 * n / median['vectorised']:,.0f}")


if __name__ == "__main__":
    main()
