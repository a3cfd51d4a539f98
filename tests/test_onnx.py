"""ONNX export: the exported graph, run by onnxruntime, computes net.forward.

float64 graphs agree with the kernels to ~1e-12. float32 graphs agree to 1e-6 relative, up
to an absolute error of the size of float32's own rounding in that network, measured as the
distance between the network's float32 forward pass and the float64 one of the same weights
(onnxruntime sums in another order and its float32 Sigmoid is an approximation good to
~1.5e-7 absolute, so values near 0 cannot agree relatively).
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import pathlib
import re
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import fastmlp as fm  # noqa: E402
import fastmlp.onnx as fmonnx  # noqa: E402
from fastmlp.activations import KINDS  # noqa: E402
from conftest import DTYPES, HIDDEN_IDS, HIDDEN_SPECS, LOSSES, LossCase, make_net, random_weights, twin  # noqa: E402

# One case per (loss, output) pairing; the two cross_entropy cases build the same network.
PAIRINGS = [case for case in LOSSES if case.id != "ce-onehot"]
PAIRING_IDS = [case.id for case in PAIRINGS]
DEPTHS = {"1-hidden": [5, 7, 3], "2-hidden": [4, 9, 6, 3], "3-hidden": [6, 8, 8, 8, 2]}


def run(model, X):
    """h for the batch X, computed by onnxruntime on the CPU."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (H,) = session.run(["h"], {"x": X})
    return H


def inputs(net, n, seed=0):
    return np.random.default_rng(seed).normal(0.0, 1.0, size=(n, net.sizes[0])).astype(net.dtype)


def assert_computes_forward(net, H, X):
    F = net.forward(X)
    assert H.dtype == net.dtype and H.shape == F.shape
    if net.dtype == np.float64:
        atol = 1e-12 * max(1.0, float(np.abs(F).max()))
        np.testing.assert_allclose(H, F, rtol=1e-12, atol=atol)
        return
    rounding = float(np.abs(F - twin(net, dtype="float64").forward(X)).max())
    np.testing.assert_allclose(H, F, rtol=1e-6, atol=max(1e-6, 4 * rounding))


def assert_exports(net, X):
    """The model of net passes the checker and, run on X, computes net.forward(X)."""
    model = fmonnx.to_model(net)
    onnx.checker.check_model(model, full_check=True)
    assert_computes_forward(net, run(model, X), X)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("depth", list(DEPTHS))
@pytest.mark.parametrize("case", PAIRINGS, ids=PAIRING_IDS)
@pytest.mark.parametrize("hidden", HIDDEN_SPECS, ids=HIDDEN_IDS)
def test_graph_computes_forward(hidden, case, depth, dtype):
    sizes = DEPTHS[depth]
    net = make_net(sizes, hidden, case, dtype, seed=len(sizes))
    assert_exports(net, inputs(net, 64))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", PAIRINGS, ids=PAIRING_IDS)
