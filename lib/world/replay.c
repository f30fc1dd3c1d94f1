/* replay.c: the replay model provider (amlab/replay.h). */
#include "amlab/replay.h"

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/str.h"

struct replay_model {
	struct am_model base; /* first: the am_model the world sees */
	am_json *replies;     /* array of {"content","reasoning"?,"tool_calls"?} */
};

/* Normalize one recorded reply R into an object; errors name where. */
static int normalize(const am_json *r, const char *where, am_json **out, struct am_err *err)
{
	*out = NULL;
	am_json *o = am_json_obj_new();
	if (!o)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	int rc = 0;
	if (json_is_string(r)) {
		rc = am_json_set(o, "content", (am_json *)r);
	} else if (json_is_object(r)) {
		am_json *c = am_json_get(r, "content");
		if (!c)
			c = am_json_get(r, "raw_response");
		if (!c)
			c = am_json_get(r, "reply");
		am_json *tc = am_json_get(r, "tool_calls");
		if (c && !json_is_string(c) && !json_is_null(c))
			rc = am_err_set(err, AM_EINVAL, "%s: field 'content' must be a string",
			                where);
		else if (!c && !tc)
			rc = am_err_set(
			    err, AM_EINVAL,
			    "%s: a reply needs 'content' (or 'raw_response') or 'tool_calls'",
			    where);
		am_json *empty = NULL;
		if (rc == 0 && (!c || json_is_null(c)))
			c = empty = am_json_str_new("");
		if (rc == 0 && (!c || am_json_set(o, "content", c) < 0))
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
		am_json_free(empty);
		am_json *rs = am_json_get(r, "reasoning");
		if (rc == 0 && rs && !json_is_null(rs)) {
			if (!json_is_string(rs))
				rc = am_err_set(err, AM_EINVAL,
				                "%s: field 'reasoning' must be a string", where);
			else if (am_json_set(o, "reasoning", rs) < 0)
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
		}
		if (rc == 0 && tc) {
			if (!json_is_array(tc))
				rc = am_err_set(err, AM_EINVAL,
				                "%s: field 'tool_calls' must be an array", where);
			for (size_t i = 0; rc == 0 && i < json_array_size(tc); i++) {
				am_json *call = json_array_get(tc, i);
				am_json *fn = am_json_get(call, "function");
				am_json *src = json_is_object(fn) ? fn : call;
				am_json *a = am_json_get(src, "arguments");
				if (!json_is_object(call) ||
				    !json_is_string(am_json_get(src, "name")))
					rc = am_err_set(
					    err, AM_EINVAL,
					    "%s: tool_calls[%zu]: needs a string 'name'", where, i);
				else if (a && !json_is_string(a) && !json_is_object(a))
					rc = am_err_set(
					    err, AM_EINVAL,
					    "%s: tool_calls[%zu]: 'arguments' must be a JSON "
					    "string or object",
					    where, i);
			}
			if (rc == 0 && am_json_set(o, "tool_calls", tc) < 0)
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
		}
	} else {
		rc = am_err_set(err, AM_EINVAL, "%s: a reply must be a string or an object", where);
	}
	if (rc < 0) {
		am_json_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

static int push_normalized(am_json *arr, const am_json *r, const char *where, struct am_err *err)
{
	am_json *o = NULL;
	int rc = normalize(r, where, &o, err);
	if (rc == 0 && am_json_push(arr, o) < 0)
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
	am_json_free(o);
	return rc;
}

static bool looks_like_json(const char *p, size_t n)
{
	am_trim(&p, &n);
	return n && (p[0] == '{' || p[0] == '[' || p[0] == '"');
}

int am_replay_parse(const char *text, size_t len, const char *source, am_json **replies,
                    struct am_err *err)
{
	*replies = NULL;
	am_json *arr = am_json_arr_new();
	if (!arr)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	int rc = 0;
	char where[512];
	am_json *whole = NULL;
	if (looks_like_json(text, len) && am_json_parse(text, len, source, &whole, NULL) == 0) {
		if (json_is_object(whole) && am_json_get(whole, "replies")) {
			am_json *r = am_json_get(whole, "replies");
			if (!json_is_array(r) || json_array_size(r) == 0)
				rc = am_err_set(err, AM_EINVAL,
				                "%s: 'replies' must be a non-empty array", source);
			for (size_t i = 0; rc == 0 && i < json_array_size(r); i++) {
				am_snprintf(where, sizeof(where), "%s: replies[%zu]", source, i);
				rc = push_normalized(arr, json_array_get(r, i), where, err);
			}
		} else if (json_is_object(whole) && am_json_get(whole, "raw_response")) {
			am_snprintf(where, sizeof(where), "%s", source);
			if (!json_is_string(am_json_get(whole, "raw_response")))
				rc = am_err_set(err, AM_EINVAL,
				                "%s: 'raw_response' must be a string", source);
			else
				rc = push_normalized(arr, am_json_get(whole, "raw_response"), where,
				                     err);
		} else if (json_is_array(whole)) {
			for (size_t i = 0; rc == 0 && i < json_array_size(whole); i++) {
				am_snprintf(where, sizeof(where), "%s: [%zu]", source, i);
				rc = push_normalized(arr, json_array_get(whole, i), where, err);
			}
		} else {
			/* one JSON value on one line: JSONL with one reply */
			am_snprintf(where, sizeof(where), "%s:1", source);
			rc = push_normalized(arr, whole, where, err);
		}
	} else if (looks_like_json(text, len)) {
		/* JSONL: one reply per line */
		size_t i = 0;
		int line = 0;
		while (rc == 0 && i < len) {
			size_t e = i;
			while (e < len && text[e] != '\n')
				e++;
			line++;
			const char *p = text + i;
			size_t n = e - i;
			am_trim(&p, &n);
			if (n) {
				/* wrapped in [ ] because the JSON reader takes only arrays and
				 * objects at the top, and a line may be a bare string */
				am_json *wrap = NULL, *v = NULL;
				struct am_err perr = {0};
				struct am_buf lb = AM_BUF_INIT;
				rc = am_buf_putc(&lb, '[', NULL);
				if (rc == 0)
					rc = am_buf_append(&lb, p, n, NULL);
				if (rc == 0)
					rc = am_buf_putc(&lb, ']', NULL);
				if (rc == 0)
					rc = am_json_parse(lb.data, lb.len, source, &wrap, &perr);
				am_buf_free(&lb);
				if (rc == 0 && json_array_size(wrap) != 1)
					rc = am_err_at(&perr, AM_EPARSE, source, line, 0,
					               "one JSON value per line");
				if (rc == 0)
					v = am_json_copy(json_array_get(wrap, 0));
				am_json_free(wrap);
				if (rc == 0 && !v)
					rc = AM_ENOMEM;
				if (rc == AM_ENOMEM)
					rc = am_err_set(err, rc, "out of memory");
				else if (rc < 0)
					rc = am_err_at(err, AM_EPARSE, source, line, perr.col,
					               "not a JSON reply, JSONL line or "
					               "{\"replies\": [...]}: %s",
					               perr.msg);
				if (rc == 0) {
					am_snprintf(where, sizeof(where), "%s:%d", source, line);
					rc = push_normalized(arr, v, where, err);
				}
				am_json_free(v);
			}
			i = e + 1;
		}
	} else {
		/* Text: one reply after the "# " header lines. */
		size_t i = 0;
		while (i < len && text[i] == '#') {
			while (i < len && text[i] != '\n')
				i++;
			if (i < len)
				i++;
		}
		if (!am_utf8_valid(text + i, len - i))
			rc = am_err_set(err, AM_EINVAL, "%s: not valid UTF-8", source);
		am_json *s = rc == 0 ? am_json_strn_new(text + i, len - i) : NULL;
		if (rc == 0 && !s)
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
		if (rc == 0)
			rc = push_normalized(arr, s, source, err);
		am_json_free(s);
	}
	am_json_free(whole);
	if (rc == 0 && json_array_size(arr) == 0)
		rc = am_err_set(err, AM_EINVAL, "%s: no replies", source);
	if (rc < 0) {
		am_json_free(arr);
		return rc;
	}
	*replies = arr;
	return 0;
}

/* ---- the model ---- */

static size_t turn_of(const struct am_chat_request *req)
{
	size_t n = 0;
	for (size_t i = 0; i < req->n_messages; i++)
		if (req->messages[i].role == AM_ROLE_ASSISTANT)
			n++;
	return n;
}

static int fill_reply(const struct replay_model *m, const struct am_chat_request *req,
                      struct am_chat_reply *r)
{
	size_t turn = turn_of(req);
	if (turn >= json_array_size(m->replies))
		return am_chat_reply_set_error(r, "replay_exhausted",
		                               "%s has %zu recorded replies; no reply for turn %zu",
		                               m->base.id, json_array_size(m->replies), turn + 1);
	am_json *o = json_array_get(m->replies, turn);
	r->status = AM_REPLY_OK;
	r->content = am_strdup(am_json_get_str_or(o, "content", ""));
	const char *rs = am_json_get_str_or(o, "reasoning", NULL);
	r->reasoning = rs ? am_strdup(rs) : NULL;
	if (!r->content || (rs && !r->reasoning))
		return AM_ENOMEM;
	am_json *tc = am_json_get(o, "tool_calls");
	if (json_array_size(tc)) {
		r->tool_calls = am_calloc(json_array_size(tc), sizeof(*r->tool_calls));
		if (!r->tool_calls)
			return AM_ENOMEM;
		r->n_tool_calls = json_array_size(tc);
		for (size_t i = 0; i < r->n_tool_calls; i++) {
			am_json *c = json_array_get(tc, i);
			am_json *fn = am_json_get(c, "function");
			am_json *src = json_is_object(fn) ? fn : c;
			am_json *a = am_json_get(src, "arguments");
			char idb[32];
			am_snprintf(idb, sizeof(idb), "call_%zu_%zu", turn, i);
			r->tool_calls[i].id = am_strdup(am_json_get_str_or(c, "id", idb));
			r->tool_calls[i].name = am_strdup(am_json_get_str_or(src, "name", ""));
			if (json_is_string(a)) {
				r->tool_calls[i].arguments = am_strdup(json_string_value(a));
			} else {
				struct am_buf b = AM_BUF_INIT;
				if (!a || am_json_dump(a, false, &b, NULL) == 0)
					r->tool_calls[i].arguments = am_buf_detach(&b, NULL, NULL);
				am_buf_free(&b);
			}
			if (!r->tool_calls[i].id || !r->tool_calls[i].name ||
			    !r->tool_calls[i].arguments)
				return AM_ENOMEM;
		}
	}
	r->finish_reason = am_strdup(r->n_tool_calls ? "tool_calls" : "stop");
	return r->finish_reason ? 0 : AM_ENOMEM;
}

static int replay_run(struct am_model *base, struct am_request_source *src, struct am_err *err)
{
	struct replay_model *m = (struct replay_model *)base;
	while (!src->finished(src->ctx)) {
		const struct am_chat_request *req = NULL;
		void *tag = NULL;
		int rc = src->next(src->ctx, &req, &tag, err);
		if (rc < 0)
			return rc;
		if (!req) {
			if (src->finished(src->ctx))
				break;
			return am_err_set(
			    err, AM_ESTATE,
			    "replay: the request source has nothing ready and nothing in "
			    "flight");
		}
		struct am_chat_reply r = {0};
		if (fill_reply(m, req, &r) < 0) {
			am_chat_reply_free(&r);
			memset(&r, 0, sizeof(r));
			if (am_chat_reply_set_error(&r, "internal", "out of memory") < 0) {
				am_chat_reply_free(&r);
				return am_err_set(err, AM_ENOMEM, "out of memory");
			}
		}
		src->done(src->ctx, tag, &r);
		am_chat_reply_free(&r);
	}
	return 0;
}

static void replay_close(struct am_model *base)
{
	struct replay_model *m = (struct replay_model *)base;
	am_json_free(m->replies);
	am_free(m->base.id);
	am_free(m);
}

static const struct am_model_ops replay_ops = {replay_run, NULL, replay_close};

static int make_model(const char *name, am_json *replies, struct am_model **out, struct am_err *err)
{
	struct replay_model *m = am_calloc(1, sizeof(*m));
	struct am_buf id = AM_BUF_INIT;
	if (!m || am_buf_printf(&id, NULL, "replay/%s", name) < 0) {
		am_free(m);
		am_buf_free(&id);
		am_json_free(replies);
		return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	m->base.ops = &replay_ops;
	m->base.id = am_buf_detach(&id, NULL, NULL);
	m->base.native_tools = true;
	m->replies = replies;
	*out = &m->base;
	return 0;
}

int am_replay_new(const char *name, const char *const *replies, size_t n, struct am_model **out,
                  struct am_err *err)
{
	*out = NULL;
	am_json *arr = am_json_arr_new();
	int rc = arr ? 0 : AM_ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		am_json *o = am_json_obj_new();
		if (!o || am_json_set_str(o, "content", replies[i] ? replies[i] : "") < 0 ||
		    am_json_push(arr, o) < 0)
			rc = AM_ENOMEM;
		am_json_free(o);
	}
	if (rc < 0) {
		am_json_free(arr);
		return am_err_set(err, AM_ENOMEM, "out of memory (or a reply is not valid UTF-8)");
	}
	return make_model(name, arr, out, err);
}

int am_replay_open(const char *id, struct am_model **out, struct am_err *err)
{
	*out = NULL;
	const char *path = am_starts_with(id, "replay/") ? id + 7 : id;
	if (!*path)
		return am_err_set(err, AM_EINVAL, "replay model id '%s' names no file", id);
	struct am_buf b = AM_BUF_INIT;
	am_json *replies = NULL;
	int rc = am_buf_read_file(&b, path, err);
	if (rc == 0)
		rc = am_replay_parse(b.data ? b.data : "", b.len, path, &replies, err);
	am_buf_free(&b);
	if (rc < 0)
		return rc;
	return make_model(path, replies, out, err);
}
