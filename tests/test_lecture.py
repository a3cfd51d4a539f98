"""The lecture's own examples, value by value: the 3-2-1 ReLU worked example, XOR with
hand-set sign units, XOR learned by a tanh network, and the identity-activation exercise."""
import numpy as np
import pytest

import fastmlp as fm
from conftest import tolerance

# The worked example: units a, b in layer 1, unit c in layer 2; row 0 is the bias.
W1 = [
    [1.0, 1.0],  # bias a, bias b
    [0.25, 0.5],  # w_1a, w_1b
    [0.75, 0.125],  # w_2a, w_2b
    [0.75, 0.25],  # w_3a, w_3b
]
W2 = [
    [0.5],  # bias c
    [0.5],  # w_ac
    [0.125],  # w_bc
]
X = [4.0, -8.0, 4.0]
Y = 2.0
ETA = 0.1


def worked_example(backend, dtype):
    net = fm.MLP([3, 2, 1], activation="relu", output="relu", loss="l2", dtype=dtype, backend=backend)
    net.set_weights([W1, W2])
    return net


def test_worked_example_forward(backend, dtype):
    net = worked_example(backend, dtype)
    t = net.trace(X, Y)
    # Every number below is exact in binary, so float32 must reproduce it exactly too.
    np.testing.assert_array_equal(t.x[0], X)
    np.testing.assert_array_equal(t.s[0], [-1.0, 3.0])  # s_a = 1 + 1 - 6 + 3, s_b = 1 + 2 - 1 + 1
    f_a, f_b = t.x[1]
    assert f_a == 0.0
    assert f_b == 3.0
    assert t.s[1][0] == 0.875
    assert t.x[2][0] == 0.875  # h(x) = f_c
    assert t.loss == 0.6328125  # 1/2 (0.875 - 2)^2
    np.testing.assert_array_equal(net.forward(X), [0.875])
    np.testing.assert_array_equal(net.forward([X, X]), [[0.875], [0.875]])
    assert net.gradient(X, Y)[0] == 0.6328125


def test_worked_example_backprop(backend, dtype):
    net = worked_example(backend, dtype)
    t = net.trace(X, Y)
    delta_c = t.delta[1][0]
    delta_a, delta_b = t.delta[0]
    assert delta_c == -1.125  # (h - y) * relu'(0.875)
    assert delta_b == -0.140625  # relu'(3) * w_bc * delta_c
    assert delta_a == 0.0  # relu'(-1) = 0
    # dl/dw_ij = x_i delta_j with x_0 = 1.
    x0 = np.array([1.0] + X)
    x1 = np.array([1.0, 0.0, 3.0])
    np.testing.assert_array_equal(t.grad[0], np.outer(x0, [0.0, -0.140625]))
    np.testing.assert_array_equal(t.grad[1], np.outer(x1, [-1.125]))
    assert t.grad[0][3, 1] == 4 * -0.140625  # dl/dw_3b


def test_worked_example_update(backend, dtype):
    net = worked_example(backend, dtype)
    loss = net.sgd_step(X, Y, ETA)
    assert loss == pytest.approx(0.6328125, rel=1e-15)
    W1_new, W2_new = net.weights
    tol = tolerance(dtype)
    # The lecture's question: w_3b <- 0.25 - 0.1 * 4 * (-0.140625) = 0.30625.
    assert W1_new[3, 1] == pytest.approx(0.30625, rel=tol["rtol"], abs=tol["atol"])
    # The rest, by hand: column b moves by -eta * x_i * delta_b; column a stays (delta_a = 0).
    expected_W1 = np.array([
        [1.0, 1.0 + 0.1 * 0.140625],  # 1.0140625
        [0.25, 0.5 + 0.1 * 4 * 0.140625],  # 0.55625
        [0.75, 0.125 - 0.1 * 8 * 0.140625],  # 0.0125
        [0.75, 0.30625],
    ])
    expected_W2 = np.array([
        [0.5 + 0.1 * 1.125],  # 0.6125
        [0.5],  # x_a = 0
        [0.125 + 0.1 * 3 * 1.125],  # 0.4625
    ])
    np.testing.assert_allclose(W1_new, expected_W1, **tol)
    np.testing.assert_allclose(W2_new, expected_W2, **tol)
    np.testing.assert_array_equal(W1_new[:, 0], np.array(W1)[:, 0].astype(dtype))
    # The step used the weights before it: a second trace sees the new ones.
    h = 0.6125 + 0.4625 * max(0.0, 1.0140625 + 0.55625 * 4 - 0.0125 * 8 + 0.30625 * 4)
    assert net.forward(X)[0] == pytest.approx(h, rel=tol["rtol"])


