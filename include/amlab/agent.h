/* agent.h: one episode of an agent in a simulated world, as a resumable state machine.
 *
 * An episode is created from a rendered condition and options; the caller repeatedly asks for
 * its next request (am_episode_request), gets a reply from any model, and feeds it back
 * (am_episode_feed) until am_episode_request returns NULL. This is what lets the eval scheduler
 * drive hundreds of episodes through one am_model_run request source; am_episode_run is the
 * simple synchronous driver over am_model_chat.
 *
 * Every model message, tool call, tool result, world change and invalid call is an event with an
 * index (docs/transcripts.md). The episode ends when the agent says it is done (a tool bound to
 * agent.done), makes no call, hits the step or token limit, or the model fails; single-turn
 * episodes (the case study) end after one reply, all of whose tool blocks are executed.
 *
 * Ownership: the episode copies the condition's strings and holds its own references to the
 * condition's world and detectors JSON (so the condition may be freed afterwards; that JSON
 * must not be modified in place, which nothing in amlab does); it owns its world, messages and
 * events; free with am_episode_free(). The request
 * returned by am_episode_request is owned by the episode and valid until the next feed or free.
 * A fed reply stays the caller's. Borrowed getters are valid until the next feed or free. */
#ifndef AMLAB_AGENT_H
#define AMLAB_AGENT_H

#include "amlab/json.h"
#include "amlab/model.h"
#include "amlab/scenario.h"

struct am_world;

enum am_protocol {
	AM_PROTOCOL_TEXT = 0, /* tool blocks written in the reply (tools described in the prompt) */
	AM_PROTOCOL_NATIVE,   /* provider function calling (request.tools) */
};

enum am_end_reason {
	AM_END_NONE = 0,    /* still running */
	AM_END_DONE,        /* the agent called a tool bound to agent.done */
	AM_END_NO_CALL,     /* a reply without any tool call */
	AM_END_SINGLE_TURN, /* single-turn mode: the one reply was executed */
	AM_END_MAX_STEPS,   /* the step limit was reached */
	AM_END_MAX_TOKENS,  /* the episode's completion-token budget was spent */
	AM_END_MODEL_ERROR, /* the model returned an error reply */
};

/* When to append text-protocol tool instructions to the system prompt. */
enum am_tool_text {
	AM_TOOL_TEXT_AUTO = 0, /* unless the system prompt already shows <tool_use: blocks */
	AM_TOOL_TEXT_ALWAYS,
	AM_TOOL_TEXT_NEVER,
};

struct am_episode_opts {
	enum am_protocol protocol;
	bool multi_turn;
	int max_steps;        /* model replies per episode; 0 selects 20 */
	long max_tokens;      /* completion tokens over the whole episode; 0 = unlimited */
	int max_reply_tokens; /* per-request cap (request.max_tokens); 0 = provider default */
	double temperature;
	double top_p;
	int top_k;
	double min_p;
	uint64_t seed;
	int sample_index;
	enum am_tool_text tool_text;
};

/* Defaults: text protocol, single turn, temperature 1, top_p 1. */
void am_episode_opts_default(struct am_episode_opts *o);

struct am_episode;

int am_episode_new(const struct am_condition *c, const struct am_episode_opts *o,
                   struct am_episode **out, struct am_err *err);
void am_episode_free(struct am_episode *e); /* NULL-safe */

/* The next request, or NULL when the episode has ended. */
const struct am_chat_request *am_episode_request(struct am_episode *e);
/* Feed the reply to the last request. Agent mistakes are events, never failures: a negative
 * return means amlab itself failed (AM_ENOMEM, or AM_ESTATE when the episode has ended). */
int am_episode_feed(struct am_episode *e, const struct am_chat_reply *reply, struct am_err *err);
/* Synchronous driver: run to the end with am_model_chat. A negative am_model_chat result ends
 * the episode as AM_END_MODEL_ERROR and is returned. */
int am_episode_run(struct am_episode *e, struct am_model *m, struct am_err *err);

bool am_episode_finished(const struct am_episode *e);
enum am_end_reason am_episode_end_reason(const struct am_episode *e);
const char *am_end_reason_name(enum am_end_reason r);
int am_episode_steps(const struct am_episode *e);
long am_episode_completion_tokens(const struct am_episode *e);

const am_json *am_episode_events(const struct am_episode *e); /* borrowed array */
const struct am_world *am_episode_world(const struct am_episode *e);
/* The initial world JSON the episode started from (borrowed). */
const am_json *am_episode_initial_world(const struct am_episode *e);
/* Copy of the final (current) world state. */
int am_episode_final_state(const struct am_episode *e, am_json **out, struct am_err *err);
/* Evaluate the condition's detectors over the events and final state (format of
 * am_detectors_eval, amlab/detector.h). */
int am_episode_detect(const struct am_episode *e, am_json **out, struct am_err *err);
/* The whole transcript (docs/transcripts.md): metadata, events, end reason, final state. */
int am_episode_transcript(const struct am_episode *e, am_json **out, struct am_err *err);

#endif
