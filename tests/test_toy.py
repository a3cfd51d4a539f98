"""The small 2-D problems: their shapes, labels and geometry, and the same data from a seed."""
import numpy as np
import pytest

from fastmlp.datasets import blobs, circles, moons, xor


def test_xor_is_the_truth_table():
    X, y = xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    X, y = xor(n_per_corner=5, noise=0.1, seed=3)
    assert X.shape == (20, 2) and np.bincount(y).tolist() == [10, 10]
    corners = X.round()
    np.testing.assert_array_equal(y, np.logical_xor(corners[:, 0], corners[:, 1]).astype(int))


@pytest.mark.parametrize("make", [blobs, moons, circles])
def test_shapes_balance_and_seed(make):
    X, y = make(51, seed=4)
    assert X.shape == (51, 2) and X.dtype == np.float64 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [25, 26]
    again, _ = make(51, seed=4)
    other, _ = make(51, seed=5)
    np.testing.assert_array_equal(X, again)
    assert not np.array_equal(X, other)


def test_geometry_without_noise():
    X, y = circles(40, noise=0.0, factor=0.3)
    np.testing.assert_allclose(np.hypot(X[:, 0], X[:, 1]), np.where(y == 1, 0.3, 1.0))
    X, y = moons(40, noise=0.0)
    centres = np.where(y[:, None] == 1, [1.0, 0.5], [0.0, 0.0])
    np.testing.assert_allclose(np.hypot(*(X - centres).T), 1.0)
    assert (X[y == 0, 1] >= 0).all() and (X[y == 1, 1] <= 0.5).all()
    X, y = blobs(10, distance=4.0, noise=0.0)
    np.testing.assert_allclose(np.linalg.norm(X[y == 1][0] - X[y == 0][0]), 4.0)


@pytest.mark.parametrize("call", [
    lambda: moons(0), lambda: circles(10, noise=-1), lambda: blobs(10, distance=float("nan")),
    lambda: xor(n_per_corner=2.5), lambda: moons(10, seed=-1),
])
def test_bad_arguments(call):
    with pytest.raises(ValueError):
        call()
