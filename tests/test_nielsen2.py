"""fastmlp.compat.nielsen2 against Nielsen's network2.py as written out in nielsen_textbook:
the same draws, printed lines, monitored figures and weights after seeded training, and
its JSON files."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest
from nielsen_textbook import FORMS, Textbook, assert_layers_equal, classification_data, logistic, one_hot, seeded

from fastmlp.compat import nielsen2
from fastmlp.compat.nielsen2 import CrossEntropyCost, Network, QuadraticCost

COSTS = {"cross_entropy": CrossEntropyCost, "quadratic": QuadraticCost}
# (sizes, training samples, evaluation samples, epochs, minibatch size, eta, lmbda)
CASES = [
    ([4, 3, 2], 23, 9, 4, 5, 0.8, 0.0),
    ([6, 5, 4, 3], 31, 11, 3, 4, 0.6, 2.0),
    ([784, 30, 10], 41, 15, 3, 10, 0.5, 5.0),
]
CASE_IDS = ["4-3-2", "6-5-4-3", "784-30-10"]
MONITORS = dict(monitor_evaluation_cost=True, monitor_evaluation_accuracy=True, monitor_training_cost=True,
                monitor_training_accuracy=True)


def numbers_in(line):
    """The line with its number after ': ' (if a cost) parsed, for comparing to rounding."""
    head, sep, value = line.partition(": ")
    return (head, float(value)) if head.startswith("Cost") else line


def assert_same_output(ours, theirs):
    ours, theirs = ours.splitlines(), theirs.splitlines()
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = numbers_in(a), numbers_in(b)
        if isinstance(a, tuple):
            assert a[0] == b[0] and a[1] == pytest.approx(b[1], rel=1e-9)
        else:
            assert a == b


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
@pytest.mark.parametrize("cost", COSTS, ids=list(COSTS))
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sgd_prints_returns_and_ends_like_the_original(capsys, case, cost, form):
    sizes, n, n_eval, epochs, m, eta, lmbda = case
    rng = np.random.default_rng(8)
    training = classification_data(rng, sizes, n)
    evaluation = classification_data(rng, sizes, n_eval, labelled=True)
    seeded(3)
    book = Textbook(sizes, cost=cost, scaled=True)
    expected = book.train2(list(training), epochs, m, eta, lmbda, evaluation, True, True, True, True)
    book_lines, book_random = capsys.readouterr().out, random.getstate()
    seeded(3)
    net = Network(sizes, cost=COSTS[cost])
    got = net.SGD(FORMS[form](training), epochs, m, eta, lmbda=lmbda, evaluation_data=FORMS[form](evaluation),
                  **MONITORS)
    lines = capsys.readouterr().out
    assert_same_output(lines, book_lines)
    assert lines.count("training complete") == epochs and lines.count("\n\n") == epochs
    assert random.getstate() == book_random
    for ours, theirs in zip(got, expected):
        assert len(ours) == len(theirs) == epochs
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    assert got[1] == expected[1] and got[3] == expected[3]  # accuracies: counts, exactly
    assert_layers_equal(net, book, atol=1e-9)


def test_monitoring_only_what_is_asked(capsys):
    sizes = [5, 4, 3]
    rng = np.random.default_rng(1)
    training, evaluation = classification_data(rng, sizes, 12), classification_data(rng, sizes, 5, labelled=True)
    net = Network(sizes)
    got = net.SGD(training, 2, 5, 0.5, evaluation_data=evaluation, monitor_evaluation_accuracy=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["Epoch 0 training complete", "Accuracy on evaluation data", "",
                                                      "Epoch 1 training complete", "Accuracy on evaluation data", ""]
    assert got[0] == got[2] == got[3] == [] and len(got[1]) == 2
    assert lines[1].endswith(f"{got[1][0]} / 5")


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_early_stopping_ends_where_the_original_does(capsys, patience):
    sizes, epochs = [6, 5, 3], 25
    rng = np.random.default_rng(4)
    training, evaluation = classification_data(rng, sizes, 30), classification_data(rng, sizes, 7, labelled=True)
    seeded(6)
    book = Textbook(sizes, cost="cross_entropy", scaled=True)
    expected = book.train2(list(training), epochs, 5, 0.5, 1.0, evaluation, eval_cost=True, eval_accuracy=True,
                           early_stopping_n=patience)
    book_lines, book_random = capsys.readouterr().out, random.getstate()
    seeded(6)
    net = Network(sizes)
    got = net.SGD(training, epochs, 5, 0.5, lmbda=1.0, evaluation_data=evaluation, monitor_evaluation_cost=True,
                  monitor_evaluation_accuracy=True, early_stopping_n=patience)
    assert_same_output(capsys.readouterr().out, book_lines)
    assert random.getstate() == book_random
    assert got[1] == expected[1] and patience < len(got[1]) < epochs  # it stopped, and not at once
    assert max(got[1][-patience:]) <= max(got[1][:-patience])  # the last epochs did not beat the best
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-9)
    assert_layers_equal(net, book, atol=1e-9)


def test_early_stopping_off_runs_every_epoch(capsys):
    sizes = [4, 3, 2]
    rng = np.random.default_rng(2)
    training, evaluation = classification_data(rng, sizes, 10), classification_data(rng, sizes, 4, labelled=True)
    got = Network(sizes).SGD(training, 6, 5, 0.5, evaluation_data=evaluation, monitor_evaluation_accuracy=True,
                             early_stopping_n=0)
    assert len(got[1]) == 6


@pytest.mark.parametrize("value, message", [
    (-1, "non-negative integer"), (1.5, "non-negative integer"), (True, "non-negative integer"),
    (2, "monitor_evaluation_accuracy"),
])
def test_early_stopping_refuses_what_it_cannot_watch(value, message):
    sizes = [4, 3, 2]
    rng = np.random.default_rng(2)
    training, evaluation = classification_data(rng, sizes, 10), classification_data(rng, sizes, 4, labelled=True)
    net = Network(sizes)
    before = [w.copy() for w in net.weights]
    with pytest.raises(ValueError, match=message):
        net.SGD(training, 2, 5, 0.5, evaluation_data=evaluation, early_stopping_n=value)
    for ours, theirs in zip(net.weights, before):
        np.testing.assert_array_equal(ours, theirs)


def test_the_initialisers_draw_what_the_book_draws():
    seeded(4)
    scaled = Textbook([7, 5, 3], scaled=True)
    large = Textbook([7, 5, 3])
    seeded(4)
    net = Network([7, 5, 3])
    assert net.cost is CrossEntropyCost
    assert_layers_equal(net, scaled, atol=0)
    net.large_weight_initializer()
    assert_layers_equal(net, large, atol=0)
    np.random.seed(4)
    net.default_weight_initializer()
    assert_layers_equal(net, scaled, atol=0)


@pytest.mark.parametrize("cost", COSTS, ids=list(COSTS))
def test_single_sample_methods_match_the_textbook(cost):
    sizes = [6, 5, 4]
    seeded(2)
    book = Textbook(sizes, cost=cost, scaled=True)
    seeded(2)
    net = Network(sizes, cost=COSTS[cost])
    pairs = classification_data(np.random.default_rng(4), sizes, 9)
    labelled = [(x, int(np.argmax(y))) for x, y in pairs]
    nabla_b, nabla_w = net.backprop(*pairs[0])
    for ours, theirs in zip(nabla_b + nabla_w, sum(book.gradients(*pairs[0]), [])):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)
    assert net.accuracy(pairs, convert=True) == net.accuracy(labelled) == book.hits(labelled)
    assert net.total_cost(pairs, 3.0) == pytest.approx(book.monitored_cost(pairs, 3.0), rel=1e-12)
    assert net.total_cost(labelled, 3.0, convert=True) == pytest.approx(book.monitored_cost(pairs, 3.0), rel=1e-12)
    net.update_mini_batch(pairs[:4], 0.5, 2.0, 50)
    book.step(pairs[:4], 0.5, 2.0, 50)
    assert_layers_equal(net, book, atol=1e-12)


def test_the_cost_classes():
    z = np.array([[-1.0], [0.5], [2.0]])
    a, y = logistic(z), np.array([[0.0], [1.0], [0.0]])
    assert QuadraticCost.fn(a, y) == pytest.approx(0.5 * np.sum((a - y) ** 2), rel=1e-15)
    np.testing.assert_allclose(QuadraticCost.delta(z, a, y), (a - y) * a * (1 - a), rtol=1e-12)
    expected = -np.log(1 - a[0, 0]) - np.log(a[1, 0]) - np.log(1 - a[2, 0])
    assert CrossEntropyCost.fn(a, y) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(CrossEntropyCost.delta(z, a, y), a - y)
    assert CrossEntropyCost.fn(np.array([[1.0], [0.0]]), np.array([[1.0], [0.0]])) == 0.0  # 0 ln 0 is 0
    np.testing.assert_array_equal(nielsen2.vectorized_result(3), one_hot(3, 10))


def test_changing_the_cost_keeps_the_weights_and_changes_the_gradient():
    sizes = [4, 3, 2]
    seeded(6)
    book = Textbook(sizes, cost="quadratic", scaled=True)
    seeded(6)
    net = Network(sizes)
    x, y = classification_data(np.random.default_rng(0), sizes, 1)[0]
    cross_entropy = net.backprop(x, y)[0][-1]
    net.cost = QuadraticCost
    assert net.cost is QuadraticCost and net.mlp.loss.name == "l2"
    assert_layers_equal(net, book, atol=0)
    np.testing.assert_allclose(net.backprop(x, y)[0][-1], book.gradients(x, y)[0][-1], rtol=1e-12)
    assert not np.allclose(cross_entropy, net.backprop(x, y)[0][-1])
    with pytest.raises(ValueError, match="cost must be one of QuadraticCost, CrossEntropyCost"):
        net.cost = object
    assert net.cost is QuadraticCost


def test_save_writes_the_books_json_and_load_reads_it(tmp_path):
    seeded(9)
    net = Network([5, 4, 3], cost=QuadraticCost)
    net.SGD(classification_data(np.random.default_rng(2), [5, 4, 3], 10), 1, 3, 0.5)
    path = tmp_path / "net.json"
    net.save(str(path))
    data = json.loads(path.read_text())
    assert set(data) == {"sizes", "weights", "biases", "cost"}
    assert data["sizes"] == [5, 4, 3] and data["cost"] == "QuadraticCost"
    assert np.array(data["weights"][0]).shape == (4, 5) and np.array(data["biases"][1]).shape == (3, 1)
    back = nielsen2.load(str(path))
    assert back.cost is QuadraticCost and back.sizes == [5, 4, 3]
    for a, b in zip(list(back.weights) + list(back.biases), list(net.weights) + list(net.biases)):
        np.testing.assert_array_equal(a, b)  # JSON keeps every digit
    # a file written by hand in the same format loads too
    rng = np.random.default_rng(0)
    layers = {"weights": [rng.standard_normal((2, 3)).tolist()], "biases": [[[0.5], [-0.5]]]}
    path.write_text(json.dumps({"sizes": [3, 2], "cost": "CrossEntropyCost", **layers}))
    hand = nielsen2.load(path)
    assert hand.cost is CrossEntropyCost
    np.testing.assert_array_equal(hand.weights[0], layers["weights"][0])
    np.testing.assert_array_equal(hand.biases[0], [[0.5], [-0.5]])


def test_a_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "net.json"
    Network([3, 2]).save(path)
    before = path.read_text()

    def broken(data, f):
        f.write('{"sizes": [')
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", broken)
    with pytest.raises(OSError, match="disk full"):
        Network([3, 2]).save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a saved network"),
    ('{"sizes": [3, 2], "weights": [], "biases": []}', "lacks cost"),
    ('[1, 2]', "lacks biases, cost, sizes, weights"),
    ('{"sizes": [3, 2], "weights": [[[0, 0, 0], [0, 0, 0]]], "biases": [[[0], [0]]], "cost": "os"}',
     "names the cost 'os'"),
    ('{"sizes": [3, 2], "weights": [[[0, 0], [0, 0]]], "biases": [[[0], [0]]], "cost": "QuadraticCost"}',
     r"weights\[0\] has shape \(2, 2\); expected \(2, 3\)"),
])
def test_load_refuses_what_is_not_a_saved_network(tmp_path, content, message):
    path = tmp_path / "net.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        nielsen2.load(path)


@pytest.mark.parametrize("call, message", [
    (lambda net, data: net.SGD(data, 1, 2, 0.5, monitor_evaluation_cost=True), "need evaluation_data"),
    (lambda net, data: net.SGD(data, 1, 2, 0.5, evaluation_data=[], monitor_evaluation_accuracy=True),
     "need evaluation_data"),
    (lambda net, data: net.SGD(data, 1, 2, 0.5, lmbda=-1.0), "lmbda"),
    (lambda net, data: net.total_cost([(x, 7) for x, _ in data], 0.0, convert=True), r"labels must lie in 0\.\.1"),
    (lambda net, data: Network([3, 2], cost="CrossEntropyCost"), "cost must be one of"),
])
def test_bad_arguments_are_refused_before_anything_changes(call, message):
    net = Network([3, 4, 2])
    data = classification_data(np.random.default_rng(0), [3, 4, 2], 6)
    before, state = net.mlp.params.copy(), random.getstate()
    with pytest.raises((ValueError, TypeError), match=message):
        call(net, data)
    np.testing.assert_array_equal(net.mlp.params, before)
    assert random.getstate() == state


def test_a_network_shows_nielsens_names_and_the_mlp():
    names = {name for name in dir(Network([3, 2])) if not name.startswith("_")}
    assert names == {"SGD", "accuracy", "backprop", "biases", "cost", "default_weight_initializer", "feedforward",
                     "large_weight_initializer", "mlp", "num_layers", "save", "sizes", "total_cost",
                     "update_mini_batch", "weights"}
