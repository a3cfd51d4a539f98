"""pytest-benchmark suite for fastmlp's kernels, timed through the public API.

    pytest bench                        # time them (about a minute)
    pytest bench --benchmark-disable    # run each once: a smoke test of a few seconds

Not collected by the default ``pytest`` (testpaths = ["tests"]). Each benchmark records
in extra_info the samples one call processes and its GFLOP (fastmlp._bench.benchmark's count),
so samples/s = samples * ops and GFLOP/s = gflop * ops. BLAS runs on one thread, so the
figures do not depend on what else the machine is doing with its other cores.
"""
import numpy as np
import pytest

import fastmlp
from fastmlp._bench.benchmark import flops_per_sample

pytest.importorskip("pytest_benchmark")
threadpoolctl = pytest.importorskip("threadpoolctl")

ETA = 0.01
# name -> (sizes, samples for batched calls, samples for a per-sample epoch)
SHAPES = {"small": ((64, 32, 10), 4096, 2000), "medium": ((784, 128, 10), 2048, 500)}


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """Hold the BLAS pools fastmlp's minibatch kernels use to one thread."""
    fastmlp.MLP([2, 2])  # loads the backend, and with it the BLAS library
    with threadpoolctl.threadpool_limits(limits=1):
        yield


@pytest.fixture(params=list(SHAPES))
def shape(request):
    return request.param


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    return request.param


def setup(shape, dtype, n):
    """A fresh network and n random samples (inputs, class labels) of its dtype."""
    sizes = SHAPES[shape][0]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], size=n)
    net = fastmlp.MLP(sizes, activation="tanh", loss="cross_entropy", dtype=dtype, seed=0)
    return net, X, y


def record(benchmark, shape, n, training):
    """Put the samples per call and the GFLOP per call in the benchmark's extra_info."""
    benchmark.extra_info.update(samples=n, gflop=n * flops_per_sample(SHAPES[shape][0], training) / 1e9)


def test_forward(benchmark, shape, dtype):
    n = SHAPES[shape][1]
    net, X, _ = setup(shape, dtype, n)
    record(benchmark, shape, n, False)
    H = benchmark(net.forward, X)
    assert H.shape == (n, 10) and np.isfinite(H).all()


def test_predict(benchmark, shape, dtype):
    n = SHAPES[shape][1]
    net, X, _ = setup(shape, dtype, n)
    record(benchmark, shape, n, False)
    labels = benchmark(net.predict, X)
    assert labels.shape == (n,)


@pytest.mark.parametrize("batch_size", [1, 32], ids=["per-sample", "minibatch-32"])
def test_epoch(benchmark, shape, dtype, batch_size):
    n = SHAPES[shape][2 if batch_size == 1 else 1]
    net, X, y = setup(shape, dtype, n)
    record(benchmark, shape, n, True)
    history = benchmark(net.fit, X, y, epochs=1, batch_size=batch_size, eta=ETA)
    assert np.isfinite(history.loss).all()


def test_minibatch_step(benchmark, shape, dtype):
    net, X, y = setup(shape, dtype, 32)
    record(benchmark, shape, 32, True)
    loss = benchmark(net.sgd_step, X, y, ETA)
    assert np.isfinite(loss)



# What each training option costs over the plain epoch of test_epoch (same shapes).
OPTIONS = {
    "sample-weight": lambda n: {"sample_weight": np.linspace(0.5, 1.5, n)},
    "dropout-0.5": lambda n: {"dropout": 0.5},
    "update-dropout-0.5": lambda n: {"update_dropout": 0.5},
    "l2": lambda n: {"l2": 1e-4},
    "adam": lambda n: {"optimizer": "adam"},
}


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("batch_size", [1, 32], ids=["per-sample", "minibatch-32"])
def test_epoch_with(benchmark, shape, batch_size, option):
    n = SHAPES[shape][2 if batch_size == 1 else 1]
    net, X, y = setup(shape, "float32", n)
    record(benchmark, shape, n, True)
    history = benchmark(net.fit, X, y, epochs=1, batch_size=batch_size, eta=ETA, seed=0, **OPTIONS[option](n))
    assert np.isfinite(history.loss).all()
