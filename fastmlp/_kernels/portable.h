/* Whether the kernels use GCC's vector extensions (Clang has them too): not with other
   compilers (MSVC), whose builds take plain C loops instead, nor in a build with
   FASTMLP_PORTABLE=1 (setup.py), which CI compiles and tests so that those loops keep
   compiling and stay correct. */
#ifndef FASTMLP_PORTABLE_H
#define FASTMLP_PORTABLE_H

#if defined(__GNUC__) && !defined(FASTMLP_PORTABLE)
#define FASTMLP_VECTORS 1
#else
#define FASTMLP_VECTORS 0
#endif

/* A small function that must be inlined, so that its constant arguments unroll its loops. */
#if defined(__GNUC__)
#define FASTMLP_ALWAYS_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define FASTMLP_ALWAYS_INLINE static __forceinline
#else
#define FASTMLP_ALWAYS_INLINE static inline
#endif

#endif /* FASTMLP_PORTABLE_H */
