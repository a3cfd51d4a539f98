"""fastmlp: the lecture's multilayer perceptron and backpropagation, fast.

    import fastmlp as fm
    net = fm.MLP([3, 2, 1], activation="relu", output="relu", loss="l2")
"""
from . import schedules
from ._errors import ConvergenceWarning, DivergenceError
from .activations import Activation, activation
from .network import MLP, Trace
from .perceptron import Perceptron
from .training import History
from .io import load
from . import _model_kinds  # registers MLP and Perceptron with fastmlp.io

__version__ = "0.1.0"
__all__ = [
    "MLP", "Trace", "History", "Activation", "activation", "DivergenceError", "Perceptron", "ConvergenceWarning",
    "schedules", "load", "__version__",
]
