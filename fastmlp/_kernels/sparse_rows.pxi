# Sparse inputs (included by _core.pyx): X as compressed sparse rows (fastmlp._engine.sparse).
#
# A sample with a few hundred nonzero inputs among a hundred thousand reads, in the first
# layer, only the rows of W^(1) for its nonzeros: s_j^(1) = w_0j + sum over the nonzero
# x_i of w_ij x_i; and the lecture's plain step changes only those rows (and the bias
# row), since x_i delta_j is 0 in every other one. A per-sample step then costs in
# proportion to the nonzeros, not to d^(0). The layers above the first are the dense
# kernels'. The penalties' decay and soft threshold change every weight of W^(1) in every
# step; per sample, a row whose input is 0 takes them lazily, all at once (in closed form)
# when a sample next reads it and at the end of the call. The optimizers' moments and
# update dropout make a dense pass over W^(1) per sample; a minibatch's first-layer
# products are sparse times dense, its penalties a pass over W^(1), the rest as for arrays.


cdef struct Sparse:
    # Rows of X: the nonzeros of row k are values[indptr[k] .. indptr[k+1]-1] (of the
    # network's dtype) in the columns indices[...], each column at most once in a row
    # (fastmlp._engine.sparse sums repeated ones; the lazy penalties count on it).
    # order: the rows of a batch, order[b] for its row b.
    const void* values
    const int* indices
    const Py_ssize_t* indptr
    const Py_ssize_t* order


cdef void catch_up(floating* w, Py_ssize_t d_out, Py_ssize_t steps, const Step* step) noexcept nogil:
    """One row of W^(1)'s weights after ``steps`` penalised steps with its input 0, each
    w <- soft-threshold(decay w, shrink), in closed form: while |w| stays above 0 it is
    decay^m |w| - shrink (1 + decay + ... + decay^(m-1)), and 0 once it reaches 0."""
    cdef Py_ssize_t j
    cdef double a = step.decay, lg, factor, total
    cdef floating z
    if steps == 0:
        return
    lg = log1p(a - 1.0)
    factor = exp(steps * lg)
    total = step.shrink * (<double>steps if a == 1 else -expm1(steps * lg) / (1.0 - a))
    if total == 0:
        for j in range(d_out):
            w[j] = <floating>(factor * w[j])
        return
    for j in range(d_out):
        z = <floating>(factor * fabs(w[j]) - total)
        w[j] = 0 if z <= 0 else (z if w[j] > 0 else -z)


cdef inline void axpy(floating a, const floating* x, floating* y, Py_ssize_t n) noexcept nogil:
    """y += a x, over one row of a layer (it vectorises)."""
    cdef Py_ssize_t j
    for j in range(n):
        y[j] += a * x[j]


cdef void sparse_layer_forward(const floating* W, const floating* values, const int* indices,
                               Py_ssize_t first, Py_ssize_t last, Py_ssize_t d_out,
                               floating* s) noexcept nogil:
    """s_j = w_0j + sum_i w_ij x_i over one sample's nonzeros first .. last-1: only their
    rows of W^(1) are read."""
    cdef Py_ssize_t p
    memcpy(s, W, d_out * sizeof(floating))
    for p in range(first, last):
        axpy(values[p], W + (indices[p] + 1) * d_out, s, d_out)


cdef void sparse_layer_step(floating* W, const floating* values, const int* indices,
                            Py_ssize_t first, Py_ssize_t last, Py_ssize_t d_out,
                            const floating* delta, floating scale) noexcept nogil:
    """The plain step w_ij += scale x_i delta_j of W^(1) for one sample (nonzeros first ..
    last-1): the bias row and the rows of the nonzeros, the only ones it changes."""
    cdef Py_ssize_t p
    axpy(scale, delta, W, d_out)
    for p in range(first, last):
        axpy(<floating>(scale * values[p]), delta, W + (indices[p] + 1) * d_out, d_out)


cdef void sparse_batch_forward(const floating* W, const Sparse* sp, Py_ssize_t B,
                               Py_ssize_t d_out, floating* S) noexcept nogil:
    """S^(1) = [1 X] W^(1) for the batch's B sparse rows sp.order[0 .. B-1]."""
    cdef Py_ssize_t b, row
    cdef const floating* values = <const floating*>sp.values
    for b in range(B):
        row = sp.order[b]
        sparse_layer_forward(W, values, sp.indices, sp.indptr[row], sp.indptr[row + 1], d_out,
                             S + b * d_out)


