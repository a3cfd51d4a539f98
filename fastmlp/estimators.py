"""scikit-learn's MLPClassifier and MLPRegressor, trained by fastmlp.

Changing ``from sklearn.neural_network import MLPClassifier`` to
``from fastmlp.estimators import MLPClassifier`` keeps scripts, pipelines and grid searches
working: the parameters, their defaults and meanings, the methods and the fitted
attributes are scikit-learn's, and so are the initial weights, the order of the samples
and the stopping rules. The network underneath is a ``fastmlp.MLP`` (``net_``).

How scikit-learn's terms map onto the lecture's network:

- ``sizes = [n_features, *hidden_layer_sizes, n_outputs]``; "logistic" is the sigmoid. The
  output layer is softmax with cross_entropy for several classes, one sigmoid with
  binary_cross_entropy per label for two classes and for multilabel targets, identity
  with the l2 loss for regression ("squared_error"), exp with the poisson loss (the half
  Poisson deviance, mean over samples and summed over outputs as scikit-learn's) for
  ``loss="poisson"``.
- ``coefs_[l]`` is W^(l+1)[1:] and ``intercepts_[l]`` is W^(l+1)[0] (the bias row).
- ``alpha`` is the L2 strength on the summed loss: scikit-learn adds
  alpha / (2 n_b) * sum W^2 to the mean loss of each batch of n_b samples, so each step
  decays the weights by l2 = alpha / n_b (the last, partial batch of an epoch with its own
  n_b), and L-BFGS uses l2 = alpha / n. ``l1`` is the same for ``sum |W|``.
- "squared_error": the gradient is that of the lecture's l2 loss, 1/2 sum over the outputs
  of (h - y)^2, but ``loss_`` is the mean over samples *and* outputs, fastmlp's loss divided
  by n_outputs.
- ``sample_weight`` c_i: scikit-learn divides each batch's weighted gradient (and alpha) by
  the batch's total weight, fastmlp by its size; the weights are rescaled to average 1, so
  the two agree exactly for full batches and L-BFGS, and for minibatches whose mean weight
  is the overall mean.
- "invscaling" sets the rate after each epoch to ``learning_rate_init / (t_ + 1)^power_t``
  with ``t_`` the number of samples seen; "adaptive" divides it by 5 each time n_iter_no_change
  epochs in a row fail to improve by tol, and stops below 1e-6. Adam ignores learning_rate
  and uses fastmlp's Adam, whose bias-corrected step is scikit-learn's.

L-BFGS is scipy's L-BFGS-B with ``tol`` as its gradient tolerance and ``max_fun`` as its
limit on loss evaluations, as in scikit-learn. Each entry of ``loss_curve_`` is the mean
loss of the epoch plus the penalties of the weights each step started from, as
scikit-learn sums them: the kernels add up the weights' squares before every step.
Warnings are reported as from scikit-learn's MLP module, so the
filters a script sets for scikit-learn's warnings (by category, message or
``module="sklearn"``) treat these alike.

Where the two still differ: for multi-output regression L-BFGS minimises the loss its
gradient belongs to (scikit-learn's loss value is n_outputs times smaller than its
gradient's); minibatches with sample weights (see above); losses are computed without
clipping the probabilities; partial_fit refuses early_stopping=True before changing
anything (scikit-learn first initialises the network); a fit that diverges under early
stopping stops at the failing epoch (scikit-learn trains on to max_iter with non-finite
weights), both ending on the best epoch's weights. L-BFGS also records ``loss_curve_``
(one value per iteration) and ``best_loss_``, which scikit-learn leaves unset.
"""
from __future__ import annotations

import numbers

import numpy as np
from scipy.sparse import issparse

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
           "identity": ("identity", "l2"), "exp": ("exp", "poisson")}
