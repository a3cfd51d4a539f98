"""The network's lock (fastmlp._locking) under Ctrl-C, nested writes and callbacks that
hand the network to other threads."""
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import fastmlp as fm

# The child calls the network over and over while a thread sends it SIGINT at random
# moments, some landing as the calls enter or leave the lock; then another thread must be
# able to change and read the network. The handler raises KeyboardInterrupt only while a
# call runs ("armed"), so that the loop itself survives.
CHILD = textwrap.dedent(
    """
    import os, random, signal, sys, threading, time
    import numpy as np
    import fastmlp as fm

    armed = [False]

    def interrupt(signum, frame):
        if armed[0]:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    net = fm.MLP([2, 3, 1], seed=0, n_threads=1)
    X, y = np.zeros((1, 2)), np.zeros((1, 1))
    seconds, seed = float(sys.argv[1]), int(sys.argv[2])
    stop = time.monotonic() + seconds

    def fire():
        rng = random.Random(seed)
        while time.monotonic() < stop:
            time.sleep(rng.uniform(0, 2e-4))
            os.kill(os.getpid(), signal.SIGINT)

    def nested_write():
        net.fit(X, y, epochs=1, reinitialise=True)

    def callback_reads():
        net.fit(X, y, epochs=1, callback=lambda epoch, history: net.predict(X))

    calls = [lambda: net.predict(X), lambda: net.sgd_step(X, y, 0.01), net.copy, nested_write, callback_reads]
    threading.Thread(target=fire, daemon=True).start()
    interrupted = done = 0
    while time.monotonic() < stop:
        for call in calls:
            try:
                armed[0] = True
                call()
                armed[0] = False
                done += 1
            except KeyboardInterrupt:
                armed[0] = False
                interrupted += 1

    def other():
        net.sgd_step(X, y, 0.01)
        net.predict(X)

    worker = threading.Thread(target=other, daemon=True)
    worker.start()
    worker.join(20)
    if not worker.is_alive():  # and this thread's own calls
        net.predict(X)
        nested_write()
    print("held" if worker.is_alive() else "free", interrupted, done, flush=True)
    os._exit(0)
    """
)


def test_ctrl_c_as_calls_enter_or_leave_the_lock_never_leaves_it_held():
    runs = []
    for seed in range(3):
        out = subprocess.run([sys.executable, "-c", CHILD, "4", str(seed)], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        state, interrupted, done = out.stdout.split()
        runs.append((state, int(interrupted), int(done)))
    assert all(interrupted > 100 and done > 100 for _, interrupted, done in runs), runs  # the test bites
    assert [state for state, _, _ in runs] == ["free"] * 3, runs


# -- a nested write keeps the outer write's hold ---------------------------------------------------


def _reader_gets_in_mid_fit(**nested):
    """Fit with ``nested`` (fit's keywords that make a write nested in fit's); at the start
    of the third epoch (inside fit, in its schedule, outside any callback) another thread
    tries to predict. Returns whether that prediction finished while the fit still ran."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 4)), rng.integers(0, 2, 32)
    net = fm.MLP([4, 8, 2], loss="cross_entropy", seed=0, n_threads=1)
    finished, seen = threading.Event(), []

    def schedule(t, history):
        if t == 2:
            threading.Thread(target=lambda: (net.predict(X), finished.set()), daemon=True).start()
            seen.append(finished.wait(1.0))  # ample time, were nothing holding it back
        return 0.01

    if nested.pop("step_in_callback", False):
        nested["callback"] = lambda epoch, history: net.sgd_step(X[:4], y[:4], 0.01)
    net.fit(X, y, epochs=3, eta=schedule, **nested)
    assert finished.wait(60)  # once the fit ends, the prediction goes through
    return seen == [True]


def test_a_reader_waits_after_fit_reinitialises_the_weights():
    assert not _reader_gets_in_mid_fit(reinitialise=True)  # initialise is a write inside fit's


def test_a_reader_waits_after_a_callback_took_a_step():
    # the callback's sgd_step is a write inside fit's; after it and after the callback the
    # fit holds the network alone again
    assert not _reader_gets_in_mid_fit(step_in_callback=True)


# -- a callback that hands the network to other threads --------------------------------------------


def test_a_callback_may_hand_the_network_to_a_thread_pool_and_wait():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 4)), rng.integers(0, 3, 64)
    net = fm.MLP([4, 8, 3], loss="cross_entropy", seed=0, n_threads=1)
    seen = []

    def callback(epoch, history):
        with ThreadPoolExecutor(2) as pool:
            seen.append([f.result(timeout=60) for f in [pool.submit(net.predict, X), pool.submit(net.copy)]])
        seen.append(net.sgd_step(X[:4], y[:4], 0.01))  # a change from the callback waits for their reads

    done = []
    fitter = threading.Thread(target=lambda: done.append(net.fit(X, y, epochs=2, eta=0.01, callback=callback)))
    fitter.start()
    fitter.join(120)
    assert not fitter.is_alive(), "the callback's thread pool waited for the fit"
    predictions, twin = seen[0]
    assert predictions.shape == (64,) and twin.params.shape == net.params.shape
    assert len(done) == 1 and len(seen) == 4 and np.isfinite(seen[1])


def test_the_lock_works_where_the_rlock_tells_no_count(monkeypatch):
    """CPython releases whose RLock has no _recursion_count (Debian 12's 3.11.2, 3.10): the
    lock goes by whether the thread holds it, nested writes and reads included."""
    from fastmlp import _locking

    monkeypatch.setattr(_locking, "EXACT", False)
    monkeypatch.setattr(_locking._Counted, "_holds", lambda self: int(self._is_owned()))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    net = fm.MLP([3, 4, 1], seed=0)
    seen = []

    def callback(epoch, history):
        seen.append(net.predict(X[:2]).shape)
        net.sgd_step(X[:1], y[:1], eta=0.01)

    net.fit(X, y, epochs=2, callback=callback)
    with net._lock.writing():
        with net._lock.reading():
            net.forward(X[:1])
    reader = threading.Thread(target=lambda: seen.append(net.predict(X[:3]).shape))
    reader.start()
    reader.join(10)
    assert seen == [(2, 1), (2, 1), (3, 1)]
    assert not net._lock._alone._is_owned()
