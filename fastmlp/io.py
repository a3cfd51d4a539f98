"""Saving and loading trained models: one ``.npz`` file, checked field by field on load.

A model file is a numpy ``.npz`` archive (written with ``numpy.savez``) holding a JSON
header as the uint8 array ``header`` and the model's arrays: for an MLP the flat
parameters ``params`` (W^(1) .. W^(L), bias rows first, as ``net.params``) and, with a
momentum, Nesterov or Adam state, its moments ``optimizer_m`` and ``optimizer_v``. The
header holds the format version, the kind of model, what rebuilds it (sizes, activations
with their parameters, loss, dtype, init, the optimizer's kind, settings and step count,
the generator's state) and optional user metadata.

Loading treats the file as untrusted: it opens regular files only (a FIFO or a device
would block or never end), never unpickles (numpy reads with ``allow_pickle=False``),
takes uncompressed members only (as ``numpy.savez`` writes them, so that the file's size
bounds what loading reads and allocates), reads each member only after the member's size,
and the dtype and shape in its ``.npy`` header, agree with what the JSON header declares,
and rebuilds the model through its public constructor and ``set_weights``. Any problem
raises ValueError naming the file; a missing file raises FileNotFoundError.

Saving refuses what loading would refuse: the file is loaded back from its temporary
name, and only a file that loads is renamed into place.

What a round trip keeps: the weights bit for bit, the optimizer state and the random
generator's state, so that ``fit`` on the loaded model (with or without a seed) gives the
same weights as the same ``fit`` on the original. Not kept: the backend and ``n_threads``,
which belong to the machine that loads the file (its defaults apply).

Other models plug in with ``register(name, cls, state, from_state)``: ``state(model)``
returns ``(fields, arrays)``, a JSON-ready dict and a dict of 1-d numeric arrays (not named
"header"); ``from_state(fields, archive)`` rebuilds the model, checking each field and
fetching each array with ``archive.array(name, dtype, length)``, which refuses a member
that disagrees (fastmlp registers MLP and Perceptron this way). A module that registers
kinds when it is imported is named with ``add_plugin(module)``; ``load`` imports it when a
file names a kind not yet registered.
"""
from __future__ import annotations

import contextlib
import importlib
import io as _bytes_io
import json
import math
import numbers
import os
import secrets
import stat
import struct
import tokenize
import zipfile
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._errors import SettingError


FORMAT = "fastmlp-model"
VERSION = 1
# Bounds checked before anything of the declared size is read or allocated.
MAX_HEADER_BYTES = 1 << 22
MAX_PARAMETERS = 10**9
MAX_LAYERS = 1000
MAX_LABEL_ITEMSIZE = 1 << 20  # bytes per label (262,144 characters of text)
MAX_METADATA_DEPTH = 100  # levels of lists and dicts nested in the metadata
# The kinds of numpy dtype a file's class labels may have: numbers (complex too), text,
# bytes, dates and durations; never objects.
LABEL_KINDS = "biufcUSMm"
_NPY_PREAMBLE = 10 + 65536  # magic, version, length field, and the longest .npy header numpy reads
# Modules that register further kinds when imported (looked up only for an unknown kind),
# named by the modules above this one (add_plugin).
PLUGINS: list = []


