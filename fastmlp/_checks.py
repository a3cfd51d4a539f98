"""Argument checks shared by the public API: each turns user input into a clean value or
raises ValueError/TypeError naming the argument and what is wrong with it."""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._engine.memory import require


def real_array(a, what: str) -> np.ndarray:
    """``a`` as a numpy array of real numbers (any int, float or bool dtype; not timedelta64,
    which numpy counts among the integers)."""
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{what} is not an array of numbers: {exc}") from None
    if arr.dtype.kind == "c":
        raise TypeError(f"{what} must be real, got dtype {arr.dtype}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {arr.dtype}")
    return arr


def all_finite(a: np.ndarray) -> bool:
    """Whether every entry of the float array ``a`` is finite. Its sum is finite only then
    (NaN and infinity carry through a sum, and inf - inf is NaN), and takes one pass without
    a temporary array; only a sum that is not finite (a non-finite entry, or finite ones
    whose sum overflows) needs the entry-by-entry check. Such a sum warns of nothing."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum()
    return math.isfinite(total) or bool(np.isfinite(a).all())


def samples(X, d0, dtype):
    """X as a C-contiguous, finite (n, d0) array of ``dtype`` (any d0 if it is None), and
    whether it was given as one sample of shape (d0,)."""
    X = real_array(X, "X")
    single = X.ndim == 1
    if single:
        X = X.reshape(1, -1)
    if X.ndim != 2 or (d0 is not None and X.shape[1] != d0):
        shape = X.shape[1:] if single else X.shape
        want = f"({d0},) or (n, {d0}) for d^(0) = {d0} inputs" if d0 is not None else "(n, d) or (d,)"
        raise ValueError(f"X has shape {shape}; expected {want}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError("X is empty: no samples")
    if not (X.flags.c_contiguous and X.dtype == dtype):
        require(X.shape[0] * X.shape[1] * np.dtype(dtype).itemsize, f"a copy of X as {np.dtype(dtype).name}")
    X = np.ascontiguousarray(X, dtype=dtype)
    if not all_finite(X):
        raise ValueError(f"X contains NaN or infinity (or values that overflow {np.dtype(dtype).name})")
    return X, single


def real_number(value, what: str, lowest: float = -math.inf, dtype=np.float64) -> float:
    """A finite real number >= ``lowest`` (numpy scalars and fractions too, not bools),
    representable in ``dtype``."""
    wanted = f"{what} must be a finite number" + (f" >= {lowest:g}" if lowest > -math.inf else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{wanted}, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number < lowest:
        raise ValueError(f"{wanted}, got {value!r}")
    if abs(number) > float(np.finfo(dtype).max):
        raise ValueError(f"{wanted}, got {value!r}, which overflows {np.dtype(dtype).name}")
    return number


def eta(value, dtype) -> float:
    """The learning rate: a finite number >= 0 that ``dtype`` can hold."""
    return real_number(value, "eta", lowest=0.0, dtype=dtype)


def penalties(l2, l1) -> tuple:
    """The L2 and L1 penalty weights: finite numbers >= 0."""
    return real_number(l2, "l2", lowest=0.0), real_number(l1, "l1", lowest=0.0)


def positive_int(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def seed(value):
    """None or a non-negative integer, for numpy.random.default_rng."""
    if value is not None and (
        isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0
    ):
        raise ValueError(f"seed must be None or a non-negative integer, got {value!r}")
    return None if value is None else int(value)


def dtype(value) -> np.dtype:
    """float32 or float64, given as a name or a numpy type."""
    try:
        dt = np.dtype(value) if value is not None else None
    except TypeError:
        dt = None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {value!r}")
    return dt


def boolean(value, what: str) -> bool:
    """True or False (numpy's too), not 0/1 or None."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be True or False, got {value!r}")
    return bool(value)


def choice(value, what: str, options) -> str:
    """One of the names in ``options``."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be one of {', '.join(map(repr, options))}, got {value!r}")
    if value not in options:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def fraction(value, what: str) -> float:
    """A real number strictly between 0 and 1."""
    number = real_number(value, what)
    if not 0 < number < 1:
        raise ValueError(f"{what} must lie strictly between 0 and 1, got {value!r}")
    return number


def unit_interval(value, what: str) -> float:
    """A real number in [0, 1): a rate or a decay factor."""
    number = real_number(value, what, lowest=0.0)
    if number >= 1:
        raise ValueError(f"{what} must lie in [0, 1), got {value!r}")
    return number
