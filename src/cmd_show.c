/* cmd_show.c: `amlab show SCENARIO [--condition ID]`. */
#include <getopt.h>
#include <sys/stat.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/scenario.h"
#include "cli.h"

const char cmd_show_usage[] =
    "usage: amlab show SCENARIO [--condition ID] [--dir D] [--model-name NAME] [--json]\n"
    "\n"
    "Print one rendered condition of a scenario: system prompt, user prompt, tools, initial\n"
    "world, detectors and forced-choice candidates. SCENARIO is a scenario name (searched in\n"
    "every suite under D), a scenario directory, or a full condition id.\n"
    "\n"
    "  --condition ID     the condition (default: the scenario's first condition)\n"
    "  --dir D            where to look for scenario names (default: the built-in suites)\n"
    "  --model-name NAME  value of {{model_name}} (default: the neutral 'Assistant')\n"
    "  --json             print the whole rendered condition as one JSON object\n"
    "  --list             list the scenario's condition ids instead\n";

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int print_json(const char *title, const am_json *v)
{
	struct am_buf b = AM_BUF_INIT;
	int rc = am_json_dump_pretty(v, &b, NULL);
	if (rc == 0)
		printf("== %s ==\n%s\n\n", title, b.data);
	am_buf_free(&b);
	return rc;
}

static int print_condition_json(const struct am_condition *c)
{
	am_json *o = NULL;
	struct am_buf b = AM_BUF_INIT;
	int rc = am_condition_to_json(c, &o, NULL);
	if (rc == 0 && (rc = am_json_dump_pretty(o, &b, NULL)) == 0)
		printf("%s\n", b.data);
	am_buf_free(&b);
	am_json_free(o);
	return rc;
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {{"condition", required_argument, NULL, 'c'},
	                                     {"dir", required_argument, NULL, 'd'},
	                                     {"model-name", required_argument, NULL, 'm'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"list", no_argument, NULL, 'l'},
	                                     {NULL, 0, NULL, 0}};
	const char *cond = NULL, *dir = NULL;
	struct am_render_opts ro = {0};
	bool json = false, list = false;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cond = optarg; break;
		case 'd': dir = optarg; break;
		case 'm': ro.model_name = optarg; break;
		case 'j': json = true; break;
		case 'l': list = true; break;
		default: return cli_usage_error("show", "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("show", "expected exactly one SCENARIO");
	const char *what = argv[optind];
	struct am_err err = {0};
	struct am_suite *s = NULL;
	const struct am_scenario *sc = NULL;
	struct am_condition *cd = NULL;
	int status = AM_EXIT_OK;
	bool by_path = is_dir(what);
	const char *where = by_path ? what : (dir ? dir : am_suites_dir());
	char *sdir = NULL;
	if (!by_path) {
		/* load only the scenario's own directory when it follows the naming convention
		 * (much faster than validating every suite); else fall back to the whole tree */
		char name[256];
		size_t n = strcspn(what, "/");
		if (n < sizeof(name)) {
			memcpy(name, what, n);
			name[n] = '\0';
			if (am_scenario_find_dir(where, name, &sdir, NULL) == 0) {
				if (am_suite_load(sdir, &s, &err) < 0) {
					am_free(sdir);
					return cli_fail("show", &err);
				}
				if (!am_suite_find(s, name)) {
					am_suite_free(s);
					s = NULL;
				}
			}
			am_free(sdir);
		}
	}
	if (!s && am_suite_load(where, &s, &err) < 0)
		return cli_fail("show", &err);
	if (by_path) {
		if (am_suite_n_scenarios(s) != 1) {
			am_err_set(&err, AM_EINVAL, "%s holds %zu scenarios; name one of them",
			           what, am_suite_n_scenarios(s));
			status = cli_fail("show", &err);
			goto out;
		}
		sc = am_suite_scenario(s, 0);
	} else {
		sc = am_suite_find(s, what);
		if (!sc && strchr(what, '/')) {
			/* a condition id: scenario name is its first segment */
			for (size_t i = 0; i < am_suite_n_scenarios(s) && !sc; i++)
				if (am_scenario_find_condition(am_suite_scenario(s, i), what) >= 0)
					sc = am_suite_scenario(s, i);
			if (sc && !cond)
				cond = what;
		}
		if (!sc) {
			am_err_set(&err, AM_ENOTFOUND,
			           "no scenario or condition '%s' (see 'amlab "
			           "suites')",
			           what);
			status = cli_fail("show", &err);
			goto out;
		}
	}
	if (list) {
		for (size_t i = 0; i < am_scenario_n_conditions(sc); i++)
			printf("%s%s\n", am_scenario_condition_id(sc, i),
			       am_scenario_condition_is_control(sc, i) ? "  (control)" : "");
		goto out;
	}
	long idx = cond ? am_scenario_find_condition(sc, cond) : 0;
	if (idx < 0) {
		am_err_set(&err, AM_ENOTFOUND, "scenario '%s' has no condition '%s' (try --list)",
		           am_scenario_name(sc), cond);
		status = cli_fail("show", &err);
		goto out;
	}
	if (am_condition_render_opts(sc, (size_t)idx, &ro, &cd, &err) < 0) {
		status = cli_fail("show", &err);
		goto out;
	}
	if (json) {
		if (print_condition_json(cd) < 0)
			status = AM_EXIT_FAIL;
		goto out;
	}
	printf("condition %s\n", cd->id);
	printf("scenario %s, category %s, split %s%s\n", cd->scenario, cd->category, cd->split,
	       cd->is_control ? ", CONTROL" : "");
	printf("axes:");
	for (size_t i = 0; i < cd->n_axes; i++)
		printf(" %s=%s", cd->axes[i].axis, cd->axes[i].value);
	printf("\nhash %s\n\n", cd->hash);
	printf("== system prompt ==\n%s\n\n", cd->system_prompt);
	printf("== user prompt ==\n%s\n\n", cd->user_prompt);
	if (print_json("tools", cd->tools) < 0 || print_json("initial world", cd->world) < 0 ||
	    print_json("detectors", cd->detectors) < 0 ||
	    print_json("candidates", cd->candidates) < 0)
		status = AM_EXIT_FAIL;
	printf("== judge rubric ==\n%s\n", cd->judge_rubric);
out:
	am_condition_free(cd);
	am_suite_free(s);
	return status;
}
