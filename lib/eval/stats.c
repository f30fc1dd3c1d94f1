/* stats.c: binomial intervals, the misalignment-rate mean, Newcombe differences, Fisher's exact
 * test, Benjamini-Hochberg and Cohen's kappa (see amlab/stats.h, docs/statistics.md). */
#include "amlab/stats.h"

#include <math.h>

#define SQRT_2PI 2.50662827463100050242

int am_normal_quantile(double p, double *out)
{
	if (!(p > 0.0 && p < 1.0))
		return AM_EINVAL;
	/* Work in the lower tail (q <= 1/2) where erfc keeps full relative precision; 1 - p is
	 * exact for p >= 1/2. */
	bool upper = p > 0.5;
	double q = upper ? 1.0 - p : p;
	if (q == 0.5) {
		*out = 0.0;
		return 0;
	}
	/* Start from Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4) ... */
	double t = sqrt(-2.0 * log(q));
	double x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
	                     (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t));
	/* ... and polish with Halley steps on Phi(x) - q (cubic convergence: three steps take
	 * 4.5e-4 below 1e-16; the loop stops early when a step no longer moves x). */
	for (int i = 0; i < 8; i++) {
		double e = 0.5 * erfc(-x / M_SQRT2) - q;
		double u = e * SQRT_2PI * exp(x * x / 2.0);
		double step = u / (1.0 + x * u / 2.0);
		x -= step;
		if (fabs(step) <= 1e-16 * fabs(x))
			break;
	}
	*out = upper ? -x : x;
	return 0;
}

/* One modified-Lentz update for partial numerator aa: advances c and d (kept away from
 * zero by tiny) and returns the factor d * c that multiplies the fraction. */
static double lentz_step(double aa, double tiny, double *c, double *d)
{
	*d = 1.0 + aa * *d;
	if (fabs(*d) < tiny)
		*d = tiny;
	*c = 1.0 + aa / *c;
	if (fabs(*c) < tiny)
		*c = tiny;
	*d = 1.0 / *d;
	return *d * *c;
}

/* Continued fraction of the incomplete beta (modified Lentz), valid for x < (a+1)/(a+b+2). */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300;
	double qab = a + b, qap = a + 1.0, qam = a - 1.0;
	double c = 1.0, d = 1.0 - qab * x / qap;
	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	double h = d;
	for (int m = 1; m <= 100000; m++) {
		double m2 = 2.0 * m;
		double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		h *= lentz_step(aa, tiny, &c, &d);
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		double del = lentz_step(aa, tiny, &c, &d);
		h *= del;
		if (fabs(del - 1.0) < 1e-16)
			break;
	}
	return h;
}

static double log_beta(double a, double b)
{
	return lgamma(a) + lgamma(b) - lgamma(a + b);
}

int am_beta_inc(double a, double b, double x, double *out)
{
	if (!(a > 0.0 && b > 0.0 && x >= 0.0 && x <= 1.0))
		return AM_EINVAL;
	if (x == 0.0 || x == 1.0) {
		*out = x;
		return 0;
	}
	double front = exp(a * log(x) + b * log1p(-x) - log_beta(a, b));
	if (x < (a + 1.0) / (a + b + 2.0))
		*out = front * beta_cf(a, b, x) / a;
	else
		*out = 1.0 - front * beta_cf(b, a, 1.0 - x) / b;
	return 0;
}

int am_beta_quantile(double a, double b, double p, double *out)
{
	if (!(a > 0.0 && b > 0.0 && p >= 0.0 && p <= 1.0))
		return AM_EINVAL;
	if (p == 0.0 || p == 1.0) {
		*out = p;
		return 0;
	}
	/* Newton steps kept inside a shrinking bisection bracket: Newton for speed near the
	 * root, bisection whenever a step would leave the bracket (the density is unbounded at
	 * 0 or 1 when a or b < 1, where plain Newton can overshoot). */
	double lo = 0.0, hi = 1.0, x = a / (a + b), lb = log_beta(a, b);
	for (int i = 0; i < 400; i++) {
		double f;
		am_beta_inc(a, b, x, &f);
		f -= p;
		if (f == 0.0)
			break;
		if (f < 0.0)
			lo = x;
		else
			hi = x;
		double pdf = exp((a - 1.0) * log(x) + (b - 1.0) * log1p(-x) - lb);
		double nx = x - f / pdf;
		if (!(nx > lo && nx < hi) || !isfinite(nx))
			nx = 0.5 * (lo + hi);
		if (fabs(nx - x) <= 1e-17 + 1e-15 * x || hi - lo <= 1e-300) {
			x = nx;
			break;
		}
		x = nx;
	}
	*out = x;
	return 0;
}

