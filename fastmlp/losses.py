"""The losses l(h(x), y), registered by name, with the output theta each one pairs with.

Each loss knows which output activation it needs (``None``: any that can be trained),
whether it classifies, and how to turn user targets into the float rows the kernels read
(``targets``). The compiled kernels know the losses by these names (ARCHITECTURE.md says
where).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks as checks

@dataclass(frozen=True)
class Loss:
    """A loss l(h, y) by name, with the output activation it pairs with and whether it
    classifies. Get one with :func:`get`; ``MLP(loss=...)`` takes the name.

    Attributes
    ----------
    name : str
    output : str or None
        The output activation the loss requires (None: any).
    default_output : str
        The output activation an MLP gets when none is named.
    classifier : bool

    Examples
    --------
    >>> from fastmlp import losses
    >>> loss = losses.get("binary_cross_entropy")
    >>> loss.default_output, loss.classifier
    ('sigmoid', True)
    """

    name: str
    output: str | None
    default_output: str
    classifier: bool

    def targets(self, y, n: int, d_out: int, dtype) -> np.ndarray:
        """Validated targets as an (n, d^(L)) C-contiguous array of the network's dtype.

        Parameters
        ----------
        y : array-like of shape (n,) or (n, d_out)
            Class labels 0..d_out-1 for cross_entropy (one column), else target values.
        n, d_out : int
            Samples and output units.
        dtype : numpy dtype

        Returns
        -------
        ndarray of shape (n, d_out)

        Raises
        ------
        ValueError
            A wrong shape, NaN or infinity, or a label or target out of the loss's range.

        Examples
        --------
        >>> from fastmlp import losses
        >>> losses.get("cross_entropy").targets([2, 0], 2, 3, "float64")
        array([[0., 0., 1.],
               [1., 0., 0.]])
        """
        y = checks.real_array(y, "y")
        if self.name == "cross_entropy" and y.ndim == 1:
            return _one_hot(y, n, d_out, dtype)
        if y.ndim == 1 and d_out == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape != (n, d_out):
            want = f"({n}, {d_out})" + (f" or ({n},)" if d_out == 1 or self.name == "cross_entropy" else "")
            hint = ""
            if y.ndim == 1 and d_out > 1 and self.name != "binary_cross_entropy" and _whole_numbers(y):
                hint = (f". For class labels 0..{d_out - 1}, train with loss=\"cross_entropy\" "
                        f"(fm.MLP(..., loss=\"cross_entropy\")), or give one-hot target rows of shape ({n}, {d_out})")
            raise ValueError(f"y has shape {y.shape}; expected {want} for {n} samples and {d_out} outputs{hint}")
        Y = np.ascontiguousarray(y, dtype=dtype)
        if not checks.all_finite(Y):
            raise ValueError("y contains NaN or infinity")
        if self.name == "binary_cross_entropy" and ((Y < 0) | (Y > 1)).any():
            raise ValueError("binary_cross_entropy targets must lie in [0, 1]")
        if self.name == "poisson" and (Y < 0).any():
            raise ValueError("poisson targets must be non-negative (counts or rates, y >= 0)")
        if self.name == "cross_entropy":
            if (Y < 0).any() or not np.allclose(Y.sum(axis=1), 1.0, atol=1e-4):
                raise ValueError("cross_entropy target rows must be non-negative and sum to 1 (one-hot)")
        return Y

    def decisions(self, H: np.ndarray) -> np.ndarray:
        """What a classifier decides from outputs or targets H (n, d^(L)), as (n, k) rows:
        the class (argmax) for cross_entropy, each output >= 1/2 for binary cross-entropy.

        Parameters
        ----------
        H : ndarray of shape (n, d^(L))

        Returns
        -------
        ndarray of shape (n, 1) of int for cross_entropy, else (n, d^(L)) of bool

        Raises
        ------
        Nothing for an array of that shape.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp import losses
        >>> losses.get("cross_entropy").decisions(np.array([[0.2, 0.8], [0.6, 0.4]])).ravel().tolist()
        [1, 0]
        """
        if self.name == "cross_entropy":
            return H.argmax(axis=1)[:, np.newaxis]
        return H >= 0.5

    def score(self, H: np.ndarray, Y: np.ndarray, weight=None) -> float:
        """How well outputs H fit targets Y, higher is better: for classification losses the
        accuracy (the share of samples with every decision right), for l2 and poisson the
        coefficient of determination R^2 = 1 - SS_res / SS_tot averaged over the outputs (an
        output whose targets are constant scores 1 if fitted exactly, else 0). With sample
        weights each sample counts by its weight.

        Parameters
        ----------
        H, Y : ndarray of shape (n, d^(L))
            Outputs and targets (as ``targets`` returns them).
        weight : ndarray of shape (n,), optional
            Default None counts every sample once.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            Shapes that do not match.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp import losses
        >>> losses.get("l2").score(np.array([[1.0], [2.0]]), np.array([[1.0], [2.0]]))
        1.0
        """
        weight = np.ones(len(Y)) if weight is None else weight
        if self.classifier:
            return float(np.average((self.decisions(H) == self.decisions(Y)).all(axis=1), weights=weight))
        H, Y, c = H.astype(np.float64), Y.astype(np.float64), weight[:, np.newaxis]
        residual = (c * (Y - H) ** 2).sum(axis=0)
        total = (c * (Y - np.average(Y, axis=0, weights=weight)) ** 2).sum(axis=0)
        r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), (residual == 0).astype(np.float64))
        return float(r2.mean())


def _one_hot(labels: np.ndarray, n: int, K: int, dtype) -> np.ndarray:
    if labels.shape[0] != n:
        raise ValueError(f"y has {labels.shape[0]} labels for {n} samples")
    whole = labels.dtype.kind in "iu"  # integers need no check that they are whole
    if not whole and (not np.isfinite(labels).all() or (labels != np.round(labels)).any()):
        raise ValueError("class labels must be whole numbers")
    if labels.min() < 0 or labels.max() >= K:
        bad = labels[(labels < 0) | (labels >= K)][0]
        raise ValueError(f"class label {bad!r} is out of range: the network has {K} classes, 0..{K - 1}")
    Y = np.zeros((n, K), dtype=dtype)
    # The 1s by their flat positions: one index array instead of two.
    Y.reshape(-1)[np.arange(0, n * K, K) + labels.astype(np.intp)] = 1
    return Y


LOSSES = {
    loss.name: loss
    for loss in [
        Loss("l2", None, "identity", classifier=False),
        Loss("cross_entropy", "softmax", "softmax", classifier=True),
        Loss("binary_cross_entropy", "sigmoid", "sigmoid", classifier=True),
        # The half Poisson deviance y log(y / h) - y + h with h = e^s (the log link).
        Loss("poisson", "exp", "exp", classifier=False),
    ]
}


def get(name) -> Loss:
    """The Loss registered under ``name`` ("l2", "cross_entropy", "binary_cross_entropy" or
    "poisson").

    Parameters
    ----------
    name : str

    Returns
    -------
    Loss

    Raises
    ------
    TypeError
        Anything but a string.
    ValueError
        An unknown name.

    Examples
    --------
    >>> from fastmlp import losses
    >>> losses.get("cross_entropy").classifier
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"loss must be a name, got {type(name).__name__}")
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    return LOSSES[name]


def _whole_numbers(y) -> bool:
    """Whether y holds whole numbers only, as class labels do."""
    return y.dtype.kind in "iub" or bool(np.isfinite(y).all() and (y == np.round(y)).all())
