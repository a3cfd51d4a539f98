"""Cython kernels of the multilayer perceptron, in the lecture's notation.

Layout: the flat buffer ``params`` holds W^(1) .. W^(L) one after the other; W^(l) is
row-major with shape (d^(l-1) + 1, d^(l)) and row 0 is the bias (x_0 = 1).

The file is layered: point functions (theta, theta', per-sample losses) -> layer loops
(forward, delta recursion, in-place update) -> drivers (a whole epoch of per-sample SGD,
minibatch epochs, batch gradients, batched forward) -> thin ``def`` wrappers. Everything
below the wrappers runs without the GIL and knows nothing of Python objects; the Python
layer (fastmlp.network) validates every input before it gets here.
"""
from cython cimport floating
from libc.math cimport exp, expm1, fabs, isfinite, log, log1p, pow, sqrt, sqrtf
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport dgemm, sgemm

import numpy as np

# Activation codes, shared with fastmlp.activations.
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

# Loss codes, shared with fastmlp.losses.
cdef enum:
    L2 = 0
    CROSS_ENTROPY = 1
    BINARY_CROSS_ENTROPY = 2

# Bounds on the rows that the batched forward pass and the full-batch gradient push through
# the network at once (see Architecture.chunk).
cdef enum:
    MIN_CHUNK = 64
    MAX_CHUNK = 2048
    WEIGHTS_PER_ROW = 64
# Output units whose partial sums the per-sample forward pass keeps in registers, and the
# partial sums of a dot product: sized for 256-bit vectors of doubles and floats.
cdef enum:
    BLOCK = 32
    LANES = 8
# How many samples ahead per-sample SGD asks for the rows of X and Y it will read.
cdef enum:
    PREFETCH_AHEAD = 2

cdef extern from *:
    """
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #include <cpuid.h>
    #endif
    static int fastmlp_cpu_has_avx2_fma(void) {
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #else
        return 0;
    #endif
    }
    /* AVX-512 F, VL, DQ and BW (CPUID leaf 7, EBX bits 16, 31, 17, 30), and the operating
       system saving their state: OSXSAVE (leaf 1, ECX bit 27) and XCR0 bits 1, 2 (SSE, AVX)
       and 5, 6, 7 (opmask, upper halves of ZMM0-15, ZMM16-31). */
    static int fastmlp_cpu_has_avx512(void) {
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        unsigned int a, b, c, d, xcr0, xcr0_high;
        const unsigned int features = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
        if (!fastmlp_cpu_has_avx2_fma() || !__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
            return 0;
        __asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(xcr0_high) : "c"(0));
        if ((xcr0 & 0xE6u) != 0xE6u || __get_cpuid_max(0, 0) < 7)
            return 0;
        __cpuid_count(7, 0, a, b, c, d);
        return (b & features) == features;
    #else
        return 0;
    #endif
    }
    """
    int fastmlp_cpu_has_avx2_fma() noexcept nogil
    int fastmlp_cpu_has_avx512() noexcept nogil


cdef extern from *:
    """
    /* Ask the cache for the bytes [p, p + n) ahead of their use (a hint: no fault, no
       effect on results). Per-sample SGD visits the rows of X in a shuffled order, which
       the hardware prefetchers cannot guess: a row that has to come from memory costs
       more than a small network's whole step. */
    static inline void fastmlp_prefetch(const void* p, Py_ssize_t n) {
    #if defined(__GNUC__)
        const char* c = (const char*)p;
        Py_ssize_t i;
        for (i = 0; i < n; i += 64)
            __builtin_prefetch(c + i, 0, 3);
        __builtin_prefetch(c + n - 1, 0, 3);
    #endif
    }
    """
    void fastmlp_prefetch(const void* p, Py_ssize_t n) noexcept nogil


def cpu_has_avx2_fma():
    """Whether this CPU runs the kernels built for AVX2 and FMA."""
    return bool(fastmlp_cpu_has_avx2_fma())


def cpu_has_avx512():
    """Whether this CPU (and its operating system) runs the kernels built for AVX-512
    F/VL/DQ/BW (with AVX2 and FMA)."""
    return bool(fastmlp_cpu_has_avx512())


ACTIVATION_CODES = {
    "identity": IDENTITY, "sign": SIGN, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU,
    "leaky_relu": LEAKY_RELU, "elu": ELU, "maxout": MAXOUT, "softmax": SOFTMAX,
}
LOSS_CODES = {"l2": L2, "cross_entropy": CROSS_ENTROPY, "binary_cross_entropy": BINARY_CROSS_ENTROPY}


cdef struct Net:
    # The architecture as plain C data: L layers, d^(0..L), where W^(l) starts in params,
    # theta per layer and its four parameters (alpha, or maxout's a1, b1, a2, b2).
    int L
    const Py_ssize_t* d
    const Py_ssize_t* offset
    const int* act
    const double* act_param
    int loss
    Py_ssize_t n_params


cdef struct Step:
    # What layer_backward adds to its target: target_ij <- decay * target_ij + scale * x_i
    # delta_j, then soft-thresholded by shrink (bias row: + scale * delta_j only).
    # SGD with L2 and L1 penalties: scale = -eta, decay = 1 - eta l2, shrink = eta l1;
    # a gradient buffer: scale = 1, decay = 1, shrink = 0.
    double scale
    double decay
    double shrink


cdef Step GRADIENT = Step(1.0, 1.0, 0.0)


cdef Step sgd_step_of(double eta, double l2, double l1) noexcept nogil:
    return Step(-eta, 1.0 - eta * l2, eta * l1)


cdef struct Options:
    # What a training step does beyond the lecture's plain step.
    const double* weight        # sample weights by row of X, or NULL (all 1)
    const double* dropout       # dropout rate of the units of layers 1..L (output 0), or NULL
    uint32_t update_threshold   # update dropout: a weight whose draw is below this keeps its value
    uint64_t key                # the epoch's key for every draw
    Py_ssize_t position         # the position in the epoch of the call's first sample


