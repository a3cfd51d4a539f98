"""MLP: the lecture's multilayer perceptron as a Python object over one flat buffer.

The network owns ``params``, one C-contiguous array holding W^(1) .. W^(L); ``weights``
are views into it, W^(l) of shape (d^(l-1) + 1, d^(l)) with the bias in row 0. Every
public method validates and converts its input once, then hands contiguous arrays to the
engine, which feeds them to the backend (the compiled kernels, or the
pure-Python reference). A call rejected for its input
leaves the network as it was; a step that diverges is undone, and a fit that diverges keeps
the weights of its last finite epoch.
"""
from __future__ import annotations

import copy as copying
import functools
import numbers
from contextlib import contextmanager

import numpy as np

from . import _checks as checks, _initialisers as initialisers, losses, training
from ._engine import backends, feeding, optimizers, per_sample_threads, weights_dropout
from ._engine.memory import require
from ._engine.sparse import issparse
from ._locking import NetworkLock
from .activations import activation as make_activation
from .trace import Trace


def _fixed(name):
    """The setter of an attribute fixed when the network is made."""

    def refuse(self, value):
        raise AttributeError(f"{name} is fixed when the network is made (the kernels and the weight buffer "
                             f"are built for it): make a new fm.MLP(...) instead; set the weights with "
                             "net.set_weights([W1, ..., WL])")

    return refuse


def _writing(method):
    """``method(net, ...)`` run holding the network's lock alone (a lock that many
    readers or one writer hold):
    calls that train one network from several threads run one after the other. help()
    shows the method's own signature and docstring."""

    @functools.wraps(method)
    def holding_the_lock(net, *args, **kwargs):
        with net._lock.writing():
            return method(net, *args, **kwargs)

    return holding_the_lock


def _training(method):
    """_writing(method) for fit and partial_fit, whose ``callback`` runs with the network
    open to other threads' reads (the weights are those of a whole epoch then), so that a
    callback may hand the network to a thread pool and wait for it."""

    @functools.wraps(method)
    def holding_the_lock(net, *args, callback=None, **kwargs):
        if callable(callback):
            callback = _open_to_readers(net, callback)
        with net._lock.writing():
            return method(net, *args, callback=callback, **kwargs)

    return holding_the_lock


def _open_to_readers(net, callback):
    @functools.wraps(callback)
    def run(*args, **kwargs):
        with net._lock.open_to_readers():
            return callback(*args, **kwargs)

    return run


