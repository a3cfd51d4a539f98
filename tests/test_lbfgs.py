"""fit(..., solver="lbfgs"): scipy's L-BFGS-B on the full-batch mean loss of the kernels."""
import functools
import numpy as np
import pytest

import fastmlp as fm
import conftest
from conftest import LOSSES, assert_weights_close, twin

SIZES = [2, 4, 1]
L2, CE_LABELS = LOSSES[0], LOSSES[3]


net_and_data = functools.partial(conftest.net_and_data, case=L2, sizes=SIZES, n=10)


def test_backends_agree():
    net, X, y = net_and_data("cython")
    ref = twin(net, backend="reference")
    h = net.fit(X, y, epochs=15, solver="lbfgs")
    r = ref.fit(X, y, epochs=15, solver="lbfgs")
    assert h.epochs == r.epochs == 15
    np.testing.assert_allclose(h.loss, r.loss, rtol=1e-8)
    assert_weights_close(net.weights, ref.weights, rtol=1e-7, atol=1e-9)


def test_one_history_entry_per_iteration_at_the_iterate(backend, dtype):
    net, X, y = net_and_data(backend, dtype=dtype)
    at_iterate = []
    hist = net.fit(X, y, epochs=8, solver="lbfgs", callback=lambda e, h: at_iterate.append(net.loss_value(X, y)))
    assert hist.epochs == len(at_iterate) == 8 and hist.eta == []
    np.testing.assert_allclose(hist.loss, at_iterate, rtol=1e-12 if dtype == "float64" else 1e-5)
    assert all(b <= a for a, b in zip(hist.loss, hist.loss[1:]))  # the line search only accepts descent
    assert net.loss_value(X, y) == pytest.approx(hist.loss[-1], rel=1e-12 if dtype == "float64" else 1e-5)


def test_beats_a_few_sgd_epochs_on_a_small_regression(backend):
    net, X, y = net_and_data(backend, n=20)
    sgd = net.copy()
    start = net.loss_value(X, y)
    net.fit(X, y, epochs=40, solver="lbfgs")
    sgd.fit(X, y, epochs=5, batch_size=None, eta=0.1)
    assert net.loss_value(X, y) < sgd.loss_value(X, y) < start
    # near a minimum: the gradient has all but vanished
    assert max(np.abs(g).max() for g in net.gradient(X, y)[1]) < 0.05 * max(np.abs(g).max() for g in sgd.gradient(X, y)[1])


def test_classification_with_validation_and_early_stopping(backend):
    net, X, y = net_and_data(backend, case=CE_LABELS, sizes=[2, 4, 3], n=30)
    kept = []
    hist = net.fit(X, y, epochs=100, solver="lbfgs", validation_data=(X[:8], (y[:8] + 1) % 3), early_stopping=True,
                   patience=2, callback=lambda e, h: kept.append(net.params.copy()))
    assert hist.stopped_epoch == hist.epochs < 100 and len(hist.val_loss) == hist.epochs
    assert hist.best_epoch == int(np.argmin(hist.val_loss)) + 1
    np.testing.assert_array_equal(net.params, kept[hist.best_epoch - 1])


def test_divergence_restores_the_weights(backend):
    net, X, y = net_and_data(backend)
    before = net.params.copy()
    with pytest.raises(fm.DivergenceError, match=r"diverged in L-BFGS iteration 1") as info:
        net.fit(X * 1e200, y * 1e200, epochs=5, solver="lbfgs")
    assert info.value.history.epochs == 0
    np.testing.assert_array_equal(net.params, before)