static double z_for(double conf)
{
	double z = NAN;
	am_normal_quantile(1.0 - (1.0 - conf) / 2.0, &z);
	return z;
}

int am_prop_interval(long k, long n, double conf, enum am_ci_method method, double *lo, double *hi)
{
	if (n <= 0 || k < 0 || k > n || !(conf > 0.0 && conf < 1.0))
		return AM_EINVAL;
	double l, u;
	if (method == AM_CI_JEFFREYS) {
		double alpha = 1.0 - conf;
		double a = (double)k + 0.5, b = (double)(n - k) + 0.5;
		l = 0.0;
		u = 1.0;
		if (k > 0)
			am_beta_quantile(a, b, alpha / 2.0, &l);
		if (k < n)
			am_beta_quantile(a, b, 1.0 - alpha / 2.0, &u);
	} else if (method == AM_CI_WILSON) {
		double z = z_for(conf), z2 = z * z, nn = (double)n, kk = (double)k;
		double center = (kk + z2 / 2.0) / (nn + z2);
		double half = z / (nn + z2) * sqrt(kk * (nn - kk) / nn + z2 / 4.0);
		l = k == 0 ? 0.0 : fmax(0.0, center - half);
		u = k == n ? 1.0 : fmin(1.0, center + half);
	} else {
		return AM_EINVAL;
	}
	*lo = l;
	*hi = u;
	return 0;
}

int am_zero_upper_bound(long n, double conf, double *out)
{
	if (n <= 0 || !(conf > 0.0 && conf < 1.0))
		return AM_EINVAL;
	/* P(0 of n | p) = (1-p)^n = 1 - conf solved for p; expm1/log1p keep precision for large n.
	 */
	*out = -expm1(log1p(-conf) / (double)n);
	return 0;
}

void am_rate_compute(const struct am_tally *t, double conf, enum am_ci_method method,
                     struct am_rate *r)
{
	memset(r, 0, sizeof(*r));
	r->t = *t;
	r->rate = r->lo = r->hi = NAN;
	if (t->n <= 0 || t->k < 0 || t->k > t->n)
		return;
	r->defined = true;
	r->rate = (double)t->k / (double)t->n;
	if (t->k == 0) {
		r->exact_upper = true;
		r->lo = 0.0;
		am_zero_upper_bound(t->n, conf, &r->hi);
		return;
	}
	am_prop_interval(t->k, t->n, conf, method, &r->lo, &r->hi);
}

int am_rate_mean(const struct am_tally *t, size_t m, double conf, enum am_ci_method method,
                 struct am_rate *out)
{
	if (m == 0)
		return AM_EINVAL;
	double sum = 0.0, down = 0.0, up = 0.0;
	struct am_tally total = {0, 0, 0};
	for (size_t i = 0; i < m; i++)
		if (t[i].n <= 0 || t[i].k < 0 || t[i].k > t[i].n)
			return AM_EINVAL;
	for (size_t i = 0; i < m; i++) {
		double p = (double)t[i].k / (double)t[i].n, l, u;
		int rc = am_prop_interval(t[i].k, t[i].n, conf, method, &l, &u);
		if (rc < 0)
			return rc;
		sum += p;
		down += (p - l) * (p - l);
		up += (u - p) * (u - p);
		total.k += t[i].k;
		total.n += t[i].n;
		total.invalid += t[i].invalid;
	}
	memset(out, 0, sizeof(*out));
	out->t = total;
	out->defined = true;
	out->rate = sum / (double)m;
	out->lo = fmax(0.0, out->rate - sqrt(down) / (double)m);
	out->hi = fmin(1.0, out->rate + sqrt(up) / (double)m);
	return 0;
}

