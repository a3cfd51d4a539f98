"""MLPClassifier and MLPRegressor saved and loaded (fastmlp.io) and exported to ONNX."""
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.exceptions import NotFittedError

import fastmlp as fm
import fastmlp.io as fio
from fastmlp.estimators import MLPClassifier, MLPRegressor

RNG = np.random.default_rng(7)
X = RNG.normal(size=(60, 4))
SMALL = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
FITTED = ("classes_", "n_features_in_", "feature_names_in_", "n_outputs_", "n_layers_", "out_activation_", "loss_",
          "best_loss_", "loss_curve_", "validation_scores_", "validation_loss_curve_", "best_validation_score_",
          "n_iter_", "t_", "_loop")


def labels(kind):
    if kind == "integers":
        return (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)  # 0, 1, 2
    if kind == "strings":
        return np.where(X[:, 0] > 0, "yes", "no")
    if kind == "multilabel":
        return np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0]).astype(int)
    if kind == "one output":
        return X @ [1.0, -2.0, 0.5, 0.0]
    return np.column_stack([X @ [1.0, -2.0, 0.5, 0.0], X[:, 3] ** 2])


CASES = [(MLPClassifier, "integers", dict(solver="sgd", class_weight={0: 1.0, 1: 2.0, 2: 0.5}, dropout=(0.2,))),
         (MLPRegressor, "one output", dict(solver="lbfgs")), (MLPClassifier, "strings", dict(early_stopping=True)),
         (MLPClassifier, "multilabel", dict()), (MLPRegressor, "one output", dict(solver="sgd", momentum=0.5)),
         (MLPRegressor, "two outputs", dict())]


def fitted(cls, kind, **params):
    with pytest.warns(Warning):  # max_iter is too small to converge
        return cls(**SMALL, **params).fit(X, labels(kind))


def assert_same_fitted(a, b):
    for name in FITTED:
        assert hasattr(a, name) == hasattr(b, name), name
        if hasattr(a, name):
            x, y = getattr(a, name), getattr(b, name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y), name
            else:
                assert x == y, name
    for W, V in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert W.tobytes() == V.tobytes()
    assert a.get_params() == b.get_params()


@pytest.mark.parametrize("cls, kind, params", CASES)
def test_round_trip_predicts_and_trains_on_identically(cls, kind, params, tmp_path):
    est = fitted(cls, kind, **params)
    est.save(tmp_path / "est.npz")
    loaded = fm.load(tmp_path / "est.npz")
    assert type(loaded) is cls
    assert_same_fitted(est, loaded)
    assert np.array_equal(loaded.predict(X), est.predict(X))
    if cls is MLPClassifier:
        assert np.array_equal(loaded.predict_proba(X), est.predict_proba(X))
    y = labels(kind)
    if est.solver != "lbfgs" and not est.early_stopping:  # partial_fit refuses early_stopping=True
        for a in (est, loaded):
            a.partial_fit(X, y)
        assert_same_fitted(est, loaded)
    original, loaded = fitted(cls, kind, **params), fio.load(tmp_path / "est.npz")  # as est was when saved
    for a in (original, loaded):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert_same_fitted(original, loaded)


