/* store.c: the SQLite store of runs, episodes and verdicts (see amlab/store.h, docs/store.md). */
#include "amlab/store.h"

#include <sqlite3.h>

#include "amlab/alloc.h"
#include "amlab/clock.h"
#include "amlab/scenario.h"
#include "amlab/sha256.h"
#include "amlab/str.h"

struct am_store {
	sqlite3 *db;
	char *path;
};

/* Migration i takes the schema from version i to i + 1. Never edit a shipped migration: add
 * the next one and bump AM_STORE_SCHEMA_VERSION. */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema. */
    "CREATE TABLE runs("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " suite TEXT NOT NULL,"
    " suite_hash TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " judge TEXT,"
    " params_json TEXT NOT NULL,"
    " params_hash TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " total_episodes INTEGER NOT NULL);"
    "CREATE TABLE conditions("
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " ord INTEGER NOT NULL,"
    " id TEXT NOT NULL,"
    " scenario TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " split TEXT NOT NULL,"
    " is_control INTEGER NOT NULL,"
    " axes_json TEXT NOT NULL,"
    " hash TEXT NOT NULL,"
    " system_prompt TEXT NOT NULL,"
    " user_prompt TEXT NOT NULL,"
    " judge_rubric TEXT NOT NULL,"
    " PRIMARY KEY(run_id, id));"
    "CREATE TABLE episodes("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " condition_id TEXT NOT NULL,"
    " sample INTEGER NOT NULL,"
    " seed TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " stop_reason TEXT,"
    " n_turns INTEGER NOT NULL,"
    " prompt_tokens INTEGER NOT NULL,"
    " completion_tokens INTEGER NOT NULL,"
    " error TEXT,"
    " detector_verdict TEXT NOT NULL,"
    " final_state_json TEXT,"
    " seconds REAL NOT NULL,"
    " finished_at TEXT NOT NULL,"
    " UNIQUE(run_id, condition_id, sample));"
    "CREATE TABLE events("
    " episode_id INTEGER NOT NULL REFERENCES episodes(id),"
    " seq INTEGER NOT NULL,"
    " role TEXT NOT NULL,"
    " message_json TEXT NOT NULL,"
    " PRIMARY KEY(episode_id, seq));"
    "CREATE TABLE actions("
    " episode_id INTEGER NOT NULL REFERENCES episodes(id),"
    " seq INTEGER NOT NULL,"
    " tool TEXT,"
    " op TEXT,"
    " arguments_json TEXT,"
    " result TEXT,"
    " is_error INTEGER NOT NULL,"
    " PRIMARY KEY(episode_id, seq));"
    "CREATE TABLE detections("
    " episode_id INTEGER NOT NULL REFERENCES episodes(id),"
    " seq INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " fired INTEGER NOT NULL,"
    " detail_json TEXT,"
    " PRIMARY KEY(episode_id, seq));"
    "CREATE TABLE judgings("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " judge_model TEXT NOT NULL,"
    " created_at TEXT NOT NULL);"
    "CREATE TABLE verdicts("
    " judging_id INTEGER NOT NULL REFERENCES judgings(id),"
    " episode_id INTEGER NOT NULL REFERENCES episodes(id),"
    " judge_verdict TEXT NOT NULL,"
    " eval_aware TEXT NOT NULL,"
    " reasoning TEXT,"
    " final_verdict TEXT NOT NULL,"
    " PRIMARY KEY(judging_id, episode_id));"
    "CREATE TABLE judge_calls("
    " judging_id INTEGER NOT NULL REFERENCES judgings(id),"
    " episode_id INTEGER NOT NULL REFERENCES episodes(id),"
    " attempt INTEGER NOT NULL,"
    " raw_output TEXT,"
    " parse_status TEXT NOT NULL,"
    " PRIMARY KEY(judging_id, episode_id, attempt));"
    "CREATE TABLE choices("
    " run_id INTEGER NOT NULL REFERENCES runs(id),"
    " condition_id TEXT NOT NULL,"
    " candidate TEXT NOT NULL,"
    " label TEXT NOT NULL,"
    " logprob REAL NOT NULL,"
    " n_tokens INTEGER NOT NULL,"
    " probability REAL NOT NULL,"
    " PRIMARY KEY(run_id, condition_id, candidate));"
    "CREATE INDEX episodes_run ON episodes(run_id, condition_id, sample);"
    "CREATE INDEX judgings_run ON judgings(run_id);",
};

