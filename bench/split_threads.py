"""Per-sample SGD split between threads: the cost of one exchange (a barrier of the team's
threads), the per-unit work of a hidden unit, and the speedup model of bench/README.md
checked against 784-h-10 float32 on one and two threads.

    PYTHONPATH=. python bench/split_threads.py [--repeats 5] [--samples 4000]

One and two threads run alternately, ``--repeats`` times, so that both see the same load
on a shared machine; medians are printed, with the load average.
"""
import argparse
import os
import statistics
import time

import numpy as np

import fastmlp as fm
from fastmlp._kernels import _core

WIDTHS = (32, 64, 128, 256, 512, 1024)


def exchange_ns(team, rounds=200_000, repeats=5):
    """Median nanoseconds of one meeting of the team's threads."""
    return statistics.median(_core.exchange_seconds(team, rounds) for _ in range(repeats)) / rounds * 1e9


def per_sample_us(width, n_threads, X, y):
    """Microseconds per sample of one epoch of 784-width-10, and the threads it ran on."""
    net = fm.MLP([784, width, 10], loss="cross_entropy", dtype="float32", seed=0, n_threads=n_threads)
    start = time.perf_counter()
    history = net.fit(X, y, epochs=1, batch_size=1, eta=0.01, seed=1)
    return (time.perf_counter() - start) / len(X) * 1e6, history.threads


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=4000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    with _core.Team(2) as team:
        c2 = exchange_ns(team)
    print(f"one exchange of 2 threads: {c2:.0f} ns")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.samples, 784)).astype(np.float32)
    y = rng.integers(0, 10, args.samples)
    rows = []
    for width in WIDTHS:
        one, two = [], []
        for _ in range(args.repeats):
            one.append(per_sample_us(width, 1, X, y)[0])
            seconds, threads = per_sample_us(width, 2, X, y)
            two.append(seconds)
        rows.append((width, statistics.median(one), statistics.median(two), threads))
    # t1(h) = a + b h, least squares over the widths whose weights fit one core's L2 (up to
    # 512 units: 1.6 MB in float32); the model for T threads:
    # t_T(h) = a + b h / T + c_T, with c_T = c_2 (T - 1) (T arrivals on one counter).
    h = np.array([r[0] for r in rows if r[0] <= 512], dtype=float)
    t1 = np.array([r[1] for r in rows if r[0] <= 512])
    b, a = np.polyfit(h, t1, 1)
    print(f"one thread: t1(h) = {a:.2f} us + {b * 1e3:.1f} ns x h (per hidden unit, 784-h-10 float32)")
    print("width  1 thread us  2 threads us  threads  measured  model")
    for width, one, two, threads in rows:
        model = (a + b * width) / (a + b * width / 2 + c2 / 1e3) if threads == 2 else 1.0
        print(f"{width:5d}  {one:11.2f}  {two:12.2f}  {threads:7d}  {one / two:7.2f}x  {model:5.2f}x")
    print("T   c_T ns  break-even units/thread  speedup at h = 128, 1024")
    for T in (2, 4, 8, 16):
        cT = c2 * (T - 1)
        speed = [(a + b * w) / (a + b * w / T + cT / 1e3) for w in (128, 1024)]
        print(f"{T:2d}  {cT:6.0f}  {cT / 1e3 / b / (T - 1):23.1f}  {speed[0]:.2f}x, {speed[1]:.2f}x")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
