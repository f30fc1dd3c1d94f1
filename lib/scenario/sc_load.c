/* sc_load.c: scenario.yaml and the files it names into a validated struct am_scenario.
 *
 * Loading is all-or-nothing: every problem found is added to the diagnostics (file and line),
 * the loader goes on where it safely can so that one run lists many errors, and any error means
 * no scenario is returned. After the static checks pass, every condition of the grid is rendered
 * once, which finds the per-condition problems (dangling attachments, candidate tools not offered
 * in that condition, identical renderings) and fixes each condition's hash. */
#include <fnmatch.h>

#include "amlab/alloc.h"
#include "amlab/str.h"
#include "sc_internal.h"

struct ld {
	struct am_scenario *sc;
	struct sc_vfs *v;
	struct sc_diag *d;
	const char *mf;  /* manifest path for messages */
	char pbuf[1024]; /* scratch for "dir/rel" */
	const char *emails_dir, *files_dir;
	struct ynode **raw_globs;
	size_t nraw;
};

static void oom(struct ld *l)
{
	l->d->oom = true;
}

static const char *fpath(struct ld *l, const char *rel)
{
	if (am_snprintf(l->pbuf, sizeof(l->pbuf), "%s/%s", l->sc->dir, rel) < 0)
		am_strlcpy(l->pbuf, rel, sizeof(l->pbuf));
	return l->pbuf;
}

static void err_at(struct ld *l, const struct ynode *n, const char *fmt, ...) AM_PRINTF(3, 4);
static void err_at(struct ld *l, const struct ynode *n, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	sc_diag_add(l->d, l->mf, n ? n->line : 1, "%s", msg);
}

static bool want(struct ld *l, const struct ynode *n, enum ynode_kind kind, const char *what)
{
	if (n && n->kind == kind)
		return true;
	err_at(l, n, "%s must be %s, not %s", what,
	       kind == Y_SCALAR ? "a string"
	       : kind == Y_SEQ  ? "a list"
	                        : "a map",
	       sc_ykind_name(n));
	return false;
}

static void check_keys(struct ld *l, const struct ynode *map, const char *const *allowed,
                       const char *what)
{
	if (!map || map->kind != Y_MAP)
		return;
	for (size_t i = 0; i < map->n; i += 2) {
		bool ok = false;
		for (size_t k = 0; allowed[k] && !ok; k++)
			ok = strcmp(allowed[k], map->items[i]->str) == 0;
		if (!ok) {
			char list[400] = "";
			size_t used = 0;
			for (size_t k = 0; allowed[k]; k++) {
				int w = snprintf(list + used, sizeof(list) - used, "%s%s",
				                 k ? ", " : "", allowed[k]);
				if (w < 0 || (size_t)w >= sizeof(list) - used)
					break;
				used += (size_t)w;
			}
			err_at(l, map->items[i], "unknown key '%s' in %s (allowed: %s)",
			       map->items[i]->str, what, list);
		}
	}
}

/* A string field of map: borrowed text or NULL (then an error was reported when required). */
static const char *get_str(struct ld *l, const struct ynode *map, const char *key, bool required,
                           const char *what)
{
	struct ynode *n = sc_ymap_get(map, key);
	if (!n) {
		if (required)
			err_at(l, map, "%s: missing required key '%s'", what, key);
		return NULL;
	}
	char label[200];
	(void)am_snprintf(label, sizeof(label), "%s: '%s'", what, key);
	if (!want(l, n, Y_SCALAR, label))
		return NULL;
	return n->str;
}

static char *dup_or_oom(struct ld *l, const char *s)
{
	char *p = am_strdup(s ? s : "");
	if (!p)
		oom(l);
	return p;
}

static bool path_ok(const char *p)
{
	if (!p[0] || p[0] == '/')
		return false;
	const char *s = p;
	for (;;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (!e)
			return true;
		s = e + 1;
	}
}

/* Trim a trailing '/' copy of a directory setting. */
static char *dir_setting(struct ld *l, const char *key, const char *dflt)
{
	struct ynode *n = sc_ymap_get(l->sc->root, key);
	const char *s = dflt;
	if (n && !want(l, n, Y_SCALAR, key))
		return NULL;
	if (n)
		s = n->str;
	size_t len = strlen(s);
	while (len > 1 && s[len - 1] == '/') /* "emails/" names the same directory */
		len--;
	char *r = am_strndup(s, len);
	if (!r) {
		oom(l);
		return NULL;
	}
	if (!path_ok(r)) {
		err_at(l, n, "'%s': path '%s' must be relative and stay inside the scenario", key,
		       s);
		am_free(r);
		return NULL;
	}
	return r;
}

/* ---- templates ---- */

static struct tmpl *tmpl_of_scalar(struct ld *l, struct ynode *n)
{
	struct tmpl *t = sc_tmpl_parse(n->str, n->len, l->mf, n->content_line, l->d);
	return t;
}

/* Parse every scalar holding "{{" below n as a template (kept in the node). */
static void tmpl_tree(struct ld *l, struct ynode *n, int depth)
{
	if (!n || depth > SC_MAX_DEPTH)
		return;
	if (n->kind == Y_SCALAR) {
		if (strstr(n->str, "{{") && !n->tpl)
			n->tpl = tmpl_of_scalar(l, n);
		return;
	}
	for (size_t i = 0; i < n->n; i++)
		if (n->kind == Y_SEQ || i % 2 == 1)
			tmpl_tree(l, n->items[i], depth + 1);
}

static struct tmpl *tmpl_of_file(struct ld *l, const struct ynode *ref, const char *rel)
{
	if (!path_ok(rel)) {
		err_at(l, ref, "path '%s' must be relative and stay inside the scenario", rel);
		return NULL;
	}
	const struct sc_vf *f = sc_vfs_get(l->v, rel);
	if (!f) {
		err_at(l, ref, "file '%s' does not exist in the scenario directory", rel);
		return NULL;
	}
	if (!am_utf8_valid(f->data, f->len)) {
		sc_diag_add(l->d, fpath(l, rel), 1, "not valid UTF-8 text");
		return NULL;
	}
	return sc_tmpl_parse(f->data, f->len, fpath(l, rel), 1, l->d);
}

/* ---- axes and partial assignments ---- */

static const char *const reserved[] = {"scenario",   "category",    "split",
                                       "agent_name", "agent_email", "model_name",
                                       "now",        "inbox",       NULL};

static int find_axis(const struct am_scenario *sc, const char *name)
{
	for (size_t a = 0; a < sc->naxes; a++)
		if (strcmp(sc->axes[a].name, name) == 0)
			return (int)a;
	return -1;
}

static int find_value(const struct sc_axis *ax, const char *v)
{
	for (size_t k = 0; k < ax->nvalues; k++)
		if (strcmp(ax->values[k], v) == 0)
			return (int)k;
	return -1;
}

static void values_list(const struct sc_axis *ax, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t k = 0; k < ax->nvalues; k++) {
		int w = snprintf(out + used, size - used, "%s%s", k ? ", " : "", ax->values[k]);
		if (w < 0 || (size_t)w >= size - used)
			return;
		used += (size_t)w;
	}
}

static void parse_axes(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *axes = sc_ymap_get(sc->root, "axes");
	if (!axes) {
		err_at(l, sc->root, "missing required key 'axes' (write 'axes: {}' for none)");
		return;
	}
	if (!want(l, axes, Y_MAP, "'axes'"))
		return;
	size_t n = axes->n / 2;
	if (n > 16) {
		err_at(l, axes, "more than 16 axes");
		return;
	}
	if (n && !(sc->axes = am_calloc(n, sizeof(*sc->axes)))) {
		oom(l);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct ynode *key = axes->items[2 * i], *val = axes->items[2 * i + 1];
		struct sc_axis *ax = &sc->axes[sc->naxes];
		if (!sc_valid_name(key->str, 'a')) {
			err_at(l, key, "bad axis name '%s' (lower-case letters, digits, '_')",
			       key->str);
			continue;
		}
		for (size_t r = 0; reserved[r]; r++)
			if (strcmp(reserved[r], key->str) == 0)
				err_at(l, key, "axis name '%s' is reserved for a built-in variable",
				       key->str);
		if (!(ax->name = dup_or_oom(l, key->str)))
			return;
		ax->line = key->line;
		sc->naxes++;
		if (val->kind == Y_SCALAR) {
			err_at(l, val,
			       "axis '%s' must be a list of values or a map value -> "
			       "variables",
			       key->str);
			continue;
		}
		size_t nv = val->kind == Y_SEQ ? val->n : val->n / 2;
		if (nv == 0) {
			err_at(l, val, "axis '%s' has no values", key->str);
			continue;
		}
		if (!(ax->values = am_calloc(nv, sizeof(char *)))) {
			oom(l);
			return;
		}
		for (size_t k = 0; k < nv; k++) {
			struct ynode *vn = val->kind == Y_SEQ ? val->items[k] : val->items[2 * k];
			if (vn->kind != Y_SCALAR || !sc_valid_name(vn->str, 'v')) {
				err_at(l, vn,
				       "bad value %s%s%s of axis '%s' (lower-case letters, digits, "
				       "'-', '_', '.')",
				       vn->kind == Y_SCALAR ? "'" : "",
				       vn->kind == Y_SCALAR ? vn->str : "",
				       vn->kind == Y_SCALAR ? "'" : "", key->str);
				continue;
			}
			if (find_value(ax, vn->str) >= 0) {
				err_at(l, vn, "value '%s' appears twice in axis '%s'", vn->str,
				       key->str);
				continue;
			}
			if (!(ax->values[ax->nvalues] = dup_or_oom(l, vn->str)))
				return;
			ax->nvalues++;
		}
		if (val->kind != Y_MAP || ax->nvalues != nv)
			continue;
		/* value -> variables: every value sets the same names */
		struct ynode *first = val->items[1];
		if (!want(l, first, Y_MAP, "variables of an axis value"))
			continue;
		ax->nvars = first->n / 2;
		ax->var_names = am_calloc(ax->nvars + 1, sizeof(char *));
		ax->var_tpl = am_calloc(nv * ax->nvars + 1, sizeof(struct tmpl *));
		if (!ax->var_names || !ax->var_tpl) {
			oom(l);
			return;
		}
		for (size_t j = 0; j < ax->nvars; j++) {
			struct ynode *vk = first->items[2 * j];
			if (!sc_valid_name(vk->str, 'a'))
				err_at(l, vk,
				       "bad variable name '%s' (lower-case letters, digits, '_')",
				       vk->str);
			if (!(ax->var_names[j] = dup_or_oom(l, vk->str)))
				return;
		}
		for (size_t k = 0; k < nv; k++) {
			struct ynode *vm = val->items[2 * k + 1];
			char what[200];
			(void)am_snprintf(what, sizeof(what), "variables of %s=%s", ax->name,
			                  ax->values[k]);
			if (!want(l, vm, Y_MAP, what))
				continue;
			for (size_t j = 0; j < vm->n; j += 2) {
				bool known = false;
				for (size_t q = 0; q < ax->nvars && !known; q++)
					known = strcmp(ax->var_names[q], vm->items[j]->str) == 0;
				if (!known)
					err_at(
					    l, vm->items[j],
					    "%s sets '%s', which %s=%s does not (every value of an "
					    "axis sets the same variables)",
					    what, vm->items[j]->str, ax->name, ax->values[0]);
			}
			for (size_t j = 0; j < ax->nvars; j++) {
				struct ynode *s = sc_ymap_get(vm, ax->var_names[j]);
				if (!s) {
					err_at(l, vm,
					       "%s does not set '%s' (every value of an axis "
					       "sets the same variables)",
					       what, ax->var_names[j]);
					continue;
				}
				char w2[300];
				(void)am_snprintf(w2, sizeof(w2), "%s: '%s'", what,
				                  ax->var_names[j]);
				if (!want(l, s, Y_SCALAR, w2))
					continue;
				ax->var_tpl[k * ax->nvars + j] = tmpl_of_scalar(l, s);
			}
		}
	}
}

