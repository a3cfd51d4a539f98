"""A drop-in for ``network2.py`` of Michael Nielsen's "Neural Networks and Deep Learning"
(chapter 3), computed by fastmlp's kernels::

    from fastmlp.compat.nielsen2 import Network, CrossEntropyCost, load
    net = Network([784, 30, 10], cost=CrossEntropyCost)
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = net.SGD(
        training_data, 30, 10, 0.5, lmbda=5.0, evaluation_data=validation_data,
        monitor_evaluation_accuracy=True)

What network2.py adds to network.py, with the same numbers: the cross-entropy cost (the
default) beside the quadratic one, weights drawn scaled by 1 / sqrt(fan-in) (or unscaled,
``large_weight_initializer``), L2 weight decay w <- (1 - eta lmbda / n) w - eta * (mean
gradient) with n the size of the training set, per-epoch monitoring of the cost and the
accuracy on the training and the evaluation data (printed and returned), and the JSON
file of ``save`` and ``load``. Differences from the original are those of
fastmlp.compat.nielsen; besides, ``save`` replaces the file only once the new one is
complete, ``load`` checks what it reads, and only the two costs here can train.
``early_stopping_n``, from later versions of network2.py, is here too.
"""
from __future__ import annotations

import io
import json
import numbers

import numpy as np

from .. import _checks as checks
from ..io import atomic_write, open_regular
from .columns import ColumnNetwork, pair_list, sigmoid, sigmoid_mlp, sigmoid_prime


