"""What Nielsen's SGD does to the caller's data, matched by the drop-ins: his
``random.shuffle(training_data)`` leaves the caller's list in its last epoch's order, so a
second SGD call, or a second network trained on the same list, starts from that order.
Checked against the textbook networks of nielsen_textbook; also the layer lists that
cannot grow or shrink, iterators read to their end, and network2's early stopping on ties."""
from __future__ import annotations

import random
from collections import UserList

import numpy as np
import pytest
from nielsen_textbook import Textbook, assert_layers_equal, classification_data, seeded

from fastmlp.compat import columns, nielsen, nielsen2


def positions(pairs, original):
    """Where each pair of ``pairs`` stood in ``original`` (pairs are compared by identity)."""
    index = {id(pair): i for i, pair in enumerate(original)}
    return [index[id(pair)] for pair in pairs]


def train_both(capsys, sizes, original, form, calls, seed=2):
    """Train the textbook network on a list of ``original``'s pairs and the drop-in on
    ``form(original)``, from the same seeds, with SGD(data, *call) for each call of
    ``calls`` in turn. Returns both networks, each one's positions of its data's pairs after
    each call, whether both left the generators in the same state, and the drop-in's data."""
    theirs, ours = list(original), form(original)
    seeded(seed)
    book, book_orders = Textbook(sizes), []
    for call in calls:
        book.train(theirs, *call)
        book_orders.append(positions(theirs, original))
    book_state = random.getstate()
    seeded(seed)
    net, orders = nielsen.Network(sizes), []
    for call in calls:
        net.SGD(ours, *call)
        orders.append(positions(ours, original))
    capsys.readouterr()
    return book, net, book_orders, orders, random.getstate() == book_state, ours


def test_two_sgd_calls_on_one_list_shuffle_it_as_the_original(capsys):
    sizes = [4, 5, 3]
    original = classification_data(np.random.default_rng(0), sizes, 23)
    book, net, book_orders, orders, same_draws, _ = train_both(capsys, sizes, original, list, [(3, 5, 2.0), (2, 5, 2.0)])
    assert orders == book_orders and orders[0] != list(range(23))  # the caller's list, reordered in place
    assert same_draws
    assert_layers_equal(net, book, atol=1e-9)


def test_two_networks_trained_one_after_the_other_on_one_list(capsys):
    sizes = [4, 5, 3]
    rng = np.random.default_rng(1)
    original = classification_data(rng, sizes, 19)
    evaluation = classification_data(rng, sizes, 6, labelled=True)
    theirs, ours = list(original), list(original)
    seeded(5)
    first_book, second_book = Textbook(sizes, "cross_entropy", scaled=True), Textbook(sizes, "cross_entropy", True)
    first_book.train2(theirs, 2, 4, 0.5, 0.1, evaluation, eval_accuracy=True)
    second_book.train2(theirs, 3, 4, 0.5, 0.1, evaluation, eval_accuracy=True)
    book_state = random.getstate()
    seeded(5)
    first, second = nielsen2.Network(sizes), nielsen2.Network(sizes)
    first.SGD(ours, 2, 4, 0.5, lmbda=0.1, evaluation_data=evaluation, monitor_evaluation_accuracy=True)
    second.SGD(ours, 3, 4, 0.5, lmbda=0.1, evaluation_data=evaluation, monitor_evaluation_accuracy=True)
    capsys.readouterr()
    assert random.getstate() == book_state
    assert positions(ours, original) == positions(theirs, original) != list(range(19))
    assert_layers_equal(first, first_book, atol=1e-9)
    assert_layers_equal(second, second_book, atol=1e-9)


@pytest.mark.parametrize("form", [UserList, tuple], ids=["UserList", "tuple"])
def test_a_mutable_sequence_is_shuffled_in_place_and_other_iterables_are_left_alone(capsys, form):
    sizes = [3, 4, 2]
    original = classification_data(np.random.default_rng(2), sizes, 11)
    book, net, book_orders, orders, same_draws, ours = train_both(capsys, sizes, original, form, [(2, 3, 1.0)])
    assert same_draws
    assert_layers_equal(net, book, atol=1e-9)
    if form is tuple:
        assert ours == tuple(original)
    else:
        assert orders == book_orders != [list(range(11))]


