"""fastmlp.estimators against scikit-learn's MLPClassifier and MLPRegressor: the same
weights from the same start, the same stopping, at least its accuracy, and the estimator
API (labels, multilabel, multi-output, pandas, sparse input, pickling, warnings)."""
from __future__ import annotations

import pickle
import threading
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from fastmlp.datasets import load_digits, train_test_split  # noqa: E402
from fastmlp.estimators import MLPClassifier, MLPRegressor  # noqa: E402

# Two computations of the same float64 quantity in a different order of summation.
ROUNDING = {"rtol": 1e-9, "atol": 1e-12}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X / 16, y


@pytest.fixture(scope="module")
def small(digits):
    """300 digits: 300 = 9 batches of 32 and a partial one of 12."""
    X, y = digits
    return X[:300], y[:300]


def targets(kind, y):
    """y for each kind of problem built from digit labels."""
    if kind == "multiclass":
        return y
    if kind == "binary":
        return np.where(y % 2 == 0, "even", "odd")
    if kind == "multilabel":
        return np.column_stack([y % 2 == 0, y < 5, y % 3 == 0]).astype(int)
    return np.column_stack([np.sin(y), y / 10.0])  # two outputs


def pair(kind, **params):
    """scikit-learn's estimator and ours with the same parameters."""
    params = {"random_state": 0, "hidden_layer_sizes": (16,), **params}
    if kind == "regression":
        return sk.MLPRegressor(**params), MLPRegressor(**params)
    return sk.MLPClassifier(**params), MLPClassifier(**params)


def fit_both(ours, theirs, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y, **fit_params)
        ours.fit(X, y, **fit_params)


def same_start(ours, theirs, X, y, rng):
    """Fit both once (to size the layers), then give both the same random weights."""
    fit_both(ours, theirs, X, y)
    coefs = [rng.normal(0, 0.3, W.shape) for W in theirs.coefs_]
    intercepts = [rng.normal(0, 0.3, b.shape) for b in theirs.intercepts_]
    for est in (theirs, ours):
        est.coefs_ = [W.copy() for W in coefs]
        est.intercepts_ = [b.copy() for b in intercepts]


def assert_same_weights(ours, theirs, **tol):
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, **(tol or ROUNDING))


# -- agreement with scikit-learn -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression"])
def test_one_plain_sgd_epoch_without_shuffling_matches(kind, small):
    X, y = small
    y = targets(kind, y)
    theirs, ours = pair(kind, solver="sgd", momentum=0.0, shuffle=False, batch_size=32, alpha=0.01,
                        learning_rate_init=0.1, max_iter=1, warm_start=True, activation="tanh")
    same_start(ours, theirs, X, y, np.random.default_rng(1))
    fit_both(ours, theirs, X, y)
    assert_same_weights(ours, theirs)
    # loss_ holds the penalty of the weights before each step.
    np.testing.assert_allclose(ours.loss_, theirs.loss_, **ROUNDING)
    assert ours.t_ == theirs.t_ == 2 * len(X)  # warm_start counts on from the first fit


