"""The implementations the benchmark times side by side, behind one small interface.

Every peer trains the same network shape with plain SGD (no momentum, no weight decay),
tanh hidden layers and, except FANN, softmax outputs with the cross-entropy loss; the
peers that list them in ``optimizers`` also train with momentum and Adam:

    peer = PEERS[name](sizes, dtype, batch_size, eta, seed[, optimizer="momentum"])
    data = peer.data(X, y)       # the samples in the peer's own form, converted once
    peer.train_epoch(data)       # one shuffled epoch of SGD: the thing that is timed
    peer.predict(data)           # class labels: the other thing that is timed
    peer.loss(data)              # its own mean training loss, for the sanity checks

Weights are read and written in the lecture's layout (a list of W^(l), shape
(d^(l-1) + 1, d^(l)), bias in row 0) by the peers that can be compared exactly with
fastmlp. Optional libraries (scikit-learn, PyTorch, FANN's shared library, Numba, JAX) are imported
by the peer that needs them; ``available`` says whether that worked.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import warnings
import weakref

import numpy as np

from ..network import MLP


# The momentum of the optimizer workloads (Adam keeps its defaults: 0.9, 0.999, 1e-8).
MOMENTUM = 0.9


def cross_entropy(P, y) -> float:
    """Mean -log p_y over the rows of the class probabilities P."""
    picked = np.asarray(P, dtype=np.float64)[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.maximum(picked, 1e-300))))


def one_hot(y, classes: int, dtype) -> np.ndarray:
    """Rows with 1 at the label's column and 0 elsewhere."""
    Y = np.zeros((len(y), classes), dtype=dtype)
    Y[np.arange(len(y)), y] = 1
    return Y


class FastMLP:
    """fastmlp itself, through its public API (validation included in the timing)."""

    name = "fastmlp"
    minibatch = True
    optimizers = ("sgd", "momentum", "adam")

    def __init__(self, sizes, dtype, batch_size, eta, seed, optimizer="sgd"):
        self.net = MLP(sizes, activation="tanh", loss="cross_entropy", dtype=dtype, seed=seed)
        self.batch_size, self.eta, self.optimizer = batch_size, eta, optimizer

    def data(self, X, y):
        return X, y

    def train_epoch(self, data):
        X, y = data
        self.net.fit(X, y, epochs=1, batch_size=self.batch_size, eta=self.eta, shuffle=True,
                     optimizer=self.optimizer, momentum=MOMENTUM)

    def predict(self, data):
        return self.net.predict(data[0])

    def loss(self, data):
        return cross_entropy(self.net.forward(data[0]), data[1])

    def weights(self):
        return [W.copy() for W in self.net.weights]

    def set_weights(self, weights):
        self.net.set_weights(weights)


class TeachingNetwork:
    """The textbook network in numpy: x^(l) = theta(W^(l)^T [1; x^(l-1)]) for a block of
    rows at a time, backpropagation with np.dot, one update per block. With blocks of one
    row this is the per-sample algorithm of the teaching code."""

    def __init__(self, sizes, dtype, seed):
        rng = np.random.default_rng(seed)
        self.W = []
        for d_in, d_out in zip(sizes, sizes[1:]):
            limit = np.sqrt(6.0 / (d_in + d_out))
            W = rng.uniform(-limit, limit, size=(d_in + 1, d_out)).astype(dtype)
            W[0] = 0
            self.W.append(W)

    def feedforward(self, X):
        """[x^(0), x^(1), ..., x^(L)]: tanh in the hidden layers, softmax at the output."""
        xs = [X]
        for l, W in enumerate(self.W, start=1):
            s = np.dot(xs[-1], W[1:]) + W[0]
            if l < len(self.W):
                xs.append(np.tanh(s))
            else:
                e = np.exp(s - s.max(axis=1, keepdims=True))
                xs.append(e / e.sum(axis=1, keepdims=True))
        return xs

    def update(self, X, Y, eta):
        """One SGD step on the mean gradient of the rows of X (targets Y, one-hot)."""
        xs = self.feedforward(X)
        delta = (xs[-1] - Y) / len(X)  # delta^(L) of softmax + cross-entropy, averaged
        for l in range(len(self.W), 0, -1):
            W = self.W[l - 1]
            grad = np.dot(xs[l - 1].T, delta)  # dl/dw_ij = x_i^(l-1) delta_j^(l)
            grad_bias = delta.sum(axis=0)
            if l > 1:
                delta = np.dot(delta, W[1:].T) * (1 - xs[l - 1] ** 2)  # tanh' = 1 - x^2
            W[1:] -= eta * grad
            W[0] -= eta * grad_bias


