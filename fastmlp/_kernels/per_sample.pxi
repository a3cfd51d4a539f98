# One sample at a time (included by _core.pyx): forward through every layer, then the
# delta recursion, and the epochs of per-sample SGD and of the perceptron.
# s and x hold s^(1..L) and x^(1..L) back to back (d^(1) + ... + d^(L) entries); the
# input x^(0) stays where it is.

# How many samples ahead per-sample SGD asks for the rows of X and Y it will read.
cdef enum:
    PREFETCH_AHEAD = 2

cdef extern from "prefetch.h":
    void fastmlp_prefetch(const void* p, Py_ssize_t n) noexcept nogil


cdef void forward_sample(const Net* net, const floating* params, const floating* x0,
                         floating* s, floating* x, bint first_ready, const Options* opt,
                         Py_ssize_t k, floating* r, floating* xd) noexcept nogil:
    # first_ready: s^(1) is already in s (computed by the previous sample's update pass).
    # Dropout (see drop_units) leaves its factors in r and the dropped outputs in xd, laid
    # out like s; x keeps theta(s) for theta'.
    cdef int l
    cdef Py_ssize_t u0 = 0, d
    cdef const floating* x_in = x0
    for l in range(net.L):
        d = net.d[l + 1]
        if l > 0 or not first_ready:
            layer_forward(params + net.offset[l], x_in, net.d[l], d, s + u0)
        activate(net.act[l], net.act_param + 4 * l, s + u0, x + u0, d)
        x_in = x + u0
        if drops(net, opt, l):
            drop_units(opt, l, u0, k, x + u0, r + u0, xd + u0, d)
            x_in = xd + u0
        u0 += d


cdef double backprop_sample(const Net* net, floating* params, floating* target,
                            const floating* x0, const floating* y, floating* s, floating* x,
                            floating* delta, const Step* step, bint first_ready,
                            const floating* x_next, const Options* opt, Py_ssize_t k,
                            floating* r, floating* xd, const Optimizer* rule) noexcept nogil:
    """Forward, then for l = L..1: the step's change of target^(l) from x^(l-1) delta^(l)^T,
    with delta^(l-1) from W^(l) read in the same pass. delta holds delta^(1..L) like s
    and x. first_ready: s already holds this sample's s^(1). x_next (a step into params
    without penalties in the Step): the pass that updates W^(1) leaves the next sample's
    s^(1) in s, which is free by then. opt, k, r, xd: the sample's dropout (see
    forward_sample), whose factors also multiply delta. rule (or NULL): params take the
    optimizer's step, with its moments, from the gradient step.scale x^(l-1) delta^(l)^T
    in the same pass, and target is not used. Returns the loss."""
    cdef int l
    cdef Py_ssize_t top = 0, d_in, d_out, o
    cdef double loss
    cdef const floating* x_in
    cdef floating* M = NULL
    cdef floating* V = NULL
    cdef floating* back
    if rule != NULL:
        M, V = <floating*>rule.m, <floating*>rule.v
    for l in range(net.L):
        top += net.d[l + 1]
    forward_sample(net, params, x0, s, x, first_ready, opt, k, r, xd)
    d_out = net.d[net.L]
    top -= d_out
    loss = output_delta(net, s + top, x + top, y, delta + top)
    for l in range(net.L - 1, -1, -1):
        d_in = net.d[l]
        d_out = net.d[l + 1]
        o = net.offset[l]
        if l == 0 and (x_next != NULL or momentum_in_blocks(rule)):
            # Without a next sample, momentum's step still takes the fused pass (forming
            # sums that are not used), so that W^(1) is rounded alike wherever a call ends.
            layer_update_and_forward(params, M, V, x0, x_next if x_next != NULL else x0, d_in,
                                     d_out, delta + top, <floating>step.scale, rule, s)
            continue
        x_in = x0 if l == 0 else (xd if drops(net, opt, l - 1) else x) + top - d_in
        back = NULL if l == 0 else delta + top - d_in
        if rule != NULL:
            layer_optimizer(params + o, M + o, V + o, x_in, d_in, d_out, delta + top,
                            <floating>step.scale, back, rule)
        else:
            layer_backward(params + o, target + o, x_in, d_in, d_out, delta + top, back, step)
        if l > 0:
            top -= d_in
            times_theta_prime(net.act[l - 1], net.act_param + 4 * (l - 1), s + top, x + top,
                              delta + top, d_in)
            if drops(net, opt, l - 1):
                scale_by(delta + top, r + top, d_in)
    return loss


