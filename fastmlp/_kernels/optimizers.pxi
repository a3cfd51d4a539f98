# Optimizers other than the lecture's plain step (included by _core.pyx). Each step takes
# the gradient g (of one sample, or the mean of a batch), adds l2 w on the weights, applies
# the optimizer's rule and then L1's soft threshold on the weights, entry by entry: one
# pass over w, m and v. Every driver steps through rule_row, so an optimizer's kernel is
# its code here and its branch in rule_row: a plain loop over the row's entries is correct
# everywhere; a C row in optimizer_rows.h (restrict pointers, so that it vectorises) is a
# speed path, which momentum, Nesterov and Adam take.

cdef enum:
    MOMENTUM = 1
    NESTEROV = 2
    ADAM = 3

OPTIMIZER_CODES = {"momentum": MOMENTUM, "nesterov": NESTEROV, "adam": ADAM}


cdef struct Optimizer:
    int kind
    double eta, l2, l1, mu, beta1, beta2, epsilon
    long long t         # updates made so far (Adam's bias correction)
    double step_size    # Adam's eta sqrt(1 - b2^t) / (1 - b1^t) for update t, else eta
    void* m             # the moments, laid out like params (of the network's dtype)
    void* v


cdef inline void next_update(Optimizer* rule) noexcept nogil:
    """Counts the update about to be made and sets its step size."""
    rule.t += 1
    rule.step_size = rule.eta
    if rule.kind == ADAM:
        rule.step_size = rule.eta * sqrt(1 - pow(rule.beta2, rule.t)) / (1 - pow(rule.beta1, rule.t))


cdef extern from "optimizer_rows.h":
    void fastmlp_adam_row_d(double* w, double* m, double* v, const double* d, double a, double l2,
                            double b1, double c1, double b2, double c2, double step, double eps,
                            Py_ssize_t r) noexcept nogil
    void fastmlp_adam_row_f(float* w, float* m, float* v, const float* d, float a, float l2,
                            float b1, float c1, float b2, float c2, float step, float eps,
                            Py_ssize_t r) noexcept nogil
    void fastmlp_momentum_row_d(double* w, double* m, const double* d, double a, double l2,
                                double mu, double eta, int nesterov, Py_ssize_t r) noexcept nogil
    void fastmlp_momentum_row_f(float* w, float* m, const float* d, float a, float l2, float mu,
                                float eta, int nesterov, Py_ssize_t r) noexcept nogil


cdef inline void rule_row(floating* w, floating* m, floating* v, floating a, const floating* d,
                          Py_ssize_t r, bint weights, const Optimizer* rule) noexcept nogil:
    """r entries of one row by the optimizer's step from the gradient g_j = a d_j (plus
    l2 w_j if ``weights``, which then also get L1's soft threshold):
    momentum m <- mu m - eta g, w <- w + m; Nesterov the same with w <- w + mu m - eta g;
    Adam m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
    w <- w - eta sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + epsilon).
    The arithmetic is in the network's precision, so that it vectorises. A new optimizer's
    branch may loop over j here (g = a d_j + l2 w_j, then its rule); the C rows of
    optimizer_rows.h are the same arithmetic made faster."""
    cdef floating l2 = <floating>rule.l2 if weights else 0
    cdef floating eta = <floating>rule.eta, mu = <floating>rule.mu
    cdef floating b1 = <floating>rule.beta1, c1 = <floating>(1 - rule.beta1)
    cdef floating b2 = <floating>rule.beta2, c2 = <floating>(1 - rule.beta2)
    cdef floating eps = <floating>rule.epsilon, step = <floating>rule.step_size
    if rule.kind == ADAM:
        if floating is float:
            fastmlp_adam_row_f(w, m, v, d, a, l2, b1, c1, b2, c2, step, eps, r)
        else:
            fastmlp_adam_row_d(w, m, v, d, a, l2, b1, c1, b2, c2, step, eps, r)
    elif floating is float:
        fastmlp_momentum_row_f(w, m, d, a, l2, mu, eta, rule.kind == NESTEROV, r)
    else:
        fastmlp_momentum_row_d(w, m, d, a, l2, mu, eta, rule.kind == NESTEROV, r)
    if weights and rule.l1 > 0:
        soft_threshold(w, r, <floating>(rule.eta * rule.l1))


cdef void layer_optimizer(floating* W, floating* M, floating* V, const floating* x_in,
                          Py_ssize_t d_in, Py_ssize_t d_out, const floating* delta, floating c,
                          floating* back, const Optimizer* rule) noexcept nogil:
    """One pass over W^(l) and its moments for one sample: back_i = sum_j w_ij delta_j (if
    back is not NULL), read before row i changes, and the optimizer's step of row i from
    dl/dw_ij = c x_i delta_j (c: the sample's weight; x_0 = 1), while the row is in cache."""
    cdef Py_ssize_t i, k
    rule_row(W, M, V, c, delta, d_out, False, rule)
    for i in range(d_in):
        k = (i + 1) * d_out
        if back != NULL:
            back[i] = dot(W + k, delta, d_out)
        rule_row(W + k, M + k, V + k, c * x_in[i], delta, d_out, True, rule)


cdef void optimizer_update(const Net* net, floating* w, const floating* g,
                           Optimizer* rule) noexcept nogil:
    """One optimizer step of every weight from the batch's mean gradient g (see rule_row),
    in one pass over w, g and the moments."""
    cdef int l
    cdef Py_ssize_t o, d_out
    cdef floating* m = <floating*>rule.m
    cdef floating* v = <floating*>rule.v
    next_update(rule)
    for l in range(net.L):
        o = net.offset[l]
        d_out = net.d[l + 1]
        rule_row(w + o, m + o, v + o, 1, g + o, d_out, False, rule)
        o += d_out
        rule_row(w + o, m + o, v + o, 1, g + o, net.d[l] * d_out, True, rule)
