"""fit refuses bad hyperparameters and data before anything changes; a fit that
diverges keeps its last good epoch and the generator."""
from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from conftest import (
    assert_unchanged,
    BACKENDS,
    BAD_ETA,
    DTYPES,
    FLOAT32_OVERFLOW_WARNINGS,
    INF,
    NAN,
    rejects,
    small_net,
    snapshot,
    X4,
    Y4,
)

pytestmark = FLOAT32_OVERFLOW_WARNINGS

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
