"""Losses and their targets: class labels against one-hot rows, binary cross-entropy's
targets, and targets the network refuses."""
from __future__ import annotations

import functools

import numpy as np
import pytest

import fastmlp as fm
from fastmlp._engine import feeding
import conftest
from conftest import (
    assert_weights_equal,
    BACKENDS,
    DTYPES,
    FLOAT32_OVERFLOW_WARNINGS,
    INF,
    layouts,
    LOSS_IDS,
    LOSSES,
    make_data,
    make_net,
    NAN,
    rejects,
    small_net,
    tolerance,
    X4,
    X_LAYOUTS,
    Y4,
)

pytestmark = FLOAT32_OVERFLOW_WARNINGS

LABELS4 = np.array([0, 2, 1, 2])


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


@pytest.mark.parametrize("labels", [np.uint8, np.int64, np.float64])
def test_class_labels_of_any_real_dtype_encode_alike(labels):
    net = fm.MLP([2, 4], loss="cross_entropy", seed=0)
    y = np.array([3, 0, 2, 2, 1], dtype=labels)
    np.testing.assert_array_equal(feeding.data(net, np.zeros((5, 2)), y)[1], np.eye(4)[[3, 0, 2, 2, 1]])


def big_output_net(case, backend, dtype, big=1000.0):
    """A 2-3-3 network whose output pre-activations are about (+big, -big, 0)."""
    net = fm.MLP([2, 3, 3], activation="tanh", output=case.output, loss=case.loss, dtype=dtype, backend=backend)
    W1 = np.array([[0.0, 0.0, 0.0], [0.1, -0.2, 0.3], [0.2, 0.1, -0.1]])
    W2 = np.array([[big, -big, 0.0], [0.5, -0.5, 0.5], [0.2, 0.3, -0.4], [0.1, 0.1, 0.1]])
    net.set_weights([W1, W2])
    return net


X_SMALL = np.array([[0.3, -0.2], [-0.1, 0.4]])


@pytest.mark.parametrize("big", [1000.0, 1e4])
def test_softmax_cross_entropy_is_stable_at_large_s(backend, dtype, big):
    net = big_output_net(LOSSES[3], backend, dtype, big)
    t = net.trace(X_SMALL[0], 0)  # the right class has s = +big: loss ~ 0
    assert np.isfinite(t.x[-1]).all() and t.loss >= 0 and t.loss < 1e-6
    np.testing.assert_allclose(t.x[-1], [1.0, 0.0, 0.0], atol=1e-6)
    t = net.trace(X_SMALL[0], 1)  # the right class has s = -big: loss ~ 2 big
    s = t.s[-1].astype(np.float64)
    assert t.loss == pytest.approx(s[0] - s[1], rel=1e-5)
    np.testing.assert_allclose(t.delta[-1], [1.0, -1.0, 0.0], atol=1e-6)
    loss, grads = net.gradient(X_SMALL, [1, 2])
    assert np.isfinite(loss) and loss > big
    for g in grads:
        assert np.isfinite(g).all()
    assert np.isfinite(net.forward(X_SMALL)).all()
    net.sgd_step(X_SMALL, [1, 2], 1e-3)
    assert np.isfinite(net.params).all()


