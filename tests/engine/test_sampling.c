/* test_sampling.c: the sampler (amlab/sampling.h) against distributions worked out by hand:
 * logits log(0.4), log(0.3), log(0.2), log(0.1) give p = (.4, .3, .2, .1); top-k, top-p, min-p
 * and temperature keep and reweight exactly the tokens the definitions say. */
#include "amlab/sampling.h"
#include "test.h"

#define DRAWS 40000

static void frequencies(const struct am_sampling_params *p, const float *logits, size_t n,
                        uint64_t seed, double *freq)
{
	struct am_sampler s;
	am_sampler_init(&s, p, seed, 0);
	for (size_t i = 0; i < n; i++)
		freq[i] = 0;
	for (int d = 0; d < DRAWS; d++) {
		int32_t t = am_sampler_sample(&s, logits, n);
		AM_CHECK(t >= 0 && (size_t)t < n);
		if (t >= 0 && (size_t)t < n)
			freq[t] += 1.0 / DRAWS;
	}
	am_sampler_free(&s);
}

/* 5 sigma of a binomial proportion at 40000 draws is at most 0.0125 */
#define TOL 0.0125

static float L4[4];

static void set_logits(void)
{
	const double p[4] = {0.4, 0.3, 0.2, 0.1};
	for (int i = 0; i < 4; i++)
		L4[i] = (float)log(p[i]) + 3.0f; /* any constant shift is irrelevant */
}

static void test_plain(void)
{
	struct am_sampling_params p = {.temperature = 1, .top_p = 1};
	double f[4];
	frequencies(&p, L4, 4, 1, f);
	AM_CHECK_NEAR(f[0], 0.4, TOL);
	AM_CHECK_NEAR(f[1], 0.3, TOL);
	AM_CHECK_NEAR(f[2], 0.2, TOL);
	AM_CHECK_NEAR(f[3], 0.1, TOL);
}

static void test_top_k(void)
{
	struct am_sampling_params p = {.temperature = 1, .top_k = 3, .top_p = 1};
	double f[4];
	frequencies(&p, L4, 4, 2, f);
	AM_CHECK_NEAR(f[0], 4.0 / 9, TOL);
	AM_CHECK_NEAR(f[1], 3.0 / 9, TOL);
	AM_CHECK_NEAR(f[2], 2.0 / 9, TOL);
	AM_CHECK(f[3] == 0);
}

static void test_top_p(void)
{
	/* cumulative .4, .7: top-p 0.5 keeps the first two, renormalised 4/7, 3/7 */
	struct am_sampling_params p = {.temperature = 1, .top_p = 0.5};
	double f[4];
	frequencies(&p, L4, 4, 3, f);
	AM_CHECK_NEAR(f[0], 4.0 / 7, TOL);
	AM_CHECK_NEAR(f[1], 3.0 / 7, TOL);
	AM_CHECK(f[2] == 0 && f[3] == 0);
	/* top-p 0.7 reaches exactly the second cumulative value: still two tokens; 0.71 three */
	p.top_p = 0.75;
	frequencies(&p, L4, 4, 3, f);
	AM_CHECK_NEAR(f[2], 2.0 / 9, TOL);
	AM_CHECK(f[3] == 0);
}

static void test_min_p(void)
{
	/* min-p 0.6: keep p >= 0.24, i.e. the first two */
	struct am_sampling_params p = {.temperature = 1, .top_p = 1, .min_p = 0.6};
	double f[4];
	frequencies(&p, L4, 4, 4, f);
	AM_CHECK_NEAR(f[0], 4.0 / 7, TOL);
	AM_CHECK_NEAR(f[1], 3.0 / 7, TOL);
	AM_CHECK(f[2] == 0 && f[3] == 0);
}

static void test_temperature(void)
{
	/* T = 2: p_i proportional to sqrt(p_i) */
	struct am_sampling_params p = {.temperature = 2, .top_p = 1};
	double f[4], z = sqrt(0.4) + sqrt(0.3) + sqrt(0.2) + sqrt(0.1);
	frequencies(&p, L4, 4, 5, f);
	AM_CHECK_NEAR(f[0], sqrt(0.4) / z, TOL);
	AM_CHECK_NEAR(f[3], sqrt(0.1) / z, TOL);
}

static void test_greedy_and_seed(void)
{
	struct am_sampling_params g = {.temperature = 0, .top_p = 1};
	struct am_sampler s;
	am_sampler_init(&s, &g, 9, 0);
	AM_CHECK_INT(am_sampler_sample(&s, L4, 4), 0);
	float tie[3] = {1, 5, 5};
	AM_CHECK_INT(am_sampler_sample(&s, tie, 3), 1); /* lowest id on ties */
	am_sampler_free(&s);
	/* same seed, same sequence; another seed, another sequence */
	struct am_sampling_params p = {.temperature = 1, .top_p = 1};
	float flat[100];
	for (int i = 0; i < 100; i++)
		flat[i] = 0;
	struct am_sampler a, b, c;
	am_sampler_init(&a, &p, 42, 0);
	am_sampler_init(&b, &p, 42, 0);
	am_sampler_init(&c, &p, 43, 0);
	int same = 0, diff = 0;
	for (int i = 0; i < 50; i++) {
		int32_t x = am_sampler_sample(&a, flat, 100), y = am_sampler_sample(&b, flat, 100),
		        z = am_sampler_sample(&c, flat, 100);
		same += x == y;
		diff += x != z;
	}
	AM_CHECK_INT(same, 50);
	AM_CHECK(diff > 40);
	am_sampler_free(&a);
	am_sampler_free(&b);
	am_sampler_free(&c);
}

static void test_logprob_and_params(void)
{
	AM_CHECK_NEAR(am_logprob_of(L4, 4, 0), log(0.4), 1e-6);
	AM_CHECK_NEAR(am_logprob_of(L4, 4, 3), log(0.1), 1e-6);
	struct am_err err = {0};
	struct am_sampling_params bad = {.temperature = -1, .top_p = 1};
	AM_CHECK_INT(am_sampling_params_check(&bad, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "temperature") != NULL);
	bad = (struct am_sampling_params){.temperature = 1, .top_p = 0};
	AM_CHECK_INT(am_sampling_params_check(&bad, &err), AM_EINVAL);
	bad = (struct am_sampling_params){.temperature = 1, .top_p = 1, .min_p = 1.5};
	AM_CHECK_INT(am_sampling_params_check(&bad, &err), AM_EINVAL);
	bad = (struct am_sampling_params){.temperature = 1, .top_p = 1, .top_k = -2};
	AM_CHECK_INT(am_sampling_params_check(&bad, &err), AM_EINVAL);
	struct am_sampling_params ok = {
	    .temperature = 0.7, .top_k = 40, .top_p = 0.9, .min_p = 0.05};
	AM_CHECK_INT(am_sampling_params_check(&ok, &err), 0);
}

int main(void)
{
	set_logits();
	AM_RUN(test_plain);
	AM_RUN(test_top_k);
	AM_RUN(test_top_p);
	AM_RUN(test_min_p);
	AM_RUN(test_temperature);
	AM_RUN(test_greedy_and_seed);
	AM_RUN(test_logprob_and_params);
	return am_test_result();
}
