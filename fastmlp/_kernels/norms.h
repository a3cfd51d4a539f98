/* The weights' sum of squares and sum of sizes, which the training loops add up before each
   step when asked (Options.norms; add_norms in layer_sums.pxi). */
#ifndef FASTMLP_NORMS_H
#define FASTMLP_NORMS_H

#include <Python.h>
#include <math.h>

/* Entries summed in the network's precision, in two sets of partial sums a 512-bit vector
   wide (independent chains, so that the adds overlap), before the run's total joins the
   double sums: a few hundred entries keep float32's rounding near its precision. */
#define FASTMLP_NORMS_RUN 512

#define FASTMLP_NORMS(T, FABS, S)                                                        \
static inline void fastmlp_add_norms_##S(const T* __restrict w, Py_ssize_t n,           \
                                         double* __restrict norms) {                     \
    enum { LANES = 64 / sizeof(T) };                                                    \
    double squares = 0.0, sizes = 0.0;                                                  \
    for (Py_ssize_t start = 0; start < n; start += FASTMLP_NORMS_RUN) {                 \
        Py_ssize_t stop = start + FASTMLP_NORMS_RUN < n ? start + FASTMLP_NORMS_RUN : n; \
        T sq[2][LANES] = {{0}}, ab[2][LANES] = {{0}};                                   \
        Py_ssize_t j = start;                                                           \
        for (; j + 2 * LANES <= stop; j += 2 * LANES)                                   \
            for (int h = 0; h < 2; h++)                                                 \
                for (int k = 0; k < LANES; k++) {                                       \
                    T z = w[j + h * LANES + k];                                         \
                    sq[h][k] += z * z;                                                  \
                    ab[h][k] += FABS(z);                                                \
                }                                                                       \
        for (int k = 0; k < LANES; k++) {                                               \
            squares += (double)sq[0][k] + sq[1][k];                                     \
            sizes += (double)ab[0][k] + ab[1][k];                                       \
        }                                                                               \
        for (; j < stop; j++) {                                                         \
            squares += (double)w[j] * w[j];                                             \
            sizes += FABS(w[j]);                                                        \
        }                                                                               \
    }                                                                                   \
    norms[0] += squares;                                                                \
    norms[1] += sizes;                                                                  \
}
FASTMLP_NORMS(double, fabs, d)
FASTMLP_NORMS(float, fabsf, f)

#endif /* FASTMLP_NORMS_H */
