# Layer loops over one sample (included by _core.pyx): the forward sums (layer_forward)
# and the delta recursion fused with the step of W^(l) (layer_backward), a column block
# at a time; the blocks' vector loops are in column_blocks.h.

# Output units whose partial sums the per-sample forward pass keeps in registers, and the
# partial sums of a dot product: sized for 256-bit vectors of doubles and floats.
cdef enum:
    BLOCK = 32
    LANES = 8


cdef extern from "column_blocks.h":
    Py_ssize_t fastmlp_widest_block(size_t size) noexcept nogil
    int fastmlp_forward_tail() noexcept nogil
    void fastmlp_forward_tail_d(const double* W, const double* x_in, Py_ssize_t d_in,
                                Py_ssize_t pitch, Py_ssize_t r, double* s) noexcept nogil
    void fastmlp_forward_tail_f(const float* W, const float* x_in, Py_ssize_t d_in,
                                Py_ssize_t pitch, Py_ssize_t r, float* s) noexcept nogil
    void fastmlp_forward_columns_d(const double* W, const double* x_in, Py_ssize_t d_in,
                                   Py_ssize_t pitch, Py_ssize_t r, double* s) noexcept nogil
    void fastmlp_forward_columns_f(const float* W, const float* x_in, Py_ssize_t d_in,
                                   Py_ssize_t pitch, Py_ssize_t r, float* s) noexcept nogil
    void fastmlp_backward_columns_d(const double* W, double* target, const double* x_in,
                                    Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r,
                                    const double* delta, double* back, double scale) noexcept nogil
    void fastmlp_backward_columns_f(const float* W, float* target, const float* x_in,
                                    Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r,
                                    const float* delta, float* back, float scale) noexcept nogil
    void fastmlp_update_and_forward_columns_d(double* W, const double* x_in, const double* x_next,
                                              Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r,
                                              const double* delta, double scale,
                                              double* s_next) noexcept nogil
    void fastmlp_update_and_forward_columns_f(float* W, const float* x_in, const float* x_next,
                                              Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r,
                                              const float* delta, float scale,
                                              float* s_next) noexcept nogil
    void fastmlp_momentum_and_forward_columns_d(double* W, double* M, const double* x_in,
                                                const double* x_next, Py_ssize_t d_in,
                                                Py_ssize_t pitch, Py_ssize_t r, const double* delta,
                                                double scale, double l2, double mu, double eta,
                                                int nesterov, double* s_next) noexcept nogil
    void fastmlp_momentum_and_forward_columns_f(float* W, float* M, const float* x_in,
                                                const float* x_next, Py_ssize_t d_in,
                                                Py_ssize_t pitch, Py_ssize_t r, const float* delta,
                                                float scale, float l2, float mu, float eta,
                                                int nesterov, float* s_next) noexcept nogil


cdef inline void forward_columns(const floating* W, const floating* x_in, Py_ssize_t d_in,
                                 Py_ssize_t d_out, Py_ssize_t jb, Py_ssize_t r, floating* s) noexcept nogil:
    # Columns jb .. jb+r-1 of s = W^T [1; x] (r one of the block widths): the r partial sums
    # stay in registers while the rows stream past, and inputs x_i = 0 (sparse data, ReLU
    # units) are skipped.
    if floating is double:
        fastmlp_forward_columns_d(W + jb, x_in, d_in, d_out, r, s + jb)
    else:
        fastmlp_forward_columns_f(W + jb, x_in, d_in, d_out, r, s + jb)


cdef inline Py_ssize_t block_width(Py_ssize_t left, size_t size) noexcept nogil:
    """The widest column block within ``left`` columns of ``size``-byte numbers: 64, 32, 16,
    8, 4, 2 or 1 columns, at most four of the machine's vectors (fastmlp_widest_block).
    The column loops are compiled for these constant widths, each unrolled into whole
    vectors held in registers: a narrow layer (10 outputs: 8 + 2) pays no per-row loop
    over a width known only at run time."""
    cdef Py_ssize_t r = fastmlp_widest_block(size)
    while r > left:
        r >>= 1
    return r


cdef void layer_forward(const floating* W, const floating* x_in, Py_ssize_t d_in,
                        Py_ssize_t d_out, floating* s) noexcept nogil:
    """s_j = w_0j + sum_i w_ij x_i for j = 1..d_out, a column block at a time (on AVX-512
    the columns after the last widest block in one masked block)."""
    cdef Py_ssize_t r, jb = 0
    while jb < d_out:
        r = d_out - jb
        if r < fastmlp_widest_block(sizeof(floating)) and fastmlp_forward_tail():
            if floating is double:
                fastmlp_forward_tail_d(W + jb, x_in, d_in, d_out, r, s + jb)
            else:
                fastmlp_forward_tail_f(W + jb, x_in, d_in, d_out, r, s + jb)
        else:
            r = block_width(r, sizeof(floating))
            forward_columns(W, x_in, d_in, d_out, jb, r, s)
        jb += r


