"""The progress bar: what it shows, when it redraws (by an injected clock), tqdm or not."""
import io
import sys

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.progress import Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)


def epoch(history, loss, val_loss=None, rate=1000.0):
    history.loss.append(loss)
    history.samples_per_second.append(rate)
    if val_loss is not None:
        history.val_loss.append(val_loss)
    return history


def test_plain_lines_off_a_terminal_at_most_once_a_second(no_tqdm):
    stream, clock, history = io.StringIO(), Clock(), fm.History()
    with Progress(10, stream, clock=clock) as bar:
        for k in range(10):
            clock.now = 0.3 * k  # epochs 1..10 end at 0, 0.3, ..., 2.7 s
            bar.update(epoch(history, 1.0 / (k + 1), 2.0 / (k + 1), rate=12345.6))
    lines = stream.getvalue().splitlines()
    # drawn: epoch 1 (t=0), epoch 5 (t=1.2), epoch 9 (t=2.4), and the last, epoch 10
    assert [line.split("[")[0] for line in lines] == ["epoch  1/10 ", "epoch  5/10 ", "epoch  9/10 ", "epoch 10/10 "]
    assert "\r" not in stream.getvalue()
    assert lines[1] == "epoch  5/10 [==========          ] loss 0.2, val_loss 0.4, 12,346 samples/s"
    assert lines[-1].startswith("epoch 10/10 [====================] loss 0.1, val_loss 0.2")


def test_terminal_redraws_one_line_in_place(no_tqdm):
    stream, clock, history = Terminal(), Clock(), fm.History()
    bar = Progress(4, stream, clock=clock)
    assert bar.interval == pytest.approx(0.2)
    clock.now = 0.0
    bar.update(epoch(history, 123456.0))
    clock.now = 0.1  # too soon: not drawn
    bar.update(epoch(history, 2.0))
    clock.now = 0.35
    bar.update(epoch(history, 1.5))
    clock.now = 0.36  # the last epoch is drawn however soon it comes
    bar.update(epoch(history, 1.25))
    bar.close()
    bar.close()
    text = stream.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    draws = text.rstrip("\n").split("\r")[1:]
    assert [d.split("]")[0].rstrip() for d in draws] == ["epoch 1/4 [=====", "epoch 3/4 [===============",
                                                "epoch 4/4 [===================="]
    assert "loss 2," not in text
    # a shorter line blanks what is left of the longer one before it
    assert len(draws[1]) >= len(draws[0]) and draws[1].rstrip().endswith("loss 1.5, 1,000 samples/s")


def test_close_draws_an_early_stop(no_tqdm):
    stream, clock, history = io.StringIO(), Clock(), fm.History()
    bar = Progress(100, stream, clock=clock)
    bar.update(epoch(history, 0.5))
    clock.now = 0.5
    bar.update(epoch(history, 0.25))  # stopped here, within the second
    assert len(stream.getvalue().splitlines()) == 1
    bar.close()
    assert stream.getvalue().splitlines()[-1].startswith("epoch   2/100 [")
    with pytest.raises(ValueError, match="closed"):
        bar.update(history)


def test_infinite_rate_is_left_out(no_tqdm):
    stream, history = io.StringIO(), fm.History()
    with Progress(1, stream) as bar:
        bar.update(epoch(history, 0.5, rate=float("inf")))
    assert stream.getvalue() == "epoch 1/1 [====================] loss 0.5\n"


def test_with_tqdm_the_bar_shows_epochs_and_losses():
    pytest.importorskip("tqdm")
    stream, clock, history = io.StringIO(), Clock(), fm.History()
    with Progress(3, stream, clock=clock) as bar:
        for k in range(3):
            bar.update(epoch(history, 0.5 / (k + 1), 0.75))
    text = stream.getvalue()
    assert "3/3" in text and "loss 0.166667, val_loss 0.75, 1,000 samples/s" in text


def test_drives_a_real_fit(no_tqdm):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = fm.MLP([2, 3, 1], loss="binary_cross_entropy", seed=0)
    stream = io.StringIO()
    with Progress(5, stream, interval=0) as bar:
        history = net.fit(X, y, epochs=5, eta=0.5, validation_data=(X, y), callback=lambda _, h: bar.update(h))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5
    assert lines[-1].startswith(f"epoch 5/5 [====================] loss {history.loss[-1]:.6g}, "
                                f"val_loss {history.val_loss[-1]:.6g}, ")
    assert lines[-1].endswith(" samples/s")


@pytest.mark.parametrize("args, error", [
    ((0,), ValueError), ((2.5,), ValueError), ((3, object()), TypeError),
])
def test_bad_arguments(args, error):
    with pytest.raises(error):
        Progress(*args)


def test_bad_interval_and_clock():
    with pytest.raises(ValueError, match="interval"):
        Progress(3, io.StringIO(), interval=-1)
    with pytest.raises(TypeError, match="clock"):
        Progress(3, io.StringIO(), clock=0)


def test_default_stream_is_stderr(no_tqdm, capsys):
    with Progress(1) as bar:
        bar.update(epoch(fm.History(), 0.5))
    captured = capsys.readouterr()
    assert captured.out == "" and "epoch 1/1" in captured.err


def test_fit_draws_the_bar_on_stderr_only_when_asked(no_tqdm, capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, 30)
    net = fm.MLP([3, 4, 2], loss="cross_entropy", seed=0)
    net.fit(X, y, epochs=3)
    assert capsys.readouterr() == ("", "")
    history = net.fit(X, y, epochs=3, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1].startswith(f"epoch 3/3 [====================] loss {history.loss[-1]:.6g}")
    with pytest.raises(TypeError, match="progress must be True or False"):
        net.fit(X, y, progress="yes")


def test_a_failing_fit_still_ends_its_bar(no_tqdm, capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, 30)
    net = fm.MLP([3, 4, 2], loss="cross_entropy", seed=0)

    def stop(epoch, history):
        if epoch == 2:
            raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        net.fit(X, y, epochs=5, progress=True, callback=stop)
    assert captured_last_epoch(capsys.readouterr().err) == 2


def captured_last_epoch(err):
    return int(err.strip().splitlines()[-1].split()[1].split("/")[0])