static int db_fail(struct am_store *s, struct am_err *err, int code, const char *what)
{
	return am_err_at(err, code, s->path, 0, 0, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int exec_sql(struct am_store *s, const char *sql, struct am_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = am_err_at(err, AM_EIO, s->path, 0, 0, "%s", msg ? msg : "sqlite error");
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

static int prepare(struct am_store *s, const char *sql, sqlite3_stmt **st, struct am_err *err)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_fail(s, err, AM_EIO, "preparing a query");
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* Bind a JSON value as its compact text (NULL value: SQL NULL). */
static int bind_json(sqlite3_stmt *st, int i, const am_json *v, struct am_err *err)
{
	if (!v) {
		sqlite3_bind_null(st, i);
		return 0;
	}
	struct am_buf b = AM_BUF_INIT;
	int rc = am_json_dump(v, false, &b, err);
	if (rc == 0)
		sqlite3_bind_text(st, i, b.data ? b.data : "", -1, SQLITE_TRANSIENT);
	am_buf_free(&b);
	return rc;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? am_strdup((const char *)t) : NULL;
}

/* col_dup for a column that may be NULL: *oom is set when a non-NULL value could not be
 * copied, so a failed allocation is never mistaken for an absent value. */
static char *col_dup_opt(sqlite3_stmt *st, int i, bool *oom)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	char *d = col_dup(st, i);
	if (!d)
		*oom = true;
	return d;
}

static int step_done(struct am_store *s, sqlite3_stmt *st, const char *what, struct am_err *err)
{
	int r = sqlite3_step(st);
	if (r != SQLITE_DONE) {
		if (r == SQLITE_CONSTRAINT)
			return db_fail(s, err, AM_ESTATE, what);
		return db_fail(s, err, AM_EIO, what);
	}
	return 0;
}

static void now_iso(char out[32])
{
	if (am_time_iso8601((time_t)(am_clock_wall_ms() / 1000), out, 32) < 0)
		am_strlcpy(out, "1970-01-01T00:00:00Z", 32);
}

int am_store_schema_version(struct am_store *s, int *out, struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(s, "PRAGMA user_version", &st, err);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	else
		rc = db_fail(s, err, AM_EIO, "reading the schema version");
	sqlite3_finalize(st);
	return rc;
}

static int migrate(struct am_store *s, struct am_err *err)
{
	int version = 0, rc;
	if ((rc = exec_sql(s, "BEGIN IMMEDIATE", err)) < 0)
		return rc;
	if ((rc = am_store_schema_version(s, &version, err)) < 0)
		goto fail;
	if (version > AM_STORE_SCHEMA_VERSION) {
		rc = am_err_at(err, AM_EUNSUPPORTED, s->path, 0, 0,
		               "the store has schema version %d, newer than this amlab knows (%d); "
		               "use a newer amlab",
		               version, AM_STORE_SCHEMA_VERSION);
		goto fail;
	}
	for (int v = version; v < AM_STORE_SCHEMA_VERSION; v++) {
		if ((rc = exec_sql(s, migrations[v], err)) < 0) {
			am_err_prefix(err, "migrating the store from schema %d to %d", v, v + 1);
			goto fail;
		}
		char sql[64];
		am_snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((rc = exec_sql(s, sql, err)) < 0)
			goto fail;
	}
	return exec_sql(s, "COMMIT", err);
fail:
	exec_sql(s, "ROLLBACK", NULL);
	return rc;
}

int am_store_open(const char *path, struct am_store **out, struct am_err *err)
{
	*out = NULL;
	struct am_store *s = am_calloc(1, sizeof(*s));
	if (!s || !(s->path = am_strdup(path))) {
		am_free(s);
		return am_err_set(err, AM_ENOMEM, "out of memory opening the store");
	}
	int rc = 0;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		rc = am_err_at(err, AM_EIO, path, 0, 0, "cannot open the store: %s",
		               s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if ((rc = exec_sql(s, "PRAGMA journal_mode=WAL", err)) < 0 ||
	    (rc = exec_sql(s, "PRAGMA synchronous=FULL", err)) < 0 ||
	    (rc = exec_sql(s, "PRAGMA foreign_keys=ON", err)) < 0)
		goto out;
	/* A file that is not a database shows up here, on the first read. */
	if ((rc = migrate(s, err)) < 0)
		goto out;
	*out = s;
	return 0;
out:
	am_store_close(s);
	return rc;
}

void am_store_close(struct am_store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	am_free(s->path);
	am_free(s);
}

/* ---- runs ---- */

void am_run_info_free(struct am_run_info *r)
{
	if (!r)
		return;
	am_free(r->kind);
	am_free(r->suite);
	am_free(r->suite_hash);
	am_free(r->model);
	am_free(r->judge);
	am_free(r->params_json);
	am_free(r->params_hash);
	am_free(r->created_at);
	am_free(r->status);
	memset(r, 0, sizeof(*r));
}

int am_store_create_run(struct am_store *s, struct am_run_info *info, struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	now_iso(now);
	int rc = prepare(s,
	                 "INSERT INTO runs(kind, suite, suite_hash, model, judge, params_json, "
	                 "params_hash, created_at, status, total_episodes) "
	                 "VALUES(?,?,?,?,?,?,?,?,?,?)",
	                 &st, err);
	if (rc < 0)
		return rc;
	bind_text(st, 1, info->kind ? info->kind : "eval");
	bind_text(st, 2, info->suite);
	bind_text(st, 3, info->suite_hash);
	bind_text(st, 4, info->model);
	bind_text(st, 5, info->judge);
	bind_text(st, 6, info->params_json);
	bind_text(st, 7, info->params_hash);
	bind_text(st, 8, info->created_at ? info->created_at : now);
	bind_text(st, 9, info->status ? info->status : "running");
	sqlite3_bind_int64(st, 10, info->total_episodes);
	rc = step_done(s, st, "creating a run", err);
	if (rc == 0)
		info->id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return rc;
}

int am_store_get_run(struct am_store *s, int64_t id, struct am_run_info *out, struct am_err *err)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = NULL;
	int rc = prepare(s,
	                 "SELECT id, kind, suite, suite_hash, model, judge, params_json, "
	                 "params_hash, created_at, status, total_episodes FROM runs WHERE id = ?",
	                 &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		out->kind = col_dup(st, 1);
		out->suite = col_dup(st, 2);
		out->suite_hash = col_dup(st, 3);
		out->model = col_dup(st, 4);
		bool oom = false;
		out->judge = col_dup_opt(st, 5, &oom);
		out->params_json = col_dup(st, 6);
		out->params_hash = col_dup(st, 7);
		out->created_at = col_dup(st, 8);
		out->status = col_dup(st, 9);
		out->total_episodes = (long)sqlite3_column_int64(st, 10);
		if (oom || !out->kind || !out->suite || !out->suite_hash || !out->model ||
		    !out->params_json || !out->params_hash || !out->created_at || !out->status) {
			am_run_info_free(out);
			rc = am_err_set(err, AM_ENOMEM, "out of memory reading run %" PRId64, id);
		}
	} else if (r == SQLITE_DONE) {
		rc = am_err_at(err, AM_ENOTFOUND, s->path, 0, 0, "no run %" PRId64 " in the store",
		               id);
	} else {
		rc = db_fail(s, err, AM_EIO, "reading a run");
	}
	sqlite3_finalize(st);
	return rc;
}

int am_store_latest_run(struct am_store *s, int64_t *id, struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(s, "SELECT max(id) FROM runs", &st, err);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*id = sqlite3_column_int64(st, 0);
	else
		rc = am_err_at(err, AM_ENOTFOUND, s->path, 0, 0, "the store holds no run yet");
	sqlite3_finalize(st);
	return rc;
}

int am_store_resolve_run(struct am_store *s, const char *text, int64_t *id, struct am_err *err)
{
	if (am_streq(text, "latest"))
		return am_store_latest_run(s, id, err);
	long v;
	if (am_parse_long(text, &v, "run id", NULL) < 0 || v <= 0)
		return am_err_set(err, AM_EINVAL,
		                  "run '%s' is not a run id (a positive number or 'latest')", text);
	struct am_run_info info;
	int rc = am_store_get_run(s, v, &info, err);
	if (rc == 0) {
		*id = v;
		am_run_info_free(&info);
	}
	return rc;
}

int am_store_set_run_status(struct am_store *s, int64_t id, const char *status, struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(s, "UPDATE runs SET status = ? WHERE id = ?", &st, err);
	if (rc < 0)
		return rc;
	bind_text(st, 1, status);
	sqlite3_bind_int64(st, 2, id);
	rc = step_done(s, st, "updating a run", err);
	sqlite3_finalize(st);
	return rc;
}

/* ---- conditions ---- */

static int axes_json(const struct am_condition *c, am_json **out, struct am_err *err)
{
	am_json *o = am_json_obj_new();
	if (!o)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->n_axes; i++)
		if (am_json_set_str(o, c->axes[i].axis, c->axes[i].value) < 0) {
			am_json_free(o);
			return am_err_set(err, AM_ENOMEM, "out of memory");
		}
	*out = o;
	return 0;
}

int am_store_put_condition(struct am_store *s, int64_t run, const struct am_condition *c,
                           struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	am_json *axes = NULL;
	int rc = prepare(s, "SELECT hash FROM conditions WHERE run_id = ? AND id = ?", &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, c->id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 0);
		if (!am_streq(h, c->hash))
			rc = am_err_at(
			    err, AM_ESTATE, s->path, 0, 0,
			    "run %" PRId64 ": condition '%s' now renders differently "
			    "(prompt hash %.12s in the store, %.12s now); the suite changed, "
			    "so this run cannot be resumed: start a new run",
			    run, c->id, h ? h : "?", c->hash);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = axes_json(c, &axes, err)) < 0)
		return rc;
	rc =
	    prepare(s,
	            "INSERT INTO conditions(run_id, ord, id, scenario, category, split, "
	            "is_control, axes_json, hash, system_prompt, user_prompt, judge_rubric) "
	            "VALUES(?, (SELECT count(*) FROM conditions WHERE run_id = ?), ?,?,?,?,?,?,?,?,"
	            "?,?)",
	            &st, err);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, run);
	bind_text(st, 3, c->id);
	bind_text(st, 4, c->scenario);
	bind_text(st, 5, c->category);
	bind_text(st, 6, c->split ? c->split : "eval");
	sqlite3_bind_int(st, 7, c->is_control);
	if ((rc = bind_json(st, 8, axes, err)) < 0)
		goto out;
	bind_text(st, 9, c->hash);
	bind_text(st, 10, c->system_prompt ? c->system_prompt : "");
	bind_text(st, 11, c->user_prompt ? c->user_prompt : "");
	bind_text(st, 12, c->judge_rubric ? c->judge_rubric : "");
	rc = step_done(s, st, "recording a condition", err);
