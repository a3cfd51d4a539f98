"""Feeding the kernels: a network's validated data, in parts of rows and steps in parts.

Every function here takes a network by its public attributes only (``sizes``,
``activations``, ``loss``, ``dtype``, ``params``, ``backend``, ``n_threads``) and arrays
already validated (``data``, ``inputs``): the kernels read them without checking. The
kernels get the work in pieces of about WORK_PER_CALL multiply-adds, so that a Ctrl-C is
noticed within a fraction of a second, and a training epoch that diverges is undone.
The caller holds the network's lock.
"""
from __future__ import annotations

import math
import numbers
import weakref

import numpy as np

from .. import _checks as checks
from .._errors import DivergenceError
from . import backends, optimizers, weights_dropout
from .memory import require
from .sparse import SparseRows, issparse, sparse_samples
from .threads import blas_threads, threads_for

# Multiply-adds of training the kernels do between two returns to Python, where a Ctrl-C
# is noticed: a few hundredths of a second on one core.
WORK_PER_CALL = 50_000_000
# Per-sample steps split between a team's threads take SPLIT_CALLS times as much per thread:
# each call takes every weight into the threads' own blocks, gives it back and starts the
# team, so it runs more samples (some thousandths of a second). On a 2-core AMD EPYC,
# 784-128-10 float32 ran 1.4-1.6x on two threads in calls of 333 samples, 1.7-1.9x in 2666.
SPLIT_CALLS = 8
# The fewest rows a part of a large gradient or forward pass takes, as long as a part stays
# under LONGEST_CALL multiply-adds (some hundredths of a second): few and large matrix
# products. A full-batch epoch of 784-256-10 on 60,000 rows (busy machine, BLAS on two
# threads) took 1.5 s in one call, 1.6-1.7 s in parts of 1641 rows (the most under
# LONGEST_CALL) and 2.3 s in parts of 1024, whose every product waits for both BLAS
# threads; on one BLAS thread the parts took 0.62-0.70 s against 1.1-1.2 s in one call.
# 2048 is the most rows the kernels push through the network at once.
PART_ROWS = 2048
FORWARD_ROWS = 2048
LONGEST_CALL = 1_000_000_000


# -- the network as the kernels see it -------------------------------------------------------


# Each network's backend and the architecture that backend built for it (a network's
# sizes, activations and loss never change; its backend may be swapped).
_ARCHITECTURES = weakref.WeakKeyDictionary()


def architecture(net):
    """The backend's (read-only) description of the network's shape and nonlinearities,
    built once per network and backend."""
    held = _ARCHITECTURES.get(net)
    if held is None or held[0] is not net.backend:
        held = net.backend, net.backend.architecture(net.sizes, net.activations, net.loss)
        _ARCHITECTURES[net] = held
    return held[1]


def require_trainable(net, what: str) -> None:
    """ValueError unless every layer's theta has a derivative to train with."""
    if not all(a.kind.trainable for a in net.activations):
        names = sorted({a.name for a in net.activations if not a.kind.trainable})
        raise ValueError(f"{what} needs theta'; {', '.join(names)} has no derivative (use forward only)")


def inputs(net, X):
    """X as a C-contiguous (n, d^(0)) array of the network's dtype (a scipy.sparse X as
    SparseRows), and whether it was one sample. SparseRows, which only the engine makes
    (e.g. fit's validation rows), are already converted."""
    if isinstance(X, SparseRows):
        return X, False
    if issparse(X):
        return sparse_samples(X, net.sizes[0], net.dtype)
    return checks.samples(X, net.sizes[0], net.dtype)


def data(net, X, y):
    """Validated (X, Y): inputs (n, d^(0)) and float target rows (n, d^(L))."""
    X, single = inputs(net, X)
    y = checks.real_array(y, "y")
    if single and y.ndim < 2:
        y = y[np.newaxis]
    return X, net.loss.targets(y, len(X), net.sizes[-1], net.dtype)


