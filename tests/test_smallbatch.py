"""Minibatch steps on small batches (the kernels' path without BLAS, fastmlp/_kernels/small_batches.pxi,
which the AVX-512 build takes; the other builds keep the BLAS path) against the
reference's minibatch_epoch, in every build of the kernels.

The widths are chosen around the kernels' vectors (8 doubles or 16 floats) and chunks of
4 vectors: in float64 13, 9, 3, 17, 33 and 70 units pad to 16, 16, 8, 24, 40 (a chunk and
a vector) and 72 (two chunks and a vector); a hidden layer of 70 units sends its deltas
back through rows longer than a chunk, and one of 40 x 60 weights through BLAS. With 23
samples most batch sizes leave a short last batch.
"""
import numpy as np
import pytest

import fastmlp as fm
from conftest import (
    HIDDEN_IDS, HIDDEN_SPECS, LOSS_IDS, LOSSES, cython_variants, make_data, make_net, random_weights, tolerance, twin,
)
from fastmlp._engine import feeding

N = 23
SHAPES = [[5, 13, 9, 3], [3, 17, 2], [6, 33, 1], [3, 5, 70, 2], [3, 40, 60, 2]]
SMALL_BATCHES = range(1, 17)


@pytest.fixture(params=cython_variants())
def kernel(request):
    return request.param


def epoch_both(net, X, y, batch, eta=0.05, l2=0.0, l1=0.0, weight=None, seed=0):
    """One minibatch epoch over a shuffled order by the network's kernels and by the
    reference, from the same weights: ((loss, done, params) of each)."""
    X, Y = feeding.data(net, X, y)
    order = np.random.default_rng(seed).permutation(len(X)).astype(np.intp)
    ref = twin(net, backend="reference")
    results = []
    for each in (net, ref):
        params = each.params.copy()
        loss, done = each.backend.minibatch_epoch(feeding.architecture(each), params, X, Y, order, batch, eta, l2, l1, weight=weight)
        results.append((loss, done, params))
    return results


def assert_agree(results, dtype):
    (loss, done, params), (ref_loss, ref_done, ref_params) = results
    assert done == ref_done == N
    tol = tolerance(dtype)
    np.testing.assert_allclose(loss, ref_loss, **tol)
    np.testing.assert_allclose(params, ref_params.astype(params.dtype), **tol)


@pytest.mark.parametrize("sizes", SHAPES, ids=["-".join(map(str, s)) for s in SHAPES])
@pytest.mark.parametrize("batch", [*SMALL_BATCHES, 17, 23])
def test_every_small_batch_size_steps_as_the_reference(kernel, dtype, sizes, batch):
    # weights scaled by 1 / sqrt(fan-in), so that wide layers do not amplify rounding
    weights = [W / np.sqrt(len(W)) for W in random_weights(sizes, batch)]
    net = make_net(sizes, "tanh", dtype=dtype, backend=kernel, weights=weights)
    X, y = make_data(sizes, LOSSES[0], N, seed=batch)
    assert_agree(epoch_both(net, X, y, batch), dtype)


@pytest.mark.parametrize("batch", [1, 4, 10, 16])
@pytest.mark.parametrize("penalties", [(0.05, 0.0), (0.0, 0.01), (0.05, 0.01)], ids=["l2", "l1", "l2+l1"])
def test_penalties_and_sample_weights_step_as_the_reference(kernel, dtype, batch, penalties):
    sizes = SHAPES[0]
    net = make_net(sizes, "relu", dtype=dtype, backend=kernel, seed=3)
    X, y = make_data(sizes, LOSSES[0], N, seed=3)
    l2, l1 = penalties
    assert_agree(epoch_both(net, X, y, batch, l2=l2, l1=l1), dtype)
    weight = np.random.default_rng(4).uniform(0.0, 2.0, size=N)
    assert_agree(epoch_both(net, X, y, batch, l2=l2, l1=l1, weight=weight), dtype)


@pytest.mark.parametrize("case", LOSSES, ids=LOSS_IDS)
@pytest.mark.parametrize("act", HIDDEN_SPECS, ids=HIDDEN_IDS)
def test_every_activation_and_loss_steps_as_the_reference(kernel, dtype, act, case):
    sizes = SHAPES[0]
    net = make_net(sizes, act, case, dtype=dtype, backend=kernel, seed=5)
    X, y = make_data(sizes, case, N, seed=5)
    assert_agree(epoch_both(net, X, y, 6), dtype)


def test_a_diverging_small_batch_stops_and_fit_puts_the_weights_back(kernel):
    sizes = SHAPES[1]
    net = make_net(sizes, "relu", dtype="float64", backend=kernel, seed=6)
    X, y = make_data(sizes, LOSSES[0], N, seed=6)
    before = net.params.copy()
    with pytest.raises(fm.DivergenceError):
        net.fit(X, y * 1e200, epochs=3, batch_size=4, eta=1e100)
    np.testing.assert_array_equal(net.params, before)
    (_, done, _), (_, ref_done, _) = epoch_both(net, X, y * 1e200, 4, eta=1e100)
    assert done == ref_done < N


def test_the_nielsen_network_trains_as_the_reference_over_several_epochs(kernel):
    # 784-30-10 sigmoid units, quadratic cost, minibatches of 10: the drop-in's network,
    # three epochs on a few sparse inputs (zeros, as in images of digits).
    sizes = [784, 30, 10]
    rng = np.random.default_rng(7)
    X = np.where(rng.random((N, 784)) < 0.3, 0.0, rng.random((N, 784)))
    y = np.eye(10)[rng.integers(0, 10, N)]
    net = fm.MLP(sizes, activation="sigmoid", output="sigmoid", loss="l2", seed=7, backend=kernel)
    ref = twin(net, backend="reference")
    start = net.params.copy()
    X_, Y = feeding.data(net, X, y)
    for epoch in range(3):
        order = np.random.default_rng(epoch).permutation(N).astype(np.intp)
        for each in (net, ref):
            each.backend.minibatch_epoch(feeding.architecture(each), each.params, X_, Y, order, 10, 3.0)
    assert np.abs(net.params - start).max() > 0.1  # it trained
    np.testing.assert_allclose(net.params, ref.params, rtol=1e-12, atol=1e-12)
