"""Training semantics: what an epoch, a step and a minibatch are, determinism, targets and
predictions, the history, divergence, threads, and one real data set."""
import functools
import threading

import numpy as np
import pytest

import fastmlp as fm
import conftest
from conftest import (
    LOSSES,
    assert_weights_close,
    assert_weights_equal,
    make_data,
    make_net,
    tolerance,
    twin,
)

SIZES = [3, 5, 4, 2]
N = 10
L2, L2_TANH, CE_LABELS, CE_ONEHOT, BCE = LOSSES[0], LOSSES[1], LOSSES[3], LOSSES[4], LOSSES[5]
CASES = pytest.mark.parametrize("case", [L2_TANH, CE_LABELS, BCE], ids=lambda c: c.id)


net_and_data = functools.partial(conftest.net_and_data, case=L2_TANH, sizes=SIZES, n=N)


def exact_or_close(a, b, backend, dtype):
    """Equal bit for bit where the same arithmetic runs in the same order; the reference
    backend computes float32 networks in double within an epoch, so there: float32 close."""
    if backend == "cython" or np.dtype(dtype) == np.float64:
        assert_weights_equal(a, b)
    else:
        assert_weights_close(a, b, **tolerance(dtype))


# -- an epoch is a sequence of steps --------------------------------------------------------


@CASES
def test_per_sample_epoch_is_a_sequence_of_sgd_steps(backend, dtype, case):
    net, X, y = net_and_data(backend, dtype, case=case)
    steps = net.copy()
    hist = net.fit(X, y, epochs=2, batch_size=1, eta=0.1, shuffle=False)
    losses = []
    for epoch in range(2):
        losses.append([steps.sgd_step(X[k], y[k], 0.1) for k in range(N)])
    exact_or_close(net.weights, steps.weights, backend, dtype)
    np.testing.assert_allclose(hist.loss, np.mean(losses, axis=1), **tolerance(dtype))


@CASES
@pytest.mark.parametrize("batch_size", [3, 4])
def test_minibatch_epoch_is_a_sequence_of_minibatch_steps(backend, dtype, case, batch_size):
    net, X, y = net_and_data(backend, dtype, case=case)
    steps = net.copy()
    hist = net.fit(X, y, epochs=1, batch_size=batch_size, eta=0.1, shuffle=False)
    total = 0.0
    for start in range(0, N, batch_size):  # the last batch is what is left over
        sl = slice(start, start + batch_size)
        total += steps.sgd_step(X[sl], y[sl], 0.1) * len(X[sl])
    # (a lone last sample goes through the per-sample kernel in sgd_step, through the
    # batched one in fit: the same sums in another order, hence close rather than equal)
    assert_weights_close(net.weights, steps.weights, **tolerance(dtype))
    assert hist.loss[0] == pytest.approx(total / N, rel=tolerance(dtype)["rtol"])


@CASES
def test_minibatch_step_uses_mean_of_per_sample_gradients(backend, dtype, case):
    net, X, y = net_and_data(backend, dtype, case=case)
    before = [W.astype(np.float64) for W in net.weights]
    traces = [net.trace(X[k], y[k]) for k in range(N)]
    mean_grad = [np.mean([t.grad[l].astype(np.float64) for t in traces], axis=0) for l in range(net.L)]
    mean_loss = np.mean([t.loss for t in traces])
    loss, grad = net.gradient(X, y)
    assert loss == pytest.approx(mean_loss, rel=tolerance(dtype)["rtol"])
    assert_weights_close(grad, mean_grad, **tolerance(dtype))
    eta = 0.3
    step_loss = net.sgd_step(X, y, eta)
    assert step_loss == pytest.approx(mean_loss, rel=tolerance(dtype)["rtol"])  # loss before the update
    expected = [W - eta * G for W, G in zip(before, mean_grad)]
    assert_weights_close(net.weights, expected, **tolerance(dtype))
    # not the sum of the gradients
    assert not np.allclose(net.weights[0], before[0] - eta * N * mean_grad[0], rtol=1e-3)


def test_float32_training_tracks_float64(backend):
    for batch_size in (1, 4):
        net64, X, y = net_and_data(backend, "float64", case=L2_TANH)
        net32 = twin(net64, dtype="float32")
        assert net32.dtype == np.float32 and net32.params.dtype == np.float32
        h64 = net64.fit(X, y, epochs=3, batch_size=batch_size, eta=0.1, seed=1)
        h32 = net32.fit(X, y, epochs=3, batch_size=batch_size, eta=0.1, seed=1)
        assert net32.params.dtype == np.float32 and net32.forward(X).dtype == np.float32
        assert_weights_close(net32.weights, net64.weights, **tolerance("float32"))
        np.testing.assert_allclose(h32.loss, h64.loss, **tolerance("float32"))
        assert not np.array_equal(net32.params, net64.params.astype(np.float32))  # really float32


