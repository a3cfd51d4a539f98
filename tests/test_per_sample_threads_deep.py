"""Per-sample SGD split between threads on networks with several hidden layers, and with
update dropout: every hidden layer's units split between the threads, against the reference
adding each layer's sums in the same parts, against one thread, and run to run."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import reference
from fastmlp._engine import per_sample_threads
from fastmlp._errors import DivergenceError
from fastmlp._kernels import _core

from conftest import cython_variants
from test_per_sample_threads import fit_case
from test_per_sample_threads import assert_the_threads_agree_with_the_reference

SIZES = (7, 24, 40, 3)

# Two and three hidden layers (one exchange of sums per layer above the first, one of deltas
# per hidden layer above the first), mixed activations, each output/loss pair, penalties,
# dropout, sample weights, every per-sample optimizer and update dropout (each thread freezing
# its own weights).
CASES = [
    dict(activation="tanh", loss="cross_entropy"),
    dict(activation=["relu", "tanh"], loss="l2"),
    dict(activation=["sigmoid", fm.activation("elu", alpha=0.7)], loss="binary_cross_entropy"),
    dict(activation=["tanh", fm.activation("leaky_relu", alpha=0.1), "sigmoid"], loss="l2", output="tanh",
         sizes=(7, 20, 30, 18, 3)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(l2=1e-2, l1=1e-3)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(dropout=[0.3, 0.1])),
    dict(activation="relu", loss="cross_entropy", fit=dict(dropout=0.2, weighted=True), sizes=(7, 20, 30, 18, 3)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(optimizer="momentum", momentum=0.8)),
    dict(activation="relu", loss="l2", fit=dict(optimizer="nesterov", momentum=0.8, l2=1e-2, eta=0.01)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(optimizer="adam", eta=0.01, l2=1e-2, l1=1e-4)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(optimizer="adam", eta=0.01, dropout=0.2, weighted=True),
         sizes=(7, 20, 30, 18, 3)),
    # a first hidden layer narrower than a cache line per thread: some threads own none of it
    dict(activation="tanh", loss="cross_entropy", sizes=(7, 6, 40, 3)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(optimizer="adam", eta=0.01), sizes=(7, 40, 6, 3)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(update_dropout=0.3)),
    dict(activation="relu", loss="l2", fit=dict(update_dropout=0.2, dropout=0.2, l2=1e-2, eta=0.01), sizes=(7, 20, 30, 18, 3)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(optimizer="adam", eta=0.01, update_dropout=0.3)),
    dict(activation="tanh", loss="cross_entropy", fit=dict(optimizer="momentum", update_dropout=0.3),
         sizes=(7, 24, 3)),
]


@pytest.fixture(autouse=True)
def split_at_the_tests_scale(monkeypatch):
    """The tests' networks are small: they split from 20,000 multiply-adds per thread and
    exchange and 8 units per thread (the machine's own thresholds are measured for speed)."""
    monkeypatch.setattr(per_sample_threads, "MIN_WORK_PER_THREAD", 20_000)
    monkeypatch.setattr(per_sample_threads, "MIN_UNITS_PER_THREAD", 8)


def _id(case):
    return "-".join(str(v) for v in case.values()).replace(" ", "")


@pytest.fixture
def split_any_width(monkeypatch):
    """Split even the small networks the reference can train quickly."""
    monkeypatch.setattr(per_sample_threads, "MIN_WORK_PER_THREAD", 0)
    monkeypatch.setattr(per_sample_threads, "MIN_UNITS_PER_THREAD", 0)


def _fit(case, backend, n_threads, dtype="float64", epochs=2):
    return fit_case(case, backend, n_threads, dtype=dtype, sizes=case.get("sizes", SIZES), epochs=epochs)


@pytest.mark.parametrize("n_threads", [2, 3])
@pytest.mark.parametrize("case", CASES, ids=_id)
@pytest.mark.parametrize("backend", cython_variants())
def test_deep_threads_agree_with_the_reference_in_their_summation_order(backend, case, n_threads,
                                                                        split_any_width):
    assert_the_threads_agree_with_the_reference(case, backend, n_threads, case.get("sizes", SIZES))


def test_the_reference_adds_each_layers_sums_in_the_parts_of_the_layer_below():
    # s^(l) for l >= 2 summed part by part over layer l-1's units, bias in the first part:
    # the same value as the plain sum to rounding, and exactly the parts' sum.
    rng = np.random.default_rng(2)
    sizes = [3, 5, 4, 2]
    W = [[list(rng.normal(size=b)) for _ in range(a + 1)] for a, b in zip(sizes, sizes[1:])]
    thetas = [fm.activation("tanh")] * 2 + [fm.activation("identity")]
    parts = [[0, 2, 5], [0, 1, 3, 4]]
    s, x = reference.forward(W, thetas, list(rng.normal(size=3)), parts=parts)
    plain, _ = reference.forward(W, thetas, x[0])
    for l in (2, 3):
        b = parts[l - 2]
        for j in range(sizes[l]):
            P = [sum((W[l - 1][i][j] * x[l - 1][i - 1] for i in range(lo + 1, hi + 1)),
                     W[l - 1][0][j] if t == 0 else 0.0) for t, (lo, hi) in enumerate(zip(b, b[1:]))]
            expected = P[0]
            for P_t in P[1:]:
                expected += P_t
            assert s[l - 1][j] == expected
    assert s[0] == plain[0]
    np.testing.assert_allclose(s[2], plain[2], rtol=1e-14)


@pytest.mark.parametrize("case", [CASES[0], CASES[7], CASES[9]], ids=["sgd", "momentum", "adam"])
@pytest.mark.parametrize("backend", cython_variants())
def test_deep_float32_threads_agree_with_the_reference_and_one_thread(backend, case, split_any_width):
    case = dict(case, sizes=(7, 64, 48, 3))
    net, history = _fit(case, backend, 2, dtype="float32", epochs=1)
    twin, _ = _fit(case, "reference", 2, dtype="float32", epochs=1)
    one, one_history = _fit(case, backend, 1, dtype="float32", epochs=1)
    assert history.threads == 2 and one_history.threads == 1
    np.testing.assert_allclose(net.params, twin.params, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net.params, one.params, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_threads", [2, 3])
def test_deep_threads_agree_with_one_thread_to_rounding(dtype, n_threads, split_any_width):
    case = dict(CASES[0], sizes=(7, 100, 60, 30, 4))
    net, history = _fit(case, "cython", n_threads, dtype=dtype)
    one, _ = _fit(case, "cython", None, dtype=dtype)
    assert history.threads == n_threads
    tolerance = 1e-12 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(net.params, one.params, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adam"])
def test_deep_the_same_seed_and_threads_give_the_same_bits_every_run(kind):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 50)).astype(np.float32), rng.integers(0, 10, 300)
    runs = []
    for _ in range(5):
        net = fm.MLP([50, 256, 128, 10], loss="cross_entropy", dtype="float32", seed=3, n_threads=2)
        history = net.fit(X, y, epochs=2, batch_size=1, eta=0.01, seed=4, optimizer=kind, dropout=0.1,
                          update_dropout=0.1)
        assert history.threads == 2 and not history.notes
        runs.append(net.params.copy())
    assert all(np.array_equal(runs[0], other) for other in runs[1:])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_a_divergence_on_threads_of_a_deep_network_puts_the_weights_back(optimizer, split_any_width):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 7)), rng.integers(0, 3, 40)
    net = fm.MLP([7, 24, 40, 3], activation="relu", loss="l2", seed=0, n_threads=2)
    before = net.params.copy()
    with pytest.raises(DivergenceError):
        net.fit(X * 1e3, np.eye(3)[y] * 1e30, epochs=3, batch_size=1, eta=10.0, optimizer=optimizer)
    assert np.array_equal(net.params, before)


