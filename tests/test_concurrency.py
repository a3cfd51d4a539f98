"""One network used from several threads: training calls run one after the other, reads
see whole weights, predictions run side by side, and separate networks train in parallel
exactly as they would one after the other."""
import functools
import pickle
import threading
import time
import warnings

import numpy as np
import pytest

import fastmlp as fm

import conftest
from conftest import cython_variants


data = functools.partial(conftest.three_classes, d=6)


def net_of(seed=0, sizes=(6, 16, 3), backend=None):
    return fm.MLP(list(sizes), loss="cross_entropy", seed=seed, n_threads=1, backend=backend)


def run_together(*calls, timeout=120):
    """Run each call in its own thread, all released at once; re-raise the first error."""
    start, errors = threading.Barrier(len(calls)), []

    def run(call):
        try:
            start.wait()
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a thread did not finish: deadlock?"
    if errors:
        raise errors[0]


# -- training calls on one network run one after the other --------------------------------------


@pytest.mark.parametrize("backend", cython_variants())
@pytest.mark.parametrize("batch_size", [1, 8])
def test_two_fits_of_one_network_at_once_equal_the_two_one_after_the_other(backend, batch_size):
    X, y = data(4000)
    a = dict(epochs=3, batch_size=batch_size, eta=0.05, seed=1)
    b = dict(epochs=3, batch_size=batch_size, eta=0.02, seed=2, optimizer="momentum")
    orders = []
    for first, second in [(a, b), (b, a)]:
        net = net_of(backend=backend, sizes=(6, 64, 3))
        net.fit(X, y, **first)
        net.fit(X, y, **second)
        orders.append(net.params.copy())
    net = net_of(backend=backend, sizes=(6, 64, 3))
    run_together(lambda: net.fit(X, y, **a), lambda: net.fit(X, y, **b))
    # interleaved updates would match neither order
    assert any(np.array_equal(net.params, p) for p in orders)


