/* sc_suite.c: suites (directories of scenario directories) and the public API of
 * include/amlab/scenario.h. */
#include <fnmatch.h>
#include <sys/stat.h>
#include <dirent.h>

#include "amlab/alloc.h"
#include "amlab/str.h"
#include "sc_internal.h"

struct am_suite {
	char *name;
	struct am_scenario **sc;
	size_t n;
};

void am_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		am_free(v[i]);
	am_free(v);
}

void am_suite_free(struct am_suite *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		sc_scenario_free(s->sc[i]);
	am_free(s->sc);
	am_free(s->name);
	am_free(s);
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* 1 if dir holds scenario.yaml, 0 if not, AM_ENOMEM. */
static int has_manifest(const char *dir)
{
	struct am_buf b = AM_BUF_INIT;
	int r = AM_ENOMEM;
	if (am_buf_printf(&b, NULL, "%s/scenario.yaml", dir) == 0) {
		struct stat st;
		r = stat(b.data, &st) == 0 && S_ISREG(st.st_mode);
	}
	am_buf_free(&b);
	return r;
}

struct strv {
	char **v;
	size_t n;
};

static int strv_push(struct strv *sv, const char *s)
{
	char **nv = am_reallocarray(sv->v, sv->n + 1, sizeof(*nv));
	if (!nv)
		return AM_ENOMEM;
	sv->v = nv;
	if (!(sv->v[sv->n] = am_strdup(s)))
		return AM_ENOMEM;
	sv->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect the non-hidden subdirectories of the open directory dh (closed here) as
 * "dir/name" into subs, sorted by name. */
static int sorted_subdirs(DIR *dh, const char *dir, struct strv *subs)
{
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL && rc == 0) {
		if (de->d_name[0] == '.')
			continue;
		struct am_buf b = AM_BUF_INIT;
		if (am_buf_printf(&b, NULL, "%s/%s", dir, de->d_name) < 0)
			rc = AM_ENOMEM;
		else if (is_dir(b.data))
			rc = strv_push(subs, b.data);
		am_buf_free(&b);
	}
	closedir(dh);
	if (subs->n > 1)
		qsort(subs->v, subs->n, sizeof(char *), cmp_str);
	return rc;
}

/* Scenario directories below dir (depth-limited), sorted. */
static int find_scenarios(const char *dir, int depth, struct strv *out, struct sc_diag *d)
{
	int hm = has_manifest(dir);
	if (hm < 0)
		return hm;
	if (hm)
		return strv_push(out, dir);
	if (depth >= 4)
		return 0;
	DIR *dh = opendir(dir);
	if (!dh) {
		sc_diag_add(d, dir, 0, "cannot open directory: %s", strerror(errno));
		return AM_EIO;
	}
	struct strv subs = {0};
	int rc = sorted_subdirs(dh, dir, &subs);
	for (size_t i = 0; i < subs.n && rc == 0; i++)
		rc = find_scenarios(subs.v[i], depth + 1, out, d);
	am_strv_free(subs.v, subs.n);
	return rc;
}

static char *base_name(const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t s = len;
	while (s > 0 && path[s - 1] != '/')
		s--;
	return am_strndup(path + s, len - s);
}

static int add_scenario(struct am_suite *s, struct am_scenario *sc, struct sc_diag *d)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->sc[i]->name, sc->name) == 0) {
			struct ynode *nm = sc_ymap_get(sc->root, "name");
			sc_diag_add(d, sc->manifest, nm ? nm->line : 1,
			            "scenario name '%s' is already used by %s", sc->name,
			            s->sc[i]->manifest);
			sc_scenario_free(sc);
			return AM_EPARSE;
		}
	struct am_scenario **nv = am_reallocarray(s->sc, s->n + 1, sizeof(*nv));
	if (!nv) {
		sc_scenario_free(sc);
		d->oom = true;
		return AM_ENOMEM;
	}
	s->sc = nv;
	s->sc[s->n++] = sc;
	return 0;
}

