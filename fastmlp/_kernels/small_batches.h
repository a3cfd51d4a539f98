/* The small-batch kernels: minibatch steps on a few samples as two passes over each
   W^(l) in vector registers, without BLAS (small_batches.pxi). */
#ifndef FASTMLP_SMALL_BATCHES_H
#define FASTMLP_SMALL_BATCHES_H

#include <Python.h>
#include <string.h>

#include "portable.h"

/* Bytes per vector (the padding unit of a row: one register of the build's widest
   kind), vectors per column chunk, samples per register block of the forward pass
   and rows per block of the update. With AVX-512 a chunk is 4 of the 32 registers, a
   block of 5 samples 20 accumulators and one of 4 rows 16; with the 16 registers of
   AVX2 or SSE2, blocks of 2 (8 accumulators). */
#if defined(__AVX512F__)
#define FASTMLP_SB_USED 1
#define FASTMLP_SB_VECTOR 64
#define FASTMLP_SB_BLOCK 5
#define FASTMLP_SB_ROWS 4
#elif defined(__AVX__)
#define FASTMLP_SB_USED 0
#define FASTMLP_SB_VECTOR 32
#define FASTMLP_SB_BLOCK 2
#define FASTMLP_SB_ROWS 2
#else
#define FASTMLP_SB_USED 0
#define FASTMLP_SB_VECTOR 16
#define FASTMLP_SB_BLOCK 2
#define FASTMLP_SB_ROWS 2
#endif
#define FASTMLP_SB_CHUNK 4
#define FASTMLP_SB_BAND 16384
#define FASTMLP_SB_FEWER_ROWS(r) ((r) < FASTMLP_SB_ROWS ? (r) : FASTMLP_SB_ROWS)
#define FASTMLP_SB_AT_MOST(k) ((k) < FASTMLP_SB_BLOCK ? (k) : FASTMLP_SB_BLOCK)
#if FASTMLP_VECTORS
#define FASTMLP_SB_LANES(T) ((Py_ssize_t)(FASTMLP_SB_VECTOR / sizeof(T)))
typedef double fastmlp_vd __attribute__((vector_size(FASTMLP_SB_VECTOR), aligned(sizeof(double)), may_alias));
typedef float fastmlp_vf __attribute__((vector_size(FASTMLP_SB_VECTOR), aligned(sizeof(float)), may_alias));
#else
/* Without vector extensions (see portable.h) a vector is one number: the same loops in
   scalars, over rows still padded to FASTMLP_SB_VECTOR bytes. (Only the AVX-512 build
   takes these loops, so CI's portable build is where the scalar ones run.) */
#define FASTMLP_SB_LANES(T) ((Py_ssize_t)1)
typedef double fastmlp_vd;
typedef float fastmlp_vf;
#endif
/* The sum of a vector's entries by halves: a few additions of halves, not one after
   the other for every entry. */
#define FASTMLP_SB_SUM(T, V, S)                                                         \
static inline T fastmlp_sb_sum_##S(V t) {                                               \
    T h[sizeof(V) / sizeof(T)];                                                         \
    memcpy(h, &t, sizeof h);                                                            \
    for (int w = (int)(sizeof(V) / sizeof(T)) / 2; w > 0; w /= 2)                       \
        for (int e = 0; e < w; e++)                                                     \
            h[e] += h[e + w];                                                           \
    return h[0];                                                                        \
}
FASTMLP_SB_SUM(double, fastmlp_vd, d)
FASTMLP_SB_SUM(float, fastmlp_vf, f)

#define FASTMLP_SB_KERNELS(T, V, S)                                                     \
/* Columns jb .. jb + nv vectors of s_k for kn samples (rows of s, P apart): s_k +=   \
   sum_i x_k[i] w_i over the inputs i0 <= i < i1, starting from the bias row w_0 if i0 \
   is 0; kn and nv are constants after inlining, so acc stays in registers. */         \
