/* test_rng.c: xoshiro256** seeded through splitmix64.
 *
 * The expected values below were printed by tests/core/rng_reference.py, an independent Python
 * implementation written from Blackman & Vigna's published reference code; the ctest test
 * core/rng_python_reference also runs that script against `test_rng --dump` at test time, so
 * every line of the dump is compared, not just the ones pasted here. The splitmix64 outputs for
 * state 0 (e220a8397b1dcdaf, 6e789e6aa1b965f4, 06c45d188009454f) are the widely published
 * first values of that generator. */
#include <math.h>

#include "amlab/rng.h"
#include "test.h"

static void test_seed_is_splitmix64(void)
{
	struct am_rng r;
	am_rng_seed(&r, 0);
	AM_CHECK(r.s[0] == 0xe220a8397b1dcdafull);
	AM_CHECK(r.s[1] == 0x6e789e6aa1b965f4ull);
	AM_CHECK(r.s[2] == 0x06c45d188009454full);
}

static void test_reference_values(void)
{
	static const uint64_t seed42[6] = {0x15780b2e0c2ec716ull, 0x6104d9866d113a7eull,
	                                   0xae17533239e499a1ull, 0xecb8ad4703b360a1ull,
	                                   0xfde6dc7fe2ec5e64ull, 0xc50da53101795238ull};
	struct am_rng r;
	am_rng_seed(&r, 42);
	for (int i = 0; i < 6; i++)
		AM_CHECK(am_rng_u64(&r) == seed42[i]);

	am_rng_seed(&r, UINT64_MAX);
	AM_CHECK(am_rng_u64(&r) == 0x8f5520d52a7ead08ull);

	am_rng_seed_stream(&r, 42, 1);
	AM_CHECK(am_rng_u64(&r) == 0x584870a53e6ddcdfull);
	AM_CHECK(am_rng_u64(&r) == 0x24862b58ab088c44ull);
	am_rng_seed_stream(&r, 7, 1000);
	AM_CHECK(am_rng_u64(&r) == 0xff771fc658b9d34aull);

	am_rng_seed(&r, 123);
	AM_CHECK(am_rng_uniform(&r) == 0.19669435215621578);
	AM_CHECK(am_rng_uniform(&r) == 0.96957229250022181);

	/* below: n = 1, 2, 3 (three draws each) then 7: see rng_reference.py's BELOW_N. */
	am_rng_seed(&r, 99);
	uint64_t got[12];
	static const uint64_t want[12] = {0, 0, 0, 0, 0, 0, 2, 2, 2, 6, 1, 5};
	static const uint64_t n_of[12] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 7, 7, 7};
	for (int i = 0; i < 12; i++) {
		got[i] = am_rng_below(&r, n_of[i]);
		AM_CHECK(got[i] == want[i]);
	}
}

static void test_same_seed_same_sequence(void)
{
	struct am_rng a, b, c;
	am_rng_seed(&a, 2026);
	am_rng_seed(&b, 2026);
	am_rng_seed(&c, 2027);
	int same = 0, diff_c = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = am_rng_u64(&a), y = am_rng_u64(&b), z = am_rng_u64(&c);
		same += x == y;
		diff_c += x != z;
	}
	AM_CHECK_INT(same, 1000);
	AM_CHECK_INT(diff_c, 1000);
	/* Streams of one seed differ from each other and from the plain seed. */
	struct am_rng s0, s1;
	am_rng_seed_stream(&s0, 2026, 0);
	am_rng_seed_stream(&s1, 2026, 1);
	am_rng_seed(&a, 2026);
	uint64_t x0 = am_rng_u64(&s0), x1 = am_rng_u64(&s1), xa = am_rng_u64(&a);
	AM_CHECK(x0 != x1 && x0 != xa && x1 != xa);
}

static void test_uniform_range_and_mean(void)
{
	struct am_rng r;
	am_rng_seed(&r, 5);
	double sum = 0, lo = 1, hi = 0;
	const int n = 200000;
	for (int i = 0; i < n; i++) {
		double u = am_rng_uniform(&r);
		sum += u;
		lo = u < lo ? u : lo;
		hi = u > hi ? u : hi;
	}
	AM_CHECK(lo >= 0.0 && hi < 1.0);
	/* Mean of U[0,1) is 1/2 with standard error sqrt(1/12/n) ~ 0.00065; allow 5 sigma. */
	AM_CHECK_NEAR(sum / n, 0.5, 5 * sqrt(1.0 / 12 / n));
}

