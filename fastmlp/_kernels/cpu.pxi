# Which builds of the kernels this CPU runs (included by _core.pyx); the C is in cpu.h.

cdef extern from "cpu.h":
    int fastmlp_cpu_has_avx2_fma() noexcept nogil
    int fastmlp_cpu_has_avx512() noexcept nogil


def cpu_has_avx2_fma():
    """Whether this CPU runs the kernels built for AVX2 and FMA."""
    return bool(fastmlp_cpu_has_avx2_fma())


def cpu_has_avx512():
    """Whether this CPU (and its operating system) runs the kernels built for AVX-512
    F/VL/DQ/BW (with AVX2 and FMA)."""
    return bool(fastmlp_cpu_has_avx512())
