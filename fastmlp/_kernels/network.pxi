# The network and a step as plain C data (included by _core.pyx): Net, the architecture
# the kernels read; Step, what a layer pass adds to its target; Options, what a training
# step does beyond the lecture's plain step; and Architecture, the Python object that owns
# Net's arrays.

# Bounds on the rows that the batched forward pass and the full-batch gradient push through
# the network at once (see Architecture.chunk).
cdef enum:
    MIN_CHUNK = 64
    MAX_CHUNK = 2048
    WEIGHTS_PER_ROW = 64


cdef struct Net:
    # The architecture as plain C data: L layers, d^(0..L), where W^(l) starts in params,
    # theta per layer and its four parameters (alpha, or maxout's a1, b1, a2, b2).
    int L
    const Py_ssize_t* d
    const Py_ssize_t* offset
    const int* act
    const double* act_param
    int loss
    Py_ssize_t n_params


cdef struct Step:
    # What layer_backward adds to its target: target_ij <- decay * target_ij + scale * x_i
    # delta_j, then soft-thresholded by shrink (bias row: + scale * delta_j only).
    # SGD with L2 and L1 penalties: scale = -eta, decay = 1 - eta l2, shrink = eta l1;
    # a gradient buffer: scale = 1, decay = 1, shrink = 0.
    double scale
    double decay
    double shrink


cdef Step GRADIENT = Step(1.0, 1.0, 0.0)


cdef Step sgd_step_of(double eta, double l2, double l1) noexcept nogil:
    return Step(-eta, 1.0 - eta * l2, eta * l1)


cdef struct Options:
    # What a training step does beyond the lecture's plain step.
    const double* weight        # sample weights by row of X, or NULL (all 1)
    const double* dropout       # dropout rate of the units of layers 1..L (output 0), or NULL
    uint32_t update_threshold   # update dropout: a weight whose draw is below this keeps its value
    uint64_t key                # the epoch's key for every draw
    Py_ssize_t position         # the position in the epoch of the call's first sample
    double* norms               # or NULL: before each step, the weights' (not the biases') sum of
                                # squares is added to norms[0] and sum of |w| to norms[1]


cdef class Architecture:
    """The network's shape and nonlinearities, held as C arrays for the kernels."""
    cdef Py_ssize_t[::1] d
    cdef Py_ssize_t[::1] offset
    cdef int[::1] act
    cdef double[:, ::1] act_param
    cdef Net net
    cdef readonly Py_ssize_t n_params, width, units, chunk

    def __init__(self, sizes, act_codes, act_params, int loss_code):
        self.d = np.ascontiguousarray(sizes, dtype=np.intp)
        L = self.d.shape[0] - 1
        offsets = np.zeros(L, dtype=np.intp)
        n = 0
        for l in range(L):
            offsets[l] = n
            n += (self.d[l] + 1) * self.d[l + 1]
        self.offset = offsets
        self.act = np.ascontiguousarray(act_codes, dtype=np.intc)
        self.act_param = np.ascontiguousarray(act_params, dtype=np.float64).reshape(L, 4)
        self.n_params = n
        self.width = max(sizes)
        self.units = sum(sizes)
        # Rows per block of a long batch: one per WEIGHTS_PER_ROW weights, within the bounds.
        # Each block's BLAS products repack every W^(l), which wants long blocks for wide
        # layers (784-512-512-10 float32: 2048 rows predict 8% faster than 647), while S, X
        # and Delta grow with rows x units and must stay small enough for the cache and for
        # the allocator to reuse them rather than map them afresh (64-100-10 on 1347 rows
        # at once: page faults cost more than the arithmetic).
        self.chunk = min(max(n // WEIGHTS_PER_ROW, MIN_CHUNK), MAX_CHUNK)
        self.net.L = L
        self.net.d = &self.d[0]
        self.net.offset = &self.offset[0]
        self.net.act = &self.act[0]
        self.net.act_param = &self.act_param[0, 0]
        self.net.loss = loss_code
        self.net.n_params = n
