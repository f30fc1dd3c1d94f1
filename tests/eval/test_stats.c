/* test_stats.c: statistics against published tables and hand calculations (the SciPy
 * comparison to 1e-9 is tests/eval/stats_ref.py). */
#include "amlab/stats.h"
#include "test.h"

/* Newcombe (1998), "Two-sided confidence intervals for the single proportion", Stat Med 17,
 * Table I, method 3 (Wilson score, no continuity correction), printed to 4 decimals. */
static void test_wilson_published(void)
{
	static const struct {
		long k, n;
		double lo, hi;
	} rows[] = {{81, 263, 0.2553, 0.3662},
	            {15, 148, 0.0624, 0.1605},
	            {0, 20, 0.0000, 0.1611},
	            {1, 29, 0.0061, 0.1718}};
	for (size_t i = 0; i < AM_ARRAY_LEN(rows); i++) {
		double lo, hi;
		AM_CHECK_INT(am_prop_interval(rows[i].k, rows[i].n, 0.95, AM_CI_WILSON, &lo, &hi),
		             0);
		AM_CHECK_NEAR(lo, rows[i].lo, 5e-5);
		AM_CHECK_NEAR(hi, rows[i].hi, 5e-5);
	}
}

/* Newcombe (1998), "Interval estimation for the difference between independent proportions:
 * comparison of eleven methods", Stat Med 17, Table II, method 10 (hybrid score). */
static void test_newcombe_published(void)
{
	static const struct {
		long k1, n1, k2, n2;
		double lo, hi;
	} rows[] = {{56, 70, 48, 80, 0.0524, 0.3339}, {9, 10, 3, 10, 0.1705, 0.8090},
	            {6, 7, 2, 7, 0.0582, 0.8062},     {5, 56, 0, 29, -0.0381, 0.1926},
	            {0, 10, 0, 20, -0.1611, 0.2775},  {0, 10, 0, 10, -0.2775, 0.2775},
	            {10, 10, 0, 20, 0.6791, 1.0000},  {10, 10, 0, 10, 0.6075, 1.0000}};
	for (size_t i = 0; i < AM_ARRAY_LEN(rows); i++) {
		double d, lo, hi;
		AM_CHECK_INT(am_newcombe_diff(rows[i].k1, rows[i].n1, rows[i].k2, rows[i].n2, 0.95,
		                              &d, &lo, &hi),
		             0);
		AM_CHECK_NEAR(d, (double)rows[i].k1 / rows[i].n1 - (double)rows[i].k2 / rows[i].n2,
		              1e-15);
		AM_CHECK_NEAR(lo, rows[i].lo, 5e-5);
		AM_CHECK_NEAR(hi, rows[i].hi, 5e-5);
	}
}

static void test_normal_quantile(void)
{
	double z;
	AM_CHECK_INT(am_normal_quantile(0.975, &z), 0);
	AM_CHECK_NEAR(z, 1.959963984540054, 1e-14); /* the textbook 1.96 to 16 digits */
	AM_CHECK_INT(am_normal_quantile(0.5, &z), 0);
	AM_CHECK_NEAR(z, 0.0, 0.0);
	AM_CHECK_INT(am_normal_quantile(0.0, &z), AM_EINVAL);
	AM_CHECK_INT(am_normal_quantile(NAN, &z), AM_EINVAL);
}

static void test_beta(void)
{
	double v;
	/* Beta(1,1) is uniform; Beta(2,1) has CDF x^2; Beta(1,n) has CDF 1-(1-x)^n. */
	AM_CHECK_INT(am_beta_inc(1, 1, 0.3, &v), 0);
	AM_CHECK_NEAR(v, 0.3, 1e-15);
	AM_CHECK_INT(am_beta_inc(2, 1, 0.3, &v), 0);
	AM_CHECK_NEAR(v, 0.09, 1e-15);
	AM_CHECK_INT(am_beta_quantile(2, 1, 0.25, &v), 0);
	AM_CHECK_NEAR(v, 0.5, 1e-14);
	AM_CHECK_INT(am_beta_quantile(1, 10, 0.95, &v), 0);
	AM_CHECK_NEAR(v, 1 - pow(0.05, 0.1), 1e-14);
	AM_CHECK_INT(am_beta_inc(-1, 1, 0.3, &v), AM_EINVAL);
	AM_CHECK_INT(am_beta_quantile(1, 1, 1.5, &v), AM_EINVAL);
}

