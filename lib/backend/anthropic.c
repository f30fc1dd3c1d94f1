/* anthropic.c: the Anthropic Messages API wire format: system prompt apart, content blocks,
 * tools with input_schema, tool_use / tool_result blocks, thinking blocks as reasoning. */
#include "amlab/alloc.h"
#include "amlab/str.h"
#include "http_internal.h"

#define DEFAULT_MAX_TOKENS 4096 /* the API requires max_tokens */

static int text_block(am_json *content, const char *text)
{
	am_json *b = am_json_obj_new();
	int rc =
	    b && am_json_set_str(b, "type", "text") == 0 && am_json_set_str(b, "text", text) == 0
	        ? am_json_push(content, b)
	        : AM_EINVAL;
	am_json_free(b);
	return rc;
}

static int tool_use_block(am_json *content, const struct am_tool_call *c, size_t i,
                          struct am_err *err)
{
	am_json *input = NULL;
	/* The API wants the arguments as an object; a model's malformed arguments travel as a
	 * string inside one so that the conversation can still be replayed. */
	if (c->arguments) {
		int prc =
		    am_json_parse(c->arguments, strlen(c->arguments), "arguments", &input, NULL);
		if (prc == AM_ENOMEM)
			return am_err_set(err, AM_ENOMEM, "out of memory");
		if (prc == 0 && !json_is_object(input)) {
			am_json_free(input);
			input = NULL;
		}
	}
	if (!input) {
		input = am_json_obj_new();
		if (input && c->arguments && *c->arguments &&
		    am_json_set_str(input, "_raw_arguments", c->arguments) < 0) {
			am_json_free(input);
			return am_err_set(err, AM_ENOMEM, "out of memory");
		}
	}
	am_json *b = am_json_obj_new();
	int rc = AM_ENOMEM;
	if (input && b && am_json_set_str(b, "type", "tool_use") == 0 &&
	    am_json_set_str(b, "id", c->id ? c->id : "") == 0 &&
	    am_json_set_str(b, "name", c->name ? c->name : "") == 0 &&
	    am_json_set(b, "input", input) == 0)
		rc = am_json_push(content, b);
	am_json_free(b);
	am_json_free(input);
	if (rc < 0)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	return 0;
}