cdef class Architecture:
    """The network's shape and nonlinearities, held as C arrays for the kernels."""
    cdef Py_ssize_t[::1] d
    cdef Py_ssize_t[::1] offset
    cdef int[::1] act
    cdef double[:, ::1] act_param
    cdef Net net
    cdef readonly Py_ssize_t n_params, width, units, chunk

    def __init__(self, sizes, act_codes, act_params, int loss_code):
        self.d = np.ascontiguousarray(sizes, dtype=np.intp)
        L = self.d.shape[0] - 1
        offsets = np.zeros(L, dtype=np.intp)
        n = 0
        for l in range(L):
            offsets[l] = n
            n += (self.d[l] + 1) * self.d[l + 1]
        self.offset = offsets
        self.act = np.ascontiguousarray(act_codes, dtype=np.intc)
        self.act_param = np.ascontiguousarray(act_params, dtype=np.float64).reshape(L, 4)
        self.n_params = n
        self.width = max(sizes)
        self.units = sum(sizes)
        # Rows per block of a long batch: one per WEIGHTS_PER_ROW weights, within the bounds.
        # Each block's BLAS products repack every W^(l), which wants long blocks for wide
        # layers (784-512-512-10 float32: 2048 rows predict 8% faster than 647), while S, X
        # and Delta grow with rows x units and must stay small enough for the cache and for
        # the allocator to reuse them rather than map them afresh (64-100-10 on 1347 rows
        # at once: page faults cost more than the arithmetic).
        self.chunk = min(max(n // WEIGHTS_PER_ROW, MIN_CHUNK), MAX_CHUNK)
        self.net.L = L
        self.net.d = &self.d[0]
        self.net.offset = &self.offset[0]
        self.net.act = &self.act[0]
        self.net.act_param = &self.act_param[0, 0]
        self.net.loss = loss_code
        self.net.n_params = n


# ---------------------------------------------------------------------------------------
# Point functions: theta, theta' and the per-sample losses.

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #include <math.h>
    /* tanh(s) = sign(s) e / (e + 2) with e = expm1(2|s|), written without calls or
       branches so that a loop over a layer vectorises. expm1(x) for 0 <= x <= 44:
       x = k ln2 + r with |r| <= ln2/2, expm1(x) = (2^k - 1) + 2^k expm1(r), expm1(r) by
       its Taylor series through r^13 (truncation < 5e-18). k is rounded by adding
       1.5 * 2^52, whose low mantissa bits then hold k, and 2^k is built from them.
       |s| >= 22 gives +-1 exactly, as tanh does in double precision; NaN stays NaN. */
    static inline double fastmlp_tanh(double s) {
        const double shifter = 6755399441055744.0, ln2_hi = 6.93147180369123816490e-01,
                     ln2_lo = 1.90821492927058770002e-10, inv_ln2 = 1.4426950408889634074;
        double a = fabs(s), x, kd, r, q, two_k, e;
        uint64_t bits;
        a = a > 22.0 ? 22.0 : a;
        x = 2.0 * a;
        kd = x * inv_ln2 + shifter;
        memcpy(&bits, &kd, sizeof bits);
        kd -= shifter;
        r = (x - kd * ln2_hi) - kd * ln2_lo;
        q = r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120
            + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880
            + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600
            + r * (1.0 / 6227020800.0)))))))))))));
        bits = (bits + 1023) << 52;
        memcpy(&two_k, &bits, sizeof two_k);
        e = (two_k - 1.0) + two_k * q;
        return copysign(e / (e + 2.0), s);
    }
    /* The same in single precision for float32 layers, twice as many lanes per vector:
       Taylor series through r^7 (truncation < 6e-9), |s| >= 9 gives +-1. */
    static inline float fastmlp_tanhf(float s) {
        const float shifter = 12582912.0f, ln2_hi = 6.93145752e-01f, ln2_lo = 1.42860677e-06f,
                    inv_ln2 = 1.44269504f;
        float a = fabsf(s), x, kd, r, q, two_k, e;
        uint32_t bits;
        a = a > 9.0f ? 9.0f : a;
        x = 2.0f * a;
        kd = x * inv_ln2 + shifter;
        memcpy(&bits, &kd, sizeof bits);
        kd -= shifter;
        r = (x - kd * ln2_hi) - kd * ln2_lo;
        q = r * (1.0f + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120
            + r * (1.0f / 720 + r * (1.0f / 5040)))))));
        bits = (bits + 127u) << 23;
        memcpy(&two_k, &bits, sizeof two_k);
        e = (two_k - 1.0f) + two_k * q;
        return copysignf(e / (e + 2.0f), s);
    }
    /* exp(x) for x <= 0 (softmax's s_j - max_k s_k), without calls or branches so that
       a loop over a layer vectorises: x = k ln2 + r as in fastmlp_tanh, exp(r) by its
       Taylor series through r^13, times 2^k. x < -708 (below the smallest normal double)
       gives 0; NaN stays NaN. */
    static inline double fastmlp_exp_nonpositive(double x) {
        const double shifter = 6755399441055744.0, ln2_hi = 6.93147180369123816490e-01,
                     ln2_lo = 1.90821492927058770002e-10, inv_ln2 = 1.4426950408889634074;
        double a = x < -708.0 ? -708.0 : x, kd, r, q, two_k;
        uint64_t bits;
        kd = a * inv_ln2 + shifter;
        memcpy(&bits, &kd, sizeof bits);
        kd -= shifter;
        r = (a - kd * ln2_hi) - kd * ln2_lo;
        q = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120
            + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880
            + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600
            + r * (1.0 / 6227020800.0)))))))))))));
        bits = (bits + 1023) << 52;
        memcpy(&two_k, &bits, sizeof two_k);
        return x < -708.0 ? 0.0 : two_k * q;
    }
    """
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


# ---------------------------------------------------------------------------------------
# Draws for dropout. Each decision is a hash of the epoch's key, when (the sample's
# position in the epoch, or the step's) and which unit or weight: no generator state, so
# the kernels' order of work and the reference's give the same masks.

cdef extern from *:
    """
    #include <stdint.h>
    /* SplitMix64's output function: a bijection of 64-bit words that mixes every bit. */
    static inline uint64_t fastmlp_mix64(uint64_t z) {
        z += 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /* MurmurHash3's 32-bit finaliser: cheap enough to draw for every weight in a step. */
    static inline uint32_t fastmlp_mix32(uint32_t h) {
        h ^= h >> 16;
        h *= 0x85EBCA6BU;
        h ^= h >> 13;
        h *= 0xC2B2AE35U;
        return h ^ (h >> 16);
    }
    """
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
    cdef Py_ssize_t i
    cdef uint32_t index = 0
    cdef uint32_t key = draw_key(opt.key, when, WEIGHTS), below = opt.update_threshold
    for i in range(n):
        # A select, not a branch, and a 32-bit index, so that the loop vectorises.
        params[i] = before[i] if fastmlp_mix32(key ^ index) < below else params[i]
        index += 1


cdef inline void scale_by(floating* a, const floating* r, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        a[i] *= r[i]


# ---------------------------------------------------------------------------------------
# Layer loops over one sample.

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


cdef extern from *:
    """
    /* The column blocks of the per-sample layer loops (forward_columns, backward_columns,
       update_and_forward_columns), R = 64, 32, 16, 8, 4, 2 or 1 columns at a time.
       With GCC or Clang the block is one generic vector of R entries, which the compiler
       splits into the machine's registers: each row of a block is then a few whole-vector
       instructions (the auto-vectoriser left the unrolled narrow blocks scalar). W, s,
       target and delta point at the block's first column; rows are ``pitch`` apart. */
    /* Momentum's step of one entry (scalars or vectors alike), written once so that the
       fused pass and rule_row's rows round alike: e = eta g = (eta a) d + (eta l2) w,
       m <- mu m - e, w <- w + m (Nesterov: w + mu m - e). Needs eta_a, eta_l2, mu and the
       constants nesterov and penalised (l2 != 0) in scope. */
    #define FASTMLP_MOMENTUM_ENTRY(w, m, d, e)                                                \
        do {                                                                                  \
            (e) = eta_a * (d);                                                                \
            if (penalised) (e) += eta_l2 * (w);                                               \
            (m) = mu * (m) - (e);                                                             \
            (w) += nesterov ? mu * (m) - (e) : (m);                                           \
        } while (0)
    #if defined(__GNUC__)
    /* The machine's vector, and the vector of a block: min(R entries, one machine vector);
       a block is an array of them, indexed by constants once unrolled so that it lives in
       registers. (A single vector wider than the machine's would live in memory.) */
    #if defined(__AVX512F__)
    #define FASTMLP_VBYTES 64
    #elif defined(__AVX__)
    #define FASTMLP_VBYTES 32
    #else
    #define FASTMLP_VBYTES 16
    #endif
    /* The widest block: four machine vectors, so that a block's deltas, sums and row
       (twelve vectors) stay in registers; at most 64 columns. */
    #define FASTMLP_WIDEST(T) (4 * FASTMLP_VBYTES / sizeof(T) < 64 ? 4 * FASTMLP_VBYTES / sizeof(T) : 64)
    #define FASTMLP_VB(T, R) ((R) * sizeof(T) < FASTMLP_VBYTES ? (R) * sizeof(T) : FASTMLP_VBYTES)
    #define FASTMLP_UNROLL _Pragma("GCC unroll 16")
    /* Vector k of a block at p (unaligned, and allowed to alias the numbers there). */
    #define FASTMLP_LOAD(v, p, k) ((v) = *(const __typeof__(v) __attribute__((may_alias))*)((p) + (k) * (sizeof(v) / sizeof(*(p)))))
    #define FASTMLP_STORE(p, k, v) (*(__typeof__(v) __attribute__((may_alias))*)((p) + (k) * (sizeof(v) / sizeof(*(p)))) = (v))
    #define FASTMLP_COLUMNS(T, S, R)                                                          \
    typedef T fastmlp_##S##R##_t __attribute__((vector_size(FASTMLP_VB(T, R)), aligned(sizeof(T)))); \
    enum { FASTMLP_N_##S##R = (R) * sizeof(T) / FASTMLP_VB(T, R) };                          \
    /* sum_j w_j d_j over the block, the products added pairwise. */                          \
    static inline T fastmlp_dot_##S##R(const T* w, const fastmlp_##S##R##_t* d) {            \
        enum { N = FASTMLP_N_##S##R };                                                        \
        fastmlp_##S##R##_t p = {0}, wk;                                                       \
        T t[sizeof p / sizeof(T)];                                                            \
        FASTMLP_UNROLL for (int k = 0; k < N; k++) { FASTMLP_LOAD(wk, w, k); p += wk * d[k]; }               \
        memcpy(t, &p, sizeof t);                                                              \
        for (int h = (int)(sizeof p / sizeof(T)) / 2; h >= 1; h /= 2)                         \
            for (int j = 0; j < h; j++) t[j] += t[j + h];                                     \
        return t[0];                                                                          \
    }                                                                                         \
    static inline void fastmlp_forward_##S##R(const T* W, const T* x_in, Py_ssize_t d_in,     \
            Py_ssize_t pitch, T* s) {                                                         \
        enum { N = FASTMLP_N_##S##R };                                                        \
        fastmlp_##S##R##_t acc[N], w;                                                         \
        FASTMLP_UNROLL for (int k = 0; k < N; k++) FASTMLP_LOAD(acc[k], W, k);                               \
        for (Py_ssize_t i = 0; i < d_in; i++) {                                               \
            T xi = x_in[i];                                                                   \
            if (xi == 0) continue;                                                            \
            FASTMLP_UNROLL for (int k = 0; k < N; k++) {                                                     \
                FASTMLP_LOAD(w, W + (i + 1) * pitch, k);                                      \
                acc[k] += xi * w;                                                             \
            }                                                                                 \
        }                                                                                     \
        FASTMLP_UNROLL for (int k = 0; k < N; k++) FASTMLP_STORE(s, k, acc[k]);                              \
    }                                                                                         \
    static inline void fastmlp_backward_##S##R(const T* W, T* target, const T* x_in,          \
            Py_ssize_t d_in, Py_ssize_t pitch, const T* delta, T* back, T scale) {            \
        enum { N = FASTMLP_N_##S##R };                                                        \
        fastmlp_##S##R##_t d[N], o;                                                           \
        FASTMLP_UNROLL for (int k = 0; k < N; k++) FASTMLP_LOAD(d[k], delta, k);                             \
        for (Py_ssize_t i = 0; i < d_in; i++) {                                               \
            T a = scale * x_in[i];                                                            \
            T* out = target + (i + 1) * pitch;                                                \
            if (back) back[i] += fastmlp_dot_##S##R(W + (i + 1) * pitch, d);                  \
            if (a == 0) continue;                                                             \
            FASTMLP_UNROLL for (int k = 0; k < N; k++) {                                                     \
                FASTMLP_LOAD(o, out, k);                                                      \
                o += a * d[k];                                                                \
                FASTMLP_STORE(out, k, o);                                                     \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static inline void fastmlp_update_and_forward_##S##R(T* W, const T* x_in,                 \
            const T* x_next, Py_ssize_t d_in, Py_ssize_t pitch, const T* delta, T scale,      \
            T* s_next) {                                                                      \
        enum { N = FASTMLP_N_##S##R };                                                        \
        fastmlp_##S##R##_t d[N], acc[N], w[N];                                                \
        FASTMLP_UNROLL for (int k = 0; k < N; k++) { FASTMLP_LOAD(d[k], delta, k); FASTMLP_LOAD(acc[k], W, k); } \
        for (Py_ssize_t i = 0; i < d_in; i++) {                                               \
            T a = scale * x_in[i], xn = x_next[i];                                            \
            T* row = W + (i + 1) * pitch;                                                     \
            FASTMLP_UNROLL for (int k = 0; k < N; k++) FASTMLP_LOAD(w[k], row, k);                           \
            if (a != 0)                                                                       \
                FASTMLP_UNROLL for (int k = 0; k < N; k++) { w[k] += a * d[k]; FASTMLP_STORE(row, k, w[k]); } \
            if (xn != 0)                                                                      \
                FASTMLP_UNROLL for (int k = 0; k < N; k++) acc[k] += xn * w[k];                              \
        }                                                                                     \
        FASTMLP_UNROLL for (int k = 0; k < N; k++) FASTMLP_STORE(s_next, k, acc[k]);                         \
    }                                                                                         \
    /* The same with momentum (Nesterov's if nesterov) and L2 (if penalised), its moments M  \
       laid out like W: m <- mu m - e, w <- w + m (Nesterov: w + mu m - e), where            \
       e = eta g = (eta a) d + (eta l2) w; the block's deltas and sums stay in registers,     \
       so that each row costs little beyond the loads and stores of w and m. */               \
    static inline __attribute__((always_inline)) void                                         \
    fastmlp_momentum_and_forward_##S##R(T* W, T* M, const T* x_in,                            \
            const T* x_next, Py_ssize_t d_in, Py_ssize_t pitch, const T* delta, T scale,      \
            T l2, T mu, T eta, int nesterov, int penalised, T* s_next) {                      \
        enum { N = FASTMLP_N_##S##R };                                                        \
        fastmlp_##S##R##_t d[N], acc[N], w[N], m, e;                                          \
        T eta_l2 = eta * l2;                                                                  \
        FASTMLP_UNROLL for (int k = 0; k < N; k++) { FASTMLP_LOAD(d[k], delta, k); FASTMLP_LOAD(acc[k], W, k); } \
        for (Py_ssize_t i = 0; i < d_in; i++) {                                               \
            T eta_a = eta * (scale * x_in[i]), xn = x_next[i];                                \
            T* row = W + (i + 1) * pitch;                                                     \
            T* mrow = M + (i + 1) * pitch;                                                    \
            FASTMLP_UNROLL for (int k = 0; k < N; k++) {                                      \
                FASTMLP_LOAD(w[k], row, k);                                                   \
                FASTMLP_LOAD(m, mrow, k);                                                     \
                FASTMLP_MOMENTUM_ENTRY(w[k], m, d[k], e);                                     \
                FASTMLP_STORE(mrow, k, m);                                                    \
                FASTMLP_STORE(row, k, w[k]);                                                  \
            }                                                                                 \
            if (xn != 0)                                                                      \
                FASTMLP_UNROLL for (int k = 0; k < N; k++) acc[k] += xn * w[k];               \
        }                                                                                     \
        FASTMLP_UNROLL for (int k = 0; k < N; k++) FASTMLP_STORE(s_next, k, acc[k]);          \
    }
    #define FASTMLP_CASES(S, CALL)                                                            \
        switch (r) {                                                                          \
            case 64: CALL(S, 64); break;                                                      \
            case 32: CALL(S, 32); break;                                                      \
            case 16: CALL(S, 16); break;                                                      \
            case 8: CALL(S, 8); break;                                                        \
            case 4: CALL(S, 4); break;                                                        \
            case 2: CALL(S, 2); break;                                                        \
            default: CALL(S, 1);                                                              \
        }
    #define FASTMLP_FORWARD(S, R) fastmlp_forward_##S##R(W, x_in, d_in, pitch, s)
    #define FASTMLP_BACKWARD(S, R) fastmlp_backward_##S##R(W, target, x_in, d_in, pitch, delta, back, scale)
    #define FASTMLP_UPDATE_AND_FORWARD(S, R) \
        fastmlp_update_and_forward_##S##R(W, x_in, x_next, d_in, pitch, delta, scale, s_next)
    /* nesterov and penalised as constants in each case, so that the row loop has no
       branch on them. */
    #define FASTMLP_MOMENTUM_AND_FORWARD(S, R) fastmlp_momentum_and_forward_##S##R(W, M, x_in, \
        x_next, d_in, pitch, delta, scale, l2, mu, eta, 0, 0, s_next)
    #define FASTMLP_NESTEROV_AND_FORWARD(S, R) fastmlp_momentum_and_forward_##S##R(W, M, x_in, \
        x_next, d_in, pitch, delta, scale, l2, mu, eta, 1, 0, s_next)
    #define FASTMLP_MOMENTUM_L2_AND_FORWARD(S, R) fastmlp_momentum_and_forward_##S##R(W, M, x_in, \
        x_next, d_in, pitch, delta, scale, l2, mu, eta, 0, 1, s_next)
    #define FASTMLP_NESTEROV_L2_AND_FORWARD(S, R) fastmlp_momentum_and_forward_##S##R(W, M, x_in, \
        x_next, d_in, pitch, delta, scale, l2, mu, eta, 1, 1, s_next)
    #define FASTMLP_ALL_COLUMNS(T, S)                                                         \
        FASTMLP_COLUMNS(T, S, 64) FASTMLP_COLUMNS(T, S, 32) FASTMLP_COLUMNS(T, S, 16)         \
        FASTMLP_COLUMNS(T, S, 8)                                                              \
        FASTMLP_COLUMNS(T, S, 4) FASTMLP_COLUMNS(T, S, 2) FASTMLP_COLUMNS(T, S, 1)            \
        static inline void fastmlp_forward_columns_##S(const T* W, const T* x_in,             \
                Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r, T* s) {                      \
            FASTMLP_CASES(S, FASTMLP_FORWARD)                                                 \
        }                                                                                     \
        static inline void fastmlp_backward_columns_##S(const T* W, T* target, const T* x_in, \
                Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r, const T* delta, T* back,     \
                T scale) {                                                                    \
            FASTMLP_CASES(S, FASTMLP_BACKWARD)                                                \
        }                                                                                     \
        static inline void fastmlp_update_and_forward_columns_##S(T* W, const T* x_in,        \
                const T* x_next, Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r,             \
                const T* delta, T scale, T* s_next) {                                         \
            FASTMLP_CASES(S, FASTMLP_UPDATE_AND_FORWARD)                                      \
        }                                                                                     \
        static inline void fastmlp_momentum_and_forward_columns_##S(T* W, T* M,               \
                const T* x_in, const T* x_next, Py_ssize_t d_in, Py_ssize_t pitch,            \
                Py_ssize_t r, const T* delta, T scale, T l2, T mu, T eta, int nesterov,       \
                T* s_next) {                                                                  \
            if (l2 != 0) {                                                                    \
                if (nesterov) FASTMLP_CASES(S, FASTMLP_NESTEROV_L2_AND_FORWARD)               \
                else FASTMLP_CASES(S, FASTMLP_MOMENTUM_L2_AND_FORWARD)                        \
            } else if (nesterov)                                                              \
                FASTMLP_CASES(S, FASTMLP_NESTEROV_AND_FORWARD)                                \
            else                                                                              \
                FASTMLP_CASES(S, FASTMLP_MOMENTUM_AND_FORWARD)                                \
        }
    #else
    /* Other compilers: the same loops over the r columns. */
    #define FASTMLP_WIDEST(T) 32
    #define FASTMLP_ALL_COLUMNS(T, S)                                                         \
        static inline void fastmlp_forward_columns_##S(const T* W, const T* x_in,             \
                Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r, T* s) {                      \
            for (Py_ssize_t j = 0; j < r; j++) s[j] = W[j];                                   \
            for (Py_ssize_t i = 0; i < d_in; i++)                                             \
                if (x_in[i] != 0)                                                             \
                    for (Py_ssize_t j = 0; j < r; j++) s[j] += x_in[i] * W[(i + 1) * pitch + j]; \
        }                                                                                     \
        static inline void fastmlp_backward_columns_##S(const T* W, T* target, const T* x_in, \
                Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r, const T* delta, T* back,     \
                T scale) {                                                                    \
            for (Py_ssize_t i = 0; i < d_in; i++) {                                           \
                T a = scale * x_in[i], sum = 0;                                               \
                for (Py_ssize_t j = 0; j < r; j++) sum += W[(i + 1) * pitch + j] * delta[j];  \
                if (back) back[i] += sum;                                                     \
                for (Py_ssize_t j = 0; j < r; j++) target[(i + 1) * pitch + j] += a * delta[j]; \
            }                                                                                 \
        }                                                                                     \
        static inline void fastmlp_update_and_forward_columns_##S(T* W, const T* x_in,        \
                const T* x_next, Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r,             \
                const T* delta, T scale, T* s_next) {                                         \
            for (Py_ssize_t j = 0; j < r; j++) s_next[j] = W[j];                              \
            for (Py_ssize_t i = 0; i < d_in; i++)                                             \
                for (Py_ssize_t j = 0; j < r; j++) {                                          \
                    W[(i + 1) * pitch + j] += scale * x_in[i] * delta[j];                     \
                    s_next[j] += x_next[i] * W[(i + 1) * pitch + j];                          \
                }                                                                             \
        }                                                                                     \
        static inline void fastmlp_momentum_and_forward_columns_##S(T* W, T* M,               \
                const T* x_in, const T* x_next, Py_ssize_t d_in, Py_ssize_t pitch,            \
                Py_ssize_t r, const T* delta, T scale, T l2, T mu, T eta, int nesterov,       \
                T* s_next) {                                                                  \
            for (Py_ssize_t j = 0; j < r; j++) s_next[j] = W[j];                              \
            for (Py_ssize_t i = 0; i < d_in; i++)                                             \
                for (Py_ssize_t j = 0; j < r; j++) {                                          \
                    Py_ssize_t k = (i + 1) * pitch + j;                                       \
                    T eta_a = eta * (scale * x_in[i]), eta_l2 = eta * l2, e;                  \
                    int penalised = l2 != 0;                                                  \
                    FASTMLP_MOMENTUM_ENTRY(W[k], M[k], delta[j], e);                          \
                    if (x_next[i] != 0) s_next[j] += x_next[i] * W[k];                        \
                }                                                                             \
        }
    #endif
    FASTMLP_ALL_COLUMNS(double, d)
    FASTMLP_ALL_COLUMNS(float, f)
    static inline Py_ssize_t fastmlp_widest_block(size_t size) {
        return size == sizeof(double) ? FASTMLP_WIDEST(double) : FASTMLP_WIDEST(float);
    }
    /* AVX-512: the forward sums of any r columns below the widest block in one pass of
       NV vectors, the last one read (and the sums' last one written, once) through the
       mask m of its columns: a narrow layer (10 outputs) is one pass over its rows, not
       two (8 + 2). Masked loads are cheap; the update passes, which would need a masked
       store per row, keep the blocks above. */
    #if defined(__GNUC__) && defined(__AVX512F__)
    #include <immintrin.h>
    #define FASTMLP_FORWARD_TAIL 1
    #define FASTMLP_TAIL_LOAD_d(p, m) _mm512_maskz_loadu_pd((__mmask8)(m), (p))
    #define FASTMLP_TAIL_LOAD_f(p, m) _mm512_maskz_loadu_ps((__mmask16)(m), (p))
    #define FASTMLP_TAIL_STORE_d(p, m, v) _mm512_mask_storeu_pd((p), (__mmask8)(m), (__m512d)(v))
    #define FASTMLP_TAIL_STORE_f(p, m, v) _mm512_mask_storeu_ps((p), (__mmask16)(m), (__m512)(v))
    #define FASTMLP_FORWARD_MASKED(T, S, NV)                                                  \
    static inline void fastmlp_forward_tail_##S##NV(const T* W, const T* x_in,               \
            Py_ssize_t d_in, Py_ssize_t pitch, unsigned m, T* s) {                            \
        typedef T vec __attribute__((vector_size(64), aligned(sizeof(T))));                   \
        enum { N = NV, V = 64 / sizeof(T) };                                                  \
        vec acc[N], w;                                                                        \
        FASTMLP_UNROLL for (int k = 0; k < N - 1; k++) FASTMLP_LOAD(acc[k], W, k);            \
        acc[N - 1] = (vec)FASTMLP_TAIL_LOAD_##S(W + (N - 1) * V, m);                          \
        for (Py_ssize_t i = 0; i < d_in; i++) {                                               \
            T xi = x_in[i];                                                                   \
            const T* row = W + (i + 1) * pitch;                                               \
            if (xi == 0) continue;                                                            \
            FASTMLP_UNROLL for (int k = 0; k < N - 1; k++) {                                  \
                FASTMLP_LOAD(w, row, k);                                                      \
                acc[k] += xi * w;                                                             \
            }                                                                                 \
            w = (vec)FASTMLP_TAIL_LOAD_##S(row + (N - 1) * V, m);                             \
            acc[N - 1] += xi * w;                                                             \
        }                                                                                     \
        FASTMLP_UNROLL for (int k = 0; k < N - 1; k++) FASTMLP_STORE(s, k, acc[k]);           \
        FASTMLP_TAIL_STORE_##S(s + (N - 1) * V, m, acc[N - 1]);                               \
    }
    FASTMLP_FORWARD_MASKED(double, d, 1) FASTMLP_FORWARD_MASKED(double, d, 2)
    FASTMLP_FORWARD_MASKED(double, d, 3) FASTMLP_FORWARD_MASKED(double, d, 4)
    FASTMLP_FORWARD_MASKED(float, f, 1) FASTMLP_FORWARD_MASKED(float, f, 2)
    FASTMLP_FORWARD_MASKED(float, f, 3) FASTMLP_FORWARD_MASKED(float, f, 4)
    #define FASTMLP_FORWARD_TAILS(T, S)                                                       \
    static inline void fastmlp_forward_tail_##S(const T* W, const T* x_in, Py_ssize_t d_in,   \
            Py_ssize_t pitch, Py_ssize_t r, T* s) {                                           \
        enum { V = 64 / sizeof(T) };                                                          \
        Py_ssize_t n = (r + V - 1) / V;                                                       \
        unsigned m = (1u << (r - (n - 1) * V)) - 1;                                           \
        switch (n) {                                                                          \
            case 4: fastmlp_forward_tail_##S##4(W, x_in, d_in, pitch, m, s); break;           \
            case 3: fastmlp_forward_tail_##S##3(W, x_in, d_in, pitch, m, s); break;           \
            case 2: fastmlp_forward_tail_##S##2(W, x_in, d_in, pitch, m, s); break;           \
            default: fastmlp_forward_tail_##S##1(W, x_in, d_in, pitch, m, s);                 \
        }                                                                                     \
    }
    #else
    #define FASTMLP_FORWARD_TAIL 0
    #define FASTMLP_FORWARD_TAILS(T, S)                                                       \
    static inline void fastmlp_forward_tail_##S(const T* W, const T* x_in, Py_ssize_t d_in,   \
            Py_ssize_t pitch, Py_ssize_t r, T* s) {                                           \
        fastmlp_forward_columns_##S(W, x_in, d_in, pitch, r, s);                              \
    }
    #endif
    FASTMLP_FORWARD_TAILS(double, d)
    FASTMLP_FORWARD_TAILS(float, f)
    static inline int fastmlp_forward_tail(void) { return FASTMLP_FORWARD_TAIL; }
    """
    Py_ssize_t fastmlp_widest_block(size_t size) noexcept nogil
    int fastmlp_forward_tail() noexcept nogil
    void fastmlp_forward_tail_d(const double* W, const double* x_in, Py_ssize_t d_in,
                                Py_ssize_t pitch, Py_ssize_t r, double* s) noexcept nogil
    void fastmlp_forward_tail_f(const float* W, const float* x_in, Py_ssize_t d_in,
                                Py_ssize_t pitch, Py_ssize_t r, float* s) noexcept nogil
    void fastmlp_forward_columns_d(const double* W, const double* x_in, Py_ssize_t d_in,
                                   Py_ssize_t pitch, Py_ssize_t r, double* s) noexcept nogil
    void fastmlp_forward_columns_f(const float* W, const float* x_in, Py_ssize_t d_in,
                                   Py_ssize_t pitch, Py_ssize_t r, float* s) noexcept nogil
    void fastmlp_backward_columns_d(const double* W, double* target, const double* x_in,
                                    Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r,
                                    const double* delta, double* back, double scale) noexcept nogil
    void fastmlp_backward_columns_f(const float* W, float* target, const float* x_in,
                                    Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r,
                                    const float* delta, float* back, float scale) noexcept nogil
    void fastmlp_update_and_forward_columns_d(double* W, const double* x_in, const double* x_next,
                                              Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r,
                                              const double* delta, double scale,
                                              double* s_next) noexcept nogil
    void fastmlp_update_and_forward_columns_f(float* W, const float* x_in, const float* x_next,
                                              Py_ssize_t d_in, Py_ssize_t pitch, Py_ssize_t r,
                                              const float* delta, float scale,
                                              float* s_next) noexcept nogil
    void fastmlp_momentum_and_forward_columns_d(double* W, double* M, const double* x_in,
                                                const double* x_next, Py_ssize_t d_in,
                                                Py_ssize_t pitch, Py_ssize_t r, const double* delta,
                                                double scale, double l2, double mu, double eta,
                                                int nesterov, double* s_next) noexcept nogil
    void fastmlp_momentum_and_forward_columns_f(float* W, float* M, const float* x_in,
                                                const float* x_next, Py_ssize_t d_in,
                                                Py_ssize_t pitch, Py_ssize_t r, const float* delta,
                                                float scale, float l2, float mu, float eta,
                                                int nesterov, float* s_next) noexcept nogil


cdef inline void forward_columns(const floating* W, const floating* x_in, Py_ssize_t d_in,
                                 Py_ssize_t d_out, Py_ssize_t jb, Py_ssize_t r, floating* s) noexcept nogil:
    # Columns jb .. jb+r-1 of s = W^T [1; x] (r one of the block widths): the r partial sums
    # stay in registers while the rows stream past, and inputs x_i = 0 (sparse data, ReLU
    # units) are skipped.
    if floating is double:
        fastmlp_forward_columns_d(W + jb, x_in, d_in, d_out, r, s + jb)
    else:
        fastmlp_forward_columns_f(W + jb, x_in, d_in, d_out, r, s + jb)


cdef inline Py_ssize_t block_width(Py_ssize_t left, size_t size) noexcept nogil:
    """The widest column block within ``left`` columns of ``size``-byte numbers: 64, 32, 16,
    8, 4, 2 or 1 columns, at most four of the machine's vectors (fastmlp_widest_block).
    The column loops are compiled for these constant widths, each unrolled into whole
    vectors held in registers: a narrow layer (10 outputs: 8 + 2) pays no per-row loop
    over a width known only at run time."""
    cdef Py_ssize_t r = fastmlp_widest_block(size)
    while r > left:
        r >>= 1
    return r


cdef void layer_forward(const floating* W, const floating* x_in, Py_ssize_t d_in,
                        Py_ssize_t d_out, floating* s) noexcept nogil:
    """s_j = w_0j + sum_i w_ij x_i for j = 1..d_out, a column block at a time (on AVX-512
    the columns after the last widest block in one masked block)."""
    cdef Py_ssize_t r, jb = 0
    while jb < d_out:
        r = d_out - jb
        if r < fastmlp_widest_block(sizeof(floating)) and fastmlp_forward_tail():
            if floating is double:
                fastmlp_forward_tail_d(W + jb, x_in, d_in, d_out, r, s + jb)
            else:
                fastmlp_forward_tail_f(W + jb, x_in, d_in, d_out, r, s + jb)
        else:
            r = block_width(r, sizeof(floating))
            forward_columns(W, x_in, d_in, d_out, jb, r, s)
        jb += r


cdef inline floating dot(const floating* a, const floating* b, Py_ssize_t n) noexcept nogil:
    """sum_j a_j b_j with LANES partial sums, so that the loop vectorises (a single running
    sum would force strict left-to-right order)."""
    cdef Py_ssize_t j, k, n_lanes = n - n % LANES
    cdef floating acc[LANES]
    cdef floating total = 0
    if n < LANES:
        # A short row (a narrow column block, where n is a constant): no partial sums.
        for j in range(n):
            total += a[j] * b[j]
        return total
    for k in range(LANES):
        acc[k] = 0
    j = 0
    while j < n_lanes:
        for k in range(LANES):
            acc[k] += a[j + k] * b[j + k]
        j += LANES
    # The partial sums pairwise (halving the vector, then again), then the leftover terms.
    for k in range(LANES // 2):
        acc[k] += acc[k + LANES // 2]
    for k in range(LANES // 4):
        acc[k] += acc[k + LANES // 4]
    total = acc[0] + acc[1]
    for j in range(n_lanes, n):
        total += a[j] * b[j]
    return total


cdef inline void soft_threshold(floating* w, Py_ssize_t n, floating t) noexcept nogil:
    """w <- sign(w) max(|w| - t, 0): the L1 step, which leaves at zero a weight it would
    carry across zero."""
    cdef Py_ssize_t j
    cdef floating z
    for j in range(n):
        z = w[j]
        w[j] = z - t if z > t else (z + t if z < -t else 0)


# ---------------------------------------------------------------------------------------
# Optimizers other than the lecture's plain step. Each step takes the gradient g (of one
# sample, or the mean of a batch), adds l2 w on the weights, applies the optimizer's rule
# and then L1's soft threshold on the weights, entry by entry: one pass over w, m and v.

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


cdef extern from *:
    """
    /* One row of an optimizer step (see rule_row), with restrict pointers: w, m, v and d
       never overlap, and saying so spares each call the compiler's overlap checks, which
       cost as much as the arithmetic on the short rows of a column block. */
    #define FASTMLP_RULE_ROWS(T, SQRT, S)                                                    \
    static inline void fastmlp_adam_row_##S(T* __restrict w, T* __restrict m,               \
            T* __restrict v, const T* __restrict d, T a, T l2, T b1, T c1, T b2, T c2,       \
            T step, T eps, Py_ssize_t r) {                                                  \
        for (Py_ssize_t j = 0; j < r; j++) {                                                \
            T g = a * d[j] + l2 * w[j];                                                     \
            T mj = b1 * m[j] + c1 * g, vj = b2 * v[j] + c2 * g * g;                          \
            m[j] = mj;                                                                      \
            v[j] = vj;                                                                      \
            w[j] -= step * mj / (SQRT(vj) + eps);                                           \
        }                                                                                   \
    }                                                                                       \
    static inline void fastmlp_momentum_row_##S(T* __restrict w, T* __restrict m,           \
            const T* __restrict d, T a, T l2, T mu, T eta, int nesterov, Py_ssize_t r) {    \
        if (l2 != 0) {                                                                      \
            if (nesterov) FASTMLP_MOMENTUM_ROW(T, 1, 1) else FASTMLP_MOMENTUM_ROW(T, 0, 1)   \
        } else if (nesterov)                                                                \
            FASTMLP_MOMENTUM_ROW(T, 1, 0)                                                   \
        else                                                                                \
            FASTMLP_MOMENTUM_ROW(T, 0, 0)                                                   \
    }
    /* The loop of a momentum row, nesterov and penalised constants (see
       FASTMLP_MOMENTUM_ENTRY). */
    #define FASTMLP_MOMENTUM_ROW(T, NESTEROV, PENALISED)                                     \
        {                                                                                   \
            const int nesterov = NESTEROV, penalised = PENALISED;                           \
            T eta_a = eta * a, eta_l2 = eta * l2, e;                                        \
            for (Py_ssize_t j = 0; j < r; j++)                                              \
                FASTMLP_MOMENTUM_ENTRY(w[j], m[j], d[j], e);                                \
        }
    FASTMLP_RULE_ROWS(double, sqrt, d)
    FASTMLP_RULE_ROWS(float, sqrtf, f)
    """
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
    The arithmetic is in the network's precision, so that it vectorises."""
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