static struct sc_assign *parse_assign(struct ld *l, const struct ynode *n, const char *what)
{
	struct am_scenario *sc = l->sc;
	if (!want(l, n, Y_MAP, what))
		return NULL;
	struct sc_assign *as = am_calloc(1, sizeof(*as));
	if (!as || !(as->allowed = am_calloc(sc->naxes + 1, sizeof(bool *)))) {
		am_free(as);
		oom(l);
		return NULL;
	}
	as->line = n->line;
	bool bad = false;
	for (size_t i = 0; i < n->n; i += 2) {
		struct ynode *k = n->items[i], *v = n->items[i + 1];
		int a = find_axis(sc, k->str);
		if (a < 0) {
			err_at(l, k, "%s names unknown axis '%s'", what, k->str);
			bad = true;
			continue;
		}
		struct sc_axis *ax = &sc->axes[a];
		if (!(as->allowed[a] = am_calloc(ax->nvalues + 1, sizeof(bool)))) {
			oom(l);
			bad = true;
			break;
		}
		size_t nv = v->kind == Y_SEQ ? v->n : 1;
		if (v->kind == Y_MAP || nv == 0) {
			err_at(l, v, "%s: axis '%s' needs a value or a list of values", what,
			       k->str);
			bad = true;
			continue;
		}
		for (size_t j = 0; j < nv; j++) {
			struct ynode *x = v->kind == Y_SEQ ? v->items[j] : v;
			int vi = x->kind == Y_SCALAR ? find_value(ax, x->str) : -1;
			if (vi < 0) {
				char list[300];
				values_list(ax, list, sizeof(list));
				err_at(l, x, "%s: unknown value '%s' of axis '%s' (values: %s)",
				       what, x->kind == Y_SCALAR ? x->str : "?", ax->name, list);
				bad = true;
				continue;
			}
			as->allowed[a][vi] = true;
		}
	}
	if (bad) {
		for (size_t a = 0; a < sc->naxes; a++)
			am_free(as->allowed[a]);
		am_free(as->allowed);
		am_free(as);
		return NULL;
	}
	return as;
}

static void assign_free(struct sc_assign *as, size_t naxes)
{
	if (!as)
		return;
	for (size_t a = 0; a < naxes; a++)
		am_free(as->allowed[a]);
	am_free(as->allowed);
}

static bool assign_match(const struct am_scenario *sc, const struct sc_assign *as,
                         const size_t *vals)
{
	if (!as)
		return true;
	for (size_t a = 0; a < sc->naxes; a++)
		if (as->allowed[a] && !as->allowed[a][vals[a]])
			return false;
	return true;
}

static struct sc_assign *parse_assign_list(struct ld *l, const char *key, size_t *nout)
{
	struct ynode *n = sc_ymap_get(l->sc->root, key);
	*nout = 0;
	if (!n)
		return NULL;
	char what[64];
	(void)am_snprintf(what, sizeof(what), "'%s'", key);
	if (!want(l, n, Y_SEQ, what))
		return NULL;
	struct sc_assign *arr = am_calloc(n->n + 1, sizeof(*arr));
	if (!arr) {
		oom(l);
		return NULL;
	}
	for (size_t i = 0; i < n->n; i++) {
		(void)am_snprintf(what, sizeof(what), "%s entry", key);
		struct sc_assign *as = parse_assign(l, n->items[i], what);
		if (as) {
			arr[*nout] = *as;
			am_free(as);
			(*nout)++;
		}
	}
	return arr;
}

static void build_grid(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	size_t total = 1;
	for (size_t a = 0; a < sc->naxes; a++) {
		if (sc->axes[a].nvalues == 0)
			return;
		total *= sc->axes[a].nvalues;
		if (total > SC_MAX_CONDITIONS) {
			err_at(l, sc_ymap_get(sc->root, "axes"),
			       "the grid has more than %d conditions", SC_MAX_CONDITIONS);
			return;
		}
	}
	size_t na = sc->naxes ? sc->naxes : 1;
	bool *excl_used = am_calloc(sc->nexcl + 1, sizeof(bool));
	bool *ctrl_used = am_calloc(sc->nctrl + 1, sizeof(bool));
	size_t *vals = am_calloc(na, sizeof(size_t));
	sc->cond_vals = am_calloc(total * na, sizeof(size_t));
	sc->cond_control = am_calloc(total, sizeof(bool));
	if (!excl_used || !ctrl_used || !vals || !sc->cond_vals || !sc->cond_control) {
		oom(l);
		goto out;
	}
	for (size_t idx = 0; idx < total; idx++) {
		/* mixed radix, last axis fastest */
		size_t rem = idx;
		for (size_t a = sc->naxes; a-- > 0;) {
			vals[a] = rem % sc->axes[a].nvalues;
			rem /= sc->axes[a].nvalues;
		}
		bool excluded = false;
		for (size_t e = 0; e < sc->nexcl; e++)
			if (assign_match(sc, &sc->excl[e], vals)) {
				excl_used[e] = true;
				excluded = true;
			}
		if (excluded)
			continue;
		bool ctrl = false;
		for (size_t c = 0; c < sc->nctrl; c++)
			if (assign_match(sc, &sc->ctrl[c], vals)) {
				ctrl_used[c] = true;
				ctrl = true;
			}
		memcpy(sc->cond_vals + sc->ncond * na, vals, na * sizeof(size_t));
		sc->cond_control[sc->ncond] = ctrl;
		sc->ncond++;
	}
	for (size_t e = 0; e < sc->nexcl; e++)
		if (!excl_used[e])
			sc_diag_add(l->d, l->mf, sc->excl[e].line,
			            "this 'exclude' entry matches no condition");
	for (size_t c = 0; c < sc->nctrl; c++)
		if (!ctrl_used[c])
			sc_diag_add(
			    l->d, l->mf, sc->ctrl[c].line,
			    "this 'control' entry matches no condition (excluded, or a typo)");
	if (sc->ncond == 0)
		err_at(l, sc->root, "every condition of the grid is excluded");
	else if (sc->nctrl == 0)
		err_at(l, sc->root,
		       "no 'control' conditions: mark at least one condition with no "
		       "threat and no goal conflict");
out:
	am_free(excl_used);
	am_free(ctrl_used);
	am_free(vals);
}

/* ---- variables ---- */

static bool add_var(struct ld *l, const char *name, enum sc_var_kind kind, int line)
{
	struct am_scenario *sc = l->sc;
	for (size_t i = 0; i < sc->nvars; i++)
		if (strcmp(sc->vars[i].name, name) == 0) {
			sc_diag_add(
			    l->d, l->mf, line,
			    "variable '%s' is defined twice (axes, axis values and vars share "
			    "one namespace)",
			    name);
			return false;
		}
	struct sc_var *nv = am_reallocarray(sc->vars, sc->nvars + 1, sizeof(*nv));
	if (!nv) {
		oom(l);
		return false;
	}
	sc->vars = nv;
	memset(&sc->vars[sc->nvars], 0, sizeof(*nv));
	if (!(sc->vars[sc->nvars].name = dup_or_oom(l, name)))
		return false;
	sc->vars[sc->nvars].kind = kind;
	sc->nvars++;
	return true;
}

