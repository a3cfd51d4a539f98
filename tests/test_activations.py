"""Activations: fastmlp.activation's checks of names and parameters, hand-built ones, and
forward-only theta (sign)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import fastmlp as fm
from conftest import BACKENDS, FLOAT32_OVERFLOW_WARNINGS, INF, NAN, rejects, X4, Y4

pytestmark = FLOAT32_OVERFLOW_WARNINGS


@pytest.mark.parametrize(
    "args, match",
    [
        # fm.Activation is public; one built by hand is checked like activation()'s.
        (("bogus",), r"bogus"),
        (("leaky_relu", (NAN, 0.0, 0.0, 0.0)), r"alpha|finite|NaN"),
        (("elu", (-1.0, 0.0, 0.0, 0.0)), r"alpha"),
        (("leaky_relu", (0.1,)), r"param"),
        (("leaky_relu", "abcd"), r"param"),
    ],
    ids=["unknown-name", "nan-param", "negative-elu-alpha", "short-params", "string-params"],
)
def test_hand_built_invalid_activation_is_rejected(args, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fm.MLP([3, 4, 1], activation=fm.Activation(*args))


@pytest.mark.parametrize(
    "name, params, exc, match",
    [
        ("relux", {}, ValueError, r"unknown activation 'relux'"),
        ("", {}, ValueError, r"unknown activation ''"),
        (3, {}, TypeError, r"activation is a name or an Activation, not int"),
        (None, {}, TypeError, r"activation is a name or an Activation, not NoneType"),
        (["relu"], {}, TypeError, r"activation is a name or an Activation, not list"),
        ("relu", {"alpha": 0.1}, TypeError, r"relu takes no parameter 'alpha' \(parameters: none\)"),
        ("elu", {"beta": 1.0}, TypeError, r"elu takes no parameter 'beta' \(parameters: alpha\)"),
        ("maxout", {"a3": 1.0}, TypeError, r"maxout takes no parameter 'a3'"),
        ("leaky_relu", {"alpha": "0.1"}, TypeError, r"leaky_relu parameter alpha must be a finite number"),
        ("leaky_relu", {"alpha": True}, TypeError, r"leaky_relu parameter alpha must be a finite number"),
        ("leaky_relu", {"alpha": None}, TypeError, r"leaky_relu parameter alpha must be a finite number"),
        ("leaky_relu", {"alpha": 0.1 + 0j}, TypeError, r"leaky_relu parameter alpha must be a finite number"),
        ("leaky_relu", {"alpha": [0.1]}, TypeError, r"leaky_relu parameter alpha must be a finite number"),
        ("leaky_relu", {"alpha": NAN}, ValueError, r"leaky_relu parameter alpha must be a finite number"),
        ("elu", {"alpha": INF}, ValueError, r"elu parameter alpha must be a finite number"),
        ("maxout", {"b2": -INF}, ValueError, r"maxout parameter b2 must be a finite number"),
        ("elu", {"alpha": -1.0}, ValueError, r"elu alpha must be >= 0"),
        ("leaky_relu", {"alpha": 10**400}, ValueError, r"alpha"),  # an int too large for a float
    ],
)
def test_activation_rejects(name, params, exc, match):
    with pytest.raises(exc, match=match):
        fm.activation(name, **params)


def test_activation_rejects_parameters_with_an_activation_object():
    with pytest.raises(TypeError, match=r"parameters go with a name"):
        fm.activation(fm.activation("elu"), alpha=2.0)


@pytest.mark.parametrize(
    "value", [0.25, 1, np.float64(0.25), np.float32(0.25), np.int64(1), np.int8(1), Fraction(1, 4)],
    ids=lambda v: type(v).__name__,
)
def test_activation_accepts_any_real_parameter(value):
    got = fm.activation("leaky_relu", alpha=value)
    assert got == fm.activation("leaky_relu", alpha=float(value))
    assert all(type(p) is float for p in got.params)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("where", ["hidden", "output", "both"])
def test_sign_forward_only(backend, where):
    kwargs = {"hidden": dict(activation="sign"), "output": dict(output="sign"), "both": dict(activation="sign", output="sign")}
    net = fm.MLP([3, 4, 2], backend=backend, seed=0, **kwargs[where])
    assert net.forward(X4).shape == (4, 2)
    match = r"needs theta'; sign has no derivative"
    rejects(net, lambda: net.sgd_step(X4, Y4, 0.1), ValueError, r"sgd_step " + match)
    rejects(net, lambda: net.fit(X4, Y4, epochs=1), ValueError, r"fit " + match)
    rejects(net, lambda: net.trace(X4[0], Y4[0]), ValueError, r"trace " + match)
    rejects(net, lambda: net.gradient(X4, Y4), ValueError, r"gradient " + match)