cdef inline void backward_columns(const floating* W, floating* target, const floating* x_in,
                                  Py_ssize_t d_in, Py_ssize_t d_out, Py_ssize_t jb,
                                  Py_ssize_t r, const floating* delta, floating* back,
                                  floating scale) noexcept nogil:
    # Columns jb .. jb+r-1 of layer_backward without penalties (r one of the block widths):
    # back_i += sum_j w_ij delta_j over the block, then target_ij += scale x_i delta_j.
    if floating is double:
        fastmlp_backward_columns_d(W + jb, target + jb, x_in, d_in, d_out, r, delta + jb, back, scale)
    else:
        fastmlp_backward_columns_f(W + jb, target + jb, x_in, d_in, d_out, r, delta + jb, back, scale)


cdef inline void update_and_forward_columns(floating* W, const floating* x_in,
                                            const floating* x_next, Py_ssize_t d_in,
                                            Py_ssize_t d_out, Py_ssize_t jb, Py_ssize_t r,
                                            const floating* delta, floating scale,
                                            floating* s_next) noexcept nogil:
    # Columns jb .. jb+r-1 of layer_update_and_forward with the plain step (r one of the
    # block widths): each row block is updated and then, while it is in registers, added
    # into the next sample's sums.
    if floating is double:
        fastmlp_update_and_forward_columns_d(W + jb, x_in, x_next, d_in, d_out, r, delta + jb,
                                             scale, s_next + jb)
    else:
        fastmlp_update_and_forward_columns_f(W + jb, x_in, x_next, d_in, d_out, r, delta + jb,
                                             scale, s_next + jb)


