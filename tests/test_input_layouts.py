"""The same numbers in any layout or dtype (lists, Fortran order, strided, read-only,
integers) give every entry point the same answer, and the kernels get C-contiguous arrays
of the network's dtype."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from fastmlp.datasets import train_test_split
from conftest import (
    arrays,
    assert_unchanged,
    BACKENDS,
    DTYPES,
    FLOAT32_OVERFLOW_WARNINGS,
    layouts,
    small_net,
    snapshot,
    X4,
    X_LAYOUTS,
    XS,
    Y4,
    YS,
)

pytestmark = FLOAT32_OVERFLOW_WARNINGS

LAYOUT_NAMES = sorted(X_LAYOUTS)


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


def test_train_test_split_same_answer_for_every_layout():
    want = train_test_split(XS, YS, test_fraction=0.5, seed=2)
    assert len(want[1]) == 6 and sorted(want[3].tolist()) == [0, 0, 1, 1, 2, 2]
    label_forms = {"list": YS.tolist(), "int8": YS.astype(np.int8), "strided": np.repeat(YS, 3)[::3], "float": YS.astype(float)}
    for name, X in layouts(XS).items():
        got = train_test_split(X, label_forms.get(name, YS), test_fraction=0.5, seed=2)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(np.asarray(a, dtype=np.float64), b, err_msg=name)
