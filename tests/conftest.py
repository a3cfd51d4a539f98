"""Shared fixtures and helpers for the fastmlp test suite.

Every behavioural test runs over both backends (the Cython kernels and the pure-Python
reference) and, where it makes sense, over both dtypes. The reference is plain Python, so
the networks and data sets used with it stay small.

Test modules import the helpers below with ``from conftest import ...`` (pytest puts this
directory on sys.path because it is not a package).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import fastmlp as fm
from fastmlp._engine.optimizers import KINDS as _OPTIMIZER_KINDS
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# -- hypothesis profiles -------------------------------------------------------------------
# "ci" (the default) keeps the property tests short and repeatable; "thorough" runs many
# more, fresh examples each time. HYPOTHESIS_PROFILE=thorough selects it, and so does a run
# of the slow tests (pytest -m slow), which then includes every property test.

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True, suppress_health_check=_QUIET)
settings.register_profile("thorough", max_examples=500, deadline=None, suppress_health_check=_QUIET)


def _runs_slow_tests(config) -> bool:
    expression = config.option.markexpr or ""
    return "slow" in expression and "not slow" not in expression


def pytest_configure(config):
    # Before the test modules are imported: settings(...) objects made there inherit the profile.
    profile = os.environ.get("HYPOTHESIS_PROFILE") or ("thorough" if _runs_slow_tests(config) else "ci")
    settings.load_profile(profile)
    config.thorough = profile == "thorough"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # A slow run with the thorough profile includes the property tests (marked before -m selects).
    if config.thorough and _runs_slow_tests(config):
        for item in items:
            if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
                item.add_marker(pytest.mark.slow)


BACKENDS = ("cython", "reference")
DTYPES = ("float64", "float32")


def cython_variants():
    """Every build of the Cython kernels this machine runs (one per instruction set, e.g.
    cython-generic, cython-avx2 and cython-avx512), or just "cython" if the package has only one."""
    try:
        from fastmlp._engine.backends import available
    except ImportError:
        return ["cython"]
    return [name for name in available() if name.startswith("cython-")] or ["cython"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(params=DTYPES)
def dtype(request):
    return request.param


def tolerance(dtype) -> dict:
    """assert_allclose keyword arguments for comparing two computations of the same
    quantity in ``dtype``: ~1e-12 relative for float64, float32's precision for float32."""
    if np.dtype(dtype) == np.float64:
        return {"rtol": 1e-12, "atol": 1e-12}
    return {"rtol": 1e-4, "atol": 1e-5}


@pytest.fixture
def tol(dtype):
    return tolerance(dtype)


# -- the activations and losses every cross-check runs over --------------------------------

# (id, what MLP(activation=...) is given). Parameterised kinds use non-default values so
# that a kernel that ignored its parameters would be caught.
PARAMS = {"leaky_relu": {"alpha": 0.2}, "elu": {"alpha": 0.7}, "maxout": {"a1": 1.3, "b1": 0.2, "a2": -0.4, "b2": 0.1}}
# Every trainable hidden theta of the registry.
HIDDEN = [(name, fm.activation(name, **PARAMS[name]) if name in PARAMS else name)
          for name, kind in fm.activations.KINDS.items() if kind.hidden and kind.trainable]
HIDDEN_IDS = [h[0] for h in HIDDEN]
HIDDEN_SPECS = [h[1] for h in HIDDEN]
# Every optimizer of the registry, by name.
OPTIMIZERS = list(_OPTIMIZER_KINDS)


class LossCase:
    """A loss with its output activation and the shape of targets to feed it."""

    def __init__(self, id, loss, output, targets):
        self.id, self.loss, self.output, self.targets = id, loss, output, targets

    def __repr__(self):
        return self.id

    def make_y(self, rng, n, d_out):
        if self.targets == "real":
            return rng.normal(0.0, 1.0, size=(n, d_out))
        if self.targets == "unit":  # in (-1, 1), reachable by tanh
            return rng.uniform(-0.9, 0.9, size=(n, d_out))
        if self.targets == "labels":
            return rng.integers(0, d_out, size=n)
        if self.targets == "onehot":
            return np.eye(d_out)[rng.integers(0, d_out, size=n)]
        if self.targets == "binary":
            return rng.integers(0, 2, size=(n, d_out)).astype(float)
        raise AssertionError(self.targets)


LOSSES = [
    LossCase("l2-identity", "l2", "identity", "real"),
    LossCase("l2-tanh", "l2", "tanh", "unit"),
    LossCase("l2-sigmoid", "l2", "sigmoid", "binary"),
    LossCase("ce-labels", "cross_entropy", "softmax", "labels"),
    LossCase("ce-onehot", "cross_entropy", "softmax", "onehot"),
    LossCase("bce-multi", "binary_cross_entropy", "sigmoid", "binary"),
]
LOSS_IDS = [c.id for c in LOSSES]