class NumpyPeer:
    """The vectorised numpy teaching version, shuffling and slicing like the teaching code."""

    name = "numpy"
    minibatch = True

    def __init__(self, sizes, dtype, batch_size, eta, seed):
        self.net = TeachingNetwork(sizes, dtype, seed)
        self.classes, self.dtype = sizes[-1], np.dtype(dtype)
        self.batch_size, self.eta = batch_size, eta
        self.rng = np.random.default_rng(seed)

    def data(self, X, y):
        return X, y, one_hot(y, self.classes, self.dtype)

    def train_epoch(self, data):
        X, _, Y = data
        order = self.rng.permutation(len(X))
        X, Y = X[order], Y[order]
        for start in range(0, len(X), self.batch_size):
            stop = start + self.batch_size
            self.net.update(X[start:stop], Y[start:stop], self.eta)

    def predict(self, data):
        return self.net.feedforward(data[0])[-1].argmax(axis=1)

    def loss(self, data):
        return cross_entropy(self.net.feedforward(data[0])[-1], data[1])

    def weights(self):
        return [W.copy() for W in self.net.W]

    def set_weights(self, weights):
        for W, w in zip(self.net.W, weights):
            W[...] = w


class SklearnPeer:
    """scikit-learn's MLPClassifier with solver='sgd'; one partial_fit call is one epoch."""

    name = "sklearn"
    minibatch = True

    def __init__(self, sizes, dtype, batch_size, eta, seed):
        from sklearn.neural_network import MLPClassifier

        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(sizes[1:-1]), activation="tanh", solver="sgd",
            learning_rate="constant", learning_rate_init=eta, momentum=0.0,
            nesterovs_momentum=False, batch_size=batch_size, alpha=0.0, max_iter=1,
            shuffle=True, random_state=seed,
        )
        self.classes = np.arange(sizes[-1])

    def data(self, X, y):
        """The samples as they are; the first call also lets partial_fit create the weights
        (one untimed epoch on a few rows)."""
        if not hasattr(self.clf, "coefs_"):
            self.train_epoch((X[: self.clf.batch_size], y[: self.clf.batch_size]))
        return X, y

    def train_epoch(self, data):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.clf.partial_fit(data[0], data[1], classes=self.classes)

    def predict(self, data):
        return self.clf.predict(data[0])

    def loss(self, data):
        return cross_entropy(self.clf.predict_proba(data[0]), data[1])

    def weights(self):
        return [np.vstack([b, W]) for W, b in zip(self.clf.coefs_, self.clf.intercepts_)]

    def set_weights(self, weights):
        for W, b, w in zip(self.clf.coefs_, self.clf.intercepts_, weights):
            W[...] = w[1:]
            b[...] = w[0]


