"""Hypothesis: arbitrary arrays and Python objects thrown at every entry point never crash
the interpreter and never corrupt the model."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastmlp as fm
from fastmlp._engine import feeding
from conftest import (
    array_elements,
    arrays,
    assert_unchanged,
    BACKENDS,
    DTYPES,
    FLOAT32_OVERFLOW_WARNINGS,
    INF,
    NAN,
    small_net,
    snapshot,
)

pytestmark = FLOAT32_OVERFLOW_WARNINGS

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
    f64 = array_elements(np.dtype(np.float64))
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
