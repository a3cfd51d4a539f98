"""Training past one process: scikit-learn's searches through joblib's threading and Dask
backends, and dask-ml's Incremental over the blocks of a dask array, on a real
LocalCluster whose workers are separate processes (so every estimator crosses a pickle)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
wrappers = pytest.importorskip("dask_ml.wrappers")

import joblib  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from fastmlp.datasets import load_digits  # noqa: E402
from fastmlp.estimators import MLPClassifier, MLPRegressor  # noqa: E402

GRID = {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-1]}


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X[:400] / 16, y[:400]


def search(estimator, X, y, n_jobs=None):
    grid = GridSearchCV(estimator, GRID, cv=3, n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return grid.fit(X, y)


def split_scores(grid):
    return np.array([grid.cv_results_[f"split{k}_test_score"] for k in range(3)])


@pytest.mark.parametrize("make", [
    lambda: MLPClassifier(solver="lbfgs", max_iter=30, random_state=0),
    lambda: MLPRegressor(solver="sgd", batch_size=1, learning_rate_init=0.01, max_iter=5, random_state=0),
], ids=["classifier_lbfgs", "regressor_per_sample_sgd"])
def test_grid_search_on_the_dask_backend_scores_as_the_serial_one(client, digits, make):
    X, y = digits
    serial = search(make(), X, y)
    with joblib.parallel_backend("dask"):
        on_cluster = search(make(), X, y, n_jobs=-1)
    np.testing.assert_array_equal(split_scores(on_cluster), split_scores(serial))
    assert on_cluster.best_params_ == serial.best_params_
    for a, b in zip(on_cluster.best_estimator_.coefs_, serial.best_estimator_.coefs_):
        np.testing.assert_array_equal(a, b)


def test_threaded_grid_search_scores_as_the_serial_one(digits):
    """Two fits at once in threads of one process (the kernels run without the GIL) give
    each fit's own result."""
    X, y = digits
    make = lambda: MLPClassifier(batch_size=32, max_iter=5, random_state=0)  # noqa: E731
    serial = search(make(), X, y)
    # One BLAS thread for the whole search, set in the main thread, as the README advises.
    with threadpool_limits(1), joblib.parallel_backend("threading", n_jobs=2):
        threaded = search(make(), X, y, n_jobs=2)
    np.testing.assert_array_equal(split_scores(threaded), split_scores(serial))


def test_incremental_over_dask_blocks_equals_partial_fit_in_order(client, digits):
    X, y = digits
    classes = np.arange(10)
    model = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0, dropout=0.1)
    X_blocks, y_blocks = da.from_array(X, chunks=(25, X.shape[1])), da.from_array(y, chunks=25)
    assert X_blocks.numblocks[0] == 16
    incremental = wrappers.Incremental(clone(model), shuffle_blocks=False).fit(X_blocks, y_blocks, classes=classes)

    by_hand = clone(model)
    for start in range(0, len(X), 25):
        by_hand.partial_fit(X[start : start + 25], y[start : start + 25], classes=classes)
    fitted = incremental.estimator_
    assert fitted.n_iter_ == by_hand.n_iter_ == 1 and fitted.t_ == by_hand.t_ == len(X)  # n_iter_: the last call's
    for a, b in zip(fitted.coefs_ + fitted.intercepts_, by_hand.coefs_ + by_hand.intercepts_):
        np.testing.assert_array_equal(a, b)
