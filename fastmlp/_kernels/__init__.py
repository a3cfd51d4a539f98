"""The compiled kernels: ``_core`` (generic), ``_core_avx2`` and ``_core_avx512``, the same
Cython source (``_core.pyx`` and the files it includes) built for three instruction sets.
Only fastmlp._engine.backends imports them.

Where a build is missing (a source checkout whose kernels were never compiled, or compiled
for another Python), importing it raises ImportError saying what to run.
"""
import importlib
from pathlib import Path


def _missing(name: str) -> str:
    here = Path(__file__).resolve().parent
    root = here.parent.parent
    if (root / "setup.py").is_file() and (root / "pyproject.toml").is_file():
        return (
            f"fastmlp's compiled kernels ({name}) are not built in this source checkout ({here}); "
            f"run `pip install -e .` in {root} to build them in place (a C compiler and Python's "
            f"headers are needed), or use FASTMLP_BACKEND=reference for the pure-Python reference"
        )
    return (
        f"fastmlp's compiled kernels ({name}) are missing from {here}; reinstall fastmlp for this "
        f"Python, or use FASTMLP_BACKEND=reference for the pure-Python reference"
    )


def __getattr__(name: str):
    # ``from fastmlp._kernels import _core`` asks here before it imports the submodule.
    if not name.startswith("_core"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{name}":
            raise
        raise ImportError(_missing(name), name=error.name) from None