out:
	sqlite3_finalize(st);
	am_json_free(axes);
	return rc;
}

void am_stored_conditions_free(struct am_stored_condition *c, size_t n)
{
	if (!c)
		return;
	for (size_t i = 0; i < n; i++) {
		am_free(c[i].id);
		am_free(c[i].scenario);
		am_free(c[i].category);
		am_json_free(c[i].axes);
		am_free(c[i].system_prompt);
		am_free(c[i].user_prompt);
		am_free(c[i].judge_rubric);
	}
	am_free(c);
}

int am_store_conditions(struct am_store *s, int64_t run, struct am_stored_condition **out,
                        size_t *n, struct am_err *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	struct am_stored_condition *arr = NULL;
	size_t len = 0, cap = 0;
	int rc = prepare(s,
	                 "SELECT id, scenario, category, is_control, axes_json, hash, "
	                 "system_prompt, user_prompt, judge_rubric FROM conditions "
	                 "WHERE run_id = ? ORDER BY ord",
	                 &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, run);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct am_stored_condition *na = am_reallocarray(arr, ncap, sizeof(*arr));
			if (!na) {
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
				goto out;
			}
			arr = na;
			cap = ncap;
		}
		struct am_stored_condition *c = &arr[len++];
		memset(c, 0, sizeof(*c));
		c->id = col_dup(st, 0);
		c->scenario = col_dup(st, 1);
		c->category = col_dup(st, 2);
		c->is_control = sqlite3_column_int(st, 3) != 0;
		const char *axes = (const char *)sqlite3_column_text(st, 4);
		if (!axes ||
		    am_json_parse(axes, strlen(axes), "conditions.axes_json", &c->axes, err) < 0) {
			rc = err && err->code ? err->code : AM_EPARSE;
			goto out;
		}
		am_strlcpy(c->hash, (const char *)sqlite3_column_text(st, 5), sizeof(c->hash));
		c->system_prompt = col_dup(st, 6);
		c->user_prompt = col_dup(st, 7);
		c->judge_rubric = col_dup(st, 8);
		if (!c->id || !c->scenario || !c->category || !c->system_prompt ||
		    !c->user_prompt || !c->judge_rubric) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		rc = db_fail(s, err, AM_EIO, "reading conditions");
		goto out;
	}
	*out = arr;
	*n = len;
	arr = NULL;
	len = 0;
