"""Per-sample SGD split between threads (n_threads with batch_size=1): the threaded kernel
against the reference adding the output sums in the same parts, against one thread, run to
run, and the fits that stay on one thread and say so."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import reference
from fastmlp._engine import per_sample_threads
from fastmlp._errors import DivergenceError
from fastmlp._kernels import _core
from fastmlp.estimators import MLPClassifier

from conftest import cython_variants

# Every unit-by-unit hidden activation, each output/loss pair, the penalties, dropout, sample
# weights and every per-sample optimizer.
CASES = [
    dict(activation="tanh", loss="cross_entropy"),
    dict(activation="relu", loss="l2"),
    dict(activation="sigmoid", loss="binary_cross_entropy"),
    dict(activation=fm.activation("leaky_relu", alpha=0.1), loss="l2", output="tanh"),
    dict(activation=fm.activation("elu", alpha=0.7), loss="cross_entropy"),
    dict(activation="identity", loss="l2"),
    dict(activation="tanh", loss="cross_entropy", fit=dict(l2=1e-2, l1=1e-3)),
    dict(activation="relu", loss="l2", fit=dict(l2=1e-2)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(dropout=0.3)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(weighted=True)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(optimizer="momentum", momentum=0.8)),
    dict(activation="relu", loss="l2", fit=dict(optimizer="nesterov", momentum=0.8, l2=1e-2, eta=0.01)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(optimizer="momentum", l1=1e-3)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(optimizer="adam", eta=0.01)),
    dict(activation="sigmoid", loss="binary_cross_entropy", fit=dict(optimizer="adam", eta=0.01, l2=1e-2, l1=1e-4)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(optimizer="adam", eta=0.01, dropout=0.2, weighted=True)),
]


@pytest.fixture(autouse=True)
def split_at_the_tests_scale(monkeypatch):
    """The tests' networks are small: they split from 20,000 multiply-adds per thread and
    exchange and 8 units per thread (the machine's own thresholds are measured for speed)."""
    monkeypatch.setattr(per_sample_threads, "MIN_WORK_PER_THREAD", 20_000)
    monkeypatch.setattr(per_sample_threads, "MIN_UNITS_PER_THREAD", 8)


@pytest.fixture
def split_any_width(monkeypatch):
    """Split even the small networks the reference can train quickly."""
    monkeypatch.setattr(per_sample_threads, "MIN_WORK_PER_THREAD", 0)
    monkeypatch.setattr(per_sample_threads, "MIN_UNITS_PER_THREAD", 0)


def _data(n=48, d_in=7, d_out=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_in))
    y = rng.integers(0, d_out, n)
    return X, y, rng.uniform(0.5, 2.0, n)


def fit_case(case, backend, n_threads, dtype="float64", sizes=(7, 40, 3), epochs=2, seed=0):
    options = dict(case.get("fit", {}))
    X, y, weight = _data(d_in=sizes[0], d_out=sizes[-1])
    if case["loss"] == "binary_cross_entropy":
        y = (np.arange(len(X))[:, None] + np.arange(sizes[-1])) % 2
    elif case["loss"] == "l2":
        y = np.eye(sizes[-1])[y]
    if options.pop("weighted", False):
        options["sample_weight"] = weight
    options.setdefault("eta", 0.05)
    net = fm.MLP(list(sizes), activation=case["activation"], output=case.get("output"), loss=case["loss"],
                 dtype=dtype, seed=seed, backend=backend, n_threads=n_threads)
    history = net.fit(X.astype(dtype), y, epochs=epochs, batch_size=1, seed=seed + 1, **options)
    return net, history


@pytest.mark.parametrize("n_threads", [2, 3])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
@pytest.mark.parametrize("backend", cython_variants())
def test_the_threads_agree_with_the_reference_in_their_summation_order(backend, case, n_threads, split_any_width):
    assert_the_threads_agree_with_the_reference(case, backend, n_threads)


