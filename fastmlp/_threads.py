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


# The thread count the BLAS had before the calls now running set theirs, and how many run.
_guard = threading.Lock()
_running = 0
_before: list = []


@contextmanager
def blas_threads(n_threads):
    """Within the block, the kernels' BLAS uses ``n_threads`` threads (None: as it is).

    The count is the library's, shared by every thread: while blocks of several threads
    overlap, the one that started last sets it, and the count from before the first is put
    back when the last ends."""
    global _running, _before
    if n_threads is None:
        yield
        return
    libraries = _kernel_blas()
    with _guard:
        if not _running:
            _before = [lib.num_threads for lib in libraries]
        _running += 1
        for lib in libraries:
            lib.set_num_threads(n_threads)
    try:
        yield
    finally:
        with _guard:
            _running -= 1
            if not _running:
                for lib, n in zip(libraries, _before):
                    lib.set_num_threads(n)
