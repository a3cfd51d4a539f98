"""network.epoch_in_order with fit's optimizers, penalties, sample weights and dropout:
one epoch over validated rows in the caller's order, read in place, as partial_fit makes
it over the same rows copied into that order; and its before_step hook."""
import numpy as np
import pytest

import fastmlp as fm

SIZES = [5, 7, 3]


def setting(backend, dtype="float64"):
    net = fm.MLP(SIZES, activation="tanh", output="softmax", loss="cross_entropy", dtype=dtype, seed=0,
                 backend=backend)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(23, SIZES[0])).astype(dtype)
    Y = np.eye(SIZES[-1], dtype=dtype)[rng.integers(0, SIZES[-1], 23)]
    return net, X, Y, rng.permutation(23).astype(np.intp), rng.uniform(0.5, 2.0, 23)


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "adam"])
def test_the_rows_in_place_train_as_partial_fit_trains_them_copied(backend, dtype, optimizer):
    net, X, Y, order, weight = setting(backend, dtype)
    copied = net.copy()
    options = dict(l1=1e-3, optimizer=optimizer, momentum=0.8, dropout=0.2)
    total = fm.network.epoch_in_order(net, X, Y, order, 4, 0.05, "epoch 1", 1e-2, sample_weight=weight,
                                       **options)
    history = copied.partial_fit(X[order], Y[order], eta=0.05, batch_size=4, shuffle=False, l2=1e-2,
                                 sample_weight=weight[order], **options)
    np.testing.assert_array_equal(net.params, copied.params)
    assert total / len(order) == pytest.approx(history.loss[0], rel=1e-12 if dtype == "float64" else 1e-5)
    assert net.rng.bit_generator.state == copied.rng.bit_generator.state


def test_before_step_sees_the_weights_each_step_starts_from(backend):
    net, X, Y, order, _ = setting(backend)
    stepped = net.copy()
    seen = []
    fm.network.epoch_in_order(net, X, Y, order, 5, 0.1, "epoch 1", optimizer="adam",
                               before_step=lambda: seen.append(net.params.copy()))
    assert len(seen) == 5  # 23 rows in steps of 5: four whole ones and a last of 3
    for start, weights in zip(range(0, 23, 5), seen):
        np.testing.assert_array_equal(weights, stepped.params)
        stepped.partial_fit(X[order[start : start + 5]], Y[order[start : start + 5]], eta=0.1, batch_size=5,
                            shuffle=False, optimizer="adam")
    np.testing.assert_array_equal(net.params, stepped.params)


def test_a_divergence_puts_back_the_weights_the_optimizer_and_the_generator():
    net, X, Y, order, _ = setting("cython")
    net.fit(X, Y, epochs=1, batch_size=4, optimizer="adam")
    before = net.params.copy(), net.optimizer.m.copy(), net.optimizer.t, net.rng.bit_generator.state
    with pytest.raises(fm.DivergenceError):
        fm.network.epoch_in_order(net, X * 1e300, Y, order, 4, 1e300, "epoch 2", optimizer="adam", dropout=0.5,
                                   l2=1e300)
    after = net.params, net.optimizer.m, net.optimizer.t, net.rng.bit_generator.state
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert after[2:] == before[2:]


def test_before_step_must_be_callable():
    net, X, Y, order, _ = setting("cython")
    with pytest.raises(TypeError, match="before_step must be callable"):
        fm.network.epoch_in_order(net, X, Y, order, 4, 0.1, "epoch 1", before_step=3)
