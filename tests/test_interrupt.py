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
from conftest import OPTIMIZERS

# The child trains 784-1024-10 (about 0.8 million weights) on 16,000 samples for far more
# epochs than it could finish: one full-batch gradient alone costs about 25 GFLOP, seconds
# on one core, so a Ctrl-C noticed only between whole passes over the data comes too late.
CHILD = textwrap.dedent(
    """
    import signal
    import sys
    import time
    import numpy as np
    import scipy.optimize  # L-BFGS imports it on first use: have that done before the signal
    # A runner that started the tests in the background may have left SIGINT ignored, and
    # Python then installs no KeyboardInterrupt for it: as for a user at a terminal, it does.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import fastmlp as fm
    kind = sys.argv[1]
    rng = np.random.default_rng(0)
    # A full-batch step over 64,000 rows is several seconds of work, which fit takes in parts.
    X = rng.standard_normal((64_000 if kind.startswith("full-batch") else 16_000, 784), dtype=np.float32)
    y = rng.integers(0, 10, len(X))
    if kind.startswith("estimator"):  # scikit-learn's interface over the same network
        import warnings
        from fastmlp.estimators import MLPClassifier
        solver = kind.split("-")[1]
        model = MLPClassifier((1024,), solver=solver, batch_size=32, max_iter=1000, tol=0, random_state=0)
        def train():
            # Like scikit-learn's, the SGD solvers end the fit with a warning on Ctrl-C.
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                model.fit(X, y)
            if not any("interrupted" in str(w.message) for w in seen):
                print("finished", flush=True)
                sys.exit()
            raise KeyboardInterrupt
        def usable():
            net = model.net_
            ok = bool(np.isfinite(net.params).all()) and model.predict(X[:5]).shape == (5,)
            net.partial_fit(X[:8], y[:8], eta=0.01)  # trains on (the labels 0..9 are its classes)
            return ok and bool(np.isfinite(net.params).all())
    else:
        options = {
            "per-sample": dict(batch_size=1),
            "minibatch": dict(batch_size=32),
            "momentum": dict(batch_size=1, optimizer="momentum"),
            "nesterov": dict(batch_size=32, optimizer="nesterov"),
            "adam": dict(batch_size=32, optimizer="adam"),
            "dropout": dict(batch_size=32, dropout=0.2, update_dropout=0.1),
            "lbfgs": dict(solver="lbfgs"),
            "full-batch": dict(batch_size=None, dropout=0.2, update_dropout=0.1),
            "full-batch-adam": dict(batch_size=None, optimizer="adam"),
        }[kind]
        net = fm.MLP([784, 1024, 10], loss="cross_entropy", dtype="float32", seed=0)
        def train():
            net.fit(X, y, epochs=1000, eta=0.01, **options)
            print("finished", flush=True)
            sys.exit()
        def usable():
            ok = bool(np.isfinite(net.params).all()) and net.predict(X[:5]).shape == (5,)
            net.partial_fit(X[:8], y[:8], eta=0.01, batch_size=options.get("batch_size", 1))  # trains on
            return ok and bool(np.isfinite(net.params).all())
    print("training", flush=True)
    try:
        train()
    except KeyboardInterrupt as exc:
        caught = time.monotonic()
        print("interrupted", usable(), type(getattr(exc, "history", None)).__name__, caught, flush=True)
    """
)
KINDS = ["per-sample", "minibatch", "momentum", "nesterov", "adam", "dropout", "lbfgs", "full-batch", "full-batch-adam"]
ESTIMATORS = ["estimator-sgd", "estimator-adam", "estimator-lbfgs"]
try:
    import sklearn  # noqa: F401
except ImportError:
    ESTIMATORS = []