class MLP:
    """A multilayer perceptron with d^(0), ..., d^(L) = ``sizes`` units per layer.

    The weights of layer l are ``weights[l-1]``, shape (d^(l-1) + 1, d^(l)), row 0 the bias
    (the lecture's x_0 = 1): ``weights[l-1][i, j-1]`` is w_ij^(l). All of them are views into
    one flat contiguous buffer, ``params``.

    Parameters
    ----------
    sizes : sequence of int
        d^(0), ..., d^(L): inputs, the units of each hidden layer, outputs (L >= 1); kept as
        the tuple ``sizes``.
    activation : str, Activation or list, default "tanh"
        Theta of the hidden layers: one name (or ``fastmlp.activation(...)``) for all, or a
        list with one per hidden layer.
    output : str or Activation, optional
        Theta of layer L; None takes what the loss pairs with (identity for l2, softmax for
        cross_entropy, sigmoid for binary_cross_entropy, exp for poisson).
    loss : {"l2", "cross_entropy", "binary_cross_entropy", "poisson"}, default "l2"
        "poisson" pairs with exponential outputs and takes targets >= 0.
    dtype : {"float64", "float32"}, default "float64"
    seed : int, optional
        Initial weights, shuffles and dropout masks are drawn from it; None draws fresh
        entropy.
    backend : {"cython", "reference"}, optional
        None takes the ``FASTMLP_BACKEND`` environment variable, else "cython"; "reference"
        is the pure-Python version of every call.
    n_threads : int, optional
        Threads of the matrix products of minibatch training and batched forward passes
        (None: one thread for products too small for a second to pay, the BLAS default
        above), and of per-sample SGD (``batch_size=1``), which splits each hidden layer's
        units between them deterministically (None or 1: one thread; a network too narrow
        to gain runs on one, and fit's history says so).
    init : str, default "auto"
        How ``initialise`` draws the weights: "auto" (Glorot uniform for tanh, sigmoid and
        linear units, He normal for the ReLU family), "glorot_uniform", "glorot_normal",
        "he_uniform", "he_normal", "lecun_uniform", "lecun_normal" or "zeros".

    Raises
    ------
    ValueError, TypeError
        Bad sizes, an unknown activation, loss, dtype, backend or init, or an output
        theta the loss cannot pair with.
    MemoryError
        A network too large for the memory the system has left, before anything is
        allocated.

    See Also
    --------
    fastmlp.MLP.fit : training, with every option.

    Examples
    --------
    >>> import fastmlp as fm
    >>> net = fm.MLP([4, 8, 3], loss="cross_entropy", seed=0)
    >>> [W.shape for W in net.weights]
    [(5, 8), (9, 3)]
    >>> net.forward([0.5, -1.0, 0.0, 2.0]).shape
    (3,)
    """

    def __init__(self, sizes, activation="tanh", output=None, loss="l2", dtype="float64", seed=None, backend=None,
                 n_threads=None, init="auto"):
        self._sizes = _check_sizes(sizes)
        self._loss = losses.get(loss)
        self._activations = _layer_activations(activation, output, self.loss, len(self.sizes) - 1)
        self._dtype = checks.dtype(dtype)
        self._backend = backends.get(backend)
        self._lock = NetworkLock()
        layers = [(a + 1) * b for a, b in zip(self.sizes, self.sizes[1:])]
        # the weights, and the float64 draw of the largest layer's by initialise
        require(sum(layers) * self.dtype.itemsize + 8 * max(layers), f"MLP({list(self.sizes)}) ({self.dtype.name})")
        self._params = backends.aligned(np.zeros(sum(layers), dtype=self.dtype))
        self._weights = Layers(self)
        self.rng = np.random.default_rng(checks.seed(seed))
        self.n_threads = n_threads
        self.init = initialisers.check(init)
        self.initialise()

    # -- shape and weights ---------------------------------------------------------------

    # The structure is fixed when the network is made: the kernels were built for it, and
    # the weights live in one buffer of that size. params and weights copy in what is
    # assigned to them (checked), backend switches the kernels; the rest
    # cannot be assigned.
    sizes = property(lambda self: self._sizes, _fixed("sizes"), doc="""d^(0), ..., d^(L): units per layer, a
        tuple (assigning it raises AttributeError).

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.MLP([4, 8, 3]).sizes
        (4, 8, 3)
        """)
    loss = property(lambda self: self._loss, _fixed("loss"), doc="""The loss l(h(x), y) the network trains on,
        from ``fastmlp.losses`` (fixed: assigning it raises AttributeError).

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.MLP([4, 8, 3], loss="cross_entropy").loss.name
        'cross_entropy'
        """)
    activations = property(lambda self: self._activations, _fixed("activations"), doc="""theta of layers 1..L, a
        tuple of ``fastmlp.Activation`` (fixed: assigning it raises AttributeError).

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.MLP([4, 8, 3], activation="relu", loss="cross_entropy").activations
        (activation('relu'), activation('softmax'))
        """)
    dtype = property(lambda self: self._dtype, _fixed("dtype"), doc="""float32 or float64: the numpy dtype of
        ``params``, in which the network takes data (fixed: assigning it raises AttributeError).

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.MLP([2, 1], dtype="float32").dtype
        dtype('float32')
        """)

    @property
    def backend(self) -> backends.Backend:
        """The kernels the network runs on: the compiled ones by default. Assigning a name
        ("cython", "reference", ...) or a Backend switches to those kernels; an unknown name
        raises ValueError.

        Examples
        --------
        >>> import fastmlp as fm
        >>> net = fm.MLP([2, 3, 1], seed=0)
        >>> h = net.forward([1.0, 2.0])
        >>> net.backend = "reference"  # the lecture's formulas in plain Python
        >>> net.backend.name, bool(abs(net.forward([1.0, 2.0]) - h).max() < 1e-12)
        ('reference', True)
        """
        return self._backend

    @backend.setter
    def backend(self, value):
        backend = value if isinstance(value, backends.Backend) else backends.get(value)
        with self._lock.writing():
            self._backend = backend

    @property
    def params(self) -> np.ndarray:
        """W^(1) .. W^(L), flat, bias rows first: the one buffer the kernels work on.
        Assigning an array of the same shape copies it in (it must be finite; ValueError
        otherwise).

        Examples
        --------
        A 2-3-1 network has (2 + 1) * 3 + (3 + 1) * 1 = 13 weights, w_01^(1) first:

        >>> import fastmlp as fm
        >>> net = fm.MLP([2, 3, 1], seed=0)
        >>> net.params.shape, bool(net.params[0] == net.weights[0][0, 0])
        ((13,), True)
        >>> net.params = [0.0] * 13
        >>> float(net.weights[1].sum())
        0.0
        """
        return self._params

    @params.setter
    def params(self, value):
        value = checks.real_array(value, "params")
        if value.shape != self._params.shape:
            raise ValueError(f"params holds the {self._params.size} weights of this network, shape "
                             f"{self._params.shape}; got shape {value.shape}. Assign weight matrices with "
                             "net.set_weights([W1, ..., WL])")
        value = value.astype(self.dtype)
        if not np.isfinite(value).all():
            raise ValueError(f"params contains NaN or infinity (or overflows {self.dtype.name})")
        with self._lock.writing():
            self._params[...] = value

    @property
    def weights(self) -> Layers:
        """W^(1) .. W^(L): views into params, W^(l) of shape (d^(l-1) + 1, d^(l)), row 0 the
        bias: ``weights[l-1][i, j-1]`` is w_ij^(l). Assigning one, ``net.weights[l] = W``,
        copies W in (as set_weights does).

        Examples
        --------
        >>> import numpy as np
        >>> import fastmlp as fm
        >>> net = fm.MLP([2, 3, 1], seed=0)
        >>> [W.shape for W in net.weights]
        [(3, 3), (4, 1)]
        >>> net.weights[1] = np.ones((4, 1))
        >>> float(net.params[-4:].sum())
        4.0
        """
        return self._weights

    @weights.setter
    def weights(self, value):
        self.set_weights(value)

    @property
    def L(self) -> int:
        """L, the number of layers with weights (layer 0, the input, has none).

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.MLP([4, 8, 8, 3]).L
        3
        """
        return len(self.sizes) - 1

    @property
    def n_threads(self):
        """The threads the network trains and runs on, a positive int or None (the
        constructor's ``n_threads`` says what each means); assigning anything else raises
        ValueError.

        Examples
        --------
        >>> import fastmlp as fm
        >>> net = fm.MLP([4, 64, 3], n_threads=2)
        >>> net.n_threads
        2
        >>> net.n_threads = None  # one thread where a second would not pay
        """
        return self._n_threads

    @n_threads.setter
    def n_threads(self, value):
        self._n_threads = None if value is None else checks.positive_int(value, "n_threads")

    def initialise(self) -> None:
        """Draw fresh weights from the network's generator by the scheme ``init`` names
        (default "auto": Glorot uniform for tanh, sigmoid and linear units, He normal for
        the ReLU family); biases start at 0. The optimizer's state is dropped.

        Returns
        -------
        None
            The weights change in place.

        Examples
        --------
        >>> import fastmlp as fm
        >>> net = fm.MLP([2, 3, 1], seed=0)
        >>> net.set_weights([W * 0 for W in net.weights])
        >>> net.initialise()
        >>> bool(net.weights[0][1:].any()), bool(net.weights[0][0].any())   # weights drawn, biases 0
        (True, False)
        """
        with self._lock.writing():
            for W, act in zip(self.weights, self.activations):
                W[0] = 0
                W[1:] = initialisers.draw(self.init, self.rng, W.shape[0] - 1, W.shape[1], act.name)
            self.optimizer = None  # fresh weights, fresh momentum

    def set_weights(self, weights) -> None:
        """Copy W^(1) .. W^(L) in.

        Parameters
        ----------
        weights : list of array-like
            One per layer, each of shape (d^(l-1) + 1, d^(l)), row 0 the bias, finite.

        Raises
        ------
        ValueError
            A wrong number of layers, a wrong shape, NaN or infinity; the weights stay as they
            were.

        Examples
        --------
        >>> import numpy as np
        >>> import fastmlp as fm
        >>> net = fm.MLP([1, 1])
        >>> net.set_weights([np.array([[0.5], [2.0]])])
        >>> net.forward([1.0])
        array([2.5])
        """
        if isinstance(weights, np.ndarray) or not hasattr(weights, "__len__"):
            raise TypeError("weights must be a list of L arrays, W^(1) .. W^(L)")
        if len(weights) != self.L:
            raise ValueError(f"expected {self.L} weight matrices, got {len(weights)}")
        new = [self._layer(l, w) for l, w in enumerate(weights, start=1)]
        with self._lock.writing():
            for W, w in zip(self.weights, new):
                W[...] = w

    def _layer(self, l, w) -> np.ndarray:
        """W^(l) checked: of its layer's shape, finite, in the network's dtype."""
        w = checks.real_array(w, f"W^({l})")
        shape = self.weights[l - 1].shape
        if w.shape != shape:
            raise ValueError(f"W^({l}) has shape {w.shape}; expected {shape} (bias in row 0)")
        w = w.astype(self.dtype)
        if not np.isfinite(w).all():
            raise ValueError(f"W^({l}) contains NaN or infinity (or overflows {self.dtype.name})")
        return w

    def copy(self) -> MLP:
        """An independent network with the same architecture, weights, optimizer state and
        generator state.

        Returns
        -------
        MLP
            Training either network leaves the other as it was.

        Examples
        --------
        >>> import fastmlp as fm
        >>> net = fm.MLP([2, 3, 1], seed=0)
        >>> twin = net.copy()
        >>> _ = twin.sgd_step([[1.0, 0.0]], [1.0], eta=0.5)
        >>> bool((twin.params == net.params).all())
        False
        """
        twin = object.__new__(MLP)
        twin.__setstate__(self.__getstate__())
        return twin

    def __getstate__(self) -> dict:
        """What pickle keeps: a copy of everything but the kernels' objects, the weight views
        and the lock, which are rebuilt on load, and the backend by name. The copy is taken
        under the lock, so a network pickled while another thread trains it is whole."""
        with self._lock.reading():
            state = copying.deepcopy({k: v for k, v in self.__dict__.items() if k not in _REBUILT})
        state = {k[1:] if k[1:] in _STRUCTURE else k: v for k, v in state.items()}
        state["backend"] = self.backend.name
        return state

    def __setstate__(self, state: dict) -> None:
        """Rebuild from ``__getstate__``'s dict. A network pickled with one build of the kernels
        loads with the best build this machine runs if that one is missing here (the builds
        compute the same results)."""
        state = {**state, "params": backends.aligned(state["params"]), "backend": backends.by_saved_name(state["backend"])}
        self.__dict__.update({f"_{k}" if k in _STRUCTURE else k: v for k, v in state.items()})
        self._lock = NetworkLock()
        self._weights = Layers(self)

    def __repr__(self) -> str:
        hidden = [a.name for a in self.activations[:-1]]
        return (
            f"MLP({list(self.sizes)}, activation={hidden}, output={self.activations[-1].name!r}, "
            f"loss={self.loss.name!r}, dtype={self.dtype.name!r}, backend={self.backend.name!r})"
        )

    # -- prediction ----------------------------------------------------------------------

    def forward(self, X) -> np.ndarray:
        """h(x) = x^(L), the network's output, without changing it. X may be a scipy.sparse
        matrix or array (any format; CSR is read without a copy).

        Parameters
        ----------
        X : array-like of shape (d^(0),) or (n_samples, d^(0))
            One sample or a batch of real numbers.

        Returns
        -------
        ndarray of shape (d^(L),) or (n_samples, d^(L))
            In the network's dtype.

        Raises
        ------
        ValueError
            A wrong shape, NaN or infinity.

        Notes
        -----
        Many rows go to the kernels in parts, so that a Ctrl-C during a large prediction is
        noticed within a fraction of a second.

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.MLP([2, 3, 1], seed=0).forward([[0.0, 1.0], [1.0, 0.0]]).shape
        (2, 1)
        """
        X, single = feeding.inputs(self, X)
        with self._lock.reading():
            H = feeding.forward(self, X)
        return H[0] if single else H

    def predict(self, X) -> np.ndarray:
        """Class labels for classification losses, the outputs h(x) for l2 and poisson.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (d^(0),) or (n_samples, d^(0))
            As for ``forward``.

        Returns
        -------
        ndarray
            For cross_entropy the argmax of the softmax rows, integer labels of shape
            (n_samples,); for binary_cross_entropy 0 or 1 per output (sigmoid >= 1/2); for l2 and
            poisson ``forward(X)``.

        Raises
        ------
        ValueError
            A wrong shape, NaN or infinity.

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.MLP([2, 3, 4], loss="cross_entropy", seed=0).predict([[0.0, 1.0], [1.0, 0.0]]).shape
        (2,)
        """
        H = self.forward(X)
        if not self.loss.classifier:
            return H
        labels = self.loss.decisions(np.atleast_2d(H)).astype(np.intp)
        if labels.shape[1] == 1:  # one class index, or one sigmoid output, per sample
            labels = labels[:, 0]
        return labels[0] if H.ndim == 1 else labels

    # -- learning ------------------------------------------------------------------------

    def trace(self, x, y) -> Trace:
        """Forward and backward pass for one sample, returning every lecture quantity.

        Parameters
        ----------
        x : array-like of shape (d^(0),)
            One sample.
        y : float, int or array-like of shape (d^(L),)
            Its target, as ``fit`` takes one (a label for cross_entropy).

        Returns
        -------
        Trace
            ``x`` (x^(0) .. x^(L)), ``s``, ``delta`` and ``grad`` (index l-1 for layer l) and
            ``loss``; ``print(trace)`` shows the lecture's table.

        Raises
        ------
        ValueError
            A wrong shape, NaN or infinity, or a label out of range.

        Examples
        --------
        >>> import fastmlp as fm
        >>> t = fm.MLP([2, 2, 1], activation="relu", seed=0).trace([1.0, 2.0], 0.5)
        >>> [g.shape for g in t.grad]
        [(3, 2), (3, 1)]
        """
        feeding.require_trainable(self, "trace")
        if issparse(x):
            raise TypeError("trace takes one dense sample; give x.toarray().ravel() for a sparse one")
        if checks.real_array(x, "X").ndim != 1:
            raise ValueError(f"trace takes one sample of shape ({self.sizes[0]},), got shape {np.shape(x)}")
        x, Y = feeding.data(self, x, y)
        with self._lock.reading():
            s, xs, delta, grad, loss = feeding.backprop(self, x[0], Y[0])
        return Trace(
            x=[x[0]] + self._split(xs),
            s=self._split(s),
            delta=self._split(delta),
            grad=self._split_params(grad),
            loss=loss,
        )

    def gradient(self, X, y, sample_weight=None):
        """The mean loss and its gradient over the samples, without changing the weights.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, d^(0)) or (d^(0),)
        y : array-like of shape (n_samples,) or (n_samples, d^(L))
            Targets as ``fit`` takes them (integer labels or one-hot rows for
            cross_entropy); for X of shape (d^(0),), that sample's target.
        sample_weight : array-like of shape (n_samples,), optional
            Weights c_i >= 0: the loss becomes the mean of c_i l_i.

        Returns
        -------
        loss : float
        grads : list of ndarray
            dl/dW^(1), ..., dl/dW^(L), each shaped like ``weights[l-1]``.

        Raises
        ------
        ValueError
            A wrong shape, NaN or infinity, or a label out of range.

        Examples
        --------
        >>> import fastmlp as fm
        >>> loss, grads = fm.MLP([2, 3, 1], seed=0).gradient([[0.0, 1.0], [1.0, 0.0]], [0.0, 1.0])
        >>> [g.shape for g in grads]
        [(3, 3), (4, 1)]
        """
        feeding.require_trainable(self, "gradient")
        X, Y = feeding.data(self, X, y)
        grad = np.empty_like(self.params)
        loss = self._mean_gradient(X, Y, grad, sample_weight)
        return loss, self._split_params(grad)

    def loss_value(self, X, y, sample_weight=None) -> float:
        """The mean loss over the samples (with sample weights c_i: the mean of c_i l_i).

        It uses the kernels' own numerically stable formulas and runs the gradient pass, so it
        costs what ``gradient`` does.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, d^(0)) or (d^(0),)
            float32 or float64 (converted to the network's dtype).
        y : array-like of shape (n_samples,) or (n_samples, d^(L))
            Targets as ``fit`` takes them (integer labels or one-hot rows for
            cross_entropy); for X of shape (d^(0),), that sample's target.
        sample_weight : array-like of shape (n_samples,), optional
            Weights c_i >= 0; default None weighs every sample 1.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            A wrong shape, NaN or infinity, or a label out of range.

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.MLP([1, 1], seed=0).loss_value([[0.0]], [0.0])   # biases start at 0: h(0) = 0
        0.0
        """
        feeding.require_trainable(self, "loss_value")
        X, Y = feeding.data(self, X, y)
        return self._mean_gradient(X, Y, np.empty_like(self.params), sample_weight)

    def _mean_gradient(self, X, Y, grad, sample_weight) -> float:
        """gradient and loss_value for validated X, Y: the mean loss, its gradient into grad."""
        weight = weights_dropout.row_weights(self, Y, sample_weight, None, "sample_weight")
        with self._lock.reading():
            return feeding.mean_gradient(self, X, Y, grad, weight)

    @optimizers.keywords
    def sgd_step(self, X, y, eta, l2=0.0, l1=0.0, optimizer="sgd", **settings) -> float:
        """One in-place update w <- w - eta * dl/dw: from one sample (the lecture's step) or
        from the mean gradient of a minibatch. l2 and l1 penalise the weights (not the
        biases): weight decay l2 * w joins the gradient, then the L1 step moves each weight
        eta * l1 towards zero, stopping at zero. ``optimizer`` and its settings are those of
        fit: "momentum", "nesterov" and "adam" step from the state in ``net.optimizer``,
        which steps and fits with the same settings share and continue.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, d^(0)) or (d^(0),)
            One sample or a minibatch, float32 or float64.
        y : array-like of shape (n_samples,) or (n_samples, d^(L))
            Targets as ``fit`` takes them (integer labels or one-hot rows for
            cross_entropy); for X of shape (d^(0),), that sample's target.
        eta : float
            The learning rate, > 0.
        l2, l1 : float, default 0.0
            Penalties on the weights, >= 0.
        optimizer : str, default "sgd"
            "sgd", "momentum", "nesterov" or "adam"; ``**settings`` are its settings, as fit's.

        Returns
        -------
        float
            The mean loss before the update.

        Raises
        ------
        ValueError
            A wrong shape, NaN or infinity, a label out of range, or a bad eta, penalty or
            optimizer setting; the weights stay as they were.
        DivergenceError
            The update would make a weight NaN or infinite; the weights stay as they were.

        Examples
        --------
        >>> import fastmlp as fm
        >>> net = fm.MLP([2, 1], loss="binary_cross_entropy", seed=0)
        >>> before = net.sgd_step([[1.0, 0.0]], [1.0], eta=1.0)
        >>> after = net.loss_value([[1.0, 0.0]], [1.0])
        >>> after < before
        True
        """
        feeding.require_trainable(self, "sgd_step")
        eta = checks.eta(eta, self.dtype)
        l2, l1 = checks.penalties(l2, l1)
        X, Y = feeding.data(self, X, y)
        order = np.arange(len(X), dtype=np.intp)
        with self._lock.writing():
            moments = optimizers.prepare(self, optimizer, **settings)
            loss = feeding.run_epoch(self, X, Y, order, len(X), eta, "this step", l2, l1, moments) / len(X)
            self.optimizer = moments
        return loss

    # fit and partial_fit are the fit policy's (fastmlp.training), run holding the lock alone.
    fit = _training(training.fit)
    partial_fit = _training(training.partial_fit)

    def _split(self, flat):
        out, start = [], 0
        for d in self.sizes[1:]:
            out.append(flat[start : start + d].copy())
            start += d
        return out

    def _split_params(self, flat):
        return [W.copy() for W in _layer_views(flat, self.sizes)]

    def save(self, path, *, metadata=None) -> None:
        """Write the network to ``path`` atomically (see :func:`fastmlp.io.save`); read it back
        with :func:`fastmlp.load`. The weights, optimizer state and generator state are kept.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (a ``.npz`` archive).
        metadata : dict, optional
            JSON-ready data kept in the file's header; default None keeps an empty dict.

        Returns
        -------
        None

        Raises
        ------
        ValueError
            Metadata that is not JSON-ready.
        OSError
            The file cannot be written; a file already at ``path`` is left as it was.

        Examples
        --------
        >>> import os, tempfile
        >>> import fastmlp as fm
        >>> net = fm.MLP([2, 3, 1], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> net.save(path, metadata={"epochs": 0})
        >>> bool((fm.load(path).params == net.params).all())
        True
        """
        from .io import save

        save(self, path, metadata=metadata)

    def to_onnx(self, path=None):
        """The ONNX model of the forward pass (:func:`fastmlp.onnx.to_model`), also written to
        ``path`` if one is given. Needs the onnx extra (``pip install ".[onnx]"``).

        Parameters
        ----------
        path : str or os.PathLike, optional
            A ``.onnx`` file to write; default None writes nothing.

        Returns
        -------
        onnx.ModelProto
            Input "x" of shape (N, d^(0)), output "h" of shape (N, d^(L)), the network's dtype.

        Raises
        ------
        ImportError
            onnx is not installed.
        OSError
            The file cannot be written.

        Examples
        --------
        >>> import fastmlp as fm
        >>> model = fm.MLP([2, 3, 1], seed=0).to_onnx()
        >>> model.graph.input[0].name, model.graph.output[0].name
        ('x', 'h')
        """
        from . import onnx

        return onnx.to_model(self) if path is None else onnx.export(self, path)


