"""The checks of scikit-learn's MLP tests that reach into its private internals, made
through fastmlp's public API (test_sklearn_own_tests.EXCUSED names them): one SGD step
from weights set by hand (test_fit), the gradient against finite differences
(test_gradient), the learning rate a warm refit leaves (test_learning_rate_warmstart) and
the "adaptive" schedule's stop below 1e-6 (test_adaptive_learning_rate)."""
from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import LabelBinarizer  # noqa: E402

from fastmlp.estimators import MLPClassifier  # noqa: E402


def sigmoid(s):
    return 1 / (1 + np.exp(-s))


def test_one_sgd_step_from_set_weights_is_the_worked_example():
    """test_fit's network (3-2-1, logistic, alpha 0.1, rate 0.1, no momentum) takes one SGD
    step from weights set through coefs_ and intercepts_: the step written out in numpy,
    and scikit-learn's worked numbers to 3 decimals."""
    X, y = np.array([[0.6, 0.8, 0.7]]), np.array([0])
    mlp = MLPClassifier(solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic", random_state=1,
                        max_iter=1, hidden_layer_sizes=2, momentum=0)
    mlp.partial_fit(X, y, classes=[0, 1])
    W1, W2 = np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]]), np.array([[0.1], [0.2]])
    b1, b2 = np.array([0.1, 0.1]), np.array([1.0])
    mlp.coefs_, mlp.intercepts_ = [W1.copy(), W2.copy()], [b1.copy(), b2.copy()]
    mlp.partial_fit(X, y)

    h = sigmoid(X @ W1 + b1)
    o = sigmoid(h @ W2 + b2)
    delta2 = o - y[:, None]
    delta1 = h * (1 - h) * (delta2 @ W2.T)
    eta, alpha = 0.1, 0.1
    expected = [W1 - eta * (X.T @ delta1 + alpha * W1), W2 - eta * (h.T @ delta2 + alpha * W2)]
    expected_b = [b1 - eta * delta1[0], b2 - eta * delta2[0]]
    for ours, theirs in zip(mlp.coefs_ + mlp.intercepts_, expected + expected_b):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    np.testing.assert_almost_equal(mlp.coefs_[0], [[0.098, 0.195756], [0.2956664, 0.096008],
                                                   [0.4939998, -0.002244]], decimal=3)
    np.testing.assert_almost_equal(mlp.coefs_[1], [[0.04706], [0.154089]], decimal=3)
    np.testing.assert_almost_equal(mlp.intercepts_[0], [0.098333, 0.09626], decimal=3)
    np.testing.assert_almost_equal(mlp.intercepts_[1], [0.9235], decimal=3)
    np.testing.assert_almost_equal(mlp.predict_proba(X)[0, 1], 0.739, decimal=3)


@pytest.mark.parametrize("n_labels", [2, 3])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_the_lbfgs_objective_gradient_matches_finite_differences(n_labels, activation):
    """test_gradient's networks: the gradient of the objective L-BFGS minimises (the mean
    loss plus alpha / (2 n) * sum W^2) against central differences of its value."""
    rng = np.random.RandomState(42)
    n, alpha = 5, 1e-5
    X = rng.rand(n, 10)
    y = 1 + np.mod(np.arange(n) + 1, n_labels)
    Y = LabelBinarizer().fit_transform(y).astype(float)
    mlp = MLPClassifier(activation=activation, hidden_layer_sizes=10, solver="lbfgs", alpha=alpha, max_iter=1,
                        random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    net = mlp.net_.copy()

    def objective():
        return net.loss_value(X, Y) + alpha / (2 * n) * sum(np.sum(W[1:] ** 2) for W in net.weights)

    _, grads = net.gradient(X, Y)
    analytic = np.concatenate([(g + np.vstack([np.zeros_like(W[:1]), alpha / n * W[1:]])).ravel()
                               for g, W in zip(grads, net.weights)])
    theta = net.params.copy()
    numeric = np.empty_like(theta)
    epsilon = 1e-5
    for i in range(theta.size):
        for sign in (1, -1):
            net.params[...] = theta
            net.params[i] += sign * epsilon
            numeric[i] = objective() if sign == 1 else (numeric[i] - objective()) / (2 * epsilon)
    np.testing.assert_almost_equal(numeric, analytic)
    assert np.abs(analytic).max() > 1e-3  # a gradient worth checking


@pytest.mark.parametrize("learning_rate", ["invscaling", "constant"])
def test_a_warm_refit_leaves_the_rate_partial_fit_goes_on_with(learning_rate):
    """test_learning_rate_warmstart: after two warm fits of one epoch over 4 samples,
    "invscaling" has the rate learning_rate_init / (8 + 1)^power_t and "constant" its
    learning_rate_init; the step partial_fit then makes is plain SGD at that rate (no
    momentum here), and the weights are scikit-learn's."""
    X, y = np.array([[3, 2], [1, 6], [5, 6], [-2, -4]], dtype=float), np.array([1, 1, 1, 0])
    params = dict(solver="sgd", hidden_layer_sizes=4, learning_rate=learning_rate, max_iter=1, power_t=0.25,
                  warm_start=True, momentum=0, random_state=0)
    ours, theirs = MLPClassifier(**params), sk.MLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in (ours, theirs):
            est.fit(X, y)
            est.fit(X, y)
    assert ours.t_ == 8
    rate = ours.learning_rate_init / (8 + 1) ** ours.power_t if learning_rate == "invscaling" \
        else ours.learning_rate_init
    stepped = ours.net_.copy()
    stepped.sgd_step(X, y[:, None].astype(float), rate, l2=ours.alpha / len(X))
    for est in (ours, theirs):
        est.partial_fit(X, y)
    for W, ws, w in zip(stepped.weights, ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(ws, W[1:], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ws, w, rtol=1e-9, atol=1e-12)


def test_adaptive_divides_the_rate_until_below_1e_6():
    """test_adaptive_learning_rate: with tol=0.5 every epoch stalls, so "adaptive" divides
    the rate by 5 after each 11 stalled epochs and stops once it is below 1e-6: after 5
    divisions (0.001 / 5^5 < 1e-6 < 0.001 / 5^4), as scikit-learn reports in its verbose
    output, at the same iteration."""
    X, y = [[3, 2], [1, 6]], [1, 0]
    params = dict(tol=0.5, max_iter=3000, solver="sgd", learning_rate="adaptive", verbose=True, random_state=0)
    printed = []
    for est in (MLPClassifier(**params), sk.MLPClassifier(**params)):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            est.fit(X, y)
        printed.append([line for line in out.getvalue().splitlines() if not line.startswith("Iteration")])
        assert est.n_iter_ == 6 * 11 + 1 < est.max_iter
    ours, theirs = printed
    assert ours == theirs
    assert sum("Setting learning rate to" in line for line in ours) == 5 and ours[-1].endswith("Stopping.")
    assert 0.001 / 5**5 < 1e-6 < 0.001 / 5**4