cdef Py_ssize_t sgd_epoch_nogil(const Net* net, floating* params, const floating* X,
                                const floating* Y, const Py_ssize_t* order, Py_ssize_t n,
                                const Step* step, const Options* opt, floating* s, floating* x,
                                floating* delta, floating* r, floating* xd, floating* before,
                                Optimizer* rule, double* loss_sum) noexcept nogil:
    """The lecture's algorithm: for each sample in order, forward, backward, update (with
    the sample weights, dropout and update dropout of opt; before: room for params). With
    an optimizer ``rule`` (step: GRADIENT) each update is its step, made in the same
    fused passes (see backprop_sample); update dropout keeps weights, not moments, as they
    were; opt.norms (or NULL) adds up the weights' norms before each step. Stops at the
    first non-finite loss (that sample's update is made; the caller puts back the weights)
    and returns how many samples were completed."""
    cdef Py_ssize_t k, row, ahead
    cdef Py_ssize_t d0 = net.d[0], dL = net.d[net.L]
    cdef double loss, total = 0.0
    cdef bint first_ready = False
    cdef bint plain = step.decay == 1 and step.shrink == 0 and opt.update_threshold == 0
    cdef const floating* x_next
    cdef Step weighted = step[0]
    for k in range(n):
        row = order[k]
        if k + PREFETCH_AHEAD < n:
            ahead = order[k + PREFETCH_AHEAD]
            fastmlp_prefetch(X + ahead * d0, d0 * sizeof(floating))
            fastmlp_prefetch(Y + ahead * dL, dL * sizeof(floating))
            if opt.weight != NULL:
                fastmlp_prefetch(opt.weight + ahead, sizeof(double))
        # The update of W^(1) also forms the next sample's s^(1) (steps without update
        # dropout, whose penalties, if any, are the optimizer's).
        x_next = X + order[k + 1] * d0 if plain and k + 1 < n else NULL
        if opt.update_threshold:
            memcpy(before, params, net.n_params * sizeof(floating))
        if opt.weight != NULL:
            # c dl/dw joins the step as the rate c eta (or the optimizer's gradient as the
            # factor c); the penalties' terms are not weighted.
            weighted.scale = step.scale * opt.weight[row]
        if opt.norms != NULL:
            add_weight_norms(net, params, opt.norms)
        if rule != NULL:
            next_update(rule)
        loss = backprop_sample(net, params, params, X + row * d0, Y + row * dL, s, x, delta,
                               &weighted, first_ready, x_next, opt, opt.position + k, r, xd,
                               rule)
        if opt.weight != NULL:
            loss *= opt.weight[row]
        if not isfinite(loss):
            loss_sum[0] = total
            return k
        if opt.update_threshold:
            keep_frozen(opt, opt.position + k, params, before, net.n_params)
        first_ready = x_next != NULL
        total += loss
    loss_sum[0] = total
    return n


cdef Py_ssize_t perceptron_epoch_nogil(floating* w, const floating* X, const floating* y,
                                       const Py_ssize_t* order, Py_ssize_t n, Py_ssize_t d,
                                       floating eta) noexcept nogil:
    """Rosenblatt's rule over the samples in order: where y_k w^T [1; x_k] <= 0 (wrong side
    or on the boundary), w <- w + eta y_k [1; x_k]. Returns the number of mistakes."""
    cdef Py_ssize_t k, j, row, mistakes = 0
    cdef const floating* x
    cdef floating step
    for k in range(n):
        row = order[k]
        x = X + row * d
        if y[row] * (w[0] + dot(w + 1, x, d)) > 0:
            continue
        mistakes += 1
        step = eta * y[row]
        w[0] += step
        for j in range(d):
            w[j + 1] += step * x[j]
    return mistakes