# Attributes pickle leaves out and __setstate__ rebuilds.
_REBUILT = ("_weights", "_lock")
# The read-only attributes, kept as _name and pickled by their public names.
_STRUCTURE = ("sizes", "loss", "activations", "dtype", "backend", "params")


class Layers(list):
    """``net.weights``: W^(1) .. W^(L) as views into ``net.params``. ``weights[l] = W``
    copies W in, checked as set_weights checks it; the list itself keeps its L layers
    (append, del, slices and the like raise TypeError)."""

    def __init__(self, net):
        super().__init__(_layer_views(net.params, net.sizes))
        self._net = net

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            raise TypeError("assign the weights one layer at a time, net.weights[l] = W, or all at once "
                            "with net.set_weights([W1, ..., WL])")
        l = range(len(self))[index] + 1  # IndexError as a list gives it
        w = self._net._layer(l, value)
        with self._net._lock.writing():
            self[l - 1][...] = w

    def _fixed(self, *args, **kwargs):
        raise TypeError(f"a network's weights are its L = {len(self)} layers: assign them with "
                        "net.weights[l] = W or net.set_weights([W1, ..., WL])")

    append = extend = insert = pop = remove = clear = sort = reverse = __delitem__ = __iadd__ = __imul__ = _fixed

    def __reduce__(self):  # a copy of the list is a plain list of copies, not views
        return list, ([W.copy() for W in self],)


