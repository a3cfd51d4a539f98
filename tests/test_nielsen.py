"""fastmlp.compat.nielsen against Nielsen's network.py as written out in nielsen_textbook:
the same draws, the same printed lines, the same weights after seeded training."""
from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
from nielsen_textbook import FORMS, Textbook, assert_layers_equal, classification_data, logistic, logistic_slope, seeded

import fastmlp as fm
from fastmlp.compat import columns, nielsen
from fastmlp.compat.nielsen import Network

# (sizes, training samples, test samples, epochs, minibatch size, eta); the sample counts
# are not multiples of the minibatch size, so the last minibatch of each epoch is short.
CASES = [
    ([4, 3, 2], 23, 9, 5, 5, 3.0),
    ([6, 5, 4, 3], 31, 11, 4, 4, 2.0),
    ([784, 30, 10], 61, 20, 3, 10, 3.0),
]
CASE_IDS = ["4-3-2", "6-5-4-3", "784-30-10"]
def run_both(capsys, sizes, training, test, epochs, m, eta, form, seed=1):
    """Train the textbook network and the drop-in from the same seeds; return both, each
    one's printed lines and the state of both generators after each."""
    seeded(seed)
    book = Textbook(sizes)
    book.train(list(training), epochs, m, eta, test)  # a copy: the book shuffles its list in place
    book_out = (capsys.readouterr().out, random.getstate(), np.random.get_state()[1].copy())
    seeded(seed)
    net = Network(sizes)
    net.SGD(form(training), epochs, m, eta, test_data=None if test is None else form(test))
    net_out = (capsys.readouterr().out, random.getstate(), np.random.get_state()[1].copy())
    return book, book_out, net, net_out


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sgd_prints_and_ends_like_the_original(capsys, case, form):
    sizes, n, n_test, epochs, m, eta = case
    rng = np.random.default_rng(7)
    training = classification_data(rng, sizes, n)
    test = classification_data(rng, sizes, n_test, labelled=True)
    book, (book_lines, book_random, book_numpy), net, (lines, net_random, net_numpy) = run_both(
        capsys, sizes, training, test, epochs, m, eta, FORMS[form])
    assert lines == book_lines
    assert len(lines.splitlines()) == epochs and lines.startswith("Epoch 0: ")
    assert net_random == book_random and (net_numpy == book_numpy).all()
    assert_layers_equal(net, book, atol=1e-9)
    # training moved the weights: the comparison above is not between two untouched copies
    seeded(1)
    assert not np.allclose(Textbook(sizes).w[0], book.w[0])


def test_without_test_data_each_epoch_says_complete(capsys):
    sizes = [5, 4, 3]
    training = classification_data(np.random.default_rng(3), sizes, 17)
    book, (book_lines, *_), net, (lines, *_) = run_both(capsys, sizes, training, None, 3, 6, 1.5, list)
    assert lines == book_lines == "Epoch 0 complete\nEpoch 1 complete\nEpoch 2 complete\n"
    assert_layers_equal(net, book, atol=1e-9)
    net.SGD(training, 1, 6, 1.5, test_data=[])  # an empty test set is falsy, as in the original
    assert capsys.readouterr().out == "Epoch 0 complete\n"
    # a minibatch larger than the training set is the whole set, its step the mean over it
    book, _, net, _ = run_both(capsys, sizes, training, None, 2, 40, 1.5, list)
    assert_layers_equal(net, book, atol=1e-9)


def test_the_reference_backend_trains_the_same(capsys, monkeypatch):
    monkeypatch.setenv("FASTMLP_BACKEND", "reference")
    sizes = [4, 3, 2]
    rng = np.random.default_rng(11)
    training, test = classification_data(rng, sizes, 13), classification_data(rng, sizes, 6, labelled=True)
    book, (book_lines, *_), net, (lines, *_) = run_both(capsys, sizes, training, test, 3, 4, 3.0, list)
    assert net.mlp.backend.name == "reference"
    assert lines == book_lines
    assert_layers_equal(net, book, atol=1e-9)


def test_initial_layers_are_the_originals_draws():
    seeded(5)
    book = Textbook([7, 5, 3, 2])
    seeded(5)
    net = Network([7, 5, 3, 2])
    assert net.sizes == [7, 5, 3, 2] and net.num_layers == 4
    assert [b.shape for b in net.biases] == [(5, 1), (3, 1), (2, 1)]
    assert [w.shape for w in net.weights] == [(5, 7), (3, 5), (2, 3)]
    assert_layers_equal(net, book, atol=0)


