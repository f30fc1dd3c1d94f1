/* test_suites.c: every suite under suites/ (picked up automatically as suites land).
 *
 *  - every condition of every scenario renders, and a second rendering gives the load-time hash;
 *  - the hashes equal tests/scenario/golden/<suite>.txt ("CONDITION-ID HASH" per line; regenerate
 *    with `amlab validate --hashes suites/<suite> > tests/scenario/golden/<suite>.txt`, see
 *    tests/scenario/README.md);
 *  - control conditions contain no threat and no goal conflict, judged from the RENDERED text
 *    (prompts, emails, files) against the phrase lists tests/scenario/phrases/<category>.txt plus
 *    common.txt, and each list fires on some non-control condition of the scenario, so it is not
 *    vacuous;
 *  - the system prompt, the user prompt and the emails together stay under a size budget
 *    (about 6k tokens). */
#include <dirent.h>
#include <sys/stat.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/scenario.h"
#include "amlab/str.h"
#include "test.h"

#define PROMPT_BUDGET_CHARS 28000 /* ~7k tokens at ~4 characters a token: 6k plus a margin */

struct phrases {
	char **v;
	size_t n;
};

static void phrases_load(struct phrases *p, const char *category)
{
	char path[1024];
	const char *names[] = {"common", category};
	for (size_t k = 0; k < 2; k++) {
		am_snprintf(path, sizeof(path), "%s/tests/scenario/phrases/%s.txt",
		            am_test_source_dir(), names[k]);
		struct am_buf b = AM_BUF_INIT;
		if (am_buf_read_file(&b, path, NULL) < 0) {
			am_buf_free(&b);
			if (k == 0)
				AM_CHECK(!"tests/scenario/phrases/common.txt is missing");
			continue;
		}
		char *s = b.data;
		while (s && *s) {
			char *nl = strchr(s, '\n');
			if (nl)
				*nl = '\0';
			const char *q = s;
			size_t len = strlen(s);
			am_trim(&q, &len);
			if (len && q[0] != '#') {
				p->v = am_reallocarray(p->v, p->n + 1, sizeof(char *));
				p->v[p->n] = am_strndup(q, len);
				for (char *c = p->v[p->n]; *c; c++)
					if (*c >= 'A' && *c <= 'Z')
						*c = (char)(*c - 'A' + 'a');
				p->n++;
			}
			s = nl ? nl + 1 : NULL;
		}
		am_buf_free(&b);
	}
}

static void phrases_free(struct phrases *p)
{
	am_strv_free(p->v, p->n);
	p->v = NULL;
	p->n = 0;
}

/* The text an agent sees: prompts, mail (subjects, bodies) and files; lower-cased. */
static char *agent_text(const struct am_condition *c, size_t *prompt_chars)
{
	struct am_buf b = AM_BUF_INIT;
	am_buf_printf(&b, NULL, "%s\n%s\n", c->system_prompt, c->user_prompt);
	size_t emails = 0;
	am_json *inbox = json_object_get(json_object_get(c->world, "mail"), "inbox");
	bool inline_mail = strstr(c->user_prompt, "<email>") != NULL;
	for (size_t i = 0; i < json_array_size(inbox); i++) {
		am_json *m = json_array_get(inbox, i);
		const char *subj = am_json_get_str_or(m, "subject", "");
		const char *body = am_json_get_str_or(m, "body", "");
		am_buf_printf(&b, NULL, "%s\n%s\n", subj, body);
		emails += strlen(subj) + strlen(body) + 120; /* headers */
	}
	*prompt_chars =
	    strlen(c->system_prompt) + strlen(c->user_prompt) + (inline_mail ? 0 : emails);
	const char *k;
	am_json *v;
	json_object_foreach(json_object_get(c->world, "files"), k, v)
	{
		am_buf_printf(&b, NULL, "%s\n", json_string_value(v));
	}
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] >= 'A' && b.data[i] <= 'Z')
			b.data[i] = (char)(b.data[i] - 'A' + 'a');
	return am_buf_detach(&b, NULL, NULL);
}

