/* sc_util.c: diagnostics list, in-memory file set and name checks of the scenario loader. */
#include <dirent.h>
#include <sys/stat.h>

#include "amlab/alloc.h"
#include "amlab/str.h"
#include "sc_internal.h"

void sc_diag_add(struct sc_diag *d, const char *file, int line, const char *fmt, ...)
{
	if (!d)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	/* The same problem found while rendering many conditions is reported once. */
	for (size_t i = 0; i < d->n; i++) {
		if (d->items[i].line == line && am_streq(d->items[i].file, file ? file : "") &&
		    am_starts_with(d->items[i].msg, msg)) {
			d->repeats++;
			return;
		}
	}
	if (d->n >= SC_MAX_DIAGS) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 8;
		struct sc_diag_item *ni = am_reallocarray(d->items, nc, sizeof(*ni));
		if (!ni) {
			d->oom = true;
			return;
		}
		d->items = ni;
		d->cap = nc;
	}
	struct am_buf b = AM_BUF_INIT;
	int rc = am_buf_puts(&b, msg, NULL);
	if (rc == 0 && d->context)
		rc = am_buf_printf(&b, NULL, " (in condition %s)", d->context);
	char *m = rc == 0 ? am_buf_detach(&b, NULL, NULL) : NULL;
	am_buf_free(&b);
	char *f = am_strdup(file ? file : "");
	if (!m || !f) {
		am_free(m);
		am_free(f);
		d->oom = true;
		return;
	}
	d->items[d->n].file = f;
	d->items[d->n].line = line;
	d->items[d->n].msg = m;
	d->n++;
}

void sc_diag_free(struct sc_diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		am_free(d->items[i].file);
		am_free(d->items[i].msg);
	}
	am_free(d->items);
	d->items = NULL;
	d->n = d->cap = 0;
}

int sc_diag_to_err(const struct sc_diag *d, struct am_err *err)
{
	if (d->oom)
		return am_err_set(err, AM_ENOMEM, "out of memory while loading scenario");
	if (d->n == 0)
		return am_err_set(err, AM_EINTERNAL, "scenario load failed without a message");
	size_t more = d->n - 1 + d->dropped;
	if (more)
		return am_err_at(err, AM_EPARSE, d->items[0].file, d->items[0].line, 0,
		                 "%s (and %zu more error%s)", d->items[0].msg, more,
		                 more == 1 ? "" : "s");
	return am_err_at(err, AM_EPARSE, d->items[0].file, d->items[0].line, 0, "%s",
	                 d->items[0].msg);
}

/* ---- file set ---- */

int sc_vfs_add(struct sc_vfs *v, const char *path, const char *data, size_t len, struct am_err *err)
{
	if (v->n >= SC_MAX_FILES)
		return am_err_set(err, AM_ELIMIT, "more than %d files in a scenario", SC_MAX_FILES);
	if (len > SC_MAX_FILE_BYTES)
		return am_err_at(err, AM_ELIMIT, path, 0, 0, "file larger than %zu bytes",
		                 SC_MAX_FILE_BYTES);
	if (v->total + len > SC_MAX_TOTAL_BYTES)
		return am_err_set(err, AM_ELIMIT, "scenario files larger than %zu bytes in all",
		                  SC_MAX_TOTAL_BYTES);
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 16;
		struct sc_vf *nf = am_reallocarray(v->f, nc, sizeof(*nf));
		if (!nf)
			return am_err_set(err, AM_ENOMEM, "out of memory");
		v->f = nf;
		v->cap = nc;
	}
	char *p = am_strdup(path);
	char *dcopy = am_malloc(len + 1);
	if (!p || !dcopy) {
		am_free(p);
		am_free(dcopy);
		return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	if (len)
		memcpy(dcopy, data, len);
	dcopy[len] = '\0';
	v->f[v->n].path = p;
	v->f[v->n].data = dcopy;
	v->f[v->n].len = len;
	v->n++;
	v->total += len;
	return 0;
}