# -- the registry of model kinds ------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """How one class of model is kept: ``state(model) -> (fields, arrays)`` and
    ``from_state(fields, archive) -> model`` (see the module docstring)."""

    name: str
    cls: type
    state: Callable
    from_state: Callable


_KINDS: dict[str, Kind] = {}


def register(name: str, cls: type, state: Callable, from_state: Callable) -> None:
    """Make ``save`` keep instances of ``cls`` (exactly that class) under the kind ``name``,
    and ``load`` rebuild them.

    Parameters
    ----------
    name : str
        The kind's name, written in the file's header. Registering a name again replaces it.
    cls : type
        The class kept under this kind.
    state : callable
        ``state(model) -> (fields, arrays)``: a JSON-ready dict and a dict of 1-d numeric
        arrays (none named "header").
    from_state : callable
        ``from_state(fields, archive) -> model``: checks each field and fetches each array
        with ``archive.array(name, dtype, length)``.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        ``name`` is not a non-empty string.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import fastmlp as fm
    >>> class Line:
    ...     def __init__(self, slope, offsets):
    ...         self.slope, self.offsets = slope, offsets
    >>> fm.io.register("line", Line,
    ...                lambda m: ({"slope": m.slope, "n": len(m.offsets)}, {"offsets": m.offsets}),
    ...                lambda f, a: Line(f["slope"], a.array("offsets", np.float64, f["n"])))
    >>> path = os.path.join(tempfile.mkdtemp(), "line.npz")
    >>> fm.io.save(Line(2.0, np.array([1.0, 3.0])), path)
    >>> fm.load(path).offsets
    array([1., 3.])
    """
    if not isinstance(name, str) or not name:
        raise TypeError("a kind's name must be a non-empty string")
    _KINDS[name] = Kind(name, cls, state, from_state)


def add_plugin(module: str) -> None:
    """Have ``load`` import ``module``, which registers kinds when imported, when a file
    names a kind not yet registered.

    Parameters
    ----------
    module : str
        An importable module name, e.g. "mypackage.models". Adding it twice adds it once.

    Returns
    -------
    None

    Raises
    ------
    Nothing here; ``load`` raises the module's ImportError if it cannot be imported.

    Examples
    --------
    >>> import fastmlp as fm
    >>> fm.io.add_plugin("fastmlp.perceptron")   # registers "perceptron" when imported
    """
    if module not in PLUGINS:
        PLUGINS.append(module)


def _kind_of(model) -> Kind:
    for kind in _KINDS.values():
        if type(model) is kind.cls:
            return kind
    known = ", ".join(k.cls.__name__ for k in _KINDS.values())
    raise TypeError(f"cannot save a {type(model).__name__}; fastmlp saves {known}")


def _kind_named(name: str, archive) -> Kind:
    """The registered kind ``name``, importing the PLUGINS modules if it is not yet known.
    A plugin that cannot be imported (say, for want of its optional dependency) is named in
    the error."""
    missing = []
    if name not in _KINDS:
        for module in PLUGINS:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                if getattr(exc, "name", None) != module:
                    missing.append(str(exc))
    if name not in _KINDS:
        raise archive.error(f"unknown kind of model {name!r}" + "".join(f" ({note})" for note in missing))
    return _KINDS[name]


# -- saving ----------------------------------------------------------------------------------


def save(model, path, *, metadata=None) -> None:
    """Write ``model`` to ``path`` atomically.

    The file is written beside ``path``, flushed to disk and renamed over it, so a failure
    mid-way leaves any previous file at ``path`` as it was. It is written to ``path``
    exactly as given (no ".npz" is appended); through a symbolic link, the file it points to
    is replaced, keeping its permissions.

    Parameters
    ----------
    model : MLP, Perceptron or a registered kind (the scikit-learn estimators)
    path : str or os.PathLike
    metadata : dict, optional
        JSON-ready values kept with the model (see ``load_with_header``).

    Raises
    ------
    TypeError
        ``metadata`` is not a dict of JSON values, or the model is of no registered kind.
    ValueError
        The metadata nests more than MAX_METADATA_DEPTH levels or makes the header larger
        than MAX_HEADER_BYTES, or the file written would fail ``load``'s checks (the
        message says why); ``path`` is then left as it was.
    OSError
        The file cannot be written (the previous one stays).

    Returns
    -------
    None

    Examples
    --------
    >>> import os, tempfile
    >>> import fastmlp as fm
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> fm.io.save(fm.MLP([2, 1], seed=0), path, metadata={"note": "untrained"})
    >>> fm.io.load_with_header(path)[1]["metadata"]
    {'note': 'untrained'}
    """
    kind = _kind_of(model)
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict of JSON values, got {type(metadata).__name__}")
    if metadata is not None and metadata_depth(metadata) > MAX_METADATA_DEPTH:
        raise ValueError(f"metadata nests lists and dicts more than {MAX_METADATA_DEPTH} levels deep; a model file "
                         f"keeps at most {MAX_METADATA_DEPTH}")
    fields, arrays = kind.state(model)
    if "header" in arrays:
        raise ValueError("'header' is reserved for the JSON header; name the array differently")
    try:
        json.dumps(fields, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the {kind.name}'s state is not JSON values, so it cannot be saved: {exc}") from None
    header = {"format": FORMAT, "version": VERSION, "kind": kind.name, "state": fields, "metadata": metadata or {}}
    try:
        text = json.dumps(header, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must hold only JSON values (dicts, lists, str, finite numbers, "
                        f"bool, None): {exc}") from None
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError(f"the header would take {len(text)} bytes; at most {MAX_HEADER_BYTES} load back "
                         "(keep large data out of metadata)")
    members = {"header": np.frombuffer(text, dtype=np.uint8), **arrays}

    def loads_back(temporary):
        try:
            with Archive(temporary, name=os.fspath(path)) as archive:
                _read(archive)
        except ModelFileError as exc:
            raise ValueError(f"not saved, because loading the file would fail: {exc}") from None

    with atomic_write(path, check=loads_back) as file:
        np.savez(file, allow_pickle=False, **members)


def metadata_depth(value) -> int:
    """How many levels of lists and dicts ``value`` nests (0 for a plain value), counted
    without recursion and no further than one level past MAX_METADATA_DEPTH."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, (dict, list, tuple)):
            deepest = max(deepest, depth)
            if depth > MAX_METADATA_DEPTH:
                break
            pending.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


