"""Sparse inputs: scipy.sparse X in every format gives what the same X as a dense array gives,
on both backends and in both dtypes: outputs, predictions, losses and gradients, and the
weights after per-sample, minibatch and full-batch SGD (with penalties, dropout, sample
weights and the optimizers) and L-BFGS. Bad sparse input is refused by name, leaving the
network alone; the estimators take CSR and CSC matrices as scikit-learn's do."""
from __future__ import annotations

import numpy as np
import pytest

scipy_sparse = pytest.importorskip("scipy.sparse")

import fastmlp as fm  # noqa: E402
from fastmlp._engine import feeding  # noqa: E402
from conftest import (  # noqa: E402
    HIDDEN_IDS, HIDDEN_SPECS, LOSS_IDS, LOSSES, assert_weights_close, cython_variants, make_net, rejects,
    tolerance, twin,
)

SIZES = [12, 6, 5, 3]
POISSON = next(case for case in LOSSES if case.loss == "poisson")


def targets(case, rng, n, d_out):
    return case.make_y(rng, n, d_out)


def sparse_data(n=24, d=SIZES[0], density=0.25, seed=0, dtype=np.float64):
    """A CSR X (n, d) with about ``density`` nonzeros (some rows empty), and its dense twin."""
    rng = np.random.default_rng(seed)
    dense = rng.normal(0.0, 1.0, size=(n, d)) * (rng.random((n, d)) < density)
    dense[1] = 0  # a sample without a single nonzero input
    return scipy_sparse.csr_matrix(dense.astype(dtype)), dense.astype(dtype)


def pair(backend, dtype, case=LOSSES[0], activation="tanh", seed=3):
    """Two identical networks: one for the sparse X, one for the dense."""
    net = make_net(SIZES, activation, case, dtype=dtype, backend=backend, seed=seed)
    return net, net.copy()


# -- reading sparse X: every format, index type and layout --------------------------------


def formats(X):
    """X (CSR) in every scipy.sparse format and layout the API accepts."""
    coo = X.tocoo()
    unsorted = X.copy()
    for k in range(unsorted.shape[0]):  # reverse the order of each row's nonzeros
        lo, hi = unsorted.indptr[k], unsorted.indptr[k + 1]
        unsorted.indices[lo:hi] = unsorted.indices[lo:hi][::-1].copy()
        unsorted.data[lo:hi] = unsorted.data[lo:hi][::-1].copy()
    wide = X.copy()
    wide.indices, wide.indptr = wide.indices.astype(np.int64), wide.indptr.astype(np.int64)
    # Each row's entries twice, each with half its value: a CSR matrix with repeated columns.
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    order = np.argsort(np.r_[rows, rows], kind="stable")
    repeated = scipy_sparse.csr_matrix((np.r_[X.data / 2, X.data / 2][order], np.r_[X.indices, X.indices][order],
                                        2 * X.indptr), shape=X.shape)
    assert not repeated.has_canonical_format
    return {
        "csr": X, "csc": X.tocsc(), "coo": coo, "lil": X.tolil(), "dok": X.todok(), "bsr": X.tobsr(),
        "dia": X.todia(), "csr_array": scipy_sparse.csr_array(X), "coo_array": scipy_sparse.coo_array(X),
        "int64_indices": wide, "unsorted": unsorted, "repeated_columns": repeated,
        "integer_values": scipy_sparse.csr_matrix(np.round(X.toarray() * 3).astype(np.int64)),
    }


@pytest.mark.parametrize("layout", list(formats(sparse_data()[0])))
def test_every_format_reads_as_its_dense_array(backend, dtype, layout):
    X, _ = sparse_data()
    given = formats(X)[layout]
    net, _ = pair(backend, dtype)
    dense = given.toarray()
    np.testing.assert_allclose(net.forward(given), net.forward(dense), **tolerance(dtype))


