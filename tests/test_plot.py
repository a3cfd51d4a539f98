"""The lecture's pictures: real PNGs come out headless, given axes are used, the pictures
show what they claim (regions, divergence, curves, units and weights), bad input is refused."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import imread  # noqa: E402
from matplotlib.patches import Circle, Rectangle  # noqa: E402

import fastmlp as fm  # noqa: E402
from fastmlp import plot  # noqa: E402
from fastmlp.datasets import blobs, xor  # noqa: E402


def saved(fig, tmp_path, name, min_size=(200, 200)):
    """Save fig as a PNG, check it is a real picture, return the pixels."""
    assert isinstance(fig, Figure)
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)
    pixels = imread(path)[..., :3]
    assert pixels.shape[0] >= min_size[0] and pixels.shape[1] >= min_size[1]
    assert pixels.std() > 0.05  # not blank
    assert len(np.unique(pixels.reshape(-1, 3).round(2), axis=0)) > 20  # drawn in several colours
    return pixels


def curve(ax, gid):
    """(s, values) of the curve with this gid ("theta" or "theta_prime") on ax."""
    (line,) = [line for line in ax.lines if line.get_gid() == gid]
    return line.get_data()


def worked_example():
    net = fm.MLP([3, 2, 1], activation="relu", output="relu", loss="l2")
    net.set_weights([np.array([[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]]),
                     np.array([[0.5], [0.5], [0.125]])])
    return net


def xor_network():
    """A 2-2-1 network that solves XOR with hand-set weights: hidden units for "x1 or x2"
    and "x1 and x2", the output for "or but not and"."""
    net = fm.MLP([2, 2, 1], activation="tanh", loss="binary_cross_entropy")
    net.set_weights([np.array([[-5.0, -15.0], [10.0, 10.0], [10.0, 10.0]]), np.array([[-5.0], [10.0], [-10.0]])])
    return net


# -- activations ---------------------------------------------------------------------------


def test_every_activation_beside_its_derivative(tmp_path):
    fig = plot.activations()
    saved(fig, tmp_path, "activations", (400, 600))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2 * len(fm.activations.KINDS)  # every registered activation, theta and theta'
    titles = [ax.get_title() for ax in visible[0::2]]
    assert titles[:3] == ["identity", "sign", "sigmoid"] and "leaky_relu(alpha=0.01)" in titles
    assert all(ax.lines for ax in visible)


def test_curves_are_theta_and_theta_prime_with_parameters(tmp_path):
    fig = Figure()
    axes = fig.subplots(2, 2)
    elu = fm.activation("elu", alpha=0.5)
    returned = plot.activations(elu, "softmax", s=(-3, 2), axes=axes)
    assert returned is fig
    saved(fig, tmp_path, "elu_softmax")
    assert axes[0, 0].get_title() == "elu(alpha=0.5)"
    s, x = curve(axes[0, 0], "theta")
    keep = np.isfinite(x)
    assert s[0] == -3 and s[-1] == 2
    np.testing.assert_allclose(x[keep], np.where(s[keep] > 0, s[keep], 0.5 * np.expm1(s[keep])))
    s, slope = curve(axes[0, 1], "theta_prime")
    keep = np.isfinite(slope)
    np.testing.assert_allclose(slope[keep], np.where(s[keep] > 0, 1.0, 0.5 * np.exp(s[keep])))
    s, x = curve(axes[1, 0], "theta")  # softmax of (s, 0): its first unit is the sigmoid
    np.testing.assert_allclose(x, 1 / (1 + np.exp(-s)))


def test_steps_are_drawn_with_a_gap():
    fig = plot.activations("relu", "sign")
    s, slope = curve(fig.axes[1], "theta_prime")  # relu': 0, a gap at s = 0, then 1
    gap = np.flatnonzero(np.isnan(slope))
    assert len(gap) == 1 and s[gap[0]] == pytest.approx(0.0, abs=0.03)
    s, x = curve(fig.axes[2], "theta")  # sign jumps from -1 to 1 without a wall
    assert np.isnan(x).sum() >= 1 and set(np.unique(x[np.isfinite(x)])) <= {-1.0, 0.0, 1.0}


@pytest.mark.parametrize("call, error, match", [
    (lambda: plot.activations("swish"), ValueError, "unknown activation"),
    (lambda: plot.activations("relu", s=(1, -1)), ValueError, "low < high"),
    (lambda: plot.activations("relu", s=3), TypeError, "range"),
    (lambda: plot.activations("relu", "tanh", axes=Figure().subplots(1, 2)), ValueError, "expected 4 Axes"),
    (lambda: plot.activations("relu", axes=["a", "b"]), TypeError, "Axes"),
])
def test_activations_refuse_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- loss curves ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def histories():
    X, y = blobs(80, noise=1.0, seed=0)
    out = {}
    for eta in (0.01, 0.3):
        net = fm.MLP([2, 4, 1], loss="binary_cross_entropy", seed=0)
        out[f"eta {eta}"] = net.fit(X, y, epochs=12, eta=eta, validation_fraction=0.25, seed=0)
    return out


def test_one_history(tmp_path, histories):
    history = histories["eta 0.3"]
    fig = plot.loss_curves(history)
    saved(fig, tmp_path, "one_history")
    loss_ax, score_ax = fig.axes
    training, validation = loss_ax.lines[:2]
    np.testing.assert_array_equal(training.get_xdata(), np.arange(1, 13))
    np.testing.assert_array_equal(training.get_ydata(), history.loss)
    np.testing.assert_array_equal(validation.get_ydata(), history.val_loss)
    np.testing.assert_array_equal(score_ax.lines[0].get_ydata(), history.val_score)
    assert score_ax.get_ylabel() == "validation score"  # a panel below the losses
    assert score_ax.get_xlabel() == "epoch" and loss_ax.get_shared_x_axes().joined(loss_ax, score_ax)


def test_several_labelled_histories_into_given_axes(tmp_path, histories):
    fig = Figure()
    ax = fig.add_subplot()
    assert plot.loss_curves(histories, ax=ax) is fig
    saved(fig, tmp_path, "histories")
    assert len(fig.axes) == 2  # ax and its twin for the validation score, which holds the legend
    names = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    for label in histories:
        assert f"{label}: training loss" in names and f"{label}: validation score" in names
    assert len(ax.lines) == 4


def test_best_epoch_is_marked():
    history = fm.History(loss=[3.0, 2.0, 1.0], val_loss=[2.5, 1.5, 1.8], best_epoch=2)
    fig = plot.loss_curves(history)
    marker = fig.axes[0].lines[-1]
    assert marker.get_label() == "best epoch (2)"
    assert list(marker.get_xdata()) == [2] and list(marker.get_ydata()) == [1.5]


def test_log_axis_when_losses_span_decades():
    assert plot.loss_curves(fm.History(loss=[10.0, 1.0, 0.01])).axes[0].get_yscale() == "log"
    assert plot.loss_curves(fm.History(loss=[1.0, 0.5])).axes[0].get_yscale() == "linear"
    assert plot.loss_curves(fm.History(loss=[1.0, 0.5]), log=True).axes[0].get_yscale() == "log"


@pytest.mark.parametrize("given, error, match", [
    ({}, ValueError, "at least one"),
    ([fm.History(loss=[1.0])], TypeError, "mapping"),
    ({"a": [1.0, 0.5]}, TypeError, "not a fastmlp History"),
    (fm.History(), ValueError, "no epochs"),
])
def test_loss_curves_refuse_bad_input(given, error, match):
    with pytest.raises(error, match=match):
        plot.loss_curves(given)


# -- learning rates ------------------------------------------------------------------------


def regression():
    X = np.linspace(-2, 2, 32)[:, None]
    return X, np.sin(1.5 * X[:, 0])


def test_learning_rates_marks_the_divergence(tmp_path):
    X, y = regression()
    net = fm.MLP([1, 8, 1], activation="relu", seed=0)
    before = net.params.copy()
    fig = plot.learning_rates(net, X, y, etas=[0.01, 0.1, 5.0], epochs=15, batch_size=None)
    saved(fig, tmp_path, "learning_rates")
    np.testing.assert_array_equal(net.params, before)  # the network itself is not trained
    # the run at 5.0 diverges; find out when, independently
    with pytest.raises(fm.DivergenceError) as caught:
        net.copy().fit(X, y, epochs=15, eta=5.0, batch_size=None)
    failed = caught.value.history.epochs + 1
    ax = fig.axes[0]
    marks = [line for line in ax.lines if line.get_gid() == "divergence"]
    curves = [line for line in ax.lines if line.get_gid() != "divergence"]
    assert [len(c.get_xdata()) for c in curves] == [15, 15, failed - 1]
    # the X sits on the diverging curve's last point, the last epoch that finished
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [failed - 1]
    assert list(marks[0].get_ydata()) == [curves[2].get_ydata()[-1]]
    assert curves[2].get_label() == f"$\\eta$ = 5 (diverged in epoch {failed})"
    # the curves are the runs' own histories
    np.testing.assert_allclose(curves[1].get_ydata(), net.copy().fit(X, y, epochs=15, eta=0.1, batch_size=None).loss)


def test_learning_rates_into_given_axes_without_divergence():
    X, y = regression()
    fig = Figure()
    ax = fig.add_subplot()
    assert plot.learning_rates(fm.MLP([1, 4, 1], seed=1), X, y, etas=[0.01, 0.05], epochs=3, ax=ax) is fig
    assert len(ax.lines) == 2 and not [line for line in ax.lines if line.get_gid() == "divergence"]


@pytest.mark.parametrize("options, error, match", [
    ({"etas": []}, ValueError, "one or more"),
    ({"etas": [0.1, 0.0]}, ValueError, "> 0"),
    ({"etas": [0.1, -1]}, ValueError, "eta"),
    ({"etas": "0.1"}, TypeError, "list"),
    ({"etas": [float("nan")]}, ValueError, "eta"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"solver": "lbfgs"}, ValueError, "L-BFGS"),
    ({"batch_size": -2}, ValueError, "batch_size"),
])
def test_learning_rates_refuse_bad_input(options, error, match):
    X, y = regression()
    with pytest.raises(error, match=match):
        plot.learning_rates(fm.MLP([1, 4, 1], seed=1), X, y, **{"epochs": 2, **options})


def test_learning_rates_check_data_and_model():
    X, y = regression()
    with pytest.raises(ValueError, match="shape"):
        plot.learning_rates(fm.MLP([2, 4, 1]), X, y, epochs=2)
    with pytest.raises(TypeError, match="MLP"):
        plot.learning_rates(fm.Perceptron(), X, y)


# -- decision regions ----------------------------------------------------------------------


def region_colour(fig, ax, point):
    """The RGB of the rendered figure at a data point of ax (with the legend taken away)."""
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3] / 255.0
    x, y = ax.transData.transform(point)
    return pixels[int(round(pixels.shape[0] - y)), int(round(x))]


def light(name, alpha=0.25):
    return alpha * np.array(to_rgb(name)) + (1 - alpha)


def test_mlp_on_xor(tmp_path):
    X, y = xor()
    fig = plot.decision_regions(xor_network(), X, y)
    saved(fig, tmp_path, "xor_mlp")
    ax = fig.axes[0]
    assert ax.get_title() == "MLP 2-2-1: 100% right"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    # the middle of the square is class 1, the corners' outer side class 0
    np.testing.assert_allclose(region_colour(fig, ax, (0.5, 0.5)), light("C1"), atol=0.02)
    np.testing.assert_allclose(region_colour(fig, ax, (-0.15, -0.15)), light("C0"), atol=0.02)
    np.testing.assert_allclose(region_colour(fig, ax, (1.15, 1.15)), light("C0"), atol=0.02)


def test_perceptron_line_and_its_failure_on_xor(tmp_path):
    fig = Figure(figsize=(9, 4))
    left, right = fig.subplots(1, 2)
    X, y = blobs(40, distance=4.0, noise=0.4, seed=3)
    separable = fm.Perceptron(seed=0).fit(X, y)
    assert plot.decision_regions(separable, X, y, ax=left) is fig
    Xx, yx = xor()
    with pytest.warns(fm.ConvergenceWarning):
        stuck = fm.Perceptron(max_epochs=10, seed=0).fit(Xx, yx)
    plot.decision_regions(stuck, Xx, yx, ax=right)
    saved(fig, tmp_path, "perceptrons")
    assert left.get_title() == "perceptron (converged): 100% right"
    right_share = np.mean(stuck.predict(Xx) == yx)
    assert right.get_title() == f"perceptron (no convergence in 10 epochs): {right_share:.0%} right"
    assert right_share < 1
    # the region on each side of the perceptron's line is its class: w0 + w.x > 0 is class 1
    w = separable.w
    for point in ([-2.0, -2.0], [2.0, 2.0]):
        side = "C1" if w[0] + np.dot(w[1:], point) > 0 else "C0"
        np.testing.assert_allclose(region_colour(fig, left, point), light(side), atol=0.02)


def test_l2_network_takes_the_nearest_class_value():
    X, y = xor()
    net = fm.MLP([2, 2, 1], activation="tanh", output="tanh", loss="l2")
    w1, w2 = xor_network().weights
    net.set_weights([w1, w2])
    fig = plot.decision_regions(net, X, 2 * y - 1)  # labels -1 and 1; h = tanh(s) of the same sums
    assert fig.axes[0].get_title() == "MLP 2-2-1: 100% right"


@pytest.mark.parametrize("model, X, y, error, match", [
    (fm.Perceptron(), xor()[0], xor()[1], ValueError, "not fitted"),
    (fm.MLP([3, 2, 1]), xor()[0], xor()[1], ValueError, "takes 3 inputs"),
    ("model", xor()[0], xor()[1], TypeError, "MLP or a Perceptron"),
    (xor_network(), np.ones((4, 3)), xor()[1], ValueError, r"shape \(n, 2\)"),
    (xor_network(), xor()[0], [0, 1], ValueError, "one class per sample"),
    (xor_network(), np.full((4, 2), np.nan), xor()[1], ValueError, "NaN"),
])
def test_decision_regions_refuse_bad_input(model, X, y, error, match):
    with pytest.raises(error, match=match):
        plot.decision_regions(model, X, y)


def test_perceptron_with_three_inputs_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.ConvergenceWarning)
        p = fm.Perceptron(max_epochs=2).fit(np.eye(3), [0, 1, 1])
    with pytest.raises(ValueError, match="takes 3 inputs"):
        plot.decision_regions(p, xor()[0], xor()[1])


# -- the network ---------------------------------------------------------------------------


def test_worked_example_network(tmp_path):
    fig = plot.network(worked_example())
    saved(fig, tmp_path, "network")
    ax = fig.axes[0]
    assert sum(isinstance(p, Circle) for p in ax.patches) == 3 + 2 + 1
    assert sum(isinstance(p, Rectangle) for p in ax.patches) == 2  # the bias units of layers 0 and 1
    assert len(ax.lines) == 4 * 2 + 3 * 1  # one edge per weight
    texts = [t.get_text() for t in ax.texts]
    assert sorted(t for t in texts if t[:1].isdigit() and "\n" not in t and t != "1") == sorted(
        ["0.25", "0.5", "0.75", "0.125", "0.75", "0.25", "0.5", "0.125", "0.5"])
    assert texts.count("1") == 2 + 2  # the bias units' 1, and the two unit biases of layer 1
    widths = {round(line.get_linewidth(), 6) for line in ax.lines}
    assert max(widths) == pytest.approx(4.0) and min(widths) == pytest.approx(0.4 + 3.6 * 0.125)


def test_wide_network_is_elided_into_given_axes(tmp_path):
    fig = Figure(figsize=(6, 6))
    ax = fig.add_subplot()
    net = fm.MLP([64, 32, 10], loss="cross_entropy", seed=0)
    assert plot.network(net, ax=ax, max_units=6) is fig
    saved(fig, tmp_path, "wide_network")
    # layers of 64 and 32 show units 1..4, a gap and the last; the output shows 1..4, gap, 10
    assert sum(isinstance(p, Circle) for p in ax.patches) == 5 + 5 + 5
    assert [t.get_text() for t in ax.texts].count(r"$\vdots$") == 3
    assert len(ax.lines) == 6 * 5 + 6 * 5
    assert not any(t.get_text().startswith("0.") or t.get_text().startswith("-0.") for t in ax.texts)


def test_network_refuses_bad_input():
    with pytest.raises(TypeError, match="MLP"):
        plot.network(fm.Perceptron())
    with pytest.raises(ValueError, match="at least 3"):
        plot.network(worked_example(), max_units=2)


# -- import --------------------------------------------------------------------------------


def run(code):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_import_fastmlp_leaves_matplotlib_alone():
    done = run("import sys, fastmlp; print('matplotlib' in sys.modules, 'tqdm' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_missing_matplotlib_names_the_extra():
    done = run("import sys; sys.modules['matplotlib'] = None; import fastmlp.plot")
    assert done.returncode != 0
    assert "fastmlp.plot needs matplotlib: pip install 'fastmlp[plot]'" in done.stderr


def test_the_docs_pictures_code_runs(tmp_path, monkeypatch):
    import pathlib
    import re

    page = pathlib.Path(__file__).resolve().parent.parent / "docs" / "guide" / "plotting.md"
    section = page.read_text()
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(page), "exec"), {})
    for name in ("loss", "moons", "network", "thetas", "rates"):
        assert imread(tmp_path / f"{name}.png").std() > 0.05