static int anthropic_build_chat(const struct http_model *m, const struct am_chat_request *req,
                                am_json **out, struct am_err *err)
{
	int rc = 0;
	am_json *body = am_json_obj_new(), *msgs = am_json_arr_new();
	struct am_buf system = AM_BUF_INIT;
	am_json *cur = NULL; /* content array of the message being built */
	const char *cur_role = NULL;
	*out = NULL;
	if (!body || !msgs)
		goto nomem;
	for (size_t i = 0; i < req->n_messages; i++) {
		const struct am_chat_message *msg = &req->messages[i];
		if (msg->role == AM_ROLE_SYSTEM) {
			if ((system.len && am_buf_puts(&system, "\n\n", err) < 0) ||
			    am_buf_puts(&system, msg->content ? msg->content : "", err) < 0)
				goto nomem;
			continue;
		}
		const char *role = msg->role == AM_ROLE_ASSISTANT ? "assistant" : "user";
		/* Consecutive turns of one role (tool results after each other, a tool result and
		 * then a user note) merge into one message: the API wants roles to alternate. */
		if (!cur || !am_streq(cur_role, role)) {
			am_json *o = am_json_obj_new();
			cur = am_json_arr_new();
			if (!o || !cur || am_json_set_str(o, "role", role) < 0 ||
			    am_json_set(o, "content", cur) < 0 || am_json_push(msgs, o) < 0) {
				am_json_free(o);
				am_json_free(cur);
				goto nomem;
			}
			am_json_free(o);
			am_json_free(cur); /* still referenced by o, which msgs holds */
			cur_role = role;
		}
		if (msg->role == AM_ROLE_TOOL) {
			am_json *b = am_json_obj_new();
			if (!msg->tool_call_id) {
				am_json_free(b);
				rc = am_err_set(err, AM_EINVAL,
				                "messages[%zu]: tool message without tool_call_id",
				                i);
				goto out;
			}
			if (!b || am_json_set_str(b, "type", "tool_result") < 0 ||
			    am_json_set_str(b, "tool_use_id", msg->tool_call_id) < 0 ||
			    am_json_set_str(b, "content", msg->content ? msg->content : "") < 0 ||
			    am_json_push(cur, b) < 0) {
				am_json_free(b);
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
				goto out;
			}
			am_json_free(b);
			continue;
		}
		if (msg->content && *msg->content && text_block(cur, msg->content) < 0) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
		if (msg->role == AM_ROLE_ASSISTANT)
			for (size_t k = 0; k < msg->n_tool_calls; k++)
				if ((rc = tool_use_block(cur, &msg->tool_calls[k], i, err)) < 0)
					goto out;
		if (json_array_size(cur) == 0 && text_block(cur, "") < 0)
			goto nomem;
	}
	if (am_json_set_str(body, "model", m->model_name) < 0 ||
	    am_json_set(body, "messages", msgs) < 0 ||
	    am_json_set_int(body, "max_tokens",
	                    req->max_tokens > 0 ? req->max_tokens : DEFAULT_MAX_TOKENS) < 0 ||
	    am_json_set_real(body, "temperature", req->temperature) < 0)
		goto nomem;
	if (system.len && am_json_set_str(body, "system", system.data) < 0) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	if (req->top_p > 0 && req->top_p < 1 && am_json_set_real(body, "top_p", req->top_p) < 0)
		goto nomem;
	if (req->top_k > 0 && am_json_set_int(body, "top_k", req->top_k) < 0)
		goto nomem;
	if (req->n_stop) {
		am_json *stop = am_json_arr_new();
		for (size_t i = 0; stop && i < req->n_stop; i++)
			if (am_json_push_str(stop, req->stop[i]) < 0) {
				am_json_free(stop);
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
				goto out;
			}
		rc = stop ? am_json_set(body, "stop_sequences", stop) : AM_ENOMEM;
		am_json_free(stop);
		if (rc < 0)
			goto nomem;
	}
	if (req->tools && json_array_size(req->tools) > 0) {
		if (!json_is_array(req->tools)) {
			rc = am_err_set(err, AM_EINVAL, "tools must be a JSON array");
			goto out;
		}
		am_json *tools = am_json_arr_new();
		size_t i;
		am_json *t;
		if (!tools)
			goto nomem;
		json_array_foreach(req->tools, i, t)
		{
			const char *name = NULL;
			char path[32];
			(void)am_snprintf(path, sizeof(path), "tools[%zu]", i);
			if (!json_is_object(t) ||
			    am_json_get_str(t, "name", &name, path, err) < 0) {
				am_json_free(tools);
				rc = json_is_object(t)
				         ? AM_EINVAL
				         : am_err_set(err, AM_EINVAL, "%s must be an object", path);
				goto out;
			}
			am_json *o = am_json_obj_new();
			am_json *schema = am_json_get(t, "parameters");
			am_json *own = NULL;
			if (!schema) {
				schema = own = am_json_obj_new();
				if (own && am_json_set_str(own, "type", "object") < 0)
					schema = NULL;
			}
			const char *desc = am_json_get_str_or(t, "description", NULL);
			int r2 = (!o || !schema || am_json_set_str(o, "name", name) < 0 ||
			          (desc && am_json_set_str(o, "description", desc) < 0) ||
			          am_json_set(o, "input_schema", schema) < 0 ||
			          am_json_push(tools, o) < 0)
			             ? AM_ENOMEM
			             : 0;
			am_json_free(o);
			am_json_free(own);
			if (r2 < 0) {
				am_json_free(tools);
				goto nomem;
			}
		}
		rc = am_json_set(body, "tools", tools);
		am_json_free(tools);
		if (rc < 0)
			goto nomem;
	}
	goto out;
nomem:
	rc = am_err_set(err, AM_ENOMEM, "out of memory");
out:
	am_buf_free(&system);
	am_json_free(msgs);
	if (rc < 0)
		am_json_free(body);
	else
		*out = body;
	return rc;
}

