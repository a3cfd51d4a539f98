"""MLPClassifier and MLPRegressor in model files (fastmlp.io): their parameters, their
fitted attributes, the state that lets warm_start and partial_fit go on exactly as they
would have, and the network (through mlp_state / mlp_from_state), every field checked.
What is kept is the estimator's ``to_state()``, written as JSON and arrays; loading reads
each field back as its JSON type and hands them to the class's ``from_state``, which checks
how they agree with the parameters and with each other.

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

from .._model_files import mlp_from_state, mlp_state
from ..io import LABEL_KINDS, MAX_PARAMETERS, Archive, exact_keys, field, integer, number, register

_FLAGS = ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping")


# -- saving -------------------------------------------------------------------------------------


def estimator_state(est):
    """(fields, arrays) that rebuild the fitted estimator ``est`` (from its ``to_state``)."""
    state = est.to_state()
    net_fields, arrays = mlp_state(state["net"])
    fitted = dict(state["fitted"])
    if "classes_" in fitted:
        arrays["classes"] = _classes_array(fitted.pop("classes_"))
    names = fitted["feature_names_in_"]
    fitted.update({key: _encode(fitted[key]) for key in ("loss_", "best_loss_", "best_validation_score_",
                                                         "learning_rate")},
                  feature_names_in_=None if names is None else [str(f) for f in names],
                  loss_curve_=_encode_list(fitted["loss_curve_"]),
                  validation_scores_=_encode_list(fitted["validation_scores_"]),
                  validation_loss_curve_=_encode_list(fitted["validation_loss_curve_"]))
    for key in ("n_features_in_", "n_outputs_", "n_iter_", "t_", "no_improvement_count"):
        fitted[key] = int(fitted[key])
    return {"params": _parameters(state["params"]), "fitted": fitted, "net": net_fields}, arrays


def _parameters(given: dict) -> dict:
    params = {}
    for name, value in given.items():
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
    """``value`` as JSON values (numpy scalars as Python's, tuples as lists, an infinite
    float as the string "inf" or "-inf", since JSON has no infinity)."""
    if isinstance(value, (np.generic,)):
        return _plain(value.item())
    if isinstance(value, float) and math.isinf(value):
        return _encode(value)
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
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


def register_estimator(cls) -> None:
    """Register the estimator class ``cls`` with fastmlp.io under its own name: saved
    through its ``to_state``, loaded through its ``from_state``."""

    def from_state(fields: dict, archive: Archive):
        exact_keys(fields, ("params", "fitted", "net"), f"a {cls.__name__}")
        params = _checked_parameters(cls, field(fields, "params", dict))
        net = mlp_from_state(field(fields, "net", dict), archive)
        fitted = _fitted(field(fields, "fitted", dict), "class_weight" in params, archive)
        return cls.from_state({"params": params, "net": net, "fitted": fitted})

    register(cls.__name__, cls, estimator_state, from_state)


def _checked_parameters(cls, params: dict) -> dict:
    defaults = cls().get_params(deep=False)
    exact_keys(params, defaults, f"the parameters of a {cls.__name__}")
    params = dict(params)
    for key, default in defaults.items():  # a number's infinity, kept as text (see _plain)
        if isinstance(default, (int, float)) and not isinstance(default, bool) and params[key] in ("inf", "-inf"):
            params[key] = float(params[key])
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
    if "class_weight" in params:  # a classifier's
        params["class_weight"] = _class_weight(params["class_weight"])
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


def _fitted(fitted: dict, classifier: bool, archive: Archive) -> dict:
    """The header's fitted state as the estimator's ``from_state`` takes it: each field of
    its JSON type, and a classifier's classes_ from the archive. from_state checks that the
    fields are those it keeps, and how they agree."""
    fitted = dict(fitted)
    names = field(fitted, "feature_names_in_")
    if names is not None and not isinstance(names, list):
        raise ValueError(f"the fitted 'feature_names_in_' must be None or a list of strings, got {names!r:.80}")
    d_out = fitted["n_outputs_"] = integer(fitted, "n_outputs_", 1, MAX_PARAMETERS)
    fitted["n_features_in_"] = integer(fitted, "n_features_in_", 1, MAX_PARAMETERS)
    field(fitted, "out_activation_", str)
    for key in ("n_iter_", "t_", "no_improvement_count"):
        integer(fitted, key)
    for key in ("loss_", "best_loss_", "best_validation_score_", "learning_rate"):
        fitted[key] = _float(fitted, key)
    fitted["loss_curve_"] = _floats(fitted, "loss_curve_")
    for key in ("validation_scores_", "validation_loss_curve_"):
        fitted[key] = _floats(fitted, key, optional=True)
    if classifier:
        field(fitted, "target", str)
        fitted["classes_"] = archive.array("classes", None, None, limit=max(d_out, 2), kinds=LABEL_KINDS)
    return fitted


def _float(fields, key):
    value = field(fields, key)
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