@optimizers.keywords
def epoch_in_order(net, X, Y, order, batch_size, eta, where, l2=0.0, *, l1=0.0, optimizer="sgd", sample_weight=None,
                   dropout=None, update_dropout=0.0, before_step=None, norms=None, **settings) -> float:
    """SGD over the rows X[order], Y[order] in that order, holding the network's lock: one
    epoch for callers that check their data once and choose each epoch's order themselves
    (the Nielsen drop-ins shuffle as his code does, the estimators as scikit-learn does).
    The rows are read where they are, not copied; ``epochs_in_order`` runs many epochs on
    data it checks once. Per sample, ``net.n_threads`` splits the hidden units between
    threads as in fit (a team started for the epoch).

    Parameters
    ----------
    net : MLP
        The network, trained in place.
    X : ndarray of shape (n_samples, d^(0)), or scipy.sparse matrix
        The samples as rows: a C-contiguous array of the network's dtype (``net.dtype``),
        or a sparse matrix (read as CSR).
    Y : ndarray of shape (n_samples, d^(L))
        The targets as rows, C-contiguous and of the network's dtype (one-hot rows for
        ``cross_entropy``).
    order : ndarray of numpy.intp, shape (m,)
        The row numbers to visit, in 0..n_samples-1, in that order.
    batch_size : int
        Samples per step, >= 1 (1 is the lecture's per-sample SGD).
    eta : float
        The learning rate, >= 0.
    where : str
        Names the epoch in a DivergenceError's message, e.g. ``"epoch 3"``.
    l2, l1 : float, default 0.0
        Penalties on the weights, not the biases, as fit's.
    optimizer : str, default "sgd"
        By name, with its hyperparameters as keyword options (as fit's):

{optimizers}

    sample_weight : array-like of shape (n_samples,), optional
        One number >= 0 per row of X (by row number, not by place in ``order``).
    dropout : float or list of float, optional
        As fit's.
    update_dropout : float, default 0.0
        As fit's.
    before_step : callable, optional
        Called with no arguments before each step, e.g. to read the weights each step
        starts from.
    norms : ndarray of float64, shape (2,), optional
        If given, the sums of ``w^2`` and of ``|w|`` over the weights (not the biases) that each
        step starts from are added to norms[0] and norms[1], without a return to Python per
        step: scikit-learn's per-batch penalty, exact.

    Returns
    -------
    float
        The summed loss of the epoch's samples (divide by ``len(order)`` for the mean).

    Raises
    ------
    ValueError
        X or Y not of the network's dtype, widths and C order, Y with another number of
        rows than X, ``order`` not a one-dimensional numpy.intp array of rows of X, or a bad
        rate, batch size, penalty or optimizer setting; raised before the weights change.
    TypeError
        An unknown keyword option, or a before_step that is not callable.
    DivergenceError
        The loss or the weights became non-finite; the weights, the optimizer's state and
        the network's generator are those from before the epoch.

    Examples
    --------
    One epoch in the caller's order makes the steps ``partial_fit`` makes over the rows
    copied into that order:

    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp.network import epoch_in_order
    >>> net = fm.MLP([2, 2, 1], seed=0)
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    >>> order = np.random.default_rng(0).permutation(4)
    >>> copied = net.copy()
    >>> total = epoch_in_order(net, X, Y, order, 1, 0.1, "epoch 1")
    >>> history = copied.partial_fit(X[order], Y[order], eta=0.1, shuffle=False)
    >>> bool(np.array_equal(net.params, copied.params)), bool(np.isclose(total / 4, history.loss[0]))
    (True, True)
    >>> epoch_in_order(net, X.astype(np.float32), Y, order, 1, 0.1, "epoch 2")
    Traceback (most recent call last):
    ...
    ValueError: X must be a C-contiguous float64 array of shape (n, 2)
    """
    with net._lock.writing():
        threads, _ = per_sample_threads.plan(net, X, batch_size)
        with per_sample_threads.team(net, threads) as team:
            return feeding.epoch_in_order(net, X, Y, order, batch_size, eta, where, l2, l1=l1, optimizer=optimizer,
                                          sample_weight=sample_weight, dropout=dropout,
                                          update_dropout=update_dropout, before_step=before_step, norms=norms,
                                          team=team,
                                          **settings)


