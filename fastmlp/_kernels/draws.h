/* The hashes behind dropout's draws (dropout.pxi). */
#ifndef FASTMLP_DRAWS_H
#define FASTMLP_DRAWS_H

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

#endif /* FASTMLP_DRAWS_H */