class QuadraticCost:
    """C = 1/2 ||a - y||^2 per sample; with sigmoid outputs its output error is
    (a - y) sigma'(z). Pass the class itself as ``Network(sizes, cost=QuadraticCost)``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.compat.nielsen2 import QuadraticCost
    >>> float(QuadraticCost.fn(np.array([[0.5], [1.0]]), np.array([[0.0], [1.0]])))
    0.125
    """

    loss = "l2"

    @staticmethod
    def fn(a, y):
        """The cost of one sample.

        Parameters
        ----------
        a, y : ndarray of shape (n_outputs, 1)
            The network's output and the target column.

        Returns
        -------
        float
            1/2 ||a - y||^2.

        Raises
        ------
        ValueError
            ``a`` and ``y`` do not broadcast.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import QuadraticCost
        >>> float(QuadraticCost.fn(np.array([[1.0]]), np.array([[0.0]])))
        0.5
        """
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        """The output error delta^(L) = dC/dz^(L) of one sample.

        Parameters
        ----------
        z, a, y : ndarray of shape (n_outputs, 1)
            The output units' weighted inputs, their sigmoid outputs, and the target.

        Returns
        -------
        ndarray of shape (n_outputs, 1)
            (a - y) sigma'(z).

        Raises
        ------
        ValueError
            The arrays do not broadcast.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import QuadraticCost
        >>> QuadraticCost.delta(np.array([[0.0]]), np.array([[0.5]]), np.array([[1.0]]))
        array([[-0.125]])
        """
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    """C = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)] per sample (0 ln 0 counted as 0);
    with sigmoid outputs its output error is a - y, which does not slow down when the
    output saturates. Pass the class itself as ``Network(sizes, cost=CrossEntropyCost)``
    (the default).

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.compat.nielsen2 import CrossEntropyCost
    >>> round(float(CrossEntropyCost.fn(np.array([[0.5]]), np.array([[1.0]]))), 4)   # ln 2
    0.6931
    """

    loss = "binary_cross_entropy"

    @staticmethod
    def fn(a, y):
        """The cost of one sample.

        Parameters
        ----------
        a, y : ndarray of shape (n_outputs, 1)
            The network's output, in [0, 1], and the target column.

        Returns
        -------
        float
            -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)], with 0 ln 0 counted as 0.

        Raises
        ------
        ValueError
            ``a`` and ``y`` do not broadcast.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import CrossEntropyCost
        >>> float(CrossEntropyCost.fn(np.array([[1.0], [0.0]]), np.array([[1.0], [0.0]])))
        0.0
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        """The output error delta^(L) = dC/dz^(L) of one sample with sigmoid outputs.

        Parameters
        ----------
        z, a, y : ndarray of shape (n_outputs, 1)
            The output units' weighted inputs (unused: sigma' cancels), their outputs, and
            the target.

        Returns
        -------
        ndarray of shape (n_outputs, 1)
            a - y.

        Raises
        ------
        ValueError
            ``a`` and ``y`` do not broadcast.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import CrossEntropyCost
        >>> CrossEntropyCost.delta(None, np.array([[0.75]]), np.array([[1.0]]))
        array([[-0.25]])
        """
        return a - y


COSTS = {cost.__name__: cost for cost in (QuadraticCost, CrossEntropyCost)}


def vectorized_result(j, classes=10):
    """The one-hot column of class j, the target form ``SGD`` takes for training data.

    Parameters
    ----------
    j : int
        The class, 0 <= j < classes.
    classes : int, default 10

    Returns
    -------
    ndarray of shape (classes, 1), float64

    Raises
    ------
    IndexError
        j is out of range.

    Examples
    --------
    >>> from fastmlp.compat.nielsen2 import vectorized_result
    >>> vectorized_result(2, classes=4).ravel()
    array([0., 0., 1., 0.])
    """
    e = np.zeros((classes, 1))
    e[j] = 1.0
    return e


class Network(ColumnNetwork):
    """A sigmoid network with ``sizes`` units per layer (input first), trained on ``cost``
    (QuadraticCost or CrossEntropyCost); weights drawn by ``default_weight_initializer``.

    Parameters
    ----------
    sizes : list of int
        Units per layer, input first, e.g. [784, 30, 10].
    cost : class, default CrossEntropyCost

    Raises
    ------
    ValueError, TypeError
        Bad sizes or an unknown cost; the methods raise them for data of the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.compat.nielsen2 import Network, QuadraticCost
    >>> np.random.seed(0)
    >>> net = Network([2, 3, 1], cost=QuadraticCost)
    >>> net.feedforward(np.array([[0.5], [1.0]])).shape
    (1, 1)
    """

    def __init__(self, sizes, cost=CrossEntropyCost):
        super().__init__(sizes, loss=_loss_of(cost))
        self._cost = cost
        self.default_weight_initializer()

    @property
    def cost(self):
        """The cost class; setting another one keeps the weights (in a new ``mlp``, so
        arrays taken from ``biases`` and ``weights`` before no longer reach the network).
        Setting anything but QuadraticCost or CrossEntropyCost raises ValueError.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import CrossEntropyCost, Network, QuadraticCost
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 1])
        >>> a = net.feedforward(np.array([[0.5], [1.0]]))
        >>> net.cost = QuadraticCost
        >>> net.cost is QuadraticCost, bool(np.array_equal(net.feedforward(np.array([[0.5], [1.0]])), a))
        (True, True)
        """
        return self._cost

    @cost.setter
    def cost(self, cost):
        mlp = sigmoid_mlp(self.sizes, _loss_of(cost))
        mlp.set_weights(self.mlp.weights)
        self.mlp, self._cost = mlp, cost

    def default_weight_initializer(self):
        """Biases from N(0, 1), then weights from N(0, 1 / d^(l-1)), by np.random.randn.

        Returns
        -------
        None

        Raises
        ------
        Nothing.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import Network
        >>> np.random.seed(0)
        >>> net = Network([400, 30, 10])
        >>> net.default_weight_initializer()
        >>> bool(net.weights[0].std() < 0.1)   # about 1 / sqrt(400)
        True
        """
        self._draw_layers(scaled=True)

    def large_weight_initializer(self):
        """Biases, then weights, from N(0, 1) by np.random.randn (network.py's draw).

        Returns
        -------
        None

        Raises
        ------
        Nothing.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import Network
        >>> np.random.seed(0)
        >>> net = Network([400, 30, 10])
        >>> net.large_weight_initializer()
        >>> bool(net.weights[0].std() > 0.9)
        True
        """
        self._draw_layers(scaled=False)

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None,
            monitor_evaluation_cost=False, monitor_evaluation_accuracy=False, monitor_training_cost=False,
            monitor_training_accuracy=False, early_stopping_n=0):
        """Minibatch SGD with L2 weight decay ``lmbda`` (scaled by the number n of training
        samples). ``training_data``: (x, y) pairs of columns, y one-hot; ``evaluation_data``:
        (x, label) pairs with integer labels. Each epoch shuffles ``training_data`` in place
        when it is a list, as his ``random.shuffle`` does. After each epoch it prints "Epoch j training
        complete", then the monitored figures, then an empty line. Returns the lists
        (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy), one entry
        per epoch in those monitored. ``early_stopping_n`` > 0 ends training, after an epoch's
        lines, once the accuracy on the evaluation data has not beaten its best so far for
        that many epochs in a row (it needs monitor_evaluation_accuracy; 0: off); the
        network keeps the weights of the last epoch.

        Parameters
        ----------
        training_data : list of (x, y)
            x of shape (d^(0), 1), y one-hot of shape (d^(L), 1).
        epochs, mini_batch_size : int
        eta : float
        lmbda : float, default 0.0
        evaluation_data : list of (x, int), optional
        monitor_evaluation_cost, monitor_evaluation_accuracy : bool, default False
        monitor_training_cost, monitor_training_accuracy : bool, default False
        early_stopping_n : int, default 0

        Returns
        -------
        (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy) : lists

        Raises
        ------
        ValueError, TypeError
            Pairs of the wrong shape, NaN or infinity, a bad setting, or evaluation
            monitoring without evaluation_data.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 2])
        >>> e = np.eye(2)[:, :, None]   # the one-hot columns
        >>> training = [(np.array([[0.0], [1.0]]), e[1]), (np.array([[1.0], [0.0]]), e[0])]
        >>> labelled = [(np.array([[0.0], [1.0]]), 1), (np.array([[1.0], [0.0]]), 0)]
        >>> costs = net.SGD(training, 1, 2, 0.5, evaluation_data=labelled, monitor_evaluation_accuracy=True)
        Epoch 0 training complete
        Accuracy on evaluation data: ... / 2
        <BLANKLINE>
        >>> len(costs[1])
        1
        """
        training = pair_list(training_data, "training_data")
        X, Y = self._training_arrays(training, "training_data")
        n = len(training)
        evaluation = pair_list(evaluation_data, "evaluation_data", optional=True) or []
        if evaluation:
            X_eval, labels = self._labelled_arrays(evaluation, "evaluation_data")
        elif monitor_evaluation_cost or monitor_evaluation_accuracy:
            raise ValueError("monitor_evaluation_cost and monitor_evaluation_accuracy need evaluation_data")
        lmbda = checks.real_number(lmbda, "lmbda", lowest=0.0)
        patience = _early_stopping_n(early_stopping_n, monitor_evaluation_accuracy)
        best, stale = 0, 0
        evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = [], [], [], []
        for j in self._sgd_epochs(training, X, Y, epochs, mini_batch_size, eta, l2=lmbda / n):
            print(f"Epoch {j} training complete")
            if monitor_training_cost:
                training_cost.append(self._total_cost(X, Y, lmbda))
                print(f"Cost on training data: {training_cost[-1]}")
            if monitor_training_accuracy:
                training_accuracy.append(self._correct(X, Y.argmax(axis=1)))
                print(f"Accuracy on training data: {training_accuracy[-1]} / {n}")
            if monitor_evaluation_cost:
                evaluation_cost.append(self._total_cost(X_eval, self._one_hot(labels), lmbda))
                print(f"Cost on evaluation data: {evaluation_cost[-1]}")
            if monitor_evaluation_accuracy:
                evaluation_accuracy.append(self._correct(X_eval, labels))
                print(f"Accuracy on evaluation data: {evaluation_accuracy[-1]} / {len(evaluation)}")
            print()
            if patience:
                best, stale = (evaluation_accuracy[-1], 0) if evaluation_accuracy[-1] > best else (best, stale + 1)
                if stale == patience:
                    break
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        """One step w <- (1 - eta lmbda / n) w - eta * (mean gradient over ``mini_batch``);
        the biases take no decay.

        Parameters
        ----------
        mini_batch : list of (x, y)
            Pairs as ``SGD`` takes them.
        eta, lmbda : float
        n : int
            The number of training samples.

        Returns
        -------
        None

        Raises
        ------
        ValueError, TypeError
            Pairs of the wrong shape, NaN or infinity, or a bad rate or lmbda.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 2])
        >>> e = np.eye(2)[:, :, None]   # the one-hot columns
        >>> training = [(np.array([[0.0], [1.0]]), e[1]), (np.array([[1.0], [0.0]]), e[0])]
        >>> labelled = [(np.array([[0.0], [1.0]]), 1), (np.array([[1.0], [0.0]]), 0)]
        >>> before = net.weights[0].copy()
        >>> net.update_mini_batch(training, 0.5, 0.1, len(training))
        >>> bool((net.weights[0] != before).any())
        True
        """
        X, Y = self._training_arrays(list(mini_batch), "mini_batch")
        self.mlp.sgd_step(X, Y, eta, l2=checks.real_number(lmbda, "lmbda", lowest=0.0) / n)

    def accuracy(self, data, convert=False) -> int:
        """How many pairs the network classifies right: with ``convert`` the targets are
        one-hot columns (training data), else integer labels.

        Parameters
        ----------
        data : list of (x, y)
        convert : bool, default False

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
        >>> from fastmlp.compat.nielsen2 import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 2])
        >>> e = np.eye(2)[:, :, None]   # the one-hot columns
        >>> training = [(np.array([[0.0], [1.0]]), e[1]), (np.array([[1.0], [0.0]]), e[0])]
        >>> labelled = [(np.array([[0.0], [1.0]]), 1), (np.array([[1.0], [0.0]]), 0)]
        >>> net.accuracy(training, convert=True) == net.accuracy(labelled)
        True
        """
        if convert:
            X, Y = self._training_arrays(list(data), "data")
            return self._correct(X, Y.argmax(axis=1))
        return self._correct(*self._labelled_arrays(list(data), "data"))

    def total_cost(self, data, lmbda, convert=False) -> float:
        """The mean cost over the pairs plus lmbda / (2 len(data)) sum ||w||^2; with
        ``convert`` the targets are integer labels (evaluation data), else one-hot columns.

        Parameters
        ----------
        data : list of (x, y)
        lmbda : float
        convert : bool, default False

        Returns
        -------
        float

        Raises
        ------
        ValueError, TypeError
            Pairs of the wrong shape, NaN or infinity, or a label out of range.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import Network
        >>> np.random.seed(0)
        >>> net = Network([2, 3, 2])
        >>> e = np.eye(2)[:, :, None]   # the one-hot columns
        >>> training = [(np.array([[0.0], [1.0]]), e[1]), (np.array([[1.0], [0.0]]), e[0])]
        >>> labelled = [(np.array([[0.0], [1.0]]), 1), (np.array([[1.0], [0.0]]), 0)]
        >>> net.total_cost(training, 0.0) == net.total_cost(labelled, 0.0, convert=True)
        True
        """
        if convert:
            X, labels = self._labelled_arrays(list(data), "data")
            return self._total_cost(X, self._one_hot(labels), lmbda)
        return self._total_cost(*self._training_arrays(list(data), "data"), lmbda)

    def _total_cost(self, X, Y, lmbda):
        A = self.mlp.forward(X)
        decay = 0.5 * lmbda / len(X) * sum(np.linalg.norm(w) ** 2 for w in self.weights)
        return float(self._cost.fn(A.T, Y.T) / len(X) + decay)

    def _one_hot(self, labels):
        classes = self.mlp.sizes[-1]
        if labels.min() < 0 or labels.max() >= classes:
            raise ValueError(f"class labels must lie in 0..{classes - 1} for {classes} outputs")
        return np.eye(classes)[labels]

    def save(self, filename):
        """Write sizes, weights, biases and the cost's name to ``filename`` as JSON. The
        file is replaced only once the new one is completely written (as
        fastmlp.io.atomic_write does: through a link, the file it points to; an existing
        file keeps its permissions, a new one gets the umask's).

        Parameters
        ----------
        filename : str or os.PathLike

        Returns
        -------
        None

        Raises
        ------
        OSError
            The file cannot be written; a file already there is left as it was.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from fastmlp.compat.nielsen2 import Network, load
        >>> net = Network([2, 3, 1])
        >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
        >>> net.save(path)
        >>> bool(np.array_equal(load(path).weights[1], net.weights[1]))
        True
        """
        data = {
            "sizes": self.sizes,
            "weights": [w.tolist() for w in self.weights],
            "biases": [b.tolist() for b in self.biases],
            "cost": self._cost.__name__,
        }
        with atomic_write(filename) as file:
            text = io.TextIOWrapper(file, encoding="utf-8")
            json.dump(data, text)
            text.flush()
            text.detach()


def load(filename) -> Network:
    """The network ``save`` wrote to ``filename``. Anything that is not such a file (not
    UTF-8 JSON, fields missing or of the wrong type or shape, NaN or infinite values, more
    weights declared than the file holds, not a regular file) raises ValueError naming the
    file; a missing file raises FileNotFoundError.

    Parameters
    ----------
    filename : str or os.PathLike

    Returns
    -------
    Network

    Raises
    ------
    ValueError
        Not such a file.
    FileNotFoundError
        No file there.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fastmlp.compat.nielsen2 import Network, QuadraticCost, load
    >>> np.random.seed(0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
    >>> Network([2, 3, 1], cost=QuadraticCost).save(path)
    >>> net = load(path)
    >>> net.sizes, net.cost is QuadraticCost, net.biases[0].shape
    ([2, 3, 1], True, (3, 1))
    >>> load(os.path.join(os.path.dirname(path), "missing.json"))
    Traceback (most recent call last):
    ...
    FileNotFoundError: ...
    """
    with open_regular(filename) as f:
        raw = f.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{filename} is not a saved network: not UTF-8 JSON ({str(exc)[:200]})") from None
    missing = {"sizes", "weights", "biases", "cost"} - set(data if isinstance(data, dict) else ())
    if missing:
        raise ValueError(f"{filename} is not a saved network: it lacks {', '.join(sorted(missing))}")
    cost, sizes = data["cost"], data["sizes"]
    if not isinstance(cost, str) or cost not in COSTS:
        raise ValueError(f"{filename} names the cost {cost!r:.80}; known: {', '.join(COSTS)}")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in sizes)):
        raise ValueError(f"{filename} is not a saved network: 'sizes' must list two or more layer widths, got "
                         f"{sizes!r:.80}")
    count = sum((d_in + 1) * d_out for d_in, d_out in zip(sizes, sizes[1:]))
    if count > len(raw):  # each value takes a byte at least
        raise ValueError(f"{filename} is not a saved network: its sizes need {count} weights and biases, more than "
                         f"its {len(raw)} bytes hold")
    net = Network(sizes, cost=COSTS[cost])  # a bad FASTMLP_ISA or FASTMLP_BACKEND is the setting's fault
    try:
        net._set_layers([np.array(b, dtype=np.float64) for b in _layers(data, "biases")],
                        [np.array(w, dtype=np.float64) for w in _layers(data, "weights")])
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{filename} is not a saved network: {exc}") from None
    return net


def _layers(data, key):
    if not isinstance(data[key], list):
        raise TypeError(f"{key} must be a list with one array per layer")
    return data[key]


def _early_stopping_n(value, monitor_evaluation_accuracy) -> int:
    """The patience of early stopping: an integer >= 0 (0: off); on, it watches the
    evaluation accuracy, which must then be monitored."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"early_stopping_n must be a non-negative integer, got {value!r}")
    if value and not monitor_evaluation_accuracy:
        raise ValueError("early_stopping_n watches the evaluation accuracy: set monitor_evaluation_accuracy=True")
    return int(value)


def _loss_of(cost):
    if cost not in COSTS.values():
        raise ValueError(f"cost must be one of {', '.join(COSTS)}, got {cost!r}")
    return cost.loss


__all__ = ["Network", "QuadraticCost", "CrossEntropyCost", "load", "vectorized_result", "sigmoid", "sigmoid_prime"]
