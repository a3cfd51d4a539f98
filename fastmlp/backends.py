"""The two implementations of the kernels behind one calling convention.

``cython`` (the default) is fastmlp._core; ``reference`` is fastmlp.reference, the
pure-Python teaching version. ``FASTMLP_BACKEND=reference`` makes it the default.
"""
from __future__ import annotations

import os
from typing import Callable, NamedTuple


class Backend(NamedTuple):
    name: str
    architecture: Callable  # (sizes, activations, loss) -> what the functions below take
    forward: Callable  # (arch, params, X) -> (n, d^(L)) outputs
    backprop: Callable  # (arch, params, x0, y, s, x, delta, grad) -> loss of one sample
    mean_gradient: Callable  # (arch, params, X, Y, grad) -> mean loss
    sgd_epoch: Callable  # (arch, params, X, Y, order, eta) -> (loss sum, samples done)
    minibatch_epoch: Callable  # (arch, params, X, Y, order, batch_size, eta) -> same


def _cython() -> Backend:
    from . import _core

    def architecture(sizes, activations, loss):
        return _core.Architecture(sizes, [a.code for a in activations], [a.params for a in activations], loss.code)

    return Backend(
        "cython",
        architecture,
        _core.forward,
        _core.backprop,
        _core.mean_gradient,
        _core.sgd_epoch,
        _core.minibatch_epoch,
    )


def _reference() -> Backend:
    from . import reference

    return Backend(
        "reference",
        reference.Architecture,
        reference.forward_rows,
        reference.backprop,
        reference.mean_gradient,
        reference.sgd_epoch,
        reference.minibatch_epoch,
    )


BACKENDS = {"cython": _cython, "reference": _reference}


def get(name: str | None = None) -> Backend:
    """The backend called ``name``, or the one FASTMLP_BACKEND names (default cython)."""
    if name is None:
        name = os.environ.get("FASTMLP_BACKEND", "cython")
    if not isinstance(name, str):
        raise TypeError(f"backend must be a name, got {type(name).__name__}")
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    return BACKENDS[name]()
