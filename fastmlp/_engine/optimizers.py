"""The optimizers: the lecture's plain step (SGD) and momentum, Nesterov momentum and Adam.

Each optimizer is a class holding its hyperparameters (declared in ``hyperparameters``,
name -> default) and its state: the moments m, v (flat like params) and Adam's step count
t. The state lives on the network (``net.optimizer``) between fits, so that a warm start
continues where it stopped; drawing fresh weights clears it. Each step takes the batch's
mean gradient (per sample: the sample's gradient), adds the L2 term, applies the rule (see
the kernels' optimizer family, or fastmlp.reference.optimizer_update) and then L1's soft
threshold. Per sample the kernels make the step inside backpropagation's pass over each
layer's weights.

A new optimizer is a subclass here with its ``kind``, ``hyperparameters`` and
``kernel_settings``, listed in OPTIMIZERS, and its rule in the kernels and the reference.
A new hyperparameter is an entry in its class's ``hyperparameters`` and its kernel's.
"""
from __future__ import annotations

import functools
import inspect
from typing import ClassVar

import numpy as np

from . import backends
from .. import _checks as checks


class Optimizer:
    """What every optimizer does: check and hold its hyperparameters, keep its state, and
    run epochs and steps on the kernels (which read ``kind`` to pick the rule)."""

    kind: ClassVar[str]
    hyperparameters: ClassVar[dict] = {}  # name -> default

    def __init__(self, **settings):
        unknown = set(settings) - set(self.hyperparameters)
        if unknown:
            raise TypeError(f"{self.kind} takes no hyperparameter {sorted(unknown)[0]!r} "
                            f"(it takes: {', '.join(self.hyperparameters) or 'none'})")
        for key, default in self.hyperparameters.items():
            setattr(self, key, self.check(key, settings.get(key, default)))
        self.m = self.v = None
        self.t = 0

    @classmethod
    def check(cls, key, value) -> float:
        """A valid value of hyperparameter ``key`` (a rate in [0, 1) unless a class says
        otherwise)."""
        return checks.unit_interval(value, key)

    def settings(self) -> dict:
        return {key: getattr(self, key) for key in self.hyperparameters}

    def kernel_settings(self) -> tuple:
        """The kernels' (mu, beta1, beta2, epsilon): this optimizer's, 0 where unused."""
        return 0.0, 0.0, 0.0, 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.settings().items())}, t={self.t})"

    # -- state --------------------------------------------------------------------------

    def start(self, params) -> Optimizer:
        """This optimizer with fresh (zero) moments laid out like ``params``."""
        self.m, self.v = (backends.aligned(np.zeros_like(params)) for _ in range(2))
        self.t = 0
        return self

    def matches(self, other: Optimizer, params) -> bool:
        """Whether ``other``'s state can continue as this one's: same class and settings,
        moments of params' dtype and size."""
        return (type(other) is type(self) and other.settings() == self.settings() and other.m is not None
                and other.m.dtype == params.dtype and other.m.size == params.size)

    def __setstate__(self, state: dict) -> None:
        """A copied or unpickled optimizer keeps its moments on the kernels' alignment."""
        self.__dict__.update(state)
        if state.get("m") is not None:
            self.m, self.v = backends.aligned(state["m"]), backends.aligned(state["v"])

    def snapshot(self):
        return self.m.copy(), self.v.copy(), self.t

    def restore(self, snapshot):
        m, v, self.t = snapshot
        self.m[...], self.v[...] = m, v

    # -- the kernels --------------------------------------------------------------------
    # The count t goes up by the steps a kernel call will make before the call, and takes
    # the call's own count after it. A Ctrl-C during a call of the compiled kernels is
    # raised as the call returns, before its count could be stored, and the moments and
    # weights then hold every step of the call, as t does; an exception from inside the
    # call (the reference kernels are interrupted anywhere, and store their state at the
    # end) puts t back. Nothing may run Python code between setting t and the call.

    def epoch(self, backend, arch, params, X, Y, order, batch_size, eta, l2, l1, **options):
        """SGD over X[order] with this optimizer (options: the kernels' keywords, see
        fastmlp._engine.weights_dropout); returns (summed loss, samples completed)."""
        t = self.t
        self.t = t - (-len(order) // batch_size)
        try:
            loss, done, self.t = backend.optimizer_epoch(
                arch, params, X, Y, order, batch_size, self.kind, eta, l2, l1, *self.kernel_settings(),
                self.m, self.v, t, **options,
            )
        except BaseException as exc:
            if _raised_inside(exc):
                self.t = t
            raise
        return loss, done

    def step(self, backend, arch, params, grad, rows, eta, l2, l1, **options):
        """One step from grad, the summed gradient of ``rows`` samples (how a step too large
        for one kernel call is made; see fastmlp._engine.feeding)."""
        t = self.t
        self.t = t + 1
        try:
            self.t = backend.gradient_step(
                arch, params, grad, rows, self.kind, eta, l2, l1, *self.kernel_settings(), self.m, self.v, t,
                **options,
            )
        except BaseException as exc:
            if _raised_inside(exc):
                self.t = t
            raise


class SGD(Optimizer):
    """the lecture's w <- w - eta g.

    It keeps no state: a network that steps by it has ``optimizer`` None."""

    kind = "sgd"

    def epoch(self, backend, arch, params, X, Y, order, batch_size, eta, l2, l1, **options):
        if batch_size == 1:
            return backend.sgd_epoch(arch, params, X, Y, order, eta, l2, l1, **options)
        return backend.minibatch_epoch(arch, params, X, Y, order, batch_size, eta, l2, l1, **options)

    def step(self, backend, arch, params, grad, rows, eta, l2, l1, **options):
        backend.gradient_step(arch, params, grad, rows, self.kind, eta, l2, l1, **options)

    def snapshot(self):
        return None

    def restore(self, snapshot):
        pass


class Momentum(Optimizer):
    """m <- momentum m - eta g, w <- w + m."""

    kind = "momentum"
    hyperparameters = {"momentum": 0.9}

    def kernel_settings(self) -> tuple:
        return self.momentum, 0.0, 0.0, 0.0


class Nesterov(Momentum):
    """w <- w + momentum m - eta g, with m as for "momentum"."""

    kind = "nesterov"


class Adam(Optimizer):
    """w <- w - eta m^ / (sqrt(v^) + epsilon), m^ and v^ the means of g and g^2.

    m and v are running means of g and g^2 with the rates beta1 and beta2, m^ and v^ their
    bias-corrected values at step t."""

    kind = "adam"
    hyperparameters = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}

    @classmethod
    def check(cls, key, value) -> float:
        if key != "epsilon":
            return super().check(key, value)
        epsilon = checks.real_number(value, "epsilon", lowest=0.0)
        if epsilon == 0:
            raise ValueError("epsilon must be > 0 for adam")
        return epsilon

    def kernel_settings(self) -> tuple:
        return 0.0, self.beta1, self.beta2, self.epsilon


