/* model.c: chat types and the synchronous helpers over am_model_ops (see amlab/model.h). */
#include "amlab/model.h"

#include "amlab/alloc.h"

void am_tool_call_free(struct am_tool_call *c)
{
	if (!c)
		return;
	am_free(c->id);
	am_free(c->name);
	am_free(c->arguments);
	c->id = c->name = c->arguments = NULL;
}

static void free_calls(struct am_tool_call *calls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		am_tool_call_free(&calls[i]);
	am_free(calls);
}

void am_chat_message_free(struct am_chat_message *m)
{
	if (!m)
		return;
	am_free(m->content);
	am_free(m->reasoning);
	free_calls(m->tool_calls, m->n_tool_calls);
	am_free(m->tool_call_id);
	am_free(m->name);
	memset(m, 0, sizeof(*m));
}

void am_chat_reply_free(struct am_chat_reply *r)
{
	if (!r)
		return;
	am_free(r->content);
	am_free(r->reasoning);
	free_calls(r->tool_calls, r->n_tool_calls);
	am_free(r->finish_reason);
	am_free(r->token_logprobs);
	am_free(r->error_kind);
	am_free(r->error);
	memset(r, 0, sizeof(*r));
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = am_strdup(src);
	return *dst ? 0 : AM_ENOMEM;
}

int am_chat_message_copy(struct am_chat_message *dst, const struct am_chat_message *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->role = src->role;
	if (dup_opt(&dst->content, src->content) < 0 ||
	    dup_opt(&dst->reasoning, src->reasoning) < 0 ||
	    dup_opt(&dst->tool_call_id, src->tool_call_id) < 0 ||
	    dup_opt(&dst->name, src->name) < 0)
		goto fail;
	if (src->n_tool_calls) {
		dst->tool_calls = am_calloc(src->n_tool_calls, sizeof(*dst->tool_calls));
		if (!dst->tool_calls)
			goto fail;
		dst->n_tool_calls = src->n_tool_calls;
		for (size_t i = 0; i < src->n_tool_calls; i++) {
			const struct am_tool_call *s = &src->tool_calls[i];
			struct am_tool_call *d = &dst->tool_calls[i];
			if (dup_opt(&d->id, s->id) < 0 || dup_opt(&d->name, s->name) < 0 ||
			    dup_opt(&d->arguments, s->arguments) < 0)
				goto fail;
		}
	}
	return 0;
fail:
	am_chat_message_free(dst);
	return AM_ENOMEM;
}

const char *am_role_name(enum am_role role)
{
	switch (role) {
	case AM_ROLE_SYSTEM: return "system";
	case AM_ROLE_USER: return "user";
	case AM_ROLE_ASSISTANT: return "assistant";
	case AM_ROLE_TOOL: return "tool";
	}
	return "unknown";
}

int am_chat_reply_set_error(struct am_chat_reply *r, const char *kind, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	am_free(r->error_kind);
	am_free(r->error);
	r->status = AM_REPLY_ERROR;
	r->error_kind = am_strdup(kind);
	r->error = am_strdup(msg);
	return r->error_kind && r->error ? 0 : AM_ENOMEM;
}

/* The one-request source behind am_model_chat. */
struct single_source {
	const struct am_chat_request *req;
	struct am_chat_reply *reply;
	bool handed_out;
	bool answered;
};

static int single_next(void *ctx, const struct am_chat_request **req, void **tag,
                       struct am_err *err)
{
	(void)err;
	struct single_source *s = ctx;
	*req = NULL;
	if (!s->handed_out) {
		s->handed_out = true;
		*req = s->req;
		*tag = s;
	}
	return 0;
}

static void single_done(void *ctx, void *tag, struct am_chat_reply *reply)
{
	(void)tag;
	struct single_source *s = ctx;
	*s->reply = *reply; /* move */
	memset(reply, 0, sizeof(*reply));
	s->answered = true;
}

static bool single_finished(void *ctx)
{
	struct single_source *s = ctx;
	return s->handed_out;
}

int am_model_chat(struct am_model *m, const struct am_chat_request *req,
                  struct am_chat_reply *reply, struct am_err *err)
{
	struct single_source s = {req, reply, false, false};
	struct am_request_source src = {&s, single_next, single_done, single_finished};
	memset(reply, 0, sizeof(*reply));
	int rc = m->ops->run(m, &src, err);
	if (rc < 0)
		return rc;
	if (!s.answered)
		return am_err_set(err, AM_EINTERNAL, "model %s returned without answering", m->id);
	return 0;
}

int am_model_logprob(struct am_model *m, const char *context, const char *continuation,
                     double *logprob, long *n_tokens, struct am_err *err)
{
	if (!m->ops->logprob)
		return am_err_set(err, AM_EUNSUPPORTED,
		                  "model %s cannot score continuations (no log-probabilities)",
		                  m->id);
	return m->ops->logprob(m, context, continuation, logprob, n_tokens, err);
}

void am_model_close(struct am_model *m)
{
	if (m && m->ops && m->ops->close)
		m->ops->close(m);
}
