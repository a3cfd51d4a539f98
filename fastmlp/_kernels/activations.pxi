# The activations theta and their derivatives theta' (included by _core.pyx): the codes,
# theta(s) and theta'(s) of one unit, and the loops over a layer (activate,
# times_theta_prime), in which the common ones get loops of their own. The branch-free
# forms that let those loops vectorise (tanh, softmax's exp) are in activations.h.

# Activation codes, kept here only: the engine looks the registry's names up in ACTIVATION_CODES
# (fastmlp.activations names the activations, fastmlp._engine.backends maps them).
cdef enum:
    IDENTITY = 0
    SIGN = 1
    SIGMOID = 2
    TANH = 3
    RELU = 4
    LEAKY_RELU = 5
    ELU = 6
    MAXOUT = 7
    SOFTMAX = 8

ACTIVATION_CODES = {
    "identity": IDENTITY, "sign": SIGN, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU,
    "leaky_relu": LEAKY_RELU, "elu": ELU, "maxout": MAXOUT, "softmax": SOFTMAX,
}


cdef extern from "activations.h":
    double fastmlp_tanh(double s) noexcept nogil
    float fastmlp_tanhf(float s) noexcept nogil
    double fastmlp_exp_nonpositive(double x) noexcept nogil


cdef inline double sigmoid(double s) noexcept nogil:
    # Never overflows: exp is only taken of a non-positive number.
    cdef double e
    if s >= 0:
        return 1.0 / (1.0 + exp(-s))
    e = exp(s)
    return e / (1.0 + e)


cdef inline double theta(int code, double s, const double* p) noexcept nogil:
    if code == TANH:
        return fastmlp_tanh(s)
    if code == RELU:
        return s if s > 0 else 0.0
    if code == SIGMOID:
        return sigmoid(s)
    if code == LEAKY_RELU:
        return s if s > 0 else p[0] * s
    if code == ELU:
        return s if s > 0 else p[0] * expm1(s)
    if code == MAXOUT:
        return max(p[0] * s + p[1], p[2] * s + p[3])
    if code == SIGN:
        return 1.0 if s > 0 else (-1.0 if s < 0 else 0.0)
    return s


cdef inline double theta_prime(int code, double s, double x, const double* p) noexcept nogil:
    # Written in terms of the output x = theta(s) where the lecture does (tanh, sigmoid).
    if code == TANH:
        return 1.0 - x * x
    if code == RELU:
        return 1.0 if s > 0 else 0.0
    if code == SIGMOID:
        return x * (1.0 - x)
    if code == LEAKY_RELU:
        return 1.0 if s > 0 else p[0]
    if code == ELU:
        return 1.0 if s > 0 else x + p[0]
    if code == MAXOUT:
        return p[0] if p[0] * s + p[1] >= p[2] * s + p[3] else p[2]
    return 1.0


cdef void activate(int code, const double* p, const floating* s, floating* x, Py_ssize_t d) noexcept nogil:
    """x = theta(s) elementwise; softmax over the whole layer. The common thetas get a
    loop of their own so that the code test is not repeated per unit."""
    cdef Py_ssize_t j
    cdef double m, total
    if code == TANH:
        for j in range(d):
            if floating is float:
                x[j] = fastmlp_tanhf(s[j])
            else:
                x[j] = fastmlp_tanh(s[j])
    elif code == RELU:
        for j in range(d):
            x[j] = s[j] if s[j] > 0 else 0
    elif code == SOFTMAX:
        # exp(s_j - max s) / sum_k exp(s_k - max s): one exponential per unit.
        m = s[0]
        for j in range(1, d):
            m = max(m, s[j])
        for j in range(d):
            x[j] = <floating>fastmlp_exp_nonpositive(s[j] - m)
        total = 0.0
        for j in range(d):
            total += x[j]
        for j in range(d):
            x[j] = <floating>(x[j] / total)
    elif code == IDENTITY:
        memcpy(x, s, d * sizeof(floating))
    else:
        for j in range(d):
            x[j] = <floating>theta(code, s[j], p)


cdef void times_theta_prime(int code, const double* p, const floating* s, const floating* x,
                            floating* g, Py_ssize_t d) noexcept nogil:
    """g_i <- theta'(s_i) * g_i: turns sum_j w_ij delta_j into delta_i."""
    cdef Py_ssize_t i
    if code == TANH:
        for i in range(d):
            g[i] *= 1 - x[i] * x[i]
    elif code == RELU:
        for i in range(d):
            g[i] = g[i] if s[i] > 0 else 0
    elif code != IDENTITY:
        for i in range(d):
            g[i] = <floating>(theta_prime(code, s[i], x[i], p) * g[i])
