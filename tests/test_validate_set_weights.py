"""set_weights refuses bad weights and leaves the network's as they were."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import BACKENDS, DTYPES, FLOAT32_OVERFLOW_WARNINGS, INF, NAN, rejects, small_net

pytestmark = FLOAT32_OVERFLOW_WARNINGS


def _good_weights(net):
    return [np.full(W.shape, 0.5) for W in net.weights]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda ws: np.zeros((4, 4)), TypeError, r"weights must be a list of L arrays"),
        (lambda ws: np.stack([ws[0][:, :2], ws[0][:, :2]]), TypeError, r"weights must be a list of L arrays"),
        (lambda ws: 3, TypeError, r"weights must be a list of L arrays"),
        (lambda ws: None, TypeError, r"weights must be a list of L arrays"),
        (lambda ws: (w for w in ws), TypeError, r"weights must be a list of L arrays"),
        (lambda ws: ws[:1], ValueError, r"expected 2 weight matrices, got 1"),
        (lambda ws: ws + ws[-1:], ValueError, r"expected 2 weight matrices, got 3"),
        (lambda ws: [], ValueError, r"expected 2 weight matrices, got 0"),
        (lambda ws: [ws[0][:, :3], ws[1]], ValueError, r"W\^\(1\) has shape \(4, 3\); expected \(4, 4\)"),
        (lambda ws: [ws[0][1:], ws[1]], ValueError, r"W\^\(1\) has shape \(3, 4\); expected \(4, 4\) \(bias in row 0\)"),
        (lambda ws: [ws[0], ws[1].T], ValueError, r"W\^\(2\) has shape \(2, 5\); expected \(5, 2\)"),
        (lambda ws: [ws[0], ws[1].ravel()], ValueError, r"W\^\(2\) has shape \(10,\)"),
        (lambda ws: [ws[0], np.zeros((0, 2))], ValueError, r"W\^\(2\) has shape \(0, 2\)"),
        (lambda ws: [ws[0], 0.5], ValueError, r"W\^\(2\) has shape \(\)"),
        (lambda ws: [ws[0], np.where(np.eye(5, 2) > 0, NAN, ws[1])], ValueError, r"W\^\(2\) contains NaN or infinity"),
        (lambda ws: [np.where(np.eye(4) > 0, INF, ws[0]), ws[1]], ValueError, r"W\^\(1\) contains NaN or infinity"),
        (lambda ws: [ws[0], -np.full((5, 2), INF)], ValueError, r"W\^\(2\) contains NaN or infinity"),
        (lambda ws: [ws[0], ws[1] * np.longdouble("1e400")], ValueError, r"W\^\(2\) contains NaN or infinity"),
        (lambda ws: [ws[0].astype(complex), ws[1]], TypeError, r"W\^\(1\) must be real"),
        (lambda ws: [ws[0], ws[1].astype(object)], TypeError, r"W\^\(2\) must be numeric, got dtype object"),
        (lambda ws: [ws[0], ws[1].astype(str)], TypeError, r"W\^\(2\) must be numeric"),
        (lambda ws: [ws[0], [[0.5, 0.5]] * 4 + [[0.5]]], TypeError, r"W\^\(2\) is not an array of numbers"),
        (lambda ws: [ws[0], None], TypeError, r"W\^\(2\) must be numeric"),
        (lambda ws: "ab", TypeError, r"W\^\(1\) must be numeric"),
    ],
    ids=lambda v: None,
)
def test_set_weights_rejects_and_leaves_weights(make, exc, match, dtype):
    net = small_net("cython", dtype)
    ws = _good_weights(net)
    rejects(net, lambda: net.set_weights(make(ws)), exc, match)


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_weights_rejects_float64_overflowing_float32(backend):
    net = small_net(backend, "float32")
    ws = _good_weights(net)
    ws[1][2, 1] = 1e300
    rejects(net, lambda: net.set_weights(ws), ValueError, r"W\^\(2\) contains NaN or infinity \(or overflows float32\)")
    ws[1][2, 1] = -1e39
    rejects(net, lambda: net.set_weights(ws), ValueError, r"overflows float32")
    # the same values are fine in float64
    net64 = small_net(backend, "float64")
    net64.set_weights(ws)
    assert net64.weights[1][2, 1] == -1e39


def test_set_weights_failure_in_last_layer_keeps_first_layer():
    """The first matrix is valid and the second is not: nothing may be copied."""
    net = small_net()
    ws = _good_weights(net)
    ws[0][...] = 7.0
    ws[1][0, 0] = NAN
    rejects(net, lambda: net.set_weights(ws), ValueError, r"W\^\(2\)")
    assert not (net.weights[0] == 7.0).any()
