"""scikit-learn's training loop for its MLP estimators, run through ``MLP.partial_fit``.

fastmlp.estimators validates the data and builds the network; this module trains it the
way scikit-learn's MLPClassifier and MLPRegressor do: its initial weights, its order of
the samples, its per-batch L2 strength, its learning-rate schedules and its stopping
rules, each epoch one or two calls of ``MLP.partial_fit(shuffle=False)``. It reads the
estimator's parameters and writes its fitted attributes (n_iter_, t_, loss_, loss_curve_,
best_loss_ and the validation ones); what the loop carries between calls beyond those is
its own ``State``. The module docstring of fastmlp.estimators says how each of
scikit-learn's terms maps onto the network and where the two still differ.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .._errors import DivergenceError

# scikit-learn's schedule "adaptive" divides the rate by this after n_iter_no_change
# epochs without improvement, and stops once the rate is at most SMALLEST_RATE.
ADAPTIVE_FACTOR = 5.0
SMALLEST_RATE = 1e-6


@dataclass
class State:
    """What the loop carries from one fit or partial_fit to the next besides the fitted
    attributes: the learning rate (None before the first epoch of SGD) and the epochs in a
    row without improvement; during a fit with early stopping, the best epoch's weights."""

    learning_rate: float | None = None
    no_improvement_count: int = 0
    best_weights: list | None = None


@dataclass
class Data:
    """Training data as the network takes it: X (n, d^(0)), target rows Y (n, d^(L)), the
    user's labels or targets ``y`` (for scoring), and the sample weights c_i (float64, or
    None for all 1)."""

    X: np.ndarray
    Y: np.ndarray
    y: np.ndarray
    weight: np.ndarray | None

    def __len__(self):
        return len(self.X)

    def rows(self, index) -> Data:
        return Data(self.X[index], self.Y[index], self.y[index], None if self.weight is None else self.weight[index])

    @property
    def mean_weight(self) -> float:
        return 1.0 if self.weight is None else float(self.weight.mean())

    def normalised_weight(self):
        """c_i / mean(c): fastmlp divides each batch's weighted gradient by its size,
        scikit-learn by its total weight; the two agree when the weights average 1."""
        return None if self.weight is None else self.weight / self.weight.mean()


def initial_weights(random_state, sizes, activation, dtype) -> list:
    """W^(1) .. W^(L) drawn as scikit-learn draws them: for each layer the (fan_in, fan_out)
    weights, then the fan_out biases, uniform on +-sqrt(6 / (fan_in + fan_out)) (the
    factor is 2 instead of 6 for logistic units), from ``random_state`` in that order."""
    weights = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        bound = math.sqrt((2.0 if activation == "logistic" else 6.0) / (fan_in + fan_out))
        W = np.empty((fan_in + 1, fan_out), dtype=dtype)
        W[1:] = random_state.uniform(-bound, bound, (fan_in, fan_out))
        W[0] = random_state.uniform(-bound, bound, fan_out)
        weights.append(W)
    return weights


def batches(n, batch_size, strict) -> list:
    """(start, stop, batch size) of the calls of MLP.fit that make one epoch over n
    samples: the whole batches, then the last partial one on its own if ``strict`` (its
    L2 strength, alpha over its size, differs from theirs)."""
    rest = n % batch_size
    if rest == 0 or not strict:
        return [(0, n, batch_size)]
    whole = n - rest
    return ([(0, whole, batch_size)] if whole else []) + [(whole, n, rest)]


def penalty(net, alpha, l1) -> float:
    """alpha/2 sum W^2 + l1 sum |W| over the weights (not the biases)."""
    return sum(0.5 * alpha * float(np.sum(np.square(W[1:], dtype=np.float64))) + l1 * float(np.sum(np.abs(W[1:])))
               for W in net.weights)


