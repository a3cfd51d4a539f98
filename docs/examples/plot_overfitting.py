"""
Regularisation and dropout against overfitting
==============================================

A 2-64-64-1 network on only 40 noisy samples learns their noise: its training loss keeps
falling while the loss on 400 fresh samples rises. An L2 penalty and dropout each hold the
validation loss down.
"""
import fastmlp as fm
from fastmlp import plot
from fastmlp.datasets import moons

X, y = moons(40, noise=0.35, seed=3)
X_val, y_val = moons(400, noise=0.35, seed=4)

runs = {}
for label, options in {"plain": {}, "l2 = 0.01": {"l2": 0.01}, "dropout = 0.5": {"dropout": 0.5}}.items():
    net = fm.MLP([2, 64, 64, 1], activation="relu", loss="binary_cross_entropy", seed=0)
    runs[label] = net.fit(X, y, epochs=150, batch_size=8, eta=0.05, seed=0,
                          validation_data=(X_val, y_val), **options)
    print(f"{label:>14}: final validation loss {runs[label].val_loss[-1]:.3f}")
fig = plot.loss_curves(runs)