def test_single_sample_methods_match_the_textbook():
    sizes = [6, 5, 4]
    seeded(2)
    book = Textbook(sizes)
    seeded(2)
    net = Network(sizes)
    pairs = classification_data(np.random.default_rng(4), sizes, 9)
    x, y = pairs[0]
    np.testing.assert_allclose(net.feedforward(x), book.output(x), rtol=1e-12)
    assert net.feedforward(x).shape == (4, 1)
    columns = np.hstack([x for x, _ in pairs])
    np.testing.assert_allclose(net.feedforward(columns), book.output(columns), rtol=1e-12)
    nabla_b, nabla_w = net.backprop(x, y)
    grad_b, grad_w = book.gradients(x, y)
    for ours, theirs in zip(nabla_b + nabla_w, grad_b + grad_w):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(net.cost_derivative(book.output(x), y), book.output(x) - y)
    labelled = [(x, int(np.argmax(y))) for x, y in pairs]
    assert net.evaluate(labelled) == book.hits(labelled) == net.evaluate(iter(labelled))
    net.update_mini_batch(pairs[:5], 0.7)
    book.step(pairs[:5], 0.7)
    assert_layers_equal(net, book, atol=1e-12)


def test_module_sigmoid_and_its_derivative():
    z = np.linspace(-30, 30, 61).reshape(-1, 1)
    np.testing.assert_allclose(nielsen.sigmoid(z), logistic(z), rtol=1e-15)
    np.testing.assert_allclose(nielsen.sigmoid_prime(z), logistic_slope(z), rtol=1e-12, atol=1e-300)
    assert nielsen.sigmoid(0.0) == 0.5 and nielsen.sigmoid_prime(0.0) == 0.25


def test_editing_the_arrays_in_place_changes_the_network():
    net = Network([3, 4, 2])
    x = np.array([[0.2], [-0.5], [0.9]])
    net.weights[0] *= 2.0
    net.biases[1] += 1.0
    net.weights[1][0, 3] = -4.0
    hidden = logistic(net.weights[0] @ x + net.biases[0])
    expected = logistic(net.weights[1] @ hidden + net.biases[1])
    np.testing.assert_allclose(net.feedforward(x), expected, rtol=1e-12)
    # the edits reached the MLP's buffer, which is what training uses
    np.testing.assert_array_equal(net.mlp.weights[1][4, 0], -4.0)
    before = [w.copy() for w in net.weights]
    net.SGD([(x, np.array([[1.0], [0.0]]))], 1, 1, 1.0)
    assert not np.array_equal(before[0], net.weights[0])


def test_assigning_layers_takes_effect():
    net = Network([3, 4, 2])
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))]
    biases = [rng.standard_normal((4, 1)), rng.standard_normal((2, 1))]
    net.weights = weights
    net.biases = (b for b in biases)  # any iterable of arrays, like a list comprehension
    x = rng.standard_normal((3, 1))
    expected = logistic(weights[1] @ logistic(weights[0] @ x + biases[0]) + biases[1])
    np.testing.assert_allclose(net.feedforward(x), expected, rtol=1e-12)
    weights[0][...] = 0  # a copy went in: the caller's arrays stay theirs
    np.testing.assert_allclose(net.feedforward(x), expected, rtol=1e-12)
    net.weights[1] = np.ones((2, 4))
    net.biases[0] = np.zeros((4, 1))
    np.testing.assert_array_equal(net.weights[1], 1.0)
    np.testing.assert_array_equal(net.mlp.weights[0][0], 0.0)


@pytest.mark.parametrize("attribute, value, message", [
    ("weights", lambda: [np.zeros((4, 3))], "needs 2 arrays"),
    ("weights", lambda: [np.zeros((3, 4)), np.zeros((2, 4))], r"weights\[0\] has shape \(3, 4\); expected \(4, 3\)"),
    ("weights", lambda: [np.zeros((4, 3)), np.full((2, 4), np.nan)], "NaN"),
    ("biases", lambda: [np.zeros(4), np.zeros((2, 1))], r"biases\[0\] has shape \(4,\); expected \(4, 1\)"),
    ("biases", lambda: np.zeros((4, 1)), "one array per layer"),
    ("biases", lambda: [np.zeros((4, 1)), [["a"], ["b"]]], "numeric"),
])
def test_wrong_layers_are_refused_and_change_nothing(attribute, value, message):
    net = Network([3, 4, 2])
    before = net.mlp.params.copy()
    with pytest.raises((ValueError, TypeError), match=message):
        setattr(net, attribute, value())
    np.testing.assert_array_equal(net.mlp.params, before)
    with pytest.raises(ValueError, match=r"weights\[1\] has shape \(4, 2\); expected \(2, 4\)"):
        net.weights[1] = np.zeros((4, 2))
    with pytest.raises(TypeError, match="one layer at a time"):
        net.weights[0:1] = [np.zeros((4, 3))]
    np.testing.assert_array_equal(net.mlp.params, before)


def good_pairs(n=5):
    return classification_data(np.random.default_rng(0), [3, 4, 2], n)


