/* world.c: the simulated workplace (docs/world.md): loading and validating the initial state,
 * every operation a tool can bind to, the change log, snapshots.
 *
 * The state is kept as one JSON object in exactly the documented shape, so a snapshot is a deep
 * copy and a serialized final state loads back as a world. */
#include "amlab/world.h"

#include <ctype.h>
#include <math.h>

#include "amlab/alloc.h"
#include "amlab/sha256.h"
#include "amlab/str.h"
#include "world_internal.h"

struct am_world {
	am_json *state; /* the documented world shape plus output sections */
	am_json *log;   /* borrowed from state["log"] */
	bool done;
};

/* ---- small helpers ---- */

const char *wi_strcasestr(const char *hay, const char *needle)
{
	if (!hay || !needle)
		return NULL;
	size_t n = strlen(needle);
	if (n == 0)
		return hay;
	for (const char *p = hay; *p; p++)
		if (am_strncasecmp_ascii(p, needle, n) == 0)
			return p;
	return NULL;
}

char *wi_lower_dup(const char *s)
{
	char *d = am_strdup(s ? s : "");
	if (d)
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return d;
}

char *wi_address_dup(const char *s)
{
	if (!s)
		s = "";
	const char *lt = strchr(s, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;
	const char *p = s;
	size_t n = strlen(s);
	if (lt && gt) {
		p = lt + 1;
		n = (size_t)(gt - p);
	}
	am_trim(&p, &n);
	while (n && (p[0] == '"' || p[0] == '\'')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == '"' || p[n - 1] == '\''))
		n--;
	char *d = am_strndup(p, n);
	if (d)
		for (char *q = d; *q; q++)
			*q = (char)tolower((unsigned char)*q);
	return d;
}

int wi_append_value(struct am_buf *b, const am_json *v)
{
	if (json_is_string(v))
		return am_buf_append(b, json_string_value(v), json_string_length(v), NULL);
	if (!v)
		return 0;
	return am_json_dump(v, false, b, NULL);
}

double wi_round6(double x)
{
	return round(x * 1e6) / 1e6;
}

/* An agent-facing error: the call is rejected and the world unchanged. */
static int reject(struct am_op_result *res, const char *fmt, ...) AM_PRINTF(2, 3);
static int reject(struct am_op_result *res, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	am_free(res->text);
	res->text = am_strdup(msg);
	res->is_error = true;
	return res->text ? 0 : AM_ENOMEM;
}

static int result_from_buf(struct am_op_result *res, struct am_buf *b, struct am_err *err)
{
	am_free(res->text);
	res->text = am_buf_detach(b, NULL, err);
	res->is_error = false;
	return res->text ? 0 : AM_ENOMEM;
}

void am_op_result_free(struct am_op_result *r)
{
	if (!r)
		return;
	am_free(r->text);
	r->text = NULL;
	r->is_error = false;
}

/* String argument: *out is NULL when absent. Non-string scalars are rejected by name. */
static int arg_str(const am_json *args, const char *key, bool required, const char **out,
                   struct am_op_result *res)
{
	*out = NULL;
	am_json *v = am_json_get(args, key);
	if (!v || json_is_null(v)) {
		if (required)
			return reject(res, "missing required argument '%s'", key) < 0 ? AM_ENOMEM
			                                                              : 1;
		return 0;
	}
	if (!json_is_string(v))
		return reject(res, "argument '%s' must be a string", key) < 0 ? AM_ENOMEM : 1;
	*out = json_string_value(v);
	return 0;
}

/* First present of several alias names. */
static const char *arg_alias(const am_json *args, const char *const *names)
{
	for (size_t i = 0; names[i]; i++)
		if (am_json_get(args, names[i]))
			return names[i];
	return names[0];
}

static am_json *section(const struct am_world *w, const char *name)
{
	return am_json_get(w->state, name);
}

static const char *agent_email(const struct am_world *w)
{
	return am_json_get_str_or(am_json_get(w->state, "agent"), "email", "agent");
}

static const char *world_now(const struct am_world *w)
{
	return am_json_get_str_or(w->state, "now", "");
}

/* Append a change to the log; `change` gets "seq" and "op". */
static int log_change(struct am_world *w, const char *op, am_json *change)
{
	if (am_json_set_int(change, "seq", (long long)json_array_size(w->log)) < 0 ||
	    am_json_set_str(change, "op", op) < 0 || am_json_push(w->log, change) < 0)
		return AM_ENOMEM;
	return 0;
}

/* ---- loading ---- */

static int need_type(const am_json *v, json_type t, const char *path, const char *what,
                     struct am_err *err)
{
	if (!v || json_typeof(v) != t)
		return am_err_set(err, AM_EINVAL, "%s: must be %s", path, what);
	return 0;
}

static int check_str_field(const am_json *obj, const char *key, bool required, const char *path,
                           struct am_err *err)
{
	am_json *v = am_json_get(obj, key);
	if (!v) {
		if (required)
			return am_err_set(err, AM_EINVAL, "%s: missing field '%s'", path, key);
		return 0;
	}
	if (!json_is_string(v))
		return am_err_set(err, AM_EINVAL, "%s: field '%s' must be a string", path, key);
	return 0;
}

static int check_str_array(const am_json *obj, const char *key, const char *path,
                           struct am_err *err)
{
	am_json *v = am_json_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_array(v))
		return am_err_set(err, AM_EINVAL, "%s: field '%s' must be an array of strings",
		                  path, key);
	for (size_t i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return am_err_set(err, AM_EINVAL, "%s: %s[%zu] must be a string", path, key,
			                  i);
	return 0;
}

/* Make `key` of obj an (empty) container of type t if absent; error if of another type. */
static int ensure(am_json *obj, const char *key, json_type t, const char *path, struct am_err *err)
{
	am_json *v = am_json_get(obj, key);
	if (v) {
		if (json_typeof(v) != t)
			return am_err_set(err, AM_EINVAL, "%s.%s: must be an %s", path, key,
			                  t == JSON_ARRAY ? "array" : "object");
		return 0;
	}
	am_json *n = t == JSON_ARRAY ? am_json_arr_new() : am_json_obj_new();
	int rc = n ? am_json_set(obj, key, n) : AM_ENOMEM;
	am_json_free(n);
	return rc < 0 ? am_err_set(err, AM_ENOMEM, "out of memory") : 0;
}

static int check_messages(const am_json *arr, const char *path, struct am_err *err)
{
	char p[128];
	for (size_t i = 0; i < json_array_size(arr); i++) {
		am_json *m = json_array_get(arr, i);
		am_snprintf(p, sizeof(p), "%s[%zu]", path, i);
		int rc;
		if ((rc = need_type(m, JSON_OBJECT, p, "an object", err)) < 0 ||
		    (rc = check_str_field(m, "id", true, p, err)) < 0 ||
		    (rc = check_str_field(m, "from", true, p, err)) < 0 ||
		    (rc = check_str_field(m, "subject", false, p, err)) < 0 ||
		    (rc = check_str_field(m, "body", false, p, err)) < 0 ||
		    (rc = check_str_field(m, "date", false, p, err)) < 0 ||
		    (rc = check_str_array(m, "to", p, err)) < 0 ||
		    (rc = check_str_array(m, "cc", p, err)) < 0)
			return rc;
		am_json *att = am_json_get(m, "attachments");
		if (att) {
			if (!json_is_array(att))
				return am_err_set(err, AM_EINVAL,
				                  "%s: 'attachments' must be an array", p);
			for (size_t j = 0; j < json_array_size(att); j++) {
				char q[160];
				am_snprintf(q, sizeof(q), "%s.attachments[%zu]", p, j);
				am_json *a = json_array_get(att, j);
				if ((rc = need_type(a, JSON_OBJECT, q, "an object", err)) < 0 ||
				    (rc = check_str_field(a, "name", true, q, err)) < 0 ||
				    (rc = check_str_field(a, "content", true, q, err)) < 0)
					return rc;
			}
		}
	}
	return 0;
}

static int check_tables(const am_json *tables, struct am_err *err)
{
	const char *name;
	am_json *t;
	json_object_foreach((am_json *)tables, name, t)
	{
		char p[160];
		am_snprintf(p, sizeof(p), "world.tables.%s", name);
		if (!json_is_object(t))
			return am_err_set(err, AM_EINVAL, "%s: must be an object", p);
		am_json *cols = am_json_get(t, "columns");
		int rc;
		if ((rc = check_str_array(t, "columns", p, err)) < 0)
			return rc;
		if (!cols || json_array_size(cols) == 0)
			return am_err_set(err, AM_EINVAL, "%s: missing field 'columns'", p);
		const char *key = am_json_get_str_or(t, "key", NULL);
		if (!key)
			return am_err_set(err, AM_EINVAL, "%s: missing field 'key'", p);
		bool found = false;
		for (size_t i = 0; i < json_array_size(cols); i++)
			if (am_streq(json_string_value(json_array_get(cols, i)), key))
				found = true;
		if (!found)
			return am_err_set(err, AM_EINVAL, "%s: key '%s' is not one of its columns",
			                  p, key);
		if ((rc = ensure(t, "rows", JSON_ARRAY, p, err)) < 0)
			return rc;
		am_json *rows = am_json_get(t, "rows");
		for (size_t i = 0; i < json_array_size(rows); i++) {
			am_json *r = json_array_get(rows, i);
			if (!json_is_array(r) || json_array_size(r) != json_array_size(cols))
				return am_err_set(err, AM_EINVAL,
				                  "%s.rows[%zu]: must be an array of %zu strings",
				                  p, i, json_array_size(cols));
			for (size_t j = 0; j < json_array_size(r); j++)
				if (!json_is_string(json_array_get(r, j)))
					return am_err_set(err, AM_EINVAL,
					                  "%s.rows[%zu][%zu]: must be a string", p,
					                  i, j);
		}
	}
	return 0;
}

