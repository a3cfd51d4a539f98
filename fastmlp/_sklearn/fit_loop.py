"""scikit-learn's training loop for its MLP estimators, run through ``MLP.partial_fit``.

fastmlp.estimators validates the data and builds the network; this module trains it the
way scikit-learn's MLPClassifier and MLPRegressor do: its initial weights, its order of
the samples, its per-batch L2 strength, its learning-rate schedules and its stopping
rules, each epoch one pass of ``fastmlp.network.epochs_in_order``'s runner over the rows
in place, the data and options checked once per fit. It reads the estimator's parameters and writes its fitted attributes (n_iter_, t_, loss_, loss_curve_,
best_loss_ and the validation ones); what the loop carries between calls beyond those is
its own ``State``. The module docstring of fastmlp.estimators says how each of
scikit-learn's terms maps onto the network and where the two still differ.
"""
from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .. import network
from .._engine.feeding import add_norms
from .._errors import DivergenceError

# The module scikit-learn's MLP warnings come from. The estimators' warnings are reported as
# from it, so that a filter a script sets to silence scikit-learn's warnings (by category,
# message or module="sklearn") silences these the same way.
SKLEARN_MODULE = "sklearn.neural_network._multilayer_perceptron"

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
    """Training data as the network takes it: X (n, d^(0); an array, or a scipy.sparse CSR
    matrix), target rows Y (n, d^(L)), the user's labels or targets ``y`` (for scoring),
    and the sample weights c_i (float64, or None for all 1)."""

    X: np.ndarray
    Y: np.ndarray
    y: np.ndarray
    weight: np.ndarray | None

    def __len__(self):
        return self.X.shape[0]

    def rows(self, index) -> Data:
        return Data(self.X[index], self.Y[index], self.y[index], None if self.weight is None else self.weight[index])

    @property
    def mean_weight(self) -> float:
        return 1.0 if self.weight is None else float(self.weight.mean())

    def normalised_weight(self):
        """c_i / mean(c): fastmlp divides each batch's weighted gradient by its size,
        scikit-learn by its total weight; the two agree when the weights average 1."""
        return None if self.weight is None else self.weight / self.weight.mean()


def warn(message: str, category=UserWarning) -> None:
    """warnings.warn(message, category) reported as from scikit-learn's MLP module (see
    SKLEARN_MODULE), at the line of the estimator code that called this."""
    caller = inspect.currentframe().f_back
    registry = caller.f_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(message, category, caller.f_code.co_filename, caller.f_lineno, module=SKLEARN_MODULE,
                           registry=registry, module_globals=caller.f_globals)


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
    """alpha/2 sum W^2 + l1 sum |W| over the weights (not the biases), the squares summed
    in the weights' dtype as scikit-learn sums them; inf, without a warning, for weights
    too large to square."""
    norms = np.zeros(2)
    with np.errstate(over="ignore"):
        add_norms(net, norms)
    return penalty_of(norms, alpha, l1)


def penalty_of(norms, alpha, l1) -> float:
    """alpha/2 norms[0] + l1 norms[1]: the penalty of weights whose sum of squares is
    norms[0] and sum of sizes norms[1] (or the penalties of several steps, of their sums);
    a penalty of strength 0 adds nothing, even to an infinite norm."""
    return (0.5 * alpha * float(norms[0]) if alpha else 0.0) + (l1 * float(norms[1]) if l1 else 0.0)


