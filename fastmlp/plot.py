"""The lecture's pictures, drawn with matplotlib (``pip install 'fastmlp[plot]'``).

- ``activations``: each theta beside its derivative theta', with its parameters;
- ``loss_curves``: training and validation loss (and validation score) per epoch, from one
  History or several labelled ones;
- ``learning_rates``: the same network trained at several rates, slow, good, oscillating
  and diverging, on one figure;
- ``decision_regions``: what a 2-D classifier (an MLP or the perceptron) decides, with the
  data on top;
- ``network``: units as circles in layers, the bias units, and the weights as edges.

Every function returns the matplotlib Figure it drew on and never calls ``show``. Without
``ax`` (or ``axes``) it makes a new Figure without pyplot, so it works headless and keeps
no global state: save it with ``fig.savefig("name.png")``, or let Jupyter display it as
a cell's value. To draw into your own layout, pass the axes.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

try:
    import matplotlib
    from matplotlib.axes import Axes
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Rectangle
    from matplotlib.ticker import MaxNLocator
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("fastmlp.plot needs matplotlib: pip install 'fastmlp[plot]'") from exc

from . import _checks as checks
from ._errors import DivergenceError
from .activations import KINDS, activation
from .network import MLP
from .perceptron import Perceptron
from .training import History

POINTS = 401  # samples of s per activation curve
GRID = 200  # grid points per axis of a decision-region picture
MAX_UNITS = 10  # units per layer that ``network`` draws before eliding
SPACING = 3.0  # between layers in ``network``, in unit heights
LABEL_BOX = {"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8}  # behind a weight's value


# -- theta and theta' ------------------------------------------------------------------------


def activations(*thetas, s=(-4.0, 4.0), axes=None, columns: int = 2) -> Figure:
    """theta(s) beside theta'(s) for each activation: names or ``fastmlp.activation(...)``
    with parameters (default: every registered one with its default parameters).

    Softmax is shown as x_1 of two units as s_1 moves and s_2 = 0; sign as the
    perceptron's unit, whose derivative is 0 wherever it exists (it is not trainable).

    Parameters
    ----------
    *thetas : str or Activation
    s : (float, float), default (-4.0, 4.0)
        The range (low, high) of the sums.
    axes : sequence of matplotlib Axes, optional
        2 per activation (theta, theta', in that order); default None draws a new figure.
    columns : int, default 2
        Activations per row of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (that of ``ax`` when given).

    Raises
    ------
    TypeError
        For something other than what is described above.
    ValueError
        For bad values: a wrong shape, NaN or infinity, an empty range.

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp import plot
    >>> fig = plot.activations("tanh", fm.activation("elu", alpha=0.5))
    >>> len(fig.axes)   # theta and theta' for each
    4
    """
    thetas = [activation(t) for t in thetas] or [activation(name) for name in KINDS]
    low, high = _interval(s, "s")
    columns = checks.positive_int(columns, "columns")
    if axes is None:
        rows = math.ceil(len(thetas) / columns)
        fig = Figure(figsize=(3.2 * 2 * min(columns, len(thetas)), 2.4 * rows), layout="constrained")
        grid = fig.subplots(rows, 2 * min(columns, len(thetas)), squeeze=False).reshape(-1)
        for unused in grid[2 * len(thetas):]:
            unused.set_visible(False)
        axes = grid
    else:
        axes = _axes_list(axes, 2 * len(thetas), "axes (two per activation)")
        fig = _figure_of(axes[0])
    s_values = np.linspace(low, high, POINTS)
    for theta, (left, right) in zip(thetas, zip(axes[0::2], axes[1::2])):
        _draw_activation(theta, s_values, left, right)
    return fig


def _draw_activation(theta, s, left, right) -> None:
    title = _describe(theta)
    if theta.name == "softmax":
        x = 1.0 / (1.0 + np.exp(-s))  # softmax(s, 0)_1
        slope = x * (1.0 - x)  # dx_1/ds_1
        left.set_ylabel("$x_1$ of softmax$(s, 0)$")
        right.set_ylabel(r"$\partial x_1 / \partial s_1$")
    else:
        x = np.array([theta.theta(v) for v in s])
        left.set_ylabel(r"$\theta(s)$")
        right.set_ylabel(r"$\theta'(s)$")
        if theta.kind.theta_prime is None:  # sign: 0 on each side, no derivative at 0
            slope = np.where(s == 0, np.nan, 0.0)
            right.plot([0], [0], "o", mfc="white", color="C1")
            right.text(0.5, 0.9, "none at s = 0: not trainable", transform=right.transAxes, ha="center",
                       va="top", fontsize="small")
        else:
            slope = np.array([theta.theta_prime(a, b) for a, b in zip(s, x)])
    if theta.name == "maxout":
        a1, b1, a2, b2 = theta.params
        left.plot(s, a1 * s + b1, ":", color="grey", lw=1)
        left.plot(s, a2 * s + b2, ":", color="grey", lw=1)
    left.plot(*_broken(s, x), color="C0", gid="theta")
    right.plot(*_broken(s, slope), color="C1", gid="theta_prime")
    left.set_title(title, fontsize="medium")
    right.set_title("its derivative", fontsize="medium")
    for ax in (left, right):
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_xlabel("$s$")
        ax.set_xlim(s[0], s[-1])


def _broken(s, values):
    """The curve (s, values) with a gap at each jump, so that a step is not drawn as a wall."""
    finite = values[np.isfinite(values)]
    span = finite.max() - finite.min() if finite.size else 0.0
    jumps = np.flatnonzero(np.abs(np.diff(values)) > 0.2 * span) + 1
    return np.insert(s, jumps, s[jumps]), np.insert(values.astype(float), jumps, np.nan)


def _describe(theta) -> str:
    """"elu(alpha=0.5)": the name with its parameters."""
    named = ", ".join(f"{k}={v:g}" for k, v in zip(theta.kind.defaults, theta.params))
    return f"{theta.name}({named})" if named else theta.name


# -- loss curves -----------------------------------------------------------------------------


def loss_curves(histories, *, ax=None, log: bool | None = None) -> Figure:
    """Training loss (solid) and validation loss (dashed) per epoch, from one History or a
    mapping {label: History}, and the validation score (dotted) where there is one: in a
    panel below, or on a second y axis of ``ax`` when axes are given. A dot marks the best
    epoch kept by early stopping.

    Parameters
    ----------
    histories : History or mapping of str to History
    ax : matplotlib Axes, optional
        Default None draws a new figure.
    log : bool, optional
        A logarithmic loss axis; default None chooses one when the losses span more than
        two decades.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (that of ``ax`` when given).

    Raises
    ------
    TypeError
        For anything but a History or a mapping of them.
    ValueError
        For no History, or one with no epochs.

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp import plot
    >>> from fastmlp.datasets import moons
    >>> X, y = moons(100, seed=0)
    >>> net = fm.MLP([2, 8, 1], loss="binary_cross_entropy", seed=0)
    >>> fig = plot.loss_curves(net.fit(X, y, epochs=5, eta=0.3, validation_fraction=0.2))
    >>> fig.savefig("loss.png")  # doctest: +SKIP
    """
    labelled = _histories(histories)
    scored = any(h.val_score for h in labelled.values())
    panel = ax is None and scored
    if panel:
        fig = Figure(figsize=(6.4, 5.2), layout="constrained")
        ax, score_ax = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    else:
        fig, ax = _figure_and_ax(ax, (6.4, 4.0))
        score_ax = ax.twinx() if scored else None
    values = []
    for k, (label, history) in enumerate(labelled.items()):
        colour = f"C{k % 10}"
        name = f"{label}: " if label else ""
        epochs = np.arange(1, history.epochs + 1)
        ax.plot(epochs, history.loss, color=colour, label=f"{name}training loss")
        values += history.loss
        if history.val_loss:
            ax.plot(epochs[: len(history.val_loss)], history.val_loss, "--", color=colour,
                    label=f"{name}validation loss")
            values += history.val_loss
        if history.val_score:
            score_ax.plot(epochs[: len(history.val_score)], history.val_score, ":", color=colour,
                          label=f"{name}validation score")
        if history.best_epoch is not None:
            series = history.val_loss or history.loss
            ax.plot([history.best_epoch], [series[history.best_epoch - 1]], "o", color=colour,
                    label=f"{name}best epoch ({history.best_epoch})")
    positive = [v for v in values if math.isfinite(v) and v > 0]
    if log is None:
        log = len(positive) == len(values) and max(positive) > 100 * min(positive)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("mean loss")
    ax.grid(True, alpha=0.3)
    if panel:
        score_ax.set_ylabel("validation score")
        score_ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        score_ax.legend(fontsize="small")
        _epoch_axis(score_ax)
        return fig
    _epoch_axis(ax)
    handles, names = ax.get_legend_handles_labels()
    legend_ax = ax
    if score_ax is not None:  # a twin axis is drawn over ax: its legend stays on top
        score_ax.set_ylabel("validation score")
        more = score_ax.get_legend_handles_labels()
        handles, names, legend_ax = handles + more[0], names + more[1], score_ax
    legend_ax.legend(handles, names, fontsize="small")
    return fig


def _epoch_axis(ax) -> None:
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _histories(histories) -> dict:
    if isinstance(histories, History):
        labelled = {"": histories}
    elif isinstance(histories, Mapping):
        labelled = {str(label): h for label, h in histories.items()}
    else:
        raise TypeError(f"loss_curves takes a History or a mapping {{label: History}}, not {type(histories).__name__}")
    if not labelled:
        raise ValueError("loss_curves needs at least one History")
    for label, history in labelled.items():
        if not isinstance(history, History):
            raise TypeError(f"{label or 'the history'} is a {type(history).__name__}, not a fastmlp History")
        if history.epochs == 0:
            raise ValueError(f"{label or 'the history'} has no epochs to draw")
    return labelled


# -- the learning-rate exercise --------------------------------------------------------------


def learning_rates(net, X, y, *, etas=(0.001, 0.01, 0.1, 1.0), epochs: int = 30, ax=None,
                   **fit_options) -> Figure:
    """Train a copy of ``net`` (same weights, same shuffles) with SGD at each rate in
    ``etas`` for ``epochs`` epochs and draw each run's mean training loss per epoch: too
    small a rate creeps, a good one falls fast, too large a one oscillates or diverges. A
    run that diverges ends its curve with an X at the epoch that failed (its
    DivergenceError's history holds the epochs before) on the loss of the last epoch that
    finished (the starting loss, at epoch 0, when the first epoch failed); losses above 100
    times the starting loss run along the top of the frame. ``net`` itself is not changed.
    fit_options go to ``fit`` (batch_size, shuffle, seed, optimizer, ...).

    Parameters
    ----------
    net : MLP
    X, y : array-like
        Training data as ``net.fit`` takes it: X of shape (n_samples, d^(0)).
    etas : sequence of float, default (0.001, 0.01, 0.1, 1.0)
        Rates > 0.
    epochs : int, default 30
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (that of ``ax`` when given).

    Raises
    ------
    TypeError
        For anything but an MLP, or etas that are not a list.
    ValueError
        For no rates, a rate <= 0, ``solver="lbfgs"``, or data ``net.fit`` refuses.

    Examples
    --------
    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import plot
    >>> X = np.linspace(-2, 2, 64)[:, None]
    >>> net = fm.MLP([1, 16, 1], activation="relu", seed=0)
    >>> fig = plot.learning_rates(net, X, np.sin(1.5 * X[:, 0]), etas=[0.03, 10.0], epochs=10, batch_size=None)
    >>> fig.axes[0].get_legend().get_texts()[1].get_text().endswith("(diverged in epoch 6)")
    True
    """
    if not isinstance(net, MLP):
        raise TypeError(f"learning_rates trains an MLP, not {type(net).__name__}")
    if isinstance(etas, (str, bytes)) or not hasattr(etas, "__iter__"):
        raise TypeError("etas must be a list of learning rates")
    etas = [checks.real_number(eta, "each eta", lowest=0.0) for eta in etas]
    if not etas or min(etas) <= 0:
        raise ValueError(f"etas must be one or more learning rates > 0, got {etas!r}")
    epochs = checks.positive_int(epochs, "epochs")
    if fit_options.get("solver", "sgd") != "sgd":
        raise ValueError("learning_rates compares SGD runs; L-BFGS takes no learning rate")
    start = net.loss_value(X, y)  # checks X and y before any training
    runs = []
    for eta in etas:
        twin = net.copy()
        try:
            history, diverged = twin.fit(X, y, epochs=epochs, eta=eta, **fit_options), False
        except DivergenceError as exc:
            history, diverged = exc.history, True
        runs.append((eta, list(history.loss), diverged))
    finite = [v for _, losses, _ in runs for v in losses if math.isfinite(v) and v > 0]
    top = 100 * (start if start > 0 else max(finite, default=1.0))  # a run heading for infinity leaves the frame
    fig, ax = _figure_and_ax(ax, (6.4, 4.0))
    ax.set_yscale("log")
    for k, (eta, losses, diverged) in enumerate(runs):
        colour = f"C{k % 10}"
        label = f"$\\eta$ = {eta:g}" + (f" (diverged in epoch {len(losses) + 1})" if diverged else "")
        shown = np.minimum(losses, top)  # a loss above the frame runs along its top edge
        ax.plot(np.arange(1, len(losses) + 1), shown, color=colour, label=label, clip_on=False)
        if diverged:  # the X sits on the curve's last point: the last epoch that finished
            at = (len(losses), shown[-1]) if losses else (0, min(start, top))
            ax.plot([at[0]], [at[1]], "X", color=colour, markersize=11, markeredgecolor="black",
                    gid="divergence", zorder=3, clip_on=False)
    ax.set_ylim(min(finite, default=start) / 2, top)
    ax.set_xlim(0.5 if all(losses for _, losses, _ in runs) else -0.5, epochs + 0.5)
    _epoch_axis(ax)
    ax.set_ylabel("mean training loss")
    ax.set_title("the same network at several learning rates", fontsize="medium")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return fig


# -- decision regions ------------------------------------------------------------------------


def decision_regions(model, X, y, *, ax=None, title: str | None = None) -> Figure:
    """The class a 2-D classifier picks at each point around the data, with the samples
    on top, coloured by their true class, and the boundary between the regions. ``model``
    is a trained MLP on two inputs (classification loss, or l2 with one output, whose
    nearest class value counts, or one-hot targets y) or a fitted Perceptron. The title
    says how many samples it gets right (and whether the perceptron converged).

    Parameters
    ----------
    model : MLP or Perceptron
    X : array-like of shape (n_samples, 2)
    y : array-like of shape (n_samples,)
        The true classes (one-hot rows of shape (n_samples, d^(L)) for an l2 network).
    ax : matplotlib Axes, optional
    title : str, optional
        Default None writes the accuracy.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (that of ``ax`` when given).

    Raises
    ------
    TypeError
        For a model that is neither an MLP nor a Perceptron.
    ValueError
        For a model not on two inputs, an unfitted Perceptron, X not of shape (n, 2), NaN or
        infinity, or y of another length.

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp import plot
    >>> from fastmlp.datasets import blobs
    >>> X, y = blobs(40, seed=0)
    >>> fig = plot.decision_regions(fm.Perceptron(seed=0).fit(X, y), X, y)
    >>> fig.axes[0].get_title()
    'perceptron (converged): 100% right'
    """
    X = checks.real_array(X, "X")
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0:
        raise ValueError(f"decision_regions draws two inputs: X must have shape (n, 2), got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity")
    y = np.asarray(y)
    if y.ndim == 2 and isinstance(model, MLP) and not model.loss.classifier:
        y = y.argmax(axis=1)  # one-hot targets of an l2 network
    if y.shape != (len(X),):
        raise ValueError(f"y has shape {y.shape}; expected ({len(X)},), one class per sample")
    decide = _decider(model, y)
    margin = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 0.1
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    u, v = np.meshgrid(np.linspace(low[0], high[0], GRID), np.linspace(low[1], high[1], GRID))
    regions = decide(np.column_stack([u.ravel(), v.ravel()])).reshape(u.shape)
    classes = np.unique(np.concatenate([np.unique(y), np.unique(regions)]))
    index = np.searchsorted(classes, regions)
    colours = [f"C{k % 10}" for k in range(len(classes))]
    fig, ax = _figure_and_ax(ax, (5.0, 4.4))
    levels = np.arange(len(classes) + 1) - 0.5
    ax.contourf(u, v, index, levels=levels, colors=colours, alpha=0.25)
    if len(classes) > 1:
        ax.contour(u, v, index, levels=levels[1:-1], colors="black", linewidths=1.2)
    for k, label in enumerate(classes):
        members = y == label
        if members.any():
            ax.scatter(X[members, 0], X[members, 1], color=colours[k], edgecolors="black", s=28,
                       label=f"class {label}", zorder=3)
    if isinstance(model, Perceptron):
        _draw_perceptron_line(ax, model, low, high)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(fontsize="small", loc="upper right")
    right = float(np.mean(decide(X) == y))
    ax.set_title(title if title is not None else f"{_model_name(model)}: {right:.0%} right", fontsize="medium")
    return fig


def _decider(model, y):
    """A function from points (m, 2) to the class ``model`` picks for each."""
    if isinstance(model, Perceptron):
        if model.w is None:
            raise ValueError("the Perceptron is not fitted yet: call fit(X, y) first")
        if len(model.w) != 3:
            raise ValueError(f"the Perceptron takes {len(model.w) - 1} inputs; decision_regions draws 2")
        return model.predict
    if not isinstance(model, MLP):
        raise TypeError(f"decision_regions draws an MLP or a Perceptron, not {type(model).__name__}")
    if model.sizes[0] != 2:
        raise ValueError(f"the network takes {model.sizes[0]} inputs; decision_regions draws 2")
    if model.loss.classifier:
        return model.predict
    if model.sizes[-1] > 1:
        return lambda P: model.forward(P).argmax(axis=1)
    values = np.unique(y)
    if values.dtype.kind not in "biuf":
        raise TypeError("an l2 network with one output needs numeric class values in y")
    return lambda P: values[np.abs(model.forward(P)[:, :1] - values).argmin(axis=1)]


def _draw_perceptron_line(ax, model, low, high) -> None:
    """The perceptron's line w_0 + w_1 x_1 + w_2 x_2 = 0 (its last one if it never
    converged), dashed across the frame, or a note where it lies outside the frame."""
    w0, w1, w2 = (float(v) for v in model.w)
    label = "its line" if model.converged else "its last line"
    if abs(w2) >= abs(w1) and w2 != 0:
        x1 = np.array([low[0], high[0]])
        x2 = -(w0 + w1 * x1) / w2
    elif w1 != 0:
        x2 = np.array([low[1], high[1]])
        x1 = -(w0 + w2 * x2) / w1
    else:  # w_1 = w_2 = 0: no line, one class everywhere
        x1 = x2 = np.array([])
    corners = [w0 + w1 * a + w2 * b for a in (low[0], high[0]) for b in (low[1], high[1])]
    if not (min(corners) < 0 < max(corners)):  # the line misses the frame
        label += " (outside the frame)"
    ax.plot(x1, x2, "--", color="black", lw=1.6, gid="perceptron_line", label=label, zorder=4)


def _model_name(model) -> str:
    if isinstance(model, Perceptron):
        state = "converged" if model.converged else f"no convergence in {len(model.mistakes)} epochs"
        return f"perceptron ({state})"
    return "MLP " + "-".join(map(str, model.sizes))


# -- the network as the lecture draws it -----------------------------------------------------


def network(net, *, ax=None, max_units: int = MAX_UNITS, values: bool | None = None) -> Figure:
    """Layers 0..L of units as circles, the bias unit x_0 = 1 of each layer below the
    output as a square, and every weight w_ij^(l) as an edge coloured by its sign and as
    wide as its size. Layers wider than ``max_units`` show their first units and the last
    one around an ellipsis.

    Parameters
    ----------
    net : MLP
    ax : matplotlib Axes, optional
    max_units : int, default 10
        At least 3.
    values : bool, optional
        Write each weight on its edge; default None does when at most 16 edges are drawn.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (that of ``ax`` when given).

    Raises
    ------
    TypeError
        For anything but an MLP.
    ValueError
        For ``max_units`` below 3.

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp import plot
    >>> fig = plot.network(fm.MLP([3, 2, 1], seed=0))
    >>> len(fig.axes[0].lines)   # one edge per weight
    11
    """
    if not isinstance(net, MLP):
        raise TypeError(f"network draws an MLP, not {type(net).__name__}")
    max_units = checks.positive_int(max_units, "max_units")
    if max_units < 3:
        raise ValueError(f"max_units must be at least 3 (first units, ellipsis, last unit), got {max_units}")
    shown = [_units_shown(d, max_units) for d in net.sizes]  # unit numbers j = 1..d, None for the gap
    rows = max(len(units) + 1 for units in shown)
    place = []  # {unit number (0 = bias): (x, y)} per layer
    for l, units in enumerate(shown):
        column = ([0] if l < net.L else []) + units
        offset = (rows - len(column)) / 2
        place.append({j: (SPACING * l, rows - 1 - offset - k) for k, j in enumerate(column)})
    edges = [(l, i, j) for l in range(1, net.L + 1) for i in place[l - 1] if i is not None
             for j in place[l] if j not in (None, 0)]
    size = max((abs(float(net.weights[l - 1][i, j - 1])) for l, i, j in edges), default=0.0) or 1.0
    if values is None:
        values = len(edges) <= 16
    norm, cmap = Normalize(-size, size), matplotlib.colormaps["coolwarm"]
    width = SPACING * net.L + 1.6
    fig, ax = _figure_and_ax(ax, (0.6 * width + 1.4, 0.6 * (rows + 2.4)))
    segments = {(l, i, j): (place[l - 1][i], place[l][j]) for l, i, j in edges}
    labels = _label_places(segments) if values else {}
    for l, i, j in edges:
        w = float(net.weights[l - 1][i, j - 1])
        (x0, y0), (x1, y1) = segments[l, i, j]
        ax.plot([x0, x1], [y0, y1], color=cmap(norm(w)), lw=0.4 + 3.6 * abs(w) / size, zorder=1,
                solid_capstyle="round", gid=f"w_{i}{j}^({l})")
        if values:  # on its own edge, turned with it, where the other edges and labels are farthest
            (x, y), angle = labels[l, i, j]
            ax.text(x, y, f"{w:.3g}", fontsize="x-small", ha="center", va="center", rotation=angle,
                    rotation_mode="anchor", zorder=4, bbox=LABEL_BOX, gid=f"value w_{i}{j}^({l})")
    for l, units in enumerate(place):
        for j, (x, y) in units.items():
            if j is None:
                ax.text(x, y, r"$\vdots$", ha="center", va="center", fontsize="large")
            elif j == 0:
                ax.add_patch(Rectangle((x - 0.25, y - 0.25), 0.5, 0.5, fc="lightgrey", ec="black", zorder=2))
                ax.text(x, y, "1", ha="center", va="center", fontsize="small", zorder=3)
            else:
                ax.add_patch(Circle((x, y), 0.32, fc="white", ec="black", zorder=2))
                ax.text(x, y, f"$x_{{{j}}}^{{({l})}}$", ha="center", va="center", fontsize="small", zorder=3)
        theta = "input" if l == 0 else net.activations[l - 1].name
        ax.text(SPACING * l, -0.7, f"layer {l}\n$d^{{({l})}}$ = {net.sizes[l]}\n{theta}", ha="center", va="top",
                fontsize="small")
    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, label="$w_{ij}^{(l)}$", shrink=0.6)
    ax.set_xlim(-0.8, SPACING * net.L + 0.8)
    ax.set_ylim(-2.4, rows - 0.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


def _label_places(segments: dict) -> dict:
    """{edge: ((x, y), angle in degrees)}: for each edge, in turn, the point between 20% and
    80% of its length that lies farthest from every other edge of its layer and from the
    labels placed before it, so that no value sits where edges cross."""
    placed, found = [], {}
    ts = np.linspace(0.2, 0.8, 25)
    for key, (a, b) in segments.items():
        a, b = np.asarray(a, float), np.asarray(b, float)
        points = a + ts[:, None] * (b - a)
        clearance = np.full(len(ts), np.inf)
        for other, (c, d) in segments.items():
            if other != key and other[0] == key[0]:
                clearance = np.minimum(clearance, _distance_to_segment(points, np.asarray(c, float),
                                                                       np.asarray(d, float)))
        for q in placed:
            clearance = np.minimum(clearance, np.hypot(*(points - q).T))
        best = points[int(np.argmax(clearance - 1e-3 * np.abs(ts - 0.5)))]  # ties: nearer the middle
        placed.append(best)
        angle = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
        found[key] = ((float(best[0]), float(best[1])), angle)
    return found


def _distance_to_segment(points, c, d):
    """Distance from each of points (m, 2) to the segment from c to d."""
    span = d - c
    t = np.clip((points - c) @ span / max(float(span @ span), 1e-12), 0.0, 1.0)
    return np.hypot(*(points - (c + t[:, None] * span)).T)


def _units_shown(d: int, limit: int) -> list:
    """Unit numbers 1..d, or the first limit - 2 of them, None (the gap) and d."""
    return list(range(1, d + 1)) if d <= limit else list(range(1, limit - 1)) + [None, d]


# -- shared helpers --------------------------------------------------------------------------


def _figure_of(ax) -> Figure:
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, not {type(ax).__name__}")
    fig = ax.figure
    while not isinstance(fig, Figure):  # axes in a SubFigure: up to the Figure that holds it
        fig = fig.figure
    return fig


def _figure_and_ax(ax, size):
    if ax is None:
        fig = Figure(figsize=size, layout="constrained")
        return fig, fig.add_subplot()
    return _figure_of(ax), ax


def _axes_list(axes, count, what) -> list:
    axes = list(np.asarray(axes, dtype=object).reshape(-1))
    if len(axes) != count:
        raise ValueError(f"{what}: expected {count} Axes, got {len(axes)}")
    for ax in axes:
        _figure_of(ax)
    return axes


def _interval(value, what):
    try:
        low, high = value
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a range (low, high), got {value!r}") from None
    low, high = checks.real_number(low, f"{what} low"), checks.real_number(high, f"{what} high")
    if not low < high:
        raise ValueError(f"{what} must have low < high, got ({low!r}, {high!r})")
    return low, high
