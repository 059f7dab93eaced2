/* rng.h - a small seeded PRNG (xoshiro256**, seeded through splitmix64). The load
 * generator gives each thread its own state, so that runs are reproducible for a seed
 * and no state is shared between threads. */
#ifndef APIBENCH_RNG_H
#define APIBENCH_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* Seeds r from seed; any seed (0 included) gives a usable state. */
void rng_seed(struct rng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t rng_next(struct rng *r);

/* Uniform double in [0, 1). */
double rng_double(struct rng *r);

/* Uniform integer in [0, n); returns 0 when n == 0. */
uint64_t rng_below(struct rng *r, uint64_t n);

#endif
