/* toy_model.h: a small deterministic struct am_model for server tests and the benchmark.
 *
 * Replies "echo: <last user text>"; with tools offered and "CALL" in the text, a tool call of
 * the first tool with arguments {"x":1}; "TOOLONG" fails with context_length; "SLOW" takes
 * 300 ms; reasoning is "r" + the sample index. logprob(context, continuation) is -0.5 per byte
 * of the continuation, with one token per byte, so sums are easy to check by hand.
 *
 * Ownership: toy_open returns a model freed by am_model_close. */
#ifndef AMLAB_TESTS_TOY_MODEL_H
#define AMLAB_TESTS_TOY_MODEL_H

#include <stdatomic.h>
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/model.h"

struct toy_model {
	struct am_model base;
	atomic_int inside; /* calls in progress now */
	atomic_int peak_inside;
	atomic_long runs;
	char last_tool_names[256];
	double last_temperature;
	int last_max_tokens;
};

static inline void toy_enter(struct toy_model *t)
{
	int now = atomic_fetch_add(&t->inside, 1) + 1;
	int peak = atomic_load(&t->peak_inside);
	while (now > peak && !atomic_compare_exchange_weak(&t->peak_inside, &peak, now))
		;
}

static inline int toy_run(struct am_model *m, struct am_request_source *src, struct am_err *err)
{
	struct toy_model *t = (struct toy_model *)m;
	toy_enter(t);
	atomic_fetch_add(&t->runs, 1);
	while (!src->finished(src->ctx)) {
		const struct am_chat_request *req = NULL;
		void *tag = NULL;
		int rc = src->next(src->ctx, &req, &tag, err);
		if (rc < 0 || !req) {
			atomic_fetch_sub(&t->inside, 1);
			return rc < 0 ? rc : am_err_set(err, AM_ESTATE, "toy: source stuck");
		}
		const char *text = "";
		for (size_t i = 0; i < req->n_messages; i++)
			if (req->messages[i].role == AM_ROLE_USER && req->messages[i].content)
				text = req->messages[i].content;
		t->last_temperature = req->temperature;
		t->last_max_tokens = req->max_tokens;
		t->last_tool_names[0] = '\0';
		if (req->tools) {
			size_t k;
			am_json *tool;
			json_array_foreach(req->tools, k, tool)
			{
				size_t l = strlen(t->last_tool_names);
				snprintf(t->last_tool_names + l, sizeof(t->last_tool_names) - l,
				         "%s%s", l ? "," : "",
				         am_json_get_str_or(tool, "name", "?"));
			}
		}
		struct am_chat_reply r;
		memset(&r, 0, sizeof(r));
		if (strstr(text, "SLOW"))
			usleep(300000);
		if (strstr(text, "TOOLONG")) {
			am_chat_reply_set_error(&r, "context_length",
			                        "prompt of 9999 tokens > 2048");
		} else {
			char buf[512], rs[32];
			snprintf(buf, sizeof(buf), "echo: %s", text);
			snprintf(rs, sizeof(rs), "r%d", req->sample_index);
			r.reasoning = am_strdup(rs);
			r.prompt_tokens = (long)strlen(text);
			r.completion_tokens = 3;
			if (req->tools && json_array_size(req->tools) && strstr(text, "CALL")) {
				r.content = am_strdup("");
				r.tool_calls = am_calloc(1, sizeof(*r.tool_calls));
				r.n_tool_calls = 1;
				r.tool_calls[0].id = am_strdup("call_toy_1");
				r.tool_calls[0].name = am_strdup(
				    am_json_get_str_or(json_array_get(req->tools, 0), "name", "?"));
				r.tool_calls[0].arguments = am_strdup("{\"x\":1}");
				r.finish_reason = am_strdup("tool_calls");
			} else {
				r.content = am_strdup(buf);
				r.finish_reason = am_strdup("stop");
			}
			if (req->want_logprobs) {
				r.token_logprobs = am_calloc(3, sizeof(double));
				r.n_token_logprobs = 3;
				for (int i = 0; i < 3; i++)
					r.token_logprobs[i] = -0.125 * (i + 1);
			}
		}
		src->done(src->ctx, tag, &r);
	}
	atomic_fetch_sub(&t->inside, 1);
	return 0;
}

static inline int toy_logprob(struct am_model *m, const char *context, const char *continuation,
                              double *logprob, long *n_tokens, struct am_err *err)
{
	(void)m, (void)context, (void)err;
	size_t n = strlen(continuation);
	*logprob = -0.5 * (double)n;
	*n_tokens = (long)n;
	return 0;
}

static inline void toy_close(struct am_model *m)
{
	am_free(m->id);
	am_free(m);
}

static const struct am_model_ops toy_ops = {toy_run, toy_logprob, toy_close};

static struct toy_model *toy_open(void)
{
	struct toy_model *t = am_calloc(1, sizeof(*t));
	t->base.ops = &toy_ops;
	t->base.id = am_strdup("toy/echo");
	t->base.native_tools = true;
	return t;
}

#endif
