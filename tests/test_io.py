"""Saving and loading: bit-exact round trips that train on identically, and a loader that
refuses every kind of bad file with a ValueError naming the file."""
import errno
import io as pyio
import json
import os
import pickle
import struct
import sys
import warnings
import zipfile

import numpy as np
import pytest

import fastmlp as fm
from conftest import OPTIMIZERS, HIDDEN, HIDDEN_IDS, LOSS_IDS, LOSSES, make_data
from fastmlp import io as fio


def trained(sizes=(3, 5, 2), activation="tanh", case=LOSSES[0], dtype="float64", optimizer="sgd", seed=3):
    """A network with weights, optimizer moments and a generator moved on by training."""
    net = fm.MLP(list(sizes), activation=activation, output=case.output, loss=case.loss, dtype=dtype, seed=seed)
    X, y = make_data(list(sizes), case, 24, seed)
    net.fit(X, y, epochs=2, batch_size=4, eta=0.05, optimizer=optimizer)
    return net, X, y


def assert_same_network(a, b):
    assert (a.sizes, a.activations, a.loss, a.dtype, a.init) == (b.sizes, b.activations, b.loss, b.dtype, b.init)
    assert a.params.tobytes() == b.params.tobytes()
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    if a.optimizer is None:
        assert b.optimizer is None
    else:
        assert a.optimizer.settings() == b.optimizer.settings() and a.optimizer.t == b.optimizer.t
        assert a.optimizer.m.tobytes() == b.optimizer.m.tobytes()
        assert a.optimizer.v.tobytes() == b.optimizer.v.tobytes()


# -- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", [h[1] for h in HIDDEN], ids=HIDDEN_IDS)
@pytest.mark.parametrize("case", LOSSES, ids=LOSS_IDS)
def test_round_trip_keeps_outputs_bit_for_bit(tmp_path, activation, case, dtype):
    net, X, _ = trained(activation=activation, case=case, dtype=dtype)
    net.save(tmp_path / "net.npz")
    loaded = fm.load(tmp_path / "net.npz")
    assert_same_network(net, loaded)
    assert net.forward(X).tobytes() == loaded.forward(X).tobytes()
    assert net.predict(X).tobytes() == loaded.predict(X).tobytes()


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_training_on_from_a_loaded_network_gives_the_same_weights(tmp_path, optimizer, dtype):
    net, X, y = trained(activation=fm.activation("leaky_relu", alpha=0.2), case=LOSSES[3], dtype=dtype,
                        optimizer=optimizer)
    net.save(tmp_path / "net.npz")
    loaded = fm.load(tmp_path / "net.npz")
    # No seed: the shuffles and the dropout masks come from the generator saved with the network.
    for model in (net, loaded):
        model.fit(X, y, epochs=3, batch_size=5, eta=0.05, optimizer=optimizer, dropout=0.2)
        model.sgd_step(X[:3], y[:3], eta=0.05, optimizer=optimizer)
    assert_same_network(net, loaded)


def test_an_untrained_network_and_a_three_layer_float32_network_round_trip(tmp_path):
    for net in (fm.MLP([2, 1]), fm.MLP([4, 6, 5, 3], activation=["relu", "elu"], loss="binary_cross_entropy",
                                       dtype="float32", init="lecun_normal", seed=9)):
        fm.io.save(net, tmp_path / "net.npz")
        assert_same_network(net, fm.load(tmp_path / "net.npz"))


def test_metadata_comes_back_with_the_header(tmp_path):
    net = fm.MLP([2, 3, 1], seed=0)
    metadata = {"classes": ["cat", "dog"], "standardise": {"mean": [0.1, 1 / 3], "std": [1.0, 2.5]}, "note": "é"}
    net.save(tmp_path / "net.npz", metadata=metadata)
    loaded, header = fio.load_with_header(tmp_path / "net.npz")
    assert header["metadata"] == metadata and header["kind"] == "MLP" and header["version"] == fio.VERSION
    assert_same_network(net, loaded)