# The child makes one call on a network of 17 million weights that takes many seconds
# (20,000 rows: 3.4 * 10^11 multiply-adds forward, three times that for a gradient).
CALL_CHILD = textwrap.dedent(
    """
    import signal
    import sys
    import time
    import numpy as np
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import fastmlp as fm
    kind = sys.argv[1]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 64), dtype=np.float32)
    y = rng.integers(0, 10, len(X))
    net = fm.MLP([64, 4096, 4096, 10], loss="cross_entropy", dtype="float32", seed=0)
    before = net.params.copy()
    call = {"predict": lambda: net.predict(X), "forward": lambda: net.forward(X),
            "loss_value": lambda: net.loss_value(X, y), "gradient": lambda: net.gradient(X, y)}[kind]
    print("calling", flush=True)
    try:
        call()
        print("finished", flush=True)
    except KeyboardInterrupt:
        caught = time.monotonic()
        unchanged = bool(np.array_equal(net.params, before))
        print("interrupted", unchanged and net.predict(X[:5]).shape == (5,), caught, flush=True)
    """
)


def interrupt(script, kind, cwd):
    """Start the child, send it SIGINT half a second after it says it has started, and
    return its output split into words, and the seconds from the signal to its
    KeyboardInterrupt (None if it was not interrupted)."""
    child = subprocess.Popen([sys.executable, "-c", script, kind], stdout=subprocess.PIPE, text=True, cwd=cwd)
    try:  # cwd: import the package from the path (PYTHONPATH or the installed one), not the checkout
        assert child.stdout.readline().strip() in ("training", "calling")
        time.sleep(0.5)
        sent = time.monotonic()  # the system's clock, which the child reads too
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=60)
    finally:
        child.kill()
    words = out.split()
    return words, float(words[-1]) - sent if words[:1] == ["interrupted"] else None


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
@pytest.mark.parametrize("kind", KINDS + ESTIMATORS)
def test_ctrl_c_during_a_long_fit_interrupts_it_and_leaves_a_usable_model(kind, tmp_path):
    # SIGINT arrives a moment after training starts and must end it within a second or
    # so (generous for a loaded machine; the fit would take minutes).
    words, waited = interrupt(CHILD, kind, tmp_path)
    # The estimators' SGD solvers end without an exception, so without a history.
    history = "NoneType" if kind in ("estimator-sgd", "estimator-adam") else "History"
    assert words[:3] == ["interrupted", "True", history], words
    assert waited < 2.0, f"{kind}: the fit went on for {waited:.1f} s after Ctrl-C"


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
@pytest.mark.parametrize("kind", ["predict", "forward", "loss_value", "gradient"])
def test_ctrl_c_during_one_huge_call_interrupts_it(kind, tmp_path):
    words, waited = interrupt(CALL_CHILD, kind, tmp_path)
    assert words[:2] == ["interrupted", "True"], words
    assert waited < 2.0, f"{kind}: the call went on for {waited:.1f} s after Ctrl-C"


def test_the_epoch_in_pieces_equals_one_call(monkeypatch):
    # Splitting the epoch between kernel calls must not change what is computed.
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(101, 6)), rng.integers(0, 3, 101)
    results = []
    for work in [10**9, 500]:
        monkeypatch.setattr(fm._engine.feeding, "WORK_PER_CALL", work)
        for batch_size in [1, 4]:
            net = fm.MLP([6, 5, 3], loss="cross_entropy", seed=0)
            hist = net.fit(X, y, epochs=2, batch_size=batch_size, eta=0.05, seed=2)
            results.append((net.params.copy(), hist.loss))
    for (p_whole, l_whole), (p_parts, l_parts) in zip(results[:2], results[2:]):
        np.testing.assert_allclose(p_parts, p_whole, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(l_parts, l_whole, rtol=1e-13)


@pytest.mark.parametrize("weighted", [False, True])
def test_the_gradient_in_parts_equals_one_call(monkeypatch, backend, weighted):
    # L-BFGS's gradient passes go to the kernels in parts of rows (so that Ctrl-C is noticed);
    # the parts' means, combined by their rows, are the mean over all rows.
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(101, 6)), rng.integers(0, 3, 101)
    weight = rng.uniform(0.0, 2.0, 101) if weighted else None
    net = fm.MLP([6, 5, 3], loss="cross_entropy", seed=0, backend=backend)
    whole = net.gradient(X, y, sample_weight=weight)
    monkeypatch.setattr(fm._engine.feeding, "PART_ROWS", 7)
    monkeypatch.setattr(fm._engine.feeding, "WORK_PER_CALL", 1)
    calls = []
    kernel = net.backend.mean_gradient
    monkeypatch.setattr(net, "backend", net.backend._replace(
        mean_gradient=lambda arch, params, X, *args: calls.append(len(X)) or kernel(arch, params, X, *args)))
    parts = net.gradient(X, y, sample_weight=weight)
    assert calls == [7] * 14 + [3]
    assert parts[0] == pytest.approx(whole[0], rel=1e-13)
    for g_parts, g_whole in zip(parts[1], whole[1]):
        np.testing.assert_allclose(g_parts, g_whole, rtol=1e-12, atol=1e-15)
    hist = [fm.MLP([6, 5, 3], loss="cross_entropy", seed=0).fit(X, y, epochs=3, solver="lbfgs").loss]
    monkeypatch.undo()
    hist.append(fm.MLP([6, 5, 3], loss="cross_entropy", seed=0).fit(X, y, epochs=3, solver="lbfgs").loss)
    np.testing.assert_allclose(hist[0], hist[1], rtol=1e-10)


