# Minibatch SGD for small batches without BLAS (included by _core.pyx); the vector loops
# are in small_batches.h.
#
# A step on B <= SMALL_BATCH samples is a few thin matrix products, m = B rows each, where
# BLAS spends more time packing and dispatching than multiplying. Here every layer is
# two passes over W^(l) instead:
#   forward:  s_k = W^T [1; x_k] for a block of samples at once: each row of W is loaded
#             once per block and multiplied into one accumulator per sample, all held in
#             vector registers;
#   backward: one pass over the rows: back_k[i] = sum_j w_ij delta_k[j] from the old row i
#             for every sample k (the delta recursion), then, while the row is in cache,
#             w_ij <- decay w_ij - (eta / B) sum_k x_k[i] delta_k[j] (and L1's soft
#             threshold), so that the gradient matrix is never stored.
# For whole vectors with no tail, the kernels work on a copy of params whose rows are
# padded with zeros to a multiple of one vector (SB_VECTOR bytes); the padding stays zero
# (its deltas are zero) and the copy goes back into params at the end of the call.

cdef extern from "small_batches.h":
    enum: SB_VECTOR "FASTMLP_SB_VECTOR"
    enum: SB_USED "FASTMLP_SB_USED"
    void fastmlp_sb_forward_d(const double* W, Py_ssize_t P, const double** x, Py_ssize_t B,
                              Py_ssize_t d_in, double* s) noexcept nogil
    void fastmlp_sb_forward_f(const float* W, Py_ssize_t P, const float** x, Py_ssize_t B,
                              Py_ssize_t d_in, float* s) noexcept nogil
    void fastmlp_sb_backward_d(double* W, Py_ssize_t P, Py_ssize_t d_in, const double* D,
                               const double** x, Py_ssize_t B, double a, double decay,
                               double shrink, double* back, Py_ssize_t ldb) noexcept nogil
    void fastmlp_sb_backward_f(float* W, Py_ssize_t P, Py_ssize_t d_in, const float* D,
                               const float** x, Py_ssize_t B, float a, float decay,
                               float shrink, float* back, Py_ssize_t ldb) noexcept nogil

# Which steps take this path, as measured against the BLAS path (bench/nielsen.py and
# bench/small_batches.py): in the AVX-512 build (SB_USED; with the 16 registers of AVX2
# these kernels ran 5-25% slower than OpenBLAS's, so the other builds keep the BLAS
# path), batches of up to SMALL_BATCH samples, and, of at most 8 samples,
# only on networks of up to SMALL_NETWORK weights, for OpenBLAS's kernels for products of
# up to 8 rows are as fast as these on wider layers. A delta recursion through W^(l)
# of SB_BLAS_BACK entries or more (rows x padded columns) is one BLAS product: these
# kernels' dot products of a row with each delta would take longer.
cdef enum:
    SMALL_BATCH = 16
    SMALL_NETWORK = 32768
    SB_BLAS_BACK = 2048


cdef struct Padded:
    # The padded copy of params and the per-layer blocks of a step, for batches of up to
    # ``batch`` samples: W^(l) starts at offset[l] with rows of P[l] >= d^(l+1) entries;
    # S, Xs and D hold layer l's (batch, P[l]) block from batch * unit[l] on.
    const Py_ssize_t* P
    const Py_ssize_t* offset
    const Py_ssize_t* unit
    Py_ssize_t batch
    void* W
    void* S
    void* Xs
    void* D


cdef inline bint takes_small_batch(const Net* net, Py_ssize_t B, const Options* opt) noexcept nogil:
    """Whether minibatch_epoch runs steps of B samples here: small batches (see
    SMALL_BATCH), plain SGD with or without penalties and sample weights, no dropout of
    units or updates."""
    return (SB_USED and B <= SMALL_BATCH and (B > 8 or net.n_params <= SMALL_NETWORK)
            and opt.dropout == NULL and opt.update_threshold == 0)


