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

import numpy as np

from ..reference import split_of
from .feeding import architecture
from .sparse import SparseRows, issparse

# When a split pays, measured on a 2-core AMD EPYC (Zen 4) virtual machine, float32 per
# sample, one and two threads alternately (bench/split_threads.py; bench/README.md has the
# table): each thread must own at least MIN_UNITS_PER_THREAD units of every hidden layer, and
# have at least MIN_WORK_PER_THREAD multiply-adds per sample (forward, delta and update: 3
# per weight) for each of the sample's exchanges (one hidden layer takes one exchange, L - 1
# hidden layers 2L - 3). With 16 units a thread, each row of W^(1) is one vector per thread
# and the rows' own cost does not halve: 784-32-10 ran 0.66x and 64-32-10 0.80x on two
# threads. With 32 units a thread, 16-64-10 (2,600 multiply-adds a thread) ran 0.78x,
# 32-64-10 (4,100) 1.09x and 64-64-10 (7,200) 1.37x; 784-64-10 1.6x and 784-128-10 1.7x.
MIN_UNITS_PER_THREAD = 32
MIN_WORK_PER_THREAD = 6_000


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
    fewest = min(min(np.diff(split_of(units, asked, net.params.itemsize))) for units in net.sizes[1:-1])
    if why is None and fewest < MIN_UNITS_PER_THREAD:
        why = (f"the network is too narrow for {asked} threads to pay (a thread would own {fewest} units of a "
               f"hidden layer; the split wants {MIN_UNITS_PER_THREAD})")
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
