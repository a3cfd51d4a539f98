/* Which instruction sets the CPU (and its operating system) runs: fastmlp._engine.backends picks
   the build of the kernels from these (cpu.pxi). */
#ifndef FASTMLP_CPU_H
#define FASTMLP_CPU_H


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

#endif /* FASTMLP_CPU_H */
