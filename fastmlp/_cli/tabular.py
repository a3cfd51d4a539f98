"""Tables of samples from files, for the command line: CSV (with or without a header row)
and numpy files (.npz with arrays X and y, or a .npy of X).

A CSV's first row is its header when none of its cells is a number: every data row has at
least one number, its inputs. Input cells must be finite numbers; the target column may
hold numbers or text labels. Every problem raises ValueError naming the file, and the line
and column where it is.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass

import numpy as np


@dataclass
class Table:
    """Samples read from a file: inputs X (n, d) as float64, the target column y (numbers
    as float64, or text) or None, the names of the input columns, and the target's name
    and column index (None for files without a target column)."""

    X: np.ndarray
    y: np.ndarray | None
    columns: list
    target: str | None = None
    target_index: int | None = None


def read_training(path, target=None) -> Table:
    """X and y from a CSV (``target``: the target column's name or index, default the
    last) or from an .npz with arrays X and y."""
    path = os.fspath(path)
    if _is_numpy(path):
        if target is not None:
            raise ValueError(f"{path}: --target picks a CSV column; an .npz gives its target as the array y")
        return _read_npz(path, need_y=True)
    names, rows, lines = _read_csv(path)
    if len(rows[0]) < 2:
        raise ValueError(f"{path}: has one column; it needs input columns and a target column")
    index = _column_index(path, target, names, len(rows[0]))
    features = [j for j in range(len(rows[0])) if j != index]
    X = _numbers(path, rows, lines, features, names)
    y = np.array([row[index] for row in rows])
    for row, line in zip(rows, lines):
        if not row[index]:
            raise ValueError(f"{path}, line {line}: the target column {_name(names, index)} is empty")
    numeric = _as_numbers(y)
    return Table(X, numeric if numeric is not None else y, [_name(names, j) for j in features],
                 names[index] if names else None, index)


def read_inputs(path, d, target=None, target_index=None) -> Table:
    """The inputs of a file to predict for: a CSV with ``d`` columns, or with d + 1 when it
    still holds the target column (found by its name ``target`` in the header, else at
    ``target_index``); an .npz with an array X; or a .npy of X. X must have d columns."""
    path = os.fspath(path)
    if _is_numpy(path):
        table = _read_npz(path, need_y=False) if path.lower().endswith(".npz") else _read_npy(path)
        if table.X.shape[1] != d:
            raise ValueError(f"{path}: X has {table.X.shape[1]} columns; the model takes {d} inputs")
        return table
    names, rows, lines = _read_csv(path)
    width = len(rows[0])
    if width == d:
        features = list(range(d))
    elif width == d + 1 and (target is not None and target in names or target_index is not None):
        drop = names.index(target) if target is not None and target in names else target_index
        if not 0 <= drop < width:
            raise ValueError(f"{path}: has {width} columns, but the target column the model was trained with was "
                             f"column {drop}")
        features = [j for j in range(width) if j != drop]
    else:
        with_target = f" (or {d + 1} with the target column)" if target is not None or target_index is not None else ""
        raise ValueError(f"{path}: has {width} columns; the model takes {d} inputs{with_target}")
    return Table(_numbers(path, rows, lines, features, names), None, [_name(names, j) for j in features])


def _is_numpy(path: str) -> bool:
    return path.lower().endswith((".npz", ".npy"))


def _read_csv(path):
    """(header names or None, rows of stripped cells, the line of each row)."""
    rows, lines = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    rows.append([cell.strip() for cell in row])
                    lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text (UTF-8) CSV file") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise ValueError(f"{path}: has no rows")
    names = None
    if not any(_is_number(cell) for cell in rows[0]):
        names, rows, first_line = rows[0], rows[1:], lines[0]
        lines = lines[1:]
        if len(set(names)) != len(names):
            raise ValueError(f"{path}, line {first_line}: the header names a column twice")
        if not rows:
            raise ValueError(f"{path}: has a header but no rows of data")
    width = len(names) if names else len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise ValueError(f"{path}, line {line}: has {len(row)} cells; expected {width}, as in "
                             f"{'the header' if names else 'the first row'}")
    return names, rows, lines


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _column_index(path, target, names, width) -> int:
    """The target column: by name (with a header) or index (negative counts from the end)."""
    if target is None:
        return width - 1
    try:
        index = int(target)
    except ValueError:
        if names is None:
            raise ValueError(f"{path}: has no header row, so --target must be a column index, not {target!r}") from None
        if target not in names:
            raise ValueError(f"{path}: has no column {target!r}; its columns are {', '.join(names)}") from None
        return names.index(target)
    if not -width <= index < width:
        raise ValueError(f"{path}: has {width} columns; --target {target} is out of range")
    return index % width


def _name(names, j) -> str:
    return names[j] if names else f"column {j}"


def _numbers(path, rows, lines, columns, names) -> np.ndarray:
    """The cells of ``columns`` as a finite float64 array (n, len(columns))."""
    cells = [[row[j] for j in columns] for row in rows]
    try:
        X = np.array(cells, dtype=np.float64).reshape(len(rows), len(columns))
        if np.isfinite(X).all():
            return X
    except ValueError:
        pass
    # Some cell is not a finite number: convert cell by cell to say which.
    return np.array([[_cell(path, line, _name(names, j), cell) for j, cell in zip(columns, row)]
                     for row, line in zip(cells, lines)])


def _cell(path, line, column, cell) -> float:
    if not cell:
        raise ValueError(f"{path}, line {line}: the cell in column {column} is empty (missing values are not "
                         "supported)")
    if not _is_number(cell) or not np.isfinite(float(cell)):
        raise ValueError(f"{path}, line {line}: {cell!r} in column {column} is not a finite number")
    return float(cell)


def _as_numbers(y):
    """y as float64 if every label is a finite number, else None (text labels)."""
    try:
        values = y.astype(np.float64)
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def _load_numpy(path):
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # a missing or unreadable file, as the system reports it
        raise ValueError(f"{path}: not a readable numpy file ({str(exc).splitlines()[0][:200]})") from None


def _read_npz(path, need_y) -> Table:
    archive = _load_numpy(path)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: is a .npy array, not an .npz archive with arrays X and y")
    with archive:
        missing = [name for name in ("X", "y")[: 2 if need_y else 1] if name not in archive.files]
        if missing:
            raise ValueError(f"{path}: has no array {' or '.join(missing)} (it holds {', '.join(archive.files) or 'none'})")
        try:
            X = archive["X"]
            y = archive["y"] if need_y else None
        except (ValueError, EOFError, OSError) as exc:
            raise ValueError(f"{path}: an array cannot be read ({str(exc).splitlines()[0][:200]})") from None
    X = _inputs(path, X)
    if y is not None:
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"{path}: y has shape {y.shape}; expected ({len(X)},), one target per row of X")
        if y.dtype.kind not in "biufU":
            raise ValueError(f"{path}: y has dtype {y.dtype}; expected numbers or text labels")
        if y.dtype.kind != "U":
            y = y.astype(np.float64)
            if not np.isfinite(y).all():
                raise ValueError(f"{path}: y contains NaN or infinity")
    return Table(X, y, [f"column {j}" for j in range(X.shape[1])])


def _read_npy(path) -> Table:
    X = _load_numpy(path)
    if not isinstance(X, np.ndarray):
        raise ValueError(f"{path}: is an .npz archive; name it .npz")
    X = _inputs(path, X)
    return Table(X, None, [f"column {j}" for j in range(X.shape[1])])


def _inputs(path, X) -> np.ndarray:
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{path}: X has shape {X.shape}; expected (n, d), one row per sample")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: X has dtype {X.dtype}; expected numbers")
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: X contains NaN or infinity")
    return X
