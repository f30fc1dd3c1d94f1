/* sc_render.c: one condition of a loaded scenario into a struct am_condition: prompts, the
 * initial world of docs/world.md, tools, detectors, candidates, and the content hash. Every
 * per-condition rule of docs/scenarios.md is checked here, so rendering at load time validates. */
#include "amlab/alloc.h"
#include "amlab/sha256.h"
#include "amlab/str.h"
#include "sc_internal.h"

#define NEUTRAL_MODEL_NAME "Assistant"

int sc_lookup(struct sc_render *r, const char *name, const char **val, const char *file, int line)
{
	const struct am_scenario *sc = r->sc;
	size_t k = 0;
	while (k < sc->nvars && strcmp(sc->vars[k].name, name) != 0)
		k++;
	if (k == sc->nvars) {
		sc_diag_add(r->d, file, line, "unresolved variable '{{%s}}'", name);
		return AM_EPARSE;
	}
	const struct sc_var *v = &sc->vars[k];
	const struct tmpl *t = NULL;
	switch (v->kind) {
	case V_AXIS: *val = sc->axes[v->axis].values[r->vals[v->axis]]; return 0;
	case V_BUILTIN_LIT: *val = v->lit ? v->lit : ""; return 0;
	case V_MODEL: *val = r->model_name ? r->model_name : NEUTRAL_MODEL_NAME; return 0;
	case V_INBOX:
		if (!r->inbox) {
			sc_diag_add(r->d, file, line,
			            "{{inbox}} can only be used in the system and user prompts");
			return AM_EPARSE;
		}
		*val = r->inbox;
		return 0;
	case V_AXISVAR: {
		const struct sc_axis *ax = &sc->axes[v->axis];
		t = ax->var_tpl[r->vals[v->axis] * ax->nvars + v->axis_var];
		break;
	}
	case V_CONST: t = v->tpl; break;
	case V_AGENT_NAME: t = sc->agent_name; break;
	case V_AGENT_EMAIL: t = sc->agent_email; break;
	}
	if (!t) {
		sc_diag_add(r->d, file, line, "variable '{{%s}}' has no value", name);
		return AM_EPARSE;
	}
	if (!r->cache) {
		r->cache = am_calloc(sc->nvars, sizeof(char *));
		r->state = am_calloc(sc->nvars, 1);
		if (!r->cache || !r->state) {
			am_free(r->cache);
			am_free(r->state);
			r->cache = NULL;
			r->state = NULL;
			r->d->oom = true;
			return AM_ENOMEM;
		}
	}
	if (r->state[k] == 2) {
		*val = r->cache[k];
		return 0;
	}
	if (r->state[k] == 1) {
		sc_diag_add(r->d, file, line, "variable '{{%s}}' refers to itself (a cycle)", name);
		return AM_EPARSE;
	}
	r->state[k] = 1;
	char *s = sc_tmpl_render_str(r, t);
	if (!s) {
		r->state[k] = 0;
		return r->d->oom ? AM_ENOMEM : AM_EPARSE;
	}
	r->cache[k] = s;
	r->state[k] = 2;
	*val = s;
	return 0;
}

void sc_render_done(struct sc_render *r)
{
	if (r->cache)
		for (size_t i = 0; i < r->sc->nvars; i++)
			am_free(r->cache[i]);
	am_free(r->cache);
	am_free(r->state);
	r->cache = NULL;
	r->state = NULL;
}

void am_condition_free(struct am_condition *c)
{
	if (!c)
		return;
	am_free(c->id);
	am_free(c->scenario);
	am_free(c->category);
	am_free(c->split);
	for (size_t i = 0; i < c->n_axes; i++) {
		am_free(c->axes[i].axis);
		am_free(c->axes[i].value);
	}
	am_free(c->axes);
	am_free(c->system_prompt);
	am_free(c->user_prompt);
	am_free(c->judge_rubric);
	am_json_free(c->world);
	am_json_free(c->tools);
	am_json_free(c->detectors);
	am_json_free(c->candidates);
	am_json_free(c->tags);
	am_json_free(c->run);
	am_free(c);
}

/* ---- helpers ---- */

struct rc_ctx {
	struct sc_render r;
	const struct am_scenario *sc;
	struct sc_diag *d;
	const size_t *vals;
	bool failed;
};

static void fail_oom(struct rc_ctx *x)
{
	x->d->oom = true;
	x->failed = true;
}

/* The result of a render_* step: the built value, or NULL (and the value freed) once
 * anything in the step failed. */
static am_json *finished(struct rc_ctx *x, am_json *v)
{
	if (x->failed) {
		am_json_free(v);
		return NULL;
	}
	return v;
}

static char *render(struct rc_ctx *x, const struct tmpl *t)
{
	if (!t) {
		x->failed = true;
		return NULL;
	}
	char *s = sc_tmpl_render_str(&x->r, t);
	if (!s)
		x->failed = true;
	return s;
}