cdef void sparse_batch_gradient(floating* T, const Sparse* sp, Py_ssize_t B, Py_ssize_t d_in,
                                Py_ssize_t d_out, const floating* D, floating a,
                                floating decay) noexcept nogil:
    """T^(1)[1:] <- decay T^(1)[1:] + a X^T Delta^(1) for the batch's sparse rows X (the
    product backprop_batch takes from BLAS for dense rows): with decay 1 only the rows of
    the batch's nonzeros change."""
    cdef Py_ssize_t b, p, i, row
    cdef const floating* values = <const floating*>sp.values
    if decay != 1:
        for i in range(d_in * d_out):
            T[d_out + i] *= decay
    for b in range(B):
        row = sp.order[b]
        for p in range(sp.indptr[row], sp.indptr[row + 1]):
            axpy(<floating>(a * values[p]), D + b * d_out, T + (sp.indices[p] + 1) * d_out, d_out)


cdef double sparse_backprop_sample(const Net* net, floating* params, const Sparse* sp,
                                   Py_ssize_t row, const floating* y, const Step* step,
                                   const Options* opt, Py_ssize_t k, const Batch* room,
                                   const Optimizer* rule, Py_ssize_t* seen,
                                   Py_ssize_t t) noexcept nogil:
    """backprop_sample's step into params for the sparse row ``row`` (room: S, Xs, D, R, Xd
    as its s, x, delta, r, xd). W^(1)'s sums and plain step read and change the rows of
    the nonzeros only. With ``seen`` (how many of the call's steps each row of W^(1) has
    had; this is step t) the penalised step does too: the rows of the nonzeros first catch
    up on the steps they missed (catch_up), then take this one. Without it, a step with
    penalties or an optimizer's rule changes every weight of W^(1), by the dense layer loop
    on room.Xb, a row of zeros into which the sample's nonzeros are scattered for the step
    and from which they are cleared after it."""
    cdef int l
    cdef Py_ssize_t p, top = 0, d_in, d_out, o, d1 = net.d[1]
    cdef Py_ssize_t first = sp.indptr[row], last = sp.indptr[row + 1]
    cdef const floating* values = <const floating*>sp.values
    cdef floating* s = <floating*>room.S
    cdef floating* x = <floating*>room.Xs
    cdef floating* delta = <floating*>room.D
    cdef floating* r = <floating*>room.R
    cdef floating* xd = <floating*>room.Xd
    cdef floating* x0 = <floating*>room.Xb
    cdef floating* M = NULL
    cdef floating* V = NULL
    cdef const floating* x_in
    cdef double loss
    if rule != NULL:
        M, V = <floating*>rule.m, <floating*>rule.v
    for l in range(net.L):
        top += net.d[l + 1]
    if seen != NULL:
        for p in range(first, last):
            catch_up(params + (sp.indices[p] + 1) * d1, d1, t - seen[sp.indices[p]], step)
            seen[sp.indices[p]] = t + 1
    sparse_layer_forward(params, values, sp.indices, first, last, d1, s)
    forward_sample(net, params, <floating*>NULL, s, x, True, opt, k, r, xd)
    d_out = net.d[net.L]
    top -= d_out
    loss = output_delta(net, s + top, x + top, y, delta + top)
    for l in range(net.L - 1, 0, -1):
        # Layers L .. 2 as backprop_sample steps them.
        d_in = net.d[l]
        d_out = net.d[l + 1]
        o = net.offset[l]
        x_in = (xd if drops(net, opt, l - 1) else x) + top - d_in
        if rule != NULL:
            layer_optimizer(params + o, M + o, V + o, x_in, d_in, d_out, delta + top,
                            <floating>step.scale, delta + top - d_in, rule)
        else:
            layer_backward(params + o, params + o, x_in, d_in, d_out, delta + top,
                           delta + top - d_in, step)
        top -= d_in
        times_theta_prime(net.act[l - 1], net.act_param + 4 * (l - 1), s + top, x + top,
                          delta + top, d_in)
        if drops(net, opt, l - 1):
            scale_by(delta + top, r + top, d_in)
    if rule == NULL and step.decay == 1 and step.shrink == 0:
        sparse_layer_step(params, values, sp.indices, first, last, d1, delta,
                          <floating>step.scale)
        return loss
    if seen != NULL:
        # The bias row, then each nonzero's row as penalised_columns steps it (a layer of
        # one input x0[0] whose weights start one row before that row).
        axpy(<floating>step.scale, delta, params, d1)
        for p in range(first, last):
            x0[0] = values[p]
            penalised_columns(params + sp.indices[p] * d1, params + sp.indices[p] * d1, x0, 1, d1, 0,
                              d1, delta, <floating*>NULL, step)
        x0[0] = 0
        return loss
    for p in range(first, last):
        x0[sp.indices[p]] += values[p]
    if rule != NULL:
        layer_optimizer(params, M, V, x0, net.d[0], d1, delta, <floating>step.scale, NULL, rule)
    else:
        layer_backward(params, params, x0, net.d[0], d1, delta, NULL, step)
    for p in range(first, last):
        x0[sp.indices[p]] = 0
    return loss