@pytest.mark.parametrize("batch_size", [1, 3, None])
def test_each_sample_is_seen_once_per_epoch(backend, batch_size):
    """With eta = 0 the weights stay put, so an epoch's loss is the mean loss over the data
    exactly when every sample is visited once (shuffled or not)."""
    net, X, y = net_and_data(backend, "float64", case=CE_LABELS)
    before = net.params.copy()
    mean_loss = net.gradient(X, y)[0]
    hist = net.fit(X, y, epochs=3, batch_size=batch_size, eta=0.0, shuffle=True, seed=4)
    np.testing.assert_allclose(hist.loss, [mean_loss] * 3, rtol=1e-12)
    np.testing.assert_array_equal(net.params, before)


# -- determinism ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 4])
def test_same_seed_gives_identical_training(backend, dtype, batch_size):
    X, y = make_data(SIZES, L2_TANH, N, 0)
    runs = []
    for _ in range(2):
        net = fm.MLP(SIZES, activation="tanh", output="tanh", dtype=dtype, seed=42, backend=backend)
        hist = net.fit(X, y, epochs=3, batch_size=batch_size, eta=0.1)  # shuffles with the net's generator
        hist2 = net.fit(X, y, epochs=2, batch_size=batch_size, eta=0.1, seed=9)
        runs.append((net.params.copy(), hist.loss + hist2.loss))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    # another shuffling seed takes another path (so the seed is really used)
    net = fm.MLP(SIZES, activation="tanh", output="tanh", dtype=dtype, seed=42, backend=backend)
    net.fit(X, y, epochs=3, batch_size=batch_size, eta=0.1, seed=1)
    net.fit(X, y, epochs=2, batch_size=batch_size, eta=0.1, seed=9)
    assert not np.array_equal(net.params, runs[0][0])


def test_construction_seed_fixes_initial_weights(backend):
    a = fm.MLP([4, 6, 3], seed=5, backend=backend)
    b = fm.MLP([4, 6, 3], seed=5, backend=backend)
    c = fm.MLP([4, 6, 3], seed=6, backend=backend)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    assert all(np.isfinite(W).all() and (W[0] == 0).all() for W in a.weights)  # biases start at 0


def test_copy_is_independent_and_trains_identically(backend):
    net, X, y = net_and_data(backend)
    twin_ = net.copy()
    assert_weights_equal(net.weights, twin_.weights)
    h1 = net.fit(X, y, epochs=2, eta=0.1)  # shuffles with the copied generator state
    h2 = twin_.fit(X, y, epochs=2, eta=0.1)
    assert h1.loss == h2.loss
    assert_weights_equal(net.weights, twin_.weights)
    twin_.sgd_step(X, y, 0.1)
    assert not np.array_equal(net.params, twin_.params)


# -- batch sizes ---------------------------------------------------------------------------


@CASES
def test_batch_size_larger_than_n_is_full_batch(backend, case):
    net, X, y = net_and_data(backend, "float64", case=case)
    full, step = net.copy(), net.copy()
    h_big = net.fit(X, y, epochs=3, batch_size=10 * N, eta=0.2, seed=3)
    h_full = full.fit(X, y, epochs=3, batch_size=None, eta=0.2, seed=3)
    assert_weights_equal(net.weights, full.weights)
    assert h_big.loss == h_full.loss
    # full batch = gradient descent with the mean gradient over all samples
    for _ in range(3):
        loss, grad = step.gradient(X, y)
        step.set_weights([W - 0.2 * G for W, G in zip(step.weights, grad)])
    assert_weights_close(net.weights, step.weights, rtol=1e-12, atol=1e-13)


def test_full_batch_with_one_sample(backend):
    net, X, y = net_and_data(backend, n=1)
    steps = net.copy()
    net.fit(X, y, epochs=2, batch_size=None, eta=0.1)
    steps.sgd_step(X, y, 0.1)
    steps.sgd_step(X, y, 0.1)
    assert_weights_equal(net.weights, steps.weights)


# -- targets and predictions ---------------------------------------------------------------


def test_predict_classification_and_regression(backend, dtype):
    X, _ = make_data([3, 4, 4], CE_LABELS, 7, 2)
    ce = make_net([3, 4, 4], "tanh", CE_LABELS, dtype=dtype, backend=backend, seed=0)
    labels = ce.predict(X)
    assert labels.shape == (7,) and np.issubdtype(labels.dtype, np.integer)
    np.testing.assert_array_equal(labels, ce.forward(X).argmax(axis=1))
    assert len(set(labels.tolist())) > 1  # the check above is not trivially about one class
    assert ce.predict(X[0]) == labels[0] and np.ndim(ce.predict(X[0])) == 0

    bce1 = make_net([3, 4, 1], "tanh", BCE, dtype=dtype, backend=backend, seed=0)
    p = bce1.forward(X)[:, 0]
    out = bce1.predict(X)
    assert out.shape == (7,) and np.issubdtype(out.dtype, np.integer)
    np.testing.assert_array_equal(out, (p >= 0.5).astype(int))
    assert set(out.tolist()) == {0, 1}

    bce3 = make_net([3, 4, 3], "tanh", BCE, dtype=dtype, backend=backend, seed=0)
    out = bce3.predict(X)
    assert out.shape == (7, 3) and set(np.unique(out)) <= {0, 1}
    np.testing.assert_array_equal(out, (bce3.forward(X) >= 0.5).astype(int))

    reg = make_net([3, 4, 2], "tanh", L2, dtype=dtype, backend=backend, seed=4)
    out = reg.predict(X)
    assert out.dtype == np.dtype(dtype) and out.shape == (7, 2)
    np.testing.assert_array_equal(out, reg.forward(X))