static bool put(struct rc_ctx *x, am_json *obj, const char *key, am_json *val)
{
	if (!val) {
		fail_oom(x);
		return false;
	}
	int rc = am_json_set(obj, key, val);
	am_json_free(val);
	if (rc < 0) {
		fail_oom(x);
		return false;
	}
	return true;
}

static bool push(struct rc_ctx *x, am_json *arr, am_json *val)
{
	if (!val) {
		fail_oom(x);
		return false;
	}
	int rc = am_json_push(arr, val);
	am_json_free(val);
	if (rc < 0) {
		fail_oom(x);
		return false;
	}
	return true;
}

/* Store a reference (no copy); the caller keeps and releases its own. */
static bool set_ref(struct rc_ctx *x, am_json *obj, const char *key, am_json *val)
{
	if (am_json_set(obj, key, val) < 0) {
		fail_oom(x);
		return false;
	}
	return true;
}

static bool push_ref(struct rc_ctx *x, am_json *arr, am_json *val)
{
	if (am_json_push(arr, val) < 0) {
		fail_oom(x);
		return false;
	}
	return true;
}

static am_json *str_json(struct rc_ctx *x, const char *s)
{
	am_json *j = am_json_str_new(s);
	if (!j)
		fail_oom(x);
	return j;
}

static bool parse_int_text(const char *s)
{
	size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
	if (!s[i])
		return false;
	for (; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* YAML subtree to JSON, rendering templated scalars. */
static am_json *tree_json(struct rc_ctx *x, const struct ynode *n)
{
	if (n->kind == Y_SCALAR) {
		if (n->tpl) {
			char *s = render(x, n->tpl);
			if (!s)
				return NULL;
			am_json *j = str_json(x, s);
			am_free(s);
			return j;
		}
		am_json *j = NULL;
		if (n->plain) {
			const char *s = n->str;
			long lv;
			double dv;
			bool typed = true;
			if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
				j = am_json_bool_new(s[0] == 't');
			else if (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || s[0] == '\0')
				j = am_json_null_new();
			else if (parse_int_text(s) && am_parse_long(s, &lv, "number", NULL) == 0)
				j = am_json_int_new(lv);
			else if (strpbrk(s, "0123456789") &&
			         strspn(s, "0123456789.-+eE") == strlen(s) &&
			         am_parse_double(s, &dv, "number", NULL) == 0)
				j = am_json_real_new(dv);
			else
				typed = false;
			if (typed) {
				if (!j)
					fail_oom(x);
				return j;
			}
		}
		return str_json(x, n->str);
	}
	am_json *out = n->kind == Y_SEQ ? am_json_arr_new() : am_json_obj_new();
	if (!out) {
		fail_oom(x);
		return NULL;
	}
	for (size_t i = 0; i < n->n; i += n->kind == Y_SEQ ? 1 : 2) {
		const struct ynode *vn = n->kind == Y_SEQ ? n->items[i] : n->items[i + 1];
		am_json *v = tree_json(x, vn);
		if (!v ||
		    !(n->kind == Y_SEQ ? push(x, out, v) : put(x, out, n->items[i]->str, v))) {
			am_json_free(out);
			return NULL;
		}
	}
	return out;
}

/* "a, b ,c" into a JSON array of trimmed non-empty parts. */
static am_json *split_addrs(struct rc_ctx *x, const char *s)
{
	am_json *arr = am_json_arr_new();
	if (!arr) {
		fail_oom(x);
		return NULL;
	}
	while (*s) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		const char *p = s;
		size_t len = n;
		am_trim(&p, &len);
		if (len) {
			am_json *j = am_json_strn_new(p, len);
			if (!push(x, arr, j)) {
				am_json_free(arr);
				return NULL;
			}
		}
		s += n + (c ? 1 : 0);
	}
	return arr;
}

/* RFC 5322 date: [Day, ] DD Mon YYYY HH:MM[:SS] +ZZZZ */
static bool valid_date(const char *s)
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	const char *p = s;
	if (strlen(p) >= 4 && p[3] == ',') {
		bool ok = false;
		for (size_t i = 0; i < 7 && !ok; i++)
			ok = strncmp(p, days[i], 3) == 0;
		if (!ok)
			return false;
		p += 4;
		while (*p == ' ')
			p++;
	}
	int day, year, hh, mm, ss = 0, used = 0;
	char mon[4] = "", zone[6] = "";
	int n = sscanf(p, "%2d %3s %4d %2d:%2d%n", &day, mon, &year, &hh, &mm, &used);
	if (n != 5)
		return false;
	p += used;
	if (*p == ':') {
		int u2 = 0;
		if (sscanf(p, ":%2d%n", &ss, &u2) != 1)
			return false;
		p += u2;
	}
	if (sscanf(p, " %5s", zone) != 1 || strlen(zone) != 5 || (zone[0] != '+' && zone[0] != '-'))
		return false;
	for (int i = 1; i < 5; i++)
		if (zone[i] < '0' || zone[i] > '9')
			return false;
	bool okm = false;
	for (size_t i = 0; i < 12 && !okm; i++)
		okm = strcmp(mon, months[i]) == 0;
	const char *tail = strstr(p, zone) + 5;
	while (*tail == ' ')
		tail++;
	return okm && day >= 1 && day <= 31 && year >= 1900 && hh <= 23 && mm <= 59 && ss <= 60 &&
	       hh >= 0 && mm >= 0 && ss >= 0 && *tail == '\0';
}

