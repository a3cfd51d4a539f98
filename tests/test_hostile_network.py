"""An MLP's public attributes under hostile assignment: the structure cannot change under
the kernels, params and weights copy in what is assigned (checked), and the optimizer's
moments are checked where they reach the kernels. Each case that crashed the interpreter
runs in a subprocess."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastmlp as fm

PRELUDE = textwrap.dedent(
    """
    import numpy as np
    import fastmlp as fm

    def refused(call, error, *words):
        try:
            call()
        except error as exc:
            assert all(w in str(exc) for w in words), str(exc)
        else:
            raise AssertionError("accepted")

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    """
)

CASES = {
    # params of the wrong length: forward read past the buffer, fit crashed
    "params of another length": """
        net = fm.MLP([3, 8, 1], seed=0)
        before = net.params.copy()
        refused(lambda: setattr(net, "params", np.zeros(3)), ValueError, "set_weights")
        assert np.array_equal(net.params, before)
        net.fit(X, y, epochs=2, eta=0.01)
        assert np.isfinite(net.forward(X)).all()
    """,
    # a same-length array detached net.weights from the network
    "params of the same length": """
        net = fm.MLP([3, 8, 1], seed=0)
        buffer = net.params
        net.params = np.arange(net.params.size, dtype=float) / 100
        assert net.params is buffer and net.params[5] == 0.05
        assert np.shares_memory(net.weights[0], net.params)
        net.set_weights([np.ones_like(W) for W in net.weights])
        assert (net.params == 1).all() and np.allclose(net.forward(np.zeros(3)), 1 + 8 * np.tanh(1))
        refused(lambda: setattr(net, "params", np.full(net.params.size, np.nan)), ValueError, "NaN")
    """,
    # v of the wrong size: free(): invalid size, a heap overflow
    "optimizer moments of another size": """
        net = fm.MLP([3, 8, 1], seed=0)
        net.sgd_step(X, y, 0.01, optimizer="adam")
        before = net.params.copy()
        net.optimizer.v = np.zeros(4)
        refused(lambda: net.sgd_step(X, y, 0.01, optimizer="adam"), ValueError, "net.optimizer.v", "None")
        refused(lambda: net.fit(X, y, epochs=1, optimizer="adam"), ValueError, "net.optimizer.v")
        net.optimizer.v = np.zeros(net.params.size, dtype=np.float32)
        refused(lambda: net.sgd_step(X, y, 0.01, optimizer="adam"), ValueError, "float64")
        net.optimizer.v = np.zeros((2, net.params.size // 2 + 1))[:, ::2].T.reshape(-1)[:net.params.size]
        net.optimizer.m = np.zeros(net.params.size)[::-1]
        refused(lambda: net.sgd_step(X, y, 0.01, optimizer="adam"), ValueError, "net.optimizer.m")
        net.optimizer.m, net.optimizer.v, net.optimizer.t = np.zeros(net.params.size), np.zeros(net.params.size), -5
        refused(lambda: net.sgd_step(X, y, 0.01, optimizer="adam"), ValueError, "net.optimizer.t")
        assert np.array_equal(net.params, before)
        net.optimizer = None
        net.sgd_step(X, y, 0.01, optimizer="adam")
    """,
    # sizes changed under the kernels: loss_value crashed
    "sizes": """
        net = fm.MLP([3, 8, 100000], seed=0)
        refused(lambda: setattr(net, "sizes", (3, 8, 1)), AttributeError, "fm.MLP", "fixed")
        assert net.sizes == (3, 8, 100000)
        refused(lambda: net.loss_value(X, y), ValueError, "y")
    """,
    "the other structural attributes": """
        net = fm.MLP([3, 8, 1], seed=0, dtype="float32")
        for name, value in [("dtype", np.float64), ("activations", ()), ("loss", "cross_entropy")]:
            refused(lambda: setattr(net, name, value), AttributeError, name, "fixed")
        assert net.dtype == np.float32 and net.L == 2
        net.fit(X, y, epochs=1, eta=0.01)
        fast = net.forward(X)
        net.backend = "reference"  # the backend may change: its architecture is built for the network
        assert net.backend.name == "reference" and np.allclose(net.forward(X), fast, rtol=1e-5)
        refused(lambda: setattr(net, "backend", "bogus"), ValueError, "bogus")
        refused(lambda: setattr(net, "backend", 3), TypeError, "backend")
        net.fit(X, y, epochs=1, eta=0.01)
    """,
    # numpy lets the buffer's own shape and dtype be changed in place: the kernels refuse it
    "the buffer reshaped in place": """
        net = fm.MLP([3, 8, 1], seed=0)
        net.params.shape = (1, net.params.size)
        refused(lambda: net.forward(X), (ValueError, TypeError))
        refused(lambda: net.fit(X, y, epochs=1), (ValueError, TypeError))
        net2 = fm.MLP([3, 8, 1], seed=0)
        net2.params.dtype = np.float32
        refused(lambda: net2.forward(X), (ValueError, TypeError))
        refused(lambda: net2.sgd_step(X, y, 0.1), (ValueError, TypeError))
    """,
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_attribute_assignment_gives_a_clear_error_and_no_crash(case):
    code = PRELUDE + textwrap.dedent(CASES[case]) + "\nprint('ok')\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


# -- net.weights: Nielsen's net.weights[l] = W ------------------------------------------------------


def test_assigning_one_layer_takes_effect_and_keeps_the_network_whole():
    net = fm.MLP([2, 1], activation="tanh", output="identity", seed=0)
    net.weights[0] = np.array([[1.0], [2.0], [4.0]])  # bias 1, then w_1, w_2
    assert net.forward(np.array([1.0, 1.25])) == pytest.approx([8.0])
    assert net.params.tolist() == [1.0, 2.0, 4.0]
    net.set_weights([np.array([[7.0], [0.0], [0.0]])])  # set_weights and initialise still reach it
    assert net.forward(np.zeros(2)) == pytest.approx([7.0])
    net.weights[-1] = [[0.5], [0.0], [0.0]]
    assert net.forward(np.zeros(2)) == pytest.approx([0.5])
    net.initialise()
    assert np.shares_memory(net.weights[0], net.params)


@pytest.mark.parametrize("change", [
    lambda ws: ws.__setitem__(0, np.zeros((2, 1))),
    lambda ws: ws.__setitem__(0, np.full((3, 1), np.inf)),
    lambda ws: ws.__setitem__(slice(0, 1), [np.zeros((3, 1))]),
    lambda ws: ws.__setitem__(5, np.zeros((3, 1))),
    lambda ws: ws.append(np.zeros((3, 1))),
    lambda ws: ws.__delitem__(0),
    lambda ws: ws.pop(),
    lambda ws: ws.extend([np.zeros((3, 1))]),
], ids=["shape", "inf", "slice", "index", "append", "del", "pop", "extend"])
def test_changing_the_layer_list_otherwise_raises_and_changes_nothing(change):
    net = fm.MLP([2, 1], seed=0)
    before = net.params.copy()
    with pytest.raises((ValueError, TypeError, IndexError)) as raised:
        change(net.weights)
    if raised.type is TypeError:
        assert "set_weights" in str(raised.value)
    assert len(net.weights) == 1 and np.array_equal(net.params, before)
    assert np.shares_memory(net.weights[0], net.params)


def test_assigning_the_whole_weight_list_is_set_weights():
    net = fm.MLP([2, 3, 1], seed=0)
    net.weights = [np.ones((3, 3)), np.ones((4, 1))]
    assert (net.params == 1).all() and np.shares_memory(net.weights[1], net.params)
    with pytest.raises(ValueError):
        net.weights = [np.ones((3, 3))]


def test_a_pickled_or_copied_network_keeps_its_structure_read_only():
    import copy
    import pickle

    net = fm.MLP([2, 3, 1], seed=0)
    for twin in (pickle.loads(pickle.dumps(net)), net.copy(), copy.deepcopy(net)):
        assert np.array_equal(twin.params, net.params) and twin.sizes == net.sizes
        assert np.shares_memory(twin.weights[0], twin.params) and not np.shares_memory(twin.params, net.params)
        with pytest.raises(AttributeError):
            twin.sizes = (2, 1)
    assert copy.deepcopy(net.weights)[0].base is None or not np.shares_memory(copy.deepcopy(net.weights)[0],
                                                                                 net.params)


# -- silently wrong, or unclear -------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [[64, 10], [64, 8, 10]])
def test_an_unknown_activation_is_refused_with_or_without_hidden_layers(sizes):
    with pytest.raises(ValueError, match="bogus"):
        fm.MLP(sizes, activation="bogus")
    with pytest.raises(ValueError, match="output activation"):
        fm.MLP([64, 10], activation="softmax")


def test_integer_labels_with_the_l2_loss_get_the_hint():
    X, y = np.zeros((30, 4)), np.arange(30) % 3
    net = fm.MLP([4, 3])
    for call in (lambda: net.fit(X, y, epochs=1), lambda: net.loss_value(X, y)):
        with pytest.raises(ValueError, match="loss=\"cross_entropy\".*one-hot"):
            call()
    with pytest.raises(ValueError) as raised:  # no hint for real-valued targets of the wrong shape
        net.fit(X, y + 0.5, epochs=1)
    assert "cross_entropy" not in str(raised.value)


@pytest.mark.parametrize("dtype, scale", [("float64", 1e300), ("float64", 1e200), ("float32", 1e30),
                                          ("float32", 1e20)])
def test_a_perceptron_that_overflows_is_divergence_not_flipped_predictions(dtype, scale):
    X = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    p = fm.Perceptron(seed=0, dtype=dtype, max_epochs=50)
    with pytest.raises(fm.DivergenceError, match="Scale the inputs"):
        p.fit(X * scale, np.array([0, 1, 0, 1]))  # XOR-like: the weights grow without bound
    assert np.isfinite(p.w).all() and not p.converged


def test_a_perceptron_on_moderate_inputs_still_converges():
    X = np.array([[2.0, 1.0], [1.0, 3.0], [-1.0, -2.0], [-3.0, -1.0]]) * 1e100
    p = fm.Perceptron(seed=0).fit(X, np.array([1, 1, 0, 0]))
    assert p.converged and (p.predict(X) == [1, 1, 0, 0]).all()


def test_the_history_repr_is_a_summary():
    X, y = np.zeros((8, 3)), np.zeros((8, 1))
    history = fm.MLP([3, 1], seed=0).fit(X, y, epochs=200, eta=0.01, validation_fraction=0.25,
                                         early_stopping=True, patience=3)
    text = repr(history)
    assert len(text) < 200 and text.startswith("History(epochs=") and "..." in text and "best_epoch=" in text
    assert f"epochs={history.epochs}" in text and len(history.loss) == history.epochs
