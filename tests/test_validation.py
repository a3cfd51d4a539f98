"""Bad input at every public entry point, and the conversions that must not change answers.

The contract (DESIGN.md, "Testing strategy" and the input-conversion issue):

* every entry point (MLP(), set_weights, forward, predict, trace, gradient, sgd_step, fit,
  activation(), datasets.train_test_split) converts its input once, so Python lists,
  Fortran-order arrays, strided / reversed / read-only views, big-endian arrays and other
  float and int dtypes give exactly the answer of the equivalent C-contiguous float array;
* wrong shapes, NaN/inf, empty data, unknown names, bad hyperparameters, bad labels and
  targets, complex/object/string/ragged data, float64 values that overflow float32 ... are
  rejected with ValueError or TypeError whose message names the problem;
* a call that fails leaves the model as it was, byte for byte;
* nothing, however odd, crashes the interpreter (hypothesis throws arbitrary arrays and
  Python objects at forward, sgd_step, fit and set_weights on both backends).

Everything is defined in this file (no shared fixtures), and the data is tiny so that the
pure-Python reference backend stays fast.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastmlp as fm
from fastmlp.datasets import train_test_split
from fastmlp._engine import feeding
from conftest import BACKENDS, DTYPES, assert_unchanged, rejects, small_net, snapshot

# Casting 1e300 to float32 warns before the library rejects it; the warning is expected.
pytestmark = [
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning"),
]

NAN, INF = float("nan"), float("inf")



def layouts(A):
    """The same numbers as the C-contiguous float64 array A (small whole numbers >= 0, so
    every conversion below is exact), in every form the API must accept."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    out = {"list": A.tolist()}
    out["tuple"] = tuple(tuple(r) for r in A.tolist()) if A.ndim == 2 else tuple(A.tolist())
    out["fortran"] = np.asfortranarray(A)
    big = np.full(tuple(3 * s + 1 for s in A.shape), -7.0)
    index = tuple(slice(1, None, 3) for _ in A.shape)
    big[index] = A
    out["strided"] = big[index]
    rev = tuple(slice(None, None, -1) for _ in A.shape)
    out["reversed"] = A[rev].copy()[rev]
    ro = A.copy()
    ro.setflags(write=False)
    out["readonly"] = ro
    for dt in ["float32", "float16", np.longdouble, ">f8", "<f4", "int8", "int16", "int32", "int64", ">i4", "uint8", "uint32"]:
        out[dt if isinstance(dt, str) else "longdouble"] = A.astype(dt)
    out["fortran_int32"] = np.asfortranarray(A.astype(np.int32))
    out["strided_float32"] = big.astype(np.float32)[index]
    for name, v in out.items():
        assert np.array_equal(np.asarray(v, dtype=np.float64), A), name
    assert not out["strided"].flags.c_contiguous and not out["reversed"].flags.c_contiguous
    return out


X4 = np.array([[0, 1, 2], [3, 4, 0], [1, 1, 3], [2, 0, 4]], dtype=np.float64)
Y4 = np.array([[1, 0], [0, 2], [3, 1], [1, 1]], dtype=np.float64)
LABELS4 = np.array([0, 2, 1, 2])
X_LAYOUTS = layouts(X4)
LAYOUT_NAMES = sorted(X_LAYOUTS)


# ---------------------------------------------------------------------------------------
# The constructor


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


def test_constructor_accepts_numpy_seed_and_dtype_objects():
    a = fm.MLP([3, 4, 2], seed=np.int64(3), dtype=np.float32)
    b = fm.MLP([3, 4, 2], seed=3, dtype="float32")
    assert a.dtype == np.float32 and a.params.tobytes() == b.params.tobytes()


# ---------------------------------------------------------------------------------------
# activation()


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


# ---------------------------------------------------------------------------------------
# forward and predict

BAD_X = [
    # (id, X, exception, message)
    ("short-sample", [1.0, 2.0], ValueError, r"X has shape \(2,\); expected \(3,\) or \(n, 3\)"),
    ("long-sample", [1.0, 2.0, 3.0, 4.0], ValueError, r"X has shape \(4,\); expected \(3,\)"),
    ("narrow-batch", np.zeros((4, 2)), ValueError, r"X has shape \(4, 2\); expected"),
    ("wide-batch", np.zeros((4, 4)), ValueError, r"X has shape \(4, 4\); expected"),
    ("transposed", np.zeros((3, 4)), ValueError, r"X has shape \(3, 4\); expected"),
    ("3-d", np.zeros((2, 3, 1)), ValueError, r"X has shape \(2, 3, 1\); expected"),
    ("scalar", 1.0, ValueError, r"X has shape \(\); expected"),
    ("0-d-array", np.array(2.0), ValueError, r"X has shape \(\); expected"),
    ("empty-batch", np.zeros((0, 3)), ValueError, r"X is empty"),
    ("empty-list", [], ValueError, r"X has shape \(0,\)"),
    ("empty-rows", [[]], ValueError, r"X has shape \(1, 0\)"),
    ("nan", [[0.0, NAN, 1.0]], ValueError, r"X contains NaN or infinity"),
    ("inf", [[0.0, 1.0, INF]], ValueError, r"X contains NaN or infinity"),
    ("-inf", np.array([[-INF, 1.0, 0.0], [0.0, 0.0, 0.0]]), ValueError, r"X contains NaN or infinity"),
    ("nan-float32", np.array([1.0, NAN, 1.0], dtype=np.float32), ValueError, r"X contains NaN or infinity"),
    ("nan-float16-fortran", np.asfortranarray(np.array([[1, 2, NAN], [1, 2, 3]], dtype=np.float16)), ValueError, r"NaN"),
    ("nan-strided", np.array([[9.0, 0, 9, 1, 9, NAN]])[:, 1::2], ValueError, r"X contains NaN or infinity"),
    ("overflow-longdouble", np.array([1.0, 2.0, 3.0], dtype=np.longdouble) * np.longdouble("1e400"), ValueError,
     r"X contains NaN or infinity \(or values that overflow float"),
    ("complex", np.ones((2, 3), dtype=complex), TypeError, r"X must be real, got dtype complex128"),
    ("complex-list", [1j, 0, 0], TypeError, r"X must be real"),
    ("object", np.array([1.0, 2.0, 3.0], dtype=object), TypeError, r"X must be numeric, got dtype object"),
    ("strings", ["1", "2", "3"], TypeError, r"X must be numeric, got dtype <U1"),
    ("bytes", np.array([b"1", b"2", b"3"]), TypeError, r"X must be numeric, got dtype \|S1"),
    ("string", "abc", TypeError, r"X must be numeric"),
    ("datetime", np.array(["2020-01-01"] * 3, dtype="M8[D]"), TypeError, r"X must be numeric"),
    ("timedelta", np.array([1, 2, "NaT"], dtype="m8[s]"), TypeError, r"X must be numeric, got dtype timedelta64"),
    ("ragged", [[1.0, 2.0, 3.0], [1.0, 2.0]], TypeError, r"X is not an array of numbers"),
    ("ragged-deep", [[1.0, [2.0], 3.0]], TypeError, r"X is not an array of numbers"),
    ("none", None, TypeError, r"X must be numeric"),
    ("dict", {"a": 1}, TypeError, r"X must be numeric"),
    ("huge-int", [10**400, 0, 0], TypeError, r"X must be numeric"),
]


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


