# The kernels of _core.pyx, compiled with AVX2 and FMA (see setup.py).
include "_core.pyx"
