"""The two implementations of the kernels behind one calling convention.

``cython`` (the default) is fastmlp._kernels._core, compiled once per instruction set
(generic x86-64, AVX2 + FMA in _core_avx2, AVX-512 in _core_avx512) and chosen at
run time: the newest one the CPU runs; ``reference`` is fastmlp.reference, the
pure-Python teaching version. ``FASTMLP_BACKEND=reference`` makes the reference the
default, ``FASTMLP_ISA=generic`` (or avx2, avx512) forces one build of the kernels.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from typing import Callable, NamedTuple

import numpy as np

from .._errors import SettingError
from .sparse import SparseRows

# Bytes: a cache line, and the width of an AVX-512 vector.
ALIGNMENT = 64


class SparseKernels(NamedTuple):
    """The backend's calls that read X, taking X as fastmlp._engine.sparse.SparseRows (compressed
    sparse rows) with the dense calls' arguments otherwise: the first layer reads only the
    rows of W^(1) for each sample's nonzero inputs."""

    forward: Callable
    mean_gradient: Callable
    sgd_epoch: Callable
    minibatch_epoch: Callable
    optimizer_epoch: Callable
    step_gradient: Callable


class Backend(NamedTuple):
    name: str
    architecture: Callable  # (sizes, activations, loss) -> what the functions below take
    forward: Callable  # (arch, params, X) -> (n, d^(L)) outputs
    backprop: Callable  # (arch, params, x0, y, s, x, delta, grad) -> loss of one sample
    mean_gradient: Callable  # (arch, params, X, Y, grad, weight=None) -> mean loss
    # The epochs also take the keywords weight, dropout, update_dropout, key and position
    # (see fastmlp._engine.weights_dropout and fastmlp/_kernels/entry_points.pxi).
    sgd_epoch: Callable  # (arch, params, X, Y, order, eta, l2, l1) -> (loss sum, samples done)
    minibatch_epoch: Callable  # (arch, params, X, Y, order, batch_size, eta, l2, l1) -> same
    perceptron_epoch: Callable  # (w, X, y, order, eta) -> mistakes
    optimizer_epoch: Callable  # (arch, params, X, Y, order, batch_size, kind, eta, l2, l1, mu, beta1,
    #                            beta2, epsilon, m, v, t) -> (loss sum, samples done, t)
    # A step too large for one call, in two: its summed gradient, part by part, then the step.
    step_gradient: Callable  # (arch, params, X, Y, order, grad, room=None) -> (loss sum, room); adds to grad
    gradient_step: Callable  # (arch, params, grad, rows, kind, eta, l2, l1, mu, beta1, beta2, epsilon,
    #                          m, v, t) -> t; kind "sgd" needs no m, v
    # Per-sample SGD with each hidden layer's units split between the threads of a team.
    team: Callable  # (n_threads) -> a context manager with .size, the threads started
    have_threads: Callable  # () -> whether a team can have more than one thread
    split_supported: Callable  # (arch) -> None, or why the split cannot train it
    split_sgd_epoch: Callable  # (team, arch, params, X, Y, order, eta, l2, l1) -> as sgd_epoch
    split_optimizer_epoch: Callable  # (team, arch, params, X, Y, order, kind, eta, l2, l1, mu, beta1, beta2,
    #                                  epsilon, m, v, t) -> as optimizer_epoch with batch size 1
    sparse: SparseKernels  # the calls above that read X, for sparse X


def for_rows(backend: Backend, X):
    """The calls that read X: the backend's own for an array, its sparse ones for SparseRows."""
    return backend.sparse if isinstance(X, SparseRows) else backend


