"""What a training step does beyond the lecture's plain step: sample and class weights,
dropout of hidden units, and the lecture's dropout of updates.

fit validates these once (``class_weights``, then ``steps``) and, for each epoch, hands
the kernels their keywords (``Steps.for_epoch``): the weights by row, a rate per layer, and
a fresh key for the random draws, taken from fit's generator so that a seed reproduces
every mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _checks as checks


@dataclass(frozen=True)
class Steps:
    """weight: float64 sample weights c_i by row of the training data, or None (all 1).
    dropout: float64 rate per layer 1..L (the output's 0), or None. update_dropout: the
    share of weights each step leaves unchanged."""

    weight: np.ndarray | None = None
    dropout: np.ndarray | None = None
    update_dropout: float = 0.0

    @property
    def random(self) -> bool:
        return self.dropout is not None or self.update_dropout > 0

    def for_epoch(self, rng) -> dict:
        """The kernels' keywords for one epoch; the key for the draws comes from ``rng``
        only if anything is random, so that fits without dropout draw what they always did."""
        key = int(rng.integers(0, 2**64, dtype=np.uint64)) if self.random else 0
        return {"weight": self.weight, "dropout": self.dropout, "update_dropout": self.update_dropout, "key": key}

    def select(self, rows) -> Steps:
        """The same for a subset of the rows (a boolean mask), e.g. the training part of a
        validation split."""
        return Steps(None if self.weight is None else np.ascontiguousarray(self.weight[rows]), self.dropout,
                     self.update_dropout)


def steps(net, Y, table, sample_weight=None, dropout=None, update_dropout=0.0) -> Steps:
    """Validated step options for training ``net`` on target rows Y, ``table`` being the
    class weights of class_weights (see fit)."""
    return Steps(
        row_weights(net, Y, sample_weight, table, "sample_weight"),
        dropout_rates(dropout, net.L),
        checks.unit_interval(update_dropout, "update_dropout"),
    )


def row_weights(net, Y, sample_weight, table, what) -> np.ndarray | None:
    """c_i = sample_weight_i * class_weight[class of row i] as float64, or None if both are
    absent. Sample weights must be finite and >= 0, one per row, not all 0."""
    if sample_weight is None and table is None:
        return None
    weight = np.ones(len(Y))
    if sample_weight is not None:
        given = checks.real_array(sample_weight, what)
        if given.shape != (len(Y),):
            raise ValueError(f"{what} has shape {given.shape}; expected ({len(Y)},), one weight per sample")
        weight = given.astype(np.float64)
        if not np.isfinite(weight).all() or (weight < 0).any():
            raise ValueError(f"{what} must be finite and >= 0")
    if table is not None:
        weight = weight * table[classes(net, Y)]
    if not weight.any():
        raise ValueError(f"{what}: every sample has weight 0, so there is nothing to learn from")
    return np.ascontiguousarray(weight)


def classes(net, Y) -> np.ndarray:
    """The class of each target row: its argmax for cross_entropy, 0 or 1 for one
    binary_cross_entropy output."""
    return net.loss.decisions(Y)[:, 0].astype(np.intp)


def class_weights(net, class_weight, Y) -> np.ndarray | None:
    """A weight per class from ``class_weight``: "balanced" gives class k the weight
    n / (K n_k) (K classes present, n_k samples of class k among the n rows of Y), so that
    every class weighs the same in total and the weights average 1; a dict {class: weight}
    sets the classes it names and leaves the others at 1."""
    if class_weight is None:
        return None
    if not net.loss.classifier:
        raise ValueError(f"class_weight needs a classification loss, not {net.loss.name!r}")
    if net.loss.name == "binary_cross_entropy" and net.sizes[-1] != 1:
        raise ValueError("class_weight takes one binary_cross_entropy output (classes 0 and 1); "
                         "weigh multi-label samples with sample_weight")
    K = max(net.sizes[-1], 2)
    if isinstance(class_weight, str):
        checks.choice(class_weight, "class_weight", ("balanced",))
        counts = np.bincount(classes(net, Y), minlength=K)
        present = counts > 0
        return np.where(present, len(Y) / (present.sum() * np.maximum(counts, 1)), 1.0)
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be 'balanced' or a dict {{class: weight}}, got {class_weight!r}")
    table = np.ones(K)
    for label, value in class_weight.items():
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) or not 0 <= label < K:
            raise ValueError(f"class_weight names class {label!r}; the network's classes are 0..{K - 1}")
        table[label] = checks.real_number(value, f"class_weight[{label}]", lowest=0.0)
    return table


def dropout_rates(dropout, L) -> np.ndarray | None:
    """One rate in [0, 1) for every hidden layer, or one per hidden layer, as a float64
    rate per layer 1..L with the output's 0; None if no unit is ever dropped."""
    if dropout is None:
        return None
    if isinstance(dropout, (list, tuple, np.ndarray)):
        if len(dropout) != L - 1:
            raise ValueError(f"dropout lists one rate per hidden layer: expected {L - 1}, got {len(dropout)}")
        rates = [checks.unit_interval(p, f"dropout[{l}]") for l, p in enumerate(dropout)]
    else:
        rate = checks.unit_interval(dropout, "dropout")
        if L == 1 and rate > 0:
            raise ValueError("dropout drops hidden units, and this network has no hidden layer")
        rates = [rate] * (L - 1)
    if not any(rates):
        return None
    return np.array(rates + [0.0], dtype=np.float64)
