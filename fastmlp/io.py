"""Saving and loading trained models: one ``.npz`` file, checked field by field on load.

A model file is a numpy ``.npz`` archive (written with ``numpy.savez``) holding a JSON
header as the uint8 array ``header`` and the model's arrays: for an MLP the flat
parameters ``params`` (W^(1) .. W^(L), bias rows first, as ``net.params``) and, with a
momentum, Nesterov or Adam state, its moments ``optimizer_m`` and ``optimizer_v``. The
header holds the format version, the kind of model, what rebuilds it (sizes, activations
with their parameters, loss, dtype, init, the optimizer's kind, settings and step count,
the generator's state) and optional user metadata.

Loading treats the file as untrusted: it never unpickles (numpy reads with
``allow_pickle=False``), reads each member only after the member's size, and the dtype and
shape in its ``.npy`` header, agree with what the JSON header declares, and rebuilds the
model through its public constructor and ``set_weights``. Any problem raises ValueError
naming the file; a missing file raises FileNotFoundError.

What a round trip keeps: the weights bit for bit, the optimizer state and the random
generator's state, so that ``fit`` on the loaded model (with or without a seed) gives the
same weights as the same ``fit`` on the original. Not kept: the backend and ``n_threads``,
which belong to the machine that loads the file (its defaults apply).

Other models plug in with ``register(name, cls, state, from_state)``: ``state(model)``
returns ``(fields, arrays)``, a JSON-ready dict and a dict of 1-d numeric arrays (not named
"header"); ``from_state(fields, archive)`` rebuilds the model, checking each field and
fetching each array with ``archive.array(name, dtype, length)``, which refuses a member
that disagrees (fastmlp/_model_files.py does this for MLP and Perceptron; a model holding an
MLP can reuse its ``mlp_state`` and ``mlp_from_state``). A module that registers kinds when
it is imported is named with ``add_plugin(module)``; ``load`` imports it when a file names
a kind not yet registered.
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
import struct
import tokenize
import zipfile
from dataclasses import dataclass
from typing import Callable

import numpy as np


FORMAT = "fastmlp-model"
VERSION = 1
# Bounds checked before anything of the declared size is read or allocated.
MAX_HEADER_BYTES = 1 << 22
MAX_PARAMETERS = 10**9
MAX_LAYERS = 1000
MAX_LABEL_ITEMSIZE = 4096  # bytes per label of a text dtype (1024 characters)
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
    and ``load`` rebuild them."""
    if not isinstance(name, str) or not name:
        raise TypeError("a kind's name must be a non-empty string")
    _KINDS[name] = Kind(name, cls, state, from_state)


def add_plugin(module: str) -> None:
    """Have ``load`` import ``module``, which registers kinds when imported, when a file
    names a kind not yet registered."""
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
    """Write ``model`` (an MLP, a Perceptron or a registered kind) to ``path`` atomically:
    the file is written beside ``path``, flushed to disk and renamed over it, so a failure
    mid-way leaves any previous file at ``path`` as it was. ``metadata``: a dict of
    JSON-ready values kept with the model (see ``load_with_header``). The file is written to
    ``path`` exactly as given (no ".npz" is appended)."""
    kind = _kind_of(model)
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict of JSON values, got {type(metadata).__name__}")
    fields, arrays = kind.state(model)
    if "header" in arrays:
        raise ValueError("'header' is reserved for the JSON header; name the array differently")
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
    with atomic_write(path) as file:
        np.savez(file, allow_pickle=False, **members)


@contextlib.contextmanager
def atomic_write(path):
    """A binary file to write ``path``'s new content into. It is a temporary file beside
    ``path``; when the block ends it is flushed, fsynced and renamed over ``path`` (and the
    directory fsynced where the system allows). If the block raises, the temporary file is
    removed and ``path`` is left as it was."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    # 0o666 minus the umask, the mode a plain open() would give the file.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
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
    """The model saved in ``path`` by ``save``, checked: ValueError (naming the file and
    the problem) for anything that is not a valid model file, FileNotFoundError if there is
    no file."""
    return load_with_header(path)[0]


def load_with_header(path):
    """(model, header): the model as ``load`` returns it, and the file's checked JSON header,
    a dict with "version", "kind", "state" (the fields that rebuilt the model) and
    "metadata" (what was passed to ``save``)."""
    with Archive(path) as archive:
        header = archive.header()
        kind = _kind_named(header["kind"], archive)
        try:
            model = kind.from_state(header["state"], archive)
        except ModelFileError:
            raise
        except (ValueError, TypeError) as exc:
            raise archive.error(str(exc)) from None
        archive.check_all_read()
    return model, header


class ModelFileError(ValueError):
    """A model file that fails its checks; the message names the file and the problem."""


class Archive:
    """An open model file whose members are read only once they pass their checks."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._file = open(self.path, "rb")  # FileNotFoundError and the like propagate as they are
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
        self._zip.close()
        self._file.close()

    def error(self, problem: str) -> ValueError:
        return ModelFileError(f"{self.path}: {problem}")

    def header(self) -> dict:
        """The JSON header, with its envelope checked: format, version, kind, state, metadata."""
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
        return header

    def array(self, name: str, dtype, length, *, limit=None, kinds=None) -> np.ndarray:
        """The 1-d array stored as ``name``, after checking the member's size and its .npy
        header against ``dtype`` and ``length`` (None: any length up to ``limit``). With
        ``kinds`` instead of a dtype (dtype None), any dtype of those kinds (e.g. "biufU" for
        labels) up to MAX_LABEL_ITEMSIZE bytes per value. Floats must be finite."""
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
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self.error(f"the array {name!r} is compressed by an unsupported method ({member.compress_type})")
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
        if values.dtype.kind == "f" and not np.isfinite(values).all():
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
        """Refuse members the model did not use (a file is all model, or not one)."""
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


__all__ = ["save", "load", "load_with_header", "atomic_write", "register", "add_plugin", "Archive", "ModelFileError"]
