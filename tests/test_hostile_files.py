"""Model files under attack and at the edges of what save writes: save refuses whatever
load would refuse (every kind the fuzzers fit, and the edge cases below, load back or are
refused at save with a clear error, the old file untouched); what is not a regular file, a
zip bomb and a header that declares more than the file holds are refused at once; saving
follows symbolic links, keeps a file's permissions and takes any legal name; nielsen2's
JSON files get the same care. The cases that could hang run in a subprocess."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from test_io_fuzz import KINDS

import fastmlp as fm
from fastmlp import io as fio
from fastmlp.compat import nielsen2
from fastmlp.io import ModelFileError

WORKTREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 3))
    return X, (X[:, 0] > 0).astype(int)


def quietly(make, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few epochs do not converge
        return make(*args)


def round_trip(model, path, **kwargs):
    model.save(path, **kwargs)
    return fm.load(path)


# -- save refuses what load would refuse ---------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_the_fuzzers_fit_loads_back(tmp_path, kind):
    model = quietly(KINDS[kind], *data())
    back = round_trip(model, tmp_path / "model.npz", metadata={"note": [1, {"a": None}]})
    assert type(back) is type(model)


def estimator(**changes):
    from fastmlp.estimators import MLPClassifier

    model = quietly(MLPClassifier((4,), max_iter=3, random_state=0).fit, *data())
    return model.set_params(**changes)


def test_an_estimator_after_set_params_loads_back_as_it_is(tmp_path):
    model = estimator(hidden_layer_sizes=(7, 2))
    back = round_trip(model, tmp_path / "model.npz")
    assert back.hidden_layer_sizes == (7, 2) and back.net_.sizes == model.net_.sizes == (3, 4, 1)
    X, _ = data()
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))


def test_ndarray_hidden_layer_sizes_are_saved_as_a_list_not_blamed_on_the_metadata(tmp_path):
    model = estimator(hidden_layer_sizes=np.array([4]))
    back = round_trip(model, tmp_path / "model.npz")
    assert back.hidden_layer_sizes == (4,)


def test_a_state_that_is_not_json_is_named_as_the_models_not_the_metadata(tmp_path, monkeypatch):
    class Odd:
        pass

    monkeypatch.setitem(fio._KINDS, "Odd", fio.Kind("Odd", Odd, lambda m: ({"x": np.zeros(2)}, {}), None))
    with pytest.raises(TypeError, match="the Odd's state is not JSON values") as info:
        fio.save(Odd(), tmp_path / "odd.npz")
    assert "metadata" not in str(info.value)


def assert_refused_and_old_file_kept(model, path, match, **kwargs):
    fm.MLP([2, 1]).save(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=match):
        model.save(path, **kwargs)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file left


def test_an_estimator_setting_load_refuses_is_refused_at_save(tmp_path):
    """set_params(solver="lbfgs", max_fun=...) loads back where max_fun is honoured;
    otherwise save refuses it, naming max_fun, and keeps the file it would replace."""
    model = estimator(solver="lbfgs", max_fun=100)
    path = tmp_path / "model.npz"
    try:
        back = round_trip(model, path)
    except ValueError as exc:
        assert "not saved" in str(exc) and "max_fun" in str(exc)
        assert_refused_and_old_file_kept(model, path, "max_fun")
    else:
        assert back.get_params()["max_fun"] == 100


CHANGES = dict(hidden_layer_sizes=(5, 5), activation="tanh", solver="sgd", alpha=0.1, batch_size=7,
               learning_rate="adaptive", learning_rate_init=0.1, power_t=0.3, max_iter=5, shuffle=False, random_state=3,
               tol=1e-2, verbose=True, warm_start=True, momentum=0.5, nesterovs_momentum=False, early_stopping=True,
               validation_fraction=0.3, beta_1=0.8, beta_2=0.9, epsilon=1e-6, n_iter_no_change=np.inf,
               max_fun=20000, dropout=0.2, update_dropout=0.1, n_threads=1)


@pytest.mark.parametrize("regressor", [False, True], ids=["classifier", "regressor"])
def test_any_parameter_set_after_fit_loads_back_or_is_refused_at_save(tmp_path, regressor):
    from fastmlp.estimators import MLPClassifier, MLPRegressor

    X, y = data()
    for key, value in CHANGES.items():
        model = quietly((MLPRegressor if regressor else MLPClassifier)(hidden_layer_sizes=(4,), max_iter=3,
                                                                        random_state=0).fit, X, y)
        model.set_params(**{key: value})
        path = tmp_path / f"{key}.npz"
        try:
            back = round_trip(model, path)
        except ValueError as exc:  # refused, saying why, and nothing written
            assert str(exc).startswith("not saved, because loading the file would fail") and key in str(exc), key
            assert not path.exists()
        else:
            assert back.get_params()[key] == model.get_params()[key], key


@pytest.mark.parametrize("labels", [
    np.array([b"no", b"yes"]),
    np.array(["2020-01-01", "2021-06-30"], dtype="datetime64[D]"),
    np.array([1 + 1j, 2 + 0j]),
    np.array(["n" * 1100, "y" * 1500]),
], ids=["bytes", "datetime", "complex", "1100-characters"])
def test_perceptron_labels_fit_takes_load_back(tmp_path, labels):
    X, y = data()
    model = quietly(fm.Perceptron(max_epochs=3, seed=0).fit, X, labels[y])
    back = round_trip(model, tmp_path / "model.npz")
    assert back.classes.dtype == model.classes.dtype
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def test_long_text_labels_load_back_on_a_classifier(tmp_path):
    from fastmlp.estimators import MLPClassifier

    X, y = data()
    labels = np.array(["a" * 2000, "b" * 1025])[y]
    model = quietly(MLPClassifier((3,), max_iter=2, random_state=0).fit, X, labels)
    back = round_trip(model, tmp_path / "model.npz")
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def test_labels_longer_than_a_file_keeps_are_refused_at_save(tmp_path):
    X, y = data()
    model = quietly(fm.Perceptron(max_epochs=3, seed=0).fit, X, np.array(["n" * 300_000, "y"])[y])
    assert_refused_and_old_file_kept(model, tmp_path / "model.npz", "not saved.*'classes'")


def test_a_perceptron_with_infinite_weights_is_refused_at_save(tmp_path):
    X, y = data()
    model = quietly(fm.Perceptron(max_epochs=3, seed=0).fit, X, y)
    model.w = np.array([0.0, 0.0, np.inf, 1.0])
    assert_refused_and_old_file_kept(model, tmp_path / "model.npz", "not saved.*'w' contains NaN or infinity")


def nested(depth):
    value = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [101, 990, 1000, 5000])
def test_deep_metadata_is_refused_with_the_documented_error(tmp_path, depth):
    assert fio.metadata_depth(nested(depth)) > fio.MAX_METADATA_DEPTH
    assert_refused_and_old_file_kept(fm.MLP([3, 1]), tmp_path / "model.npz", "nests lists and dicts more than 100",
                                     metadata=nested(depth))


def test_metadata_as_deep_as_allowed_loads_back(tmp_path):
    path = tmp_path / "model.npz"
    fm.MLP([3, 1]).save(path, metadata=nested(fio.MAX_METADATA_DEPTH))
    assert fio.metadata_depth(fio.load_with_header(path)[1]["metadata"]) == fio.MAX_METADATA_DEPTH


def test_a_file_with_deeper_metadata_is_refused_on_load(tmp_path):
    path = tmp_path / "deep.npz"
    header = {"format": "fastmlp-model", "version": 1, "kind": "MLP", "state": {}, "metadata": nested(150)}
    np.savez(path, header=np.frombuffer(json.dumps(header).encode(), np.uint8))
    with pytest.raises(ModelFileError, match="metadata nests more than 100 levels"):
        fm.load(path)


# -- what the loader opens and reads ----------------------------------------------------------


def run(code, timeout=60):
    """Run ``code`` in a fresh interpreter on this worktree's fastmlp; (return code, output)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": WORKTREE})
    return done.returncode, done.stdout + done.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("loader", ["fastmlp.load", "fastmlp.compat.nielsen2.load"])
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path, loader):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    try:
        code, output = run(f"""
            import fastmlp, fastmlp.compat.nielsen2
            try:
                {loader}({str(fifo)!r})
            except ValueError as exc:
                print("refused:", exc)
            """, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{loader} waited on a FIFO")
    assert code == 0 and f"refused: {fifo}: is a FIFO, not a regular file" in output, output


def test_a_directory_is_refused_as_not_a_regular_file(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory, not a regular file"):
        fm.load(tmp_path)


def write_model(path, sizes, params, compress):
    """An MLP file for ``sizes`` holding ``params`` zeros (written in chunks), deflated if
    ``compress``."""
    header = {"format": "fastmlp-model", "version": 1, "kind": "MLP", "metadata": {},
              "state": {"sizes": sizes, "activations": [{"name": name, "params": [0.0] * 4} for name in ("tanh", "identity")],
                        "loss": "l2", "dtype": "float64", "init": "auto", "optimizer": None,
                        "rng": {"state": 1, "inc": 1, "has_uint32": 0, "uinteger": 0}}}
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("header.npy", _npy(np.frombuffer(json.dumps(header).encode(), np.uint8)),
                         compress_type=zipfile.ZIP_STORED)
        with archive.open("params.npy", "w", force_zip64=True) as member:
            npy = {"descr": "<f8", "fortran_order": False, "shape": (params,)}
            np.lib.format.write_array_header_1_0(member, npy)
            chunk = np.zeros(1 << 20).tobytes()
            for start in range(0, params, 1 << 20):
                member.write(chunk[: 8 * min(1 << 20, params - start)])


def _npy(array):
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_from_the_archive_directory(tmp_path):
    """A 2500-5000-1 MLP whose 12.5 million parameters (100 MB of zeros) are deflated into a
    file of about 100 kB: refused before anything is decompressed."""
    path = tmp_path / "bomb.npz"
    sizes = [2500, 5000, 1]
    count = 2501 * 5000 + 5001
    write_model(path, sizes, count, compress=True)
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="12510001 parameters, more than the file's"):
            fm.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_a_compressed_member_is_refused_and_the_same_stored_loads(tmp_path):
    path = tmp_path / "model.npz"
    write_model(path, [3, 4, 1], 4 * 4 + 5, compress=True)
    with pytest.raises(ModelFileError, match="'params' is compressed; model files hold their arrays uncompressed"):
        fm.load(path)
    write_model(path, [3, 4, 1], 4 * 4 + 5, compress=False)
    assert fm.load(path).sizes == (3, 4, 1)


def test_declared_parameters_beyond_the_file_size_are_refused(tmp_path):
    path = tmp_path / "short.npz"
    write_model(path, [3, 4, 1], 4 * 4 + 5, compress=False)
    header = json.loads(np.load(path)["header"].tobytes())
    header["state"]["sizes"] = [30000, 30000, 1]
    with np.load(path) as archive:
        params = archive["params"]
    np.savez(path, header=np.frombuffer(json.dumps(header).encode(), np.uint8), params=params)
    with pytest.raises(ModelFileError, match="parameters, more than the file's .* bytes hold"):
        fm.load(path)


def test_a_stored_member_whose_sizes_disagree_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    fm.MLP([3, 4, 1], seed=0).save(path)
    raw = bytearray(path.read_bytes())
    entry = raw.index(b"PK\x01\x02")  # the first central directory entry: header.npy
    size = int.from_bytes(raw[entry + 20 : entry + 24], "little")
    raw[entry + 20 : entry + 24] = (size - 1).to_bytes(4, "little")  # the compressed size
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError):
        fm.load(path)


