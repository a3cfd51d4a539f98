"""sgd_step refuses a bad rate, X or targets and leaves the network as it was; a step
that diverges is undone."""
from __future__ import annotations

import math

import numpy as np
import pytest

import fastmlp as fm
from conftest import (
    assert_unchanged,
    BACKENDS,
    BAD_ETA,
    BAD_X,
    DTYPES,
    FLOAT32_OVERFLOW_WARNINGS,
    rejects,
    small_net,
    snapshot,
    X4,
    Y4,
)

pytestmark = FLOAT32_OVERFLOW_WARNINGS


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("eta, match", BAD_ETA, ids=[repr(e)[:12] for e, _ in BAD_ETA])
def test_sgd_step_rejects_bad_eta(eta, match, backend, dtype):
    net = small_net(backend, dtype)
    rejects(net, lambda: net.sgd_step(X4, Y4, eta), (ValueError, TypeError), match)


@pytest.mark.parametrize("method", ["sgd_step", "fit"])
def test_eta_too_large_for_any_float_is_rejected(method):
    """An int no float can hold is not a finite eta: ValueError, not OverflowError."""
    net = small_net()
    call = (lambda: net.sgd_step(X4, Y4, 10**400)) if method == "sgd_step" else (lambda: net.fit(X4, Y4, eta=10**400))
    rejects(net, call, ValueError, r"eta must be a finite number")


@pytest.mark.parametrize("backend", BACKENDS)
def test_sgd_step_rejects_eta_that_overflows_float32(backend):
    """eta = 1e39 is a finite float64 but infinite in a float32 network: reject it like any
    other float64 value that overflows the network's dtype, before training."""
    net = small_net(backend, "float32")
    rejects(net, lambda: net.sgd_step(X4, Y4, 1e39), ValueError, r"eta")
    rejects(net, lambda: net.fit(X4, Y4, epochs=1, eta=1e39), ValueError, r"eta")


@pytest.mark.parametrize("backend", BACKENDS)
def test_sgd_step_accepts_eta_zero(backend):
    net = small_net(backend)
    before = snapshot(net)
    loss = net.sgd_step(X4, Y4, 0)
    assert math.isfinite(loss)
    assert_unchanged(net, before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", BAD_X[:20], ids=[c[0] for c in BAD_X[:20]])
def test_sgd_step_rejects_bad_X(case, backend, dtype):
    _, X, exc, match = case
    net = small_net(backend, dtype)
    n = len(X) if np.ndim(X) == 2 else 1
    rejects(net, lambda: net.sgd_step(X, np.zeros((n, 2)), 0.1), exc, match)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_sgd_step_divergence_leaves_model(backend, dtype):
    net = small_net(backend, dtype)
    eta = 1e300 if dtype == "float64" else 1e30  # finite in the network's dtype; the update is not
    rejects(net, lambda: net.sgd_step(X4, Y4 * 1e15, eta), fm.DivergenceError, r"diverged.*weights were restored")
    for batch_size in [1, 2]:
        rejects(net, lambda: net.fit(X4, Y4 * 1e15, epochs=3, batch_size=batch_size, eta=eta, shuffle=False),
                fm.DivergenceError, r"diverged in epoch 1")