# -- history and callback ------------------------------------------------------------------


@pytest.mark.parametrize("epochs", [1, 4])
def test_history_has_one_entry_per_epoch(backend, epochs):
    net, X, y = net_and_data(backend)
    hist = net.fit(X, y, epochs=epochs, batch_size=2, eta=0.1)
    assert isinstance(hist, fm.History)
    assert hist.epochs == epochs
    assert len(hist.loss) == len(hist.seconds) == len(hist.samples_per_second) == epochs
    assert all(np.isfinite(v) and v >= 0 for v in hist.loss)
    assert all(v >= 0 for v in hist.seconds)
    assert all(v > 0 for v in hist.samples_per_second)


def test_training_reduces_the_loss(backend):
    net, X, y = net_and_data(backend, case=L2_TANH)
    hist = net.fit(X, y, epochs=40, batch_size=1, eta=0.1, seed=0)
    assert hist.loss[-1] < 0.5 * hist.loss[0]


def test_callback_called_once_per_epoch(backend):
    net, X, y = net_and_data(backend)
    calls = []

    def callback(epoch, history):
        calls.append((epoch, history.epochs, list(history.loss), net.params.copy()))

    hist = net.fit(X, y, epochs=5, eta=0.1, seed=0, callback=callback)
    assert [c[0] for c in calls] == [1, 2, 3, 4, 5]
    assert [c[1] for c in calls] == [1, 2, 3, 4, 5]  # called after the epoch was recorded
    assert calls[-1][2] == hist.loss
    np.testing.assert_array_equal(calls[-1][3], net.params)
    assert not np.array_equal(calls[0][3], calls[1][3])  # after the epoch's updates


# -- divergence ----------------------------------------------------------------------------


def diverging_problem(backend, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 3))
    y = rng.normal(size=10) * 1e6  # huge targets and eta = 1: the weights blow up
    net = fm.MLP([3, 4, 1], activation="tanh", dtype=dtype, seed=0, backend=backend)
    return net, X, y


@pytest.mark.parametrize("batch_size", [1, 5])
def test_divergence_raises_and_restores_the_last_good_epoch(backend, dtype, batch_size):
    net, X, y = diverging_problem(backend, dtype)
    snapshots = [net.params.copy()]
    with pytest.raises(fm.DivergenceError):
        net.fit(X, y, epochs=1000, batch_size=batch_size, eta=1.0, seed=0,
                callback=lambda epoch, hist: snapshots.append(net.params.copy()))
    assert np.isfinite(net.params).all()
    np.testing.assert_array_equal(net.params, snapshots[-1])
    assert np.isfinite(net.forward(X)).all()  # the model is still usable


def test_diverging_step_raises_and_leaves_weights(backend, dtype):
    net = fm.MLP([2, 2, 1], activation="identity", dtype=dtype, seed=0, backend=backend)
    # h(x) = 4 big^2 is finite, but 1/2 (h - y)^2 (float64) or the update (float32) overflows
    big = 1e18 if dtype == "float32" else 1e100
    net.set_weights([[[0.0, 0.0], [big, big], [big, big]], [[0.0], [big], [big]]])
    before = net.params.copy()
    with pytest.raises(fm.DivergenceError):
        net.sgd_step([1.0, 1.0], 0.0, 0.1)
    np.testing.assert_array_equal(net.params, before)


# -- threads -------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 32])
def test_two_threads_train_two_models_like_serial(batch_size):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 32))
    y = rng.integers(0, 10, size=3000)

    def make(seed):
        return fm.MLP([32, 32, 10], activation="tanh", loss="cross_entropy", seed=seed)

    serial = [make(1), make(2)]
    for k, net in enumerate(serial):
        net.fit(X, y, epochs=3, batch_size=batch_size, eta=0.05, seed=k)
    parallel = [make(1), make(2)]
    barrier = threading.Barrier(2)
    errors = []

    def work(k):
        try:
            barrier.wait()
            parallel[k].fit(X, y, epochs=3, batch_size=batch_size, eta=0.05, seed=k)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(parallel[0].params, parallel[1].params)


# -- a real data set -----------------------------------------------------------------------


def test_digits_held_out_accuracy():
    from fastmlp.datasets import load_digits, train_test_split

    X, y = load_digits()
    assert X.shape == (1797, 64) and set(np.unique(y)) == set(range(10))
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_fraction=0.25, seed=0)
    assert len(X_train) + len(X_test) == 1797
    net = fm.MLP([64, 64, 10], activation="tanh", loss="cross_entropy", seed=0, backend="cython")
    hist = net.fit(X_train, y_train, epochs=10, batch_size=1, eta=0.05, seed=0)
    assert hist.loss[-1] < hist.loss[0]
    accuracy = np.mean(net.predict(X_test) == y_test)
    assert accuracy >= 0.95