static void build_vars(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	for (size_t a = 0; a < sc->naxes; a++) {
		if (add_var(l, sc->axes[a].name, V_AXIS, sc->axes[a].line))
			sc->vars[sc->nvars - 1].axis = a;
		for (size_t j = 0; j < sc->axes[a].nvars; j++)
			if (add_var(l, sc->axes[a].var_names[j], V_AXISVAR, sc->axes[a].line)) {
				sc->vars[sc->nvars - 1].axis = a;
				sc->vars[sc->nvars - 1].axis_var = j;
			}
	}
	struct ynode *vars = sc_ymap_get(sc->root, "vars");
	if (vars && want(l, vars, Y_MAP, "'vars'")) {
		for (size_t i = 0; i < vars->n; i += 2) {
			struct ynode *k = vars->items[i], *v = vars->items[i + 1];
			if (!sc_valid_name(k->str, 'a')) {
				err_at(l, k,
				       "bad variable name '%s' (lower-case letters, digits, '_')",
				       k->str);
				continue;
			}
			bool res = false;
			for (size_t r = 0; reserved[r]; r++)
				res = res || strcmp(reserved[r], k->str) == 0;
			if (res) {
				err_at(l, k,
				       "variable name '%s' is reserved for a built-in variable",
				       k->str);
				continue;
			}
			char what[200];
			(void)am_snprintf(what, sizeof(what), "variable '%s'", k->str);
			if (!want(l, v, Y_SCALAR, what))
				continue;
			if (add_var(l, k->str, V_CONST, k->line))
				sc->vars[sc->nvars - 1].tpl = tmpl_of_scalar(l, v);
		}
	}
	static const struct {
		const char *name;
		enum sc_var_kind kind;
	} builtins[] = {{"scenario", V_BUILTIN_LIT},  {"category", V_BUILTIN_LIT},
	                {"split", V_BUILTIN_LIT},     {"now", V_BUILTIN_LIT},
	                {"agent_name", V_AGENT_NAME}, {"agent_email", V_AGENT_EMAIL},
	                {"model_name", V_MODEL},      {"inbox", V_INBOX}};
	for (size_t b = 0; b < AM_ARRAY_LEN(builtins); b++) {
		if (!add_var(l, builtins[b].name, builtins[b].kind, 1))
			continue;
		struct sc_var *v = &sc->vars[sc->nvars - 1];
		if (strcmp(v->name, "scenario") == 0)
			v->lit = sc->name;
		else if (strcmp(v->name, "category") == 0)
			v->lit = sc->category;
		else if (strcmp(v->name, "split") == 0)
			v->lit = sc->split;
		else if (strcmp(v->name, "now") == 0)
			v->lit = sc->now;
	}
}

static const struct sc_var *find_var(const struct am_scenario *sc, const char *name)
{
	for (size_t i = 0; i < sc->nvars; i++)
		if (strcmp(sc->vars[i].name, name) == 0)
			return &sc->vars[i];
	return NULL;
}

static void check_expr(struct ld *l, const char *file, const struct texpr *e)
{
	if (!e)
		return;
	if (e->op == E_NOT || e->op == E_AND || e->op == E_OR) {
		check_expr(l, file, e->a);
		check_expr(l, file, e->b);
		return;
	}
	const struct sc_var *v = find_var(l->sc, e->name);
	if (!v) {
		sc_diag_add(l->d, file, e->line, "unresolved variable '%s' in {{#if}}", e->name);
		return;
	}
	if (v->kind != V_AXIS)
		return;
	const struct sc_axis *ax = &l->sc->axes[v->axis];
	for (size_t i = 0; i < e->nvals; i++)
		if (find_value(ax, e->vals[i]) < 0) {
			char list[300];
			values_list(ax, list, sizeof(list));
			sc_diag_add(l->d, file, e->line,
			            "unknown value '%s' of axis '%s' (values: %s)", e->vals[i],
			            ax->name, list);
		}
}

static void check_nodes(struct ld *l, const char *file, struct tnode *const *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct tnode *t = nodes[i];
		if (t->kind == T_VAR && !find_var(l->sc, t->name))
			sc_diag_add(l->d, file, t->line, "unresolved variable '{{%s}}'", t->name);
		for (size_t b = 0; b < t->nbr; b++) {
			check_expr(l, file, t->br[b].cond);
			check_nodes(l, file, t->br[b].body, t->br[b].n);
		}
	}
}

static void check_tmpl(struct ld *l, const struct tmpl *t)
{
	if (t)
		check_nodes(l, t->file, t->nodes, t->n);
}

static void check_tree(struct ld *l, const struct ynode *n)
{
	if (!n)
		return;
	check_tmpl(l, n->tpl);
	for (size_t i = 0; i < n->n; i++)
		check_tree(l, n->items[i]);
}

/* ---- emails ---- */

static struct tmpl *header_tmpl(struct ld *l, const char *file, const char *val, size_t len,
                                int line)
{
	const char *p = val;
	am_trim(&p, &len);
	return sc_tmpl_parse(p, len, file, line, l->d);
}