class TorchPeer:
    """PyTorch on the CPU: nn.Linear + tanh layers, CrossEntropyLoss, torch.optim.SGD, and
    the usual loop over shuffled batches."""

    name = "torch"
    minibatch = True
    optimizers = ("sgd", "momentum", "adam")

    def __init__(self, sizes, dtype, batch_size, eta, seed, optimizer="sgd"):
        import torch

        self.torch = torch
        torch.manual_seed(seed)
        self.dtype = getattr(torch, np.dtype(dtype).name)
        layers = []
        for l, (d_in, d_out) in enumerate(zip(sizes, sizes[1:]), start=1):
            layers.append(torch.nn.Linear(d_in, d_out, dtype=self.dtype))
            if l < len(sizes) - 1:
                layers.append(torch.nn.Tanh())
        self.model = torch.nn.Sequential(*layers)
        self.linear = layers[::2]
        self.loss_fn = torch.nn.CrossEntropyLoss()
        if optimizer == "adam":
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=eta)
        else:
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=eta,
                                             momentum=MOMENTUM if optimizer == "momentum" else 0.0)
        self.batch_size = batch_size

    def data(self, X, y):
        return self.torch.from_numpy(X), self.torch.from_numpy(np.asarray(y, dtype=np.int64))

    def train_epoch(self, data):
        X, y = data
        order = self.torch.randperm(len(X))
        for start in range(0, len(X), self.batch_size):
            batch = order[start : start + self.batch_size]
            self.optimizer.zero_grad()
            self.loss_fn(self.model(X[batch]), y[batch]).backward()
            self.optimizer.step()

    def predict(self, data):
        with self.torch.inference_mode():
            return self.model(data[0]).argmax(dim=1).numpy()

    def loss(self, data):
        with self.torch.inference_mode():
            return float(self.loss_fn(self.model(data[0]), data[1]))

    def weights(self):
        return [np.vstack([m.bias.detach().numpy(), m.weight.detach().numpy().T]) for m in self.linear]

    def set_weights(self, weights):
        with self.torch.no_grad():
            for m, w in zip(self.linear, weights):
                m.weight.copy_(self.torch.from_numpy(np.ascontiguousarray(w[1:].T)))
                m.bias.copy_(self.torch.from_numpy(np.ascontiguousarray(w[0])))


class CompiledLoop:
    """What the compiled per-sample loops share: the textbook network's initial weights,
    eta in the weights' type and the generator of each epoch's order. Per sample only."""

    minibatch = False
    predicts = False

    def __init__(self, sizes, dtype, batch_size, eta, seed):
        if batch_size != 1:
            raise ValueError(f"the {self.name} loop trains per sample only")
        self.net = TeachingNetwork(sizes, dtype, seed)
        self.dtype = np.dtype(dtype)
        self.eta = self.dtype.type(eta)
        self.rng = np.random.default_rng(seed)


class NumbaPeer(CompiledLoop):
    """A compiled loop of the same per-sample algorithm in Numba (fastmlp._bench.peer_numba): what
    a performance-minded user would write instead of fastmlp."""

    name = "numba"

    def __init__(self, sizes, dtype, batch_size, eta, seed):
        super().__init__(sizes, dtype, batch_size, eta, seed)
        from numba.typed import List

        from . import peer_numba as _peer_numba

        self.epoch = _peer_numba.sgd_epoch
        self.Ws, self.xs, self.deltas = List(self.net.W), List(), List()
        for d in sizes[1:]:
            self.xs.append(np.zeros(d, dtype=self.dtype))
            self.deltas.append(np.zeros(d, dtype=self.dtype))

    def data(self, X, y):
        """The samples as arrays the loop takes; the first call compiles the loop for them
        (an epoch over no samples), so that the sizing run times the loop, not Numba."""
        X, y = np.ascontiguousarray(X, dtype=self.dtype), np.asarray(y, dtype=np.int64)
        self.epoch(self.Ws, X, y, np.empty(0, dtype=np.int64), self.eta, self.xs, self.deltas)
        return X, y

    def train_epoch(self, data):
        X, y = data
        self.epoch(self.Ws, X, y, self.rng.permutation(len(X)), self.eta, self.xs, self.deltas)

    def loss(self, data):
        return cross_entropy(self.net.feedforward(data[0])[-1], data[1])

    def weights(self):
        return [W.copy() for W in self.net.W]


