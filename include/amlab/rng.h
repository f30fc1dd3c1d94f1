/* rng.h: seedable deterministic random numbers (xoshiro256**, seeded through splitmix64).
 * The same seed gives the same sequence on every platform and build. Plain value type. */
#ifndef AMLAB_RNG_H
#define AMLAB_RNG_H

struct am_rng {
	uint64_t s[4];
};

void am_rng_seed(struct am_rng *r, uint64_t seed);
/* Independent stream for a (seed, stream id) pair, e.g. one per episode sample. */
void am_rng_seed_stream(struct am_rng *r, uint64_t seed, uint64_t stream);
uint64_t am_rng_u64(struct am_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double am_rng_uniform(struct am_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t am_rng_below(struct am_rng *r, uint64_t n);

#endif
