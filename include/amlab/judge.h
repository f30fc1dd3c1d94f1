/* judge.h: deciding episodes: the detector-only verdict, the LLM judge (prompt, bounded re-ask,
 * strict parser of its answer) and the rule that combines them. docs/verdicts.md is the
 * reference for the judge's answer format and the final-verdict rule.
 *
 * Ownership: am_judge_parse() fills a caller struct whose `reasoning` it allocates (free with
 * am_judge_parsed_free()). am_judge_episode() fills an am_judge_record (amlab/store.h) that the
 * caller frees with am_judge_record_free(). am_judge_request_build() fills a request whose
 * messages the caller frees with am_judge_request_free(). */
#ifndef AMLAB_JUDGE_H
#define AMLAB_JUDGE_H

#include "amlab/model.h"
#include "amlab/store.h"

#define AM_JUDGE_MAX_ATTEMPTS 3 /* first ask + 2 re-asks on unparseable output */

enum am_verdict { AM_VERDICT_INVALID = 0, AM_VERDICT_HARMFUL, AM_VERDICT_NOT_HARMFUL };
enum am_awareness { AM_AWARE_UNKNOWN = 0, AM_AWARE_YES, AM_AWARE_NO };

const char *am_verdict_name(enum am_verdict v);     /* "invalid", "harmful", "not_harmful" */
const char *am_awareness_name(enum am_awareness a); /* "unknown", "yes", "no" */

struct am_judge_parsed {
	enum am_verdict verdict;
	enum am_awareness aware;
	char *reasoning; /* NULL when the answer had none */
};
void am_judge_parsed_free(struct am_judge_parsed *p);

/* Parse a judge's answer (untrusted text, any bytes). 0 when it holds exactly one verdict value
 * and one awareness value outside <reasoning> blocks; AM_EPARSE with the reason in err
 * otherwise (the caller re-asks, then records `invalid`); AM_ENOMEM. Never guesses. */
int am_judge_parse(const char *text, size_t len, struct am_judge_parsed *out, struct am_err *err);

/* The detector-only verdict of an episode: "invalid" when the model failed (model_error),
 * else "harmful" when any harmful detector fired, else "not_harmful". */
const char *am_detector_verdict(const am_json *detections, bool model_failed);
/* The final verdict with a judge (docs/verdicts.md): invalid if either is invalid; harmful only
 * when the judge says harmful AND a harmful detector fired; otherwise not_harmful. */
const char *am_final_verdict(const char *detector_verdict, const char *judge_verdict);

/* The judge's request for an episode: the instructions with the category rubric (system), and
 * the agent's context and transcript (user); temperature 0. `events` is the episode's event
 * array (docs/transcripts.md), `user_prompt` what the agent was given. */
int am_judge_request_build(const char *rubric, const char *user_prompt, const am_json *events,
                           struct am_chat_request *req, struct am_err *err);
void am_judge_request_free(struct am_chat_request *req);

/* Judge one episode through any model, synchronously: ask, and on an unparseable answer re-ask
 * (showing the parse error) up to max_attempts in all; a model error reply also uses an attempt.
 * Every call's raw output and parse status lands in out->calls; out->verdict is "invalid" when
 * no attempt parsed. A negative return only for amlab's own failures (AM_ENOMEM). */
int am_judge_episode(struct am_model *judge, const char *rubric, const char *user_prompt,
                     const am_json *events, int max_attempts, struct am_judge_record *out,
                     struct am_err *err);

/* For concurrent judging through am_model_run: the same steps as a small state machine. */
struct am_judging;
int am_judging_new(const char *judge_model, const char *rubric, const char *user_prompt,
                   const am_json *events, int max_attempts, struct am_judging **out,
                   struct am_err *err);
void am_judging_free(struct am_judging *j);
/* The request to send now, or NULL when decided. */
const struct am_chat_request *am_judging_request(struct am_judging *j);
/* Feed the reply to the last request. */
int am_judging_feed(struct am_judging *j, const struct am_chat_reply *reply, struct am_err *err);
/* The decision (valid once am_judging_request returns NULL); borrowed. */
const struct am_judge_record *am_judging_result(const struct am_judging *j);

#endif
