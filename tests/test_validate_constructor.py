"""MLP(...) refuses bad sizes and arguments with a clear message, and accepts numpy's
integers, seeds and dtypes."""
from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from conftest import FLOAT32_OVERFLOW_WARNINGS

pytestmark = FLOAT32_OVERFLOW_WARNINGS


@pytest.mark.parametrize(
    "sizes, exc, match",
    [
        ([3], ValueError, r"at least an input and an output"),
        ([], ValueError, r"at least an input and an output"),
        ([3, 0, 1], ValueError, r"widths must be >= 1, got 0"),
        ([3, 2, 0], ValueError, r"widths must be >= 1, got 0"),
        ([3, -2, 1], ValueError, r"widths must be >= 1, got -2"),
        ([3, 2.0, 1], TypeError, r"widths must be integers, got 2\.0"),
        ([3, 2.5, 1], TypeError, r"widths must be integers"),
        ([3, "2", 1], TypeError, r"widths must be integers"),
        ([3, True, 1], TypeError, r"widths must be integers, got True"),
        ([3, None, 1], TypeError, r"widths must be integers"),
        ([3, 2 + 0j, 1], TypeError, r"widths must be integers"),
        ([3, [2], 1], TypeError, r"widths must be integers"),
        (np.array([3.0, 2.0, 1.0]), TypeError, r"widths must be integers"),
        ("321", TypeError, r"sizes must be a list of layer widths"),
        (b"321", TypeError, r"sizes must be a list of layer widths"),
        (3, TypeError, r"sizes must be a list of layer widths"),
        (None, TypeError, r"sizes must be a list of layer widths"),
    ],
)
def test_constructor_rejects_bad_sizes(sizes, exc, match):
    with pytest.raises(exc, match=match):
        fm.MLP(sizes)


@pytest.mark.parametrize(
    "sizes", [(3, 2, 1), np.array([3, 2, 1]), [np.int32(3), np.int64(2), 1], range(3, 0, -1), np.array([3, 2, 1], dtype=np.uint8)]
)
def test_constructor_accepts_integer_sizes_of_any_kind(sizes):
    net = fm.MLP(sizes, seed=5)
    ref = fm.MLP([3, 2, 1], seed=5)
    assert net.sizes == (3, 2, 1) and all(type(d) is int for d in net.sizes)
    assert net.params.tobytes() == ref.params.tobytes()


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(activation="relux"), ValueError, r"unknown activation 'relux'"),
        (dict(activation="RELU"), ValueError, r"unknown activation 'RELU'"),
        (dict(activation=3), TypeError, r"activation is a name or an Activation"),
        (dict(activation=None), TypeError, r"activation is a name or an Activation"),
        (dict(activation=["tanh"]), ValueError, r"one theta per hidden layer: expected 2, got 1"),
        (dict(activation=["tanh", "relu", "relu"]), ValueError, r"one theta per hidden layer: expected 2, got 3"),
        (dict(activation=[]), ValueError, r"one theta per hidden layer: expected 2, got 0"),
        (dict(activation=["tanh", "bogus"]), ValueError, r"unknown activation 'bogus'"),
        (dict(activation="softmax"), ValueError, r"softmax can only be an output activation"),
        (dict(activation=["tanh", "softmax"]), ValueError, r"softmax can only be an output activation"),
        (dict(output="relux"), ValueError, r"unknown activation 'relux'"),
        (dict(output=7), TypeError, r"activation is a name or an Activation"),
        (dict(output="softmax"), ValueError, r"output 'softmax' goes with loss 'cross_entropy'"),
        (dict(loss="cross_entropy", output="sigmoid"), ValueError, r"cross_entropy.*needs output='softmax'"),
        (dict(loss="cross_entropy", output="identity"), ValueError, r"cross_entropy.*needs output='softmax'"),
        (dict(loss="binary_cross_entropy", output="softmax"), ValueError, r"binary_cross_entropy.*needs output='sigmoid'"),
        (dict(loss="binary_cross_entropy", output="identity"), ValueError, r"binary_cross_entropy.*needs output='sigmoid'"),
        (dict(loss="binary_cross_entropy", output="tanh"), ValueError, r"binary_cross_entropy.*needs output='sigmoid'"),
        (dict(loss="mse"), ValueError, r"unknown loss 'mse'"),
        (dict(loss="L2"), ValueError, r"unknown loss 'L2'"),
        (dict(loss=None), TypeError, r"loss must be a name"),
        (dict(loss=2), TypeError, r"loss must be a name"),
        (dict(dtype="float16"), ValueError, r"dtype must be 'float32' or 'float64', got 'float16'"),
        (dict(dtype="int32"), ValueError, r"dtype must be 'float32' or 'float64'"),
        (dict(dtype=np.int64), ValueError, r"dtype must be 'float32' or 'float64'"),
        (dict(dtype="complex128"), ValueError, r"dtype must be 'float32' or 'float64'"),
        (dict(dtype=np.longdouble), ValueError, r"dtype must be 'float32' or 'float64'"),
        (dict(dtype="bogus"), ValueError, r"dtype must be 'float32' or 'float64', got 'bogus'"),
        (dict(dtype=None), ValueError, r"dtype must be 'float32' or 'float64'"),
        (dict(dtype=object), ValueError, r"dtype must be 'float32' or 'float64'"),
        (dict(backend="fortran"), ValueError, r"unknown backend 'fortran'"),
        (dict(backend="Cython"), ValueError, r"unknown backend 'Cython'"),
        (dict(backend=1), TypeError, r"backend must be a name"),
        (dict(seed=-1), ValueError, r"seed must be None or a non-negative integer, got -1"),
        (dict(seed=1.5), ValueError, r"seed must be None or a non-negative integer"),
        (dict(seed=2.0), ValueError, r"seed must be None or a non-negative integer"),
        (dict(seed="0"), ValueError, r"seed must be None or a non-negative integer"),
        (dict(seed=True), ValueError, r"seed must be None or a non-negative integer"),
        (dict(seed=[1, 2]), ValueError, r"seed must be None or a non-negative integer"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fm.MLP([3, 4, 2, 2], **kwargs)


def test_constructor_rejects_unknown_backend_from_environment(monkeypatch):
    monkeypatch.setenv("FASTMLP_BACKEND", "fortran")
    with pytest.raises(ValueError, match=r"unknown backend 'fortran'"):
        fm.MLP([3, 2, 1])
    monkeypatch.setenv("FASTMLP_BACKEND", "")
    with pytest.raises(ValueError, match=r"unknown backend ''"):
        fm.MLP([3, 2, 1])


def test_constructor_accepts_numpy_seed_and_dtype_objects():
    a = fm.MLP([3, 4, 2], seed=np.int64(3), dtype=np.float32)
    b = fm.MLP([3, 4, 2], seed=3, dtype="float32")
    assert a.dtype == np.float32 and a.params.tobytes() == b.params.tobytes()