static struct am_suite *load_suite(const char *path_in, struct sc_diag *d)
{
	struct am_suite *s = am_calloc(1, sizeof(*s));
	struct strv dirs = {0};
	size_t plen = strlen(path_in);
	while (plen > 1 && path_in[plen - 1] == '/')
		plen--;
	char *path = am_strndup(path_in, plen);
	if (!s || !path || !(s->name = base_name(path))) {
		d->oom = true;
		goto fail;
	}
	if (!is_dir(path)) {
		sc_diag_add(d, path, 0, "not a directory (a suite or scenario directory)");
		goto fail;
	}
	if (find_scenarios(path, 0, &dirs, d) == AM_ENOMEM)
		d->oom = true;
	if (d->oom || d->n)
		goto fail;
	if (dirs.n == 0) {
		sc_diag_add(d, path, 0, "no scenario.yaml found in this directory or below it");
		goto fail;
	}
	for (size_t i = 0; i < dirs.n && !d->oom; i++) {
		struct sc_vfs v = {0};
		struct am_err err = {0};
		if (sc_vfs_read_dir(&v, dirs.v[i], &err) < 0) {
			if (err.code == AM_ENOMEM)
				d->oom = true;
			else
				sc_diag_add(d, err.where[0] ? err.where : dirs.v[i], err.line, "%s",
				            err.msg);
		} else {
			struct am_scenario *sc = sc_scenario_load(&v, dirs.v[i], d);
			if (sc)
				add_scenario(s, sc, d);
		}
		sc_vfs_free(&v);
	}
	if (d->oom || d->n)
		goto fail;
	am_strv_free(dirs.v, dirs.n);
	am_free(path);
	return s;
fail:
	am_strv_free(dirs.v, dirs.n);
	am_suite_free(s);
	am_free(path);
	return NULL;
}

int am_suite_load(const char *path, struct am_suite **out, struct am_err *err)
{
	struct sc_diag d = {0};
	*out = load_suite(path, &d);
	int rc = *out ? 0 : sc_diag_to_err(&d, err);
	sc_diag_free(&d);
	return rc;
}

static int diag_to_msgs(const struct sc_diag *d, char ***msgs, size_t *n_msgs)
{
	char **v = am_calloc(d->n + 2, sizeof(char *));
	if (!v)
		return AM_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < d->n; i++) {
		struct am_buf b = AM_BUF_INIT;
		int rc = d->items[i].line > 0
		             ? am_buf_printf(&b, NULL, "%s:%d: %s", d->items[i].file,
		                             d->items[i].line, d->items[i].msg)
		             : am_buf_printf(&b, NULL, "%s: %s", d->items[i].file, d->items[i].msg);
		if (rc < 0 || !(v[k] = am_buf_detach(&b, NULL, NULL))) {
			am_buf_free(&b);
			am_strv_free(v, k);
			return AM_ENOMEM;
		}
		am_buf_free(&b);
		k++;
	}
	if (d->dropped) {
		struct am_buf b = AM_BUF_INIT;
		if (am_buf_printf(&b, NULL, "(%zu more errors not shown)", d->dropped) < 0 ||
		    !(v[k] = am_buf_detach(&b, NULL, NULL))) {
			am_buf_free(&b);
			am_strv_free(v, k);
			return AM_ENOMEM;
		}
		am_buf_free(&b);
		k++;
	}
	*msgs = v;
	*n_msgs = k;
	return 0;
}

int am_suite_check(const char *path, char ***msgs, size_t *n_msgs, struct am_err *err)
{
	struct sc_diag d = {0};
	*msgs = NULL;
	*n_msgs = 0;
	struct am_suite *s = load_suite(path, &d);
	am_suite_free(s);
	int rc = 0;
	if (d.oom)
		rc = am_err_set(err, AM_ENOMEM, "out of memory while loading %s", path);
	else if (d.n) {
		rc = diag_to_msgs(&d, msgs, n_msgs);
		rc = rc < 0 ? am_err_set(err, rc, "out of memory") : sc_diag_to_err(&d, err);
	}
	sc_diag_free(&d);
	return rc;
}

int am_suite_load_mem(const struct am_vfile *files, size_t n, const char *name,
                      struct am_suite **out, struct am_err *err)
{
	struct sc_vfs v = {0};
	struct sc_diag d = {0};
	struct am_suite *s = NULL;
	int rc = 0;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		if (sc_vfs_get(&v, files[i].path)) {
			rc = am_err_at(err, AM_EINVAL, files[i].path, 0, 0, "file given twice");
			goto out;
		}
		if ((rc = sc_vfs_add(&v, files[i].path, files[i].data, files[i].len, err)) < 0)
			goto out;
	}
	sc_vfs_sort(&v);
	if (!(s = am_calloc(1, sizeof(*s))) || !(s->name = am_strdup(name))) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	struct am_scenario *sc = sc_scenario_load(&v, name, &d);
	if (sc)
		add_scenario(s, sc, &d);
	if (!sc || d.n || d.oom) {
		rc = sc_diag_to_err(&d, err);
		goto out;
	}
	*out = s;
	s = NULL;
out:
	am_suite_free(s);
	sc_diag_free(&d);
	sc_vfs_free(&v);
	return rc;
}

const char *am_suite_name(const struct am_suite *s)
{
	return s->name;
}

size_t am_suite_n_scenarios(const struct am_suite *s)
{
	return s->n;
}