def test_feature_names_and_user_set_weights_are_kept(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with pytest.warns(Warning):
        est = MLPRegressor(**SMALL).fit(frame, labels("one output"))
    est.coefs_[0] = est.coefs_[0] * 2
    est.save(tmp_path / "est.npz")
    loaded = fm.load(tmp_path / "est.npz")
    assert loaded.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    assert np.array_equal(loaded.predict(frame), est.predict(frame))


def test_unfitted_and_unsaveable_estimators_are_refused(tmp_path):
    with pytest.raises(NotFittedError):
        MLPClassifier().save(tmp_path / "est.npz")
    est = fitted(MLPClassifier, "integers")
    est.set_params(random_state=np.random.RandomState(0))
    with pytest.raises(TypeError, match="random_state is a RandomState"):
        est.save(tmp_path / "est.npz")
    assert not (tmp_path / "est.npz").exists()


def rewrite(path, target, edit):
    """Copy the model file ``path`` to ``target`` with ``edit(header, arrays)`` applied."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays.pop("header").tobytes())
    edit(header, arrays)
    np.savez(target, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)


def _set(*keys, value):
    def edit(header, arrays):
        place = header["state"]
        for key in keys[:-1]:
            place = place[key]
        place[keys[-1]] = value
    return edit


TAMPERED = {
    "classes out of order": (lambda h, a: a.update(classes=a["classes"][::-1].copy()), "increasing order"),
    "too few classes": (lambda h, a: a.update(classes=a["classes"][:2].copy()), "2 labels for 3 outputs"),
    "object classes": (lambda h, a: a.update(classes=np.array([1, "a", None], dtype=object)), "dtype object"),
    "binary target": (_set("fitted", "target", value="binary"), "disagrees with out_activation_"),
    "short loss curve": (_set("fitted", "loss_curve_", value=[1.0, "x"]), "loss_curve_"),
    "unknown parameter": (_set("params", "colour", value="red"), "the parameters of a MLPClassifier"),
    "bad parameter": (_set("params", "solver", value="newton"), "solver must be one of"),
    "wrong n_features_in_": (_set("fitted", "n_features_in_", value=3), "layer sizes"),
    "wrong output": (_set("fitted", "out_activation_", value="identity"), "out_activation_"),
    "dropout rate": (_set("params", "dropout", value=[1.5]), "rates in [0, 1)"),
    "class_weight": (_set("params", "class_weight", value={"labels": [0], "weights": []}), "class_weight"),
    "activation_params": (_set("params", "activation_params", value={"nonsense": 1.0}), "nonsense"),
    "negative n_iter_": (_set("fitted", "n_iter_", value=-1), "n_iter_"),
    "feature names": (_set("fitted", "feature_names_in_", value=["a"]), "feature_names_in_"),
}


@pytest.mark.parametrize("name", TAMPERED)
def test_tampered_files_are_refused(name, tmp_path):
    est = fitted(MLPClassifier, "integers")
    est.save(tmp_path / "good.npz")
    edit, problem = TAMPERED[name]
    rewrite(tmp_path / "good.npz", tmp_path / "bad.npz", edit)
    with pytest.raises(ValueError, match="bad.npz") as caught:
        fm.load(tmp_path / "bad.npz")
    assert problem in str(caught.value)


def test_a_fresh_interpreter_loads_the_kind_and_without_scikit_learn_names_the_extra(tmp_path):
    est = fitted(MLPRegressor, "one output")
    est.save(tmp_path / "est.npz")
    code = "import sys, fastmlp; print(type(fastmlp.load(sys.argv[1])).__name__)"
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "est.npz")], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout  # cwd: import the package under test, not the sources
    assert out.strip() == "MLPRegressor"
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import fastmlp\n"
            "try:\n    fastmlp.load(sys.argv[1])\nexcept ValueError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "est.npz")], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout  # cwd: import the package under test, not the sources
    assert "unknown kind of model 'MLPRegressor'" in out and "pip install 'fastmlp[sklearn]'" in out


# -- ONNX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, kind, params", CASES + [(MLPClassifier, "binary", dict())])
def test_onnx_graph_gives_the_probabilities_or_outputs(cls, kind, params, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    y = (X[:, 0] > 0).astype(int) if kind == "binary" else labels(kind)
    with pytest.warns(Warning):
        est = cls(**SMALL, **params).fit(X, y)
    est.intercepts_[-1] = est.intercepts_[-1] + 0.25  # the export follows weights the user set
    model = est.to_onnx(tmp_path / "est.onnx")
    assert model.graph.output[0].name == "h"
    session = ort.InferenceSession(str(tmp_path / "est.onnx"), providers=["CPUExecutionProvider"])
    (h,) = session.run(None, {"x": X})
    if cls is MLPRegressor:
        expected = est.predict(X).reshape(len(X), -1)
    elif est.n_outputs_ == 1:  # binary: one sigmoid column
        assert h.shape == (len(X), 1)
        expected = est.predict_proba(X)[:, 1:]
    else:
        expected = est.predict_proba(X)
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-14)
    with pytest.raises(NotFittedError):
        cls().to_onnx()


# -- the state the files keep ---------------------------------------------------------------------


@pytest.mark.parametrize("cls, kind, params", CASES)
def test_from_state_of_to_state_is_the_same_estimator_and_the_state_is_a_snapshot(cls, kind, params):
    est = fitted(cls, kind, **params)
    state = est.to_state()
    state["net"].set_weights([np.zeros_like(W) for W in state["net"].weights])
    state["fitted"]["loss_curve_"].append(0.0)
    assert est.net_.params.any() and est.loss_curve_[-1] != 0.0  # the estimator kept its own
    again = cls.from_state(est.to_state())
    assert_same_fitted(est, again)
    assert np.array_equal(again.predict(X), est.predict(X))


def test_to_state_carries_the_weights_the_user_set():
    est = fitted(MLPRegressor, "one output")
    est.intercepts_[-1] = est.intercepts_[-1] + 1.0
    assert np.array_equal(est.to_state()["net"].weights[-1][0], est.intercepts_[-1])


def _edit_state(state, key, value):
    state["fitted" if key in state["fitted"] or key == "surprise" else "params"][key] = value


@pytest.mark.parametrize("key, value, problem", [
    ("n_outputs_", 2, "layer sizes"),
    ("target", "multilabel-indicator", "disagrees with out_activation_"),
    ("out_activation_", "identity", "is not one a MLPClassifier"),
    ("classes_", np.array([2, 1, 0]), "increasing order"),
    ("surprise", 1, "the fitted state must have the fields"),
    ("solver", "newton", "solver must be one of"),
])
def test_from_state_refuses_values_that_disagree(key, value, problem):
    state = fitted(MLPClassifier, "integers").to_state()
    _edit_state(state, key, value)
    with pytest.raises(ValueError, match=problem):
        MLPClassifier.from_state(state)


def test_from_state_refuses_a_net_that_is_not_a_network_and_to_state_an_unfitted_estimator():
    state = fitted(MLPRegressor, "one output").to_state()
    state["net"] = state["net"].weights
    with pytest.raises(TypeError, match="fastmlp.MLP"):
        MLPRegressor.from_state(state)
    with pytest.raises(NotFittedError):
        MLPRegressor().to_state()
