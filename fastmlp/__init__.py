"""fastmlp: the multilayer perceptron and backpropagation of a university lecture, made fast.

Cython kernels over contiguous float arrays train and run the network without the GIL; a
thin Python API checks every input; a pure-Python reference (``fastmlp.reference``)
implements the same calls in the lecture's notation, and the tests hold the two to each
other. Drop-ins stand in for scikit-learn's MLPClassifier and MLPRegressor
(``fastmlp.estimators``) and for Michael Nielsen's network.py and network2.py
(``fastmlp.compat``).

    >>> import fastmlp as fm
    >>> net = fm.MLP([3, 2, 1], activation="relu", output="relu", loss="l2", seed=0)
    >>> net.L, net.sizes
    (2, (3, 2, 1))

Read more: ``help(fastmlp.MLP)`` and ``help(fastmlp.MLP.fit)``; the documentation site in
the repository's ``docs/`` (the lecture, a user guide, the API reference and a gallery),
built with ``bash .ci/docs``; the README for the two commands that install and test it.
"""
from . import schedules
from ._errors import ConvergenceWarning, DivergenceError

DivergenceError.__module__ = ConvergenceWarning.__module__ = __name__  # help() and tracebacks name fastmlp.X
from ._version import __version__
from .activations import Activation, activation
from .network import MLP, Trace
from .perceptron import Perceptron
from .training import History
from .io import load
from . import _model_files  # registers MLP and Perceptron (and the estimators, lazily) with fastmlp.io

__all__ = [
    "MLP", "Trace", "History", "Activation", "activation", "DivergenceError", "Perceptron", "ConvergenceWarning",
    "schedules", "load", "__version__",
]
