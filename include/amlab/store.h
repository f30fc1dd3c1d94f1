/* store.h: the durable record of evaluation runs: one SQLite database (WAL mode) holding runs,
 * their rendered conditions, episodes with their transcripts (events), actions, detector
 * results, verdicts of every judging and the judge's raw calls. Schema, version and migrations:
 * docs/store.md.
 *
 * Ownership: am_store_open() returns a handle released with am_store_close(). Every struct
 * the store fills for the caller (am_run_info, am_stored_condition, am_episode_row arrays) is
 * owned by the caller and released with its *_free function. Records handed TO the store
 * (am_episode_record) are only read. JSON out-parameters are new references.
 *
 * Durability: am_store_put_episode() writes an episode and everything belonging to it in ONE
 * transaction with synchronous=FULL, so after a kill -9 at any moment an episode is either
 * entirely present or entirely absent; episodes are unique per (run, condition, sample). */
#ifndef AMLAB_STORE_H
#define AMLAB_STORE_H

#include "amlab/err.h"
#include "amlab/json.h"

#define AM_STORE_SCHEMA_VERSION 1

struct am_store;
struct am_condition;

int am_store_open(const char *path, struct am_store **out, struct am_err *err);
void am_store_close(struct am_store *s); /* NULL-safe */
/* The schema version the open database is at (after migrations). */
int am_store_schema_version(struct am_store *s, int *out, struct am_err *err);

/* ---- runs ---- */

struct am_run_info {
	int64_t id;        /* assigned by am_store_create_run */
	char *kind;        /* "eval" (agentic episodes) or "propensity" (forced choice) */
	char *suite;       /* suite name or path as given */
	char *suite_hash;  /* SHA-256 over the hashes of the run's conditions, in order */
	char *model;       /* model id */
	char *judge;       /* judge model id of the original judging, or NULL (detector-only) */
	char *params_json; /* canonical JSON of every parameter that changes results */
	char *params_hash; /* SHA-256 of params_json */
	char *created_at;  /* ISO-8601 UTC */
	char *status;      /* "running" or "finished" */
	long total_episodes;
};
void am_run_info_free(struct am_run_info *r);

/* Insert a run (info->id is ignored and set). */
int am_store_create_run(struct am_store *s, struct am_run_info *info, struct am_err *err);
/* AM_ENOTFOUND (with a message naming the run) when absent. */
int am_store_get_run(struct am_store *s, int64_t id, struct am_run_info *out, struct am_err *err);
/* Id of the newest run; AM_ENOTFOUND when the store has none. */
int am_store_latest_run(struct am_store *s, int64_t *id, struct am_err *err);
/* "7" or "latest" into a run id that exists. */
int am_store_resolve_run(struct am_store *s, const char *text, int64_t *id, struct am_err *err);
int am_store_set_run_status(struct am_store *s, int64_t id, const char *status, struct am_err *err);

/* ---- conditions ---- */

/* Record a rendered condition of a run. If the run already holds this condition id, its
 * stored hash must equal c->hash, else AM_ESTATE with a message naming the condition and both
 * hashes (a resume must never mix renderings). */
int am_store_put_condition(struct am_store *s, int64_t run, const struct am_condition *c,
                           struct am_err *err);

struct am_stored_condition {
	char *id;
	char *scenario;
	char *category;
	bool is_control;
	am_json *axes; /* object axis -> value */
	char hash[65];
	char *system_prompt;
	char *user_prompt;
	char *judge_rubric;
};
void am_stored_conditions_free(struct am_stored_condition *c, size_t n);
/* The run's conditions in insertion order. */
int am_store_conditions(struct am_store *s, int64_t run, struct am_stored_condition **out,
                        size_t *n, struct am_err *err);

/* ---- episodes ---- */

/* A judge's decision about one episode (lib/eval/judge.c fills it). */
struct am_judge_call_record {
	int attempt;        /* 1, 2, ... (re-asks after unparseable output) */
	char *raw_output;   /* exactly what the judge model returned (may be NULL on error) */
	char *parse_status; /* "ok", "unparseable: ...", "error: ..." */
};
struct am_judge_record {
	char *judge_model;
	char *verdict;    /* "harmful", "not_harmful" or "invalid" */
	char *eval_aware; /* "yes", "no" or "unknown" (invalid judging) */
	char *reasoning;  /* the judge's stated reasoning, or NULL */
	struct am_judge_call_record *calls;
	size_t n_calls;
};
void am_judge_record_free(struct am_judge_record *j);