def test_a_one_dimensional_sparse_array_is_one_sample(backend):
    X, dense = sparse_data()
    net, _ = pair(backend, "float64")
    h = net.forward(scipy_sparse.coo_array(dense[2]))
    assert h.shape == (SIZES[-1],)
    np.testing.assert_allclose(h, net.forward(dense[2]), **tolerance("float64"))


def test_a_csr_matrix_of_the_networks_dtype_is_read_without_a_copy():
    from fastmlp._engine.sparse import sparse_samples

    X, _ = sparse_data()
    rows, single = sparse_samples(X, SIZES[0], np.float64)
    assert not single and np.shares_memory(rows.data, X.data) and np.shares_memory(rows.indices, X.indices)


def test_sparse_rows_select_as_arrays_do():
    from fastmlp._engine.sparse import sparse_samples

    X, dense = sparse_data(n=30)
    rows, _ = sparse_samples(X, SIZES[0], np.float64)
    mask = np.random.default_rng(1).random(30) < 0.4
    for index in (slice(3, 17), slice(25, 40), mask, np.array([5, 1, 5, 29, 0])):
        np.testing.assert_array_equal(rows[index].toarray(), dense[index])


# -- outputs, losses and gradients -----------------------------------------------------------


@pytest.mark.parametrize("case", LOSSES, ids=LOSS_IDS)
@pytest.mark.parametrize("act", HIDDEN_SPECS, ids=HIDDEN_IDS)
def test_forward_and_predict_agree_with_dense(backend, dtype, act, case):
    X, dense = sparse_data()
    net, _ = pair(backend, dtype, case, act)
    np.testing.assert_allclose(net.forward(X), net.forward(dense), **tolerance(dtype))
    np.testing.assert_allclose(net.predict(X), net.predict(dense), **tolerance(dtype))


@pytest.mark.parametrize("case", LOSSES, ids=LOSS_IDS)
def test_loss_and_gradient_agree_with_dense(backend, dtype, case):
    X, dense = sparse_data()
    y = targets(case, np.random.default_rng(5), len(dense), SIZES[-1])
    weight = np.random.default_rng(6).uniform(0.2, 2.0, len(dense))
    net, _ = pair(backend, dtype, case, "elu")
    for sample_weight in (None, weight):
        loss, grads = net.gradient(X, y, sample_weight=sample_weight)
        loss_dense, grads_dense = net.gradient(dense, y, sample_weight=sample_weight)
        assert loss == pytest.approx(loss_dense, rel=tolerance(dtype)["rtol"])
        assert_weights_close(grads, grads_dense, **tolerance(dtype))
        assert net.loss_value(X, y, sample_weight) == pytest.approx(loss_dense, rel=tolerance(dtype)["rtol"])


@pytest.mark.parametrize("kernels", cython_variants())
@pytest.mark.parametrize("batch_size", [1, 5])
def test_every_build_of_the_kernels_agrees_with_the_reference_on_sparse_inputs(kernels, dtype, batch_size):
    X, _ = sparse_data()
    case = LOSSES[3]
    y = targets(case, np.random.default_rng(5), X.shape[0], SIZES[-1])
    net, _ = pair(kernels, dtype, case)
    ref = twin(net, backend="reference")
    np.testing.assert_allclose(net.forward(X), ref.forward(X), **tolerance(dtype))
    assert_weights_close(net.gradient(X, y)[1], ref.gradient(X, y)[1], **tolerance(dtype))
    net.fit(X, y, epochs=2, batch_size=batch_size, seed=4, eta=0.05, l2=0.01)
    ref.fit(X, y, epochs=2, batch_size=batch_size, seed=4, eta=0.05, l2=0.01)
    assert_weights_close(net.weights, ref.weights, **tolerance(dtype))


# -- training ---------------------------------------------------------------------------------