class JaxPeer(CompiledLoop):
    """A compiled loop of the same per-sample algorithm in JAX (fastmlp._bench.peer_jax): ``jit``
    over a ``lax.scan`` of per-sample steps, one XLA thread."""

    name = "jax"

    def __init__(self, sizes, dtype, batch_size, eta, seed):
        super().__init__(sizes, dtype, batch_size, eta, seed)
        from . import peer_jax as _peer_jax

        self.jax = _peer_jax
        self.P = _peer_jax.split(self.net.W)

    def data(self, X, y):
        """The samples on JAX's device, and the epoch compiled for their shapes (so that
        the timed epochs run the loop, not the compiler)."""
        jnp = self.jax.jnp
        X, y = jnp.asarray(np.asarray(X, dtype=self.dtype)), jnp.asarray(np.asarray(y, dtype=np.int64))
        order = np.arange(len(X), dtype=np.int64)
        return X, y, self.jax.compiled_epoch(self.P, X, y, order, self.eta)

    def train_epoch(self, data):
        X, y, epoch = data
        self.P = self.jax.jax.block_until_ready(epoch(self.P, X, y, self.rng.permutation(len(X)), self.eta))

    def loss(self, data):
        self.net.W = self.weights()
        return cross_entropy(self.net.feedforward(np.asarray(data[0]))[-1], np.asarray(data[1]))

    def weights(self):
        return self.jax.joined(self.P)

# FANN's enums (fann_data.h) and the shared libraries Debian's libfann2 ships per type.
FANN_TRAIN_INCREMENTAL = 0
FANN_SIGMOID_SYMMETRIC = 5
FANN_ERRORFUNC_LINEAR = 0
FANN_LIBRARIES = {"float32": ["floatfann", "fann"], "float64": ["doublefann"]}


def load_fann(dtype):
    """FANN's shared library for ``dtype`` (ctypes.CDLL), or None when it is not installed."""
    for stem in FANN_LIBRARIES[np.dtype(dtype).name]:
        for name in (ctypes.util.find_library(stem), f"lib{stem}.so.2"):
            if name is None:
                continue
            try:
                return ctypes.CDLL(name)
            except OSError:
                continue
    return None


