"""Cython kernels of the multilayer perceptron, in the lecture's notation.

Layout: the flat buffer ``params`` holds W^(1) .. W^(L) one after the other; W^(l) is
row-major with shape (d^(l-1) + 1, d^(l)) and row 0 is the bias (x_0 = 1).

This file is the table of contents: each op family is a .pxi file of its own, included
below in the order of the layers, from point functions (theta, theta', per-sample
losses) through layer loops (forward, delta recursion, in-place update) and drivers (a
whole epoch of per-sample SGD, minibatch epochs, batch gradients, batched forward) to
thin ``def`` wrappers. The C that the Cython calls lives in .h files beside them.
Everything below the wrappers runs without the GIL and knows nothing of Python objects;
the Python layer (fastmlp.network) validates every input before it gets here.
"""
from cython cimport floating
from libc.math cimport exp, expm1, fabs, isfinite, log, log1p, pow, sqrt, sqrtf
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport dgemm, sgemm

import numpy as np

include "network.pxi"             # Net, Step, Options and Architecture: the network as C data
include "cpu.pxi"                 # which builds of the kernels this CPU runs (cpu.h)
include "activations.pxi"         # theta and theta' of a unit and of a layer (activations.h)
include "losses.pxi"              # the per-sample losses and delta^(L)
include "dropout.pxi"             # dropout's draws and masks (draws.h)
include "layer_sums.pxi"          # one layer's forward sums and delta recursion (column_blocks.h)
include "optimizers.pxi"          # momentum, Nesterov and Adam steps (optimizer_rows.h)
include "update_and_forward.pxi"  # W^(1)'s update fused with the next sample's sums
include "per_sample.pxi"          # one sample at a time: per-sample SGD, the perceptron (prefetch.h)
include "batches.pxi"             # minibatches through BLAS
include "small_batches.pxi"       # minibatches of a few samples without BLAS (small_batches.h)
include "entry_points.pxi"        # the Python entry points
include "steps_in_parts.pxi"      # one large step in several calls, so that Ctrl-C lands
