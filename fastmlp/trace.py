"""The lecture's quantities for one sample, printed as the lecture writes them.

``net.trace(x, y)`` returns a Trace. Printing it shows, layer by layer, the sums s_j^(l),
the outputs x_j^(l) and the deltas delta_j^(l) of every unit j, then the loss and the
gradient dl/dw_ij^(l) = x_i^(l-1) delta_j^(l) as one table per layer (row i = 0 is the
bias). In Jupyter the same tables render as HTML. Wide layers are elided: the first and
last units stay, and a note says which ones were left out.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

# How many units (columns) and weight rows a table shows before eliding the middle ones.
COLUMNS = 8
ROWS = 12
DIGITS = 6  # significant digits of every number


@dataclass
class Trace:
    """The lecture's quantities for one sample: x has L+1 entries (x[0] is the input);
    s, delta and grad have L entries, index l-1 holding layer l; grad[l-1][i, j] is
    dl/dw_ij^(l).

    Examples
    --------
    >>> import fastmlp as fm
    >>> t = fm.MLP([2, 3, 1], seed=0).trace([1.0, -1.0], 0.5)
    >>> len(t.x), len(t.delta), t.grad[0].shape
    (3, 2, (3, 3))
    """

    x: list
    s: list
    delta: list
    grad: list
    loss: float

    def table(self, columns: int = COLUMNS, rows: int = ROWS) -> str:
        """The lecture's table as text, showing at most ``columns`` units per layer and
        ``rows`` rows i of each gradient (the middle ones are elided and named).

        Parameters
        ----------
        columns : int, default 8
        rows : int, default 12

        Returns
        -------
        str

        Raises
        ------
        ValueError
            columns or rows below 1.

        Examples
        --------
        >>> import fastmlp as fm
        >>> t = fm.MLP([2, 2, 1], seed=0).trace([1.0, 0.0], [1.0])
        >>> isinstance(t.table(columns=2, rows=2), str)
        True
        """
        return "\n".join(_text(part) for part in _parts(self, _limit(columns, "columns"), _limit(rows, "rows")))

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        body = "\n".join(_html(part) for part in _parts(self, COLUMNS, ROWS))
        return f'<div class="fastmlp-trace">\n{body}\n</div>'


@dataclass(frozen=True)
class _Symbol:
    """A lecture symbol with a subscript and the layer as superscript, e.g. delta_j^(2)."""

    text: str
    html: str
    sub: str
    layer: int

    def as_text(self) -> str:
        return f"{self.text}_{self.sub}^({self.layer})"

    def as_html(self) -> str:
        return f"{self.html}<sub>{self.sub}</sub><sup>({self.layer})</sup>"


@dataclass(frozen=True)
class _Table:
    """One titled table: a corner label, column labels, labelled rows of cells (None in a
    position marks an elided stretch) and notes on what was elided."""

    title: list  # text pieces and _Symbols
    corner: str
    columns: list
    rows: list  # (label, cells); label is a str or a _Symbol
    notes: list


@dataclass(frozen=True)
class _Line:
    """A line between the tables (the loss), as text and as HTML."""

    text: str
    html: str


def _limit(value, name) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
    return value


def _shown(n: int, limit: int) -> list:
    """Indices 0..n-1 to show: all if n <= limit, else the first and last ones around a
    None that stands for the elided middle."""
    if n <= limit:
        return list(range(n))
    head = (limit + 1) // 2
    return list(range(head)) + [None] + list(range(n - (limit - head), n))


def _elided(shown: list, what: str, first: int, n: int) -> list:
    """A note naming the elided stretch, numbered from ``first``."""
    if None not in shown:
        return []
    gap = shown.index(None)
    low, high = shown[gap - 1] + 1 + first, shown[gap + 1] - 1 + first
    return [f"{what} {low}..{high} of {first}..{n - 1 + first} not shown"]


def _number(v) -> str:
    v = float(v)
    return f"{0.0 if v == 0 else v:.{DIGITS}g}"


def _parts(trace: Trace, columns: int, rows: int) -> list:
    L = len(trace.s)
    parts = []
    for l in range(L + 1):
        d = len(trace.x[l])
        units = _shown(d, columns)
        labels = [None if j is None else str(j + 1) for j in units]
        if l == 0:
            quantities = [("x", "x", trace.x[0])]
        else:
            quantities = [("s", "s", trace.s[l - 1]), ("x", "x", trace.x[l]), ("delta", "&delta;", trace.delta[l - 1])]
        table_rows = [(_Symbol(text, markup, "j", l), [None if j is None else _number(values[j]) for j in units])
                      for text, markup, values in quantities]
        title = f"layer {l}" + (" (input)" if l == 0 else " (output)" if l == L else "")
        parts.append(_Table([title], "j", labels, table_rows, _elided(units, "units j =", 1, d)))
    loss = f"{float(trace.loss):.10g}"
    parts.append(_Line(f"loss l = {loss}", f"loss &ell; = {loss}"))
    for l in range(1, L + 1):
        G = trace.grad[l - 1]
        units, inputs = _shown(G.shape[1], columns), _shown(G.shape[0], rows)
        labels = [None if j is None else str(j + 1) for j in units]
        table_rows = [
            (None if i is None else ("0 (bias)" if i == 0 else str(i)),
             [None if i is None or j is None else _number(G[i, j]) for j in units])
            for i in inputs
        ]
        title = ["gradient ", _Symbol("dl/dw", "&part;&ell;/&part;w", "ij", l), " = ",
                 _Symbol("x", "x", "i", l - 1), " ", _Symbol("delta", "&delta;", "j", l)]
        notes = _elided(inputs, "rows i =", 0, G.shape[0]) + _elided(units, "columns j =", 1, G.shape[1])
        parts.append(_Table(title, "i \\ j", labels, table_rows, notes))
    return parts


def _plain(piece) -> str:
    return piece.as_text() if isinstance(piece, _Symbol) else piece


def _markup(piece) -> str:
    return piece.as_html() if isinstance(piece, _Symbol) else html.escape(piece)


def _text(part) -> str:
    if isinstance(part, _Line):
        return part.text + "\n"
    grid = [[part.corner] + part.columns] + [["..." if label is None else _plain(label)] + cells
                                             for label, cells in part.rows]
    grid = [["..." if c is None else c for c in row] for row in grid]
    widths = [max(len(row[k]) for row in grid) for k in range(len(grid[0]))]
    lines = ["".join(map(_plain, part.title))]
    for row in grid:
        lines.append("  " + row[0].ljust(widths[0]) + "".join("  " + c.rjust(w) for c, w in zip(row[1:], widths[1:])))
    lines += [f"  ({note})" for note in part.notes]
    return "\n".join(lines) + "\n"


def _html(part) -> str:
    if isinstance(part, _Line):
        return f"<p>{part.html}</p>"
    head = "".join(f"<th>{'&hellip;' if c is None else html.escape(c)}</th>" for c in part.columns)
    body = []
    for label, cells in part.rows:
        name = "&vellip;" if label is None else _markup(label)
        row = "".join(f"<td>{'&hellip;' if c is None else c}</td>" for c in cells)
        body.append(f"<tr><th>{name}</th>{row}</tr>")
    notes = "".join(f"<p><small>{html.escape(note)}</small></p>" for note in part.notes)
    return (
        f"<table>\n<caption>{''.join(map(_markup, part.title))}</caption>\n"
        f"<thead><tr><th>{html.escape(part.corner)}</th>{head}</tr></thead>\n"
        f"<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>" + notes
    )
