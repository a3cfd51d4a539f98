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
