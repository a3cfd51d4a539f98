"""n_threads: the BLAS thread count of minibatch and batched-forward kernel calls."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp._engine.threads import _kernel_blas

from conftest import cython_variants


def _data(n=300):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 20)), rng.integers(0, 4, n)


@pytest.mark.parametrize("backend", cython_variants())
def test_one_and_two_threads_compute_the_same(backend):
    X, y = _data()
    nets = [fm.MLP([20, 64, 64, 4], loss="cross_entropy", seed=0, backend=backend, n_threads=k) for k in (1, 2)]
    for net in nets:
        net.fit(X, y, epochs=2, batch_size=50, eta=0.05, seed=1)
    np.testing.assert_allclose(nets[0].params, nets[1].params, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(nets[0].forward(X), nets[1].forward(X), rtol=1e-12, atol=1e-13)


def test_the_limit_holds_during_the_kernel_call_and_is_lifted_after(monkeypatch):
    libraries = _kernel_blas()
    assert libraries, "the kernels' BLAS was not found"
    before = [lib.num_threads for lib in libraries]
    X, y = _data(40)
    net = fm.MLP([20, 8, 4], loss="cross_entropy", seed=0, n_threads=1)
    seen = []
    kernel = net.backend.minibatch_epoch

    def spy(*args, **options):
        seen.append([lib.num_threads for lib in libraries])
        return kernel(*args, **options)

    monkeypatch.setattr(net, "backend", net.backend._replace(minibatch_epoch=spy))
    net.fit(X, y, epochs=1, batch_size=8)
    assert seen and all(counts == [1] * len(libraries) for counts in seen)
    assert [lib.num_threads for lib in libraries] == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_are_rejected(bad):
    with pytest.raises(ValueError, match="n_threads must be a positive integer"):
        fm.MLP([3, 2, 1], n_threads=bad)
    net = fm.MLP([3, 2, 1])
    with pytest.raises(ValueError, match="n_threads must be a positive integer"):
        net.n_threads = bad


class FakeBLAS:
    """Stands in for a threadpoolctl controller, to see what blas_threads sets where."""

    def __init__(self, num_threads):
        self.num_threads = num_threads

    def set_num_threads(self, n):
        self.num_threads = n


def test_the_limit_is_set_in_the_main_thread_only(monkeypatch):
    # OpenBLAS takes its thread count from the main thread only; set from others it is
    # ignored, and setting it there slows other threads' calls.
    import threading

    from fastmlp._engine import threads as _threads

    library = FakeBLAS(3)
    monkeypatch.setattr(_threads, "_kernel_blas", lambda: (library,))
    seen = []

    def worker():
        with _threads.blas_threads(1):
            seen.append(library.num_threads)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    with _threads.blas_threads(1):
        seen.append(library.num_threads)
    assert seen == [3, 1]
    assert library.num_threads == 3
