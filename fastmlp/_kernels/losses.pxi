# The losses l(h(x), y) of one sample and the output layer's delta^(L) (included by
# _core.pyx).

# Loss codes, kept here only: the engine looks the registry's names up in LOSS_CODES
# (fastmlp.losses names the losses, fastmlp._engine.backends maps them).
cdef enum:
    L2 = 0
    CROSS_ENTROPY = 1
    BINARY_CROSS_ENTROPY = 2

LOSS_CODES = {"l2": L2, "cross_entropy": CROSS_ENTROPY, "binary_cross_entropy": BINARY_CROSS_ENTROPY}


cdef double output_delta(const Net* net, const floating* s, const floating* x,
                         const floating* y, floating* delta) noexcept nogil:
    """delta^(L) and the sample's loss l(h(x), y)."""
    cdef Py_ssize_t j, k, d = net.d[net.L]
    cdef int code = net.act[net.L - 1]
    cdef const double* p = net.act_param + 4 * (net.L - 1)
    cdef double loss = 0.0, e, sj
    if net.loss == CROSS_ENTROPY:
        # -sum_j y_j log softmax(s)_j = sum_j y_j (log-sum-exp(s) - s_j); delta = x - y.
        # log-sum-exp(s) = s_k - log x_k for the largest s_k, whose x_k >= 1/d: one log
        # instead of d exponentials and a log.
        k = 0
        for j in range(1, d):
            if s[j] > s[k]:
                k = j
        e = s[k] - log(x[k])
        for j in range(d):
            loss += y[j] * (e - s[j])
            delta[j] = x[j] - y[j]
    elif net.loss == BINARY_CROSS_ENTROPY:
        # -y log sigmoid(s) - (1-y) log(1 - sigmoid(s)) without overflow; delta = x - y.
        for j in range(d):
            sj = s[j]
            loss += max(sj, 0.0) - y[j] * sj + log1p(exp(-fabs(sj)))
            delta[j] = x[j] - y[j]
    else:
        # 1/2 sum_j (x_j - y_j)^2; delta = (x - y) theta'(s).
        for j in range(d):
            e = x[j] - y[j]
            loss += 0.5 * e * e
            delta[j] = <floating>(e * theta_prime(code, s[j], x[j], p))
    return loss