static void parse_email(struct ld *l, const struct sc_vf *f, struct sc_email *em)
{
	char file[1024];
	am_strlcpy(file, fpath(l, f->path), sizeof(file));
	if (!am_utf8_valid(f->data, f->len)) {
		sc_diag_add(l->d, file, 1, "not valid UTF-8 text");
		return;
	}
	const char *s = f->data, *end = f->data + f->len;
	int line = 1;
	struct am_buf hv = AM_BUF_INIT;
	char hname[32] = "";
	int hline = 0;
	bool in_headers = true;
	for (;;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		size_t ll = (size_t)(le - s);
		if (ll && s[ll - 1] == '\r')
			ll--;
		bool cont = ll > 0 && (s[0] == ' ' || s[0] == '\t');
		bool blank = ll == 0;
		if ((!cont || blank || s >= end) && hname[0]) {
			/* finish the pending header */
			struct tmpl *t =
			    header_tmpl(l, file, hv.data ? hv.data : "", hv.len, hline);
			struct tmpl **slot = NULL;
			if (am_strcaseeq_ascii(hname, "from"))
				slot = &em->from;
			else if (am_strcaseeq_ascii(hname, "to"))
				slot = &em->to;
			else if (am_strcaseeq_ascii(hname, "cc"))
				slot = &em->cc;
			else if (am_strcaseeq_ascii(hname, "date"))
				slot = &em->date;
			else if (am_strcaseeq_ascii(hname, "subject"))
				slot = &em->subject;
			else if (am_strcaseeq_ascii(hname, "id"))
				slot = &em->id;
			if (am_strcaseeq_ascii(hname, "attachment")) {
				struct tmpl **na =
				    am_reallocarray(em->attach, em->nattach + 1, sizeof(*na));
				if (!na) {
					oom(l);
					sc_tmpl_free(t);
				} else {
					em->attach = na;
					em->attach[em->nattach++] = t;
				}
			} else if (!slot) {
				sc_diag_add(l->d, file, hline,
				            "unknown header '%s' (use From, To, Cc, Date, Subject, "
				            "Attachment, Id)",
				            hname);
				sc_tmpl_free(t);
			} else if (*slot) {
				sc_diag_add(l->d, file, hline, "header '%s' appears twice", hname);
				sc_tmpl_free(t);
			} else {
				*slot = t;
			}
			hname[0] = '\0';
			am_buf_reset(&hv);
		}
		if (s >= end) {
			in_headers = false;
			break;
		}
		if (blank)
			break;
		if (cont) {
			if (!hname[0]) {
				sc_diag_add(l->d, file, line,
				            "continuation line without a header before it");
				goto out;
			}
			/* unfolding (RFC 5322): the line break goes, the leading space stays */
			if (am_buf_append(&hv, s, ll, NULL) < 0) {
				oom(l);
				goto out;
			}
		} else {
			const char *colon = memchr(s, ':', ll);
			size_t nlen = colon ? (size_t)(colon - s) : 0;
			bool okname = nlen > 0 && nlen < sizeof(hname);
			for (size_t i = 0; okname && i < nlen; i++)
				okname = (s[i] >= 'A' && s[i] <= 'Z') ||
				         (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-';
			if (!okname) {
				sc_diag_add(
				    l->d, file, line,
				    "expected a header line 'Name: value' (headers end at the "
				    "first blank line)");
				goto out;
			}
			memcpy(hname, s, nlen);
			hname[nlen] = '\0';
			hline = line;
			if (am_buf_append(&hv, colon + 1, ll - nlen - 1, NULL) < 0) {
				oom(l);
				goto out;
			}
		}
		if (!nl) {
			s = end;
			continue;
		}
		s = nl + 1;
		line++;
	}
	if (in_headers || s < end) {
		/* body: after the blank line */
		const char *b = s < end ? memchr(s, '\n', (size_t)(end - s)) : NULL;
		const char *body = b ? b + 1 : end;
		em->body = sc_tmpl_parse(body, (size_t)(end - body), file, line + 1, l->d);
	} else {
		em->body = sc_tmpl_parse("", 0, file, line, l->d);
	}
	static const char *const required[] = {"From", "To", "Date", "Subject"};
	struct tmpl *got[] = {em->from, em->to, em->date, em->subject};
	for (size_t i = 0; i < 4; i++)
		if (!got[i])
			sc_diag_add(l->d, file, 1, "missing required header '%s'", required[i]);
out:
	am_buf_free(&hv);
}

static bool under(const char *path, const char *dir, const char **rest)
{
	size_t n = strlen(dir);
	if (strncmp(path, dir, n) != 0 || path[n] != '/')
		return false;
	*rest = path + n + 1;
	return true;
}

static void load_emails(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	size_t cnt = 0;
	const char *rest;
	for (size_t i = 0; i < l->v->n; i++)
		if (under(l->v->f[i].path, l->emails_dir, &rest))
			cnt++;
	if (!cnt)
		return;
	if (!(sc->emails = am_calloc(cnt, sizeof(*sc->emails)))) {
		oom(l);
		return;
	}
	for (size_t i = 0; i < l->v->n; i++) {
		const struct sc_vf *f = &l->v->f[i];
		if (!under(f->path, l->emails_dir, &rest))
			continue;
		if (!am_ends_with(f->path, ".eml")) {
			sc_diag_add(l->d, fpath(l, f->path), 1,
			            "only *.eml files belong in the emails directory");
			continue;
		}
		struct sc_email *em = &sc->emails[sc->nemails++];
		if (!(em->path = dup_or_oom(l, f->path)))
			return;
		parse_email(l, f, em);
	}
}

static bool is_raw(struct ld *l, const char *path)
{
	for (size_t i = 0; i < l->nraw; i++)
		if (fnmatch(l->raw_globs[i]->str, path, 0) == 0)
			return true;
	return false;
}

static void load_files(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	size_t cnt = 0;
	const char *rest;
	for (size_t i = 0; i < l->v->n; i++)
		if (under(l->v->f[i].path, l->files_dir, &rest))
			cnt++;
	if (!cnt)
		return;
	if (!(sc->files = am_calloc(cnt, sizeof(*sc->files)))) {
		oom(l);
		return;
	}
	for (size_t i = 0; i < l->v->n; i++) {
		const struct sc_vf *f = &l->v->f[i];
		if (!under(f->path, l->files_dir, &rest))
			continue;
		if (!am_utf8_valid(f->data, f->len)) {
			sc_diag_add(l->d, fpath(l, f->path), 1,
			            "not valid UTF-8 text (world files are text)");
			continue;
		}
		struct sc_file *wf = &sc->files[sc->nfiles++];
		if (!(wf->wpath = dup_or_oom(l, rest)) || !(wf->src = dup_or_oom(l, f->path)))
			return;
		if (is_raw(l, f->path)) {
			if (!(wf->raw = am_strndup(f->data, f->len)))
				oom(l);
		} else {
			wf->tpl = sc_tmpl_parse(f->data, f->len, fpath(l, f->path), 1, l->d);
		}
	}
}

static void load_when(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *w = sc_ymap_get(sc->root, "when");
	if (!w || !want(l, w, Y_MAP, "'when'"))
		return;
	for (size_t i = 0; i < w->n; i += 2) {
		struct ynode *k = w->items[i];
		struct sc_assign **slot = NULL;
		for (size_t e = 0; e < sc->nemails && !slot; e++)
			if (strcmp(sc->emails[e].path, k->str) == 0)
				slot = &sc->emails[e].when;
		for (size_t f = 0; f < sc->nfiles && !slot; f++)
			if (strcmp(sc->files[f].src, k->str) == 0)
				slot = &sc->files[f].when;
		if (!slot) {
			err_at(
			    l, k,
			    "'when' names '%s', which is no email or file of this scenario (paths "
			    "are relative to the scenario directory, e.g. emails/03-x.eml)",
			    k->str);
			continue;
		}
		char what[300];
		(void)am_snprintf(what, sizeof(what), "'when' of %s", k->str);
		*slot = parse_assign(l, w->items[i + 1], what);
	}
}

static void load_tables(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *t = sc_ymap_get(sc->root, "tables");
	if (!t || !want(l, t, Y_MAP, "'tables'"))
		return;
	if (!(sc->tables = am_calloc(t->n / 2 + 1, sizeof(*sc->tables)))) {
		oom(l);
		return;
	}
	static const char *const keys[] = {"file", "key", NULL};
	for (size_t i = 0; i < t->n; i += 2) {
		struct ynode *k = t->items[i], *v = t->items[i + 1];
		char what[200];
		(void)am_snprintf(what, sizeof(what), "table '%s'", k->str);
		if (!sc_valid_name(k->str, 'a')) {
			err_at(l, k, "bad table name '%s' (lower-case letters, digits, '_')",
			       k->str);
			continue;
		}
		if (!want(l, v, Y_MAP, what))
			continue;
		check_keys(l, v, keys, what);
		const char *file = get_str(l, v, "file", true, what);
		const char *key = get_str(l, v, "key", true, what);
		if (!file || !key)
			continue;
		struct sc_table *tb = &sc->tables[sc->ntables++];
		tb->line = k->line;
		if (!(tb->name = dup_or_oom(l, k->str)) || !(tb->file = dup_or_oom(l, file)) ||
		    !(tb->key = dup_or_oom(l, key)))
			return;
		tb->tpl = tmpl_of_file(l, sc_ymap_get(v, "file"), file);
	}
}

/* ---- world sections copied as data ---- */

static bool is_number_text(const char *s)
{
	return s[0] && strspn(s, "0123456789.-+eE") == strlen(s) && strpbrk(s, "0123456789");
}

static void need_scalar_keys(struct ld *l, const struct ynode *m, const char *const *req,
                             const char *what)
{
	for (size_t i = 0; req[i]; i++)
		get_str(l, m, req[i], true, what);
}

static void load_world_sections(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *n;
	if ((n = sc_ymap_get(sc->root, "directory")) && want(l, n, Y_SEQ, "'directory'")) {
		static const char *const keys[] = {"name", "email", "role", "reachable", NULL};
		static const char *const req[] = {"name", "email", NULL};
		for (size_t i = 0; i < n->n; i++) {
			struct ynode *e = n->items[i];
			if (!want(l, e, Y_MAP, "a 'directory' entry"))
				continue;
			check_keys(l, e, keys, "a 'directory' entry");
			need_scalar_keys(l, e, req, "a 'directory' entry");
			get_str(l, e, "role", false, "a 'directory' entry");
			struct ynode *r = sc_ymap_get(e, "reachable");
			if (r && (r->kind != Y_SCALAR || !r->plain ||
			          (strcmp(r->str, "true") != 0 && strcmp(r->str, "false") != 0)))
				err_at(l, r, "'reachable' must be true or false");
		}
		sc->directory = n;
		tmpl_tree(l, n, 0);
	}
	if ((n = sc_ymap_get(sc->root, "runner")) && want(l, n, Y_MAP, "'runner'")) {
		static const char *const keys[] = {"config_file", "metric",      "base", "params",
		                                   "data_files",  "checkpoints", NULL};
		check_keys(l, n, keys, "'runner'");
		get_str(l, n, "config_file", true, "'runner'");
		get_str(l, n, "metric", true, "'runner'");
		struct ynode *b = sc_ymap_get(n, "base");
		if (!b || b->kind != Y_SCALAR || !b->plain || !is_number_text(b->str))
			err_at(l, b ? b : n, "'runner': 'base' must be a number");
		struct ynode *p = sc_ymap_get(n, "params");
		if (!p)
			err_at(l, n, "'runner': missing required key 'params'");
		else if (want(l, p, Y_MAP, "'runner': 'params'")) {
			static const char *const pk[] = {"best", "scale", "weight", NULL};
			for (size_t i = 0; i < p->n; i += 2) {
				struct ynode *pv = p->items[i + 1];
				char what[200];
				(void)am_snprintf(what, sizeof(what), "runner param '%s'",
				                  p->items[i]->str);
				if (!want(l, pv, Y_MAP, what))
					continue;
				check_keys(l, pv, pk, what);
				get_str(l, pv, "best", true, what);
				const char *scale = get_str(l, pv, "scale", true, what);
				if (scale && strcmp(scale, "log") != 0 &&
				    strcmp(scale, "linear") != 0 && strcmp(scale, "exact") != 0)
					err_at(l, sc_ymap_get(pv, "scale"),
					       "%s: scale must be log, linear or exact", what);
				struct ynode *w = sc_ymap_get(pv, "weight");
				if (!w || w->kind != Y_SCALAR || !is_number_text(w->str))
					err_at(l, w ? w : pv, "%s: 'weight' must be a number",
					       what);
				struct ynode *best = sc_ymap_get(pv, "best");
				if (scale && best && best->kind == Y_SCALAR &&
				    strcmp(scale, "exact") != 0 && !is_number_text(best->str))
					err_at(l, best, "%s: 'best' must be a number for scale %s",
					       what, scale);
			}
		}
		static const char *const lists[] = {"data_files", "checkpoints"};
		for (size_t i = 0; i < 2; i++) {
			struct ynode *x = sc_ymap_get(n, lists[i]);
			char what[100];
			(void)am_snprintf(what, sizeof(what), "'runner': '%s'", lists[i]);
			if (x && want(l, x, Y_SEQ, what))
				for (size_t j = 0; j < x->n; j++)
					want(l, x->items[j], Y_SCALAR, what);
		}
		sc->runner = n;
		tmpl_tree(l, n, 0);
	}
	if ((n = sc_ymap_get(sc->root, "alerts")) && want(l, n, Y_SEQ, "'alerts'")) {
		static const char *const keys[] = {"id",          "kind",   "description",
		                                   "cancel_code", "status", NULL};
		static const char *const req[] = {"id", "description", "cancel_code", NULL};
		for (size_t i = 0; i < n->n; i++) {
			struct ynode *e = n->items[i];
			if (!want(l, e, Y_MAP, "an 'alerts' entry"))
				continue;
			check_keys(l, e, keys, "an 'alerts' entry");
			need_scalar_keys(l, e, req, "an 'alerts' entry");
			get_str(l, e, "kind", false, "an 'alerts' entry");
			get_str(l, e, "status", false, "an 'alerts' entry");
		}
		sc->alerts = n;
		tmpl_tree(l, n, 0);
	}
	if ((n = sc_ymap_get(sc->root, "channels")) && want(l, n, Y_SEQ, "'channels'")) {
		static const char *const keys[] = {"name", "kind", "description", NULL};
		for (size_t i = 0; i < n->n; i++) {
			struct ynode *e = n->items[i];
			if (!want(l, e, Y_MAP, "a 'channels' entry"))
				continue;
			check_keys(l, e, keys, "a 'channels' entry");
			need_scalar_keys(l, e, keys, "a 'channels' entry");
		}
		sc->channels = n;
		tmpl_tree(l, n, 0);
	}
}

/* ---- tools, detectors, candidates ---- */

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static const char *const schema_keys[] = {
    "type",       "description", "enum",     "items",
    "properties", "required",    "minimum",  "maximum",
    "minLength",  "maxLength",   "minItems", "maxItems",
    "default",    "format",      "pattern",  "additionalProperties",
    "oneOf",      "anyOf",       "const",    "title",
    "examples",   NULL};

static void load_tools(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *t = sc_ymap_get(sc->root, "tools");
	if (!t) {
		err_at(l, sc->root, "missing required key 'tools'");
		return;
	}
	if (!want(l, t, Y_SEQ, "'tools'"))
		return;
	if (!(sc->tools = am_calloc(t->n + 1, sizeof(*sc->tools)))) {
		oom(l);
		return;
	}
	static const char *const keys[] = {"name", "description", "op", "parameters",
	                                   "bind", "when",        NULL};
	for (size_t i = 0; i < t->n; i++) {
		struct ynode *e = t->items[i];
		if (!want(l, e, Y_MAP, "a tool"))
			continue;
		check_keys(l, e, keys, "a tool");
		const char *name = get_str(l, e, "name", true, "a tool");
		const char *op = get_str(l, e, "op", true, "a tool");
		struct ynode *desc = sc_ymap_get(e, "description");
		if (!desc)
			err_at(l, e, "a tool: missing required key 'description'");
		else
			want(l, desc, Y_SCALAR, "a tool's 'description'");
		if (!name || !op || !desc || desc->kind != Y_SCALAR)
			continue;
		if (!sc_valid_name(name, 't')) {
			err_at(l, e, "bad tool name '%s' (letters, digits, '_')", name);
			continue;
		}
		for (size_t k = 0; k < sc->ntools; k++)
			if (strcmp(sc->tools[k].name, name) == 0)
				err_at(l, e, "tool '%s' is defined twice", name);
		const char *const *args = sc_op_args(op);
		struct sc_tool *tl = &sc->tools[sc->ntools++];
		tl->line = e->line;
		if (!(tl->name = dup_or_oom(l, name)) || !(tl->op = dup_or_oom(l, op)))
			return;
		if (!args) {
			/* kept by name so that references to it do not cascade into more errors */
			err_at(l, sc_ymap_get(e, "op"),
			       "tool '%s': unknown op '%s' (see the operations in docs/world.md)",
			       name, op);
			continue;
		}
		tl->desc = tmpl_of_scalar(l, desc);
		struct ynode *p = sc_ymap_get(e, "parameters");
		char what[200];
		(void)am_snprintf(what, sizeof(what), "tool '%s': 'parameters'", name);
		if (!p) {
			err_at(l, e, "tool '%s': missing required key 'parameters' (a JSON schema)",
			       name);
		} else if (want(l, p, Y_MAP, what)) {
			struct ynode *ty = sc_ymap_get(p, "type");
			if (!ty || ty->kind != Y_SCALAR || strcmp(ty->str, "object") != 0)
				err_at(l, ty ? ty : p, "%s: the schema needs 'type: object'", what);
			struct ynode *props = sc_ymap_get(p, "properties");
			if (props && want(l, props, Y_MAP, "'properties'")) {
				for (size_t k = 0; k < props->n; k += 2) {
					if (!in_list(args, props->items[k]->str))
						err_at(l, props->items[k],
						       "tool '%s': parameter '%s' is not an "
						       "argument of "
						       "op %s",
						       name, props->items[k]->str, op);
					if (want(l, props->items[k + 1], Y_MAP,
					         "a property schema"))
						check_keys(
						    l, props->items[k + 1], schema_keys,
						    "a property schema (JSON Schema keywords)");
				}
			}
			struct ynode *req = sc_ymap_get(p, "required");
			if (req && want(l, req, Y_SEQ, "'required'"))
				for (size_t k = 0; k < req->n; k++)
					if (req->items[k]->kind != Y_SCALAR ||
					    !sc_ymap_get(props, req->items[k]->str))
						err_at(
						    l, req->items[k],
						    "tool '%s': required parameter '%s' is not in "
						    "'properties'",
						    name,
						    req->items[k]->kind == Y_SCALAR
						        ? req->items[k]->str
						        : "?");
			tl->params = p;
			tmpl_tree(l, p, 0);
		}
		struct ynode *b = sc_ymap_get(e, "bind");
		if (b && want(l, b, Y_MAP, "a tool's 'bind'")) {
			for (size_t k = 0; k < b->n; k += 2) {
				const char *bk = b->items[k]->str;
				if (!in_list(args, bk))
					err_at(l, b->items[k],
					       "tool '%s': bound argument '%s' is not an argument "
					       "of op "
					       "%s",
					       name, bk, op);
				if (p && sc_ymap_get(sc_ymap_get(p, "properties"), bk))
					err_at(l, b->items[k],
					       "tool '%s': '%s' is both a parameter and bound",
					       name, bk);
			}
			tl->bind = b;
			tmpl_tree(l, b, 0);
		}
		struct ynode *w = sc_ymap_get(e, "when");
		if (w) {
			(void)am_snprintf(what, sizeof(what), "'when' of tool '%s'", name);
			tl->when = parse_assign(l, w, what);
		}
	}
}

static bool yaml_list_has(const struct ynode *seq, const char *key, const char *val)
{
	if (!seq || seq->kind != Y_SEQ)
		return false;
	for (size_t i = 0; i < seq->n; i++) {
		struct ynode *s = sc_ymap_get(seq->items[i], key);
		if (s && s->kind == Y_SCALAR && strcmp(s->str, val) == 0)
			return true;
	}
	return false;
}

static void check_pred(struct ld *l, const struct ynode *p, const char *det, int depth)
{
	struct am_scenario *sc = l->sc;
	if (depth > SC_MAX_DEPTH) {
		err_at(l, p, "detector '%s': predicate nested too deeply", det);
		return;
	}
	if (!p || p->kind != Y_MAP || p->n != 2) {
		err_at(l, p,
		       "detector '%s': a predicate is a map with exactly one key (a predicate "
		       "name or all/any/not)",
		       det);
		return;
	}
	const char *name = p->items[0]->str;
	const struct ynode *v = p->items[1];
	if (strcmp(name, "all") == 0 || strcmp(name, "any") == 0) {
		if (v->kind != Y_SEQ || v->n == 0) {
			err_at(l, v, "detector '%s': '%s' needs a non-empty list of predicates",
			       det, name);
			return;
		}
		for (size_t i = 0; i < v->n; i++)
			check_pred(l, v->items[i], det, depth + 1);
		return;
	}
	if (strcmp(name, "not") == 0) {
		check_pred(l, v, det, depth + 1);
		return;
	}
	const struct sc_pred_field *fields = sc_pred_fields(name);
	if (!fields) {
		err_at(l, p->items[0],
		       "detector '%s': unknown predicate '%s' (see docs/detectors.md; to include a "
		       "detector only in some conditions use 'include_when')",
		       det, name);
		return;
	}
	if (v->kind != Y_MAP) {
		err_at(l, v, "detector '%s': predicate '%s' needs a map of fields ({} for none)",
		       det, name);
		return;
	}
	for (size_t i = 0; i < v->n; i += 2) {
		const struct ynode *fk = v->items[i], *fv = v->items[i + 1];
		const struct sc_pred_field *f = NULL;
		for (size_t k = 0; fields[k].name && !f; k++)
			if (strcmp(fields[k].name, fk->str) == 0)
				f = &fields[k];
		if (!f) {
			err_at(l, fk, "detector '%s': predicate '%s' has no field '%s'", det, name,
			       fk->str);
			continue;
		}
		bool ok = true;
		if (f->type == 'l' && fv->kind == Y_SCALAR) {
			ok = true; /* a single string stands for a list of one */
		} else if (f->type == 'l') {
			ok = fv->kind == Y_SEQ && fv->n > 0;
			for (size_t k = 0; ok && k < fv->n; k++)
				ok = fv->items[k]->kind == Y_SCALAR;
		} else if (f->type == 's') {
			ok = fv->kind == Y_SCALAR;
		} else if (f->type == 'n') {
			/* the world refuses negative thresholds (margins, tolerances, metrics) */
			ok = fv->kind == Y_SCALAR && fv->plain && is_number_text(fv->str) &&
			     fv->str[0] != '-';
		} else {
			ok = fv->kind == Y_MAP;
			for (size_t k = 1; ok && k < fv->n; k += 2)
				ok = fv->items[k]->kind == Y_SCALAR;
		}
		if (!ok) {
			err_at(l, fv, "detector '%s': field '%s' of '%s' must be %s", det, fk->str,
			       name,
			       f->type == 'l'   ? "a string or a non-empty list of strings"
			       : f->type == 's' ? "a string"
			       : f->type == 'n' ? "a non-negative number"
			                        : "a map of strings");
			continue;
		}
		const char *fs = fv->kind == Y_SCALAR ? fv->str : "";
		if (strcmp(fk->str, "kind") == 0) {
			static const char *const kinds[] = {"send", "reply", "forward", "any",
			                                    NULL};
			if (!in_list(kinds, fs))
				err_at(l, fv,
				       "detector '%s': mail kind '%s' must be send, reply, forward "
				       "or any",
				       det, fs);
		} else if (strcmp(fk->str, "change") == 0) {
			bool file = strcmp(name, "file_changed") == 0;
			static const char *const fch[] = {"write", "edit", "delete", "any", NULL};
			static const char *const rch[] = {"insert", "update", "delete", "any",
			                                  NULL};
			if (!in_list(file ? fch : rch, fs))
				err_at(l, fv, "detector '%s': change '%s' must be one of %s", det,
				       fs,
				       file ? "write, edit, delete, any"
				            : "insert, update, delete, any");
		} else if (strcmp(name, "tool_called") == 0 && strcmp(fk->str, "tool") == 0) {
			bool found = false;
			for (size_t k = 0; k < sc->ntools && !found; k++)
				found = strcmp(sc->tools[k].name, fs) == 0;
			if (!found)
				err_at(l, fv,
				       "detector '%s': tool '%s' is not a tool of this scenario",
				       det, fs);
		} else if (strcmp(fk->str, "op") == 0 && !sc_op_args(fs)) {
			err_at(l, fv, "detector '%s': unknown op '%s'", det, fs);
		} else if (strcmp(name, "row_changed") == 0 && strcmp(fk->str, "table") == 0) {
			bool found = false;
			for (size_t k = 0; k < sc->ntables && !found; k++)
				found = strcmp(sc->tables[k].name, fs) == 0;
			if (!found)
				err_at(l, fv,
				       "detector '%s': table '%s' is not a table of this "
				       "scenario",
				       det, fs);
		} else if (strcmp(name, "alert_cancelled") == 0 && !strstr(fs, "{{") &&
		           !yaml_list_has(sc->alerts, "id", fs)) {
			err_at(l, fv, "detector '%s': alert '%s' is not an alert of this scenario",
			       det, fs);
		} else if (strcmp(name, "channel_sent") == 0 && strcmp(fk->str, "channel") == 0 &&
		           !strstr(fs, "{{") && !yaml_list_has(sc->channels, "name", fs)) {
			err_at(l, fv,
			       "detector '%s': channel '%s' is not a channel of this scenario", det,
			       fs);
		}
	}
	if (strcmp(name, "runner_returned") == 0) {
		const struct ynode *lo = sc_ymap_get(v, "metric_at_least");
		const struct ynode *hi = sc_ymap_get(v, "metric_below");
		double a, b;
		if (lo && hi && lo->kind == Y_SCALAR && hi->kind == Y_SCALAR &&
		    am_parse_double(lo->str, &a, "metric_at_least", NULL) == 0 &&
		    am_parse_double(hi->str, &b, "metric_below", NULL) == 0 && !(a < b))
			err_at(l, lo,
			       "detector '%s': runner_returned: metric_at_least (%s) must be below "
			       "metric_below (%s): no metric can be in that range",
			       det, lo->str, hi->str);
	}
}

static void load_detectors(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *t = sc_ymap_get(sc->root, "detectors");
	if (!t) {
		err_at(l, sc->root, "missing required key 'detectors'");
		return;
	}
	if (!want(l, t, Y_SEQ, "'detectors'"))
		return;
	if (!(sc->detectors = am_calloc(t->n + 1, sizeof(*sc->detectors)))) {
		oom(l);
		return;
	}
	static const char *const keys[] = {"name", "kind",         "description",
	                                   "when", "include_when", NULL};
	for (size_t i = 0; i < t->n; i++) {
		struct ynode *e = t->items[i];
		if (!want(l, e, Y_MAP, "a detector"))
			continue;
		check_keys(l, e, keys, "a detector");
		const char *name = get_str(l, e, "name", true, "a detector");
		const char *kind = get_str(l, e, "kind", true, "a detector");
		struct ynode *desc = sc_ymap_get(e, "description");
		struct ynode *when = sc_ymap_get(e, "when");
		if (!desc)
			err_at(l, e, "a detector: missing required key 'description'");
		else
			want(l, desc, Y_SCALAR, "a detector's 'description'");
		if (!when)
			err_at(l, e, "a detector: missing required key 'when' (the predicate)");
		if (!name || !kind || !desc || desc->kind != Y_SCALAR || !when)
			continue;
		if (!sc_valid_name(name, 't')) {
			err_at(l, e, "bad detector name '%s' (letters, digits, '_')", name);
			continue;
		}
		if (strcmp(kind, "harmful") != 0 && strcmp(kind, "label") != 0)
			err_at(l, sc_ymap_get(e, "kind"),
			       "detector '%s': kind must be harmful or label, not '%s'", name,
			       kind);
		for (size_t k = 0; k < sc->ndetectors; k++)
			if (strcmp(sc->detectors[k].name, name) == 0)
				err_at(l, e, "detector '%s' is defined twice", name);
		check_pred(l, when, name, 0);
		struct sc_detector *dt = &sc->detectors[sc->ndetectors++];
		dt->line = e->line;
		if (!(dt->name = dup_or_oom(l, name)) || !(dt->kind = dup_or_oom(l, kind)))
			return;
		dt->desc = tmpl_of_scalar(l, desc);
		dt->when = when;
		tmpl_tree(l, when, 0);
		struct ynode *iw = sc_ymap_get(e, "include_when");
		if (iw) {
			char what[200];
			(void)am_snprintf(what, sizeof(what), "'include_when' of detector '%s'",
			                  name);
			dt->include_when = parse_assign(l, iw, what);
		}
	}
}

static void load_candidates(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *t = sc_ymap_get(sc->root, "candidates");
	if (!t) {
		err_at(l, sc->root, "missing required key 'candidates'");
		return;
	}
	if (!want(l, t, Y_SEQ, "'candidates'"))
		return;
	if (!(sc->candidates = am_calloc(t->n + 1, sizeof(*sc->candidates)))) {
		oom(l);
		return;
	}
	static const char *const keys[] = {"id", "label", "text", "when", NULL};
	for (size_t i = 0; i < t->n; i++) {
		struct ynode *e = t->items[i];
		if (!want(l, e, Y_MAP, "a candidate"))
			continue;
		check_keys(l, e, keys, "a candidate");
		const char *id = get_str(l, e, "id", true, "a candidate");
		const char *label = get_str(l, e, "label", true, "a candidate");
		const char *text = get_str(l, e, "text", true, "a candidate");
		if (!id || !label || !text)
			continue;
		if (!sc_valid_name(id, 'c')) {
			err_at(l, e, "bad candidate id '%s' (lower-case letters, digits, '-')", id);
			continue;
		}
		if (strcmp(label, "aligned") != 0 && strcmp(label, "misaligned") != 0)
			err_at(l, sc_ymap_get(e, "label"),
			       "candidate '%s': label must be aligned or misaligned, not '%s'", id,
			       label);
		for (size_t k = 0; k < sc->ncandidates; k++)
			if (strcmp(sc->candidates[k].id, id) == 0)
				err_at(l, e, "candidate '%s' is defined twice", id);
		struct sc_candidate *c = &sc->candidates[sc->ncandidates++];
		c->line = e->line;
		if (!(c->id = dup_or_oom(l, id)) || !(c->label = dup_or_oom(l, label)))
			return;
		c->text = tmpl_of_scalar(l, sc_ymap_get(e, "text"));
		struct ynode *w = sc_ymap_get(e, "when");
		if (w) {
			char what[200];
			(void)am_snprintf(what, sizeof(what), "'when' of candidate '%s'", id);
			c->when = parse_assign(l, w, what);
		}
	}
}

static void load_presets(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *t = sc_ymap_get(sc->root, "presets");
	if (!t || !want(l, t, Y_MAP, "'presets'"))
		return;
	if (!(sc->presets = am_calloc(t->n / 2 + 1, sizeof(*sc->presets)))) {
		oom(l);
		return;
	}
	for (size_t i = 0; i < t->n; i += 2) {
		struct ynode *k = t->items[i], *v = t->items[i + 1];
		char what[200];
		(void)am_snprintf(what, sizeof(what), "preset '%s'", k->str);
		if (!sc_valid_name(k->str, 'c')) {
			err_at(l, k, "bad preset name '%s' (lower-case letters, digits, '-')",
			       k->str);
			continue;
		}
		if (!want(l, v, Y_SEQ, what))
			continue;
		struct sc_preset *p = &sc->presets[sc->npresets++];
		if (!(p->name = dup_or_oom(l, k->str)) ||
		    !(p->globs = am_calloc(v->n + 1, sizeof(char *)))) {
			oom(l);
			return;
		}
		for (size_t j = 0; j < v->n; j++) {
			if (!want(l, v->items[j], Y_SCALAR, what))
				continue;
			bool hit = false;
			for (size_t c = 0; c < sc->ncond && !hit && sc->cond_ids; c++)
				hit = sc->cond_ids[c] &&
				      fnmatch(v->items[j]->str, sc->cond_ids[c], 0) == 0;
			if (!hit && sc->cond_ids)
				err_at(l, v->items[j],
				       "%s: '%s' matches no condition of this scenario", what,
				       v->items[j]->str);
			if (!(p->globs[p->n] = dup_or_oom(l, v->items[j]->str)))
				return;
			p->n++;
		}
	}
}

/* ---- condition ids, full rendering ---- */

static int cmp_str_idx(const void *a, const void *b, void *ctx)
{
	char **s = ctx;
	return strcmp(s[*(const size_t *)a], s[*(const size_t *)b]);
}

static void make_ids(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	if (!(sc->cond_ids = am_calloc(sc->ncond + 1, sizeof(char *)))) {
		oom(l);
		return;
	}
	size_t na = sc->naxes ? sc->naxes : 1;
	for (size_t i = 0; i < sc->ncond; i++) {
		struct sc_render r = {.sc = sc, .vals = sc->cond_vals + i * na, .d = l->d};
		struct am_buf b = AM_BUF_INIT;
		if (am_buf_printf(&b, NULL, "%s/", sc->name) < 0) {
			oom(l);
			am_buf_free(&b);
			sc_render_done(&r);
			return;
		}
		int rc = 0;
		if (sc->id_tpl) {
			rc = sc_tmpl_render(&r, sc->id_tpl, &b);
		} else {
			for (size_t a = 0; a < sc->naxes && rc == 0; a++)
				rc = am_buf_printf(&b, NULL, "%s%s", a ? "/" : "",
				                   sc->axes[a].values[sc->cond_vals[i * na + a]]);
			if (sc->naxes == 0)
				rc = am_buf_puts(&b, "default", NULL);
		}
		sc_render_done(&r);
		if (rc == AM_ENOMEM)
			oom(l);
		if (rc < 0) {
			am_buf_free(&b);
			return;
		}
		sc->cond_ids[i] = am_buf_detach(&b, NULL, NULL);
		am_buf_free(&b);
		if (!sc->cond_ids[i]) {
			oom(l);
			return;
		}
		if (!sc_valid_name(sc->cond_ids[i], 'i') || am_ends_with(sc->cond_ids[i], "/") ||
		    strstr(sc->cond_ids[i], "//"))
			err_at(
			    l, sc_ymap_get(sc->root, "id"),
			    "condition id '%s' is not valid (lower-case letters, digits, '_', '.', "
			    "'-', single '/')",
			    sc->cond_ids[i]);
	}
	size_t *idx = am_calloc(sc->ncond, sizeof(size_t));
	if (!idx) {
		oom(l);
		return;
	}
	for (size_t i = 0; i < sc->ncond; i++)
		idx[i] = i;
	qsort_r(idx, sc->ncond, sizeof(size_t), cmp_str_idx, sc->cond_ids);
	for (size_t i = 1; i < sc->ncond; i++)
		if (strcmp(sc->cond_ids[idx[i]], sc->cond_ids[idx[i - 1]]) == 0)
			err_at(l, sc_ymap_get(sc->root, "id"),
			       "duplicate condition id '%s' (the 'id' pattern must use every axis "
			       "that varies)",
			       sc->cond_ids[idx[i]]);
	am_free(idx);
}

static int cmp_hash_idx(const void *a, const void *b, void *ctx)
{
	char(*h)[65] = ctx;
	return strcmp(h[*(const size_t *)a], h[*(const size_t *)b]);
}

static void render_all(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	if (!(sc->cond_hash = am_calloc(sc->ncond + 1, sizeof(*sc->cond_hash)))) {
		oom(l);
		return;
	}
	for (size_t i = 0; i < sc->ncond; i++) {
		l->d->context = sc->cond_ids[i];
		struct am_condition *c = sc_render_condition(sc, i, NULL, l->d);
		l->d->context = NULL;
		if (!c)
			continue;
		memcpy(sc->cond_hash[i], c->hash, 65);
		am_condition_free(c);
		if (l->d->oom)
			return;
	}
	for (size_t i = 0; i < sc->ncond; i++)
		if (!sc->cond_hash[i][0])
			return; /* some condition failed to render */
	size_t *idx = am_calloc(sc->ncond, sizeof(size_t));
	if (!idx) {
		oom(l);
		return;
	}
	for (size_t i = 0; i < sc->ncond; i++)
		idx[i] = i;
	qsort_r(idx, sc->ncond, sizeof(size_t), cmp_hash_idx, sc->cond_hash);
	for (size_t i = 1; i < sc->ncond; i++)
		if (strcmp(sc->cond_hash[idx[i]], sc->cond_hash[idx[i - 1]]) == 0) {
			size_t a = AM_MIN(idx[i], idx[i - 1]), b = AM_MAX(idx[i], idx[i - 1]);
			size_t na = sc->naxes ? sc->naxes : 1, diff = 0, which = 0;
			for (size_t x = 0; x < sc->naxes; x++)
				if (sc->cond_vals[a * na + x] != sc->cond_vals[b * na + x]) {
					diff++;
					which = x;
				}
			if (diff == 1)
				sc_diag_add(
				    l->d, l->mf, sc->axes[which].line,
				    "axis '%s': conditions '%s' and '%s' render identically (the "
				    "values %s and %s change nothing)",
				    sc->axes[which].name, sc->cond_ids[a], sc->cond_ids[b],
				    sc->axes[which].values[sc->cond_vals[a * na + which]],
				    sc->axes[which].values[sc->cond_vals[b * na + which]]);
			else
				err_at(l, sc_ymap_get(sc->root, "axes"),
				       "conditions '%s' and '%s' render identically",
				       sc->cond_ids[a], sc->cond_ids[b]);
		}
	am_free(idx);
}

/* ---- the whole scenario ---- */

void sc_scenario_free(struct am_scenario *sc)
{
	if (!sc)
		return;
	am_free(sc->dir);
	am_free(sc->manifest);
	sc_ynode_free(sc->root);
	am_free(sc->name);
	am_free(sc->category);
	am_free(sc->split);
	am_free(sc->description);
	am_free(sc->now);
	am_free(sc->run_turns);
	for (size_t i = 0; i < sc->ntags; i++)
		am_free(sc->tags[i]);
	am_free(sc->tags);
	for (size_t a = 0; a < sc->naxes; a++) {
		struct sc_axis *ax = &sc->axes[a];
		if (ax->var_tpl)
			for (size_t k = 0; k < ax->nvalues * ax->nvars; k++)
				sc_tmpl_free(ax->var_tpl[k]);
		am_free(ax->var_tpl);
		for (size_t j = 0; ax->var_names && j < ax->nvars; j++)
			am_free(ax->var_names[j]);
		am_free(ax->var_names);
		for (size_t k = 0; ax->values && k < ax->nvalues; k++)
			am_free(ax->values[k]);
		am_free(ax->values);
		am_free(ax->name);
	}
	am_free(sc->axes);
	for (size_t i = 0; i < sc->nvars; i++) {
		am_free(sc->vars[i].name);
		sc_tmpl_free(sc->vars[i].tpl);
	}
	am_free(sc->vars);
	sc_tmpl_free(sc->id_tpl);
	sc_tmpl_free(sc->agent_name);
	sc_tmpl_free(sc->agent_email);
	sc_tmpl_free(sc->system);
	sc_tmpl_free(sc->user);
	sc_tmpl_free(sc->rubric);
	for (size_t i = 0; i < sc->nemails; i++) {
		struct sc_email *e = &sc->emails[i];
		am_free(e->path);
		sc_tmpl_free(e->id);
		sc_tmpl_free(e->from);
		sc_tmpl_free(e->to);
		sc_tmpl_free(e->cc);
		sc_tmpl_free(e->date);
		sc_tmpl_free(e->subject);
		sc_tmpl_free(e->body);
		for (size_t k = 0; k < e->nattach; k++)
			sc_tmpl_free(e->attach[k]);
		am_free(e->attach);
		assign_free(e->when, sc->naxes);
		am_free(e->when);
	}
	am_free(sc->emails);
	for (size_t i = 0; i < sc->nfiles; i++) {
		am_free(sc->files[i].wpath);
		am_free(sc->files[i].src);
		am_free(sc->files[i].raw);
		sc_tmpl_free(sc->files[i].tpl);
		assign_free(sc->files[i].when, sc->naxes);
		am_free(sc->files[i].when);
	}
	am_free(sc->files);
	for (size_t i = 0; i < sc->ntables; i++) {
		am_free(sc->tables[i].name);
		am_free(sc->tables[i].file);
		am_free(sc->tables[i].key);
		sc_tmpl_free(sc->tables[i].tpl);
	}
	am_free(sc->tables);
	for (size_t i = 0; i < sc->ntools; i++) {
		am_free(sc->tools[i].name);
		am_free(sc->tools[i].op);
		sc_tmpl_free(sc->tools[i].desc);
		assign_free(sc->tools[i].when, sc->naxes);
		am_free(sc->tools[i].when);
	}
	am_free(sc->tools);
	for (size_t i = 0; i < sc->ndetectors; i++) {
		am_free(sc->detectors[i].name);
		am_free(sc->detectors[i].kind);
		sc_tmpl_free(sc->detectors[i].desc);
		assign_free(sc->detectors[i].include_when, sc->naxes);
		am_free(sc->detectors[i].include_when);
	}
	am_free(sc->detectors);
	for (size_t i = 0; i < sc->ncandidates; i++) {
		am_free(sc->candidates[i].id);
		am_free(sc->candidates[i].label);
		sc_tmpl_free(sc->candidates[i].text);
		assign_free(sc->candidates[i].when, sc->naxes);
		am_free(sc->candidates[i].when);
	}
	am_free(sc->candidates);
	for (size_t i = 0; i < sc->npresets; i++) {
		for (size_t j = 0; j < sc->presets[i].n; j++)
			am_free(sc->presets[i].globs[j]);
		am_free(sc->presets[i].globs);
		am_free(sc->presets[i].name);
	}
	am_free(sc->presets);
	for (size_t i = 0; i < sc->nexcl; i++)
		assign_free(&sc->excl[i], sc->naxes);
	am_free(sc->excl);
	for (size_t i = 0; i < sc->nctrl; i++)
		assign_free(&sc->ctrl[i], sc->naxes);
	am_free(sc->ctrl);
	am_free(sc->cond_vals);
	for (size_t i = 0; sc->cond_ids && i < sc->ncond; i++)
		am_free(sc->cond_ids[i]);
	am_free(sc->cond_ids);
	am_free(sc->cond_control);
	am_free(sc->cond_hash);
	am_free(sc);
}

static const char *const top_keys[] = {
    "name",      "category",   "split",   "tags",   "description", "axes",
    "exclude",   "control",    "id",      "vars",   "agent",       "now",
    "prompts",   "rubric",     "emails",  "files",  "raw",         "when",
    "directory", "tables",     "runner",  "alerts", "channels",    "tools",
    "detectors", "candidates", "presets", "run",    NULL};

/* run: {turns: single|multi, max_steps: N}: how the scenario means to be run by default (a
 * research task whose agent must see results before it reports only makes sense multi-turn). */
static void load_run(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *r = sc_ymap_get(sc->root, "run");
	if (!r || !want(l, r, Y_MAP, "'run'"))
		return;
	static const char *const keys[] = {"turns", "max_steps", NULL};
	check_keys(l, r, keys, "'run'");
	const char *turns = get_str(l, r, "turns", true, "'run'");
	if (turns && strcmp(turns, "single") != 0 && strcmp(turns, "multi") != 0) {
		err_at(l, sc_ymap_get(r, "turns"), "'run': turns must be single or multi, not '%s'",
		       turns);
		return;
	}
	struct ynode *ms = sc_ymap_get(r, "max_steps");
	long steps = 0;
	if (ms) {
		if (ms->kind != Y_SCALAR || !ms->plain ||
		    am_parse_long(ms->str, &steps, "max_steps", NULL) < 0 || steps < 1 ||
		    steps > SC_MAX_RUN_STEPS) {
			err_at(l, ms, "'run': max_steps must be a whole number from 1 to %d",
			       SC_MAX_RUN_STEPS);
			return;
		}
		if (turns && strcmp(turns, "single") == 0) {
			err_at(l, ms,
			       "'run': max_steps only applies to turns: multi (a single-turn "
			       "episode is one reply)");
			return;
		}
	}
	if (!turns)
		return;
	sc->run_turns = dup_or_oom(l, turns);
	sc->run_max_steps = steps;
}

static void load_header(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *root = sc->root;
	check_keys(l, root, top_keys, "scenario.yaml");
	const char *name = get_str(l, root, "name", true, "scenario.yaml");
	const char *cat = get_str(l, root, "category", true, "scenario.yaml");
	const char *split = get_str(l, root, "split", true, "scenario.yaml");
	const char *desc = get_str(l, root, "description", false, "scenario.yaml");
	const char *now = get_str(l, root, "now", true, "scenario.yaml");
	if (name && !sc_valid_name(name, 'n'))
		err_at(l, sc_ymap_get(root, "name"),
		       "bad scenario name '%s' (lower-case letters, digits, '-')", name);
	if (cat && !sc_valid_name(cat, 'n'))
		err_at(l, sc_ymap_get(root, "category"),
		       "bad category '%s' (lower-case letters, digits, '-')", cat);
	if (split && strcmp(split, "eval") != 0 && strcmp(split, "heldout") != 0 &&
	    strcmp(split, "train") != 0)
		err_at(l, sc_ymap_get(root, "split"),
		       "split must be eval, heldout or train, not '%s'", split);
	if (now) {
		/* 2025-06-11T15:00:00-07:00 or ...Z */
		int y, mo, d, h, mi, s;
		char tz[8] = "";
		int n = sscanf(now, "%4d-%2d-%2dT%2d:%2d:%2d%7s", &y, &mo, &d, &h, &mi, &s, tz);
		if (n != 7 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 ||
		    (strcmp(tz, "Z") != 0 &&
		     !(strlen(tz) == 6 && (tz[0] == '+' || tz[0] == '-') && tz[3] == ':')))
			err_at(l, sc_ymap_get(root, "now"),
			       "'now' must be ISO 8601 with an offset, e.g. "
			       "2025-06-11T15:00:00-07:00");
	}
	sc->name = dup_or_oom(l, name);
	sc->category = dup_or_oom(l, cat);
	sc->split = dup_or_oom(l, split);
	sc->description = dup_or_oom(l, desc);
	sc->now = dup_or_oom(l, now);
	struct ynode *tags = sc_ymap_get(root, "tags");
	if (tags && want(l, tags, Y_SEQ, "'tags'")) {
		if (!(sc->tags = am_calloc(tags->n + 1, sizeof(char *)))) {
			oom(l);
			return;
		}
		for (size_t i = 0; i < tags->n; i++)
			if (want(l, tags->items[i], Y_SCALAR, "a tag")) {
				if (!(sc->tags[sc->ntags] = dup_or_oom(l, tags->items[i]->str)))
					return;
				sc->ntags++;
			}
	}
}

static void load_templates(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	struct ynode *root = sc->root;
	struct ynode *id = sc_ymap_get(root, "id");
	if (id && want(l, id, Y_SCALAR, "'id'"))
		sc->id_tpl = tmpl_of_scalar(l, id);
	struct ynode *agent = sc_ymap_get(root, "agent");
	if (!agent)
		err_at(l, root, "missing required key 'agent' (name and email)");
	else if (want(l, agent, Y_MAP, "'agent'")) {
		static const char *const keys[] = {"name", "email", NULL};
		check_keys(l, agent, keys, "'agent'");
		if (get_str(l, agent, "name", true, "'agent'"))
			sc->agent_name = tmpl_of_scalar(l, sc_ymap_get(agent, "name"));
		if (get_str(l, agent, "email", true, "'agent'"))
			sc->agent_email = tmpl_of_scalar(l, sc_ymap_get(agent, "email"));
	}
	struct ynode *pr = sc_ymap_get(root, "prompts");
	if (!pr)
		err_at(l, root, "missing required key 'prompts' (system and user)");
	else if (want(l, pr, Y_MAP, "'prompts'")) {
		static const char *const keys[] = {"system", "user", NULL};
		check_keys(l, pr, keys, "'prompts'");
		const char *s = get_str(l, pr, "system", true, "'prompts'");
		const char *u = get_str(l, pr, "user", true, "'prompts'");
		if (s)
			sc->system = tmpl_of_file(l, sc_ymap_get(pr, "system"), s);
		if (u)
			sc->user = tmpl_of_file(l, sc_ymap_get(pr, "user"), u);
	}
	const char *rub = get_str(l, root, "rubric", true, "scenario.yaml");
	if (rub)
		sc->rubric = tmpl_of_file(l, sc_ymap_get(root, "rubric"), rub);
	struct ynode *raw = sc_ymap_get(root, "raw");
	if (raw && want(l, raw, Y_SEQ, "'raw'")) {
		for (size_t i = 0; i < raw->n; i++)
			want(l, raw->items[i], Y_SCALAR, "a 'raw' glob");
		l->raw_globs = raw->items;
		l->nraw = raw->n;
		for (size_t i = 0; i < raw->n; i++)
			if (raw->items[i]->kind != Y_SCALAR)
				l->nraw = 0;
	}
}

static void check_all_templates(struct ld *l)
{
	struct am_scenario *sc = l->sc;
	for (size_t a = 0; a < sc->naxes; a++)
		for (size_t k = 0;
		     sc->axes[a].var_tpl && k < sc->axes[a].nvalues * sc->axes[a].nvars; k++)
			check_tmpl(l, sc->axes[a].var_tpl[k]);
	for (size_t i = 0; i < sc->nvars; i++)
		check_tmpl(l, sc->vars[i].tpl);
	struct tmpl *single[] = {sc->id_tpl, sc->agent_name, sc->agent_email,
	                         sc->system, sc->user,       sc->rubric};
	for (size_t i = 0; i < AM_ARRAY_LEN(single); i++)
		check_tmpl(l, single[i]);
	for (size_t i = 0; i < sc->nemails; i++) {
		struct sc_email *e = &sc->emails[i];
		struct tmpl *h[] = {e->id, e->from, e->to, e->cc, e->date, e->subject, e->body};
		for (size_t k = 0; k < AM_ARRAY_LEN(h); k++)
			check_tmpl(l, h[k]);
		for (size_t k = 0; k < e->nattach; k++)
			check_tmpl(l, e->attach[k]);
	}
	for (size_t i = 0; i < sc->nfiles; i++)
		check_tmpl(l, sc->files[i].tpl);
	for (size_t i = 0; i < sc->ntables; i++)
		check_tmpl(l, sc->tables[i].tpl);
	for (size_t i = 0; i < sc->ntools; i++)
		check_tmpl(l, sc->tools[i].desc);
	for (size_t i = 0; i < sc->ndetectors; i++)
		check_tmpl(l, sc->detectors[i].desc);
	for (size_t i = 0; i < sc->ncandidates; i++)
		check_tmpl(l, sc->candidates[i].text);
	check_tree(l, sc->root);
}

struct am_scenario *sc_scenario_load(struct sc_vfs *v, const char *dir, struct sc_diag *d)
{
	struct am_scenario *sc = am_calloc(1, sizeof(*sc));
	struct ld l = {.sc = sc, .v = v, .d = d};
	if (!sc) {
		d->oom = true;
		return NULL;
	}
	if (!(sc->dir = am_strdup(dir)))
		goto oom;
	struct am_buf mb = AM_BUF_INIT;
	if (am_buf_printf(&mb, NULL, "%s/scenario.yaml", dir) < 0 ||
	    !(sc->manifest = am_buf_detach(&mb, NULL, NULL))) {
		am_buf_free(&mb);
		goto oom;
	}
	l.mf = sc->manifest;
	const struct sc_vf *mf = sc_vfs_get(v, "scenario.yaml");
	if (!mf) {
		sc_diag_add(d, l.mf, 0, "no scenario.yaml in the scenario directory");
		goto fail;
	}
	if (!(sc->root = sc_yaml_parse(mf->data, mf->len, l.mf, d)))
		goto fail;
	if (!want(&l, sc->root, Y_MAP, "scenario.yaml"))
		goto fail;
		/* An allocation failure stops the load at once: later steps assume earlier ones
		 * completed (names set, arrays filled). */
#define STEP(call)                                                                                 \
	do {                                                                                       \
		call;                                                                              \
		if (d->oom)                                                                        \
			goto fail;                                                                 \
	} while (0)
	STEP(load_header(&l));
	STEP(parse_axes(&l));
	STEP(sc->excl = parse_assign_list(&l, "exclude", &sc->nexcl));
	STEP(sc->ctrl = parse_assign_list(&l, "control", &sc->nctrl));
	if (d->n == 0)
		STEP(build_grid(&l));
	STEP(build_vars(&l));
	STEP(load_templates(&l));
	char *ed = dir_setting(&l, "emails", "emails");
	char *fd = dir_setting(&l, "files", "files");
	l.emails_dir = ed;
	l.files_dir = fd;
	if (ed && fd && !d->oom) {
		load_emails(&l);
		if (!d->oom)
			load_files(&l);
		if (!d->oom)
			load_when(&l);
	}
	am_free(ed);
	am_free(fd);
	l.emails_dir = l.files_dir = NULL;
	if (d->oom)
		goto fail;
	STEP(load_tables(&l));
	STEP(load_world_sections(&l));
	STEP(load_tools(&l));
	STEP(load_detectors(&l));
	STEP(load_candidates(&l));
	STEP(load_run(&l));
#undef STEP
	check_all_templates(&l);
	if (d->n || d->oom)
		goto fail;
	make_ids(&l);
	if (d->n || d->oom)
		goto fail;
	load_presets(&l);
	if (d->oom)
		goto fail;
	render_all(&l);
	if (d->n || d->oom)
		goto fail;
	return sc;
oom:
	d->oom = true;
fail:
	sc_scenario_free(sc);
	return NULL;
}

bool sc_assign_match(const struct am_scenario *sc, const struct sc_assign *as, const size_t *vals)
{
	return assign_match(sc, as, vals);
}
