"""Dropout of hidden units and the lecture's dropout of updates: the kernels draw the same
masks as the reference, a seed repeats them, the rates are what they say, and a step with
a given mask is the gradient step of the thinned network (checked with torch autograd)."""
import functools
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import reference
from fastmlp._engine import feeding
import conftest
from conftest import (
    LOSSES,
    assert_weights_close,
    assert_weights_equal,
    cython_variants,
    make_data,
    make_net,
    rejects,
    tolerance,
    twin,
)

SIZES = [3, 6, 5, 3]
N = 10
L2_TANH, CE_LABELS, BCE = LOSSES[1], LOSSES[3], LOSSES[5]


net_and_data = functools.partial(conftest.net_and_data, case=CE_LABELS, sizes=SIZES, n=N)


PATHS = [
    dict(batch_size=1, dropout=0.5),
    dict(batch_size=1, dropout=[0.2, 0.6], l2=0.01),
    dict(batch_size=4, dropout=0.3),
    dict(batch_size=1, update_dropout=0.4),
    dict(batch_size=3, update_dropout=0.5, dropout=[0.0, 0.5]),
    # epsilon 1e-3: Adam's default 1e-8 would magnify rounding residues by eta / epsilon.
    dict(batch_size=2, optimizer="adam", eta=0.01, epsilon=1e-3, dropout=0.4, update_dropout=0.3),
    dict(batch_size=1, optimizer="momentum", eta=0.05, dropout=0.5, sample_weight=np.linspace(0.5, 2.0, N)),
]


@pytest.mark.parametrize("kernel", cython_variants())
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("options", PATHS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items())[:50])
def test_kernels_match_the_reference(kernel, activation, options, dtype):
    net, X, y = net_and_data(kernel, dtype, activation=activation)
    ref = twin(net, backend="reference")
    fit = dict(epochs=2, eta=0.1, seed=4) | options
    hist = net.fit(X, y, **fit)
    hist_ref = ref.fit(X, y, **fit)
    assert_weights_close(net.weights, ref.weights, **tolerance(dtype))
    np.testing.assert_allclose(hist.loss, hist_ref.loss, **tolerance(dtype))


@pytest.mark.parametrize("options", PATHS[:6], ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items())[:50])
def test_a_seed_repeats_the_masks(options):
    net, X, y = net_and_data()
    first, second, other = net.copy(), net.copy(), net.copy()
    fit = dict(epochs=2, eta=0.1) | options
    first.fit(X, y, seed=7, **fit)
    second.fit(X, y, seed=7, **fit)
    other.fit(X, y, seed=8, **fit)
    assert_weights_equal(first.weights, second.weights)
    assert not np.array_equal(first.params, other.params)


@pytest.mark.parametrize("options", PATHS[:6], ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items())[:50])
def test_masks_do_not_depend_on_how_the_epoch_is_cut(monkeypatch, options):
    """The kernels get long epochs in pieces (for Ctrl-C); a sample's mask depends on its
    position in the epoch, not on the piece."""
    net, X, y = net_and_data(n=40)
    pieces = net.copy()
    fit = dict(epochs=2, eta=0.1, seed=3) | options
    net.fit(X, y, **fit)
    monkeypatch.setattr(feeding, "WORK_PER_CALL", 3 * pieces.params.size * 4)  # 4 samples per call
    pieces.fit(X, y, **fit)
    assert_weights_equal(net.weights, pieces.weights)


def test_rate_zero_is_no_dropout_and_draws_nothing():
    net, X, y = net_and_data()
    plain, zero = net.copy(), net.copy()
    plain.fit(X, y, epochs=2, eta=0.1)
    zero.fit(X, y, epochs=2, eta=0.1, dropout=[0.0, 0.0], update_dropout=0.0)
    assert_weights_equal(plain.weights, zero.weights)
    assert plain.rng.bit_generator.state == zero.rng.bit_generator.state


def test_dropout_changes_training():
    net, X, y = net_and_data()
    plain, dropped = net.copy(), net.copy()
    plain.fit(X, y, epochs=1, eta=0.1, seed=1)
    dropped.fit(X, y, epochs=1, eta=0.1, seed=1, dropout=0.5)
    assert not np.allclose(plain.params, dropped.params)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_units_are_dropped_at_the_rate_and_kept_units_scaled(rate):
    """Over 2000 samples of 11 hidden units, the share dropped is the rate (within 4.5
    standard deviations of a binomial), and the factors average 1 (inverted dropout)."""
    sizes = [3, 6, 5, 2]
    factors = np.array([
        np.concatenate(reference.dropout_factors(sizes, [rate, rate, 0.0], key=12345, k=k)) for k in range(2000)
    ])
    share = np.mean(factors == 0)
    sd = np.sqrt(rate * (1 - rate) / factors.size)
    assert abs(share - rate) < 4.5 * sd
    np.testing.assert_allclose(np.unique(factors), [0.0, 1 / (1 - rate)])
    assert abs(factors.mean() - 1) < 4.5 * sd / (1 - rate)


