"""Fuzzing the loader: whatever the bytes or the header fields of a model file become, load
returns a model or raises ValueError, and never reads or allocates more than a small,
fixed amount beyond the file's own size."""
import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastmlp as fm

# A load of these few-kilobyte files needs well under 1 MB; a loader that trusted a declared
# size would allocate gigabytes.
MEMORY_BOUND = 8 << 20
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """A valid file (with Adam's moments and metadata): its path, bytes, header and arrays."""
    folder = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)), rng.integers(0, 2, size=16)
    net = fm.MLP([3, 4, 2], activation=fm.activation("maxout", a1=1, b1=0, a2=-0.5, b2=0), loss="cross_entropy",
                 seed=0)
    net.fit(X, y, epochs=2, optimizer="adam")
    net.save(folder / "good.npz", metadata={"classes": ["a", "b"], "mean": [0.0, 1.0, 2.0]})
    with np.load(folder / "good.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays.pop("header").tobytes())
    return folder, (folder / "good.npz").read_bytes(), header, arrays


def load_only_valueerror(path):
    """Load ``path``: a model or a ValueError naming the file, within the memory bound."""
    tracemalloc.start()
    try:
        model = fm.load(path)
    except ValueError as exc:
        assert str(exc).startswith(str(path))
        model = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_BOUND
    if model is not None:  # whatever loads is a working network
        assert np.isfinite(model.forward(np.ones(model.sizes[0]))).all()


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
    | st.text(max_size=10) | st.sampled_from([0, 1, 2, -1, 10**9, 10**12, "float32", "MLP", "adam", "relu"]),
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