cdef inline void forward_layer(const floating* W, Py_ssize_t P, const floating** x, Py_ssize_t B,
                               Py_ssize_t d_in, floating* s) noexcept nogil:
    if floating is double:
        fastmlp_sb_forward_d(W, P, x, B, d_in, s)
    else:
        fastmlp_sb_forward_f(W, P, x, B, d_in, s)


cdef inline void backward_layer(floating* W, Py_ssize_t P, Py_ssize_t d_in, const floating* D,
                                const floating** x, Py_ssize_t B, floating a, floating decay,
                                floating shrink, floating* back, Py_ssize_t ldb) noexcept nogil:
    if floating is double:
        fastmlp_sb_backward_d(W, P, d_in, D, x, B, a, decay, shrink, back, ldb)
    else:
        fastmlp_sb_backward_f(W, P, d_in, D, x, B, a, decay, shrink, back, ldb)


cdef double small_batch_step(const Net* net, const Padded* pad, const floating* X,
                             const floating* Y, const Py_ssize_t* order, Py_ssize_t B,
                             const Step* step, const double* weight) noexcept nogil:
    """One minibatch step on the rows order[0 .. B-1] of X and Y, in the padded weights:
    forward, delta^(L), then for l = L..1 the fused pass over W^(l) and theta'. Returns
    the summed (weighted) loss."""
    cdef const floating* x_in[SMALL_BATCH]
    cdef floating* W = <floating*>pad.W
    cdef floating* S = <floating*>pad.S
    cdef floating* Xs = <floating*>pad.Xs
    cdef floating* D = <floating*>pad.D
    cdef Py_ssize_t b, j, P = 0, top = 0, d_out, dL = net.d[net.L], d0 = net.d[0]
    cdef floating* back
    cdef double loss = 0.0, row_loss
    cdef int l
    for b in range(B):
        x_in[b] = X + order[b] * d0
    for l in range(net.L):
        P, top, d_out = pad.P[l], pad.batch * pad.unit[l], net.d[l + 1]
        forward_layer(W + pad.offset[l], P, x_in, B, net.d[l], S + top)
        for b in range(B):
            activate(net.act[l], net.act_param + 4 * l, S + top + b * P, Xs + top + b * P, d_out)
            x_in[b] = Xs + top + b * P
    for b in range(B):
        row_loss = output_delta(net, S + top + b * P, Xs + top + b * P, Y + order[b] * dL,
                                D + top + b * P)
        if weight != NULL:
            row_loss *= weight[order[b]]
            for j in range(dL):
                D[top + b * P + j] *= <floating>weight[order[b]]
        loss += row_loss
    for l in range(net.L - 1, -1, -1):
        P, top = pad.P[l], pad.batch * pad.unit[l]
        back = NULL
        if l > 0:
            back = D + pad.batch * pad.unit[l - 1]
            for b in range(B):
                x_in[b] = Xs + pad.batch * pad.unit[l - 1] + b * pad.P[l - 1]
        else:
            for b in range(B):
                x_in[b] = X + order[b] * d0
        W = <floating*>pad.W + pad.offset[l]
        if back != NULL and net.d[l] * P >= SB_BLAS_BACK:
            # Delta^(l) W^(l)[1:]^T by BLAS, before W^(l) changes.
            gemm(b"T", b"N", <int>net.d[l], <int>B, <int>P, 1, W + P, <int>P, D + top, <int>P, 0,
                 back, <int>pad.P[l - 1])
            back = NULL
        for b in range(B):
            for j in range(P):
                W[j] += <floating>(step.scale / B) * D[top + b * P + j]
        backward_layer(W, P, net.d[l], D + top, x_in, B, <floating>(step.scale / B),
                       <floating>step.decay, <floating>step.shrink, back,
                       pad.P[l - 1] if l > 0 else 0)
        if l > 0:
            top = pad.batch * pad.unit[l - 1]
            for b in range(B):
                times_theta_prime(net.act[l - 1], net.act_param + 4 * (l - 1), S + top + b * pad.P[l - 1],
                                  Xs + top + b * pad.P[l - 1], D + top + b * pad.P[l - 1], net.d[l])
    return loss


