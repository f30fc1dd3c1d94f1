/* cache.c: the response cache of HTTP models: successful replies keyed by the SHA-256 of the
 * canonical request, in the SQLite table `http_cache` (WAL journal), so re-running a suite costs
 * nothing for the requests already answered. API keys are never part of the key or the row. */
#include <sqlite3.h>

#include "amlab/alloc.h"
#include "amlab/backend.h"
#include "amlab/log.h"
#include "amlab/str.h"

/* A reply waiting to be written. */
struct pending_row {
	struct pending_row *next;
	char *key, *model, *reply;
};

struct am_cache {
	sqlite3 *db;
	sqlite3_stmt *get;
	sqlite3_stmt *put;
	enum am_cache_mode mode;
	/* New rows wait in memory and are written in one transaction by am_cache_flush. No
	 * transaction stays open between calls: the run's store, often the same file on another
	 * connection, commits an episode from inside done() and must never find it locked. */
	struct pending_row *pending, **pending_tail;
	size_t n_pending;
	char *path;
	long hits, misses;
};

int am_cache_mode_parse(const char *s, enum am_cache_mode *out, struct am_err *err)
{
	if (am_streq(s, "on"))
		*out = AM_CACHE_ON;
	else if (am_streq(s, "off"))
		*out = AM_CACHE_OFF;
	else if (am_streq(s, "read-only"))
		*out = AM_CACHE_READ_ONLY;
	else
		return am_err_set(err, AM_EINVAL, "cache mode '%s': expected on, off or read-only",
		                  s ? s : "");
	return 0;
}

static int db_fail(struct am_cache *c, int code, const char *what, struct am_err *err)
{
	return am_err_at(err, code, c->path, 0, 0, "response cache: %s: %s", what,
	                 c->db ? sqlite3_errmsg(c->db) : "cannot open");
}

static void pending_free(struct am_cache *c)
{
	while (c->pending) {
		struct pending_row *r = c->pending;
		c->pending = r->next;
		am_free(r->key);
		am_free(r->model);
		am_free(r->reply);
		am_free(r);
	}
	c->pending_tail = &c->pending;
	c->n_pending = 0;
}