# MLPRegressor's loss -> out_activation_
REGRESSION_OUTPUTS = {"squared_error": "identity", "poisson": "exp"}
# A classifier's kind of target (its label binarizer's y_type_) -> out_activation_
TARGET_OUTPUTS = {"binary": "logistic", "multilabel-indicator": "logistic", "multiclass": "softmax"}
# The fitted attributes to_state and from_state keep besides the network and a classifier's
# classes_; those that may be unset (no column names in X, no loss yet) are None there.
ATTRIBUTES = ("n_features_in_", "feature_names_in_", "n_outputs_", "out_activation_", "loss_", "best_loss_",
              "loss_curve_", "validation_scores_", "validation_loss_curve_", "best_validation_score_", "n_iter_", "t_")
UNSET_AS_NONE = ("feature_names_in_", "loss_")
# ... and with them, the state warm_start and partial_fit go on from.
FITTED = (*ATTRIBUTES, "learning_rate", "no_improvement_count", "target")


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
        for name in ("max_iter", "max_fun"):
            _positive_int(self, name)
        if self.n_iter_no_change != np.inf:  # np.inf: never stop for a lack of improvement
            _positive_int(self, "n_iter_no_change", " or np.inf")
        for name in ("momentum", "beta_1", "beta_2"):
            if not 0 <= _number(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)!r}")
        if not 0 < _number(self, "validation_fraction") < 1:
            raise ValueError(f"validation_fraction must lie strictly between 0 and 1, got {self.validation_fraction!r}")
        if self.batch_size != "auto" and (isinstance(self.batch_size, (bool, np.bool_))
                                          or not isinstance(self.batch_size, numbers.Integral) or self.batch_size < 1):
            raise ValueError(f"batch_size must be 'auto' or a positive integer, got {self.batch_size!r}")
        if self.solver == "lbfgs" and (self.l1 > 0 or self.dropout is not None or self.update_dropout):
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
        net.n_threads = self.n_threads  # forced, or None: by the size of each product (fastmlp._engine.threads)
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
    @property
    def _no_improvement_count(self) -> int:
        """The epochs in a row without improvement so far, under scikit-learn's name for the
        count (its tests read it)."""
        return self._loop.no_improvement_count

    def _export(self):
        self.coefs_ = [W[1:].copy() for W in self.net_.weights]
        self.intercepts_ = [W[0].copy() for W in self.net_.weights]

    # -- training --------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        hidden = self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True: it trains one epoch on the data it "
                             "is given, and holds none out")
        self._incremental = incremental
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y, Y = self._validate_input(X, y, incremental, first_pass, classes)
        weight = self._sample_weight(sample_weight, y, X.shape[0])
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._build(X, Y, hidden, random_state)
        elif tuple(self.net_.sizes) != (X.shape[1], *hidden, Y.shape[1]):
            raise ValueError(f"warm_start and partial_fit continue a network of layer sizes {list(self.net_.sizes)}; "
                             f"hidden_layer_sizes and the data give {[X.shape[1], *hidden, Y.shape[1]]}")
        else:
            self._follow_activation()
        net = self._network(training=True)
        data = fit_loop.Data(X.tocsr() if issparse(X) else np.ascontiguousarray(X), Y, y, weight)
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
        """Train on X and y from fresh weights (from the current ones with warm_start).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix (CSR or CSC) of shape (n_samples, n_features)
            Real numbers; float32 data trains in float32 unless ``dtype`` says otherwise.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels for a classifier (a 0/1 matrix for multilabel), targets for a regressor.
        sample_weight : array-like of shape (n_samples,), optional
            One weight >= 0 per sample, multiplying its loss.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Bad parameters, NaN or infinity in X, or X and y of different lengths.
        DivergenceError
            The loss or the weights became non-finite; the fitted attributes are those of
            the last finished epoch.

        Examples
        --------
        >>> from fastmlp.estimators import MLPClassifier, MLPRegressor
        >>> X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], ["no", "no", "no", "yes"]
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> clf.classes_.tolist(), [W.shape for W in clf.coefs_]
        (['no', 'yes'], [(2, 4), (4, 1)])
        >>> reg = MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0)
        >>> reg.fit(X, [0.0, 1.0, 1.0, 2.0], sample_weight=[1.0, 1.0, 1.0, 3.0]).predict(X).shape
        (4,)
        """
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
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=self.net_.dtype, reset=False)
        net = self._network()
        with blas_threads(self.n_threads):
            return net.forward(X)

    # -- keeping and deploying ---------------------------------------------------------------

    def save(self, path, *, metadata=None) -> None:
        """Write the fitted estimator (parameters, fitted attributes, network and the state
        warm_start and partial_fit go on from) to ``path`` atomically; ``fastmlp.load(path)``
        gives it back. See :func:`fastmlp.io.save`.

        Parameters
        ----------
        path : str or os.PathLike
            Written exactly as given (no suffix is added).
        metadata : dict, optional
            JSON-ready values kept with the model.

        Returns
        -------
        None

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        TypeError, ValueError, OSError
            As :func:`fastmlp.io.save` raises them; a previous file at ``path`` stays.

        Examples
        --------
        >>> import os, tempfile
        >>> import fastmlp as fm
        >>> from fastmlp.estimators import MLPClassifier
        >>> X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], ["no", "no", "no", "yes"]
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "clf.npz")
        >>> clf.save(path, metadata={"data": "AND"})
        >>> fm.load(path).predict(X).tolist() == clf.predict(X).tolist()
        True
        """
        from .io import save

        save(self, path, metadata=metadata)

    def to_onnx(self, path=None):
        """The ONNX model of the fitted network's forward pass (fastmlp.onnx.to_model), also
        written to ``path`` if one is given; needs the onnx extra (``pip install ".[onnx]"``).

        The graph's output "h" is the network's output layer, not predict's labels: for a
        classifier with several classes the softmax rows, which equal predict_proba; for a
        binary or multilabel classifier the sigmoid of each output, i.e. for binary one column
        equal to predict_proba[:, 1] (predict_proba adds the column 1 - h); for a regressor
        the raw outputs, shape (N, ``n_outputs_``) even for one output. The input "x" takes
        float rows of shape (N, ``n_features_in_``) in the dtype the model was fitted in.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Also write the model there.

        Returns
        -------
        onnx.ModelProto

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ImportError
            The onnx package is not installed.

        Examples
        --------
        >>> from fastmlp.estimators import MLPClassifier
        >>> X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], ["no", "no", "no", "yes"]
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> model = clf.to_onnx()
        >>> model.graph.input[0].name, model.graph.output[0].name
        ('x', 'h')
        """
        from . import onnx

        check_is_fitted(self)
        net = self._network()
        return onnx.to_model(net) if path is None else onnx.export(net, path)

    def to_state(self) -> dict:
        """The fitted estimator as plain values and a network, which ``from_state`` turns
        back into it; model files (:func:`fastmlp.io.save`) keep this.

        Returns
        -------
        dict
            ``"params"``: ``get_params(deep=False)``. ``"net"``: a copy of the fitted
            ``fastmlp.MLP`` with the weights of ``coefs_`` and ``intercepts_``.
            ``"fitted"``: the fitted attributes by name (``n_features_in_``,
            ``feature_names_in_``, ``n_outputs_``, ``out_activation_``, ``loss_``,
            ``best_loss_``, ``loss_curve_``, ``validation_scores_``,
            ``validation_loss_curve_``, ``best_validation_score_``, ``n_iter_``, ``t_``;
            ``feature_names_in_`` and ``loss_`` None where unset), a classifier's
            ``classes_``, and what warm_start and partial_fit go on from: the current
            ``"learning_rate"`` (None before the first epoch of SGD), the
            ``"no_improvement_count"`` and the kind of ``"target"`` ("binary",
            "multiclass" or "multilabel-indicator"; None for a regressor).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.

        Examples
        --------
        >>> from fastmlp.estimators import MLPClassifier
        >>> X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], ["no", "no", "no", "yes"]
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> state = clf.to_state()
        >>> state["net"].sizes, state["fitted"]["target"], state["fitted"]["classes_"].tolist()
        ((2, 4, 1), 'binary', ['no', 'yes'])
        """
        check_is_fitted(self)
        net = self._network()
        fitted = {name: getattr(self, name, None) for name in ATTRIBUTES}
        fitted.update(learning_rate=self._loop.learning_rate, no_improvement_count=self._loop.no_improvement_count,
                      target=self._binarizer.y_type_ if self._is_classifier else None)
        for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
            fitted[name] = None if fitted[name] is None else list(fitted[name])
        if self._is_classifier:
            fitted["classes_"] = self.classes_.copy()
        return {"params": self.get_params(deep=False), "net": net.copy() if net is self.net_ else net,
                "fitted": fitted}

    @classmethod
    def from_state(cls, state: dict):
        """The fitted estimator ``to_state`` gave ``state`` of, each value checked against
        the parameters and the others.

        Parameters
        ----------
        state : dict
            ``{"params": ..., "net": ..., "fitted": ...}`` as ``to_state`` returns it. Its
            network becomes ``net_`` (it is not copied).

        Returns
        -------
        MLPClassifier or MLPRegressor
            Fitted: it predicts as the estimator ``state`` came from, and warm_start and
            partial_fit go on as that one's would.

        Raises
        ------
        ValueError
            A parameter out of range, a missing or unknown field, or values that
            disagree: the network's layer sizes and ``n_features_in_``, ``n_outputs_``;
            its output layer and ``out_activation_``; the classes, the kind of target and
            the outputs.
        TypeError
            ``activation_params`` the activation does not take, or a ``net`` that is no
            ``fastmlp.MLP``.

        Examples
        --------
        >>> from fastmlp.estimators import MLPRegressor
        >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [0.0, 1.0, 2.0, 3.0]
        >>> reg = MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> twin = MLPRegressor.from_state(reg.to_state())
        >>> bool((twin.predict(X) == reg.predict(X)).all())
        True
        """
        est = cls(**state["params"])
        est._check_params()  # ValueError naming any parameter out of range
        est._theta()  # ValueError or TypeError for activation_params the activation does not take
        net, fitted = state["net"], state["fitted"]
        if not isinstance(net, MLP):
            raise TypeError(f"the state's 'net' must be a fastmlp.MLP, got {type(net).__name__}")
        expected = set(FITTED) | ({"classes_"} if cls._is_classifier else set())
        if set(fitted) != expected:
            raise ValueError(f"the fitted state must have the fields {sorted(expected)}, got {sorted(fitted)!r:.200}")
        d_in, d_out = fitted["n_features_in_"], fitted["n_outputs_"]
        # hidden_layer_sizes may differ from the network's: set_params after fit changes the
        # parameter, not the fitted network, until the next fit.
        if (net.sizes[0], net.sizes[-1]) != (d_in, d_out):
            raise ValueError(f"the network's layer sizes {list(net.sizes)} disagree with n_features_in_ {d_in} and "
                             f"n_outputs_ {d_out}")
        out, target = fitted["out_activation_"], fitted["target"]
        if out not in (set(TARGET_OUTPUTS.values()) if cls._is_classifier else {est._out_activation(None)}):
            raise ValueError(f"the fitted 'out_activation_' {out!r:.80} is not one a {cls.__name__} with these "
                             "parameters trains")
        if (net.activations[-1].name, net.loss.name) != OUTPUTS[out]:
            raise ValueError(f"the network's output {net.activations[-1].name} with loss {net.loss.name} disagrees "
                             f"with out_activation_ {out!r}")
        if cls._is_classifier:
            if TARGET_OUTPUTS.get(target) != out:
                raise ValueError(f"the fitted 'target' {target!r:.80} disagrees with out_activation_ {out!r}")
            est._binarizer = _label_binarizer(fitted["classes_"], target, d_out)
            est.classes_ = est._binarizer.classes_
        elif target is not None:
            raise ValueError("the fitted 'target' of a regressor must be None")
        names = fitted["feature_names_in_"]
        if names is not None and (len(names) != d_in or not all(isinstance(n, str) for n in names)):
            raise ValueError(f"the fitted 'feature_names_in_' must be None or {d_in} strings")
        est.net_, est.n_layers_ = net, len(net.sizes)
        for name in ATTRIBUTES:
            value = fitted[name]
            if name == "feature_names_in_" and value is not None:
                value = np.asarray(value, dtype=object)
            if value is not None or name not in UNSET_AS_NONE:
                setattr(est, name, value)
        est._loop = fit_loop.State(fitted["learning_rate"], fitted["no_improvement_count"])
        est._export()
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"multilabel": self._is_classifier, "multioutput": True}


