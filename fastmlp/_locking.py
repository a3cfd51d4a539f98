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
predictions cannot hold training off for ever. While a fit's callback runs, the weights
are those of a whole epoch, and other threads may read them (``open_to_readers``): a
callback may hand the network to a pool of threads to predict and wait for their results.
A change the callback itself makes (sgd_step) first waits for those readers, and closes
the network to them until the next callback.

Ctrl-C: a KeyboardInterrupt may arrive between any two bytecodes of Python code. Leaving
the lock is therefore no Python code at all: ``with`` calls the compiled ``__exit__`` of an
RLock, which cannot be interrupted. Entering it is Python code, which undoes what it took
if an exception (a Ctrl-C) arrives before it returns; so a Ctrl-C on the way in or out
never leaves the lock held. (A second Ctrl-C within the microseconds of that undoing can
still leave it held; only a process has that kind of guarantee.)
"""
from __future__ import annotations

from threading import get_ident

from _thread import RLock


class NetworkLock:
    """A readers-writer lock, reentrant for the thread that writes:
    ``with lock.reading():`` and ``with lock.writing():``."""

    def __init__(self):
        self._alone = _Alone(self)  # held by the thread that writes (and, briefly, by readers coming in)
        self._tokens = {}  # thread id -> the _Reading that thread holds while it reads
        self._open = False  # the writer's callback lets other threads read (open_to_readers)

    def reading(self) -> _Reading:
        """Hold the lock shared with other readers (not with a writer)."""
        me = get_ident()
        token = self._tokens.get(me)
        if token is None:
            token = self._tokens.setdefault(me, _Reading(self))
        return token

    def writing(self) -> _Alone:
        """Hold the lock alone; the writer may write and read again inside."""
        return self._alone

    def open_to_readers(self) -> _Open:
        """For the writing thread, around code that only reads (a fit's callback): other
        threads may read meanwhile; the write goes on once they are done."""
        return _Open(self)

    def _wait_for_readers(self) -> None:
        """For the writer: return once no other thread is reading. Each reader holds its
        token while it reads, so taking a token (and giving it back) waits for that reader."""
        taken = None
        try:
            for token in list(self._tokens.values()):
                if not token._is_owned():  # this thread's own read (inside its write) does not count
                    taken = token
                    token.acquire()
                    token.release()
                    taken = None
        except BaseException:
            if taken is not None and taken._is_owned():
                taken.release()
            raise


# Whether the RLock tells its count (newer CPython releases). Where it does not, entering
# the lock also keeps flags of what it took, which a Ctrl-C between an acquire and its flag
# can still get wrong.
EXACT = hasattr(RLock, "_recursion_count")


class _Counted(RLock):
    """An RLock that says how many times the calling thread holds it (``_holds``)."""

    if EXACT:
        _holds = RLock._recursion_count
    else:

        def _holds(self) -> int:
            return int(self._is_owned())


class _Alone(_Counted):
    """The writer's side: an RLock, so that nested writes count up and down, and leaving
    is the compiled RLock.__exit__."""

    def __init__(self, lock):
        self.lock = lock

    def __enter__(self):
        lock = self.lock
        depth, acquired = self._holds(), False
        try:
            self.acquire()  # readers coming in and other writers now wait
            acquired = True
            if not depth or lock._open:  # first entry, or a change made from a callback
                lock._open = False
                lock._wait_for_readers()
        except BaseException:
            if self._holds() > depth or (acquired and not EXACT):
                self.release()
            raise
        return self


class _Reading(_Counted):
    """One reading thread's token, which it holds while it reads: an RLock, so that leaving
    is the compiled RLock.__exit__ (and nested reads count up and down)."""

    def __init__(self, lock):
        self.lock = lock

    def __enter__(self):
        lock = self.lock
        alone = lock._alone
        depth, held = self._holds(), alone._holds()
        mine = theirs = False  # whether this call holds the token, the writer's side
        try:
            self.acquire()
            mine = True
            if depth or lock._open:  # reading already, or the writer's callback lets readers in
                return self
            self.release()
            mine = False
            alone.acquire()  # wait for the writer (a writer takes a token only while holding this)
            theirs = True
            self.acquire()
            mine = True
            alone.release()
            theirs = False
        except BaseException:
            if self._holds() > depth or (mine and not EXACT):
                self.release()
            if alone._holds() > held or (theirs and not EXACT):
                alone.release()
            raise
        return self


class _Open:
    """``with lock.open_to_readers():`` (see NetworkLock.open_to_readers)."""

    __slots__ = ("lock",)

    def __init__(self, lock):
        self.lock = lock

    def __enter__(self):
        lock = self.lock
        if lock._alone._is_owned():
            lock._open = True
        return self

    def __exit__(self, *exc):
        # A Ctrl-C that lands before this runs ends the fit, whose own exit then releases
        # the lock; the next writer closes it to readers again.
        lock = self.lock
        if lock._open and lock._alone._is_owned():
            lock._open = False
            lock._wait_for_readers()
