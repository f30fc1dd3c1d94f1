/* run.h: an evaluation run end to end: select and render a suite's conditions, build every
 * episode (condition x sample), drive them all through the world's episode state machine with
 * one am_model_run request source (HTTP models keep many requests in flight; the local engine
 * batches the samples of a condition, which share a prompt), commit each finished episode to
 * the store at once, then judge the episodes (a second request source over the judge model).
 * A killed run resumes: finished episodes are never run again, missing ones are. Forced-choice
 * propensity runs live here too.
 *
 * Ownership: the caller owns the store and the models; nothing here keeps them after return.
 * am_eval_opts strings are borrowed for the call. */
#ifndef AMLAB_RUN_H
#define AMLAB_RUN_H

#include "amlab/agent.h"
#include "amlab/model.h"
#include "amlab/stats.h"
#include "amlab/store.h"

struct am_eval_opts {
	const char *suite;      /* a suite name (under am_suites_dir()) or a directory */
	const char *conditions; /* condition-id glob (`*` matches '/' too), NULL: all */
	const char *preset;     /* a preset name (docs/scenarios.md), NULL: none */
	int samples;            /* per condition; 0 selects 10 */
	double temperature;     /* agent sampling temperature (default 1) */
	uint64_t seed;          /* base seed; each episode derives its own */
	enum am_protocol protocol;
	bool multi_turn;
	int max_steps;        /* model replies per episode (multi-turn); 0: 20 */
	long max_tokens;      /* completion tokens per episode; 0: unlimited */
	int max_reply_tokens; /* per request; 0: provider default */
	int concurrency;      /* episodes in flight at once; 0: 64 */
	int judge_attempts;   /* 0: AM_JUDGE_MAX_ATTEMPTS */
	bool progress;        /* progress line on stderr (only when it is a terminal) */
	/* Testing hook: stop (as if killed) after this many episodes were committed; 0: never. */
	long stop_after;
};
void am_eval_opts_default(struct am_eval_opts *o);

struct am_eval_summary {
	int64_t run;
	long total;        /* episodes of the run */
	long already_done; /* found finished in the store (resume) */
	long ran;          /* episodes run and committed now */
	long model_errors; /* of those, ended by a model error */
	long judged;       /* verdicts written now */
	double seconds;
};

/* Start a new run (resume == 0) or continue run `resume`, with judge (NULL: detector-only).
 * Refuses to resume with a different model, judge, suite rendering or parameter, naming the
 * field and both values. */
int am_eval_run(struct am_store *s, struct am_model *model, struct am_model *judge,
                const struct am_eval_opts *o, int64_t resume, struct am_eval_summary *sum,
                struct am_err *err);

/* Judge every episode of `run` in a new judging by `judge` (amlab rejudge); *judging gets its
 * id. Episodes that ended in a model error get an invalid verdict without a judge call. */
int am_eval_rejudge(struct am_store *s, int64_t run, struct am_model *judge, int concurrency,
                    int attempts, bool progress, int64_t *judging, long *judged,
                    struct am_err *err);

/* The options of a stored run (to resume it with the same parameters). Strings in *o point
 * into *holder (free with am_json_free). */
int am_eval_opts_from_run(const struct am_run_info *run, struct am_eval_opts *o, am_json **holder,
                          struct am_err *err);

/* ---- forced-choice propensity (amlab propensity) ---- */

/* For every selected condition, score each candidate with am_model_logprob(context, text) where
 * context is the condition's prompt rendered as raw chat text (docs/statistics.md,
 * "Propensity"), and store P(candidate) = softmax over candidates of the length-normalised
 * log-likelihood (mean log-probability per token). Prints nothing; results go to the store
 * (table `choices`) and *run. */
int am_propensity_run(struct am_store *s, struct am_model *model, const struct am_eval_opts *o,
                      int64_t *run, struct am_err *err);

/* Softmax of length-normalised log-likelihoods: p_i = exp(l_i/n_i) / sum_j exp(l_j/n_j).
 * n_i > 0. Exposed for tests. */
int am_choice_probabilities(const double *logprob, const long *n_tokens, size_t n, double *p,
                            struct am_err *err);

#endif