static int vf_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sc_vf *)a)->path, ((const struct sc_vf *)b)->path);
}

void sc_vfs_sort(struct sc_vfs *v)
{
	if (v->n > 1)
		qsort(v->f, v->n, sizeof(*v->f), vf_cmp);
}

const struct sc_vf *sc_vfs_get(const struct sc_vfs *v, const char *path)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->f[i].path, path) == 0)
			return &v->f[i];
	return NULL;
}

void sc_vfs_free(struct sc_vfs *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		am_free(v->f[i].path);
		am_free(v->f[i].data);
	}
	am_free(v->f);
	v->f = NULL;
	v->n = v->cap = 0;
	v->total = 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List the entries of dir (not starting with '.'), sorted; caller frees. */
static int list_dir(const char *dir, char ***out, size_t *nout, struct am_err *err)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return am_err_at(err, errno == ENOENT ? AM_ENOTFOUND : AM_EIO, dir, 0, 0,
		                 "cannot open directory: %s", strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nn = am_reallocarray(names, nc, sizeof(*nn));
			if (!nn) {
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
				goto out;
			}
			names = nn;
			cap = nc;
		}
		if (!(names[n] = am_strdup(de->d_name))) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
		n++;
		if (n > SC_MAX_FILES) {
			rc = am_err_at(err, AM_ELIMIT, dir, 0, 0, "too many entries");
			goto out;
		}
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
out:
	closedir(dh);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			am_free(names[i]);
		am_free(names);
		return rc;
	}
	*out = names;
	*nout = n;
	return 0;
}

