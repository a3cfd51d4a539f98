"""Build the Cython kernels; every compiler directive lives here.

FASTMLP_DEBUG=1 at build time turns on bounds checking and wraparound so that an
out-of-range index raises instead of reading past a buffer, and keeps the symbols.
FASTMLP_PORTABLE=1 builds the kernels without GCC's vector extensions, in the plain C loops
that compilers without them (MSVC) take; CI's checked build compiles and tests it.

The build first checks that a C compiler and Python's headers are there, and stops at once
with one sentence naming what is missing, before Cython runs.
"""
import os
import sys
import sysconfig
import tempfile

import numpy
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTMLP_DEBUG", "0") == "1"
PORTABLE = os.environ.get("FASTMLP_PORTABLE", "0") == "1"

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "nonecheck": False,
    "embedsignature": True,
}

# One extension per instruction set, the same kernels compiled for each; fastmlp's backends
# pick the best one the CPU runs at import. The generic build runs on any CPU of its
# architecture (x86-64: SSE2; aarch64: NEON). The machine is the target's, from sysconfig,
# so that a cross build (_PYTHON_HOST_PLATFORM, see .ci/arm64) gets the target's builds.
ISA_FLAGS = {"_core": []}
if sysconfig.get_platform().rsplit("-", 1)[-1] == "x86_64":
    ISA_FLAGS["_core_avx2"] = ["-mavx2", "-mfma"]
    ISA_FLAGS["_core_avx512"] = ["-mavx2", "-mfma", "-mavx512f", "-mavx512vl", "-mavx512dq", "-mavx512bw"]

if sys.platform == "win32":  # MSVC
    OPTIMISE = ["/O2"]
elif DEBUG:
    OPTIMISE = ["-O0", "-g"]
else:
    # No trapping math and no errno: the kernels never read floating-point exception
    # flags or errno, and it lets comparisons (ReLU, the clamp in tanh) vectorise as
    # blends and square roots (Adam) as vector instructions.
    OPTIMISE = ["-O3", "-fno-trapping-math", "-fno-math-errno"]
# Wheels ship the extensions without their symbols and debug sections: a sixth of the size.
STRIP = ["-s"] if sys.platform.startswith("linux") and not DEBUG else []

extensions = [
    Extension(
        f"fastmlp._kernels.{name}",
        [f"fastmlp/_kernels/{name}.pyx"],
        include_dirs=[numpy.get_include(), "fastmlp/_kernels"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
        + ([("FASTMLP_PORTABLE", "1")] if PORTABLE else []),
        extra_compile_args=OPTIMISE + flags,
        extra_link_args=STRIP,
    )
    for name, flags in ISA_FLAGS.items()
]


def _compiler_missing(compiler) -> str:
    """What the build cannot do without, in one sentence, or "" if the compiler compiles
    C that includes Python.h."""
    from distutils.errors import CCompilerError, DistutilsError

    name = "MSVC (cl.exe)" if compiler.compiler_type == "msvc" else " ".join(compiler.compiler_so[:1])
    needs = {
        "linux": "gcc and Python's headers (Debian, Ubuntu: apt install gcc python3-dev; Fedora: dnf install gcc python3-devel)",
        "darwin": "the Xcode command line tools (xcode-select --install)",
        "win32": "the Visual Studio Build Tools with the C++ workload",
    }.get(sys.platform, "a C compiler and Python's headers")
    include = sysconfig.get_paths()["include"]
    with tempfile.TemporaryDirectory() as tmp:
        for missing, source in (
            (f"the C compiler {name} does not run", "int main(void) { return 0; }\n"),
            (f"Python's headers are not there (no Python.h in {include})", "#include <Python.h>\n"),
        ):
            path = os.path.join(tmp, "probe.c")
            with open(path, "w") as f:
                f.write(source)
            try:
                compiler.compile([path], output_dir=tmp, include_dirs=[include])
            except (CCompilerError, DistutilsError, OSError):
                return (
                    f"fastmlp's kernels cannot be built here: {missing}; install {needs}, "
                    f"or install fastmlp from a wheel, which needs no compiler."
                )
    return ""


class BuildKernels(build_ext):
    """Checks the compiler and Python's headers, then runs Cython and compiles."""

    def build_extensions(self):
        missing = _compiler_missing(self.compiler)
        if missing:
            sys.exit(f"error: {missing}")
        from Cython.Build import cythonize  # after the check, which needs only setuptools

        for ext, generated in zip(self.extensions, cythonize(self.extensions, compiler_directives=DIRECTIVES)):
            ext.sources = generated.sources  # the .c that Cython wrote
        super().build_extensions()


setup(ext_modules=extensions, cmdclass={"build_ext": BuildKernels})
