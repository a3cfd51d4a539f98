"""The fit loop's policies: learning-rate schedules, the history, validation, early stopping,
partial_fit and warm starts, initialisation schemes and Ctrl-C (L-BFGS: test_lbfgs.py)."""
import functools
import math

import numpy as np
import pytest

import fastmlp as fm
import conftest
from conftest import LOSSES, assert_weights_equal, make_data, make_net, rejects
from fastmlp import schedules
from fastmlp.datasets import stratified_mask
from fastmlp.losses import get as get_loss

SIZES = [3, 4, 2]
N = 12
L2, L2_TANH, CE_LABELS, BCE = LOSSES[0], LOSSES[1], LOSSES[3], LOSSES[5]


net_and_data = functools.partial(conftest.net_and_data, case=L2_TANH, sizes=SIZES, n=N)


def weights_after_each_epoch(net):
    kept = []

    def callback(epoch, history):
        assert epoch == history.epochs == len(kept) + 1
        kept.append(net.params.copy())

    return kept, callback


# -- schedules ------------------------------------------------------------------------------


def test_inverse_scaling_values():
    rates = [schedules.inverse_scaling(0.8)(t, fm.History()) for t in range(4)]
    assert rates == pytest.approx([0.8, 0.565685424949238, 0.46188021535170065, 0.4], rel=1e-15)
    rates = [schedules.inverse_scaling(0.6, power=1)(t, fm.History()) for t in range(4)]
    assert rates == pytest.approx([0.6, 0.3, 0.2, 0.15], rel=1e-15)
    assert schedules.inverse_scaling(0.6, power=0)(9, fm.History()) == 0.6


def test_step_decay_and_constant_values():
    rates = [schedules.step_decay(1.0, factor=0.5, every=2)(t, fm.History()) for t in range(6)]
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert [schedules.step_decay(0.3)(t, None) for t in (0, 9, 10, 25)] == pytest.approx([0.3, 0.3, 0.15, 0.075])
    assert schedules.constant(0.25)(7, None) == 0.25


def adaptive_rate(losses, etas, **options):
    return schedules.adaptive(1.0, **options)(len(losses), fm.History(loss=list(losses), eta=list(etas)))


def test_adaptive_divides_after_patience_epochs_without_improvement():
    # tol 0.1: 0.95 and 0.96 each fail to improve on the best before them (1.0, then 0.95) by 0.1
    assert adaptive_rate([], []) == 1.0
    assert adaptive_rate([1.0], [1.0], tol=0.1) == 1.0
    assert adaptive_rate([1.0, 0.95], [1.0, 1.0], tol=0.1) == 1.0  # one stalled epoch < patience 2
    assert adaptive_rate([1.0, 0.95, 0.96], [1.0] * 3, tol=0.1) == 0.2
    assert adaptive_rate([1.0, 0.95, 0.96], [1.0] * 3, tol=0.1, factor=4) == 0.25
    assert adaptive_rate([1.0, 0.95, 0.96], [1.0] * 3, tol=0.1, patience=3) == 1.0
    # an improvement by more than tol resets the count
    assert adaptive_rate([1.0, 0.5, 0.49], [1.0] * 3, tol=0.1) == 1.0
    assert adaptive_rate([1.0, 0.5, 0.49, 0.48], [1.0] * 4, tol=0.1) == 0.2
    # after a division the count starts afresh at the new rate: one epoch at 0.2 is not enough
    assert adaptive_rate([1.0, 0.95, 0.96, 0.97], [1.0, 1.0, 1.0, 0.2], tol=0.1) == 0.2
    assert adaptive_rate([1.0, 0.95, 0.96, 0.97, 0.98], [1.0, 1.0, 1.0, 0.2, 0.2], tol=0.1) == pytest.approx(0.04)
    # tol 0: any decrease is an improvement
    assert adaptive_rate([1.0, 0.99, 0.98], [1.0] * 3, tol=0.0) == 1.0
    assert adaptive_rate([1.0, 1.0, 1.0], [1.0] * 3, tol=0.0) == 0.2


