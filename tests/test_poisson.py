"""loss="poisson": exponential outputs h = e^s (the log link) and the half Poisson deviance
y log(y / h) - y + h, as scikit-learn's MLPRegressor(loss="poisson") means it. The kernels
against the reference, both against finite differences and against the formula; targets
must be counts or rates (y >= 0); the estimator against scikit-learn's; model files and
ONNX."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastmlp as fm
from conftest import HIDDEN_IDS, HIDDEN_SPECS, LOSSES, assert_weights_close, make_net, rejects, tolerance, twin
from test_gradients import away_from_kinks, check_gradient

POISSON = next(case for case in LOSSES if case.loss == "poisson")
SIZES = [4, 6, 5, 2]


def data(n=16, d_in=SIZES[0], d_out=SIZES[-1], seed=0):
    """Inputs and counts whose mean depends on the inputs (so there is something to learn)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, size=(n, d_in))
    rate = np.exp(0.4 * X[:, :1] - 0.2 * X[:, 1:2] + 0.3)
    return X, rng.poisson(rate * np.ones((1, d_out))).astype(float)


def net_of(backend="cython", dtype="float64", activation="tanh", seed=1, sizes=SIZES):
    return make_net(sizes, activation, POISSON, dtype=dtype, backend=backend, seed=seed,
                    weights=[np.random.default_rng(seed).normal(0.0, 0.3, (a + 1, b)) for a, b in zip(sizes, sizes[1:])])