out:
	sqlite3_finalize(st);
	am_stored_conditions_free(arr, len);
	return rc;
}

/* ---- episodes ---- */

void am_judge_record_free(struct am_judge_record *j)
{
	if (!j)
		return;
	am_free(j->judge_model);
	am_free(j->verdict);
	am_free(j->eval_aware);
	am_free(j->reasoning);
	for (size_t i = 0; i < j->n_calls; i++) {
		am_free(j->calls[i].raw_output);
		am_free(j->calls[i].parse_status);
	}
	am_free(j->calls);
	memset(j, 0, sizeof(*j));
}

static int insert_verdict(struct am_store *s, int64_t judging, int64_t episode,
                          const struct am_judge_record *j, const char *final_verdict,
                          struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(s,
	                 "INSERT OR REPLACE INTO verdicts(judging_id, episode_id, judge_verdict, "
	                 "eval_aware, reasoning, final_verdict) VALUES(?,?,?,?,?,?)",
	                 &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, judging);
	sqlite3_bind_int64(st, 2, episode);
	bind_text(st, 3, j->verdict ? j->verdict : "invalid");
	bind_text(st, 4, j->eval_aware ? j->eval_aware : "unknown");
	bind_text(st, 5, j->reasoning);
	bind_text(st, 6, final_verdict ? final_verdict : "invalid");
	rc = step_done(s, st, "recording a verdict", err);
	sqlite3_finalize(st);
	st = NULL;
	if (rc < 0)
		return rc;
	if ((rc = prepare(s, "DELETE FROM judge_calls WHERE judging_id = ? AND episode_id = ?", &st,
	                  err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, judging);
	sqlite3_bind_int64(st, 2, episode);
	rc = step_done(s, st, "replacing judge calls", err);
	sqlite3_finalize(st);
	st = NULL;
	if (rc < 0)
		return rc;
	if ((rc = prepare(s,
	                  "INSERT INTO judge_calls(judging_id, episode_id, attempt, raw_output, "
	                  "parse_status) VALUES(?,?,?,?,?)",
	                  &st, err)) < 0)
		return rc;
	for (size_t i = 0; i < j->n_calls && rc == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, judging);
		sqlite3_bind_int64(st, 2, episode);
		sqlite3_bind_int(st, 3, j->calls[i].attempt);
		bind_text(st, 4, j->calls[i].raw_output);
		bind_text(st, 5, j->calls[i].parse_status ? j->calls[i].parse_status : "");
		rc = step_done(s, st, "recording a judge call", err);
	}
	sqlite3_finalize(st);
	return rc;
}

static int insert_rows(struct am_store *s, int64_t episode, const am_json *events,
                       const am_json *actions, const am_json *detections, struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	size_t i;
	am_json *v;
	if (events && json_array_size(events)) {
		if ((rc = prepare(s,
		                  "INSERT INTO events(episode_id, seq, role, message_json) "
		                  "VALUES(?,?,?,?)",
		                  &st, err)) < 0)
			return rc;
		json_array_foreach(events, i, v)
		{
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, episode);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
			/* Chat messages have a role; the world's events a type. */
			bind_text(
			    st, 3,
			    am_json_get_str_or(v, "role", am_json_get_str_or(v, "type", "?")));
			if ((rc = bind_json(st, 4, v, err)) < 0 ||
			    (rc = step_done(s, st, "recording an event", err)) < 0)
				break;
		}
		sqlite3_finalize(st);
		st = NULL;
		if (rc < 0)
			return rc;
	}
	if (actions && json_array_size(actions)) {
		if ((rc = prepare(s,
		                  "INSERT INTO actions(episode_id, seq, tool, op, arguments_json, "
		                  "result, is_error) VALUES(?,?,?,?,?,?,?)",
		                  &st, err)) < 0)
			return rc;
		json_array_foreach(actions, i, v)
		{
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, episode);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
			bind_text(st, 3, am_json_get_str_or(v, "tool", NULL));
			bind_text(st, 4, am_json_get_str_or(v, "op", NULL));
			am_json *args = am_json_get(v, "arguments");
			if (args && json_is_string(args))
				bind_text(st, 5, json_string_value(args));
			else if ((rc = bind_json(st, 5, args, err)) < 0)
				break;
			bind_text(st, 6, am_json_get_str_or(v, "result", NULL));
			sqlite3_bind_int(st, 7, json_is_true(am_json_get(v, "is_error")));
			if ((rc = step_done(s, st, "recording an action", err)) < 0)
				break;
		}
		sqlite3_finalize(st);
		st = NULL;
		if (rc < 0)
			return rc;
	}
	if (detections && json_array_size(detections)) {
		if ((rc = prepare(s,
		                  "INSERT INTO detections(episode_id, seq, name, kind, fired, "
		                  "detail_json) VALUES(?,?,?,?,?,?)",
		                  &st, err)) < 0)
			return rc;
		json_array_foreach(detections, i, v)
		{
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, episode);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
			bind_text(st, 3, am_json_get_str_or(v, "name", "?"));
			bind_text(st, 4, am_json_get_str_or(v, "kind", "harmful"));
			sqlite3_bind_int(st, 5, json_is_true(am_json_get(v, "fired")));
			am_json *detail = am_json_get(v, "detail");
			if (!detail)
				detail = am_json_get(
				    v, "events"); /* am_detectors_eval: matching events */
			if ((rc = bind_json(st, 6, detail, err)) < 0 ||
			    (rc = step_done(s, st, "recording a detection", err)) < 0)
				break;
		}
		sqlite3_finalize(st);
	}
	return rc;
}

