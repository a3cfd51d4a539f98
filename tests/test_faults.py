"""Faults around the kernels: a user's callback or schedule that raises, and sizes or
batches too large for the machine's memory."""
import numpy as np
import pytest

import fastmlp as fm

from fastmlp._engine import memory  # what the system has, patched below
from conftest import LOSSES, make_data, make_net, rejects

SIZES = [3, 5, 2]
CASE = LOSSES[1]  # l2 with tanh outputs


class Boom(Exception):
    """Raised by the test's callbacks and schedules: no part of fastmlp raises it."""


def problem(backend):
    net = make_net(SIZES, "tanh", CASE, backend=backend, seed=0)
    X, y = make_data(SIZES, CASE, 16, seed=0)
    return net, X, y


def snapshot(net):
    moments = None if net.optimizer is None else (net.optimizer.m.copy(), net.optimizer.v.copy(), net.optimizer.t)
    return net.params.copy(), repr(net.rng.bit_generator.state), moments


def assert_state(net, expected):
    params, rng, moments = expected
    np.testing.assert_array_equal(net.params, params)
    assert repr(net.rng.bit_generator.state) == rng
    if moments is None:
        return
    np.testing.assert_array_equal(net.optimizer.m, moments[0])
    np.testing.assert_array_equal(net.optimizer.v, moments[1])
    assert net.optimizer.t == moments[2]


# (id, fit options): each kind of fit the callback and schedule paths run through.
KINDS = [
    ("per-sample", dict(batch_size=1)),
    ("minibatch", dict(batch_size=4)),
    ("full-batch", dict(batch_size=None)),
    ("adam", dict(batch_size=4, optimizer="adam")),
    ("validation+early-stopping", dict(batch_size=2, validation_fraction=0.25, early_stopping=True, patience=50)),
    ("lbfgs", dict(solver="lbfgs")),
]


@pytest.mark.parametrize("error", [Boom, StopIteration], ids=["Boom", "StopIteration"])
@pytest.mark.parametrize("options", [k[1] for k in KINDS], ids=[k[0] for k in KINDS])
def test_a_raising_callback_propagates_unchanged_with_the_history_and_the_last_epochs_weights(backend, options,
                                                                                              error):
    # StopIteration too: scipy's L-BFGS ends quietly when its callback raises it; fit must not.
    net, X, y = problem(backend)
    boom, kept = error("stop here"), []

    def callback(epoch, history):
        kept.append(snapshot(net))
        if epoch == 3:
            raise boom

    with pytest.raises(error) as info:
        net.fit(X, y, epochs=10, eta=0.05, callback=callback, **options)
    assert info.value is boom and info.value.args == ("stop here",)
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert isinstance(info.value.history, fm.History)
    assert info.value.history.epochs == 3 == len(kept)
    assert_state(net, kept[-1])  # the weights the third epoch left, not a later or a restored set
    assert np.isfinite(net.forward(X)).all()


@pytest.mark.parametrize("options", [k[1] for k in KINDS[:5]], ids=[k[0] for k in KINDS[:5]])
def test_a_raising_schedule_propagates_unchanged_with_the_history_and_the_last_epochs_weights(backend, options):
    net, X, y = problem(backend)
    boom, kept = Boom("no rate for epoch 3"), []

    def schedule(t, history):
        if t == 2:
            raise boom
        return 0.05

    with pytest.raises(Boom) as info:
        net.fit(X, y, epochs=10, eta=schedule, callback=lambda epoch, history: kept.append(snapshot(net)),
                **options)
    assert info.value is boom
    assert info.value.history.epochs == 2 == len(kept)
    assert_state(net, kept[-1])  # nor has the shuffle of the epoch that never ran been drawn


def test_a_schedule_value_that_is_not_a_rate_stops_after_the_finished_epochs(backend):
    net, X, y = problem(backend)
    kept = []
    with pytest.raises(ValueError, match=r"eta for epoch 3") as info:
        net.fit(X, y, epochs=10, eta=lambda t, history: 0.05 if t < 2 else float("nan"),
                callback=lambda epoch, history: kept.append(snapshot(net)))
    assert info.value.history.epochs == 2
    assert_state(net, kept[-1])


