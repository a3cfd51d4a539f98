"""Type stubs of the AVX-512 build of the kernels: the same interface as _core."""
from ._core import *  # noqa: F403
from ._core import ACTIVATION_CODES as ACTIVATION_CODES, LOSS_CODES as LOSS_CODES