# ---------------------------------------------------------------------------------------
# Layouts and dtypes: the same numbers give the same answer


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_same_answer_for_every_layout_and_dtype(backend, dtype):
    net = small_net(backend, dtype)
    want = net.forward(X4)
    want_one = net.forward(X4[1])
    assert want.dtype == net.dtype and want.shape == (4, 2) and np.isfinite(want).all()
    np.testing.assert_array_equal(want_one, want[1])
    before = snapshot(net)
    for name, X in X_LAYOUTS.items():
        got = net.forward(X)
        assert got.dtype == net.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    for name, x in layouts(X4[1]).items():
        np.testing.assert_array_equal(net.forward(x), want_one, err_msg=name)
    assert_unchanged(net, before)


@pytest.mark.parametrize("kind", ["ce", "bce", "l2"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_predict_same_answer_for_every_layout(backend, kind):
    net = small_net(backend, "float64", kind=kind)
    want = net.predict(X4)
    for name, X in X_LAYOUTS.items():
        np.testing.assert_array_equal(net.predict(X), want, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_receives_c_contiguous_arrays_in_network_dtype(backend, dtype):
    """The conversion happens in the Python layer, before any kernel sees the data."""
    net = small_net(backend, dtype)
    seen = []

    def spy(name):
        original = getattr(net.backend, name)

        def wrapped(arch, params, *arrays, **options):
            for a in arrays:
                if isinstance(a, np.ndarray) and a.ndim:
                    seen.append((name, a.flags.c_contiguous, a.dtype, a.flags.aligned))
            return original(arch, params, *arrays, **options)

        return wrapped

    net.backend = net.backend._replace(
        **{n: spy(n) for n in ["forward", "backprop", "mean_gradient", "sgd_epoch", "minibatch_epoch"]}
    )
    for name in ["list", "fortran", "strided", "reversed", ">f8", "int8", "float16"]:
        X = X_LAYOUTS[name]
        Y = np.asfortranarray(Y4)[:, :]
        net.forward(X)
        net.gradient(X, Y)
        net.trace(layouts(X4[0])[name], Y4[0][::-1][::-1])
        net.sgd_step(X, Y, 0.0)
        net.sgd_step(layouts(X4[0])[name], Y4[0], 0.0)
        net.fit(X, Y, epochs=1, batch_size=2, eta=0.0)
        net.fit(X, Y, epochs=1, batch_size=1, eta=0.0)
    assert {n for n, *_ in seen} == {"forward", "backprop", "mean_gradient", "sgd_epoch", "minibatch_epoch"}
    for name, contiguous, dt, aligned in seen:
        assert contiguous and aligned, name
        assert dt in (net.dtype, np.dtype(np.intp)), (name, dt)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_trace_and_gradient_same_answer_for_every_layout(backend, dtype):
    net = small_net(backend, dtype)
    t0 = net.trace(X4[2], Y4[2])
    loss0, grad0 = net.gradient(X4, Y4)
    before = snapshot(net)
    x_layouts, y_layouts = layouts(X4[2]), layouts(Y4[2])
    for name in x_layouts:
        t = net.trace(x_layouts[name], y_layouts[name])
        assert t.loss == t0.loss, name
        for a, b in zip(t.x + t.s + t.delta + t.grad, t0.x + t0.s + t0.delta + t0.grad):
            assert a.dtype == net.dtype, name
            np.testing.assert_array_equal(a, b, err_msg=name)
    Y_layouts = layouts(Y4)
    for name, X in X_LAYOUTS.items():
        loss, grad = net.gradient(X, Y_layouts[name])
        assert loss == loss0, name
        for a, b in zip(grad, grad0):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert_unchanged(net, before)


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_sgd_step_same_answer_for_every_layout(backend, dtype, batch):
    X0, Y0 = (X4[1], Y4[1]) if batch == 1 else (X4, Y4)
    ref = small_net(backend, dtype)
    loss0 = ref.sgd_step(X0, Y0, 0.125)
    xs, ys = layouts(X0), layouts(Y0)
    for name in xs:
        net = small_net(backend, dtype)
        loss = net.sgd_step(xs[name], ys[name], 0.125)
        assert loss == loss0, name
        assert net.params.tobytes() == ref.params.tobytes(), name
    # eta of any real type: the same step as the float
    for eta in [np.float64(0.125), np.float32(0.125), Fraction(1, 8)]:
        net = small_net(backend, dtype)
        assert net.sgd_step(X0, Y0, eta) == loss0
        assert net.params.tobytes() == ref.params.tobytes(), repr(eta)
    a, b, c = small_net(backend, dtype), small_net(backend, dtype), small_net(backend, dtype)
    a.sgd_step(X0, Y0, 1)
    b.sgd_step(X0, Y0, np.int64(1))
    c.sgd_step(X0, Y0, 1.0)
    assert a.params.tobytes() == b.params.tobytes() == c.params.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_class_labels_same_answer_as_one_hot(backend, dtype):
    ref = small_net(backend, dtype, kind="ce")
    one_hot = np.eye(3)[LABELS4]
    loss0 = ref.sgd_step(X4, one_hot, 0.25)
    label_forms = {
        "list": LABELS4.tolist(),
        "int8": LABELS4.astype(np.int8),
        "uint8": LABELS4.astype(np.uint8),
        "int32": LABELS4.astype(np.int32),
        "float64": LABELS4.astype(np.float64),
        "float32": LABELS4.astype(np.float32),
        "strided": np.repeat(LABELS4, 2)[::2],
        "reversed": LABELS4[::-1].copy()[::-1],
    }
    label_forms.update({f"one-hot-{k}": v for k, v in layouts(one_hot).items()})
    for name, y in label_forms.items():
        net = small_net(backend, dtype, kind="ce")
        assert net.sgd_step(X_LAYOUTS["fortran"], y, 0.25) == loss0, name
        assert net.params.tobytes() == ref.params.tobytes(), name
    # one sample: a bare label, a numpy integer, a one-hot row
    one = small_net(backend, dtype, kind="ce")
    one.sgd_step(X4[0], one_hot[0], 0.25)
    for y in [int(LABELS4[0]), LABELS4[0], np.int8(LABELS4[0]), float(LABELS4[0]), np.array(LABELS4[0])]:
        net = small_net(backend, dtype, kind="ce")
        net.sgd_step(X4[0].tolist(), y, 0.25)
        assert net.params.tobytes() == one.params.tobytes(), repr(y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_same_answer_for_every_layout(backend, dtype):
    ref = small_net(backend, dtype)
    h0 = ref.fit(X4, Y4, epochs=2, batch_size=2, eta=0.1, seed=3)
    Y_layouts = layouts(Y4)
    names = LAYOUT_NAMES if backend == "cython" else ["list", "fortran", "strided", "int8", ">f8"]
    for name in names:
        net = small_net(backend, dtype)
        h = net.fit(X_LAYOUTS[name], Y_layouts[name], epochs=2, batch_size=2, eta=0.1, seed=3)
        assert h.loss == h0.loss, name
        assert net.params.tobytes() == ref.params.tobytes(), name
    # l2 with one output: y as (n,) and as (n, 1)
    a, b = small_net(backend, dtype, kind="l2_1"), small_net(backend, dtype, kind="l2_1")
    assert a.fit(X4, Y4[:, 0], epochs=1, shuffle=False).loss == b.fit(X4, Y4[:, :1], epochs=1, shuffle=False).loss
    assert a.params.tobytes() == b.params.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_set_weights_same_answer_for_every_layout(backend, dtype):
    shapes = [W.shape for W in small_net(backend, dtype).weights]
    Ws = [np.arange(np.prod(s), dtype=np.float64).reshape(s) % 5 for s in shapes]
    ref = small_net(backend, dtype)
    ref.set_weights(Ws)
    assert ref.params.dtype == np.dtype(dtype)
    forms = [layouts(W) for W in Ws]
    for name in forms[0]:
        net = small_net(backend, dtype)
        params_buffer = net.params
        net.set_weights([f[name] for f in forms])
        assert net.params is params_buffer, "set_weights must copy into the existing buffer"
        assert net.params.tobytes() == ref.params.tobytes(), name
        for W in net.weights:
            assert np.shares_memory(W, net.params)
    net = small_net(backend, dtype)
    net.set_weights(tuple(Ws))
    assert net.params.tobytes() == ref.params.tobytes()
    # set_weights copies: changing the source afterwards does not reach the network
    Ws[0][...] = 99
    assert net.params.tobytes() == ref.params.tobytes()


# ---------------------------------------------------------------------------------------
# set_weights


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


# ---------------------------------------------------------------------------------------
# trace and gradient


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


# ---------------------------------------------------------------------------------------
# sign: forward only


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


# ---------------------------------------------------------------------------------------
# sgd_step

BAD_ETA = [
    (-0.1, r"eta must be a finite number >= 0, got -0\.1"),
    (-1, r"eta must be a finite number >= 0, got -1"),
    (NAN, r"eta must be a finite number >= 0, got nan"),
    (INF, r"eta must be a finite number >= 0, got inf"),
    (-INF, r"eta must be a finite number >= 0"),
    (np.float64(NAN), r"eta must be a finite number >= 0"),
    (np.float32(-0.5), r"eta must be a finite number >= 0"),
    ("0.1", r"eta must be a finite number >= 0, got '0\.1'"),
    (True, r"eta must be a finite number >= 0, got True"),
    (False, r"eta must be a finite number >= 0, got False"),
    (np.bool_(True), r"eta must be a finite number >= 0"),
    (None, r"eta must be a finite number >= 0, got None"),
    ([0.1], r"eta must be a finite number >= 0"),
    (0.1 + 0j, r"eta must be a finite number >= 0"),
]


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


BAD_Y_L2 = [
    ("short", Y4[:3], ValueError, r"y has shape \(3, 2\); expected \(4, 2\) for 4 samples and 2 outputs"),
    ("long", np.vstack([Y4, Y4]), ValueError, r"y has shape \(8, 2\); expected \(4, 2\)"),
    ("1-d", Y4[:, 0], ValueError, r"y has shape \(4,\); expected \(4, 2\)"),
    ("too-wide", np.zeros((4, 3)), ValueError, r"y has shape \(4, 3\); expected \(4, 2\)"),
    ("3-d", Y4[:, :, None], ValueError, r"y has shape \(4, 2, 1\)"),
    ("scalar", 0.5, ValueError, r"y has shape \(\)"),
    ("empty", np.zeros((0, 2)), ValueError, r"y has shape \(0, 2\)"),
    ("nan", np.where(Y4 == 3, NAN, Y4), ValueError, r"y contains NaN or infinity"),
    ("inf", np.where(Y4 == 3, INF, Y4), ValueError, r"y contains NaN or infinity"),
    ("complex", Y4 + 0j, TypeError, r"y must be real, got dtype complex128"),
    ("object", Y4.astype(object), TypeError, r"y must be numeric, got dtype object"),
    ("strings", Y4.astype(str), TypeError, r"y must be numeric, got dtype <U"),
    ("timedelta", np.full((4, 2), "NaT", dtype="m8[s]"), TypeError, r"y must be numeric, got dtype timedelta64"),
    ("none", None, TypeError, r"y must be numeric"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", BAD_Y_L2, ids=[c[0] for c in BAD_Y_L2])
def test_sgd_step_rejects_bad_l2_targets(case, backend, dtype):
    _, y, exc, match = case
    net = small_net(backend, dtype)
    rejects(net, lambda: net.sgd_step(X4, y, 0.1), exc, match)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", BAD_X[:20], ids=[c[0] for c in BAD_X[:20]])
def test_sgd_step_rejects_bad_X(case, backend, dtype):
    _, X, exc, match = case
    net = small_net(backend, dtype)
    n = len(X) if np.ndim(X) == 2 else 1
    rejects(net, lambda: net.sgd_step(X, np.zeros((n, 2)), 0.1), exc, match)


def test_sgd_step_rejects_float32_target_overflow():
    net = small_net("cython", "float32")
    rejects(net, lambda: net.sgd_step(X4, np.full((4, 2), 1e300), 0.1), ValueError, r"y contains NaN or infinity")


BAD_LABELS = [
    ("too-large", [0, 1, 3, 2], ValueError, r"class label .*3.* is out of range: the network has 3 classes, 0\.\.2"),
    ("negative", [0, -1, 1, 2], ValueError, r"class label .*-1.* is out of range"),
    ("huge", [0, 1, 1e20, 2], ValueError, r"out of range"),
    ("uint64-huge", np.array([0, 1, 2**63, 2], dtype=np.uint64), ValueError, r"out of range"),
    ("fractional", [0, 1.5, 1, 2], ValueError, r"class labels must be whole numbers"),
    ("nan", [0, NAN, 1, 2], ValueError, r"class labels must be whole numbers"),
    ("inf", [0, INF, 1, 2], ValueError, r"whole numbers|out of range"),
    ("too-few", [0, 1, 2], ValueError, r"y has 3 labels for 4 samples"),
    ("too-many", [0, 1, 2, 0, 1], ValueError, r"y has 5 labels for 4 samples"),
    ("strings", ["0", "1", "2", "0"], TypeError, r"y must be numeric"),
    ("complex", [0j, 1, 2, 0], TypeError, r"y must be real"),
    ("object", np.array([0, 1, 2, 0], dtype=object), TypeError, r"y must be numeric"),
    ("one-hot-too-narrow", np.eye(2)[[0, 1, 1, 0]], ValueError, r"y has shape \(4, 2\); expected \(4, 3\)"),
    ("one-hot-too-wide", np.eye(4)[[0, 1, 2, 0]], ValueError, r"y has shape \(4, 4\); expected \(4, 3\)"),
    ("one-hot-rows-not-summing-to-1", np.eye(3)[[0, 1, 2, 0]] * 2, ValueError, r"cross_entropy target rows must be non-negative and sum to 1"),
    ("one-hot-negative", np.array([[1.5, -0.5, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]), ValueError, r"non-negative"),
    ("one-hot-nan", np.where(np.eye(3)[[0, 1, 2, 0]] > 0, NAN, 0.0), ValueError, r"y contains NaN or infinity"),
    ("3-d", np.eye(3)[[0, 1, 2, 0]][:, :, None], ValueError, r"y has shape \(4, 3, 1\)"),
]


@pytest.mark.parametrize(
    "kind, y",
    [("l2", [[1.0, 0.0], [1.0], [0.0, 0.0], [1.0, 1.0]]), ("ce", [[1, 0, 0], [0, 1], [0, 0, 1], [1, 0, 0]])],
)
def test_ragged_targets_rejected_with_a_message_naming_y(kind, y):
    """X gets "X is not an array of numbers: ..."; ragged y must be named the same way."""
    net = small_net(kind=kind)
    rejects(net, lambda: net.sgd_step(X4, y, 0.1), (ValueError, TypeError), r"\by\b")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("y", [3, -1, 0.5, NAN, "1", np.int64(3)], ids=repr)
def test_single_sample_bad_label(backend, y):
    net = small_net(backend, kind="ce")
    rejects(net, lambda: net.sgd_step(X4[0], y, 0.1), (ValueError, TypeError), r"label|y must be numeric|whole")
    rejects(net, lambda: net.trace(X4[0], y), (ValueError, TypeError), r"label|y must be numeric|whole")


BAD_BCE = [
    ("above-1", [[0, 1], [1, 1.5], [0, 0], [1, 0]], ValueError, r"binary_cross_entropy targets must lie in \[0, 1\]"),
    ("below-0", [[0, 1], [1, 1], [-0.1, 0], [1, 0]], ValueError, r"binary_cross_entropy targets must lie in \[0, 1\]"),
    ("label-2", [[0, 2], [1, 1], [0, 0], [1, 0]], ValueError, r"must lie in \[0, 1\]"),
    ("nan", [[0, 1], [1, NAN], [0, 0], [1, 0]], ValueError, r"y contains NaN or infinity"),
    ("1-d", [0, 1, 1, 0], ValueError, r"y has shape \(4,\); expected \(4, 2\)"),
    ("too-wide", np.zeros((4, 3)), ValueError, r"y has shape \(4, 3\)"),
]


BAD_TARGETS = [("ce", *case) for case in BAD_LABELS] + [("bce", *case) for case in BAD_BCE]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", BAD_TARGETS, ids=[f"{c[0]}-{c[1]}" for c in BAD_TARGETS])
def test_sgd_step_rejects_bad_class_labels_and_bce_targets(case, backend, dtype):
    kind, _, y, exc, match = case
    net = small_net(backend, dtype, kind=kind)
    rejects(net, lambda: net.sgd_step(X4, y, 0.1), exc, match)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bce_accepts_targets_on_the_boundary_and_bool(backend):
    a, b = small_net(backend, kind="bce"), small_net(backend, kind="bce")
    T = np.array([[0, 1], [1, 1], [0, 0], [1, 0]])
    assert a.sgd_step(X4, T.astype(bool), 0.1) == b.sgd_step(X4, T.astype(float), 0.1)
    assert a.params.tobytes() == b.params.tobytes()


# ---------------------------------------------------------------------------------------
# fit

BAD_FIT = [
    ("epochs=0", dict(epochs=0), ValueError, r"epochs must be a positive integer, got 0"),
    ("epochs=-1", dict(epochs=-1), ValueError, r"epochs must be a positive integer, got -1"),
    ("epochs=1.5", dict(epochs=1.5), ValueError, r"epochs must be a positive integer, got 1\.5"),
    ("epochs=2.0", dict(epochs=2.0), ValueError, r"epochs must be a positive integer"),
    ("epochs='3'", dict(epochs="3"), ValueError, r"epochs must be a positive integer"),
    ("epochs=None", dict(epochs=None), ValueError, r"epochs must be a positive integer"),
    ("epochs=True", dict(epochs=True), ValueError, r"epochs must be a positive integer, got True"),
    ("epochs=nan", dict(epochs=NAN), ValueError, r"epochs must be a positive integer"),
    ("batch_size=0", dict(batch_size=0), ValueError, r"batch_size must be a positive integer, got 0"),
    ("batch_size=-2", dict(batch_size=-2), ValueError, r"batch_size must be a positive integer, got -2"),
    ("batch_size=1.5", dict(batch_size=1.5), ValueError, r"batch_size must be a positive integer"),
    ("batch_size=2.0", dict(batch_size=2.0), ValueError, r"batch_size must be a positive integer"),
    ("batch_size='2'", dict(batch_size="2"), ValueError, r"batch_size must be a positive integer"),
    ("batch_size=True", dict(batch_size=True), ValueError, r"batch_size must be a positive integer"),
    ("batch_size=inf", dict(batch_size=INF), ValueError, r"batch_size must be a positive integer"),
    ("shuffle=1", dict(shuffle=1), TypeError, r"shuffle must be True or False, got 1"),
    ("shuffle=0", dict(shuffle=0), TypeError, r"shuffle must be True or False"),
    ("shuffle='yes'", dict(shuffle="yes"), TypeError, r"shuffle must be True or False"),
    ("shuffle=None", dict(shuffle=None), TypeError, r"shuffle must be True or False"),
    ("seed=-1", dict(seed=-1), ValueError, r"seed must be None or a non-negative integer, got -1"),
    ("seed=1.5", dict(seed=1.5), ValueError, r"seed must be None or a non-negative integer"),
    ("seed='1'", dict(seed="1"), ValueError, r"seed must be None or a non-negative integer"),
    ("seed=True", dict(seed=True), ValueError, r"seed must be None or a non-negative integer"),
    ("callback=3", dict(callback=3), TypeError, r"callback must be callable"),
    ("callback='print'", dict(callback="print"), TypeError, r"callback must be callable"),
] + [(f"eta={e!r}"[:16], dict(eta=e), (ValueError, TypeError), m) for e, m in BAD_ETA]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", BAD_FIT, ids=[c[0] for c in BAD_FIT])
def test_fit_rejects_bad_hyperparameters(case, backend, dtype):
    _, kwargs, exc, match = case
    net = small_net(backend, dtype)
    rejects(net, lambda: net.fit(X4, Y4, **kwargs), exc, match)


FIT_DATA = [
    ("X-nan", np.where(X4 == 4, NAN, X4), Y4, ValueError, r"X contains NaN or infinity"),
    ("X-empty", np.zeros((0, 3)), np.zeros((0, 2)), ValueError, r"X is empty"),
    ("X-narrow", X4[:, :2], Y4, ValueError, r"X has shape \(4, 2\)"),
    ("X-complex", X4 + 0j, Y4, TypeError, r"X must be real"),
    ("X-strings", X4.astype(str), Y4, TypeError, r"X must be numeric"),
    ("X-ragged", [[1, 2, 3], [1, 2]], Y4[:2], TypeError, r"X is not an array of numbers"),
    ("y-short", X4, Y4[:3], ValueError, r"y has shape \(3, 2\); expected \(4, 2\)"),
    ("y-inf", X4, np.where(Y4 == 3, -INF, Y4), ValueError, r"y contains NaN or infinity"),
    ("y-object", X4, Y4.astype(object), TypeError, r"y must be numeric"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch_size", [1, 2, None])
@pytest.mark.parametrize("case", FIT_DATA, ids=[c[0] for c in FIT_DATA])
def test_fit_rejects_bad_data(case, batch_size, backend):
    _, X, y, exc, match = case
    net = small_net(backend)
    rejects(net, lambda: net.fit(X, y, epochs=2, batch_size=batch_size), exc, match)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_rejects_bad_labels_and_leaves_model(backend):
    net = small_net(backend, kind="ce")
    rejects(net, lambda: net.fit(X4, [0, 1, 2, 3], epochs=1), ValueError, r"class label .*3.* is out of range")
    net = small_net(backend, kind="bce")
    rejects(net, lambda: net.fit(X4, np.full((4, 2), 2.0), epochs=1), ValueError, r"must lie in \[0, 1\]")


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_accepts_hyperparameters_of_numpy_types(backend):
    a, b = small_net(backend), small_net(backend)
    ha = a.fit(X4, Y4, epochs=np.int64(2), batch_size=np.int16(2), eta=np.float64(0.1), shuffle=np.bool_(True), seed=np.int32(4))
    hb = b.fit(X4, Y4, epochs=2, batch_size=2, eta=0.1, shuffle=True, seed=4)
    assert ha.loss == hb.loss and a.params.tobytes() == b.params.tobytes()
    # batch_size larger than n is the full batch, like None
    c, d = small_net(backend), small_net(backend)
    assert c.fit(X4, Y4, epochs=1, batch_size=100).loss == d.fit(X4, Y4, epochs=1, batch_size=None).loss
    assert c.params.tobytes() == d.params.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_sgd_step_divergence_leaves_model(backend, dtype):
    net = small_net(backend, dtype)
    eta = 1e300 if dtype == "float64" else 1e30  # finite in the network's dtype; the update is not
    rejects(net, lambda: net.sgd_step(X4, Y4 * 1e15, eta), fm.DivergenceError, r"diverged.*weights were restored")
    for batch_size in [1, 2]:
        rejects(net, lambda: net.fit(X4, Y4 * 1e15, epochs=3, batch_size=batch_size, eta=eta, shuffle=False),
                fm.DivergenceError, r"diverged in epoch 1")


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_that_diverges_leaves_the_shuffling_generator(backend):
    """fit shuffles with the network's own generator; a fit that fails (here: diverges in
    its first epoch) must not have consumed it, or a retry with a smaller eta no longer
    sees the shuffles a fresh network with the same seed would."""
    net = small_net(backend)
    rejects(net, lambda: net.fit(X4, Y4 * 1e15, epochs=1, eta=1e300), fm.DivergenceError, r"diverged in epoch 1")


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_that_diverges_after_some_epochs_keeps_the_last_good_epoch(backend, dtype="float64"):
    """A one-weight linear model with eta = 3 multiplies its error by -5 each step, so the
    loss overflows after some hundreds of epochs. The failed fit keeps what the good epochs
    learned: the weights and generator state after the last finite epoch, and the history
    up to it on the exception."""
    net = fm.MLP([1, 1], activation=[], output="identity", loss="l2", dtype=dtype, seed=0, backend=backend)
    good = []
    with pytest.raises(fm.DivergenceError, match=r"diverged in epoch \d+") as info:
        net.fit([[1.0]], [0.0], epochs=2000, eta=3.0, callback=lambda epoch, hist: good.append(snapshot(net)))
    assert len(good) > 1  # the failure came after successful epochs
    assert info.value.history.epochs == len(good)
    assert np.isfinite(net.params).all()
    assert_unchanged(net, good[-1])


# ---------------------------------------------------------------------------------------
# datasets.train_test_split

XS = np.arange(24, dtype=np.float64).reshape(12, 2)
YS = np.array([0, 1, 2] * 4)


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((XS, YS), dict(test_fraction=0), ValueError, r"test_fraction must lie strictly between 0 and 1, got 0"),
        ((XS, YS), dict(test_fraction=1), ValueError, r"test_fraction must lie strictly between 0 and 1"),
        ((XS, YS), dict(test_fraction=-0.5), ValueError, r"test_fraction must lie strictly between 0 and 1"),
        ((XS, YS), dict(test_fraction=1.5), ValueError, r"test_fraction must lie strictly between 0 and 1"),
        ((XS, YS), dict(test_fraction=NAN), ValueError, r"test_fraction must lie strictly between 0 and 1"),
        ((XS, YS), dict(test_fraction="0.5"), (ValueError, TypeError), r"test_fraction"),
        ((XS, YS), dict(test_fraction=None), (ValueError, TypeError), r"test_fraction"),
        ((XS, YS[:-1]), {}, ValueError, r"X has 12 samples but y has 11"),
        ((XS[:5], YS), {}, ValueError, r"X has 5 samples but y has 12"),
        ((XS, YS), dict(seed=-1), (ValueError, TypeError), r"(?i)seed"),
        ((XS, YS), dict(seed=1.5), (ValueError, TypeError), r"(?i)seed"),
        # data the split must not pass on silently
        ((np.zeros((0, 2)), np.zeros(0, dtype=int)), {}, ValueError, r"(?i)empty|no samples"),
        (([], []), {}, ValueError, r"(?i)empty|no samples"),
        ((np.where(XS == 5, NAN, XS), YS), {}, ValueError, r"X contains NaN or infinity"),
        ((np.where(XS == 5, INF, XS), YS), {}, ValueError, r"X contains NaN or infinity"),
        ((XS, np.where(YS == 1, NAN, YS)), {}, ValueError, r"\by\b.*(NaN|whole|label)|label"),
        ((XS, np.eye(3)[YS]), {}, ValueError, r"\by\b.*shape"),
        ((3.0, 4.0), {}, (ValueError, TypeError), r"\bX\b"),
        ((XS.astype(str), YS), {}, TypeError, r"X must be numeric"),
        ((XS + 1j, YS), {}, TypeError, r"X must be real"),
        ((XS.astype(object), YS), {}, TypeError, r"X must be numeric"),
        (([[1, 2], [3]] * 6, YS), {}, (ValueError, TypeError), r"\bX\b"),
    ],
    ids=[
        "fraction-0", "fraction-1", "fraction-neg", "fraction-1.5", "fraction-nan", "fraction-str", "fraction-none",
        "y-short", "X-short", "seed-neg", "seed-float", "empty", "empty-lists", "X-nan", "X-inf", "y-nan",
        "y-one-hot", "scalars", "X-strings", "X-complex", "X-object", "X-ragged",
    ],
)
def test_train_test_split_rejects(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train_test_split(*args, **kwargs)


def test_train_test_split_same_answer_for_every_layout():
    want = train_test_split(XS, YS, test_fraction=0.5, seed=2)
    assert len(want[1]) == 6 and sorted(want[3].tolist()) == [0, 0, 1, 1, 2, 2]
    label_forms = {"list": YS.tolist(), "int8": YS.astype(np.int8), "strided": np.repeat(YS, 3)[::3], "float": YS.astype(float)}
    for name, X in layouts(XS).items():
        got = train_test_split(X, label_forms.get(name, YS), test_fraction=0.5, seed=2)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(np.asarray(a, dtype=np.float64), b, err_msg=name)


# ---------------------------------------------------------------------------------------
# Hypothesis: arbitrary arrays and Python objects never crash and never corrupt the model

_FLOAT_BOUND = {2: 6e4, 4: 1e6, 8: 1e6}


def _elements(dtype):
    if dtype.kind == "f":
        width = 8 * dtype.itemsize
        finite = st.floats(-_FLOAT_BOUND[dtype.itemsize], _FLOAT_BOUND[dtype.itemsize], width=width)
        specials = [NAN, INF, -INF] + ([1e300, -1e300, 3.5e38] if dtype.itemsize == 8 else [])
        return st.one_of(finite, st.sampled_from(specials))
    if dtype.kind == "c":
        return st.complex_numbers(max_magnitude=10, width=8 * dtype.itemsize)
    if dtype.kind == "O":
        return st.one_of(st.floats(-10, 10), st.none(), st.text(max_size=2), st.integers(-5, 5))
    return hnp.from_dtype(dtype)


ARRAY_DTYPES = [
    "float64", "float32", "float16", ">f8", "int8", "int16", "int32", "int64", "uint8", "uint64", "bool",
    "complex64", "complex128", "U3", "S3", "O", "M8[s]", "m8[s]",
]


@st.composite
def arrays(draw, width, n_max=4):
    dtype = np.dtype(draw(st.sampled_from(ARRAY_DTYPES)))
    shape = draw(
        st.one_of(
            st.just((width,)),
            st.tuples(st.integers(0, n_max), st.just(width)),
            hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=n_max),
        )
    )
    a = draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))
    layout = draw(st.sampled_from(["c", "fortran", "strided", "reversed", "list", "readonly"]))
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "strided" and a.ndim:
        big = np.repeat(a, 2, axis=-1)
        return big[..., ::2]
    if layout == "reversed" and a.ndim:
        return a[::-1].copy()[::-1]
    if layout == "list":
        return a.tolist()
    if layout == "readonly":
        a.setflags(write=False)
    return a


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(-1e6, 1e6),
    st.sampled_from([NAN, INF, -INF]),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.complex_numbers(max_magnitude=10),
)
python_objects = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner, inner),
        st.dictionaries(st.text(max_size=2), inner, max_size=2),
        st.sets(st.integers(-3, 3), max_size=3),
    ),
    max_leaves=12,
)
_numbers = st.one_of(st.floats(-1e3, 1e3), st.integers(-5, 5), st.sampled_from([NAN, INF]))
python_matrices = st.one_of(
    st.lists(_numbers, min_size=3, max_size=3),
    st.lists(st.lists(_numbers, min_size=3, max_size=3), max_size=4),
)


def anything(width):
    return st.one_of(arrays(width), arrays(width), python_objects, python_matrices)


def _relayout(draw, a):
    layout = draw(st.sampled_from(["c", "fortran", "strided", "reversed", "list"]))
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "strided" and a.ndim:
        return np.repeat(a, 2, axis=0)[::2]
    if layout == "reversed" and a.ndim:
        return a[::-1].copy()[::-1]
    if layout == "list":
        return a.tolist()
    return a


@st.composite
def near_valid_data(draw, net):
    """(X, y) of the right shapes, mostly valid, sometimes with one bad value: NaN, inf,
    a float64 beyond float32, a label out of range, a target outside [0, 1]."""
    single = draw(st.booleans())
    n = 1 if single else draw(st.integers(1, 4))
    K = net.sizes[-1]
    x_dtype = np.dtype(draw(st.sampled_from(["float64", "float32", "float16", ">f8", "int8", "int64", "uint8", "bool"])))
    X = draw(hnp.arrays(x_dtype, (n, 3), elements=hnp.from_dtype(x_dtype) if x_dtype.kind != "f" else
                        st.floats(-1e3, 1e3, width=8 * x_dtype.itemsize)))
    if net.loss.name == "cross_entropy":
        labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, K - 1)))
        y = labels if draw(st.booleans()) else np.eye(K)[labels]
    elif net.loss.name == "binary_cross_entropy":
        y = draw(hnp.arrays(np.float64, (n, K), elements=st.sampled_from([0.0, 0.25, 1.0])))
    else:
        y = draw(hnp.arrays(np.float64, (n, K), elements=st.floats(-3, 3)))
    if draw(st.integers(0, 2)) == 0:  # spoil one value
        bad = draw(st.sampled_from([NAN, INF, -INF, 1e300, -1.5, 1.5, 3.0, 0.5]))
        target = draw(st.sampled_from(["X", "y"]))
        if target == "X":
            X = X.astype(np.float64)
            X[draw(st.integers(0, n - 1)), draw(st.integers(0, 2))] = bad
        else:
            y = y.astype(np.float64)
            y.flat[draw(st.integers(0, y.size - 1))] = bad
    if single:
        X, y = X[0], y[0]
    return _relayout(draw, X), _relayout(draw, y) if np.ndim(y) else y


