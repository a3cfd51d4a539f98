"""Per-sample SGD split between threads: the cost of one exchange between the team's
threads, one and two threads on 784-h-10 float32, and the speedup model of bench/README.md
built from them and checked against the two-thread times.

    PYTHONPATH=. python bench/split_threads.py [--repeats 5] [--samples 4000]

One and two threads run alternately, ``--repeats`` times, so that both see the same load
on a shared machine; medians are printed, with the load average. With them runs a control:
two independent one-thread epochs at once, in two threads (the kernels release the GIL).
Their joint speed over one alone is what two cores of the machine give this work with no
exchange at all, the most a split can reach there; on a virtual machine whose cores share
their physical cores with other guests it is well below 2.
"""
import argparse
import os
import statistics
import threading
import time

import numpy as np

import fastmlp as fm
from fastmlp._kernels import _core

WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)


def exchange_ns(team, rounds=200_000, repeats=5):
    """Median nanoseconds of one meeting of the team's threads."""
    return statistics.median(_core.exchange_seconds(team, rounds) for _ in range(repeats)) / rounds * 1e9


def per_sample_us(width, n_threads, X, y):
    """Microseconds per sample of one epoch of 784-width-10, and the threads it ran on."""
    net = fm.MLP([784, width, 10], loss="cross_entropy", dtype="float32", seed=0, n_threads=n_threads)
    start = time.perf_counter()
    history = net.fit(X, y, epochs=1, batch_size=1, eta=0.01, seed=1)
    return (time.perf_counter() - start) / len(X) * 1e6, history.threads


def pair_us(width, X, y):
    """Microseconds per sample of two one-thread epochs of 784-width-10 run at once, each on
    its own network (wall time over both epochs' samples)."""
    threads = [threading.Thread(target=per_sample_us, args=(width, 1, X, y)) for _ in range(2)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (time.perf_counter() - start) / (2 * len(X)) * 1e6


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
    one, two, pair = {}, {}, {}
    for width in WIDTHS:
        ones, twos, pairs = [], [], []
        for _ in range(args.repeats):
            ones.append(per_sample_us(width, 1, X, y)[0])
            seconds, threads = per_sample_us(width, 2, X, y)
            twos.append(seconds)
            pairs.append(pair_us(width, X, y))
        one[width], two[width] = statistics.median(ones), (statistics.median(twos), threads)
        pair[width] = statistics.median(pairs)
    # Each of T threads does what one thread does on 784-(h/T)-10, and meets the others once
    # a sample: t_T(h) = t_1(h / T) + c_T, with c_T = c_2 (T - 1) at most (each thread reads
    # T - 1 others' lines). t_1(h / T) carries each thread's own pass over every row of W^(1).
    print("width  1 thread us  2 threads us  threads  measured  model  two epochs at once")
    for width in WIDTHS:
        seconds, threads = two[width]
        model = f"{one[width] / (one[width // 2] + c2 / 1e3):5.2f}x" if width // 2 in one else "    -"
        print(f"{width:5d}  {one[width]:11.2f}  {seconds:12.2f}  {threads:7d}  {one[width] / seconds:7.2f}x  {model}"
              f"  {one[width] / pair[width]:17.2f}x")
    print("T   c_T ns  " + "  ".join(f"S_T({h:4d})" for h in WIDTHS if h >= 128) + "  break-even units/thread")
    for T in (2, 4, 8, 16):
        cT = c2 * (T - 1)
        speed = {h: one[h] / (one[h // T] + cT / 1e3) for h in WIDTHS if h // T in one and h >= 128}
        even = min((h // T for h in WIDTHS if h // T in one and one[h] > one[h // T] + cT / 1e3), default=None)
        print(f"{T:2d}  {cT:6.0f}  " + "  ".join(f"{speed[h]:8.2f}x" if h in speed else "        -"
                                               for h in WIDTHS if h >= 128) + f"  {even}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