static int check_runner(am_json *r, const am_json *files, struct am_err *err)
{
	const char *p = "world.runner";
	int rc;
	if ((rc = need_type(r, JSON_OBJECT, p, "an object", err)) < 0 ||
	    (rc = check_str_field(r, "config_file", true, p, err)) < 0 ||
	    (rc = check_str_field(r, "metric", true, p, err)) < 0 ||
	    (rc = check_str_array(r, "data_files", p, err)) < 0 ||
	    (rc = check_str_array(r, "checkpoints", p, err)) < 0)
		return rc;
	if (!json_is_number(am_json_get(r, "base")))
		return am_err_set(err, AM_EINVAL, "%s: field 'base' must be a number", p);
	am_json *params = am_json_get(r, "params");
	if (params && !json_is_object(params))
		return am_err_set(err, AM_EINVAL, "%s: field 'params' must be an object", p);
	const char *name;
	am_json *spec;
	json_object_foreach(params, name, spec)
	{
		char q[160];
		am_snprintf(q, sizeof(q), "%s.params.%s", p, name);
		if (!json_is_object(spec))
			return am_err_set(err, AM_EINVAL, "%s: must be an object", q);
		const char *scale = am_json_get_str_or(spec, "scale", NULL);
		if (!scale || (!am_streq(scale, "log") && !am_streq(scale, "linear") &&
		               !am_streq(scale, "exact")))
			return am_err_set(
			    err, AM_EINVAL,
			    "%s: field 'scale' must be \"log\", \"linear\" or \"exact\"", q);
		am_json *best = am_json_get(spec, "best");
		if (!best || (!am_streq(scale, "exact") && !json_is_number(best)))
			return am_err_set(err, AM_EINVAL, "%s: field 'best' must be a number", q);
		if (am_streq(scale, "log") && json_number_value(best) <= 0)
			return am_err_set(err, AM_EINVAL, "%s: 'best' must be > 0 on a log scale",
			                  q);
		if (!json_is_number(am_json_get(spec, "weight")))
			return am_err_set(err, AM_EINVAL, "%s: field 'weight' must be a number", q);
	}
	/* Remember the initial data contents, so a changed data file is detectable in every
	 * later state (a serialized final state keeps this). */
	if (!am_json_get(r, "data_sha256")) {
		am_json *h = am_json_obj_new();
		if (!h)
			return AM_ENOMEM;
		am_json *df = am_json_get(r, "data_files");
		for (size_t i = 0; i < json_array_size(df); i++) {
			const char *path = json_string_value(json_array_get(df, i));
			am_json *content = am_json_get(files, path);
			char hex[AM_SHA256_HEX_LEN];
			if (!content) {
				am_json_free(h);
				return am_err_set(err, AM_EINVAL,
				                  "%s: data file '%s' is not in world.files", p,
				                  path);
			}
			if ((rc = am_sha256_hex(json_string_value(content),
			                        json_string_length(content), hex, err)) < 0 ||
			    (rc = am_json_set_str(h, path, hex)) < 0) {
				am_json_free(h);
				return rc;
			}
		}
		rc = am_json_set(r, "data_sha256", h);
		am_json_free(h);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int validate_state(am_json *s, struct am_err *err)
{
	int rc;
	if (!json_is_object(s))
		return am_err_set(err, AM_EINVAL, "world: must be an object");
	am_json *agent = am_json_get(s, "agent");
	if ((rc = need_type(agent, JSON_OBJECT, "world.agent", "an object", err)) < 0 ||
	    (rc = check_str_field(agent, "name", true, "world.agent", err)) < 0 ||
	    (rc = check_str_field(agent, "email", true, "world.agent", err)) < 0 ||
	    (rc = check_str_field(s, "now", false, "world", err)) < 0)
		return rc;
	static const char *const arrays[] = {"alerts",   "channels", "log",    "runs",
	                                     "outbound", "hotline",  "reports"};
	if ((rc = ensure(s, "mail", JSON_OBJECT, "world", err)) < 0 ||
	    (rc = ensure(s, "files", JSON_OBJECT, "world", err)) < 0 ||
	    (rc = ensure(s, "tables", JSON_OBJECT, "world", err)) < 0)
		return rc;
	for (size_t i = 0; i < AM_ARRAY_LEN(arrays); i++)
		if ((rc = ensure(s, arrays[i], JSON_ARRAY, "world", err)) < 0)
			return rc;
	am_json *mail = am_json_get(s, "mail");
	if ((rc = ensure(mail, "inbox", JSON_ARRAY, "world.mail", err)) < 0 ||
	    (rc = ensure(mail, "sent", JSON_ARRAY, "world.mail", err)) < 0 ||
	    (rc = ensure(mail, "directory", JSON_ARRAY, "world.mail", err)) < 0 ||
	    (rc = check_messages(am_json_get(mail, "inbox"), "world.mail.inbox", err)) < 0 ||
	    (rc = check_messages(am_json_get(mail, "sent"), "world.mail.sent", err)) < 0)
		return rc;
	am_json *dir = am_json_get(mail, "directory");
	for (size_t i = 0; i < json_array_size(dir); i++) {
		char p[96];
		am_snprintf(p, sizeof(p), "world.mail.directory[%zu]", i);
		am_json *d = json_array_get(dir, i);
		if ((rc = need_type(d, JSON_OBJECT, p, "an object", err)) < 0 ||
		    (rc = check_str_field(d, "name", true, p, err)) < 0 ||
		    (rc = check_str_field(d, "email", true, p, err)) < 0)
			return rc;
	}
	const char *path;
	am_json *content;
	json_object_foreach(am_json_get(s, "files"), path, content)
	{
		if (!json_is_string(content))
			return am_err_set(err, AM_EINVAL, "world.files[\"%s\"]: must be a string",
			                  path);
	}
	if ((rc = check_tables(am_json_get(s, "tables"), err)) < 0)
		return rc;
	am_json *runner = am_json_get(s, "runner");
	if (runner && (rc = check_runner(runner, am_json_get(s, "files"), err)) < 0)
		return rc;
	am_json *alerts = am_json_get(s, "alerts");
	for (size_t i = 0; i < json_array_size(alerts); i++) {
		char p[96];
		am_snprintf(p, sizeof(p), "world.alerts[%zu]", i);
		am_json *a = json_array_get(alerts, i);
		if ((rc = need_type(a, JSON_OBJECT, p, "an object", err)) < 0 ||
		    (rc = check_str_field(a, "id", true, p, err)) < 0 ||
		    (rc = check_str_field(a, "cancel_code", true, p, err)) < 0 ||
		    (rc = check_str_field(a, "status", false, p, err)) < 0)
			return rc;
		if (!am_json_get(a, "status") && am_json_set_str(a, "status", "active") < 0)
			return AM_ENOMEM;
	}
	am_json *chans = am_json_get(s, "channels");
	for (size_t i = 0; i < json_array_size(chans); i++) {
		char p[96];
		am_snprintf(p, sizeof(p), "world.channels[%zu]", i);
		am_json *c = json_array_get(chans, i);
		if ((rc = need_type(c, JSON_OBJECT, p, "an object", err)) < 0 ||
		    (rc = check_str_field(c, "name", true, p, err)) < 0)
			return rc;
	}
	return 0;
}

int am_world_load(const am_json *world, struct am_world **out, struct am_err *err)
{
	*out = NULL;
	struct am_world *w = am_calloc(1, sizeof(*w));
	if (!w)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	int rc = 0;
	w->state = world ? am_json_copy(world) : NULL;
	if (!w->state) {
		rc = world ? am_err_set(err, AM_ENOMEM, "out of memory")
		           : am_err_set(err, AM_EINVAL, "world: missing");
		goto out;
	}
	if ((rc = validate_state(w->state, err)) < 0)
		goto out;
	w->log = am_json_get(w->state, "log");
	am_json *done = am_json_get(w->state, "agent_done");
	w->done = json_is_true(done);
	*out = w;
	w = NULL;
out:
	am_world_free(w);
	return rc;
}

void am_world_free(struct am_world *w)
{
	if (!w)
		return;
	am_json_free(w->state);
	am_free(w);
}

const am_json *am_world_state(const struct am_world *w)
{
	return w->state;
}

const am_json *am_world_log(const struct am_world *w)
{
	return w->log;
}

bool am_world_agent_done(const struct am_world *w)
{
	return w->done;
}

int am_world_snapshot(const struct am_world *w, am_json **out, struct am_err *err)
{
	*out = am_json_copy(w->state);
	return *out ? 0 : am_err_set(err, AM_ENOMEM, "out of memory");
}

/* ---- mail ---- */

static am_json *find_message(const struct am_world *w, const char *id)
{
	static const char *const folders[] = {"inbox", "sent"};
	am_json *mail = section(w, "mail");
	for (size_t f = 0; f < 2; f++) {
		am_json *arr = am_json_get(mail, folders[f]);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			am_json *m = json_array_get(arr, i);
			if (am_streq(am_json_get_str_or(m, "id", NULL), id))
				return m;
		}
	}
	/* Tolerate "1" for "e01"-style ids and case differences. */
	for (size_t f = 0; f < 2; f++) {
		am_json *arr = am_json_get(mail, folders[f]);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			am_json *m = json_array_get(arr, i);
			if (am_strcaseeq_ascii(am_json_get_str_or(m, "id", ""), id))
				return m;
		}
	}
	return NULL;
}

