/* model.h: the one interface every model provider implements (OpenAI-compatible and Anthropic
 * over HTTP in lib/backend, the local GGUF engine in lib/engine, replay in lib/world), and the
 * chat types the agent loop, the judge and the server share.
 *
 * Ownership: every struct here owns the strings and arrays it points to; free them with the
 * matching am_*_free(). Requests are built by the caller and only read by the model. Replies
 * are filled by the model into caller-provided structs (zero them first) and freed by the
 * caller with am_chat_reply_free().
 *
 * Running many requests: a caller hands the model a request *source* (am_model_run). The model
 * pulls requests when it has capacity (HTTP: up to its adaptive concurrency; local engine: all
 * ready requests, batched, sharing prompt prefixes) and reports each reply through done(), which
 * may make new requests ready (the next turn of an episode). am_model_run returns when the
 * source says it is finished and nothing is in flight. */
#ifndef AMLAB_MODEL_H
#define AMLAB_MODEL_H

#include "amlab/err.h"
#include "amlab/json.h"

enum am_role { AM_ROLE_SYSTEM, AM_ROLE_USER, AM_ROLE_ASSISTANT, AM_ROLE_TOOL };

/* A tool call the model made (native protocol) or the text parser found (text protocol). */
struct am_tool_call {
	char *id;        /* provider's call id ("call_abc"), or one amlab made up; never NULL */
	char *name;      /* tool name as the model wrote it */
	char *arguments; /* JSON object text as the model wrote it (may be malformed) */
};

struct am_chat_message {
	enum am_role role;
	char *content; /* text; may be NULL for an assistant message with only tool calls */
	char
	    *reasoning; /* assistant's separate reasoning (reasoning_content / thinking), or NULL */
	struct am_tool_call *tool_calls; /* assistant only */
	size_t n_tool_calls;
	char *tool_call_id; /* tool messages: the call answered */
	char *name;         /* tool messages: the tool's name */
};

/* Tool definitions offered natively, provider-neutral: a JSON array of objects
 * {"name": str, "description": str, "parameters": JSON-schema object}. Backends translate it to
 * the OpenAI `tools` or Anthropic `tools` shape. NULL when tools are offered as text. */
struct am_chat_request {
	struct am_chat_message *messages;
	size_t n_messages;
	am_json *tools;     /* borrowed from the caller; NULL: none */
	double temperature; /* 0 = greedy */
	double top_p;       /* 1 = off */
	int top_k;          /* 0 = off (local engine) */
	double min_p;       /* 0 = off (local engine) */
	int max_tokens;     /* completion cap; 0 = provider default */
	uint64_t seed;      /* sampling seed; each sample of a condition gets its own */
	int sample_index;   /* part of the cache key: distinct samples are distinct requests */
	char **stop;        /* stop strings, n_stop of them */
	size_t n_stop;
	bool want_logprobs; /* ask for token log-probabilities of the reply where supported */
};

enum am_reply_status {
	AM_REPLY_OK = 0,
	AM_REPLY_ERROR = 1, /* the request failed for good; see error/error_kind */
};

struct am_chat_reply {
	enum am_reply_status status;
	char *content;   /* assistant text (may be "" when only tool calls came back) */
	char *reasoning; /* separate reasoning, or NULL */
	struct am_tool_call *tool_calls;
	size_t n_tool_calls;
	char *finish_reason; /* "stop", "length", "tool_calls", "end_turn", ... */
	long prompt_tokens;
	long completion_tokens;
	double *token_logprobs; /* when requested and available */
	size_t n_token_logprobs;
	bool from_cache;
	/* On AM_REPLY_ERROR: a stable kind ("auth", "unknown_model", "context_length", "refused",
	 * "rate_limited", "server", "timeout", "network", "bad_response", "bad_request",
	 * "internal") and a clear message. Never an empty reply standing in for a failure. */
	char *error_kind;
	char *error;
};

struct am_model;

/* A source of requests for am_model_run (implemented by the caller, e.g. the eval scheduler). */
struct am_request_source {
	void *ctx;
	/* Hand out the next ready request and an opaque tag, or return 0 with *req = NULL when none
	 * is ready now. The request stays owned by the source until done() for its tag. */
	int (*next)(void *ctx, const struct am_chat_request **req, void **tag, struct am_err *err);
	/* A reply for tag. The reply is the source's to keep (it must am_chat_reply_free it). */
	void (*done)(void *ctx, void *tag, struct am_chat_reply *reply);
	/* True when no request will ever be ready again. */
	bool (*finished)(void *ctx);
};

struct am_model_ops {
	/* Serve every request of src (see above). Per-request failures are replies with
	 * AM_REPLY_ERROR; a negative return means the whole run could not go on. */
	int (*run)(struct am_model *m, struct am_request_source *src, struct am_err *err);
	/* log P(continuation | context) summed over the continuation's tokens, and the token count.
	 * Both texts are raw (no chat template). NULL when the provider cannot. */
	int (*logprob)(struct am_model *m, const char *context, const char *continuation,
	               double *logprob, long *n_tokens, struct am_err *err);
	void (*close)(struct am_model *m);
};

/* Every provider's model struct starts with this. */
struct am_model {
	const struct am_model_ops *ops;
	char *id;          /* "openai/gpt-4.1", "local/smollm2", ... */
	bool native_tools; /* supports native function calling */
};

/* One request, synchronously (a one-request source over ops->run). */
int am_model_chat(struct am_model *m, const struct am_chat_request *req,
                  struct am_chat_reply *reply, struct am_err *err);
int am_model_logprob(struct am_model *m, const char *context, const char *continuation,
                     double *logprob, long *n_tokens, struct am_err *err);
void am_model_close(struct am_model *m); /* NULL-safe */

void am_tool_call_free(struct am_tool_call *c);
void am_chat_message_free(struct am_chat_message *m);
void am_chat_reply_free(struct am_chat_reply *r);
/* Deep copy; returns AM_ENOMEM on failure with dst left empty. */
int am_chat_message_copy(struct am_chat_message *dst, const struct am_chat_message *src);
const char *am_role_name(enum am_role role);
/* Set reply to an error (status, kind, message); returns 0 or AM_ENOMEM. */
int am_chat_reply_set_error(struct am_chat_reply *r, const char *kind, const char *fmt, ...)
    AM_PRINTF(3, 4);

#endif
