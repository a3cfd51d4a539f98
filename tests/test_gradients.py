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


def big_output_net(case, backend, dtype, big=1000.0):
    """A 2-3-3 network whose output pre-activations are about (+big, -big, 0)."""
    net = fm.MLP([2, 3, 3], activation="tanh", output=case.output, loss=case.loss, dtype=dtype, backend=backend)
    W1 = np.array([[0.0, 0.0, 0.0], [0.1, -0.2, 0.3], [0.2, 0.1, -0.1]])
    W2 = np.array([[big, -big, 0.0], [0.5, -0.5, 0.5], [0.2, 0.3, -0.4], [0.1, 0.1, 0.1]])
    net.set_weights([W1, W2])
    return net


X_SMALL = np.array([[0.3, -0.2], [-0.1, 0.4]])


@pytest.mark.parametrize("big", [1000.0, 1e4])
def test_softmax_cross_entropy_is_stable_at_large_s(backend, dtype, big):
    net = big_output_net(LOSSES[3], backend, dtype, big)
    t = net.trace(X_SMALL[0], 0)  # the right class has s = +big: loss ~ 0
    assert np.isfinite(t.x[-1]).all() and t.loss >= 0 and t.loss < 1e-6
    np.testing.assert_allclose(t.x[-1], [1.0, 0.0, 0.0], atol=1e-6)
    t = net.trace(X_SMALL[0], 1)  # the right class has s = -big: loss ~ 2 big
    s = t.s[-1].astype(np.float64)
    assert t.loss == pytest.approx(s[0] - s[1], rel=1e-5)
    np.testing.assert_allclose(t.delta[-1], [1.0, -1.0, 0.0], atol=1e-6)
    loss, grads = net.gradient(X_SMALL, [1, 2])
    assert np.isfinite(loss) and loss > big
    for g in grads:
        assert np.isfinite(g).all()
    assert np.isfinite(net.forward(X_SMALL)).all()
    net.sgd_step(X_SMALL, [1, 2], 1e-3)
    assert np.isfinite(net.params).all()


@pytest.mark.parametrize("big", [1000.0, 1e4])
def test_sigmoid_binary_cross_entropy_is_stable_at_large_s(backend, dtype, big):
    net = big_output_net(LOSSES[5], backend, dtype, big)
    # targets agree with the signs of s: loss ~ 0, delta ~ 0 on the big units
    t = net.trace(X_SMALL[0], [1.0, 0.0, 1.0])
    assert np.isfinite(t.loss) and 0 <= t.loss < 1.0
    np.testing.assert_allclose(t.x[-1][:2], [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(t.delta[-1][:2], [0.0, 0.0], atol=1e-6)
    # targets disagree: loss ~ |s| on each big unit, delta = x - y = (+-1)
    t = net.trace(X_SMALL[0], [0.0, 1.0, 0.0])
    s = t.s[-1].astype(np.float64)
    expected = s[0] - s[1] + np.logaddexp(0, s[2])
    assert t.loss == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(t.delta[-1][:2], [1.0, -1.0], atol=1e-6)
    loss, grads = net.gradient(X_SMALL, [[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    assert np.isfinite(loss) and loss > big / 2
    for g in grads:
        assert np.isfinite(g).all()
    np.testing.assert_array_equal(net.predict(X_SMALL)[:, :2], [[1, 0], [1, 0]])


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