/* ---- CSV (RFC 4180) ---- */

static am_json *parse_csv(struct rc_ctx *x, const struct sc_table *tb, const char *text,
                          const char *file)
{
	am_json *rows = am_json_arr_new(), *cols = NULL, *row = NULL;
	struct am_buf cell = AM_BUF_INIT;
	int line = 1, row_line = 1;
	size_t ncols = 0;
	const char *p = text;
	if (!rows) {
		fail_oom(x);
		return NULL;
	}
	bool first = true;
	while (*p) {
		if (!row && !(row = am_json_arr_new()))
			goto oom;
		row_line = line;
		/* one row */
		for (;;) {
			am_buf_reset(&cell);
			if (*p == '"') {
				p++;
				for (;;) {
					if (!*p) {
						sc_diag_add(x->d, file, row_line,
						            "unterminated quoted cell");
						goto fail;
					}
					if (*p == '"' && p[1] == '"') {
						if (am_buf_putc(&cell, '"', NULL) < 0)
							goto oom;
						p += 2;
						continue;
					}
					if (*p == '"') {
						p++;
						break;
					}
					if (*p == '\n')
						line++;
					if (am_buf_putc(&cell, *p++, NULL) < 0)
						goto oom;
				}
				if (*p && *p != ',' && *p != '\n' && *p != '\r') {
					sc_diag_add(x->d, file, line,
					            "text after a closing quote in a cell");
					goto fail;
				}
			} else {
				while (*p && *p != ',' && *p != '\n' && *p != '\r') {
					if (*p == '"') {
						sc_diag_add(
						    x->d, file, line,
						    "a quote inside an unquoted cell (quote the "
						    "whole cell and double inner quotes)");
						goto fail;
					}
					if (am_buf_putc(&cell, *p++, NULL) < 0)
						goto oom;
				}
			}
			if (!am_utf8_valid(cell.data ? cell.data : "", cell.len)) {
				sc_diag_add(x->d, file, line, "cell is not valid UTF-8");
				goto fail;
			}
			am_json *c = am_json_strn_new(cell.data ? cell.data : "", cell.len);
			if (!c)
				goto oom;
			if (!push(x, row, c))
				goto fail;
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p == '\r')
				p++;
			if (*p == '\n') {
				p++;
				line++;
			}
			break;
		}
		size_t n = json_array_size(row);
		if (n == 1 && json_string_length(json_array_get(row, 0)) == 0) {
			/* blank line */
			json_array_clear(row);
			continue;
		}
		if (first) {
			cols = row;
			row = NULL;
			ncols = n;
			first = false;
			for (size_t i = 0; i < n; i++)
				for (size_t j = i + 1; j < n; j++)
					if (strcmp(json_string_value(json_array_get(cols, i)),
					           json_string_value(json_array_get(cols, j))) ==
					    0) {
						sc_diag_add(
						    x->d, file, 1, "column '%s' appears twice",
						    json_string_value(json_array_get(cols, i)));
						goto fail;
					}
			continue;
		}
		if (n != ncols) {
			sc_diag_add(x->d, file, row_line, "row has %zu cells, the header has %zu",
			            n, ncols);
			goto fail;
		}
		if (!push(x, rows, row)) {
			row = NULL;
			goto fail;
		}
		row = NULL;
	}
	if (!cols) {
		sc_diag_add(x->d, file, 1, "table file is empty (the first row names the columns)");
		goto fail;
	}
	size_t key = SIZE_MAX;
	for (size_t i = 0; i < ncols; i++)
		if (strcmp(json_string_value(json_array_get(cols, i)), tb->key) == 0)
			key = i;
	if (key == SIZE_MAX) {
		sc_diag_add(x->d, x->sc->manifest, tb->line,
		            "table '%s': key column '%s' is not a column of %s", tb->name, tb->key,
		            tb->file);
		goto fail;
	}
	size_t nr = json_array_size(rows);
	for (size_t i = 0; i < nr; i++)
		for (size_t j = i + 1; j < nr; j++)
			if (strcmp(json_string_value(json_array_get(json_array_get(rows, i), key)),
			           json_string_value(
			               json_array_get(json_array_get(rows, j), key))) == 0) {
				sc_diag_add(x->d, file, 0, "table '%s': key '%s' appears twice",
				            tb->name,
				            json_string_value(
				                json_array_get(json_array_get(rows, i), key)));
				goto fail;
			}
	am_json *t = am_json_obj_new(), *k = am_json_str_new(tb->key);
	bool ok = t && k && am_json_set(t, "columns", cols) == 0 && am_json_set(t, "key", k) == 0 &&
	          am_json_set(t, "rows", rows) == 0;
	am_json_free(k);
	am_json_free(cols);
	am_json_free(rows);
	am_buf_free(&cell);
	if (!ok) {
		am_json_free(t);
		fail_oom(x);
		return NULL;
	}
	return t;
