"""Ctrl-C during a long fit reaches the user quickly and leaves a usable network."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import fastmlp as fm

CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import fastmlp as fm
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40_000, 784)).astype(np.float32)
    y = rng.integers(0, 10, len(X))
    net = fm.MLP([784, 1024, 10], loss="cross_entropy", dtype="float32", seed=0)
    print("training", flush=True)
    try:
        net.fit(X, y, epochs=1, batch_size=int(sys.argv[1]), eta=0.01)
    except KeyboardInterrupt:
        ok = bool(np.isfinite(net.params).all()) and net.predict(X[:5]).shape == (5,)
        print("interrupted", ok, flush=True)
    else:
        print("finished", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
@pytest.mark.parametrize("batch_size", [1, 32])
def test_ctrl_c_during_one_long_epoch_interrupts_it_and_leaves_a_usable_model(batch_size, tmp_path):
    # One epoch of 40,000 samples of 784-1024-10 takes several seconds (about 0.5 GFLOP
    # per 1,000 samples); SIGINT arrives a moment after it starts and must end it well
    # before it would have finished.
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(batch_size)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )  # cwd: import the installed package, not the checkout's sources
    assert child.stdout.readline().strip() == "training"
    time.sleep(0.5)
    sent = time.perf_counter()
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    waited = time.perf_counter() - sent
    assert out.split() == ["interrupted", "True"], out
    assert waited < 2.0  # generous for a loaded machine; the whole epoch takes far longer


def test_the_epoch_in_pieces_equals_one_call(monkeypatch):
    # Splitting the epoch between kernel calls must not change what is computed.
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(101, 6)), rng.integers(0, 3, 101)
    results = []
    for work in [10**9, 500]:
        monkeypatch.setattr(fm.training, "WORK_PER_CALL", work)
        for batch_size in [1, 4]:
            net = fm.MLP([6, 5, 3], loss="cross_entropy", seed=0)
            hist = net.fit(X, y, epochs=2, batch_size=batch_size, eta=0.05, seed=2)
            results.append((net.params.copy(), hist.loss))
    for (p_whole, l_whole), (p_parts, l_parts) in zip(results[:2], results[2:]):
        np.testing.assert_allclose(p_parts, p_whole, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(l_parts, l_whole, rtol=1e-13)
