/* rng.c: xoshiro256** seeded through splitmix64 (Blackman & Vigna's published algorithms). */
#include "amlab/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void am_rng_seed(struct am_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

void am_rng_seed_stream(struct am_rng *r, uint64_t seed, uint64_t stream)
{
	/* Mix the stream id through splitmix so neighbouring streams are unrelated. */
	uint64_t x = stream;
	am_rng_seed(r, seed ^ splitmix64(&x));
}

uint64_t am_rng_u64(struct am_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double am_rng_uniform(struct am_rng *r)
{
	return (double)(am_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t am_rng_below(struct am_rng *r, uint64_t n)
{
	/* Rejection sampling: discard the top partial range so every value is equally likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t v;
	do
		v = am_rng_u64(r);
	while (v >= limit);
	return v % n;
}
