"""The lecture's figures, drawn by fastmlp.plot (needs matplotlib).

The docs build calls ``draw_all`` into ``docs/_generated/`` at its start; ``python
docs/make_figures.py`` draws them there too, to look at without a build.
"""
import json
import pathlib
import warnings

import numpy as np
from matplotlib.figure import Figure

import fastmlp as fm
from fastmlp import plot
from fastmlp.datasets import blobs, moons, xor

HERE = pathlib.Path(__file__).resolve().parent
DPI = 100
WIDTHS = HERE.parent / "bench" / "results" / "compare-widths.json"  # python bench/compare.py --widths ... --json


def worked_example():
    """The lecture's 3-2-1 ReLU network with its hand-set weights."""
    net = fm.MLP([3, 2, 1], activation="relu", output="relu", loss="l2")
    net.set_weights([np.array([[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]]),
                     np.array([[0.5], [0.5], [0.125]])])
    return net


def network():
    """The worked example's weights, each written on its own edge."""
    return plot.network(worked_example())


def network_after_step():
    """The same network after one SGD step on x = (4, -8, 4), y = 2 at eta = 0.1."""
    net = worked_example()
    net.sgd_step([4, -8, 4], 2, eta=0.1)
    return plot.network(net)


def activations():
    """Five thetas beside their derivatives, two with their parameters set."""
    return plot.activations("sigmoid", "tanh", "relu", fm.activation("elu", alpha=0.5),
                            fm.activation("maxout", a1=1, b1=0, a2=-0.5, b2=0.5), "sign")


def learning_rates():
    """The exercise: a 1-16-1 ReLU network fits sin(1.5 x) by full-batch gradient descent at
    eta = 0.003 (creeps), 0.03 (good), 0.3 (overshoots, then settles) and 10 (diverges)."""
    X = np.linspace(-2, 2, 64)[:, None]
    y = np.sin(1.5 * X[:, 0])
    net = fm.MLP([1, 16, 1], activation="relu", seed=0)
    return plot.learning_rates(net, X, y, etas=[0.003, 0.03, 0.3, 10.0], epochs=40, batch_size=None)


def sgd_modes():
    """Per sample, minibatches of 16 and the full batch on the moons, 40 epochs each."""
    X, y = moons(200, noise=0.15, seed=1)
    runs = {}
    for label, batch_size, eta in (("per sample", 1, 0.1), ("minibatch of 16", 16, 0.5), ("full batch", None, 0.5)):
        net = fm.MLP([2, 8, 1], loss="binary_cross_entropy", seed=0)
        runs[f"{label}, eta {eta:g}"] = net.fit(X, y, epochs=40, batch_size=batch_size, eta=eta)
    return plot.loss_curves(runs)


def _overfitting_runs(options):
    """A wide network on 40 noisy moons, validated on 400 more, once per set of options."""
    X, y = moons(40, noise=0.35, seed=3)
    X_val, y_val = moons(400, noise=0.35, seed=4)
    runs = {}
    for label, extra in options.items():
        net = fm.MLP([2, 64, 64, 1], activation="relu", loss="binary_cross_entropy", seed=0)
        runs[label] = net.fit(X, y, epochs=150, batch_size=8, eta=0.05, validation_data=(X_val, y_val),
                              seed=0, **extra)
    return runs


def regularisation():
    """Training and validation loss without a penalty, with L2 and with L1."""
    return plot.loss_curves(_overfitting_runs({"no penalty": {}, "l2 = 0.01": {"l2": 0.01},
                                               "l1 = 0.001": {"l1": 0.001}}))


def dropout():
    """The same runs with dropout of hidden units and with the lecture's update dropout."""
    return plot.loss_curves(_overfitting_runs({"no dropout": {}, "dropout = 0.5": {"dropout": 0.5},
                                               "update_dropout = 0.5": {"update_dropout": 0.5}}))


def decision_regions():
    """The perceptron on separable data and on XOR (with the last line it tried), and a
    2-4-1 network on XOR."""
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    left, middle, right = fig.subplots(1, 3)
    X, y = blobs(60, distance=3.0, noise=0.6, seed=2)
    plot.decision_regions(fm.Perceptron(seed=0).fit(X, y), X, y, ax=left)
    X, y = xor(n_per_corner=15, noise=0.12, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.ConvergenceWarning)  # the point of the panel
        plot.decision_regions(fm.Perceptron(max_epochs=20, seed=1).fit(X, y), X, y, ax=middle)
    net = fm.MLP([2, 4, 1], loss="binary_cross_entropy", seed=0)
    net.fit(X, y, epochs=300, eta=0.5)
    plot.decision_regions(net, X, y, ax=right)
    return fig


def performance():
    """Per-sample SGD samples/s against the hidden width H of 784-H-10 float32, one line per
    implementation, from a result file of bench/compare.py (with its CPU, load and date)."""
    run = json.loads(WIDTHS.read_text())
    fig = Figure(figsize=(7.0, 4.4), layout="constrained")
    ax = fig.add_subplot()
    names = dict.fromkeys(r["implementation"] for r in run["results"] if r["samples_per_second"])
    for k, name in enumerate(names):
        points = sorted((r["sizes"][1], r["samples_per_second"]) for r in run["results"]
                        if r["implementation"] == name and r["samples_per_second"])
        ax.plot(*zip(*points), "o-", color=f"C{k}", label=name, lw=2.5 if name == "fastmlp" else 1.2)
    ax.set_xscale("log", base=2)
    widths = sorted({r["sizes"][1] for r in run["results"]})
    ax.set_xticks(widths, [str(h) for h in widths])
    ax.minorticks_off()
    ax.set_yscale("log")
    ax.set_xlabel("hidden width H of 784-H-10, float32, one sample per step")
    ax.set_ylabel("samples/s (median of the repeats)")
    load = run["machine"][0].split("load average ")[1].split(";")[0]
    ax.set_title(f"{run['cpu']}, {run['cpus']} CPUs, load average {load} at the start, {run['date']}",
                 fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


FIGURES = (network, network_after_step, activations, learning_rates, sgd_modes, regularisation, dropout,
           decision_regions, performance)


def draw_all(directory) -> list:
    """Draw every figure into ``directory`` as NAME.png; return the paths."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for draw in FIGURES:
        path = directory / f"{draw.__name__}.png"
        draw().savefig(path, dpi=DPI)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for path in draw_all(HERE / "_generated"):
        print(f"{path.relative_to(HERE.parent)}: {path.stat().st_size / 1024:.0f} KiB")
