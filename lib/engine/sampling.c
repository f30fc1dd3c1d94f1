/* sampling.c: see amlab/sampling.h.
 *
 * To stay fast on 50k-256k vocabularies, tokens whose probability is below 1e-9 of the most
 * likely one are dropped before sorting: together they weigh at most n * 1e-9 (5e-5 for a 50k
 * vocabulary), far below anything top-p or a draw can tell apart. */
#include "amlab/sampling.h"

#include "amlab/alloc.h"

#include <math.h>

#define NEGLIGIBLE_LOG (-20.7232658369464) /* log(1e-9) */

int am_sampling_params_check(const struct am_sampling_params *p, struct am_err *err)
{
	if (!isfinite(p->temperature) || p->temperature < 0 || p->temperature > 100)
		return am_err_set(err, AM_EINVAL, "temperature %g is out of range 0..100",
		                  p->temperature);
	if (p->top_k < 0)
		return am_err_set(err, AM_EINVAL, "top-k %d must not be negative", p->top_k);
	if (!(p->top_p > 0 && p->top_p <= 1))
		return am_err_set(err, AM_EINVAL, "top-p %g is out of range (0, 1]", p->top_p);
	if (!(p->min_p >= 0 && p->min_p <= 1))
		return am_err_set(err, AM_EINVAL, "min-p %g is out of range [0, 1]", p->min_p);
	return 0;
}

void am_sampler_init(struct am_sampler *s, const struct am_sampling_params *p, uint64_t seed,
                     uint64_t stream)
{
	memset(s, 0, sizeof(*s));
	s->p = *p;
	am_rng_seed_stream(&s->rng, seed, stream);
}

void am_sampler_free(struct am_sampler *s)
{
	if (!s)
		return;
	am_free(s->idx);
	am_free(s->val);
	s->idx = NULL;
	s->val = NULL;
	s->cap = 0;
}

static int32_t argmax(const float *x, size_t n)
{
	size_t b = 0;
	for (size_t i = 1; i < n; i++)
		if (x[i] > x[b])
			b = i;
	return (int32_t)b;
}

/* Sort candidates by value, descending; ties by id ascending (deterministic). */
static void sort_desc(int32_t *idx, float *val, size_t n)
{
	/* heap sort: no allocation, no recursion, deterministic */
	for (size_t start = n / 2; start-- > 0;) {
		size_t root = start;
		for (;;) {
			size_t child = 2 * root + 1;
			if (child >= n)
				break;
			/* min-heap on (val, -idx) so that the array ends up descending */
			if (child + 1 < n &&
			    (val[child + 1] < val[child] ||
			     (val[child + 1] == val[child] && idx[child + 1] > idx[child])))
				child++;
			if (val[child] < val[root] ||
			    (val[child] == val[root] && idx[child] > idx[root])) {
				float tv = val[root];
				val[root] = val[child];
				val[child] = tv;
				int32_t ti = idx[root];
				idx[root] = idx[child];
				idx[child] = ti;
				root = child;
			} else {
				break;
			}
		}
	}
	for (size_t end = n; end-- > 1;) {
		float tv = val[0];
		val[0] = val[end];
		val[end] = tv;
		int32_t ti = idx[0];
		idx[0] = idx[end];
		idx[end] = ti;
		size_t root = 0;
		for (;;) {
			size_t child = 2 * root + 1;
			if (child >= end)
				break;
			if (child + 1 < end &&
			    (val[child + 1] < val[child] ||
			     (val[child + 1] == val[child] && idx[child + 1] > idx[child])))
				child++;
			if (val[child] < val[root] ||
			    (val[child] == val[root] && idx[child] > idx[root])) {
				tv = val[root];
				val[root] = val[child];
				val[child] = tv;
				ti = idx[root];
				idx[root] = idx[child];
				idx[child] = ti;
				root = child;
			} else {
				break;
			}
		}
	}
}

int32_t am_sampler_sample(struct am_sampler *s, const float *logits, size_t n)
{
	const struct am_sampling_params *p = &s->p;
	if (n == 0)
		return AM_EINVAL;
	if (p->temperature <= 0)
		return argmax(logits, n);
	if (n > s->cap) {
		int32_t *idx = am_reallocarray(s->idx, n, sizeof(int32_t));
		if (idx)
			s->idx = idx;
		float *val = am_reallocarray(s->val, n, sizeof(float));
		if (val)
			s->val = val;
		if (!idx || !val)
			return AM_ENOMEM;
		s->cap = n;
	}
	double inv_t = 1.0 / p->temperature;
	float mx = logits[argmax(logits, n)];
	/* scaled logits (log-probabilities up to a constant), negligible ones dropped */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		double v = ((double)logits[i] - mx) * inv_t;
		if (v < NEGLIGIBLE_LOG)
			continue;
		s->idx[m] = (int32_t)i;
		s->val[m] = (float)v;
		m++;
	}
	sort_desc(s->idx, s->val, m);
	if (p->top_k > 0 && (size_t)p->top_k < m)
		m = (size_t)p->top_k;
	/* probabilities of the candidates */
	double total = 0;
	for (size_t i = 0; i < m; i++)
		total += exp((double)s->val[i]);
	if (p->top_p < 1.0) {
		double cum = 0;
		size_t keep = m;
		for (size_t i = 0; i < m; i++) {
			cum += exp((double)s->val[i]) / total;
			if (cum >= p->top_p) {
				keep = i + 1;
				break;
			}
		}
		m = keep;
	}
	if (p->min_p > 0) {
		/* relative to the most likely candidate, whose scaled logit is 0 */
		double lim = log(p->min_p);
		size_t keep = 1;
		while (keep < m && (double)s->val[keep] >= lim)
			keep++;
		m = keep;
	}
	total = 0;
	for (size_t i = 0; i < m; i++)
		total += exp((double)s->val[i]);
	double u = am_rng_uniform(&s->rng) * total, cum = 0;
	for (size_t i = 0; i < m; i++) {
		cum += exp((double)s->val[i]);
		if (u < cum)
			return s->idx[i];
	}
	return s->idx[m - 1];
}

double am_logprob_of(const float *logits, size_t n, int32_t tok)
{
	float mx = logits[argmax(logits, n)];
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += exp((double)logits[i] - mx);
	return (double)logits[tok] - mx - log(sum);
}