@optimizers.keywords
@contextmanager
def epochs_in_order(net, X, Y, pieces, *, optimizer="sgd", sample_weight=None, dropout=None, update_dropout=0.0,
                    **settings):
    """A block of epochs over the rows X[order], Y[order], each epoch in an order the caller
    chooses, on data checked once, on entering: for callers that train many epochs on the
    same rows, e.g. the scikit-learn estimators. Between epochs other threads may read the
    network. Per sample, ``net.n_threads`` splits the hidden units between threads as in
    fit, on a team started once for the block.

    Parameters
    ----------
    net : MLP
        The network, trained in place.
    X : ndarray of shape (n_samples, d^(0)), or scipy.sparse matrix
        As for ``epoch_in_order``: C-contiguous, of the network's dtype.
    Y : ndarray of shape (n_samples, d^(L))
        As for ``epoch_in_order``: C-contiguous, of the network's dtype.
    pieces : list of tuple
        The kernel runs that make an epoch, one after the other, as ``(rows, batch_size,
        l2, l1)``: the next ``rows`` row numbers of the order in steps of ``batch_size``
        with those penalties (fit's ``l2`` and ``l1``).
    optimizer, sample_weight, dropout, update_dropout
        As for ``epoch_in_order``; the optimizer's hyperparameters are keyword options.

    Yields
    ------
    runner
        Its ``epoch(order, eta, where, before_step=None, norms=None)`` trains one epoch,
        holding the network's lock, over the rows in ``order`` (a one-dimensional
        numpy.intp array of as many row numbers as the pieces take) at the rate ``eta``, and
        returns the summed loss; ``where``, ``before_step`` and ``norms`` are as for
        ``epoch_in_order``.

    Raises
    ------
    ValueError
        On entering: X or Y not of the network's dtype, widths and C order, Y with another
        number of rows than X, or a bad piece, batch size, penalty or optimizer setting.
        From ``epoch``: an order of the wrong length or naming rows outside X, or a bad
        rate.
    TypeError
        An unknown keyword option, or a before_step that is not callable.
    DivergenceError
        From ``epoch``: the loss or the weights became non-finite; the weights, the
        optimizer's state and the network's generator are those from before the epoch.

    Examples
    --------
    Twenty epochs over the lecture's XOR, each in a fresh order in minibatches of 2:

    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp.network import epochs_in_order
    >>> net = fm.MLP([2, 2, 1], seed=0)
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    >>> rng = np.random.default_rng(0)
    >>> with epochs_in_order(net, X, Y, [(4, 2, 0.0, 0.0)]) as run:
    ...     mean_loss = [run.epoch(rng.permutation(4), 0.5, f"epoch {t}") / 4 for t in range(1, 21)]
    >>> len(mean_loss), bool(mean_loss[-1] < mean_loss[0])
    (20, True)
    """
    per_sample = 1 if any(piece[1] == 1 for piece in pieces) else None
    threads, _ = per_sample_threads.plan(net, X, per_sample)
    with per_sample_threads.team(net, threads) as team:
        with net._lock.writing():
            run = _InOrderHoldingTheLock(net, X, Y, pieces, optimizer=optimizer, sample_weight=sample_weight,
                                         dropout=dropout, update_dropout=update_dropout, team=team, **settings)
        yield run