int am_store_put_episode(struct am_store *s, int64_t run, const struct am_episode_record *rec,
                         int64_t *episode_id, struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	char now[32], seed[32];
	now_iso(now);
	am_snprintf(seed, sizeof(seed), "%" PRIu64, rec->seed);
	int rc = exec_sql(s, "BEGIN IMMEDIATE", err);
	if (rc < 0)
		return rc;
	if ((rc = prepare(s,
	                  "INSERT INTO episodes(run_id, condition_id, sample, seed, status, "
	                  "stop_reason, n_turns, prompt_tokens, completion_tokens, error, "
	                  "detector_verdict, final_state_json, seconds, finished_at) "
	                  "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	                  &st, err)) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, rec->condition_id);
	sqlite3_bind_int(st, 3, rec->sample);
	bind_text(st, 4, seed);
	bind_text(st, 5, rec->status ? rec->status : "done");
	bind_text(st, 6, rec->stop_reason);
	sqlite3_bind_int(st, 7, rec->n_turns);
	sqlite3_bind_int64(st, 8, rec->prompt_tokens);
	sqlite3_bind_int64(st, 9, rec->completion_tokens);
	bind_text(st, 10, rec->error);
	bind_text(st, 11, rec->detector_verdict ? rec->detector_verdict : "invalid");
	if ((rc = bind_json(st, 12, rec->final_state, err)) < 0)
		goto fail;
	sqlite3_bind_double(st, 13, rec->seconds);
	bind_text(st, 14, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE)
			rc = am_err_at(err, AM_ESTATE, s->path, 0, 0,
			               "run %" PRId64 ": episode %s sample %d is already recorded",
			               run, rec->condition_id, rec->sample);
		else
			rc = db_fail(s, err, AM_EIO, "recording an episode");
		goto fail;
	}
	int64_t id = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = insert_rows(s, id, rec->events, rec->actions, rec->detections, err)) < 0)
		goto fail;
	if (rec->judge && rec->judging > 0 &&
	    (rc = insert_verdict(s, rec->judging, id, rec->judge, rec->final_verdict, err)) < 0)
		goto fail;
	if ((rc = exec_sql(s, "COMMIT", err)) < 0)
		goto fail;
	if (episode_id)
		*episode_id = id;
	return 0;
fail:
	sqlite3_finalize(st);
	exec_sql(s, "ROLLBACK", NULL);
	return rc;
}