def test_adaptive_in_a_fit(backend):
    # tol so large that no epoch counts as an improvement: the rate is divided by 5 after
    # epochs 0..2 (patience 2 after the first), then every second epoch
    net, X, y = net_and_data(backend)
    hist = net.fit(X, y, epochs=6, eta=schedules.adaptive(0.1, tol=1e9))
    assert hist.eta == pytest.approx([0.1, 0.1, 0.1, 0.02, 0.02, 0.004], rel=1e-15)


def test_eta_that_is_neither_number_nor_callable():
    net, X, y = net_and_data("cython")
    rejects(net, lambda: net.fit(X, y, eta="invscaling"), TypeError, r"eta must be a finite number >= 0")


# -- history, loss_value and the validation score ----------------------------------------------


def test_scores_by_hand():
    l2, ce, bce = get_loss("l2"), get_loss("cross_entropy"), get_loss("binary_cross_entropy")
    # R^2 = 1 - SS_res / SS_tot: y = (1, 2, 4), mean 7/3, SS_tot = 42/9, SS_res = 1
    H, Y = np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [4.0]])
    assert l2.score(H, Y) == pytest.approx(1 - 9 / 42, rel=1e-14)
    # averaged over outputs; a constant target scores 1 if hit exactly, else 0
    H2, Y2 = np.hstack([H, [[5.0], [5.0], [5.0]]]), np.hstack([Y, [[5.0], [5.0], [5.0]]])
    assert l2.score(H2, Y2) == pytest.approx((1 - 9 / 42 + 1) / 2, rel=1e-14)
    assert l2.score(H2 + [0, 1], Y2) == pytest.approx((1 - 9 / 42 + 0) / 2, rel=1e-14)
    # accuracy: argmax for softmax outputs, every output >= 1/2 right for sigmoid outputs
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.4, 0.5, 0.1], [0.2, 0.2, 0.6]])
    assert ce.score(P, np.eye(3)[[0, 2, 0, 2]]) == 0.75
    S = np.array([[0.9, 0.2], [0.6, 0.7], [0.1, 0.4]])
    assert bce.score(S, np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("case", [L2_TANH, CE_LABELS, BCE], ids=lambda c: c.id)
def test_history_records_rate_validation_loss_and_score(backend, case):
    net, X, y = net_and_data(backend, case=case)
    X_val, y_val = make_data(SIZES, case, 5, seed=9)
    seen = []

    def callback(epoch, history):
        H = net.forward(X_val)
        seen.append((net.loss_value(X_val, y_val), net.loss.score(H, net.loss.targets(y_val, 5, net.sizes[-1], net.dtype))))
        assert history.val_loss[-1] == pytest.approx(seen[-1][0], rel=1e-12)

    hist = net.fit(X, y, epochs=3, eta=0.05, validation_data=(X_val, y_val), callback=callback)
    assert hist.eta == [0.05] * 3
    assert len(hist.seconds) == len(hist.samples_per_second) == 3
    np.testing.assert_allclose(hist.val_loss, [s[0] for s in seen], rtol=1e-12)
    assert hist.val_score == [s[1] for s in seen]
    if case is CE_LABELS:
        assert hist.val_score[-1] == np.mean(net.predict(X_val) == y_val)
    if case is L2_TANH:
        H = net.forward(X_val)
        r2 = 1 - ((y_val - H) ** 2).sum(axis=0) / ((y_val - y_val.mean(axis=0)) ** 2).sum(axis=0)
        assert hist.val_score[-1] == pytest.approx(r2.mean(), rel=1e-12)
    assert hist.best_epoch is None and hist.stopped_epoch is None


def test_history_without_validation_has_empty_validation_lists():
    net, X, y = net_and_data("cython")
    hist = net.fit(X, y, epochs=2)
    assert hist.val_loss == [] and hist.val_score == [] and hist.eta == [0.1, 0.1]


# -- validation data ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", [L2, CE_LABELS, BCE], ids=lambda c: c.id)
def test_validation_fraction_holds_out_a_stratified_draw_from_the_seed(backend, case):
    """With shuffle=False the fit's generator draws only the split, so the same draw made by
    hand and given as validation_data must train and score identically."""
    sizes = [3, 4, 3]
    net = make_net(sizes, "tanh", case, backend=backend)
    X, y = make_data(sizes, case, 15, 0)
    if case is CE_LABELS:
        y = np.repeat([0, 1, 2], 5)
    twin = net.copy()
    hist = net.fit(X, y, epochs=2, shuffle=False, seed=4, validation_fraction=0.4)
    Y = twin.loss.targets(y, len(y), twin.sizes[-1], twin.dtype)
    groups = np.unique(twin.loss.decisions(Y) if twin.loss.classifier else np.zeros((15, 1)), axis=0,
                       return_inverse=True)[1].reshape(-1)
    held = stratified_mask(groups, 0.4, np.random.default_rng(4))
    assert 0 < held.sum() < 15 and (case is BCE or held.sum() == 6)  # round(0.4 * 15), or 2 of each 5
    if case is CE_LABELS:
        assert np.bincount(y[held]).tolist() == [2, 2, 2]  # stratified: 40% of each class
    expected = twin.fit(X[~held], y[~held], epochs=2, shuffle=False, validation_data=(X[held], y[held]))
    assert hist.val_loss == expected.val_loss and hist.loss == expected.loss
    assert_weights_equal(net.weights, twin.weights)


def test_stratified_mask_by_hand():
    labels = np.array([0] * 10 + [1] * 5 + [2] * 2)
    mask = stratified_mask(labels, 0.2, np.random.default_rng(0))
    assert np.bincount(labels[mask], minlength=3).tolist() == [2, 1, 0]  # round(2), round(1), round(0.4)


BAD_VALIDATION = [
    (dict(validation_fraction=0.2, validation_data=("X", "y")), ValueError, r"not both"),
    (dict(validation_fraction=0), ValueError, r"validation_fraction must lie strictly between 0 and 1, got 0"),
    (dict(validation_fraction=1.0), ValueError, r"validation_fraction must lie strictly between 0 and 1"),
    (dict(validation_fraction=-0.1), ValueError, r"validation_fraction must lie strictly between 0 and 1"),
    (dict(validation_fraction=math.nan), ValueError, r"validation_fraction must be a finite number"),
    (dict(validation_fraction="0.1"), TypeError, r"validation_fraction must be a finite number"),
    (dict(validation_fraction=0.01), ValueError, r"of 12 samples holds out 0: validation and training need"),
    (dict(validation_fraction=0.99), ValueError, r"of 12 samples holds out 12"),
    (dict(validation_data=np.zeros((2, 3))), TypeError, r"validation_data must be \(X_val, y_val\) or"),
    (dict(validation_data=(np.zeros((2, 3)),)), TypeError, r"validation_data must be \(X_val, y_val\)"),
    (dict(validation_data=(np.zeros((2, 2)), np.zeros((2, 2)))), ValueError, r"validation_data: X has shape"),
    (dict(validation_data=(np.zeros((2, 3)), np.zeros((3, 2)))), ValueError, r"validation_data: y has shape"),
    (dict(validation_data=(np.full((2, 3), np.nan), np.zeros((2, 2)))), ValueError, r"validation_data: X contains"),
    (dict(early_stopping=True), ValueError, r"early_stopping watches the validation data"),
    (dict(early_stopping=1, validation_fraction=0.5), TypeError, r"early_stopping must be True or False"),
    (dict(monitor="val_acc"), ValueError, r"monitor must be one of 'val_loss', 'val_score', got 'val_acc'"),
    (dict(patience=0), ValueError, r"patience must be a positive integer"),
    (dict(tol=-1.0), ValueError, r"tol must be a finite number >= 0"),
    (dict(solver="adam"), ValueError, r"solver must be one of 'sgd', 'lbfgs'"),
    (dict(solver=None), TypeError, r"solver must be one of"),
    (dict(reinitialise="yes"), TypeError, r"reinitialise must be True or False"),
]


@pytest.mark.parametrize("options, exc, match", BAD_VALIDATION, ids=[repr(o)[:40] for o, _, _ in BAD_VALIDATION])
def test_bad_fit_options_are_rejected_before_training(options, exc, match):
    net, X, y = net_and_data("cython", case=L2)
    rejects(net, lambda: net.fit(X, y, epochs=2, **options), exc, match)


# -- early stopping ----------------------------------------------------------------------------


def stalled_epochs(values, tol):
    """Epochs in a row, up to each epoch, that did not improve on the best by tol."""
    best, count, out = math.inf, 0, []
    for v in values:
        count = 0 if v < best - tol else count + 1
        best = min(best, v)
        out.append(count)
    return out


@pytest.mark.parametrize("monitor", ["val_loss", "val_score"])
def test_early_stopping_restores_the_best_epoch(backend, monitor):
    """Validation targets of the opposite sign: the better the fit, the worse the validation
    loss and score, so the first epoch is the best and training stops ``patience`` epochs later."""
    net, X, y = net_and_data(backend, case=L2)
    kept, callback = weights_after_each_epoch(net)
    hist = net.fit(X, y, epochs=30, eta=0.05, shuffle=False, validation_data=(X, -0.2 * y), early_stopping=True,
                   patience=3, monitor=monitor, callback=callback)
    assert np.all(np.diff(hist.val_loss) > 0) and np.all(np.diff(hist.val_score) < 0)
    assert hist.best_epoch == 1 and hist.stopped_epoch == 4 and hist.epochs == 4
    np.testing.assert_array_equal(net.params, kept[0])


def test_early_stopping_counts_tol_but_keeps_the_truly_best_weights(backend):
    net, X, y = net_and_data(backend, case=L2)
    kept, callback = weights_after_each_epoch(net)
    # tol so large that no epoch counts as an improvement: it stops after 1 + patience epochs,
    # but the weights are those of the lowest validation loss among them (here the second)
    hist = net.fit(X, y, epochs=30, eta=0.05, shuffle=False, validation_data=(X, 0.5 * y), early_stopping=True,
                   patience=4, tol=1e9, callback=callback)
    assert hist.epochs == hist.stopped_epoch == 5
    assert hist.best_epoch == int(np.argmin(hist.val_loss)) + 1 == 2
    np.testing.assert_array_equal(net.params, kept[hist.best_epoch - 1])


def test_early_stopping_on_a_real_run_matches_the_rule_by_hand():
    net, X, y = net_and_data("cython", case=CE_LABELS, sizes=[3, 6, 2], n=60)
    kept, callback = weights_after_each_epoch(net)
    hist = net.fit(X, y, epochs=200, eta=0.01, validation_fraction=0.3, seed=2, early_stopping=True, patience=5,
                   tol=1e-3, callback=callback)
    counts = stalled_epochs(hist.val_loss, 1e-3)
    assert hist.stopped_epoch == counts.index(5) + 1 == hist.epochs < 200
    assert hist.best_epoch == int(np.argmin(hist.val_loss)) + 1
    assert 1 < hist.stopped_epoch - 5 < hist.best_epoch  # the best: a gain under tol, after the last gain over it
    np.testing.assert_array_equal(net.params, kept[hist.best_epoch - 1])


# -- partial_fit and warm starts -------------------------------------------------------------


def test_partial_fit_is_one_epoch_from_the_current_weights(backend):
    net, X, y = net_and_data(backend)
    twin = net.copy()
    h1 = net.partial_fit(X, y, eta=0.05, shuffle=False)
    h2 = net.partial_fit(X[:6], y[:6], eta=0.05, shuffle=False)
    assert h1.epochs == h2.epochs == 1 and h1.eta == [0.05]
    twin.fit(X, y, epochs=1, eta=0.05, shuffle=False)
    twin.fit(X[:6], y[:6], epochs=1, eta=0.05, shuffle=False)
    assert_weights_equal(net.weights, twin.weights)


def test_partial_fit_takes_a_number_and_one_epoch():
    net, X, y = net_and_data("cython")
    rejects(net, lambda: net.partial_fit(X, y, eta=schedules.constant(0.1)), TypeError, r"eta must be a finite number")
    rejects(net, lambda: net.partial_fit(X, y, eta=-1), ValueError, r"eta must be a finite number >= 0")
    rejects(net, lambda: net.partial_fit(X, y, epochs=3), TypeError, r"epochs")


def test_fit_continues_from_the_current_weights_unless_reinitialised(backend):
    net, X, y = net_and_data(backend)
    twin = net.copy()
    net.fit(X, y, epochs=1, shuffle=False)
    net.fit(X, y, epochs=1, shuffle=False)
    twin.fit(X, y, epochs=2, shuffle=False)
    assert_weights_equal(net.weights, twin.weights)

    fresh = net.copy()
    net.fit(X, y, epochs=1, seed=3, reinitialise=True)
    fresh.initialise()
    fresh.fit(X, y, epochs=1, seed=3)
    assert_weights_equal(net.weights, fresh.weights)


# -- initialisation ----------------------------------------------------------------------------


def test_auto_init_draws_glorot_uniform_for_tanh_and_he_normal_for_relu():
    net = fm.MLP([4, 5, 3, 2], activation=["tanh", "relu"], seed=7)
    rng = np.random.default_rng(7)
    a = math.sqrt(6 / (4 + 5))
    expected = [rng.uniform(-a, a, size=(4, 5)), rng.normal(0.0, math.sqrt(2 / 5), size=(5, 3))]
    a = math.sqrt(6 / (3 + 2))
    expected.append(rng.uniform(-a, a, size=(3, 2)))
    for W, w in zip(net.weights, expected):
        assert (W[0] == 0).all()
        np.testing.assert_array_equal(W[1:], w)


@pytest.mark.parametrize(
    "init, bound, sigma",
    [("glorot_uniform", math.sqrt(6 / 700), math.sqrt(2 / 700)),
     ("glorot_normal", None, math.sqrt(2 / 700)),
     ("he_uniform", math.sqrt(6 / 400), math.sqrt(2 / 400)),
     ("he_normal", None, math.sqrt(2 / 400)),
     ("lecun_uniform", math.sqrt(3 / 400), math.sqrt(1 / 400)),
     ("lecun_normal", None, math.sqrt(1 / 400)),
     ("zeros", 0.0, 0.0)],
)
def test_init_schemes_have_their_scale(backend, init, bound, sigma):
    net = fm.MLP([400, 300], output="identity", init=init, seed=1, backend=backend)
    W = net.weights[0]
    assert (W[0] == 0).all()  # biases start at zero
    w = W[1:]
    assert w.std() == pytest.approx(sigma, rel=0.02)
    assert abs(w.mean()) <= 0.05 * sigma
    if bound is not None:
        assert np.abs(w).max() <= bound and (sigma == 0 or np.abs(w).max() > 0.99 * bound)
    else:
        assert np.abs(w).max() > 3.5 * sigma  # normal, not truncated at 2 sigma
    net.initialise()  # initialise draws again by the same scheme
    assert net.weights[0][1:].std() == pytest.approx(sigma, rel=0.02)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_zero_init_never_breaks_the_symmetry_of_hidden_units(backend, activation):
    """Units that start equal get equal gradients and stay equal: the columns of W^(1) and
    the hidden rows of W^(2) remain identical however long the net trains (tanh: all 0,
    because tanh(0) = 0 blocks every gradient; sigmoid: equal but moving)."""
    X, y = make_data([3, 4, 2], L2, 8, seed=0)
    net = fm.MLP([3, 4, 2], activation=activation, init="zeros", seed=0, backend=backend)
    net.fit(X, y, epochs=5, eta=0.1)
    W1, W2 = net.weights
    for j in range(1, 4):
        np.testing.assert_array_equal(W1[:, j], W1[:, 0])
        np.testing.assert_array_equal(W2[j + 1], W2[1])
    assert np.abs(W2[0]).max() > 0  # the output biases did learn
    assert (np.abs(W1).max() > 0) == (activation == "sigmoid")
    broken = fm.MLP([3, 4, 2], activation=activation, seed=0, backend=backend)
    broken.fit(X, y, epochs=5, eta=0.1)
    assert not np.array_equal(broken.weights[0][:, 1], broken.weights[0][:, 0])


@pytest.mark.parametrize("init, exc", [("xavier", ValueError), ("Zeros", ValueError), (3, TypeError), (None, TypeError)])
def test_unknown_init_is_rejected(init, exc):
    with pytest.raises(exc, match=r"init must be one of 'glorot_uniform', .*'zeros', 'auto', got"):
        fm.MLP([2, 2], init=init)


# -- Ctrl-C ------------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_interrupt_carries_the_history_so_far(backend, solver):
    net, X, y = net_and_data(backend)
    kept = []

    def callback(epoch, history):
        kept.append(net.params.copy())
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        net.fit(X, y, epochs=10, solver=solver, callback=callback)
    assert info.value.history.epochs == 2 == len(kept)
    np.testing.assert_array_equal(net.params, kept[-1])
