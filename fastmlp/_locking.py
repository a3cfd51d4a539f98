"""The lock that keeps a network whole when several threads use it.

Training rewrites the weights in place, inside kernel calls that run without the GIL, so
two threads training one network would interleave their updates and a thread predicting
meanwhile would read half-updated weights. Each network therefore holds a readers-writer
lock: calls that change it (fit, partial_fit, sgd_step, set_weights, initialise, loading)
hold it alone, one after the other; calls that only read it (forward, predict, trace,
gradient, loss_value, pickling) share it, so that many threads predict at once.

The thread that holds it for a change may also read and change the network again (a fit's
callback may predict, or call sgd_step); such nested calls do not wait. A thread that waits
to change the network goes before threads that come to read after it, so a stream of
predictions cannot hold training off for ever.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager


class NetworkLock:
    """A readers-writer lock, reentrant for the thread that writes."""

    def __init__(self):
        self._state = threading.Condition(threading.Lock())
        self._readers = {}  # thread id -> depth of its nested reads
        self._writer = None  # the thread id that writes, if any
        self._depth = 0  # how deep its nested writes go
        self._waiting = 0  # threads waiting to write

    @contextmanager
    def reading(self):
        """Hold the lock shared with other readers (not with a writer)."""
        me = threading.get_ident()
        with self._state:
            if self._writer == me:
                nested = True
            else:
                nested = False
                if me not in self._readers:
                    while self._writer is not None or self._waiting:
                        self._state.wait()
                self._readers[me] = self._readers.get(me, 0) + 1
        try:
            yield
        finally:
            if not nested:
                with self._state:
                    self._readers[me] -= 1
                    if not self._readers[me]:
                        del self._readers[me]
                        if not self._readers:
                            self._state.notify_all()

    @contextmanager
    def writing(self):
        """Hold the lock alone (reentrant: the writer may write and read again)."""
        me = threading.get_ident()
        with self._state:
            if self._writer != me:
                if me in self._readers:
                    raise RuntimeError("a network cannot be trained from within a call that only reads it")
                self._waiting += 1
                try:
                    while self._writer is not None or self._readers:
                        self._state.wait()
                finally:
                    self._waiting -= 1
                    self._state.notify_all()  # readers held back for this writer may go if it gave up
                self._writer = me
            self._depth += 1
        try:
            yield
        finally:
            with self._state:
                self._depth -= 1
                if not self._depth:
                    self._writer = None
                    self._state.notify_all()
