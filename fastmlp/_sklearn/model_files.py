"""MLPClassifier and MLPRegressor in model files (fastmlp.io): their parameters, their
fitted attributes, the state that lets warm_start and partial_fit go on exactly as they
would have, and the network (through mlp_state / mlp_from_state), every field checked.

The header's state holds "params" (get_params: JSON values only; a random_state must be
None or an int), "fitted" (the fitted attributes and the continuation state: the current
learning rate, the count of epochs without improvement, the label binarizer's kind) and
"net". Arrays: the network's, and "classes" for a classifier (numbers or text).

Kept as JSON, hence loaded back as JSON gives them: hidden_layer_sizes and dropout
sequences come back as tuples, numpy dtypes as their names ("float32"), text class labels
of an object array as a numpy text array.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import check_is_fitted

from .fit_loop import State
from .._model_files import mlp_from_state, mlp_state
from ..io import MAX_PARAMETERS, Archive, exact_keys, field, integer, number, register

# The binarizer's kind of target -> the output unit it trains.
TARGETS = {"binary": "logistic", "multilabel-indicator": "logistic", "multiclass": "softmax"}
_FLAGS = ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping")


# -- saving -------------------------------------------------------------------------------------


def estimator_state(est):
    """(fields, arrays) that rebuild the fitted estimator ``est``."""
    check_is_fitted(est)
    net = est._network()  # the weights of coefs_ and intercepts_, should the user have set them
    net_fields, arrays = mlp_state(net)
    fitted = {
        "n_features_in_": int(est.n_features_in_),
        "feature_names_in_": None if not hasattr(est, "feature_names_in_") else [str(f) for f in est.feature_names_in_],
        "n_outputs_": int(est.n_outputs_),
        "out_activation_": est.out_activation_,
        "loss_": _encode(getattr(est, "loss_", None)),
        "best_loss_": _encode(est.best_loss_),
        "loss_curve_": [_encode(v) for v in est.loss_curve_],
        "validation_scores_": _encode_list(est.validation_scores_),
        "validation_loss_curve_": _encode_list(est.validation_loss_curve_),
        "best_validation_score_": _encode(est.best_validation_score_),
        "n_iter_": int(est.n_iter_),
        "t_": int(est.t_),
        "learning_rate": _encode(est._loop.learning_rate),
        "no_improvement_count": int(est._loop.no_improvement_count),
        "target": est._binarizer.y_type_ if est._is_classifier else None,
    }
    if est._is_classifier:
        arrays["classes"] = _classes_array(est.classes_)
    return {"params": _parameters(est), "fitted": fitted, "net": net_fields}, arrays


def _parameters(est) -> dict:
    params = {}
    for name, value in est.get_params(deep=False).items():
        if name == "random_state" and value is not None and not isinstance(value, numbers.Integral):
            raise TypeError(f"random_state is a {type(value).__name__}; an estimator is saved with random_state "
                            "None or an int only (set_params(random_state=...) before saving)")
        if name == "dtype" and value is not None:
            value = np.dtype(value).name
        if name == "class_weight" and isinstance(value, dict):
            value = {"labels": [_plain(k) for k in value], "weights": [_plain(v) for v in value.values()]}
        params[name] = _plain(value)
    return params


def _plain(value):
    """``value`` as JSON values (numpy scalars as Python's, tuples as lists)."""
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _encode(value):
    """A float for JSON: +-inf as the strings "inf" and "-inf" (JSON has no infinity)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def _encode_list(values):
    return None if values is None else [_encode(v) for v in values]


def _classes_array(classes):
    classes = np.asarray(classes)
    if classes.dtype.kind == "O":
        if not all(isinstance(c, str) for c in classes):
            raise TypeError("classes_ holds objects other than text; a model file keeps number or text labels only")
        classes = classes.astype(str)
    return classes


# -- loading ------------------------------------------------------------------------------------


def register_estimator(cls, outputs: dict) -> None:
    """Register the estimator class ``cls`` with fastmlp.io under its own name; ``outputs``
    maps each out_activation_ to the network's (output theta, loss)."""

    def from_state(fields: dict, archive: Archive):
        exact_keys(fields, ("params", "fitted", "net"), f"a {cls.__name__}")
        est = cls(**_checked_parameters(cls, field(fields, "params", dict)))
        net = mlp_from_state(field(fields, "net", dict), archive)
        _restore_fitted(est, net, field(fields, "fitted", dict), outputs, archive)
        return est

    register(cls.__name__, cls, estimator_state, from_state)


def _checked_parameters(cls, params: dict) -> dict:
    exact_keys(params, cls().get_params(deep=False), f"the parameters of a {cls.__name__}")
    params = dict(params)
    for key in ("hidden_layer_sizes", "dropout"):
        if isinstance(params[key], list):
            params[key] = tuple(params[key])
    for key in _FLAGS:
        field(params, key, bool)
    if not isinstance(params["verbose"], (bool, int)):
        raise ValueError(f"the parameter 'verbose' must be a bool or int, got {params['verbose']!r:.80}")
    for key in ("random_state", "n_threads"):
        if params[key] is not None:
            integer(params, key, 0 if key == "random_state" else 1, 2**32 - 1)
    dropout = params["dropout"]
    rates = list(dropout) if isinstance(dropout, tuple) else [] if dropout is None else [dropout]
    for rate in [params["update_dropout"], *rates]:
        if not 0 <= number({"rate": rate}, "rate") < 1:
            raise ValueError(f"the parameters 'dropout' and 'update_dropout' must be rates in [0, 1), got {rate!r:.80}")
    activation_params = params["activation_params"]
    if activation_params is not None:
        if not isinstance(activation_params, dict):
            raise ValueError(f"the parameter 'activation_params' must be a dict, got {activation_params!r:.80}")
        for key in activation_params:
            number(activation_params, key)
    if cls._is_classifier:
        params["class_weight"] = _class_weight(params["class_weight"])
    est = cls(**params)
    est._check_params()  # ValueError naming any parameter out of range
    est._theta()  # ValueError or TypeError for activation_params the activation does not take
    return params


def _class_weight(value):
    if value is None or value == "balanced":
        return value
    if not isinstance(value, dict):
        raise ValueError(f"the parameter 'class_weight' must be None, 'balanced' or a dict, got {value!r:.80}")
    exact_keys(value, ("labels", "weights"), "the parameter 'class_weight'")
    labels, weights = field(value, "labels", list), field(value, "weights", list)
    if len(labels) != len(weights) or not all(isinstance(k, (str, int, float)) for k in labels):
        raise ValueError("the parameter 'class_weight' must pair each label (a number or text) with one weight")
    return {k: number({"weight": w}, "weight") for k, w in zip(labels, weights)}


def _restore_fitted(est, net, fitted: dict, outputs: dict, archive: Archive) -> None:
    exact_keys(fitted, ("n_features_in_", "feature_names_in_", "n_outputs_", "out_activation_", "loss_", "best_loss_",
                        "loss_curve_", "validation_scores_", "validation_loss_curve_", "best_validation_score_",
                        "n_iter_", "t_", "learning_rate", "no_improvement_count", "target"), "the fitted state")
    d_in = integer(fitted, "n_features_in_", 1, MAX_PARAMETERS)
    d_out = integer(fitted, "n_outputs_", 1, MAX_PARAMETERS)
    hidden = est._check_params()
    if list(net.sizes) != [d_in, *hidden, d_out]:
        raise ValueError(f"the network's layer sizes {list(net.sizes)} disagree with n_features_in_, "
                         f"hidden_layer_sizes and n_outputs_ ({[d_in, *hidden, d_out]})")
    out = field(fitted, "out_activation_", str)
    if out not in outputs or (est._is_classifier != (out != "identity")):
        raise ValueError(f"the fitted 'out_activation_' {out!r:.80} is not one a {type(est).__name__} trains")
    if (net.activations[-1].name, net.loss.name) != outputs[out]:
        raise ValueError(f"the network's output {net.activations[-1].name} with loss {net.loss.name} disagrees "
                         f"with out_activation_ {out!r}")
    names = field(fitted, "feature_names_in_")
    if names is not None:
        if not isinstance(names, list) or len(names) != d_in or not all(isinstance(n, str) for n in names):
            raise ValueError(f"the fitted 'feature_names_in_' must be None or {d_in} strings")
        est.feature_names_in_ = np.asarray(names, dtype=object)
    if est._is_classifier:
        _restore_classes(est, fitted, d_out, out, archive)
    elif fitted["target"] is not None:
        raise ValueError("the fitted 'target' of a regressor must be null")
    curve = _floats(fitted, "loss_curve_")
    n_iter = integer(fitted, "n_iter_")
    est.net_, est.n_features_in_, est.n_outputs_, est.n_layers_ = net, d_in, d_out, len(net.sizes)
    est.out_activation_ = out
    est.loss_curve_, est.n_iter_, est.t_ = curve, n_iter, integer(fitted, "t_")
    for key in ("loss_", "best_loss_", "best_validation_score_"):
        value = _float(fitted, key)
        if value is not None or key != "loss_":
            setattr(est, key, value)
    est.validation_scores_ = _floats(fitted, "validation_scores_", optional=True)
    est.validation_loss_curve_ = _floats(fitted, "validation_loss_curve_", optional=True)
    est._loop = State(_float(fitted, "learning_rate"), integer(fitted, "no_improvement_count"))
    est._export()


def _restore_classes(est, fitted, d_out, out, archive) -> None:
    target = field(fitted, "target", str)
    if target not in TARGETS or TARGETS[target] != out:
        raise ValueError(f"the fitted 'target' {target!r:.80} disagrees with out_activation_ {out!r}")
    classes = archive.array("classes", None, None, limit=max(d_out, 2), kinds="biufU")
    if target == "binary" and (d_out != 1 or len(classes) not in (1, 2)):
        raise ValueError(f"a binary classifier has one output and one or two classes, not {d_out} and "
                         f"{len(classes)}")
    if target != "binary" and len(classes) != d_out:
        raise ValueError(f"the array 'classes' holds {len(classes)} labels for {d_out} outputs")
    if not (classes[:-1] < classes[1:]).all():
        raise ValueError(f"the array 'classes' must hold distinct labels in increasing order, got {classes!r:.80}")
    if target == "multilabel-indicator":
        count = len(classes)
        if classes.dtype.kind not in "iu" or not np.array_equal(classes, np.arange(count)) or count < 2:
            raise ValueError(f"a multilabel classifier's classes are 0 .. n_outputs_-1, got {classes!r:.80}")
        est._binarizer = LabelBinarizer().fit(np.eye(count, dtype=int))
    else:
        est._binarizer = LabelBinarizer().fit(classes)
    if est._binarizer.y_type_ != target:
        raise ValueError(f"the array 'classes' ({len(classes)} labels) makes a {est._binarizer.y_type_} target, "
                         f"not {target}")
    est.classes_ = est._binarizer.classes_


def _float(fields, key):
    value = fields[key]
    if value is None or value in ("inf", "-inf"):
        return None if value is None else float(value)
    return float(number(fields, key))


def _floats(fields, key, optional=False):
    values = field(fields, key)
    if values is None and optional:
        return None
    if not isinstance(values, list):
        raise ValueError(f"the fitted {key!r} must be a list of numbers, got {values!r:.80}")
    if None in values:
        raise ValueError(f"the fitted {key!r} must be a list of numbers, got {values!r:.80}")
    return [_float({key: v}, key) for v in values]

