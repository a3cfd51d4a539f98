"""Backpropagation against central finite differences of the mean loss, for every
activation and loss on both backends; and numerical stability at large |s|."""
import numpy as np
import pytest

import fastmlp as fm
from conftest import HIDDEN_IDS, HIDDEN_SPECS, LOSS_IDS, LOSSES, LossCase, make_data, make_net

SIZES = [3, 4, 3, 3]
H = 1e-6  # finite-difference step
MARGIN = 1e-3  # keep every s this far from a kink of its theta


def kinks(act):
    """The points where theta is not differentiable (or where theta' jumps)."""
    a = fm.activation(act)
    if a.name in ("relu", "leaky_relu"):
        return [0.0]
    if a.name == "elu":
        return [] if a.params[0] == 1.0 else [0.0]
    if a.name == "maxout":
        a1, b1, a2, b2 = a.params[:4]
        return [] if a1 == a2 else [(b2 - b1) / (a1 - a2)]
    return []


def away_from_kinks(net, X, y):
    """Keep the samples whose every hidden and output s is at least MARGIN from a kink."""
    keep = []
    for k in range(len(X)):
        t = net.trace(X[k], y[k])
        ok = all(
            abs(s - c) > MARGIN
            for s_l, act in zip(t.s, net.activations)
            for c in kinks(act)
            for s in s_l
        )
        keep.append(ok)
    keep = np.array(keep)
    assert keep.sum() >= 3, "too few samples away from the kinks to test with"
    return X[keep], y[keep]


def numerical_gradient(net, X, y):
    """Central differences of the mean loss (as net.gradient reports it) in every weight."""
    base = [W.copy() for W in net.weights]
    grads = []
    for l, W in enumerate(base):
        G = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            losses = []
            for step in (H, -H):
                ws = [w.copy() for w in base]
                ws[l][idx] += step
                net.set_weights(ws)
                losses.append(net.gradient(X, y)[0])
            G[idx] = (losses[0] - losses[1]) / (2 * H)
        grads.append(G)
    net.set_weights(base)
    return grads


def check_gradient(net, X, y):
    loss, grads = net.gradient(X, y)
    assert np.isfinite(loss)
    numeric = numerical_gradient(net, X, y)
    for l, (g, n) in enumerate(zip(grads, numeric), start=1):
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8, err_msg=f"dl/dW^({l})")
    # the finite differences looked at the loss the backend reports: make sure it is the
    # loss at these weights (set_weights restored them) and that gradient() did not move them
    assert net.gradient(X, y)[0] == loss


@pytest.mark.parametrize("act", HIDDEN_SPECS, ids=HIDDEN_IDS)
@pytest.mark.parametrize("case", LOSSES, ids=LOSS_IDS)
def test_gradient_matches_finite_differences(backend, act, case):
    net = make_net(SIZES, act, case, backend=backend, seed=11)
    X, y = make_data(SIZES, case, 8, 11)
    X, y = away_from_kinks(net, X, y)
    check_gradient(net, X, y)


@pytest.mark.parametrize("act", HIDDEN_SPECS, ids=HIDDEN_IDS)
def test_gradient_with_each_activation_as_l2_output(backend, act):
    """The l2 output delta uses theta'(s^(L)) of the output activation."""
    case = LossCase("l2", "l2", act, "unit")
    net = make_net([2, 3, 2], "tanh", case, backend=backend, seed=5)
    X, y = make_data([2, 3, 2], case, 6, 5)
    X, y = away_from_kinks(net, X, y)
    check_gradient(net, X, y)


@pytest.mark.parametrize("case", LOSSES, ids=LOSS_IDS)
def test_gradient_of_trace_is_outer_product(backend, case):
    """dl/dw_ij = x_i^(l-1) delta_j^(l) with x_0 = 1, and the mean over one sample is it."""
    net = make_net(SIZES, "tanh", case, backend=backend, seed=2)
    X, y = make_data(SIZES, case, 2, 2)
    t = net.trace(X[0], y[0])
    for l in range(len(t.grad)):
        np.testing.assert_allclose(t.grad[l], np.outer(np.r_[1.0, t.x[l]], t.delta[l]), rtol=1e-14, atol=1e-15)
    loss, grads = net.gradient(X[0], y[0])
    assert loss == pytest.approx(t.loss, rel=1e-13)
    for g, tg in zip(grads, t.grad):
        np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-14)


# -- stability at large |s| ---------------------------------------------------------------


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "elu"])
def test_saturating_hidden_units_are_finite(backend, dtype, act):
    """Hidden pre-activations of +-1000 saturate theta without overflow (exp(1000) = inf)."""
    net = fm.MLP([2, 2, 1], activation=act, output="identity", dtype=dtype, backend=backend)
    net.set_weights([[[1000.0, -1000.0], [0.0, 0.0], [0.0, 0.0]], [[0.0], [1.0], [1.0]]])
    t = net.trace([1.0, 1.0], 0.5)
    expected = {"sigmoid": [1.0, 0.0], "tanh": [1.0, -1.0], "elu": [1000.0, -1.0]}[act]
    np.testing.assert_allclose(t.x[1], expected, rtol=1e-6)
    for q in (t.s, t.x, t.delta, t.grad):
        for a in q:
            assert np.isfinite(a).all()
