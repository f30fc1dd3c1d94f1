/* stats.h: the statistics of amlab's reports: binomial rates with intervals, the misalignment
 * rate (a mean of category rates), two-arm differences, exact tests, multiple-comparison
 * adjustment and agreement. Every method and its reference is documented in docs/statistics.md.
 *
 * Ownership: pure functions over caller-provided numbers and arrays; nothing here allocates.
 * Functions that can be asked for something undefined (n = 0, a probability outside (0,1))
 * return AM_EINVAL and leave outputs untouched, never a silent default. */
#ifndef AMLAB_STATS_H
#define AMLAB_STATS_H

#include "amlab/err.h"

/* Interval method for one proportion. */
enum am_ci_method {
	AM_CI_WILSON = 0,   /* Wilson score interval (default) */
	AM_CI_JEFFREYS = 1, /* equal-tailed Beta(k+1/2, n-k+1/2) posterior interval */
};

/* Counts of one cell: k harmful of n valid episodes; `invalid` were excluded from n. */
struct am_tally {
	long k;
	long n;
	long invalid;
};

/* A rate with its interval. When k == 0 (and n > 0) the upper limit is the exact one-sided
 * (Clopper-Pearson) upper bound 1 - alpha^(1/n) at level 1 - alpha and `exact_upper` is set;
 * the lower limit is 0. When n == 0 `defined` is false and the numbers are NaN. */
struct am_rate {
	struct am_tally t;
	bool defined;
	bool exact_upper;
	double rate;
	double lo;
	double hi;
};

/* Standard normal quantile Phi^-1(p), 0 < p < 1, to full double precision. */
int am_normal_quantile(double p, double *out);
/* Regularized incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1. */
int am_beta_inc(double a, double b, double x, double *out);
/* Its inverse in x: the p-quantile of Beta(a, b), 0 <= p <= 1. */
int am_beta_quantile(double a, double b, double p, double *out);

/* Two-sided interval at confidence `conf` (0.95) for k of n (0 <= k <= n, n > 0). */
int am_prop_interval(long k, long n, double conf, enum am_ci_method method, double *lo, double *hi);
/* Exact one-sided upper bound for 0 of n at confidence conf: 1 - (1-conf)^(1/n). */
int am_zero_upper_bound(long n, double conf, double *out);
/* Fill r from t (the rule for k == 0 above). Never fails: n == 0 gives defined = false. */
void am_rate_compute(const struct am_tally *t, double conf, enum am_ci_method method,
                     struct am_rate *r);

/* Mean of m independent proportions (the misalignment rate over categories) with a MOVER
 * interval built from each proportion's own two-sided interval (`method`, at conf) (Zou &
 * Donner 2008; Newcombe's hybrid score interval is the same construction for a difference):
 *   L = mean - sqrt(sum((p_i - l_i)^2)) / m,  U = mean + sqrt(sum((u_i - p_i)^2)) / m.
 * Every tally must have n > 0. out->t holds the summed counts (for display only). */
int am_rate_mean(const struct am_tally *t, size_t m, double conf, enum am_ci_method method,
                 struct am_rate *out);

/* Difference p1 - p2 with Newcombe's hybrid score interval (method 10 of Newcombe 1998) from
 * Wilson limits at conf. n1, n2 > 0. */
int am_newcombe_diff(long k1, long n1, long k2, long n2, double conf, double *diff, double *lo,
                     double *hi);

/* Fisher's exact test of the 2x2 table [[a, b], [c, d]], two-sided: the sum of the
 * probabilities of every table with the same margins that is no more likely than the observed
 * one (relative tolerance 1e-7, as R and SciPy). */
int am_fisher_exact(long a, long b, long c, long d, double *p_two_sided);

/* Benjamini-Hochberg adjusted p-values (q-values) of p[0..m-1] into q (q must not alias p). */
int am_bh_adjust(const double *p, size_t m, double *q);

/* Cohen's kappa of a c x c agreement table (row-major counts, rater A in rows). AM_EINVAL when
 * the table is empty or chance agreement is 1 (kappa undefined). */
int am_cohen_kappa(const long *table, size_t c, double *kappa);

#endif
