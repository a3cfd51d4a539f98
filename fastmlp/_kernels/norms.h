/* The weights' sum of squares and sum of sizes, which the training loops add up before each
   step when asked (Options.norms; add_norms in layer_sums.pxi). */
#ifndef FASTMLP_NORMS_H
#define FASTMLP_NORMS_H

#include <Python.h>
#include <math.h>
#include <string.h>

#include "column_blocks.h" /* FASTMLP_VBYTES, FASTMLP_LOAD, FASTMLP_UNROLL */
#include "portable.h"

/* Entries summed in the network's precision before the run's total joins the double sums:
   a few hundred keep float32's rounding near its precision. */
#define FASTMLP_NORMS_RUN 512

#if FASTMLP_VECTORS
/* Blocks of K machine vectors: K independent sums of squares and of sizes, so that the
   adds overlap; |w| clears the sign bit through an integer vector of the same size. */
#define FASTMLP_NORMS(T, I, FABS, S)                                                     \
typedef T fastmlp_norms_##S##_t __attribute__((vector_size(FASTMLP_VBYTES), aligned(sizeof(T)))); \
typedef I fastmlp_norms_bits_##S##_t __attribute__((vector_size(FASTMLP_VBYTES)));       \
static inline void fastmlp_add_norms_##S(const T* w, Py_ssize_t n, double* norms) {     \
    enum { V = FASTMLP_VBYTES / sizeof(T), K = 4 };                                      \
    const fastmlp_norms_bits_##S##_t magnitude = ~((fastmlp_norms_bits_##S##_t){0} + ((I)1 << (8 * sizeof(T) - 1))); \
    double squares = 0.0, sizes = 0.0;                                                  \
    for (Py_ssize_t j = 0; j < n;) {                                                    \
        Py_ssize_t stop = j + FASTMLP_NORMS_RUN < n ? j + FASTMLP_NORMS_RUN : n;         \
        fastmlp_norms_##S##_t sq[K], ab[K], z;                                          \
        T t[V];                                                                         \
        FASTMLP_UNROLL for (int k = 0; k < K; k++) sq[k] = ab[k] = (fastmlp_norms_##S##_t){0}; \
        for (; j + K * V <= stop; j += K * V)                                           \
            FASTMLP_UNROLL for (int k = 0; k < K; k++) {                                \
                FASTMLP_LOAD(z, w + j, k);                                              \
                sq[k] += z * z;                                                         \
                ab[k] += (fastmlp_norms_##S##_t)((fastmlp_norms_bits_##S##_t)z & magnitude); \
            }                                                                           \
        FASTMLP_UNROLL for (int k = 1; k < K; k++) {                                    \
            sq[0] += sq[k];                                                             \
            ab[0] += ab[k];                                                             \
        }                                                                               \
        memcpy(t, &sq[0], sizeof t);                                                    \
        for (int k = 0; k < V; k++) squares += t[k];                                    \
        memcpy(t, &ab[0], sizeof t);                                                    \
        for (int k = 0; k < V; k++) sizes += t[k];                                      \
        for (; j < stop; j++) { /* the run's entries after its whole blocks */          \
            squares += (double)w[j] * w[j];                                             \
            sizes += FABS(w[j]);                                                        \
        }                                                                               \
    }                                                                                   \
    norms[0] += squares;                                                                \
    norms[1] += sizes;                                                                  \
}
#else
/* Plain C: the same runs, with one sum each in the network's precision per run. */
#define FASTMLP_NORMS(T, I, FABS, S)                                                     \
static inline void fastmlp_add_norms_##S(const T* w, Py_ssize_t n, double* norms) {     \
    double squares = 0.0, sizes = 0.0;                                                  \
    for (Py_ssize_t j = 0; j < n;) {                                                    \
        Py_ssize_t stop = j + FASTMLP_NORMS_RUN < n ? j + FASTMLP_NORMS_RUN : n;         \
        T sq = 0, ab = 0;                                                               \
        for (; j < stop; j++) {                                                         \
            sq += w[j] * w[j];                                                          \
            ab += FABS(w[j]);                                                           \
        }                                                                               \
        squares += sq;                                                                  \
        sizes += ab;                                                                    \
    }                                                                                   \
    norms[0] += squares;                                                                \
    norms[1] += sizes;                                                                  \
}
#endif
FASTMLP_NORMS(double, long long, fabs, d)
FASTMLP_NORMS(float, int, fabsf, f)

#endif /* FASTMLP_NORMS_H */