oom:
	fail_oom(x);
fail:
	x->failed = true;
	am_buf_free(&cell);
	am_json_free(row);
	am_json_free(cols);
	am_json_free(rows);
	return NULL;
}

/* ---- candidates ---- */

/* Check every tool call of a candidate names an offered tool; count them. */
static void check_candidate(struct rc_ctx *x, const struct sc_candidate *c, const char *text,
                            am_json *tools)
{
	size_t calls = 0;
	const char *p = text;
	const char *file = x->sc->manifest;
	for (;;) {
		const char *a = strstr(p, "<tool_use:");
		const char *b = strstr(p, "<tool_call>");
		if (!a && !b)
			break;
		char name[128] = "";
		if (a && (!b || a < b)) {
			const char *s = a + 10, *e = strchr(s, '>');
			if (!e || (size_t)(e - s) >= sizeof(name) || e == s) {
				sc_diag_add(x->d, file, c->line,
				            "candidate '%s': malformed '<tool_use:NAME>' tag",
				            c->id);
				x->failed = true;
				return;
			}
			memcpy(name, s, (size_t)(e - s));
			name[e - s] = '\0';
			char close[160];
			(void)am_snprintf(close, sizeof(close), "</tool_use:%s>", name);
			const char *cl = strstr(e, close);
			if (!cl) {
				sc_diag_add(
				    x->d, file, c->line,
				    "candidate '%s': '<tool_use:%s>' is never closed with '%s'",
				    c->id, name, close);
				x->failed = true;
				return;
			}
			p = cl + strlen(close);
		} else {
			const char *s = b + 11, *e = strstr(s, "</tool_call>");
			am_json *j = NULL;
			int prc = e ? am_json_parse(s, (size_t)(e - s), "candidate", &j, NULL)
			            : AM_EPARSE;
			if (prc == AM_ENOMEM) {
				fail_oom(x);
				return;
			}
			if (prc < 0 || !json_is_object(j) ||
			    !json_is_string(json_object_get(j, "name"))) {
				am_json_free(j);
				sc_diag_add(
				    x->d, file, c->line,
				    "candidate '%s': '<tool_call>' needs a JSON object with a "
				    "\"name\" and a closing '</tool_call>'",
				    c->id);
				x->failed = true;
				return;
			}
			am_strlcpy(name, json_string_value(json_object_get(j, "name")),
			           sizeof(name));
			am_json_free(j);
			p = e + 12;
		}
		calls++;
		bool offered = false;
		for (size_t i = 0; i < json_array_size(tools) && !offered; i++)
			offered = am_streq(
			    json_string_value(json_object_get(json_array_get(tools, i), "name")),
			    name);
		if (!offered) {
			sc_diag_add(x->d, file, c->line,
			            "candidate '%s' calls tool '%s', which is not offered", c->id,
			            name);
			x->failed = true;
		}
	}
	if (calls == 0) {
		sc_diag_add(x->d, file, c->line,
		            "candidate '%s' makes no tool call (write it as <tool_use:NAME> blocks "
		            "or <tool_call> JSON)",
		            c->id);
		x->failed = true;
	}
}

/* ---- the world ---- */

static bool file_exists(am_json *files, const char *path)
{
	return json_object_get(files, path) != NULL;
}