cdef Py_ssize_t sparse_sgd_epoch_nogil(const Net* net, floating* params, const Sparse* sp,
                                       const floating* Y, const Py_ssize_t* order, Py_ssize_t n,
                                       const Step* step, const Options* opt, const Batch* room,
                                       Optimizer* rule, Py_ssize_t* seen,
                                       double* loss_sum) noexcept nogil:
    """sgd_epoch_nogil over sparse rows (see sparse_backprop_sample; room for one sample,
    its ``before`` for update dropout). seen: d^(0) zeros for the lazy penalties of the
    plain step, or NULL. Stops at the first non-finite loss and returns how many samples
    were completed."""
    cdef Py_ssize_t k, row, ahead, count, dL = net.d[net.L]
    cdef double loss, total = 0.0
    cdef Step weighted = step[0]
    cdef Py_ssize_t done = n
    for k in range(n):
        row = order[k]
        if k + PREFETCH_AHEAD < n:
            ahead = order[k + PREFETCH_AHEAD]
            count = sp.indptr[ahead + 1] - sp.indptr[ahead]
            if count > 0:
                fastmlp_prefetch(<const floating*>sp.values + sp.indptr[ahead], count * sizeof(floating))
                fastmlp_prefetch(sp.indices + sp.indptr[ahead], count * sizeof(int))
            fastmlp_prefetch(Y + ahead * dL, dL * sizeof(floating))
        if opt.update_threshold:
            memcpy(room.before, params, net.n_params * sizeof(floating))
        if opt.weight != NULL:
            weighted.scale = step.scale * opt.weight[row]
        if opt.norms != NULL:
            add_weight_norms(net, params, opt.norms)
        if rule != NULL:
            next_update(rule)
        loss = sparse_backprop_sample(net, params, sp, row, Y + row * dL, &weighted, opt,
                                      opt.position + k, room, rule, seen, k)
        if opt.weight != NULL:
            loss *= opt.weight[row]
        if not isfinite(loss):
            done = k
            break
        if opt.update_threshold:
            keep_frozen(opt, opt.position + k, params, <floating*>room.before, net.n_params)
        total += loss
    if seen != NULL:
        # Every row of W^(1) takes the steps it missed (a call stopped early made done + 1).
        for k in range(net.d[0]):
            catch_up(params + (k + 1) * net.d[1], net.d[1], min(done + 1, n) - seen[k], step)
    loss_sum[0] = total
    return done


# ---------------------------------------------------------------------------------------
# Entry points for sparse rows: the calls of the same names without ``sparse_``, with X
# given as its CSR arrays values, indices (int32) and indptr (numpy.intp), validated by
# fastmlp._engine.sparse.

cdef Sparse sparse_of(const floating[::1] values, const int[::1] indices,
                      const Py_ssize_t[::1] indptr, const Py_ssize_t* order):
    """The kernels' view of X's CSR arrays (no nonzeros: no pointers to them)."""
    cdef Sparse sp = Sparse(NULL, NULL, &indptr[0], order)
    if values.shape[0] > 0:
        sp.values, sp.indices = &values[0], &indices[0]
    return sp


