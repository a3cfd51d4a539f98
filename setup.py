"""Build the Cython kernels; every compiler directive lives here.

FASTMLP_DEBUG=1 at build time turns on bounds checking and wraparound so that an
out-of-range index raises instead of reading past a buffer.
"""
import os
import platform
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTMLP_DEBUG", "0") == "1"

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "nonecheck": False,
    "embedsignature": True,
}

# One extension per instruction set, the same kernels compiled for each; fastmlp.backends
# picks the best one the CPU runs at import. The generic build runs on any x86-64.
ISA_FLAGS = {"_core": []}
if platform.machine().lower() in ("x86_64", "amd64") and sys.platform != "win32":
    ISA_FLAGS["_core_avx2"] = ["-mavx2", "-mfma"]
    ISA_FLAGS["_core_avx512"] = ["-mavx2", "-mfma", "-mavx512f", "-mavx512vl", "-mavx512dq", "-mavx512bw"]

extensions = [
    Extension(
        f"fastmlp._kernels.{name}",
        [f"fastmlp/_kernels/{name}.pyx"],
        include_dirs=[numpy.get_include(), "fastmlp/_kernels"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # No trapping math and no errno: the kernels never read floating-point exception
        # flags or errno, and it lets comparisons (ReLU, the clamp in tanh) vectorise as
        # blends and square roots (Adam) as vector instructions.
        extra_compile_args=(["-O0", "-g"] if DEBUG else ["-O3", "-fno-trapping-math", "-fno-math-errno"])
        + flags,
    )
    for name, flags in ISA_FLAGS.items()
]

setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES))