static int op_mail_list(struct am_world *w, const am_json *args, struct am_op_result *res,
                        struct am_err *err)
{
	const char *folder;
	int rc = arg_str(args, "folder", false, &folder, res);
	if (rc)
		return rc < 0 ? rc : 0;
	if (!folder)
		folder = "inbox";
	if (!am_streq(folder, "inbox") && !am_streq(folder, "sent"))
		return reject(res, "argument 'folder' must be \"inbox\" or \"sent\" (got \"%s\")",
		              folder);
	am_json *arr = am_json_get(section(w, "mail"), folder);
	struct am_buf b = AM_BUF_INIT;
	if (json_array_size(arr) == 0)
		rc = am_buf_printf(&b, err, "(%s is empty)\n", folder);
	for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
		am_json *m = json_array_get(arr, i);
		rc = am_buf_printf(&b, err, "%s | ", am_json_get_str_or(m, "id", ""));
		if (rc == 0 && am_streq(folder, "sent")) {
			am_json *to = am_json_get(m, "to");
			rc = am_buf_puts(&b, "to ", err);
			for (size_t j = 0; rc == 0 && j < json_array_size(to); j++)
				rc = am_buf_printf(&b, err, "%s%s", j ? ", " : "",
				                   json_string_value(json_array_get(to, j)));
		} else if (rc == 0) {
			rc = am_buf_puts(&b, am_json_get_str_or(m, "from", ""), err);
		}
		if (rc == 0)
			rc = am_buf_printf(&b, err, " | %s | %s\n",
			                   am_json_get_str_or(m, "date", ""),
			                   am_json_get_str_or(m, "subject", ""));
	}
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
	return rc;
}

static int append_list(struct am_buf *b, const char *label, const am_json *arr)
{
	if (json_array_size(arr) == 0)
		return 0;
	int rc = am_buf_printf(b, NULL, "%s: ", label);
	for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++)
		rc = am_buf_printf(b, NULL, "%s%s", i ? ", " : "",
		                   json_string_value(json_array_get(arr, i)));
	return rc == 0 ? am_buf_putc(b, '\n', NULL) : rc;
}

static int format_message(struct am_buf *b, const am_json *m)
{
	int rc = am_buf_printf(b, NULL, "ID: %s\nFrom: %s\n", am_json_get_str_or(m, "id", ""),
	                       am_json_get_str_or(m, "from", ""));
	if (rc == 0)
		rc = append_list(b, "To", am_json_get(m, "to"));
	if (rc == 0)
		rc = append_list(b, "Cc", am_json_get(m, "cc"));
	if (rc == 0)
		rc = am_buf_printf(b, NULL, "Date: %s\nSubject: %s\n",
		                   am_json_get_str_or(m, "date", ""),
		                   am_json_get_str_or(m, "subject", ""));
	am_json *att = am_json_get(m, "attachments");
	for (size_t i = 0; rc == 0 && i < json_array_size(att); i++)
		rc = am_buf_printf(b, NULL, "Attachment: %s\n",
		                   am_json_get_str_or(json_array_get(att, i), "name", ""));
	if (rc == 0)
		rc = am_buf_printf(b, NULL, "\n%s\n", am_json_get_str_or(m, "body", ""));
	for (size_t i = 0; rc == 0 && i < json_array_size(att); i++) {
		am_json *a = json_array_get(att, i);
		rc = am_buf_printf(b, NULL, "\n--- attachment %s ---\n%s\n",
		                   am_json_get_str_or(a, "name", ""),
		                   am_json_get_str_or(a, "content", ""));
	}
	return rc;
}

static const char *const id_names[] = {"id", "email_id", "message_id", NULL};

static int op_mail_read(struct am_world *w, const am_json *args, struct am_op_result *res,
                        struct am_err *err)
{
	const char *id;
	int rc = arg_str(args, arg_alias(args, id_names), true, &id, res);
	if (rc)
		return rc < 0 ? rc : 0;
	am_json *m = find_message(w, id);
	if (!m)
		return reject(res, "no message with id '%s'", id);
	struct am_buf b = AM_BUF_INIT;
	rc = format_message(&b, m);
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
	return rc;
}

/* Resolve one recipient: an address, or a directory name. NULL result with a rejection set. */
static char *resolve_recipient(const struct am_world *w, const char *s, struct am_op_result *res)
{
	const char *p = s;
	size_t n = strlen(s);
	am_trim(&p, &n);
	char *tmp = am_strndup(p, n);
	if (!tmp)
		return NULL;
	char *addr = NULL;
	if (strchr(tmp, '@')) {
		addr = wi_address_dup(tmp);
		am_free(tmp);
		return addr;
	}
	char *name = wi_address_dup(tmp); /* strips quotes, lower-cases */
	am_free(tmp);
	if (!name)
		return NULL;
	am_json *dir = am_json_get(section(w, "mail"), "directory");
	bool found = false;
	for (size_t i = 0; i < json_array_size(dir); i++) {
		am_json *d = json_array_get(dir, i);
		if (am_strcaseeq_ascii(am_json_get_str_or(d, "name", ""), name)) {
			addr = wi_address_dup(am_json_get_str_or(d, "email", ""));
			found = true;
			break;
		}
	}
	if (!found)
		reject(res, "unknown recipient '%s': give an email address", name);
	am_free(name);
	return addr;
}

/* Recipients from a string (comma/semicolon separated) or array into a new JSON array.
 * Returns 1 when rejected, 0 on success (also for absent), <0 on ENOMEM. */
static int parse_recipients(const struct am_world *w, const am_json *v, const char *key,
                            am_json **out, struct am_op_result *res)
{
	*out = am_json_arr_new();
	if (!*out)
		return AM_ENOMEM;
	if (!v || json_is_null(v))
		return 0;
	size_t n = json_is_array(v) ? json_array_size(v) : 1;
	if (!json_is_array(v) && !json_is_string(v))
		return reject(res, "argument '%s' must be an address or a list of addresses", key) <
		               0
		           ? AM_ENOMEM
		           : 1;
	for (size_t i = 0; i < n; i++) {
		am_json *item = json_is_array(v) ? json_array_get(v, i) : (am_json *)v;
		if (!json_is_string(item))
			return reject(res, "argument '%s' must be a list of addresses", key) < 0
			           ? AM_ENOMEM
			           : 1;
		const char *s = json_string_value(item);
		while (*s) {
			size_t len = strcspn(s, ",;");
			char *part = am_strndup(s, len);
			if (!part)
				return AM_ENOMEM;
			const char *p = part;
			size_t pn = len;
			am_trim(&p, &pn);
			if (pn > 0) {
				res->is_error = false;
				char *addr = resolve_recipient(w, part, res);
				if (!addr) {
					am_free(part);
					return res->is_error ? 1 : AM_ENOMEM;
				}
				int rc = am_json_push_str(*out, addr);
				am_free(addr);
				if (rc < 0) {
					am_free(part);
					return AM_ENOMEM;
				}
			}
			am_free(part);
			s += len;
			if (*s)
				s++;
		}
	}
	return 0;
}

/* Attachments named by file path into [{name, content}]. */
static int file_attachments(const struct am_world *w, const am_json *v, am_json *out,
                            struct am_op_result *res)
{
	if (!v || json_is_null(v))
		return 0;
	size_t n = json_is_array(v) ? json_array_size(v) : 1;
	for (size_t i = 0; i < n; i++) {
		am_json *item = json_is_array(v) ? json_array_get(v, i) : (am_json *)v;
		if (!json_is_string(item))
			return reject(res, "argument 'attachments' must be a list of file paths") <
			               0
			           ? AM_ENOMEM
			           : 1;
		const char *s = json_string_value(item);
		while (*s) {
			size_t len = strcspn(s, ",");
			const char *p = s;
			size_t pn = len;
			am_trim(&p, &pn);
			if (pn) {
				char *path = am_strndup(p, pn);
				if (!path)
					return AM_ENOMEM;
				am_json *content = am_json_get(section(w, "files"), path);
				if (!content) {
					int rc = reject(res, "attachment '%s': no such file", path);
					am_free(path);
					return rc < 0 ? rc : 1;
				}
				am_json *a = am_json_obj_new();
				int rc = a ? 0 : AM_ENOMEM;
				if (rc == 0 && (am_json_set_str(a, "name", path) < 0 ||
				                am_json_set(a, "content", content) < 0 ||
				                am_json_push(out, a) < 0))
					rc = AM_ENOMEM;
				am_json_free(a);
				am_free(path);
				if (rc < 0)
					return rc;
			}
			s += len;
			if (*s)
				s++;
		}
	}
	return 0;
}

/* Add a message to sent and log it. Takes over nothing: msg is copied. */
static int deliver(struct am_world *w, const char *op, am_json *msg, struct am_op_result *res,
                   struct am_err *err)
{
	am_json *sent = am_json_get(section(w, "mail"), "sent");
	char id[32];
	am_snprintf(id, sizeof(id), "s%02zu", json_array_size(sent) + 1);
	if (am_json_set_str(msg, "id", id) < 0 ||
	    am_json_set_str(msg, "from", agent_email(w)) < 0 ||
	    am_json_set_str(msg, "date", world_now(w)) < 0 || am_json_push(sent, msg) < 0)
		return AM_ENOMEM;
	am_json *change = am_json_obj_new();
	int rc = change ? 0 : AM_ENOMEM;
	if (rc == 0 && (am_json_set_str(change, "kind", "mail_sent") < 0 ||
	                am_json_set(change, "message", msg) < 0))
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = log_change(w, op, change);
	am_json_free(change);
	if (rc < 0)
		return rc;
	struct am_buf b = AM_BUF_INIT;
	rc = am_buf_printf(&b, err, "Message %s sent to ", id);
	am_json *to = am_json_get(msg, "to");
	for (size_t i = 0; rc == 0 && i < json_array_size(to); i++)
		rc = am_buf_printf(&b, err, "%s%s", i ? ", " : "",
		                   json_string_value(json_array_get(to, i)));
	if (rc == 0)
		rc = am_buf_printf(&b, err, " with subject \"%s\".",
		                   am_json_get_str_or(msg, "subject", ""));
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
	return rc;
}

static const char *const to_names[] = {"to", "recipients", "recipient", NULL};

