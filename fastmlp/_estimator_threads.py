"""The BLAS thread limit around the estimators' fits and predictions.

The BLAS thread count is a setting of the whole process, and the OpenBLAS that scipy and
numpy ship takes it only from the main thread: set from another thread it reads back
unchanged. Measured on this project's 2-core machine (see README, "Scaling out"): four
64-100-10 fits on the digits took 17 s one after another with OpenBLAS's default two
threads and 1.4 s limited to one; in the two worker threads of a threaded search they took
0.9 s without any limit (OpenBLAS ran each call on its caller's thread), but 20-60 s when
each worker set and restored the limit around its fit after the main thread had done the
same. So the limit ``n_threads`` is applied around a whole fit or prediction in the main
thread only, and never from worker threads. For a threaded search, set it once around the
search: ``with threadpoolctl.threadpool_limits(1): search.fit(X, y)``.
"""
from __future__ import annotations

import threading
from contextlib import nullcontext

from threadpoolctl import threadpool_limits


def blas_limit(n_threads):
    """A context in which BLAS uses at most ``n_threads`` threads; no change for None or
    when called from a thread other than the main one."""
    if n_threads is None or threading.current_thread() is not threading.main_thread():
        return nullcontext()
    return threadpool_limits(limits=n_threads, user_api="blas")