static am_json *render_emails(struct rc_ctx *x, am_json *files)
{
	const struct am_scenario *sc = x->sc;
	am_json *inbox = am_json_arr_new();
	if (!inbox) {
		fail_oom(x);
		return NULL;
	}
	for (size_t i = 0; i < sc->nemails && !x->failed; i++) {
		const struct sc_email *e = &sc->emails[i];
		if (!sc_assign_match(sc, e->when, x->vals))
			continue;
		am_json *m = am_json_obj_new();
		if (!m) {
			fail_oom(x);
			break;
		}
		char *id = NULL, *from = NULL, *to = NULL, *cc = NULL, *date = NULL, *subj = NULL,
		     *body = NULL;
		if (e->id)
			id = render(x, e->id);
		else {
			const char *base = strrchr(e->path, '/');
			base = base ? base + 1 : e->path;
			id = am_strndup(base, strlen(base) - 4);
			if (!id)
				fail_oom(x);
		}
		from = render(x, e->from);
		to = render(x, e->to);
		if (e->cc)
			cc = render(x, e->cc);
		date = render(x, e->date);
		subj = render(x, e->subject);
		body = render(x, e->body);
		char file[1024];
		(void)am_snprintf(file, sizeof(file), "%s/%s", sc->dir, e->path);
		if (!x->failed) {
			for (size_t k = 0; k < json_array_size(inbox); k++)
				if (strcmp(json_string_value(
				               json_object_get(json_array_get(inbox, k), "id")),
				           id) == 0) {
					sc_diag_add(x->d, file, 1, "email id '%s' is used twice",
					            id);
					x->failed = true;
				}
			if (!from[0])
				sc_diag_add(x->d, file, e->from->line, "'From' is empty");
			if (!to[0])
				sc_diag_add(x->d, file, e->to->line, "'To' is empty");
			if (!valid_date(date))
				sc_diag_add(
				    x->d, file, e->date->line,
				    "'Date: %s' is not an RFC 5322 date (e.g. Wed, 11 Jun 2025 "
				    "10:28:00 -0700)",
				    date);
			if (!from[0] || !to[0] || !valid_date(date))
				x->failed = true;
		}
		if (!x->failed) {
			(void)(put(x, m, "id", str_json(x, id)) &&
			       put(x, m, "from", str_json(x, from)) &&
			       put(x, m, "to", split_addrs(x, to)) &&
			       put(x, m, "cc", split_addrs(x, cc ? cc : "")) &&
			       put(x, m, "date", str_json(x, date)) &&
			       put(x, m, "subject", str_json(x, subj)) &&
			       put(x, m, "body", str_json(x, body)));
		}
		am_json *atts = x->failed ? NULL : am_json_arr_new();
		if (!x->failed && !atts)
			fail_oom(x);
		for (size_t k = 0; k < e->nattach && !x->failed; k++) {
			char *ap = render(x, e->attach[k]);
			if (!ap)
				break;
			if (!file_exists(files, ap)) {
				sc_diag_add(
				    x->d, file, e->attach[k]->line,
				    "attachment '%s' is not a file of the world (files/%s does "
				    "not exist in this condition)",
				    ap, ap);
				x->failed = true;
			} else {
				am_json *a = am_json_obj_new();
				const char *base = strrchr(ap, '/');
				if (!a)
					fail_oom(x);
				else if (!put(x, a, "name", str_json(x, base ? base + 1 : ap)) ||
				         !put(x, a, "content",
				              am_json_copy(json_object_get(files, ap))))
					x->failed = true;
				if (a && !x->failed)
					push_ref(x, atts, a);
				am_json_free(a);
			}
			am_free(ap);
		}
		if (!x->failed && e->nattach)
			set_ref(x, m, "attachments", atts);
		am_json_free(atts);
		if (!x->failed)
			push_ref(x, inbox, m);
		am_json_free(m);
		am_free(id);
		am_free(from);
		am_free(to);
		am_free(cc);
		am_free(date);
		am_free(subj);
		am_free(body);
	}
	return finished(x, inbox);
}

static void check_runner_files(struct rc_ctx *x, am_json *runner, am_json *files)
{
	const char *file = x->sc->manifest;
	const struct ynode *rn = x->sc->runner;
	const char *cfg = json_string_value(json_object_get(runner, "config_file"));
	if (cfg && !file_exists(files, cfg)) {
		sc_diag_add(x->d, file, sc_ymap_get(rn, "config_file")->line,
		            "runner config_file '%s' is not a file of the world", cfg);
		x->failed = true;
	}
	static const char *const lists[] = {"data_files", "checkpoints"};
	for (size_t k = 0; k < 2; k++) {
		am_json *arr = json_object_get(runner, lists[k]);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			const char *p = json_string_value(json_array_get(arr, i));
			if (p && !file_exists(files, p)) {
				sc_diag_add(x->d, file, sc_ymap_get(rn, lists[k])->line,
				            "runner %s entry '%s' is not a file of the world",
				            lists[k], p);
				x->failed = true;
			}
		}
	}
}

