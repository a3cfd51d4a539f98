"""How soon Ctrl-C ends long calls, and what a full-batch epoch costs.

    PYTHONPATH=. python bench/interrupts.py [--repeats 5]

Latency: a timer thread sends SIGINT to this process a moment into the call; the figure is
the time from the signal to the KeyboardInterrupt reaching the caller (median of the
repeats). Speed: the median seconds of one full-batch epoch (``fit(batch_size=None)``) on
a large training set, which the kernels take in parts of rows so that Ctrl-C lands. BLAS
is held to one thread.
"""
import argparse
import os
import signal
import statistics
import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

import fastmlp as fm


def latency(call, after=0.3):
    """Seconds from a SIGINT sent ``after`` seconds into call() to its KeyboardInterrupt."""
    sent = []

    def interrupt():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(after, interrupt)
    timer.start()
    try:
        call()
    except KeyboardInterrupt:
        return time.perf_counter() - sent[0]
    finally:
        timer.join()
    raise RuntimeError("the call ended before the signal; make it longer")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "?")
    print(f"CPU: {cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; medians of {repeats} runs")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60_000, 784), dtype=np.float32)
    y = rng.integers(0, 10, len(X))
    fm.MLP([1, 1])  # loads the kernels' BLAS, which threadpoolctl limits only once it is loaded
    with threadpool_limits(1, user_api="blas"):
        for optimizer in ("sgd", "adam"):
            net = fm.MLP([784, 256, 10], loss="cross_entropy", dtype="float32", seed=0)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                net.fit(X, y, epochs=1, batch_size=None, eta=0.1, optimizer=optimizer)
                times.append(time.perf_counter() - start)
            print(f"full-batch epoch, 784-256-10 float32, 60,000 rows, {optimizer}: {statistics.median(times):.3f} s")
        net = fm.MLP([784, 1024, 10], loss="cross_entropy", dtype="float32", seed=0)
        waits = [latency(lambda: net.fit(X, y, epochs=1000, batch_size=None, eta=0.01)) for _ in range(repeats)]
        print(f"Ctrl-C in a full-batch fit (784-1024-10 float32, 60,000 rows): {statistics.median(waits):.3f} s "
              f"(longest {max(waits):.3f} s)")
        big = rng.standard_normal((300_000, 784), dtype=np.float32)
        for name, call in (("predict", lambda: net.predict(big)), ("forward", lambda: net.forward(big)),
                           ("loss_value", lambda: net.loss_value(big, np.zeros(len(big), dtype=int))),
                           ("gradient", lambda: net.gradient(big, np.zeros(len(big), dtype=int)))):
            waits = [latency(call) for _ in range(repeats)]
            print(f"Ctrl-C in {name} on 300,000 rows (784-1024-10 float32): {statistics.median(waits):.3f} s "
                  f"(longest {max(waits):.3f} s)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