def test_a_callback_that_interrupts_partial_fit_carries_its_history(backend):
    net, X, y = problem(backend)
    kept = []

    def callback(epoch, history):
        kept.append(snapshot(net))
        raise Boom

    with pytest.raises(Boom) as info:
        net.partial_fit(X, y, eta=0.05, callback=callback)
    assert info.value.history.epochs == 1
    assert_state(net, kept[-1])


# -- sizes too large for memory ------------------------------------------------------------------


def test_a_network_too_large_to_allocate_raises_memory_error():
    # 10^12 weights of 8 bytes, and as much again for initialise's float64 draw of W^(1)
    with pytest.raises(MemoryError, match=r"MLP\(\[1000000, 1000000, 10\]\) \(float64\) needs 14\.6 TiB"):
        fm.MLP([10**6, 10**6, 10])
    with pytest.raises(MemoryError):
        fm.MLP([10**7, 10**7, 10**7, 1], dtype="float32")


def test_inputs_too_large_to_copy_raise_memory_error_and_change_nothing():
    net = fm.MLP([784, 16, 10], loss="cross_entropy", seed=0)
    huge = np.broadcast_to(np.ones(784, dtype=np.float32), (10**9, 784))  # 784 * 10^9 * 8 bytes as float64
    labels = np.zeros(10**9, dtype=np.intp)
    for call in (lambda: net.forward(huge), lambda: net.predict(huge), lambda: net.fit(huge, labels),
                 lambda: net.sgd_step(huge, labels, 0.1), lambda: net.gradient(huge, labels)):
        rejects(net, call, MemoryError, r"a copy of X as float64 needs 5\.7 TiB")


@pytest.fixture
def little_memory(monkeypatch):
    """The system reports 100 MiB available (fastmlp._engine.memory reads it from /proc/meminfo)."""
    if memory.available() is None:
        pytest.skip("the available memory is not known on this system")
    monkeypatch.setattr(memory, "available", lambda: 100 * 2**20)


def test_the_weights_must_fit_in_the_memory_available(little_memory):
    # (4001 * 4000 + 4001 * 10) weights of 8 bytes, and 8 bytes for each of W^(1)'s in the draw
    with pytest.raises(MemoryError, match=r"MLP\(\[4000, 4000, 10\]\) \(float64\) needs 244\.5 MiB of memory, "
                                          r"and 100\.0 MiB is available"):
        fm.MLP([4000, 4000, 10])
    assert fm.MLP([4000, 2000, 10], dtype="float32").params.nbytes == 32_088_040  # 91.7 MiB with the draw


def test_steps_and_outputs_must_fit_in_the_memory_available(backend, little_memory, monkeypatch):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(2000, 100)), rng.integers(0, 10, 2000)
    net = fm.MLP([100, 2000, 10], loss="cross_entropy", seed=0, backend=backend)
    with monkeypatch.context() as allowed:
        # a full-batch step in one kernel call holds five values per unit and row: 5 * 2000 * 2110 * 8 bytes
        allowed.setattr(fm._engine.feeding, "WORK_PER_CALL", 10**15)
        rejects(net, lambda: net.fit(X, y, batch_size=None), MemoryError, r"a step of 2000 samples")
        rejects(net, lambda: net.sgd_step(X, y, 0.1), MemoryError, r"a step of 2000 samples")
        net.fit(X[:50], y[:50], epochs=1, batch_size=None)  # a smaller batch fits
    if backend == "cython":  # taken in parts of 500 rows, the step needs a quarter
        monkeypatch.setattr(fm._engine.feeding, "LONGEST_CALL", 500 * 3 * net.params.size)
        net.sgd_step(X, y, 0.1)
    wide = fm.MLP([1, 10], activation="identity", backend=backend)
    column = np.zeros((2 * 10**6, 1))
    rejects(wide, lambda: wide.forward(column), MemoryError, r"the outputs of 2000000 samples needs 152\.6 MiB")