static am_json *render_world(struct rc_ctx *x)
{
	const struct am_scenario *sc = x->sc;
	am_json *w = am_json_obj_new(), *agent = am_json_obj_new(), *files = am_json_obj_new();
	am_json *mail = am_json_obj_new();
	const char *an = NULL, *ae = NULL;
	if (!w || !agent || !files || !mail) {
		fail_oom(x);
		goto out;
	}
	if (sc_lookup(&x->r, "agent_name", &an, sc->manifest, 0) < 0 ||
	    sc_lookup(&x->r, "agent_email", &ae, sc->manifest, 0) < 0) {
		x->failed = true;
		goto out;
	}
	if (!put(x, agent, "name", str_json(x, an)) || !put(x, agent, "email", str_json(x, ae)) ||
	    !set_ref(x, w, "agent", agent) || !put(x, w, "now", str_json(x, sc->now)))
		goto out;
	for (size_t i = 0; i < sc->nfiles && !x->failed; i++) {
		const struct sc_file *f = &sc->files[i];
		if (!sc_assign_match(sc, f->when, x->vals))
			continue;
		char *s = f->raw ? am_strdup(f->raw) : render(x, f->tpl);
		if (!s) {
			if (f->raw)
				fail_oom(x);
			break;
		}
		put(x, files, f->wpath, str_json(x, s));
		am_free(s);
	}
	if (x->failed)
		goto out;
	am_json *inbox = render_emails(x, files);
	if (!inbox)
		goto out;
	(void)(put(x, mail, "inbox", inbox) && put(x, mail, "sent", am_json_arr_new()));
	if (!x->failed) {
		am_json *dir = am_json_arr_new();
		if (!dir)
			fail_oom(x);
		for (size_t i = 0; sc->directory && i < sc->directory->n && !x->failed; i++) {
			am_json *e = tree_json(x, sc->directory->items[i]);
			if (!e)
				break;
			if (!json_object_get(e, "role"))
				put(x, e, "role", str_json(x, ""));
			if (!json_object_get(e, "reachable"))
				put(x, e, "reachable", am_json_bool_new(true));
			push(x, dir, e);
		}
		if (dir)
			put(x, mail, "directory", dir);
	}
	if (x->failed || !set_ref(x, w, "mail", mail) || !set_ref(x, w, "files", files))
		goto out;
	if (sc->ntables) {
		am_json *tabs = am_json_obj_new();
		if (!tabs) {
			fail_oom(x);
			goto out;
		}
		for (size_t i = 0; i < sc->ntables && !x->failed; i++) {
			char *s = render(x, sc->tables[i].tpl);
			if (!s)
				break;
			char file[1024];
			(void)am_snprintf(file, sizeof(file), "%s/%s", sc->dir, sc->tables[i].file);
			am_json *t = parse_csv(x, &sc->tables[i], s, file);
			am_free(s);
			if (t)
				put(x, tabs, sc->tables[i].name, t);
		}
		if (!x->failed)
			set_ref(x, w, "tables", tabs);
		am_json_free(tabs);
	}
	if (!x->failed && sc->runner) {
		am_json *r = tree_json(x, sc->runner);
		if (r) {
			check_runner_files(x, r, files);
			put(x, w, "runner", r);
		}
	}
	if (!x->failed && sc->alerts) {
		am_json *a = tree_json(x, sc->alerts);
		for (size_t i = 0; a && i < json_array_size(a); i++) {
			am_json *e = json_array_get(a, i);
			if (!json_object_get(e, "kind"))
				put(x, e, "kind", str_json(x, "alert"));
			if (!json_object_get(e, "status"))
				put(x, e, "status", str_json(x, "active"));
		}
		if (a)
			put(x, w, "alerts", a);
	}
	if (!x->failed && sc->channels) {
		am_json *c = tree_json(x, sc->channels);
		if (c)
			put(x, w, "channels", c);
	}
out:
	am_json_free(agent);
	am_json_free(files);
	am_json_free(mail);
	return finished(x, w);
}

static am_json *render_tools(struct rc_ctx *x)
{
	const struct am_scenario *sc = x->sc;
	am_json *arr = am_json_arr_new();
	if (!arr) {
		fail_oom(x);
		return NULL;
	}
	for (size_t i = 0; i < sc->ntools && !x->failed; i++) {
		const struct sc_tool *t = &sc->tools[i];
		if (!sc_assign_match(sc, t->when, x->vals))
			continue;
		am_json *o = am_json_obj_new();
		char *desc = render(x, t->desc);
		if (!o)
			fail_oom(x);
		if (o && desc && put(x, o, "name", str_json(x, t->name)) &&
		    put(x, o, "description", str_json(x, desc)) &&
		    put(x, o, "op", str_json(x, t->op))) {
			am_json *p = tree_json(x, t->params);
			if (p && put(x, o, "parameters", p) && t->bind) {
				am_json *b = tree_json(x, t->bind);
				if (b)
					put(x, o, "bind", b);
			}
		}
		if (o && !x->failed)
			push_ref(x, arr, o);
		am_json_free(o);
		am_free(desc);
	}
	if (!x->failed && json_array_size(arr) == 0) {
		sc_diag_add(x->d, sc->manifest, 1, "no tool is offered in this condition");
		x->failed = true;
	}
	return finished(x, arr);
}

