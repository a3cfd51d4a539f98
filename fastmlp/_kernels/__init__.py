"""The compiled kernels: ``_core`` (generic), ``_core_avx2`` and ``_core_avx512``, the same
Cython source (``_core.pyx`` and the files it includes) built for three instruction sets.
Only fastmlp._engine.backends imports them."""