FASTMLP_ALWAYS_INLINE void fastmlp_sb_forward_block_##S(       \
        const T* W, Py_ssize_t P, const T* const* x, Py_ssize_t i0, Py_ssize_t i1,      \
        Py_ssize_t jb, T* s, const int kn, const int nv) {                              \
    V acc[FASTMLP_SB_BLOCK][FASTMLP_SB_CHUNK];                                          \
    for (int k = 0; k < kn; k++)                                                        \
        for (int v = 0; v < nv; v++)                                                    \
            acc[k][v] = *(const V*)((i0 == 0 ? W : s + k * P) + jb + FASTMLP_SB_LANES(T) * v); \
    for (Py_ssize_t i = i0; i < i1; i++) {                                              \
        const T* row = W + (i + 1) * P + jb;                                            \
        V w[FASTMLP_SB_CHUNK];                                                          \
        for (int v = 0; v < nv; v++)                                                    \
            w[v] = *(const V*)(row + FASTMLP_SB_LANES(T) * v);                             \
        for (int k = 0; k < kn; k++) {                                                  \
            T xk = x[k][i];                                                             \
            for (int v = 0; v < nv; v++)                                                \
                acc[k][v] += xk * w[v];                                                 \
        }                                                                               \
    }                                                                                   \
    for (int k = 0; k < kn; k++)                                                        \
        for (int v = 0; v < nv; v++)                                                    \
            *(V*)(s + k * P + jb + FASTMLP_SB_LANES(T) * v) = acc[k][v];                   \
}                                                                                       \
FASTMLP_ALWAYS_INLINE void fastmlp_sb_forward_chunk_##S(       \
        const T* W, Py_ssize_t P, const T* const* x, Py_ssize_t i0, Py_ssize_t i1,      \
        Py_ssize_t jb, T* s, int kn, const int nv) {                                    \
    switch (kn) {                                                                       \
    case 1: fastmlp_sb_forward_block_##S(W, P, x, i0, i1, jb, s, FASTMLP_SB_AT_MOST(1), nv); break; \
    case 2: fastmlp_sb_forward_block_##S(W, P, x, i0, i1, jb, s, FASTMLP_SB_AT_MOST(2), nv); break; \
    case 3: fastmlp_sb_forward_block_##S(W, P, x, i0, i1, jb, s, FASTMLP_SB_AT_MOST(3), nv); break; \
    case 4: fastmlp_sb_forward_block_##S(W, P, x, i0, i1, jb, s, FASTMLP_SB_AT_MOST(4), nv); break; \
    default: fastmlp_sb_forward_block_##S(W, P, x, i0, i1, jb, s, FASTMLP_SB_BLOCK, nv); \
    }                                                                                   \
}                                                                                       \
/* s_k = W^T [1; x_k] for the B samples whose inputs x[0..B-1] point to (d_in each); \
   W has d_in + 1 rows of P entries, s B rows of P entries. The rows go in bands of   \
   about FASTMLP_SB_BAND bytes, each read from memory once and then from the L1 cache \
   for the other sample blocks and column chunks. */                                  \
static void fastmlp_sb_forward_##S(const T* W, Py_ssize_t P, const T* const* x,        \
                                   Py_ssize_t B, Py_ssize_t d_in, T* s) {               \
    Py_ssize_t band = FASTMLP_SB_BAND / (P * (Py_ssize_t)sizeof(T));                    \
    band = band < 4 ? 4 : band;                                                         \
    for (Py_ssize_t i0 = 0; i0 < d_in || i0 == 0; i0 += band) {                         \
        Py_ssize_t i1 = i0 + band < d_in ? i0 + band : d_in;                            \
        for (Py_ssize_t jb = 0; jb < P; jb += FASTMLP_SB_LANES(T) * FASTMLP_SB_CHUNK) {  \
            Py_ssize_t nv = (P - jb) / FASTMLP_SB_LANES(T);                             \
            for (Py_ssize_t k = 0; k < B; k += FASTMLP_SB_BLOCK) {                      \
                int kn = (int)(B - k < FASTMLP_SB_BLOCK ? B - k : FASTMLP_SB_BLOCK);    \
                switch (nv) {                                                           \
                case 1: fastmlp_sb_forward_chunk_##S(W, P, x + k, i0, i1, jb, s + k * P, kn, 1); break; \
                case 2: fastmlp_sb_forward_chunk_##S(W, P, x + k, i0, i1, jb, s + k * P, kn, 2); break; \
                case 3: fastmlp_sb_forward_chunk_##S(W, P, x + k, i0, i1, jb, s + k * P, kn, 3); break; \
                default: fastmlp_sb_forward_chunk_##S(W, P, x + k, i0, i1, jb, s + k * P, kn, 4); \
                }                                                                       \
            }                                                                           \
        }                                                                               \
    }                                                                                   \
}                                                                                       \
/* Columns jb .. jb + nv vectors of the weight rows i + 1 .. i + rn of W (w points at \
   column jb of row 0): w_i <- decay w_i + a sum_k x_k[i] delta_k, the sums in         \
   registers; each delta_k is loaded once for the rn rows. */                          \
