"""scikit-learn's MLPClassifier and MLPRegressor, trained by fastmlp.

Changing ``from sklearn.neural_network import MLPClassifier`` to
``from fastmlp.estimators import MLPClassifier`` keeps scripts, pipelines and grid searches
working: the parameters, their defaults and meanings, the methods and the fitted
attributes are scikit-learn's, and so are the initial weights, the order of the samples
and the stopping rules. The network underneath is a ``fastmlp.MLP`` (``net_``).

How scikit-learn's terms map onto the lecture's network:

- sizes = [n_features, *hidden_layer_sizes, n_outputs]; "logistic" is the sigmoid. The
  output layer is softmax with cross_entropy for several classes, one sigmoid with
  binary_cross_entropy per label for two classes and for multilabel targets, identity
  with the l2 loss for regression.
- ``coefs_[l]`` is W^(l+1)[1:] and ``intercepts_[l]`` is W^(l+1)[0] (the bias row).
- ``alpha`` is the L2 strength on the summed loss: scikit-learn adds
  alpha / (2 n_b) * sum W^2 to the mean loss of each batch of n_b samples, so each step
  decays the weights by l2 = alpha / n_b (the last, partial batch of an epoch with its own
  n_b), and L-BFGS uses l2 = alpha / n. ``l1`` is the same for sum |W|.
- "squared_error": the gradient is that of the lecture's l2 loss, 1/2 sum over the outputs
  of (h - y)^2, but ``loss_`` is the mean over samples *and* outputs, fastmlp's loss divided
  by n_outputs.
- ``sample_weight`` c_i: scikit-learn divides each batch's weighted gradient (and alpha) by
  the batch's total weight, fastmlp by its size; the weights are rescaled to average 1, so
  the two agree exactly for full batches and L-BFGS, and for minibatches whose mean weight
  is the overall mean.
- "invscaling" sets the rate after each epoch to learning_rate_init / (t_ + 1)^power_t with
  t_ the number of samples seen; "adaptive" divides it by 5 each time n_iter_no_change
  epochs in a row fail to improve by tol, and stops below 1e-6. Adam ignores learning_rate
  and uses fastmlp's Adam, whose bias-corrected step is scikit-learn's.

Where the two still differ: L-BFGS stops on scipy's own gradient tolerance (1e-5) rather
than on ``tol``, and with scipy's limit of 15000 loss evaluations (``max_fun`` must stay at
that default); for multi-output regression L-BFGS minimises the loss its gradient belongs
to (scikit-learn's loss value is n_outputs times smaller than its gradient's); the penalty
inside ``loss_curve_`` is interpolated between those of the weights before and after each
epoch rather than summed over the weights before each batch (the weights themselves agree
to rounding); losses are computed without clipping the probabilities. L-BFGS also records
``loss_curve_`` (one value per iteration) and ``best_loss_``, which scikit-learn leaves unset.
"""
from __future__ import annotations

import numbers

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.class_weight import compute_sample_weight
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import type_of_target, unique_labels
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("fastmlp.estimators needs scikit-learn: pip install 'fastmlp[sklearn]'") from exc

from ._engine.threads import blas_threads
from ._sklearn import fit_loop, model_files
from .activations import KINDS, activation as make_activation
from .network import MLP

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6
    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)

# scikit-learn's activation names -> fastmlp's: every trainable hidden theta of the registry,
# sigmoid under scikit-learn's name (leaky_relu, elu and maxout are fastmlp's own).
ACTIVATIONS = {{"sigmoid": "logistic"}.get(name, name): name for name, kind in KINDS.items()
               if kind.hidden and kind.trainable}
SOLVERS = ("sgd", "adam", "lbfgs")
SCHEDULES = ("constant", "invscaling", "adaptive")
# out_activation_ -> (fastmlp output theta, loss)
OUTPUTS = {"softmax": ("softmax", "cross_entropy"), "logistic": ("sigmoid", "binary_cross_entropy"),
           "identity": ("identity", "l2")}
