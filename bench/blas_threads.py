"""Where a second BLAS thread starts to pay in the kernels' matrix products: minibatch
epochs of a d-d-d network with steps of b rows (each step's products are about b d^2
multiply-adds per layer), timed on one thread and on two, alternately, ``--repeats``
times; prints the medians and the median ratio per product size. The default thread
count (fastmlp._engine.threads.SECOND_THREAD_PAYS) is chosen from this table.

    PYTHONPATH=. python bench/blas_threads.py [--repeats 5]
"""
import argparse
import os
import statistics
import time

import numpy as np

import fastmlp as fm
from fastmlp._engine import feeding
from fastmlp._engine.threads import blas_threads

# (width d, batch b): products from 25 thousand to 67 million multiply-adds.
CASES = [(50, 10), (64, 100), (100, 200), (200, 200), (256, 256), (400, 400), (512, 512), (800, 800), (1024, 1024),
         (2048, 1024)]


def epoch_seconds(net, X, Y, batch, threads, least_work=2e8):
    """Seconds per multiply-add-normalised run: enough epochs for ``least_work``."""
    order = np.arange(len(X))
    arch = feeding.architecture(net)
    epochs = max(1, int(least_work // (3 * net.params.size * len(X))))
    with blas_threads(threads):
        start = time.perf_counter()
        for _ in range(epochs):
            net.backend.minibatch_epoch(arch, net.params, X, Y, order, batch, 1e-6, 0.0, 0.0)
        return (time.perf_counter() - start) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {', '.join(f'{v:.1f}' for v in os.getloadavg())}; {os.cpu_count()} logical cores\n")
    print("| d-d-d, steps of b | multiply-adds per product | 1 thread ms/epoch | 2 threads ms/epoch | 1 / 2 threads |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for d, b in CASES:
        net = fm.MLP([d, d, d], activation="relu", output="identity", loss="l2", seed=0)
        X, Y = rng.normal(size=(4 * b, d)), rng.normal(size=(4 * b, d))
        one, two = [], []
        for _ in range(args.repeats):
            one.append(epoch_seconds(net, X, Y, b, 1))
            two.append(epoch_seconds(net, X, Y, b, 2))
        ratio = statistics.median(a / t for a, t in zip(one, two))
        print(f"| {d}-{d}-{d}, b={b} | {b * (d + 1) * d:,} | {1e3 * statistics.median(one):.2f} "
              f"| {1e3 * statistics.median(two):.2f} | {ratio:.2f} |")
    print(f"\nload average after: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