static int anthropic_parse_chat(const am_json *resp, struct am_chat_reply *r, struct am_err *err)
{
	am_json *content = am_json_get(resp, "content");
	if (am_streq(am_json_get_str_or(resp, "type", NULL), "error")) {
		char msg[512];
		http_error_message(resp, msg, sizeof(msg));
		return am_err_set(err, AM_EPARSE, "HTTP 2xx carrying an error: %s", msg);
	}
	if (!json_is_array(content))
		return am_err_set(err, AM_EPARSE, "'content' is missing or not an array");
	struct am_buf text = AM_BUF_INIT, thinking = AM_BUF_INIT;
	int rc = 0;
	size_t n_calls = 0, i;
	am_json *b;
	json_array_foreach(content, i, b)
	{
		if (am_streq(am_json_get_str_or(b, "type", NULL), "tool_use"))
			n_calls++;
	}
	if (n_calls) {
		r->tool_calls = am_calloc(n_calls, sizeof(*r->tool_calls));
		if (!r->tool_calls)
			return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	json_array_foreach(content, i, b)
	{
		const char *type = am_json_get_str_or(b, "type", NULL);
		if (!type) {
			rc = am_err_set(err, AM_EPARSE, "content[%zu].type is missing", i);
			goto out;
		}
		if (am_streq(type, "text")) {
			const char *t = am_json_get_str_or(b, "text", NULL);
			if (!t) {
				rc = am_err_set(err, AM_EPARSE, "content[%zu].text is missing", i);
				goto out;
			}
			if ((rc = am_buf_puts(&text, t, err)) < 0)
				goto out;
		} else if (am_streq(type, "thinking")) {
			const char *t = am_json_get_str_or(b, "thinking", "");
			if ((thinking.len && (rc = am_buf_puts(&thinking, "\n", err)) < 0) ||
			    (rc = am_buf_puts(&thinking, t, err)) < 0)
				goto out;
		} else if (am_streq(type, "tool_use")) {
			struct am_tool_call *tc = &r->tool_calls[r->n_tool_calls];
			const char *id = am_json_get_str_or(b, "id", NULL);
			const char *name = am_json_get_str_or(b, "name", NULL);
			am_json *input = am_json_get(b, "input");
			if (!id || !name) {
				rc = am_err_set(err, AM_EPARSE,
				                "content[%zu]: tool_use without id or name", i);
				goto out;
			}
			struct am_buf args = AM_BUF_INIT;
			if (input && (rc = am_json_dump(input, false, &args, err)) < 0) {
				am_buf_free(&args);
				goto out;
			}
			tc->id = am_strdup(id);
			tc->name = am_strdup(name);
			tc->arguments = input ? am_buf_detach(&args, NULL, err) : am_strdup("{}");
			am_buf_free(&args);
			r->n_tool_calls++;
			if (!tc->id || !tc->name || !tc->arguments) {
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
				goto out;
			}
		}
		/* redacted_thinking and unknown block types carry nothing amlab records. */
	}
	r->content = am_buf_detach(&text, NULL, err);
	if (!r->content) {
		rc = AM_ENOMEM;
		goto out;
	}
	if (thinking.len && !(r->reasoning = am_buf_detach(&thinking, NULL, err))) {
		rc = AM_ENOMEM;
		goto out;
	}
	const char *stop = am_json_get_str_or(resp, "stop_reason", NULL);
	r->finish_reason = am_strdup(stop ? stop : "end_turn");
	if (!r->finish_reason) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	am_json *usage = am_json_get(resp, "usage");
	if (json_is_object(usage)) {
		am_json *in = am_json_get(usage, "input_tokens"),
		        *o = am_json_get(usage, "output_tokens");
		if (json_is_integer(in))
			r->prompt_tokens = (long)json_integer_value(in);
		if (json_is_integer(o))
			r->completion_tokens = (long)json_integer_value(o);
	}
	if (am_streq(stop, "refusal") && !*r->content && r->n_tool_calls == 0)
		rc = am_chat_reply_set_error(r, "refused",
		                             "the model refused (stop_reason refusal)");
out:
	am_buf_free(&text);
	am_buf_free(&thinking);
	return rc;
}

static const char *anthropic_error_kind(long status, const am_json *body, char *msg,
                                        size_t msg_size)
{
	http_error_message(body, msg, msg_size);
	am_json *e = body ? am_json_get(body, "error") : NULL;
	const char *type = json_is_object(e) ? am_json_get_str_or(e, "type", NULL) : NULL;
	if (status == 401 || status == 403 || am_streq(type, "authentication_error") ||
	    am_streq(type, "permission_error"))
		return "auth";
	if (status == 404 || am_streq(type, "not_found_error"))
		return "unknown_model";
	if (status == 413 || am_streq(type, "request_too_large") ||
	    http_contains_ci(msg, "prompt is too long") ||
	    http_contains_ci(msg, "context window") || http_contains_ci(msg, "context length"))
		return "context_length";
	return "bad_request";
}

static bool anthropic_is_overload(long status, const am_json *body)
{
	am_json *e = body ? am_json_get(body, "error") : NULL;
	const char *type = json_is_object(e) ? am_json_get_str_or(e, "type", NULL) : NULL;
	return status == 529 || am_streq(type, "overloaded_error") ||
	       am_streq(type, "rate_limit_error");
}

const struct http_codec am_anthropic_codec = {
    "anthropic",          "/v1/messages",       anthropic_build_chat,
    anthropic_parse_chat, anthropic_error_kind, anthropic_is_overload,
};