def sparse_forward(Architecture arch, const floating[::1] params, const floating[::1] values,
                   const int[::1] indices, const Py_ssize_t[::1] indptr):
    """h(x) for every sparse row of X, as a new (n, d^(L)) array."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, start, B
    cdef Py_ssize_t dL = arch.net.d[arch.net.L], last = arch.units - arch.d[0] - dL
    dtype = np.float64 if floating is double else np.float32
    out = np.empty((n, dL), dtype=dtype)
    cdef floating[:, ::1] H = out
    cdef Py_ssize_t chunk = min(n, arch.chunk)
    cdef floating[::1] S = np.empty(chunk * (arch.units - arch.d[0]), dtype=dtype)
    cdef floating[::1] Xs = np.empty_like(S)
    cdef Py_ssize_t[::1] rows = np.arange(n, dtype=np.intp)
    cdef Sparse sp = sparse_of(values, indices, indptr, &rows[0])
    with nogil:
        start = 0
        while start < n:
            B = min(chunk, n - start)
            sp.order = &rows[start]
            forward_batch(&arch.net, &params[0], <floating*>NULL, B, &S[0], &Xs[0],
                          <Options*>NULL, 0, <floating*>NULL, <floating*>NULL, &sp)
            memcpy(&H[start, 0], &Xs[last * B], B * dL * sizeof(floating))
            start += B
    return out


def sparse_mean_gradient(Architecture arch, floating[::1] params, const floating[::1] values,
                         const int[::1] indices, const Py_ssize_t[::1] indptr,
                         const floating[:, ::1] Y, floating[::1] grad, const double[::1] weight=None):
    """mean_gradient over the sparse rows of X."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, start, B
    cdef Py_ssize_t chunk = min(n, arch.chunk)
    dtype = np.float64 if floating is double else np.float32
    cdef floating[::1] S = np.empty(chunk * (arch.units - arch.d[0]), dtype=dtype)
    cdef floating[::1] Xs = np.empty_like(S)
    cdef floating[::1] D = np.empty_like(S)
    cdef Py_ssize_t[::1] rows = np.arange(n, dtype=np.intp)
    cdef Sparse sp = sparse_of(values, indices, indptr, &rows[0])
    cdef const double* w = NULL
    cdef double loss = 0.0
    cdef Step step
    if Y.shape[0] != n:
        raise ValueError(f"Y has {Y.shape[0]} rows for {n} rows of X")
    if weight is not None:
        w = options_of(arch, n, weight, None, 0.0, 0, 0).weight
    with nogil:
        memset(&grad[0], 0, grad.shape[0] * sizeof(floating))
        start = 0
        while start < n:
            B = min(chunk, n - start)
            step = Step(<double>B / n, 1.0, 0.0)
            sp.order = &rows[start]
            loss += backprop_batch(&arch.net, &params[0], &grad[0], <floating*>NULL, &Y[start, 0], B,
                                   &S[0], &Xs[0], &D[0], &step, w + start if w != NULL else NULL,
                                   <Options*>NULL, 0, <floating*>NULL, <floating*>NULL, &sp)
            start += B
    return loss / n


def sparse_sgd_epoch(Architecture arch, floating[::1] params, const floating[::1] values,
                     const int[::1] indices, const Py_ssize_t[::1] indptr,
                     const floating[:, ::1] Y, const Py_ssize_t[::1] order, double eta,
                     double l2=0.0, double l1=0.0, *, const double[::1] weight=None,
                     const double[::1] dropout=None, double update_dropout=0.0, uint64_t key=0,
                     Py_ssize_t position=0, double[::1] norms=None):
    """sgd_epoch over the sparse rows of X."""
    dtype = np.float64 if floating is double else np.float32
    cdef Options opt = options_of(arch, indptr.shape[0] - 1, weight, dropout, update_dropout, key,
                                  position, norms)
    cdef list keep = []
    cdef Batch room = batch_room(arch, 1, dtype, &opt, keep, True)
    cdef Sparse sp = sparse_of(values, indices, indptr, NULL)
    cdef Step step = sgd_step_of(eta, l2, l1)
    # Lazy penalties (see sparse_backprop_sample) for steps without update dropout, whose
    # decay keeps the sign of a weight, and without norms, which read every weight as it is.
    cdef bint lazy = (l2 > 0 or l1 > 0) and not opt.update_threshold and step.decay >= 0 and norms is None
    cdef Py_ssize_t[::1] seen = np.zeros(arch.d[0] if lazy else 1, dtype=np.intp)
    cdef double loss_sum = 0.0
    cdef Py_ssize_t done
    with nogil:
        done = sparse_sgd_epoch_nogil(&arch.net, &params[0], &sp, &Y[0, 0], &order[0],
                                      order.shape[0], &step, &opt, &room, <Optimizer*>NULL,
                                      &seen[0] if lazy else NULL, &loss_sum)
    return loss_sum, done


