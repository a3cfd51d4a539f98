"""The nonlinearities theta of the lecture, registered by name.

Each activation carries its parameters, Python versions of theta and theta' (the latter
written in terms of s and of the output x = theta(s), as the lecture does for tanh) and
its ONNX operator. The pure-Python reference and the plotting helpers use these
functions; the compiled kernels implement the same formulas, which they know by these
names (ARCHITECTURE.md says where). The command line's and the estimators' choices and
the ONNX export come from ``KINDS``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from . import _checks as checks

def _sigmoid(s: float) -> float:
    # e^s / (1 + e^s), evaluated so that neither branch overflows.
    if s >= 0:
        return 1.0 / (1.0 + math.exp(-s))
    e = math.exp(s)
    return e / (1.0 + e)


def _exp(s: float) -> float:
    # e^s, infinite where it overflows (as the kernels' exp), not an OverflowError.
    return math.exp(s) if s < 709.8 else math.inf


@dataclass(frozen=True)
class Kind:
    """What an activation is: its parameters with defaults, theta and theta', whether it can
    be trained and be a hidden layer's, and its ONNX operator (when it is one operator
    without parameters; fastmlp.onnx builds the others).

    Attributes
    ----------
    name : str
        The name ``activation(name)`` takes.
    defaults : dict
        The parameters by name with their defaults, e.g. ``{"alpha": 0.01}``.
    theta : callable or None
        theta(s, params), one unit's output x from its input s (None for softmax, which
        acts on the whole layer).
    theta_prime : callable or None
        theta'(s, x, params), from the input s and the output x (None for sign, which is
        not trained, and softmax).
    trainable : bool, default True
    hidden : bool, default True
        Whether a hidden layer may use it (softmax is an output's only).
    onnx : str or None
        The ONNX operator, when it is one without parameters.

    Examples
    --------
    Each registered kind is ``Activation(name).kind``:

    >>> import fastmlp as fm
    >>> kind = fm.activation("leaky_relu").kind
    >>> kind.name, kind.defaults, kind.trainable, kind.hidden
    ('leaky_relu', {'alpha': 0.01}, True, True)
    >>> fm.activation("sign").kind.trainable
    False
    """

    name: str
    defaults: dict = field(default_factory=dict)
    theta: Callable | None = None
    theta_prime: Callable | None = None
    trainable: bool = True
    hidden: bool = True
    onnx: str | None = None


KINDS = {
    k.name: k
    for k in [
        Kind("identity", {}, lambda s, p: s, lambda s, x, p: 1.0, onnx="Identity"),
        Kind(
            "sign",
            {},
            lambda s, p: 1.0 if s > 0 else (-1.0 if s < 0 else 0.0),
            None,
            trainable=False,
            onnx="Sign",
        ),
        Kind("sigmoid", {}, lambda s, p: _sigmoid(s), lambda s, x, p: x * (1.0 - x), onnx="Sigmoid"),
        Kind("tanh", {}, lambda s, p: math.tanh(s), lambda s, x, p: 1.0 - x * x, onnx="Tanh"),
        Kind("relu", {}, lambda s, p: max(0.0, s), lambda s, x, p: 1.0 if s > 0 else 0.0, onnx="Relu"),
        Kind(
            "leaky_relu",
            {"alpha": 0.01},
            lambda s, p: s if s > 0 else p[0] * s,
            lambda s, x, p: 1.0 if s > 0 else p[0],
        ),
        Kind(
            "elu",
            {"alpha": 1.0},
            lambda s, p: s if s > 0 else p[0] * math.expm1(s),
            lambda s, x, p: 1.0 if s > 0 else x + p[0],
        ),
        Kind(
            "maxout",
            {"a1": 1.0, "b1": 0.0, "a2": 0.0, "b2": 0.0},
            lambda s, p: max(p[0] * s + p[1], p[2] * s + p[3]),
            lambda s, x, p: p[0] if p[0] * s + p[1] >= p[2] * s + p[3] else p[2],
        ),
        # Softmax acts on the whole output layer; see fastmlp.reference.softmax.
        Kind("softmax", {}, None, None, hidden=False),
        # The inverse of the log link: the Poisson loss's output, theta' = theta.
        Kind("exp", {}, lambda s, p: _exp(s), lambda s, x, p: x, hidden=False, onnx="Exp"),
    ]
}


@dataclass(frozen=True)
class Activation:
    """One layer's theta: a registered kind with its parameter values.

    ``params`` is always four floats, as the kernels read them: (alpha, 0, 0, 0) for
    leaky_relu and elu, (a1, b1, a2, b2) for maxout's max{a1 s + b1, a2 s + b2}. Build one
    with ``activation(name, **params)``; a hand-built one is checked the same way.

    Parameters
    ----------
    name : str
        A registered kind.
    params : tuple of 4 float, default (0.0, 0.0, 0.0, 0.0)

    Raises
    ------
    ValueError
        An unknown name, not four finite numbers, or a negative elu alpha.

    Examples
    --------
    >>> import fastmlp as fm
    >>> fm.Activation("leaky_relu", (0.1, 0.0, 0.0, 0.0)).theta(-2.0)
    -0.2
    """

    name: str
    params: tuple = (0.0, 0.0, 0.0, 0.0)

    def __post_init__(self):
        if not isinstance(self.name, str) or self.name not in KINDS:
            raise ValueError(f"unknown activation {self.name!r}; known: {', '.join(KINDS)}")
        if isinstance(self.params, (str, bytes)) or not hasattr(self.params, "__len__") or len(self.params) != 4:
            raise ValueError(f"{self.name} params must be four numbers (padded with zeros), got {self.params!r}")
        values = tuple(checks.real_number(v, f"{self.name} parameter") for v in self.params)
        if self.name == "elu" and values[0] < 0:
            raise ValueError(f"elu alpha must be >= 0, got {values[0]!r}")
        object.__setattr__(self, "params", values)

    @property
    def kind(self) -> Kind:
        return KINDS[self.name]

    def theta(self, s: float) -> float:
        """theta(s) for one unit (not defined for softmax, which needs the whole layer).

        Parameters
        ----------
        s : float
            The unit's weighted sum.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            For softmax.

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.activation("relu").theta(-1.0), fm.activation("relu").theta(2.0)
        (0.0, 2.0)
        """
        if self.kind.theta is None:
            raise ValueError(f"{self.name} acts on a whole layer, not on one unit")
        return self.kind.theta(s, self.params)

    def theta_prime(self, s: float, x: float) -> float:
        """theta'(s), given s and x = theta(s) (the backpropagation uses x where it can).

        Parameters
        ----------
        s, x : float

        Returns
        -------
        float

        Raises
        ------
        ValueError
            For an activation with no derivative to train with (sign).

        Examples
        --------
        >>> import fastmlp as fm
        >>> sigmoid = fm.activation("sigmoid")
        >>> sigmoid.theta_prime(0.0, sigmoid.theta(0.0))   # x (1 - x)
        0.25
        """
        if self.kind.theta_prime is None:
            raise ValueError(f"{self.name} has no derivative to train with")
        return self.kind.theta_prime(s, x, self.params)

    def __repr__(self) -> str:
        named = dict(zip(self.kind.defaults, self.params))
        inner = "".join(f", {k}={v!r}" for k, v in named.items())
        return f"activation({self.name!r}{inner})"


def activation(name, **params) -> Activation:
    """Build an activation by name with its parameters, e.g. ``activation("elu", alpha=0.5)``
    or ``activation("maxout", a1=1, b1=0, a2=-1, b2=0)``.

    Parameters
    ----------
    name : str or Activation
        A registered name ("tanh", "sigmoid", "relu", "elu", ...); an Activation is
        returned as it is.
    **params : float
        The kind's parameters; those not given take the kind's defaults.

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        For an unknown name, or a parameter that is not a finite number.
    TypeError
        For an unknown parameter, or parameters given with an Activation.

    Examples
    --------
    >>> import fastmlp as fm
    >>> elu = fm.activation("elu", alpha=0.5)
    >>> elu.name, elu.params[0]
    ('elu', 0.5)
    >>> round(elu.theta(-1.0), 6)
    -0.31606
    """
    if isinstance(name, Activation):
        if params:
            raise TypeError("parameters go with a name, not with an Activation")
        return name
    if not isinstance(name, str):
        raise TypeError(f"an activation is a name or an Activation, not {type(name).__name__}")
    kind = KINDS.get(name)
    if kind is None:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(KINDS)}")
    unknown = set(params) - set(kind.defaults)
    if unknown:
        expected = ", ".join(kind.defaults) or "none"
        raise TypeError(f"{name} takes no parameter {sorted(unknown)[0]!r} (parameters: {expected})")
    values = [checks.real_number(params.get(key, default), f"{name} parameter {key}") for key, default in kind.defaults.items()]
    return Activation(name, tuple(values + [0.0] * (4 - len(values))))
