"""Pickling: networks and perceptrons travel through pickle (joblib, multiprocessing, Dask)
bit-exact, optimizer state included, and train on exactly as the original would."""
import pickle

import numpy as np
import pytest

import fastmlp as fm
from fastmlp._engine import backends as _backends

import conftest
from conftest import cython_variants

BACKENDS = [*cython_variants(), "reference"]


data = conftest.three_classes


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "momentum"])
def test_an_unpickled_network_trains_on_exactly_as_the_original(backend, dtype, optimizer):
    X, y = data(24)
    net = fm.MLP([4, 5, 3], activation=fm.activation("leaky_relu", alpha=0.2), loss="cross_entropy", dtype=dtype,
                 seed=1, backend=backend)
    net.fit(X, y, epochs=2, batch_size=4, eta=0.05, optimizer=optimizer, dropout=0.2)
    clone = pickle.loads(pickle.dumps(net, protocol=pickle.HIGHEST_PROTOCOL))
    assert repr(clone) == repr(net) and clone.backend.name == net.backend.name
    np.testing.assert_array_equal(clone.params, net.params)
    np.testing.assert_array_equal(clone.forward(X), net.forward(X))
    for W, V in zip(clone.weights, clone.weights[1:]):
        assert np.shares_memory(W, clone.params) and np.shares_memory(V, clone.params)
    if optimizer != "sgd":
        np.testing.assert_array_equal(clone.optimizer.m, net.optimizer.m)
        assert clone.optimizer.m is not net.optimizer.m and clone.optimizer.t == net.optimizer.t
    # The generator travels too, so the next shuffles and masks are the same.
    for model in (net, clone):
        model.fit(X, y, epochs=2, batch_size=4, eta=0.05, optimizer=optimizer, dropout=0.2)
    np.testing.assert_array_equal(clone.params, net.params)
    clone.sgd_step(X[0], y[0], eta=0.1, optimizer=optimizer)
    assert not np.array_equal(clone.params, net.params)  # independent buffers


def test_copy_is_the_same_as_a_pickle_round_trip():
    X, y = data(24)
    net = fm.MLP([4, 5, 3], loss="cross_entropy", seed=2)
    net.fit(X, y, epochs=1, optimizer="adam")
    twin = net.copy()
    assert twin.optimizer is not net.optimizer and twin.rng is not net.rng
    for model in (net, twin):
        model.fit(X, y, epochs=1, optimizer="adam")
    np.testing.assert_array_equal(twin.params, net.params)


def test_a_network_pickled_with_a_build_this_machine_lacks_loads_with_the_best_it_has(monkeypatch):
    net = fm.MLP([4, 3, 2], seed=0, backend=cython_variants()[-1])
    blob = pickle.dumps(net)
    monkeypatch.setattr(_backends, "available", lambda: ["cython-generic", "reference"])
    monkeypatch.setattr(_backends, "available_isas", lambda: ["generic"])
    clone = pickle.loads(blob)
    assert clone.backend.name == "cython-generic"
    np.testing.assert_allclose(clone.forward(np.ones(4)), net.forward(np.ones(4)), rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_perceptron_pickles(backend):
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.2]])
    y = np.array(["no", "yes", "no", "yes"])
    p = fm.Perceptron(seed=0, backend=backend).fit(X, y)
    q = pickle.loads(pickle.dumps(p))
    np.testing.assert_array_equal(q.w, p.w)
    assert q.backend.name == p.backend.name and list(q.predict(X)) == list(p.predict(X))
    for model in (p, q):
        model.fit(X[::-1], y[::-1])
    np.testing.assert_array_equal(q.w, p.w)
