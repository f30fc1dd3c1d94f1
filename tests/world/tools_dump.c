/* tools_dump.c: prints, one JSON line per tool set, the OpenAI and Anthropic `tools` arrays amlab
 * emits ({"source", "openai", "anthropic"}): for tests/world/data/tools1.json and for the first
 * condition of every scenario in the built-in suites. Read by peer_tools.py. */
#include "amlab/scenario.h"
#include "amlab/str.h"
#include "amlab/world.h"

static const char *source_dir(void)
{
	const char *d = getenv("AMLAB_SOURCE_DIR");
	return d ? d : ".";
}

static int dump(const char *source, const am_json *tools)
{
	struct am_toolset *ts = NULL;
	am_json *neutral = NULL, *oa = NULL, *an = NULL, *line = NULL;
	struct am_buf b = AM_BUF_INIT;
	struct am_err err = {0};
	int rc = am_toolset_load(tools, &ts, &err);
	if (rc == 0)
		rc = am_tools_neutral_json(ts, &neutral, &err);
	if (rc == 0)
		rc = am_tools_openai_json(neutral, &oa, &err);
	if (rc == 0)
		rc = am_tools_anthropic_json(neutral, &an, &err);
	if (rc == 0 &&
	    (!(line = am_json_obj_new()) || am_json_set_str(line, "source", source) < 0 ||
	     am_json_set(line, "openai", oa) < 0 || am_json_set(line, "anthropic", an) < 0))
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = am_json_dump(line, true, &b, &err);
	if (rc == 0)
		printf("%s\n", b.data);
	else
		fprintf(stderr, "%s: %s\n", source, err.msg);
	am_buf_free(&b);
	am_json_free(line);
	am_json_free(oa);
	am_json_free(an);
	am_json_free(neutral);
	am_toolset_free(ts);
	return rc;
}

int main(void)
{
	am_json_init();
	char path[1024];
	am_snprintf(path, sizeof(path), "%s/tests/world/data/tools1.json", source_dir());
	am_json *j = NULL;
	if (am_json_parse_file(path, &j, NULL) < 0 || dump("tools1.json", j) < 0)
		return 1;
	am_json_free(j);
	static const char *const suites[] = {"honeypot", "heldout"};
	for (size_t s = 0; s < 2; s++) {
		am_snprintf(path, sizeof(path), "%s/suites/%s", source_dir(), suites[s]);
		struct am_suite *suite = NULL;
		struct am_err err = {0};
		if (am_suite_load(path, &suite, &err) < 0) {
			fprintf(stderr, "%s: %s\n", path, err.msg);
			return 1;
		}
		for (size_t i = 0; i < am_suite_n_scenarios(suite); i++) {
			struct am_condition *c = NULL;
			if (am_condition_render(am_suite_scenario(suite, i), 0, &c, &err) < 0 ||
			    dump(c->id, c->tools) < 0) {
				fprintf(stderr, "%s\n", err.msg);
				am_condition_free(c);
				am_suite_free(suite);
				return 1;
			}
			am_condition_free(c);
		}
		am_suite_free(suite);
	}
	return 0;
}