def test_network_without_hidden_layer(case, dtype):
    net = make_net([6, 3], case=case, dtype=dtype, seed=1)
    assert_exports(net, inputs(net, 32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_hidden_kind_in_one_network(dtype):
    """Each layer's constants get their own names: two layers of one kind, and all kinds
    stacked, export and agree."""
    hidden = HIDDEN_SPECS + HIDDEN_SPECS[::-1]
    sizes = [5] + [6] * len(hidden) + [4]
    net = make_net(sizes, hidden, LOSSES[3], dtype, seed=2, weights=random_weights(sizes, 2, scale=0.4))
    assert_exports(net, inputs(net, 64))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", PAIRINGS, ids=PAIRING_IDS)
def test_onnx_reference_evaluator_agrees(case, dtype):
    """A second runtime, onnx's own reference implementation of the operators' definitions,
    computes the same h: the graph means the standard's semantics, not one runtime's."""
    from onnx.reference import ReferenceEvaluator

    sizes = [5] + [6] * len(HIDDEN_SPECS) + [3]
    net = make_net(sizes, HIDDEN_SPECS, case, dtype, seed=12, weights=random_weights(sizes, 12, scale=0.4))
    X = inputs(net, 32)
    (H,) = ReferenceEvaluator(fmonnx.to_model(net)).run(["h"], {"x": X})
    assert_computes_forward(net, H, X)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sign_units(dtype):
    """sign (forward only): the perceptron's unit, Sign in ONNX, 0 at s = 0 in both."""
    net = make_net([4, 6, 3], "sign", LOSSES[0], dtype, seed=3)
    net.set_weights([np.vstack([np.zeros(6), np.eye(4, 6)]), random_weights([6, 3], 3)[0]])
    X = inputs(net, 50)
    X[:, 0] = 0.0  # s_1 = 0 exactly for every sample
    assert_exports(net, X)
    assert_exports(make_net([4, 3], case=LossCase("l2-sign", "l2", "sign", "real"), dtype=dtype, seed=4), X)


@pytest.mark.parametrize("dtype", DTYPES)
def test_parameters_reach_the_graph(dtype):
    """A graph that ignored leaky_relu's, elu's or maxout's parameters would compute the
    defaults' outputs; these differ from them by far more than the tolerance."""
    for spec, default in [(HIDDEN_SPECS[4], "leaky_relu"), (HIDDEN_SPECS[5], "elu"), (HIDDEN_SPECS[6], "maxout")]:
        net = make_net([3, 5, 2], spec, LOSSES[0], dtype, seed=5)
        with_defaults = make_net([3, 5, 2], default, LOSSES[0], dtype, seed=5)
        X = inputs(net, 40)
        H = run(fmonnx.to_model(net), X)
        assert_computes_forward(net, H, X)
        assert np.abs(H - with_defaults.forward(X)).max() > 1e-2


@pytest.mark.parametrize("dtype", DTYPES)
def test_file_round_trip(tmp_path, dtype):
    net = make_net([5, 8, 3], HIDDEN_SPECS[5], LOSSES[3], dtype, seed=6)
    path = tmp_path / "net.onnx"
    returned = fmonnx.export(net, path)
    loaded = onnx.load(path)
    assert loaded.SerializeToString() == returned.SerializeToString() == fmonnx.to_model(net).SerializeToString()
    onnx.checker.check_model(loaded, full_check=True)
    X = inputs(net, 20)
    assert_computes_forward(net, run(loaded, X), X)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(["h"], {"x": X})[0], run(loaded, X))


def test_method_returns_and_writes(tmp_path):
    net = make_net([4, 6, 2], "tanh", LOSSES[5], seed=7)
    expected = fmonnx.to_model(net).SerializeToString()
    assert net.to_onnx().SerializeToString() == expected
    path = tmp_path / "method.onnx"
    assert net.to_onnx(str(path)).SerializeToString() == expected
    assert path.read_bytes() == expected


def test_export_replaces_a_file_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "net.onnx"
    path.write_bytes(b"the previous model")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        fmonnx.export(make_net([3, 2]), path)
    assert path.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]
    monkeypatch.undo()
    fmonnx.export(make_net([3, 2]), path)
    assert onnx.load(path).producer_name == "fastmlp"
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert path.stat().st_mode == plain.stat().st_mode  # permissions as any new file's


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 20_000])
def test_batch_sizes(n, dtype):
    net = make_net([8, 16, 16, 4], "relu", LOSSES[3], dtype, seed=8)
    model = fmonnx.to_model(net)
    X = inputs(net, n, seed=n)
    assert_computes_forward(net, run(model, X), X)


def test_weights_are_copied():
    net = make_net([4, 6, 3], "tanh", LOSSES[3], seed=9)
    before = net.copy()
    model = fmonnx.to_model(net)
    X, y = inputs(net, 60), np.arange(60) % 3
    net.fit(X, y, epochs=3, eta=0.5, seed=0)
    assert np.abs(net.forward(X) - before.forward(X)).max() > 1e-3
    np.testing.assert_allclose(run(model, X), before.forward(X), rtol=1e-12, atol=1e-12)