@pytest.mark.parametrize("call, message", [
    (lambda net: net.SGD([(x, int(np.argmax(y))) for x, y in good_pairs()], 1, 2, 1.0), r"column vector of shape \(2, 1\)"),
    (lambda net: net.SGD([(x.ravel(), y) for x, y in good_pairs()], 1, 2, 1.0), r"each x must be a column vector of shape \(3, 1\)"),
    (lambda net: net.SGD(good_pairs() + [(np.zeros((4, 1)), np.zeros((2, 1)))], 1, 2, 1.0), "each x"),
    (lambda net: net.SGD([x for x, _ in good_pairs()], 1, 2, 1.0), r"\(x, y\) pairs"),
    (lambda net: net.SGD([], 1, 2, 1.0), "training_data is empty"),
    (lambda net: net.SGD(good_pairs(), 1, 0, 1.0), "mini_batch_size"),
    (lambda net: net.SGD(good_pairs(), -1, 2, 1.0), "epochs"),
    (lambda net: net.SGD(good_pairs(), 1, 2, float("nan")), "eta"),
    (lambda net: net.SGD(good_pairs(), 1, 2, 1.0, test_data=good_pairs()), "integer class label"),
    (lambda net: net.evaluate([(x, 0.5) for x, _ in good_pairs()]), "integer class label"),
    (lambda net: net.feedforward(np.zeros(3)), r"column vector of shape \(3, 1\)"),
    (lambda net: net.backprop(np.zeros((3, 1)), np.zeros((3, 1))), r"y must be a column vector of shape \(2, 1\)"),
    (lambda net: net.update_mini_batch([(np.full((3, 1), np.inf), np.zeros((2, 1)))], 1.0), "infinity"),
])
def test_bad_data_is_refused_before_anything_changes(call, message):
    net = Network([3, 4, 2])
    before, state = net.mlp.params.copy(), random.getstate()
    with pytest.raises((ValueError, TypeError), match=message):
        call(net)
    np.testing.assert_array_equal(net.mlp.params, before)
    assert random.getstate() == state


def test_a_pickled_network_keeps_its_layers_and_their_views():
    net = Network([4, 3, 2])
    twin = pickle.loads(pickle.dumps(net))
    for ours, theirs in zip(list(twin.weights) + list(twin.biases), list(net.weights) + list(net.biases)):
        np.testing.assert_array_equal(ours, theirs)
    x = np.full((4, 1), 0.5)
    twin.biases[1][...] = 0
    twin.weights[1][...] = 0  # the twin's views reach the twin's network, and only it
    np.testing.assert_array_equal(twin.feedforward(x), 0.5)
    assert not np.allclose(net.feedforward(x), 0.5)


def test_a_network_shows_nielsens_names_and_the_mlp():
    names = {name for name in dir(Network([3, 2])) if not name.startswith("_")}
    assert names == {"SGD", "backprop", "biases", "cost_derivative", "evaluate", "feedforward", "mlp", "num_layers",
                     "sizes", "update_mini_batch", "weights"}


@pytest.mark.parametrize("rows_per_fit", [7, 2])
def test_an_epoch_handed_over_in_parts_trains_the_same(capsys, monkeypatch, rows_per_fit):
    # parts of whole minibatches (6 or 3 rows for minibatches of 3): the steps are the same
    monkeypatch.setattr(columns, "ROWS_PER_FIT", rows_per_fit)
    sizes = [5, 4, 3]
    rng = np.random.default_rng(12)
    training, test = classification_data(rng, sizes, 23), classification_data(rng, sizes, 8, labelled=True)
    book, (book_lines, *_), net, (lines, *_) = run_both(capsys, sizes, training, test, 3, 3, 2.0, list)
    assert lines == book_lines
    assert_layers_equal(net, book, atol=1e-9)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda X, Y, order: (X, Y, np.array([5], dtype=np.intp)), "outside"),
        (lambda X, Y, order: (X, Y, np.array([-1], dtype=np.intp)), "outside"),
        (lambda X, Y, order: (X, Y, order.astype(np.float64)), "row numbers"),
        (lambda X, Y, order: (X, Y, list(order)), "row numbers"),
        (lambda X, Y, order: (X[:, :3].copy(), Y, order), "shape"),
        (lambda X, Y, order: (X.astype(np.float32), Y, order), "float64"),
        (lambda X, Y, order: (np.asfortranarray(X), Y, order), "C-contiguous"),
        (lambda X, Y, order: (X, Y[:4], order[:4]), "rows"),
    ],
)
def test_the_epoch_in_a_chosen_order_refuses_what_the_kernels_cannot_read(change, message):
    """network.epoch_in_order hands X[order] to the kernels unchecked, so it checks first:
    a row number out of range or an array of another layout is a ValueError, not a crash."""
    net = fm.MLP([4, 3, 2], activation="sigmoid", output="sigmoid", seed=0)
    X, Y = np.random.default_rng(0).random((5, 4)), np.eye(2)[[0, 1, 0, 1, 0]]
    order = np.arange(5, dtype=np.intp)
    before = net.params.copy()
    with pytest.raises(ValueError, match=message):
        fm.network.epoch_in_order(net, *change(X, Y, order), 2, 0.5, "epoch 0")
    assert np.array_equal(net.params, before)
    fm.network.epoch_in_order(net, X, Y, order, 2, 0.5, "epoch 0")
    assert not np.array_equal(net.params, before)
