"""The default BLAS thread count: one thread for products under SECOND_THREAD_PAYS
multiply-adds, the library's count above, and n_threads forcing a count either way; in the
network's calls and the estimators' fits."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import estimators
from fastmlp._engine import threads


class RecordingBLAS:
    """Stands in for a threadpoolctl controller: records each count the kernels' calls set."""

    def __init__(self, num_threads):
        self.num_threads = num_threads
        self.set = []

    def set_num_threads(self, n):
        self.num_threads = n
        self.set.append(n)


@pytest.fixture
def blas(monkeypatch):
    library = RecordingBLAS(4)
    monkeypatch.setattr(threads, "_kernel_blas", lambda: (library,))
    return library


def test_threads_for_chooses_by_the_largest_product():
    sizes = [10, 99, 3]  # the largest layer product per row: 11 * 99 = 1089
    rows = threads.SECOND_THREAD_PAYS // 1089
    assert threads.threads_for(None, rows, sizes) == 1
    assert threads.threads_for(None, rows + 1, sizes) is None
    assert threads.threads_for(3, 1, sizes) == 3
    assert threads.threads_for(1, 10 * rows, sizes) == 1


def counts_during(blas, call):
    """The thread counts the kernels ran with during call() (4: left as it was)."""
    blas.set.clear()
    call()
    assert blas.num_threads == 4  # put back after every call
    return set(blas.set[::2]) or {4}


def test_small_minibatch_products_run_on_one_thread_by_default(blas):
    net = fm.MLP([8, 16, 3], loss="cross_entropy", seed=0)
    X, y = np.random.default_rng(0).normal(size=(40, 8)), np.arange(40) % 3
    assert counts_during(blas, lambda: net.fit(X, y, epochs=2, batch_size=10)) == {1}
    assert counts_during(blas, lambda: net.forward(X)) == {1}
    assert counts_during(blas, lambda: net.fit(X, y, epochs=2, solver="lbfgs")) == {1}


def test_products_from_the_threshold_on_keep_the_librarys_count(blas, monkeypatch):
    monkeypatch.setattr(threads, "SECOND_THREAD_PAYS", 10 * 9 * 16)  # ten rows through the 8-16 layer
    net = fm.MLP([8, 16, 3], loss="cross_entropy", seed=0)
    X, y = np.random.default_rng(0).normal(size=(40, 8)), np.arange(40) % 3
    assert counts_during(blas, lambda: net.fit(X, y, epochs=1, batch_size=9)) == {1}
    assert counts_during(blas, lambda: net.fit(X, y, epochs=1, batch_size=10)) == {4}


def test_n_threads_forces_the_count(blas):
    net = fm.MLP([8, 16, 3], loss="cross_entropy", seed=0, n_threads=2)
    X, y = np.random.default_rng(0).normal(size=(40, 8)), np.arange(40) % 3
    assert counts_during(blas, lambda: net.fit(X, y, epochs=1, batch_size=10)) == {2}
    assert counts_during(blas, lambda: net.forward(X)) == {2}


@pytest.mark.parametrize("n_threads, expected", [(None, {1}), (2, {2})])
def test_the_estimators_fits_follow_the_same_rule(blas, n_threads, expected):
    X, y = np.random.default_rng(0).normal(size=(60, 8)), np.arange(60) % 3
    est = estimators.MLPClassifier(hidden_layer_sizes=(16,), max_iter=2, batch_size=20, random_state=0,
                                   n_threads=n_threads)
    with pytest.warns(Warning):  # the ConvergenceWarning of max_iter=2
        assert counts_during(blas, lambda: est.fit(X, y)) == expected
    assert counts_during(blas, lambda: est.predict(X)) == expected
