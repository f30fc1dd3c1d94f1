/* openai.c: the OpenAI-compatible Chat Completions wire format (OpenAI, vLLM, SGLang,
 * llama.cpp server, Ollama, OpenRouter, amlab serve), and log-probabilities of a continuation
 * through /completions with echo. */
#include "amlab/alloc.h"
#include "amlab/str.h"
#include "http_internal.h"

/* Seeds travel as JSON numbers; keep them exact for every client (2^53). */
#define SEED_MASK ((1ULL << 53) - 1)

static int put_content(am_json *msg, const char *text)
{
	if (!text) {
		am_json *null = am_json_null_new();
		int rc = null ? am_json_set(msg, "content", null) : AM_ENOMEM;
		am_json_free(null);
		return rc;
	}
	return am_json_set_str(msg, "content", text);
}

/* The neutral tool list [{name, description, parameters}] as OpenAI `tools`. */
int am_openai_tools_from_neutral(const am_json *tools, am_json **out, struct am_err *err);
int am_openai_tools_from_neutral(const am_json *tools, am_json **out, struct am_err *err)
{
	*out = NULL;
	if (!json_is_array(tools))
		return am_err_set(err, AM_EINVAL, "tools must be a JSON array of objects");
	am_json *arr = am_json_arr_new();
	if (!arr)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	int rc = 0;
	size_t i;
	am_json *t;
	json_array_foreach(tools, i, t)
	{
		const char *name = NULL;
		char path[32];
		(void)am_snprintf(path, sizeof(path), "tools[%zu]", i);
		if (!json_is_object(t)) {
			rc = am_err_set(err, AM_EINVAL, "%s must be an object", path);
			goto out;
		}
		if ((rc = am_json_get_str(t, "name", &name, path, err)) < 0)
			goto out;
		am_json *fn = am_json_obj_new(), *wrap = am_json_obj_new();
		am_json *params = am_json_get(t, "parameters");
		const char *desc = am_json_get_str_or(t, "description", NULL);
		am_json *empty = NULL;
		if (!params) {
			params = empty = am_json_obj_new();
			am_json *props = am_json_obj_new();
			if (!empty || !props || am_json_set_str(empty, "type", "object") < 0 ||
			    am_json_set(empty, "properties", props) < 0)
				params = NULL;
			am_json_free(props);
		}
		if (!fn || !wrap || !params || am_json_set_str(fn, "name", name) < 0 ||
		    (desc && am_json_set_str(fn, "description", desc) < 0) ||
		    am_json_set(fn, "parameters", params) < 0 ||
		    am_json_set_str(wrap, "type", "function") < 0 ||
		    am_json_set(wrap, "function", fn) < 0 || am_json_push(arr, wrap) < 0)
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
		am_json_free(fn);
		am_json_free(wrap);
		am_json_free(empty);
		if (rc < 0)
			goto out;
	}
out:
	if (rc < 0)
		am_json_free(arr);
	else
		*out = arr;
	return rc;
}

