"""What the lecture's pictures must let a reader see: the perceptron's (last) line, each
weight's value on its own edge clear of the others, a divergence marked where its curve ends."""
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import fastmlp as fm  # noqa: E402
from fastmlp import plot  # noqa: E402
from fastmlp.datasets import blobs, xor  # noqa: E402


def worked_example():
    net = fm.MLP([3, 2, 1], activation="relu", output="relu", loss="l2")
    net.set_weights([np.array([[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]]),
                     np.array([[0.5], [0.5], [0.125]])])
    return net


@pytest.mark.parametrize("converged", [True, False])
def test_the_perceptrons_line_is_drawn(converged):
    if converged:
        X, y = blobs(60, distance=3.0, noise=0.6, seed=2)
        p = fm.Perceptron(seed=0).fit(X, y)
    else:
        X, y = xor(n_per_corner=15, noise=0.12, seed=0)
        with pytest.warns(fm.ConvergenceWarning):
            p = fm.Perceptron(max_epochs=20, seed=1).fit(X, y)
    ax = plot.decision_regions(p, X, y).axes[0]
    (line,) = [line for line in ax.lines if line.get_gid() == "perceptron_line"]
    points = np.column_stack(line.get_data())
    w = p.w
    np.testing.assert_allclose(w[0] + points @ w[1:], 0, atol=1e-9 * np.abs(w).max())
    assert line.get_label() == ("its line" if converged else "its last line")
    assert line.get_label() in [t.get_text() for t in ax.get_legend().get_texts()]


def test_a_line_outside_the_frame_says_so():
    X, y = xor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.ConvergenceWarning)
        p = fm.Perceptron(max_epochs=1).fit(X, y)
    p.w[:] = [100.0, 1.0, 1.0]  # w0 + x1 + x2 = 0 lies far from the unit square
    ax = plot.decision_regions(p, X, y).axes[0]
    (line,) = [line for line in ax.lines if line.get_gid() == "perceptron_line"]
    assert line.get_label() == "its last line (outside the frame)"


def _segment_distance(p, a, b):
    t = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0, 1)
    return np.linalg.norm(p - (a + t * (b - a)))


def test_each_weight_value_sits_on_its_own_edge_clear_of_the_others():
    net = worked_example()
    ax = plot.network(net).axes[0]
    edges = {line.get_gid(): np.column_stack(line.get_data()) for line in ax.lines}
    values = {t.get_gid()[len("value "):]: t for t in ax.texts if (t.get_gid() or "").startswith("value ")}
    assert set(values) == set(edges) and len(edges) == 11
    for gid, text in values.items():
        l, (i, j) = int(gid.split("(")[1][0]), gid[2:4]
        assert float(text.get_text()) == net.weights[l - 1][int(i), int(j) - 1]
        a, b = edges[gid]
        at = np.array(text.get_position())
        assert _segment_distance(at, a, b) < 1e-9  # on its own edge
        direction = np.degrees(np.arctan2(*(b - a)[::-1]))
        assert text.get_rotation() == pytest.approx(direction % 360)  # turned with it
        same_layer = [g for g in edges if g != gid and g.endswith(f"({l})")]
        assert min(_segment_distance(at, *edges[g]) for g in same_layer) > 0.1  # clear of crossings
    positions = [np.array(t.get_position()) for t in values.values()]
    gaps = [np.linalg.norm(p - q) for k, p in enumerate(positions) for q in positions[k + 1:]]
    assert min(gaps) > 0.3  # no two values on top of each other


def test_divergence_mark_on_the_curves_last_point_even_off_the_scale():
    X = np.linspace(-2, 2, 64)[:, None]
    y = np.sin(1.5 * X[:, 0])
    net = fm.MLP([1, 16, 1], activation="relu", seed=0)
    ax = plot.learning_rates(net, X, y, etas=[0.03, 10.0], epochs=20, batch_size=None).axes[0]
    (mark,) = [line for line in ax.lines if line.get_gid() == "divergence"]
    curve = [line for line in ax.lines if line.get_gid() != "divergence"][-1]
    assert (mark.get_xdata()[0], mark.get_ydata()[0]) == (curve.get_xdata()[-1], curve.get_ydata()[-1])
    assert mark.get_ydata()[0] <= ax.get_ylim()[1]  # inside the frame, on its top edge at most
    assert "diverged" in curve.get_label()
