"""A drop-in for ``network.py`` of Michael Nielsen's "Neural Networks and Deep Learning"
(chapters 1 and 2), computed by fastmlp's kernels::

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

from .columns import ColumnNetwork, pair_list, sigmoid, sigmoid_prime


class Network(ColumnNetwork):
    """A sigmoid network with ``sizes`` units per layer (input first), trained on the
    quadratic cost C = 1/2 ||a - y||^2 per sample, as in Nielsen's ``network.py``.

    Parameters
    ----------
    sizes : list of int
        Units per layer, input first, e.g. [784, 30, 10].

    Raises
    ------
    ValueError, TypeError
        Bad sizes; ``SGD``, ``feedforward`` and ``evaluate`` raise them for data of the wrong
        shape.

    Examples
    --------
    His data: lists of ``(x, y)`` pairs of column vectors, x of shape (sizes[0], 1), y one-hot
    of shape (sizes[-1], 1) for training and an integer label for testing.

    >>> import numpy as np
    >>> from fastmlp.compat.nielsen import Network
    >>> np.random.seed(0)
    >>> net = Network([2, 3, 1])
    >>> net.feedforward(np.array([[0.5], [1.0]])).shape
    (1, 1)
    """

    def __init__(self, sizes):
        super().__init__(sizes, loss="l2")
        self._draw_layers(scaled=False)

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """Minibatch stochastic gradient descent. ``training_data``: (x, y) pairs, x of shape
        (d^(0), 1) and y of shape (d^(L), 1) (one-hot for classes); ``test_data``: (x, label)
        pairs with integer labels. Each epoch shuffles the samples (a list in place, as
        his ``random.shuffle(training_data)``; other iterables are read once), steps once per minibatch
        of ``mini_batch_size`` (the last one takes what is left) at the rate ``eta``, then
        prints "Epoch j: correct / n_test" with test data, else "Epoch j complete".

        Parameters
        ----------
        training_data : list of (x, y)
            x of shape (d^(0), 1), y of shape (d^(L), 1).
        epochs, mini_batch_size : int
        eta : float
            The learning rate.
        test_data : list of (x, int), optional
            Default None tests nothing.

        Returns
        -------
        None

        Raises
        ------
        ValueError, TypeError
            Pairs of the wrong shape, NaN or infinity, or a bad epochs, size or rate.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 2])
        >>> e = np.eye(2)[:, :, None]   # the one-hot columns
        >>> training = [(np.array([[0.0], [1.0]]), e[1]), (np.array([[1.0], [0.0]]), e[0])]
        >>> testing = [(np.array([[0.0], [1.0]]), 1), (np.array([[1.0], [0.0]]), 0)]
        >>> net.SGD(training, 2, 1, 3.0, test_data=testing)   # doctest: +ELLIPSIS
        Epoch 0: ... / 2
        Epoch 1: ... / 2
        """
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
        """One step w <- w - eta * (mean gradient over the (x, y) pairs of ``mini_batch``).

        Parameters
        ----------
        mini_batch : list of (x, y)
            Pairs as ``SGD`` takes them.
        eta : float

        Returns
        -------
        None

        Raises
        ------
        ValueError, TypeError
            Pairs of the wrong shape, NaN or infinity, or a bad rate.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 2])
        >>> e = np.eye(2)[:, :, None]   # the one-hot columns
        >>> training = [(np.array([[0.0], [1.0]]), e[1]), (np.array([[1.0], [0.0]]), e[0])]
        >>> testing = [(np.array([[0.0], [1.0]]), 1), (np.array([[1.0], [0.0]]), 0)]
        >>> before = net.weights[0].copy()
        >>> net.update_mini_batch(training, 3.0)
        >>> bool((net.weights[0] != before).any())
        True
        """
        X, Y = self._training_arrays(list(mini_batch), "mini_batch")
        self.mlp.sgd_step(X, Y, eta)

    def evaluate(self, test_data) -> int:
        """How many (x, label) pairs the network classifies right (argmax of its output).

        Parameters
        ----------
        test_data : list of (x, int)
            x of shape (d^(0), 1), the label in 0..d^(L)-1.

        Returns
        -------
        int

        Raises
        ------
        ValueError, TypeError
            Pairs of the wrong shape, NaN or infinity.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 2])
        >>> e = np.eye(2)[:, :, None]   # the one-hot columns
        >>> training = [(np.array([[0.0], [1.0]]), e[1]), (np.array([[1.0], [0.0]]), e[0])]
        >>> testing = [(np.array([[0.0], [1.0]]), 1), (np.array([[1.0], [0.0]]), 0)]
        >>> 0 <= net.evaluate(testing) <= 2
        True
        """
        return self._correct(*self._labelled_arrays(list(test_data), "test_data"))

    def cost_derivative(self, output_activations, y):
        """dC/da for the quadratic cost: a - y.

        Parameters
        ----------
        output_activations, y : ndarray of shape (d^(L), 1)

        Returns
        -------
        ndarray of shape (d^(L), 1)

        Raises
        ------
        ValueError
            The arrays do not broadcast.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen import Network
        >>> Network([1, 1]).cost_derivative(np.array([[0.75]]), np.array([[1.0]]))
        array([[-0.25]])
        """
        return output_activations - y


__all__ = ["Network", "sigmoid", "sigmoid_prime"]
