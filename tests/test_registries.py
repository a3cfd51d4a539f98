"""One registry per family: the kernels number exactly the activations, losses and
optimizers the Python registries name, and the lists built from the registries (the
command line's choices, the estimators' names, the ONNX export, the tests') cover them."""
import importlib
import inspect

import pytest

import fastmlp as fm
from fastmlp import activations, cli, losses
from fastmlp._engine import backends, optimizers
from conftest import HIDDEN_IDS, LOSSES, OPTIMIZERS


@pytest.mark.parametrize("isa", backends.available_isas())
def test_the_kernels_number_what_the_registries_name(isa):
    kernels = importlib.import_module("fastmlp._kernels._core" + ("" if isa == "generic" else f"_{isa}"))
    assert set(kernels.ACTIVATION_CODES) == set(activations.KINDS)
    assert set(kernels.LOSS_CODES) == set(losses.LOSSES)
    assert set(kernels.OPTIMIZER_CODES) == set(optimizers.KINDS) - {"sgd"}  # the plain step needs no rule


def test_every_optimizer_is_a_fit_keyword_with_its_default():
    options = inspect.signature(fm.MLP([2, 1]).fit).parameters
    for cls in optimizers.OPTIMIZERS.values():
        for key, default in cls.hyperparameters.items():
            assert options[key].default == default
            assert key in fm.MLP.fit.__doc__
        assert f'"{cls.kind}"' in fm.MLP.fit.__doc__


def test_the_command_line_offers_the_registered_choices():
    train = cli.parser()._subparsers._group_actions[0].choices["train"]
    choices = {action.dest: action.choices for action in train._actions}
    assert choices["optimizer"] == list(optimizers.KINDS)
    assert set(choices["activation"]) == {n for n, k in activations.KINDS.items() if k.hidden and k.trainable}


def test_the_estimators_and_the_tests_cover_every_trainable_hidden_activation():
    pytest.importorskip("sklearn")
    from fastmlp.estimators import ACTIVATIONS

    hidden = {n for n, k in activations.KINDS.items() if k.hidden and k.trainable}
    assert set(ACTIVATIONS.values()) == hidden == set(HIDDEN_IDS)


def test_the_tests_cover_every_loss_and_optimizer():
    assert {case.loss for case in LOSSES} == set(losses.LOSSES)
    assert OPTIMIZERS == list(optimizers.KINDS)


def test_every_activation_has_an_onnx_form():
    onnx = pytest.importorskip("fastmlp.onnx")
    assert set(onnx._THETAS) == set(activations.KINDS)
