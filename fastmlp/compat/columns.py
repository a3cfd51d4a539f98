"""Nielsen's column-vector view of an MLP: what the network.py and network2.py drop-ins share.

His networks keep, for each layer l = 1..L, a bias column b^(l) of shape (d^(l), 1) and a
weight matrix w^(l) of shape (d^(l), d^(l-1)), and take samples as (x, y) pairs of column
vectors. Here b^(l) is row 0 of fastmlp's W^(l) and w^(l) is the transpose of its other
rows, both views into one sigmoid MLP, so that editing them in place edits the network.
Training stacks the pairs into arrays once and lets the kernels run each epoch over
the rows in his shuffled order, where they are. As his ``random.shuffle(training_data)``
does, each epoch shuffles the caller's own list in place (same draws, same final order);
any other iterable of pairs is read once into a new list, as his Python 3 versions'
``list(training_data)`` reads it.
"""
from __future__ import annotations

import numbers
import random
from collections.abc import MutableSequence

import numpy as np

from .. import _checks as checks
from ..network import MLP, epoch_in_order

# Training hands the kernels the shuffled row numbers in parts of about this many (whole
# minibatches), holding the network's lock for one part at a time.
ROWS_PER_FIT = 4096


def sigmoid(z):
    """The logistic function 1 / (1 + e^-z), elementwise.

    Parameters
    ----------
    z : float or ndarray

    Returns
    -------
    float or ndarray, the shape of z

    Raises
    ------
    TypeError
        z is not numeric.

    Examples
    --------
    >>> from fastmlp.compat.nielsen import sigmoid
    >>> float(sigmoid(0.0))
    0.5
    """
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """The derivative of the sigmoid, sigma(z) (1 - sigma(z)), elementwise.

    Parameters
    ----------
    z : float or ndarray

    Returns
    -------
    float or ndarray, the shape of z

    Raises
    ------
    TypeError
        z is not numeric.

    Examples
    --------
    >>> from fastmlp.compat.nielsen import sigmoid_prime
    >>> float(sigmoid_prime(0.0))
    0.25
    """
    s = sigmoid(z)
    return s * (1 - s)


def sigmoid_mlp(sizes, loss) -> MLP:
    """The float64 MLP with sigmoid units in every layer that Nielsen's networks are."""
    return MLP(sizes, activation="sigmoid", output="sigmoid", loss=loss, dtype="float64")


class LayerList(list):
    """One array per layer (the biases or the weights), each a view into the network:
    ``net.weights[l] -= ...`` and ``net.weights[l] = ...`` both write into it. Its length is
    the network's number of layers: what would add or remove a layer raises TypeError."""

    def __init__(self, views, name):
        super().__init__(views)
        self.name = name

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            raise TypeError(f"assign {self.name} one layer at a time, or the whole list: net.{self.name} = [...]")
        view = self[index]
        view[...] = _layer_array(value, view.shape, f"{self.name}[{index}]")

    def _fixed_length(self, *args, **kwargs):
        raise TypeError(f"net.{self.name} holds one array per layer and cannot grow, shrink or be reordered; "
                        f"assign a layer (net.{self.name}[l] = ...) or the whole list (net.{self.name} = [...]), "
                        "or build a Network with other sizes")

    append = extend = insert = pop = remove = clear = sort = reverse = _fixed_length
    __delitem__ = __iadd__ = __imul__ = _fixed_length


