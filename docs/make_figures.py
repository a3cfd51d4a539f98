"""Draw the README's pictures into docs/: python docs/make_figures.py (needs matplotlib)."""
import pathlib
import warnings

import numpy as np

import fastmlp as fm
from fastmlp import plot
from fastmlp.datasets import blobs, xor
from matplotlib.figure import Figure

HERE = pathlib.Path(__file__).resolve().parent
DPI = 72


def activations():
    """Five thetas beside their derivatives, two with their parameters set."""
    return plot.activations("sigmoid", "tanh", "relu", fm.activation("elu", alpha=0.5),
                            fm.activation("maxout", a1=1, b1=0, a2=-0.5, b2=0.5), "sign")


def learning_rates():
    """Full-batch gradient descent on y = sin(1.5 x) with a 1-16-1 ReLU network, at four rates."""
    X = np.linspace(-2, 2, 64)[:, None]
    y = np.sin(1.5 * X[:, 0])
    net = fm.MLP([1, 16, 1], activation="relu", seed=0)
    return plot.learning_rates(net, X, y, etas=[0.003, 0.03, 0.3, 1.0], epochs=40, batch_size=None)


def decision_regions():
    """The perceptron on separable data and on XOR, and a 2-4-1 network on XOR."""
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    left, middle, right = fig.subplots(1, 3)
    X, y = blobs(60, distance=3.0, noise=0.6, seed=2)
    plot.decision_regions(fm.Perceptron(seed=0).fit(X, y), X, y, ax=left)
    X, y = xor(n_per_corner=15, noise=0.12, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.ConvergenceWarning)  # the point of the panel
        plot.decision_regions(fm.Perceptron(max_epochs=20, seed=1).fit(X, y), X, y, ax=middle)
    net = fm.MLP([2, 4, 1], loss="binary_cross_entropy", seed=0)
    net.fit(X, y, epochs=300, eta=0.5)
    plot.decision_regions(net, X, y, ax=right)
    return fig


if __name__ == "__main__":
    for draw in (activations, learning_rates, decision_regions):
        path = HERE / f"{draw.__name__}.png"
        draw().savefig(path, dpi=DPI)
        print(f"{path.relative_to(HERE.parent)}: {path.stat().st_size / 1024:.0f} KiB")