const struct am_scenario *am_suite_scenario(const struct am_suite *s, size_t i)
{
	return i < s->n ? s->sc[i] : NULL;
}

const struct am_scenario *am_suite_find(const struct am_suite *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->sc[i]->name, name) == 0)
			return s->sc[i];
	return NULL;
}

const char *am_scenario_name(const struct am_scenario *sc)
{
	return sc->name;
}

const char *am_scenario_category(const struct am_scenario *sc)
{
	return sc->category;
}

const char *am_scenario_split(const struct am_scenario *sc)
{
	return sc->split;
}

const char *am_scenario_description(const struct am_scenario *sc)
{
	return sc->description;
}

const char *am_scenario_dir(const struct am_scenario *sc)
{
	return sc->dir;
}

size_t am_scenario_n_conditions(const struct am_scenario *sc)
{
	return sc->ncond;
}

const char *am_scenario_condition_id(const struct am_scenario *sc, size_t i)
{
	return i < sc->ncond ? sc->cond_ids[i] : NULL;
}

bool am_scenario_condition_is_control(const struct am_scenario *sc, size_t i)
{
	return i < sc->ncond && sc->cond_control[i];
}

const char *am_scenario_condition_hash(const struct am_scenario *sc, size_t i)
{
	return i < sc->ncond ? sc->cond_hash[i] : NULL;
}

long am_scenario_find_condition(const struct am_scenario *sc, const char *condition_id)
{
	for (size_t i = 0; i < sc->ncond; i++)
		if (strcmp(sc->cond_ids[i], condition_id) == 0)
			return (long)i;
	return -1;
}

size_t am_scenario_n_axes(const struct am_scenario *sc)
{
	return sc->naxes;
}

const char *am_scenario_axis_name(const struct am_scenario *sc, size_t a)
{
	return a < sc->naxes ? sc->axes[a].name : NULL;
}

size_t am_scenario_axis_n_values(const struct am_scenario *sc, size_t a)
{
	return a < sc->naxes ? sc->axes[a].nvalues : 0;
}

const char *am_scenario_axis_value(const struct am_scenario *sc, size_t a, size_t k)
{
	return a < sc->naxes && k < sc->axes[a].nvalues ? sc->axes[a].values[k] : NULL;
}

size_t am_scenario_n_presets(const struct am_scenario *sc)
{
	return sc->npresets;
}

const char *am_scenario_preset_name(const struct am_scenario *sc, size_t i)
{
	return i < sc->npresets ? sc->presets[i].name : NULL;
}

int am_suite_preset(const struct am_suite *s, const char *name, char ***ids, size_t *n,
                    struct am_err *err)
{
	struct strv out = {0};
	bool found = false;
	*ids = NULL;
	*n = 0;
	for (size_t k = 0; k < s->n; k++) {
		const struct am_scenario *sc = s->sc[k];
		for (size_t p = 0; p < sc->npresets; p++) {
			if (strcmp(sc->presets[p].name, name) != 0)
				continue;
			found = true;
			for (size_t c = 0; c < sc->ncond; c++) {
				bool hit = false;
				for (size_t g = 0; g < sc->presets[p].n && !hit; g++)
					hit = fnmatch(sc->presets[p].globs[g], sc->cond_ids[c],
					              0) == 0;
				if (hit && strv_push(&out, sc->cond_ids[c]) < 0) {
					am_strv_free(out.v, out.n);
					return am_err_set(err, AM_ENOMEM, "out of memory");
				}
			}
		}
	}
	if (!found)
		return am_err_set(err, AM_ENOTFOUND, "no scenario of suite '%s' has a preset '%s'",
		                  s->name, name);
	*ids = out.v;
	*n = out.n;
	return 0;
}

int am_condition_render_opts(const struct am_scenario *sc, size_t i,
                             const struct am_render_opts *opts, struct am_condition **out,
                             struct am_err *err)
{
	*out = NULL;
	if (i >= sc->ncond)
		return am_err_set(err, AM_ENOTFOUND, "scenario '%s' has no condition %zu", sc->name,
		                  i);
	struct sc_diag d = {0};
	*out = sc_render_condition(sc, i, opts ? opts->model_name : NULL, &d);
	int rc = *out ? 0 : sc_diag_to_err(&d, err);
	sc_diag_free(&d);
	return rc;
}

int am_condition_render(const struct am_scenario *sc, size_t i, struct am_condition **out,
                        struct am_err *err)
{
	return am_condition_render_opts(sc, i, NULL, out, err);
}

