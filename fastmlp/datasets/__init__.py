"""A small real dataset shipped with fastmlp, so that the main job runs offline.

The UCI "Optical Recognition of Handwritten Digits" test set as 8x8 images: 1797 samples,
64 pixel counts in 0..16, labels 0..9. E. Alpaydin and C. Kaynak, UCI Machine Learning
Repository (1998), https://doi.org/10.24432/C50P49, licensed CC BY 4.0. The file is the
copy distributed with scikit-learn (sklearn/datasets/data/digits.csv.gz), unchanged.
"""
from __future__ import annotations

import gzip
import numbers
from importlib import resources

import numpy as np

from .. import _checks as checks
from .toy import blobs, circles, moons, xor  # small 2-D problems for pictures

CITATION = (
    "E. Alpaydin, C. Kaynak. Optical Recognition of Handwritten Digits. UCI Machine Learning "
    "Repository, 1998. https://doi.org/10.24432/C50P49 (CC BY 4.0)"
)


def load_digits():
    """The shipped handwritten digits (8x8 images, row by row), read from the package.

    Returns
    -------
    X : ndarray of shape (1797, 64), float64
        Pixel counts 0..16.
    y : ndarray of shape (1797,), int64
        Labels 0..9.

    Raises
    ------
    OSError
        The package's data file is missing (a broken install).

    Examples
    --------
    >>> from fastmlp.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((1797, 64), dtype('float64'), (1797,), dtype('int64'))
    """
    with resources.files(__package__).joinpath("data/digits.csv.gz").open("rb") as raw:
        with gzip.open(raw, "rt") as text:
            table = np.loadtxt(text, delimiter=",", dtype=np.float64)
    return table[:, :-1].copy(), table[:, -1].astype(np.int64)


def train_test_split(X, y, test_fraction=0.25, seed=0):
    """A stratified split: each class contributes ``test_fraction`` of its samples to the
    test set, chosen at random from ``seed``.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Real numbers, finite.
    y : array-like of shape (n_samples,)
        Numeric labels.
    test_fraction : float, default 0.25
        Strictly between 0 and 1.
    seed : int or None, default 0

    Returns
    -------
    X_train, X_test : ndarray
    y_train, y_test : ndarray

    Raises
    ------
    ValueError
        A fraction outside (0, 1), X and y of different lengths, no samples, NaN or infinity.

    Examples
    --------
    >>> from fastmlp.datasets import load_digits, train_test_split
    >>> X, y = load_digits()
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
    >>> len(X_train) + len(X_test) == len(X)
    True
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    X, y = checks.real_array(X, "X"), checks.real_array(y, "y")
    if X.ndim < 1 or y.ndim != 1:
        raise ValueError(f"X must have one row per sample and y one label per sample; got shapes {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if len(y) == 0:
        raise ValueError("X and y are empty: no samples to split")
    for name, values in (("X", X), ("y", y)):
        if not np.isfinite(values).all():
            raise ValueError(f"{name} contains NaN or infinity")
    test = stratified_mask(y, test_fraction, np.random.default_rng(checks.seed(seed)))
    return X[~test], X[test], y[~test], y[test]


def stratified_mask(labels, fraction, rng) -> np.ndarray:
    """A boolean mask that picks ``fraction`` (rounded) of the samples of each label in
    ``labels`` (one per sample), at random from the generator ``rng``.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
    fraction : float
        In [0, 1].
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_samples,), bool

    Raises
    ------
    Nothing for valid arguments; ``train_test_split`` checks its inputs first.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.datasets import stratified_mask
    >>> mask = stratified_mask(np.array([0, 0, 0, 0, 1, 1]), 0.5, np.random.default_rng(0))
    >>> int(mask[:4].sum()), int(mask[4:].sum())
    (2, 1)
    """
    chosen = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        chosen[members[: int(round(fraction * len(members)))]] = True
    return chosen