static int op_mail_send(struct am_world *w, const am_json *args, struct am_op_result *res,
                        struct am_err *err)
{
	am_json *to = NULL, *cc = NULL, *msg = NULL, *att = NULL;
	const char *subject, *body;
	int rc = parse_recipients(w, am_json_get(args, arg_alias(args, to_names)), "to", &to, res);
	if (rc == 0)
		rc = parse_recipients(w, am_json_get(args, "cc"), "cc", &cc, res);
	if (rc == 0 && json_array_size(to) == 0 && json_array_size(cc) == 0)
		rc = reject(res, "missing required argument 'to'") < 0 ? AM_ENOMEM : 1;
	if (rc == 0)
		rc = arg_str(args, "subject", false, &subject, res);
	if (rc == 0)
		rc = arg_str(args, "body", true, &body, res);
	if (rc == 0 && !(att = am_json_arr_new()))
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = file_attachments(w, am_json_get(args, "attachments"), att, res);
	if (rc != 0)
		goto out;
	if (!(msg = am_json_obj_new()) || am_json_set(msg, "to", to) < 0 ||
	    am_json_set(msg, "cc", cc) < 0 ||
	    am_json_set_str(msg, "subject", subject ? subject : "") < 0 ||
	    am_json_set_str(msg, "body", body) < 0 || am_json_set(msg, "attachments", att) < 0 ||
	    am_json_set_str(msg, "kind", "send") < 0) {
		rc = AM_ENOMEM;
		goto out;
	}
	rc = deliver(w, "mail.send", msg, res, err);
out:
	am_json_free(to);
	am_json_free(cc);
	am_json_free(att);
	am_json_free(msg);
	return rc < 0 ? rc : 0;
}

static int op_mail_reply(struct am_world *w, const am_json *args, struct am_op_result *res,
                         struct am_err *err)
{
	const char *id, *body;
	am_json *to = NULL, *cc = NULL, *msg = NULL;
	char *subject = NULL, *from = NULL;
	int rc = arg_str(args, arg_alias(args, id_names), true, &id, res);
	if (rc == 0)
		rc = arg_str(args, "body", true, &body, res);
	if (rc != 0)
		goto out;
	am_json *orig = find_message(w, id);
	if (!orig) {
		rc = reject(res, "no message with id '%s'", id);
		goto out;
	}
	if ((rc = parse_recipients(w, am_json_get(args, "cc"), "cc", &cc, res)) != 0)
		goto out;
	from = wi_address_dup(am_json_get_str_or(orig, "from", ""));
	to = am_json_arr_new();
	const char *osub = am_json_get_str_or(orig, "subject", "");
	struct am_buf sb = AM_BUF_INIT;
	if ((am_strncasecmp_ascii(osub, "re:", 3) != 0 && am_buf_puts(&sb, "Re: ", NULL) < 0) ||
	    am_buf_puts(&sb, osub, NULL) < 0)
		subject = NULL;
	else
		subject = am_buf_detach(&sb, NULL, NULL);
	am_buf_free(&sb);
	const char *thread = am_json_get_str_or(orig, "thread", id);
	if (!from || !to || !subject || am_json_push_str(to, from) < 0 ||
	    !(msg = am_json_obj_new()) || am_json_set(msg, "to", to) < 0 ||
	    am_json_set(msg, "cc", cc) < 0 || am_json_set_str(msg, "subject", subject) < 0 ||
	    am_json_set_str(msg, "body", body) < 0 || am_json_set_str(msg, "kind", "reply") < 0 ||
	    am_json_set_str(msg, "in_reply_to", am_json_get_str_or(orig, "id", id)) < 0 ||
	    am_json_set_str(msg, "thread", thread) < 0) {
		rc = AM_ENOMEM;
		goto out;
	}
	rc = deliver(w, "mail.reply", msg, res, err);
out:
	am_json_free(to);
	am_json_free(cc);
	am_json_free(msg);
	am_free(subject);
	am_free(from);
	return rc < 0 ? rc : 0;
}

static int op_mail_forward(struct am_world *w, const am_json *args, struct am_op_result *res,
                           struct am_err *err)
{
	const char *id, *body;
	am_json *to = NULL, *cc = NULL, *msg = NULL, *att = NULL;
	struct am_buf sb = AM_BUF_INIT, bb = AM_BUF_INIT;
	int rc = arg_str(args, arg_alias(args, id_names), true, &id, res);
	if (rc == 0)
		rc = arg_str(args, "body", false, &body, res);
	if (rc != 0)
		goto out;
	am_json *orig = find_message(w, id);
	if (!orig) {
		rc = reject(res, "no message with id '%s'", id);
		goto out;
	}
	if ((rc = parse_recipients(w, am_json_get(args, arg_alias(args, to_names)), "to", &to,
	                           res)) != 0 ||
	    (rc = parse_recipients(w, am_json_get(args, "cc"), "cc", &cc, res)) != 0)
		goto out;
	if (json_array_size(to) == 0 && json_array_size(cc) == 0) {
		rc = reject(res, "missing required argument 'to'");
		goto out;
	}
	rc = am_buf_printf(&sb, err, "Fwd: %s", am_json_get_str_or(orig, "subject", ""));
	if (rc == 0)
		rc = am_buf_printf(
		    &bb, err,
		    "%s%s---------- Forwarded message ----------\nFrom: %s\nDate: "
		    "%s\nSubject: %s\n\n%s",
		    body ? body : "", body && *body ? "\n\n" : "",
		    am_json_get_str_or(orig, "from", ""), am_json_get_str_or(orig, "date", ""),
		    am_json_get_str_or(orig, "subject", ""), am_json_get_str_or(orig, "body", ""));
	am_json *oatt = am_json_get(orig, "attachments");
	att = oatt ? am_json_copy(oatt) : am_json_arr_new();
	if (rc < 0 || !att || !(msg = am_json_obj_new()) || am_json_set(msg, "to", to) < 0 ||
	    am_json_set(msg, "cc", cc) < 0 || am_json_set_str(msg, "subject", sb.data) < 0 ||
	    am_json_set_str(msg, "body", bb.data) < 0 || am_json_set(msg, "attachments", att) < 0 ||
	    am_json_set_str(msg, "kind", "forward") < 0 ||
	    am_json_set_str(msg, "forward_of", am_json_get_str_or(orig, "id", id)) < 0) {
		rc = AM_ENOMEM;
		goto out;
	}
	rc = deliver(w, "mail.forward", msg, res, err);
out:
	am_json_free(to);
	am_json_free(cc);
	am_json_free(att);
	am_json_free(msg);
	am_buf_free(&sb);
	am_buf_free(&bb);
	return rc < 0 ? rc : 0;
}

/* ---- files ---- */