def test_graph_interface_and_metadata():
    net = make_net([5, 7, 3], HIDDEN_SPECS[6], LOSSES[3], "float32", seed=10)
    model = fmonnx.to_model(net)
    assert model.producer_name == "fastmlp" and model.producer_version == fm.__version__
    assert [(o.domain, o.version) for o in model.opset_import] == [("", fmonnx.OPSET)]
    assert model.doc_string and model.graph.doc_string
    (x,), (h,) = model.graph.input, model.graph.output
    for value, width in [(x, 5), (h, 3)]:
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        batch, units = value.type.tensor_type.shape.dim
        assert batch.dim_param and not batch.HasField("dim_value") and units.dim_value == width
    assert (x.name, h.name) == ("x", "h")
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["sizes"]) == [5, 7, 3]
    assert json.loads(props["activations"]) == [
        {"name": "maxout", "params": [1.3, 0.2, -0.4, 0.1]},
        {"name": "softmax", "params": [0.0, 0.0, 0.0, 0.0]},
    ]
    assert (props["loss"], props["dtype"]) == ("cross_entropy", "float32")


def test_every_registered_activation_exports_at_the_lowest_opset_that_has_its_operators():
    used = set()
    for name, kind in KINDS.items():
        for dtype in DTYPES:
            # an output-only theta with the loss it pairs with
            loss = "l2" if kind.hidden else next(n for n, l in fm.losses.LOSSES.items() if l.output == name)
            net = fm.MLP([3, 2], output=name, loss=loss, dtype=dtype)
            model = fmonnx.to_model(net)
            onnx.checker.check_model(model, full_check=True)
            used |= {node.op_type for node in model.graph.node}
    first = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain == "" and schema.name in used:
            first[schema.name] = min(first.get(schema.name, schema.since_version), schema.since_version)
    assert set(first) == used and max(first.values()) == fmonnx.OPSET


def test_an_activation_without_an_onnx_form_is_named(monkeypatch):
    monkeypatch.delitem(fmonnx._THETAS, "elu")
    net = make_net([3, 4, 2], "elu", seed=11)
    with pytest.raises(ValueError, match="layer 1's activation 'elu' has no ONNX form"):
        fmonnx.to_model(net)


@pytest.mark.parametrize("thing", [None, "net.onnx", [3, 2, 1], fm.Perceptron()])
def test_only_networks_export(thing, tmp_path):
    with pytest.raises(TypeError, match="exports a fastmlp.MLP, not"):
        fmonnx.to_model(thing)
    with pytest.raises(TypeError, match="exports a fastmlp.MLP, not"):
        fmonnx.export(thing, tmp_path / "x.onnx")
    assert list(tmp_path.iterdir()) == []


def test_onnx_is_the_top_level_package():
    assert fmonnx.onnx is onnx and fmonnx.onnx is sys.modules["onnx"]


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.delitem(sys.modules, "fastmlp.onnx")
    with pytest.raises(ImportError, match=re.escape("pip install 'fastmlp[onnx]'")):
        importlib.import_module("fastmlp.onnx")
    monkeypatch.delitem(sys.modules, "fastmlp.onnx", raising=False)
    monkeypatch.delattr(fm, "onnx")  # else `from . import onnx` finds the module imported before
    with pytest.raises(ImportError, match=re.escape("pip install 'fastmlp[onnx]'")):
        fm.MLP([2, 1]).to_onnx()


def test_the_docs_example(tmp_path, monkeypatch):
    page = pathlib.Path(__file__).resolve().parent.parent / "docs" / "guide" / "saving.md"
    section = page.read_text().split("## Deploy with ONNX", 1)[1]
    code, printed = re.findall(r"```(?:python|text)\n(.*?)```", section, flags=re.S)[:2]
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(page), "exec"), {})
    assert out.getvalue().split() == printed.split()
