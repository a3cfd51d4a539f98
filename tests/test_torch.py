"""Cross-checks against independent implementations: PyTorch autograd (losses, outputs and
gradients of the same network) and, when installed, scikit-learn's MLP (one SGD step)."""
import numpy as np
import pytest

import fastmlp as fm
from conftest import HIDDEN_IDS, HIDDEN_SPECS, LOSS_IDS, LOSSES, LossCase, make_data, make_net

torch = pytest.importorskip("torch")
F = torch.nn.functional

SIZES = [4, 5, 3, 3]
N = 9


def torch_theta(act):
    a = fm.activation(act)
    p = a.params
    return {
        "identity": lambda s: s,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": lambda s: F.leaky_relu(s, negative_slope=p[0]),
        "elu": lambda s: F.elu(s, alpha=p[0]),
        "maxout": lambda s: torch.maximum(p[0] * s + p[1], p[2] * s + p[3]),
    }[a.name]


def torch_loss_and_grads(net, X, y):
    """The mean loss over the batch and its gradients, computed by torch autograd."""
    Ws = [torch.tensor(np.asarray(W, dtype=np.float64), requires_grad=True) for W in net.weights]
    x = torch.tensor(np.asarray(X, dtype=np.float64))
    s = None
    for l, W in enumerate(Ws):
        s = W[0] + x @ W[1:]  # s^(l) = b + x^(l-1) W
        if l < len(Ws) - 1:
            x = torch_theta(net.activations[l])(s)
    name = net.loss.name
    if name == "cross_entropy":
        y = np.asarray(y)
        if y.ndim == 1:
            loss = F.cross_entropy(s, torch.tensor(y, dtype=torch.long))
        else:
            loss = -(torch.tensor(y, dtype=torch.float64) * F.log_softmax(s, dim=1)).sum(dim=1).mean()
        h = torch.softmax(s, dim=1)
    elif name == "binary_cross_entropy":
        Y = torch.tensor(np.asarray(y, dtype=np.float64)).reshape(s.shape)
        loss = F.binary_cross_entropy_with_logits(s, Y, reduction="none").sum(dim=1).mean()
        h = torch.sigmoid(s)
    elif name == "poisson":  # torch's e^s - y s, plus y log y - y: the half Poisson deviance
        Y = torch.tensor(np.asarray(y, dtype=np.float64)).reshape(s.shape)
        nll = F.poisson_nll_loss(s, Y, log_input=True, full=False, reduction="none")
        loss = (nll + torch.xlogy(Y, Y) - Y).sum(dim=1).mean()
        h = torch.exp(s)
    else:
        h = torch_theta(net.activations[-1])(s)
        Y = torch.tensor(np.asarray(y, dtype=np.float64)).reshape(h.shape)
        loss = (0.5 * (h - Y) ** 2).sum(dim=1).mean()
    loss.backward()
    return loss.item(), h.detach().numpy(), [W.grad.numpy() for W in Ws]


def compare(net, X, y):
    loss_t, h_t, grads_t = torch_loss_and_grads(net, X, y)
    np.testing.assert_allclose(net.forward(X), h_t, rtol=1e-12, atol=1e-14)
    loss, grads = net.gradient(X, y)
    assert loss == pytest.approx(loss_t, rel=1e-12, abs=1e-14)
    for l, (g, gt) in enumerate(zip(grads, grads_t), start=1):
        np.testing.assert_allclose(g, gt, rtol=1e-10, atol=1e-12, err_msg=f"dl/dW^({l})")


@pytest.mark.parametrize("act", HIDDEN_SPECS, ids=HIDDEN_IDS)
@pytest.mark.parametrize("case", LOSSES, ids=LOSS_IDS)
def test_gradient_matches_torch(backend, act, case):
    net = make_net(SIZES, act, case, backend=backend, seed=21)
    X, y = make_data(SIZES, case, N, 21)
    compare(net, X, y)


@pytest.mark.parametrize("act", HIDDEN_SPECS, ids=HIDDEN_IDS)
def test_l2_output_activation_matches_torch(backend, act):
    case = LossCase("l2", "l2", act, "unit")
    net = make_net([3, 4, 2], "tanh", case, backend=backend, seed=8)
    X, y = make_data([3, 4, 2], case, N, 8)
    compare(net, X, y)


