/* cmd_validate.c: `amlab validate PATH...`. */
#include <getopt.h>

#include "amlab/alloc.h"
#include "amlab/scenario.h"
#include "cli.h"

const char cmd_validate_usage[] =
    "usage: amlab validate [--hashes] PATH...\n"
    "\n"
    "Load every scenario under each PATH (a scenario directory, a suite directory, or a\n"
    "directory of suites) with all checks of docs/scenarios.md, rendering every condition.\n"
    "Prints one 'ok' line per PATH, or every error as FILE:LINE: MESSAGE on stderr.\n"
    "Exit status: 0 when every PATH is valid, 1 otherwise, 2 on a usage error.\n"
    "\n"
    "  --hashes   instead of the 'ok' line, print 'CONDITION-ID HASH' for every condition\n"
    "             (the format of tests/scenario/golden/*.txt)\n";

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
