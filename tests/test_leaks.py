"""No leaks: memory stays flat over 100,000 calls of each entry point into the kernels,
calls that raise included. Slow (pytest -m slow); the check itself is tested quickly.

Each run measures the process's resident set size and the memory tracemalloc traces
(Python objects and numpy's buffers) before and after the calls, after a warm-up that lets
caches and allocator pools reach their steady size.
"""
import gc
import os
import tracemalloc

import numpy as np
import pytest

import fastmlp as fm

CALLS = 100_000
TRACED_CALLS = 20_000  # the last of the CALLS run with tracemalloc on (it slows them 2-4 times)
WARM_UP = 5_000
# Allowed growth: a leak of 4 bytes a call traces 80 KB over TRACED_CALLS; one of 21 bytes a
# call (less than a Python float) grows the RSS by 2 MB over CALLS, whose noise (the
# allocator's pools) is a few pages.
TRACED_LIMIT = 64 * 1024
RSS_LIMIT = 2 * 1024 * 1024


def rss() -> int:
    """Resident set size of this process in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def growth(call, calls=CALLS, traced_calls=TRACED_CALLS, warm_up=WARM_UP):
    """(traced bytes, RSS bytes): how much the memory tracemalloc traces grew over the
    last ``traced_calls`` calls of call(), and the resident set over all ``calls``, both
    measured after ``warm_up`` calls."""
    for _ in range(warm_up):
        call()
    gc.collect()
    resident = rss()
    for _ in range(calls - traced_calls):
        call()
    tracemalloc.start()
    try:
        for _ in range(warm_up // 10):
            call()
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0]
        for _ in range(traced_calls):
            call()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - traced, rss() - resident
    finally:
        tracemalloc.stop()


def raising(call, exc):
    def run():
        try:
            call()
        except exc:
            pass
        else:
            raise AssertionError(f"{call} did not raise {exc.__name__}")
    return run


def calls(dtype):
    """The calls to repeat, by name, on a small network of ``dtype``."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 3, 8)
    net = fm.MLP([5, 6, 3], loss="cross_entropy", dtype=dtype, seed=0)
    # h(x) = 4 big^2 is finite, but the loss (float64) or the update (float32) overflows
    big = 1e100 if dtype == "float64" else 1e18
    blows_up = fm.MLP([1, 1, 1], activation="identity", dtype=dtype)
    blows_up.set_weights([np.full((2, 1), big), np.full((2, 1), big)])
    return {
        "forward": lambda: net.forward(X),
        "predict": lambda: net.predict(X),
        "trace": lambda: net.trace(X[0], y[0]),
        "sgd_step": lambda: net.sgd_step(X[:2], y[:2], 1e-4),
        "fit per sample": lambda: net.fit(X[:4], y[:4], epochs=1, eta=1e-4),
        "fit minibatch, adam, dropout": lambda: net.fit(X, y, epochs=1, batch_size=4, eta=1e-5, optimizer="adam",
                                                        dropout=0.1),
        "fit lbfgs": lambda: net.fit(X, y, epochs=1, solver="lbfgs"),
        "forward of a bad shape": raising(lambda: net.forward(X[:, :4]), ValueError),
        "sgd_step with NaN input": raising(lambda: net.sgd_step(X[:1] * np.nan, y[:1], 0.1), ValueError),
        "a diverging step, undone": raising(lambda: blows_up.sgd_step([big], [0.0], 1.0), fm.DivergenceError),
    }


# Every call in float64; the float32 kernels (the same wrappers) through forward and a step.
# L-BFGS's short fits spend most of their milliseconds in scipy: a fifth as many of them.
CASES = [(name, "float64", CALLS // 5 if "lbfgs" in name else CALLS) for name in calls("float64")]
CASES += [("forward", "float32", CALLS), ("sgd_step", "float32", CALLS)]


@pytest.mark.slow
@pytest.mark.parametrize("name, dtype, n", CASES)
def test_memory_stays_flat_over_100000_calls(name, dtype, n):
    traced, resident = growth(calls(dtype)[name], calls=n, traced_calls=n // 5)
    print(f"\n{name} ({dtype}): traced {traced:+,d} B over {n // 5:,} calls, RSS {resident:+,d} B over {n:,}")
    assert traced < TRACED_LIMIT, f"{name}: tracemalloc grew {traced:,} bytes over {n // 5:,} calls"
    assert resident < RSS_LIMIT, f"{name}: RSS grew {resident:,} bytes over {n:,} calls"


def test_the_check_sees_a_leak_of_one_small_array_per_call():
    kept = []
    # (the RSS need not grow: a process that freed memory before reuses it first)
    traced, _ = growth(lambda: kept.append(np.empty(4)), calls=30_000, traced_calls=20_000, warm_up=100)
    assert traced > TRACED_LIMIT and traced > 20_000 * 32  # each array: its data and its object
