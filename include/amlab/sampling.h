/* sampling.h: choosing the next token from logits: greedy, or temperature, then top-k, top-p
 * and min-p filtering (the order of Hugging Face's logits warpers), then a draw from the
 * renormalised distribution with a seeded struct am_rng (same seed, same tokens).
 *
 * Ownership: struct am_sampler owns its scratch arrays (am_sampler_free). */
#ifndef AMLAB_SAMPLING_H
#define AMLAB_SAMPLING_H

#include "amlab/err.h"
#include "amlab/rng.h"

struct am_sampling_params {
	double temperature; /* <= 0: greedy (argmax, lowest id on ties) */
	int top_k;          /* 0: off */
	double top_p;       /* >= 1: off */
	double min_p;       /* <= 0: off; keep tokens with p >= min_p * p_max */
};

struct am_sampler {
	struct am_sampling_params p;
	struct am_rng rng;
	/* scratch, grown to the vocabulary size */
	int32_t *idx;
	float *val;
	size_t cap;
};

/* Check parameter ranges (message names the parameter). */
int am_sampling_params_check(const struct am_sampling_params *p, struct am_err *err);
void am_sampler_init(struct am_sampler *s, const struct am_sampling_params *p, uint64_t seed,
                     uint64_t stream);
void am_sampler_free(struct am_sampler *s);
/* Pick a token from n logits. Returns the token id, or AM_ENOMEM. */
int32_t am_sampler_sample(struct am_sampler *s, const float *logits, size_t n);

/* log softmax(logits)[tok] at temperature 1 (the model's own log-probability). */
double am_logprob_of(const float *logits, size_t n, int32_t tok);

#endif