# The longest file name most file systems take, in bytes.
_NAME_MAX = 255


@contextlib.contextmanager
def atomic_write(path, check=None):
    """A binary file to write ``path``'s new content into. It is a temporary file beside
    ``path``; when the block ends it is flushed, fsynced, handed to ``check(temporary
    path)`` if given (which raises to keep ``path`` as it was) and renamed over ``path``
    (and the directory fsynced where the system allows). If anything raises, the temporary
    file is removed and ``path`` is left as it was.

    A symbolic link is followed: the file it points to is replaced, not the link. A file
    that exists keeps its permission bits; a new one gets those a plain ``open`` gives
    (0o666 less the umask).

    Parameters
    ----------
    path : str or os.PathLike
        The file to replace or create.
    check : callable, optional
        ``check(temporary_path)``, run on the written file before the rename; default None
        checks nothing.

    Returns
    -------
    context manager
        Yields the temporary file, open for writing bytes.

    Raises
    ------
    OSError
        The directory cannot take the temporary file, or the rename fails.
    Exception
        Whatever the block or ``check`` raises; ``path`` is left as it was.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastmlp as fm
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with fm.io.atomic_write(path) as file:
    ...     _ = file.write(b"w_ij")
    >>> open(path, "rb").read()
    b'w_ij'
    """
    path = os.path.realpath(os.fspath(path))
    directory, name = os.path.split(path)
    token = secrets.token_hex(6)
    # ".<name>.<token>.tmp", the name cut short enough that the whole stays within _NAME_MAX bytes
    stem = os.fsencode(name)[: _NAME_MAX - len(token) - 6]
    temporary = os.path.join(directory, os.fsdecode(b"." + stem + b"." + token.encode() + b".tmp"))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = None
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(file.fileno(), mode)
            yield file
            file.flush()
            os.fsync(file.fileno())
        if check is not None:
            check(temporary)
        try:
            os.replace(temporary, path)
        except OSError as exc:  # the error names the target, not the temporary file
            raise OSError(exc.errno, exc.strerror, path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # not every system opens or syncs directories
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- loading ---------------------------------------------------------------------------------


def load(path):
    """The model saved in ``path`` by ``save``, checked before anything is built.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    MLP, Perceptron or a registered kind (the scikit-learn estimators)
        As it was saved.

    Raises
    ------
    ModelFileError
        A ValueError naming the file and the problem, for anything that is not a valid model
        file (a truncated file, a pickle, a header that disagrees with the arrays, NaN
        weights, a newer format version).
    FileNotFoundError
        If there is no file.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastmlp as fm
    >>> net = fm.MLP([2, 3, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> net.save(path)
    >>> bool((fm.load(path).forward([1.0, 2.0]) == net.forward([1.0, 2.0])).all())
    True
    """
    return load_with_header(path)[0]


def load_with_header(path):
    """The model as ``load`` returns it, and the file's checked JSON header.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by ``save``.

    Returns
    -------
    model : MLP, Perceptron or a registered kind
    header : dict
        "format", "version", "kind", "state" (the fields that rebuilt the model) and
        "metadata" (what was passed to ``save``).

    Raises
    ------
    ModelFileError
        The file fails a check (a ValueError naming the file and the problem).
    FileNotFoundError
        No file at ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastmlp as fm
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> fm.MLP([2, 1], seed=0).save(path, metadata={"data": "xor"})
    >>> net, header = fm.io.load_with_header(path)
    >>> header["kind"], header["metadata"]
    ('MLP', {'data': 'xor'})
    """
    with Archive(path) as archive:
        return _read(archive)


def _read(archive):
    header = archive.header()
    kind = _kind_named(header["kind"], archive)
    try:
        model = kind.from_state(header["state"], archive)
    except (ModelFileError, SettingError):  # a setting of this machine's, not the file, is at fault
        raise
    except (ValueError, TypeError) as exc:
        raise archive.error(str(exc)) from None
    archive.check_all_read()
    return model, header


def open_regular(path):
    """``path`` open for reading bytes, if it is a regular file. Anything else (a FIFO, a
    device, a directory) raises ModelFileError at once: opening a FIFO does not wait for a
    writer, and nothing is read from it.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    file object
        Open for reading bytes; the caller closes it.

    Raises
    ------
    ModelFileError
        ``path`` is a directory, a FIFO, a device or a socket.
    FileNotFoundError
        No file at ``path``.

    Examples
    --------
    >>> import tempfile
    >>> import fastmlp as fm
    >>> fm.io.open_regular(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    fastmlp.io.ModelFileError: ...: is a directory, not a regular file
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
            raise ModelFileError(f"{os.fsdecode(path)}: is {what}, not a regular file")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class ModelFileError(ValueError):
    """A model file that fails its checks; the message names the file and the problem.
    It is a ValueError.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastmlp as fm
    >>> path = os.path.join(tempfile.mkdtemp(), "not-a-model.npz")
    >>> _ = open(path, "wb").write(b"hello")
    >>> fm.load(path)
    Traceback (most recent call last):
    ...
    fastmlp.io.ModelFileError: ...: not a model file: not a readable .npz (zip) archive (...)
    """


class Archive:
    """An open model file whose members are read only once they pass their checks; a
    kind's ``from_state`` fetches its arrays from it. Use it as a context manager.

    Parameters
    ----------
    path : str or os.PathLike
        The file to open.
    name : str, optional
        The name errors give the file; default None uses ``path``.

    Raises
    ------
    ModelFileError
        Not a regular file, or not a readable .npz archive, or a member listed twice.
    FileNotFoundError
        No file at ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastmlp as fm
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> fm.MLP([2, 1], seed=0).save(path)
    >>> with fm.io.Archive(path) as archive:
    ...     archive.header()["kind"], archive.array("params", "float64", 3).shape
    ('MLP', (3,))
    """

    def __init__(self, path, name=None):
        self.path = os.fspath(path) if name is None else name
        self._file = open_regular(os.fspath(path))  # FileNotFoundError and the like propagate as they are
        self.size = os.fstat(self._file.fileno()).st_size
        try:
            self._zip = zipfile.ZipFile(self._file)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, OverflowError,
                struct.error, NotImplementedError) as exc:
            self._file.close()
            raise self.error(f"not a model file: not a readable .npz (zip) archive ({exc})") from None
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            self.close()
            raise self.error("the archive lists a member twice")
        self._members = {info.filename: info for info in infos}
        self._unread = set(names)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        """Close the file (leaving a ``with`` block does this).

        Returns
        -------
        None

        Examples
        --------
        >>> import os, tempfile
        >>> import fastmlp as fm
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> fm.MLP([2, 1], seed=0).save(path)
        >>> archive = fm.io.Archive(path)
        >>> archive.header()["version"]
        1
        >>> archive.close()
        """
        self._zip.close()
        self._file.close()

    def error(self, problem: str) -> ValueError:
        """A ModelFileError whose message names this file and ``problem``, for the caller to
        raise (a kind's ``from_state`` may raise ValueError instead: ``load`` names the file
        then too).

        Parameters
        ----------
        problem : str
            What is wrong, e.g. "the field 'slope' is negative".

        Returns
        -------
        ModelFileError

        Examples
        --------
        >>> import os, tempfile
        >>> import fastmlp as fm
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> fm.MLP([2, 1], seed=0).save(path)
        >>> with fm.io.Archive(path, name="net.npz") as archive:
        ...     str(archive.error("the field 'slope' is negative"))
        "net.npz: the field 'slope' is negative"
        """
        return ModelFileError(f"{self.path}: {problem}")

    def header(self) -> dict:
        """The JSON header, with its envelope checked: format, version, kind, state, metadata.

        Returns
        -------
        dict

        Raises
        ------
        ModelFileError
            The header is missing, too large, not JSON, of another format or a newer
            version, or its fields are wrong.

        Examples
        --------
        >>> import os, tempfile
        >>> import fastmlp as fm
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> fm.MLP([2, 3, 1], seed=0).save(path, metadata={"data": "xor"})
        >>> with fm.io.Archive(path) as archive:
        ...     header = archive.header()
        >>> header["kind"], header["state"]["sizes"], header["metadata"]
        ('MLP', [2, 3, 1], {'data': 'xor'})
        """
        raw = self.array("header", np.uint8, None, limit=MAX_HEADER_BYTES)
        try:
            header = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise self.error(f"the header is not valid JSON ({exc})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise self.error("not a fastmlp model file (its header does not name the format)")
        version = header.get("version")
        if not is_integer(version) or version < 1:
            raise self.error(f"the header's format version {version!r} is not a positive integer")
        if version > VERSION:
            raise self.error(f"written in format version {version} by a newer fastmlp; this one reads "
                             f"versions up to {VERSION}: upgrade fastmlp to load it")
        expected = {"format", "version", "kind", "state", "metadata"}
        if set(header) != expected:
            raise self.error(f"the header's fields are {sorted(header)}; expected {sorted(expected)}")
        for key, kind in (("kind", str), ("state", dict), ("metadata", dict)):
            if not isinstance(header[key], kind):
                raise self.error(f"the header's {key!r} must be a {kind.__name__}, got {header[key]!r:.80}")
        if metadata_depth(header["metadata"]) > MAX_METADATA_DEPTH:
            raise self.error(f"the metadata nests more than {MAX_METADATA_DEPTH} levels deep")
        return header

    def array(self, name: str, dtype, length, *, limit=None, kinds=None) -> np.ndarray:
        """The 1-d array stored as ``name``, after checking the member's size and its .npy
        header against ``dtype`` and ``length`` (None: any length up to ``limit``). With
        ``kinds`` instead of a dtype (dtype None), any dtype of those kinds (e.g. "biufU" for
        labels) up to MAX_LABEL_ITEMSIZE bytes per value. Floats must be finite. The member
        must be stored uncompressed, within the file.

        Parameters
        ----------
        name : str
            The member's name, without ".npy".
        dtype : numpy dtype or None
        length : int or None
        limit : int, optional
            The most values when ``length`` is None.
        kinds : str, optional
            numpy dtype kinds accepted when ``dtype`` is None.

        Returns
        -------
        ndarray of shape (length,) in native byte order

        Raises
        ------
        ModelFileError
            The array is missing or fails a check; the message names it.

        Examples
        --------
        The weights of a 2-3-1 network, (2 + 1) * 3 + (3 + 1) * 1 = 13 of them:

        >>> import os, tempfile
        >>> import fastmlp as fm
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> fm.MLP([2, 3, 1], seed=0).save(path)
        >>> with fm.io.Archive(path) as archive:
        ...     archive.array("params", "float64", 13).shape
        (13,)
        >>> with fm.io.Archive(path) as archive:
        ...     archive.array("params", "float64", 12)
        Traceback (most recent call last):
        ...
        fastmlp.io.ModelFileError: ...: the array 'params' has shape (13,); the header declares (12,)
        """
        member = self._members.get(f"{name}.npy")
        if member is None:
            raise self.error(f"the array {name!r} is missing")
        itemsize = MAX_LABEL_ITEMSIZE if kinds else np.dtype(dtype).itemsize
        most = limit if length is None else length
        if member.file_size > _NPY_PREAMBLE + most * itemsize:
            raise self.error(f"the array {name!r} takes {member.file_size} bytes, more than "
                             f"{most} values can need")
        if member.flag_bits & 0x1:
            raise self.error(f"the array {name!r} is encrypted")
        if member.compress_type != zipfile.ZIP_STORED:
            raise self.error(f"the array {name!r} is compressed; model files hold their arrays uncompressed, as "
                             "numpy.savez writes them, so that a file's size bounds what loading it reads")
        if member.compress_size != member.file_size or member.file_size > self.size:
            raise self.error(f"the array {name!r} declares {member.file_size} bytes but takes {member.compress_size} "
                             f"in a file of {self.size}")
        self._unread.discard(member.filename)
        try:
            with self._zip.open(member) as stream:
                data = stream.read(member.file_size + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, OverflowError, struct.error,
                NotImplementedError, RuntimeError) as exc:
            raise self.error(f"the array {name!r} cannot be read: {exc or type(exc).__name__}") from None
        if len(data) != member.file_size:
            raise self.error(f"the array {name!r} is truncated")
        stored_dtype, shape, preamble = self._npy_header(name, data)
        if stored_dtype.hasobject or stored_dtype.fields is not None or stored_dtype.subdtype is not None:
            raise self.error(f"the array {name!r} has dtype {stored_dtype}; model files hold plain numbers only")
        if kinds is not None:
            if stored_dtype.kind not in kinds or stored_dtype.itemsize > MAX_LABEL_ITEMSIZE:
                raise self.error(f"the array {name!r} has dtype {stored_dtype}; expected numbers or text")
        elif stored_dtype.kind != np.dtype(dtype).kind or stored_dtype.itemsize != itemsize:
            raise self.error(f"the array {name!r} has dtype {stored_dtype}; expected {np.dtype(dtype).name}")
        if len(shape) != 1 or (length is not None and shape[0] != length) or (length is None and shape[0] > limit):
            want = f"({length},)" if length is not None else f"(n,) with n <= {limit}"
            raise self.error(f"the array {name!r} has shape {shape}; the header declares {want}")
        if len(data) != preamble + shape[0] * stored_dtype.itemsize:
            raise self.error(f"the array {name!r} holds {len(data) - preamble} bytes of data; "
                             f"shape {shape} of {stored_dtype} needs {shape[0] * stored_dtype.itemsize}")
        values = np.load(_bytes_io.BytesIO(data), allow_pickle=False)
        values = values.astype(values.dtype.newbyteorder("="))
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            raise self.error(f"the array {name!r} contains NaN or infinity")
        return values

    def _npy_header(self, name, data):
        stream = _bytes_io.BytesIO(data)
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ValueError(f".npy format version {version} is not one numpy.savez writes")
        except (ValueError, TypeError, SyntaxError, RecursionError, OverflowError, KeyError,
                struct.error, tokenize.TokenError) as exc:
            raise self.error(f"the array {name!r} is not a valid .npy member ({str(exc)[:200]})") from None
        return dtype, shape, stream.tell()

    def check_all_read(self) -> None:
        """Refuse members the model did not use (a file is all model, or not one).

        Returns
        -------
        None

        Raises
        ------
        ModelFileError
            Naming the members not read.

        Examples
        --------
        >>> import os, tempfile
        >>> import fastmlp as fm
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> fm.MLP([2, 1], seed=0).save(path)
        >>> with fm.io.Archive(path) as archive:
        ...     _ = archive.header()
        ...     archive.check_all_read()
        Traceback (most recent call last):
        ...
        fastmlp.io.ModelFileError: ...: unexpected members ['params.npy']
        """
        if self._unread:
            raise self.error(f"unexpected members {sorted(self._unread)!r:.200}")


def _refuse_constant(name):
    raise ValueError(f"{name} is not a finite number")


# -- field checks for from_state (each raises ValueError naming the field) --------------------


def is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def field(fields: dict, key: str, kind=None):
    """``fields[key]``, which must exist and be an instance of ``kind`` (if given)."""
    if key not in fields:
        raise ValueError(f"the header lacks the field {key!r}")
    value = fields[key]
    if kind is not None and not isinstance(value, kind):
        raise ValueError(f"the header's {key!r} must be a {kind.__name__}, got {value!r:.80}")
    return value


def integer(fields: dict, key: str, lowest: int = 0, highest: int = 2**63 - 1) -> int:
    value = field(fields, key)
    if not is_integer(value) or not lowest <= value <= highest:
        raise ValueError(f"the header's {key!r} must be an integer in [{lowest}, {highest}], got {value!r:.80}")
    return value


def number(fields: dict, key: str) -> float:
    value = field(fields, key)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"the header's {key!r} must be a finite number, got {value!r:.80}")
    return value


def exact_keys(fields: dict, expected, what: str) -> None:
    if not isinstance(fields, dict) or set(fields) != set(expected):
        got = sorted(fields) if isinstance(fields, dict) else fields
        raise ValueError(f"{what} must have the fields {sorted(expected)}, got {got!r:.200}")


__all__ = ["save", "load", "load_with_header", "atomic_write", "open_regular", "register", "add_plugin", "Archive",
           "ModelFileError"]