/* Pearson chi-square of counts against a uniform expectation. */
static double chi_square(const long *counts, int k, long total)
{
	double e = (double)total / k, x = 0;
	for (int i = 0; i < k; i++)
		x += (counts[i] - e) * (counts[i] - e) / e;
	return x;
}

static void test_below_unbiased(void)
{
	struct am_rng r;
	am_rng_seed(&r, 77);
	/* Small n: every value in range, chi-square with 6 degrees of freedom below the 0.999
	 * quantile (22.46, from tables). */
	long counts[7] = {0};
	const long draws = 70000;
	bool in_range = true;
	for (long i = 0; i < draws; i++) {
		uint64_t v = am_rng_below(&r, 7);
		if (v >= 7) {
			in_range = false;
			continue;
		}
		counts[v]++;
	}
	AM_CHECK(in_range);
	AM_CHECK(chi_square(counts, 7, draws) < 22.46);

	/* n = 3 * 2^62: a plain `u64 % n` would land in [0, 2^62) half of the time (that range is
	 * hit by two residues), an unbiased draw one third of the time. 30000 draws put the
	 * standard error near 0.0027, so 0.40 and 0.27 are far outside the noise. */
	const uint64_t n = 3ull << 62;
	long low = 0, above = 0;
	const long big_draws = 30000;
	for (long i = 0; i < big_draws; i++) {
		uint64_t v = am_rng_below(&r, n);
		low += v < (1ull << 62);
		above += v >= n;
	}
	AM_CHECK_INT(above, 0);
	double frac = (double)low / big_draws;
	AM_CHECK(frac > 0.30 && frac < 0.37);

	/* n = 1 is always 0; n = UINT64_MAX never returns UINT64_MAX or more. */
	bool ok = true;
	for (int i = 0; i < 1000; i++) {
		ok &= am_rng_below(&r, 1) == 0;
		ok &= am_rng_below(&r, UINT64_MAX) < UINT64_MAX;
	}
	AM_CHECK(ok);
}

/* The lines rng_reference.py prints, in the same order (see its lines()). */
static int dump(void)
{
	static const uint64_t seeds[] = {0, 1, 42, 0xDEADBEEFCAFEF00Dull, UINT64_MAX};
	static const uint64_t below_n[] = {
	    1, 2, 3, 7, 10, 1000, 1ull << 32, (1ull << 63) + 1, 3ull << 62, UINT64_MAX};
	struct am_rng r;
	am_rng_seed(&r, 0);
	for (int i = 0; i < 3; i++)
		printf("splitmix64 0 %d %016" PRIx64 "\n", i, r.s[i]);
	for (size_t k = 0; k < AM_ARRAY_LEN(seeds); k++) {
		am_rng_seed(&r, seeds[k]);
		for (int i = 0; i < 6; i++)
			printf("u64 %" PRIu64 " %d %016" PRIx64 "\n", seeds[k], i, am_rng_u64(&r));
	}
	static const uint64_t streams[][2] = {{42, 0}, {42, 1}, {42, 2}, {7, 1000}};
	for (size_t k = 0; k < AM_ARRAY_LEN(streams); k++) {
		am_rng_seed_stream(&r, streams[k][0], streams[k][1]);
		for (int i = 0; i < 3; i++)
			printf("stream %" PRIu64 " %" PRIu64 " %d %016" PRIx64 "\n", streams[k][0],
			       streams[k][1], i, am_rng_u64(&r));
	}
	am_rng_seed(&r, 123);
	for (int i = 0; i < 4; i++)
		printf("uniform 123 %d %.17g\n", i, am_rng_uniform(&r));
	am_rng_seed(&r, 99);
	for (size_t k = 0; k < AM_ARRAY_LEN(below_n); k++)
		for (int i = 0; i < 3; i++)
			printf("below 99 %" PRIu64 " %d %" PRIu64 "\n", below_n[k], i,
			       am_rng_below(&r, below_n[k]));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--dump") == 0)
		return dump();
	AM_RUN(test_seed_is_splitmix64);
	AM_RUN(test_reference_values);
	AM_RUN(test_same_seed_same_sequence);
	AM_RUN(test_uniform_range_and_mean);
	AM_RUN(test_below_unbiased);
	return am_test_result();
}