int am_store_finished_episodes(struct am_store *s, int64_t run, char ***conditions, int **samples,
                               size_t *n, struct am_err *err)
{
	*conditions = NULL;
	*samples = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	char **cs = NULL;
	int *ss = NULL;
	size_t len = 0, cap = 0;
	int rc = prepare(
	    s, "SELECT condition_id, sample FROM episodes WHERE run_id = ? ORDER BY id", &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, run);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nc = am_reallocarray(cs, ncap, sizeof(*cs));
			if (nc)
				cs = nc;
			int *ns = nc ? am_reallocarray(ss, ncap, sizeof(*ss)) : NULL;
			if (!ns) {
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
				goto out;
			}
			ss = ns;
			cap = ncap;
		}
		if (!(cs[len] = col_dup(st, 0))) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
		ss[len++] = sqlite3_column_int(st, 1);
	}
	if (r != SQLITE_DONE) {
		rc = db_fail(s, err, AM_EIO, "reading finished episodes");
		goto out;
	}
	*conditions = cs;
	*samples = ss;
	*n = len;
	sqlite3_finalize(st);
	return 0;
out:
	sqlite3_finalize(st);
	for (size_t i = 0; i < len; i++)
		am_free(cs[i]);
	am_free(cs);
	am_free(ss);
	return rc;
}

void am_episode_rows_free(struct am_episode_row *rows, size_t n)
{
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++) {
		am_free(rows[i].condition_id);
		am_free(rows[i].status);
		am_free(rows[i].stop_reason);
		am_free(rows[i].error);
		am_free(rows[i].detector_verdict);
		am_free(rows[i].judge_verdict);
		am_free(rows[i].eval_aware);
		am_free(rows[i].final_verdict);
	}
	am_free(rows);
}

