"""
Learning rates too small and too large
======================================

The same network, the same data and the same shuffles, trained at four learning rates by
full-batch gradient descent: 0.003 creeps, 0.03 falls fast, 0.3 overshoots before it
settles, and 10 diverges. fastmlp notices the non-finite loss, raises a DivergenceError
(which ``plot.learning_rates`` catches) and the X marks the last epoch that finished.
"""
import numpy as np

import fastmlp as fm
from fastmlp import plot

X = np.linspace(-2, 2, 64)[:, None]
y = np.sin(1.5 * X[:, 0])
net = fm.MLP([1, 16, 1], activation="relu", seed=0)
fig = plot.learning_rates(net, X, y, etas=[0.003, 0.03, 0.3, 10.0], epochs=40, batch_size=None)

# %%
# Training at eta = 10 yourself shows what the picture marks:
try:
    net.copy().fit(X, y, epochs=40, eta=10.0, batch_size=None)
except fm.DivergenceError as exc:
    print(f"diverged after {exc.history.epochs} finished epochs")
