"""How many threads the BLAS behind the minibatch and batched-forward kernels may use.

The kernels call scipy's BLAS (scipy.linalg.cython_blas); threadpoolctl finds that
library among those loaded and sets its thread count for the duration of a call.
Per-sample SGD does not use BLAS and always runs on one thread, deterministically.
Unless a network's ``n_threads`` forces a count, each call's products run on one thread
below SECOND_THREAD_PAYS multiply-adds (``threads_for``): on a shared machine a second
thread on small products waits for a busy core and the call slows many times over.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache

from .._checks import positive_int


# Multiply-adds of one matrix product (rows x (d^(l-1) + 1) x d^(l)) from which a second
# BLAS thread pays. bench/blas_threads.py, minibatch epochs of d-d-d networks, Intel Xeon
# (AVX-512, 2 vCPUs), 2026-12-02 at load 0.6: two threads ran 0.99x one at 2.6e4, 1.02x at
# 4.2e5, 1.23x at 2.0e6, 1.52x at 1.7e7 and 1.77-1.90x from 1.1e9. Below this size the
# second thread gains nothing on a quiet machine and loses much on a busy one (at load
# 9-10 it ran 0.02x at 2.0e6 and 0.99x at 4.2e5); on a busy machine n_threads=1 is
# faster at every size (0.89x at 4.3e9 there).
SECOND_THREAD_PAYS = 2_000_000


def threads_for(n_threads, rows, sizes):
    """The BLAS threads for a kernel call whose products take ``rows`` rows through the
    layers ``sizes``: ``n_threads`` if it is set; else 1 when its largest product is under
    SECOND_THREAD_PAYS multiply-adds, and None (the library's count) from there on."""
    if n_threads is not None:
        return n_threads
    largest = rows * max((d_in + 1) * d_out for d_in, d_out in zip(sizes, sizes[1:]))
    return 1 if largest < SECOND_THREAD_PAYS else None


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
    restored it; see docs/guide/threads.md, "Scaling out with Dask"). So in other threads this changes
    nothing; limit BLAS around the threads instead, e.g. with
    threadpoolctl.threadpool_limits(1) in the main thread. The network's kernel calls and
    the estimators' whole fits and predictions both go through it. ValueError unless
    ``n_threads`` is None or a positive integer (checked in every thread)."""
    if n_threads is not None:
        n_threads = positive_int(n_threads, "n_threads")
    if n_threads is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    libraries = _kernel_blas()
    previous = [lib.num_threads for lib in libraries]
    if all(n == n_threads for n in previous):  # as wanted already (e.g. within threadpool_limits(1))
        yield
        return
    for lib in libraries:
        lib.set_num_threads(n_threads)
    try:
        yield
    finally:
        for lib, n in zip(libraries, previous):
            lib.set_num_threads(n)