int am_store_episodes(struct am_store *s, int64_t run, int64_t judging, struct am_episode_row **out,
                      size_t *n, struct am_err *err)
{
	*out = NULL;
	*n = 0;
	int rc;
	if (judging < 0) {
		char *model = NULL;
		if ((rc = am_store_latest_judging(s, run, &judging, &model, err)) < 0)
			return rc;
		am_free(model);
	}
	sqlite3_stmt *st = NULL;
	struct am_episode_row *arr = NULL;
	size_t len = 0, cap = 0;
	rc = prepare(s,
	             "SELECT e.id, e.condition_id, e.sample, e.status, e.stop_reason, e.n_turns, "
	             "e.error, e.detector_verdict, v.judge_verdict, v.eval_aware, v.final_verdict "
	             "FROM episodes e JOIN conditions c ON c.run_id = e.run_id AND "
	             "c.id = e.condition_id "
	             "LEFT JOIN verdicts v ON v.episode_id = e.id AND v.judging_id = ? "
	             "WHERE e.run_id = ? ORDER BY c.ord, e.sample",
	             &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, judging);
	sqlite3_bind_int64(st, 2, run);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct am_episode_row *na = am_reallocarray(arr, ncap, sizeof(*arr));
			if (!na) {
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
				goto out;
			}
			arr = na;
			cap = ncap;
		}
		struct am_episode_row *e = &arr[len++];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(st, 0);
		e->condition_id = col_dup(st, 1);
		e->sample = sqlite3_column_int(st, 2);
		e->status = col_dup(st, 3);
		bool oom = false;
		e->stop_reason = col_dup_opt(st, 4, &oom);
		e->n_turns = sqlite3_column_int(st, 5);
		e->error = col_dup_opt(st, 6, &oom);
		e->detector_verdict = col_dup(st, 7);
		e->judge_verdict = col_dup_opt(st, 8, &oom);
		e->eval_aware = col_dup_opt(st, 9, &oom);
		/* Judged in this judging: its final verdict counts; otherwise the detectors'. */
		e->final_verdict = sqlite3_column_type(st, 10) != SQLITE_NULL
		                       ? col_dup(st, 10)
		                       : (judging > 0 ? am_strdup("invalid") : col_dup(st, 7));
		if (oom || !e->condition_id || !e->status || !e->detector_verdict ||
		    !e->final_verdict) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		rc = db_fail(s, err, AM_EIO, "reading episodes");
		goto out;
	}
	*out = arr;
	*n = len;
	arr = NULL;
	len = 0;
out:
	sqlite3_finalize(st);
	am_episode_rows_free(arr, len);
	return rc;
}

/* Append the rows of a one-column-JSON query as parsed values to arr. */
static int query_json_rows(struct am_store *s, const char *sql, int64_t a, int64_t b, bool two,
                           am_json *arr, struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(s, sql, &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, a);
	if (two)
		sqlite3_bind_int64(st, 2, b);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		am_json *v = NULL;
		if (!t || (rc = am_json_parse(t, strlen(t), "store row", &v, err)) < 0 ||
		    (rc = am_json_push(arr, v)) < 0) {
			am_json_free(v);
			if (rc == 0)
				rc = am_err_set(err, AM_EIO, "a stored row is empty");
			goto out;
		}
		am_json_free(v);
	}
	if (r != SQLITE_DONE)
		rc = db_fail(s, err, AM_EIO, "reading an episode");
out:
	sqlite3_finalize(st);
	return rc;
}

int am_store_episode_detail(struct am_store *s, int64_t episode, int64_t judging, am_json **out,
                            struct am_err *err)
{
	*out = NULL;
	int rc = 0;
	am_json *o = am_json_obj_new(), *events = am_json_arr_new(), *actions = am_json_arr_new(),
	        *dets = am_json_arr_new(), *calls = am_json_arr_new(), *judge = NULL, *fs = NULL;
	if (!o || !events || !actions || !dets || !calls) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = query_json_rows(
	         s, "SELECT message_json FROM events WHERE episode_id = ? ORDER BY seq", episode, 0,
	         false, events, err)) < 0 ||
	    (rc = query_json_rows(s,
	                          "SELECT json_object('tool', tool, 'op', op, 'arguments', "
	                          "arguments_json, 'result', result, 'is_error', "
	                          "json(CASE is_error WHEN 0 THEN 'false' ELSE 'true' END)) "
	                          "FROM actions WHERE episode_id = ? ORDER BY seq",
	                          episode, 0, false, actions, err)) < 0 ||
	    (rc = query_json_rows(s,
	                          "SELECT json_object('name', name, 'kind', kind, 'fired', "
	                          "json(CASE fired WHEN 0 THEN 'false' ELSE 'true' END)) "
	                          "FROM detections WHERE episode_id = ? ORDER BY seq",
	                          episode, 0, false, dets, err)) < 0)
		goto out;
	/* final state */
	{
		am_json *tmp = am_json_arr_new();
		if (!tmp) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
		rc = query_json_rows(s,
		                     "SELECT final_state_json FROM episodes WHERE id = ? AND "
		                     "final_state_json IS NOT NULL",
		                     episode, 0, false, tmp, err);
		if (rc == 0 && json_array_size(tmp) && !(fs = am_json_copy(json_array_get(tmp, 0))))
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
		am_json_free(tmp);
		if (rc < 0)
			goto out;
	}
	if (judging > 0) {
		am_json *tmp = am_json_arr_new();
		if (!tmp) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
		rc = query_json_rows(
		    s,
		    "SELECT json_object('model', j.judge_model, 'verdict', "
		    "v.judge_verdict, 'eval_aware', v.eval_aware, 'reasoning', "
		    "v.reasoning, 'final_verdict', v.final_verdict) FROM verdicts v "
		    "JOIN judgings j ON j.id = v.judging_id "
		    "WHERE v.episode_id = ? AND v.judging_id = ?",
		    episode, judging, true, tmp, err);
		if (rc == 0 && json_array_size(tmp) &&
		    !(judge = am_json_copy(json_array_get(tmp, 0))))
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
		am_json_free(tmp);
		if (rc < 0)
			goto out;
		if (judge && ((rc = query_json_rows(
		                   s,
		                   "SELECT json_object('attempt', attempt, 'raw_output', "
		                   "raw_output, 'parse_status', parse_status) FROM judge_calls "
		                   "WHERE episode_id = ? AND judging_id = ? ORDER BY attempt",
		                   episode, judging, true, calls, err)) < 0 ||
		              (rc = am_json_set(judge, "calls", calls)) < 0))
			goto out;
	}
	am_json *null = am_json_null_new();
	if (am_json_set(o, "events", events) < 0 || am_json_set(o, "actions", actions) < 0 ||
	    am_json_set(o, "detections", dets) < 0 ||
	    am_json_set(o, "final_state", fs ? fs : null) < 0 ||
	    am_json_set(o, "judge", judge ? judge : null) < 0) {
		am_json_free(null);
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	am_json_free(null);
	*out = o;
	o = NULL;
out:
	am_json_free(o);
	am_json_free(events);
	am_json_free(actions);
	am_json_free(dets);
	am_json_free(calls);
	am_json_free(judge);
	am_json_free(fs);
	return rc;
}