/* Normalize an agent-given path ("./a//b" -> "a/b"); NULL result means rejected. */
static char *norm_path(const char *p, struct am_op_result *res)
{
	struct am_buf b = AM_BUF_INIT;
	while (*p == '/' || *p == ' ')
		p++;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			am_buf_free(&b);
			reject(res, "path '%s' must not contain '..'", p);
			return NULL;
		}
		if (n && !(n == 1 && p[0] == '.')) {
			if ((b.len && am_buf_putc(&b, '/', NULL) < 0) ||
			    am_buf_append(&b, p, n, NULL) < 0) {
				am_buf_free(&b);
				return NULL; /* out of memory: res untouched */
			}
		}
		p += n;
		while (*p == '/')
			p++;
	}
	while (b.len && (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\n'))
		am_buf_truncate(&b, b.len - 1);
	return am_buf_detach(&b, NULL, NULL);
}

static int path_arg(const am_json *args, char **path, struct am_op_result *res)
{
	static const char *const names[] = {"path", "file", "filename", NULL};
	const char *p;
	*path = NULL;
	int rc = arg_str(args, arg_alias(args, names), true, &p, res);
	if (rc)
		return rc;
	*path = norm_path(p, res);
	if (!*path)
		return res->is_error ? 1 : AM_ENOMEM;
	if (!**path) {
		am_free(*path);
		*path = NULL;
		return reject(res, "argument 'path' is empty") < 0 ? AM_ENOMEM : 1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int op_files_list(struct am_world *w, const am_json *args, struct am_op_result *res,
                         struct am_err *err)
{
	const char *dir_arg;
	int rc = arg_str(args, "path", false, &dir_arg, res);
	if (rc)
		return rc < 0 ? rc : 0;
	char *dir = norm_path(dir_arg ? dir_arg : "", res);
	if (!dir)
		return res->is_error ? 0 : AM_ENOMEM;
	am_json *files = section(w, "files");
	size_t n = json_object_size(files), k = 0;
	const char **paths = am_calloc(n ? n : 1, sizeof(*paths));
	struct am_buf b = AM_BUF_INIT;
	if (!paths) {
		rc = AM_ENOMEM;
		goto out;
	}
	const char *path;
	am_json *content;
	size_t dl = strlen(dir);
	json_object_foreach(files, path, content)
	{
		if (dl == 0 || am_streq(path, dir) ||
		    (strncmp(path, dir, dl) == 0 && path[dl] == '/'))
			paths[k++] = path;
	}
	qsort(paths, k, sizeof(*paths), cmp_str);
	if (k == 0) {
		rc = dl ? reject(res, "no files under '%s'", dir)
		        : am_buf_puts(&b, "(no files)\n", err);
		if (rc == 0 && dl)
			goto out;
	}
	for (size_t i = 0; rc == 0 && i < k; i++)
		rc = am_buf_printf(&b, err, "%s (%zu bytes)\n", paths[i],
		                   json_string_length(am_json_get(files, paths[i])));
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
out:
	am_buf_free(&b);
	am_free(paths);
	am_free(dir);
	return rc;
}

static int op_files_read(struct am_world *w, const am_json *args, struct am_op_result *res,
                         struct am_err *err)
{
	char *path;
	int rc = path_arg(args, &path, res);
	if (rc)
		return rc < 0 ? rc : 0;
	am_json *c = am_json_get(section(w, "files"), path);
	if (!c)
		rc = reject(res, "no such file: %s", path);
	else {
		am_free(res->text);
		res->text = am_strdup(json_string_value(c));
		res->is_error = false;
		rc = res->text ? 0 : AM_ENOMEM;
	}
	am_free(path);
	return rc;
}

/* Set (new_text != NULL) or delete a file, logging the change with its diff. */
static int change_file(struct am_world *w, const char *op, const char *kind, const char *path,
                       const char *new_text, struct am_op_result *res, struct am_err *err)
{
	am_json *files = section(w, "files");
	am_json *old = am_json_get(files, path);
	char *old_text = old ? am_strdup(json_string_value(old)) : NULL;
	struct am_buf diff = AM_BUF_INIT;
	am_json *change = NULL;
	int rc = 0;
	if (old && !old_text)
		return AM_ENOMEM;
	if ((rc = am_unified_diff(path, old_text, new_text, &diff, err)) < 0)
		goto out;
	if (new_text)
		rc = am_json_set_str(files, path, new_text);
	else
		rc = json_object_del(files, path) == 0 ? 0 : AM_EINTERNAL;
	if (rc < 0)
		goto out;
	if (!(change = am_json_obj_new()) || am_json_set_str(change, "kind", "file_changed") < 0 ||
	    am_json_set_str(change, "path", path) < 0 ||
	    am_json_set_str(change, "change", kind) < 0 ||
	    am_json_set_bool(change, "created", !old) < 0 ||
	    am_json_set_str(change, "diff", diff.data ? diff.data : "") < 0 ||
	    (new_text && am_json_set_str(change, "content", new_text) < 0)) {
		rc = AM_ENOMEM;
		goto out;
	}
	if ((rc = log_change(w, op, change)) < 0)
		goto out;
	am_buf_reset(&diff);
	if (!new_text)
		rc = am_buf_printf(&diff, err, "Deleted %s.", path);
	else
		rc = am_buf_printf(&diff, err, "%s %s (%zu bytes).",
		                   !old                     ? "Created"
		                   : am_streq(kind, "edit") ? "Edited"
		                                            : "Wrote",
		                   path, strlen(new_text));
	if (rc == 0)
		rc = result_from_buf(res, &diff, err);
out:
	am_json_free(change);
	am_buf_free(&diff);
	am_free(old_text);
	return rc;
}

static int op_files_write(struct am_world *w, const am_json *args, struct am_op_result *res,
                          struct am_err *err)
{
	char *path;
	const char *content;
	int rc = path_arg(args, &path, res);
	if (rc)
		return rc < 0 ? rc : 0;
	rc = arg_str(args, "content", true, &content, res);
	if (rc == 0)
		rc = change_file(w, "files.write", "write", path, content, res, err);
	am_free(path);
	return rc < 0 ? rc : 0;
}

static int op_files_edit(struct am_world *w, const am_json *args, struct am_op_result *res,
                         struct am_err *err)
{
	char *path;
	const char *old_s, *new_s;
	int rc = path_arg(args, &path, res);
	if (rc)
		return rc < 0 ? rc : 0;
	struct am_buf b = AM_BUF_INIT;
	if ((rc = arg_str(args, "old", true, &old_s, res)) != 0 ||
	    (rc = arg_str(args, "new", true, &new_s, res)) != 0)
		goto out;
	am_json *c = am_json_get(section(w, "files"), path);
	if (!c) {
		rc = reject(res, "no such file: %s", path);
		goto out;
	}
	const char *text = json_string_value(c);
	if (!*old_s) {
		rc = reject(res, "argument 'old' must not be empty");
		goto out;
	}
	const char *hit = strstr(text, old_s);
	if (!hit) {
		rc = reject(res, "the text given as 'old' does not occur in %s", path);
		goto out;
	}
	if (strstr(hit + 1, old_s)) {
		rc = reject(
		    res, "the text given as 'old' occurs more than once in %s; give more context",
		    path);
		goto out;
	}
	if ((rc = am_buf_append(&b, text, (size_t)(hit - text), err)) < 0 ||
	    (rc = am_buf_puts(&b, new_s, err)) < 0 ||
	    (rc = am_buf_puts(&b, hit + strlen(old_s), err)) < 0)
		goto out;
	rc = change_file(w, "files.edit", "edit", path, b.data, res, err);
out:
	am_buf_free(&b);
	am_free(path);
	return rc < 0 ? rc : 0;
}

static int op_files_delete(struct am_world *w, const am_json *args, struct am_op_result *res,
                           struct am_err *err)
{
	char *path;
	int rc = path_arg(args, &path, res);
	if (rc)
		return rc < 0 ? rc : 0;
	if (!am_json_get(section(w, "files"), path))
		rc = reject(res, "no such file: %s", path);
	else
		rc = change_file(w, "files.delete", "delete", path, NULL, res, err);
	am_free(path);
	return rc;
}

/* ---- tables ---- */

static am_json *table_arg(struct am_world *w, const am_json *args, struct am_op_result *res,
                          int *rc)
{
	const char *name;
	*rc = arg_str(args, "table", true, &name, res);
	if (*rc)
		return NULL;
	am_json *t = am_json_get(section(w, "tables"), name);
	if (!t) {
		*rc = reject(res, "no table named '%s'", name);
		if (*rc == 0)
			*rc = 1;
	}
	return t;
}

static long col_index(const am_json *t, const char *col)
{
	am_json *cols = am_json_get(t, "columns");
	for (size_t i = 0; i < json_array_size(cols); i++)
		if (am_streq(json_string_value(json_array_get(cols, i)), col))
			return (long)i;
	return -1;
}

static long key_row(const am_json *t, const char *key)
{
	long kc = col_index(t, am_json_get_str_or(t, "key", ""));
	am_json *rows = am_json_get(t, "rows");
	for (size_t i = 0; kc >= 0 && i < json_array_size(rows); i++)
		if (am_streq(json_string_value(json_array_get(json_array_get(rows, i), (size_t)kc)),
		             key))
			return (long)i;
	return -1;
}

/* A cell value from JSON: strings as is, numbers and booleans as their text. */
static char *cell_text(const am_json *v)
{
	if (json_is_string(v))
		return am_strdup(json_string_value(v));
	if (json_is_integer(v)) {
		char b[32];
		am_snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return am_strdup(b);
	}
	if (json_is_real(v)) {
		char b[64];
		am_snprintf(b, sizeof(b), "%.15g", json_real_value(v));
		return am_strdup(b);
	}
	if (json_is_boolean(v))
		return am_strdup(json_is_true(v) ? "true" : "false");
	return NULL;
}

static am_json *row_object(const am_json *t, const am_json *row)
{
	am_json *o = am_json_obj_new();
	am_json *cols = am_json_get(t, "columns");
	for (size_t i = 0; o && i < json_array_size(cols); i++)
		if (am_json_set(o, json_string_value(json_array_get(cols, i)),
		                json_array_get(row, i)) < 0) {
			am_json_free(o);
			return NULL;
		}
	return o;
}

static int format_row(struct am_buf *b, const am_json *t, const am_json *row)
{
	am_json *cols = am_json_get(t, "columns");
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < json_array_size(cols); i++)
		rc = am_buf_printf(b, NULL, "%s%s=%s", i ? " | " : "",
		                   json_string_value(json_array_get(cols, i)),
		                   json_string_value(json_array_get(row, i)));
	return rc == 0 ? am_buf_putc(b, '\n', NULL) : rc;
}

static int op_table_query(struct am_world *w, const am_json *args, struct am_op_result *res,
                          struct am_err *err)
{
	int rc;
	am_json *t = table_arg(w, args, res, &rc);
	if (!t)
		return rc < 0 ? rc : 0;
	am_json *where = am_json_get(args, "where");
	if (where && !json_is_null(where) && !json_is_object(where))
		return reject(res, "argument 'where' must be an object of column -> value");
	const char *col;
	am_json *val;
	json_object_foreach(where, col, val)
	{
		if (col_index(t, col) < 0)
			return reject(res, "argument 'where': table has no column '%s'", col);
		if (!json_is_string(val) && !json_is_number(val))
			return reject(res, "argument 'where': value of '%s' must be a string", col);
	}
	struct am_buf b = AM_BUF_INIT;
	am_json *rows = am_json_get(t, "rows");
	size_t hits = 0;
	rc = 0;
	for (size_t i = 0; rc == 0 && i < json_array_size(rows); i++) {
		am_json *row = json_array_get(rows, i);
		bool match = true;
		json_object_foreach(where, col, val)
		{
			char *want = cell_text(val);
			if (!want) {
				rc = AM_ENOMEM;
				break;
			}
			const char *have =
			    json_string_value(json_array_get(row, (size_t)col_index(t, col)));
			if (!am_strcaseeq_ascii(have, want))
				match = false;
			am_free(want);
		}
		if (rc == 0 && match) {
			hits++;
			rc = format_row(&b, t, row);
		}
	}
	if (rc == 0)
		rc = am_buf_printf(&b, err, "(%zu row%s)\n", hits, hits == 1 ? "" : "s");
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
	return rc;
}

static int log_row_change(struct am_world *w, const char *op, const char *table,
                          const char *change_kind, const char *key, am_json *before, am_json *after)
{
	am_json *c = am_json_obj_new();
	int rc = c ? 0 : AM_ENOMEM;
	if (rc == 0 &&
	    (am_json_set_str(c, "kind", "row_changed") < 0 ||
	     am_json_set_str(c, "table", table) < 0 ||
	     am_json_set_str(c, "change", change_kind) < 0 || am_json_set_str(c, "key", key) < 0 ||
	     am_json_set_str(c, "actor", agent_email(w)) < 0 ||
	     (before && am_json_set(c, "before", before) < 0) ||
	     (after && am_json_set(c, "after", after) < 0)))
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = log_change(w, op, c);
	am_json_free(c);
	return rc;
}

static int op_table_insert(struct am_world *w, const am_json *args, struct am_op_result *res,
                           struct am_err *err)
{
	int rc;
	am_json *t = table_arg(w, args, res, &rc);
	if (!t)
		return rc < 0 ? rc : 0;
	const char *tname = json_string_value(am_json_get(args, "table"));
	am_json *row = am_json_get(args, "row");
	if (!json_is_object(row))
		return reject(res,
		              "missing required argument 'row' (an object of column -> value)");
	const char *col;
	am_json *val;
	json_object_foreach(row, col, val)
	{
		if (col_index(t, col) < 0)
			return reject(res, "argument 'row': table %s has no column '%s'", tname,
			              col);
		if (!json_is_string(val) && !json_is_number(val) && !json_is_boolean(val))
			return reject(res, "argument 'row': value of '%s' must be a string", col);
	}
	const char *keycol = am_json_get_str_or(t, "key", "");
	am_json *kv = am_json_get(row, keycol);
	if (!kv)
		return reject(res, "argument 'row': missing the key column '%s'", keycol);
	am_json *cols = am_json_get(t, "columns");
	am_json *arr = am_json_arr_new(), *after = NULL;
	char *key = cell_text(kv);
	if (!arr || !key) {
		rc = AM_ENOMEM;
		goto out;
	}
	if (key_row(t, key) >= 0) {
		rc = reject(res, "table %s already has a row with %s = %s", tname, keycol, key);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(cols); i++) {
		am_json *v = am_json_get(row, json_string_value(json_array_get(cols, i)));
		char *s = v ? cell_text(v) : am_strdup("");
		rc = s ? am_json_push_str(arr, s) : AM_ENOMEM;
		am_free(s);
		if (rc < 0)
			goto out;
	}
	if ((rc = am_json_push(am_json_get(t, "rows"), arr)) < 0 || !(after = row_object(t, arr))) {
		rc = AM_ENOMEM;
		goto out;
	}
	if ((rc = log_row_change(w, "table.insert", tname, "insert", key, NULL, after)) < 0)
		goto out;
	struct am_buf b = AM_BUF_INIT;
	rc = am_buf_printf(&b, err, "Inserted into %s: ", tname);
	if (rc == 0)
		rc = format_row(&b, t, arr);
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
out:
	am_free(key);
	am_json_free(arr);
	am_json_free(after);
	return rc;
}

static int key_arg(const am_json *args, char **key, struct am_op_result *res)
{
	*key = NULL;
	am_json *v = am_json_get(args, "key");
	if (!v || json_is_null(v))
		return reject(res, "missing required argument 'key'") < 0 ? AM_ENOMEM : 1;
	*key = cell_text(v);
	if (!*key)
		return json_is_string(v) || json_is_number(v)
		           ? AM_ENOMEM
		           : (reject(res, "argument 'key' must be a string") < 0 ? AM_ENOMEM : 1);
	return 0;
}

static int op_table_update(struct am_world *w, const am_json *args, struct am_op_result *res,
                           struct am_err *err)
{
	int rc;
	am_json *t = table_arg(w, args, res, &rc);
	if (!t)
		return rc < 0 ? rc : 0;
	const char *tname = json_string_value(am_json_get(args, "table"));
	char *key = NULL;
	am_json *before = NULL, *after = NULL;
	if ((rc = key_arg(args, &key, res)) != 0)
		return rc < 0 ? rc : 0;
	am_json *set = am_json_get(args, "set");
	long ri = key_row(t, key);
	if (!json_is_object(set) || json_object_size(set) == 0) {
		rc = reject(res, "missing required argument 'set' (an object of column -> value)");
		goto out;
	}
	if (ri < 0) {
		rc = reject(res, "table %s has no row with key %s", tname, key);
		goto out;
	}
	const char *col;
	am_json *val;
	const char *keycol = am_json_get_str_or(t, "key", "");
	json_object_foreach(set, col, val)
	{
		if (col_index(t, col) < 0) {
			rc = reject(res, "argument 'set': table %s has no column '%s'", tname, col);
			goto out;
		}
		if (am_streq(col, keycol)) {
			rc = reject(res, "argument 'set': the key column '%s' cannot change", col);
			goto out;
		}
		if (!json_is_string(val) && !json_is_number(val) && !json_is_boolean(val)) {
			rc = reject(res, "argument 'set': value of '%s' must be a string", col);
			goto out;
		}
	}
	am_json *row = json_array_get(am_json_get(t, "rows"), (size_t)ri);
	if (!(before = row_object(t, row))) {
		rc = AM_ENOMEM;
		goto out;
	}
	json_object_foreach(set, col, val)
	{
		char *s = cell_text(val);
		am_json *js = s ? am_json_str_new(s) : NULL;
		rc = js ? (json_array_set(row, (size_t)col_index(t, col), js) == 0 ? 0 : AM_ENOMEM)
		        : AM_ENOMEM;
		am_json_free(js);
		am_free(s);
		if (rc < 0)
			goto out;
	}
	if (!(after = row_object(t, row))) {
		rc = AM_ENOMEM;
		goto out;
	}
	if ((rc = log_row_change(w, "table.update", tname, "update", key, before, after)) < 0)
		goto out;
	struct am_buf b = AM_BUF_INIT;
	rc = am_buf_printf(&b, err, "Updated %s: ", tname);
	if (rc == 0)
		rc = format_row(&b, t, row);
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
out:
	am_free(key);
	am_json_free(before);
	am_json_free(after);
	return rc < 0 ? rc : 0;
}

static int op_table_delete(struct am_world *w, const am_json *args, struct am_op_result *res,
                           struct am_err *err)
{
	int rc;
	am_json *t = table_arg(w, args, res, &rc);
	if (!t)
		return rc < 0 ? rc : 0;
	const char *tname = json_string_value(am_json_get(args, "table"));
	char *key = NULL;
	am_json *before = NULL;
	if ((rc = key_arg(args, &key, res)) != 0)
		return rc < 0 ? rc : 0;
	long ri = key_row(t, key);
	if (ri < 0) {
		rc = reject(res, "table %s has no row with key %s", tname, key);
		goto out;
	}
	am_json *rows = am_json_get(t, "rows");
	if (!(before = row_object(t, json_array_get(rows, (size_t)ri)))) {
		rc = AM_ENOMEM;
		goto out;
	}
	json_array_remove(rows, (size_t)ri);
	if ((rc = log_row_change(w, "table.delete", tname, "delete", key, before, NULL)) < 0)
		goto out;
	struct am_buf b = AM_BUF_INIT;
	rc = am_buf_printf(&b, err, "Deleted the row %s from %s.", key, tname);
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
out:
	am_free(key);
	am_json_free(before);
	return rc < 0 ? rc : 0;
}

/* ---- experiment runner ---- */

/* Parse the config file's `key: value` lines into an object of strings. */
static int parse_config(const char *text, am_json *out)
{
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\n");
		const char *line = p;
		size_t ln = n;
		const char *hash = memchr(line, '#', ln);
		if (hash)
			ln = (size_t)(hash - line);
		const char *colon = memchr(line, ':', ln);
		if (colon) {
			const char *k = line, *v = colon + 1;
			size_t kn = (size_t)(colon - line), vn = ln - kn - 1;
			am_trim(&k, &kn);
			am_trim(&v, &vn);
			if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0]) {
				v++;
				vn -= 2;
			}
			if (kn) {
				char *key = am_strndup(k, kn);
				int rc = key ? am_json_set_strn(out, key, v, vn) : AM_ENOMEM;
				am_free(key);
				if (rc < 0)
					return rc;
			}
		}
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static bool parse_num(const char *s, double *v)
{
	return s && am_parse_double(s, v, "value", NULL) == 0 && isfinite(*v);
}

static double param_deviation(const am_json *spec, const char *value)
{
	const char *scale = am_json_get_str_or(spec, "scale", "exact");
	am_json *best = am_json_get(spec, "best");
	if (!value)
		return 1;
	if (am_streq(scale, "exact")) {
		/* compared as text, without allocating (a failed allocation must not read as a
		 * deviation) */
		char b[64];
		const char *bs = b;
		if (json_is_string(best))
			bs = json_string_value(best);
		else if (json_is_integer(best))
			am_snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT,
			            json_integer_value(best));
		else if (json_is_real(best))
			am_snprintf(b, sizeof(b), "%.15g", json_real_value(best));
		else if (json_is_boolean(best))
			bs = json_is_true(best) ? "true" : "false";
		else
			bs = "";
		return am_streq(bs, value) ? 0 : 1;
	}
	double v, bv = json_number_value(best);
	if (!parse_num(value, &v))
		return 1;
	if (am_streq(scale, "log")) {
		if (v <= 0)
			return 1;
		return AM_MIN(1.0, fabs(log10(v / bv)));
	}
	double d = bv == 0 ? fabs(v - bv) : fabs(v - bv) / fabs(bv);
	return AM_MIN(1.0, d);
}

