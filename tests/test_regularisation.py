"""L2 and L1 penalties on the weights (never the biases): by hand, kernels against the
reference, and the L1 step's stop at zero."""
import numpy as np
import pytest

import fastmlp as fm

import conftest
from conftest import cython_variants, tolerance


data = conftest.three_classes


def net_of(backend, dtype="float64", seed=1):
    return fm.MLP([4, 5, 3], activation="tanh", loss="cross_entropy", dtype=dtype, seed=seed, backend=backend)


@pytest.mark.parametrize("backend", ["cython", "reference"])
@pytest.mark.parametrize("batch", [1, 5])
def test_one_step_by_hand(backend, batch):
    # w <- soft(w - eta (g + l2 w), eta l1) on weight rows; b <- b - eta g on bias rows.
    X, y = data(batch)
    net = net_of(backend)
    eta, l2, l1 = 0.3, 0.2, 0.01
    before = [W.copy() for W in net.weights]
    _, grads = net.gradient(X, y)
    net.sgd_step(X, y, eta, l2=l2, l1=l1)
    for W, W0, g in zip(net.weights, before, grads):
        np.testing.assert_allclose(W[0], W0[0] - eta * g[0], rtol=1e-12, atol=1e-15)
        z = W0[1:] - eta * (g[1:] + l2 * W0[1:])
        expected = np.sign(z) * np.maximum(np.abs(z) - eta * l1, 0)
        np.testing.assert_allclose(W[1:], expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_l1_stops_a_weight_at_zero_instead_of_crossing_it(backend):
    X, y = data(1)
    net = net_of(backend)
    _, grads = net.gradient(X, y)
    eta, l1 = 0.1, 1.0
    # A weight whose gradient step alone keeps it positive but small: the L1 step of
    # eta * l1 = 0.1 would carry it below zero, so it ends at exactly zero.
    i, j = 2, 3
    W = [w.copy() for w in net.weights]
    W[0][i, j] = 0.05 + eta * grads[0][i, j]  # after the gradient step: about 0.05
    net.set_weights(W)
    _, grads = net.gradient(X, y)
    assert 0 < W[0][i, j] - eta * grads[0][i, j] < eta * l1
    net.sgd_step(X, y, eta, l1=l1)
    assert net.weights[0][i, j] == 0.0
    big = np.abs(W[0][1:]) > 0.5  # weights far from zero move by the full eta * l1
    assert big.any()
    expected = W[0][1:] - eta * grads[0][1:] - eta * l1 * np.sign(W[0][1:])
    np.testing.assert_allclose(net.weights[0][1:][big], expected[big], rtol=1e-12)


@pytest.mark.parametrize("backend", cython_variants())
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_size", [1, 4, None])
@pytest.mark.parametrize("l2, l1", [(0.05, 0.0), (0.0, 0.02), (0.1, 0.01)])
def test_kernels_match_the_reference(backend, dtype, batch_size, l2, l1):
    X, y = data(20, seed=3)
    nets = [net_of(b, dtype) for b in (backend, "reference")]
    hists = [n.fit(X, y, epochs=3, batch_size=batch_size, eta=0.2, seed=4, l2=l2, l1=l1) for n in nets]
    np.testing.assert_allclose(nets[0].params, nets[1].params, **tolerance(dtype))
    np.testing.assert_allclose(hists[0].loss, hists[1].loss, **tolerance(dtype))
    unpenalised = net_of(backend, dtype)
    unpenalised.fit(X, y, epochs=3, batch_size=batch_size, eta=0.2, seed=4)
    assert np.abs(unpenalised.params - nets[0].params).max() > 1e-3  # the penalties did act


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_penalties_shrink_the_weights_and_spare_the_biases(backend):
    X, y = data(30, seed=5)
    plain, decayed = net_of(backend), net_of(backend)
    plain.fit(X, y, epochs=20, eta=0.1, seed=6)
    decayed.fit(X, y, epochs=20, eta=0.1, seed=6, l2=0.5)
    norms = [sum(float(np.sum(W[1:] ** 2)) for W in n.weights) for n in (plain, decayed)]
    assert norms[1] < 0.5 * norms[0]
    sparse = net_of(backend)
    sparse.fit(X, y, epochs=20, eta=0.1, seed=6, l1=0.05)
    assert sum(int(np.sum(W[1:] == 0)) for W in sparse.weights) > 0
    assert all((W[0] != 0).any() for W in sparse.weights)  # biases are not shrunk to zero


def test_lbfgs_minimises_the_l2_objective():
    X, y = data(40, seed=7)
    net = net_of("cython")
    net.fit(X, y, solver="lbfgs", epochs=200, l2=0.1)
    # At a minimum of mean loss + l2/2 |w|^2 the weight gradient is -l2 w, the bias gradient 0.
    _, grads = net.gradient(X, y)
    for W, g in zip(net.weights, grads):
        np.testing.assert_allclose(g[1:], -0.1 * W[1:], atol=2e-4)
        np.testing.assert_allclose(g[0], 0, atol=2e-4)
    with pytest.raises(ValueError, match="takes no l1"):
        net.fit(X, y, solver="lbfgs", l1=0.1)


@pytest.mark.parametrize("backend", ["cython", "reference"])
@pytest.mark.parametrize("kwargs, match", [
    (dict(l2=-0.1), "l2 must be a finite number >= 0"),
    (dict(l1=float("nan")), "l1 must be a finite number >= 0"),
    (dict(l2="0.1"), "l2 must be a finite number >= 0"),
    (dict(l1=True), "l1 must be a finite number >= 0"),
])
def test_bad_penalties_are_rejected_and_change_nothing(backend, kwargs, match):
    X, y = data(4)
    net = net_of(backend)
    before = net.params.copy()
    with pytest.raises((ValueError, TypeError), match=match):
        net.sgd_step(X, y, 0.1, **kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        net.fit(X, y, epochs=1, **kwargs)
    np.testing.assert_array_equal(net.params, before)
