/* A cache hint for per-sample SGD's rows of X and Y (per_sample.pxi). */
#ifndef FASTMLP_PREFETCH_H
#define FASTMLP_PREFETCH_H

#include <Python.h>

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

#endif /* FASTMLP_PREFETCH_H */
