"""Small two-dimensional problems for pictures and exercises, drawn from a seed.

XOR is the lecture's example of what one perceptron cannot separate; two blobs are what it
can; moons and circles need a hidden layer. Each returns (X, y): X float64 of shape (n, 2)
and y int64 labels 0 and 1.
"""
from __future__ import annotations

import numpy as np

from .. import _checks as checks


def xor(n_per_corner: int = 1, noise: float = 0.0, seed=0):
    """The corners (0,0), (0,1), (1,0), (1,1) with y = x_1 XOR x_2, each repeated
    ``n_per_corner`` times with Gaussian noise of standard deviation ``noise`` added.

    Parameters
    ----------
    n_per_corner : int, default 1
    noise : float, default 0.0
    seed : int or None, default 0
        The generator's seed; None draws fresh data each call.

    Returns
    -------
    X : ndarray of shape (4 n_per_corner, 2), float64
    y : ndarray of shape (4 n_per_corner,), int64 labels 0 and 1

    Raises
    ------
    ValueError
        A count below 1 or a negative noise.

    Examples
    --------
    >>> from fastmlp.datasets import xor
    >>> X, y = xor()
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    n, noise, rng = _settings(n_per_corner, "n_per_corner", noise, seed)
    corners = np.repeat(np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), n, axis=0)
    y = np.repeat(np.array([0, 1, 1, 0], dtype=np.int64), n)
    return corners + noise * rng.standard_normal(corners.shape), y


def blobs(n: int = 100, distance: float = 3.0, noise: float = 0.5, seed=0):
    """Two Gaussian clouds of n // 2 and n - n // 2 points, their centres ``distance``
    apart on the diagonal: linearly separable when noise is small against distance.

    Parameters
    ----------
    n : int, default 100
    distance : float, default 3.0
    noise : float, default 0.5
    seed : int or None, default 0
        The generator's seed; None draws fresh data each call.

    Returns
    -------
    X : ndarray of shape (n, 2), float64
    y : ndarray of shape (n,), int64 labels 0 and 1

    Raises
    ------
    ValueError
        A count below 1 or a negative noise or distance.

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp.datasets import blobs
    >>> X, y = blobs(40, distance=6.0, noise=0.3, seed=0)
    >>> fm.Perceptron(seed=0).fit(X, y).converged   # one line separates them
    True
    """
    n, noise, rng = _settings(n, "n", noise, seed)
    distance = checks.real_number(distance, "distance", lowest=0.0)
    y = (np.arange(n) >= n // 2).astype(np.int64)
    centres = np.where(y[:, None] == 1, distance / 2 ** 1.5, -distance / 2 ** 1.5)
    return centres + noise * rng.standard_normal((n, 2)), y


def moons(n: int = 200, noise: float = 0.1, seed=0):
    """Two interleaved half circles of radius 1: the upper one centred at (0, 0) (class
    0), the lower one at (1, 0.5) (class 1), with Gaussian noise ``noise``.

    Parameters
    ----------
    n : int, default 200
    noise : float, default 0.1
    seed : int or None, default 0
        The generator's seed; None draws fresh data each call.

    Returns
    -------
    X : ndarray of shape (n, 2), float64
    y : ndarray of shape (n,), int64 labels 0 and 1

    Raises
    ------
    ValueError
        A count below 1 or a negative noise.

    Examples
    --------
    >>> from fastmlp.datasets import moons
    >>> X, y = moons(100, noise=0.2, seed=1)
    >>> X.shape, y.shape, int(y.sum())
    ((100, 2), (100,), 50)
    """
    n, noise, rng = _settings(n, "n", noise, seed)
    y = (np.arange(n) >= n // 2).astype(np.int64)
    angle = np.pi * rng.random(n)
    X = np.column_stack([np.cos(angle), np.sin(angle)])
    X[y == 1] = np.column_stack([1.0 - np.cos(angle[y == 1]), 0.5 - np.sin(angle[y == 1])])
    return X + noise * rng.standard_normal((n, 2)), y


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed=0):
    """Two concentric circles, radius 1 (class 0) and ``factor`` (class 1), with
    Gaussian noise ``noise``.

    Parameters
    ----------
    n : int, default 200
    noise : float, default 0.05
    factor : float, default 0.5
    seed : int or None, default 0
        The generator's seed; None draws fresh data each call.

    Returns
    -------
    X : ndarray of shape (n, 2), float64
    y : ndarray of shape (n,), int64 labels 0 and 1

    Raises
    ------
    ValueError
        A count below 1 or a negative noise or factor.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.datasets import circles
    >>> X, y = circles(100, noise=0.0, factor=0.5)
    >>> np.round(np.hypot(X[:, 0], X[:, 1])[[0, -1]], 6).tolist(), y[[0, -1]].tolist()
    ([1.0, 0.5], [0, 1])
    """
    n, noise, rng = _settings(n, "n", noise, seed)
    factor = checks.real_number(factor, "factor", lowest=0.0)
    y = (np.arange(n) >= n // 2).astype(np.int64)
    angle = 2 * np.pi * rng.random(n)
    radius = np.where(y == 1, factor, 1.0)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return X + noise * rng.standard_normal((n, 2)), y


def _settings(n, what, noise, seed):
    return (checks.positive_int(n, what), checks.real_number(noise, "noise", lowest=0.0),
            np.random.default_rng(checks.seed(seed)))
