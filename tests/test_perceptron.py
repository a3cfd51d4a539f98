"""The perceptron: converges on separable data, reports that it cannot on XOR, and its
kernel agrees with the reference."""
import warnings

import numpy as np
import pytest

import fastmlp as fm

from conftest import cython_variants

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


def separable(n=200, d=5, seed=0):
    """Points labelled by a random hyperplane, kept away from it by a margin."""
    rng = np.random.default_rng(seed)
    w, b = rng.normal(size=d), 0.3
    X = rng.normal(size=(4 * n, d))
    s = X @ w + b
    keep = np.abs(s) > 0.2
    return X[keep][:n], np.where(s[keep][:n] > 0, "yes", "no")


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_converges_on_separable_data_and_classifies_it(backend):
    X, y = separable()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = fm.Perceptron(seed=0, backend=backend).fit(X, y)
    assert p.converged and p.mistakes[-1] == 0 and len(p.mistakes) > 1
    assert (p.predict(X) == y).all()
    assert set(p.classes) == {"no", "yes"}


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_xor_is_reported_as_not_converging(backend):
    with pytest.warns(fm.ConvergenceWarning, match="not linearly separable"):
        p = fm.Perceptron(max_epochs=200, seed=0, backend=backend).fit(XOR_X, XOR_Y)
    assert not p.converged
    assert len(p.mistakes) == 200 and min(p.mistakes) > 0
    assert (p.predict(XOR_X) != XOR_Y).any()


def test_one_update_by_hand():
    # w = 0 puts the first sample (+1) on the boundary: w <- 0 + 0.5 * [1, 2, -1]. The
    # second (-1) then has s = 0.5 + 1 * -3 + -0.5 * 1 = -3 < 0: right side, no update.
    with pytest.warns(fm.ConvergenceWarning):  # one epoch, and it made a mistake
        p = fm.Perceptron(eta=0.5, max_epochs=1, shuffle=False).fit([[2.0, -1.0], [-3.0, 1.0]], [1, 0])
    np.testing.assert_array_equal(p.w, [0.5, 1.0, -0.5])
    assert p.mistakes == [1]


@pytest.mark.parametrize("backend", cython_variants())
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernel_matches_reference_epoch_by_epoch(backend, dtype):
    X, y = separable(n=60, d=7, seed=3)
    runs = [
        fm.Perceptron(eta=0.1, max_epochs=5, seed=4, dtype=dtype, backend=b)
        for b in (backend, "reference")
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.ConvergenceWarning)
        for p in runs:
            p.fit(X, y)
    assert runs[0].mistakes == runs[1].mistakes
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(runs[0].w, runs[1].w, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(eta=0), "eta must be > 0"),
        (dict(eta=-1), "eta must be a finite number >= 0"),
        (dict(max_epochs=0), "max_epochs must be a positive integer"),
        (dict(shuffle="yes"), "shuffle must be True or False"),
        (dict(dtype="int8"), "dtype must be 'float32' or 'float64'"),
        (dict(backend="fortran"), "unknown backend"),
    ],
)
def test_bad_settings_are_rejected(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fm.Perceptron(**kwargs)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (XOR_X, [0, 1, 2, 0], "two classes"),
        (XOR_X, [1, 1, 1, 1], "two classes"),
        (XOR_X, [0, 1, 1], r"y has shape \(3,\)"),
        ([[0, np.nan], [1, 1]], [0, 1], "NaN or infinity"),
        (np.zeros((0, 2)), [], "empty"),
        (XOR_X, [0, 1, np.nan, 0], "NaN or infinity"),
    ],
)
def test_bad_data_is_rejected(X, y, match):
    with pytest.raises(ValueError, match=match):
        fm.Perceptron().fit(X, y)


def test_predict_before_fit_and_with_the_wrong_width():
    p = fm.Perceptron()
    with pytest.raises(ValueError, match="not fitted"):
        p.predict(XOR_X)
    X, y = separable(d=3)
    p.fit(X, y)
    with pytest.raises(ValueError, match=r"X has shape \(4, 2\)"):
        p.predict(XOR_X)