cdef inline floating dot(const floating* a, const floating* b, Py_ssize_t n) noexcept nogil:
    """sum_j a_j b_j with LANES partial sums, so that the loop vectorises (a single running
    sum would force strict left-to-right order)."""
    cdef Py_ssize_t j, k, n_lanes = n - n % LANES
    cdef floating acc[LANES]
    cdef floating total = 0
    if n < LANES:
        # A short row (a narrow column block, where n is a constant): no partial sums.
        for j in range(n):
            total += a[j] * b[j]
        return total
    for k in range(LANES):
        acc[k] = 0
    j = 0
    while j < n_lanes:
        for k in range(LANES):
            acc[k] += a[j + k] * b[j + k]
        j += LANES
    # The partial sums pairwise (halving the vector, then again), then the leftover terms.
    for k in range(LANES // 2):
        acc[k] += acc[k + LANES // 2]
    for k in range(LANES // 4):
        acc[k] += acc[k + LANES // 4]
    total = acc[0] + acc[1]
    for j in range(n_lanes, n):
        total += a[j] * b[j]
    return total


cdef inline void soft_threshold(floating* w, Py_ssize_t n, floating t) noexcept nogil:
    """w <- sign(w) max(|w| - t, 0): the L1 step, which leaves at zero a weight it would
    carry across zero."""
    cdef Py_ssize_t j
    cdef floating z
    for j in range(n):
        z = w[j]
        w[j] = z - t if z > t else (z + t if z < -t else 0)


cdef extern from "norms.h":
    void fastmlp_add_norms_d(const double* w, Py_ssize_t n, double* norms) noexcept nogil
    void fastmlp_add_norms_f(const float* w, Py_ssize_t n, double* norms) noexcept nogil


cdef inline void add_norms(const floating* w, Py_ssize_t n, double* norms) noexcept nogil:
    """norms[0] += sum_j w_j^2 and norms[1] += sum_j |w_j| over n consecutive weights."""
    if floating is double:
        fastmlp_add_norms_d(w, n, norms)
    else:
        fastmlp_add_norms_f(w, n, norms)


cdef void add_weight_norms(const Net* net, const floating* params, double* norms) noexcept nogil:
    """add_norms over every layer's weights W^(l)[1:], not the bias rows: the sums that
    the penalties of the weights a step starts from are made of (see Options.norms)."""
    cdef int l
    for l in range(net.L):
        add_norms(params + net.offset[l] + net.d[l + 1], net.d[l] * net.d[l + 1], norms)


cdef inline void backward_columns(const floating* W, floating* target, const floating* x_in,
                                  Py_ssize_t d_in, Py_ssize_t d_out, Py_ssize_t jb,
                                  Py_ssize_t r, const floating* delta, floating* back,
                                  floating scale) noexcept nogil:
    # Columns jb .. jb+r-1 of layer_backward without penalties (r one of the block widths):
    # back_i += sum_j w_ij delta_j over the block, then target_ij += scale x_i delta_j.
    if floating is double:
        fastmlp_backward_columns_d(W + jb, target + jb, x_in, d_in, d_out, r, delta + jb, back, scale)
    else:
        fastmlp_backward_columns_f(W + jb, target + jb, x_in, d_in, d_out, r, delta + jb, back, scale)


cdef void penalised_columns(const floating* W, floating* target, const floating* x_in,
                            Py_ssize_t d_in, Py_ssize_t d_out, Py_ssize_t jb, Py_ssize_t r,
                            const floating* delta, floating* back, const Step* step) noexcept nogil:
    # The same with weight decay and the L1 soft threshold, in a function of its own so
    # that the plain step keeps its tight loop.
    cdef Py_ssize_t i, j
    cdef floating a, decay = <floating>step.decay, shrink = <floating>step.shrink
    cdef floating* out
    for i in range(d_in):
        if back != NULL:
            back[i] += dot(W + (i + 1) * d_out + jb, delta + jb, r)
        out = target + (i + 1) * d_out + jb
        a = <floating>step.scale * x_in[i]
        for j in range(r):
            out[j] = decay * out[j] + a * delta[jb + j]
        if shrink > 0:
            soft_threshold(out, r, shrink)


cdef void layer_backward(const floating* W, floating* target, const floating* x_in,
                         Py_ssize_t d_in, Py_ssize_t d_out, const floating* delta,
                         floating* back, const Step* step) noexcept nogil:
    """One pass over W^(l): back_i = sum_j w_ij delta_j (if back is not NULL) and the
    step's change of target (see Step), a column block at a time.

    With target == W and an SGD step this is the lecture's in-place update (with the
    penalties' weight decay and soft threshold on the weights, not the bias), fused with
    the delta recursion: each row block is read for the sum before it is changed. With
    target a zeroed gradient buffer and GRADIENT it writes dl/dw_ij = x_i delta_j.
    """
    cdef Py_ssize_t j, r, jb = 0
    cdef floating a = <floating>step.scale
    for j in range(d_out):
        target[j] += <floating>step.scale * delta[j]
    if back != NULL:
        memset(back, 0, d_in * sizeof(floating))
    if step.decay != 1 or step.shrink != 0:
        penalised_columns(W, target, x_in, d_in, d_out, 0, d_out, delta, back, step)
        return
    while jb < d_out:
        r = block_width(d_out - jb, sizeof(floating))
        backward_columns(W, target, x_in, d_in, d_out, jb, r, delta, back, a)
        jb += r
