/* test_candidates.c: the forced-choice candidates agree with the detectors.
 *
 * For every condition of the held-out suite and a spread sample (about 100 conditions) of every
 * other suite, each candidate is replayed as the agent's single reply through the agent
 * loop (text protocol) and the condition's detectors run over the episode: a candidate labelled
 * "misaligned" must fire a harmful detector, an "aligned" one must fire none, and no candidate
 * may contain a malformed or unknown tool call. So a forced-choice answer and a free-form episode
 * are judged by the same rules. */
#include <dirent.h>

#include "amlab/agent.h"
#include "amlab/alloc.h"
#include "amlab/detector.h"
#include "amlab/replay.h"
#include "amlab/scenario.h"
#include "amlab/str.h"
#include "test.h"

/* Replay `text` in condition c: 1 harmful, 0 not, -1 failure or an invalid call. */
static int classify(const struct am_condition *c, const char *text, char *fired, size_t fsz)
{
	struct am_err err = {0};
	struct am_model *m = NULL;
	struct am_episode *e = NULL;
	am_json *det = NULL;
	int verdict = -1;
	struct am_episode_opts o;
	am_episode_opts_default(&o);
	fired[0] = '\0';
	if (am_replay_new("candidate", &text, 1, &m, &err) < 0 ||
	    am_episode_new(c, &o, &e, &err) < 0 || am_episode_run(e, m, &err) < 0 ||
	    am_episode_detect(e, &det, &err) < 0) {
		am_snprintf(fired, fsz, "error: %s", err.msg);
		goto out;
	}
	const am_json *ev = am_episode_events(e);
	for (size_t i = 0; i < json_array_size(ev); i++)
		if (am_streq(am_json_get_str_or(json_array_get(ev, i), "type", ""),
		             "invalid_call")) {
			am_snprintf(fired, fsz, "invalid call: %s",
			            am_json_get_str_or(json_array_get(ev, i), "error", ""));
			goto out;
		}
	size_t used = 0;
	for (size_t i = 0; i < json_array_size(det); i++) {
		am_json *r = json_array_get(det, i);
		if (json_is_true(am_json_get(r, "fired")) && used < fsz) {
			int w = snprintf(fired + used, fsz - used, "%s%s(%s)", used ? " " : "",
			                 am_json_get_str_or(r, "name", ""),
			                 am_json_get_str_or(r, "kind", ""));
			if (w > 0)
				used += (size_t)w;
		}
	}
	verdict = am_detectors_any_harmful(det) ? 1 : 0;
out:
	am_json_free(det);
	am_episode_free(e);
	am_model_close(m);
	return verdict;
}

/* Check every condition of the suite (strict) or every stride-th (report only). */
static void check_suite(const char *name, bool strict, size_t stride)
{
	char dir[1024];
	am_snprintf(dir, sizeof(dir), "%s/suites/%s", am_test_source_dir(), name);
	struct am_suite *s = NULL;
	struct am_err err = {0};
	if (am_suite_load(dir, &s, &err) < 0) {
		fprintf(stderr, "suite %s: %s:%d: %s\n", name, err.where, err.line, err.msg);
		AM_CHECK(!strict);
		return;
	}
	size_t checked = 0, disagree = 0;
	for (size_t k = 0; k < am_suite_n_scenarios(s); k++) {
		const struct am_scenario *sc = am_suite_scenario(s, k);
		for (size_t i = 0; i < am_scenario_n_conditions(sc); i += stride) {
			struct am_condition *c = NULL;
			if (am_condition_render(sc, i, &c, &err) < 0) {
				AM_CHECK(!"condition renders");
				continue;
			}
			for (size_t j = 0; j < json_array_size(c->candidates); j++) {
				am_json *cand = json_array_get(c->candidates, j);
				const char *label = am_json_get_str_or(cand, "label", "");
				char fired[600];
				int v = classify(c, am_json_get_str_or(cand, "text", ""), fired,
				                 sizeof(fired));
				int want = am_streq(label, "misaligned") ? 1 : 0;
				checked++;
				if (v != want) {
					disagree++;
					fprintf(
					    stderr,
					    "%s %s: candidate '%s' labelled %s; detectors: %s\n",
					    strict ? "FAIL" : "note", c->id,
					    am_json_get_str_or(cand, "id", ""), label,
					    v < 0 ? fired : (fired[0] ? fired : "none fired"));
				}
				if (strict)
					AM_CHECK_INT(v, want);
			}
			am_condition_free(c);
		}
	}
	printf("  %s: %zu candidate replays, %zu disagree with their label%s\n", name, checked,
	       disagree, strict ? "" : " (reported, not failed)");
	am_suite_free(s);
}

static void test_heldout_candidates(void)
{
	check_suite("heldout", true, 1);
}

static void test_other_suites(void)
{
	char root[1024];
	am_snprintf(root, sizeof(root), "%s/suites", am_test_source_dir());
	DIR *dh = opendir(root);
	if (!dh)
		return;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL)
		if (de->d_name[0] != '.' && strcmp(de->d_name, "heldout") != 0 &&
		    !strchr(de->d_name, '.'))
			check_suite(de->d_name, true, 19);
	closedir(dh);
}

int main(void)
{
	am_json_init();
	AM_RUN(test_heldout_candidates);
	AM_RUN(test_other_suites);
	return am_test_result();
}
