"""The lecture's worked example, step by step in its notation, for ``fastmlp example``.

A 3-2-1 network of ReLU units a, b (layer 1) and c (layer 2) with the lecture's weights,
x = (4, -8, 4), y = 2, the L2 loss and one SGD step with eta = 0.1. The inputs are the
lecture's; every value shown is read from the network: s, x and delta from ``MLP.trace``,
theta'(s) from the activations, and the new w_3b from the weights after ``MLP.sgd_step``.
"""
from __future__ import annotations

import numpy as np

from ..network import MLP

W1 = [[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]]  # rows: bias, w_1j, w_2j, w_3j; columns a, b
W2 = [[0.5], [0.5], [0.125]]  # bias of c, w_ac, w_bc
X = [4.0, -8.0, 4.0]
Y = 2.0
ETA = 0.1
UNITS = (("a", "b"), ("c",))


def _n(value) -> str:
    """A number as the lecture writes it: 3 rather than 3.0."""
    text = repr(float(value) + 0.0)  # + 0.0 turns -0 into 0
    return text[:-2] if text.endswith(".0") else text


def _p(value) -> str:
    """A number as an operand: negatives in parentheses."""
    text = _n(value)
    return f"({text})" if text.startswith("-") else text


def worked_example(backend=None) -> list:
    """The example's lines of text, computed by a network on ``backend``."""
    net = MLP([3, 2, 1], activation="relu", output="relu", loss="l2", backend=backend)
    net.set_weights([np.array(W1), np.array(W2)])
    t = net.trace(X, Y)
    lines = [
        f"The lecture's worked example ({net.backend.name} backend): units a, b in layer 1 and c in layer 2, all",
        "ReLU, theta(s) = max(0, s); L2 loss l = 1/2 (h(x) - y)^2; one SGD step with",
        f"eta = {_n(ETA)} on x = ({', '.join(map(_n, X))}), y = {_n(Y)}. w_0j is the bias of unit j (x_0 = 1).",
        "",
        "Forward, s_j^(l) = sum_i w_ij^(l) x_i^(l-1) and x_j^(l) = theta(s_j^(l)):",
    ]
    sources = (("0", "1", "2", "3"), ("0", *UNITS[0]))
    for l, (W, units) in enumerate(zip(net.weights, UNITS), start=1):
        inputs = np.concatenate([[1.0], t.x[l - 1]])
        for j, unit in enumerate(units):
            symbols = " + ".join(f"w_{i}{unit} x_{i}" for i in sources[l - 1])
            terms = " + ".join(f"{_p(w)}*{_p(x)}" for w, x in zip(W[:, j], inputs))
            lines.append(f"  s_{unit} = {symbols} = {terms} = {_n(t.s[l - 1][j])}")
            lines.append(f"  f_{unit} = x_{unit} = max(0, s_{unit}) = {_n(t.x[l][j])}")
    lines += [
        f"  h(x) = f_c = {_n(t.x[-1][0])}",
        "",
        f"Loss: l = 1/2 (h(x) - y)^2 = 1/2 ({_n(t.x[-1][0])} - {_p(Y)})^2 = {_n(t.loss)}",
        "",
        "Backward, delta_c = (h(x) - y) theta'(s_c) and delta_i = theta'(s_i) sum_j w_ij delta_j:",
    ]
    relu = net.activations[0]
    prime = [[relu.theta_prime(s, x) for s, x in zip(t.s[l], t.x[l + 1])] for l in range(net.L)]
    delta_c = t.delta[1][0]
    lines.append(f"  delta_c = (h(x) - y) theta'(s_c) = ({_n(t.x[-1][0])} - {_n(Y)}) * {_p(prime[1][0])} = {_n(delta_c)}")
    W = net.weights[1]
    for j, unit in enumerate(UNITS[0]):
        lines.append(f"  delta_{unit} = theta'(s_{unit}) w_{unit}c delta_c = {_p(prime[0][j])} * {_p(W[j + 1, 0])} "
                     f"* {_p(delta_c)} = {_n(t.delta[0][j])}")
    w_3b, x_3, delta_b = net.weights[0][3, 1], t.x[0][2], t.delta[0][1]
    net.sgd_step(X, Y, eta=ETA)
    lines += [
        "",
        "Gradient and update of w_3b (the weight from input 3 to unit b):",
        f"  dl/dw_3b = x_3 delta_b = {_p(x_3)} * {_p(delta_b)} = {_n(t.grad[0][3, 1])}",
        f"  w_3b <- w_3b - eta x_3 delta_b = {_p(w_3b)} - {_p(ETA)} * {_p(x_3)} * {_p(delta_b)} = "
        f"{_n(net.weights[0][3, 1])}",
    ]
    return lines
