"""Per-sample SGD on several threads: whether a fit's per-sample steps split the hidden
units between ``net.n_threads`` threads (the kernels' per_sample_threads.pxi), and the
team of threads they run on, started once per fit.

The split is deterministic: the same seed and thread count give the same weights on every
run, and they agree with one thread's to rounding (only the order in which the sums of
layers 2..L are added differs). Where it cannot run, or would not pay, the fit runs on one
thread, bit for bit as without n_threads, and its history says why.
"""
from __future__ import annotations

from contextlib import contextmanager

from .feeding import architecture
from .sparse import SparseRows, issparse

# Multiply-adds per sample (forward, delta and update: 3 per weight) that each thread must
# have, for each exchange of the sample, for the split to pay: below it an exchange (a
# barrier) costs more than the split saves. One hidden layer takes one exchange per sample,
# L - 1 hidden layers 2L - 3. Measured on the project's 2-vCPU Intel Xeon virtual machine
# at load 0.9 (bench/compare.py, fastmlp against fastmlp-2t, float32 per sample): 784-1024-10
# (1.22 M per thread) ran 1.84x faster on two threads, while 784-256-10 (305 k) ran at 0.19x
# and 784-128-10 (152 k) at 0.13x, an exchange there costing tens of microseconds. So only
# networks with about a million per thread split.
MIN_WORK_PER_THREAD = 1_000_000


def plan(net, X, batch_size) -> tuple[int, str | None]:
    """(threads, note): how many threads fit's per-sample steps over X run on, and, when
    that is fewer than net.n_threads asks for, why (a sentence for History.notes)."""
    asked = net.n_threads
    if asked is None or asked == 1 or batch_size != 1:
        return 1, None
    if isinstance(X, SparseRows) or issparse(X):
        why = "sparse X steps the rows of W^(1) of each sample's nonzeros, on one thread"
    else:
        why = net.backend.split_supported(architecture(net))
    if why is None and not net.backend.have_threads():
        why = "this build of the kernels has no threads"
    exchanges = 2 * len(net.sizes) - 5
    if why is None and 3 * net.params.size / asked < MIN_WORK_PER_THREAD * exchanges:
        why = (f"the network is too narrow for {asked} threads to pay ({3 * net.params.size:,} multiply-adds "
               f"per sample; the split wants {MIN_WORK_PER_THREAD:,} per thread for each of the sample's "
               f"{exchanges} exchanges)")
    if why is not None:
        return 1, f"per-sample steps ran on one thread, not n_threads={asked}: {why}"
    return asked, None


@contextmanager
def team(net, threads):
    """The backend's team of ``threads`` threads for the block (joined when it ends), or
    None for one thread."""
    if threads == 1:
        yield None
        return
    with net.backend.team(threads) as started:
        yield started
