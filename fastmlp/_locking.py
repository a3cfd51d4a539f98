"""The lock that keeps a network whole when several threads use it.

Training rewrites the weights in place, inside kernel calls that run without the GIL, so
two threads training one network would interleave their updates and a thread predicting
meanwhile would read half-updated weights. Each network therefore holds a readers-writer
lock: calls that change it (fit, partial_fit, sgd_step, set_weights, initialise) hold it
alone, one after the other; calls that only read it (forward, predict, trace, gradient,
loss_value, saving, pickling and copy) share it, so that many threads predict at once.
A Perceptron holds one too: its fits alone, its predictions, saving and pickling shared.

The thread that holds it for a change may also read and change the network again (a fit's
callback may predict, or call sgd_step); such nested calls do not wait. A thread that waits
to change the network goes before threads that come to read after it, so a stream of
predictions cannot hold training off for ever. A read never takes the lock again inside
itself (that could wait on a writer waiting on it); the network's methods keep to this.
"""
from __future__ import annotations

import threading
from threading import get_ident


class NetworkLock:
    """A readers-writer lock, reentrant for the thread that writes:
    ``with lock.reading():`` and ``with lock.writing():``."""

    def __init__(self):
        self._mutex = threading.Lock()
        self._changed = threading.Condition(self._mutex)
        self._readers = 0  # threads reading now
        self._writer = None  # the id of the thread writing, if any
        self._depth = 0  # how deep its nested writes go
        self._waiting = 0  # threads waiting to write
        self._shared, self._alone = _Shared(self), _Alone(self)

    def reading(self) -> _Shared:
        """Hold the lock shared with other readers (not with a writer)."""
        return self._shared

    def writing(self) -> _Alone:
        """Hold the lock alone; the writer may write and read again inside."""
        return self._alone


class _Shared:
    __slots__ = ("lock",)

    def __init__(self, lock):
        self.lock = lock

    def __enter__(self):
        lock = self.lock
        if lock._writer == get_ident():  # a read inside this thread's own write
            return
        with lock._mutex:
            while lock._writer is not None or lock._waiting:
                lock._changed.wait()
            lock._readers += 1

    def __exit__(self, *exc):
        lock = self.lock
        if lock._writer == get_ident():
            return
        with lock._mutex:
            lock._readers -= 1
            if not lock._readers and lock._waiting:
                lock._changed.notify_all()


class _Alone:
    __slots__ = ("lock",)

    def __init__(self, lock):
        self.lock = lock

    def __enter__(self):
        lock, me = self.lock, get_ident()
        if lock._writer == me:
            lock._depth += 1
            return
        with lock._mutex:
            lock._waiting += 1
            try:
                while lock._writer is not None or lock._readers:
                    lock._changed.wait()
            finally:
                lock._waiting -= 1
                lock._changed.notify_all()  # readers held back for this writer may go if it gave up
            lock._writer, lock._depth = me, 1

    def __exit__(self, *exc):
        lock = self.lock
        lock._depth -= 1
        if lock._depth:
            return
        with lock._mutex:
            lock._writer = None
            lock._changed.notify_all()
