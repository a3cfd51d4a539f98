"""trace and gradient refuse bad samples and never change the weights."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import (
    assert_unchanged,
    BACKENDS,
    FLOAT32_OVERFLOW_WARNINGS,
    INF,
    NAN,
    rejects,
    small_net,
    snapshot,
    X4,
    Y4,
)

pytestmark = FLOAT32_OVERFLOW_WARNINGS


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "x, y, exc, match",
    [
        (X4, Y4, ValueError, r"trace takes one sample of shape \(3,\), got shape \(4, 3\)"),
        (X4[:1], Y4[:1], ValueError, r"trace takes one sample of shape \(3,\), got shape \(1, 3\)"),
        (1.0, Y4[0], ValueError, r"trace takes one sample"),
        ([1.0, 2.0], Y4[0], ValueError, r"X has shape \(2,\)"),
        ([], Y4[0], ValueError, r"X has shape \(0,\)"),
        ([1.0, NAN, 2.0], Y4[0], ValueError, r"X contains NaN or infinity"),
        ([1.0, 1j, 2.0], Y4[0], TypeError, r"X must be real"),
        (["1", "2", "3"], Y4[0], TypeError, r"X must be numeric"),
        (X4[0], [1.0], ValueError, r"y has shape \(1, 1\); expected \(1, 2\)"),
        (X4[0], [1.0, 2.0, 3.0], ValueError, r"y has shape \(1, 3\); expected \(1, 2\)"),
        (X4[0], Y4[:2], ValueError, r"y has shape \(2, 2\); expected \(1, 2\)"),
        (X4[0], [1.0, INF], ValueError, r"y contains NaN or infinity"),
        (X4[0], [NAN, 0.0], ValueError, r"y contains NaN or infinity"),
        (X4[0], ["a", "b"], TypeError, r"y must be numeric"),
        (X4[0], [1j, 0], TypeError, r"y must be real"),
        (X4[0], None, TypeError, r"y must be numeric"),
        (X4[0], [], ValueError, r"y has shape \(1, 0\)"),
    ],
)
def test_trace_rejects(x, y, exc, match, backend):
    net = small_net(backend)
    rejects(net, lambda: net.trace(x, y), exc, match)


@pytest.mark.parametrize(
    "x, y, match",
    [([[1.0, 2.0], [3.0]], Y4[0], r"\bx\b|\bX\b"), (X4[0], [[1.0], [2.0, 3.0]], r"\by\b")],
    ids=["ragged-x", "ragged-y"],
)
def test_trace_and_single_sample_ragged_data_named_in_message(x, y, match):
    """One sample goes through np.ndim(x) / np.ndim(y) before validation; ragged data must
    still give a message that says which argument is wrong."""
    net = small_net()
    rejects(net, lambda: net.trace(x, y), (ValueError, TypeError), match)
    rejects(net, lambda: net.sgd_step(x, y, 0.1), (ValueError, TypeError), match)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "X, y, exc, match",
    [
        (X4, Y4[:3], ValueError, r"y has shape \(3, 2\); expected \(4, 2\)"),
        (X4, Y4[:, 0], ValueError, r"y has shape \(4,\); expected \(4, 2\) for 4 samples and 2 outputs"),
        (X4, Y4.T, ValueError, r"y has shape \(2, 4\)"),
        (X4, Y4[None], ValueError, r"y has shape \(1, 4, 2\)"),
        (X4, 1.0, ValueError, r"y has shape \(\)"),
        (X4[:, :2], Y4, ValueError, r"X has shape \(4, 2\)"),
        (np.zeros((0, 3)), np.zeros((0, 2)), ValueError, r"X is empty"),
        (X4, np.where(Y4 > 2, NAN, Y4), ValueError, r"y contains NaN or infinity"),
        (X4, Y4 * 1j, TypeError, r"y must be real"),
        (X4.astype(object), Y4, TypeError, r"X must be numeric, got dtype object"),
    ],
)
def test_gradient_rejects(X, y, exc, match, backend):
    net = small_net(backend)
    rejects(net, lambda: net.gradient(X, y), exc, match)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_and_trace_never_change_the_weights(backend):
    net = small_net(backend)
    before = snapshot(net)
    net.gradient(X4, Y4)
    net.trace(X4[0], Y4[0])
    net.predict(X4)
    assert_unchanged(net, before)
