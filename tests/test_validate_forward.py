"""forward and predict refuse bad X, and float64 values that overflow float32."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import BACKENDS, BAD_X, DTYPES, FLOAT32_OVERFLOW_WARNINGS, rejects, small_net

pytestmark = FLOAT32_OVERFLOW_WARNINGS


@pytest.mark.parametrize("method", ["forward", "predict"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", BAD_X, ids=[c[0] for c in BAD_X])
def test_forward_and_predict_reject_bad_X(case, backend, dtype, method):
    _, X, exc, match = case
    net = small_net(backend, dtype, kind="ce" if method == "predict" else "l2")
    rejects(net, lambda: getattr(net, method)(X), exc, match)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float64_values_that_overflow_float32_are_rejected(backend):
    net = small_net(backend, "float32")
    for X in ([1e300, 0.0, 0.0], np.array([[1.0, 2.0, 3.0], [0.0, -1e39, 0.0]]), [[0, 0, 3.5e38]]):
        Y = np.zeros((len(X) if np.ndim(X) == 2 else 1, 2))
        match = r"X contains NaN or infinity \(or values that overflow float32\)"
        rejects(net, lambda: net.forward(X), ValueError, match)
        rejects(net, lambda: net.sgd_step(X, Y, 0.1), ValueError, match)
        rejects(net, lambda: net.fit(X, Y, epochs=1), ValueError, match)
    # the largest float32 itself is not an overflow
    assert np.isfinite(net.forward([np.finfo(np.float32).max, 0.0, 0.0])).all()
