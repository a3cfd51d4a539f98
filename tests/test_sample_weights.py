"""Sample and class weights: a sample of weight c counts c times, in every training path,
in the kernels as in the reference, and in the validation scores."""
import functools
import numpy as np
import pytest

from fastmlp.datasets import stratified_mask

import conftest
from conftest import LOSSES, assert_weights_close, cython_variants, make_data, make_net, rejects, tolerance, twin
from fastmlp._engine import feeding

SIZES = [3, 5, 4, 3]
N = 12
L2_TANH, CE_LABELS, BCE = LOSSES[1], LOSSES[3], LOSSES[5]


net_and_data = functools.partial(conftest.net_and_data, case=CE_LABELS, sizes=SIZES, n=N)


def weights_for(n, seed=3):
    return np.random.default_rng(seed).uniform(0.0, 3.0, size=n)


PATHS = [
    dict(batch_size=1),
    dict(batch_size=4),
    dict(batch_size=1, l2=0.01, l1=0.001),
    dict(batch_size=5, optimizer="adam", eta=0.01),
    dict(batch_size=1, optimizer="nesterov", eta=0.05),
]


@pytest.mark.parametrize("kernel", cython_variants())
@pytest.mark.parametrize("case", [L2_TANH, CE_LABELS, BCE], ids=lambda c: c.id)
@pytest.mark.parametrize("options", PATHS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_kernels_match_the_reference(kernel, case, options, dtype):
    net, X, y = net_and_data(kernel, dtype, case=case)
    ref = twin(net, backend="reference")
    c = weights_for(N)
    fit = dict(epochs=2, eta=0.1, seed=4, sample_weight=c) | options
    hist = net.fit(X, y, **fit)
    hist_ref = ref.fit(X, y, **fit)
    assert_weights_close(net.weights, ref.weights, **tolerance(dtype))
    np.testing.assert_allclose(hist.loss, hist_ref.loss, **tolerance(dtype))


def test_a_weight_scales_the_per_sample_step(backend):
    """Per sample, weight c is the lecture's step with eta c."""
    net, X, y = net_and_data(backend)
    steps = net.copy()
    c = weights_for(N)
    net.fit(X, y, epochs=1, batch_size=1, eta=0.1, shuffle=False, sample_weight=c)
    for k in range(N):
        steps.sgd_step(X[k], y[k], 0.1 * c[k])
    assert_weights_close(net.weights, steps.weights, rtol=1e-12, atol=1e-14)


def test_whole_number_weights_repeat_samples(backend):
    """Over the full batch, weight m is m copies of the sample: the gradient of the mean of
    c_i l_i over n samples is sum(c) / n times the plain gradient over the copies."""
    net, X, y = net_and_data(backend)
    c = np.array([1, 2, 0, 3, 1, 1, 2, 1, 1, 4, 1, 1])
    loss, grad = net.gradient(X, y, sample_weight=c)
    loss_rep, grad_rep = net.gradient(np.repeat(X, c, axis=0), np.repeat(y, c, axis=0))
    assert loss == pytest.approx(loss_rep * c.sum() / N, rel=1e-12)
    for g, g_rep in zip(grad, grad_rep):
        np.testing.assert_allclose(g, g_rep * c.sum() / N, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_weight_zero_is_a_sample_left_out(backend, batch_size):
    net, X, y = net_and_data(backend, case=L2_TANH)
    without = net.copy()
    c = np.ones(N)
    c[[2, 7]] = 0
    keep = c > 0
    net.fit(X, y, epochs=1, batch_size=batch_size if batch_size == 1 else N, eta=0.1, shuffle=False, sample_weight=c)
    without.fit(X[keep], y[keep], epochs=1, batch_size=batch_size if batch_size == 1 else int(keep.sum()),
                eta=0.1 * (keep.sum() / N if batch_size > 1 else 1.0), shuffle=False)
    assert_weights_close(net.weights, without.weights, rtol=1e-12, atol=1e-14)


def test_balanced_class_weights(backend):
    net, X, _ = net_and_data(backend)
    y = np.array([0] * 6 + [1] * 4 + [2] * 2)
    expected = net.copy()
    net.fit(X, y, epochs=1, batch_size=3, eta=0.1, seed=1, class_weight="balanced")
    # n / (K n_k): 12 / (3 * 6), 12 / (3 * 4), 12 / (3 * 2)
    c = np.array([2 / 3] * 6 + [1.0] * 4 + [2.0] * 2)
    expected.fit(X, y, epochs=1, batch_size=3, eta=0.1, seed=1, sample_weight=c)
    assert_weights_close(net.weights, expected.weights, rtol=1e-12, atol=1e-14)


def test_class_weight_dict_multiplies_sample_weights(backend):
    net, X, y = net_and_data(backend)
    expected = net.copy()
    c = weights_for(N)
    net.fit(X, y, epochs=1, batch_size=1, eta=0.1, seed=1, sample_weight=c, class_weight={1: 3.0, 2: 0.5})
    per_class = np.array([1.0, 3.0, 0.5])[y]
    expected.fit(X, y, epochs=1, batch_size=1, eta=0.1, seed=1, sample_weight=c * per_class)
    assert_weights_close(net.weights, expected.weights, rtol=1e-12, atol=1e-14)


def test_binary_class_weight_on_one_sigmoid_output():
    case = type(BCE)("bce-one", "binary_cross_entropy", "sigmoid", "binary")
    net, X, y = net_and_data(case=case, sizes=[3, 4, 1])
    expected = net.copy()
    net.fit(X, y, epochs=1, eta=0.1, seed=2, class_weight={0: 0.25})
    expected.fit(X, y, epochs=1, eta=0.1, seed=2, sample_weight=np.where(y[:, 0] >= 0.5, 1.0, 0.25))
    assert_weights_close(net.weights, expected.weights, rtol=1e-12, atol=1e-14)


def test_validation_scores_are_weighted(backend):
    net, X, y = net_and_data(backend)
    X_val, y_val = make_data(SIZES, CE_LABELS, 8, 9)
    c_val = weights_for(8, seed=5)
    hist = net.fit(X, y, epochs=2, eta=0.1, seed=0, validation_data=(X_val, y_val, c_val))
    assert hist.val_loss[-1] == pytest.approx(net.loss_value(X_val, y_val, sample_weight=c_val), rel=1e-12)
    right = net.predict(X_val) == y_val
    assert hist.val_score[-1] == pytest.approx(np.sum(c_val * right) / np.sum(c_val), rel=1e-12)


def test_held_out_samples_keep_their_weights():
    """With validation_fraction, each sample's weight goes where the sample goes: the
    validation loss and score are those of the held-out rows with their own weights."""
    net, X, _ = net_and_data(n=30)
    y = np.arange(30) % 3
    c = weights_for(30)
    hist = net.fit(X, y, epochs=2, eta=0.1, seed=0, sample_weight=c, validation_fraction=0.3)
    held_out = stratified_mask(y, 0.3, np.random.default_rng(0))  # fit's first draw from seed 0
    assert hist.val_loss[-1] == pytest.approx(net.loss_value(X[held_out], y[held_out], sample_weight=c[held_out]),
                                              rel=1e-12)
    right = net.predict(X[held_out]) == y[held_out]
    assert hist.val_score[-1] == pytest.approx(np.sum(c[held_out] * right) / np.sum(c[held_out]), rel=1e-12)


def test_weighted_r2():
    net, X, y = net_and_data(case=L2_TANH)
    c = weights_for(N)
    H = net.forward(X)
    residual = (c[:, None] * (y - H) ** 2).sum(axis=0)
    mean = (c[:, None] * y).sum(axis=0) / c.sum()
    total = (c[:, None] * (y - mean) ** 2).sum(axis=0)
    assert net.loss.score(H, y, c) == pytest.approx(np.mean(1 - residual / total), rel=1e-12)


def test_lbfgs_minimises_the_weighted_loss(backend):
    net, X, y = net_and_data(backend, case=L2_TANH)
    c = weights_for(N)
    hist = net.fit(X, y, epochs=3, solver="lbfgs", sample_weight=c)
    assert hist.loss[-1] == pytest.approx(net.loss_value(X, y, sample_weight=c), rel=1e-9)
    assert hist.loss[-1] < hist.loss[0]


def test_one_step_matches_sklearn_with_sample_weights(backend):
    """scikit-learn averages c_i dl_i/dw over sum(c); with weights of mean 1 that is the mean
    over the samples, fastmlp's step."""
    nn = pytest.importorskip("sklearn.neural_network")
    case = type(CE_LABELS)("clf", "cross_entropy", "softmax", "labels")
    sizes = [4, 5, 3]
    net = make_net(sizes, "tanh", case, backend=backend, seed=6)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(N, 4))
    y = np.arange(N) % 3
    c = weights_for(N)
    c *= N / c.sum()
    clf = nn.MLPClassifier(hidden_layer_sizes=(5,), activation="tanh", random_state=0, solver="sgd", alpha=0.0,
                           batch_size=N, learning_rate_init=0.2, learning_rate="constant", momentum=0.0,
                           nesterovs_momentum=False, shuffle=False)
    clf.partial_fit(X, y, classes=np.arange(3))
    for l, W in enumerate(net.weights):
        clf.coefs_[l][...] = W[1:]
        clf.intercepts_[l][...] = W[0]
    clf.partial_fit(X, y, sample_weight=c)
    net.fit(X, y, epochs=1, batch_size=None, eta=0.2, shuffle=False, sample_weight=c)
    for W, b, C in zip(net.weights, clf.intercepts_, clf.coefs_):
        np.testing.assert_allclose(W, np.vstack([b[None, :], C]), rtol=1e-12, atol=1e-13)


BAD = [
    (dict(sample_weight=-np.ones(N)), ValueError, "sample_weight must be finite and >= 0"),
    (dict(sample_weight=np.full(N, np.nan)), ValueError, "sample_weight must be finite"),
    (dict(sample_weight=np.ones(N - 1)), ValueError, r"sample_weight has shape \(11,\); expected \(12,\)"),
    (dict(sample_weight=np.zeros(N)), ValueError, "every sample has weight 0"),
    (dict(sample_weight=["a"] * N), TypeError, "sample_weight must be numeric"),
    (dict(class_weight="even"), ValueError, "class_weight must be one of 'balanced'"),
    (dict(class_weight=[1, 2, 3]), TypeError, "class_weight must be 'balanced' or a dict"),
    (dict(class_weight={3: 1.0}), ValueError, r"class_weight names class 3; the network's classes are 0..2"),
    (dict(class_weight={True: 1.0}), ValueError, "class_weight names class True"),
    (dict(class_weight={0: -1.0}), ValueError, r"class_weight\[0\] must be a finite number >= 0"),
    (dict(validation_data=(np.zeros((2, 3)), [0, 1], [1.0])), ValueError, "validation_data: sample_weight_val"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD, ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_bad_weights_are_rejected_and_change_nothing(backend, kwargs, exc, match):
    net, X, y = net_and_data(backend)
    rejects(net, lambda: net.fit(X, y, epochs=1, **kwargs), exc, match)


def test_class_weight_needs_a_classifier():
    net, X, y = net_and_data(case=L2_TANH)
    with pytest.raises(ValueError, match="class_weight needs a classification loss, not 'l2'"):
        net.fit(X, y, class_weight="balanced")
    net, X, y = net_and_data(case=BCE)
    with pytest.raises(ValueError, match="class_weight takes one binary_cross_entropy output"):
        net.fit(X, y, class_weight="balanced")


def test_gradient_rejects_bad_weights():
    net, X, y = net_and_data()
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0"):
        net.gradient(X, y, sample_weight=np.full(N, -1.0))
    with pytest.raises(ValueError, match=r"sample_weight has shape \(2,\)"):
        net.loss_value(X, y, sample_weight=[1.0, 2.0])


@pytest.mark.parametrize("kernel", cython_variants())
def test_kernel_entry_points_check_the_lengths_they_index(kernel):
    """The kernels index the weights by row and the rates by layer without bounds checks, so
    their entry points refuse arrays of the wrong length."""
    net, X, y = net_and_data(kernel)
    X, Y = feeding.data(net, X, y)  # the kernels take validated arrays
    order = np.arange(N, dtype=np.intp)
    b = net.backend
    with pytest.raises(ValueError, match="weight has 11 entries for 12 rows"):
        b.sgd_epoch(feeding.architecture(net), net.params, X, Y, order, 0.1, weight=np.ones(N - 1))
    with pytest.raises(ValueError, match="dropout has 2 rates for 3 layers"):
        b.minibatch_epoch(feeding.architecture(net), net.params, X, Y, order, 4, 0.1, dropout=np.zeros(2))
    with pytest.raises(ValueError, match="weight has 13 entries for 12 rows"):
        b.mean_gradient(feeding.architecture(net), net.params, X, Y, np.empty_like(net.params), np.ones(N + 1))