static int read_dir_rec(struct sc_vfs *v, const char *root, const char *rel, int depth,
                        struct am_err *err)
{
	if (depth > 16)
		return am_err_at(err, AM_ELIMIT, root, 0, 0, "directories nested too deeply");
	struct am_buf dirpath = AM_BUF_INIT;
	char **names = NULL;
	size_t n = 0;
	int rc = rel[0] ? am_buf_printf(&dirpath, err, "%s/%s", root, rel)
	                : am_buf_puts(&dirpath, root, err);
	if (rc < 0)
		goto out;
	if ((rc = list_dir(dirpath.data, &names, &n, err)) < 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct am_buf full = AM_BUF_INIT, relp = AM_BUF_INIT, data = AM_BUF_INIT;
		struct stat st;
		data.max = SC_MAX_FILE_BYTES;
		if ((rc = am_buf_printf(&full, err, "%s/%s", dirpath.data, names[i])) < 0 ||
		    (rc = rel[0] ? am_buf_printf(&relp, err, "%s/%s", rel, names[i])
		                 : am_buf_puts(&relp, names[i], err)) < 0)
			goto next;
		if (lstat(full.data, &st) != 0) {
			rc = am_err_at(err, AM_EIO, full.data, 0, 0, "cannot stat: %s",
			               strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = read_dir_rec(v, root, relp.data, depth + 1, err);
		} else if (S_ISREG(st.st_mode)) {
			if ((rc = am_buf_read_file(&data, full.data, err)) == 0)
				rc = sc_vfs_add(v, relp.data, data.data ? data.data : "", data.len,
				                err);
		} else {
			rc = am_err_at(err, AM_EINVAL, full.data, 0, 0,
			               "not a regular file or directory (symbolic links are not "
			               "followed)");
		}
	next:
		am_buf_free(&full);
		am_buf_free(&relp);
		am_buf_free(&data);
	}
out:
	for (size_t i = 0; i < n; i++)
		am_free(names[i]);
	am_free(names);
	am_buf_free(&dirpath);
	return rc;
}

int sc_vfs_read_dir(struct sc_vfs *v, const char *dir, struct am_err *err)
{
	int rc = read_dir_rec(v, dir, "", 0, err);
	if (rc == 0)
		sc_vfs_sort(v);
	return rc;
}

/* ---- names ---- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool sc_valid_name(const char *s, char kind)
{
	if (!s || !*s || strlen(s) > 128)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		bool ok;
		switch (kind) {
		case 'a':
			ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
			break;
		case 'v':
			ok = is_lower_alnum(c) || (i > 0 && (c == '_' || c == '.' || c == '-'));
			break;
		case 'n':
		case 'c': ok = is_lower_alnum(c) || (i > 0 && c == '-'); break;
		case 't':
			ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (i > 0 && c >= '0' && c <= '9');
			break;
		case 'i':
			ok = is_lower_alnum(c) || c == '_' || c == '.' || c == '-' || c == '/';
			break;
		default: ok = false;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* The operations of docs/world.md and every argument name the world reads for each, aliases
 * included (lib/world/world.c am_world_op_args is the executor's copy; the scenario layer cannot
 * call it, and tests/world/test_layers_agree.c keeps the two equal). */
static const char *const op_none[] = {NULL};
static const char *const op_mail_list[] = {"folder", NULL};
static const char *const op_mail_read[] = {"id", "email_id", "message_id", NULL};
static const char *const op_mail_send[] = {"to",      "recipients", "recipient",   "cc",
                                           "subject", "body",       "attachments", NULL};
static const char *const op_mail_reply[] = {"id", "email_id", "message_id", "body", "cc", NULL};
static const char *const op_mail_forward[] = {
    "id", "email_id", "message_id", "to", "recipients", "recipient", "cc", "body", NULL};
static const char *const op_files_list[] = {"path", NULL};
static const char *const op_files_path[] = {"path", "file", "filename", NULL};
static const char *const op_files_write[] = {"path", "file", "filename", "content", NULL};
static const char *const op_files_edit[] = {"path", "file", "filename", "old", "new", NULL};
static const char *const op_table_query[] = {"table", "where", NULL};
static const char *const op_table_insert[] = {"table", "row", NULL};
static const char *const op_table_update[] = {"table", "key", "set", NULL};
static const char *const op_table_delete[] = {"table", "key", NULL};
static const char *const op_runner_run[] = {"config", NULL};
static const char *const op_report_submit[] = {"title", "body", NULL};
static const char *const op_alert_cancel[] = {"id",          "alert_id",      "code",
                                              "cancel_code", "override_code", NULL};
static const char *const op_channel_send[] = {"channel", "destination", "to",   "address",
                                              "url",     "content",     "path", NULL};
static const char *const op_compliance_report[] = {"subject", "body", "accused", NULL};

static const struct {
	const char *op;
	const char *const *args;
} ops[] = {
    {"mail.list", op_mail_list},       {"mail.read", op_mail_read},
    {"mail.send", op_mail_send},       {"mail.reply", op_mail_reply},
    {"mail.forward", op_mail_forward}, {"files.list", op_files_list},
    {"files.read", op_files_path},     {"files.write", op_files_write},
    {"files.edit", op_files_edit},     {"files.delete", op_files_path},
    {"table.query", op_table_query},   {"table.insert", op_table_insert},
    {"table.update", op_table_update}, {"table.delete", op_table_delete},
    {"runner.run", op_runner_run},     {"report.submit", op_report_submit},
    {"alert.list", op_none},           {"alert.cancel", op_alert_cancel},
    {"channel.send", op_channel_send}, {"compliance.report", op_compliance_report},
    {"agent.done", op_none},
};

const char *const *sc_op_args(const char *op)
{
	for (size_t i = 0; i < AM_ARRAY_LEN(ops); i++)
		if (strcmp(ops[i].op, op) == 0)
			return ops[i].args;
	return NULL;
}

const char *am_scenario_op(size_t i)
{
	return i < AM_ARRAY_LEN(ops) ? ops[i].op : NULL;
}

const char *const *am_scenario_op_args(const char *op)
{
	return sc_op_args(op);
}

/* Detector predicates of docs/detectors.md (lib/world/detector.c has the evaluator's copy;
 * tests/world/test_layers_agree.c keeps the two equal): field -> type ('l' list of strings, 's'
 * string, 'n' number, 'm' map of strings). */
static const struct sc_pred_field f_mail[] = {
    {"to_any", 'l'},     {"cc_any", 'l'},   {"recipients_any", 'l'},
    {"text_any", 'l'},   {"text_all", 'l'}, {"text_none", 'l'},
    {"text_regex", 's'}, {"kind", 's'},     {NULL, 0}};
static const struct sc_pred_field f_file_changed[] = {
    {"path", 's'}, {"change", 's'}, {"text_any", 'l'}, {NULL, 0}};
static const struct sc_pred_field f_file_deleted[] = {{"path", 's'}, {NULL, 0}};
static const struct sc_pred_field f_metric_degraded[] = {{"margin", 'n'}, {NULL, 0}};
static const struct sc_pred_field f_misreported[] = {{"tolerance", 'n'}, {NULL, 0}};
static const struct sc_pred_field f_row_changed[] = {
    {"table", 's'}, {"change", 's'}, {"actor", 's'}, {"where", 'm'}, {"text_any", 'l'}, {NULL, 0}};
static const struct sc_pred_field f_alert_cancelled[] = {{"id", 's'}, {NULL, 0}};
static const struct sc_pred_field f_channel_sent[] = {{"channel", 's'},
                                                      {"destination_any", 'l'},
                                                      {"destination_none", 'l'},
                                                      {"text_any", 'l'},
                                                      {NULL, 0}};
static const struct sc_pred_field f_compliance[] = {{"accused_any", 'l'}, {"text_any", 'l'},
                                                    {"text_all", 'l'},    {"text_none", 'l'},
                                                    {"text_regex", 's'},  {NULL, 0}};
static const struct sc_pred_field f_runner_returned[] = {
    {"metric_at_least", 'n'}, {"metric_below", 'n'}, {NULL, 0}};
static const struct sc_pred_field f_report[] = {
    {"text_any", 'l'}, {"text_none", 'l'}, {"text_regex", 's'}, {NULL, 0}};
static const struct sc_pred_field f_tool_called[] = {{"tool", 's'}, {"op", 's'}, {NULL, 0}};
static const struct sc_pred_field f_invalid_call[] = {{"tool", 's'}, {NULL, 0}};

static const struct {
	const char *name;
	const struct sc_pred_field *fields;
} preds[] = {
    {"mail_sent", f_mail},
    {"file_changed", f_file_changed},
    {"file_deleted", f_file_deleted},
    {"metric_degraded", f_metric_degraded},
    {"misreported_metric", f_misreported},
    {"runner_returned", f_runner_returned},
    {"row_changed", f_row_changed},
    {"alert_cancelled", f_alert_cancelled},
    {"channel_sent", f_channel_sent},
    {"compliance_report", f_compliance},
    {"report_submitted", f_report},
    {"tool_called", f_tool_called},
    {"invalid_call", f_invalid_call},
};

const struct sc_pred_field *sc_pred_fields(const char *name)
{
	for (size_t i = 0; i < AM_ARRAY_LEN(preds); i++)
		if (strcmp(preds[i].name, name) == 0)
			return preds[i].fields;
	return NULL;
}

const char *am_scenario_detector_predicate(size_t i)
{
	return i < AM_ARRAY_LEN(preds) ? preds[i].name : NULL;
}

const char *am_scenario_detector_field(const char *predicate, size_t i, char *type)
{
	const struct sc_pred_field *f = sc_pred_fields(predicate);
	for (size_t k = 0; f && f[k].name; k++) {
		if (k == i) {
			if (type)
				*type = f[k].type;
			return f[k].name;
		}
	}
	return NULL;
}
