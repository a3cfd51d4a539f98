"""Optimizers beside the lecture's plain step: momentum, Nesterov momentum and Adam.

Their state (the moments m, v, flat like params, and Adam's step count t) lives on the
network between fits, so that a warm start continues where it stopped; drawing fresh
weights clears it. Each step takes the batch's mean gradient (per sample: the sample's
gradient), adds the L2 term, applies the rule (see fastmlp._core.rule_row or
fastmlp.reference.optimizer_update) and then L1's soft threshold. Per sample the kernels
make the step inside backpropagation's pass over each layer's weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import backends
from .. import _checks as checks

KINDS = ("sgd", "momentum", "nesterov", "adam")


@dataclass
class Optimizer:
    kind: str
    momentum: float
    beta1: float
    beta2: float
    epsilon: float
    m: np.ndarray = field(repr=False)
    v: np.ndarray = field(repr=False)
    t: int = 0

    def __setstate__(self, state: dict) -> None:
        """A copied or unpickled optimizer keeps its moments on the kernels' alignment."""
        self.__dict__.update(state, m=backends.aligned(state["m"]), v=backends.aligned(state["v"]))

    def settings(self) -> tuple:
        return (self.kind, self.momentum, self.beta1, self.beta2, self.epsilon, self.m.dtype, self.m.size)

    # The count t goes up by the steps a kernel call will make before the call, and takes
    # the call's own count after it. A Ctrl-C during a call of the compiled kernels is
    # raised as the call returns, before its count could be stored, and the moments and
    # weights then hold every step of the call, as t does; an exception from inside the
    # call (the reference kernels are interrupted anywhere, and store their state at the
    # end) puts t back. Nothing may run Python code between setting t and the call.

    def epoch(self, net, X, Y, order, batch_size, eta, l2, l1, **options):
        """SGD over X[order] with this optimizer (options: the kernels' keywords, see
        fastmlp._stepping); returns (summed loss, samples completed)."""
        t = self.t
        self.t = t - (-len(order) // batch_size)
        try:
            loss, done, self.t = net.backend.optimizer_epoch(
                net._arch, net.params, X, Y, order, batch_size, self.kind, eta, l2, l1,
                self.momentum, self.beta1, self.beta2, self.epsilon, self.m, self.v, t, **options,
            )
        except BaseException as exc:
            if _raised_inside(exc):
                self.t = t
            raise
        return loss, done

    def step(self, net, grad, rows, eta, l2, l1, **options):
        """One step from grad, the summed gradient of ``rows`` samples (how fit makes a step
        too large for one kernel call; see fastmlp.training._large_steps)."""
        t = self.t
        self.t = t + 1
        try:
            self.t = net.backend.gradient_step(
                net._arch, net.params, grad, rows, self.kind, eta, l2, l1,
                self.momentum, self.beta1, self.beta2, self.epsilon, self.m, self.v, t, **options,
            )
        except BaseException as exc:
            if _raised_inside(exc):
                self.t = t
            raise

    def snapshot(self):
        return self.m.copy(), self.v.copy(), self.t

    def restore(self, snapshot):
        m, v, self.t = snapshot
        self.m[...], self.v[...] = m, v


def _raised_inside(exc) -> bool:
    """Whether ``exc``, caught where a call was made, came from inside the call, rather than
    from the frame that made it (where a Ctrl-C lands as a compiled call returns)."""
    return exc.__traceback__.tb_next is not None


def prepare(net, kind, momentum=0.9, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """The optimizer fit should use: None for the plain step, else the network's own
    (kept if its settings are unchanged, so its moments carry over) or a fresh one."""
    kind = checks.choice(kind, "optimizer", KINDS)
    settings = (
        checks.unit_interval(momentum, "momentum"), checks.unit_interval(beta1, "beta1"),
        checks.unit_interval(beta2, "beta2"),
        checks.real_number(epsilon, "epsilon", lowest=0.0),
    )
    if settings[3] == 0 and kind == "adam":
        raise ValueError("epsilon must be > 0 for adam")
    if kind == "sgd":
        return None
    current = net.optimizer
    if current is not None and current.settings() == (kind, *settings, net.dtype, net.params.size):
        return current
    m, v = (backends.aligned(np.zeros_like(net.params)) for _ in range(2))
    return Optimizer(kind, *settings, m=m, v=v)
