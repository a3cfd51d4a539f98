"""How many threads the BLAS behind the minibatch and batched-forward kernels may use.

The kernels call scipy's BLAS (scipy.linalg.cython_blas); threadpoolctl finds that
library among those loaded and sets its thread count for the duration of a call.
Per-sample SGD does not use BLAS and always runs on one thread, deterministically.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache


@lru_cache(maxsize=None)
def _kernel_blas() -> tuple:
    """threadpoolctl controllers of the BLAS libraries scipy's cython_blas is built on."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads the library if it is not yet)
    from threadpoolctl import ThreadpoolController

    blas = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
    scipys = [lib for lib in blas if "scipy" in lib.filepath.replace("\\", "/").split("/")[-2]]
    return tuple(scipys or blas)


@contextmanager
def blas_threads(n_threads):
    """Within the block, the kernels' BLAS uses ``n_threads`` threads (None: as it is).

    The count is a setting of the whole process, and the OpenBLAS that scipy ships takes it
    from the main thread only: set from another thread it reads back unchanged, and setting
    it there around every call slows the calls of other threads (four 64-100-10 digits fits
    took 0.9 s in two worker threads without a limit, 20-60 s when each worker set and
    restored it; see the README's "Scaling out"). So in other threads this changes
    nothing; limit BLAS around the threads instead, e.g. with
    threadpoolctl.threadpool_limits(1) in the main thread. The network's kernel calls and
    the estimators' whole fits and predictions both go through it."""
    if n_threads is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    libraries = _kernel_blas()
    previous = [lib.num_threads for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(n_threads)
    try:
        yield
    finally:
        for lib, n in zip(libraries, previous):
            lib.set_num_threads(n)