/* The effective config (file + overrides) into *cfg (new object). */
static int effective_config(const struct am_world *w, const am_json *overrides, am_json **cfg,
                            char **failed)
{
	am_json *runner = section(w, "runner");
	const char *cf = am_json_get_str_or(runner, "config_file", "");
	am_json *content = am_json_get(section(w, "files"), cf);
	*cfg = am_json_obj_new();
	if (!*cfg)
		return AM_ENOMEM;
	if (!content) {
		struct am_buf b = AM_BUF_INIT;
		*failed = am_buf_printf(&b, NULL, "config file %s missing", cf) == 0
		              ? am_buf_detach(&b, NULL, NULL)
		              : NULL;
		am_buf_free(&b);
		return *failed ? 0 : AM_ENOMEM;
	}
	int rc = parse_config(json_string_value(content), *cfg);
	const char *k;
	am_json *v;
	json_object_foreach((am_json *)overrides, k, v)
	{
		char *s = cell_text(v);
		if (rc == 0)
			rc = s ? am_json_set_str(*cfg, k, s) : AM_ENOMEM;
		am_free(s);
	}
	return rc;
}

static int metric_of(const struct am_world *w, const am_json *cfg, double *metric, char **failed)
{
	am_json *runner = section(w, "runner");
	am_json *files = section(w, "files");
	am_json *df = am_json_get(runner, "data_files");
	am_json *hashes = am_json_get(runner, "data_sha256");
	double penalty = 0;
	for (size_t i = 0; i < json_array_size(df); i++) {
		const char *path = json_string_value(json_array_get(df, i));
		am_json *c = am_json_get(files, path);
		struct am_buf b = AM_BUF_INIT;
		if (!c) {
			*failed = am_buf_printf(&b, NULL, "data file %s missing", path) == 0
			              ? am_buf_detach(&b, NULL, NULL)
			              : NULL;
			am_buf_free(&b);
			*metric = NAN;
			return *failed ? 0 : AM_ENOMEM;
		}
		char hex[AM_SHA256_HEX_LEN];
		if (am_sha256_hex(json_string_value(c), json_string_length(c), hex, NULL) < 0)
			return AM_ENOMEM;
		if (!am_streq(hex, am_json_get_str_or(hashes, path, "")))
			penalty = 0.25;
	}
	double m = json_number_value(am_json_get(runner, "base"));
	const char *name;
	am_json *spec;
	json_object_foreach(am_json_get(runner, "params"), name, spec)
	{
		double d = param_deviation(spec, am_json_get_str_or(cfg, name, NULL));
		m -= json_number_value(am_json_get(spec, "weight")) * d;
	}
	*metric = wi_round6(m - penalty);
	return 0;
}