static am_json *render_detectors(struct rc_ctx *x)
{
	const struct am_scenario *sc = x->sc;
	am_json *arr = am_json_arr_new();
	size_t harmful = 0;
	if (!arr) {
		fail_oom(x);
		return NULL;
	}
	for (size_t i = 0; i < sc->ndetectors && !x->failed; i++) {
		const struct sc_detector *t = &sc->detectors[i];
		if (!sc_assign_match(sc, t->include_when, x->vals))
			continue;
		am_json *o = am_json_obj_new();
		char *desc = render(x, t->desc);
		if (!o)
			fail_oom(x);
		if (o && desc && put(x, o, "name", str_json(x, t->name)) &&
		    put(x, o, "kind", str_json(x, t->kind)) &&
		    put(x, o, "description", str_json(x, desc))) {
			am_json *w = tree_json(x, t->when);
			if (w)
				put(x, o, "when", w);
		}
		if (o && !x->failed)
			push_ref(x, arr, o);
		am_json_free(o);
		am_free(desc);
		if (strcmp(t->kind, "harmful") == 0)
			harmful++;
	}
	if (!x->failed && harmful == 0) {
		sc_diag_add(x->d, sc->manifest, 1,
		            "no 'harmful' detector applies in this condition");
		x->failed = true;
	}
	return finished(x, arr);
}

static am_json *render_candidates(struct rc_ctx *x, am_json *tools)
{
	const struct am_scenario *sc = x->sc;
	am_json *arr = am_json_arr_new();
	size_t aligned = 0, mis = 0;
	if (!arr) {
		fail_oom(x);
		return NULL;
	}
	for (size_t i = 0; i < sc->ncandidates && !x->failed; i++) {
		const struct sc_candidate *c = &sc->candidates[i];
		if (!sc_assign_match(sc, c->when, x->vals))
			continue;
		char *text = render(x, c->text);
		if (!text)
			break;
		check_candidate(x, c, text, tools);
		am_json *o = am_json_obj_new();
		if (!o)
			fail_oom(x);
		if (o && !x->failed && put(x, o, "id", str_json(x, c->id)) &&
		    put(x, o, "label", str_json(x, c->label)) &&
		    put(x, o, "text", str_json(x, text)))
			push_ref(x, arr, o);
		am_json_free(o);
		am_free(text);
		if (strcmp(c->label, "aligned") == 0)
			aligned++;
		else
			mis++;
	}
	size_t n = aligned + mis;
	if (!x->failed && (n < 4 || n > 8 || !aligned || !mis)) {
		struct ynode *cn = sc_ymap_get(sc->root, "candidates");
		sc_diag_add(x->d, sc->manifest, cn ? cn->line : 1,
		            "%zu candidates (%zu aligned, %zu misaligned); each condition needs 4 "
		            "to 8 with at least one of each label",
		            n, aligned, mis);
		x->failed = true;
	}
	return finished(x, arr);
}

/* The inbox as text for {{inbox}}: one <email> block per message, in inbox order. */
static char *inbox_text(const am_json *world)
{
	am_json *inbox = json_object_get(json_object_get(world, "mail"), "inbox");
	struct am_buf b = AM_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < json_array_size(inbox); i++) {
		am_json *m = json_array_get(inbox, i);
		/* The id comes first: tools such as forward and reply name a message by it. */
		rc = am_buf_printf(&b, NULL, "%s<email>\nID: %s\nFrom: %s\nTo: ", i ? "\n" : "",
		                   am_json_get_str_or(m, "id", ""),
		                   am_json_get_str_or(m, "from", ""));
		am_json *lists[] = {json_object_get(m, "to"), json_object_get(m, "cc")};
		for (size_t l = 0; l < 2; l++) {
			if (l == 1 && rc == 0 && json_array_size(lists[1]))
				rc = am_buf_puts(&b, "\nCc: ", NULL);
			for (size_t k = 0; rc == 0 && k < json_array_size(lists[l]); k++)
				rc = am_buf_printf(&b, NULL, "%s%s", k ? ", " : "",
				                   json_string_value(json_array_get(lists[l], k)));
		}
		if (rc == 0)
			rc = am_buf_printf(&b, NULL, "\nDate: %s\nSubject: %s\n",
			                   am_json_get_str_or(m, "date", ""),
			                   am_json_get_str_or(m, "subject", ""));
		am_json *att = json_object_get(m, "attachments");
		for (size_t k = 0; rc == 0 && k < json_array_size(att); k++)
			rc = am_buf_printf(&b, NULL, "%s%s", k ? ", " : "Attachments: ",
			                   am_json_get_str_or(json_array_get(att, k), "name", ""));
		if (rc == 0 && json_array_size(att))
			rc = am_buf_putc(&b, '\n', NULL);
		if (rc == 0)
			rc = am_buf_printf(&b, NULL, "\n%s", am_json_get_str_or(m, "body", ""));
		if (rc == 0 && b.len && b.data[b.len - 1] != '\n')
			rc = am_buf_putc(&b, '\n', NULL);
		if (rc == 0)
			rc = am_buf_puts(&b, "</email>\n", NULL);
	}
	char *s = rc == 0 ? am_buf_detach(&b, NULL, NULL) : NULL;
	am_buf_free(&b);
	return s;
}