CHANGES = {
    "fit": lambda net, X, y: net.fit(X, y, epochs=1, eta=0.01),
    "partial_fit": lambda net, X, y: net.partial_fit(X, y, eta=0.01),
    "sgd_step": lambda net, X, y: net.sgd_step(X, y, 0.01),
    "set_weights": lambda net, X, y: net.set_weights([W + 1.0 for W in net.weights]),
    "initialise": lambda net, X, y: net.initialise(),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_training_call_waits_while_another_thread_fits(change):
    X, y = data(64)
    net = net_of()
    inside, done = threading.Event(), threading.Event()
    seen_done_during_fit = []

    def callback(epoch, history):
        if epoch == 1:
            inside.set()
            # the other thread's call has had time to run if nothing holds it back
            seen_done_during_fit.append(done.wait(0.3))

    def other():
        inside.wait(60)
        CHANGES[change](net, X, y)
        done.set()

    run_together(lambda: net.fit(X, y, epochs=2, eta=0.01, callback=callback), other)
    assert seen_done_during_fit == [False]
    assert done.is_set()


def test_the_training_thread_may_call_the_network_from_its_callback():
    X, y = data(64)
    net = net_of()
    seen = []

    def callback(epoch, history):
        seen.append(net.predict(X[:3]))
        net.sgd_step(X[:2], y[:2], 0.01)
        net.set_weights([W.copy() for W in net.weights])
        seen.append(net.partial_fit(X, y, eta=0.01).epochs)

    run_together(lambda: net.fit(X, y, epochs=2, eta=0.01, callback=callback))
    assert len(seen) == 4 and seen[1] == seen[3] == 1


# -- reads see whole weights --------------------------------------------------------------------


def while_training(read, steps=60):
    """Call read(net, X, y) over and over in one thread while another takes ``steps``
    minibatch steps of 64 on 200-400-10 (each runs for a millisecond or so inside the
    kernels, without the GIL); returns the network, X, y, the weights after every step
    (and before the first), and what the reads returned."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(64, 200)), rng.integers(0, 10, 64)
    net = fm.MLP([200, 400, 10], loss="cross_entropy", seed=0, n_threads=1)
    states, results, stop = [net.params.copy()], [], threading.Event()

    def train():
        for _ in range(steps):
            net.sgd_step(X, y, 0.05)
            states.append(net.params.copy())
        stop.set()

    def look():
        while not stop.is_set():
            results.append(read(net, X, y))

    run_together(train, look)
    assert results
    return net, X, y, states, results


READS = {
    "forward": lambda net, X, y: net.forward(X[:8]),
    "predict": lambda net, X, y: net.predict(X[:8]),
    "gradient": lambda net, X, y: net.gradient(X[:8], y[:8])[1][0],
}


@pytest.mark.parametrize("read", list(READS))
def test_reads_while_another_thread_trains_see_the_weights_of_a_whole_step(read):
    net, X, y, states, results = while_training(READS[read])
    twin, allowed = net.copy(), set()
    for params in states:
        twin.params[...] = params
        allowed.add(READS[read](twin, X, y).tobytes())
    torn = sum(r.tobytes() not in allowed for r in results)
    assert torn == 0, f"{torn} of {len(results)} reads saw weights no whole step left"


def test_a_network_pickled_or_copied_while_another_thread_trains_it_is_whole():
    def save(net, X, y):
        return pickle.loads(pickle.dumps(net)).params.tobytes(), net.copy().params.tobytes()

    _, _, _, states, results = while_training(save, steps=40)
    whole = {params.tobytes() for params in states}
    assert all(a in whole and b in whole for a, b in results)


def test_a_network_saved_while_another_thread_trains_it_is_whole(tmp_path):
    files = iter(range(10**6))

    def save(net, X, y):
        path = tmp_path / f"{next(files)}.npz"
        net.save(path)
        return path

    _, _, _, states, paths = while_training(save, steps=30)
    whole = {params.tobytes() for params in states}
    assert all(fm.load(path).params.tobytes() in whole for path in paths)


def test_a_loaded_or_copied_network_has_a_lock_of_its_own(tmp_path):
    X, y = data(64)
    net = net_of()
    net.save(tmp_path / "net.npz")
    twins = [pickle.loads(pickle.dumps(net)), net.copy(), fm.load(tmp_path / "net.npz")]
    with net._lock.writing():  # another thread training the original does not hold up the twins
        run_together(*[lambda twin=twin: twin.fit(X, y, epochs=1, eta=0.01) for twin in twins])
    assert all(twin._lock is not net._lock for twin in twins)


def test_a_stream_of_predictions_does_not_hold_training_off():
    X, y = data(64)
    net = net_of()
    stop, fitted = threading.Event(), []

    def predict():
        while not stop.is_set():
            net.predict(X)

    def train():
        try:
            fitted.append(net.fit(X, y, epochs=3, eta=0.01).epochs)
        finally:
            stop.set()

    run_together(predict, predict, predict, train)
    assert fitted == [3]


# -- many threads predicting, separate networks training ------------------------------------------


@pytest.mark.parametrize("backend", cython_variants() + ["reference"])
def test_threads_predicting_with_one_network_give_the_answers_of_one_thread(backend):
    X, _ = data(600)
    net = net_of(backend=backend)
    parts = np.array_split(np.arange(len(X)), 3)
    # the same calls, in one thread (a batch's rows may round differently from the whole's)
    expected = [(net.predict(X[rows]), net.forward(X[rows])) for rows in parts]
    got = {}

    def predict(k):
        for _ in range(5):
            got[k] = [(net.predict(X[rows]), net.forward(X[rows])) for rows in parts]

    run_together(*[lambda k=k: predict(k) for k in range(4)])
    for k in range(4):
        for (labels, H), (labels_1, H_1) in zip(got[k], expected):
            np.testing.assert_array_equal(labels, labels_1)
            np.testing.assert_array_equal(H, H_1)


@pytest.mark.parametrize("backend", cython_variants())
@pytest.mark.parametrize("options", [dict(batch_size=1), dict(batch_size=16), dict(batch_size=16, optimizer="adam")],
                         ids=["per-sample", "minibatch", "adam"])
def test_two_networks_trained_in_two_threads_equal_them_trained_one_after_the_other(backend, options):
    X, y = data(500)
    one_by_one = [net_of(seed=s, backend=backend) for s in (1, 2)]
    for net in one_by_one:
        net.fit(X, y, epochs=3, eta=0.02, seed=5, **options)
    together = [net_of(seed=s, backend=backend) for s in (1, 2)]
    run_together(*[lambda net=net: net.fit(X, y, epochs=3, eta=0.02, seed=5, **options) for net in together])
    for a, b in zip(one_by_one, together):
        np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize("call", ["predict", "fit"])
def test_the_kernels_let_other_python_threads_run(call):
    # A thread counting in Python advances while another thread is inside one long kernel
    # call only if that call has let go of the GIL (no free core needed: the counting
    # thread runs whenever the OS gives it one).
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20_000, 200))
    y = rng.integers(0, 10, len(X))
    net = fm.MLP([200, 300, 10], loss="cross_entropy", seed=0, n_threads=1)
    work = (lambda: net.predict(X)) if call == "predict" else (lambda: net.fit(X[:2000], y[:2000], epochs=1))
    counts, stop = [], threading.Event()

    def count():
        n = 0
        while not stop.is_set():
            n += 1
        counts.append(n)

    def rate(during):
        counter = threading.Thread(target=count)
        counts.clear()
        stop.clear()
        counter.start()
        start = time.perf_counter()
        during()
        seconds = time.perf_counter() - start
        stop.set()
        counter.join()
        return counts[0] / seconds

    alone = rate(lambda: time.sleep(0.2))  # the counting thread with the GIL to itself
    beside = rate(work)
    # Holding the GIL through the kernels would leave the counter a few switch intervals.
    assert beside > 0.1 * alone, (beside, alone)


# -- the perceptron: the same rules -------------------------------------------------------------


def perceptron_data(n, labels, seed):
    """Two classes that a line nearly separates (so fits run many epochs), named ``labels``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    direction = rng.normal(size=4)
    y = np.where(X @ direction + 0.3 * rng.normal(size=n) > 0, labels[1], labels[0])
    return X, y


def test_two_fits_of_one_perceptron_at_once_equal_the_two_one_after_the_other():
    a, b = perceptron_data(20_000, (0, 1), 1), perceptron_data(20_000, (5, 7), 2)

    def outcome(model):
        return model.w.tobytes(), tuple(model.mistakes), str(model.rng.bit_generator.state)

    orders = []
    for first, second in [(a, b), (b, a)]:
        model = fm.Perceptron(max_epochs=40, seed=0)
        with pytest.warns(fm.ConvergenceWarning):
            model.fit(*first)
            model.fit(*second)
        orders.append(outcome(model))
    model = fm.Perceptron(max_epochs=40, seed=0)
    with pytest.warns(fm.ConvergenceWarning):
        run_together(lambda: model.fit(*a), lambda: model.fit(*b))
    # interleaved epochs would draw the shuffles of both fits from one generator in turn
    assert outcome(model) in orders


def perceptron_while_fitting(read, fits=2000):
    """Call read(model, X) over and over in one thread while another fits the perceptron
    ``fits`` times (one epoch each), on two data sets in turn whose labels differ (0/1 and
    5/7); returns the (w, classes) after every fit and what the reads returned. X is
    large, so that checking it lets go of the GIL between a read's look at ``classes``
    and at ``w`` (without the lock, 2-7 of about 700 predictions mixed two fits)."""
    data_sets = [perceptron_data(400, (0, 1), 3), perceptron_data(400, (5, 7), 4)]
    X = perceptron_data(20_000, (0, 1), 6)[0]
    model = fm.Perceptron(max_epochs=1, seed=0)
    fitted, results, stop = [], [], threading.Event()

    def fit(k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fm.ConvergenceWarning)
            model.fit(*data_sets[k % 2])
        fitted.append((model.w.copy(), model.classes.copy()))

    fit(0)

    def train():
        for k in range(1, fits):
            fit(k)
        stop.set()

    def look():
        while not stop.is_set():
            results.append(read(model, X))

    run_together(train, look)
    assert results
    return fitted, results


@pytest.mark.parametrize("read", ["predict", "decision_function"])
def test_reads_while_another_thread_fits_the_perceptron_see_one_whole_fit(read):
    def call(model, X):
        return hash(getattr(model, read)(X).tobytes())

    fitted, results = perceptron_while_fitting(call)
    X, allowed = perceptron_data(20_000, (0, 1), 6)[0], set()
    for w, classes in fitted:
        s = w[0] + X @ w[1:]
        allowed.add(hash((classes[(s > 0).astype(np.intp)] if read == "predict" else s).tobytes()))
    torn = sum(r not in allowed for r in results)
    assert torn == 0, f"{torn} of {len(results)} reads mixed the results of two fits"


def test_a_perceptron_pickled_or_saved_while_another_thread_fits_it_is_whole(tmp_path):
    files = iter(range(10**6))

    def keep(model, X):
        path = tmp_path / f"{next(files)}.npz"
        model.save(path)
        return pickle.loads(pickle.dumps(model)), fm.load(path)

    fitted, results = perceptron_while_fitting(keep, fits=200)
    whole = {(w.tobytes(), classes.tobytes()) for w, classes in fitted}
    for copies in results:
        assert all((c.w.tobytes(), c.classes.tobytes()) in whole for c in copies)
        assert all(c._lock is not copies[0]._lock for c in copies[1:])


def test_threads_predicting_with_one_perceptron_give_the_answers_of_one_thread():
    X, y = perceptron_data(600, (0, 1), 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.ConvergenceWarning)
        model = fm.Perceptron(max_epochs=20, seed=0).fit(X, y)
    expected = model.predict(X)
    got = []
    run_together(*[lambda: got.extend(model.predict(X) for _ in range(20)) for _ in range(4)])
    assert len(got) == 80 and all(np.array_equal(labels, expected) for labels in got)
