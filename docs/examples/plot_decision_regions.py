"""
Decision regions
================

What a small network decides on the two moons and on two circles, with the training
samples on top. More hidden units bend the boundary further.
"""
from matplotlib.figure import Figure

import fastmlp as fm
from fastmlp import plot
from fastmlp.datasets import circles, moons

fig = Figure(figsize=(9, 4), layout="constrained")
left, right = fig.subplots(1, 2)
for ax, (X, y) in zip((left, right), (moons(200, noise=0.15, seed=1), circles(200, noise=0.08, seed=0))):
    net = fm.MLP([2, 16, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
    net.fit(X, y, epochs=100, eta=0.1)
    plot.decision_regions(net, X, y, ax=ax)