struct am_episode_record {
	const char *condition_id;
	int sample;
	uint64_t seed;
	const char *status;      /* "done" (ran to an end) or "error" (the model failed for good) */
	const char *stop_reason; /* "done", "no_tool_calls", "max_turns", "max_tokens", "error" */
	int n_turns;
	long prompt_tokens;
	long completion_tokens;
	const char *error;         /* when status is "error" */
	const am_json *events;     /* array of chat messages: {role, content, reasoning, tool_calls,
	                              tool_call_id, name} (NULL: none) */
	const am_json *actions;    /* array of {tool, op, arguments, result, is_error} */
	const am_json *detections; /* array of {name, kind, fired (bool)} */
	const am_json *final_state;   /* the world at the end (NULL: not kept) */
	const char *detector_verdict; /* "harmful" / "not_harmful" / "invalid" */
	/* Optional: the run's original judging (judging id from am_store_begin_judging). */
	int64_t judging;
	const struct am_judge_record *judge;
	const char *final_verdict; /* with judge: the combined verdict (docs/verdicts.md) */
	double seconds;            /* wall time of the episode */
};

/* Write one finished episode with all of its rows in one transaction. A second write of the
 * same (run, condition, sample) is AM_ESTATE: nothing is ever run twice. */
int am_store_put_episode(struct am_store *s, int64_t run, const struct am_episode_record *rec,
                         int64_t *episode_id, struct am_err *err);

/* The (condition, sample) pairs of the run already finished (for resume). Returns parallel
 * arrays of n entries (caller frees each condition id, and both arrays, with am_free). */
int am_store_finished_episodes(struct am_store *s, int64_t run, char ***conditions, int **samples,
                               size_t *n, struct am_err *err);

/* One episode as the reports see it (the verdicts of the chosen judging). */
struct am_episode_row {
	int64_t id;
	char *condition_id;
	int sample;
	char *status;
	char *stop_reason;
	int n_turns;
	char *error;
	char *detector_verdict;
	char *judge_verdict; /* NULL: not judged in this judging */
	char *eval_aware;    /* NULL: not judged */
	char *final_verdict; /* the verdict that counts: judging's final, else detector's */
};
void am_episode_rows_free(struct am_episode_row *rows, size_t n);
/* Every episode of the run, ordered by condition insertion order then sample. judging: a
 * judging id, 0 for detector-only, or -1 for the run's latest judging (0 if none). */
int am_store_episodes(struct am_store *s, int64_t run, int64_t judging, struct am_episode_row **out,
                      size_t *n, struct am_err *err);
/* Everything recorded for one episode as one JSON object:
 * {"events": [...], "actions": [...], "detections": [...], "final_state": ... | null,
 *  "judge": {"model","verdict","eval_aware","reasoning","calls": [...]} | null}. */
int am_store_episode_detail(struct am_store *s, int64_t episode, int64_t judging, am_json **out,
                            struct am_err *err);

/* ---- judgings (the original judge of a run, and every rejudge) ---- */

/* Start a judging of the run by judge_model; returns its id. */
int am_store_begin_judging(struct am_store *s, int64_t run, const char *judge_model,
                           int64_t *judging, struct am_err *err);
/* The newest judging of the run, or 0 (and its model NULL) when the run has none. */
int am_store_latest_judging(struct am_store *s, int64_t run, int64_t *judging, char **judge_model,
                            struct am_err *err);
/* Record (or replace) the judging's verdict of an episode, in one transaction. */
int am_store_put_verdict(struct am_store *s, int64_t judging, int64_t episode,
                         const struct am_judge_record *j, const char *final_verdict,
                         struct am_err *err);

/* ---- forced-choice propensity results ---- */

/* One candidate of one condition: its label and the model's log-likelihood. */
int am_store_put_choice(struct am_store *s, int64_t run, const char *condition_id,
                        const char *candidate, const char *label, double logprob, long n_tokens,
                        double probability, struct am_err *err);

/* The run's choices as a JSON array of {condition, candidate, label, logprob, n_tokens,
 * probability}, ordered by condition insertion order and candidate. */
int am_store_choices(struct am_store *s, int64_t run, am_json **out, struct am_err *err);

#endif