cdef inline void optimizer_and_forward_columns(floating* W, floating* M, floating* V,
                                               const floating* x_in, const floating* x_next,
                                               Py_ssize_t d_in, Py_ssize_t d_out, Py_ssize_t jb,
                                               Py_ssize_t r, const floating* delta, floating c,
                                               const Optimizer* rule,
                                               floating* s_next) noexcept nogil:
    # The same with the optimizer's step (a function of its own, so that the plain step
    # keeps its registers).
    cdef Py_ssize_t i, j, k
    cdef floating xn
    cdef floating d[BLOCK]
    cdef floating acc[BLOCK]
    for j in range(r):
        d[j] = delta[jb + j]
        acc[j] = W[jb + j]
    for i in range(d_in):
        k = (i + 1) * d_out + jb
        rule_row(W + k, M + k, V + k, c * x_in[i], d, r, True, rule)
        xn = x_next[i]
        if xn != 0:
            for j in range(r):
                acc[j] += xn * W[k + j]
    for j in range(r):
        s_next[jb + j] = acc[j]


cdef inline bint momentum_in_blocks(const Optimizer* rule) noexcept nogil:
    """Whether the update of W^(1) takes momentum's (or Nesterov's) fused column blocks:
    without L1, whose soft threshold they leave out."""
    return rule != NULL and (rule.kind == MOMENTUM or rule.kind == NESTEROV) and rule.l1 == 0