int am_cache_flush(struct am_cache *c, struct am_err *err)
{
	if (!c || !c->pending)
		return 0;
	int rc = 0;
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(c, AM_EIO, "begin", err);
		goto out;
	}
	for (struct pending_row *r = c->pending; r && rc == 0; r = r->next) {
		sqlite3_bind_text(c->put, 1, r->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(c->put, 2, r->model, -1, SQLITE_STATIC);
		sqlite3_bind_text(c->put, 3, r->reply, -1, SQLITE_STATIC);
		sqlite3_bind_int64(c->put, 4, (sqlite3_int64)time(NULL) * 1000);
		if (sqlite3_step(c->put) != SQLITE_DONE)
			rc = db_fail(c, AM_EIO, "insert", err);
		sqlite3_reset(c->put);
		sqlite3_clear_bindings(c->put);
	}
	if (rc == 0 && sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_fail(c, AM_EIO, "commit", err);
	if (rc < 0)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pending_free(c); /* on failure the rows are lost: they only cost a repeated request */
	return rc;
}

void am_cache_close(struct am_cache *c)
{
	if (!c)
		return;
	struct am_err err = {0};
	if (am_cache_flush(c, &err) < 0)
		am_log_warn("%s", err.msg);
	pending_free(c);
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	if (c->db)
		sqlite3_close(c->db);
	am_free(c->path);
	am_free(c);
}

int am_cache_open(const char *db_path, enum am_cache_mode mode, struct am_cache **out,
                  struct am_err *err)
{
	int rc = 0;
	*out = NULL;
	struct am_cache *c = am_calloc(1, sizeof(*c));
	if (!c || !(c->path = am_strdup(db_path))) {
		am_free(c);
		return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	c->mode = mode;
	c->pending_tail = &c->pending;
	if (mode == AM_CACHE_OFF) {
		*out = c;
		return 0;
	}
	int flags = mode == AM_CACHE_READ_ONLY ? SQLITE_OPEN_READONLY
	                                       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(db_path, &c->db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		rc = db_fail(c, AM_EIO, "open", err);
		goto out;
	}
	sqlite3_busy_timeout(c->db, 10000);
	if (mode == AM_CACHE_ON) {
		const char *ddl = "PRAGMA journal_mode=WAL;"
		                  /* A cache row lost to a power cut is only a re-request; no fsync
		                   * per commit. */
		                  "PRAGMA synchronous=NORMAL;"
		                  "CREATE TABLE IF NOT EXISTS http_cache("
		                  " key TEXT PRIMARY KEY,"
		                  " model TEXT NOT NULL,"
		                  " reply TEXT NOT NULL,"
		                  " created_ms INTEGER NOT NULL)";
		if (sqlite3_exec(c->db, ddl, NULL, NULL, NULL) != SQLITE_OK) {
			rc = db_fail(c, AM_EIO, "creating table http_cache", err);
			goto out;
		}
		if (sqlite3_prepare_v2(
		        c->db,
		        "INSERT OR REPLACE INTO http_cache(key, model, reply, created_ms)"
		        " VALUES(?1, ?2, ?3, ?4)",
		        -1, &c->put, NULL) != SQLITE_OK) {
			rc = db_fail(c, AM_EIO, "preparing statements", err);
			goto out;
		}
	}
	if (sqlite3_prepare_v2(c->db, "SELECT reply FROM http_cache WHERE key = ?1", -1, &c->get,
	                       NULL) != SQLITE_OK) {
		/* A read-only cache over a file without the table simply never hits. */
		if (mode == AM_CACHE_READ_ONLY) {
			am_log_warn("response cache %s has no http_cache table; read-only cache "
			            "will not hit",
			            db_path);
			c->mode = AM_CACHE_OFF;
		} else {
			rc = db_fail(c, AM_EIO, "preparing statements", err);
			goto out;
		}
	}
out:
	if (rc < 0) {
		am_cache_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

enum am_cache_mode am_cache_get_mode(const struct am_cache *c)
{
	return c ? c->mode : AM_CACHE_OFF;
}

long am_cache_hits(const struct am_cache *c)
{
	return c ? c->hits : 0;
}

long am_cache_misses(const struct am_cache *c)
{
	return c ? c->misses : 0;
}

int am_cache_get(struct am_cache *c, const char *key, struct am_chat_reply *reply, bool *found,
                 struct am_err *err)
{
	*found = false;
	if (!c || c->mode == AM_CACHE_OFF)
		return 0;
	int rc = 0;
	am_json *j = NULL;
	const struct pending_row *p = c->pending; /* written soon: already a hit */
	while (p && strcmp(p->key, key) != 0)
		p = p->next;
	sqlite3_bind_text(c->get, 1, key, -1, SQLITE_STATIC);
	int s = p ? SQLITE_ROW : sqlite3_step(c->get);
	if (s == SQLITE_ROW) {
		const char *text = p ? p->reply : (const char *)sqlite3_column_text(c->get, 0);
		int n = p ? (int)strlen(p->reply) : sqlite3_column_bytes(c->get, 0);
		if ((rc = am_json_parse(text ? text : "", (size_t)n, "http_cache.reply", &j, err)) <
		        0 ||
		    (rc = am_chat_reply_from_json(j, reply, err)) < 0) {
			am_err_prefix(err, "response cache %s, key %s", c->path, key);
			goto out;
		}
		reply->from_cache = true;
		*found = true;
		c->hits++;
	} else if (s == SQLITE_DONE) {
		c->misses++;
	} else {
		rc = db_fail(c, AM_EIO, "lookup", err);
	}
out:
	sqlite3_reset(c->get);
	sqlite3_clear_bindings(c->get);
	am_json_free(j);
	return rc;
}

int am_cache_put(struct am_cache *c, const char *key, const char *model_id,
                 const struct am_chat_reply *reply, struct am_err *err)
{
	if (!c || c->mode != AM_CACHE_ON || reply->status != AM_REPLY_OK)
		return 0;
	am_json *j = NULL;
	struct am_buf text = AM_BUF_INIT;
	int rc;
	struct pending_row *row = NULL;
	if ((rc = am_chat_reply_to_json(reply, &j, err)) < 0 ||
	    (rc = am_json_dump(j, true, &text, err)) < 0)
		goto out;
	row = am_calloc(1, sizeof(*row));
	if (!row || !(row->key = am_strdup(key)) || !(row->model = am_strdup(model_id)) ||
	    !(row->reply = am_buf_detach(&text, NULL, err))) {
		if (row) {
			am_free(row->key);
			am_free(row->model);
			am_free(row);
		}
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	*c->pending_tail = row;
	c->pending_tail = &row->next;
	/* A server that answers faster than the loop ever waits would let the list grow without
	 * end (and lookups scan it): write a batch now. Safe here, before done(), since the
	 * transaction is closed again before this returns. */
	if (++c->n_pending >= 256)
		rc = am_cache_flush(c, err);
out:
	am_json_free(j);
	am_buf_free(&text);
	return rc;
}

int am_cache_count(struct am_cache *c, long *out, struct am_err *err)
{
	*out = 0;
	if (!c || !c->db)
		return 0;
	int frc = am_cache_flush(c, err);
	if (frc < 0)
		return frc;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM http_cache", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(c, AM_EIO, "count", err);
	int rc = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = (long)sqlite3_column_int64(st, 0);
	else
		rc = db_fail(c, AM_EIO, "count", err);
	sqlite3_finalize(st);
	return rc;
}

/* ---- reply <-> JSON ---- */

static bool utf8_or_null(const char *s)
{
	return !s || am_utf8_valid(s, strlen(s));
}

static bool reply_text_valid(const struct am_chat_reply *r)
{
	if (!utf8_or_null(r->content) || !utf8_or_null(r->reasoning) ||
	    !utf8_or_null(r->finish_reason) || !utf8_or_null(r->error_kind) ||
	    !utf8_or_null(r->error))
		return false;
	for (size_t i = 0; i < r->n_tool_calls; i++)
		if (!utf8_or_null(r->tool_calls[i].id) || !utf8_or_null(r->tool_calls[i].name) ||
		    !utf8_or_null(r->tool_calls[i].arguments))
			return false;
	return true;
}

int am_chat_reply_to_json(const struct am_chat_reply *r, am_json **out, struct am_err *err)
{
	am_json *o = am_json_obj_new(), *calls = am_json_arr_new(), *lps = NULL;
	int rc = 0;
	*out = NULL;
	if (!o || !calls)
		goto nomem;
	if (am_json_set_str(o, "status", r->status == AM_REPLY_OK ? "ok" : "error") < 0 ||
	    am_json_set_str(o, "content", r->content ? r->content : "") < 0 ||
	    (r->reasoning && am_json_set_str(o, "reasoning", r->reasoning) < 0) ||
	    (r->finish_reason && am_json_set_str(o, "finish_reason", r->finish_reason) < 0) ||
	    am_json_set_int(o, "prompt_tokens", r->prompt_tokens) < 0 ||
	    am_json_set_int(o, "completion_tokens", r->completion_tokens) < 0 ||
	    (r->error_kind && am_json_set_str(o, "error_kind", r->error_kind) < 0) ||
	    (r->error && am_json_set_str(o, "error", r->error) < 0))
		goto bad;
	for (size_t i = 0; i < r->n_tool_calls; i++) {
		const struct am_tool_call *c = &r->tool_calls[i];
		am_json *tc = am_json_obj_new();
		int r2 = !tc || am_json_set_str(tc, "id", c->id ? c->id : "") < 0 ||
		         am_json_set_str(tc, "name", c->name ? c->name : "") < 0 ||
		         am_json_set_str(tc, "arguments", c->arguments ? c->arguments : "") < 0 ||
		         am_json_push(calls, tc) < 0;
		am_json_free(tc);
		if (r2)
			goto bad;
	}
	if (am_json_set(o, "tool_calls", calls) < 0)
		goto nomem;
	if (r->n_token_logprobs) {
		lps = am_json_arr_new();
		for (size_t i = 0; lps && i < r->n_token_logprobs; i++) {
			am_json *v = am_json_real_new(r->token_logprobs[i]);
			int r2 = v ? am_json_push(lps, v) : AM_ENOMEM;
			am_json_free(v);
			if (r2 < 0)
				goto nomem;
		}
		if (!lps || am_json_set(o, "token_logprobs", lps) < 0)
			goto nomem;
	}
	goto out;
bad : {
	/* A setter failed: for text that is UTF-8 that can only be a failed allocation. */
	bool valid = reply_text_valid(r);
	rc = valid ? am_err_set(err, AM_ENOMEM, "out of memory")
	           : am_err_set(err, AM_EINVAL, "reply holds text that is not valid UTF-8");
	goto out;
}
nomem:
	rc = am_err_set(err, AM_ENOMEM, "out of memory");
out:
	am_json_free(calls);
	am_json_free(lps);
	if (rc < 0)
		am_json_free(o);
	else
		*out = o;
	return rc;
}

static int opt_str(const am_json *j, const char *key, char **dst, struct am_err *err)
{
	am_json *v = am_json_get(j, key);
	*dst = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return am_err_set(err, AM_EPARSE, "reply.%s must be a string", key);
	*dst = am_strndup(json_string_value(v), json_string_length(v));
	return *dst ? 0 : am_err_set(err, AM_ENOMEM, "out of memory");
}

int am_chat_reply_from_json(const am_json *j, struct am_chat_reply *r, struct am_err *err)
{
	int rc = 0;
	memset(r, 0, sizeof(*r));
	const char *status = NULL;
	if (!json_is_object(j))
		return am_err_set(err, AM_EPARSE, "reply must be a JSON object");
	if ((rc = am_json_get_str(j, "status", &status, "reply", err)) < 0)
		return rc;
	if (am_streq(status, "ok"))
		r->status = AM_REPLY_OK;
	else if (am_streq(status, "error"))
		r->status = AM_REPLY_ERROR;
	else
		return am_err_set(err, AM_EPARSE, "reply.status '%s': expected ok or error",
		                  status);
	if ((rc = opt_str(j, "content", &r->content, err)) < 0 ||
	    (rc = opt_str(j, "reasoning", &r->reasoning, err)) < 0 ||
	    (rc = opt_str(j, "finish_reason", &r->finish_reason, err)) < 0 ||
	    (rc = opt_str(j, "error_kind", &r->error_kind, err)) < 0 ||
	    (rc = opt_str(j, "error", &r->error, err)) < 0)
		goto fail;
	long long v;
	if (am_json_get_int(j, "prompt_tokens", &v, "reply", NULL) == 0)
		r->prompt_tokens = (long)v;
	if (am_json_get_int(j, "completion_tokens", &v, "reply", NULL) == 0)
		r->completion_tokens = (long)v;
	am_json *calls = am_json_get(j, "tool_calls");
	if (calls && !json_is_array(calls)) {
		rc = am_err_set(err, AM_EPARSE, "reply.tool_calls must be an array");
		goto fail;
	}
	size_t n = calls ? json_array_size(calls) : 0;
	if (n) {
		r->tool_calls = am_calloc(n, sizeof(*r->tool_calls));
		if (!r->tool_calls)
			goto nomem;
		r->n_tool_calls = n;
		for (size_t i = 0; i < n; i++) {
			am_json *c = json_array_get(calls, i);
			struct am_tool_call *tc = &r->tool_calls[i];
			if (!json_is_object(c)) {
				rc = am_err_set(err, AM_EPARSE,
				                "reply.tool_calls[%zu] must be an object", i);
				goto fail;
			}
			if ((rc = opt_str(c, "id", &tc->id, err)) < 0 ||
			    (rc = opt_str(c, "name", &tc->name, err)) < 0 ||
			    (rc = opt_str(c, "arguments", &tc->arguments, err)) < 0)
				goto fail;
			if (!tc->id || !tc->name || !tc->arguments) {
				rc = am_err_set(
				    err, AM_EPARSE,
				    "reply.tool_calls[%zu] needs id, name and arguments", i);
				goto fail;
			}
		}
	}
	am_json *lps = am_json_get(j, "token_logprobs");
	if (json_is_array(lps) && json_array_size(lps)) {
		size_t k = json_array_size(lps);
		r->token_logprobs = am_calloc(k, sizeof(double));
		if (!r->token_logprobs)
			goto nomem;
		for (size_t i = 0; i < k; i++) {
			am_json *x = json_array_get(lps, i);
			if (!json_is_number(x)) {
				rc = am_err_set(err, AM_EPARSE,
				                "reply.token_logprobs[%zu] must be a number", i);
				goto fail;
			}
			r->token_logprobs[i] = json_number_value(x);
		}
		r->n_token_logprobs = k;
	}
	if (!r->content && !(r->content = am_strdup("")))
		goto nomem;
	return 0;
nomem:
	rc = am_err_set(err, AM_ENOMEM, "out of memory");
fail:
	am_chat_reply_free(r);
	return rc;
}