# The registry: every optimizer by name (fit's ``optimizer``, the command line's choices,
# the model files' kinds).
OPTIMIZERS = {cls.kind: cls for cls in (SGD, Momentum, Nesterov, Adam)}
KINDS = tuple(OPTIMIZERS)


def settings_of_all() -> dict:
    """Every optimizer's hyperparameters with their defaults, name -> default (fit's and
    sgd_step's keywords; a name two optimizers share has one default)."""
    merged = {}
    for cls in OPTIMIZERS.values():
        for key, default in cls.hyperparameters.items():
            assert merged.setdefault(key, default) == default, f"two defaults for {key}"
    return merged


def check_all(settings: dict) -> dict:
    """fit's optimizer keywords checked, each by the optimizers that take it, whichever
    optimizer is chosen (a bad value is refused even if unused)."""
    for key, value in settings.items():
        for cls in OPTIMIZERS.values():
            if key in cls.hyperparameters:
                cls.check(key, value)
    return settings


def keywords(function):
    """``function(..., optimizer, **settings)`` shown and checked with every optimizer's
    hyperparameters as keyword-only options after ``optimizer``: help() lists them with their
    defaults, a misspelt one raises TypeError naming it, and ``{optimizers}`` in the
    docstring becomes one line per optimizer. A new optimizer or hyperparameter shows up in
    fit, partial_fit and sgd_step without touching them."""
    signature = inspect.signature(function)
    defaults = settings_of_all()
    options = [inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=value) for key, value in defaults.items()]
    parameters = []
    for parameter in signature.parameters.values():
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD:
            parameters.append(parameter)
        if parameter.name == "optimizer":
            parameters += options

    @functools.wraps(function)
    def checked(*args, **kwargs):
        for key in kwargs:
            if key not in signature.parameters and key not in defaults:
                raise TypeError(f"{function.__name__}() got an unexpected keyword argument {key!r}")
        return function(*args, **kwargs)

    checked.__signature__ = signature.replace(parameters=parameters)
    lines = []
    for cls in OPTIMIZERS.values():
        settings = ", ".join(f"{key}={value!r}" for key, value in cls.hyperparameters.items())
        lines.append(f'        "{cls.kind}"' + (f" ({settings})" if settings else "") + f": {cls.__doc__.split(chr(10))[0]}")
    checked.__doc__ = function.__doc__.replace("{optimizers}", "\n".join(lines))
    return checked


def _raised_inside(exc) -> bool:
    """Whether ``exc``, caught where a call was made, came from inside the call, rather than
    from the frame that made it (where a Ctrl-C lands as a compiled call returns)."""
    return exc.__traceback__.tb_next is not None


def prepare(net, kind, **settings):
    """The optimizer a fit or step should use: None for the plain step (SGD keeps no state),
    else the network's own (kept if its class and settings are unchanged, so its moments
    carry over) or a fresh one. ``settings``: fit's optimizer keywords, all checked."""
    kind = checks.choice(kind, "optimizer", KINDS)
    check_all(settings)
    cls = OPTIMIZERS[kind]
    if cls is SGD:
        return None
    wanted = cls(**{key: settings[key] for key in cls.hyperparameters if key in settings})
    current = net.optimizer
    if current is not None and wanted.matches(current, net.params):
        return current
    return wanted.start(net.params)


PLAIN = SGD()  # the step of a network whose optimizer is None