def sparse_minibatch_epoch(Architecture arch, floating[::1] params, const floating[::1] values,
                           const int[::1] indices, const Py_ssize_t[::1] indptr,
                           const floating[:, ::1] Y, const Py_ssize_t[::1] order,
                           Py_ssize_t batch_size, double eta, double l2=0.0, double l1=0.0, *,
                           const double[::1] weight=None, const double[::1] dropout=None,
                           double update_dropout=0.0, uint64_t key=0, Py_ssize_t position=0,
                           double[::1] norms=None):
    """minibatch_epoch over the sparse rows of X."""
    dtype = np.float64 if floating is double else np.float32
    cdef Py_ssize_t B = min(batch_size, order.shape[0])
    cdef Options opt = options_of(arch, indptr.shape[0] - 1, weight, dropout, update_dropout, key,
                                  position, norms)
    cdef list keep = []
    cdef Batch room = batch_room(arch, B, dtype, &opt, keep, True)
    cdef Sparse sp = sparse_of(values, indices, indptr, NULL)
    cdef Step step = sgd_step_of(eta, l2, l1)
    cdef double loss_sum = 0.0
    cdef Py_ssize_t done
    with nogil:
        done = minibatch_epoch_nogil(&arch.net, &params[0], <floating*>NULL, &Y[0, 0], &order[0],
                                     order.shape[0], B, &step, &opt, &room, &sp, &loss_sum)
    return loss_sum, done


def sparse_optimizer_epoch(Architecture arch, floating[::1] params, const floating[::1] values,
                           const int[::1] indices, const Py_ssize_t[::1] indptr,
                           const floating[:, ::1] Y, const Py_ssize_t[::1] order,
                           Py_ssize_t batch_size, str kind, double eta, double l2, double l1,
                           double mu, double beta1, double beta2, double epsilon, floating[::1] m,
                           floating[::1] v, long long t, *, const double[::1] weight=None,
                           const double[::1] dropout=None, double update_dropout=0.0,
                           uint64_t key=0, Py_ssize_t position=0, double[::1] norms=None):
    """optimizer_epoch over the sparse rows of X."""
    dtype = np.float64 if floating is double else np.float32
    cdef Py_ssize_t B = min(batch_size, order.shape[0])
    cdef floating[::1] grad = np.empty(params.shape[0] if B > 1 else 1, dtype=dtype)
    cdef Options opt = options_of(arch, indptr.shape[0] - 1, weight, dropout, update_dropout, key,
                                  position, norms)
    cdef list keep = []
    cdef Batch room = batch_room(arch, B, dtype, &opt, keep, True)
    cdef Sparse sp = sparse_of(values, indices, indptr, NULL)
    cdef Optimizer rule = Optimizer(OPTIMIZER_CODES[kind], eta, l2, l1, mu, beta1, beta2, epsilon, t,
                                    eta, &m[0], &v[0])
    cdef double loss_sum = 0.0
    cdef Py_ssize_t done
    with nogil:
        done = optimizer_epoch_nogil(&arch.net, &params[0], <floating*>NULL, &Y[0, 0], &order[0],
                                     order.shape[0], B, &rule, &opt, &grad[0], &room, &sp,
                                     &loss_sum)
    return loss_sum, done, rule.t


def sparse_step_gradient(Architecture arch, floating[::1] params, const floating[::1] values,
                         const int[::1] indices, const Py_ssize_t[::1] indptr,
                         const floating[:, ::1] Y, const Py_ssize_t[::1] order, floating[::1] grad,
                         *, const double[::1] weight=None, const double[::1] dropout=None,
                         double update_dropout=0.0, uint64_t key=0, Py_ssize_t position=0,
                         room=None):
    """step_gradient over the sparse rows of X (room: None, given and returned as None)."""
    dtype = np.float64 if floating is double else np.float32
    cdef Py_ssize_t n = order.shape[0], start = 0, B = min(n, arch.chunk)
    cdef Options opt = options_of(arch, indptr.shape[0] - 1, weight, dropout, 0.0, key, position)
    cdef list keep = []
    cdef Batch space = batch_room(arch, B, dtype, &opt, keep, True)
    cdef Sparse sp = sparse_of(values, indices, indptr, NULL)
    cdef Step total
    cdef double loss = 0.0
    with nogil:
        while start < n:
            B = min(arch.chunk, n - start)
            total = Step(<double>B, 1.0, 0.0)  # backprop_batch's scale / B: each row's gradient once
            loss += batch_step(&arch.net, &params[0], &grad[0], <floating*>NULL, &Y[0, 0], &order[0],
                               start, B, &total, &opt, &space, &sp)
            start += B
    return loss, None
