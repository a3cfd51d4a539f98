"""Initial weights: the schemes ``MLP(..., init=...)`` names, each a draw of the weights of
one layer with fan_in = d^(l-1) inputs and fan_out = d^(l) units (biases start at zero).

Uniform schemes draw from U(-a, a), normal ones from N(0, sigma^2) (not truncated):
Glorot a = sqrt(6 / (fan_in + fan_out)), sigma = sqrt(2 / (fan_in + fan_out)); He a =
sqrt(6 / fan_in), sigma = sqrt(2 / fan_in); LeCun a = sqrt(3 / fan_in), sigma = sqrt(1 / fan_in).
"zeros" starts every weight at 0, which shows why the symmetry must be broken: units of a
layer that start equal get equal gradients and stay equal. "auto" is He normal for the ReLU
family, ELU and maxout, Glorot uniform for tanh, sigmoid and linear units.
"""
from __future__ import annotations

import math

import numpy as np

from . import _checks as checks


# family -> (numerator, denominator) of the variance: Glorot 2 / (fan_in + fan_out), He
# 2 / fan_in, LeCun 1 / fan_in. U(-a, a) has variance a^2 / 3.
FAMILIES = {
    "glorot": (2, lambda fan_in, fan_out: fan_in + fan_out),
    "he": (2, lambda fan_in, fan_out: fan_in),
    "lecun": (1, lambda fan_in, fan_out: fan_in),
}
NAMES = (*(f"{family}_{kind}" for family in FAMILIES for kind in ("uniform", "normal")), "zeros", "auto")
RECTIFIERS = ("relu", "leaky_relu", "elu", "maxout")


def check(init) -> str:
    return checks.choice(init, "init", NAMES)


def draw(init: str, rng, fan_in: int, fan_out: int, activation: str) -> np.ndarray:
    """The (fan_in, fan_out) weights (bias row excluded) of a layer of ``activation`` units."""
    if init == "zeros":
        return np.zeros((fan_in, fan_out))
    if init == "auto":
        init = "he_normal" if activation in RECTIFIERS else "glorot_uniform"
    family, kind = init.rsplit("_", 1)
    numerator, fan = FAMILIES[family]
    fan = fan(fan_in, fan_out)
    if kind == "uniform":
        a = math.sqrt(3 * numerator / fan)
        return rng.uniform(-a, a, size=(fan_in, fan_out))
    return rng.normal(0.0, math.sqrt(numerator / fan), size=(fan_in, fan_out))