def test_a_deep_network_too_narrow_for_its_exchanges_runs_on_one_thread_and_says_so():
    # 30-64-64-10 has 6,914 weights, 20,742 multiply-adds per sample: enough for 2 threads
    # with one exchange, not with the three its two hidden layers take.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 30)), rng.integers(0, 10, 30)
    nets = [fm.MLP([30, 64, 64, 10], loss="cross_entropy", seed=0, n_threads=k) for k in (2, 1)]
    histories = [net.fit(X, y, epochs=1, batch_size=1, eta=0.05, seed=1) for net in nets]
    assert histories[0].threads == 1 and len(histories[0].notes) == 1
    assert "too narrow for 2 threads" in histories[0].notes[0] and "3 exchanges" in histories[0].notes[0]
    assert np.array_equal(nets[0].params, nets[1].params)


def test_the_kernels_refuse_a_softmax_hidden_layer_and_split_every_other_depth():
    codes, softmax = _core.ACTIVATION_CODES, _core.ACTIVATION_CODES["softmax"]
    loss = _core.LOSS_CODES["cross_entropy"]
    coupled = _core.Architecture([4, 8, 8, 3], [codes["tanh"], softmax, softmax], np.zeros((3, 4)), loss)
    assert "softmax" in _core.split_supported(coupled)
    deep = _core.Architecture([4, 8, 8, 8, 3], [codes["tanh"]] * 3 + [softmax], np.zeros((4, 4)), loss)
    assert _core.split_supported(deep) is None
    flat = _core.Architecture([4, 3], [softmax], np.zeros((1, 4)), loss)
    assert "no hidden layer" in _core.split_supported(flat)
    X, Y = np.zeros((2, 4)), np.eye(3)[:2]
    with _core.Team(2) as team, pytest.raises(ValueError, match="no hidden layer"):
        _core.split_sgd_epoch(team, flat, np.zeros(flat.n_params), X, Y, np.arange(2), 0.1)

