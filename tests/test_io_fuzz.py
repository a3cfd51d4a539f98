"""Fuzzing the loader: whatever the bytes or the header fields of a model file become (an
MLP's, a perceptron's, a scikit-learn estimator's), load returns a working model or raises
ModelFileError naming the file, and never reads or allocates more than a small, fixed
amount beyond the file's own size."""
import json
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastmlp as fm
from fastmlp.io import ModelFileError

# A load of these few-kilobyte files needs well under 1 MB; a loader that trusted a declared
# size would allocate gigabytes.
MEMORY_BOUND = 8 << 20
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def saved_mlp(X, y):
    """An MLP with Adam's moments and a maxout layer."""
    net = fm.MLP([3, 4, 2], activation=fm.activation("maxout", a1=1, b1=0, a2=-0.5, b2=0), loss="cross_entropy",
                 seed=0)
    net.fit(X, y, epochs=2, optimizer="adam")
    return net


def saved_perceptron(X, y):
    return fm.Perceptron(max_epochs=3, seed=0).fit(X, y)


def saved_classifier(X, y):
    """An MLPClassifier with text labels, early stopping's validation record and a dropout."""
    from fastmlp.estimators import MLPClassifier

    labels = np.array(["no", "yes", "maybe"])[np.arange(len(y)) % 3]
    return MLPClassifier((4,), max_iter=3, early_stopping=True, validation_fraction=0.25, dropout=0.1,
                         random_state=0).fit(X, labels)


def saved_regressor(X, y):
    """An MLPRegressor with two outputs, momentum and the adaptive rate, fitted twice (warm start)."""
    from fastmlp.estimators import MLPRegressor

    model = MLPRegressor(hidden_layer_sizes=(4, 3), solver="sgd", learning_rate="adaptive", max_iter=2, warm_start=True,
                         random_state=0)
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    return model.fit(X, Y).fit(X, Y)


KINDS = {"mlp": saved_mlp, "perceptron": saved_perceptron, "classifier": saved_classifier,
         "regressor": saved_regressor}
try:
    import sklearn  # noqa: F401
except ImportError:
    KINDS = {"mlp": saved_mlp, "perceptron": saved_perceptron}


@pytest.fixture(scope="module", params=list(KINDS))
def valid(tmp_path_factory, request):
    """A valid file of each kind (with metadata): its folder, bytes, header and arrays."""
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)), rng.integers(0, 2, size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the few epochs do not converge
        model = KINDS[request.param](X, y)
    model.save(folder / "good.npz", metadata={"classes": ["a", "b"], "mean": [0.0, 1.0, 2.0]})
    with np.load(folder / "good.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays.pop("header").tobytes())
    return folder, (folder / "good.npz").read_bytes(), header, arrays


def load_only_valueerror(path):
    """Load ``path``: a working model or a ModelFileError naming the file (no other
    exception), within the memory bound."""
    tracemalloc.start()
    try:
        model = fm.load(path)
    except ModelFileError as exc:
        assert str(exc).startswith(str(path))
        model = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_BOUND
    if isinstance(model, fm.MLP):  # whatever loads works
        assert np.isfinite(model.forward(np.ones(model.sizes[0]))).all()
    elif isinstance(model, fm.Perceptron):
        if model.w is not None:
            assert model.predict(np.ones((2, len(model.w) - 1))).shape == (2,)
    elif model is not None:
        X = np.ones((2, model.n_features_in_))
        assert np.isfinite(model.net_.forward(X)).all()
        assert len(model.predict(X)) == 2


edits = st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8)


@FUZZ
@given(edits=edits, cut=st.one_of(st.none(), st.integers(min_value=0)), insert=st.binary(max_size=16))
def test_mutated_bytes(valid, edits, cut, insert):
    folder, data, _, _ = valid
    data = bytearray(data)
    for position, value in edits:
        data[position % len(data)] = value
    if insert:
        at = edits[0][0] % len(data)
        data[at:at] = insert
    if cut is not None:
        del data[cut % len(data):]
    (folder / "bytes.npz").write_bytes(bytes(data))
    load_only_valueerror(folder / "bytes.npz")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**140) | st.floats(allow_nan=False)
    | st.text(max_size=10)
    | st.sampled_from([0, 1, 2, -1, 10**9, 10**12, "float32", "MLP", "adam", "relu", "Perceptron", "MLPClassifier",
                       "MLPRegressor", "softmax", "logistic", "identity", "multiclass", "binary", "lbfgs", "adaptive"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=12,
)


def paths(node, prefix=()):
    """Every (keys and indices) path into a JSON tree."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, prefix + (index,))


@FUZZ
@given(data=st.data(), value=json_values, delete=st.booleans())
def test_mutated_header_fields(valid, data, value, delete):
    folder, _, header, arrays = valid
    header = json.loads(json.dumps(header))
    path = data.draw(st.sampled_from([p for p in paths(header) if p]))
    parent = header
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    np.savez(folder / "header.npz", header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    load_only_valueerror(folder / "header.npz")


@FUZZ
@given(data=st.data(), length=st.integers(min_value=0, max_value=10**15),
       dtype=st.sampled_from(["<f8", "<f4", ">f8", "<i8", "|u1", "<U3", "|b1", "<c16", "|O"]))
def test_mutated_array_declarations(valid, data, length, dtype):
    """A member whose .npy header declares another dtype or any length, with the data left
    as it was: refused from the declarations, before anything of that size is read."""
    folder, _, header, arrays = valid
    name = data.draw(st.sampled_from(sorted(arrays)))
    member = np.lib.format.header_data_from_array_1_0(arrays[name])
    member.update(descr=dtype, shape=(length,))
    path = folder / "declared.npz"
    np.savez(path, header=np.frombuffer(json.dumps(header).encode(), np.uint8),
             **{k: v for k, v in arrays.items() if k != name})
    with zipfile.ZipFile(path, "a") as archive, archive.open(f"{name}.npy", "w") as stream:
        np.lib.format.write_array_header_1_0(stream, member)
        stream.write(arrays[name].tobytes())
    load_only_valueerror(path)