FASTMLP_ALWAYS_INLINE void fastmlp_sb_update_block_##S(        \
        T* w, const T* D, Py_ssize_t P, const T* const* x, Py_ssize_t i, Py_ssize_t B,  \
        T a, T decay, const int rn, const int nv) {                                     \
    V g[FASTMLP_SB_ROWS][FASTMLP_SB_CHUNK], d[FASTMLP_SB_CHUNK];                         \
    for (int r = 0; r < rn; r++)                                                        \
        for (int v = 0; v < nv; v++)                                                    \
            g[r][v] = (V){0};                                                           \
    for (Py_ssize_t k = 0; k < B; k++) {                                                \
        const T* xk = x[k] + i;                                                         \
        for (int v = 0; v < nv; v++)                                                    \
            d[v] = *(const V*)(D + k * P + FASTMLP_SB_LANES(T) * v);                       \
        for (int r = 0; r < rn; r++) {                                                  \
            T xr = xk[r];                                                               \
            for (int v = 0; v < nv; v++)                                                \
                g[r][v] += xr * d[v];                                                   \
        }                                                                               \
    }                                                                                   \
    for (int r = 0; r < rn; r++)                                                        \
        for (int v = 0; v < nv; v++) {                                                  \
            V* wv = (V*)(w + (i + r + 1) * P + FASTMLP_SB_LANES(T) * v);                   \
            *wv = decay * *wv + a * g[r][v];                                            \
        }                                                                               \
}                                                                                       \
FASTMLP_ALWAYS_INLINE void fastmlp_sb_update_rows_##S(         \
        T* w, const T* D, Py_ssize_t P, const T* const* x, Py_ssize_t i, Py_ssize_t B,  \
        T a, T decay, int rn, const int nv) {                                           \
    switch (rn) {                                                                       \
    case 1: fastmlp_sb_update_block_##S(w, D, P, x, i, B, a, decay, 1, nv); break;      \
    case 2: fastmlp_sb_update_block_##S(w, D, P, x, i, B, a, decay, FASTMLP_SB_FEWER_ROWS(2), nv); break; \
    case 3: fastmlp_sb_update_block_##S(w, D, P, x, i, B, a, decay, FASTMLP_SB_FEWER_ROWS(3), nv); break; \
    default: fastmlp_sb_update_block_##S(w, D, P, x, i, B, a, decay, FASTMLP_SB_ROWS, nv); \
    }                                                                                   \
}                                                                                       \
/* back[k * ldb] = sum_j w_j D[k * P + j] for k < B: one row's share of the delta     \
   recursion, each sum reduced by halves. A row of nv <= 4 vectors is held in        \
   registers; a longer one (nv = 0) is read once for 4 samples at a time, so that     \
   4 sums grow independently. */                                                     \
