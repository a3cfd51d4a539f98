"""The estimators' fast fit path gives bit for bit what the straightforward path gives:
a fit checks its data, options and optimizer once and reads the rows in place
(network.epochs_in_order), where the straightforward path copies the shuffled rows and
checks everything again every epoch (network.epoch_in_order per piece, with a deep copy
of the optimizer to undo a diverging epoch). Also: what the runner checks once and per
epoch, and what it undoes."""
import copy

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import estimators
from fastmlp._engine import feeding, optimizers, weights_dropout
from fastmlp._sklearn import fit_loop
from fastmlp.datasets import load_digits

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class PerEpochSteps:
    """fit_loop._Steps the straightforward way: each epoch copies the rows (and their
    weights) into the epoch's order and trains each piece with network.epoch_in_order,
    which checks the data and prepares the optimizer again."""

    def __init__(self, est, state, run, scale):
        self.est, self.state, self.run, self.scale = est, state, run, scale

    def epoch(self, order):
        est, run = self.est, self.run
        net = run.net
        norms = np.zeros(2) if est.alpha > 0 or est.l1 > 0 else None
        start_of_epoch = net.params.copy(), copy.deepcopy(net.optimizer), net.rng.bit_generator.state
        weight = run.options.weight
        total, start = 0.0, 0
        for rows, size, l2, l1 in run.pieces:
            chosen = order[start : start + rows]
            start += rows
            try:
                total += fm.network.epoch_in_order(
                    net, run.X[chosen], run.Y[chosen], np.arange(rows), size, self.state.learning_rate,
                    f"iteration {est.n_iter_ + 1}", l2, l1=l1, sample_weight=None if weight is None else weight[chosen],
                    norms=norms, **fit_loop._step_options(est))
            except fm.DivergenceError:
                net.params[...], net.optimizer, net.rng.bit_generator.state = start_of_epoch
                raise
        penalties = 0.0 if norms is None else fit_loop.penalty_of(norms, est.alpha, est.l1)
        return total / len(order) * fit_loop.loss_unit(est) + penalties * self.scale / len(order)


def digits(n=400):
    X, y = load_digits()
    return X[:n] / 16, y[:n]