@pytest.mark.parametrize("solver, settings", [
    ("sgd", dict(momentum=0.0)),
    ("sgd", dict(momentum=0.9, nesterovs_momentum=False)),
    ("sgd", dict()),  # scikit-learn's default: Nesterov's momentum 0.9
    ("adam", dict()),
], ids=["plain", "momentum", "nesterov", "adam"])
def test_per_sample_loss_curve_matches(solver, settings, small):
    """Per sample, loss_curve_ adds the penalty of the weights before every step, as
    scikit-learn's does: to rounding wherever the weights agree to rounding."""
    X, y = small
    theirs, ours = pair("multiclass", solver=solver, batch_size=1, alpha=0.01, learning_rate_init=0.01, max_iter=3,
                        warm_start=True, **settings)
    same_start(ours, theirs, X, y, np.random.default_rng(5))
    fit_both(ours, theirs, X, y)
    assert_same_weights(ours, theirs, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_one_adam_epoch_matches(kind, small):
    X, y = small
    y = targets(kind, y)
    theirs, ours = pair(kind, solver="adam", batch_size=50, alpha=0.001, learning_rate_init=0.01, max_iter=1,
                        warm_start=True)
    same_start(ours, theirs, X, y, np.random.default_rng(2))
    fit_both(ours, theirs, X, y)
    assert_same_weights(ours, theirs)


@pytest.mark.parametrize("kind", ["multiclass", "binary", "regression_one_output"])
def test_lbfgs_fit_matches(kind, small):
    """scikit-learn's L-BFGS objective: the mean loss (weighted by sample_weight) plus
    alpha / (2 sum of the weights) * sum W^2."""
    X, y = small
    one_output = kind == "regression_one_output"
    y = targets("regression", y)[:, 0] if one_output else targets(kind, y)
    sample_weight = np.random.default_rng(3).uniform(0.5, 2.0, len(X))
    theirs, ours = pair("regression" if one_output else kind, solver="lbfgs", alpha=0.01, max_iter=15,
                        warm_start=True)
    same_start(ours, theirs, X, y, np.random.default_rng(4))
    fit_both(ours, theirs, X, y, sample_weight=sample_weight)
    assert ours.n_iter_ == theirs.n_iter_ == 15
    assert_same_weights(ours, theirs, rtol=1e-7, atol=1e-9)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9)


def test_schedules_and_stopping_match_over_many_epochs(small):
    """invscaling counts samples (t_), Nesterov momentum carries over between epochs, the
    shuffled order of each epoch permutes the last, and the fit stops after the same epoch
    once the training loss stalls."""
    X, y = small
    theirs, ours = pair("multiclass", solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                        power_t=0.25, batch_size=20, tol=0.05, n_iter_no_change=2, max_iter=50)
    theirs.fit(X, y)
    ours.fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 50
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **ROUNDING)
    assert_same_weights(ours, theirs, rtol=1e-6, atol=1e-9)


def test_adaptive_schedule_and_early_stopping_match(small):
    X, y = small
    theirs, ours = pair("multiclass", solver="sgd", learning_rate="adaptive", learning_rate_init=0.3,
                        early_stopping=True, validation_fraction=0.2, n_iter_no_change=3, tol=0.02, max_iter=60)
    theirs.fit(X, y)
    ours.fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 60
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    assert ours.best_validation_score_ == theirs.best_validation_score_
    assert ours.best_loss_ is None and len(ours.validation_loss_curve_) == ours.n_iter_
    assert_same_weights(ours, theirs, rtol=1e-6, atol=1e-9)


# -- held-out accuracy on the digits --------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"solver": "sgd", "batch_size": 1, "max_iter": 3}],
                         ids=["defaults", "per_sample_sgd"])
def test_digits_accuracy_at_least_scikit_learn(digits, params):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.25, seed=0)
    theirs, ours = sk.MLPClassifier(random_state=0, **params), MLPClassifier(random_state=0, **params)
    # One BLAS thread each: on a busy machine competing BLAS threads cost more than they give.
    with threadpool_limits(1):
        fit_both(ours, theirs, X_train, y_train)
    assert ours.score(X_test, y_test) >= theirs.score(X_test, y_test) > 0.9


# -- the estimator API ----------------------------------------------------------------------


def test_pickled_estimator_predicts_and_trains_on_bit_for_bit(small):
    """Adam's moments and step count travel with the pickle: partial_fit on the copy gives
    exactly the weights partial_fit gives on the original."""
    X, y = small
    est = MLPClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=0, dropout=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    twin = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(twin.predict_proba(X), est.predict_proba(X))
    for model in (est, twin):
        model.partial_fit(X, y)
        model.partial_fit(X[::-1], y[::-1])
    for a, b in zip(est.coefs_ + est.intercepts_, twin.coefs_ + twin.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert est.net_.optimizer.t == twin.net_.optimizer.t > 0


def test_setting_coefs_takes_effect(small):
    X, y = small
    est = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    est.coefs_ = [np.zeros_like(W) for W in est.coefs_]
    est.intercepts_ = [np.full_like(b, 0.5) for b in est.intercepts_]
    np.testing.assert_allclose(est.predict(X), 0.5 * 4 * 0 + 0.5)
    est.coefs_[1] = np.ones((3, 1))
    with pytest.raises(ValueError, match=r"W\^\(2\) has shape"):
        est.predict(X)


def test_string_labels_and_probability_columns(small):
    X, y = small
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    est = MLPClassifier(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=100, random_state=0).fit(X, names[y])
    assert list(est.classes_) == sorted(names)
    assert est.predict(X).dtype.kind == "U" and est.score(X, names[y]) > 0.9
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 10)
    np.testing.assert_array_equal(est.classes_[proba.argmax(axis=1)], est.predict(X))
    np.testing.assert_allclose(np.exp(est.predict_log_proba(X)), proba)