class MLPClassifier(ClassifierMixin, _MLPEstimator):
    """scikit-learn's MLPClassifier, trained by fastmlp's kernels.

    A drop-in for ``sklearn.neural_network.MLPClassifier``: the same parameters with the
    same defaults and meanings, the same fitted attributes, and the same initial weights,
    sample order and stopping rules for a given ``random_state`` (the module docstring,
    ``help(fastmlp.estimators)``, says how each maps onto the lecture's network).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        d^(1), ..., d^(L-1): the units of each hidden layer.
    activation : {"relu", "identity", "logistic", "tanh", "leaky_relu", "elu", "maxout"}, default "relu"
        The hidden layers' theta; the last three are fastmlp's, with ``activation_params``.
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
    alpha : float, default 0.0001
        L2 strength on the summed loss (scikit-learn's meaning).
    batch_size, learning_rate, learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As in scikit-learn, with its defaults (shown in the signature).
    activation_params : dict, optional
        Parameters of the hidden theta, e.g. ``{"alpha": 0.1}`` for leaky_relu and elu or
        ``{"a1": 1, "b1": 0, "a2": -1, "b2": 0}`` for maxout.
    l1 : float, default 0.0
        L1 strength on the summed loss, scaled like ``alpha``.
    dropout : float or list of float, optional
        The rate (one for all hidden layers, or one per hidden layer) at which hidden units
        are left out of each training sample; None leaves all in.
    update_dropout : float, default 0.0
        The share of the weights, drawn at random, that each step leaves unchanged.
    class_weight : "balanced" or dict, optional
        Weights per class, multiplied into ``sample_weight``.
    dtype : {None, "float32", "float64"}, default None
        None trains float32 data in float32 and anything else in float64.
    n_threads : int, optional
        BLAS threads of the minibatch products and predictions (None: one thread for
        products too small for a second to pay, BLAS's default above), applied around
        calls made from the main thread; with ``batch_size=1``, the threads that split the
        units of each hidden layer, as ``fastmlp.MLP``'s ``n_threads``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit``, numbers or text.
    coefs_, intercepts_ : list of ndarray
        ``coefs_[l]`` is W^(l+1) without its bias row, ``intercepts_[l]`` the bias row.
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_, n_iter_, t_, n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_
        As in scikit-learn.
    validation_loss_curve_ : list of float
        The held-out mean loss after each epoch, with ``early_stopping``.
    net_ : fastmlp.MLP
        The trained network.

    Raises
    ------
    ValueError
        From ``fit`` for bad parameters, NaN or infinite input, or inconsistent shapes.

    See Also
    --------
    MLPRegressor, fastmlp.MLP

    Examples
    --------
    X is a float array of shape (n_samples, n_features), y an array of n_samples labels
    (numbers or strings; a 0/1 matrix for multilabel):

    >>> from fastmlp.datasets import load_digits
    >>> from fastmlp.estimators import MLPClassifier
    >>> X, y = load_digits()
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=30, random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    >>> clf.score(X / 16, y) > 0.9
    True
    >>> clf.predict_proba(X[:3] / 16).shape
    (3, 10)
    """

    _is_classifier = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, activation_params=None, l1=0.0, dropout=None,
                 update_dropout=0.0, class_weight=None, dtype=None, n_threads=None):
        _keep_parameters(self, locals())

    def _validate_input(self, X, y, incremental, first_pass, classes):
        """(X, the labels y, their target rows Y). fit: the labels set classes_, or, for
        warm_start, must be the same set as before. partial_fit: the labels must be among
        ``classes`` (first call) or classes_ (later calls). Nothing is kept before the
        checks pass."""
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], dtype=self._data_dtype(), multi_output=True,
                             reset=first_pass)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        binarizer = getattr(self, "_binarizer", None)
        if not incremental and first_pass:
            binarizer = LabelBinarizer().fit(y)
            known = binarizer.classes_
        elif not incremental:
            known = self.classes_
            if set(unique_labels(y)) != set(known):
                raise ValueError("warm_start can only be used where `y` has the same classes as in the previous "
                                 f"call to fit. Previously got {known}, `y` has {unique_labels(y)}")
        else:
            if first_pass:  # the first partial_fit: y's binarizer, or that of all the classes
                binarizer = LabelBinarizer().fit(y if type_of_target(y).startswith("multilabel") else classes)
                known = unique_labels(classes)
            else:
                known = self.classes_
            if np.setdiff1d(unique_labels(y), known).size:
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {known}. "
                                 f"'y' has {unique_labels(y)}.")
        Y = np.ascontiguousarray(binarizer.transform(y), dtype=X.dtype)
        self._binarizer, self.classes_ = binarizer, known
        return X, y, Y

    def _out_activation(self, Y):
        return "softmax" if self._binarizer.y_type_ == "multiclass" else "logistic"

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of SGD or Adam over X, y from the current weights. The first call
        needs ``classes``, every label that will ever appear (for multilabel y, one per
        column); later calls may repeat it unchanged. Only for the stochastic solvers
        ("sgd", "adam"): with ``solver="lbfgs"`` the estimator has no partial_fit.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix (CSR or CSC) of shape (n_samples, n_features)
            Real numbers.
        y : array-like of shape (n_samples,), or (n_samples, n_classes) 0/1 for multilabel
            Labels among ``classes``.
        sample_weight : array-like of shape (n_samples,), optional
            One weight >= 0 per sample, multiplying its loss.
        classes : array-like of shape (n_classes,), optional
            Every label, on the first call.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            No ``classes`` on the first call, other ``classes`` than before, labels not in
            ``classes_``, or data ``fit`` rejects.
        DivergenceError
            The loss or the weights became non-finite.

        Examples
        --------
        >>> from fastmlp.estimators import MLPClassifier
        >>> X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], ["no", "no", "no", "yes"]
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
        >>> for epoch in range(3):
        ...     clf = clf.partial_fit(X, y, classes=["no", "yes"])
        >>> len(clf.loss_curve_), clf.t_, clf.classes_.tolist()  # one loss per epoch, 3 x 4 samples seen
        (3, 12, ['no', 'yes'])
        >>> MLPClassifier().partial_fit(X, y)
        Traceback (most recent call last):
        ...
        ValueError: classes must be passed on the first call to partial_fit.
        """
        if not hasattr(self, "coefs_"):  # the first call (after fit it is not)
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        elif classes is not None and not np.array_equal(getattr(self, "classes_", None), unique_labels(classes)):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, was: "
                             f"{self.classes_!r}")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _decide(self, H):
        return self._binarizer.inverse_transform(H[:, 0] if self.n_outputs_ == 1 else H)

    def _score_outputs(self, H, y, weight):
        return float(accuracy_score(y, self._decide(H), sample_weight=weight))

    def predict(self, X):
        """The predicted label of each sample (a row of 0/1 per sample for multilabel).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            Real numbers, converted to the dtype the model was fitted in.

        Returns
        -------
        ndarray of shape (n_samples,), or (n_samples, n_classes) for multilabel
            Labels from ``classes_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            A wrong number of features, NaN or infinity.

        Examples
        --------
        >>> from fastmlp.estimators import MLPClassifier
        >>> X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], ["no", "no", "no", "yes"]
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> clf.predict([[1.0, 1.0], [0.0, 0.0]]).tolist()
        ['yes', 'no']
        """
        return self._decide(self._outputs(X))

    def predict_proba(self, X):
        """The probability of each class for each sample.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            Real numbers, converted to the dtype the model was fitted in.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; each row sums to 1 (for multilabel, each
            entry is its own label's probability).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            A wrong number of features, NaN or infinity.

        Examples
        --------
        >>> from fastmlp.estimators import MLPClassifier
        >>> X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], ["no", "no", "no", "yes"]
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> clf.predict_proba([[1.0, 1.0]]).shape
        (1, 2)
        """
        H = self._outputs(X)
        return np.hstack([1 - H, H]) if self._binarizer.y_type_ == "binary" else H

    def predict_log_proba(self, X):
        """The logarithm of ``predict_proba`` (-inf where a probability is 0).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            Real numbers, converted to the dtype the model was fitted in.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            A wrong number of features, NaN or infinity.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp.estimators import MLPClassifier
        >>> X, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], ["no", "no", "no", "yes"]
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> bool(np.allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X)))
        True
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _MLPEstimator):
    """scikit-learn's MLPRegressor, trained by fastmlp's kernels.

    A drop-in for ``sklearn.neural_network.MLPRegressor``. The parameters and fitted
    attributes are those of :class:`MLPClassifier`, without ``classes_`` and
    ``class_weight``; the output layer is the identity with the lecture's l2 loss, or the
    exponential with the half Poisson deviance for ``loss="poisson"``.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default "squared_error"
        "poisson": the half Poisson deviance with exponential outputs, for targets y >= 0.
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun, activation_params, l1, dropout, update_dropout, dtype, n_threads
        As in :class:`MLPClassifier`.

    Raises
    ------
    ValueError
        From ``fit`` for bad parameters, NaN or infinite input, or inconsistent shapes.

    Examples
    --------
    X is a float array of shape (n_samples, n_features), y a float array of shape
    (n_samples,) or (n_samples, n_outputs):

    >>> import numpy as np
    >>> from fastmlp.estimators import MLPRegressor
    >>> X = np.linspace(-1, 1, 50)[:, None]
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, X[:, 0] ** 2)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.score(X, X[:, 0] ** 2) > 0.95
    True
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, activation_params=None, l1=0.0,
                 dropout=None, update_dropout=0.0, dtype=None, n_threads=None):
        _keep_parameters(self, locals())

    def _check_params(self):
        if self.loss not in REGRESSION_OUTPUTS:
            raise ValueError(f"loss must be one of {', '.join(map(repr, REGRESSION_OUTPUTS))}, got {self.loss!r}")
        return super()._check_params()

    def _validate_input(self, X, y, incremental, first_pass, classes):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], dtype=self._data_dtype(), multi_output=True,
                             y_numeric=True, reset=first_pass)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("loss='poisson' needs non-negative targets y (counts or rates)")
        Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=X.dtype)
        return X, y, Y

    def _out_activation(self, Y):
        return REGRESSION_OUTPUTS[self.loss]

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of SGD or Adam over X, y from the current weights (fresh ones on the
        first call). Only for the stochastic solvers ("sgd", "adam"): with
        ``solver="lbfgs"`` the estimator has no partial_fit.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix (CSR or CSC) of shape (n_samples, n_features)
            Real numbers.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real targets (>= 0 for ``loss="poisson"``).
        sample_weight : array-like of shape (n_samples,), optional
            One weight >= 0 per sample, multiplying its loss.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Data ``fit`` rejects, or another number of features or outputs than before.
        DivergenceError
            The loss or the weights became non-finite.

        Examples
        --------
        >>> from fastmlp.estimators import MLPRegressor
        >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [0.0, 1.0, 2.0, 3.0]
        >>> reg = MLPRegressor(hidden_layer_sizes=(4,), random_state=0)
        >>> for epoch in range(3):
        ...     reg = reg.partial_fit(X, y)
        >>> len(reg.loss_curve_), reg.t_, reg.predict([[1.5]]).shape
        (3, 12, (1,))
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _score_outputs(self, H, y, weight):
        if not np.isfinite(H).all():  # a diverging network: no score, as in scikit-learn
            return float("nan")
        return float(r2_score(y, H[:, 0] if y.ndim == 1 else H, sample_weight=weight))

    def predict(self, X):
        """The predicted targets.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            Real numbers, converted to the dtype the model was fitted in.

        Returns
        -------
        ndarray of shape (n_samples,) for one output, else (n_samples, n_outputs)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            A wrong number of features, NaN or infinity.

        Examples
        --------
        >>> from fastmlp.estimators import MLPRegressor
        >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [0.0, 1.0, 2.0, 3.0]
        >>> reg = MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
        >>> reg.predict([[1.5]]).shape
        (1,)
        """
        H = self._outputs(X)
        return H[:, 0] if H.shape[1] == 1 else H


def _label_binarizer(classes, target: str, d_out: int) -> LabelBinarizer:
    """The label binarizer a classifier with ``classes`` (distinct, in increasing order), a
    target of kind ``target`` and d_out outputs was fitted with; ValueError if these disagree."""
    classes = np.asarray(classes)
    if target == "binary" and (d_out != 1 or len(classes) not in (1, 2)):
        raise ValueError(f"a binary classifier has one output and one or two classes, not {d_out} and "
                         f"{len(classes)}")
    if target != "binary" and len(classes) != d_out:
        raise ValueError(f"classes_ holds {len(classes)} labels for {d_out} outputs")
    if not (classes[:-1] < classes[1:]).all():
        raise ValueError(f"classes_ must hold distinct labels in increasing order, got {classes!r:.80}")
    if target == "multilabel-indicator":
        count = len(classes)
        if classes.dtype.kind not in "iu" or not np.array_equal(classes, np.arange(count)) or count < 2:
            raise ValueError(f"a multilabel classifier's classes are 0 .. n_outputs_-1, got {classes!r:.80}")
        binarizer = LabelBinarizer().fit(np.eye(count, dtype=int))
    else:
        binarizer = LabelBinarizer().fit(classes)
    if binarizer.y_type_ != target:
        raise ValueError(f"classes_ ({len(classes)} labels) makes a {binarizer.y_type_} target, "
                         f"not {target}")
    return binarizer


def _keep_parameters(est, given: dict) -> None:
    """Store each argument of ``__init__`` unchanged under its own name, as scikit-learn's
    get_params, set_params and clone expect."""
    for name, value in given.items():
        if name != "self":
            setattr(est, name, value)


def _positive_int(est, name, alternative=""):
    value = getattr(est, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer{alternative}, got {value!r}")


def _number(est, name, lowest=-np.inf) -> float:
    value = getattr(est, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value < lowest:
        bound = f" >= {lowest:g}" if lowest > -np.inf else ""
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


model_files.register_estimator(MLPClassifier)
model_files.register_estimator(MLPRegressor)

__all__ = ["MLPClassifier", "MLPRegressor"]
