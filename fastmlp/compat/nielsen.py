"""A drop-in for ``network.py`` of Michael Nielsen's "Neural Networks and Deep Learning"
(chapters 1 and 2), computed by fastmlp's kernels.

    from fastmlp.compat.nielsen import Network    # instead of: from network import Network
    net = Network([784, 30, 10])
    net.SGD(training_data, 30, 10, 3.0, test_data=test_data)

The same surface and the same numbers: sigmoid units in every layer, the quadratic cost,
initial biases and then weights drawn with ``np.random.randn``, each epoch shuffled with
``random.shuffle``, each minibatch step w <- w - eta * (mean of the per-sample gradients),
and the same printed lines. A script that seeds ``np.random`` and ``random`` prints what the
original prints and ends with the same weights, to rounding.

Differences: ``biases`` and ``weights`` are views into the network, so a list kept from
before training changes with it (copy the arrays to keep a snapshot); malformed data,
data the original would silently misuse (integer training targets, flat 1-D inputs) and
arguments outside the algorithm (a negative eta) raise a ValueError or TypeError naming
the problem; ``net.mlp`` is the fastmlp MLP underneath, for everything else fastmlp does.
"""
from __future__ import annotations

from ._columns import ColumnNetwork, pair_list, sigmoid, sigmoid_prime


class Network(ColumnNetwork):
    """A sigmoid network with ``sizes`` units per layer (input first), trained on the
    quadratic cost C = 1/2 ||a - y||^2 per sample."""

    def __init__(self, sizes):
        super().__init__(sizes, loss="l2")
        self._draw_layers(scaled=False)

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """Minibatch stochastic gradient descent. ``training_data``: (x, y) pairs, x of shape
        (d^(0), 1) and y of shape (d^(L), 1) (one-hot for classes); ``test_data``: (x, label)
        pairs with integer labels. Each epoch shuffles the samples (a list in place, as
        his ``random.shuffle(training_data)``; other iterables are read once), steps once per minibatch
        of ``mini_batch_size`` (the last one takes what is left) at the rate ``eta``, then
        prints "Epoch j: correct / n_test" with test data, else "Epoch j complete"."""
        training = pair_list(training_data, "training_data")
        X, Y = self._training_arrays(training, "training_data")
        test = pair_list(test_data, "test_data", optional=True) or []
        if test:
            X_test, labels = self._labelled_arrays(test, "test_data")
        for j in self._sgd_epochs(training, X, Y, epochs, mini_batch_size, eta):
            if test:
                print(f"Epoch {j}: {self._correct(X_test, labels)} / {len(test)}")
            else:
                print(f"Epoch {j} complete")

    def update_mini_batch(self, mini_batch, eta):
        """One step w <- w - eta * (mean gradient over the (x, y) pairs of ``mini_batch``)."""
        X, Y = self._training_arrays(list(mini_batch), "mini_batch")
        self.mlp.sgd_step(X, Y, eta)

    def evaluate(self, test_data) -> int:
        """How many (x, label) pairs the network classifies right (argmax of its output)."""
        return self._correct(*self._labelled_arrays(list(test_data), "test_data"))

    def cost_derivative(self, output_activations, y):
        """dC/da for the quadratic cost: a - y."""
        return output_activations - y


__all__ = ["Network", "sigmoid", "sigmoid_prime"]
