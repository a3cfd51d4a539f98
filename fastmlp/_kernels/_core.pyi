"""Type stubs of the Cython kernels (fastmlp/_kernels/_core.pyx, also built as _core_avx2 and _core_avx512)."""
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

ACTIVATION_CODES: dict[str, int]
LOSS_CODES: dict[str, int]
OPTIMIZER_CODES: dict[str, int]

def cpu_has_avx2_fma() -> bool: ...
def cpu_has_avx512() -> bool: ...

class Architecture:
    n_params: int
    width: int
    units: int
    chunk: int
    def __init__(
        self, sizes: Sequence[int], act_codes: Sequence[int], act_params: Sequence[Sequence[float]], loss_code: int
    ) -> None: ...

def forward(arch: Architecture, params: NDArray[np.floating], X: NDArray[np.floating]) -> NDArray[np.floating]: ...
def backprop(
    arch: Architecture,
    params: NDArray[np.floating],
    x0: NDArray[np.floating],
    y: NDArray[np.floating],
    s: NDArray[np.floating],
    x: NDArray[np.floating],
    delta: NDArray[np.floating],
    grad: NDArray[np.floating],
) -> float: ...
def mean_gradient(
    arch: Architecture, params: NDArray[np.floating], X: NDArray[np.floating], Y: NDArray[np.floating],
    grad: NDArray[np.floating], weight: NDArray[np.float64] | None = None,
) -> float: ...
def sgd_epoch(
    arch: Architecture, params: NDArray[np.floating], X: NDArray[np.floating], Y: NDArray[np.floating],
    order: NDArray[np.intp], eta: float, l2: float = 0.0, l1: float = 0.0, *,
    weight: NDArray[np.float64] | None = None, dropout: NDArray[np.float64] | None = None,
    update_dropout: float = 0.0, key: int = 0, position: int = 0,
    norms: NDArray[np.float64] | None = None,
) -> tuple[float, int]: ...
def minibatch_epoch(
    arch: Architecture, params: NDArray[np.floating], X: NDArray[np.floating], Y: NDArray[np.floating],
    order: NDArray[np.intp], batch_size: int, eta: float, l2: float = 0.0, l1: float = 0.0, *,
    weight: NDArray[np.float64] | None = None, dropout: NDArray[np.float64] | None = None,
    update_dropout: float = 0.0, key: int = 0, position: int = 0,
    norms: NDArray[np.float64] | None = None,
) -> tuple[float, int]: ...
def optimizer_epoch(
    arch: Architecture, params: NDArray[np.floating], X: NDArray[np.floating], Y: NDArray[np.floating],
    order: NDArray[np.intp], batch_size: int, kind: str, eta: float, l2: float, l1: float, mu: float,
    beta1: float, beta2: float, epsilon: float, m: NDArray[np.floating], v: NDArray[np.floating], t: int, *,
    weight: NDArray[np.float64] | None = None, dropout: NDArray[np.float64] | None = None,
    update_dropout: float = 0.0, key: int = 0, position: int = 0,
    norms: NDArray[np.float64] | None = None,
) -> tuple[float, int, int]: ...
def perceptron_epoch(
    w: NDArray[np.floating], X: NDArray[np.floating], y: NDArray[np.floating], order: NDArray[np.intp], eta: float
) -> int: ...
def step_gradient(
    arch: Architecture, params: NDArray[np.floating], X: NDArray[np.floating], Y: NDArray[np.floating],
    order: NDArray[np.intp], grad: NDArray[np.floating], *,
    weight: NDArray[np.float64] | None = None, dropout: NDArray[np.float64] | None = None,
    update_dropout: float = 0.0, key: int = 0, position: int = 0, room: object = None,
) -> tuple[float, object]: ...
def gradient_step(
    arch: Architecture, params: NDArray[np.floating], grad: NDArray[np.floating], rows: int, kind: str, eta: float,
    l2: float, l1: float, mu: float = 0.0, beta1: float = 0.0, beta2: float = 0.0, epsilon: float = 0.0,
    m: NDArray[np.floating] | None = None, v: NDArray[np.floating] | None = None, t: int = 0, *,
    weight: NDArray[np.float64] | None = None, dropout: NDArray[np.float64] | None = None,
    update_dropout: float = 0.0, key: int = 0, position: int = 0,
) -> int: ...

# Sparse rows of X (CSR: values of params' dtype, int32 column numbers, intp row starts);
# otherwise the calls above without "sparse_".
def sparse_forward(
    arch: Architecture, params: NDArray[np.floating], values: NDArray[np.floating], indices: NDArray[np.int32],
    indptr: NDArray[np.intp],
) -> NDArray[np.floating]: ...
def sparse_mean_gradient(
    arch: Architecture, params: NDArray[np.floating], values: NDArray[np.floating], indices: NDArray[np.int32],
    indptr: NDArray[np.intp], Y: NDArray[np.floating], grad: NDArray[np.floating],
    weight: NDArray[np.float64] | None = None,
) -> float: ...
def sparse_sgd_epoch(
    arch: Architecture, params: NDArray[np.floating], values: NDArray[np.floating], indices: NDArray[np.int32],
    indptr: NDArray[np.intp], Y: NDArray[np.floating], order: NDArray[np.intp], eta: float, l2: float = 0.0,
    l1: float = 0.0, *, weight: NDArray[np.float64] | None = None, dropout: NDArray[np.float64] | None = None,
    update_dropout: float = 0.0, key: int = 0, position: int = 0,
    norms: NDArray[np.float64] | None = None,
) -> tuple[float, int]: ...
def sparse_minibatch_epoch(
    arch: Architecture, params: NDArray[np.floating], values: NDArray[np.floating], indices: NDArray[np.int32],
    indptr: NDArray[np.intp], Y: NDArray[np.floating], order: NDArray[np.intp], batch_size: int, eta: float,
    l2: float = 0.0, l1: float = 0.0, *, weight: NDArray[np.float64] | None = None,
    dropout: NDArray[np.float64] | None = None, update_dropout: float = 0.0, key: int = 0, position: int = 0,
    norms: NDArray[np.float64] | None = None,
) -> tuple[float, int]: ...
def sparse_optimizer_epoch(
    arch: Architecture, params: NDArray[np.floating], values: NDArray[np.floating], indices: NDArray[np.int32],
    indptr: NDArray[np.intp], Y: NDArray[np.floating], order: NDArray[np.intp], batch_size: int, kind: str,
    eta: float, l2: float, l1: float, mu: float, beta1: float, beta2: float, epsilon: float,
    m: NDArray[np.floating], v: NDArray[np.floating], t: int, *, weight: NDArray[np.float64] | None = None,
    dropout: NDArray[np.float64] | None = None, update_dropout: float = 0.0, key: int = 0, position: int = 0,
    norms: NDArray[np.float64] | None = None,
) -> tuple[float, int, int]: ...
def sparse_step_gradient(
    arch: Architecture, params: NDArray[np.floating], values: NDArray[np.floating], indices: NDArray[np.int32],
    indptr: NDArray[np.intp], Y: NDArray[np.floating], order: NDArray[np.intp], grad: NDArray[np.floating], *,
    weight: NDArray[np.float64] | None = None, dropout: NDArray[np.float64] | None = None,
    update_dropout: float = 0.0, key: int = 0, position: int = 0, room: object = None,
) -> tuple[float, None]: ...
