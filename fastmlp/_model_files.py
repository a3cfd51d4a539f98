"""The models fastmlp keeps in model files itself, MLP and Perceptron, registered with
fastmlp.io: what state each writes and how it is rebuilt, every field checked. The
scikit-learn estimators' kinds register when fastmlp.estimators is imported; io imports
it when a file names one of them (``io.add_plugin`` below).

An MLP keeps its architecture (sizes, activations with their parameters, loss, dtype,
init), its flat parameters, its optimizer (kind, settings, step count t, moments m and v)
and its generator's state; a Perceptron its settings, generator and, once fitted, w, the
two class labels and the mistakes of each epoch.
"""
from __future__ import annotations

import copy

import numpy as np

from . import _checks as checks
from ._engine import optimizers
from .activations import Activation
from .io import MAX_LAYERS, MAX_PARAMETERS, Archive, add_plugin, exact_keys, field, integer, is_integer, number, register
from .network import MLP
from .perceptron import Perceptron


# -- the generator -----------------------------------------------------------------------------


def generator_state(rng: np.random.Generator) -> dict:
    """The JSON-ready state of a PCG64 generator (numpy.random.default_rng's)."""
    state = rng.bit_generator.state
    if state.get("bit_generator") != "PCG64":
        raise TypeError(f"the model's generator is {state.get('bit_generator')}; fastmlp saves PCG64 "
                        "generators (numpy.random.default_rng) only")
    return {"state": state["state"]["state"], "inc": state["state"]["inc"], "has_uint32": state["has_uint32"],
            "uinteger": state["uinteger"]}


def restore_generator(rng: np.random.Generator, fields: dict) -> None:
    """Put the state ``generator_state`` returned back into ``rng``, after checking it."""
    exact_keys(fields, ("state", "inc", "has_uint32", "uinteger"), "the generator's state")
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": integer(fields, "state", 0, 2**128 - 1), "inc": integer(fields, "inc", 0, 2**128 - 1)},
        "has_uint32": integer(fields, "has_uint32", 0, 1),
        "uinteger": integer(fields, "uinteger", 0, 2**32 - 1),
    }


# -- MLP ----------------------------------------------------------------------------------------


def mlp_state(net: MLP):
    """(fields, arrays) that rebuild ``net``: architecture, weights, optimizer, generator;
    read from a copy (taken under the network's lock), so a network saved while another
    thread trains it is saved whole."""
    net = net.copy()
    fields = {
        "sizes": list(net.sizes),
        "activations": [{"name": a.name, "params": list(a.params)} for a in net.activations],
        "loss": net.loss.name,
        "dtype": net.dtype.name,
        "init": net.init,
        "rng": generator_state(net.rng),
        "optimizer": None,
    }
    arrays = {"params": net.params}
    opt = net.optimizer
    if opt is not None:
        fields["optimizer"] = {"kind": opt.kind, **opt.settings(), "t": int(opt.t)}
        arrays.update(optimizer_m=opt.m, optimizer_v=opt.v)
    return fields, arrays


def mlp_from_state(fields: dict, archive: Archive) -> MLP:
    """The MLP ``mlp_state`` described, each field and array checked before use."""
    exact_keys(fields, ("sizes", "activations", "loss", "dtype", "init", "rng", "optimizer"), "an MLP")
    sizes = field(fields, "sizes", list)
    if not 2 <= len(sizes) <= MAX_LAYERS + 1 or not all(is_integer(d) and 1 <= d <= MAX_PARAMETERS for d in sizes):
        raise ValueError(f"the header's 'sizes' must list 2 to {MAX_LAYERS + 1} layer widths in [1, "
                         f"{MAX_PARAMETERS}], got {sizes!r:.200}")
    count = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    if count > MAX_PARAMETERS:
        raise ValueError(f"the header declares {count} parameters, more than the {MAX_PARAMETERS} a model file "
                         "may hold")
    dtype = field(fields, "dtype", str)
    if dtype not in ("float32", "float64"):
        raise ValueError(f"the header's 'dtype' must be 'float32' or 'float64', got {dtype!r:.80}")
    thetas = field(fields, "activations", list)
    if len(thetas) != len(sizes) - 1:
        raise ValueError(f"the header lists {len(thetas)} activations for {len(sizes) - 1} layers")
    activations = []
    for theta in thetas:
        exact_keys(theta, ("name", "params"), "an activation")
        activations.append(Activation(field(theta, "name", str), tuple(field(theta, "params", list))))
    params = archive.array("params", dtype, count)
    net = MLP(sizes, activation=activations[:-1], output=activations[-1], loss=field(fields, "loss", str),
              dtype=dtype, init=field(fields, "init", str))
    weights, start = [], 0
    for W in net.weights:
        weights.append(params[start : start + W.size].reshape(W.shape))
        start += W.size
    net.set_weights(weights)
    restore_generator(net.rng, field(fields, "rng", dict))
    settings = field(fields, "optimizer")
    if settings is not None:
        net.optimizer = _optimizer(net, settings, archive, count, dtype)
    return net