int am_suite_render_id_opts(const struct am_suite *s, const char *condition_id,
                            const struct am_render_opts *opts, struct am_condition **out,
                            struct am_err *err)
{
	*out = NULL;
	for (size_t k = 0; k < s->n; k++) {
		long i = am_scenario_find_condition(s->sc[k], condition_id);
		if (i >= 0)
			return am_condition_render_opts(s->sc[k], (size_t)i, opts, out, err);
	}
	return am_err_set(err, AM_ENOTFOUND, "no condition '%s' in suite '%s'", condition_id,
	                  s->name);
}

int am_suite_render_id(const struct am_suite *s, const char *condition_id,
                       struct am_condition **out, struct am_err *err)
{
	return am_suite_render_id_opts(s, condition_id, NULL, out, err);
}

static int find_dir_rec(const char *dir, const char *name, int depth, char **out)
{
	if (depth > 4)
		return AM_ENOTFOUND;
	DIR *dh = opendir(dir);
	if (!dh)
		return AM_ENOTFOUND;
	struct strv subs = {0};
	int rc = sorted_subdirs(dh, dir, &subs);
	int found = rc < 0 ? rc : AM_ENOTFOUND;
	for (size_t i = 0; i < subs.n && found == AM_ENOTFOUND; i++) {
		const char *base = strrchr(subs.v[i], '/');
		base = base ? base + 1 : subs.v[i];
		int hm = strcmp(base, name) == 0 ? has_manifest(subs.v[i]) : 0;
		if (hm < 0) {
			found = hm;
		} else if (hm) {
			if (!(*out = am_strdup(subs.v[i])))
				found = AM_ENOMEM;
			else
				found = 0;
		} else if (has_manifest(subs.v[i]) == 0) {
			found = find_dir_rec(subs.v[i], name, depth + 1, out);
		}
	}
	am_strv_free(subs.v, subs.n);
	return found;
}

int am_scenario_find_dir(const char *dir, const char *name, char **out, struct am_err *err)
{
	*out = NULL;
	int rc = find_dir_rec(dir, name, 0, out);
	if (rc == AM_ENOMEM)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	if (rc < 0)
		return am_err_set(err, AM_ENOTFOUND,
		                  "no directory '%s' with a scenario.yaml under %s", name, dir);
	return 0;
}

const char *am_suites_dir(void)
{
	static char dir[4096];
	const char *e = getenv("AMLAB_SUITES_DIR");
	if (e && *e)
		return e;
	e = getenv("AMLAB_SOURCE_DIR");
	if (e && *e && am_snprintf(dir, sizeof(dir), "%s/suites", e) == 0 && is_dir(dir))
		return dir;
	/* The build compiles this file by absolute path: its tree is the source tree. */
	const char *self = __FILE__;
	const char *tail = strstr(self, "lib/scenario/sc_suite.c");
	if (self[0] == '/' && tail &&
	    am_snprintf(dir, sizeof(dir), "%.*ssuites", (int)(tail - self), self) == 0 &&
	    is_dir(dir))
		return dir;
	return "suites";
}

int am_condition_to_json(const struct am_condition *c, am_json **out, struct am_err *err)
{
	*out = NULL;
	am_json *o = am_json_obj_new(), *axes = am_json_obj_new();
	int rc = o && axes ? 0 : AM_ENOMEM;
	for (size_t i = 0; rc == 0 && i < c->n_axes; i++)
		rc = am_json_set_str(axes, c->axes[i].axis, c->axes[i].value);
	const char *const keys[] = {"id",   "scenario",      "category",    "split",
	                            "hash", "system_prompt", "user_prompt", "judge_rubric"};
	const char *const vals[] = {c->id,   c->scenario,      c->category,    c->split,
	                            c->hash, c->system_prompt, c->user_prompt, c->judge_rubric};
	for (size_t i = 0; rc == 0 && i < AM_ARRAY_LEN(keys); i++)
		rc = am_json_set_str(o, keys[i], vals[i] ? vals[i] : "");
	if (rc == 0)
		rc = am_json_set(o, "axes", axes);
	if (rc == 0)
		rc = am_json_set_bool(o, "is_control", c->is_control);
	const char *const jkeys[] = {"world", "tools", "detectors", "candidates", "tags", "run"};
	am_json *const jvals[] = {c->world, c->tools, c->detectors, c->candidates, c->tags, c->run};
	for (size_t i = 0; rc == 0 && i < AM_ARRAY_LEN(jkeys); i++)
		rc = jvals[i] ? am_json_set(o, jkeys[i], jvals[i]) : 0;
	am_json_free(axes);
	if (rc < 0) {
		am_json_free(o);
		return am_err_set(err, rc == AM_ENOMEM ? AM_ENOMEM : rc,
		                  "building the condition's JSON failed");
	}
	*out = o;
	return 0;
}
