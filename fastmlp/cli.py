"""Command line: ``fastmlp train`` (the main job: the shipped digits, or your CSV or NPZ),
``predict`` and ``info`` for a saved model, ``example`` (the lecture's worked example step
by step) and ``bench``.

A mistake (a missing or unreadable file, a value out of range, a model file that fails its
checks) prints one line, ``fastmlp: error: ...``, and exits with status 2; a malformed
option prints the usage before that line.
"""
from __future__ import annotations

import argparse
import os
import sys

from ._engine.optimizers import OPTIMIZERS
from ._errors import DivergenceError
from ._version import __version__
from .activations import KINDS

TRAIN_HELP = """\
Train an MLP and report its held-out accuracy (classification) or R^2 and RMSE (regression).

Without --data it learns the shipped UCI digits. --data FILE takes a CSV (its first row is
a header when none of its cells is a number; the target is the last column unless --target
names another, by header name or index) or an .npz with arrays X and y. --task is guessed
when not given: classify when the target is text, or whole numbers with at most 20
distinct values; regress otherwise. A share --test-fraction of the rows (stratified by
class) is held out for the final score.
"""


def _batch_size(text: str):
    return None if text.lower() in ("none", "full") else int(text)


def parser() -> argparse.ArgumentParser:
    """The command line's argument parser: ``fastmlp``'s options and its commands train,
    predict, info, example and bench, each with its own options and help.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> from fastmlp.cli import parser
    >>> args = parser().parse_args(["info", "net.npz"])
    >>> args.command, args.model
    ('info', 'net.npz')
    """
    parser = argparse.ArgumentParser(prog="fastmlp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"fastmlp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train an MLP on the shipped digits or your data, report held-out "
                                "scores, optionally save it", description=TRAIN_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    data = train.add_argument_group("data")
    data.add_argument("--data", metavar="FILE", help="a CSV or .npz file (default: the shipped digits)")
    data.add_argument("--target", metavar="NAME_OR_INDEX", help="the CSV's target column (default: the last)")
    data.add_argument("--task", choices=["classify", "regress"], help="default: guessed from the target (see above)")
    data.add_argument("--standardise", action=argparse.BooleanOptionalAction, default=True,
                      help="scale each input (and a regression target) to mean 0 and standard deviation 1 by the "
                      "training rows' statistics; saved with the model and applied by predict (default: on; "
                      "--no-standardise trains on the values as they are)")
    data.add_argument("--test-fraction", type=float, default=0.25, help="share of rows held out (default: 0.25)")
    net = train.add_argument_group("network and training")
    net.add_argument("--hidden", type=int, nargs="+", default=[64], help="hidden layer widths (default: 64)")
    net.add_argument("--activation", default="tanh", help="hidden theta (default: tanh)",
                     choices=[name for name, kind in KINDS.items() if kind.hidden and kind.trainable])
    net.add_argument("--epochs", type=int, default=30)
    net.add_argument("--batch-size", type=_batch_size, default=1, help="1 (per-sample SGD), k, or 'full'")
    net.add_argument("--eta", type=float, default=0.01, help="learning rate (default: 0.01)")
    net.add_argument("--optimizer", default="sgd", choices=list(OPTIMIZERS))
    net.add_argument("--l2", type=float, default=0.0, help="weight decay on the weights (default: 0)")
    net.add_argument("--dropout", type=float, default=None, help="dropout rate of the hidden units")
    net.add_argument("--update-dropout", type=float, default=0.0,
                     help="share of the weights each step leaves unchanged (default: 0)")
    net.add_argument("--validation-fraction", type=float, default=None,
                     help="share of the training rows held out to report val_loss and val_score each epoch")
    net.add_argument("--early-stopping", action="store_true",
                     help="stop once the validation loss has not improved for --patience epochs and keep the best "
                     "epoch's weights (holds out --validation-fraction, default 0.1)")
    net.add_argument("--patience", type=int, default=10, help="epochs without improvement (default: 10)")
    net.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    net.add_argument("--backend", default=None, choices=["cython", "reference"])
    net.add_argument("--threads", type=int, default=None,
                     help="threads for minibatch products (default: all cores; per-sample SGD uses one)")
    net.add_argument("--seed", type=int, default=0)
    net.add_argument("--progress", action="store_true",
                     help="a progress bar on stderr instead of a line per epoch (tqdm's when installed)")
    train.add_argument("--save", metavar="MODEL", help="write the trained model (with its standardisation and "
                       "class labels) to this .npz file")

    predict = commands.add_parser("predict", help="apply a saved model to the rows of a CSV, .npz or .npy file",
                                  description="Predict for each row of DATA: class labels (as in the training "
                                  "data) or values, or with --proba each class's probability. A CSV with a header, "
                                  "for a model trained on one, gives the model's inputs by name, in any order "
                                  "(other columns, such as an id or the target, are left out); otherwise DATA has "
                                  "the model's input columns in order, or those and the target column. The "
                                  "model's standardisation is applied.")
    predict.add_argument("model", metavar="MODEL", help="a model file saved by train --save (or net.save)")
    predict.add_argument("data", metavar="DATA", help="a CSV, .npz (array X) or .npy file of inputs")
    predict.add_argument("-o", "--output", metavar="OUT", help="write to OUT, .csv or .npy (default: CSV to stdout)")
    predict.add_argument("--proba", action="store_true", help="class probabilities instead of labels")

    info = commands.add_parser("info", help="describe a saved model: architecture, dtype, parameters, training")
    info.add_argument("model", metavar="MODEL")

    example = commands.add_parser("example", help="the lecture's worked example, step by step in its notation")
    example.add_argument("--backend", default=None, choices=["cython", "reference"])

    commands.add_parser("bench", help="time fastmlp against numpy, scikit-learn and PyTorch (see bench/)",
                        add_help=False)
    return parser


def _example(args) -> int:
    from ._cli.example import worked_example

    print("\n".join(worked_example(args.backend)))
    return 0


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def main(argv=None) -> int:
    """Run the command line on ``argv``, as ``fastmlp ...`` and ``python -m fastmlp ...`` do,
    and return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program's name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 when the command succeeded; 2 after a mistake (a missing or unreadable file, a
        value out of range, a model file that fails its checks), with one line
        ``fastmlp: error: ...`` on stderr; 130 when interrupted; 141 when the reader of
        stdout went away.

    Raises
    ------
    SystemExit
        From argparse: after ``--help`` or ``--version`` (status 0), or a malformed option
        (status 2, the usage and the error on stderr).

    Examples
    --------
    >>> import contextlib, io, os, tempfile
    >>> import fastmlp as fm
    >>> from fastmlp.cli import main
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> fm.MLP([2, 3, 1], seed=0).save(path)
    >>> printed = io.StringIO()
    >>> with contextlib.redirect_stdout(printed):
    ...     status = main(["info", path])
    >>> status, printed.getvalue().splitlines()[1]
    (0, 'architecture: 2-3-1 (2 inputs; layers 1..2: 3 tanh, 1 identity)')
    >>> main(["info", "missing.npz"])  # the error goes to stderr
    2
    """
    args, rest = parser().parse_known_args(argv)
    if args.command == "bench":
        from ._bench import benchmark

        return benchmark.main(rest)
    if rest:
        parser().error(f"unrecognised arguments: {' '.join(rest)}")
    from ._cli import commands as _commands

    command = {"train": _commands.train, "predict": _commands.predict, "info": _commands.info,
               "example": _example}[args.command]
    try:
        code = command(args)
        sys.stdout.flush()  # here, where a reader that went away is caught below
        return code
    except BrokenPipeError:
        # The reader of stdout went away (``fastmlp predict ... | head``): stop quietly, and
        # point stdout at nothing so that the interpreter's last flush cannot fail either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a process the broken pipe ended
    except (ValueError, TypeError, OSError, DivergenceError) as exc:
        print(f"fastmlp: error: {_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastmlp: interrupted", file=sys.stderr)
        return 130
