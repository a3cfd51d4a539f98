# The kernels of _core.pyx, compiled with AVX-512 F/VL/DQ/BW, AVX2 and FMA (see setup.py).
include "_core.pyx"