def regression(n=150, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    return X, X @ rng.normal(size=(6, 2)) + 0.1 * rng.normal(size=(n, 2))


CASES = {
    "adam, a partial last batch": (estimators.MLPClassifier, dict(max_iter=12, batch_size=64), digits),
    "adam, no penalty": (estimators.MLPClassifier, dict(max_iter=8, alpha=0.0), digits),
    "adam, float32": (estimators.MLPClassifier, dict(max_iter=8, dtype="float32"), digits),
    "per-sample sgd": (estimators.MLPClassifier, dict(solver="sgd", batch_size=1, max_iter=2), digits),
    "nesterov, adaptive": (estimators.MLPClassifier,
                           dict(solver="sgd", batch_size=48, max_iter=15, learning_rate="adaptive", tol=1e-2,
                                n_iter_no_change=2), digits),
    "momentum, invscaling, no shuffle": (estimators.MLPClassifier,
                                         dict(solver="sgd", batch_size=50, max_iter=8, nesterovs_momentum=False,
                                              learning_rate="invscaling", shuffle=False), digits),
    "early stopping": (estimators.MLPClassifier, dict(max_iter=15, batch_size=60, early_stopping=True), digits),
    "l1 and dropout": (estimators.MLPClassifier, dict(max_iter=6, batch_size=64, l1=1e-4, dropout=0.2), digits),
    "regressor": (estimators.MLPRegressor, dict(max_iter=20, batch_size=32), regression),
}


def fitted(cls, params, X, y, sample_weight=None, partial=0):
    est = cls(random_state=0, **params)
    if partial:
        extra = {"classes": np.unique(y)} if cls is estimators.MLPClassifier else {}
        for _ in range(partial):
            est.partial_fit(X, y, **extra)
        return est
    return est.fit(X, y, sample_weight=sample_weight)


def assert_same_fit(a, b):
    for name in ("coefs_", "intercepts_"):
        for A, B in zip(getattr(a, name), getattr(b, name)):
            np.testing.assert_array_equal(A, B)
    assert a.loss_curve_ == b.loss_curve_  # exact: the losses decide when to stop
    assert (a.n_iter_, a.t_) == (b.n_iter_, b.t_)
    assert a.validation_scores_ == b.validation_scores_


@pytest.mark.parametrize("case", CASES)
def test_the_fit_equals_the_per_epoch_path_bit_for_bit(monkeypatch, case):
    cls, params, data = CASES[case]
    X, y = data()
    weight = np.random.default_rng(2).uniform(0.2, 2.0, len(X)) if case == "l1 and dropout" else None
    fast = fitted(cls, params, X, y, weight)
    monkeypatch.setattr(fit_loop, "_Steps", PerEpochSteps)
    slow = fitted(cls, params, X, y, weight)
    assert_same_fit(fast, slow)


def test_the_per_sample_penalties_on_two_threads_are_those_of_one(monkeypatch):
    """Per sample on two threads (each counting the norms of its own weights), loss_curve_
    is one thread's to rounding: the same penalties of the weights each step starts from."""
    from fastmlp._engine import per_sample_threads
    monkeypatch.setattr(per_sample_threads, "MIN_UNITS_PER_THREAD", 8)
    monkeypatch.setattr(per_sample_threads, "MIN_WORK_PER_THREAD", 0)
    X, y = digits(120)
    params = dict(solver="sgd", batch_size=1, max_iter=3, alpha=0.01, hidden_layer_sizes=(40,))
    one = fitted(estimators.MLPClassifier, params, X, y)
    two = fitted(estimators.MLPClassifier, {**params, "n_threads": 2}, X, y)
    for A, B in zip(one.coefs_, two.coefs_):
        np.testing.assert_allclose(A, B, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(two.loss_curve_, one.loss_curve_, rtol=1e-12)


def test_partial_fit_equals_the_per_epoch_path_bit_for_bit(monkeypatch):
    X, y = digits()
    fast = fitted(estimators.MLPClassifier, {"batch_size": 64}, X, y, partial=3)
    monkeypatch.setattr(fit_loop, "_Steps", PerEpochSteps)
    slow = fitted(estimators.MLPClassifier, {"batch_size": 64}, X, y, partial=3)
    assert_same_fit(fast, slow)


def counting(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_a_fit_checks_its_data_and_prepares_its_optimizer_once(monkeypatch):
    X, y = digits()
    calls = []
    for module, name in ((feeding, "require_rows"), (optimizers, "prepare"), (weights_dropout, "steps")):
        calls += [counting(monkeypatch, module, name)]
    monkeypatch.setattr(copy, "deepcopy", lambda *a, **k: pytest.fail("a fit deep-copied something"))
    est = estimators.MLPClassifier(random_state=0, max_iter=10, batch_size=64).fit(X, y)
    assert est.n_iter_ == 10
    assert [len(c) for c in calls] == [1, 1, 1]


def runner_setting(pieces, optimizer="adam"):
    net = fm.MLP([4, 6, 3], activation="tanh", output="softmax", loss="cross_entropy", seed=0)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(10, 4))
    Y = np.eye(3)[rng.integers(0, 3, 10)]
    return net, X, Y, fm.network.epochs_in_order(net, X, Y, pieces, optimizer=optimizer)


def test_a_divergence_in_a_later_piece_undoes_the_whole_epoch():
    net, X, Y, block = runner_setting([(6, 3, 0.0, 0.0), (4, 4, 0.0, 0.0)])
    steps = []
    with block as run:
        run.epoch(np.arange(10), 0.01, "epoch 1")  # moments to undo to
        before = net.params.copy(), net.optimizer.m.copy(), net.optimizer.v.copy(), net.optimizer.t
        drawn_from = net.rng.bit_generator.state

        def blow_up_in_the_second_piece():
            steps.append(1)
            if len(steps) == 3:  # the second piece's first step: the first piece has stepped twice
                X[:] = np.inf

        with pytest.raises(fm.DivergenceError, match="epoch 2"):
            run.epoch(np.arange(10), 0.01, "epoch 2", before_step=blow_up_in_the_second_piece)
    after = net.params, net.optimizer.m, net.optimizer.v, net.optimizer.t
    for a, b in zip(before[:3], after[:3]):
        np.testing.assert_array_equal(a, b)
    assert before[3] == after[3]
    assert net.rng.bit_generator.state == drawn_from


@pytest.mark.parametrize("order, match", [
    (np.arange(9), "order has 9 row numbers; the epoch's pieces take 10"),
    (np.arange(10).astype(np.int32), "numpy.intp"),
    (np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 10]), "outside 0..9"),
])
def test_each_epoch_checks_its_order_and_a_rejected_one_changes_nothing(order, match):
    net, X, Y, block = runner_setting([(10, 5, 0.0, 0.0)])
    with block as run:
        before = net.params.copy(), net.optimizer.t
        with pytest.raises(ValueError, match=match):
            run.epoch(order, 0.1, "epoch 1")
        with pytest.raises(ValueError, match="eta"):
            run.epoch(np.arange(10), -1.0, "epoch 1")
    np.testing.assert_array_equal(net.params, before[0])
    assert net.optimizer.t == before[1]


@pytest.mark.parametrize("pieces, exc, match", [
    ([(10, 0, 0.0, 0.0)], ValueError, "batch_size"),
    ([(-1, 2, 0.0, 0.0)], ValueError, "rows must be a whole number"),
    ([(10, 2, -1.0, 0.0)], ValueError, "l2"),
])
def test_the_pieces_are_checked_on_entering(pieces, exc, match):
    with pytest.raises(exc, match=match):
        with runner_setting(pieces)[3]:
            pass


def test_the_rows_are_checked_on_entering():
    net = fm.MLP([4, 6, 3], seed=0)
    X, Y = np.zeros((5, 4)), np.zeros((5, 3))
    with pytest.raises(ValueError, match="C-contiguous"):
        with fm.network.epochs_in_order(net, np.asfortranarray(np.zeros((5, 4))), Y, [(5, 1, 0.0, 0.0)]):
            pass
    with pytest.raises(ValueError, match="X has 5 rows but Y has 4"):
        with fm.network.epochs_in_order(net, X, Y[:4], [(5, 1, 0.0, 0.0)]):
            pass


def test_the_instruction_sets_are_looked_up_once_per_process(monkeypatch):
    import importlib.util

    fm.MLP([3, 2], seed=0)  # looked up by now, if not before
    monkeypatch.setattr(importlib.util, "find_spec", lambda *args, **kwargs: pytest.fail("looked up again"))
    net = fm.MLP([3, 2], seed=0)
    assert net.backend.name == f"cython-{fm._engine.backends.available_isas()[-1]}"
