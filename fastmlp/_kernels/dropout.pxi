# Draws for dropout (included by _core.pyx). Each decision is a hash of the epoch's key,
# when (the sample's position in the epoch, or the step's) and which unit or weight: no
# generator state, so the kernels' order of work and the reference's give the same masks.
# The hashes are in draws.h.

cdef extern from "draws.h":
    uint64_t fastmlp_mix64(uint64_t z) noexcept nogil
    uint32_t fastmlp_mix32(uint32_t h) noexcept nogil

cdef enum:
    UNITS = 0    # the draws of one sample's hidden units
    WEIGHTS = 1  # the draws of one step's weights


cdef inline uint32_t draw_key(uint64_t key, Py_ssize_t when, int stream) noexcept nogil:
    return <uint32_t>fastmlp_mix64(key ^ fastmlp_mix64(2 * <uint64_t>when + <uint64_t>stream))


cdef inline bint drawn_below(uint32_t key, Py_ssize_t index, uint32_t threshold) noexcept nogil:
    """Whether the draw of unit or weight ``index`` falls below threshold = rate * 2^32,
    which happens with probability rate."""
    return fastmlp_mix32(key ^ <uint32_t>index) < threshold


cdef inline uint32_t threshold_of(double rate) noexcept nogil:
    return <uint32_t>(rate * 4294967296.0)


cdef inline bint drops(const Net* net, const Options* opt, int l) noexcept nogil:
    """Whether the units of layer l + 1 (a hidden layer) are dropped out."""
    return opt != NULL and opt.dropout != NULL and l < net.L - 1 and opt.dropout[l] > 0


cdef void drop_units(const Options* opt, int l, Py_ssize_t u0, Py_ssize_t k, const floating* x,
                     floating* r, floating* xd, Py_ssize_t d) noexcept nogil:
    """Inverted dropout of layer l + 1 for the sample at position k of the epoch: r_j = 0
    where unit u0 + j (its index among all units) is dropped, 1 / (1 - rate) where it is
    kept, and xd = r x, what the next layer sees and its weights are updated from."""
    cdef Py_ssize_t j
    cdef uint32_t key = draw_key(opt.key, k, UNITS), below = threshold_of(opt.dropout[l])
    cdef floating keep = <floating>(1.0 / (1.0 - opt.dropout[l]))
    for j in range(d):
        r[j] = 0 if drawn_below(key, u0 + j, below) else keep
        xd[j] = r[j] * x[j]


cdef void keep_frozen(const Options* opt, Py_ssize_t when, floating* params,
                      const floating* before, Py_ssize_t n) noexcept nogil:
    """The lecture's dropout of updates: each weight whose draw for the step at position
    ``when`` falls below the rate gets back its value from before the step."""
    keep_frozen_from(opt, when, params, before, 0, n)


cdef void keep_frozen_from(const Options* opt, Py_ssize_t when, floating* params,
                           const floating* before, Py_ssize_t first, Py_ssize_t n) noexcept nogil:
    """keep_frozen for n weights params[0 .. n-1] (before[0 .. n-1] before the step) that are
    the weights first .. first + n - 1 of the flat params: their draws are those of their
    places in it."""
    cdef Py_ssize_t i
    cdef uint32_t index = <uint32_t>first
    cdef uint32_t key = draw_key(opt.key, when, WEIGHTS), below = opt.update_threshold
    for i in range(n):
        # A select, not a branch, and a 32-bit index, so that the loop vectorises.
        params[i] = before[i] if fastmlp_mix32(key ^ index) < below else params[i]
        index += 1


cdef inline void scale_by(floating* a, const floating* r, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        a[i] *= r[i]
