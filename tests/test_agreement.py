"""The Cython kernels against the pure-Python reference on random small networks of every
hidden activation and every loss: forward, trace, gradient, sgd_step and fit.

Each test runs one scenario (a function of a network and data that records what it sees)
on a Cython network and on its reference twin and compares the records. The reference
records do not depend on which build of the kernels is under test, so they are computed
once per scenario and reused.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastmlp as fm
from conftest import (
    OPTIMIZERS,
    HIDDEN_IDS,
    HIDDEN_SPECS,
    LOSS_IDS,
    LOSSES,
    cython_variants,
    make_data,
    make_net,
    random_weights,
    tolerance,
    twin,
)
from fastmlp._engine import feeding

SIZES = [4, 5, 3, 3]  # two hidden layers, so the delta recursion runs through a hidden theta
N = 10

activations = pytest.mark.parametrize("act", HIDDEN_SPECS, ids=HIDDEN_IDS)
losses = pytest.mark.parametrize("case", LOSSES, ids=LOSS_IDS)


@pytest.fixture(params=cython_variants())
def kernel(request):
    """Which build of the Cython kernels is checked against the reference."""
    return request.param


_REFERENCE_RECORDS = {}


def agree(scenario, act, case, dtype, kernel, seed=0, sizes=SIZES, weights=None):
    """Run ``scenario(net, X, y) -> [(label, value), ...]`` on the Cython network and on the
    reference twin; assert every recorded value agrees to the dtype's tolerance. Returns
    the Cython network and its records."""
    fast = make_net(sizes, act, case, dtype=dtype, backend=kernel, seed=seed, weights=weights)
    assert fast.backend.name.startswith("cython")
    X, y = make_data(sizes, case, N, seed)
    key = (scenario.__name__, repr(act), case.id, str(dtype), seed, tuple(sizes))
    if key not in _REFERENCE_RECORDS:
        ref = twin(fast, backend="reference")
        assert ref.backend.name == "reference"
        _REFERENCE_RECORDS[key] = scenario(ref, X, y)
    expected = _REFERENCE_RECORDS[key]
    got = scenario(fast, X, y)
    assert [label for label, _ in got] == [label for label, _ in expected]
    tol = tolerance(dtype)
    for (label, a), (_, b) in zip(got, expected):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":  # arrays come in the network's dtype
            assert a.dtype == b.dtype == np.dtype(dtype), label
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, label
        np.testing.assert_allclose(a, b, err_msg=label, **tol)
    return fast, got


def weights(net, label):
    return [(f"{label} W^({l})", W.copy()) for l, W in enumerate(net.weights, start=1)]


def forward_scenario(net, X, y):
    return [("forward batch", net.forward(X)), ("forward one", net.forward(X[3])), ("predict", net.predict(X))]


def trace_scenario(net, X, y):
    out = []
    for k in (0, 1, 7):
        t = net.trace(X[k], y[k])
        assert len(t.x) == net.L + 1 and len(t.s) == len(t.delta) == len(t.grad) == net.L
        out.append((f"trace {k} loss", t.loss))
        for name in ("x", "s", "delta", "grad"):
            out += [(f"trace {k} {name}[{l}]", v) for l, v in enumerate(getattr(t, name))]
    return out


def gradient_scenario(net, X, y):
    loss, grads = net.gradient(X, y)
    out = [("mean loss", loss)] + [(f"dl/dW^({l})", g) for l, g in enumerate(grads, start=1)]
    # one sample through the batched path: the same as its trace
    loss_1, grads_1 = net.gradient(X[2:3], y[2:3])
    t = net.trace(X[2], y[2])
    tol = tolerance(net.dtype)
    assert loss_1 == pytest.approx(t.loss, rel=tol["rtol"], abs=tol["atol"])
    for g, tg in zip(grads_1, t.grad):
        np.testing.assert_allclose(g, tg, **tol)
    return out


def sgd_steps_scenario(net, X, y):
    out = []
    for sl in [slice(0, 1), slice(1, 2), slice(2, 6), slice(6, 10), slice(0, 10), slice(5, 6)]:
        out.append((f"loss of step {sl}", net.sgd_step(X[sl], y[sl], 0.05)))
        out += weights(net, f"after step {sl}")
    net.sgd_step(X[3], y[3], 0.05)  # one sample given as 1-d arrays
    return out + weights(net, "after 1-d step")


def fit_scenario(net, X, y):
    out, start = [], net.params.copy()
    for batch_size in (1, 4, None):  # per sample, minibatches with a short last one, full batch
        hist = net.fit(X, y, epochs=3, batch_size=batch_size, eta=0.05, seed=7)
        out.append((f"history batch_size={batch_size}", hist.loss))
        out += weights(net, f"after fit batch_size={batch_size}")
    # training changed something (a broken update that did nothing would agree too)
    assert not np.array_equal(net.params, start)
    return out


@activations
@losses
def test_forward(act, case, dtype, kernel):
    fast, got = agree(forward_scenario, act, case, dtype, kernel)
    assert got[0][1].shape == (N, SIZES[-1])


@activations
@losses
def test_trace(act, case, dtype, kernel):
    agree(trace_scenario, act, case, dtype, kernel)


@activations
@losses
def test_gradient(act, case, dtype, kernel):
    agree(gradient_scenario, act, case, dtype, kernel)


@activations
@losses
def test_sgd_steps(act, case, dtype, kernel):
    agree(sgd_steps_scenario, act, case, dtype, kernel)


@activations
@losses
def test_fit(act, case, dtype, kernel):
    agree(fit_scenario, act, case, dtype, kernel)


MIXED = [
    ["relu", "tanh", fm.activation("elu", alpha=0.5)],
    [fm.activation("maxout", a1=0.5, b1=-0.1, a2=-1.5, b2=0.3), "sigmoid", "identity"],
    [fm.activation("leaky_relu", alpha=0.3), fm.activation("maxout", a1=2.0, b1=0.0, a2=0.5, b2=0.5), "relu"],
]


def mixed_scenario(net, X, y):
    t = net.trace(X[0], y[0])
    loss, grads = net.gradient(X, y)
    out = [("forward", net.forward(X)), ("mean loss", loss)]
    out += [(f"delta[{l}]", d) for l, d in enumerate(t.delta)]
    out += [(f"dl/dW^({l})", g) for l, g in enumerate(grads, start=1)]
    for batch_size in (1, 3):
        net.fit(X, y, epochs=2, batch_size=batch_size, eta=0.05, seed=1)
        out += weights(net, f"after fit batch_size={batch_size}")
    return out


@pytest.mark.parametrize("acts", MIXED, ids=["relu-tanh-elu", "maxout-sigmoid-identity", "leaky-maxout-relu"])
@pytest.mark.parametrize("case", [LOSSES[1], LOSSES[3], LOSSES[5]], ids=lambda c: c.id)
def test_mixed_activation_lists(acts, case, dtype, kernel):
    fast, _ = agree(mixed_scenario, acts, case, dtype, kernel, seed=3, sizes=[3, 6, 5, 4, 3])
    assert [a.name for a in fast.activations[:-1]] == [fm.activation(a).name for a in acts]


def test_mixed_list_differs_from_uniform_activation():
    """A per-layer list is really applied per layer (not its first entry everywhere)."""
    case = LOSSES[0]
    X, _ = make_data([3, 4, 4, 2], case, 5, 0)
    mixed = make_net([3, 4, 4, 2], ["relu", "tanh"], case)
    relu = make_net([3, 4, 4, 2], "relu", case, weights=[W.copy() for W in mixed.weights])
    tanh = make_net([3, 4, 4, 2], "tanh", case, weights=[W.copy() for W in mixed.weights])
    # compute the mixed network by hand
    W1, W2, W3 = mixed.weights
    x1 = np.maximum(0, W1[0] + X @ W1[1:])
    x2 = np.tanh(W2[0] + x1 @ W2[1:])
    expected = W3[0] + x2 @ W3[1:]
    np.testing.assert_allclose(mixed.forward(X), expected, rtol=1e-12, atol=1e-12)
    assert not np.allclose(mixed.forward(X), relu.forward(X))
    assert not np.allclose(mixed.forward(X), tanh.forward(X))


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_forward_more_rows_than_a_chunk(act, kernel):
    """The batched forward pass works in chunks of rows; the seams must not show."""
    case = LOSSES[3]
    sizes = [5, 4, 3]
    fast = make_net(sizes, act, case, backend=kernel, seed=4)
    X, _ = make_data(sizes, case, 1300, 4)
    H = fast.forward(X)
    rows = np.array([fast.forward(x) for x in X[::97]])
    np.testing.assert_allclose(H[::97], rows, rtol=1e-12, atol=1e-12)
    W1, W2 = fast.weights
    theta = np.tanh if act == "tanh" else (lambda s: np.maximum(s, 0))
    S = W2[0] + theta(W1[0] + X @ W1[1:]) @ W2[1:]
    P = np.exp(S - S.max(axis=1, keepdims=True))
    np.testing.assert_allclose(H, P / P.sum(axis=1, keepdims=True), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(fast.predict(X), S.argmax(axis=1))



@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_gradient_more_rows_than_a_chunk(weighted, kernel):
    """The full-batch gradient also works in chunks of rows (64 for this network), each
    adding its share of the mean: over 300 rows, with a short last chunk, it equals the
    reference's, loss included, with and without sample weights."""
    case = LOSSES[3]
    sizes = [5, 4, 3]
    fast = make_net(sizes, "tanh", case, backend=kernel, seed=5)
    assert feeding.architecture(fast).chunk < 300 and 300 % feeding.architecture(fast).chunk
    X, y = make_data(sizes, case, 300, 5)
    c = np.random.default_rng(5).uniform(0.1, 3.0, 300) if weighted else None
    loss, grads = fast.gradient(X, y, sample_weight=c)
    ref_loss, ref_grads = twin(fast, backend="reference").gradient(X, y, sample_weight=c)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=1e-12)
    for got, expected in zip(grads, ref_grads):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)

