"""Nielsen's networks as his book describes them, written out here to check the drop-ins
(fastmlp.compat.nielsen and nielsen2) against: plain numpy, one sample at a time, lists of
column vectors, Python loops. Nothing from fastmlp is used;
the helpers at the end are shared by test_nielsen and test_nielsen2.

network.py: sigmoid units, quadratic cost, biases then weights drawn with np.random.randn,
random.shuffle of the training list each epoch (the caller's own list, in place; any other
iterable is first read into a new list, as his Python 3 versions do), minibatch step by
eta / m times the summed per-sample gradients, the lines it prints. network2.py adds the cross-entropy cost, weights
scaled by 1 / sqrt(fan-in), L2 weight decay (1 - eta lmbda / n), per-epoch monitoring, and (in
its later versions) early stopping on the evaluation accuracy.
"""
from __future__ import annotations

import random
from collections.abc import MutableSequence

import numpy as np


def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def logistic_slope(z):
    return logistic(z) * (1.0 - logistic(z))


def one_hot(label, classes):
    column = np.zeros((classes, 1))
    column[label] = 1.0
    return column


class Textbook:
    """One sigmoid network. cost: "quadratic" or "cross_entropy"; scaled: draw the weights
    divided by sqrt(fan-in) (network2's default) or not (network.py)."""

    def __init__(self, sizes, cost="quadratic", scaled=False):
        self.sizes, self.cost = list(sizes), cost
        self.b = [np.random.randn(n, 1) for n in sizes[1:]]
        self.w = [np.random.randn(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        if scaled:
            self.w = [w / np.sqrt(w.shape[1]) for w in self.w]

    def output(self, a):
        for b, w in zip(self.b, self.w):
            a = logistic(w @ a + b)
        return a

    def gradients(self, x, y):
        """dC/db and dC/dw of one sample, by the four backpropagation equations."""
        activations, zs = [x], []
        for b, w in zip(self.b, self.w):
            zs.append(w @ activations[-1] + b)
            activations.append(logistic(zs[-1]))
        error = activations[-1] - y
        if self.cost == "quadratic":
            error = error * logistic_slope(zs[-1])
        grad_b, grad_w = [None] * len(self.b), [None] * len(self.w)
        for l in range(len(self.w) - 1, -1, -1):
            if l < len(self.w) - 1:
                error = (self.w[l + 1].T @ error) * logistic_slope(zs[l])
            grad_b[l] = error
            grad_w[l] = error @ activations[l].T
        return grad_b, grad_w

    def step(self, batch, eta, lmbda=0.0, n=1):
        sum_b = [np.zeros_like(b) for b in self.b]
        sum_w = [np.zeros_like(w) for w in self.w]
        for x, y in batch:
            gb, gw = self.gradients(x, y)
            sum_b = [s + g for s, g in zip(sum_b, gb)]
            sum_w = [s + g for s, g in zip(sum_w, gw)]
        rate = eta / len(batch)
        self.b = [b - rate * g for b, g in zip(self.b, sum_b)]
        self.w = [(1 - eta * lmbda / n) * w - rate * g for w, g in zip(self.w, sum_w)]

    def epochs(self, training, epochs, m, eta, lmbda=0.0):
        """Yield after each epoch of shuffled minibatch SGD over the list ``training``."""
        for j in range(epochs):
            random.shuffle(training)
            for start in range(0, len(training), m):
                self.step(training[start : start + m], eta, lmbda, len(training))
            yield j

    # network.py's training and evaluation
    def train(self, training, epochs, m, eta, test=None):
        training = as_list(training)
        test = list(test) if test is not None else []
        for j in self.epochs(training, epochs, m, eta):
            if test:
                print("Epoch {}: {} / {}".format(j, self.hits(test), len(test)))
            else:
                print("Epoch {} complete".format(j))

    def hits(self, labelled):
        return sum(int(np.argmax(self.output(x)) == label) for x, label in labelled)

    # network2.py's monitoring
    def sample_cost(self, a, y):
        if self.cost == "quadratic":
            return 0.5 * float(np.sum((a - y) ** 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a))))

    def monitored_cost(self, pairs, lmbda):
        total = sum(self.sample_cost(self.output(x), y) for x, y in pairs) / len(pairs)
        return total + 0.5 * lmbda / len(pairs) * sum(float(np.sum(w * w)) for w in self.w)

    def train2(self, training, epochs, m, eta, lmbda=0.0, evaluation=None, eval_cost=False, eval_accuracy=False,
               train_cost=False, train_accuracy=False, early_stopping_n=0):
        """network2.py's SGD; with early_stopping_n > 0 (and eval_accuracy) it returns once
        that many epochs in a row, counted after each epoch's lines, have not raised the
        best evaluation accuracy (which starts at 0)."""
        training = as_list(training)
        best_accuracy, epochs_without_gain = 0, 0
        evaluation = list(evaluation) if evaluation is not None else []
        classes = self.sizes[-1]
        records = ([], [], [], [])
        for j in self.epochs(training, epochs, m, eta, lmbda):
            print("Epoch {} training complete".format(j))
            if train_cost:
                records[2].append(self.monitored_cost(training, lmbda))
                print("Cost on training data: {}".format(records[2][-1]))
            if train_accuracy:
                records[3].append(self.hits([(x, np.argmax(y)) for x, y in training]))
                print("Accuracy on training data: {} / {}".format(records[3][-1], len(training)))
            if eval_cost:
                records[0].append(self.monitored_cost([(x, one_hot(k, classes)) for x, k in evaluation], lmbda))
                print("Cost on evaluation data: {}".format(records[0][-1]))
            if eval_accuracy:
                records[1].append(self.hits(evaluation))
                print("Accuracy on evaluation data: {} / {}".format(records[1][-1], len(evaluation)))
            print()
            if early_stopping_n > 0:
                if records[1][-1] > best_accuracy:
                    best_accuracy, epochs_without_gain = records[1][-1], 0
                else:
                    epochs_without_gain += 1
                if epochs_without_gain == early_stopping_n:
                    return records
        return records


def as_list(pairs):
    """The list SGD shuffles: the caller's own (any mutable sequence), or a new one read
    from any other iterable."""
    return pairs if isinstance(pairs, MutableSequence) else list(pairs)


def classification_data(rng, sizes, n, labelled=False):
    """n (x, y) pairs of column vectors for a ``sizes`` network: x uniform in [0, 1), y
    one-hot (or the integer label if ``labelled``) of a class that depends on x."""
    d_in, classes = sizes[0], sizes[-1]
    projection = rng.standard_normal((classes, d_in))
    pairs = []
    for _ in range(n):
        x = rng.random((d_in, 1))
        label = int(np.argmax(projection @ x))
        pairs.append((x, label if labelled else one_hot(label, classes)))
    return pairs


# -- shared by the tests -------------------------------------------------------------------

# The ways a script hands its (x, y) pairs over: a list, a zip (Python 3's MNIST loader), a
# generator; the last two can be read only once.
FORMS = {
    "list": list,
    "zip": lambda pairs: zip([x for x, _ in pairs], [y for _, y in pairs]),
    "generator": lambda pairs: (pair for pair in pairs),
}


def seeded(seed):
    """Seed both generators Nielsen's code draws from."""
    np.random.seed(seed)
    random.seed(seed)


def assert_layers_equal(net, book, atol):
    """A drop-in's biases and weights against a Textbook's, to ``atol``."""
    assert len(net.weights) == len(book.w) and len(net.biases) == len(book.b)
    for ours, theirs in zip(net.weights, book.w):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol)
    for ours, theirs in zip(net.biases, book.b):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol)