cdef inline void momentum_and_forward_columns(floating* W, floating* M, const floating* x_in,
                                              const floating* x_next, Py_ssize_t d_in,
                                              Py_ssize_t d_out, Py_ssize_t jb, Py_ssize_t r,
                                              const floating* delta, floating scale,
                                              const Optimizer* rule, floating* s_next) noexcept nogil:
    # Columns jb .. jb+r-1 of layer_update_and_forward with momentum or Nesterov's step and
    # no L1 (r one of the block widths); the same arithmetic as rule_row.
    cdef floating l2 = <floating>rule.l2, mu = <floating>rule.mu, eta = <floating>rule.eta
    if floating is double:
        fastmlp_momentum_and_forward_columns_d(W + jb, M + jb, x_in, x_next, d_in, d_out, r,
                                               delta + jb, scale, l2, mu, eta,
                                               rule.kind == NESTEROV, s_next + jb)
    else:
        fastmlp_momentum_and_forward_columns_f(W + jb, M + jb, x_in, x_next, d_in, d_out, r,
                                               delta + jb, scale, l2, mu, eta,
                                               rule.kind == NESTEROV, s_next + jb)


cdef void layer_update_and_forward(floating* W, floating* M, floating* V, const floating* x_in,
                                   const floating* x_next, Py_ssize_t d_in, Py_ssize_t d_out,
                                   const floating* delta, floating scale, const Optimizer* rule,
                                   floating* s_next) noexcept nogil:
    """The update of W^(1) fused with the next sample's forward sums
    s_next = W^(1)^T [1; x_next] over the updated rows: one pass over W^(1) instead of
    two, with the same arithmetic in the same order as the two passes. The update is the
    plain step w_ij += scale x_i delta_j, or with ``rule`` the optimizer's step (moments
    M, V) from the gradient scale x_i delta_j."""
    cdef Py_ssize_t j, r, jb = 0
    if rule != NULL:
        rule_row(W, M, V, scale, delta, d_out, False, rule)
    else:
        for j in range(d_out):
            W[j] += scale * delta[j]
    if momentum_in_blocks(rule):
        # Momentum's step in column blocks that keep their deltas and sums in registers.
        while jb < d_out:
            r = block_width(d_out - jb, sizeof(floating))
            momentum_and_forward_columns(W, M, x_in, x_next, d_in, d_out, jb, r, delta, scale,
                                         rule, s_next)
            jb += r
        return
    if rule != NULL:
        # Whole blocks with a constant width, so that each row's step is unrolled.
        while jb + BLOCK <= d_out:
            optimizer_and_forward_columns(W, M, V, x_in, x_next, d_in, d_out, jb, BLOCK, delta,
                                          scale, rule, s_next)
            jb += BLOCK
        if jb < d_out:
            optimizer_and_forward_columns(W, M, V, x_in, x_next, d_in, d_out, jb, d_out - jb, delta,
                                          scale, rule, s_next)
        return
    while jb < d_out:
        r = block_width(d_out - jb, sizeof(floating))
        update_and_forward_columns(W, x_in, x_next, d_in, d_out, jb, r, delta, scale, s_next)
        jb += r


