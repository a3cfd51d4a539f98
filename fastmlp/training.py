"""The fit loop: epochs, shuffling, batch sizes and the history of the training loss.

The kernels run each epoch whole (per-sample SGD, minibatch or full batch); this module
only decides the order of the samples, checks the hyperparameters and keeps the record.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import checks
from .network import DivergenceError


@dataclass
class History:
    """Per epoch: the mean training loss over the samples as they were seen, the wall
    time, and the samples trained per second."""

    loss: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    samples_per_second: list = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.loss)


def fit(net, X, y, *, epochs=10, batch_size=1, eta=0.1, shuffle=True, seed=None, callback=None, verbose=False):
    """Train ``net`` in place; see MLP.fit. ``seed`` fixes the shuffling (default: the
    network's own generator, itself seeded at construction). ``callback(epoch, history)``
    runs after each epoch. If an epoch diverges, the weights and the generator are left as
    they were after the last finite epoch and the DivergenceError carries the history."""
    net._require_trainable("fit")
    epochs = checks.positive_int(epochs, "epochs")
    eta = net.check_eta(eta)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable as callback(epoch, history)")
    seed = checks.seed(seed)
    X, Y = net.data(X, y)
    n = len(X)
    batch_size = n if batch_size is None else min(checks.positive_int(batch_size, "batch_size"), n)
    rng = net.rng if seed is None else np.random.default_rng(seed)
    history = History()
    for epoch in range(1, epochs + 1):
        drawn_from = rng.bit_generator.state
        order = rng.permutation(n).astype(np.intp) if shuffle else np.arange(n, dtype=np.intp)
        start = time.perf_counter()
        try:
            total = net.run_epoch(X, Y, order, batch_size, eta, f"epoch {epoch}")
        except DivergenceError as exc:
            # The weights are those of the last finite epoch; so is the generator.
            rng.bit_generator.state = drawn_from
            exc.history = history
            raise
        seconds = time.perf_counter() - start
        history.loss.append(total / n)
        history.seconds.append(seconds)
        history.samples_per_second.append(n / seconds if seconds > 0 else float("inf"))
        if verbose:
            print(f"epoch {epoch:4d}  loss {total / n:.6f}  {n / max(seconds, 1e-12):,.0f} samples/s")
        if callback is not None:
            callback(epoch, history)
    return history