def _optimizer(net, settings, archive, count, dtype):
    kind = field(settings, "kind", str)
    if kind == "sgd":
        raise ValueError("the optimizer 'sgd' keeps no state; the header should say null")
    own = optimizers.OPTIMIZERS[checks.choice(kind, "optimizer", optimizers.KINDS)].hyperparameters
    if set(settings) != {"kind", "t", *optimizers.settings_of_all()}:  # files that list every optimizer's
        exact_keys(settings, ("kind", *own, "t"), "the optimizer")
    opt = optimizers.prepare(net, kind, **{key: number(settings, key) for key in own})
    opt.m[...] = archive.array("optimizer_m", dtype, count)
    v = archive.array("optimizer_v", dtype, count)
    if kind == "adam" and (v < 0).any():
        raise ValueError("the array 'optimizer_v' holds negative second moments")
    opt.v[...] = v
    opt.t = integer(settings, "t")
    return opt


# -- Perceptron ---------------------------------------------------------------------------------


def perceptron_state(model: Perceptron):
    """Its settings, generator and, once fitted, w, classes and mistakes, read from a copy
    (taken under its lock) so that a perceptron saved while another thread fits it is one
    whole fit's."""
    model = copy.deepcopy(model)
    fields = {"eta": model.eta, "max_epochs": model.max_epochs, "shuffle": model.shuffle,
              "dtype": model.dtype.name, "rng": generator_state(model.rng), "inputs": None, "epochs": None}
    arrays = {}
    if model.w is not None:
        fields.update(inputs=len(model.w) - 1, epochs=len(model.mistakes))
        arrays = {"w": model.w, "classes": model.classes, "mistakes": np.asarray(model.mistakes, dtype=np.int64)}
    return fields, arrays


def perceptron_from_state(fields: dict, archive: Archive) -> Perceptron:
    exact_keys(fields, ("eta", "max_epochs", "shuffle", "dtype", "rng", "inputs", "epochs"), "a Perceptron")
    model = Perceptron(eta=number(fields, "eta"), max_epochs=integer(fields, "max_epochs", 1),
                       shuffle=field(fields, "shuffle", bool), dtype=field(fields, "dtype", str))
    restore_generator(model.rng, field(fields, "rng", dict))
    if fields["inputs"] is None and fields["epochs"] is None:
        return model
    inputs = integer(fields, "inputs", 1, MAX_PARAMETERS - 1)
    epochs = integer(fields, "epochs", 1, model.max_epochs)
    w = archive.array("w", model.dtype, inputs + 1)
    classes = archive.array("classes", None, 2, kinds="biufU")
    if not classes[0] < classes[1]:
        raise ValueError(f"the array 'classes' must hold two labels in increasing order, got {classes!r:.80}")
    mistakes = archive.array("mistakes", np.int64, epochs)
    if (mistakes < 0).any():
        raise ValueError("the array 'mistakes' holds negative counts")
    model.w, model.classes, model.mistakes = w, classes, [int(m) for m in mistakes]
    model.converged = model.mistakes[-1] == 0
    return model


register("MLP", MLP, mlp_state, mlp_from_state)
register("Perceptron", Perceptron, perceptron_state, perceptron_from_state)
add_plugin("fastmlp.estimators")

