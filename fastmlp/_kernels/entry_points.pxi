# Python entry points (included by _core.pyx): thin, typed, contiguous; inputs are
# already validated.
#
# The training entry points take the options of fastmlp._engine.weights_dropout.Steps as keywords:
# weight (sample weights by row of X, float64, or None), dropout (a float64 rate for each
# of layers 1..L, the output's 0, or None), update_dropout (a rate), key (the epoch's key
# for the draws) and position (where in the epoch order[0] stands). The epochs also take
# norms: None, or 2 float64 entries to which each step adds, before it is made, the sum of
# w^2 and the sum of |w| over the weights (not the biases): the penalties of the weights
# each step starts from, as scikit-learn's loss_ counts them.

cdef Options options_of(Architecture arch, Py_ssize_t rows, const double[::1] weight,
                        const double[::1] dropout, double update_dropout, uint64_t key,
                        Py_ssize_t position, double[::1] norms=None) except *:
    # The lengths are checked here (cheaply) because the kernels index these arrays blind.
    if weight is not None and weight.shape[0] != rows:
        raise ValueError(f"weight has {weight.shape[0]} entries for {rows} rows of X")
    if dropout is not None and dropout.shape[0] != arch.net.L:
        raise ValueError(f"dropout has {dropout.shape[0]} rates for {arch.net.L} layers")
    if norms is not None and norms.shape[0] != 2:
        raise ValueError(f"norms has {norms.shape[0]} entries; it takes 2 (the sums of w^2 and of |w|)")
    cdef Options opt = Options(NULL, NULL, threshold_of(update_dropout), key, position, NULL)
    if weight is not None:
        opt.weight = &weight[0]
    if dropout is not None:
        opt.dropout = &dropout[0]
    if norms is not None:
        opt.norms = &norms[0]
    return opt


cdef void* room_of(list keep, Py_ssize_t n, dtype):
    """A new array of n entries (at least one) of dtype, kept alive in ``keep``."""
    a = np.empty(max(n, 1), dtype=dtype)
    keep.append(a)
    return room_of_array(a)


cdef void* room_of_array(a):
    """Where the data of the contiguous array ``a`` starts."""
    cdef unsigned char[::1] raw = a.view(np.uint8)
    return &raw[0]


cdef Batch batch_room(Architecture arch, Py_ssize_t B, dtype, const Options* opt, list keep,
                      bint sparse=False):
    """Room for steps of B samples, with the buffers that opt's dropout and update dropout
    need (the arrays live in ``keep``); for sparse rows, one row of zeros instead of the
    batch's rows of X."""
    cdef Py_ssize_t hidden = B * (arch.units - arch.d[0])
    cdef bint dropout = opt.dropout != NULL
    cdef void* Xb
    if sparse:
        zeros = np.zeros(arch.d[0], dtype=dtype)
        keep.append(zeros)
        Xb = room_of_array(zeros)
    else:
        Xb = room_of(keep, B * arch.d[0], dtype)
    return Batch(
        Xb, room_of(keep, B * arch.d[arch.net.L], dtype),
        <double*>room_of(keep, B if opt.weight != NULL else 0, np.float64),
        room_of(keep, hidden, dtype), room_of(keep, hidden, dtype), room_of(keep, hidden, dtype),
        room_of(keep, hidden if dropout else 0, dtype), room_of(keep, hidden if dropout else 0, dtype),
        room_of(keep, arch.n_params if opt.update_threshold else 0, dtype),
    )


def forward(Architecture arch, const floating[::1] params, const floating[:, ::1] X):
    """h(x) for every row of X, as a new (n, d^(L)) array."""
    cdef Py_ssize_t n = X.shape[0], start, B
    cdef Py_ssize_t dL = arch.net.d[arch.net.L], last = arch.units - arch.d[0] - dL
    dtype = np.float64 if floating is double else np.float32
    out = np.empty((n, dL), dtype=dtype)
    cdef floating[:, ::1] H = out
    cdef Py_ssize_t chunk = min(n, arch.chunk)
    cdef floating[::1] S = np.empty(chunk * (arch.units - arch.d[0]), dtype=dtype)
    cdef floating[::1] Xs = np.empty(chunk * (arch.units - arch.d[0]), dtype=dtype)
    with nogil:
        start = 0
        while start < n:
            B = min(chunk, n - start)
            forward_batch(&arch.net, &params[0], &X[start, 0], B, &S[0], &Xs[0],
                          <Options*>NULL, 0, <floating*>NULL, <floating*>NULL, <Sparse*>NULL)
            memcpy(&H[start, 0], &Xs[last * B], B * dL * sizeof(floating))
            start += B
    return out