cdef void penalised_columns(const floating* W, floating* target, const floating* x_in,
                            Py_ssize_t d_in, Py_ssize_t d_out, Py_ssize_t jb, Py_ssize_t r,
                            const floating* delta, floating* back, const Step* step) noexcept nogil:
    # The same with weight decay and the L1 soft threshold, in a function of its own so
    # that the plain step keeps its tight loop.
    cdef Py_ssize_t i, j
    cdef floating a, decay = <floating>step.decay, shrink = <floating>step.shrink
    cdef floating* out
    for i in range(d_in):
        if back != NULL:
            back[i] += dot(W + (i + 1) * d_out + jb, delta + jb, r)
        out = target + (i + 1) * d_out + jb
        a = <floating>step.scale * x_in[i]
        for j in range(r):
            out[j] = decay * out[j] + a * delta[jb + j]
        if shrink > 0:
            soft_threshold(out, r, shrink)


cdef void layer_backward(const floating* W, floating* target, const floating* x_in,
                         Py_ssize_t d_in, Py_ssize_t d_out, const floating* delta,
                         floating* back, const Step* step) noexcept nogil:
    """One pass over W^(l): back_i = sum_j w_ij delta_j (if back is not NULL) and the
    step's change of target (see Step), a column block at a time.

    With target == W and an SGD step this is the lecture's in-place update (with the
    penalties' weight decay and soft threshold on the weights, not the bias), fused with
    the delta recursion: each row block is read for the sum before it is changed. With
    target a zeroed gradient buffer and GRADIENT it writes dl/dw_ij = x_i delta_j.
    """
    cdef Py_ssize_t j, r, jb = 0
    cdef floating a = <floating>step.scale
    for j in range(d_out):
        target[j] += <floating>step.scale * delta[j]
    if back != NULL:
        memset(back, 0, d_in * sizeof(floating))
    if step.decay != 1 or step.shrink != 0:
        penalised_columns(W, target, x_in, d_in, d_out, 0, d_out, delta, back, step)
        return
    while jb < d_out:
        r = block_width(d_out - jb, sizeof(floating))
        backward_columns(W, target, x_in, d_in, d_out, jb, r, delta, back, a)
        jb += r


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


