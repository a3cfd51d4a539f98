"""Momentum, Nesterov momentum and Adam: steps by hand, kernels against the reference,
state that carries over between fits and is put back when an epoch diverges, Adam's
epsilon in float32 and moments that overflow."""
import numpy as np
import pytest

import fastmlp as fm

import conftest
from conftest import cython_variants, tolerance


data = conftest.three_classes
RULES = [kind for kind in conftest.OPTIMIZERS if kind != "sgd"]  # the optimizers with a kernel rule


def net_of(backend="cython", dtype="float64"):
    return fm.MLP([4, 5, 3], activation="tanh", loss="cross_entropy", dtype=dtype, seed=1, backend=backend)


def full_batch(net, X, y, epochs, **options):
    return net.fit(X, y, epochs=epochs, batch_size=None, shuffle=False, **options)


def flat_gradient(net, X, y):
    return np.concatenate([g.ravel() for g in net.gradient(X, y)[1]])


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_two_momentum_steps_by_hand(backend):
    X, y = data()
    net, eta, mu = net_of(backend), 0.5, 0.8
    w0, g0 = net.params.copy(), flat_gradient(net, X, y)
    full_batch(net, X, y, 1, eta=eta, optimizer="momentum", momentum=mu)
    m1 = -eta * g0
    np.testing.assert_allclose(net.params, w0 + m1, rtol=1e-12, atol=1e-14)
    g1 = flat_gradient(net, X, y)
    full_batch(net, X, y, 1, eta=eta, optimizer="momentum", momentum=mu)  # continues: same settings
    m2 = mu * m1 - eta * g1
    np.testing.assert_allclose(net.params, w0 + m1 + m2, rtol=1e-12, atol=1e-14)
    assert net.optimizer.t == 2


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_one_nesterov_step_by_hand(backend):
    X, y = data()
    net, eta, mu = net_of(backend), 0.5, 0.9
    w0, g0 = net.params.copy(), flat_gradient(net, X, y)
    full_batch(net, X, y, 1, eta=eta, optimizer="nesterov", momentum=mu)
    np.testing.assert_allclose(net.params, w0 + mu * (-eta * g0) - eta * g0, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_one_adam_step_by_hand(backend):
    # t = 1: m = (1 - b1) g, v = (1 - b2) g^2, w <- w - eta sqrt(1 - b2) / (1 - b1) m / (sqrt(v) + eps),
    # which is w - eta g / (|g| + eps / sqrt(1 - b2)): about eta in each coordinate.
    X, y = data()
    net, eta, b1, b2, eps = net_of(backend), 0.01, 0.8, 0.99, 1e-8
    w0, g = net.params.copy(), flat_gradient(net, X, y)
    full_batch(net, X, y, 1, eta=eta, optimizer="adam", beta1=b1, beta2=b2, epsilon=eps)
    m, v = (1 - b1) * g, (1 - b2) * g * g
    expected = w0 - eta * np.sqrt(1 - b2) / (1 - b1) * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(net.params, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(net.optimizer.m, m, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(net.optimizer.v, v, rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("backend", cython_variants())
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_size", [1, 4, None])
@pytest.mark.parametrize("kind", RULES)
def test_kernels_match_the_reference(backend, dtype, batch_size, kind):
    X, y = data(20, seed=3)
    nets = [net_of(b, dtype) for b in (backend, "reference")]
    hists = [
        n.fit(X, y, epochs=3, batch_size=batch_size, eta=0.05, seed=4, optimizer=kind, l2=0.01, l1=0.001)
        for n in nets
    ]
    tol = tolerance(dtype)
    np.testing.assert_allclose(nets[0].params, nets[1].params, **tol)
    np.testing.assert_allclose(nets[0].optimizer.m, nets[1].optimizer.m, **tol)
    np.testing.assert_allclose(nets[0].optimizer.v, nets[1].optimizer.v, **tol)
    np.testing.assert_allclose(hists[0].loss, hists[1].loss, **tol)
    assert nets[0].optimizer.t == nets[1].optimizer.t


def test_new_settings_or_fresh_weights_start_from_zero_moments():
    X, y = data()
    net = net_of()
    full_batch(net, X, y, 2, eta=0.1, optimizer="adam")
    first = net.optimizer
    full_batch(net, X, y, 1, eta=0.1, optimizer="adam", beta1=0.5)
    assert net.optimizer is not first and net.optimizer.t == 1
    net.fit(X, y, epochs=1, optimizer="adam", beta1=0.5, reinitialise=True, batch_size=None)
    assert net.optimizer.t == 1
    full_batch(net, X, y, 1, eta=0.1)  # the plain step keeps no state
    assert net.optimizer is None


def test_a_copy_has_its_own_moments():
    X, y = data()
    net = net_of()
    full_batch(net, X, y, 1, eta=0.1, optimizer="momentum")
    twin = net.copy()
    full_batch(net, X, y, 1, eta=0.1, optimizer="momentum")
    assert twin.optimizer.t == 1 and net.optimizer.t == 2
    assert not np.array_equal(twin.optimizer.m, net.optimizer.m)


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_divergence_puts_the_moments_back(backend):
    X, y = data()
    net = fm.MLP([4, 3, 1], activation="identity", loss="l2", seed=0, backend=backend)
    Y = np.full(len(X), 1e150)
    full_batch(net, X, np.zeros(len(X)), 1, eta=0.01, optimizer="momentum")
    m, t = net.optimizer.m.copy(), net.optimizer.t
    with pytest.raises(fm.DivergenceError):
        net.fit(X, Y, epochs=5, batch_size=2, eta=1e10, optimizer="momentum")
    assert np.isfinite(net.params).all()
    np.testing.assert_array_equal(net.optimizer.m, m)
    assert net.optimizer.t == t


@pytest.mark.parametrize("kwargs, match", [
    (dict(optimizer="rmsprop"), "optimizer"),
    (dict(optimizer="momentum", momentum=1.0), r"momentum must lie in \[0, 1\)"),
    (dict(optimizer="adam", beta2=-0.1), "beta2 must be a finite number >= 0"),
    (dict(optimizer="adam", epsilon=0), "epsilon must be > 0"),
    (dict(optimizer="adam", solver="lbfgs"), "goes with solver='sgd'"),
])
def test_bad_settings_are_rejected_and_change_nothing(kwargs, match):
    X, y = data()
    net = net_of()
    before = net.params.copy()
    with pytest.raises((ValueError, TypeError), match=match):
        net.fit(X, y, epochs=1, **kwargs)
    np.testing.assert_array_equal(net.params, before)
    assert net.optimizer is None


@pytest.mark.parametrize("backend", ["cython", "reference"])
@pytest.mark.parametrize("kind", RULES)
def test_sgd_steps_use_and_share_the_optimizer_state(backend, kind):
    """Per-sample sgd_step calls with an optimizer are a shuffle-free per-sample epoch of fit
    with it, and a fit with the same settings continues from the steps' state."""
    X, y = data(8)
    stepped, fitted = net_of(backend), net_of(backend)
    options = dict(optimizer=kind, momentum=0.7, beta1=0.8, beta2=0.99, epsilon=1e-6)
    losses = [stepped.sgd_step(X[k], y[k], 0.05, **options) for k in range(8)]
    history = fitted.fit(X, y, epochs=1, batch_size=1, eta=0.05, shuffle=False, **options)
    np.testing.assert_allclose(stepped.params, fitted.params, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(stepped.optimizer.m, fitted.optimizer.m, rtol=1e-12, atol=1e-14)
    assert stepped.optimizer.t == fitted.optimizer.t == 8
    assert history.loss[0] == pytest.approx(np.mean(losses), rel=1e-12)
    stepped.fit(X, y, epochs=1, batch_size=None, eta=0.05, **options)
    fitted.sgd_step(X, y, 0.05, **options)
    np.testing.assert_allclose(stepped.params, fitted.params, rtol=1e-12, atol=1e-14)
    assert stepped.optimizer.t == fitted.optimizer.t == 9


def test_a_plain_sgd_step_after_adam_clears_its_state():
    X, y = data()
    net = net_of()
    net.sgd_step(X, y, 0.01, optimizer="adam")
    assert net.optimizer.kind == "adam"
    net.sgd_step(X, y, 0.01)
    assert net.optimizer is None


def test_bad_optimizer_settings_in_sgd_step_change_nothing():
    X, y = data()
    net = net_of()
    net.sgd_step(X, y, 0.01, optimizer="momentum")
    before, state = net.params.copy(), net.optimizer
    with pytest.raises(ValueError, match="optimizer must be one of"):
        net.sgd_step(X, y, 0.01, optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\)"):
        net.sgd_step(X, y, 0.01, optimizer="momentum", momentum=1.0)
    np.testing.assert_array_equal(net.params, before)
    assert net.optimizer is state and state.t == 1


# Per sample, the kernels make each optimizer step inside backprop's passes over the
# weights (and fuse the update of W^(1) with the next sample's forward sums). Every option
# goes through that path; widths above the kernels' column block (32) are included.
PER_SAMPLE_OPTIONS = [
    dict(l2=0.02, l1=0.003),
    dict(dropout=0.4),
    dict(update_dropout=0.3, l2=0.01),
    dict(sample_weight=np.linspace(0.2, 2.0, 20), l1=0.002),
    dict(dropout=[0.3, 0.5], sample_weight=np.linspace(2.0, 0.5, 20), l2=0.01, update_dropout=0.2),
]


@pytest.mark.parametrize("backend", cython_variants())
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", RULES)
@pytest.mark.parametrize("options", PER_SAMPLE_OPTIONS, ids=lambda o: "-".join(o))
def test_per_sample_steps_with_every_option_match_the_reference(backend, dtype, kind, options):
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(20, 6)), rng.integers(0, 3, 20)
    nets = [
        fm.MLP([6, 37, 35, 3], activation="tanh", loss="cross_entropy", dtype=dtype, seed=2, backend=b)
        for b in (backend, "reference")
    ]
    fit = dict(epochs=2, batch_size=1, eta=0.02, seed=6, optimizer=kind, momentum=0.8, beta1=0.85, beta2=0.99)
    hists = [n.fit(X, y, **fit, **options) for n in nets]
    tol = tolerance(dtype)
    np.testing.assert_allclose(nets[0].params, nets[1].params, **tol)
    np.testing.assert_allclose(nets[0].optimizer.m, nets[1].optimizer.m, **tol)
    np.testing.assert_allclose(nets[0].optimizer.v, nets[1].optimizer.v, **tol)
    np.testing.assert_allclose(hists[0].loss, hists[1].loss, **tol)
    assert nets[0].optimizer.t == nets[1].optimizer.t == 40


@pytest.mark.parametrize("backend", cython_variants())
@pytest.mark.parametrize("kind", RULES)
@pytest.mark.parametrize("batch_size", [1, 3])
def test_an_optimizer_epoch_in_pieces_equals_one_call(monkeypatch, backend, kind, batch_size):
    """Long epochs reach the kernels in pieces (so that Ctrl-C is noticed); where a piece
    ends, the fused next-sample sums are not formed, and nothing may change, bit for bit."""
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(30, 6)), rng.integers(0, 3, 30)
    whole, pieces = (fm.MLP([6, 37, 3], loss="cross_entropy", seed=3, backend=backend) for _ in range(2))
    fit = dict(epochs=2, batch_size=batch_size, eta=0.05, seed=8, optimizer=kind, l2=0.01, dropout=0.3)
    whole.fit(X, y, **fit)
    monkeypatch.setattr(fm._engine.feeding, "WORK_PER_CALL", 3 * pieces.params.size * 6)  # 6 samples per call
    pieces.fit(X, y, **fit)
    np.testing.assert_array_equal(whole.params, pieces.params)
    np.testing.assert_array_equal(whole.optimizer.m, pieces.optimizer.m)
    np.testing.assert_array_equal(whole.optimizer.v, pieces.optimizer.v)
    assert whole.optimizer.t == pieces.optimizer.t


@pytest.mark.parametrize("backend", cython_variants())
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", ["momentum", "nesterov"])
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_momentum_in_column_blocks_matches_the_reference(monkeypatch, backend, dtype, kind, l2):
    """Without L1, momentum and Nesterov update W^(1) in column blocks of every width (127 =
    64 + 32 + 16 + 8 + 4 + 2 + 1 columns), fused with the next sample's sums; a call that
    ends leaves the same weights, bit for bit."""
    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(24, 5)), rng.integers(0, 3, 24)
    fit = dict(epochs=2, batch_size=1, eta=0.03, seed=2, optimizer=kind, momentum=0.85, l2=l2)
    nets = [fm.MLP([5, 127, 3], loss="cross_entropy", dtype=dtype, seed=4, backend=b)
            for b in (backend, "reference", backend)]
    hists = [n.fit(X, y, **fit) for n in nets[:2]]
    tol = tolerance(dtype)
    np.testing.assert_allclose(nets[0].params, nets[1].params, **tol)
    np.testing.assert_allclose(nets[0].optimizer.m, nets[1].optimizer.m, **tol)
    np.testing.assert_allclose(hists[0].loss, hists[1].loss, **tol)
    monkeypatch.setattr(fm._engine.feeding, "WORK_PER_CALL", 3 * nets[2].params.size * 5)  # 5 samples per call
    nets[2].fit(X, y, **fit)
    np.testing.assert_array_equal(nets[0].params, nets[2].params)
    np.testing.assert_array_equal(nets[0].optimizer.m, nets[2].optimizer.m)


def test_epsilon_that_rounds_to_zero_in_float32_is_refused_not_called_divergence():
    X, y = np.ones((8, 3), dtype=np.float32), np.ones((8, 1), dtype=np.float32)
    net = fm.MLP([3, 4, 1], dtype="float32", seed=0)
    before = net.params.copy()
    for call in (lambda: net.fit(X, y, epochs=1, optimizer="adam", epsilon=1e-50),
                 lambda: net.sgd_step(X, y, 0.01, optimizer="adam", epsilon=1e-40)):
        with pytest.raises(ValueError, match="epsilon.*float32"):
            call()
    assert np.array_equal(net.params, before)
    net.fit(X, y, epochs=1, optimizer="adam", epsilon=1e-30)  # small but normal in float32
    fm.MLP([3, 1]).sgd_step(X, y, 0.01, optimizer="adam", epsilon=1e-300)  # and 1e-300 in float64


@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_adam_moments_that_overflow_are_divergence(backend):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 3)).astype(np.float32)
    y = np.full((16, 1), 1e30, dtype=np.float32)
    net = fm.MLP([3, 4, 1], dtype="float32", seed=0, backend=backend)
    net.sgd_step(X, np.zeros_like(y), 0.01, optimizer="adam")
    params, m, v = net.params.copy(), net.optimizer.m.copy(), net.optimizer.v.copy()
    with pytest.raises(fm.DivergenceError, match="moments") as raised:
        net.fit(X, y, epochs=3, optimizer="adam", eta=0.01)
    assert np.array_equal(net.params, params) and raised.value.history.epochs == 0
    assert np.array_equal(net.optimizer.m, m) and np.array_equal(net.optimizer.v, v)
    with pytest.raises(fm.DivergenceError):
        net.sgd_step(X, y, 0.01, optimizer="adam")
    assert np.isfinite(net.optimizer.v).all() and np.array_equal(net.params, params)
