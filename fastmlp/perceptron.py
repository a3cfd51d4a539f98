"""Rosenblatt's perceptron: the lecture's single sign unit and its learning algorithm.

h(x) = sign(w^T [1; x]) with the bias as w_0. Each epoch visits every sample and, where it
is misclassified (y w^T [1; x] <= 0), moves the boundary: w <- w + eta y [1; x]. On
linearly separable data an epoch without mistakes comes after finitely many updates; on
XOR none ever does, which is why the lecture goes on to hidden layers.
"""
from __future__ import annotations

import copy
import warnings

import numpy as np

from . import _checks as checks
from ._engine import backends
from ._errors import ConvergenceWarning
from ._locking import NetworkLock


class Perceptron:
    """A perceptron for two classes (any two label values; the larger counts as +1).

    After ``fit``: ``w`` (w_0 .. w_d), ``classes``, ``mistakes`` (per epoch) and
    ``converged`` (an epoch made no mistake within ``max_epochs``).

    Like an MLP it holds a lock (fastmlp._locking): fits from several threads run one after
    the other, and predictions, saving and pickling see the result of one whole fit."""

    def __init__(self, eta=1.0, max_epochs=1000, shuffle=True, seed=None, dtype="float64", backend=None):
        self.dtype = checks.dtype(dtype)
        self.eta = checks.real_number(eta, "eta", lowest=0.0, dtype=self.dtype)
        if self.eta == 0:
            raise ValueError("eta must be > 0 for the perceptron to learn")
        self.max_epochs = checks.positive_int(max_epochs, "max_epochs")
        self.shuffle = checks.boolean(shuffle, "shuffle")
        self.rng = np.random.default_rng(checks.seed(seed))
        self.backend = backends.get(backend)
        self.w = self.classes = None
        self._lock = NetworkLock()

    def __getstate__(self) -> dict:
        """What pickle keeps: a copy, taken under the lock, of everything but the lock, and
        the backend by name (its functions are rebuilt on load)."""
        with self._lock.reading():
            state = copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in ("_lock", "backend")})
        return {**state, "backend": self.backend.name}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.backend = backends.by_saved_name(state["backend"])
        self._lock = NetworkLock()

    def fit(self, X, y) -> Perceptron:
        """Run the perceptron algorithm from w = 0 until an epoch makes no mistake, or for
        max_epochs epochs (then a ConvergenceWarning says so)."""
        X, _ = checks.samples(X, None, self.dtype)
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y has shape {y.shape}; expected ({len(X)},), one label per sample")
        if y.dtype.kind in "fc" and not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinity")
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(f"the perceptron separates two classes; y has {len(classes)}")
        signs = np.where(y == classes[1], 1.0, -1.0).astype(self.dtype)
        w = np.zeros(X.shape[1] + 1, dtype=self.dtype)
        mistakes = []
        with self._lock.writing():
            for _ in range(self.max_epochs):
                order = self.rng.permutation(len(X)) if self.shuffle else np.arange(len(X))
                mistakes.append(int(self.backend.perceptron_epoch(w, X, signs, order.astype(np.intp), self.eta)))
                if mistakes[-1] == 0:
                    break
            self.w, self.classes, self.mistakes = w, classes, mistakes
            self.converged = converged = mistakes[-1] == 0
        if not converged:
            warnings.warn(
                f"the perceptron made {mistakes[-1]} mistakes in its last of {self.max_epochs} epochs: "
                "the classes are not linearly separable (as for XOR), or need more epochs",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def decision_function(self, X) -> np.ndarray:
        """s = w^T [1; x] for each sample (positive: the class ``classes[1]``)."""
        with self._lock.reading():
            return self._decision(X)

    def predict(self, X) -> np.ndarray:
        """The class on the side of the boundary where each sample lies."""
        with self._lock.reading():
            return self.classes[(self._decision(X) > 0).astype(np.intp)]

    def _decision(self, X) -> np.ndarray:
        """decision_function, for a caller that holds the lock."""
        if self.w is None:
            raise ValueError("this Perceptron is not fitted yet: call fit(X, y) first")
        X, single = checks.samples(X, len(self.w) - 1, self.dtype)
        s = self.w[0] + X @ self.w[1:]
        return s[0] if single else s

    def save(self, path, *, metadata=None) -> None:
        """Write the perceptron to ``path`` atomically; see fastmlp.io.save and fastmlp.load."""
        from .io import save

        save(self, path, metadata=metadata)
