"""A progress bar for training: the epoch, the training and validation loss and samples/s.

``Progress(epochs)`` is updated with the fit's History after each epoch. It draws with
tqdm when tqdm is installed; otherwise it draws its own one-line bar, redrawn in place
with a carriage return on a terminal, or as plain lines (at most one a second) when the
stream is a file or a pipe. Redraws are throttled by time, so a fast epoch loop spends
almost nothing on them; the last epoch is always drawn.
"""
from __future__ import annotations

import math
import sys
import time

from . import _checks as checks

INTERVAL = 0.2  # seconds between redraws on a terminal
LOG_INTERVAL = 1.0  # seconds between lines on a stream that is not a terminal
WIDTH = 20  # characters of the plain bar


class Progress:
    """A bar over ``epochs`` epochs, written to ``stream`` (default sys.stderr).

    Call ``update(history)`` after each epoch and ``close()`` at the end, or use it as a
    context manager.

    Parameters
    ----------
    epochs : int
        The epochs the fit will run, >= 1.
    stream : file-like, optional
        Anything with a ``write`` method; default None is sys.stderr.
    interval : float, optional
        Least seconds between two redraws; default None is 0.2 on a terminal or with tqdm,
        1 for plain lines.
    clock : callable, default time.monotonic
        The time source, in seconds.

    Raises
    ------
    ValueError
        epochs < 1 or a negative interval.
    TypeError
        A stream without ``write``, or a clock that is not callable.

    Examples
    --------
    >>> import io
    >>> import fastmlp as fm
    >>> from fastmlp.progress import Progress
    >>> history = fm.MLP([1, 1], seed=0).fit([[0.0], [1.0]], [0.0, 1.0], epochs=2)
    >>> out = io.StringIO()
    >>> with Progress(2, out) as bar:
    ...     bar.update(history)
    >>> "2/2" in out.getvalue() and "loss" in out.getvalue()
    True
    """

    def __init__(self, epochs: int, stream=None, *, interval: float | None = None, clock=time.monotonic):
        self.epochs = checks.positive_int(epochs, "epochs")
        self.stream = sys.stderr if stream is None else stream
        if not callable(getattr(self.stream, "write", None)):
            raise TypeError(f"stream must have a write method, got {type(self.stream).__name__}")
        if not callable(clock):
            raise TypeError("clock must be callable, returning seconds")
        self.clock = clock
        self.terminal = _isatty(self.stream)
        self._tqdm = _tqdm_bar(self.epochs, self.stream)
        if interval is None:
            interval = INTERVAL if self.terminal or self._tqdm is not None else LOG_INTERVAL
        self.interval = checks.real_number(interval, "interval", lowest=0.0)
        self._drawn_at = None  # clock time of the last redraw
        self._pending = None  # (epoch, status) not drawn yet
        self._width = 0  # length of the plain bar's last line, to blank it on redraw
        self._closed = False

    def update(self, history) -> None:
        """Show the state after the History's last epoch (drawn now unless the last redraw
        was less than ``interval`` ago; the final epoch is always drawn).

        Parameters
        ----------
        history : History
            The fit's record, read for its epoch count and last losses.

        Returns
        -------
        None

        Raises
        ------
        ValueError
            The bar is closed.

        Examples
        --------
        >>> import io
        >>> import fastmlp as fm
        >>> from fastmlp.progress import Progress
        >>> out = io.StringIO()
        >>> bar = Progress(3, out)
        >>> bar.update(fm.History(loss=[0.5, 0.25, 0.125]))  # the last epoch: drawn now
        >>> "3/3" in out.getvalue() and "loss 0.125" in out.getvalue()
        True
        >>> bar.close()
        """
        if self._closed:
            raise ValueError("this Progress is closed")
        self._pending = (history.epochs, _status(history))
        now = self.clock()
        if history.epochs >= self.epochs or self._drawn_at is None or now - self._drawn_at >= self.interval:
            self._draw()
            self._drawn_at = now

    def close(self) -> None:
        """Draw what is not drawn yet (an early stop ends before the last epoch) and end
        the line. Closing twice does nothing.

        Returns
        -------
        None

        Raises
        ------
        OSError
            The stream cannot be written.

        Examples
        --------
        Early stopping after epoch 2 of 5, redrawing at most once a minute:

        >>> import io
        >>> import fastmlp as fm
        >>> from fastmlp.progress import Progress
        >>> out = io.StringIO()
        >>> bar = Progress(5, out, interval=60.0)
        >>> bar.update(fm.History(loss=[0.5]))
        >>> bar.update(fm.History(loss=[0.5, 0.25]))  # within the minute: not drawn yet
        >>> "2/5" in out.getvalue()
        False
        >>> bar.close()
        >>> "2/5" in out.getvalue() and "loss 0.25" in out.getvalue()
        True
        """
        if self._closed:
            return
        self._closed = True
        if self._pending is not None:
            self._draw()
        if self._tqdm is not None:
            self._tqdm.close()
        elif self.terminal and self._width:
            self.stream.write("\n")
        _flush(self.stream)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _draw(self) -> None:
        epoch, status = self._pending
        self._pending = None
        if self._tqdm is not None:
            self._tqdm.n = epoch
            self._tqdm.set_postfix_str(status, refresh=False)
            self._tqdm.refresh()
            return
        filled = min(WIDTH, WIDTH * epoch // self.epochs)
        line = f"epoch {epoch:>{len(str(self.epochs))}}/{self.epochs} [{'=' * filled}{' ' * (WIDTH - filled)}] {status}"
        if self.terminal:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        _flush(self.stream)


def _status(history) -> str:
    """"loss 0.1234, val_loss 0.2345, 12,345 samples/s" for the History's last epoch."""
    parts = [f"loss {history.loss[-1]:.6g}"] if history.loss else []
    if history.val_loss:
        parts.append(f"val_loss {history.val_loss[-1]:.6g}")
    if history.samples_per_second and math.isfinite(history.samples_per_second[-1]):
        parts.append(f"{history.samples_per_second[-1]:,.0f} samples/s")
    return ", ".join(parts)


def _tqdm_bar(epochs, stream):
    """A tqdm bar over the epochs, or None when tqdm is not installed. Its own rate limit
    is off: Progress decides when to redraw."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=epochs, file=stream, unit="epoch", mininterval=0, dynamic_ncols=True, leave=True)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed file
        return False


def _flush(stream) -> None:
    flush = getattr(stream, "flush", None)
    if callable(flush):
        flush()
