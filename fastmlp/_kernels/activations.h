/* The activations' branch-free forms, which let a loop over a layer vectorise
   (activations.pxi): tanh in double and single precision, and softmax's exp. */
#ifndef FASTMLP_ACTIVATIONS_H
#define FASTMLP_ACTIVATIONS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

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

#endif /* FASTMLP_ACTIVATIONS_H */