def test_mixed_layers_match_torch(backend):
    acts = ["relu", fm.activation("elu", alpha=0.3), "sigmoid", fm.activation("leaky_relu", alpha=0.05)]
    sizes = [3, 6, 5, 4, 4, 3]
    for case in (LOSSES[0], LOSSES[3], LOSSES[5]):
        net = make_net(sizes, acts, case, backend=backend, seed=13)
        X, y = make_data(sizes, case, N, 13)
        compare(net, X, y)


def test_sgd_steps_match_torch_gradient_descent(backend):
    """Minibatch steps are w <- w - eta * grad of the mean loss, with torch's gradients."""
    case = LOSSES[4]
    net = make_net(SIZES, "tanh", case, backend=backend, seed=3)
    X, y = make_data(SIZES, case, N, 3)
    Ws = [torch.tensor(W.copy(), requires_grad=True) for W in net.weights]
    for _ in range(3):
        x = torch.tensor(X)
        for l, W in enumerate(Ws):
            s = W[0] + x @ W[1:]
            x = torch.tanh(s) if l < len(Ws) - 1 else s
        loss = -(torch.tensor(y) * F.log_softmax(s, dim=1)).sum(dim=1).mean()
        loss.backward()
        with torch.no_grad():
            for W in Ws:
                W -= 0.25 * W.grad
                W.grad = None
        assert net.sgd_step(X, y, 0.25) == pytest.approx(loss.item(), rel=1e-12)
    for W, Wt in zip(net.weights, Ws):
        np.testing.assert_allclose(W, Wt.detach().numpy(), rtol=1e-12, atol=1e-13)


# -- scikit-learn ---------------------------------------------------------------------------

SKLEARN_ACT = {"identity": "identity", "tanh": "tanh", "relu": "relu", "sigmoid": "logistic"}


def sklearn_one_step(estimator, net, X, y, eta):
    """Initialise ``estimator`` on the data, copy net's weights in, take one full-batch step."""
    estimator.set_params(solver="sgd", alpha=0.0, batch_size=len(X), learning_rate_init=eta,
                         learning_rate="constant", momentum=0.0, nesterovs_momentum=False, shuffle=False)
    extra = {"classes": np.unique(y)} if type(estimator).__name__ == "MLPClassifier" else {}
    estimator.partial_fit(X, y, **extra)
    for l, W in enumerate(net.weights):
        estimator.coefs_[l][...] = W[1:]
        estimator.intercepts_[l][...] = W[0]
    estimator.partial_fit(X, y)
    return [np.vstack([b[None, :], c]) for b, c in zip(estimator.intercepts_, estimator.coefs_)]


@pytest.mark.parametrize("act", sorted(SKLEARN_ACT))
def test_one_step_matches_sklearn_regressor(backend, act):
    nn = pytest.importorskip("sklearn.neural_network")
    sizes = [4, 5, 1]
    net = make_net(sizes, act, LOSSES[0], backend=backend, seed=5)
    X, y = make_data(sizes, LOSSES[0], N, 5)
    y = y[:, 0]
    reg = nn.MLPRegressor(hidden_layer_sizes=(5,), activation=SKLEARN_ACT[act], random_state=0)
    expected = sklearn_one_step(reg, net, X, y, 0.1)
    net.sgd_step(X, y, 0.1)
    for W, E in zip(net.weights, expected):
        np.testing.assert_allclose(W, E, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("classes", [2, 3])
def test_one_step_matches_sklearn_classifier(backend, classes):
    """sklearn: softmax + log loss for 3 classes, one logistic unit + log loss for 2."""
    nn = pytest.importorskip("sklearn.neural_network")
    loss = "cross_entropy" if classes > 2 else "binary_cross_entropy"
    case = LossCase("clf", loss, None, "labels")
    case.output = "softmax" if classes > 2 else "sigmoid"
    sizes = [4, 5, classes if classes > 2 else 1]
    net = make_net(sizes, "tanh", case, backend=backend, seed=6)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(N, 4))
    y = np.arange(N) % classes  # every class present, so sklearn's label encoding is 0..K-1
    clf = nn.MLPClassifier(hidden_layer_sizes=(5,), activation="tanh", random_state=0)
    expected = sklearn_one_step(clf, net, X, y, 0.2)
    net.sgd_step(X, y if classes > 2 else y.astype(float), 0.2)
    for W, E in zip(net.weights, expected):
        np.testing.assert_allclose(W, E, rtol=1e-12, atol=1e-13)