def stochastic(est, state: State, net, data: Data, incremental: bool, random_state, score) -> None:
    """Epochs of SGD or Adam over ``data`` with scikit-learn's schedule and stopping rules,
    updating the estimator's fitted attributes after each epoch; n_iter_ counts this call's
    epochs. With early stopping, an epoch whose weights become non-finite records a nan
    loss and score and ends training (with a ConvergenceWarning) on the best epoch's
    weights; without, it raises ValueError on the weights from before it. random_state: the
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
    calls = batches(n, batch_size, strict=est.alpha > 0 or est.l1 > 0)
    scale = 1.0 / data.mean_weight
    pieces = [(stop - start, size, est.alpha * scale / size, est.l1 * scale / size) for start, stop, size in calls]
    order = np.arange(n)
    est.n_iter_ = 0
    with network.epochs_in_order(net, data.X, data.Y, pieces, sample_weight=data.normalised_weight(),
                                 **_step_options(est)) as run:
        steps = _Steps(est, state, run, scale)
        try:
            for _ in range(est.max_iter):
                if est.shuffle:  # each epoch permutes the order of the last one, as scikit-learn does
                    order = order[random_state.permutation(n)]
                try:
                    loss = steps.epoch(order)
                except DivergenceError as exc:
                    if not early_stopping:
                        raise ValueError(f"{NON_FINITE} The weights are those before the failing epoch; a smaller "
                                         "learning_rate_init may help.") from exc
                    _record_divergence(est, n)
                    break
                _end_epoch(est, loss, n)
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
                    warn(f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the optimization "
                         "hasn't converged yet.", ConvergenceWarning)
        except KeyboardInterrupt:
            warn("Training interrupted by user.")
    if early_stopping:
        net.set_weights(state.best_weights)
        state.best_weights = None


# The start of the error for non-finite weights, in scikit-learn's words (scripts match on it).
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large values and need "
              "to be preprocessed.")


class _Steps:
    """One epoch of scikit-learn's steps over the training data in a given order, on the
    runner of network.epochs_in_order (the rows read in place, the data validated and the
    sample weights normalised once per fit), with the loss_ scikit-learn reports.

    loss_ adds the penalty of the weights each step starts from, from the norms the kernels
    add up before each step (the runner's ``norms``)."""

    def __init__(self, est, state: State, run, scale):
        self.est, self.state, self.run, self.scale = est, state, run, scale
        self.norms = np.zeros(2) if est.alpha > 0 or est.l1 > 0 else None

    def epoch(self, order) -> float:
        """Train one epoch over the rows in ``order``; returns loss_ for it: the mean loss
        plus, as scikit-learn adds them, the penalties of the weights each step starts
        from. On DivergenceError the weights, the optimizer and the generator are those
        from before the epoch."""
        est, n = self.est, len(order)
        if self.norms is None:
            return self.run.epoch(order, self.state.learning_rate, f"iteration {est.n_iter_ + 1}") / n * loss_unit(est)
        self.norms[...] = 0.0
        total = self.run.epoch(order, self.state.learning_rate, f"iteration {est.n_iter_ + 1}", norms=self.norms)
        return total / n * loss_unit(est) + penalty_of(self.norms, est.alpha, est.l1) * self.scale / n


def _record_divergence(est, n) -> None:
    """The epoch that diverged under early stopping: a nan loss and validation score, as
    scikit-learn records them, and a ConvergenceWarning."""
    _end_epoch(est, math.nan, n)
    est.validation_scores_.append(math.nan)
    est.validation_loss_curve_.append(math.nan)
    if est.verbose:
        print("Validation score: nan")
    warn(f"Stochastic Optimizer: the weights became non-finite in iteration {est.n_iter_}; training stopped "
         "there with the weights of the best validation score. A smaller learning_rate_init may help.",
         ConvergenceWarning)


def _batch_size(batch_size, n) -> int:
    """The estimator's batch_size for n samples ("auto": min(200, n))."""
    if batch_size == "auto":
        return min(200, n)
    if batch_size > n:
        warn(f"Got `batch_size` less than 1 or larger than sample size. It is going to be clipped: "
             f"batch_size={batch_size}, {n} samples.")
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


def lbfgs(est, net, data: Data) -> None:
    """scipy's L-BFGS-B on the full-batch objective, scikit-learn's mean loss plus
    alpha / (2 sum c) * sum W^2, for at most max_iter iterations and max_fun loss
    evaluations, converged once no gradient component exceeds tol in size; a
    ConvergenceWarning unless scipy reports convergence."""
    scale = 1.0 / data.mean_weight
    l2 = est.alpha * scale / len(data)
    try:
        history = net.fit(data.X, data.Y, solver="lbfgs", epochs=est.max_iter, l2=l2,
                          sample_weight=data.normalised_weight(), gtol=est.tol, max_fun=est.max_fun)
    except DivergenceError as exc:
        raise ValueError(f"{NON_FINITE} The weights are those of the last finite iterate.") from exc
    pen = penalty(net, l2, 0.0)
    if not history.loss:  # scipy accepted no step: the objective at the starting point
        history.loss.append(net.loss_value(data.X, data.Y, data.normalised_weight()) + pen)
    # The earlier iterates' penalties are not recorded; exact whenever _loss_unit is 1.
    est.loss_curve_ += [(value - pen) * loss_unit(est) + pen for value in history.loss]
    est.loss_ = est.best_loss_ = est.loss_curve_[-1]
    est.n_iter_ = min(history.epochs, est.max_iter)
    if history.solver_status != 0:
        warn(f"lbfgs failed to converge after {est.n_iter_} iteration(s) (status={history.solver_status}):\n"
             f"{history.solver_message}\n\nRaising max_iter (now {est.max_iter}) or max_fun (now {est.max_fun}), "
             "or scaling the data, may help.", ConvergenceWarning)


def _hold_out(est, data: Data, random_state):
    """scikit-learn's validation split: validation_fraction of the samples, drawn by
    sklearn.model_selection.train_test_split from the estimator's random state, stratified
    by the 0/1 target for binary classifiers; ValueError if fewer than 2 are held out."""
    stratify = data.Y.astype(bool) if is_classifier(est) and data.Y.shape[1] == 1 else None
    train, held_out = train_test_split(np.arange(len(data)), random_state=random_state,
                                       test_size=est.validation_fraction, stratify=stratify)
    if len(held_out) < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your "
                         f"dataset: {len(held_out)} of the {len(data)} samples are held out, and scoring "
                         "needs 2.")
    return data.rows(train), data.rows(held_out)


def _validate(est, net, validation: Data, score) -> None:
    """Score the held-out samples after an epoch (the estimator's score gives nan for
    outputs that are not finite) and record the validation loss (in loss_'s units, without
    the penalty)."""
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
    adaptive = est.solver == "sgd" and est.learning_rate == "adaptive"
    if adaptive and state.learning_rate > SMALLEST_RATE:
        state.learning_rate /= ADAPTIVE_FACTOR
        state.no_improvement_count = 0
        if est.verbose:
            print(f"{message} Setting learning rate to {state.learning_rate:f}")
        return False
    if est.verbose:
        print(f"{message}{' Learning rate too small.' if adaptive else ''} Stopping.")
    return True