def _cython(isa: str) -> Backend:
    from .._kernels import _core

    if isa == "best":
        forced = os.environ.get("FASTMLP_ISA", "")
        if forced not in ("", *ISAS):
            raise SettingError(f"FASTMLP_ISA={forced!r} is not one of {', '.join(ISAS)}")
        if forced and forced not in available_isas():
            raise SettingError(f"FASTMLP_ISA={forced!r}: the {forced} kernels are not available on this machine "
                               f"({', '.join(available_isas())} are)")
        isa = forced or available_isas()[-1]
    if isa not in available_isas():
        raise ValueError(f"the {isa} kernels are not available on this machine ({', '.join(available_isas())} are)")
    kernels = _core if isa == "generic" else importlib.import_module(f"fastmlp._kernels._core_{isa}")

    def architecture(sizes, activations, loss):
        # The kernels number the activations and losses; the registries name them.
        codes = [kernels.ACTIVATION_CODES[a.name] for a in activations]
        return kernels.Architecture(sizes, codes, [a.params for a in activations], kernels.LOSS_CODES[loss.name])

    def sparse(kernel):
        def call(arch, params, X, *args, **keywords):
            return kernel(arch, params, X.data, X.indices, X.indptr, *args, **keywords)

        return call

    return Backend(
        f"cython-{isa}",
        architecture,
        kernels.forward,
        kernels.backprop,
        kernels.mean_gradient,
        kernels.sgd_epoch,
        kernels.minibatch_epoch,
        kernels.perceptron_epoch,
        kernels.optimizer_epoch,
        kernels.step_gradient,
        kernels.gradient_step,
        kernels.Team,
        kernels.have_threads,
        kernels.split_supported,
        kernels.split_sgd_epoch,
        kernels.split_optimizer_epoch,
        SparseKernels(*(sparse(getattr(kernels, f"sparse_{name}")) for name in SparseKernels._fields)),
    )


ISAS = ("generic", "avx2", "avx512")  # oldest to newest


def available_isas() -> list:
    """The instruction sets whose kernels were built and that this CPU runs, oldest first."""
    return list(_built_and_runnable())


@functools.lru_cache(maxsize=None)
def _built_and_runnable() -> tuple:
    """available_isas, looked up once per process: the CPU and the built modules do not
    change while it runs, and the lookup (a search of the import path per build) took
    milliseconds, paid for every network made."""
    from .._kernels import _core

    runs = {"generic": True, "avx2": _core.cpu_has_avx2_fma(), "avx512": _core.cpu_has_avx512()}
    return tuple(
        isa for isa in ISAS
        if runs[isa] and (isa == "generic" or importlib.util.find_spec(f"fastmlp._kernels._core_{isa}") is not None)
    )


def _reference() -> Backend:
    from .. import reference

    return Backend(
        "reference",
        reference.Architecture,
        reference.forward_rows,
        reference.backprop,
        reference.mean_gradient,
        reference.sgd_epoch,
        reference.minibatch_epoch,
        reference.perceptron_epoch,
        reference.optimizer_epoch,
        reference.step_gradient,
        reference.gradient_step,
        reference.Team,
        lambda: True,
        reference.split_supported,
        reference.split_sgd_epoch,
        reference.split_optimizer_epoch,
        # The reference's calls read sparse rows as they read arrays (see reference.samples).
        SparseKernels(reference.forward_rows, reference.mean_gradient, reference.sgd_epoch, reference.minibatch_epoch,
                      reference.optimizer_epoch, reference.step_gradient),
    )


BACKENDS = {
    "cython": lambda: _cython("best"),
    "cython-generic": lambda: _cython("generic"),
    "cython-avx2": lambda: _cython("avx2"),
    "cython-avx512": lambda: _cython("avx512"),
    "reference": _reference,
}


def available() -> list:
    """Every backend this machine runs, each instruction set of the kernels by name."""
    return [f"cython-{isa}" for isa in available_isas()] + ["reference"]


def aligned(a) -> np.ndarray:
    """A C-contiguous copy of ``a`` whose data starts on an ALIGNMENT-byte boundary. The
    kernels' vector loads and stores of the weights' rows then do not straddle cache
    lines; numpy's own allocations start on 16 bytes, and the per-sample epochs ran up to
    3x slower at some offsets (784-128-10 float32, AVX-512 build)."""
    a = np.asarray(a)
    raw = np.empty(a.nbytes + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    out = raw[start : start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def by_saved_name(name: str) -> Backend:
    """The backend a pickled model named: the same one, or, for a build of the kernels that
    this machine lacks (a model pickled where AVX2 ran, loaded where it does not), the best
    build it runs; the builds compute the same results."""
    if name.startswith("cython-") and name not in available():
        name = "cython"
    return get(name)


def get(name: str | None = None) -> Backend:
    """The backend called ``name``, or the one FASTMLP_BACKEND names (default cython: the
    kernels for the best instruction set this CPU has, or the one FASTMLP_ISA names)."""
    if name is None:
        name = os.environ.get("FASTMLP_BACKEND", "cython")
        if name not in BACKENDS:
            raise SettingError(f"FASTMLP_BACKEND={name!r}: unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    if not isinstance(name, str):
        raise TypeError(f"backend must be a name, got {type(name).__name__}")
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    return BACKENDS[name]()