def stochastic(est, state: State, net, data: Data, incremental: bool, random_state, score) -> None:
    """Epochs of SGD or Adam over ``data`` with scikit-learn's schedule and stopping rules,
    updating the estimator's fitted attributes after each epoch. random_state: the
    estimator's generator (the order of the samples, the validation split); score(H, y,
    weight): its score of outputs H against the user's targets."""
    n = len(data)
    batch_size = _batch_size(est.batch_size, n)
    early_stopping = est.early_stopping and not incremental
    validation = None
    if early_stopping:
        data, validation = _hold_out(est, data, random_state)
        n = len(data)
        batch_size = min(batch_size, n)
    if not incremental or state.learning_rate is None:
        state.learning_rate = float(est.learning_rate_init)
        net.optimizer = None  # scikit-learn starts a fresh optimizer for every fit
    if early_stopping:
        state.best_weights = [W.copy() for W in net.weights]
        if est.validation_scores_ is None:  # a warm start from a fit without early stopping
            est.validation_scores_, est.validation_loss_curve_, est.best_validation_score_ = [], [], -np.inf
    elif est.best_loss_ is None:  # a warm start from a fit with early stopping
        est.best_loss_ = np.inf
    scale = 1.0 / data.mean_weight
    calls = batches(n, batch_size, strict=est.alpha > 0 or est.l1 > 0)
    options = _step_options(est)
    order = np.arange(n)
    try:
        for _ in range(est.max_iter):
            if est.shuffle:  # each epoch permutes the order of the last one, as scikit-learn does
                order = order[random_state.permutation(n)]
            epoch = data.rows(order) if est.shuffle else data
            weight = epoch.normalised_weight()
            total, before = 0.0, penalty(net, est.alpha, est.l1)
            start_of_epoch = net.copy() if len(calls) > 1 else None
            for start, stop, size in calls:
                try:
                    history = net.partial_fit(
                        epoch.X[start:stop], epoch.Y[start:stop], eta=state.learning_rate, batch_size=size,
                        shuffle=False, l2=est.alpha * scale / size,
                        l1=est.l1 * scale / size, sample_weight=None if weight is None else weight[start:stop],
                        **options,
                    )
                except DivergenceError as exc:
                    if start_of_epoch is not None:  # undo the epoch's whole batches too
                        net.set_weights(start_of_epoch.weights)
                        net.optimizer, net.rng = start_of_epoch.optimizer, start_of_epoch.rng
                    raise ValueError(
                        "Solver produced non-finite parameter weights; the weights are those before the failing "
                        "epoch. The input data may contain large values and need to be preprocessed, or "
                        "learning_rate_init be smaller."
                    ) from exc
                total += history.loss[0] * (stop - start)
            _end_epoch(est, total / n * loss_unit(est)
                       + _epoch_penalty(calls, before, penalty(net, est.alpha, est.l1)) * scale / n, n)
            if early_stopping:
                _validate(est, net, validation, score)
            _count_stall(est, state, net, early_stopping)
            if est.solver == "sgd" and est.learning_rate == "invscaling":
                state.learning_rate = est.learning_rate_init / (est.t_ + 1) ** est.power_t
            if state.no_improvement_count > est.n_iter_no_change:
                if _stop_or_slow_down(est, state, early_stopping):
                    break
            if incremental:
                break
            if est.n_iter_ == est.max_iter:
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the "
                              "optimization hasn't converged yet.", ConvergenceWarning)
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")
    if early_stopping:
        net.set_weights(state.best_weights)
        state.best_weights = None


def _batch_size(batch_size, n) -> int:
    """The estimator's batch_size for n samples ("auto": min(200, n))."""
    if batch_size == "auto":
        return min(200, n)
    if batch_size > n:
        warnings.warn(f"batch_size={batch_size} is larger than the {n} samples; using {n}")
    return min(batch_size, n)


def _step_options(est) -> dict:
    """MLP.fit's optimizer, dropout and update_dropout for the solver's steps."""
    if est.solver == "adam":
        kind = "adam"
    elif est.momentum > 0:
        kind = "nesterov" if est.nesterovs_momentum else "momentum"
    else:
        kind = "sgd"
    return {"optimizer": kind, "momentum": est.momentum, "beta1": est.beta_1, "beta2": est.beta_2,
            "epsilon": est.epsilon, "dropout": est.dropout, "update_dropout": est.update_dropout}


def _end_epoch(est, loss, n):
    est.n_iter_ += 1
    est.t_ += n
    est.loss_ = loss
    est.loss_curve_.append(loss)
    if est.verbose:
        print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")


def loss_unit(est) -> float:
    """loss_ per fastmlp loss: 1 / n_outputs for the squared error (see the module note of
    fastmlp.estimators)."""
    return 1.0 / est.n_outputs_ if est.out_activation_ == "identity" else 1.0


