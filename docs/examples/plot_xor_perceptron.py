"""
XOR against the perceptron
==========================

No line separates XOR's classes, so the perceptron never stops making mistakes; it gives
up at ``max_epochs`` with a ConvergenceWarning, and the dashed line is the last one it
tried. One hidden layer of two units is enough for a network.
"""
import warnings

from matplotlib.figure import Figure

import fastmlp as fm
from fastmlp import plot
from fastmlp.datasets import xor

X, y = xor(n_per_corner=15, noise=0.12, seed=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", fm.ConvergenceWarning)
    perceptron = fm.Perceptron(max_epochs=20, seed=1).fit(X, y)
print("mistakes per epoch:", perceptron.mistakes)

net = fm.MLP([2, 4, 1], loss="binary_cross_entropy", seed=0)
net.fit(X, y, epochs=300, eta=0.5)

fig = Figure(figsize=(9, 4), layout="constrained")
left, right = fig.subplots(1, 2)
plot.decision_regions(perceptron, X, y, ax=left)
plot.decision_regions(net, X, y, ax=right)
