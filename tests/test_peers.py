"""The benchmark's peers do the work they are timed for: the Numba and JAX loops are
fastmlp's per-sample algorithm, and the optimizer workloads run the same momentum rule in PyTorch."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp._bench import benchmark, peers as _peers


def test_the_numba_loop_is_fastmlps_per_sample_epoch():
    pytest.importorskip("numba")
    from fastmlp._bench import peer_numba as _peer_numba

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 6)), rng.integers(0, 4, 40)
    net = fm.MLP([6, 9, 7, 4], activation="tanh", loss="cross_entropy", seed=1)
    peer = _peers.NumbaPeer([6, 9, 7, 4], "float64", 1, 0.05, seed=0)
    for W, w in zip(peer.net.W, net.weights):
        W[...] = w
    net.fit(X, y, epochs=1, batch_size=1, eta=0.05, shuffle=False)
    _peer_numba.sgd_epoch(peer.Ws, *peer.data(X, y), np.arange(40), peer.eta, peer.xs, peer.deltas)
    for W, w in zip(peer.weights(), net.weights):
        np.testing.assert_allclose(W, w, rtol=1e-10, atol=1e-12)  # fastmath may reorder sums



@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_jax_loop_is_fastmlps_per_sample_epoch(dtype):
    pytest.importorskip("jax")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 6)).astype(dtype), rng.integers(0, 4, 40)
    net = fm.MLP([6, 9, 7, 4], activation="tanh", loss="cross_entropy", dtype=dtype, seed=1)
    peer = _peers.JaxPeer([6, 9, 7, 4], dtype, 1, 0.05, seed=0)
    start = [w.copy() for w in net.weights]
    peer.P = peer.jax.split(start)
    order = rng.permutation(40)
    X_jax, y_jax, epoch = peer.data(X, y)
    peer.P = epoch(peer.P, X_jax, y_jax, order, peer.eta)
    net.fit(X[order], y[order], epochs=1, batch_size=1, eta=0.05, shuffle=False)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-4, "atol": 1e-5}
    for W, w in zip(peer.weights(), net.weights):
        assert W.dtype == w.dtype
        np.testing.assert_allclose(W, w, **tol)  # XLA may reorder sums
    assert not np.allclose(peer.weights()[0], start[0])

def test_two_momentum_steps_equal_torchs():
    pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(32, 8)), rng.integers(0, 3, 32)
    ours = _peers.FastMLP([8, 5, 3], "float64", 32, 0.1, 0, optimizer="momentum")
    torch = _peers.TorchPeer([8, 5, 3], "float64", 32, 0.1, 0, optimizer="momentum")
    torch.set_weights(ours.weights())
    for _ in range(2):
        ours.train_epoch(ours.data(X, y))
        torch.train_epoch(torch.data(X, y))
    for a, b in zip(ours.weights(), torch.weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_peers_without_an_optimizer_or_a_mode_are_skipped_with_the_reason():
    W7, W5 = benchmark.WORKLOADS["W7"], benchmark.WORKLOADS["W5"]
    assert W7.label == "W7 784-128-10 float32 batch 1 adam"
    assert benchmark.skip_reason("numpy", W7) == "no adam here"
    if _peers.available("numba"):
        assert benchmark.skip_reason("numba", W5) == "training only"
    assert benchmark.skip_reason("fastmlp", W7) == ""