def test_save_refuses_what_it_cannot_keep(tmp_path):
    net = fm.MLP([2, 1])
    with pytest.raises(TypeError, match="JSON values"):
        net.save(tmp_path / "a.npz", metadata={"mean": np.zeros(2)})
    with pytest.raises(TypeError, match="JSON values"):
        net.save(tmp_path / "a.npz", metadata={"x": float("nan")})
    with pytest.raises(TypeError, match="metadata must be a dict"):
        net.save(tmp_path / "a.npz", metadata=[1, 2])
    with pytest.raises(TypeError, match="cannot save a list"):
        fio.save([1, 2], tmp_path / "a.npz")
    net.rng = np.random.Generator(np.random.MT19937(0))
    with pytest.raises(TypeError, match="PCG64"):
        net.save(tmp_path / "a.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("labels", [np.array([-1, 1]), np.array(["no", "yes"]), np.array([0.5, 2.5])])
def test_perceptron_round_trip(tmp_path, labels):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = labels[(X @ [1.0, -2.0, 0.5] > 0).astype(int)]
    model = fm.Perceptron(eta=0.5, max_epochs=50, seed=4).fit(X, y)
    model.save(tmp_path / "p.npz")
    loaded = fm.load(tmp_path / "p.npz")
    assert loaded.w.tobytes() == model.w.tobytes()
    assert loaded.classes.dtype == model.classes.dtype and list(loaded.classes) == list(model.classes)
    assert (loaded.mistakes, loaded.converged, loaded.eta, loaded.max_epochs) == (
        model.mistakes, model.converged, model.eta, model.max_epochs)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # The generator was saved too: a refit shuffles the same way.
    assert loaded.fit(X, y).mistakes == model.fit(X, y).mistakes


def test_unfitted_perceptron_round_trip(tmp_path):
    fm.Perceptron(eta=2.0, shuffle=False, dtype="float32").save(tmp_path / "p.npz")
    loaded = fm.load(tmp_path / "p.npz")
    assert loaded.w is None and loaded.eta == 2.0 and loaded.shuffle is False and loaded.dtype == np.float32


# -- bad files ----------------------------------------------------------------------------------


def write_raw(path, header, **arrays):
    """A model file written by hand: ``header`` (a dict, or raw bytes) and the arrays as given."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    np.savez(path, header=np.frombuffer(text, dtype=np.uint8), **arrays)


def good(tmp_path, optimizer="adam"):
    """A valid file's path, its header and its arrays."""
    net, _, _ = trained(optimizer=optimizer)
    net.save(tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays.pop("header").tobytes())
    return tmp_path / "good.npz", header, arrays


def refused(path, match):
    with pytest.raises(ValueError, match=match) as info:
        fm.load(path)
    assert str(info.value).startswith(str(path))  # the message names the file
    return str(info.value)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fm.load(tmp_path / "nothing.npz")


class Payload:
    """Unpickling this creates a file: a stand-in for code a pickle could run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def test_random_bytes_and_other_formats_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    refused(path, "not a readable .npz")
    path.write_bytes(b"")
    refused(path, "not a readable .npz")
    marker = tmp_path / "unpickled"
    path.write_bytes(pickle.dumps(Payload(str(marker))))
    refused(path, "not a readable .npz")
    assert not marker.exists()  # the payload was never unpickled
    np.save(path, np.zeros(3))  # a lone .npy
    refused(path, "not a readable .npz")


def test_truncated_files_are_refused(tmp_path):
    path, _, _ = good(tmp_path)
    data = path.read_bytes()
    for cut in (10, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        refused(tmp_path / "cut.npz", "not a readable .npz|cannot be read|truncated")


def test_object_arrays_and_pickles_inside_the_archive_are_refused(tmp_path):
    path, header, arrays = good(tmp_path, optimizer="sgd")
    evil = np.empty(len(arrays["params"]), dtype=object)
    evil[:] = [Payload(str(tmp_path / "unpickled"))] * len(evil)
    write_raw(tmp_path / "bad.npz", header, params=evil)
    refused(tmp_path / "bad.npz", "dtype object")
    assert not (tmp_path / "unpickled").exists()


def test_header_and_arrays_that_disagree_are_refused(tmp_path):
    path, header, arrays = good(tmp_path)
    params = arrays["params"]
    cases = {
        "shape": (header, dict(arrays, params=params[:-1]), r"'params' has shape \(\d+,\); the header declares"),
        "dtype": (header, dict(arrays, params=params.astype(np.float32)), "'params' has dtype float32; expected float64"),
        "missing": (header, {k: v for k, v in arrays.items() if k != "optimizer_v"}, "'optimizer_v' is missing"),
        "extra": (header, dict(arrays, payload=np.zeros(2)), r"unexpected members \['payload.npy'\]"),
        "2-d": (header, dict(arrays, params=params.reshape(-1, 1)), "'params' has shape"),
        "int": (header, dict(arrays, params=params.astype(np.int64)), "'params' has dtype int64"),
    }
    for name, (h, a, match) in cases.items():
        write_raw(tmp_path / f"{name}.npz", h, **a)
        refused(tmp_path / f"{name}.npz", match)


def test_non_finite_weights_and_moments_are_refused(tmp_path):
    path, header, arrays = good(tmp_path)
    for name, value in (("params", np.nan), ("params", np.inf), ("optimizer_m", -np.inf)):
        bad = arrays[name].copy()
        bad[1] = value
        write_raw(tmp_path / "bad.npz", header, **dict(arrays, **{name: bad}))
        refused(tmp_path / "bad.npz", f"'{name}' contains NaN or infinity")
    v = arrays["optimizer_v"].copy()
    v[0] = -1.0
    write_raw(tmp_path / "bad.npz", header, **dict(arrays, optimizer_v=v))
    refused(tmp_path / "bad.npz", "negative second moments")


def edited(header, path, value):
    """A copy of ``header`` with the field at ``path`` (keys and indices) set to ``value``."""
    header = json.loads(json.dumps(header))
    node = header
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return header


@pytest.mark.parametrize("path, value, match", [
    (("version",), 2, "format version 2 by a newer fastmlp"),
    (("version",), 0, "not a positive integer"),
    (("version",), "1", "not a positive integer"),
    (("format",), "something", "not a fastmlp model file"),
    (("kind",), "Transformer", "unknown kind of model 'Transformer'"),
    (("metadata",), [], "'metadata' must be a dict"),
    (("state", "sizes"), [100000, 100000, 100000], "declares 20000200000 parameters, more than"),
    (("state", "sizes"), [10**12, 1], "must list 2 to"),
    (("state", "sizes"), [3, 5, 3], "has shape"),
    (("state", "sizes"), [3, True, 2], "must list 2 to"),
    (("state", "sizes"), [3], "must list 2 to"),
    (("state", "sizes"), "3,5,2", "'sizes' must be a list"),
    (("state", "dtype"), "float16", "'dtype' must be 'float32' or 'float64'"),
    (("state", "dtype"), "float32", "'params' has dtype float64; expected float32"),
    (("state", "loss"), "hinge", "unknown loss 'hinge'"),
    (("state", "loss"), "cross_entropy", "needs output='softmax'"),
    (("state", "init"), "magic", "init must be one of"),
    (("state", "activations", 0, "name"), "swish", "unknown activation 'swish'"),
    (("state", "activations", 0, "params"), [1, 2], "params must be four numbers"),
    (("state", "activations", 0, "params"), [1e400, 0, 0, 0], "the header is not valid JSON"),
    (("state", "activations", 0, "params"), ["a", 0, 0, 0], "parameter must be a finite number"),
    (("state", "activations", 1), {"name": "softmax"}, "an activation must have the fields"),
    (("state", "optimizer", "kind"), "rmsprop", "optimizer must be one of"),
    (("state", "optimizer", "kind"), "sgd", "keeps no state"),
    (("state", "optimizer", "beta2"), 1.5, r"beta2 must lie in \[0, 1\)"),
    (("state", "optimizer", "t"), -1, r"'t' must be an integer in \[0"),
    (("state", "optimizer", "epsilon"), None, "'epsilon' must be a finite number"),
    (("state", "rng", "state"), 2**130, r"'state' must be an integer in \[0"),
    (("state", "rng", "has_uint32"), 2, r"'has_uint32' must be an integer in \[0, 1\]"),
    (("state", "rng"), {}, "the generator's state must have the fields"),
    (("state", "surprise"), 1, "an MLP must have the fields"),
])
def test_bad_header_fields_are_refused(tmp_path, path, value, match):
    _, header, arrays = good(tmp_path)
    write_raw(tmp_path / "bad.npz", edited(header, path, value), **arrays)
    refused(tmp_path / "bad.npz", match)


def test_headers_that_are_not_json_objects_are_refused(tmp_path):
    _, _, arrays = good(tmp_path)
    for text, match in ((b"\xff\xfe", "not valid JSON"), (b"[" * 100000, "not valid JSON"),
                        (b'{"version": NaN}', "not valid JSON"), (b"[1, 2]", "not a fastmlp model file")):
        write_raw(tmp_path / "bad.npz", text, **arrays)
        refused(tmp_path / "bad.npz", match)


def test_declared_member_sizes_are_checked_before_reading(tmp_path):
    """A zip whose directory claims a 4 GB params member: refused from the directory alone."""
    _, header, arrays = good(tmp_path, optimizer="sgd")
    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w") as archive:  # no zip64, so the size sits in a 4-byte field
        for name, value in [("header", np.frombuffer(json.dumps(header).encode(), np.uint8)), *arrays.items()]:
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, value)
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the first central directory entry
    while data[entry + 46 : entry + 46 + 10] != b"params.npy":
        entry = data.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", data, entry + 24, 0xFFFFFFF0)  # the uncompressed size
    path.write_bytes(bytes(data))
    refused(path, "'params' takes 4294967280 bytes, more than")


def test_a_member_listed_twice_is_refused(tmp_path):
    _, header, arrays = good(tmp_path, optimizer="sgd")
    path = tmp_path / "twice.npz"
    write_raw(path, header, **arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
        with zipfile.ZipFile(path, "a") as archive:
            with archive.open("params.npy", "w") as member:
                np.lib.format.write_array(member, np.zeros_like(arrays["params"]))
    refused(path, "lists a member twice")


def test_a_perceptron_file_with_bad_labels_is_refused(tmp_path):
    model = fm.Perceptron(seed=0).fit([[0.0], [1.0]], [0, 1])
    model.save(tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays.pop("header").tobytes())
    write_raw(tmp_path / "bad.npz", header, **dict(arrays, classes=np.array([1, 0])))
    refused(tmp_path / "bad.npz", "two labels in increasing order")
    write_raw(tmp_path / "bad.npz", edited(header, ("state", "epochs"), 10**6), **arrays)
    refused(tmp_path / "bad.npz", r"'epochs' must be an integer in \[1, 1000\]")


# -- atomic saves -------------------------------------------------------------------------------


def failing_write(after, exc):
    """os.fdopen's stand-in: a file whose writes raise ``exc`` once ``after`` bytes are in."""

    class Failing(pyio.FileIO):
        def write(self, data):
            if self.tell() + len(data) > after:
                raise exc
            return super().write(data)

    return lambda fd, mode="r", *args, **kwargs: Failing(fd, mode.replace("b", ""))


def raising(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


FAILURES = {
    "disk full": ("fdopen", failing_write(300, OSError(errno.ENOSPC, "No space left on device"))),
    "interrupted": ("fdopen", failing_write(1000, KeyboardInterrupt())),
    "fsync fails": ("fsync", raising(OSError(errno.EIO, "Input/output error"))),
    "rename fails": ("replace", raising(OSError(errno.EXDEV, "Invalid cross-device link"))),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch, failure):
    old, _, _ = trained(sizes=(3, 4, 2))
    new, _, _ = trained(sizes=(30, 40, 20), optimizer="adam")  # larger than the writes allowed
    path = tmp_path / "model.npz"
    old.save(path)
    before = path.read_bytes()
    name, stand_in = FAILURES[failure]
    monkeypatch.setattr(os, name, stand_in)
    with pytest.raises(BaseException) as info:
        new.save(path)
    monkeypatch.undo()
    assert isinstance(info.value, (OSError, KeyboardInterrupt))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    assert_same_network(old, fm.load(path))
    # Without an earlier file, a failed save leaves nothing behind.
    monkeypatch.setattr(os, name, stand_in)
    with pytest.raises(BaseException):
        new.save(tmp_path / "fresh.npz")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_save_replaces_the_file_and_gives_it_the_usual_mode(tmp_path):
    path = tmp_path / "model.npz"
    first, _, _ = trained(sizes=(3, 4, 2))
    second, _, _ = trained(sizes=(2, 2, 2), seed=7)
    first.save(path)
    second.save(path)
    assert_same_network(second, fm.load(path))
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_atomic_write_keeps_the_old_content_when_the_block_raises(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError):
        with fio.atomic_write(path) as file:
            file.write(b"half of the new")
            raise RuntimeError("stop")
    assert path.read_text() == "old\n" and len(list(tmp_path.iterdir())) == 1


# -- other kinds of model -------------------------------------------------------------------------


PLUGIN = '''
import numpy as np
from fastmlp import io
from fastmlp._model_files import mlp_from_state, mlp_state


class Wrapped:
    """A model holding an MLP and labels, as an estimator would."""

    def __init__(self, net, labels):
        self.net, self.labels = net, labels


def state(model):
    fields, arrays = mlp_state(model.net)
    return {"network": fields, "labels": len(model.labels)}, {**arrays, "labels": model.labels}


def from_state(fields, archive):
    io.exact_keys(fields, ("network", "labels"), "a Wrapped")
    labels = archive.array("labels", None, io.integer(fields, "labels", 1, 1000), kinds="iU")
    return Wrapped(mlp_from_state(io.field(fields, "network", dict), archive), labels)


io.register("Wrapped", Wrapped, state, from_state)
'''


def test_a_plugin_kind_is_imported_when_a_file_names_it(tmp_path, monkeypatch):
    (tmp_path / "wrapped_plugin.py").write_text(PLUGIN)
    (tmp_path / "broken_plugin.py").write_text("raise ImportError(\"needs lxml: pip install 'fastmlp[xml]'\")\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import wrapped_plugin

    net, X, _ = trained(optimizer="adam")
    fio.save(wrapped_plugin.Wrapped(net, np.array(["cat", "dog"])), tmp_path / "w.npz")
    # As in a fresh interpreter: the kind is known only once its module is imported.
    monkeypatch.delitem(fio._KINDS, "Wrapped")
    monkeypatch.delitem(sys.modules, "wrapped_plugin")
    monkeypatch.setattr(fio, "PLUGINS", ("broken_plugin", "wrapped_plugin", "no_such_plugin"))
    loaded = fm.load(tmp_path / "w.npz")
    assert loaded.labels.tolist() == ["cat", "dog"]
    assert_same_network(net, loaded.net)
    _, header, arrays = good(tmp_path)
    write_raw(tmp_path / "odd.npz", edited(header, ("kind",), "Odd"), **arrays)
    refused(tmp_path / "odd.npz", r"unknown kind of model 'Odd' \(needs lxml: pip install 'fastmlp\[xml\]'\)")