SCIPY_MAX_FUN = 15000


def _stochastic(est) -> bool:
    """partial_fit exists for the stochastic solvers only (as in scikit-learn)."""
    if est.solver == "lbfgs":
        raise AttributeError("partial_fit is only available for stochastic optimizers; solver='lbfgs' is not")
    return True


class _MLPEstimator(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: checks, network, training, prediction."""

    _is_classifier = False

    # -- checks ----------------------------------------------------------------------------

    def _check_params(self):
        hidden = self.hidden_layer_sizes
        hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        for d in hidden:
            if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) or d < 1:
                raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        for name, options in (("activation", ACTIVATIONS), ("solver", SOLVERS), ("learning_rate", SCHEDULES)):
            if getattr(self, name) not in options:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {getattr(self, name)!r}")
        for name in ("alpha", "l1", "tol"):
            _number(self, name, lowest=0.0)
        for name in ("learning_rate_init", "epsilon"):
            if _number(self, name, lowest=0.0) == 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        _number(self, "power_t", lowest=0.0)
        for name in ("max_iter", "n_iter_no_change", "max_fun"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("momentum", "beta_1", "beta_2"):
            if not 0 <= _number(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)!r}")
        if not 0 < _number(self, "validation_fraction") < 1:
            raise ValueError(f"validation_fraction must lie strictly between 0 and 1, got {self.validation_fraction!r}")
        if self.batch_size != "auto" and (isinstance(self.batch_size, (bool, np.bool_))
                                          or not isinstance(self.batch_size, numbers.Integral) or self.batch_size < 1):
            raise ValueError(f"batch_size must be 'auto' or a positive integer, got {self.batch_size!r}")
        if self.solver == "lbfgs":
            if self.max_fun != SCIPY_MAX_FUN:
                raise ValueError(f"max_fun={self.max_fun!r}: fastmlp's L-BFGS keeps scipy's limit of "
                                 f"{SCIPY_MAX_FUN} loss evaluations; limit the iterations with max_iter")
            if self.l1 > 0 or self.dropout is not None or self.update_dropout:
                raise ValueError("l1, dropout and update_dropout need solver='sgd' or 'adam', not 'lbfgs'")
        if self.dtype not in (None, "float32", "float64", np.float32, np.float64):
            raise ValueError(f"dtype must be None (follow X), 'float32' or 'float64', got {self.dtype!r}")
        return hidden

    def _data_dtype(self):
        if hasattr(self, "net_") and (self.warm_start or self._incremental):
            return self.net_.dtype
        return (np.float64, np.float32) if self.dtype is None else np.dtype(self.dtype)

    # -- the network -----------------------------------------------------------------------

    def _build(self, X, Y, hidden, random_state):
        """A fresh network with scikit-learn's initial weights drawn from ``random_state``,
        and fresh fitted attributes."""
        theta = self._theta()
        output, loss = OUTPUTS[self._out_activation(Y)]
        sizes = [X.shape[1], *hidden, Y.shape[1]]
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else None
        self.net_ = MLP(sizes, activation=theta, output=output, loss=loss, dtype=X.dtype, seed=seed,
                        n_threads=self.n_threads, init="zeros")
        self.net_.set_weights(fit_loop.initial_weights(random_state, sizes, self.activation, X.dtype))
        self.out_activation_ = self._out_activation(Y)
        self.n_outputs_, self.n_layers_ = Y.shape[1], len(sizes)
        self.n_iter_, self.t_, self.loss_curve_ = 0, 0, []
        self._loop = fit_loop.State()
        if self.early_stopping and self.solver != "lbfgs":
            self.validation_scores_, self.validation_loss_curve_ = [], []
            self.best_validation_score_, self.best_loss_ = -np.inf, None
        else:
            self.validation_scores_ = self.validation_loss_curve_ = self.best_validation_score_ = None
            self.best_loss_ = np.inf
        self._export()

    def _theta(self):
        """The hidden layers' activation theta that ``activation`` and ``activation_params`` name."""
        return make_activation(ACTIVATIONS[self.activation], **(self.activation_params or {}))

    def _network(self, training=False):
        """The fitted network, with the weights of coefs_ and intercepts_ (which the user
        may have set). For a read (predict, score, save) the network is never written: if
        coefs_ differ from its weights (set by the user, or a fit in another thread has
        moved on since it exported them), a copy carries them. For ``training``, they are
        copied in, into a copy of the network if unpickling left its buffer read-only."""
        net = self.net_
        if len(self.coefs_) != net.L or len(self.intercepts_) != net.L:
            raise ValueError(f"coefs_ and intercepts_ must hold {net.L} arrays each, one per layer")
        weights = [np.vstack([np.reshape(b, (1, -1)), W]) for W, b in zip(self.coefs_, self.intercepts_)]
        if not all(w.shape == W.shape and np.array_equal(w, W) for w, W in zip(weights, net.weights)):
            if not training:
                net = net.copy()
            elif not net.params.flags.writeable:
                net = self.net_ = net.copy()
            net.set_weights(weights)
        if training:
            net.n_threads = None  # the limit is held around whole calls (fastmlp._engine.threads)
        return net

    def _follow_activation(self):
        """warm_start and partial_fit go on from the weights under the hidden activation that
        ``activation`` and ``activation_params`` name now, as scikit-learn's do."""
        net, theta = self.net_, self._theta()
        if all(a == theta for a in net.activations[:-1]):
            return
        output, loss = OUTPUTS[self.out_activation_]
        new = MLP(net.sizes, activation=theta, output=output, loss=loss, dtype=net.dtype, init="zeros")
        new.set_weights(net.weights)
        new.rng, new.optimizer = net.rng, net.optimizer
        self.net_ = new

    def _export(self):
        self.coefs_ = [W[1:].copy() for W in self.net_.weights]
        self.intercepts_ = [W[0].copy() for W in self.net_.weights]

    # -- training --------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental):
        hidden = self._check_params()
        self._incremental = incremental
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y, Y = self._validate_input(X, y, incremental, first_pass)
        weight = self._sample_weight(sample_weight, y, len(X))
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._build(X, Y, hidden, random_state)
        elif tuple(self.net_.sizes) != (X.shape[1], *hidden, Y.shape[1]):
            raise ValueError(f"warm_start and partial_fit continue a network of layer sizes {list(self.net_.sizes)}; "
                             f"hidden_layer_sizes and the data give {[X.shape[1], *hidden, Y.shape[1]]}")
        else:
            self._follow_activation()
        net = self._network(training=True)
        data = fit_loop.Data(X, Y, y, weight)
        try:
            with blas_threads(self.n_threads):
                if self.solver == "lbfgs":
                    fit_loop.lbfgs(self, net, data)
                else:
                    fit_loop.stochastic(self, self._loop, net, data, incremental, random_state, self._score_outputs)
        finally:  # after a divergence too: the weights of the last finished epoch, as n_iter_ counts them
            self._export()
        return self

    def fit(self, X, y, sample_weight=None):
        """Train on X (n_samples, n_features) and targets y; sample_weight weighs each
        sample's loss. Starts from fresh weights unless warm_start."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _sample_weight(self, sample_weight, y, n):
        weight = None
        if sample_weight is not None:
            weight = np.asarray(sample_weight, dtype=np.float64)
            if weight.ndim == 0:
                weight = np.full(n, float(weight))
            if weight.shape != (n,):
                raise ValueError(f"sample_weight has shape {weight.shape}; expected ({n},), one weight per sample")
            if not np.isfinite(weight).all() or (weight < 0).any():
                raise ValueError("sample_weight must be finite and >= 0")
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            if y.ndim == 2:
                raise ValueError("class_weight takes single-label targets; weigh multilabel samples with "
                                 "sample_weight")
            by_class = compute_sample_weight(class_weight, y)
            weight = by_class if weight is None else weight * by_class
        if weight is not None and not weight.any():
            raise ValueError("every sample weight is zero: there is nothing to learn from")
        return weight

    # -- prediction ------------------------------------------------------------------------

    def _outputs(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=False, dtype=self.net_.dtype, reset=False)
        net = self._network()
        with blas_threads(self.n_threads):
            return net.forward(X)

    # -- keeping and deploying ---------------------------------------------------------------

    def save(self, path, *, metadata=None) -> None:
        """Write the fitted estimator (parameters, fitted attributes, network and the state
        warm_start and partial_fit go on from) to ``path`` atomically; ``fastmlp.load(path)``
        gives it back. See fastmlp.io.save; NotFittedError before fit."""
        from .io import save

        save(self, path, metadata=metadata)

    def to_onnx(self, path=None):
        """The ONNX model of the fitted network's forward pass (fastmlp.onnx.to_model), also
        written to ``path`` if one is given; needs the onnx extra: pip install 'fastmlp[onnx]'.

        The graph's output "h" is the network's output layer, not predict's labels: for a
        classifier with several classes the softmax rows, which equal predict_proba; for a
        binary or multilabel classifier the sigmoid of each output, i.e. for binary one column
        equal to predict_proba[:, 1] (predict_proba adds the column 1 - h); for a regressor
        the raw outputs, shape (N, n_outputs_) even for one output."""
        from . import onnx

        check_is_fitted(self)
        net = self._network()
        return onnx.to_model(net) if path is None else onnx.export(net, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"multilabel": self._is_classifier, "multioutput": True}


class MLPClassifier(ClassifierMixin, _MLPEstimator):
    """scikit-learn's MLPClassifier on fastmlp's kernels (see the module note for the
    mapping).

    scikit-learn's parameters keep their names, defaults and meanings: hidden_layer_sizes,
    activation ("identity", "logistic", "tanh", "relu", and fastmlp's "leaky_relu", "elu",
    "maxout" with ``activation_params``, e.g. {"alpha": 0.1} or {"a1": 1, "b1": 0, "a2": -1,
    "b2": 0}), solver ("sgd", "adam", "lbfgs"), alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start,
    momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2,
    epsilon, n_iter_no_change, max_fun.

    fastmlp's own: l1 (the L1 strength on the summed loss, like alpha), dropout (the rate,
    or one per hidden layer, at which hidden units are left out in each step),
    update_dropout (the share of weights each step leaves unchanged), class_weight
    ("balanced" or {label: weight}), dtype (None: float32 data trains in float32, anything
    else in float64; or "float32" / "float64"), n_threads (BLAS threads of the minibatch
    products and predictions, None: BLAS's default; applied in the main thread only, see
    fastmlp._engine.threads; with batch_size=1, the threads that split each hidden
    layer's units, as MLP's n_threads).

    Fitted: classes_, coefs_, intercepts_, loss_, best_loss_, loss_curve_,
    validation_scores_, best_validation_score_, validation_loss_curve_ (the held-out mean
    loss after each epoch, with early_stopping), n_iter_, t_, n_features_in_,
    feature_names_in_, n_layers_, n_outputs_, out_activation_, and net_ (the fastmlp.MLP).
    """

    _is_classifier = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, activation_params=None, l1=0.0, dropout=None,
                 update_dropout=0.0, class_weight=None, dtype=None, n_threads=None):
        _keep_parameters(self, locals())

    def _validate_input(self, X, y, incremental, first_pass):
        """(X, the labels y, their target rows Y), checking the labels against classes_
        when training continues."""
        X, y = validate_data(self, X, y, accept_sparse=False, dtype=self._data_dtype(), multi_output=True,
                             reset=first_pass)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if first_pass:
            if not incremental:
                self._binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._binarizer.classes_
        elif not incremental:
            if not np.array_equal(np.sort(unique_labels(y)), np.sort(self.classes_)):
                raise ValueError(f"warm_start can only be used where y has the same classes as in the previous "
                                 f"call to fit. Previously got {self.classes_}, y has {unique_labels(y)}")
        elif np.setdiff1d(unique_labels(y), self.classes_).size:
            raise ValueError(f"y has classes not in classes_ {list(self.classes_)}: "
                             f"{list(np.setdiff1d(unique_labels(y), self.classes_))}")
        return X, y, np.ascontiguousarray(self._binarizer.transform(y), dtype=X.dtype)

    def _out_activation(self, Y):
        return "softmax" if self._binarizer.y_type_ == "multiclass" else "logistic"

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of SGD or Adam over X, y from the current weights. The first call
        needs ``classes`` (all labels that will ever appear), unless y is multilabel."""
        if not hasattr(self, "classes_"):
            if classes is None and not type_of_target(y).startswith("multilabel"):
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._binarizer = LabelBinarizer().fit(y if classes is None else classes)
        elif classes is not None and not np.array_equal(np.sort(np.asarray(classes)), np.sort(self.classes_)):
            raise ValueError(f"classes={classes!r} is not the same as on the first call to partial_fit, "
                             f"{list(self.classes_)}")
        return self._fit(X, y, sample_weight, incremental=True)

    def _decide(self, H):
        return self._binarizer.inverse_transform(H[:, 0] if self.n_outputs_ == 1 else H)

    def _score_outputs(self, H, y, weight):
        return float(accuracy_score(y, self._decide(H), sample_weight=weight))

    def predict(self, X):
        """The predicted label of each sample (a row of 0/1 per sample for multilabel)."""
        return self._decide(self._outputs(X))

    def predict_proba(self, X):
        """Probabilities (n_samples, n_classes), columns in the order of classes_."""
        H = self._outputs(X)
        return np.hstack([1 - H, H]) if self._binarizer.y_type_ == "binary" else H

    def predict_log_proba(self, X):
        """The logarithm of predict_proba."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _MLPEstimator):
    """scikit-learn's MLPRegressor on fastmlp's kernels (see the module note for the
    mapping). Parameters and fitted attributes as MLPClassifier's (without classes_ and
    class_weight), and ``loss``: "squared_error" (scikit-learn's "poisson" needs an
    exponential output unit, which fastmlp does not have)."""

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, activation_params=None, l1=0.0,
                 dropout=None, update_dropout=0.0, dtype=None, n_threads=None):
        _keep_parameters(self, locals())

    def _check_params(self):
        if self.loss != "squared_error":
            raise ValueError(f"loss must be 'squared_error', got {self.loss!r} (fastmlp has no exponential output "
                             "unit for 'poisson')")
        return super()._check_params()

    def _validate_input(self, X, y, incremental, first_pass):
        X, y = validate_data(self, X, y, accept_sparse=False, dtype=self._data_dtype(), multi_output=True,
                             y_numeric=True, reset=first_pass)
        Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=X.dtype)
        return X, y, Y

    def _out_activation(self, Y):
        return "identity"

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of SGD or Adam over X, y from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _score_outputs(self, H, y, weight):
        return float(r2_score(y, H[:, 0] if y.ndim == 1 else H, sample_weight=weight))

    def predict(self, X):
        """The predicted targets: (n_samples,) for one output, else (n_samples, n_outputs)."""
        H = self._outputs(X)
        return H[:, 0] if H.shape[1] == 1 else H


def _keep_parameters(est, given: dict) -> None:
    """Store each argument of ``__init__`` unchanged under its own name, as scikit-learn's
    get_params, set_params and clone expect."""
    for name, value in given.items():
        if name != "self":
            setattr(est, name, value)


def _number(est, name, lowest=-np.inf) -> float:
    value = getattr(est, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value < lowest:
        bound = f" >= {lowest:g}" if lowest > -np.inf else ""
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


model_files.register_estimator(MLPClassifier, OUTPUTS)
model_files.register_estimator(MLPRegressor, OUTPUTS)

__all__ = ["MLPClassifier", "MLPRegressor"]