def test_the_rows_are_stacked_once_per_call_not_per_epoch(capsys, monkeypatch):
    calls = []
    stack = columns.ColumnNetwork._stack
    monkeypatch.setattr(columns.ColumnNetwork, "_stack", staticmethod(lambda *a: calls.append(a[2]) or stack(*a)))
    net = nielsen.Network([3, 4, 2])
    net.SGD(classification_data(np.random.default_rng(3), [3, 4, 2], 9), 5, 2, 1.0)
    capsys.readouterr()
    assert calls == ["training_data", "training_data"]  # x and y, once each for five epochs


@pytest.mark.parametrize("module, evaluation", [(nielsen, "test_data"), (nielsen2, "evaluation_data")])
def test_an_iterator_already_read_to_its_end_is_refused(module, evaluation):
    sizes = [3, 4, 2]
    rng = np.random.default_rng(4)
    training = classification_data(rng, sizes, 8)
    labelled = classification_data(rng, sizes, 4, labelled=True)
    net = module.Network(sizes)
    before, state = net.mlp.params.copy(), random.getstate()
    used = zip(*zip(*labelled))
    list(used)
    extra = {"monitor_evaluation_accuracy": True} if module is nielsen2 else {}
    with pytest.raises(ValueError, match=f"{evaluation} is an iterator that yields nothing.*list\\(zip"):
        net.SGD(training, 2, 3, 1.0, **{evaluation: used}, **extra)
    used_training = iter(training)
    list(used_training)
    with pytest.raises(ValueError, match="training_data is an iterator that yields nothing"):
        net.SGD(used_training, 2, 3, 1.0)
    np.testing.assert_array_equal(net.mlp.params, before)
    assert random.getstate() == state


def test_an_empty_test_list_skips_evaluation_as_in_the_original(capsys):
    net = nielsen.Network([3, 4, 2])
    net.SGD(classification_data(np.random.default_rng(5), [3, 4, 2], 6), 2, 3, 1.0, test_data=[])
    assert capsys.readouterr().out == "Epoch 0 complete\nEpoch 1 complete\n"


@pytest.mark.parametrize("attribute", ["weights", "biases"])
@pytest.mark.parametrize("change", [
    lambda layers: layers.append(layers[0]),
    lambda layers: layers.extend([layers[0]]),
    lambda layers: layers.insert(0, layers[0]),
    lambda layers: layers.pop(),
    lambda layers: layers.remove(layers[0]),
    lambda layers: layers.clear(),
    lambda layers: layers.reverse(),
    lambda layers: layers.__delitem__(0),
    lambda layers: layers.__iadd__([layers[0]]),
], ids=["append", "extend", "insert", "pop", "remove", "clear", "reverse", "del", "+="])
def test_the_layer_lists_cannot_grow_or_shrink(attribute, change):
    net = nielsen2.Network([3, 4, 2])
    before = net.mlp.params.copy()
    with pytest.raises(TypeError, match=f"net.{attribute} holds one array per layer"):
        change(getattr(net, attribute))
    np.testing.assert_array_equal(net.mlp.params, before)
    assert len(getattr(net, attribute)) == 2


def test_del_of_a_layer_is_refused():
    net = nielsen.Network([3, 4, 2])
    with pytest.raises(TypeError, match="cannot grow, shrink"):
        del net.weights[1]


@pytest.mark.parametrize("correct, epochs", [(True, 3), (False, 2)])
def test_early_stopping_counts_a_tie_with_the_best_as_no_gain(capsys, correct, epochs):
    """With eta = 0 the accuracy never changes: every epoch after the first ties the best
    (all correct: 3 epochs run with early_stopping_n=2), or the best stays at its start, 0
    (all wrong: 2 epochs). A rule that counted ties as gains would run all 10."""
    sizes = [4, 5, 3]
    rng = np.random.default_rng(6)
    training = classification_data(rng, sizes, 12)
    seeded(8)
    net = nielsen2.Network(sizes)
    xs = [x for x, _ in classification_data(rng, sizes, 5, labelled=True)]
    predicted = [int(np.argmax(net.feedforward(x))) for x in xs]
    evaluation = [(x, k if correct else (k + 1) % 3) for x, k in zip(xs, predicted)]
    seeded(8)
    book = Textbook(sizes, "cross_entropy", scaled=True)
    expected = book.train2(list(training), 10, 4, 0.0, 0.0, evaluation, eval_accuracy=True, early_stopping_n=2)
    got = net.SGD(training, 10, 4, 0.0, evaluation_data=evaluation, monitor_evaluation_accuracy=True,
                  early_stopping_n=2)
    capsys.readouterr()
    assert got[1] == expected[1] == [5 if correct else 0] * epochs