def test_unit_draws_are_independent_across_units_and_samples():
    """Neighbouring units and neighbouring samples agree as often as independent coins do."""
    sizes = [3, 40, 2]
    masks = np.array([reference.dropout_factors(sizes, [0.5, 0.0], key=99, k=k)[0] for k in range(500)]) == 0
    for same in (np.mean(masks[:, 1:] == masks[:, :-1]), np.mean(masks[1:] == masks[:-1])):
        assert abs(same - 0.5) < 4.5 * np.sqrt(0.25 / masks.size)


def test_update_dropout_leaves_that_share_of_weights_unchanged():
    """One full-batch step on a network whose every weight has a non-zero gradient: the
    share of weights left as they were is the rate."""
    sizes = [20, 30, 4]
    case = LOSSES[0]
    net = make_net(sizes, "tanh", case, seed=2)
    X, y = make_data(sizes, case, 50, 2)
    before = net.params.copy()
    net.fit(X, y, epochs=1, batch_size=None, eta=0.1, seed=0, update_dropout=0.3)
    share = np.mean(net.params == before)
    assert abs(share - 0.3) < 4.5 * np.sqrt(0.21 / net.params.size)


def test_validation_drops_nothing(backend):
    net, X, y = net_and_data(backend)
    X_val, y_val = make_data(SIZES, CE_LABELS, 6, 5)
    hist = net.fit(X, y, epochs=2, eta=0.1, seed=0, dropout=0.5, validation_data=(X_val, y_val))
    assert hist.val_loss[-1] == pytest.approx(net.loss_value(X_val, y_val), rel=1e-12)


def epoch_key(seed):
    """The key fit draws for its first epoch without shuffling: the first draw of its
    generator."""
    return int(np.random.default_rng(seed).integers(0, 2**64, dtype=np.uint64))


def test_one_step_is_the_gradient_step_of_the_thinned_network():
    """torch autograd on the network with the dropped units' outputs multiplied by the
    masks' factors gives the step the kernels take."""
    torch = pytest.importorskip("torch")
    sizes = [4, 6, 5, 3]
    net = make_net(sizes, "tanh", CE_LABELS, seed=3)
    X, y = make_data(sizes, CE_LABELS, 2, 3)
    rates = [0.5, 0.3]
    Ws = [torch.tensor(np.asarray(W), requires_grad=True) for W in net.weights]
    key = epoch_key(11)
    loss = 0
    for k in range(2):
        r = reference.dropout_factors(sizes, rates + [0.0], key, k)
        x = torch.tensor(X[k])
        for l, W in enumerate(Ws):
            s = W[0] + x @ W[1:]
            x = torch.tanh(s) * torch.tensor(r[l], dtype=torch.float64) if l < 2 else s
        loss = loss + torch.nn.functional.cross_entropy(x[None], torch.tensor([int(y[k])]))
    (loss / 2).backward()
    expected = [W.detach().numpy() - 0.3 * W.grad.numpy() for W in Ws]
    assert any((np.asarray(f) == 0).any() for f in reference.dropout_factors(sizes, rates + [0.0], key, 0)[:2])
    net.fit(X, y, epochs=1, batch_size=2, eta=0.3, shuffle=False, seed=11, dropout=rates)
    assert_weights_close(net.weights, expected, rtol=1e-12, atol=1e-14)


BAD = [
    (dict(dropout=1.0), ValueError, r"dropout must lie in \[0, 1\)"),
    (dict(dropout=-0.1), ValueError, "dropout must be a finite number >= 0"),
    (dict(dropout=[0.5]), ValueError, "dropout lists one rate per hidden layer: expected 2, got 1"),
    (dict(dropout=[0.5, 1.5]), ValueError, r"dropout\[1\] must lie in \[0, 1\)"),
    (dict(dropout="half"), TypeError, "dropout must be a finite number"),
    (dict(update_dropout=1.0), ValueError, r"update_dropout must lie in \[0, 1\)"),
    (dict(update_dropout=float("nan")), ValueError, "update_dropout must be a finite number"),
    (dict(dropout=0.5, solver="lbfgs"), ValueError, "dropout and update_dropout go with solver='sgd'"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD, ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_bad_rates_are_rejected_and_change_nothing(backend, kwargs, exc, match):
    net, X, y = net_and_data(backend)
    rejects(net, lambda: net.fit(X, y, epochs=1, **kwargs), exc, match)


def test_a_network_without_hidden_layer_has_nothing_to_drop():
    net = fm.MLP([3, 2], loss="cross_entropy", seed=0)
    X, y = np.ones((4, 3)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="this network has no hidden layer"):
        net.fit(X, y, dropout=0.5)
    net.fit(X, y, epochs=1, dropout=0.0, update_dropout=0.5)


def test_a_network_trained_with_dropout_learns_the_digits():
    X, y = fm.datasets.load_digits()
    X_train, X_test, y_train, y_test = fm.datasets.train_test_split(X, y, 0.25, seed=0)
    mean, sd = X_train.mean(axis=0), X_train.std(axis=0) + 1e-9
    for batch_size, eta in [(1, 0.01), (16, 0.1)]:
        net = fm.MLP([64, 64, 10], loss="cross_entropy", seed=0)
        net.fit((X_train - mean) / sd, y_train, epochs=30, batch_size=batch_size, eta=eta, seed=1, dropout=0.5)
        assert np.mean(net.predict((X_test - mean) / sd) == y_test) > 0.95
