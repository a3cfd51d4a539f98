"""The fit policy: epochs, shuffling, batch sizes, learning-rate schedules, validation,
early stopping, L-BFGS and the history.

This module checks the hyperparameters, decides the order of the samples and the rate of
each epoch, holds out and scores the validation data and keeps the record. The engine runs each epoch on the kernels, in pieces short enough for
Ctrl-C to be noticed between them, and undoes one that diverges. MLP.fit and
MLP.partial_fit are ``fit`` and ``partial_fit`` run holding the network's lock.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import _checks as checks, schedules
from ._engine import feeding, optimizers, per_sample_threads, weights_dropout
from ._errors import DivergenceError
from .datasets import stratified_mask
from .progress import Progress

__all__ = ["History", "fit", "partial_fit"]

SOLVERS = ("sgd", "lbfgs")
MONITORS = ("val_loss", "val_score")


@dataclass
class History:
    """One entry per epoch (per iteration for L-BFGS) in each list: the mean training loss
    (over the samples as SGD saw them; at the iterate for L-BFGS), the wall time, the
    samples per second (for L-BFGS: through the gradient pass, line-search trials included),
    the learning rate used (SGD only), and, with validation, the mean validation loss and
    the validation score after the epoch (accuracy for classification losses, R^2 for l2).
    With early stopping, ``best_epoch`` is the epoch (counted from 1) whose weights the
    network was left with, ``stopped_epoch`` the epoch after which it stopped (None: all ran).

    Attributes
    ----------
    loss, seconds, samples_per_second, eta, val_loss, val_score : list of float
        One entry per epoch, as described above (``val_*`` empty without validation).
    best_epoch, stopped_epoch : int or None
    epochs : int
        How many epochs ran.
    threads : int
        The threads per-sample SGD ran on (see MLP's ``n_threads``).
    notes : list of str
        Why the fit ran otherwise than asked (e.g. on fewer threads).
    solver_status, solver_message : int or str, or None
        After L-BFGS, scipy's: status 0 when the gradient tolerance (or the loss's relative
        change) was met, 1 when ``epochs`` or ``max_fun`` was reached, 2 when the line search
        found no descent; None after SGD.

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp.datasets import xor
    >>> X, y = xor()
    >>> history = fm.MLP([2, 4, 1], loss="binary_cross_entropy", seed=0).fit(X, y, epochs=3, eta=0.5)
    >>> history.epochs, len(history.loss), history.eta
    (3, 3, [0.5, 0.5, 0.5])
    """

    loss: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    samples_per_second: list = field(default_factory=list)
    eta: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_score: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    threads: int = 1
    notes: list = field(default_factory=list)
    solver_status: int | None = None
    solver_message: str | None = None

    @property
    def epochs(self) -> int:
        """The number of epochs recorded, ``len(history.loss)``: fewer than asked when early
        stopping stopped the fit or L-BFGS converged.

        Examples
        --------
        >>> import fastmlp as fm
        >>> from fastmlp.datasets import xor
        >>> X, y = xor()
        >>> net = fm.MLP([2, 4, 1], loss="binary_cross_entropy", seed=0)
        >>> history = net.fit(X, y, epochs=3, eta=0.5)
        >>> history.epochs, len(history.loss)
        (3, 3)
        """
        return len(self.loss)

    def __repr__(self) -> str:
        """A one-line summary (epochs, first and last values, early stopping), not every
        list, which for a long fit floods a notebook cell; the lists are the attributes."""
        parts = [f"epochs={self.epochs}"]
        for name in ("loss", "val_loss", "val_score"):
            values = getattr(self, name)
            if values:
                shown = [f"{v:.4g}" for v in values] if len(values) <= 3 else [f"{values[0]:.4g}", "...",
                                                                                 f"{values[-1]:.4g}"]
                parts.append(f"{name}=[{', '.join(shown)}]")
        for name in ("best_epoch", "stopped_epoch"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)}")
        return f"History({', '.join(parts)})"


@optimizers.keywords
def fit(net, X, y, *, epochs=10, batch_size=1, eta=0.1, shuffle=True, seed=None, callback=None, verbose=False,
        progress=False, solver="sgd", validation_data=None, validation_fraction=None, early_stopping=False,
        patience=10, tol=1e-4, monitor="val_loss", reinitialise=False, l2=0.0, l1=0.0, optimizer="sgd",
        sample_weight=None, class_weight=None, dropout=None, update_dropout=0.0, gtol=1e-5, max_fun=15000,
        **settings):
    """Train the network in place from its current weights; returns the History (one entry
    per epoch, per iteration for L-BFGS).

    Parameters
    ----------
    X : array-like or scipy.sparse matrix of shape (n_samples, d^(0))
        Real numbers (lists, any real dtype, any memory order), converted once to the
        network's dtype; sparse X (any format, read as CSR) makes the first layer read only
        the rows of W^(1) for each sample's nonzero inputs.
    y : array-like
        For ``l2``: targets of shape (n_samples, d^(L)), or (n_samples,) for one output.
        For ``cross_entropy``: integer labels 0..K-1 of shape (n_samples,) or one-hot rows.
        For ``binary_cross_entropy``: values in [0, 1] of shape (n_samples,) or
        (n_samples, d^(L)).
    epochs : int, default 10
        Epochs of SGD (for L-BFGS: the most iterations).
    batch_size : int or None, default 1
        1 is the lecture's per-sample SGD, k minibatches of k, None the full batch.
    eta : float or callable, default 0.1
        The learning rate, a number >= 0, or a schedule ``schedule(t, history) -> eta``
        called before each epoch (see :mod:`fastmlp.schedules`).
    shuffle : bool, default True
        Visit the samples in a fresh random order each epoch.
    seed : int, optional
        Draw shuffles, splits and dropout masks from this seed (default: from the network's
        own generator ``net.rng``, which then advances).
    callback : callable, optional
        ``callback(epoch, history)``, run after each epoch (epoch counted from 1). While it
        runs, other threads may read the network (predict, save, copy), so that it may hand
        the network to a thread pool and wait; a change it makes (``sgd_step``) waits for
        those reads first.
    verbose : bool, default False
        Print one line per epoch (loss, validation, samples/s).
    progress : bool, default False
        Show a progress bar on stderr (tqdm's when it is installed).
    solver : {"sgd", "lbfgs"}, default "sgd"
        "lbfgs" runs scipy's L-BFGS-B on the full-batch mean loss (batch_size, shuffle, eta,
        the optimizers and dropout do not apply; it may stop early when it converges).
    gtol : float, default 1e-5
        L-BFGS only: it has converged once no gradient component (of the penalised loss)
        exceeds gtol in size.
    max_fun : int, default 15000
        L-BFGS only: it stops after this many loss evaluations.
    validation_data : tuple, optional
        ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``.
    validation_fraction : float, optional
        Or hold out this share of X (stratified by class for classification losses). Either
        way each epoch records ``history.val_loss`` and ``val_score`` (accuracy, or R^2 for
        l2).
    early_stopping : bool, default False
        Stop once ``patience`` epochs in a row have not improved the best ``monitor`` by
        ``tol``, and keep the best epoch's weights.
    patience : int, default 10
    tol : float, default 1e-4
    monitor : {"val_loss", "val_score"}, default "val_loss"
    reinitialise : bool, default False
        Draw fresh weights (and clear the optimizer's state) first.
    l2, l1 : float, default 0.0
        Penalties on the weights, not the biases: ``w <- soft(w - eta (g + l2 w), eta l1)``.
        L-BFGS minimises ``the mean loss + l2/2 |w|^2`` and takes no l1.
    optimizer : str, default "sgd"
        By name; its hyperparameters are keyword options (each optimizer reads its own,
        with the defaults shown):

{optimizers}

        The state stays in ``net.optimizer``, so a later fit or sgd_step with the same
        optimizer and settings continues it.
    sample_weight : array-like of shape (n_samples,), optional
        One number >= 0 per sample: sample i counts c_i times (its loss is c_i l_i).
    class_weight : "balanced" or dict, optional
        For classification losses: "balanced" weighs class k by n / (K n_k); a dict
        ``{class: weight}`` sets single classes. Multiplies ``sample_weight``.
    dropout : float or list of float, optional
        Inverted dropout of hidden units, one rate for all hidden layers or one per hidden
        layer; kept units are scaled by 1 / (1 - rate), so prediction drops nothing.
    update_dropout : float, default 0.0
        The lecture's variant: the share of the weights each step leaves unchanged.

    Returns
    -------
    History
        One entry per epoch (per iteration for L-BFGS): ``loss`` (the unpenalised mean
        training loss for SGD, the penalised objective for L-BFGS), ``seconds``,
        ``samples_per_second``, ``eta``, and with validation ``val_loss`` and ``val_score``.

    Raises
    ------
    ValueError, TypeError
        A rejected argument (a wrong shape, NaN or infinity, an unknown option or a bad
        value), before anything changes.
    DivergenceError
        The loss or the weights became non-finite; the weights and the generator are those
        after the last finite epoch.

    Notes
    -----
    Any exception that ends training (a DivergenceError, a KeyboardInterrupt, or one the
    callback or the schedule raises, which passes through unchanged) carries the history so
    far as ``exc.history``, and the network keeps the weights of the last epoch that
    finished. Other threads wait while a fit trains a network.

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp.datasets import moons
    >>> X, y = moons(100, seed=0)
    >>> net = fm.MLP([2, 8, 1], loss="binary_cross_entropy", seed=0)
    >>> history = net.fit(X, y, epochs=5, batch_size=10, eta=0.5)
    >>> history.epochs, history.loss[-1] < history.loss[0]
    (5, True)
    """
    feeding.require_trainable(net, "fit")
    epochs = checks.positive_int(epochs, "epochs")
    solver = checks.choice(solver, "solver", SOLVERS)
    gtol = checks.real_number(gtol, "gtol", lowest=0.0)
    max_fun = checks.positive_int(max_fun, "max_fun")
    l2, l1 = checks.penalties(l2, l1)
    moments = optimizers.prepare(net, optimizer, **settings)
    if solver == "lbfgs" and moments is not None:
        raise ValueError(f"optimizer={optimizer!r} goes with solver='sgd', not 'lbfgs'")
    if solver == "lbfgs" and l1 > 0:
        raise ValueError("solver='lbfgs' takes no l1 penalty; use solver='sgd' for l1")
    schedule = eta if callable(eta) else schedules.Constant(checks.eta(eta, net.dtype))
    shuffle = checks.boolean(shuffle, "shuffle")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable as callback(epoch, history)")
    seed = checks.seed(seed)
    stopper = _EarlyStopping(patience, tol, monitor)  # checked whether or not early stopping is on
    early_stopping = checks.boolean(early_stopping, "early_stopping")
    reinitialise = checks.boolean(reinitialise, "reinitialise")
    progress = checks.boolean(progress, "progress")
    if batch_size is not None:
        batch_size = checks.positive_int(batch_size, "batch_size")
    X, Y = feeding.data(net, X, y)
    if solver == "sgd":
        rows = min(len(X) if batch_size is None else batch_size, len(X), feeding.part_rows(net, X=X))
        feeding.require_room(net, rows, X)
    table = weights_dropout.class_weights(net, class_weight, Y)
    options = weights_dropout.steps(net, Y, table, sample_weight, dropout, update_dropout)
    if solver == "lbfgs" and options.random:
        raise ValueError("dropout and update_dropout go with solver='sgd', not 'lbfgs'")
    rng = net.rng if seed is None else np.random.default_rng(seed)
    X, Y, options, validation = _validation(net, X, Y, options, table, validation_data, validation_fraction, rng)
    if early_stopping and validation is None:
        raise ValueError("early_stopping watches the validation data: give validation_data=(X_val, y_val) "
                         "or validation_fraction")
    if reinitialise:
        net.initialise()
        moments = optimizers.prepare(net, optimizer, **settings)
    bar = Progress(epochs) if progress else None
    loop = _Epochs(net, validation, stopper if early_stopping else None, callback, verbose, bar)
    try:
        if solver == "sgd":
            batch_size = len(X) if batch_size is None else min(batch_size, len(X))
            net.optimizer = moments
            threads, note = per_sample_threads.plan(net, X, batch_size)
            with per_sample_threads.team(net, threads) as team:
                loop.history.threads = 1 if team is None else team.size
                if loop.history.threads < threads:
                    note = f"per-sample steps ran on {loop.history.threads} threads: no more could be started"
                loop.history.notes += [note] if note else []
                _sgd(net, X, Y, epochs, batch_size, schedule, shuffle, rng, loop, l2, l1, moments, options, team)
        else:
            _lbfgs(net, X, Y, epochs, loop, l2, options.weight, gtol, max_fun)
    except BaseException as exc:
        exc.history = loop.history
        raise
    finally:
        if bar is not None:
            bar.close()
    if early_stopping:
        stopper.restore(net)
    return loop.history


@optimizers.keywords
def partial_fit(net, X, y, *, eta=0.1, batch_size=1, shuffle=True, seed=None, callback=None, verbose=False,
                validation_data=None, l2=0.0, l1=0.0, optimizer="sgd", sample_weight=None, class_weight=None,
                dropout=None, update_dropout=0.0, **settings):
    """One epoch of SGD over X, y from the current weights at the rate ``eta`` (a number, not
    a schedule); the other arguments mean what they mean for fit, with the same defaults. The
    optimizer's state carries over between calls, so repeated calls continue one run.

    Parameters
    ----------
    net : MLP
        As a method, ``net.partial_fit(X, y, ...)``.
    X : array-like or scipy.sparse matrix of shape (n_samples, d^(0))
        float32 or float64.
    y : array-like of shape (n_samples,) or (n_samples, d^(L))
        Targets as ``fit`` takes them (integer labels or one-hot rows for cross_entropy).
    eta : float, default 0.1
        The learning rate, > 0.
    batch_size : int, default 1
        1 is the lecture's per-sample SGD; n_samples is full-batch gradient descent.

    Returns
    -------
    History
        The one epoch's loss (and validation score if ``validation_data`` is given).

    Raises
    ------
    ValueError
        Bad data or a bad option, as for fit; the weights stay as they were.
    DivergenceError
        The epoch made the loss or a weight non-finite; the weights are restored.

    Examples
    --------
    >>> import fastmlp as fm
    >>> net = fm.MLP([2, 4, 1], loss="binary_cross_entropy", seed=0)
    >>> X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0]
    >>> for _ in range(3):
    ...     history = net.partial_fit(X, y, eta=0.5, seed=0)
    >>> len(history.loss)
    1
    """
    return fit(net, X, y, epochs=1, eta=checks.eta(eta, net.dtype), batch_size=batch_size, shuffle=shuffle,
               seed=seed, callback=callback, verbose=verbose, validation_data=validation_data, l2=l2, l1=l1,
               optimizer=optimizer, sample_weight=sample_weight, class_weight=class_weight, dropout=dropout,
               update_dropout=update_dropout, **settings)


def _sgd(net, X, Y, epochs, batch_size, schedule, shuffle, rng, loop, l2, l1, moments, options, team=None):
    n = len(X)
    for t in range(epochs):
        value = schedule(t, loop.history)
        eta = checks.real_number(value, f"eta for epoch {t + 1} (the schedule's value at t={t})", lowest=0.0,
                                 dtype=net.dtype)
        drawn_from = rng.bit_generator.state
        order = rng.permutation(n).astype(np.intp, copy=False) if shuffle else np.arange(n, dtype=np.intp)
        keywords = options.for_epoch(rng)
        start = time.perf_counter()
        try:
            total = feeding.run_epoch(net, X, Y, order, batch_size, eta, f"epoch {t + 1}", l2, l1, moments, keywords,
                                      team)
        except DivergenceError:
            # The weights are those of the last finite epoch; so is the generator.
            rng.bit_generator.state = drawn_from
            raise
        if loop.end(total / n, time.perf_counter() - start, n, eta):
            return


def _lbfgs(net, X, Y, iterations, loop, l2, weight, gtol, max_fun):
    """L-BFGS-B on the flat params (in float64 for scipy, copied into the network's dtype
    for the kernels), with sample weights ``weight`` or None; one History entry per
    iteration, and scipy's status and message. On divergence or interruption the network
    keeps the last iterate L-BFGS accepted."""
    from scipy.optimize import minimize  # imported here: it costs a third of a second

    grad = np.empty_like(net.params)
    accepted = net.params.copy()
    weights = np.ones(net.params.size, dtype=bool)  # False on the bias rows
    start = 0
    for W in net.weights:
        weights[start : start + W.shape[1]] = False
        start += W.size
    evaluations, start = 0, time.perf_counter()

    def loss_and_gradient(w):
        nonlocal evaluations
        evaluations += 1
        net.params[...] = w
        loss = feeding.mean_gradient(net, X, Y, grad, weight)
        if l2 > 0:
            loss += 0.5 * l2 * float(np.sum(np.square(w[weights])))
            grad[weights] += l2 * w[weights]
        if not (math.isfinite(loss) and np.isfinite(grad).all()):
            raise DivergenceError(
                f"training diverged in L-BFGS iteration {loop.history.epochs + 1}: the loss or its gradient "
                "became non-finite; the weights were restored to the last iterate."
            )
        return loss, grad.astype(np.float64)

    raised = []  # a StopIteration from the user's callback, which scipy would take for "stop"

    def iteration(intermediate_result):
        nonlocal evaluations, start
        accepted[...] = intermediate_result.x
        net.params[...] = accepted
        try:
            stop = loop.end(float(intermediate_result.fun), time.perf_counter() - start, evaluations * len(X), None)
        except StopIteration as exc:
            raised.append(exc)
            raise
        evaluations, start = 0, time.perf_counter()
        if stop:
            raise StopIteration

    try:
        result = minimize(loss_and_gradient, accepted.astype(np.float64), jac=True, method="L-BFGS-B",
                          callback=iteration,
                          options={"maxiter": iterations, "maxfun": max_fun, "gtol": gtol})
    except BaseException:
        net.params[...] = accepted
        raise
    if raised:
        net.params[...] = accepted
        raise raised[0]
    net.params[...] = result.x
    loop.history.solver_status, loop.history.solver_message = int(result.status), str(result.message)


class _Epochs:
    """What happens after each epoch: record it, validate, watch for early stopping, report."""

    def __init__(self, net, validation, stopper, callback, verbose, progress):
        self.net, self.validation, self.stopper = net, validation, stopper
        self.callback, self.verbose, self.progress = callback, verbose, progress
        self.history = History()

    def end(self, loss, seconds, samples, eta) -> bool:
        """Record an epoch; True if early stopping ends the fit here."""
        net, history = self.net, self.history
        history.loss.append(loss)
        history.seconds.append(seconds)
        history.samples_per_second.append(samples / seconds if seconds > 0 else float("inf"))
        if eta is not None:
            history.eta.append(eta)
        report = f"epoch {history.epochs:4d}  loss {loss:.6f}"
        if self.validation is not None:
            X_val, Y_val, weight = self.validation
            history.val_loss.append(feeding.mean_gradient(net, X_val, Y_val, np.empty_like(net.params), weight))
            history.val_score.append(net.loss.score(net.forward(X_val), Y_val, weight))
            report += f"  val_loss {history.val_loss[-1]:.6f}  val_score {history.val_score[-1]:.4f}"
        stop = self.stopper is not None and self.stopper.update(history, net.params)
        if self.verbose:
            print(f"{report}  {samples / max(seconds, 1e-12):,.0f} samples/s")
        if self.progress is not None:
            self.progress.update(history)
        if self.callback is not None:
            self.callback(history.epochs, history)
        return stop


class _EarlyStopping:
    """Keeps the weights of the best epoch so far by ``monitor``, and counts the epochs in a
    row that have not improved on the best by ``tol`` (as scikit-learn's early stopping)."""

    def __init__(self, patience, tol, monitor):
        self.patience = checks.positive_int(patience, "patience")
        self.tol = checks.real_number(tol, "tol", lowest=0.0)
        self.monitor = checks.choice(monitor, "monitor", MONITORS)
        self.best, self.weights, self.stalled = math.inf, None, 0

    def update(self, history, params) -> bool:
        value = getattr(history, self.monitor)[-1]
        value = value if self.monitor == "val_loss" else -value  # lower is better
        self.stalled = 0 if value < self.best - self.tol else self.stalled + 1
        if value < self.best:
            self.best, self.weights = value, params.copy()
            history.best_epoch = history.epochs
        if self.stalled >= self.patience:
            history.stopped_epoch = history.epochs
            return True
        return False

    def restore(self, net):
        if self.weights is not None:
            net.params[...] = self.weights


def _validation(net, X, Y, options, table, validation_data, validation_fraction, rng):
    """(X_train, Y_train, their step options, (X_val, Y_val, val weights or None) or None),
    validated; ``table``: the class weights, which weigh the validation samples too."""
    if validation_data is not None and validation_fraction is not None:
        raise ValueError("give validation_data or validation_fraction, not both")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise TypeError("validation_data must be (X_val, y_val) or (X_val, y_val, sample_weight_val)")
        try:
            X_val, Y_val = feeding.data(net, *validation_data[:2])
            given = validation_data[2] if len(validation_data) == 3 else None
            weight = weights_dropout.row_weights(net, Y_val, given, table, "sample_weight_val")
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"validation_data: {exc}") from None
        return X, Y, options, (X_val, Y_val, weight)
    if validation_fraction is None:
        return X, Y, options, None
    fraction = checks.fraction(validation_fraction, "validation_fraction")
    classes = net.loss.decisions(Y) if net.loss.classifier else np.zeros((len(Y), 1), dtype=bool)
    drawn_from = rng.bit_generator.state
    held_out = stratified_mask(np.unique(classes, axis=0, return_inverse=True)[1].reshape(-1), fraction, rng)
    problem = None
    if not 0 < held_out.sum() < len(X):
        problem = (f"validation_fraction={validation_fraction!r} of {len(X)} samples holds out {held_out.sum()}: "
                   "validation and training need at least one sample each")
    elif options.weight is not None and not (options.weight[held_out].any() and options.weight[~held_out].any()):
        problem = "the sample weights are 0 on every validation or every training sample"
    if problem:
        rng.bit_generator.state = drawn_from  # a rejected call leaves the generator as it was
        raise ValueError(problem)
    weight = None if options.weight is None else np.ascontiguousarray(options.weight[held_out])
    return X[~held_out], Y[~held_out], options.select(~held_out), (X[held_out], Y[held_out], weight)