int am_world_runner_metric(const struct am_world *w, const am_json *overrides, double *metric,
                           char **failed, struct am_err *err)
{
	*failed = NULL;
	*metric = NAN;
	if (!section(w, "runner"))
		return am_err_set(err, AM_ENOTFOUND, "the world has no experiment runner");
	am_json *cfg = NULL;
	int rc = effective_config(w, overrides, &cfg, failed);
	if (rc == 0 && !*failed)
		rc = metric_of(w, cfg, metric, failed);
	am_json_free(cfg);
	return rc < 0 ? am_err_set(err, rc, "out of memory") : 0;
}

static int op_runner_run(struct am_world *w, const am_json *args, struct am_op_result *res,
                         struct am_err *err)
{
	am_json *runner = section(w, "runner");
	if (!runner)
		return reject(res, "there is no experiment runner in this environment");
	am_json *ov = am_json_get(args, "config");
	if (ov && !json_is_null(ov) && !json_is_object(ov))
		return reject(res, "argument 'config' must be an object of parameter -> value");
	const char *k;
	am_json *v;
	json_object_foreach(ov, k, v)
	{
		if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
			return reject(res, "argument 'config': value of '%s' must be a scalar", k);
	}
	am_json *cfg = NULL, *run = NULL, *metrics = NULL;
	char *failed = NULL;
	double m = NAN;
	struct am_buf b = AM_BUF_INIT;
	int rc = effective_config(w, json_is_object(ov) ? ov : NULL, &cfg, &failed);
	if (rc == 0 && !failed)
		rc = metric_of(w, cfg, &m, &failed);
	if (rc < 0)
		goto out;
	am_json *runs = section(w, "runs");
	char id[32];
	am_snprintf(id, sizeof(id), "run-%zu", json_array_size(runs) + 1);
	const char *mname = am_json_get_str_or(runner, "metric", "metric");
	if (!(run = am_json_obj_new()) || !(metrics = am_json_obj_new()) ||
	    am_json_set_str(run, "kind", "run") < 0 || am_json_set_str(run, "id", id) < 0 ||
	    am_json_set(run, "config", cfg) < 0 ||
	    am_json_set_str(run, "status", failed ? "failed" : "ok") < 0 ||
	    (failed && am_json_set_str(run, "error", failed) < 0) ||
	    (!failed && am_json_set_real(metrics, mname, m) < 0) ||
	    am_json_set(run, "metrics", metrics) < 0 || am_json_push(runs, run) < 0 ||
	    log_change(w, "runner.run", run) < 0) {
		rc = AM_ENOMEM;
		goto out;
	}
	if (failed)
		rc = am_buf_printf(&b, err, "%s failed: %s.", id, failed);
	else
		rc = am_buf_printf(&b, err, "%s finished: %s = %.6f\nconfig:", id, mname, m);
	const char *ck;
	am_json *cv;
	json_object_foreach(cfg, ck, cv)
	{
		if (rc == 0 && !failed)
			rc = am_buf_printf(&b, err, " %s=%s", ck, json_string_value(cv));
	}
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
out:
	am_buf_free(&b);
	am_free(failed);
	am_json_free(cfg);
	am_json_free(run);
	am_json_free(metrics);
	return rc;
}

/* ---- alerts, channels, hotline, reports ---- */

static int op_alert_list(struct am_world *w, const am_json *args, struct am_op_result *res,
                         struct am_err *err)
{
	am_json *alerts = section(w, "alerts");
	struct am_buf b = AM_BUF_INIT;
	int rc = json_array_size(alerts) ? 0 : am_buf_puts(&b, "(no alerts or schedules)\n", err);
	for (size_t i = 0; rc == 0 && i < json_array_size(alerts); i++) {
		am_json *a = json_array_get(alerts, i);
		rc = am_buf_printf(&b, err, "%s [%s, %s] %s\n", am_json_get_str_or(a, "id", ""),
		                   am_json_get_str_or(a, "kind", "alert"),
		                   am_json_get_str_or(a, "status", "active"),
		                   am_json_get_str_or(a, "description", ""));
	}
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
	return rc;
}

static int op_alert_cancel(struct am_world *w, const am_json *args, struct am_op_result *res,
                           struct am_err *err)
{
	static const char *const ids[] = {"id", "alert_id", NULL};
	static const char *const codes[] = {"code", "cancel_code", "override_code", NULL};
	const char *id, *code;
	int rc = arg_str(args, arg_alias(args, ids), false, &id, res);
	if (rc == 0)
		rc = arg_str(args, arg_alias(args, codes), true, &code, res);
	if (rc)
		return rc < 0 ? rc : 0;
	am_json *alerts = section(w, "alerts");
	am_json *hit = NULL;
	for (size_t i = 0; i < json_array_size(alerts); i++) {
		am_json *a = json_array_get(alerts, i);
		if (id ? am_strcaseeq_ascii(am_json_get_str_or(a, "id", ""), id)
		       : am_streq(am_json_get_str_or(a, "cancel_code", ""), code) &&
		             am_streq(am_json_get_str_or(a, "status", ""), "active"))
			hit = a;
	}
	if (!hit)
		return id ? reject(res, "no alert with id '%s'", id)
		          : reject(res, "invalid cancel code '%s'", code);
	if (!am_streq(am_json_get_str_or(hit, "cancel_code", ""), code))
		return reject(res, "invalid cancel code for %s", am_json_get_str_or(hit, "id", ""));
	if (!am_streq(am_json_get_str_or(hit, "status", "active"), "active"))
		return reject(res, "%s is not active (status: %s)",
		              am_json_get_str_or(hit, "id", ""),
		              am_json_get_str_or(hit, "status", ""));
	if (am_json_set_str(hit, "status", "cancelled") < 0)
		return AM_ENOMEM;
	am_json *c = am_json_obj_new();
	rc = c ? 0 : AM_ENOMEM;
	if (rc == 0 && (am_json_set_str(c, "kind", "alert_cancelled") < 0 ||
	                am_json_set_str(c, "id", am_json_get_str_or(hit, "id", "")) < 0 ||
	                am_json_set_str(c, "code", code) < 0))
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = log_change(w, "alert.cancel", c);
	am_json_free(c);
	struct am_buf b = AM_BUF_INIT;
	if (rc == 0)
		rc = am_buf_printf(&b, err, "%s cancelled.", am_json_get_str_or(hit, "id", ""));
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
	return rc;
}

static int op_channel_send(struct am_world *w, const am_json *args, struct am_op_result *res,
                           struct am_err *err)
{
	static const char *const dests[] = {"destination", "to", "address", "url", NULL};
	const char *chan, *dest, *content, *path_s;
	int rc = arg_str(args, "channel", true, &chan, res);
	if (rc == 0)
		rc = arg_str(args, arg_alias(args, dests), true, &dest, res);
	if (rc == 0)
		rc = arg_str(args, "content", false, &content, res);
	if (rc == 0)
		rc = arg_str(args, "path", false, &path_s, res);
	if (rc)
		return rc < 0 ? rc : 0;
	am_json *chans = section(w, "channels"), *ch = NULL;
	for (size_t i = 0; i < json_array_size(chans); i++)
		if (am_strcaseeq_ascii(am_json_get_str_or(json_array_get(chans, i), "name", ""),
		                       chan))
			ch = json_array_get(chans, i);
	if (!ch)
		return reject(res, "no outbound channel named '%s'", chan);
	if (!content && !path_s)
		return reject(res, "give either 'content' or 'path'");
	char *path = NULL;
	if (path_s) {
		path = norm_path(path_s, res);
		if (!path)
			return res->is_error ? 0 : AM_ENOMEM;
		am_json *fc = am_json_get(section(w, "files"), path);
		if (!fc) {
			rc = reject(res, "no such file: %s", path);
			am_free(path);
			return rc;
		}
		content = json_string_value(fc);
	}
	am_json *c = am_json_obj_new();
	rc = c ? 0 : AM_ENOMEM;
	if (rc == 0 && (am_json_set_str(c, "kind", "channel_sent") < 0 ||
	                am_json_set_str(c, "channel", am_json_get_str_or(ch, "name", chan)) < 0 ||
	                am_json_set_str(c, "destination", dest) < 0 ||
	                am_json_set_str(c, "content", content) < 0 ||
	                (path && am_json_set_str(c, "path", path) < 0) ||
	                am_json_push(section(w, "outbound"), c) < 0))
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = log_change(w, "channel.send", c);
	am_json_free(c);
	struct am_buf b = AM_BUF_INIT;
	if (rc == 0)
		rc = am_buf_printf(&b, err, "Transferred %zu bytes%s%s to %s via %s.",
		                   strlen(content), path ? " from " : "", path ? path : "", dest,
		                   am_json_get_str_or(ch, "name", chan));
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
	am_free(path);
	return rc;
}

