/* The benchmarks' generator of their synthetic inputs: xorshift64 from a
 * fixed state, so every run of a benchmark measures the same bytes. */
#ifndef SKIFF_BENCH_RNG_H
#define SKIFF_BENCH_RNG_H

#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* A number below `bound`. */
static inline uint32_t rng(uint32_t bound)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % bound);
}

#endif