def backprop(Architecture arch, floating[::1] params, const floating[::1] x0,
             const floating[::1] y, floating[::1] s, floating[::1] x, floating[::1] delta,
             floating[::1] grad):
    """One sample: fills s^(l), x^(l), delta^(l) (flat, layers back to back) and
    grad = dl/dW in the layout of params. Returns the loss."""
    cdef double loss
    with nogil:
        memset(&grad[0], 0, grad.shape[0] * sizeof(floating))
        loss = backprop_sample(&arch.net, &params[0], &grad[0], &x0[0], &y[0], &s[0], &x[0],
                               &delta[0], &GRADIENT, False, <floating*>NULL, <Options*>NULL, 0,
                               <floating*>NULL, <floating*>NULL, <Optimizer*>NULL)
    return loss


def mean_gradient(Architecture arch, floating[::1] params, const floating[:, ::1] X,
                  const floating[:, ::1] Y, floating[::1] grad, const double[::1] weight=None):
    """grad = mean over the rows of X of dl/dW (each row's times its weight, if given);
    returns the mean (weighted) loss. Blocks of arch.chunk rows each add their B / n share."""
    cdef Py_ssize_t n = X.shape[0], start, B
    cdef Py_ssize_t chunk = min(n, arch.chunk)
    dtype = np.float64 if floating is double else np.float32
    cdef floating[::1] S = np.empty(chunk * (arch.units - arch.d[0]), dtype=dtype)
    cdef floating[::1] Xs = np.empty_like(S)
    cdef floating[::1] D = np.empty_like(S)
    cdef const double* w = NULL
    cdef double loss = 0.0
    cdef Step step
    if weight is not None:
        w = options_of(arch, n, weight, None, 0.0, 0, 0).weight
    with nogil:
        memset(&grad[0], 0, grad.shape[0] * sizeof(floating))
        start = 0
        while start < n:
            B = min(chunk, n - start)
            step = Step(<double>B / n, 1.0, 0.0)
            loss += backprop_batch(&arch.net, &params[0], &grad[0], &X[start, 0], &Y[start, 0], B,
                                   &S[0], &Xs[0], &D[0], &step, w + start if w != NULL else NULL,
                                   <Options*>NULL, 0, <floating*>NULL, <floating*>NULL, <Sparse*>NULL)
            start += B
    return loss / n


def sgd_epoch(Architecture arch, floating[::1] params, const floating[:, ::1] X,
              const floating[:, ::1] Y, const Py_ssize_t[::1] order, double eta,
              double l2=0.0, double l1=0.0, *, const double[::1] weight=None,
              const double[::1] dropout=None, double update_dropout=0.0, uint64_t key=0,
              Py_ssize_t position=0, double[::1] norms=None):
    """Per-sample SGD over X[order], in place, without the GIL; l2 and l1 penalise the
    weights (not the biases): w <- soft-threshold(w - eta (dl/dw + l2 w), eta l1); the
    keywords as above. Returns (summed loss, samples completed); fewer than len(order)
    means a non-finite loss."""
    dtype = np.float64 if floating is double else np.float32
    cdef Py_ssize_t hidden = arch.units - arch.d[0]
    cdef floating[::1] s = np.empty(hidden, dtype=dtype)
    cdef floating[::1] x = np.empty(hidden, dtype=dtype)
    cdef floating[::1] delta = np.empty(hidden, dtype=dtype)
    cdef Options opt = options_of(arch, X.shape[0], weight, dropout, update_dropout, key, position,
                                  norms)
    cdef floating[::1] r = np.empty(hidden if dropout is not None else 1, dtype=dtype)
    cdef floating[::1] xd = np.empty_like(r)
    cdef floating[::1] before = np.empty(arch.n_params if opt.update_threshold else 1, dtype=dtype)
    cdef double loss_sum = 0.0
    cdef Py_ssize_t done
    cdef Step step = sgd_step_of(eta, l2, l1)
    with nogil:
        done = sgd_epoch_nogil(&arch.net, &params[0], &X[0, 0], &Y[0, 0], &order[0],
                               order.shape[0], &step, &opt, &s[0], &x[0], &delta[0], &r[0],
                               &xd[0], &before[0], <Optimizer*>NULL, &loss_sum)
    return loss_sum, done


