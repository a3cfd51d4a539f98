"""Threads and fastmlp: what the network's lock costs a small prediction, how predictions
from several threads sharing one network scale (against the same work in two processes,
and numpy's product in both), and two networks trained in two threads against the same
two trained one after the other (which must give the same weights).

    PYTHONPATH=. python bench/threads.py [--repeats 5]

Each pair of figures is measured alternately, ``--repeats`` times, so that both see the same
load on a shared machine; the medians and the median of the pairs' ratios are printed. BLAS
is held to one thread (threadpoolctl, from the main thread: OpenBLAS takes the setting from
there only; set once the kernels' BLAS is loaded) so that the threads, not BLAS, share the
cores. A control runs the same Python loop in one process and in two at once: how many
free cores the machine gave.
"""
import argparse
import multiprocessing
import os
import statistics
import threading
import time
from contextlib import nullcontext

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import fastmlp as fm


class NoLock:
    """Stands in for a network's lock to time the calls without it."""

    def reading(self):
        return nullcontext()

    writing = reading


def seconds(run):
    """Wall seconds of run(), and the CPU seconds of all this process's threads per wall
    second (how many cores it kept busy)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu / wall


def alternately(first, second, repeats):
    """Medians of the wall seconds of first() and second(), run in turn, of their ratios, and
    of the cores second() kept busy."""
    pairs = [(seconds(first), seconds(second)) for _ in range(repeats)]
    return (statistics.median(a for (a, _), _ in pairs), statistics.median(b for _, (b, _) in pairs),
            statistics.median(a / b for (a, _), (b, _) in pairs), statistics.median(c for _, (_, c) in pairs))


def together(*workers):
    """Start the threads or processes, then wait for all of them."""
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def in_threads(*calls):
    together(*[threading.Thread(target=call) for call in calls])


def count(n=5_000_000):
    while n:
        n -= 1


def control(repeats):
    """What parallelism the machine gives now: the same Python loop in one process, and in
    each of two processes at once (2x: two free cores; 1x: one)."""
    one, two, ratio, _ = alternately(lambda: (count(), count()),
                                     lambda: together(*[multiprocessing.Process(target=count) for _ in range(2)]),
                                     repeats)
    print(f"control, two loops: one after the other {one:.3f} s, in two processes {two:.3f} s: {ratio:.2f}x")


def lock_cost(repeats):
    rng = np.random.default_rng(0)
    net = fm.MLP([64, 64, 10], loss="cross_entropy", seed=0)
    for rows in (1, 16):
        X = rng.normal(size=(rows, 64))
        locked, unlocked = net.copy(), net.copy()
        unlocked._lock = NoLock()
        with_lock, without, ratio, _ = alternately(lambda: [locked.forward(X) for _ in range(5000)],
                                                lambda: [unlocked.forward(X) for _ in range(5000)], repeats)
        print(f"forward of {rows:2d} rows (64-64-10): {with_lock / 5000 * 1e6:.2f} us with the lock, "
              f"{without / 5000 * 1e6:.2f} us without: {ratio:.3f}x")


def in_processes(*calls):
    together(*[multiprocessing.Process(target=call) for call in calls])


def shared_predictions(repeats):
    """Predictions from two threads sharing one network, and, to tell what limits them, the
    same work in two processes (nothing shared: no lock, no GIL, a BLAS each) and the
    first layer's matrix product alone (numpy's matmul, which lets go of the GIL; scipy's
    f2py sgemm wrapper does not) in two threads and two processes."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2048, 784)).astype(np.float32)
    net = fm.MLP([784, 512, 10], loss="cross_entropy", dtype="float32", seed=0)
    W = np.ascontiguousarray(net.weights[0][1:])
    k = 8
    work = {"predictions of 2048 rows (784-512-10 float32), one network": lambda: [net.predict(X) for _ in range(k)],
            "products 2048x784 by 784x512 (numpy matmul)": lambda: [X @ W for _ in range(k)]}
    for label, half in work.items():
        for name, side_by_side in (("threads", in_threads), ("processes", in_processes)):
            one, two, ratio, busy = alternately(lambda: (half(), half()), lambda: side_by_side(half, half), repeats)
            cores = f", {busy:.2f} cores busy" if name == "threads" else ""
            print(f"{2 * k} {label}: one thread {one:.3f} s, two {name} {two:.3f} s: {ratio:.2f}x{cores}")


def two_networks(repeats):
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(4000, 64)), rng.integers(0, 10, 4000)
    kinds = (("per-sample", dict(batch_size=1, epochs=3)), ("minibatch 32", dict(batch_size=32, epochs=10)))
    for label, options in kinds:
        def nets():
            return [fm.MLP([64, 128, 10], loss="cross_entropy", seed=s) for s in (1, 2)]

        def train(net):
            net.fit(X, y, eta=0.02, seed=3, **options)

        results = {}

        def one_after_the_other():
            results["sequential"] = nets()
            for net in results["sequential"]:
                train(net)

        def side_by_side():
            results["threads"] = nets()
            in_threads(*[lambda net=net: train(net) for net in results["threads"]])

        one, two, ratio, busy = alternately(one_after_the_other, side_by_side, repeats)
        same = all(np.array_equal(a.params, b.params) for a, b in zip(results["sequential"], results["threads"]))
        print(f"two 64-128-10 networks, {options['epochs']} {label} epochs of 4000 samples: one after the other "
              f"{one:.3f} s, in two threads {two:.3f} s: {ratio:.2f}x, {busy:.2f} cores busy; "
              f"weights bit-identical: {same}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=11)
    repeats = parser.parse_args().repeats
    with open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "?")
    print(f"CPU: {cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; medians of {repeats} runs")
    control(repeats)
    # threadpoolctl limits the libraries loaded when the limit is set, and the kernels' BLAS
    # (scipy's) loads with the first network: load it first, or it keeps all cores.
    fm.MLP([1, 1])
    with threadpool_limits(1, user_api="blas"):
        print("BLAS threads: " + ", ".join(f"{os.path.basename(lib['filepath'])} {lib['num_threads']}"
                                           for lib in threadpool_info() if lib["user_api"] == "blas"))
        lock_cost(repeats)
        shared_predictions(repeats)
        two_networks(repeats)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
