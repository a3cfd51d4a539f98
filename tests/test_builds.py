"""The builds of the kernels: which one the CPU gets, FASTMLP_ISA's choice, and the
alignment of the buffers they stream through."""
import pickle
from pathlib import Path

import numpy as np
import pytest

import fastmlp as fm
from fastmlp._engine import backends as _backends
from fastmlp._kernels import _core


def cpu_flags() -> set:
    """The CPU's feature flags as Linux reports them (it leaves out what the OS does not save)."""
    path = Path("/proc/cpuinfo")
    if not path.exists():
        pytest.skip("no /proc/cpuinfo")
    line = next(line for line in path.read_text().splitlines() if line.startswith("flags"))
    return set(line.split(":", 1)[1].split())


def test_detection_agrees_with_the_operating_system():
    flags = cpu_flags()
    assert _core.cpu_has_avx2_fma() == ({"avx2", "fma"} <= flags)
    assert _core.cpu_has_avx512() == ({"avx2", "fma", "avx512f", "avx512vl", "avx512dq", "avx512bw"} <= flags)


def test_the_default_is_the_newest_build_the_cpu_runs(monkeypatch):
    monkeypatch.delenv("FASTMLP_ISA", raising=False)
    assert fm.MLP([2, 2]).backend.name == f"cython-{_backends.available_isas()[-1]}"
    assert _backends.available_isas()[0] == "generic"


@pytest.mark.parametrize("isa", _backends.available_isas())
def test_fastmlp_isa_forces_a_build(monkeypatch, isa):
    monkeypatch.setenv("FASTMLP_ISA", isa)
    assert fm.MLP([2, 2]).backend.name == f"cython-{isa}"


def test_an_unknown_or_missing_build_is_refused(monkeypatch):
    monkeypatch.setenv("FASTMLP_ISA", "avx1024")
    with pytest.raises(ValueError, match="FASTMLP_ISA='avx1024' is not one of generic, avx2, avx512"):
        fm.MLP([2, 2])
    monkeypatch.setattr(_backends, "available_isas", lambda: ["generic"])
    monkeypatch.setenv("FASTMLP_ISA", "avx512")
    with pytest.raises(ValueError, match="the avx512 kernels are not available"):
        fm.MLP([2, 2])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_weights_and_moments_start_on_a_cache_line(dtype):
    X, y = np.ones((3, 5)), np.array([0, 1, 2])
    net = fm.MLP([5, 7, 3], loss="cross_entropy", dtype=dtype, seed=0)
    net.fit(X, y, epochs=1, optimizer="adam")
    for n in (net, net.copy(), pickle.loads(pickle.dumps(net))):
        for a in (n.params, n.optimizer.m, n.optimizer.v):
            assert a.ctypes.data % _backends.ALIGNMENT == 0
            assert a.flags.c_contiguous and a.flags.writeable and a.dtype == net.dtype
        assert np.shares_memory(n.weights[0], n.params)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(net)).params, net.params)


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 5)])
def test_aligned_copies_any_array(shape):
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    b = _backends.aligned(a)
    np.testing.assert_array_equal(a, b)
    assert b.shape == a.shape and b.dtype == a.dtype and not np.shares_memory(a, b)