STEP_OPTIONS = [{}, dict(l2=0.01, l1=0.001), dict(dropout=0.3, update_dropout=0.2), "weights"]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("options", STEP_OPTIONS, ids=["plain", "penalties", "dropout", "weights"])
def test_a_step_in_parts_equals_the_step_in_one_call_and_the_reference(monkeypatch, optimizer, options):
    # A step too large for one kernel call has its gradient summed in parts and is then made
    # at once; the weights, the losses and the optimizer's state are those of one call.
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(103, 6)), rng.integers(0, 3, 103)
    if options == "weights":
        options = dict(sample_weight=rng.uniform(0.0, 2.0, 103), class_weight="balanced")
    batch_size = None if optimizer != "adam" else 40  # adam: steps of 40, 40 and 23 rows

    def trained(backend, parts):
        with monkeypatch.context() as small:
            if parts:
                small.setattr(fm._engine.feeding, "WORK_PER_CALL", 1)
                small.setattr(fm._engine.feeding, "PART_ROWS", 10)
            net = fm.MLP([6, 5, 3], loss="cross_entropy", seed=0, backend=backend)
            calls = []
            kernel = net.backend.step_gradient
            net.backend = net.backend._replace(step_gradient=lambda *a, **k: calls.append(1) or kernel(*a, **k))
            history = net.fit(X, y, epochs=3, batch_size=batch_size, eta=0.1, optimizer=optimizer, seed=2, **options)
        assert len(calls) == (3 * (11 if batch_size is None else 4 + 4 + 3) if parts else 0)
        state = None if net.optimizer is None else (net.optimizer.m, net.optimizer.v, net.optimizer.t)
        return net.params, history.loss, state

    whole, parts, reference = trained("cython", False), trained("cython", True), trained("reference", True)
    for other, tolerance in ((parts, 1e-13), (reference, 1e-12)):
        np.testing.assert_allclose(other[0], whole[0], rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(other[1], whole[1], rtol=tolerance)
        if whole[2] is not None:
            np.testing.assert_allclose(other[2][0], whole[2][0], rtol=tolerance, atol=tolerance)
            np.testing.assert_allclose(other[2][1], whole[2][1], rtol=tolerance, atol=tolerance)
            assert other[2][2] == whole[2][2]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_an_interruption_inside_a_step_in_parts_leaves_the_last_whole_step(monkeypatch, backend, optimizer):
    # Ctrl-C between the parts of a full-batch step's gradient (here: in the third epoch's
    # step, after four of its eleven parts) leaves the weights and the optimizer's state of
    # the second epoch, bit for bit, never a half-made step.
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(101, 6)), rng.integers(0, 3, 101)
    monkeypatch.setattr(fm._engine.feeding, "WORK_PER_CALL", 1)
    monkeypatch.setattr(fm._engine.feeding, "PART_ROWS", 10)
    settings = dict(batch_size=None, eta=0.1, optimizer=optimizer, seed=5, dropout=0.1)
    finished = fm.MLP([6, 5, 3], loss="cross_entropy", seed=0, backend=backend)
    finished.fit(X, y, epochs=2, **settings)
    net = fm.MLP([6, 5, 3], loss="cross_entropy", seed=0, backend=backend)
    calls = []
    kernel = net.backend.step_gradient

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2 * 11 + 5:
            raise KeyboardInterrupt
        return kernel(*args, **kwargs)

    net.backend = net.backend._replace(step_gradient=interrupted)
    with pytest.raises(KeyboardInterrupt) as info:
        net.fit(X, y, epochs=5, **settings)
    assert info.value.history.epochs == 2
    np.testing.assert_array_equal(net.params, finished.params)
    if optimizer != "sgd":
        np.testing.assert_array_equal(net.optimizer.m, finished.optimizer.m)
        np.testing.assert_array_equal(net.optimizer.v, finished.optimizer.v)
        assert net.optimizer.t == finished.optimizer.t == 2