def declare_fann(lib, real):
    """Set the argument and result types of the FANN calls we use; ``real`` is fann_type."""
    p, uint, real_p = ctypes.c_void_p, ctypes.c_uint, ctypes.POINTER(real)
    callback = ctypes.CFUNCTYPE(None, uint, uint, uint, real_p, real_p)
    signatures = {
        "fann_create_standard_array": (p, [uint, ctypes.POINTER(uint)]),
        "fann_set_activation_function_hidden": (None, [p, ctypes.c_int]),
        "fann_set_activation_function_output": (None, [p, ctypes.c_int]),
        "fann_set_activation_steepness_hidden": (None, [p, real]),
        "fann_set_activation_steepness_output": (None, [p, real]),
        "fann_set_training_algorithm": (None, [p, ctypes.c_int]),
        "fann_set_train_error_function": (None, [p, ctypes.c_int]),
        "fann_set_learning_rate": (None, [p, ctypes.c_float]),
        "fann_set_learning_momentum": (None, [p, ctypes.c_float]),
        "fann_create_train_from_callback": (p, [uint, uint, uint, callback]),
        "fann_shuffle_train_data": (None, [p]),
        "fann_train_epoch": (ctypes.c_float, [p, p]),
        "fann_run": (real_p, [p, real_p]),
        "fann_destroy_train": (None, [p]),
        "fann_destroy": (None, [p]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return callback


class FannPeer:
    """FANN, the classic C library, through ctypes: fann_create_standard_array, symmetric
    sigmoid (tanh, steepness 1) in every layer, FANN_TRAIN_INCREMENTAL. An epoch is
    fann_train_epoch, which calls fann_train on each sample in C, after
    fann_shuffle_train_data. FANN has no softmax: its output layer is tanh trained on the
    squared error against +-1 targets, so its loss is its own mean squared error."""

    name = "fann"
    minibatch = False

    def __init__(self, sizes, dtype, batch_size, eta, seed):
        if batch_size != 1:
            raise ValueError("FANN trains per sample (or full batch) only")
        self.lib = load_fann(dtype)
        if self.lib is None:
            raise OSError("FANN's shared library (Debian: libfann2) is not installed")
        self.dtype = np.dtype(dtype)
        self.real = ctypes.c_float if self.dtype == np.float32 else ctypes.c_double
        self.callback_type = declare_fann(self.lib, self.real)
        self.sizes = sizes
        layers = (ctypes.c_uint * len(sizes))(*sizes)
        self.ann = self.lib.fann_create_standard_array(len(sizes), layers)
        weakref.finalize(self, self.lib.fann_destroy, self.ann)
        for setting, value in [
            ("fann_set_activation_function_hidden", FANN_SIGMOID_SYMMETRIC),
            ("fann_set_activation_function_output", FANN_SIGMOID_SYMMETRIC),
            ("fann_set_activation_steepness_hidden", 1.0),
            ("fann_set_activation_steepness_output", 1.0),
            ("fann_set_training_algorithm", FANN_TRAIN_INCREMENTAL),
            ("fann_set_train_error_function", FANN_ERRORFUNC_LINEAR),
            ("fann_set_learning_rate", eta),
            ("fann_set_learning_momentum", 0.0),
        ]:
            getattr(self.lib, setting)(self.ann, value)

    def data(self, X, y):
        return FannData(self, X, y)

    def train_epoch(self, data):
        self.lib.fann_shuffle_train_data(data.train)
        self.lib.fann_train_epoch(self.ann, data.train)

    def outputs(self, X):
        """fann_run on each row: the (n, d^(L)) outputs."""
        pointer = ctypes.POINTER(self.real)
        H = np.empty((len(X), self.sizes[-1]), dtype=self.dtype)
        for i, x in enumerate(X):
            H[i] = np.ctypeslib.as_array(self.lib.fann_run(self.ann, x.ctypes.data_as(pointer)), (self.sizes[-1],))
        return H

    def predict(self, data):
        return self.outputs(data.X).argmax(axis=1)

    def loss(self, data):
        return float(np.mean((self.outputs(data.X) - data.T) ** 2))


class FannData:
    """The samples X, y for a FannPeer, the +-1 targets T, and ``train``: a
    fann_train_data holding copies of X and T, freed with this object."""

    def __init__(self, peer, X, y):
        self.X = np.ascontiguousarray(X, dtype=peer.dtype)
        self.T = 2 * one_hot(y, peer.sizes[-1], peer.dtype) - 1
        row_in, row_out = self.X.strides[0], self.T.strides[0]

        def fill(i, n_in, n_out, x, t):
            ctypes.memmove(x, self.X.ctypes.data + i * row_in, row_in)
            ctypes.memmove(t, self.T.ctypes.data + i * row_out, row_out)

        create, destroy = peer.lib.fann_create_train_from_callback, peer.lib.fann_destroy_train
        self.train = create(len(X), peer.sizes[0], peer.sizes[-1], peer.callback_type(fill))
        weakref.finalize(self, destroy, self.train)


PEERS = {peer.name: peer for peer in [FastMLP, NumpyPeer, SklearnPeer, TorchPeer, FannPeer, NumbaPeer, JaxPeer]}


def available(name: str, dtype="float64") -> bool:
    """Whether peer ``name`` can run here (its library imports or loads)."""
    try:
        if name == "sklearn":
            import sklearn.neural_network  # noqa: F401
        elif name == "torch":
            import torch  # noqa: F401
        elif name == "fann":
            return load_fann(dtype) is not None
        elif name == "numba":
            import numba  # noqa: F401
        elif name == "jax":
            from . import peer_jax as _peer_jax  # noqa: F401  (sets XLA's flags before JAX starts)
    except ImportError:
        return False
    return True