def single_layer_scenario(net, X, y):
    out = []
    for n in (1, 2, 5):
        out += [(f"forward {n}", net.forward(X[:n])), (f"gradient {n}", net.gradient(X[:n], y[:n])[1][0])]
        net.sgd_step(X[:n], y[:n], 0.3)
        out += weights(net, f"after step {n}")
    return out


@pytest.mark.parametrize("case", [LOSSES[0], LOSSES[3], LOSSES[5]], ids=lambda c: c.id)
def test_network_without_hidden_layer(case, dtype, kernel):
    """L = 1: a single layer of weights (linear, softmax or logistic regression)."""
    agree(single_layer_scenario, "tanh", case, dtype, kernel, seed=1, sizes=[3, 2])


def wide_scenario(net, X, y):
    out = [("forward", net.forward(X))]
    for k in (0, 4):
        t = net.trace(X[k], y[k])
        for name in ("x", "s", "delta", "grad"):
            out += [(f"trace {k} {name}[{l}]", v) for l, v in enumerate(getattr(t, name))]
    out += [(f"dl/dW^({l})", g) for l, g in enumerate(net.gradient(X, y)[1], start=1)]
    for batch_size in (1, 3):
        net.fit(X[:6], y[:6], epochs=1, batch_size=batch_size, eta=0.05, seed=2)
        out += weights(net, f"after fit batch_size={batch_size}")
    return out


