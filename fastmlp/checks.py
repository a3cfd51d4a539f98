"""Argument checks shared by the public API: each turns user input into a clean value or
raises ValueError/TypeError naming the argument and what is wrong with it."""
from __future__ import annotations

import math
import numbers

import numpy as np


def real_array(a, what: str) -> np.ndarray:
    """``a`` as a numpy array of real numbers (any int, float or bool dtype)."""
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{what} is not an array of numbers: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{what} must be numeric, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{what} must be real, got dtype {arr.dtype}")
    return arr


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
    if abs(number) > np.finfo(dtype).max:
        raise ValueError(f"{wanted}, got {value!r}, which overflows {np.dtype(dtype).name}")
    return number


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