FASTMLP_ALWAYS_INLINE void fastmlp_sb_back_row_##S(           \
        const T* w, const T* D, Py_ssize_t P, Py_ssize_t B, T* back, Py_ssize_t ldb,    \
        const int nv) {                                                                 \
    V r[FASTMLP_SB_CHUNK], t[4];                                                        \
    if (nv == 0) {                                                                      \
        for (Py_ssize_t k = 0; k < B; k += 4) {                                         \
            const T* d[4];                                                              \
            for (int q = 0; q < 4; q++) {                                               \
                d[q] = D + (k + q < B ? k + q : B - 1) * P;                              \
                t[q] = (V){0};                                                          \
            }                                                                           \
            for (Py_ssize_t j = 0; j < P; j += FASTMLP_SB_LANES(T)) {                      \
                V wj = *(const V*)(w + j);                                              \
                for (int q = 0; q < 4; q++)                                             \
                    t[q] += wj * *(const V*)(d[q] + j);                                 \
            }                                                                           \
            for (int q = 0; q < 4 && k + q < B; q++)                                    \
                back[(k + q) * ldb] = fastmlp_sb_sum_##S(t[q]);                         \
        }                                                                               \
        return;                                                                         \
    }                                                                                   \
    for (int v = 0; v < nv; v++)                                                        \
        r[v] = *(const V*)(w + FASTMLP_SB_LANES(T) * v);                                   \
    for (Py_ssize_t k = 0; k < B; k++) {                                                \
        V s = (V){0};                                                                   \
        for (int v = 0; v < nv; v++)                                                    \
            s += r[v] * *(const V*)(D + k * P + FASTMLP_SB_LANES(T) * v);                  \
        back[k * ldb] = fastmlp_sb_sum_##S(s);                                          \
    }                                                                                   \
}                                                                                       \
/* The backward pass over the weight rows 1..d_in of W (P entries each), FASTMLP_SB_ROWS \
   rows at a time: back[k * ldb + i] = sum_j w_ij D[k * P + j] from the old row i (if  \
   back is not NULL), then w_i <- decay w_i + a sum_k x_k[i] D_k and, if shrink > 0,  \
   the soft threshold. */                                                              \
static void fastmlp_sb_backward_##S(T* W, Py_ssize_t P, Py_ssize_t d_in, const T* D,   \
                                    const T* const* x, Py_ssize_t B, T a, T decay,      \
                                    T shrink, T* back, Py_ssize_t ldb) {                \
    for (Py_ssize_t i0 = 0; i0 < d_in; i0 += FASTMLP_SB_ROWS) {                         \
        int rn = (int)(d_in - i0 < FASTMLP_SB_ROWS ? d_in - i0 : FASTMLP_SB_ROWS);      \
        for (Py_ssize_t i = i0; back != NULL && i < i0 + rn; i++) {                     \
            switch (P / FASTMLP_SB_LANES(T)) {                                             \
            case 1: fastmlp_sb_back_row_##S(W + (i + 1) * P, D, P, B, back + i, ldb, 1); break; \
            case 2: fastmlp_sb_back_row_##S(W + (i + 1) * P, D, P, B, back + i, ldb, 2); break; \
            case 3: fastmlp_sb_back_row_##S(W + (i + 1) * P, D, P, B, back + i, ldb, 3); break; \
            case 4: fastmlp_sb_back_row_##S(W + (i + 1) * P, D, P, B, back + i, ldb, 4); break; \
            default: fastmlp_sb_back_row_##S(W + (i + 1) * P, D, P, B, back + i, ldb, 0); \
            }                                                                           \
        }                                                                               \
        for (Py_ssize_t jb = 0; jb < P; jb += FASTMLP_SB_LANES(T) * FASTMLP_SB_CHUNK) {    \
            switch ((P - jb) / FASTMLP_SB_LANES(T)) {                                      \
            case 1: fastmlp_sb_update_rows_##S(W + jb, D + jb, P, x, i0, B, a, decay, rn, 1); break; \
            case 2: fastmlp_sb_update_rows_##S(W + jb, D + jb, P, x, i0, B, a, decay, rn, 2); break; \
            case 3: fastmlp_sb_update_rows_##S(W + jb, D + jb, P, x, i0, B, a, decay, rn, 3); break; \
            default: fastmlp_sb_update_rows_##S(W + jb, D + jb, P, x, i0, B, a, decay, rn, 4); \
            }                                                                           \
        }                                                                               \
        for (Py_ssize_t j = (i0 + 1) * P; shrink > 0 && j < (i0 + rn + 1) * P; j++)     \
            W[j] = W[j] > shrink ? W[j] - shrink : (W[j] < -shrink ? W[j] + shrink : 0); \
    }                                                                                   \
}
FASTMLP_SB_KERNELS(double, fastmlp_vd, d)
FASTMLP_SB_KERNELS(float, fastmlp_vf, f)

#endif /* FASTMLP_SMALL_BATCHES_H */
