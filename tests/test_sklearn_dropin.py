"""fastmlp's estimators where scikit-learn's own MLP tests and gallery look, side by side
with scikit-learn: the iterations each call counts, partial_fit's classes, the refusals
and their messages, divergence under early stopping, L-BFGS's tol and max_fun, and the
warnings a script's filters silence."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_iris, make_moons, make_multilabel_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import fastmlp  # noqa: E402
from fastmlp.estimators import MLPClassifier, MLPRegressor  # noqa: E402

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
ROUNDING = {"rtol": 1e-9, "atol": 1e-12}


def both(cls, **params):
    """(ours, scikit-learn's) estimator with the same parameters."""
    theirs = getattr(sk, cls.__name__)
    return cls(**params), theirs(**params)


def assert_same_weights(ours, theirs, **tolerance):
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, **(tolerance or ROUNDING))


# -- iterations per call ---------------------------------------------------------------------

@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_n_iter_counts_the_last_call_and_a_warm_refit_warns_at_max_iter(cls, solver):
    ours, theirs = both(cls, solver=solver, hidden_layer_sizes=(5,), warm_start=True, max_iter=4,
                        n_iter_no_change=np.inf, random_state=0)
    for max_iter in (4, 6):
        for est in (ours, theirs):
            est.set_params(max_iter=max_iter)
            with pytest.warns(ConvergenceWarning):
                est.fit(X_IRIS, Y_IRIS)
        assert ours.n_iter_ == theirs.n_iter_ == max_iter
    assert_same_weights(ours, theirs)
    if solver != "lbfgs":
        assert ours.t_ == theirs.t_ == 10 * len(X_IRIS)
        ours.partial_fit(X_IRIS, Y_IRIS)
        assert ours.n_iter_ == 1


def test_n_iter_no_change_inf_never_stops_early():
    ours, theirs = both(MLPClassifier, solver="sgd", tol=1e9, max_iter=30, n_iter_no_change=np.inf, random_state=0)
    for est in (ours, theirs):
        with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
            est.fit(X_IRIS, Y_IRIS)
    assert ours.n_iter_ == theirs.n_iter_ == 30
    assert ours._no_improvement_count == theirs._no_improvement_count == 29
    assert_same_weights(ours, theirs)


# -- partial_fit's classes -------------------------------------------------------------------

def test_partial_fit_on_multilabel_targets_with_classes():
    X, Y = make_multilabel_classification(n_samples=50, random_state=0, return_indicator=True)
    ours, theirs = both(MLPClassifier, solver="sgd", hidden_layer_sizes=(20,), activation="logistic",
                        learning_rate_init=0.2, random_state=0)
    for _ in range(5):
        for est in (ours, theirs):
            est.partial_fit(X, Y, classes=[0, 1, 2, 3, 4])
    assert list(ours.classes_) == list(theirs.classes_) == [0, 1, 2, 3, 4]
    assert_same_weights(ours, theirs)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_a_first_partial_fit_with_labels_outside_classes_is_refused_and_changes_nothing():
    est = MLPClassifier(solver="sgd")
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
        est.partial_fit([[3, 2], [1, 6]], [1, 0], classes=[2])
    assert not hasattr(est, "classes_") and not hasattr(est, "coefs_")
    est.partial_fit([[3, 2], [1, 6]], [1, 0], classes=[0, 1, 2])
    assert list(est.classes_) == [0, 1, 2]
    with pytest.raises(ValueError, match=r"`classes=\[1, 2\]` is not the same as on last call to partial_fit"):
        est.partial_fit([[3, 2]], [1], classes=[1, 2])


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_partial_fit_refuses_early_stopping_before_changing_anything(cls):
    est = cls(early_stopping=True, hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_IRIS, Y_IRIS)
    before = [W.copy() for W in est.coefs_]
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        est.partial_fit(X_IRIS, Y_IRIS)
    assert all(np.array_equal(a, b) for a, b in zip(est.coefs_, before)) and est.n_iter_ == 5


# -- early stopping --------------------------------------------------------------------------

def test_a_regressor_diverging_under_early_stopping_records_nan_and_keeps_its_best_epoch():
    est = MLPRegressor(hidden_layer_sizes=100, activation="identity", solver="sgd", learning_rate_init=1,
                       max_iter=20, early_stopping=True, random_state=0)
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        est.fit(X_IRIS, Y_IRIS)
    scores = est.validation_scores_
    assert np.isnan(scores[-1]) and isinstance(scores[-1], float)
    assert len(scores) == len(est.validation_loss_curve_) == est.n_iter_ < 20
    assert est.best_validation_score_ == max(s for s in scores if not np.isnan(s))
    assert all(np.isfinite(W).all() for W in est.coefs_ + est.intercepts_)
    assert np.isfinite(est.predict(X_IRIS)).all()


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_a_validation_set_under_two_samples_is_refused(cls):
    X, y = X_IRIS[[0, 1, 50, 51, 100]], Y_IRIS[[0, 1, 50, 51, 100]]
    with pytest.raises(ValueError, match="The validation set is too small"):
        cls(early_stopping=True, validation_fraction=0.2, random_state=0).fit(X, y)