@pytest.mark.parametrize("act", ["tanh", "relu", fm.activation("elu", alpha=0.7)], ids=["tanh", "relu", "elu"])
@pytest.mark.parametrize("case", [LOSSES[0], LOSSES[3]], ids=lambda c: c.id)
def test_wide_layers(act, case, dtype, kernel):
    """Widths across the kernels' blocking (blocks of 32 output units in the forward pass,
    8 partial sums in the delta recursion): full blocks, remainders, and both together."""
    sizes = [5, 64, 41, 9]
    rng = np.random.default_rng(5)
    ws = [rng.normal(0.0, 1.0 / np.sqrt(a + 1), size=(a + 1, b)) for a, b in zip(sizes, sizes[1:])]
    agree(wide_scenario, act, case, dtype, kernel, seed=5, sizes=sizes, weights=ws)


@pytest.mark.parametrize("sizes", [[6, 100, 31, 10], [3, 15, 17, 2]], ids=["100-31-10", "15-17-2"])
def test_column_blocks(sizes, dtype, kernel):
    """Widths that the per-sample loops split into column blocks of every width: 100 =
    64 + 32 + 4 (or 3 x 32 + 4), 31 = 16 + 8 + 4 + 2 + 1, 10 = 8 + 2, 15, 17 (or, on
    AVX-512, one block with its last vector masked)."""
    rng = np.random.default_rng(7)
    ws = [rng.normal(0.0, 1.0 / np.sqrt(a + 1), size=(a + 1, b)) for a, b in zip(sizes, sizes[1:])]
    agree(wide_scenario, "tanh", LOSSES[3], dtype, kernel, seed=7, sizes=sizes, weights=ws)