def minibatch_epoch(Architecture arch, floating[::1] params, const floating[:, ::1] X,
                    const floating[:, ::1] Y, const Py_ssize_t[::1] order,
                    Py_ssize_t batch_size, double eta, double l2=0.0, double l1=0.0, *,
                    const double[::1] weight=None, const double[::1] dropout=None,
                    double update_dropout=0.0, uint64_t key=0, Py_ssize_t position=0,
                    double[::1] norms=None):
    """Minibatch SGD (mean gradient per step, penalties and keywords as in sgd_epoch) over
    X[order], in place, without the GIL. Returns (summed loss, samples completed)."""
    dtype = np.float64 if floating is double else np.float32
    cdef Py_ssize_t B = min(batch_size, order.shape[0])
    cdef Options opt = options_of(arch, X.shape[0], weight, dropout, update_dropout, key, position,
                                  norms)
    cdef Step step = sgd_step_of(eta, l2, l1)
    if takes_small_batch(&arch.net, B, &opt):
        return small_batch_epoch(arch, params, X, Y, order, B, &step, &opt)
    cdef list keep = []
    cdef Batch room = batch_room(arch, B, dtype, &opt, keep)
    cdef double loss_sum = 0.0
    cdef Py_ssize_t done
    with nogil:
        done = minibatch_epoch_nogil(&arch.net, &params[0], &X[0, 0], &Y[0, 0], &order[0],
                                     order.shape[0], B, &step, &opt, &room, <Sparse*>NULL, &loss_sum)
    return loss_sum, done


def perceptron_epoch(floating[::1] w, const floating[:, ::1] X, const floating[::1] y,
                     const Py_ssize_t[::1] order, double eta):
    """One pass of the perceptron learning algorithm over X[order], updating w = (w_0, ..., w_d)
    in place; y holds +1 / -1. Returns the number of mistakes."""
    cdef Py_ssize_t mistakes
    with nogil:
        mistakes = perceptron_epoch_nogil(&w[0], &X[0, 0], &y[0], &order[0], order.shape[0],
                                          X.shape[1], <floating>eta)
    return mistakes


def optimizer_epoch(Architecture arch, floating[::1] params, const floating[:, ::1] X,
                    const floating[:, ::1] Y, const Py_ssize_t[::1] order, Py_ssize_t batch_size,
                    str kind, double eta, double l2, double l1, double mu, double beta1,
                    double beta2, double epsilon, floating[::1] m, floating[::1] v,
                    long long t, *, const double[::1] weight=None,
                    const double[::1] dropout=None, double update_dropout=0.0, uint64_t key=0,
                    Py_ssize_t position=0, double[::1] norms=None):
    """SGD over X[order] with momentum, Nesterov momentum or Adam (state m, v and the step
    count t, updated in place / returned), keywords as in sgd_epoch. Returns (summed
    loss, samples completed, t)."""
    dtype = np.float64 if floating is double else np.float32
    cdef Py_ssize_t B = min(batch_size, order.shape[0])
    # Per sample the steps are made in backprop's passes; a batch's mean gradient needs room.
    cdef floating[::1] grad = np.empty(params.shape[0] if B > 1 else 1, dtype=dtype)
    cdef Options opt = options_of(arch, X.shape[0], weight, dropout, update_dropout, key, position,
                                  norms)
    cdef list keep = []
    cdef Batch room = batch_room(arch, B, dtype, &opt, keep)
    cdef Optimizer rule = Optimizer(OPTIMIZER_CODES[kind], eta, l2, l1, mu, beta1, beta2, epsilon, t,
                                    eta, &m[0], &v[0])
    cdef double loss_sum = 0.0
    cdef Py_ssize_t done
    with nogil:
        done = optimizer_epoch_nogil(&arch.net, &params[0], &X[0, 0], &Y[0, 0], &order[0],
                                     order.shape[0], B, &rule, &opt, &grad[0], &room, <Sparse*>NULL,
                                     &loss_sum)
    return loss_sum, done, rule.t