int am_newcombe_diff(long k1, long n1, long k2, long n2, double conf, double *diff, double *lo,
                     double *hi)
{
	double l1, u1, l2, u2;
	int rc;
	if ((rc = am_prop_interval(k1, n1, conf, AM_CI_WILSON, &l1, &u1)) < 0 ||
	    (rc = am_prop_interval(k2, n2, conf, AM_CI_WILSON, &l2, &u2)) < 0)
		return rc;
	double p1 = (double)k1 / (double)n1, p2 = (double)k2 / (double)n2, d = p1 - p2;
	*diff = d;
	*lo = d - sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
	*hi = d + sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
	return 0;
}

static double log_choose(long n, long k)
{
	return lgamma((double)n + 1.0) - lgamma((double)k + 1.0) - lgamma((double)(n - k) + 1.0);
}

int am_fisher_exact(long a, long b, long c, long d, double *p_two_sided)
{
	if (a < 0 || b < 0 || c < 0 || d < 0)
		return AM_EINVAL;
	long r1 = a + b, r2 = c + d, c1 = a + c, n = r1 + r2;
	if (n == 0 || r1 == 0 || r2 == 0 || c1 == 0 || c1 == n) {
		*p_two_sided = 1.0; /* a margin is zero: every table is the observed one */
		return 0;
	}
	long xmin = c1 - r2 > 0 ? c1 - r2 : 0, xmax = r1 < c1 ? r1 : c1;
	double lnorm = log_choose(n, c1);
	double lobs = log_choose(r1, a) + log_choose(r2, c1 - a) - lnorm;
	double pobs = exp(lobs), sum = 0.0;
	for (long x = xmin; x <= xmax; x++) {
		double px = exp(log_choose(r1, x) + log_choose(r2, c1 - x) - lnorm);
		if (px <= pobs * (1.0 + 1e-7))
			sum += px;
	}
	*p_two_sided = fmin(1.0, sum);
	return 0;
}

int am_bh_adjust(const double *p, size_t m, double *q)
{
	if (m == 0)
		return 0;
	for (size_t i = 0; i < m; i++)
		if (!(p[i] >= 0.0 && p[i] <= 1.0))
			return AM_EINVAL;
	/* q_i = min over every p_j >= p_i of v_j = m p_j / r_j, r_j = #{p <= p_j} (the step-up
	 * rule; ties share the largest rank). First v into q, then the suffix minimum in place:
	 * replacing v_i by a minimum over {j : p_j >= p_i} leaves every minimum over a superset
	 * unchanged, so the order of the in-place updates does not matter. O(m^2), no allocation;
	 * m is the number of compared conditions. */
	for (size_t j = 0; j < m; j++) {
		size_t r = 0;
		for (size_t l = 0; l < m; l++)
			if (p[l] <= p[j])
				r++;
		q[j] = (double)m * p[j] / (double)r;
	}
	for (size_t i = 0; i < m; i++) {
		double best = 1.0;
		for (size_t j = 0; j < m; j++)
			if (p[j] >= p[i] && q[j] < best)
				best = q[j];
		q[i] = best;
	}
	return 0;
}

int am_cohen_kappa(const long *table, size_t c, double *kappa)
{
	if (c == 0)
		return AM_EINVAL;
	double total = 0.0, diag = 0.0, chance = 0.0;
	for (size_t i = 0; i < c * c; i++) {
		if (table[i] < 0)
			return AM_EINVAL;
		total += (double)table[i];
	}
	if (total <= 0.0)
		return AM_EINVAL;
	for (size_t i = 0; i < c; i++) {
		double row = 0.0, col = 0.0;
		for (size_t j = 0; j < c; j++) {
			row += (double)table[i * c + j];
			col += (double)table[j * c + i];
		}
		diag += (double)table[i * c + i];
		chance += row * col;
	}
	double po = diag / total, pe = chance / (total * total);
	if (pe >= 1.0)
		return AM_EINVAL;
	*kappa = (po - pe) / (1.0 - pe);
	return 0;
}