static const char *first_hit(const struct phrases *p, const char *text)
{
	for (size_t i = 0; i < p->n; i++)
		if (strstr(text, p->v[i]))
			return p->v[i];
	return NULL;
}

static void check_golden(const char *suite_name, const struct am_suite *s)
{
	char path[1024];
	am_snprintf(path, sizeof(path), "%s/tests/scenario/golden/%s.txt", am_test_source_dir(),
	            suite_name);
	struct am_buf want = AM_BUF_INIT, got = AM_BUF_INIT;
	if (am_buf_read_file(&want, path, NULL) < 0) {
		fprintf(stderr,
		        "no golden hashes for suite '%s': create %s with\n"
		        "  amlab validate --hashes suites/%s > tests/scenario/golden/%s.txt\n",
		        suite_name, path, suite_name, suite_name);
		AM_CHECK(!"golden file missing");
		am_buf_free(&want);
		return;
	}
	for (size_t k = 0; k < am_suite_n_scenarios(s); k++) {
		const struct am_scenario *sc = am_suite_scenario(s, k);
		for (size_t i = 0; i < am_scenario_n_conditions(sc); i++)
			am_buf_printf(&got, NULL, "%s %s\n", am_scenario_condition_id(sc, i),
			              am_scenario_condition_hash(sc, i));
	}
	bool same = want.len == got.len && memcmp(want.data, got.data, got.len) == 0;
	if (!same) {
		/* name the first differing line */
		const char *a = want.data ? want.data : "", *b = got.data;
		while (*a && *a == *b) {
			a++;
			b++;
		}
		while (a > want.data && a[-1] != '\n')
			a--;
		const char *bl = got.data + (a - (want.data ? want.data : ""));
		fprintf(stderr,
		        "suite '%s' renders differently from %s; first difference:\n  golden: "
		        "%.100s\n  now:    %.100s\nIf the change is intended, regenerate (see "
		        "tests/scenario/README.md).\n",
		        suite_name, path, a, bl);
	}
	AM_CHECK(same);
	am_buf_free(&want);
	am_buf_free(&got);
}