# ---------------------------------------------------------------------------------------
# One sample: forward through every layer, then the delta recursion.
# s and x hold s^(1..L) and x^(1..L) back to back (d^(1) + ... + d^(L) entries); the
# input x^(0) stays where it is.

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
    were. Stops at the first non-finite loss (that sample's update is made; the caller
    puts back the weights) and returns how many samples were completed."""
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


# ---------------------------------------------------------------------------------------
# A batch of B samples at once: each layer is a matrix product through BLAS.
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
                        Py_ssize_t k0, floating* R, floating* Xd) noexcept nogil:
    """S^(l) = [1 X^(l-1)] W^(l) and X^(l) = theta(S^(l)) for all l, B rows at a time.
    S and Xs hold the layers' (B, d^(l)) blocks back to back. With dropout (opt; the rows
    are the samples at positions k0.. of the epoch), R and Xd hold the factors and the
    dropped outputs of each sample like forward_sample's r and xd, in the same blocks."""
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
                           floating* R, floating* Xd) noexcept nogil:
    """Forward the batch, then for l = L..1: Delta^(l-1) = (Delta^(l) W^(l)^T) * theta'
    and the step's change of target^(l) from the mean (1 / B) [1 X^(l-1)]^T Delta^(l)
    (see Step). An SGD step into params is one minibatch step with the mean gradient;
    GRADIENT into a zeroed buffer gives the mean gradient. weight: the rows' sample
    weights, or NULL; opt, k0, R, Xd: dropout, as in forward_batch. Returns the summed
    (weighted) loss."""
    cdef int l
    cdef Py_ssize_t top = 0, b, j, d_in, d_out
    cdef double loss = 0.0, row_loss
    cdef floating a = <floating>(step.scale / B), decay = <floating>step.decay
    cdef floating* T
    cdef const floating* W
    cdef const floating* x_in
    for l in range(net.L):
        top += B * net.d[l + 1]
    forward_batch(net, params, X0, B, S, Xs, opt, k0, R, Xd)
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
    # Room for one minibatch: its rows of X, Y and the sample weights, and the per-layer
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


cdef double batch_step(const Net* net, floating* params, floating* target, const floating* X,
                       const floating* Y, const Py_ssize_t* order, Py_ssize_t start,
                       Py_ssize_t B, const Step* step, const Options* opt,
                       const Batch* room) noexcept nogil:
    """Gathers the rows order[start .. start+B-1] and runs backprop_batch on them; with
    update dropout, keeps a copy of params for keep_frozen. Returns the summed loss."""
    cdef Py_ssize_t b, row, d0 = net.d[0], dL = net.d[net.L]
    cdef floating* Xb = <floating*>room.Xb
    cdef floating* Yb = <floating*>room.Yb
    for b in range(B):
        row = order[start + b]
        memcpy(Xb + b * d0, X + row * d0, d0 * sizeof(floating))
        memcpy(Yb + b * dL, Y + row * dL, dL * sizeof(floating))
        if opt.weight != NULL:
            room.Wb[b] = opt.weight[row]
    if opt.update_threshold:
        memcpy(room.before, params, net.n_params * sizeof(floating))
    return backprop_batch(net, params, target, Xb, Yb, B, <floating*>room.S, <floating*>room.Xs,
                          <floating*>room.D, step, room.Wb if opt.weight != NULL else NULL, opt,
                          opt.position + start, <floating*>room.R, <floating*>room.Xd)


