"""scikit-learn's own conformance checks over fastmlp's estimators."""
from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastmlp.estimators import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # small data, default max_iter
@parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0)])
def test_scikit_learn_checks(estimator, check):
    check(estimator)