def test_a_forward_pass_in_parts_equals_one_call(monkeypatch, backend):
    # Many rows go to the kernels in parts (so that Ctrl-C is noticed) and give what one call gives.
    rng = np.random.default_rng(6)
    X = rng.normal(size=(101, 6))
    net = fm.MLP([6, 5, 3], loss="cross_entropy", seed=0, backend=backend)
    whole = net.forward(X)
    monkeypatch.setattr(fm._engine.feeding, "WORK_PER_CALL", 1)
    monkeypatch.setattr(fm._engine.feeding, "FORWARD_ROWS", 8)
    calls = []
    kernel = net.backend.forward
    net.backend = net.backend._replace(forward=lambda arch, params, X: calls.append(len(X)) or kernel(arch, params, X))
    parts = net.forward(X)
    assert calls == [8] * 12 + [5]
    np.testing.assert_allclose(parts, whole, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(net.predict(X), whole.argmax(axis=1))


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
def test_after_ctrl_c_the_optimizer_state_counts_the_steps_the_weights_took():
    # Adam's step count t must agree with the weights and moments a Ctrl-C leaves: replaying
    # t steps one by one from the same start gives the same weights, bit for bit. (The count
    # used to miss the steps of the kernel call that the Ctrl-C interrupted.)
    import threading

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20_000, 64)), rng.integers(0, 10, 20_000)
    net = fm.MLP([64, 256, 10], loss="cross_entropy", seed=0)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            net.fit(X, y, epochs=1000, batch_size=32, optimizer="adam", seed=1, eta=0.001)
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    twin = fm.MLP([64, 256, 10], loss="cross_entropy", seed=0)
    shuffles = np.random.default_rng(1)
    for step in range(net.optimizer.t):
        if step % 625 == 0:
            order = shuffles.permutation(len(X))
        rows = order[step % 625 * 32 : (step % 625 + 1) * 32]
        twin.sgd_step(X[rows], y[rows], 0.001, optimizer="adam")
    np.testing.assert_array_equal(twin.params, net.params)
    np.testing.assert_array_equal(twin.optimizer.m, net.optimizer.m)


def test_an_interruption_inside_a_reference_epoch_leaves_the_count(monkeypatch):
    # The reference kernels store their state at the end, so a Ctrl-C inside one changes nothing.
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    net = fm.MLP([3, 4, 2], loss="cross_entropy", seed=0, backend="reference")
    net.fit(X, y, epochs=1, batch_size=4, optimizer="adam")
    kept = net.params.copy(), net.optimizer.t

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(net, "backend", net.backend._replace(optimizer_epoch=interrupted))
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, epochs=1, batch_size=4, optimizer="adam")
    np.testing.assert_array_equal(net.params, kept[0])
    assert net.optimizer.t == kept[1] == 5