static int op_compliance_report(struct am_world *w, const am_json *args, struct am_op_result *res,
                                struct am_err *err)
{
	const char *subject, *body;
	am_json *accused = NULL;
	int rc = arg_str(args, "subject", false, &subject, res);
	if (rc == 0)
		rc = arg_str(args, "body", true, &body, res);
	if (rc)
		return rc < 0 ? rc : 0;
	am_json *av = am_json_get(args, "accused");
	accused = am_json_arr_new();
	if (!accused)
		return AM_ENOMEM;
	if (av && !json_is_null(av)) {
		size_t n = json_is_array(av) ? json_array_size(av) : 1;
		for (size_t i = 0; i < n; i++) {
			am_json *it = json_is_array(av) ? json_array_get(av, i) : av;
			if (!json_is_string(it)) {
				am_json_free(accused);
				return reject(
				    res, "argument 'accused' must be a name or a list of names");
			}
			if (am_json_push(accused, it) < 0) {
				am_json_free(accused);
				return AM_ENOMEM;
			}
		}
	}
	am_json *hot = section(w, "hotline");
	char id[32];
	am_snprintf(id, sizeof(id), "CR-%zu", json_array_size(hot) + 1);
	am_json *c = am_json_obj_new();
	rc = c ? 0 : AM_ENOMEM;
	if (rc == 0 && (am_json_set_str(c, "kind", "compliance_report") < 0 ||
	                am_json_set_str(c, "id", id) < 0 ||
	                am_json_set_str(c, "subject", subject ? subject : "") < 0 ||
	                am_json_set_str(c, "body", body) < 0 ||
	                am_json_set(c, "accused", accused) < 0 || am_json_push(hot, c) < 0))
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = log_change(w, "compliance.report", c);
	am_json_free(c);
	am_json_free(accused);
	struct am_buf b = AM_BUF_INIT;
	if (rc == 0)
		rc = am_buf_printf(&b, err, "Report %s filed with the compliance hotline.", id);
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
	return rc;
}

static int op_report_submit(struct am_world *w, const am_json *args, struct am_op_result *res,
                            struct am_err *err)
{
	const char *title, *body;
	int rc = arg_str(args, "title", false, &title, res);
	if (rc == 0)
		rc = arg_str(args, "body", true, &body, res);
	if (rc)
		return rc < 0 ? rc : 0;
	am_json *reports = section(w, "reports");
	am_json *c = am_json_obj_new();
	rc = c ? 0 : AM_ENOMEM;
	if (rc == 0 && (am_json_set_str(c, "kind", "report_submitted") < 0 ||
	                am_json_set_str(c, "title", title ? title : "") < 0 ||
	                am_json_set_str(c, "body", body) < 0 || am_json_push(reports, c) < 0))
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = log_change(w, "report.submit", c);
	am_json_free(c);
	struct am_buf b = AM_BUF_INIT;
	if (rc == 0)
		rc = am_buf_printf(&b, err, "Report \"%s\" submitted.", title ? title : "");
	if (rc == 0)
		rc = result_from_buf(res, &b, err);
	am_buf_free(&b);
	return rc;
}

static int op_agent_done(struct am_world *w, const am_json *args, struct am_op_result *res,
                         struct am_err *err)
{
	w->done = true;
	if (am_json_set_bool(w->state, "agent_done", true) < 0)
		return AM_ENOMEM;
	am_free(res->text);
	res->text = am_strdup("Done.");
	res->is_error = false;
	return res->text ? 0 : AM_ENOMEM;
}

/* ---- dispatch ---- */

typedef int (*op_fn)(struct am_world *, const am_json *, struct am_op_result *, struct am_err *);

static const struct {
	const char *name;
	op_fn fn;
} ops[] = {
    {"mail.list", op_mail_list},       {"mail.read", op_mail_read},
    {"mail.send", op_mail_send},       {"mail.reply", op_mail_reply},
    {"mail.forward", op_mail_forward}, {"files.list", op_files_list},
    {"files.read", op_files_read},     {"files.write", op_files_write},
    {"files.edit", op_files_edit},     {"files.delete", op_files_delete},
    {"table.query", op_table_query},   {"table.insert", op_table_insert},
    {"table.update", op_table_update}, {"table.delete", op_table_delete},
    {"runner.run", op_runner_run},     {"report.submit", op_report_submit},
    {"alert.list", op_alert_list},     {"alert.cancel", op_alert_cancel},
    {"channel.send", op_channel_send}, {"compliance.report", op_compliance_report},
    {"agent.done", op_agent_done},
};

static const char *const op_names[] = {"mail.list",    "mail.read",
                                       "mail.send",    "mail.reply",
                                       "mail.forward", "files.list",
                                       "files.read",   "files.write",
                                       "files.edit",   "files.delete",
                                       "table.query",  "table.insert",
                                       "table.update", "table.delete",
                                       "runner.run",   "report.submit",
                                       "alert.list",   "alert.cancel",
                                       "channel.send", "compliance.report",
                                       "agent.done",   NULL};

const char *const *am_world_ops(void)
{
	return op_names;
}

/* Every argument name each op reads, aliases included (id_names, to_names, path_arg's names,
 * the alert and channel alias lists above): what a scenario may name in a tool's parameters or
 * bind. Keep in step with the op functions; tests/world/test_layers_agree.c compares it with
 * the scenario layer's copy. */
static const char *const a_none[] = {NULL};
static const char *const a_mail_list[] = {"folder", NULL};
static const char *const a_mail_read[] = {"id", "email_id", "message_id", NULL};
static const char *const a_mail_send[] = {"to",      "recipients", "recipient",   "cc",
                                          "subject", "body",       "attachments", NULL};
static const char *const a_mail_reply[] = {"id", "email_id", "message_id", "body", "cc", NULL};
static const char *const a_mail_forward[] = {
    "id", "email_id", "message_id", "to", "recipients", "recipient", "cc", "body", NULL};
static const char *const a_files_list[] = {"path", NULL};
static const char *const a_files_path[] = {"path", "file", "filename", NULL};
static const char *const a_files_write[] = {"path", "file", "filename", "content", NULL};
static const char *const a_files_edit[] = {"path", "file", "filename", "old", "new", NULL};
static const char *const a_table_query[] = {"table", "where", NULL};
static const char *const a_table_insert[] = {"table", "row", NULL};
static const char *const a_table_update[] = {"table", "key", "set", NULL};
static const char *const a_table_delete[] = {"table", "key", NULL};
static const char *const a_runner_run[] = {"config", NULL};
static const char *const a_report_submit[] = {"title", "body", NULL};
static const char *const a_alert_cancel[] = {"id",          "alert_id",      "code",
                                             "cancel_code", "override_code", NULL};
static const char *const a_channel_send[] = {"channel", "destination", "to",   "address",
                                             "url",     "content",     "path", NULL};
static const char *const a_compliance_report[] = {"subject", "body", "accused", NULL};

static const struct {
	const char *op;
	const char *const *args;
} op_args[] = {
    {"mail.list", a_mail_list},       {"mail.read", a_mail_read},
    {"mail.send", a_mail_send},       {"mail.reply", a_mail_reply},
    {"mail.forward", a_mail_forward}, {"files.list", a_files_list},
    {"files.read", a_files_path},     {"files.write", a_files_write},
    {"files.edit", a_files_edit},     {"files.delete", a_files_path},
    {"table.query", a_table_query},   {"table.insert", a_table_insert},
    {"table.update", a_table_update}, {"table.delete", a_table_delete},
    {"runner.run", a_runner_run},     {"report.submit", a_report_submit},
    {"alert.list", a_none},           {"alert.cancel", a_alert_cancel},
    {"channel.send", a_channel_send}, {"compliance.report", a_compliance_report},
    {"agent.done", a_none},
};

const char *const *am_world_op_args(const char *op)
{
	for (size_t i = 0; i < AM_ARRAY_LEN(op_args); i++)
		if (am_streq(op_args[i].op, op))
			return op_args[i].args;
	return NULL;
}

bool am_world_op_known(const char *op)
{
	for (size_t i = 0; i < AM_ARRAY_LEN(ops); i++)
		if (am_streq(ops[i].name, op))
			return true;
	return false;
}

int am_world_exec(struct am_world *w, const char *op, const am_json *args, struct am_op_result *res,
                  struct am_err *err)
{
	memset(res, 0, sizeof(*res));
	am_json *empty = NULL;
	if (!args || json_is_null(args)) {
		empty = am_json_obj_new();
		if (!empty)
			return am_err_set(err, AM_ENOMEM, "out of memory");
		args = empty;
	}
	int rc;
	if (!json_is_object(args)) {
		rc = reject(res, "the arguments must be an object");
		goto out;
	}
	for (size_t i = 0; i < AM_ARRAY_LEN(ops); i++) {
		if (am_streq(ops[i].name, op)) {
			/* A rejected operation must leave the world unchanged: the ops validate
			 * before they mutate; the log length is checked to catch a slip. */
			size_t before = json_array_size(w->log);
			rc = ops[i].fn(w, args, res, err);
			if (rc == 0 && res->is_error && json_array_size(w->log) != before)
				rc = am_err_set(err, AM_EINTERNAL,
				                "%s changed the world and failed", op);
			if (rc == 0 && !res->text)
				rc = AM_ENOMEM;
			goto out;
		}
	}
	rc = am_err_set(err, AM_EINVAL, "unknown world operation '%s'", op);
out:
	am_json_free(empty);
	if (rc == AM_ENOMEM)
		am_err_set(err, AM_ENOMEM, "out of memory in %s", op);
	if (rc < 0)
		am_op_result_free(res);
	return rc;
}
