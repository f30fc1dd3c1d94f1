/* cmd_validate.c: `amlab validate PATH...`. */
#include <getopt.h>

#include "amlab/alloc.h"
#include "amlab/detector.h"
#include "amlab/scenario.h"
#include "amlab/str.h"
#include "amlab/world.h"
#include "cli.h"

const char cmd_validate_usage[] =
    "usage: amlab validate [--hashes] PATH...\n"
    "\n"
    "Load every scenario under each PATH (a scenario directory, a suite directory, or a\n"
    "directory of suites) with all checks of docs/scenarios.md, rendering every condition;\n"
    "then hand every condition to the simulated world as an episode would: its world must\n"
    "load, its tools and its detectors (regular expressions included) must compile.\n"
    "Prints one 'ok' line per PATH, or every error as FILE:LINE: MESSAGE on stderr.\n"
    "Exit status: 0 when every PATH is valid, 1 otherwise, 2 on a usage error.\n"
    "\n"
    "  --hashes   instead of the 'ok' line, print 'CONDITION-ID HASH' for every condition\n"
    "             (the format of tests/scenario/golden/*.txt)\n";

/* The checks lib/world makes when an episode starts, for every condition. Each distinct failure
 * is printed once, with the first condition that shows it and how many others do; returns the
 * number of conditions that failed. */
static size_t world_checks(const struct am_suite *s)
{
	size_t bad = 0;
	for (size_t k = 0; k < am_suite_n_scenarios(s); k++) {
		const struct am_scenario *sc = am_suite_scenario(s, k);
		char first[AM_ERR_MSG_MAX + AM_ERR_WHERE_MAX + 48] = "";
		size_t repeats = 0;
		for (size_t i = 0; i < am_scenario_n_conditions(sc); i++) {
			struct am_condition *c = NULL;
			struct am_world *w = NULL;
			struct am_err err = {0};
			const char *what = "rendering";
			int rc = am_condition_render(sc, i, &c, &err);
			if (rc == 0) {
				what = "world";
				rc = am_world_load(c->world, &w, &err);
			}
			if (rc == 0) {
				what = "tools";
				rc = am_world_check_tools(c->tools, &err);
			}
			if (rc == 0) {
				what = "detectors";
				rc = am_detectors_check(c->detectors, &err);
			}
			if (rc < 0) {
				char msg[sizeof(first)], full[sizeof(first)];
				am_err_format(&err, full, sizeof(full));
				(void)am_snprintf(msg, sizeof(msg), "%s: %s", what, full);
				if (strcmp(msg, first) == 0) {
					repeats++;
				} else {
					fprintf(stderr, "%s/scenario.yaml: condition %s: %s\n",
					        am_scenario_dir(sc),
					        am_scenario_condition_id(sc, i), msg);
					am_strlcpy(first, msg, sizeof(first));
				}
				bad++;
			}
			am_world_free(w);
			am_condition_free(c);
		}
		if (repeats)
			fprintf(stderr,
			        "%s/scenario.yaml: (the same error in %zu more condition%s)\n",
			        am_scenario_dir(sc), repeats, repeats == 1 ? "" : "s");
	}
	return bad;
}

int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {{"hashes", no_argument, NULL, 'H'},
	                                     {NULL, 0, NULL, 0}};
	bool hashes = false;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'H')
			return cli_usage_error("validate", "unknown option");
		hashes = true;
	}
	if (optind >= argc)
		return cli_usage_error("validate", "expected at least one PATH");
	int status = AM_EXIT_OK;
	for (int i = optind; i < argc; i++) {
		char **msgs = NULL;
		size_t n = 0;
		struct am_err err = {0};
		int rc = am_suite_check(argv[i], &msgs, &n, &err);
		if (rc == 0) {
			struct am_suite *s = NULL;
			if (am_suite_load(argv[i], &s, &err) < 0) {
				status = cli_fail("validate", &err);
				continue;
			}
			size_t nc = 0;
			for (size_t k = 0; k < am_suite_n_scenarios(s); k++) {
				const struct am_scenario *sc = am_suite_scenario(s, k);
				nc += am_scenario_n_conditions(sc);
				for (size_t j = 0; hashes && j < am_scenario_n_conditions(sc); j++)
					printf("%s %s\n", am_scenario_condition_id(sc, j),
					       am_scenario_condition_hash(sc, j));
			}
			if (hashes) {
				am_suite_free(s);
				continue;
			}
			size_t bad = world_checks(s);
			if (bad) {
				fprintf(
				    stderr,
				    "amlab validate: %s: %zu condition%s rejected by the world\n",
				    argv[i], bad, bad == 1 ? "" : "s");
				status = AM_EXIT_FAIL;
				am_suite_free(s);
				continue;
			}
			printf("ok %s: %zu scenario%s, %zu conditions\n", argv[i],
			       am_suite_n_scenarios(s), am_suite_n_scenarios(s) == 1 ? "" : "s",
			       nc);
			am_suite_free(s);
			continue;
		}
		status = AM_EXIT_FAIL;
		if (n == 0) {
			cli_fail("validate", &err);
			continue;
		}
		for (size_t k = 0; k < n; k++)
			fprintf(stderr, "%s\n", msgs[k]);
		fprintf(stderr, "amlab validate: %s: %zu error%s\n", argv[i], n, n == 1 ? "" : "s");
		am_strv_free(msgs, n);
	}
	return status;
}
