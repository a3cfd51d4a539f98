"""The engine: the only package that calls the compiled kernels. Feeding the kernels a
network's data (feeding), the optimizers (SGD, Momentum, Nesterov, Adam), sample weights
and dropout (weights_dropout), the backends (compiled kernels or the reference), and the
memory and BLAS-thread helpers. See ARCHITECTURE.md."""
