# A batch of B samples at once (included by _core.pyx): each layer is a matrix product
# through BLAS; minibatch epochs with the plain step or an optimizer's.
# Row-major A (r x c) is column-major A^T, which is how the products are handed to BLAS.

cdef void gemm(char* ta, char* tb, int m, int n, int k, floating alpha, const floating* a,
               int lda, const floating* b, int ldb, floating beta, floating* c,
               int ldc) noexcept nogil:
    if floating is double:
        dgemm(ta, tb, &m, &n, &k, &alpha, <double*>a, &lda, <double*>b, &ldb, &beta, c, &ldc)
    else:
        sgemm(ta, tb, &m, &n, &k, &alpha, <float*>a, &lda, <float*>b, &ldb, &beta, c, &ldc)


cdef void forward_batch(const Net* net, const floating* params, const floating* X0,
                        Py_ssize_t B, floating* S, floating* Xs, const Options* opt,
                        Py_ssize_t k0, floating* R, floating* Xd, const Sparse* sp) noexcept nogil:
    """S^(l) = [1 X^(l-1)] W^(l) and X^(l) = theta(S^(l)) for all l, B rows at a time.
    S and Xs hold the layers' (B, d^(l)) blocks back to back. With dropout (opt; the rows
    are the samples at positions k0.. of the epoch), R and Xd hold the factors and the
    dropped outputs of each sample like forward_sample's r and xd, in the same blocks.
    sp (or NULL): the rows X^(0) are sparse rows of X, not X0 (see sparse_batch_forward)."""
    cdef int l
    cdef Py_ssize_t b, d_in, d_out, top = 0, u0 = 0
    cdef const floating* W
    cdef const floating* x_in = X0
    cdef const double* p
    for l in range(net.L):
        d_in = net.d[l]
        d_out = net.d[l + 1]
        W = params + net.offset[l]
        p = net.act_param + 4 * l
        if l == 0 and sp != NULL:
            sparse_batch_forward(W, sp, B, d_out, S)
        else:
            for b in range(B):
                memcpy(S + top + b * d_out, W, d_out * sizeof(floating))
            gemm(b"N", b"N", <int>d_out, <int>B, <int>d_in, 1, W + d_out, <int>d_out,
                 x_in, <int>d_in, 1, S + top, <int>d_out)
        for b in range(B):
            activate(net.act[l], p, S + top + b * d_out, Xs + top + b * d_out, d_out)
        x_in = Xs + top
        if drops(net, opt, l):
            for b in range(B):
                drop_units(opt, l, u0, k0 + b, Xs + top + b * d_out, R + top + b * d_out,
                           Xd + top + b * d_out, d_out)
            x_in = Xd + top
        top += B * d_out
        u0 += d_out


cdef double backprop_batch(const Net* net, floating* params, floating* target,
                           const floating* X0, const floating* Y, Py_ssize_t B,
                           floating* S, floating* Xs, floating* D, const Step* step,
                           const double* weight, const Options* opt, Py_ssize_t k0,
                           floating* R, floating* Xd, const Sparse* sp) noexcept nogil:
    """Forward the batch, then for l = L..1: Delta^(l-1) = (Delta^(l) W^(l)^T) * theta'
    and the step's change of target^(l) from the mean (1 / B) [1 X^(l-1)]^T Delta^(l)
    (see Step). An SGD step into params is one minibatch step with the mean gradient;
    GRADIENT into a zeroed buffer gives the mean gradient. weight: the rows' sample
    weights, or NULL; opt, k0, R, Xd: dropout, and sp: sparse rows, as in forward_batch.
    Returns the summed (weighted) loss."""
    cdef int l
    cdef Py_ssize_t top = 0, b, j, d_in, d_out
    cdef double loss = 0.0, row_loss
    cdef floating a = <floating>(step.scale / B), decay = <floating>step.decay
    cdef floating* T
    cdef const floating* W
    cdef const floating* x_in
    for l in range(net.L):
        top += B * net.d[l + 1]
    forward_batch(net, params, X0, B, S, Xs, opt, k0, R, Xd, sp)
    d_out = net.d[net.L]
    top -= B * d_out
    for b in range(B):
        row_loss = output_delta(net, S + top + b * d_out, Xs + top + b * d_out,
                                Y + b * d_out, D + top + b * d_out)
        if weight != NULL:
            # A sample of weight c contributes c l to the loss, so c delta^(L).
            row_loss *= weight[b]
            for j in range(d_out):
                D[top + b * d_out + j] *= <floating>weight[b]
        loss += row_loss
    for l in range(net.L - 1, -1, -1):
        d_in = net.d[l]
        d_out = net.d[l + 1]
        W = params + net.offset[l]
        T = target + net.offset[l]
        if l == 0:
            x_in = X0
        else:
            x_in = (Xd if drops(net, opt, l - 1) else Xs) + top - B * d_in
        if l > 0:
            # Delta^(l) W^(l)[1:]^T, before W^(l) is touched.
            gemm(b"T", b"N", <int>d_in, <int>B, <int>d_out, 1, W + d_out, <int>d_out,
                 D + top, <int>d_out, 0, D + top - B * d_in, <int>d_in)
        for b in range(B):
            for j in range(d_out):
                T[j] += a * D[top + b * d_out + j]
        if l == 0 and sp != NULL:
            sparse_batch_gradient(T, sp, B, d_in, d_out, D, a, decay)
        else:
            gemm(b"N", b"T", <int>d_out, <int>d_in, <int>B, a, D + top, <int>d_out,
                 x_in, <int>d_in, decay, T + d_out, <int>d_out)
        if step.shrink > 0:
            soft_threshold(T + d_out, d_in * d_out, <floating>step.shrink)
        if l > 0:
            top -= B * d_in
            for b in range(B):
                times_theta_prime(net.act[l - 1], net.act_param + 4 * (l - 1),
                                  S + top + b * d_in, Xs + top + b * d_in,
                                  D + top + b * d_in, d_in)
            if drops(net, opt, l - 1):
                scale_by(D + top, R + top, B * d_in)
    return loss


