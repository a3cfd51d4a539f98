"""Learning-rate schedules: fit trains each epoch at the schedule's rate, a schedule sees the
epoch and the history, and bad schedules and values are refused naming the epoch."""
import functools
import math

import pytest

import conftest
from fastmlp import schedules
from conftest import assert_weights_equal, LOSSES, make_data, make_net


SIZES = [3, 4, 2]

N = 12

L2, L2_TANH, CE_LABELS, BCE = LOSSES[0], LOSSES[1], LOSSES[3], LOSSES[5]

net_and_data = functools.partial(conftest.net_and_data, case=L2_TANH, sizes=SIZES, n=N)


def test_fit_trains_each_epoch_at_the_schedules_rate(backend):
    """A scheduled fit is the sequence of one-epoch fits at the scheduled rates."""
    net, X, y = net_and_data(backend)
    steps = net.copy()
    schedule = schedules.step_decay(0.2, factor=0.5, every=1)
    hist = net.fit(X, y, epochs=3, eta=schedule, shuffle=False)
    assert hist.eta == [0.2, 0.1, 0.05]
    for eta in hist.eta:
        steps.partial_fit(X, y, eta=eta, shuffle=False)
    assert_weights_equal(net.weights, steps.weights)


def test_user_schedule_sees_the_epoch_and_history(backend):
    net, X, y = net_and_data(backend)
    seen = []

    def schedule(t, history):
        seen.append((t, history.epochs, list(history.loss)))
        return 0.01 * (t + 1)

    hist = net.fit(X, y, epochs=3, eta=schedule)
    assert hist.eta == pytest.approx([0.01, 0.02, 0.03])
    assert [s[:2] for s in seen] == [(0, 0), (1, 1), (2, 2)]
    assert seen[2][2] == hist.loss[:2]


@pytest.mark.parametrize(
    "value, exc, match",
    [(math.nan, ValueError, r"eta for epoch 3 \(the schedule's value at t=2\) must be a finite number >= 0, got nan"),
     (-0.5, ValueError, r"eta for epoch 3 .* got -0\.5"),
     (math.inf, ValueError, r"eta for epoch 3"),
     ("0.1", TypeError, r"eta for epoch 3"),
     (None, TypeError, r"eta for epoch 3")],
)
def test_bad_schedule_value_names_the_epoch(backend, value, exc, match):
    net, X, y = net_and_data(backend)
    twin = net.copy()
    with pytest.raises(exc, match=match):
        net.fit(X, y, epochs=5, seed=1, eta=lambda t, history: 0.1 if t < 2 else value)
    twin.fit(X, y, epochs=2, seed=1, eta=0.1)
    assert_weights_equal(net.weights, twin.weights)  # the two good epochs were kept


def test_schedule_value_must_fit_the_dtype():
    net = make_net(SIZES, dtype="float32")
    X, y = make_data(SIZES, L2, 4, 0)
    with pytest.raises(ValueError, match=r"eta for epoch 1 .* overflows float32"):
        net.fit(X, y, epochs=1, eta=lambda t, history: 1e39)


@pytest.mark.parametrize(
    "make, exc, match",
    [(lambda: schedules.constant(-1), ValueError, r"eta must be a finite number >= 0"),
     (lambda: schedules.inverse_scaling(math.nan), ValueError, r"eta must be a finite number"),
     (lambda: schedules.inverse_scaling(0.1, power=-1), ValueError, r"power must be a finite number >= 0"),
     (lambda: schedules.step_decay(0.1, factor=0), ValueError, r"factor must lie in \(0, 1\]"),
     (lambda: schedules.step_decay(0.1, factor=1.5), ValueError, r"factor must lie in \(0, 1\]"),
     (lambda: schedules.step_decay(0.1, every=0), ValueError, r"every must be a positive integer"),
     (lambda: schedules.step_decay(0.1, every=2.5), ValueError, r"every must be a positive integer"),
     (lambda: schedules.adaptive(0.1, factor=1), ValueError, r"factor must be > 1"),
     (lambda: schedules.adaptive(0.1, patience=0), ValueError, r"patience must be a positive integer"),
     (lambda: schedules.adaptive(0.1, tol=-1e-3), ValueError, r"tol must be a finite number >= 0"),
     (lambda: schedules.adaptive("0.1"), TypeError, r"eta must be a finite number")],
)
def test_schedules_check_their_parameters(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
