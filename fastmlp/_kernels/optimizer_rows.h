/* The optimizers' arithmetic: one entry of momentum's step, shared with the fused column
   blocks of column_blocks.h, and one row of each optimizer's step (optimizers.pxi). */
#ifndef FASTMLP_OPTIMIZER_ROWS_H
#define FASTMLP_OPTIMIZER_ROWS_H

#include <Python.h>
#include <math.h>

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

#endif /* FASTMLP_OPTIMIZER_ROWS_H */
