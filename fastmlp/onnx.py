"""Export of an MLP's forward pass h(x) to ONNX, to run the trained network anywhere an ONNX
runtime runs (onnxruntime, browsers, phones) without fastmlp.

The graph takes a batch ``x`` of shape (N, d^(0)) in the network's dtype, N free, and
returns ``h`` of shape (N, d^(L)). Layer l is the affine map s^(l) = x^(l-1) W^(l)[1:] +
W^(l)[0] as one Gemm node, followed by theta: Sign, Sigmoid, Tanh, Relu, LeakyRelu, Elu,
maxout as Max(a1 s + b1, a2 s + b2), Softmax over axis 1, Exp (the poisson loss's output).
Tensors carry the lecture's names: W1, b1, s1, x1, ..., and the output h.

Opset 9, IR version 4: Sign, which the sign activation needs, arrived in opset 9, and every
other operator used has had its present meaning since opset 9 or earlier (Softmax's axis
semantics changed in opset 13 only for inputs of more than two dimensions, and ours has two).
The lowest opset that holds the graph is the one the most runtimes load.

ONNX's LeakyRelu and Elu are fastmlp's thetas: s for s > 0, else alpha s or
alpha (e^s - 1), 0 at s = 0 in both. onnxruntime has no float64 kernel for either, and their
alpha attribute is a float32 whatever the tensor type; float64 networks therefore get them
as Relu(s) + alpha Min(s, 0) and Relu(s) + alpha (Exp(Min(s, 0)) - 1), alpha a float64
constant: the same functions (near s = 0, Exp(s) - 1 differs from the kernels' expm1(s) by
about 1e-16 absolute).
"""
from __future__ import annotations

import json

import numpy as np

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError as error:
    raise ImportError("fastmlp.onnx needs onnx: pip install 'fastmlp[onnx]'") from error

from ._version import __version__
from .activations import KINDS
from .io import atomic_write

OPSET = 9
# What the export reads of a network: MLP's public surface (fastmlp.network imports this
# module for MLP.to_onnx, so the check is by these names, not by class).
_NETWORK_ATTRIBUTES = ("sizes", "activations", "loss", "dtype", "weights")


def to_model(net) -> onnx.ModelProto:
    """The ONNX model of ``net``'s forward pass: input "x" (N, d^(0)), output "h" (N, d^(L)),
    both of the network's dtype, so that running it on a batch X gives ``net.forward(X)``.

    The weights are copied into the model: training ``net`` afterwards leaves it unchanged.
    ``metadata_props`` records the architecture: "sizes" and "activations" (name and the four
    params of each layer's theta) as JSON, "loss" and "dtype" by name.

    Parameters
    ----------
    net : MLP

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    TypeError
        For anything but a fastmlp.MLP.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> import fastmlp as fm
    >>> import fastmlp.onnx
    >>> net = fm.MLP([2, 3, 1], seed=0)
    >>> session = onnxruntime.InferenceSession(fastmlp.onnx.to_model(net).SerializeToString())
    >>> X = np.array([[0.5, -1.0]])
    >>> bool(np.allclose(session.run(None, {"x": X})[0], net.forward(X)))
    True
    """
    if not all(hasattr(net, name) for name in _NETWORK_ATTRIBUTES):
        raise TypeError(f"to_model exports a fastmlp.MLP, not {type(net).__name__}")
    graph = _Graph(net.dtype)
    x = "x"
    for l, (W, theta) in enumerate(zip(net.weights, net.activations), start=1):
        s = graph.affine(x, W, l)
        x = "h" if l == len(net.weights) else f"x{l}"
        graph.theta(theta, s, x, l)
    tensor = helper.np_dtype_to_tensor_dtype(net.dtype)
    d0, dL = net.sizes[0], net.sizes[-1]
    thetas = ", ".join(theta.name for theta in net.activations)
    doc = (f"fastmlp MLP {list(net.sizes)}, theta of layers 1..L: {thetas}; loss {net.loss.name}; "
           f"{net.dtype.name}. Input x: a batch of shape (N, {d0}); output h = x^(L), shape (N, {dL}).")
    onnx_graph = helper.make_graph(
        graph.nodes,
        "fastmlp_mlp",
        [helper.make_tensor_value_info("x", tensor, ["N", d0])],
        [helper.make_tensor_value_info("h", tensor, ["N", dL])],
        initializer=graph.initializers,
        doc_string=doc,
    )
    opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(onnx_graph, opset_imports=opsets, producer_name="fastmlp",
                              producer_version=__version__, doc_string=doc,
                              ir_version=helper.find_min_ir_version_for(opsets))
    helper.set_model_props(model, _architecture(net))
    return model