class _InOrderHoldingTheLock(feeding.InOrder):
    """The engine's InOrder runner, each epoch holding the network's lock."""

    def epoch(self, order, eta, where, before_step=None, norms=None) -> float:
        with self.net._lock.writing():
            return super().epoch(order, eta, where, before_step, norms)


# -- argument checks shared by the API -----------------------------------------------------


def _layer_views(flat, sizes):
    """W^(1) .. W^(L) as (d^(l-1) + 1, d^(l)) views into the flat buffer."""
    views, start = [], 0
    for d_in, d_out in zip(sizes, sizes[1:]):
        views.append(flat[start : start + (d_in + 1) * d_out].reshape(d_in + 1, d_out))
        start += (d_in + 1) * d_out
    return views


def _check_sizes(sizes):
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError("sizes must be a list of layer widths d^(0), ..., d^(L)")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError("sizes needs at least an input and an output layer, e.g. [3, 2, 1]")
    for d in sizes:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"layer widths must be integers, got {d!r}")
        if d < 1:
            raise ValueError(f"layer widths must be >= 1, got {d}")
    return tuple(int(d) for d in sizes)


def _layer_activations(activation, output, loss, L):
    hidden = activation if isinstance(activation, (list, tuple)) else [activation] * (L - 1)
    if len(hidden) != L - 1:
        raise ValueError(f"activation lists one theta per hidden layer: expected {L - 1}, got {len(hidden)}")
    thetas = [make_activation(a) for a in hidden]
    if not isinstance(activation, (list, tuple)):
        thetas = thetas or [make_activation(activation)]  # checked without hidden layers too
    for a in thetas:
        if not a.kind.hidden:
            raise ValueError(f"{a.name} can only be an output activation")
    out = make_activation(output if output is not None else loss.default_output)
    if loss.output is not None and out.name != loss.output:
        raise ValueError(f"loss {loss.name!r} needs output={loss.output!r}, got {out.name!r}")
    if loss.output is None and not out.kind.hidden:
        pair = next(other.name for other in losses.LOSSES.values() if other.output == out.name)
        raise ValueError(f"output {out.name!r} goes with loss {pair!r}, not {loss.name!r}")
    return tuple(thetas[: L - 1] + [out])


__all__ = ["MLP", "Trace"]