def test_binary_uses_one_logistic_output(small):
    X, y = small
    est = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, targets("binary", y))
    assert est.out_activation_ == "logistic" and est.n_outputs_ == 1
    assert est.net_.loss.name == "binary_cross_entropy"
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(est.predict(X)) <= {"even", "odd"}


def test_multilabel(small):
    X, y = small
    Y = targets("multilabel", y)
    est = MLPClassifier(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=200, random_state=0).fit(X, Y)
    assert est.out_activation_ == "logistic" and est.n_outputs_ == 3
    assert est.predict(X).shape == Y.shape and est.predict_proba(X).shape == Y.shape
    assert est.score(X, Y) > 0.8  # subset accuracy: every label of a sample right


def test_multi_output_regression_loss_is_halved_mean_squared_error(small):
    X, y = small
    Y = targets("regression", y)
    est = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", alpha=0.01, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
    assert est.predict(X).shape == Y.shape
    half_mse = 0.5 * np.mean((est.predict(X) - Y) ** 2)
    penalty = 0.01 / (2 * len(X)) * sum(float(np.sum(W**2)) for W in est.coefs_)
    assert est.loss_ == pytest.approx(half_mse + penalty, rel=1e-9)


def test_pandas_dataframe_in(small):
    pd = pytest.importorskip("pandas")
    X, y = small
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    est = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(frame, pd.Series(y))
    assert list(est.feature_names_in_) == list(frame.columns) and est.n_features_in_ == 64
    with pytest.warns(UserWarning, match="valid feature names"):
        np.testing.assert_array_equal(est.predict(frame), est.predict(X))