@pytest.mark.parametrize("big", [1000.0, 1e4])
def test_sigmoid_binary_cross_entropy_is_stable_at_large_s(backend, dtype, big):
    net = big_output_net(LOSSES[5], backend, dtype, big)
    # targets agree with the signs of s: loss ~ 0, delta ~ 0 on the big units
    t = net.trace(X_SMALL[0], [1.0, 0.0, 1.0])
    assert np.isfinite(t.loss) and 0 <= t.loss < 1.0
    np.testing.assert_allclose(t.x[-1][:2], [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(t.delta[-1][:2], [0.0, 0.0], atol=1e-6)
    # targets disagree: loss ~ |s| on each big unit, delta = x - y = (+-1)
    t = net.trace(X_SMALL[0], [0.0, 1.0, 0.0])
    s = t.s[-1].astype(np.float64)
    expected = s[0] - s[1] + np.logaddexp(0, s[2])
    assert t.loss == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(t.delta[-1][:2], [1.0, -1.0], atol=1e-6)
    loss, grads = net.gradient(X_SMALL, [[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    assert np.isfinite(loss) and loss > big / 2
    for g in grads:
        assert np.isfinite(g).all()
    np.testing.assert_array_equal(net.predict(X_SMALL)[:, :2], [[1, 0], [1, 0]])


SIZES = [3, 4, 2]

N = 12

L2, L2_TANH, CE_LABELS, BCE = LOSSES[0], LOSSES[1], LOSSES[3], LOSSES[5]

net_and_data = functools.partial(conftest.net_and_data, case=L2_TANH, sizes=SIZES, n=N)


@pytest.mark.parametrize("case", LOSSES, ids=LOSS_IDS)
def test_loss_value_is_the_mean_of_the_per_sample_losses(backend, dtype, case):
    net = make_net(SIZES, "tanh", case, dtype=dtype, backend=backend)
    X, y = make_data(SIZES, case, 5, 0)
    before = net.params.copy()
    expected = np.mean([net.trace(X[k], y[k]).loss for k in range(5)])
    assert net.loss_value(X, y) == pytest.approx(expected, rel=tolerance(dtype)["rtol"])
    np.testing.assert_array_equal(net.params, before)


def test_loss_value_checks_its_input():
    net, X, y = net_and_data("cython")
    rejects(net, lambda: net.loss_value(X[:, :2], y), ValueError, r"X has shape")
    rejects(net, lambda: net.loss_value(X, y[:3]), ValueError, r"y has shape")


L2, L2_TANH, CE_LABELS, CE_ONEHOT, BCE = LOSSES[0], LOSSES[1], LOSSES[3], LOSSES[4], LOSSES[5]


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 3, 1, 2, 3, 0], dtype=np.int64),
        np.array([0, 3, 1, 2, 3, 0], dtype=np.int8),
        np.array([0, 3, 1, 2, 3, 0], dtype=np.uint8),
        np.array([0, 3, 1, 2, 3, 0], dtype=np.int32),
        [0, 3, 1, 2, 3, 0],
        np.array([0.0, 3.0, 1.0, 2.0, 3.0, 0.0]),
        np.array([3, 3, 3, 3, 3, 3]),  # classes need not all appear
        np.array([0, 0, 0, 0, 0, 0]),
    ],
    ids=["int64", "int8", "uint8", "int32", "list", "whole-floats", "only-last", "only-first"],
)
def test_cross_entropy_takes_integer_labels(backend, labels):
    sizes = [3, 4, 4]
    net = make_net(sizes, "tanh", CE_LABELS, backend=backend, seed=1)
    X, _ = make_data(sizes, CE_LABELS, 6, 1)
    onehot = np.eye(4)[np.asarray(labels, dtype=np.int64)]
    loss_l, grad_l = net.gradient(X, labels)
    loss_o, grad_o = net.gradient(X, onehot)
    assert loss_l == loss_o
    assert_weights_equal(grad_l, grad_o)
    P = net.forward(X)
    expected_loss = -np.mean(np.log(P[np.arange(6), np.asarray(labels, dtype=np.int64)]))
    assert loss_l == pytest.approx(expected_loss, rel=1e-12)
    t = net.trace(X[1], labels[1])
    np.testing.assert_allclose(t.delta[-1], P[1] - onehot[1], rtol=1e-12, atol=1e-15)
    a, b = net.copy(), net.copy()
    a.fit(X, labels, epochs=2, eta=0.1, seed=0)
    b.fit(X, onehot, epochs=2, eta=0.1, seed=0)
    assert_weights_equal(a.weights, b.weights)


@pytest.mark.parametrize("bad", [4, -1, 100])
def test_cross_entropy_label_out_of_range(backend, bad):
    net = make_net([3, 4, 4], "tanh", CE_LABELS, backend=backend)
    X, _ = make_data([3, 4, 4], CE_LABELS, 3, 0)
    before = net.params.copy()
    with pytest.raises(ValueError):
        net.fit(X, [0, bad, 1], epochs=1)
    np.testing.assert_array_equal(net.params, before)