class ColumnNetwork:
    """A fastmlp MLP with sigmoid units everywhere (``mlp``), seen through Nielsen's
    attributes: ``sizes``, ``num_layers``, ``biases``, ``weights``. ``loss`` is fastmlp's
    name of the cost, "l2" or "binary_cross_entropy"."""

    def __init__(self, sizes, loss):
        self.mlp = sigmoid_mlp(sizes, loss)

    @property
    def sizes(self) -> list:
        """Units per layer, input first: [d^(0), ..., d^(L)], a new list.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen import Network
        >>> np.random.seed(0)
        >>> Network([2, 3, 1]).sizes
        [2, 3, 1]
        """
        return list(self.mlp.sizes)

    @property
    def num_layers(self) -> int:
        """Number of layers, the input layer included: L + 1.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen import Network
        >>> np.random.seed(0)
        >>> Network([2, 3, 1]).num_layers
        3
        """
        return len(self.mlp.sizes)

    @property
    def biases(self) -> LayerList:
        """b^(l) of shape (d^(l), 1) for l = 1..L: views into the network (row 0 of
        fastmlp's W^(l)), so that editing one in place, assigning one (``net.biases[l] =
        b``) or assigning the list (``net.biases = [...]``) changes the network. An
        assigned array of another shape, or with NaN or infinity, raises ValueError; adding
        or removing a layer raises TypeError.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 1])
        >>> [b.shape for b in net.biases]
        [(3, 1), (1, 1)]
        >>> net.biases[1] = [[0.5]]
        >>> net.mlp.weights[1][0]
        array([0.5])
        """
        return LayerList([W[0].reshape(-1, 1) for W in self.mlp.weights], "biases")

    @biases.setter
    def biases(self, values):
        self._set_layers(biases=values)

    @property
    def weights(self) -> LayerList:
        """w^(l) of shape (d^(l), d^(l-1)) for l = 1..L: views into the network, w^(l)[j, k]
        the weight from unit k of layer l-1 to unit j of layer l (fastmlp's W^(l)[k + 1, j],
        transposed, as his matrices are). Editing and assigning work as for ``biases``,
        with the same errors.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 1])
        >>> [w.shape for w in net.weights]
        [(3, 2), (1, 3)]
        >>> bool(net.weights[0][2, 1] == net.mlp.weights[0][2, 2])
        True
        """
        return LayerList([W[1:].T for W in self.mlp.weights], "weights")

    @weights.setter
    def weights(self, values):
        self._set_layers(weights=values)

    def _set_layers(self, biases=None, weights=None) -> None:
        """Copy new biases and/or weights in; all are checked before any is written."""
        new = [W.copy() for W in self.mlp.weights]
        if biases is not None:
            shapes = [(W.shape[1], 1) for W in new]
            for W, b in zip(new, _layer_arrays(biases, shapes, "biases")):
                W[0] = b[:, 0]
        if weights is not None:
            shapes = [(W.shape[1], W.shape[0] - 1) for W in new]
            for W, w in zip(new, _layer_arrays(weights, shapes, "weights")):
                W[1:] = w.T
        self.mlp.set_weights(new)

    def _draw_layers(self, scaled: bool) -> None:
        """Fresh biases, then fresh weights, layer by layer, from numpy's global generator
        (``np.random.randn``), as Nielsen draws them; ``scaled`` divides each weight by
        sqrt(d^(l-1))."""
        sizes = self.sizes
        biases = [np.random.randn(d, 1) for d in sizes[1:]]
        weights = [np.random.randn(d_out, d_in) for d_in, d_out in zip(sizes[:-1], sizes[1:])]
        if scaled:
            weights = [w / np.sqrt(w.shape[1]) for w in weights]
        self._set_layers(biases, weights)

    # -- the forward and backward passes ---------------------------------------------------

    def feedforward(self, a):
        """The output column h(a) for an input column a; k input columns side by side give
        k output columns.

        Parameters
        ----------
        a : array-like of shape (d^(0), 1) or (d^(0), k)
            Real numbers, read as float64.

        Returns
        -------
        ndarray of shape (d^(L), 1) or (d^(L), k)

        Raises
        ------
        ValueError
            Another shape, NaN or infinity.
        TypeError
            Not real numbers.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 1])
        >>> net.feedforward(np.array([[0.5], [1.0]])).shape, net.feedforward(np.ones((2, 5))).shape
        ((1, 1), (1, 5))
        >>> net.feedforward(np.ones(2))
        Traceback (most recent call last):
        ...
        ValueError: feedforward takes a column vector of shape (2, 1), got shape (2,)
        """
        a = checks.real_array(a, "a")
        d0 = self.mlp.sizes[0]
        if a.ndim != 2 or a.shape[0] != d0 or a.shape[1] == 0:
            raise ValueError(f"feedforward takes a column vector of shape ({d0}, 1), got shape {a.shape}")
        return self.mlp.forward(a.T).T

    def backprop(self, x, y):
        """(nabla_b, nabla_w): the gradient of the cost of one sample (x, y), layer by layer
        in the shapes of ``biases`` and ``weights``.

        Parameters
        ----------
        x : array-like of shape (d^(0), 1)
            The input column.
        y : array-like of shape (d^(L), 1)
            The target column (one-hot for classes).

        Returns
        -------
        nabla_b : list of ndarray
            dC/db^(l) of shape (d^(l), 1), for l = 1..L.
        nabla_w : list of ndarray
            dC/dw^(l) of shape (d^(l), d^(l-1)), for l = 1..L.

        Raises
        ------
        ValueError
            Another shape, NaN or infinity.

        Examples
        --------
        One sigmoid layer under the quadratic cost: delta^(L) = (a - y) sigma'(z), and
        dC/dw_jk = a_k^(L-1) delta_j^(L):

        >>> import numpy as np
        >>> from fastmlp.compat.nielsen import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 1])
        >>> x, y = np.array([[0.5], [1.0]]), np.array([[1.0]])
        >>> a = net.feedforward(x)
        >>> nabla_b, nabla_w = net.backprop(x, y)
        >>> bool(np.allclose(nabla_b[0], (a - y) * a * (1 - a))), bool(np.allclose(nabla_w[0], nabla_b[0] @ x.T))
        (True, True)
        """
        x = _column(x, self.mlp.sizes[0], "x")
        y = _column(y, self.mlp.sizes[-1], "y")
        _, grads = self.mlp.gradient(x.reshape(1, -1), y.reshape(1, -1))
        return [G[0].reshape(-1, 1) for G in grads], [np.ascontiguousarray(G[1:].T) for G in grads]

    # -- data --------------------------------------------------------------------------------

    def _training_arrays(self, pairs, what):
        """(X, Y) from a list of (x, y) pairs of columns: X (n, d^(0)), Y (n, d^(L))."""
        xs, ys = _unzip(pairs, what)
        return self._stack(xs, self.mlp.sizes[0], what, "x"), self._stack(ys, self.mlp.sizes[-1], what, "y")

    def _labelled_arrays(self, pairs, what):
        """(X, labels) from a list of (x, label) pairs: X (n, d^(0)), integer labels (n,)."""
        xs, ys = _unzip(pairs, what)
        X = self._stack(xs, self.mlp.sizes[0], what, "x")
        try:
            labels = np.array(ys, dtype=np.float64)
        except (ValueError, TypeError):
            labels = None
        classes = self.mlp.sizes[-1]
        if labels is None or labels.ndim != 1 or not np.isfinite(labels).all() or (labels != np.round(labels)).any():
            raise ValueError(f"{what}: each y must be an integer class label 0..{classes - 1} (one-hot columns "
                             "are for training data)")
        return X, labels.astype(np.intp)

    def _correct(self, X, labels) -> int:
        """How many rows of X the network classifies as ``labels`` (argmax of the output)."""
        return int(np.count_nonzero(self.mlp.forward(X).argmax(axis=1) == labels))

    @staticmethod
    def _stack(columns, d, what, name):
        try:
            A = np.array(columns, dtype=np.float64)
        except (ValueError, TypeError):
            A = None
        if A is None or A.shape[1:] != (d, 1):
            hint = " (one-hot for classes; integer labels go in the test data)" if name == "y" else ""
            raise ValueError(f"{what}: each {name} must be a column vector of shape ({d}, 1){hint}")
        return A.reshape(len(columns), d)

    # -- training ----------------------------------------------------------------------------

    def _sgd_epochs(self, pairs, X, Y, epochs, mini_batch_size, eta, l2=0.0):
        """Run ``epochs`` epochs of minibatch SGD on the rows of X, Y (row i from the pair
        ``pairs[i]``), yielding each epoch's number j after it. Each epoch shuffles
        ``pairs`` (a mutable sequence) in place with Python's ``random.shuffle`` draws, as Nielsen shuffles
        his list, and steps by the mean gradient of each run of ``mini_batch_size`` samples
        in that order, the last run taking what is left; ``l2`` is fastmlp's weight decay
        (not on the biases)."""
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        batch = checks.positive_int(mini_batch_size, "mini_batch_size")
        eta = checks.real_number(eta, "eta", lowest=0.0)
        l2 = checks.real_number(l2, "lmbda / n", lowest=0.0)
        X = checks.samples(X, self.mlp.sizes[0], self.mlp.dtype)[0]  # once, not per epoch
        Y = self.mlp.loss.targets(Y, len(X), self.mlp.sizes[-1], self.mlp.dtype)
        # The row numbers in the order of his shuffled list: random.shuffle draws the same
        # numbers for any list of this length, so shuffling them permutes as his list is;
        # the list itself is put in that order (its pairs, not copies of their arrays).
        start_order, order = list(pairs), list(range(len(X)))
        per_fit = batch * max(1, ROWS_PER_FIT // batch)  # whole minibatches
        for j in range(epochs):
            random.shuffle(order)
            pairs[:] = [start_order[i] for i in order]
            rows = np.array(order, dtype=np.intp)
            for start in range(0, len(rows), per_fit):
                epoch_in_order(self.mlp, X, Y, rows[start : start + per_fit], batch, eta, f"epoch {j}", l2)
            yield j


def pair_list(data, what, optional=False):
    """The list of (x, y) pairs ``data`` names, as his code sees it: a list (any mutable
    sequence) is used as it is, and training shuffles it in place; any other iterable is
    read once into a new list.
    An iterator that is already used up (a zip read by an earlier call) raises ValueError
    rather than training or evaluating on nothing; ``optional``: None gives None."""
    if data is None and optional:
        return None
    if isinstance(data, MutableSequence):
        return data
    pairs = list(data)
    if not pairs and iter(data) is data:
        raise ValueError(f"{what} is an iterator that yields nothing, one already read to its end (a zip can be "
                         f"read only once): pass a list, e.g. list(zip(...)), to use the pairs more than once")
    return pairs


def _unzip(pairs, what):
    if not pairs:
        raise ValueError(f"{what} is empty")
    try:
        xs, ys = zip(*pairs)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must hold (x, y) pairs") from None
    return xs, ys


def _column(v, d, what):
    v = checks.real_array(v, what)
    if v.shape != (d, 1):
        raise ValueError(f"{what} must be a column vector of shape ({d}, 1), got shape {v.shape}")
    return v


def _layer_array(value, shape, what):
    value = checks.real_array(value, what)
    if value.shape != shape:
        raise ValueError(f"{what} has shape {value.shape}; expected {shape}")
    if not np.isfinite(value).all():
        raise ValueError(f"{what} contains NaN or infinity")
    return value


def _layer_arrays(values, shapes, what):
    if isinstance(values, np.ndarray) or not hasattr(values, "__iter__"):
        raise TypeError(f"{what} must be a list with one array per layer")
    values = list(values)
    if len(values) != len(shapes):
        raise ValueError(f"{what} needs {len(shapes)} arrays, one per layer after the input, got {len(values)}")
    return [_layer_array(v, shape, f"{what}[{l}]") for l, (v, shape) in enumerate(zip(values, shapes))]