def half_deviance(H, Y):
    """The mean over samples of sum_j y_j log(y_j / h_j) - y_j + h_j (y log y = 0 at y = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y / H, 1.0)), 0.0)
    return float(np.mean(np.sum(ylogy - Y + H, axis=1)))


def test_the_loss_pairs_with_exp_outputs():
    net = fm.MLP([3, 4, 2], loss="poisson")
    assert net.activations[-1].name == "exp" and not net.loss.classifier
    with pytest.raises(ValueError, match="loss 'poisson' needs output='exp'"):
        fm.MLP([3, 4, 2], loss="poisson", output="identity")
    with pytest.raises(ValueError, match="output 'exp' goes with loss 'poisson', not 'l2'"):
        fm.MLP([3, 4, 2], loss="l2", output="exp")
    with pytest.raises(ValueError, match="exp can only be an output activation"):
        fm.MLP([3, 4, 2], activation="exp", loss="poisson")
    assert "poisson" in fm.losses.LOSSES and "exp" in fm.activations.KINDS


def test_loss_value_is_the_half_poisson_deviance(backend, dtype):
    X, Y = data()
    Y[:3] = 0  # y log y is 0 at y = 0
    net = net_of(backend, dtype)
    H = net.forward(X).astype(np.float64)
    assert net.loss_value(X, Y) == pytest.approx(half_deviance(H, Y), rel=tolerance(dtype)["rtol"])


def test_outputs_are_the_exponential_of_the_last_sums(backend):
    X, _ = data()
    net = net_of(backend)
    t = net.trace(X[0], np.zeros(SIZES[-1]))
    np.testing.assert_allclose(t.x[-1], np.exp(t.s[-1]), rtol=1e-15)
    np.testing.assert_allclose(t.delta[-1], t.x[-1], rtol=1e-15)  # delta^(L) = h - y with y = 0


@pytest.mark.parametrize("act", HIDDEN_SPECS, ids=HIDDEN_IDS)
def test_gradient_matches_finite_differences(backend, act):
    net = net_of(backend, activation=act, seed=11)
    X, Y = data(8, seed=11)
    X, Y = away_from_kinks(net, X, Y)
    check_gradient(net, X, Y)


@pytest.mark.parametrize("how", [{"batch_size": 1}, {"batch_size": 4, "l2": 0.01}, {"batch_size": None},
                                 {"batch_size": 1, "optimizer": "adam", "eta": 0.01}, {"solver": "lbfgs"}],
                         ids=["per-sample", "minibatch", "full-batch", "adam", "lbfgs"])
def test_kernels_agree_with_the_reference(dtype, how):
    X, Y = data()
    net = net_of("cython", dtype, "relu")
    ref = twin(net, backend="reference")
    np.testing.assert_allclose(net.forward(X), ref.forward(X), **tolerance(dtype))
    assert_weights_close(net.gradient(X, Y)[1], ref.gradient(X, Y)[1], **tolerance(dtype))
    options = {"eta": 0.05, **how}
    a = net.fit(X, Y, epochs=3, seed=2, **options)
    b = ref.fit(X, Y, epochs=3, seed=2, **options)
    assert_weights_close(net.weights, ref.weights, **tolerance(dtype))
    np.testing.assert_allclose(a.loss, b.loss, **tolerance(dtype))


def test_training_lowers_the_deviance(backend):
    X, Y = data(40)
    net = net_of(backend)
    before = net.loss_value(X, Y)
    history = net.fit(X, Y, epochs=30, batch_size=4, eta=0.02, seed=0)
    assert history.loss[-1] < before and net.loss_value(X, Y) < 0.9 * before
    assert (net.predict(X) > 0).all()


def test_negative_targets_are_refused(backend):
    X, Y = data()
    Y[5, 1] = -1
    net = net_of(backend)
    message = "poisson targets must be non-negative"
    for call in (lambda: net.fit(X, Y, epochs=1), lambda: net.sgd_step(X, Y, 0.1), lambda: net.gradient(X, Y),
                 lambda: net.fit(X[:8], Y[:8] * 0, epochs=1, validation_data=(X, Y))):
        rejects(net, call, ValueError, message)


def test_a_diverging_fit_keeps_the_last_finite_weights(backend):
    X, Y = data()
    net = net_of(backend)
    with pytest.raises(fm.DivergenceError):
        net.fit(X * 100, Y, epochs=3, eta=50.0)
    assert np.isfinite(net.params).all()


def test_model_files_keep_the_loss(tmp_path, dtype):
    X, Y = data()
    net = net_of("cython", dtype)
    net.fit(X, Y, epochs=2, batch_size=4, optimizer="adam", eta=0.01, seed=0)
    net.save(tmp_path / "poisson.fastmlp")
    loaded = fm.load(tmp_path / "poisson.fastmlp")
    assert loaded.loss.name == "poisson" and loaded.activations[-1].name == "exp"
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))


def test_onnx_computes_the_exponential_outputs(dtype):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    X, _ = data()
    net = net_of("cython", dtype)
    model = net.to_onnx()
    assert model.graph.node[-1].op_type == "Exp"
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (H,) = session.run(["h"], {"x": X.astype(dtype)})
    np.testing.assert_allclose(H, net.forward(X), rtol=1e-12 if dtype == "float64" else 1e-5)


# -- the estimator -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def counts():
    X, Y = data(300, d_in=8, d_out=1, seed=4)
    return X, Y[:, 0]


@pytest.mark.parametrize("params", [
    {"solver": "sgd", "momentum": 0.0, "shuffle": False, "batch_size": 32, "learning_rate_init": 0.01},
    {"solver": "adam", "batch_size": 50, "learning_rate_init": 0.01},
    {"solver": "lbfgs"},
], ids=["sgd", "adam", "lbfgs"])
def test_the_estimator_matches_scikit_learns_poisson_regressor(counts, params):
    sk = pytest.importorskip("sklearn.neural_network")
    from fastmlp.estimators import MLPRegressor

    X, y = counts
    settings = {"loss": "poisson", "hidden_layer_sizes": (10,), "activation": "tanh", "alpha": 0.001,
                "max_iter": 5, "random_state": 0, **params}
    theirs, ours = sk.MLPRegressor(**settings), MLPRegressor(**settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, y)
        ours.fit(X, y)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-7)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-4)
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), rel=1e-6)


def test_the_estimator_refuses_negative_targets_and_round_trips(counts, tmp_path):
    pytest.importorskip("sklearn")
    from fastmlp.estimators import MLPRegressor

    X, y = counts
    with pytest.raises(ValueError, match="loss='poisson' needs non-negative targets"):
        MLPRegressor(loss="poisson").fit(X, y - 1)
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    est.save(tmp_path / "est.fastmlp")
    loaded = fm.load(tmp_path / "est.fastmlp")
    assert loaded.loss == "poisson" and loaded.out_activation_ == "exp"
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