static int build_message(const struct am_chat_message *msg, size_t i, am_json **out,
                         struct am_err *err)
{
	am_json *o = am_json_obj_new();
	int rc = 0;
	if (!o)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	if ((rc = am_json_set_str(o, "role", am_role_name(msg->role))) < 0)
		goto nomem;
	switch (msg->role) {
	case AM_ROLE_SYSTEM:
	case AM_ROLE_USER:
		if ((rc = am_json_set_str(o, "content", msg->content ? msg->content : "")) < 0)
			goto bad_text;
		break;
	case AM_ROLE_ASSISTANT:
		if ((rc = put_content(o, msg->n_tool_calls && !msg->content
		                             ? NULL
		                             : (msg->content ? msg->content : ""))) < 0)
			goto bad_text;
		if (msg->n_tool_calls) {
			am_json *calls = am_json_arr_new();
			if (!calls)
				goto nomem;
			for (size_t k = 0; k < msg->n_tool_calls && rc == 0; k++) {
				const struct am_tool_call *c = &msg->tool_calls[k];
				am_json *fn = am_json_obj_new(), *call = am_json_obj_new();
				if (!fn || !call ||
				    am_json_set_str(fn, "name", c->name ? c->name : "") < 0 ||
				    am_json_set_str(fn, "arguments",
				                    c->arguments ? c->arguments : "{}") < 0 ||
				    am_json_set_str(call, "id", c->id ? c->id : "") < 0 ||
				    am_json_set_str(call, "type", "function") < 0 ||
				    am_json_set(call, "function", fn) < 0 ||
				    am_json_push(calls, call) < 0)
					rc = AM_EINVAL;
				am_json_free(fn);
				am_json_free(call);
			}
			if (rc == 0)
				rc = am_json_set(o, "tool_calls", calls);
			am_json_free(calls);
			if (rc < 0) {
				am_json_free(o);
				return am_err_set(err, AM_ENOMEM, "out of memory");
			}
		}
		break;
	case AM_ROLE_TOOL:
		if ((rc = am_json_set_str(o, "content", msg->content ? msg->content : "")) < 0)
			goto bad_text;
		if (!msg->tool_call_id) {
			am_json_free(o);
			return am_err_set(err, AM_EINVAL,
			                  "messages[%zu]: tool message without tool_call_id", i);
		}
		if ((rc = am_json_set_str(o, "tool_call_id", msg->tool_call_id)) < 0)
			goto bad_text;
		break;
	}
	*out = o;
	return 0;
bad_text:
	am_json_free(o);
	/* The request's text was checked for UTF-8 before building (http.c). */
	return am_err_set(err, AM_ENOMEM, "out of memory building messages[%zu]", i);
nomem:
	am_json_free(o);
	return am_err_set(err, AM_ENOMEM, "out of memory");
}

static int openai_build_chat(const struct http_model *m, const struct am_chat_request *req,
                             am_json **out, struct am_err *err)
{
	int rc = 0;
	am_json *body = am_json_obj_new();
	am_json *msgs = am_json_arr_new();
	*out = NULL;
	if (!body || !msgs) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < req->n_messages; i++) {
		am_json *o = NULL;
		if ((rc = build_message(&req->messages[i], i, &o, err)) < 0)
			goto out;
		rc = am_json_push(msgs, o);
		am_json_free(o);
		if (rc < 0)
			goto nomem;
	}
	if (am_json_set_str(body, "model", m->model_name) < 0 ||
	    am_json_set(body, "messages", msgs) < 0 ||
	    am_json_set_real(body, "temperature", req->temperature) < 0 ||
	    am_json_set_int(body, "seed", (long long)(req->seed & SEED_MASK)) < 0)
		goto nomem;
	if (req->top_p > 0 && req->top_p < 1 && am_json_set_real(body, "top_p", req->top_p) < 0)
		goto nomem;
	/* OpenAI's own API refuses max_tokens for its reasoning models; other servers (vLLM,
	 * llama.cpp, Ollama) know max_tokens best. */
	if (req->max_tokens > 0 &&
	    am_json_set_int(body, m->official_openai ? "max_completion_tokens" : "max_tokens",
	                    req->max_tokens) < 0)
		goto nomem;
	if (req->want_logprobs && am_json_set_bool(body, "logprobs", true) < 0)
		goto nomem;
	if (req->n_stop) {
		am_json *stop = am_json_arr_new();
		for (size_t i = 0; stop && i < req->n_stop; i++)
			if (am_json_push_str(stop, req->stop[i]) < 0) {
				am_json_free(stop);
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
				goto out;
			}
		rc = stop ? am_json_set(body, "stop", stop) : AM_ENOMEM;
		am_json_free(stop);
		if (rc < 0)
			goto nomem;
	}
	if (req->tools && json_array_size(req->tools) > 0) {
		am_json *tools = NULL;
		if ((rc = am_openai_tools_from_neutral(req->tools, &tools, err)) < 0)
			goto out;
		rc = am_json_set(body, "tools", tools);
		am_json_free(tools);
		if (rc < 0)
			goto nomem;
	}
	goto out;
nomem:
	rc = am_err_set(err, AM_ENOMEM, "out of memory");
out:
	am_json_free(msgs);
	if (rc < 0)
		am_json_free(body);
	else
		*out = body;
	return rc;
}

