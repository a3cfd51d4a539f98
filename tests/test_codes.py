"""The kernels and the Python registries name activations and losses by the same codes."""
import pytest

from fastmlp import activations, losses
from fastmlp._engine import backends


@pytest.mark.parametrize("isa", backends.available_isas())
def test_kernel_codes_match_the_registries(isa):
    import importlib

    kernels = importlib.import_module("fastmlp._kernels._core" + ("" if isa == "generic" else f"_{isa}"))
    assert kernels.ACTIVATION_CODES == {name: kind.code for name, kind in activations.KINDS.items()}
    assert kernels.LOSS_CODES == {name: loss.code for name, loss in losses.LOSSES.items()}