static void check_suite(const char *suite_name, const char *dir)
{
	struct am_suite *s = NULL;
	struct am_err err = {0};
	int rc = am_suite_load(dir, &s, &err);
	if (rc < 0)
		fprintf(stderr, "suite %s fails to load: %s:%d: %s\n", suite_name, err.where,
		        err.line, err.msg);
	AM_CHECK_INT(rc, 0);
	if (rc < 0)
		return;
	size_t max_chars = 0;
	for (size_t k = 0; k < am_suite_n_scenarios(s); k++) {
		const struct am_scenario *sc = am_suite_scenario(s, k);
		struct phrases ph = {0};
		phrases_load(&ph, am_scenario_category(sc));
		size_t n = am_scenario_n_conditions(sc), controls = 0, fired_noncontrol = 0;
		for (size_t i = 0; i < n; i++) {
			struct am_condition *c = NULL;
			rc = am_condition_render(sc, i, &c, &err);
			AM_CHECK_INT(rc, 0);
			if (rc < 0) {
				fprintf(stderr, "%s: %s\n", am_scenario_condition_id(sc, i),
				        err.msg);
				continue;
			}
			AM_CHECK_STR(c->hash, am_scenario_condition_hash(sc, i));
			AM_CHECK_STR(c->id, am_scenario_condition_id(sc, i));
			AM_CHECK(c->is_control == am_scenario_condition_is_control(sc, i));
			size_t chars = 0;
			char *text = agent_text(c, &chars);
			if (chars > max_chars)
				max_chars = chars;
			if (chars > PROMPT_BUDGET_CHARS) {
				fprintf(stderr,
				        "%s: prompts and mail are %zu characters (budget %d)\n",
				        c->id, chars, PROMPT_BUDGET_CHARS);
				AM_CHECK(chars <= PROMPT_BUDGET_CHARS);
			}
			const char *hit = first_hit(&ph, text);
			if (c->is_control) {
				controls++;
				if (hit)
					fprintf(stderr,
					        "control %s contains the threat/conflict phrase "
					        "\"%s\"\n",
					        c->id, hit);
				AM_CHECK(hit == NULL);
			} else if (hit) {
				fired_noncontrol++;
			}
			am_free(text);
			am_condition_free(c);
		}
		AM_CHECK(controls > 0);
		if (fired_noncontrol == 0)
			fprintf(stderr,
			        "scenario %s: no phrase of the lists for '%s' appears in any "
			        "non-control condition; the control check would be vacuous\n",
			        am_scenario_name(sc), am_scenario_category(sc));
		AM_CHECK(fired_noncontrol > 0);
		printf("  %s/%s: %zu conditions, %zu controls, %zu with threat/conflict "
		       "phrases\n",
		       suite_name, am_scenario_name(sc), n, controls, fired_noncontrol);
		phrases_free(&ph);
	}
	printf("  %s: largest prompt+mail %zu characters\n", suite_name, max_chars);
	check_golden(suite_name, s);
	am_suite_free(s);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_every_suite(void)
{
	char root[1024];
	am_snprintf(root, sizeof(root), "%s/suites", am_test_source_dir());
	DIR *dh = opendir(root);
	AM_CHECK(dh != NULL);
	if (!dh)
		return;
	char *names[64];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL && n < 64) {
		char p[1300];
		struct stat st;
		am_snprintf(p, sizeof(p), "%s/%s", root, de->d_name);
		if (de->d_name[0] != '.' && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			names[n++] = am_strdup(de->d_name);
	}
	closedir(dh);
	qsort(names, n, sizeof(char *), cmp);
	AM_CHECK(n > 0);
	bool heldout = false;
	for (size_t i = 0; i < n; i++) {
		char dir[1300];
		am_snprintf(dir, sizeof(dir), "%s/%s", root, names[i]);
		check_suite(names[i], dir);
		heldout = heldout || strcmp(names[i], "heldout") == 0;
		am_free(names[i]);
	}
	AM_CHECK(heldout);
}

static void test_heldout_shape(void)
{
	/* six categories, every one split heldout, threat x conflict with a control */
	char dir[1024];
	am_snprintf(dir, sizeof(dir), "%s/suites/heldout", am_test_source_dir());
	struct am_suite *s = NULL;
	AM_CHECK_INT(am_suite_load(dir, &s, NULL), 0);
	if (!s)
		return;
	AM_CHECK(am_suite_n_scenarios(s) >= 6);
	for (size_t k = 0; k < am_suite_n_scenarios(s); k++) {
		const struct am_scenario *sc = am_suite_scenario(s, k);
		AM_CHECK_STR(am_scenario_split(sc), "heldout");
		for (size_t j = 0; j < k; j++)
			AM_CHECK(strcmp(am_scenario_category(am_suite_scenario(s, j)),
			                am_scenario_category(sc)) != 0);
		bool threat = false, conflict = false;
		for (size_t a = 0; a < am_scenario_n_axes(sc); a++) {
			const char *ax = am_scenario_axis_name(sc, a);
			if (strcmp(ax, "threat") == 0) {
				threat = am_scenario_axis_n_values(sc, a) == 3;
				AM_CHECK_STR(am_scenario_axis_value(sc, a, 0), "replacement");
				AM_CHECK_STR(am_scenario_axis_value(sc, a, 1), "restriction");
				AM_CHECK_STR(am_scenario_axis_value(sc, a, 2), "none");
			}
			if (strcmp(ax, "conflict") == 0)
				conflict = am_scenario_axis_n_values(sc, a) == 2;
		}
		AM_CHECK(threat && conflict);
		char **ids = NULL;
		size_t nid = 0;
		AM_CHECK_INT(am_suite_preset(s, "demo", &ids, &nid, NULL), 0);
		AM_CHECK(nid >= 6);
		am_strv_free(ids, nid);
	}
	am_suite_free(s);
}

int main(void)
{
	am_json_init();
	AM_RUN(test_heldout_shape);
	AM_RUN(test_every_suite);
	return am_test_result();
}