TRAINING = {
    "per-sample": {"batch_size": 1},
    "per-sample-l2-l1": {"batch_size": 1, "l2": 0.02, "l1": 0.002},
    "per-sample-weights": {"batch_size": 1, "sample_weight": "random"},
    "per-sample-l1": {"batch_size": 1, "l1": 0.01},
    "per-sample-l2-weights": {"batch_size": 1, "l2": 0.05, "sample_weight": "random"},
    "per-sample-dropout": {"batch_size": 1, "dropout": 0.3, "update_dropout": 0.1},
    "per-sample-momentum": {"batch_size": 1, "optimizer": "momentum"},
    "per-sample-nesterov-l2": {"batch_size": 1, "optimizer": "nesterov", "l2": 0.01},
    "per-sample-adam": {"batch_size": 1, "optimizer": "adam", "eta": 0.01},
    "minibatch": {"batch_size": 5},
    "minibatch-l2-l1-weights": {"batch_size": 5, "l2": 0.02, "l1": 0.002, "sample_weight": "random"},
    "minibatch-dropout": {"batch_size": 5, "dropout": 0.2, "update_dropout": 0.1},
    "minibatch-adam": {"batch_size": 5, "optimizer": "adam", "eta": 0.01},
    "full-batch": {"batch_size": None, "l2": 0.01},
    "lbfgs": {"solver": "lbfgs", "l2": 0.01},
}


@pytest.mark.parametrize("case", [LOSSES[0], LOSSES[3], LOSSES[5], POISSON], ids=["l2", "ce", "bce", "poisson"])
@pytest.mark.parametrize("how", list(TRAINING))
def test_training_on_sparse_rows_gives_the_dense_weights(backend, dtype, how, case):
    X, dense = sparse_data()
    y = targets(case, np.random.default_rng(5), len(dense), SIZES[-1])
    options = {"eta": 0.05, **TRAINING[how]}
    if options.get("sample_weight") == "random":
        options["sample_weight"] = np.random.default_rng(7).uniform(0.2, 2.0, len(dense))
    net, other = pair(backend, dtype, case, "relu")
    history = net.fit(X, y, epochs=2, seed=8, **options)
    dense_history = other.fit(dense, y, epochs=2, seed=8, **options)
    assert_weights_close(net.weights, other.weights, **tolerance(dtype))
    np.testing.assert_allclose(history.loss, dense_history.loss, **tolerance(dtype))


def test_lazy_penalties_match_the_dense_steps_over_long_gaps(dtype):
    """Per sample, a row of W^(1) whose input stays 0 for many steps takes their decay and
    soft threshold at once when it is next read (and at the end of each call): the same
    weights as the dense path's step-by-step penalties, with weights driven to 0 by L1."""
    X, dense = sparse_data(n=300, density=0.02, seed=3)
    y = targets(LOSSES[0], np.random.default_rng(5), 300, SIZES[-1])
    net, other = pair("cython", dtype)
    for l2, l1 in ((0.05, 0.0), (0.0, 0.02), (0.02, 0.01)):
        net.fit(X, y, epochs=2, batch_size=1, eta=0.05, l2=l2, l1=l1, seed=1)
        other.fit(dense, y, epochs=2, batch_size=1, eta=0.05, l2=l2, l1=l1, seed=1)
        assert_weights_close(net.weights, other.weights, **tolerance(dtype))
    assert (net.weights[0] == 0).sum() == (other.weights[0] == 0).sum() > 0


def test_sgd_step_and_validation_take_sparse_rows(backend):
    X, dense = sparse_data()
    y = targets(LOSSES[3], np.random.default_rng(5), len(dense), SIZES[-1])
    net, other = pair(backend, "float64", LOSSES[3])
    assert net.sgd_step(X[:4], y[:4], 0.1) == pytest.approx(other.sgd_step(dense[:4], y[:4], 0.1), rel=1e-12)
    for extra in ({"validation_fraction": 0.25}, {"validation_data": (X[:6], y[:6])}):
        given = extra if "validation_fraction" in extra else {"validation_data": (dense[:6], y[:6])}
        a = net.fit(X, y, epochs=2, batch_size=3, seed=2, **extra)
        b = other.fit(dense, y, epochs=2, batch_size=3, seed=2, **given)
        np.testing.assert_allclose(a.val_loss, b.val_loss, rtol=1e-12)
    assert_weights_close(net.weights, other.weights, **tolerance("float64"))