cdef struct Batch:
    # Room for one minibatch: its rows of X (for sparse rows: one row of zeros, see
    # sparse_backprop_sample), Y and the sample weights, and the per-layer
    # blocks of backprop_batch (S, Xs, D, and dropout's R and Xd); before: room for params.
    void* Xb
    void* Yb
    double* Wb
    void* S
    void* Xs
    void* D
    void* R
    void* Xd
    void* before


# How many rows ahead a batch's gather asks for the row of X it will copy: the rows come in
# a shuffled order, which the hardware prefetchers cannot guess.
cdef enum:
    GATHER_AHEAD = 4


cdef double batch_step(const Net* net, floating* params, floating* target, const floating* X,
                       const floating* Y, const Py_ssize_t* order, Py_ssize_t start,
                       Py_ssize_t B, const Step* step, const Options* opt,
                       const Batch* room, const Sparse* sp) noexcept nogil:
    """Gathers the rows order[start .. start+B-1] and runs backprop_batch on them; with
    update dropout, keeps a copy of params for keep_frozen. sp (or NULL): X is these
    sparse rows, read where they are. Returns the summed loss."""
    cdef Py_ssize_t b, row, d0 = net.d[0], dL = net.d[net.L]
    cdef floating* Xb = <floating*>room.Xb
    cdef floating* Yb = <floating*>room.Yb
    cdef Sparse rows
    if sp != NULL:
        rows = sp[0]
        rows.order = order + start
        Xb = NULL
    for b in range(B):
        row = order[start + b]
        if sp == NULL:
            if b + GATHER_AHEAD < B:
                fastmlp_prefetch(X + order[start + b + GATHER_AHEAD] * d0, d0 * sizeof(floating))
            memcpy(Xb + b * d0, X + row * d0, d0 * sizeof(floating))
        memcpy(Yb + b * dL, Y + row * dL, dL * sizeof(floating))
        if opt.weight != NULL:
            room.Wb[b] = opt.weight[row]
    if opt.update_threshold:
        memcpy(room.before, params, net.n_params * sizeof(floating))
    return backprop_batch(net, params, target, Xb, Yb, B, <floating*>room.S, <floating*>room.Xs,
                          <floating*>room.D, step, room.Wb if opt.weight != NULL else NULL, opt,
                          opt.position + start, <floating*>room.R, <floating*>room.Xd,
                          &rows if sp != NULL else NULL)


cdef Py_ssize_t minibatch_epoch_nogil(const Net* net, floating* params, const floating* X,
                                      const floating* Y, const Py_ssize_t* order,
                                      Py_ssize_t n, Py_ssize_t batch, const Step* step,
                                      const Options* opt, const Batch* room, const Sparse* sp,
                                      double* loss_sum) noexcept nogil:
    """Minibatch SGD over the samples in order, batch rows per step (the last step takes
    what is left), with opt's sample weights, dropout, update dropout and norms; sp: X's
    sparse rows, or NULL. Stops at the first non-finite batch loss; returns samples completed."""
    cdef Py_ssize_t start = 0, B
    cdef double loss, total = 0.0
    while start < n:
        B = min(batch, n - start)
        if opt.norms != NULL:
            add_weight_norms(net, params, opt.norms)
        loss = batch_step(net, params, params, X, Y, order, start, B, step, opt, room, sp)
        if not isfinite(loss):
            loss_sum[0] = total
            return start
        if opt.update_threshold:
            keep_frozen(opt, opt.position + start, params, <floating*>room.before, net.n_params)
        total += loss
        start += B
    loss_sum[0] = total
    return n


cdef Py_ssize_t optimizer_epoch_nogil(const Net* net, floating* params, const floating* X,
                                      const floating* Y, const Py_ssize_t* order, Py_ssize_t n,
                                      Py_ssize_t batch, Optimizer* rule, const Options* opt,
                                      floating* grad, const Batch* room, const Sparse* sp,
                                      double* loss_sum) noexcept nogil:
    """Like minibatch_epoch_nogil, each step by the optimizer ``rule`` (update dropout
    keeps weights, not their moments, as they were). Batch 1 is sgd_epoch_nogil's (or
    sparse_sgd_epoch_nogil's)."""
    cdef Py_ssize_t start = 0, B
    cdef double loss, total = 0.0
    if batch == 1 and sp != NULL:
        return sparse_sgd_epoch_nogil(net, params, sp, Y, order, n, &GRADIENT, opt, room, rule,
                                      <Py_ssize_t*>NULL, loss_sum)
    if batch == 1:
        return sgd_epoch_nogil(net, params, X, Y, order, n, &GRADIENT, opt, <floating*>room.S,
                               <floating*>room.Xs, <floating*>room.D, <floating*>room.R,
                               <floating*>room.Xd, <floating*>room.before, rule, loss_sum)
    while start < n:
        B = min(batch, n - start)
        memset(grad, 0, net.n_params * sizeof(floating))
        if opt.norms != NULL:
            add_weight_norms(net, params, opt.norms)
        loss = batch_step(net, params, grad, X, Y, order, start, B, &GRADIENT, opt, room, sp)
        if not isfinite(loss):
            loss_sum[0] = total
            return start
        optimizer_update(net, params, grad, rule)
        if opt.update_threshold:
            keep_frozen(opt, opt.position + start, params, <floating*>room.before, net.n_params)
        total += loss
        start += B
    loss_sum[0] = total
    return n