# -- how save writes ---------------------------------------------------------------------------


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_saving_through_a_symlink_replaces_the_target_not_the_link(tmp_path):
    (tmp_path / "models").mkdir()
    target, link = tmp_path / "models" / "net.npz", tmp_path / "latest.npz"
    fm.MLP([3, 1], seed=0).save(target)
    link.symlink_to(target)
    net = fm.MLP([3, 2, 1], seed=1)
    net.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert fm.load(target).sizes == (3, 2, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.npz", "models"]
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["net.npz"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("model", [fm.MLP([3, 1]), nielsen2.Network([3, 2])], ids=["fastmlp", "nielsen2"])
def test_an_existing_file_keeps_its_mode_and_a_new_one_gets_the_umasks(tmp_path, umask, model):
    path = tmp_path / "net.file"
    for mode in (0o640, 0o600):
        model.save(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # new: 0o666 less the umask 0o022
        path.chmod(mode)
        model.save(path)
        assert stat.S_IMODE(path.stat().st_mode) == mode
        path.unlink()


@pytest.mark.parametrize("saver", ["fastmlp", "nielsen2"])
def test_a_legal_250_byte_file_name_saves_and_loads(tmp_path, saver):
    path = tmp_path / ("n" * 246 + ".npz")
    assert len(os.fsencode(path.name)) == 250
    if saver == "fastmlp":
        fm.MLP([3, 1]).save(path)
        assert fm.load(path).sizes == (3, 1)
    else:
        nielsen2.Network([3, 2]).save(path)
        assert nielsen2.load(path).sizes == [3, 2]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# -- nielsen2's JSON files ---------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    b"\xff\xfe{}",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"sizes": [3, 2], "weights": [], "biases": [], "cost": ["QuadraticCost"]}',
    b'{"sizes": "32", "weights": [], "biases": [], "cost": "QuadraticCost"}',
    b'{"sizes": [3, true], "weights": [], "biases": [], "cost": "QuadraticCost"}',
    b'{"sizes": [100000, 100000, 10], "weights": [], "biases": [], "cost": "QuadraticCost"}',
    b'{"sizes": [3, 2], "weights": 7, "biases": [[[0], [0]]], "cost": "QuadraticCost"}',
    b'{"sizes": [3, 2], "weights": [[[0, 0, "x"], [0, 0, 0]]], "biases": [[[0], [0]]], "cost": "QuadraticCost"}',
    b'{"sizes": [3, 2], "weights": [[[0, 0, 1e999], [0, 0, 0]]], "biases": [[[0], [0]]], "cost": "QuadraticCost"}',
    b'{"sizes": [3, 2], "weights": [[[0, 0, NaN], [0, 0, 0]]], "biases": [[[0], [0]]], "cost": "QuadraticCost"}',
    b'{"sizes": [3, 2], "weights": [[[0, 0, 1], [0, 0]]], "biases": [[[0], [0]]], "cost": "QuadraticCost"}',
    b'{"sizes": [3, 2], "weights": [[[0, 0, 1], [0, 0, 0]]], "biases": [[[0], [' + b"9" * 400 + b']]],'
    b' "cost": "QuadraticCost"}',
    b'{"sizes": [3, 2], "weights": [[[[[[0]]]]]], "biases": {}, "cost": "QuadraticCost"}',
], ids=["not-utf8", "deep", "cost-list", "sizes-text", "sizes-bool", "sizes-huge", "weights-int", "text-value",
        "infinity", "nan", "ragged", "huge-int", "wrong-nesting"])
def test_nielsen2_load_refuses_a_hostile_file_with_valueerror(tmp_path, content):
    path = tmp_path / "net.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"^{path}") as info:
        nielsen2.load(path)
    assert type(info.value) in (ValueError, ModelFileError)


# -- the machine's settings are not the file's fault ----------------------------------------------


@pytest.mark.parametrize("variable, value", [("FASTMLP_ISA", "avx9000"), ("FASTMLP_BACKEND", "fortran")])
@pytest.mark.parametrize("model, load", [(fm.MLP([3, 2, 1], seed=0), fm.load), (nielsen2.Network([3, 2]), nielsen2.load)],
                         ids=["fastmlp", "nielsen2"])
def test_a_bad_setting_is_reported_as_the_settings_not_the_files(tmp_path, monkeypatch, variable, value, model, load):
    path = tmp_path / "net.file"
    model.save(path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=f"^{variable}={value!r}") as info:
        load(path)
    assert not isinstance(info.value, ModelFileError) and "not a saved network" not in str(info.value)