cdef Py_ssize_t minibatch_epoch_nogil(const Net* net, floating* params, const floating* X,
                                      const floating* Y, const Py_ssize_t* order,
                                      Py_ssize_t n, Py_ssize_t batch, const Step* step,
                                      const Options* opt, const Batch* room,
                                      double* loss_sum) noexcept nogil:
    """Minibatch SGD over the samples in order, batch rows per step (the last step takes
    what is left), with opt's sample weights, dropout and update dropout. Stops at the
    first non-finite batch loss; returns samples completed."""
    cdef Py_ssize_t start = 0, B
    cdef double loss, total = 0.0
    while start < n:
        B = min(batch, n - start)
        loss = batch_step(net, params, params, X, Y, order, start, B, step, opt, room)
        if not isfinite(loss):
            loss_sum[0] = total
            return start
        if opt.update_threshold:
            keep_frozen(opt, opt.position + start, params, <floating*>room.before, net.n_params)
        total += loss
        start += B
    loss_sum[0] = total
    return n


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


cdef Py_ssize_t optimizer_epoch_nogil(const Net* net, floating* params, const floating* X,
                                      const floating* Y, const Py_ssize_t* order, Py_ssize_t n,
                                      Py_ssize_t batch, Optimizer* rule, const Options* opt,
                                      floating* grad, const Batch* room,
                                      double* loss_sum) noexcept nogil:
    """Like minibatch_epoch_nogil, each step by the optimizer ``rule`` (update dropout
    keeps weights, not their moments, as they were). Batch 1 is sgd_epoch_nogil's."""
    cdef Py_ssize_t start = 0, B
    cdef double loss, total = 0.0
    if batch == 1:
        return sgd_epoch_nogil(net, params, X, Y, order, n, &GRADIENT, opt, <floating*>room.S,
                               <floating*>room.Xs, <floating*>room.D, <floating*>room.R,
                               <floating*>room.Xd, <floating*>room.before, rule, loss_sum)
    while start < n:
        B = min(batch, n - start)
        memset(grad, 0, net.n_params * sizeof(floating))
        loss = batch_step(net, params, grad, X, Y, order, start, B, &GRADIENT, opt, room)
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


include "_smallbatch.pxi"


# ---------------------------------------------------------------------------------------
# Python entry points: thin, typed, contiguous; inputs are already validated.
#
# The training entry points take the options of fastmlp._stepping.Steps as keywords:
# weight (sample weights by row of X, float64, or None), dropout (a float64 rate for each
# of layers 1..L, the output's 0, or None), update_dropout (a rate), key (the epoch's key
# for the draws) and position (where in the epoch order[0] stands).

cdef Options options_of(Architecture arch, Py_ssize_t rows, const double[::1] weight,
                        const double[::1] dropout, double update_dropout, uint64_t key,
                        Py_ssize_t position) except *:
    # The lengths are checked here (cheaply) because the kernels index these arrays blind.
    if weight is not None and weight.shape[0] != rows:
        raise ValueError(f"weight has {weight.shape[0]} entries for {rows} rows of X")
    if dropout is not None and dropout.shape[0] != arch.net.L:
        raise ValueError(f"dropout has {dropout.shape[0]} rates for {arch.net.L} layers")
    cdef Options opt = Options(NULL, NULL, threshold_of(update_dropout), key, position)
    if weight is not None:
        opt.weight = &weight[0]
    if dropout is not None:
        opt.dropout = &dropout[0]
    return opt


cdef void* room_of(list keep, Py_ssize_t n, dtype):
    """A new array of n entries (at least one) of dtype, kept alive in ``keep``."""
    a = np.empty(max(n, 1), dtype=dtype)
    keep.append(a)
    cdef unsigned char[::1] raw = a.view(np.uint8)
    return &raw[0]


cdef Batch batch_room(Architecture arch, Py_ssize_t B, dtype, const Options* opt, list keep):
    """Room for steps of B samples, with the buffers that opt's dropout and update dropout
    need (the arrays live in ``keep``)."""
    cdef Py_ssize_t hidden = B * (arch.units - arch.d[0])
    cdef bint dropout = opt.dropout != NULL
    return Batch(
        room_of(keep, B * arch.d[0], dtype), room_of(keep, B * arch.d[arch.net.L], dtype),
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
                          <Options*>NULL, 0, <floating*>NULL, <floating*>NULL)
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
                                   <Options*>NULL, 0, <floating*>NULL, <floating*>NULL)
            start += B
    return loss / n


def sgd_epoch(Architecture arch, floating[::1] params, const floating[:, ::1] X,
              const floating[:, ::1] Y, const Py_ssize_t[::1] order, double eta,
              double l2=0.0, double l1=0.0, *, const double[::1] weight=None,
              const double[::1] dropout=None, double update_dropout=0.0, uint64_t key=0,
              Py_ssize_t position=0):
    """Per-sample SGD over X[order], in place, without the GIL; l2 and l1 penalise the
    weights (not the biases): w <- soft-threshold(w - eta (dl/dw + l2 w), eta l1); the
    keywords as above. Returns (summed loss, samples completed); fewer than len(order)
    means a non-finite loss."""
    dtype = np.float64 if floating is double else np.float32
    cdef Py_ssize_t hidden = arch.units - arch.d[0]
    cdef floating[::1] s = np.empty(hidden, dtype=dtype)
    cdef floating[::1] x = np.empty(hidden, dtype=dtype)
    cdef floating[::1] delta = np.empty(hidden, dtype=dtype)
    cdef Options opt = options_of(arch, X.shape[0], weight, dropout, update_dropout, key, position)
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
                    double update_dropout=0.0, uint64_t key=0, Py_ssize_t position=0):
    """Minibatch SGD (mean gradient per step, penalties and keywords as in sgd_epoch) over
    X[order], in place, without the GIL. Returns (summed loss, samples completed)."""
    dtype = np.float64 if floating is double else np.float32
    cdef Py_ssize_t B = min(batch_size, order.shape[0])
    cdef Options opt = options_of(arch, X.shape[0], weight, dropout, update_dropout, key, position)
    cdef Step step = sgd_step_of(eta, l2, l1)
    if takes_small_batch(&arch.net, B, &opt):
        return small_batch_epoch(arch, params, X, Y, order, B, &step, &opt)
    cdef list keep = []
    cdef Batch room = batch_room(arch, B, dtype, &opt, keep)
    cdef double loss_sum = 0.0
    cdef Py_ssize_t done
    with nogil:
        done = minibatch_epoch_nogil(&arch.net, &params[0], &X[0, 0], &Y[0, 0], &order[0],
                                     order.shape[0], B, &step, &opt, &room, &loss_sum)
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
                    Py_ssize_t position=0):
    """SGD over X[order] with momentum, Nesterov momentum or Adam (state m, v and the step
    count t, updated in place / returned), keywords as in sgd_epoch. Returns (summed
    loss, samples completed, t)."""
    dtype = np.float64 if floating is double else np.float32
    cdef Py_ssize_t B = min(batch_size, order.shape[0])
    # Per sample the steps are made in backprop's passes; a batch's mean gradient needs room.
    cdef floating[::1] grad = np.empty(params.shape[0] if B > 1 else 1, dtype=dtype)
    cdef Options opt = options_of(arch, X.shape[0], weight, dropout, update_dropout, key, position)
    cdef list keep = []
    cdef Batch room = batch_room(arch, B, dtype, &opt, keep)
    cdef Optimizer rule = Optimizer(OPTIMIZER_CODES[kind], eta, l2, l1, mu, beta1, beta2, epsilon, t,
                                    eta, &m[0], &v[0])
    cdef double loss_sum = 0.0
    cdef Py_ssize_t done
    with nogil:
        done = optimizer_epoch_nogil(&arch.net, &params[0], &X[0, 0], &Y[0, 0], &order[0],
                                     order.shape[0], B, &rule, &opt, &grad[0], &room, &loss_sum)
    return loss_sum, done, rule.t


include "_large_steps.pxi"