def _epoch_penalty(calls, before, after) -> float:
    """The penalties of the weights before each step of an epoch, summed, as scikit-learn
    adds them to its loss: interpolated between those before and after the epoch (exact
    when the penalty changes at an even pace over the epoch's steps)."""
    steps = sum(-(-(stop - start) // size) for start, stop, size in calls)
    return steps * before + (after - before) * (steps - 1) / 2


def lbfgs(est, net, data: Data) -> None:
    """scipy's L-BFGS-B on the full-batch objective, scikit-learn's mean loss plus
    alpha / (2 sum c) * sum W^2, for at most max_iter iterations."""
    scale = 1.0 / data.mean_weight
    l2 = est.alpha * scale / len(data)
    try:
        history = net.fit(data.X, data.Y, solver="lbfgs", epochs=est.max_iter, l2=l2,
                          sample_weight=data.normalised_weight())
    except DivergenceError as exc:
        raise ValueError("Solver produced non-finite parameter weights; the weights are those of the last "
                         "finite iterate. The input data may contain large values and need to be "
                         "preprocessed.") from exc
    pen = penalty(net, l2, 0.0)
    if not history.loss:  # scipy accepted no step: the objective at the starting point
        history.loss.append(net.loss_value(data.X, data.Y, data.normalised_weight()) + pen)
    # The earlier iterates' penalties are not recorded; exact whenever _loss_unit is 1.
    est.loss_curve_ += [(value - pen) * loss_unit(est) + pen for value in history.loss]
    est.loss_ = est.best_loss_ = est.loss_curve_[-1]
    est.n_iter_ = history.epochs
    if history.epochs >= est.max_iter:
        warnings.warn(f"lbfgs failed to converge after {est.max_iter} iteration(s): the iteration limit max_iter "
                      "was reached. Increase max_iter or scale the data.", ConvergenceWarning)


def _hold_out(est, data: Data, random_state):
    """scikit-learn's validation split: validation_fraction of the samples, drawn by
    sklearn.model_selection.train_test_split from the estimator's random state, stratified
    by class for single-output classifiers."""
    stratify = data.Y if is_classifier(est) and data.Y.shape[1] == 1 else None
    train, held_out = train_test_split(np.arange(len(data)), random_state=random_state,
                                       test_size=est.validation_fraction, stratify=stratify)
    return data.rows(train), data.rows(held_out)


def _validate(est, net, validation: Data, score) -> None:
    """Score the held-out samples after an epoch and record the validation loss (in
    loss_'s units, without the penalty)."""
    value = score(net.forward(validation.X), validation.y, validation.weight)
    est.validation_scores_.append(value)
    est.validation_loss_curve_.append(
        net.loss_value(validation.X, validation.Y, validation.normalised_weight()) * loss_unit(est))
    if est.verbose:
        print(f"Validation score: {value:f}")


def _count_stall(est, state, net, early_stopping) -> None:
    """Count the epochs in a row that have not improved on the best so far by tol: the
    validation score with early stopping (keeping the best epoch's weights), else the
    training loss."""
    if early_stopping:
        score = est.validation_scores_[-1]
        stalled = score < est.best_validation_score_ + est.tol
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            state.best_weights = [W.copy() for W in net.weights]
    else:
        stalled = est.loss_curve_[-1] > est.best_loss_ - est.tol
        est.best_loss_ = min(est.best_loss_, est.loss_curve_[-1])
    state.no_improvement_count = state.no_improvement_count + 1 if stalled else 0


def _stop_or_slow_down(est, state, early_stopping) -> bool:
    """After too many epochs without improvement: True to stop, or, for SGD with the
    "adaptive" schedule and a rate above SMALLEST_RATE, divide the rate by
    ADAPTIVE_FACTOR and go on."""
    what = "Validation score" if early_stopping else "Training loss"
    message = f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."
    if est.solver == "sgd" and est.learning_rate == "adaptive" and state.learning_rate > SMALLEST_RATE:
        state.learning_rate /= ADAPTIVE_FACTOR
        state.no_improvement_count = 0
        if est.verbose:
            print(f"{message} Setting learning rate to {state.learning_rate:f}")
        return False
    if est.verbose:
        print(f"{message} Stopping.")
    return True