def test_the_binary_split_is_stratified_as_scikit_learn_reports_it():
    with pytest.raises(ValueError, match=r"The least populated classes in y have only 1 member.*\['True'\]"):
        MLPClassifier(early_stopping=True).fit([[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1])


def test_a_warm_fit_with_other_classes_names_both():
    est = MLPClassifier(hidden_layer_sizes=2, solver="lbfgs", warm_start=True, random_state=0, tol=1e-2)
    est.fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match=r"warm_start can only be used where `y` has the same classes as in the "
                                         r"previous call to fit\. Previously got \[0 1 2\], `y` has \[0 1\]"):
        est.fit(X_IRIS, Y_IRIS % 2)


def test_non_finite_weights_are_reported_in_scikit_learns_words():
    X = np.finfo(np.float64).max * np.random.RandomState(0).uniform(size=(10, 2))
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights. The input data may "
                                         "contain large values and need to be preprocessed."):
        MLPRegressor().fit(X, np.random.RandomState(1).standard_normal(10))


# -- L-BFGS ------------------------------------------------------------------------------

@pytest.mark.parametrize("tol", [1e-4, 1e-2])
def test_lbfgs_stops_on_tol_as_scikit_learn_does(tol):
    """tol is L-BFGS's gradient tolerance: on the moons both stop at the same iteration
    (37 at 1e-4, 9 at 1e-2 with scikit-learn 1.9.1) with the same weights."""
    X, y = make_moons(noise=0.3, random_state=0)
    ours, theirs = both(MLPClassifier, solver="lbfgs", alpha=10, random_state=1, hidden_layer_sizes=[10, 10],
                        tol=tol)
    for est in (ours, theirs):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)  # both converge
            est.fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 200
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-12)
    assert_same_weights(ours, theirs, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_lbfgs_stops_at_max_fun_evaluations_with_a_convergence_warning(cls):
    ours, theirs = both(cls, solver="lbfgs", hidden_layer_sizes=(20,), max_iter=150, max_fun=10, tol=0.0,
                        random_state=1)
    for est in (ours, theirs):
        with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after \d+ iteration\(s\) \(status=1\)"):
            est.fit(X_IRIS, Y_IRIS)
    assert ours.n_iter_ == theirs.n_iter_ <= 10
    assert_same_weights(ours, theirs, rtol=1e-7, atol=1e-10)


# -- warnings a script silences ---------------------------------------------------------------

# The filters scripts set to silence scikit-learn's MLP warnings (or, the last two, other
# modules' and all warnings turned into errors), each a call of the warnings module.
FILTERS = {
    "module='sklearn'": dict(action="ignore", category=ConvergenceWarning, module="sklearn"),
    "the MLP module": dict(action="ignore", module=r"sklearn\.neural_network\._multilayer_perceptron"),
    "category": dict(action="ignore", category=ConvergenceWarning),
    "message": dict(action="ignore", message="Stochastic Optimizer: Maximum iterations"),
    "lbfgs message": dict(action="ignore", message="lbfgs failed to converge"),
    "everything": dict(action="ignore"),
    "another module": dict(action="ignore", module="numpy"),
    "as errors": dict(action="error", category=ConvergenceWarning),
}


def warnings_seen(est, solver, **filter_arguments):
    """The categories of the warnings fit raises past the filter (or the error it turns one into)."""
    est.set_params(solver=solver, max_iter=3, hidden_layer_sizes=(4,), random_state=0)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.filterwarnings(**filter_arguments)
        try:
            est.fit(X_IRIS, Y_IRIS)
        except Warning as raised:
            return [type(raised)]
    return [w.category for w in seen]


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("name", FILTERS)
def test_a_warnings_filter_treats_ours_as_scikit_learns(name, solver):
    ours, theirs = both(MLPClassifier)
    expected = warnings_seen(theirs, solver, **FILTERS[name])
    assert warnings_seen(ours, solver, **FILTERS[name]) == expected
    assert bool(expected) == (name in ("another module", "as errors") or
                              (name, solver) in (("message", "lbfgs"), ("lbfgs message", "adam")))


def test_the_command_line_filter_for_scikit_learns_module_silences_ours(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text("from sklearn.datasets import load_iris\n"
                      "from fastmlp.estimators import MLPClassifier\n"
                      "MLPClassifier(max_iter=2, random_state=0).fit(*load_iris(return_X_y=True))\n")
    env = {name: value for name, value in os.environ.items() if name != "PYTHONWARNINGS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(fastmlp.__file__).parents[1]), env.get("PYTHONPATH")]))
    for option, silent in (("ignore:::sklearn.neural_network._multilayer_perceptron", True), ("default", False)):
        done = subprocess.run([sys.executable, "-W", option, str(script)], capture_output=True, text=True, env=env,
                              timeout=300, check=True)
        assert ("ConvergenceWarning" in done.stderr) != silent, done.stderr


# -- loss_curve_ -------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_the_loss_curve_adds_the_penalty_of_each_steps_weights_as_scikit_learn_does(cls, solver):
    """150 samples in batches of 32 (four whole and one of 22): each entry of loss_curve_
    is scikit-learn's to rounding, penalty included."""
    y = Y_IRIS if cls is MLPClassifier else np.column_stack([np.sin(Y_IRIS), X_IRIS[:, 0]])
    ours, theirs = both(cls, solver=solver, hidden_layer_sizes=(16,), batch_size=32, alpha=0.5, max_iter=6,
                        random_state=0)
    for est in (ours, theirs):
        with pytest.warns(ConvergenceWarning):
            est.fit(X_IRIS, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-13)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-13)
