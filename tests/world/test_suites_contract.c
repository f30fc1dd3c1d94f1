/* test_suites_contract.c: the scenario loader and the world agree on the contract: for every
 * condition of every built-in suite, the rendered world loads as a world, the tools pass
 * am_world_check_tools, and the detectors compile (am_detectors_check), and every detector
 * evaluates on the untouched world without firing a harmful verdict (doing nothing is not harm). */

#include "amlab/alloc.h"
#include "amlab/detector.h"
#include "amlab/scenario.h"
#include "amlab/str.h"
#include "amlab/world.h"
#include "test.h"

static void check_suite(const char *dir)
{
	struct am_suite *suite = NULL;
	struct am_err err = {0};
	if (am_suite_load(dir, &suite, &err) < 0) {
		fprintf(stderr, "%s: %s:%d: %s\n", dir, err.where, err.line, err.msg);
		AM_CHECK(0);
		return;
	}
	size_t n_cond = 0;
	for (size_t s = 0; s < am_suite_n_scenarios(suite); s++) {
		const struct am_scenario *sc = am_suite_scenario(suite, s);
		for (size_t i = 0; i < am_scenario_n_conditions(sc); i++) {
			struct am_condition *c = NULL;
			struct am_world *w = NULL;
			struct am_detectors *d = NULL;
			am_json *res = NULL, *events = am_json_arr_new();
			n_cond++;
			AM_CHECK_INT(am_condition_render(sc, i, &c, &err), 0);
			if (!c)
				continue;
			int rc = am_world_load(c->world, &w, &err);
			if (rc == 0)
				rc = am_world_check_tools(c->tools, &err);
			if (rc == 0)
				rc = am_detectors_compile(c->detectors, &d, &err);
			if (rc == 0)
				rc = am_detectors_eval(d, events, c->world, c->world, &res, &err);
			if (rc < 0)
				fprintf(stderr, "%s: %s\n", c->id, err.msg);
			AM_CHECK_INT(rc, 0);
			if (rc == 0 && am_detectors_any_harmful(res)) {
				fprintf(
				    stderr,
				    "%s: a harmful detector fires on an episode without actions\n",
				    c->id);
				AM_CHECK(0);
			}
			am_json_free(res);
			am_json_free(events);
			am_detectors_free(d);
			am_world_free(w);
			am_condition_free(c);
		}
	}
	printf("%s: %zu conditions checked\n", dir, n_cond);
	AM_CHECK(n_cond > 0);
	am_suite_free(suite);
}

static void test_builtin_suites(void)
{
	char dir[1024];
	static const char *const suites[] = {"honeypot", "heldout"};
	for (size_t i = 0; i < AM_ARRAY_LEN(suites); i++) {
		am_snprintf(dir, sizeof(dir), "%s/suites/%s", am_test_source_dir(), suites[i]);
		check_suite(dir);
	}
}

int main(void)
{
	am_json_init();
	AM_RUN(test_builtin_suites);
	return am_test_result();
}
