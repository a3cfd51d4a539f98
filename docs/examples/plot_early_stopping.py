"""
Early stopping
==============

Stop training once the validation loss has not improved for ``patience`` epochs, and keep
the weights of the best epoch: the dot marks it.
"""
import fastmlp as fm
from fastmlp import plot
from fastmlp.datasets import moons

X, y = moons(100, noise=0.35, seed=3)
net = fm.MLP([2, 64, 64, 1], activation="relu", loss="binary_cross_entropy", seed=0)
history = net.fit(X, y, epochs=300, batch_size=8, eta=0.02, seed=0,
                  validation_fraction=0.3, early_stopping=True, patience=15)
print(f"stopped after epoch {history.stopped_epoch}, kept epoch {history.best_epoch}")
fig = plot.loss_curves(history)