def test_in_a_pipeline_with_clone_and_set_params(small):
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = small
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(solver="lbfgs", max_iter=50, random_state=0))
    pipeline.set_params(mlpclassifier__hidden_layer_sizes=(12,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = clone(pipeline).fit(X, y)
    assert fitted[-1].coefs_[0].shape == (64, 12) and fitted.score(X, y) > 0.9
    assert not hasattr(pipeline[-1], "coefs_")  # clone trained a copy


def test_convergence_warning_at_max_iter(small):
    X, y = small
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=2, random_state=0).fit(X, y)


def test_float32_data_trains_in_float32_unless_told(small):
    X, y = small
    X32 = X.astype(np.float32)
    kw = {"hidden_layer_sizes": (8,), "solver": "lbfgs", "max_iter": 5, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(**kw).fit(X32, y)
        assert est.net_.dtype == np.float32 and est.coefs_[0].dtype == np.float32
        assert est.predict_proba(X32).dtype == np.float32
        assert MLPClassifier(dtype="float64", **kw).fit(X32, y).net_.dtype == np.float64
        assert MLPClassifier(dtype="float32", **kw).fit(X, y).net_.dtype == np.float32


def test_fastmlp_activations_with_parameters(small):
    X, y = small
    est = MLPClassifier(hidden_layer_sizes=(8, 8), activation="maxout", max_iter=3, random_state=0,
                        activation_params={"a1": 1.0, "b1": 0.0, "a2": -0.5, "b2": 0.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert [a.name for a in est.net_.activations] == ["maxout", "maxout", "softmax"]
    assert est.net_.activations[0].params == (1.0, 0.0, -0.5, 0.0)
    with pytest.raises(TypeError, match="takes no parameter"):
        MLPClassifier(activation="elu", activation_params={"beta": 1}).fit(X, y)


def test_l1_zeroes_weights_and_dropout_repeats_from_random_state(small):
    X, y = small
    kw = {"hidden_layer_sizes": (16,), "solver": "sgd", "learning_rate_init": 0.1, "batch_size": 10, "max_iter": 5,
          "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPClassifier(**kw).fit(X, y)
        sparse = MLPClassifier(l1=0.5, **kw).fit(X, y)
        dropped = [MLPClassifier(dropout=0.3, **kw).fit(X, y) for _ in range(2)]
    assert (sparse.coefs_[0] == 0).sum() > (plain.coefs_[0] == 0).sum() + 100
    np.testing.assert_array_equal(dropped[0].coefs_[0], dropped[1].coefs_[0])
    assert not np.array_equal(dropped[0].coefs_[0], plain.coefs_[0])


def test_class_weight_is_a_sample_weight_per_class(small):
    X, y = small
    kw = {"hidden_layer_sizes": (8,), "solver": "lbfgs", "max_iter": 10, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        balanced = MLPClassifier(class_weight="balanced", **kw).fit(X, y)
        weighted = MLPClassifier(**kw).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    for a, b in zip(balanced.coefs_, weighted.coefs_):
        np.testing.assert_array_equal(a, b)


def test_partial_fit_needs_classes_and_refuses_new_ones(small):
    X, y = small
    est = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        est.partial_fit(X, y)
    est.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    assert list(est.classes_) == list(range(10)) and est.n_iter_ == 1
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        est.partial_fit(X, y + 1)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


@pytest.mark.parametrize("params, message", [
    ({"solver": "newton"}, "solver must be one of"),
    ({"activation": "softmax"}, "activation must be one of"),
    ({"alpha": -1.0}, "alpha must be a finite number >= 0"),
    ({"batch_size": 0}, "batch_size must be 'auto' or a positive integer"),
    ({"beta_2": 1.0}, r"beta_2 must lie in \[0, 1\)"),
    ({"solver": "lbfgs", "max_fun": 0}, "max_fun must be a positive integer"),
    ({"n_iter_no_change": 2.5}, r"n_iter_no_change must be a positive integer or np.inf"),
    ({"solver": "lbfgs", "dropout": 0.2}, "need solver='sgd' or 'adam'"),
    ({"dtype": "float16"}, "dtype must be"),
])
def test_bad_parameters_are_named(small, params, message):
    X, y = small
    with pytest.raises(ValueError, match=message):
        MLPClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="loss must be one of 'squared_error', 'poisson'"):
        MLPRegressor(loss="absolute_error").fit(X, y)


def test_n_threads_limits_blas_around_a_fit_from_the_main_thread_only(small, monkeypatch):
    """The limit is held for the whole fit in the main thread and lifted after; from
    another thread (where OpenBLAS ignores it) the fit changes nothing."""
    import fastmlp._sklearn.fit_loop as training
    from fastmlp._engine.threads import _kernel_blas

    def counts():
        return [lib.num_threads for lib in _kernel_blas()]

    seen, lbfgs = [], training.lbfgs
    monkeypatch.setattr(training, "lbfgs", lambda *args: (seen.append(counts()), lbfgs(*args)))
    X, y = small
    before = counts()
    with threadpool_limits(limits=2, user_api="blas"):  # a count the limit of 1 differs from
        outside = counts()
        est = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=2, n_threads=1, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
            assert seen[0] == [1] * len(outside) and counts() == outside
            worker = threading.Thread(target=est.fit, args=(X, y))
            worker.start()
            worker.join()
    assert len(seen) == 2 and seen[1] == outside and counts() == before


def test_divergence_keeps_the_last_finished_epoch(small):
    """A rate far too large makes SGD overflow: fit raises ValueError and leaves the
    weights and loss_curve_ of the epochs that finished; n_iter_ counts those of the
    failing call (none)."""
    X, y = small
    est = MLPRegressor(hidden_layer_sizes=(8,), activation="identity", solver="sgd", momentum=0.0, batch_size=32,
                       alpha=0.01, learning_rate_init=0.01, max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    finished = [W.copy() for W in est.coefs_ + est.intercepts_]
    est.set_params(learning_rate_init=1e3, max_iter=5)
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        est.fit(X * 30, y * 30.0)
    assert est.n_iter_ == 0 and len(est.loss_curve_) == 3
    for a, b in zip(est.coefs_ + est.intercepts_, finished):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(est.predict(X), est.net_.forward(X)[:, 0])