static int dup_str_field(const am_json *o, const char *key, char **dst, const char *path,
                         struct am_err *err)
{
	am_json *v = am_json_get(o, key);
	*dst = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return am_err_set(err, AM_EPARSE, "%s.%s must be a string or null", path, key);
	*dst = am_strndup(json_string_value(v), json_string_length(v));
	return *dst ? 0 : am_err_set(err, AM_ENOMEM, "out of memory");
}

static int openai_parse_chat(const am_json *resp, struct am_chat_reply *r, struct am_err *err)
{
	int rc;
	am_json *choices = am_json_get(resp, "choices");
	if (am_json_get(resp, "error") && !choices) {
		char msg[512];
		http_error_message(resp, msg, sizeof(msg));
		return am_err_set(err, AM_EPARSE, "HTTP 2xx carrying an error: %s", msg);
	}
	if (!json_is_array(choices) || json_array_size(choices) == 0)
		return am_err_set(err, AM_EPARSE, "no choices[0] in the response");
	am_json *ch = json_array_get(choices, 0);
	am_json *msg = am_json_get(ch, "message");
	if (!json_is_object(ch) || !json_is_object(msg))
		return am_err_set(err, AM_EPARSE, "choices[0].message is missing or not an object");
	if ((rc = dup_str_field(msg, "content", &r->content, "choices[0].message", err)) < 0 ||
	    (rc = dup_str_field(msg, "reasoning_content", &r->reasoning, "choices[0].message",
	                        err)) < 0 ||
	    (rc = dup_str_field(ch, "finish_reason", &r->finish_reason, "choices[0]", err)) < 0)
		return rc;
	if (!r->reasoning &&
	    (rc = dup_str_field(msg, "reasoning", &r->reasoning, "choices[0].message", err)) < 0)
		return rc;
	am_json *calls = am_json_get(msg, "tool_calls");
	if (calls && !json_is_null(calls)) {
		if (!json_is_array(calls))
			return am_err_set(err, AM_EPARSE,
			                  "choices[0].message.tool_calls must be an array");
		size_t n = json_array_size(calls);
		if (n) {
			r->tool_calls = am_calloc(n, sizeof(*r->tool_calls));
			if (!r->tool_calls)
				return am_err_set(err, AM_ENOMEM, "out of memory");
			r->n_tool_calls = n;
		}
		for (size_t i = 0; i < n; i++) {
			char path[64];
			(void)am_snprintf(path, sizeof(path), "choices[0].message.tool_calls[%zu]",
			                  i);
			am_json *c = json_array_get(calls, i);
			am_json *fn = am_json_get(c, "function");
			struct am_tool_call *tc = &r->tool_calls[i];
			if (!json_is_object(c) || !json_is_object(fn))
				return am_err_set(err, AM_EPARSE, "%s.function is missing", path);
			if ((rc = dup_str_field(c, "id", &tc->id, path, err)) < 0 ||
			    (rc = dup_str_field(fn, "name", &tc->name, path, err)) < 0)
				return rc;
			am_json *args = am_json_get(fn, "arguments");
			if (json_is_string(args)) {
				tc->arguments =
				    am_strndup(json_string_value(args), json_string_length(args));
			} else if (json_is_object(args)) {
				/* Some servers send the object itself. */
				struct am_buf b = AM_BUF_INIT;
				if (am_json_dump(args, false, &b, err) < 0) {
					am_buf_free(&b);
					return AM_ENOMEM;
				}
				tc->arguments = am_buf_detach(&b, NULL, err);
			} else {
				tc->arguments = am_strdup("{}");
			}
			if (!tc->name)
				return am_err_set(err, AM_EPARSE, "%s.function.name is missing",
				                  path);
			if (!tc->id) {
				char id[40];
				(void)am_snprintf(id, sizeof(id), "call_amlab_%zu", i);
				tc->id = am_strdup(id);
			}
			if (!tc->id || !tc->arguments)
				return am_err_set(err, AM_ENOMEM, "out of memory");
		}
	}
	am_json *usage = am_json_get(resp, "usage");
	if (json_is_object(usage)) {
		am_json *p = am_json_get(usage, "prompt_tokens"),
		        *c = am_json_get(usage, "completion_tokens");
		if (json_is_integer(p))
			r->prompt_tokens = (long)json_integer_value(p);
		if (json_is_integer(c))
			r->completion_tokens = (long)json_integer_value(c);
	}
	am_json *lp = am_json_get(ch, "logprobs");
	am_json *lpc = json_is_object(lp) ? am_json_get(lp, "content") : NULL;
	if (json_is_array(lpc) && json_array_size(lpc)) {
		size_t n = json_array_size(lpc);
		r->token_logprobs = am_calloc(n, sizeof(double));
		if (!r->token_logprobs)
			return am_err_set(err, AM_ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			am_json *v = am_json_get(json_array_get(lpc, i), "logprob");
			if (!json_is_number(v))
				return am_err_set(
				    err, AM_EPARSE,
				    "choices[0].logprobs.content[%zu].logprob is not a number", i);
			r->token_logprobs[i] = json_number_value(v);
		}
		r->n_token_logprobs = n;
	}
	/* A refusal or a filtered answer with nothing in it is a failure, not an empty reply. */
	const char *refusal = am_json_get_str_or(msg, "refusal", NULL);
	bool empty = (!r->content || !*r->content) && r->n_tool_calls == 0;
	if (empty && refusal && *refusal)
		return am_chat_reply_set_error(r, "refused", "the model refused: %s", refusal);
	if (empty && am_streq(r->finish_reason, "content_filter"))
		return am_chat_reply_set_error(r, "refused",
		                               "the provider's content filter withheld the answer");
	if (!r->content) {
		r->content = am_strdup("");
		if (!r->content)
			return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	if (!r->finish_reason && !(r->finish_reason = am_strdup("stop")))
		return am_err_set(err, AM_ENOMEM, "out of memory");
	return 0;
}

static const char *openai_error_kind(long status, const am_json *body, char *msg, size_t msg_size)
{
	http_error_message(body, msg, msg_size);
	am_json *e = body ? am_json_get(body, "error") : NULL;
	const char *code = json_is_object(e) ? am_json_get_str_or(e, "code", NULL) : NULL;
	const char *type = json_is_object(e) ? am_json_get_str_or(e, "type", NULL) : NULL;
	if (status == 401 || status == 403 || am_streq(code, "invalid_api_key"))
		return "auth";
	if (am_streq(code, "model_not_found") || (status == 404 && http_contains_ci(msg, "model")))
		return "unknown_model";
	if (am_streq(code, "context_length_exceeded") || http_contains_ci(msg, "context length") ||
	    http_contains_ci(msg, "context window") || http_contains_ci(msg, "maximum context") ||
	    http_contains_ci(msg, "too many tokens") || http_contains_ci(msg, "prompt is too long"))
		return "context_length";
	if (am_streq(code, "content_filter") || am_streq(code, "content_policy_violation") ||
	    http_contains_ci(type, "content_filter") ||
	    http_contains_ci(msg, "content management policy"))
		return "refused";
	if (status == 404)
		return "unknown_model";
	return "bad_request";
}

static bool openai_is_overload(long status, const am_json *body)
{
	if (status == 529)
		return true;
	if (status == 503) {
		char msg[256];
		http_error_message(body, msg, sizeof(msg));
		return http_contains_ci(msg, "overload") || http_contains_ci(msg, "capacity");
	}
	return false;
}

const struct http_codec am_openai_codec = {
    "openai",          "/chat/completions", openai_build_chat,
    openai_parse_chat, openai_error_kind,   openai_is_overload,
};

/* Characters (code points) in the first n bytes of UTF-8 text: servers give text_offset in
 * characters. */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			k++;
	return k;
}

