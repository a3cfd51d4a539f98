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
from ._errors import ConvergenceWarning, DivergenceError
from ._locking import NetworkLock


class Perceptron:
    """Rosenblatt's perceptron for two classes: sign(w_0 + w_1 x_1 + ... + w_d x_d).

    Any two label values work; the larger counts as +1. For each misclassified sample the
    rule adds eta y [1; x] to w, epoch by epoch, until an epoch makes no mistake.

    Parameters
    ----------
    eta : float, default 1.0
        The step of the update, > 0.
    max_epochs : int, default 1000
        The most epochs before giving up with a ConvergenceWarning.
    shuffle : bool, default True
        Visit the samples in a fresh random order each epoch.
    seed : int, optional
        The shuffles are drawn from it.
    dtype : {"float64", "float32"}, default "float64"
    backend : {"cython", "reference"}, optional
        As for :class:`fastmlp.MLP`.

    Raises
    ------
    ValueError
        eta not > 0, max_epochs < 1, an unknown dtype or backend, or a bad seed.

    Attributes
    ----------
    w : ndarray of shape (d + 1,)
        w_0 (the bias) .. w_d, after ``fit``.
    classes : ndarray of shape (2,)
        The two labels, the smaller first.
    mistakes : list of int
        Misclassified samples per epoch.
    converged : bool
        Whether an epoch made no mistake within ``max_epochs``.

    Notes
    -----
    Like an MLP it holds a lock: fits from several threads run one after the other, and
    predictions, saving and pickling see the result of one whole fit.

    Examples
    --------
    >>> import fastmlp as fm
    >>> p = fm.Perceptron(seed=0).fit([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 0, 0, 1])
    >>> p.converged, p.predict([[1.0, 1.0], [0.0, 0.0]]).tolist()
    (True, [1, 0])
    """

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
        """Run the perceptron rule from w = 0 until an epoch makes no mistake, or for
        ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, d)
            Real numbers.
        y : array-like of shape (n_samples,)
            Exactly two distinct labels.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            A wrong shape, NaN or infinity, or not exactly two labels.
        DivergenceError
            w, or w^T [1; x] for a sample, overflows (inputs too large); w is then the last
            finite epoch's.

        Warns
        -----
        ConvergenceWarning
            When ``max_epochs`` epochs all made mistakes (the data may not be linearly
            separable: XOR, for one).

        Examples
        --------
        >>> import fastmlp as fm
        >>> p = fm.Perceptron(seed=0).fit([[0.0], [1.0], [2.0], [3.0]], ["low", "low", "high", "high"])
        >>> p.classes.tolist(), p.mistakes[-1]
        (['high', 'low'], 0)
        """
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
        mistakes, diverged = [], None
        with self._lock.writing():
            for epoch in range(1, self.max_epochs + 1):
                finite = w.copy()
                order = self.rng.permutation(len(X)) if self.shuffle else np.arange(len(X))
                made = int(self.backend.perceptron_epoch(w, X, signs, order.astype(np.intp), self.eta))
                if not np.isfinite(w).all():
                    w, diverged = finite, epoch  # the MLP's rule: keep the last finite epoch's weights
                    break
                mistakes.append(made)
                if made == 0:
                    break
            with np.errstate(over="ignore", invalid="ignore"):
                if diverged is None and not np.isfinite(w[0] + X @ w[1:]).all():
                    diverged = epoch  # finite weights, but decisions that overflow are no decisions
            self.w, self.classes, self.mistakes = w, classes, mistakes
            self.converged = converged = bool(mistakes) and mistakes[-1] == 0 and diverged is None
        if diverged is not None:
            raise DivergenceError(
                f"the perceptron diverged in epoch {diverged}: w^T [1; x] overflowed {self.dtype.name} "
                f"(inputs as large as {float(np.abs(X).max()):.3g}, eta={self.eta!r}); w is that of the last "
                "finite epoch. Scale the inputs (e.g. standardise them)."
            )
        if not converged:
            warnings.warn(
                f"the perceptron made {mistakes[-1]} mistakes in its last of {self.max_epochs} epochs: "
                "the classes are not linearly separable (as for XOR), or need more epochs",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def decision_function(self, X) -> np.ndarray:
        """s = w^T [1; x] for each sample (positive: the class ``classes[1]``).

        Parameters
        ----------
        X : array-like of shape (n_samples, d) or (d,)
            Real numbers, in the perceptron's dtype.

        Returns
        -------
        ndarray of shape (n_samples,), or a scalar for one sample of shape (d,)

        Raises
        ------
        ValueError
            Before ``fit``, or for a wrong shape, NaN or infinity.

        Examples
        --------
        >>> import fastmlp as fm
        >>> p = fm.Perceptron(shuffle=False).fit([[0.0], [1.0]], [0, 1])
        >>> p.decision_function([[0.0], [1.0]]) > 0
        array([False,  True])
        """
        with self._lock.reading():
            return self._decision(X)

    def predict(self, X) -> np.ndarray:
        """The class on the side of the line (hyperplane) where each sample lies.

        Parameters
        ----------
        X : array-like of shape (n_samples, d) or (d,)

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes``.

        Raises
        ------
        ValueError
            Before ``fit``, or for a wrong shape, NaN or infinity.

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.Perceptron(seed=0).fit([[0.0], [1.0]], [-1, 1]).predict([[0.2], [0.9], [5.0]]).tolist()
        [-1, 1, 1]
        """
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
        """Write the perceptron to ``path`` atomically; read it back with :func:`fastmlp.load`.

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
            Before ``fit``, or metadata that is not JSON-ready.
        OSError
            The file cannot be written; a file already at ``path`` is left as it was.

        Examples
        --------
        >>> import os, tempfile
        >>> import fastmlp as fm
        >>> p = fm.Perceptron(seed=0).fit([[0.0], [1.0]], [0, 1])
        >>> path = os.path.join(tempfile.mkdtemp(), "p.npz")
        >>> p.save(path)
        >>> fm.load(path).w.tolist() == p.w.tolist()
        True
        """
        from .io import save

        save(self, path, metadata=metadata)