def test_steps_larger_than_one_kernel_call_are_summed_in_parts(monkeypatch, dtype):
    """A full-batch step on more rows than one call takes (fastmlp._engine.feeding._steps_in_parts)."""
    monkeypatch.setattr(feeding, "WORK_PER_CALL", 1)
    monkeypatch.setattr(feeding, "PART_ROWS", 7)
    X, dense = sparse_data(n=30)
    y = targets(LOSSES[3], np.random.default_rng(5), 30, SIZES[-1])
    for optimizer in ("sgd", "adam"):
        net, other = pair("cython", dtype, LOSSES[3])
        net.fit(X, y, epochs=2, batch_size=None, optimizer=optimizer, l2=0.01)
        other.fit(dense, y, epochs=2, batch_size=None, optimizer=optimizer, l2=0.01)
        assert_weights_close(net.weights, other.weights, **tolerance(dtype))


def test_a_kernel_call_of_sparse_rows_counts_only_the_weights_they_read():
    net = fm.MLP([100_000, 50, 10], seed=0)
    X = scipy_sparse.random(20, 100_000, density=0.001, format="csr", random_state=0)
    rows = feeding.inputs(net, X)[0]
    per_row = feeding.weights_per_row(net, rows)
    assert per_row == 51 * 10 + 50 * (1 + -(-rows.nnz // 20))
    assert feeding.weights_per_row(net, rows, batch_size=10, dense_steps=True) == per_row + 100_001 * 50 // 10
    assert feeding.part_rows(net, X=rows) > feeding.part_rows(net)


# -- refusals ----------------------------------------------------------------------------------


def broken(kind):
    X, _ = sparse_data()
    if kind == "nan":
        X.data[3] = np.nan
    elif kind == "inf":
        X.data[0] = -np.inf
    elif kind == "overflow-float32":
        X.data[0] = 1e300
    elif kind == "column-out-of-range":
        X.indices[2] = SIZES[0]
    elif kind == "negative-column":
        X.indices[2] = -1
    elif kind == "row-starts-out-of-order":
        X.indptr[3], X.indptr[4] = X.indptr[4], X.indptr[3] - 1
    return X


@pytest.mark.parametrize("kind, exc, match", [
    ("nan", ValueError, "NaN or infinity"),
    ("inf", ValueError, "NaN or infinity"),
    ("overflow-float32", ValueError, "overflow float32"),
    ("column-out-of-range", ValueError, "column numbers outside 0..11"),
    ("negative-column", ValueError, "column numbers outside 0..11"),
    ("row-starts-out-of-order", ValueError, "row starts"),
])
def test_broken_sparse_input_is_refused_by_name(backend, kind, exc, match):
    X = broken(kind)
    net, _ = pair(backend, "float32")
    y = np.zeros((X.shape[0], SIZES[-1]))
    for call in (lambda: net.forward(X), lambda: net.fit(X, y, epochs=1), lambda: net.sgd_step(X, y, 0.1),
                 lambda: net.gradient(X, y)):
        rejects(net, call, exc, match)


@pytest.mark.parametrize("X, exc, match", [
    (scipy_sparse.csr_matrix((4, 7)), ValueError, r"shape \(4, 7\); expected \(12,\) or \(n, 12\)"),
    (scipy_sparse.csr_matrix((0, 12)), ValueError, "X is empty"),
    (scipy_sparse.csr_matrix(np.ones((2, 12), dtype=np.complex128)), TypeError, "must be real"),
])
def test_wrong_sparse_shapes_and_types_are_refused(backend, X, exc, match):
    net, _ = pair(backend, "float64")
    rejects(net, lambda: net.forward(X), exc, match)
    rejects(net, lambda: net.fit(X, np.zeros((X.shape[0], 3)), epochs=1), exc, match)


def test_trace_asks_for_a_dense_sample():
    net, _ = pair("cython", "float64")
    X, _ = sparse_data()
    with pytest.raises(TypeError, match="trace takes one dense sample"):
        net.trace(X[0], np.zeros(SIZES[-1]))


# -- the estimators ----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_estimators_fit_sparse_x_as_its_dense_array(layout, solver):
    from fastmlp.estimators import MLPClassifier, MLPRegressor

    X, dense = sparse_data(n=60, density=0.3)
    X = X.asformat(layout)
    rng = np.random.default_rng(9)
    labels, values = rng.integers(0, 3, 60), rng.poisson(2.0, 60)
    params = {"hidden_layer_sizes": (7,), "solver": solver, "max_iter": 5, "random_state": 0, "batch_size": 16}
    for est, y in ((MLPClassifier(**params), labels), (MLPRegressor(loss="poisson", **params), values)):
        with pytest.warns(Warning):  # ConvergenceWarning: 5 iterations
            sparse_fit = est.fit(X, y)
        coefs, outputs = [W.copy() for W in sparse_fit.coefs_], sparse_fit.predict(X)
        with pytest.warns(Warning):
            est.fit(dense, y)
        for a, b in zip(coefs, est.coefs_):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(outputs, est.predict(dense), rtol=1e-9, atol=1e-12)


def test_the_room_for_a_step_of_sparse_rows_leaves_out_the_inputs(monkeypatch):
    """A full-batch step of sparse rows needs no dense copy of its rows: the memory check
    counts the hidden and output units only."""
    asked = []
    monkeypatch.setattr(feeding, "require", lambda nbytes, what: asked.append(nbytes))
    net = fm.MLP([100_000, 50, 10], dtype="float32", seed=0)
    X = scipy_sparse.random(64, 100_000, density=0.001, format="csr", random_state=0, dtype=np.float32)
    feeding.require_room(net, 64, feeding.inputs(net, X)[0])
    feeding.require_room(net, 64)
    assert asked == [5 * 64 * 60 * 4, 5 * 64 * 100_060 * 4]


def test_a_diverging_sparse_epoch_leaves_the_weights_of_the_last_finite_one(backend):
    X, dense = sparse_data()
    y = targets(LOSSES[0], np.random.default_rng(5), len(dense), SIZES[-1])
    net, _ = pair(backend, "float64")
    before = [W.copy() for W in net.weights]
    for options in ({"batch_size": 1, "l2": 0.01}, {"batch_size": 1}, {"batch_size": 4, "l1": 0.01}):
        with pytest.raises(fm.DivergenceError):
            net.fit(X * 1e200, y, epochs=1, eta=1e200, **options)
        assert_weights_close(net.weights, before, rtol=0, atol=0)


def test_per_sample_steps_on_sparse_rows_run_on_one_thread_and_say_so():
    """n_threads splits dense per-sample steps between threads; sparse rows step only the
    rows of W^(1) of their nonzeros, on one thread, with the same weights as without
    n_threads and a note in the history."""
    X, _ = sparse_data(n=40, d=400, density=0.05)
    y = np.random.default_rng(2).integers(0, 3, len(X.indptr) - 1)
    net = fm.MLP([400, 64, 3], loss="cross_entropy", seed=1, n_threads=2)
    alone = fm.MLP([400, 64, 3], loss="cross_entropy", seed=1)
    history = net.fit(X, y, epochs=2, batch_size=1, eta=0.05, seed=4)
    alone.fit(X, y, epochs=2, batch_size=1, eta=0.05, seed=4)
    assert history.threads == 1
    assert any("sparse" in note for note in history.notes)
    assert np.array_equal(net.params, alone.params)