def random_weights(sizes, seed, scale=0.6):
    """Random W^(1..L) (biases included, so that row 0 matters) as float64 arrays."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0.0, scale, size=(a + 1, b)) for a, b in zip(sizes, sizes[1:])]


def make_net(sizes, activation="tanh", case=None, dtype="float64", backend="cython", seed=0, weights=None):
    """An MLP with random (or the given) weights; ``case`` is a LossCase (default l2-identity)."""
    case = case or LOSSES[0]
    net = fm.MLP(sizes, activation=activation, output=case.output, loss=case.loss, dtype=dtype,
                 seed=seed, backend=backend)
    net.set_weights(weights if weights is not None else random_weights(sizes, seed))
    return net


def small_net(backend="cython", dtype="float64", kind="l2", seed=0):
    """A small network: d = 3 -> 4 -> K. kind picks the loss (and so the output)."""
    if kind == "l2":
        return fm.MLP([3, 4, 2], activation="tanh", loss="l2", dtype=dtype, seed=seed, backend=backend)
    if kind == "l2_1":
        return fm.MLP([3, 4, 1], activation="tanh", loss="l2", dtype=dtype, seed=seed, backend=backend)
    if kind == "ce":
        return fm.MLP([3, 4, 3], activation="tanh", loss="cross_entropy", dtype=dtype, seed=seed, backend=backend)
    if kind == "bce":
        return fm.MLP(
            [3, 4, 2], activation="tanh", loss="binary_cross_entropy", dtype=dtype, seed=seed, backend=backend
        )
    raise AssertionError(kind)


def net_and_data(backend="cython", dtype="float64", case=None, sizes=(3, 4, 2), n=12, seed=0, activation="tanh"):
    """A network (make_net) and n samples of training data (make_data) for it. A test module
    sets its own defaults with functools.partial; pytest 7 would run a module-level function
    named ``setup`` as the module's setup, hence the name."""
    case = case or LOSSES[0]
    return (make_net(sizes, activation, case, dtype=dtype, backend=backend, seed=seed),
            *make_data(sizes, case, n, seed))


def three_classes(n=16, d=4, seed=0):
    """n samples of d standard normal inputs, each labelled 0, 1 or 2 at random."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, 3, n)


def make_data(sizes, case, n, seed):
    rng = np.random.default_rng(seed + 1000)
    X = rng.normal(0.0, 1.0, size=(n, sizes[0]))
    return X, case.make_y(rng, n, sizes[-1])


def twin(net, backend=None, dtype=None):
    """The same network (architecture and weights) on another backend or dtype."""
    other = fm.MLP(net.sizes, activation=list(net.activations[:-1]), output=net.activations[-1],
                   loss=net.loss.name, dtype=dtype or net.dtype, seed=0,
                   backend=backend or net.backend.name)
    other.set_weights([np.asarray(W, dtype=np.float64) for W in net.weights])
    return other


def assert_weights_close(a, b, **tol):
    assert len(a) == len(b)
    for l, (Wa, Wb) in enumerate(zip(a, b), start=1):
        np.testing.assert_allclose(Wa, Wb, err_msg=f"W^({l})", **tol)


def assert_weights_equal(a, b):
    assert len(a) == len(b)
    for l, (Wa, Wb) in enumerate(zip(a, b), start=1):
        np.testing.assert_array_equal(Wa, Wb, err_msg=f"W^({l})")


def snapshot(net):
    return {
        "params": net.params.tobytes(),
        "dtype": net.params.dtype.str,
        "shape": net.params.shape,
        "weights": [W.tobytes() for W in net.weights],
        "rng": repr(net.rng.bit_generator.state),
    }


def assert_unchanged(net, before):
    __tracebackhide__ = True
    after = snapshot(net)
    assert after["dtype"] == before["dtype"] and after["shape"] == before["shape"]
    assert after["params"] == before["params"], "a failed call changed the weights"
    assert after["weights"] == before["weights"]
    assert after["rng"] == before["rng"], "a failed call consumed the network's random generator"
    for W in net.weights:
        assert np.shares_memory(W, net.params), "weights are no longer views into params"


def rejects(net, call, exc, match):
    """call() raises exc with a message matching ``match`` and leaves net unchanged."""
    __tracebackhide__ = True
    before = snapshot(net)
    with pytest.raises(exc, match=match):
        call()
    assert_unchanged(net, before)


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


X_LAYOUTS = layouts(X4)


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


XS = np.arange(24, dtype=np.float64).reshape(12, 2)


YS = np.array([0, 1, 2] * 4)


_FLOAT_BOUND = {2: 6e4, 4: 1e6, 8: 1e6}


def array_elements(dtype):
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
    a = draw(hnp.arrays(dtype, shape, elements=array_elements(dtype)))
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


# Casting 1e300 to float32 warns before the library rejects it; the warning is expected
# (pytestmark of the modules that throw such values at the API).
FLOAT32_OVERFLOW_WARNINGS = [
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning"),
]
