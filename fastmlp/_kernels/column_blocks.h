/* The column blocks of the per-sample layer loops (forward_columns, backward_columns,
   update_and_forward_columns), R = 64, 32, 16, 8, 4, 2 or 1 columns at a time.
   With GCC or Clang the block is one generic vector of R entries, which the compiler
   splits into the machine's registers: each row of a block is then a few whole-vector
   instructions (the auto-vectoriser left the unrolled narrow blocks scalar). W, s,
   target and delta point at the block's first column; rows are ``pitch`` apart. */
#ifndef FASTMLP_COLUMN_BLOCKS_H
#define FASTMLP_COLUMN_BLOCKS_H

#include <Python.h>
#include <string.h>

#include "optimizer_rows.h" /* FASTMLP_MOMENTUM_ENTRY */
#include "portable.h"

#if FASTMLP_VECTORS
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
FASTMLP_ALWAYS_INLINE void                                                                \
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
/* Without vector extensions (see portable.h): the same loops over the r columns. */
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
#if FASTMLP_VECTORS && defined(__AVX512F__)
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

#endif /* FASTMLP_COLUMN_BLOCKS_H */
