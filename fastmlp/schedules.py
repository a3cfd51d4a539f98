"""Learning-rate schedules: eta as a function of the epoch, for ``fit(..., eta=schedule)``.

A schedule is any callable ``schedule(t, history) -> eta``: t = 0, 1, ... is the index of
the epoch about to run and ``history`` the fit's History of the t epochs already finished
(``history.loss[-1]`` the last mean training loss, ``history.eta`` the rates used so far).
fit calls it once per epoch and rejects a value that is not a finite number >= 0, naming
the epoch. The schedules below are pure functions of (t, history), so one object can serve
any number of fits; each fit starts its own history, and with it the schedule, at t = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks as checks


def _rate(eta) -> float:
    return checks.real_number(eta, "eta", lowest=0.0)


@dataclass
class Constant:
    """eta_t = eta. Called as ``schedule(t, history)`` with the epoch t from 0.

    Parameters
    ----------
    eta : float
        The rate, a finite number >= 0.

    Raises
    ------
    ValueError
        A rate that is not a finite number >= 0.

    Examples
    --------
    >>> from fastmlp import schedules
    >>> schedules.constant(0.1)(5, None)
    0.1
    """

    eta: float

    def __post_init__(self):
        self.eta = _rate(self.eta)

    def __call__(self, t, history) -> float:
        return self.eta


@dataclass
class InverseScaling:
    """eta_t = eta / (t + 1)^power (scikit-learn's 'invscaling', counted in epochs).

    Parameters
    ----------
    eta : float
        The first epoch's rate, a finite number >= 0.
    power : float, default 0.5
        >= 0.

    Raises
    ------
    ValueError
        A rate or power that is not a finite number >= 0.

    Examples
    --------
    >>> from fastmlp import schedules
    >>> schedules.inverse_scaling(0.1, power=0.5)(3, None)
    0.05
    """

    eta: float
    power: float = 0.5

    def __post_init__(self):
        self.eta = _rate(self.eta)
        self.power = checks.real_number(self.power, "power", lowest=0.0)

    def __call__(self, t, history) -> float:
        return self.eta / (t + 1) ** self.power


@dataclass
class StepDecay:
    """eta_t = eta * factor^(t // every): the rate drops by ``factor`` every ``every`` epochs.

    Parameters
    ----------
    eta : float
        The first rate, a finite number >= 0.
    factor : float, default 0.5
        In (0, 1].
    every : int, default 10
        Epochs per step, >= 1.

    Raises
    ------
    ValueError
        A rate that is not a finite number >= 0, a factor outside (0, 1], or ``every`` < 1.

    Examples
    --------
    >>> from fastmlp import schedules
    >>> [schedules.step_decay(1.0, factor=0.5, every=2)(t, None) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    eta: float
    factor: float = 0.5
    every: int = 10

    def __post_init__(self):
        self.eta = _rate(self.eta)
        self.factor = checks.real_number(self.factor, "factor", lowest=0.0)
        if not 0 < self.factor <= 1:
            raise ValueError(f"factor must lie in (0, 1], got {self.factor!r}")
        self.every = checks.positive_int(self.every, "every")

    def __call__(self, t, history) -> float:
        return self.eta * self.factor ** (t // self.every)


@dataclass
class Adaptive:
    """scikit-learn's 'adaptive': start at ``eta``; once the training loss of ``patience``
    epochs in a row run at the current rate has failed to improve on the best loss before
    each of them by ``tol``, divide the rate by ``factor`` (and count afresh at the new rate).
    It reads the rates and losses so far from ``history`` (fit's History).

    Parameters
    ----------
    eta : float
        The first rate, a finite number >= 0.
    factor : float, default 5.0
        > 1.
    patience : int, default 2
        >= 1.
    tol : float, default 1e-4
        >= 0.

    Raises
    ------
    ValueError
        A rate that is not a finite number >= 0, a factor <= 1, patience < 1 or tol < 0.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from fastmlp import schedules
    >>> schedule = schedules.adaptive(0.5, patience=2)
    >>> schedule(3, SimpleNamespace(eta=[0.5, 0.5, 0.5], loss=[1.0, 1.0, 1.0]))   # two epochs stalled
    0.1
    """

    eta: float
    factor: float = 5.0
    patience: int = 2
    tol: float = 1e-4

    def __post_init__(self):
        self.eta = _rate(self.eta)
        self.factor = checks.real_number(self.factor, "factor")
        if not self.factor > 1:
            raise ValueError(f"factor must be > 1 (the rate is divided by it), got {self.factor!r}")
        self.patience = checks.positive_int(self.patience, "patience")
        self.tol = checks.real_number(self.tol, "tol", lowest=0.0)

    def __call__(self, t, history) -> float:
        if not history.eta:
            return self.eta
        eta = history.eta[-1]
        first = len(history.loss) - self.patience
        if first < 1:  # the first epoch always improves on "no loss yet"
            return eta
        loss = np.asarray(history.loss, dtype=np.float64)
        best_before = np.minimum.accumulate(loss)  # best_before[i - 1]: the best of epochs 0..i-1
        stalled = all(
            history.eta[i] == eta and loss[i] >= best_before[i - 1] - self.tol for i in range(first, len(loss))
        )
        return eta / self.factor if stalled else eta


constant, inverse_scaling, step_decay, adaptive = Constant, InverseScaling, StepDecay, Adaptive

__all__ = ["constant", "inverse_scaling", "step_decay", "adaptive", "Constant", "InverseScaling", "StepDecay",
           "Adaptive"]