int am_openai_logprob(struct am_model *base, const char *context, const char *continuation,
                      double *logprob, long *n_tokens, struct am_err *err);
int am_openai_logprob(struct am_model *base, const char *context, const char *continuation,
                      double *logprob, long *n_tokens, struct am_err *err)
{
	struct http_model *m = (struct http_model *)base;
	int rc = 0;
	struct am_buf prompt = AM_BUF_INIT;
	am_json *body = NULL;
	struct http_raw_result res;
	memset(&res, 0, sizeof(res));
	if (!*continuation)
		return am_err_set(err, AM_EINVAL, "logprob: the continuation is empty");
	if (!am_utf8_valid(context, strlen(context)) ||
	    !am_utf8_valid(continuation, strlen(continuation)))
		return am_err_set(err, AM_EINVAL, "logprob: text is not valid UTF-8");
	if ((rc = am_buf_puts(&prompt, context, err)) < 0 ||
	    (rc = am_buf_puts(&prompt, continuation, err)) < 0)
		goto out;
	body = am_json_obj_new();
	if (!body || am_json_set_str(body, "model", m->model_name) < 0 ||
	    am_json_set_str(body, "prompt", prompt.data) < 0 ||
	    am_json_set_bool(body, "echo", true) < 0 || am_json_set_int(body, "logprobs", 1) < 0 ||
	    am_json_set_int(body, "max_tokens", 0) < 0 ||
	    am_json_set_real(body, "temperature", 0.0) < 0) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	if (http_post_json(m, "/completions", body, &res) < 0) {
		rc = res.rc;
		if (http_contains_ci(res.err.msg, "bad_request") ||
		    http_contains_ci(res.err.msg, "unknown_model") ||
		    http_contains_ci(res.err.msg, "echo"))
			rc = am_err_set(
			    err, AM_EUNSUPPORTED,
			    "model %s: the server does not score prompts through /completions "
			    "with echo and logprobs: %s",
			    base->id, res.err.msg);
		else
			rc = am_err_set(err, rc, "model %s: logprob: %s", base->id, res.err.msg);
		goto out;
	}
	am_json *ch = json_array_get(am_json_get(res.json, "choices"), 0);
	am_json *lp = ch ? am_json_get(ch, "logprobs") : NULL;
	am_json *toks = lp ? am_json_get(lp, "tokens") : NULL;
	am_json *tlp = lp ? am_json_get(lp, "token_logprobs") : NULL;
	am_json *off = lp ? am_json_get(lp, "text_offset") : NULL;
	am_json *counts = lp ? am_json_get(lp, "x_amlab_token_counts") : NULL;
	if (!json_is_array(tlp) || !json_is_array(off) ||
	    json_array_size(tlp) != json_array_size(off)) {
		rc = am_err_set(err, AM_EUNSUPPORTED,
		                "model %s: the server's /completions answer has no per-token "
		                "logprobs with text offsets (echo unsupported?)",
		                base->id);
		goto out;
	}
	size_t n = json_array_size(tlp);
	size_t ctx_chars = utf8_chars(context, strlen(context));
	size_t total_chars = utf8_chars(prompt.data, prompt.len);
	double sum = 0;
	long count = 0;
	for (size_t i = 0; i < n; i++) {
		am_json *o = json_array_get(off, i);
		if (!json_is_integer(o)) {
			rc = am_err_set(err, AM_EPARSE,
			                "logprobs.text_offset[%zu] is not an integer", i);
			goto out;
		}
		long long start = json_integer_value(o);
		long long end = total_chars;
		if (i + 1 < n && json_is_integer(json_array_get(off, i + 1)))
			end = json_integer_value(json_array_get(off, i + 1));
		if (start >= (long long)total_chars)
			break; /* generated tokens, if the server made any */
		if (end <= (long long)ctx_chars)
			continue; /* context token */
		am_json *v = json_array_get(tlp, i);
		if (!json_is_number(v)) {
			rc = am_err_set(
			    err, AM_EPARSE,
			    "logprobs.token_logprobs[%zu] is not a number (the continuation "
			    "cannot be scored without context)",
			    i);
			goto out;
		}
		sum += json_number_value(v);
		/* amlab serve's segments carry the model's own token counts. */
		am_json *cnt = json_is_array(counts) ? json_array_get(counts, i) : NULL;
		count += json_is_integer(cnt) ? (long)json_integer_value(cnt) : 1;
	}
	(void)toks;
	if (count == 0) {
		rc = am_err_set(err, AM_EPARSE, "model %s: no continuation tokens in the answer",
		                base->id);
		goto out;
	}
	*logprob = sum;
	*n_tokens = count;
out:
	am_buf_free(&prompt);
	am_json_free(body);
	am_json_free(res.json);
	return rc;
}