OK_ERRORS = (ValueError, TypeError)


def _accepted_input_was_valid(net, X, y=None):
    """What any call that succeeded must have been given: finite numbers of the right
    shape (in the network's dtype), and targets the loss can take."""
    Xa = np.asarray(X)
    assert Xa.dtype.kind in "biuf" or Xa.dtype.kind == "m", Xa.dtype
    assert Xa.shape in [(net.sizes[0],)] or (Xa.ndim == 2 and Xa.shape[1] == net.sizes[0] and len(Xa) > 0)
    assert np.isfinite(Xa.astype(net.dtype)).all()
    if y is None:
        return
    ya = np.asarray(y)
    assert ya.dtype.kind in "biuf", ya.dtype
    Y = ya.astype(np.float64)
    assert np.isfinite(Y).all() and np.isfinite(ya.astype(net.dtype)).all()
    n, K = (1 if Xa.ndim == 1 else len(Xa)), net.sizes[-1]
    if net.loss.name == "cross_entropy" and Y.size == n and not (n == 1 and Y.shape == (1, K)):
        assert (Y == np.round(Y)).all() and (Y >= 0).all() and (Y < K).all(), "accepted a bad class label"
    else:
        assert Y.size == n * K, "accepted targets of the wrong size"
        if net.loss.name == "binary_cross_entropy":
            assert ((Y >= 0) & (Y <= 1)).all(), "accepted a binary_cross_entropy target outside [0, 1]"
        if net.loss.name == "cross_entropy":
            rows = Y.reshape(n, K)
            assert (rows >= 0).all() and np.allclose(rows.sum(axis=1), 1, atol=1e-4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_hypothesis_forward_never_crashes(backend, dtype, data):
    net = small_net(backend, dtype, kind=data.draw(st.sampled_from(["l2", "ce"])))
    X = data.draw(anything(3), label="X")
    before = snapshot(net)
    try:
        H = net.forward(X)
    except OK_ERRORS:
        assert_unchanged(net, before)
        return
    assert_unchanged(net, before)
    _accepted_input_was_valid(net, X)
    n_dims = np.ndim(X)
    assert isinstance(H, np.ndarray) and H.dtype == net.dtype
    assert H.shape == ((net.sizes[-1],) if n_dims == 1 else (len(X), net.sizes[-1]))
    assert np.isfinite(H).all(), "forward accepted input and returned NaN/inf"


def _assert_step_outcome(net, before, call):
    try:
        result = call()
    except fm.DivergenceError:
        # documented: non-finite training is refused and the weights restored
        assert_unchanged(net, before)
        return None
    except OK_ERRORS:
        assert_unchanged(net, before)
        return None
    assert np.isfinite(net.params).all()
    assert net.params.dtype == np.dtype(before["dtype"]) and net.params.shape == before["shape"]
    for W in net.weights:
        assert np.shares_memory(W, net.params)
    return result


def draw_case(data, backend, dtype, *more_targets):
    """A small network of a drawn loss, and either nearly valid data for it or anything at
    all (targets also from ``more_targets``)."""
    kind = data.draw(st.sampled_from(["l2", "ce", "bce"]), label="kind")
    net = small_net(backend, dtype, kind=kind)
    if data.draw(st.booleans(), label="near_valid"):
        X, y = data.draw(near_valid_data(net), label="X, y")
    else:
        X = data.draw(anything(3), label="X")
        y = data.draw(st.one_of(anything(net.sizes[-1]), *more_targets), label="y")
    return net, X, y


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_hypothesis_sgd_step_never_crashes(backend, dtype, data):
    net, X, y = draw_case(data, backend, dtype, st.integers(-2, 4))
    eta = data.draw(
        st.one_of(
            st.floats(0, 1), st.floats(allow_nan=True), st.sampled_from([1e300, 1e308, 1e39]), st.integers(-2, 3),
            st.text(max_size=2), st.none(), st.booleans(),
        ),
        label="eta",
    )
    before = snapshot(net)
    loss = _assert_step_outcome(net, before, lambda: net.sgd_step(X, y, eta))
    if loss is not None:
        _accepted_input_was_valid(net, X, y)
        assert not isinstance(eta, (bool, str)) and eta is not None and 0 <= eta < INF
        assert isinstance(loss, float) and math.isfinite(loss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_hypothesis_fit_never_crashes(backend, dtype, data):
    net, X, y = draw_case(data, backend, dtype)
    junk = st.one_of(st.none(), st.text(max_size=2), st.booleans(), st.floats(allow_nan=True))
    kwargs = dict(
        epochs=data.draw(st.one_of(st.integers(-1, 3), junk), label="epochs"),
        batch_size=data.draw(st.one_of(st.integers(-1, 5), junk), label="batch_size"),
        eta=data.draw(st.one_of(st.floats(0, 1), st.integers(-1, 2), st.sampled_from([1e300, 1e308]), junk), label="eta"),
        shuffle=data.draw(st.one_of(st.booleans(), st.integers(0, 1), st.none()), label="shuffle"),
        seed=data.draw(st.one_of(st.none(), st.integers(-2, 2**70), junk), label="seed"),
        callback=data.draw(st.sampled_from([None, lambda e, h: None, 3, "f"]), label="callback"),
    )
    before = snapshot(net)
    history = _assert_step_outcome(net, before, lambda: net.fit(X, y, **kwargs))
    if history is not None:
        _accepted_input_was_valid(net, X, y)
        assert len(history.loss) == kwargs["epochs"]
        assert all(math.isfinite(v) for v in history.loss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_hypothesis_weights_and_dropout_never_crash(backend, dtype, data):
    """sample_weight, class_weight, dropout and update_dropout of any kind, with near-valid
    data: a clear error and an unchanged network, or a finite fit."""
    net = small_net(backend, dtype, kind=data.draw(st.sampled_from(["l2", "ce", "bce"]), label="kind"))
    X, y = data.draw(near_valid_data(net), label="X, y")
    n = len(np.atleast_2d(np.asarray(X)))
    if data.draw(st.booleans(), label="valid options"):
        rates = st.floats(0, 0.9)
        weights = st.one_of(st.none(), st.lists(st.floats(0, 3), min_size=n, max_size=n))
        classes = st.one_of(st.none(), st.just("balanced"), st.dictionaries(st.integers(0, 1), st.floats(0, 3)))
    else:
        junk = st.one_of(st.none(), st.text(max_size=2), st.booleans(), python_objects)
        rates = st.one_of(st.floats(-0.5, 1.5), st.sampled_from([0.0, 0.5, 0.999, NAN, INF]), junk)
        weights = st.one_of(arrays(n), st.lists(rates, min_size=n, max_size=n), junk)
        classes = st.one_of(junk, st.dictionaries(st.one_of(st.integers(-1, 3), st.text(max_size=1)), rates))
    kwargs = dict(
        sample_weight=data.draw(weights, label="sample_weight"),
        class_weight=data.draw(classes, label="class_weight"),
        dropout=data.draw(st.one_of(rates, st.lists(rates, min_size=1, max_size=2)), label="dropout"),
        update_dropout=data.draw(rates, label="update_dropout"),
        batch_size=data.draw(st.sampled_from([1, 2, None]), label="batch_size"),
        optimizer=data.draw(st.sampled_from(["sgd", "adam"]), label="optimizer"),
    )
    before = snapshot(net)
    history = _assert_step_outcome(net, before, lambda: net.fit(X, y, epochs=2, eta=0.01, **kwargs))
    if history is not None:
        assert len(history.loss) == 2 and all(math.isfinite(v) for v in history.loss)


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_hypothesis_set_weights_never_crashes(dtype, data):
    net = small_net("cython", dtype)
    shapes = [W.shape for W in net.weights]
    f64 = _elements(np.dtype(np.float64))
    right_shapes = st.tuples(*(hnp.arrays(np.float64, s, elements=f64) for s in shapes))
    cast = st.sampled_from(["float64", "float32", "int32", "complex128", "O", "U8"])
    weights = data.draw(
        st.one_of(
            st.lists(st.one_of(arrays(4), *(hnp.arrays(np.float64, s, elements=f64) for s in shapes)), max_size=3),
            st.builds(lambda ws, dt: [w.astype(dt) for w in ws], right_shapes, cast),
            python_objects,
        ),
        label="weights",
    )
    before = snapshot(net)
    try:
        net.set_weights(weights)
    except OK_ERRORS:
        assert_unchanged(net, before)
        return
    assert np.isfinite(net.params).all()
    for W, w in zip(net.weights, weights):
        np.testing.assert_array_equal(W, np.asarray(w).astype(net.dtype))


@pytest.mark.filterwarnings("error")
def test_the_finiteness_check_by_sum_is_exact():
    """X is checked by its sum, which is finite only when every entry is; a sum that is not
    (infinities of both signs, or finite values whose sum overflows) decides entry by entry,
    and warns of nothing."""
    from fastmlp._checks import all_finite

    big = np.full((4, 3), 3e38, dtype=np.float32)  # finite, but its float32 sum overflows
    assert all_finite(big) and all_finite(-big) and all_finite(np.full((2, 2), 1e308))
    for bad in (INF, -INF, NAN):
        for dtype in (np.float32, np.float64):
            X = np.ones((3, 3), dtype=dtype)
            X[2, 1] = bad
            assert not all_finite(X)
    both = np.array([[INF, -INF]])  # their sum is NaN
    assert not all_finite(both)
    net = fm.MLP([3, 2], loss="cross_entropy", dtype="float32", seed=0)
    assert feeding.inputs(net, big)[0] is big  # accepted as it is: nothing is non-finite
    with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
        net.fit(np.array([[INF, -INF, 0.0]]), [0], epochs=1)


@pytest.mark.parametrize("labels", [np.uint8, np.int64, np.float64])
def test_class_labels_of_any_real_dtype_encode_alike(labels):
    net = fm.MLP([2, 4], loss="cross_entropy", seed=0)
    y = np.array([3, 0, 2, 2, 1], dtype=labels)
    np.testing.assert_array_equal(feeding.data(net, np.zeros((5, 2)), y)[1], np.eye(4)[[3, 0, 2, 2, 1]])
