"""fastmlp.datasets.train_test_split refuses bad arguments and takes any layout."""
from __future__ import annotations

import numpy as np
import pytest

from fastmlp.datasets import train_test_split
from conftest import FLOAT32_OVERFLOW_WARNINGS, INF, NAN, XS, YS

pytestmark = FLOAT32_OVERFLOW_WARNINGS


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((XS, YS), dict(test_fraction=0), ValueError, r"test_fraction must lie strictly between 0 and 1, got 0"),
        ((XS, YS), dict(test_fraction=1), ValueError, r"test_fraction must lie strictly between 0 and 1"),
        ((XS, YS), dict(test_fraction=-0.5), ValueError, r"test_fraction must lie strictly between 0 and 1"),
        ((XS, YS), dict(test_fraction=1.5), ValueError, r"test_fraction must lie strictly between 0 and 1"),
        ((XS, YS), dict(test_fraction=NAN), ValueError, r"test_fraction must lie strictly between 0 and 1"),
        ((XS, YS), dict(test_fraction="0.5"), (ValueError, TypeError), r"test_fraction"),
        ((XS, YS), dict(test_fraction=None), (ValueError, TypeError), r"test_fraction"),
        ((XS, YS[:-1]), {}, ValueError, r"X has 12 samples but y has 11"),
        ((XS[:5], YS), {}, ValueError, r"X has 5 samples but y has 12"),
        ((XS, YS), dict(seed=-1), (ValueError, TypeError), r"(?i)seed"),
        ((XS, YS), dict(seed=1.5), (ValueError, TypeError), r"(?i)seed"),
        # data the split must not pass on silently
        ((np.zeros((0, 2)), np.zeros(0, dtype=int)), {}, ValueError, r"(?i)empty|no samples"),
        (([], []), {}, ValueError, r"(?i)empty|no samples"),
        ((np.where(XS == 5, NAN, XS), YS), {}, ValueError, r"X contains NaN or infinity"),
        ((np.where(XS == 5, INF, XS), YS), {}, ValueError, r"X contains NaN or infinity"),
        ((XS, np.where(YS == 1, NAN, YS)), {}, ValueError, r"\by\b.*(NaN|whole|label)|label"),
        ((XS, np.eye(3)[YS]), {}, ValueError, r"\by\b.*shape"),
        ((3.0, 4.0), {}, (ValueError, TypeError), r"\bX\b"),
        ((XS.astype(str), YS), {}, TypeError, r"X must be numeric"),
        ((XS + 1j, YS), {}, TypeError, r"X must be real"),
        ((XS.astype(object), YS), {}, TypeError, r"X must be numeric"),
        (([[1, 2], [3]] * 6, YS), {}, (ValueError, TypeError), r"\bX\b"),
    ],
    ids=[
        "fraction-0", "fraction-1", "fraction-neg", "fraction-1.5", "fraction-nan", "fraction-str", "fraction-none",
        "y-short", "X-short", "seed-neg", "seed-float", "empty", "empty-lists", "X-nan", "X-inf", "y-nan",
        "y-one-hot", "scalars", "X-strings", "X-complex", "X-object", "X-ragged",
    ],
)
def test_train_test_split_rejects(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train_test_split(*args, **kwargs)
