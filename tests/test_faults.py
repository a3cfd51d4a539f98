"""Faults around the kernels: a user's callback or schedule that raises, and sizes or
batches too large for the machine's memory."""
import numpy as np
import pytest

import fastmlp as fm

from conftest import LOSSES, make_data, make_net

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


@pytest.mark.parametrize("options", [k[1] for k in KINDS], ids=[k[0] for k in KINDS])
def test_a_raising_callback_propagates_unchanged_with_the_history_and_the_last_epochs_weights(backend, options):
    net, X, y = problem(backend)
    boom, kept = Boom("stop here"), []

    def callback(epoch, history):
        kept.append(snapshot(net))
        if epoch == 3:
            raise boom

    with pytest.raises(Boom) as info:
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