@pytest.mark.parametrize("backend", cython_variants())
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_per_sample_epochs_on_sparse_inputs(backend, dtype):
    # Inputs with many zeros take the kernels' skips (x_i = 0 in the forward sums, the
    # update, and the next sample's sums formed during the update of W^(1)).
    rng = np.random.default_rng(11)
    X = rng.normal(size=(30, 40)) * (rng.uniform(size=(30, 40)) < 0.3)
    y = rng.integers(0, 4, 30)
    nets = [fm.MLP([40, 35, 4], activation="relu", loss="cross_entropy", dtype=dtype, seed=2, backend=b)
            for b in (backend, "reference")]
    hists = [n.fit(X, y, epochs=3, batch_size=1, eta=0.05, seed=3) for n in nets]
    np.testing.assert_allclose(nets[0].params, nets[1].params, **tolerance(dtype))
    np.testing.assert_allclose(hists[0].loss, hists[1].loss, **tolerance(dtype))


# -- hypothesis: any small network, any data, any kind of step ------------------------------


@st.composite
def problems(draw):
    """A random small network (1-3 layers of weights, every hidden activation and loss),
    its weights, data, sample weights or none, and the settings of a short fit."""
    case = draw(st.sampled_from(LOSSES))
    L = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 7), min_size=L + 1, max_size=L + 1))
    if case.loss == "cross_entropy":
        sizes[-1] = max(sizes[-1], 2)
    acts = draw(st.lists(st.sampled_from(HIDDEN_SPECS), min_size=L - 1, max_size=L - 1))
    seed = draw(st.integers(0, 2**16))
    scale = draw(st.sampled_from([0.1, 0.6, 1.0]))
    n = draw(st.integers(1, 9))
    fit = dict(
        batch_size=draw(st.integers(1, n)), eta=draw(st.sampled_from([0.0, 0.01, 0.05])),
        optimizer=draw(st.sampled_from(OPTIMIZERS)),
        l2=draw(st.sampled_from([0.0, 0.1])), l1=draw(st.sampled_from([0.0, 0.01])),
        shuffle=draw(st.booleans()), seed=seed,
    )
    weighted = draw(st.booleans())
    return case, sizes, acts, seed, scale, n, fit, weighted


def property_scenario(net, X, y, weight, fit):
    loss, grads = net.gradient(X, y, sample_weight=weight)
    out = [("forward", net.forward(X)), ("forward one", net.forward(X[0])), ("mean loss", loss)]
    out += [(f"dl/dW^({l})", g) for l, g in enumerate(grads, start=1)]
    try:
        trained = [("step loss", net.sgd_step(X[:1], y[:1], fit["eta"], l2=fit["l2"], l1=fit["l1"]))]
        trained.append(("history", net.fit(X, y, epochs=2, sample_weight=weight, **fit).loss))
    except fm.DivergenceError:
        return out, None  # near the edge, whether a step overflows depends on rounding
    return out, trained + weights(net, "after training")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kernel", cython_variants())
@given(problem=problems())
def test_hypothesis_kernels_agree_with_the_reference(kernel, dtype, problem):
    case, sizes, acts, seed, scale, n, fit, weighted = problem
    ws = random_weights(sizes, seed, scale)
    X, y = make_data(sizes, case, n, seed)
    weight = np.random.default_rng(seed).uniform(0.0, 2.0, n) + 0.1 if weighted else None
    records = []
    for backend in (kernel, "reference"):
        net = make_net(sizes, acts, case, dtype=dtype, backend=backend, seed=seed, weights=ws)
        records.append(property_scenario(net, X, y, weight, fit))
    (passes, trained), (passes_ref, trained_ref) = records
    # One pass agrees to the dtype's tolerance. Training amplifies the rounding differences
    # by as much as the steps magnify small changes of the weights, which hypothesis drives
    # high (identity units, large weights, many samples of one kind): it gets more room.
    loose = {"rtol": 1e-7, "atol": 1e-7} if np.dtype(dtype) == np.float64 else {"rtol": 5e-3, "atol": 5e-3}
    comparisons = [(zip(passes, passes_ref), tolerance(dtype))]
    if trained is not None and trained_ref is not None:  # neither diverged
        comparisons.append((zip(trained, trained_ref), loose))
    for records, tol in comparisons:
        for (label, a), (_, b) in records:
            a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
            scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
            np.testing.assert_allclose(a, b, err_msg=label, rtol=tol["rtol"], atol=tol["atol"] * scale)