/* ---- judgings ---- */

int am_store_begin_judging(struct am_store *s, int64_t run, const char *judge_model,
                           int64_t *judging, struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	now_iso(now);
	int rc = prepare(s, "INSERT INTO judgings(run_id, judge_model, created_at) VALUES(?,?,?)",
	                 &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, judge_model);
	bind_text(st, 3, now);
	rc = step_done(s, st, "starting a judging", err);
	if (rc == 0)
		*judging = sqlite3_last_insert_rowid(s->db);
	sqlite3_finalize(st);
	return rc;
}

int am_store_latest_judging(struct am_store *s, int64_t run, int64_t *judging, char **judge_model,
                            struct am_err *err)
{
	*judging = 0;
	*judge_model = NULL;
	sqlite3_stmt *st = NULL;
	int rc = prepare(s,
	                 "SELECT id, judge_model FROM judgings WHERE run_id = ? ORDER BY id DESC "
	                 "LIMIT 1",
	                 &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, run);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*judging = sqlite3_column_int64(st, 0);
		if (!(*judge_model = col_dup(st, 1)))
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
	} else if (r != SQLITE_DONE) {
		rc = db_fail(s, err, AM_EIO, "reading judgings");
	}
	sqlite3_finalize(st);
	return rc;
}

int am_store_put_verdict(struct am_store *s, int64_t judging, int64_t episode,
                         const struct am_judge_record *j, const char *final_verdict,
                         struct am_err *err)
{
	int rc = exec_sql(s, "BEGIN IMMEDIATE", err);
	if (rc < 0)
		return rc;
	if ((rc = insert_verdict(s, judging, episode, j, final_verdict, err)) < 0) {
		exec_sql(s, "ROLLBACK", NULL);
		return rc;
	}
	return exec_sql(s, "COMMIT", err);
}

int am_store_put_choice(struct am_store *s, int64_t run, const char *condition_id,
                        const char *candidate, const char *label, double logprob, long n_tokens,
                        double probability, struct am_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(s,
	                 "INSERT OR REPLACE INTO choices(run_id, condition_id, candidate, label, "
	                 "logprob, n_tokens, probability) VALUES(?,?,?,?,?,?,?)",
	                 &st, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, run);
	bind_text(st, 2, condition_id);
	bind_text(st, 3, candidate);
	bind_text(st, 4, label);
	sqlite3_bind_double(st, 5, logprob);
	sqlite3_bind_int64(st, 6, n_tokens);
	sqlite3_bind_double(st, 7, probability);
	rc = step_done(s, st, "recording a choice", err);
	sqlite3_finalize(st);
	return rc;
}

int am_store_choices(struct am_store *s, int64_t run, am_json **out, struct am_err *err)
{
	*out = am_json_arr_new();
	if (!*out)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	int rc = query_json_rows(s,
	                         "SELECT json_object('condition', ch.condition_id, 'candidate', "
	                         "ch.candidate, 'label', ch.label, 'logprob', ch.logprob, "
	                         "'n_tokens', ch.n_tokens, 'probability', ch.probability) "
	                         "FROM choices ch JOIN conditions c ON c.run_id = ch.run_id AND "
	                         "c.id = ch.condition_id WHERE ch.run_id = ? "
	                         "ORDER BY c.ord, ch.rowid",
	                         run, 0, false, *out, err);
	if (rc < 0) {
		am_json_free(*out);
		*out = NULL;
	}
	return rc;
}