def export(net, path) -> onnx.ModelProto:
    """Write ``to_model(net)`` to ``path`` (a .onnx file) and return it.

    The file is written beside the target and renamed over it, so an existing file is
    replaced whole or not at all.

    Parameters
    ----------
    net : MLP
    path : str or os.PathLike

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    TypeError
        For anything but a fastmlp.MLP.
    OSError
        The file cannot be written.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastmlp as fm
    >>> import fastmlp.onnx
    >>> model = fastmlp.onnx.export(fm.MLP([2, 3, 1], seed=0), os.path.join(tempfile.mkdtemp(), "net.onnx"))
    >>> [i.name for i in model.graph.input], [o.name for o in model.graph.output]
    (['x'], ['h'])
    """
    model = to_model(net)
    with atomic_write(path) as file:
        file.write(model.SerializeToString())
    return model


def _architecture(net) -> dict:
    return {
        "sizes": json.dumps(list(net.sizes)),
        "activations": json.dumps([{"name": a.name, "params": list(a.params)} for a in net.activations]),
        "loss": net.loss.name,
        "dtype": net.dtype.name,
    }


class _Graph:
    """Nodes and initializers of the graph being built, in the network's dtype."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.nodes, self.initializers = [], []

    def constant(self, name, value) -> str:
        self.initializers.append(numpy_helper.from_array(np.array(value, dtype=self.dtype), name))
        return name

    def node(self, op, inputs, output, **attributes) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def affine(self, x, W, l) -> str:
        """s^(l) = x W^(l)[1:] + W^(l)[0], the bias row broadcast over the batch."""
        weights = self.constant(f"W{l}", W[1:])
        bias = self.constant(f"b{l}", W[0])
        return self.node("Gemm", [x, weights, bias], f"s{l}")

    def theta(self, theta, s, x, l) -> None:
        """x = theta(s) for layer l's activation."""
        build = _THETAS.get(theta.name)
        if build is None:
            raise ValueError(f"layer {l}'s activation {theta.name!r} has no ONNX form; "
                             f"exportable: {', '.join(_THETAS)}")
        build(self, s, x, theta.params, f"x{l}_")


def _leaky_relu(g, s, x, p, prefix):
    if g.dtype == np.float32:
        g.node("LeakyRelu", [s], x, alpha=p[0])
        return
    negative = g.node("Min", [s, g.constant(prefix + "zero", 0.0)], prefix + "negative")
    scaled = g.node("Mul", [negative, g.constant(prefix + "alpha", p[0])], prefix + "scaled")
    g.node("Add", [g.node("Relu", [s], prefix + "positive"), scaled], x)


def _elu(g, s, x, p, prefix):
    if g.dtype == np.float32:
        g.node("Elu", [s], x, alpha=p[0])
        return
    negative = g.node("Min", [s, g.constant(prefix + "zero", 0.0)], prefix + "negative")
    exp = g.node("Exp", [negative], prefix + "exp")
    expm1 = g.node("Sub", [exp, g.constant(prefix + "one", 1.0)], prefix + "expm1")
    scaled = g.node("Mul", [expm1, g.constant(prefix + "alpha", p[0])], prefix + "scaled")
    g.node("Add", [g.node("Relu", [s], prefix + "positive"), scaled], x)


def _maxout(g, s, x, p, prefix):
    pieces = []
    for k, (a, b) in enumerate([(p[0], p[1]), (p[2], p[3])], start=1):
        slope = g.node("Mul", [s, g.constant(f"{prefix}a{k}", a)], f"{prefix}a{k}s")
        pieces.append(g.node("Add", [slope, g.constant(f"{prefix}b{k}", b)], f"{prefix}piece{k}"))
    g.node("Max", pieces, x)


def _elementwise(op):
    def build(g, s, x, p, prefix):
        g.node(op, [s], x)

    return build


# theta's ONNX form: its operator from the registry (fastmlp.activations), or built here.
_THETAS = {
    **{name: _elementwise(kind.onnx) for name, kind in KINDS.items() if kind.onnx},
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "maxout": _maxout,
    "softmax": lambda g, s, x, p, prefix: g.node("Softmax", [s], x, axis=1),
}
