"""fastmlp: the lecture's multilayer perceptron and backpropagation, fast.

    import fastmlp as fm
    net = fm.MLP([3, 2, 1], activation="relu", output="relu", loss="l2")
"""
from . import schedules
from ._errors import ConvergenceWarning, DivergenceError
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