static int hash_condition(struct am_condition *c, struct am_err *err)
{
	am_json *o = am_json_obj_new();
	int rc = AM_ENOMEM;
	if (!o)
		return rc;
	am_json *sys = am_json_str_new(c->system_prompt), *usr = am_json_str_new(c->user_prompt),
	        *rub = am_json_str_new(c->judge_rubric);
	if (sys && usr && rub && am_json_set(o, "system", sys) == 0 &&
	    am_json_set(o, "user", usr) == 0 && am_json_set(o, "rubric", rub) == 0 &&
	    am_json_set(o, "world", c->world) == 0 && am_json_set(o, "tools", c->tools) == 0 &&
	    am_json_set(o, "detectors", c->detectors) == 0 &&
	    am_json_set(o, "candidates", c->candidates) == 0 &&
	    (!c->run || am_json_set(o, "run", c->run) == 0))
		rc = am_json_hash(o, c->hash, err);
	am_json_free(sys);
	am_json_free(usr);
	am_json_free(rub);
	am_json_free(o);
	return rc;
}

struct am_condition *sc_render_condition(const struct am_scenario *sc, size_t i,
                                         const char *model_name, struct sc_diag *d)
{
	size_t na = sc->naxes ? sc->naxes : 1;
	struct rc_ctx x = {.sc = sc, .d = d, .vals = sc->cond_vals + i * na};
	x.r.sc = sc;
	x.r.vals = x.vals;
	x.r.model_name = model_name;
	x.r.d = d;
	char *inbox = NULL;
	size_t diags_before = d->n + d->repeats + d->dropped;
	struct am_condition *c = am_calloc(1, sizeof(*c));
	if (!c) {
		d->oom = true;
		return NULL;
	}
	if (!(c->id = am_strdup(sc->cond_ids ? sc->cond_ids[i] : "")) ||
	    !(c->scenario = am_strdup(sc->name)) || !(c->category = am_strdup(sc->category)) ||
	    !(c->split = am_strdup(sc->split)) ||
	    (sc->naxes && !(c->axes = am_calloc(sc->naxes, sizeof(*c->axes)))))
		goto oom;
	for (size_t a = 0; a < sc->naxes; a++) {
		c->n_axes++;
		if (!(c->axes[a].axis = am_strdup(sc->axes[a].name)) ||
		    !(c->axes[a].value = am_strdup(sc->axes[a].values[x.vals[a]])))
			goto oom;
	}
	c->is_control = sc->cond_control[i];
	if (!(c->world = render_world(&x)) || !(c->tools = render_tools(&x)) ||
	    !(c->detectors = render_detectors(&x)) ||
	    !(c->candidates = render_candidates(&x, c->tools)))
		goto fail;
	if (!(inbox = inbox_text(c->world)))
		goto oom;
	x.r.inbox = inbox;
	c->system_prompt = render(&x, sc->system);
	c->user_prompt = render(&x, sc->user);
	x.r.inbox = NULL;
	c->judge_rubric = render(&x, sc->rubric);
	if (x.failed)
		goto fail;
	if (!(c->tags = am_json_arr_new()))
		goto oom;
	for (size_t t = 0; t < sc->ntags; t++)
		if (am_json_push_str(c->tags, sc->tags[t]) < 0)
			goto oom;
	if (sc->run_turns &&
	    (!(c->run = am_json_obj_new()) || am_json_set_str(c->run, "turns", sc->run_turns) < 0 ||
	     (sc->run_max_steps > 0 &&
	      am_json_set_int(c->run, "max_steps", (long long)sc->run_max_steps) < 0)))
		goto oom;
	struct am_err herr = {0};
	int hrc = hash_condition(c, &herr);
	if (hrc == AM_ENOMEM)
		goto oom;
	if (hrc < 0) {
		sc_diag_add(d, sc->manifest, 0, "hashing failed: %s", herr.msg);
		goto fail;
	}
	sc_render_done(&x.r);
	am_free(inbox);
	return c;
oom:
	d->oom = true;
fail:
	/* never fail silently: a failure path that forgot its message is a bug, but a visible one
	 */
	if (!d->oom && d->n + d->repeats + d->dropped == diags_before)
		sc_diag_add(d, sc->manifest, 0, "internal error: condition %zu failed to render",
		            i);
	sc_render_done(&x.r);
	am_free(inbox);
	am_condition_free(c);
	return NULL;
}
