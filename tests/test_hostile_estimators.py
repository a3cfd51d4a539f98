"""The scikit-learn estimators under hostile use: reads from other threads during a fit,
parameters changed between warm-started fits, bad n_threads on the predict path."""
import threading

import numpy as np
import pytest

import fastmlp as fm
from fastmlp._sklearn import fit_loop
from fastmlp.estimators import MLPClassifier, MLPRegressor


def regression(n=200, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.sin(X @ rng.normal(size=d))


def test_a_read_never_writes_the_network_even_when_coefs_were_set(tmp_path):
    X, y = regression()
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    before = est.net_.params.copy()
    est.coefs_[0] = est.coefs_[0] * 2  # the user's own weights, scikit-learn style
    doubled = est.predict(X)
    est.score(X, y)
    est.save(tmp_path / "est.npz")
    assert np.array_equal(est.net_.params, before)  # the reads left the network alone
    assert not np.allclose(doubled, est.net_.forward(X)[:, 0])  # and predicted with the user's weights
    assert np.allclose(fm.load(tmp_path / "est.npz").predict(X), doubled)
    est.partial_fit(X, y)  # training takes them over
    assert not np.array_equal(est.net_.params, before)


@pytest.mark.parametrize("read", ["predict", "score", "save"])
def test_reads_from_another_thread_during_fit_do_not_rewind_it(read, tmp_path, monkeypatch):
    X, y = regression(400)
    options = dict(hidden_layer_sizes=(16,), max_iter=60, tol=0, n_iter_no_change=1000, random_state=0,
                   batch_size=32, learning_rate_init=0.01)
    alone = MLPRegressor(**options).fit(X, y)
    est = MLPRegressor(**options).fit(X, y)  # fitted once, so that the reads have coefs_ to compare
    est.set_params(warm_start=False)
    calls = {"predict": lambda: est.predict(X[:10]), "score": lambda: est.score(X[:10], y[:10]),
             "save": lambda: est.save(tmp_path / "est.npz")}
    stop, reads, read_done = threading.Event(), [], threading.Event()

    def reader():
        while not stop.is_set():
            calls[read]()
            reads.append(1)
            read_done.set()

    # Every fifth epoch of the fit waits for a read to finish, so that reads land between
    # epochs however busy the machine is.
    end_epoch = fit_loop._end_epoch

    def end_epoch_after_a_read(est_, loss, n):
        end_epoch(est_, loss, n)
        if est_ is est and est_.n_iter_ % 5 == 0:
            read_done.clear()
            assert read_done.wait(30), "no read finished during the fit"

    monkeypatch.setattr(fit_loop, "_end_epoch", end_epoch_after_a_read)
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        est.fit(X, y)  # afresh, from the same seed as ``alone``
    finally:
        stop.set()
        thread.join(60)
    assert len(reads) >= 12
    assert est.loss_curve_ == alone.loss_curve_
    assert all(np.array_equal(a, b) for a, b in zip(est.coefs_, alone.coefs_))


@pytest.mark.parametrize("change", [{"activation": "tanh"}, {"activation": "leaky_relu"},
                                    {"activation": "leaky_relu", "activation_params": {"alpha": 0.3}}])
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_warm_start_follows_a_changed_activation(change, how, tmp_path):
    X, y = regression()
    est = MLPRegressor(hidden_layer_sizes=(8,), activation="relu", max_iter=3,
                       random_state=0, solver="sgd").fit(X, y)
    est.set_params(warm_start=True, max_iter=1, **{"activation_params": None, **change})
    if how == "warm_start":
        est.fit(X, y)
    else:
        est.partial_fit(X, y)
    theta = fm.activation({"tanh": "tanh", "leaky_relu": "leaky_relu"}[change["activation"]],
                          **(change.get("activation_params") or {}))
    assert est.net_.activations[0] == theta
    # predictions are those of the new theta over coefs_ (computed by hand)
    hidden = np.asarray([theta.theta(s) for s in (X @ est.coefs_[0] + est.intercepts_[0]).ravel()])
    expected = hidden.reshape(len(X), -1) @ est.coefs_[1] + est.intercepts_[1]
    assert np.allclose(est.predict(X), expected.ravel())
    est.save(tmp_path / "est.npz")
    again = fm.load(tmp_path / "est.npz")
    assert again.get_params()["activation"] == change["activation"]
    assert np.allclose(again.predict(X), est.predict(X))


def test_an_unchanged_activation_keeps_the_network_and_its_optimizer():
    X, y = regression()
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).partial_fit(X, y)
    net, optimizer = est.net_, est.net_.optimizer
    est.partial_fit(X, y)
    assert est.net_ is net and est.net_.optimizer is optimizer


@pytest.mark.parametrize("n_threads", [0, -1, 1.5, "2", True])
@pytest.mark.parametrize("estimator", [MLPRegressor, MLPClassifier])
def test_bad_n_threads_is_refused_on_the_predict_path(estimator, n_threads):
    X, y = regression()
    if estimator is MLPClassifier:
        y = (y > 0).astype(int)
    est = estimator(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    est.set_params(n_threads=n_threads)
    for read in (est.predict, lambda X: est.score(X, y)):
        with pytest.raises(ValueError, match="n_threads"):
            read(X)