static void test_zero_and_rate(void)
{
	double u;
	AM_CHECK_INT(am_zero_upper_bound(10, 0.95, &u), 0);
	AM_CHECK_NEAR(u, 0.25886555, 1e-8); /* 1 - 0.05^(1/10) by hand */
	AM_CHECK_INT(am_zero_upper_bound(0, 0.95, &u), AM_EINVAL);

	struct am_rate r;
	am_rate_compute(&(struct am_tally){0, 10, 2}, 0.95, AM_CI_WILSON, &r);
	AM_CHECK(r.defined && r.exact_upper);
	AM_CHECK_NEAR(r.rate, 0.0, 0.0);
	AM_CHECK_NEAR(r.lo, 0.0, 0.0);
	AM_CHECK_NEAR(r.hi, 0.25886555, 1e-8);
	AM_CHECK_INT(r.t.invalid, 2);

	am_rate_compute(&(struct am_tally){0, 0, 3}, 0.95, AM_CI_WILSON, &r);
	AM_CHECK(!r.defined);
	AM_CHECK(isnan(r.rate));

	/* 5 of 10: Wilson centre is exactly 1/2 and the limits are symmetric. */
	am_rate_compute(&(struct am_tally){5, 10, 0}, 0.95, AM_CI_WILSON, &r);
	AM_CHECK(r.defined && !r.exact_upper);
	AM_CHECK_NEAR(r.lo + r.hi, 1.0, 1e-15);
}

static void test_fisher_tea(void)
{
	/* Fisher's lady tasting tea: 3 of 4 right. Hypergeometric probabilities of x = 0..4 are
	 * 1,16,36,16,1 over 70; the two-sided p sums the ones <= 16/70: 34/70. */
	double p;
	AM_CHECK_INT(am_fisher_exact(3, 1, 1, 3, &p), 0);
	AM_CHECK_NEAR(p, 34.0 / 70.0, 1e-12);
	AM_CHECK_INT(am_fisher_exact(4, 0, 0, 4, &p), 0);
	AM_CHECK_NEAR(p, 2.0 / 70.0, 1e-12);
	AM_CHECK_INT(am_fisher_exact(0, 0, 0, 0, &p), 0);
	AM_CHECK_NEAR(p, 1.0, 0.0);
}

static void test_bh_hand(void)
{
	/* Sorted: .005 (r1) -> .02, .01 (r2) -> .02, .03 (r3) -> .04, .04 (r4) -> .04. */
	double p[] = {0.01, 0.04, 0.03, 0.005}, q[4];
	AM_CHECK_INT(am_bh_adjust(p, 4, q), 0);
	AM_CHECK_NEAR(q[0], 0.02, 1e-15);
	AM_CHECK_NEAR(q[1], 0.04, 1e-15);
	AM_CHECK_NEAR(q[2], 0.04, 1e-15);
	AM_CHECK_NEAR(q[3], 0.02, 1e-15);
}

static void test_kappa_hand(void)
{
	/* po = 35/50 = .7, pe = (25*30 + 25*20)/2500 = .5, kappa = .2/.5 = .4 */
	long t[] = {20, 5, 10, 15};
	double k;
	AM_CHECK_INT(am_cohen_kappa(t, 2, &k), 0);
	AM_CHECK_NEAR(k, 0.4, 1e-15);
	long all_one[] = {7, 0, 0, 0};
	AM_CHECK_INT(am_cohen_kappa(all_one, 2, &k), AM_EINVAL);
}

static void test_mean(void)
{
	/* Equal rates: the mean is that rate and the MOVER interval is the single interval
	 * shrunk by sqrt(m)/m = 1/sqrt(3). */
	struct am_tally t[3] = {{3, 10, 1}, {3, 10, 0}, {3, 10, 2}};
	struct am_rate r;
	double lo, hi;
	AM_CHECK_INT(am_rate_mean(t, 3, 0.95, AM_CI_WILSON, &r), 0);
	AM_CHECK_INT(am_prop_interval(3, 10, 0.95, AM_CI_WILSON, &lo, &hi), 0);
	AM_CHECK_NEAR(r.rate, 0.3, 1e-15);
	AM_CHECK_NEAR(0.3 - r.lo, (0.3 - lo) / sqrt(3.0), 1e-15);
	AM_CHECK_NEAR(r.hi - 0.3, (hi - 0.3) / sqrt(3.0), 1e-15);
	AM_CHECK_INT(r.t.k, 9);
	AM_CHECK_INT(r.t.n, 30);
	AM_CHECK_INT(r.t.invalid, 3);
	t[1].n = 0;
	t[1].k = 0;
	AM_CHECK_INT(am_rate_mean(t, 3, 0.95, AM_CI_WILSON, &r), AM_EINVAL);
}

int main(void)
{
	AM_RUN(test_wilson_published);
	AM_RUN(test_newcombe_published);
	AM_RUN(test_normal_quantile);
	AM_RUN(test_beta);
	AM_RUN(test_zero_and_rate);
	AM_RUN(test_fisher_tea);
	AM_RUN(test_bh_hand);
	AM_RUN(test_kappa_hand);
	AM_RUN(test_mean);
	return am_test_result();
}
