# Steps over more rows than one kernel call should take (included by _core.pyx).
#
# A full-batch step over a large training set is one update from the mean gradient of all
# its rows, which would be seconds of work inside one call, deaf to Ctrl-C. The Python
# layer (fastmlp.training) instead sums the step's gradient in parts of rows, one call per
# part, and then makes the update in one call of its own: an interruption between the
# calls leaves the weights of the last whole step. The two calls below are that split of
# minibatch_epoch_nogil's and optimizer_epoch_nogil's step; they compute the same step.


cdef void plain_step(const Net* net, floating* w, const floating* g, const Step* step) noexcept nogil:
    """w <- w + scale g on the bias rows; w <- soft-threshold(decay w + scale g, shrink) on
    the weights (see Step): the lecture's step with the penalties, from the gradient g."""
    cdef int l
    cdef Py_ssize_t i, o, d_out, count
    cdef floating scale = <floating>step.scale, decay = <floating>step.decay
    for l in range(net.L):
        o = net.offset[l]
        d_out = net.d[l + 1]
        for i in range(d_out):
            w[o + i] += scale * g[o + i]
        o += d_out
        count = net.d[l] * d_out
        for i in range(count):
            w[o + i] = decay * w[o + i] + scale * g[o + i]
        if step.shrink > 0:
            soft_threshold(w + o, count, <floating>step.shrink)


cdef class StepRoom:
    """step_gradient's buffers for blocks of ``rows`` rows, handed back to the next call of
    the same step so that a step in parts allocates them once: allocated afresh for every
    part of 1024 rows, their few megabytes cost 93,000 page faults and a third of a second
    of system time per full-batch epoch of 784-256-10 on 60,000 rows."""
    cdef list keep
    cdef Batch batch
    cdef Py_ssize_t rows
    cdef int itemsize
    cdef bint weighted, dropped


def step_gradient(Architecture arch, floating[::1] params, const floating[:, ::1] X,
                  const floating[:, ::1] Y, const Py_ssize_t[::1] order, floating[::1] grad, *,
                  const double[::1] weight=None, const double[::1] dropout=None,
                  double update_dropout=0.0, uint64_t key=0, Py_ssize_t position=0, room=None):
    """grad += sum over the samples X[order] of c dl/dW (c: the sample's weight), with the
    dropout masks of the samples at positions position.. of the epoch, in blocks of
    arch.chunk rows; the other keywords as in sgd_epoch (update_dropout is gradient_step's).
    room: what an earlier call returned, or None. Returns (the summed (weighted) loss, the
    room for the next call)."""
    dtype = np.float64 if floating is double else np.float32
    cdef Py_ssize_t n = order.shape[0], start = 0, B = min(n, arch.chunk)
    cdef Options opt = options_of(arch, X.shape[0], weight, dropout, 0.0, key, position)
    cdef StepRoom space = room if isinstance(room, StepRoom) else None
    if (space is None or space.rows < B or space.itemsize != sizeof(floating)
            or space.weighted != (weight is not None) or space.dropped != (dropout is not None)):
        space = StepRoom()
        space.keep = []
        space.batch = batch_room(arch, B, dtype, &opt, space.keep)
        space.rows, space.itemsize = B, sizeof(floating)
        space.weighted, space.dropped = weight is not None, dropout is not None
    cdef Step total
    cdef double loss = 0.0
    with nogil:
        while start < n:
            B = min(arch.chunk, n - start)
            total = Step(<double>B, 1.0, 0.0)  # backprop_batch's scale / B: each row's gradient once
            loss += batch_step(&arch.net, &params[0], &grad[0], &X[0, 0], &Y[0, 0], &order[0], start, B,
                               &total, &opt, &space.batch)
            start += B
    return loss, space


def gradient_step(Architecture arch, floating[::1] params, floating[::1] grad, Py_ssize_t rows,
                  str kind, double eta, double l2, double l1, double mu=0.0, double beta1=0.0,
                  double beta2=0.0, double epsilon=0.0, floating[::1] m=None, floating[::1] v=None,
                  long long t=0, *, const double[::1] weight=None, const double[::1] dropout=None,
                  double update_dropout=0.0, uint64_t key=0, Py_ssize_t position=0):
    """One step in place from grad, the summed gradient of ``rows`` samples (step_gradient's;
    grad is divided by rows here): "sgd" the lecture's step with the penalties of
    sgd_epoch, or "momentum", "nesterov", "adam" with the state m, v, t of optimizer_epoch;
    update dropout for the step at ``position``. Returns t, counting this step."""
    dtype = np.float64 if floating is double else np.float32
    cdef Options opt = options_of(arch, 0, None, None, update_dropout, key, position)
    cdef floating[::1] before = np.empty(arch.n_params if opt.update_threshold else 1, dtype=dtype)
    cdef Optimizer rule
    cdef Py_ssize_t i, n = arch.n_params
    cdef floating mean = <floating>(1.0 / rows)
    cdef Step step = sgd_step_of(eta, l2, l1)
    cdef bint plain = kind == "sgd"
    if not plain:
        if m is None or v is None or m.shape[0] != n or v.shape[0] != n:
            raise ValueError(f"the {kind} step needs moments m and v of {n} entries")
        rule = Optimizer(OPTIMIZER_CODES[kind], eta, l2, l1, mu, beta1, beta2, epsilon, t, eta, &m[0], &v[0])
    with nogil:
        if opt.update_threshold:
            memcpy(&before[0], &params[0], n * sizeof(floating))
        for i in range(n):
            grad[i] *= mean
        if plain:
            plain_step(&arch.net, &params[0], &grad[0], &step)
        else:
            optimizer_update(&arch.net, &params[0], &grad[0], &rule)
            t = rule.t
        if opt.update_threshold:
            keep_frozen(&opt, position, &params[0], &before[0], n)
    return t