cdef Py_ssize_t small_batch_epoch_nogil(const Net* net, const Padded* pad, const floating* X,
                                        const floating* Y, const Py_ssize_t* order, Py_ssize_t n,
                                        const Step* step, const Options* opt,
                                        double* loss_sum) noexcept nogil:
    """minibatch_epoch_nogil's loop with small_batch_step: pad.batch rows per step (the last
    takes what is left; opt.norms as there, over the padded rows' weights); stops at the
    first non-finite batch loss, returns samples done."""
    cdef Py_ssize_t start = 0, B, i
    cdef int l
    cdef double loss, total = 0.0
    while start < n:
        B = min(pad.batch, n - start)
        if opt.norms != NULL:
            for l in range(net.L):
                for i in range(net.d[l]):
                    add_norms(<floating*>pad.W + pad.offset[l] + (i + 1) * pad.P[l], net.d[l + 1], opt.norms)
        loss = small_batch_step(net, pad, X, Y, order + start, B, step, opt.weight)
        if not isfinite(loss):
            loss_sum[0] = total
            return start
        total += loss
        start += B
    loss_sum[0] = total
    return n


cdef void copy_rows(floating* to, Py_ssize_t to_width, const floating* source,
                    Py_ssize_t source_width, Py_ssize_t rows, Py_ssize_t width) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(rows):
        memcpy(to + i * to_width, source + i * source_width, width * sizeof(floating))


cdef tuple small_batch_epoch(Architecture arch, floating[::1] params, const floating[:, ::1] X,
                             const floating[:, ::1] Y, const Py_ssize_t[::1] order,
                             Py_ssize_t batch, const Step* step, const Options* opt):
    """minibatch_epoch by small_batch_step: pads params into a copy, runs the steps, and
    copies the weights back (also after a non-finite loss, like the BLAS path)."""
    dtype = np.float64 if floating is double else np.float32
    cdef int l, L = arch.net.L
    cdef Py_ssize_t[::1] P = np.empty(L, dtype=np.intp)
    cdef Py_ssize_t[::1] offset = np.empty(L, dtype=np.intp)
    cdef Py_ssize_t[::1] unit = np.empty(L, dtype=np.intp)
    cdef Py_ssize_t size = 0, units = 0, lanes = SB_VECTOR // sizeof(floating)
    for l in range(L):
        P[l] = (arch.d[l + 1] + lanes - 1) // lanes * lanes
        offset[l] = size
        unit[l] = units
        size += (arch.d[l] + 1) * P[l]
        units += P[l]
    cdef floating[::1] W = np.zeros(size, dtype=dtype)
    cdef floating[::1] S = np.zeros(max(batch * units, 1), dtype=dtype)
    cdef floating[::1] Xs = np.zeros_like(S)
    cdef floating[::1] D = np.zeros_like(S)
    cdef Padded pad = Padded(&P[0], &offset[0], &unit[0], batch, &W[0], &S[0], &Xs[0], &D[0])
    cdef double loss_sum = 0.0
    cdef Py_ssize_t done
    with nogil:
        for l in range(L):
            copy_rows(&W[0] + offset[l], P[l], &params[0] + arch.net.offset[l], arch.d[l + 1],
                      arch.d[l] + 1, arch.d[l + 1])
        done = small_batch_epoch_nogil(&arch.net, &pad, &X[0, 0], &Y[0, 0], &order[0],
                                       order.shape[0], step, opt, &loss_sum)
        for l in range(L):
            copy_rows(&params[0] + arch.net.offset[l], arch.d[l + 1], &W[0] + offset[l], P[l],
                      arch.d[l] + 1, arch.d[l + 1])
    return loss_sum, done