def assert_the_threads_agree_with_the_reference(case, backend, n_threads, sizes=(7, 40, 3)):
    """The case fitted on ``backend``'s n_threads and by the reference in their parts: the
    same weights, losses and optimizer state to 1e-12 (float64, two epochs)."""
    net, history = fit_case(case, backend, n_threads, sizes=sizes)
    twin, twin_history = fit_case(case, "reference", n_threads, sizes=sizes)
    assert history.threads == twin_history.threads == n_threads and not history.notes
    np.testing.assert_allclose(net.params, twin.params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(history.loss, twin_history.loss, rtol=1e-12)
    if net.optimizer is not None:
        np.testing.assert_allclose(net.optimizer.m, twin.optimizer.m, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(net.optimizer.v, twin.optimizer.v, rtol=1e-12, atol=1e-12)
        assert net.optimizer.t == twin.optimizer.t == 2 * 48


@pytest.mark.parametrize("case", CASES[:1] + CASES[10:11] + CASES[13:14], ids=["sgd", "momentum", "adam"])
@pytest.mark.parametrize("backend", cython_variants())
def test_float32_threads_agree_with_the_reference_and_one_thread(backend, case, split_any_width):
    net, history = fit_case(case, backend, 2, dtype="float32", sizes=(7, 64, 3), epochs=1)
    twin, _ = fit_case(case, "reference", 2, dtype="float32", sizes=(7, 64, 3), epochs=1)
    one, one_history = fit_case(case, backend, 1, dtype="float32", sizes=(7, 64, 3), epochs=1)
    assert history.threads == 2 and one_history.threads == 1
    np.testing.assert_allclose(net.params, twin.params, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net.params, one.params, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_threads_agree_with_one_thread_to_rounding(dtype, split_any_width):
    case = CASES[0]
    net, _ = fit_case(case, "cython", 2, dtype=dtype, sizes=(7, 100, 4))
    one, _ = fit_case(case, "cython", None, dtype=dtype, sizes=(7, 100, 4))
    tolerance = 1e-12 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(net.params, one.params, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_the_same_seed_and_threads_give_the_same_bits_every_run(kind):
    X, y, _ = _data(n=400, d_in=50, d_out=10)
    runs = []
    for _ in range(5):
        net = fm.MLP([50, 256, 10], loss="cross_entropy", dtype="float32", seed=3, n_threads=2)
        history = net.fit(X.astype(np.float32), y, epochs=2, batch_size=1, eta=0.01, seed=4, optimizer=kind)
        assert history.threads == 2
        runs.append(net.params.copy())
    assert all(np.array_equal(runs[0], other) for other in runs[1:])


@pytest.mark.parametrize("hidden", [["tanh"], ["tanh", "relu"]], ids=["one-hidden-layer", "two"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", [None, "momentum", "nesterov", "adam"])
def test_a_team_of_one_is_the_one_thread_kernel_bit_for_bit(dtype, kind, hidden):
    rng = np.random.default_rng(5)
    codes = [_core.ACTIVATION_CODES[name] for name in hidden + ["softmax"]]
    arch = _core.Architecture([30, 50, 40][: len(hidden) + 1] + [4], codes, np.zeros((len(codes), 4)),
                              _core.LOSS_CODES["cross_entropy"])
    X = rng.normal(size=(80, 30)).astype(dtype)
    Y = np.eye(4, dtype=dtype)[rng.integers(0, 4, 80)]
    order = rng.permutation(80).astype(np.intp)
    start = (rng.normal(size=arch.n_params) * 0.1).astype(dtype)
    results = []
    for split in (False, True):
        params, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
        with _core.Team(1) as team:
            if kind is None:
                out = (_core.split_sgd_epoch(team, arch, params, X, Y, order, 0.05, 1e-3) if split
                       else _core.sgd_epoch(arch, params, X, Y, order, 0.05, 1e-3))
            else:
                settings = (kind, 0.01, 1e-3, 0.0, 0.9, 0.9, 0.999, 1e-8, m, v, 0)
                out = (_core.split_optimizer_epoch(team, arch, params, X, Y, order, *settings) if split
                       else _core.optimizer_epoch(arch, params, X, Y, order, 1, *settings))
        results.append((out, params, m, v))
    (out, params, m, v), (split_out, split_params, split_m, split_v) = results
    assert out == split_out
    assert np.array_equal(params, split_params) and np.array_equal(m, split_m) and np.array_equal(v, split_v)


def test_the_kernels_and_the_reference_split_the_units_alike():
    for units in (1, 10, 16, 33, 128, 1000):
        for T in (1, 2, 3, 4, 8):
            for itemsize in (4, 8):
                parts = _core.split_of(units, T, itemsize)
                assert parts == reference.split_of(units, T, itemsize)
                assert parts[0] == 0 and parts[-1] == units and parts == sorted(parts)
                # whole cache lines, except the last part's end
                assert all(b * itemsize % 64 == 0 for b in parts[:-1])


def test_a_team_starts_its_threads_and_closes_once_or_twice():
    team = _core.Team(3)
    assert team.size == (3 if _core.have_threads() else 1)
    team.close()
    team.close()
    assert team.size == 1
    with pytest.raises(ValueError, match="at least one thread"):
        _core.Team(0)


def test_without_n_threads_per_sample_sgd_is_one_thread_bit_for_bit():
    case = CASES[0]
    default, history = fit_case(case, "cython", None, sizes=(7, 512, 3))
    one, _ = fit_case(case, "cython", 1, sizes=(7, 512, 3))
    assert np.array_equal(default.params, one.params)
    assert history.threads == 1 and not history.notes


@pytest.mark.parametrize("sizes, options, why", [
    ((64, 32, 10), {}, "too narrow for 2 threads"),
])
def test_what_the_split_cannot_train_runs_on_one_thread_and_says_so(sizes, options, why):
    X, y, _ = _data(n=30, d_in=sizes[0], d_out=sizes[-1])
    nets = [fm.MLP(list(sizes), loss="cross_entropy", seed=0, n_threads=k) for k in (2, 1)]
    histories = [net.fit(X, y, epochs=1, batch_size=1, eta=0.05, seed=1, **options) for net in nets]
    assert histories[0].threads == 1 and len(histories[0].notes) == 1 and why in histories[0].notes[0]
    assert "n_threads=2" in histories[0].notes[0]
    assert np.array_equal(nets[0].params, nets[1].params)


def test_minibatches_keep_their_blas_threads_and_no_note():
    X, y, _ = _data(n=40, d_in=30, d_out=10)
    history = fm.MLP([30, 600, 10], loss="cross_entropy", seed=0, n_threads=2).fit(X, y, epochs=1, batch_size=8)
    assert history.threads == 1 and not history.notes


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_a_divergence_on_threads_puts_the_weights_back(optimizer, split_any_width):
    X, y, _ = _data(n=40, d_in=7, d_out=3)
    net = fm.MLP([7, 64, 3], activation="relu", loss="l2", seed=0, n_threads=2)
    before = net.params.copy()
    with pytest.raises(DivergenceError):
        net.fit(X * 1e3, np.eye(3)[y] * 1e30, epochs=3, batch_size=1, eta=10.0, optimizer=optimizer)
    assert np.array_equal(net.params, before)


def test_the_estimators_n_threads_splits_their_per_sample_steps(monkeypatch):
    seen = []
    plan = per_sample_threads.plan

    def spy(net, X, batch_size):
        seen.append(plan(net, X, batch_size))
        return seen[-1]

    monkeypatch.setattr(per_sample_threads, "plan", spy)
    X, y, _ = _data(n=60, d_in=30, d_out=3)
    fits = []
    for n_threads in (2, None):
        est = MLPClassifier(hidden_layer_sizes=(600,), solver="sgd", batch_size=1, max_iter=2, random_state=0,
                               momentum=0.0, n_threads=n_threads)
        with pytest.warns(Warning):
            fits.append(est.fit(X, y))
        assert est.net_.n_threads == n_threads
    # One team per fit, for all its epochs.
    assert seen == [(2, None), (1, None)]
    np.testing.assert_allclose(fits[0].coefs_[0], fits[1].coefs_[0], rtol=1e-10, atol=1e-12)


def test_after_ctrl_c_the_threads_leave_whole_steps_and_a_matching_optimizer_state():
    # A Ctrl-C lands between kernel calls, as on one thread: the weights, Adam's moments and
    # its count t are those of the first t samples of the epoch, bit for bit.
    import os
    import signal
    import threading

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200_000, 64)).astype(np.float32), rng.integers(0, 10, 200_000)
    net = fm.MLP([64, 256, 10], loss="cross_entropy", dtype="float32", seed=0, n_threads=2)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt) as caught:
            net.fit(X, y, epochs=1, batch_size=1, optimizer="adam", seed=1, eta=0.001)
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert caught.value.history.threads == 2
    t = net.optimizer.t
    assert 0 < t < len(X), "the Ctrl-C came after the epoch"
    order = np.random.default_rng(1).permutation(len(X))[:t]
    twin = fm.MLP([64, 256, 10], loss="cross_entropy", dtype="float32", seed=0, n_threads=2)
    twin.fit(X[order], y[order], epochs=1, batch_size=1, optimizer="adam", shuffle=False, eta=0.001)
    assert twin.optimizer.t == t
    np.testing.assert_array_equal(twin.params, net.params)
    np.testing.assert_array_equal(twin.optimizer.m, net.optimizer.m)
    np.testing.assert_array_equal(twin.optimizer.v, net.optimizer.v)


@pytest.mark.skipif(not _core.have_threads(), reason="this build has no threads")
def test_more_threads_than_a_team_holds_run_on_those_it_holds_and_say_so():
    X, y, _ = _data(n=20, d_in=100, d_out=10)
    net = fm.MLP([100, 4096, 10], loss="cross_entropy", dtype="float32", seed=0, n_threads=65)
    history = net.fit(X.astype(np.float32), y, epochs=1, batch_size=1, eta=0.01)
    assert history.threads == 64 and len(history.notes) == 1 and "ran on 64 threads" in history.notes[0]