def part_rows(net, passes=3, X=None) -> int:
    """Rows per kernel call of a large pass over the data X: about WORK_PER_CALL multiply-adds,
    and at least PART_ROWS (FORWARD_ROWS for a forward pass) unless they would take more
    than LONGEST_CALL. A training row costs ``passes`` = 3 multiply-adds per weight it reads
    (forward, delta and gradient), a forward row 1."""
    per_row = passes * weights_per_row(net, X)
    fewest = min(PART_ROWS if passes > 1 else FORWARD_ROWS, LONGEST_CALL // per_row)
    return max(1, fewest, WORK_PER_CALL // per_row)


def weights_per_row(net, X=None, batch_size=1, dense_steps=False) -> int:
    """The weights one row of X reads: all of them for dense rows; for sparse rows the rows
    of W^(1) of an average row's nonzeros (and its bias row) and the other layers, plus, for
    steps that change every weight of W^(1) (the optimizers' moments, update dropout, and
    the penalties of a minibatch), W^(1) once per step of ``batch_size`` rows."""
    if not isinstance(X, SparseRows):
        return net.params.size
    d1 = net.sizes[1]
    first = (net.sizes[0] + 1) * d1
    touched = d1 * (1 + -(-X.nnz // len(X)))
    return net.params.size - first + touched + (first // batch_size if dense_steps else 0)


# -- reading: outputs and gradients ----------------------------------------------------------


def forward(net, X) -> np.ndarray:
    """h(x) for validated rows X (n, d^(0)), many rows in parts of ``part_rows``."""
    n = len(X)
    require(n * net.sizes[-1] * net.dtype.itemsize, f"the outputs of {n} samples")
    rows, arch = part_rows(net, passes=1, X=X), architecture(net)
    kernels = backends.for_rows(net.backend, X)
    with blas_threads(threads_for(net.n_threads, min(n, rows), net.sizes)):
        if n <= rows:
            return kernels.forward(arch, net.params, X)
        H = np.empty((n, net.sizes[-1]), dtype=net.dtype)
        for start in range(0, n, rows):
            H[start : start + rows] = kernels.forward(arch, net.params, X[start : start + rows])
    return H


def backprop(net, x, y):
    """Forward and backward for one validated sample: (s, x^(1..L), delta, grad, loss),
    each flat as the kernels lay them out."""
    units = sum(net.sizes[1:])
    s, xs, delta = (np.empty(units, dtype=net.dtype) for _ in range(3))
    grad = np.empty_like(net.params)
    loss = net.backend.backprop(architecture(net), net.params, x, y, s, xs, delta, grad)
    return s, xs, delta, grad, float(loss)


def mean_gradient(net, X, Y, grad, weight=None) -> float:
    """For validated X, Y and float64 sample weights (or None): the mean loss; its gradient
    goes into ``grad`` (flat, laid out like ``params``).

    The kernels take the rows in parts (``part_rows``), so that a Ctrl-C during a large
    gradient, as L-BFGS takes, is noticed within a fraction of a second and the kernels'
    buffers stay small; the parts' means are combined by their rows."""
    n = len(X)
    rows, arch = part_rows(net, X=X), architecture(net)
    kernels = backends.for_rows(net.backend, X)
    with blas_threads(threads_for(net.n_threads, min(n, rows), net.sizes)):
        if n <= rows:
            return float(kernels.mean_gradient(arch, net.params, X, Y, grad, weight))
        total, part = 0.0, np.empty_like(grad)
        grad[...] = 0
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            share = None if weight is None else weight[start:stop]
            loss = kernels.mean_gradient(arch, net.params, X[start:stop], Y[start:stop], part, share)
            total += float(loss) * (stop - start)
            grad += part * (stop - start)
        grad /= n
        return total / n


# -- writing: epochs of steps ----------------------------------------------------------------


def run_epoch(net, X, Y, order, batch_size, eta, where, l2=0.0, l1=0.0, optimizer=None, options=None,
              team=None, before_step=None) -> float:
    """SGD over validated rows X[order] in steps of ``batch_size`` rows; returns the summed
    loss. optimizer: the network's optimizer object (see fastmlp._engine.optimizers), None
    for the lecture's plain step; options: the kernels' keywords for sample weights and dropout (see
    fastmlp._engine.weights_dropout); team: per sample, the threads that split the hidden
    units (see fastmlp._engine.per_sample_threads), or None; before_step: None, or a function
    called with no arguments before each step (the steps then go to the kernels one per
    call). On a non-finite loss or weight the weights and the optimizer's state are put back
    as they were and DivergenceError names ``where``.

    Whole minibatches go to the kernels in pieces of about WORK_PER_CALL multiply-adds;
    steps larger than that (a full batch of a large training set) have their gradient
    taken in parts of rows and are then made at once (``_steps_in_parts``). The weights
    left are those of the last finished piece or step, or the ones from before the call
    if those are not finite."""
    require_room(net, min(batch_size, len(order), part_rows(net, X=X)), X)
    optimizer = optimizer or optimizers.PLAIN
    return _undone_if_diverged(net, optimizer, eta, where, lambda: _steps(
        net, X, Y, order, batch_size, eta, l2, l1, optimizer, options or {}, team, before_step))


def _undone_if_diverged(net, optimizer, eta, where, steps) -> float:
    """The summed loss of ``steps()`` -> (summed loss, whether every step was finite), with
    the weights and the optimizer's state put back as they were before it if it diverges
    (DivergenceError naming ``where``) or a Ctrl-C leaves weights that are not finite."""
    before = net.params.copy()
    moments = optimizer.snapshot()
    try:
        total, finite = steps()
    except KeyboardInterrupt:
        if not _finite(net, optimizer):
            _undo(net, before, optimizer, moments)
        raise
    if not finite or not _finite(net, optimizer):
        _undo(net, before, optimizer, moments)
        raise DivergenceError(
            f"training diverged in {where} (eta={eta!r}): the loss, the weights or the optimizer's "
            "moments became non-finite; the weights were restored. Try a smaller eta, or scale the data."
        )
    return total


def _steps(net, X, Y, order, batch_size, eta, l2, l1, optimizer, options, team, before_step):
    """run_epoch's steps without the undo: (summed loss, whether every step was finite)."""
    rows = part_rows(net, X=X)
    if batch_size > rows:
        return _steps_in_parts(net, X, Y, order, batch_size, rows, eta, l2, l1, optimizer, options, before_step)
    return _whole_steps(net, X, Y, order, batch_size, eta, l2, l1, optimizer, options, team, before_step)


def _whole_steps(net, X, Y, order, batch_size, eta, l2, l1, optimizer, options, team=None, before_step=None):
    """run_epoch's steps, as many whole ones per kernel call as make about WORK_PER_CALL
    multiply-adds (a team's threads share a call: SPLIT_CALLS times more per thread, see
    above; one step per call, after calling before_step, if that is given). Returns (summed
    loss, whether every step was finite)."""
    # Per sample, sparse rows take the penalties lazily (see the kernels' sparse_rows.pxi);
    # norms read every weight before each step.
    dense_steps = optimizer is not optimizers.PLAIN or options.get("update_dropout", 0) > 0 or (
        batch_size > 1 and (l2 > 0 or l1 > 0)) or options.get("norms") is not None
    work = WORK_PER_CALL * (1 if team is None else SPLIT_CALLS * team.size)
    per_call = max(1, work // (3 * weights_per_row(net, X, batch_size, dense_steps)))
    per_call = batch_size if before_step is not None else max(batch_size, per_call - per_call % batch_size)
    total, backend, arch = 0.0, backends.for_rows(net.backend, X), architecture(net)
    # Per sample no BLAS: the plain kernel runs on this thread alone, the others on one thread.
    if batch_size > 1:
        threads = threads_for(net.n_threads, batch_size, net.sizes)
    else:
        threads = None if optimizer is optimizers.PLAIN else 1
    with blas_threads(threads):
        for start in range(0, len(order), per_call):
            part = order[start : start + per_call]
            if before_step is not None:
                before_step()
            loss, done = optimizer.epoch(backend, arch, net.params, X, Y, part, batch_size, eta, l2, l1, team=team,
                                         **options, position=start)
            total += loss
            if done < len(part) or not math.isfinite(total):
                return total, False
    return total, True


def _steps_in_parts(net, X, Y, order, batch_size, rows, eta, l2, l1, optimizer, options, before_step=None):
    """run_epoch's steps of more than ``rows`` samples: each step's summed gradient is taken
    in parts of ``rows`` rows, one kernel call each, and the step is then made in one call
    from it, so that a Ctrl-C, noticed between calls, finds the weights of the last whole
    step. The same step as the kernels' minibatch and optimizer epochs make in one call.
    Returns (summed loss, whether every step was finite)."""
    backend, arch = net.backend, architecture(net)
    kernels = backends.for_rows(backend, X)
    grad, total, room = np.empty_like(net.params), 0.0, None
    options = dict(options)
    norms = options.pop("norms", None)
    with blas_threads(threads_for(net.n_threads, rows, net.sizes)):
        for start in range(0, len(order), batch_size):
            step = order[start : start + batch_size]
            if before_step is not None:
                before_step()
            if norms is not None:
                add_norms(net, norms)
            grad[...] = 0
            loss = 0.0
            for first in range(0, len(step), rows):
                part, room = kernels.step_gradient(arch, net.params, X, Y, step[first : first + rows], grad,
                                                   **options, position=start + first, room=room)
                loss += part
            if not math.isfinite(loss):
                return total, False
            optimizer.step(backend, arch, net.params, grad, len(step), eta, l2, l1, **options, position=start)
            total += loss
    return total, True


def add_norms(net, norms) -> None:
    """norms[0] += sum w^2 and norms[1] += sum |w| over the weights of every layer, not the
    biases: the kernels' ``norms`` for a step made here."""
    start = 0
    for d_in, d_out in zip(net.sizes, net.sizes[1:]):
        w = net.params[start + d_out : start + (d_in + 1) * d_out]
        norms += (np.dot(w, w), np.abs(w).sum())
        start += (d_in + 1) * d_out


class InOrder:
    """Epochs over validated rows X[order], Y[order] for callers that validate their data
    once and choose each epoch's order themselves (the estimators, the Nielsen drop-ins).

    X, Y (what the kernels read unchecked: nothing is copied; a scipy.sparse X is read as
    CSR rows where it is), the optimizer (its settings as fit's), the sample weights (one
    per row of X) and dropout are checked once, here, and the network's optimizer becomes
    the one prepared; each ``epoch`` then checks only its order and rate. ``pieces``: the
    kernel runs that make an epoch, one after the other, as (rows, batch_size, l2, l1): the
    next ``rows`` row numbers of the order in steps of ``batch_size`` with those penalties
    (fit's ``l2``, ``l1``). Each piece draws its own dropout key from the network's
    generator and numbers its rows from 0. team: per sample, the threads that split the
    hidden units (see fastmlp._engine.per_sample_threads), or None."""

    def __init__(self, net, X, Y, pieces, *, optimizer="sgd", sample_weight=None, dropout=None, update_dropout=0.0,
                 team=None, **settings):
        if issparse(X):
            X, _ = sparse_samples(X, net.sizes[0], net.dtype)
        require_rows(net, X, Y)
        self.pieces = []
        for rows, batch_size, l2, l1 in pieces:
            if isinstance(rows, (bool, np.bool_)) or not isinstance(rows, numbers.Integral) or rows < 0:
                raise ValueError(f"a piece's rows must be a whole number >= 0, got {rows!r}")
            batch_size = checks.positive_int(batch_size, "batch_size")
            require_room(net, min(batch_size, int(rows), part_rows(net, X=X)), X)
            self.pieces.append((int(rows), batch_size, *checks.penalties(l2, l1)))
        self.rows = sum(rows for rows, *_ in self.pieces)
        self.net, self.X, self.Y, self.team = net, X, Y, team
        moments = optimizers.prepare(net, optimizer, **settings)
        self.options = weights_dropout.steps(net, Y, None, sample_weight, dropout, update_dropout)
        net.optimizer = moments
        self.optimizer = moments or optimizers.PLAIN

    def epoch(self, order, eta, where, before_step=None, norms=None) -> float:
        """One epoch over the rows in ``order`` (numpy.intp row numbers, as many as the
        pieces take) at the rate ``eta``; before_step, if given, is called with no
        arguments before each step (the steps then go to the kernels one per call).
        norms: None, or a float64 array of 2 to which each step adds, before it is made,
        the sum of w^2 and the sum of |w| over the weights, not the biases (the penalties
        of the weights each step starts from, without a return to Python per step).
        Returns the summed loss. On divergence (DivergenceError naming
        ``where``) the weights, the optimizer's state and the network's generator are
        those from before the epoch."""
        net = self.net
        require_order(order, len(self.X))
        if len(order) != self.rows:
            raise ValueError(f"order has {len(order)} row numbers; the epoch's pieces take {self.rows}")
        eta = _check_epoch(net, eta, before_step)
        _check_norms(norms)
        drawn_from = net.rng.bit_generator.state
        try:
            return _undone_if_diverged(net, self.optimizer, eta, where,
                                       lambda: self._pieces(order, eta, before_step, norms))
        except DivergenceError:
            net.rng.bit_generator.state = drawn_from
            raise

    def _pieces(self, order, eta, before_step, norms):
        net, X, Y, optimizer, total, start = self.net, self.X, self.Y, self.optimizer, 0.0, 0
        for rows, batch_size, l2, l1 in self.pieces:
            team = self.team if batch_size == 1 else None
            options = self.options.for_epoch(net.rng)
            if norms is not None:
                options["norms"] = norms
            loss, finite = _steps(net, X, Y, order[start : start + rows], batch_size, eta, l2, l1, optimizer,
                                  options, team, before_step)
            total += loss
            start += rows
            if not finite:
                return total, False
        return total, True


def _check_epoch(net, eta, before_step) -> float:
    """The learning rate, checked, and TypeError unless before_step is None or callable."""
    if before_step is not None and not callable(before_step):
        raise TypeError("before_step must be callable with no arguments")
    return checks.eta(eta, net.dtype)


def _check_norms(norms) -> None:
    """ValueError unless ``norms`` is None or a writeable float64 array of 2 entries (the
    kernels add to it unchecked)."""
    if norms is None:
        return
    if not (isinstance(norms, np.ndarray) and norms.dtype == np.float64 and norms.shape == (2,)
            and norms.flags.c_contiguous and norms.flags.writeable):
        raise ValueError("norms must be a writeable float64 array of 2 entries")


def epoch_in_order(net, X, Y, order, batch_size, eta, where, l2=0.0, *, l1=0.0, optimizer="sgd",
                   sample_weight=None, dropout=None, update_dropout=0.0, before_step=None, norms=None, team=None,
                   **settings) -> float:
    """One epoch of InOrder: run_epoch over the rows X[order], Y[order] in that order, X, Y
    and ``order`` checked to be what the kernels read unchecked. The optimizer (its settings
    as fit's), penalties, sample weights (one per row of X) and dropout are fit's;
    before_step is called before each step; norms and team: as InOrder's. Returns the summed loss. On
    divergence the weights, the optimizer's state and the network's generator are those
    from before."""
    if issparse(X):
        X, _ = sparse_samples(X, net.sizes[0], net.dtype)
    require_rows(net, X, Y)
    require_order(order, len(X))  # these before the optimizer is prepared: a rejected call changes nothing
    _check_epoch(net, eta, before_step)
    _check_norms(norms)
    run = InOrder(net, X, Y, [(len(order), batch_size, l2, l1)], optimizer=optimizer, sample_weight=sample_weight,
                  dropout=dropout, update_dropout=update_dropout, team=team, **settings)
    return run.epoch(order, eta, where, before_step, norms)


def require_rows(net, X, Y):
    """ValueError unless X and Y are what the kernels read without checking: C-contiguous
    arrays of the network's dtype with its widths (X may be SparseRows) and one row each per
    sample."""
    for name, A, width in (("X", X, net.sizes[0]), ("Y", Y, net.sizes[-1])):
        if isinstance(A, SparseRows) and A.data.dtype == net.dtype and A.shape[1] == width:
            continue
        if not (isinstance(A, np.ndarray) and A.dtype == net.dtype and A.ndim == 2 and A.flags.c_contiguous
                and A.shape[1] == width):
            raise ValueError(f"{name} must be a C-contiguous {net.dtype} array of shape (n, {width})")
    if len(Y) != len(X):
        raise ValueError(f"X has {len(X)} rows but Y has {len(Y)}")


def require_order(order, n):
    """ValueError unless ``order`` is a one-dimensional numpy.intp array of row numbers in
    0..n-1."""
    if not (isinstance(order, np.ndarray) and order.dtype == np.intp and order.ndim == 1):
        raise ValueError("order must be a one-dimensional array of row numbers (numpy.intp)")
    if len(order) and (order.min() < 0 or order.max() >= n):
        raise ValueError(f"order names rows outside 0..{n - 1}")


def require_room(net, rows, X=None):
    """MemoryError unless the kernels' buffers for steps of ``rows`` samples of X fit in
    memory (at most five values per unit and row; sparse rows are read where they are, so
    the input units do not count)."""
    units = sum(net.sizes) - (net.sizes[0] if isinstance(X, SparseRows) else 0)
    require(5 * rows * units * net.dtype.itemsize, f"a step of {rows} samples (batch_size)")


def _finite(net, optimizer) -> bool:
    """Whether the weights and the optimizer's moments are finite."""
    return bool(np.isfinite(net.params).all()) and optimizer.finite()


def _undo(net, params, optimizer, moments):
    net.params[...] = params
    optimizer.restore(moments)