# -- XOR ---------------------------------------------------------------------------------

XOR_X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
XOR_Y = np.array([-1.0, 1.0, 1.0, -1.0])  # x1 XOR x2 in the +-1 encoding

# h1 = sign(x1 - x2 - 1) (x1 and not x2), h2 = sign(-x1 + x2 - 1) (not x1 and x2),
# h = sign(h1 + h2 + 1) (h1 or h2): the lecture's h1 h2' + h1' h2.
XOR_W1 = [[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]]
XOR_W2 = [[1.0], [1.0], [1.0]]


def sign_xor_net(backend, dtype="float64"):
    net = fm.MLP([2, 2, 1], activation="sign", output="sign", dtype=dtype, backend=backend)
    net.set_weights([XOR_W1, XOR_W2])
    return net


def test_xor_hand_set_sign_weights(backend, dtype):
    net = sign_xor_net(backend, dtype)
    np.testing.assert_array_equal(net.forward(XOR_X)[:, 0], XOR_Y)
    for x, y in zip(XOR_X, XOR_Y):
        np.testing.assert_array_equal(net.forward(x), [y])
    np.testing.assert_array_equal(net.predict(XOR_X)[:, 0], XOR_Y)


def test_sign_at_zero_is_zero(backend):
    net = fm.MLP([1, 1], activation="sign", output="sign", backend=backend)
    net.set_weights([[[0.0], [1.0]]])
    np.testing.assert_array_equal(net.forward([[-2.0], [0.0], [3.0]])[:, 0], [-1.0, 0.0, 1.0])


@pytest.mark.parametrize("method", ["fit", "sgd_step", "gradient", "trace"])
def test_sign_network_cannot_be_trained(backend, method):
    net = sign_xor_net(backend)
    before = [W.copy() for W in net.weights]
    with pytest.raises(ValueError, match="sign"):
        if method == "fit":
            net.fit(XOR_X, XOR_Y, epochs=1)
        elif method == "sgd_step":
            net.sgd_step(XOR_X, XOR_Y, 0.1)
        elif method == "gradient":
            net.gradient(XOR_X, XOR_Y)
        else:
            net.trace(XOR_X[0], XOR_Y[0])
    for W, W0 in zip(net.weights, before):
        np.testing.assert_array_equal(W, W0)


def test_sign_hidden_layer_alone_also_blocks_training(backend):
    net = fm.MLP([2, 2, 1], activation="sign", output="tanh", backend=backend)
    with pytest.raises(ValueError):
        net.fit(XOR_X, XOR_Y, epochs=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_learned_by_tanh_network(backend, seed):
    net = fm.MLP([2, 3, 1], activation="tanh", output="tanh", loss="l2", seed=seed, backend=backend)
    hist = net.fit(XOR_X, XOR_Y, epochs=300, batch_size=1, eta=0.1, seed=seed)
    out = net.forward(XOR_X)[:, 0]
    np.testing.assert_array_equal(np.sign(out), XOR_Y)
    assert hist.loss[-1] < hist.loss[0]
    assert hist.loss[-1] < 0.05


# -- identity activations collapse to one affine map -----------------------------------


@pytest.mark.parametrize("sizes", [[3, 4, 2], [3, 5, 4, 2, 3], [1, 1, 1]])
def test_identity_network_is_one_affine_map(backend, dtype, sizes):
    rng = np.random.default_rng(len(sizes))
    net = fm.MLP(sizes, activation="identity", output="identity", dtype=dtype, seed=1, backend=backend)
    net.set_weights([rng.normal(size=W.shape) for W in net.weights])
    # Each layer is x -> b + x A; compose them into x -> b* + x A*.
    A, b = np.eye(sizes[0]), np.zeros(sizes[0])
    for W in net.weights:
        W = W.astype(np.float64)
        b = W[0] + b @ W[1:]
        A = A @ W[1:]
    X = rng.normal(size=(7, sizes[0]))
    tol = tolerance(dtype)
    np.testing.assert_allclose(net.forward(X), b + X @ A, rtol=10 * tol["rtol"], atol=10 * tol["atol"])
    # ... and the map is affine: h(x + z) - h(z) is linear in x.
    H = net.forward(X).astype(np.float64)
    h0 = net.forward(np.zeros(sizes[0])).astype(np.float64)
    np.testing.assert_allclose(H - h0, X @ A, rtol=10 * tol["rtol"], atol=10 * tol["atol"])
