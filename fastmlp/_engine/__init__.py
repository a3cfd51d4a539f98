"""The engine: the only package that calls the compiled kernels. Backends (compiled or the
reference), optimizers, sample weights and dropout, memory and BLAS-thread helpers."""
