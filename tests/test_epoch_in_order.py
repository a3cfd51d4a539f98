"""network.epoch_in_order with fit's optimizers, penalties, sample weights and dropout:
one epoch over validated rows in the caller's order, read in place, as partial_fit makes
it over the same rows copied into that order; and its before_step hook."""
import numpy as np
import pytest

import fastmlp as fm

SIZES = [5, 7, 3]


def setting(backend, dtype="float64"):
    net = fm.MLP(SIZES, activation="tanh", output="softmax", loss="cross_entropy", dtype=dtype, seed=0,
                 backend=backend)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(23, SIZES[0])).astype(dtype)
    Y = np.eye(SIZES[-1], dtype=dtype)[rng.integers(0, SIZES[-1], 23)]
    return net, X, Y, rng.permutation(23).astype(np.intp), rng.uniform(0.5, 2.0, 23)


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "adam"])
def test_the_rows_in_place_train_as_partial_fit_trains_them_copied(backend, dtype, optimizer):
    net, X, Y, order, weight = setting(backend, dtype)
    copied = net.copy()
    options = dict(l1=1e-3, optimizer=optimizer, momentum=0.8, dropout=0.2)
    total = fm.network.epoch_in_order(net, X, Y, order, 4, 0.05, "epoch 1", 1e-2, sample_weight=weight,
                                       **options)
    history = copied.partial_fit(X[order], Y[order], eta=0.05, batch_size=4, shuffle=False, l2=1e-2,
                                 sample_weight=weight[order], **options)
    np.testing.assert_array_equal(net.params, copied.params)
    assert total / len(order) == pytest.approx(history.loss[0], rel=1e-12 if dtype == "float64" else 1e-5)
    assert net.rng.bit_generator.state == copied.rng.bit_generator.state


def test_before_step_sees_the_weights_each_step_starts_from(backend):
    net, X, Y, order, _ = setting(backend)
    stepped = net.copy()
    seen = []
    fm.network.epoch_in_order(net, X, Y, order, 5, 0.1, "epoch 1", optimizer="adam",
                               before_step=lambda: seen.append(net.params.copy()))
    assert len(seen) == 5  # 23 rows in steps of 5: four whole ones and a last of 3
    for start, weights in zip(range(0, 23, 5), seen):
        np.testing.assert_array_equal(weights, stepped.params)
        stepped.partial_fit(X[order[start : start + 5]], Y[order[start : start + 5]], eta=0.1, batch_size=5,
                            shuffle=False, optimizer="adam")
    np.testing.assert_array_equal(net.params, stepped.params)


def test_a_divergence_puts_back_the_weights_the_optimizer_and_the_generator():
    net, X, Y, order, _ = setting("cython")
    net.fit(X, Y, epochs=1, batch_size=4, optimizer="adam")
    before = net.params.copy(), net.optimizer.m.copy(), net.optimizer.t, net.rng.bit_generator.state
    with pytest.raises(fm.DivergenceError):
        fm.network.epoch_in_order(net, X * 1e300, Y, order, 4, 1e300, "epoch 2", optimizer="adam", dropout=0.5,
                                   l2=1e300)
    after = net.params, net.optimizer.m, net.optimizer.t, net.rng.bit_generator.state
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert after[2:] == before[2:]


def test_before_step_must_be_callable():
    net, X, Y, order, _ = setting("cython")
    with pytest.raises(TypeError, match="before_step must be callable"):
        fm.network.epoch_in_order(net, X, Y, order, 4, 0.1, "epoch 1", before_step=3)


# (batch_size, fit's options, sample weights?): each kind of kernel loop that adds norms.
NORM_CASES = {
    "per sample, plain, l2": (1, dict(), False),
    "per sample, momentum": (1, dict(optimizer="momentum", momentum=0.8), False),
    "per sample, nesterov, l1": (1, dict(optimizer="nesterov", momentum=0.9, l1=1e-3), False),
    "per sample, adam, weights, dropout": (1, dict(optimizer="adam", dropout=0.2), True),
    "per sample, update dropout": (1, dict(update_dropout=0.3), False),
    "small batches": (4, dict(), True),
    "BLAS batches, dropout": (4, dict(dropout=0.2), False),
    "adam batches": (5, dict(optimizer="adam", l1=1e-3), False),
}


def weight_norms(net):
    """(sum w^2, sum |w|) over the weights, not the biases, in float64."""
    weights = np.concatenate([W[1:].ravel() for W in net.weights]).astype(np.float64)
    return np.array([np.dot(weights, weights), np.abs(weights).sum()])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("case", NORM_CASES)
def test_norms_add_up_those_of_the_weights_each_step_starts_from(backend, dtype, case, sparse):
    """The kernels' norms, counted without returning to Python, against the weights read
    before each step; counting them changes no step (per sample on sparse rows it stops the
    lazy penalties, which agree to rounding)."""
    scipy_sparse = pytest.importorskip("scipy.sparse")
    net, X, Y, order, weight = setting(backend, dtype)
    batch_size, options, weighted = NORM_CASES[case]
    if sparse:
        X = scipy_sparse.csr_matrix(np.where(np.abs(X) > 0.8, X, 0))
    counted, read = net.copy(), net.copy()
    norms, seen = np.zeros(2), []
    settings = dict(sample_weight=weight if weighted else None, **options)
    total = fm.network.epoch_in_order(counted, X, Y, order, batch_size, 0.05, "epoch 1", 1e-2, norms=norms,
                                       **settings)
    expected = fm.network.epoch_in_order(read, X, Y, order, batch_size, 0.05, "epoch 1", 1e-2,
                                          before_step=lambda: seen.append(weight_norms(read)), **settings)
    assert len(seen) == -(-len(order) // batch_size)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(norms, np.sum(seen, axis=0), rtol=rtol)
    np.testing.assert_allclose(counted.params, read.params, rtol=rtol, atol=rtol)
    assert total == pytest.approx(expected, rel=rtol)


def test_norms_are_refused_unless_a_float64_pair():
    net, X, Y, order, _ = setting("cython")
    for bad in (np.zeros(3), np.zeros(2, dtype=np.float32), [0.0, 0.0]):
        with pytest.raises(ValueError, match="norms must be a writeable float64 array of 2"):
            fm.network.epoch_in_order(net, X, Y, order, 1, 0.1, "epoch 1", norms=bad)


@pytest.mark.parametrize("sizes", [[5, 20, 3], [5, 20, 12, 3]], ids=["one hidden layer", "two"])
@pytest.mark.parametrize("case", [case for case, (batch_size, *_) in NORM_CASES.items() if batch_size == 1])
def test_the_threads_of_a_split_add_up_the_norms_of_their_own_weights(backend, dtype, sizes, case):
    """Per sample on two threads, each thread counts its own columns of W^(1) and rows of
    W^(2..L) and the caller adds the threads' sums: those of the weights each step starts
    from, as one thread counts them."""
    _, options, weighted = NORM_CASES[case]
    net = fm.MLP(sizes, activation="tanh", loss="cross_entropy", dtype=dtype, seed=0, backend=backend)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(23, sizes[0])).astype(dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], 23)]
    order, weight = rng.permutation(23).astype(np.intp), rng.uniform(0.5, 2.0, 23)
    settings = dict(sample_weight=weight if weighted else None, **options)
    counted, read = net.copy(), net.copy()
    norms, seen = np.zeros(2), []
    with net.backend.team(2) as team:
        assert team.size == 2
        total = fm._engine.feeding.epoch_in_order(counted, X, Y, order, 1, 0.05, "epoch 1", 1e-2, norms=norms,
                                                  team=team, **settings)
        expected = fm._engine.feeding.epoch_in_order(read, X, Y, order, 1, 0.05, "epoch 1", 1e-2, team=team,
                                                     before_step=lambda: seen.append(weight_norms(read)), **settings)
    assert len(seen) == len(order)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(norms, np.sum(seen, axis=0), rtol=rtol)
    np.testing.assert_allclose(counted.params, read.params, rtol=rtol, atol=rtol)
    assert total == pytest.approx(expected, rel=rtol)