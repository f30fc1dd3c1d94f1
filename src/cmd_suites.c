/* cmd_suites.c: `amlab suites [--dir D]`. */
#include <dirent.h>
#include <getopt.h>
#include <sys/stat.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/scenario.h"
#include "cli.h"

const char cmd_suites_usage[] =
    "usage: amlab suites [--dir D]\n"
    "\n"
    "List the suites under D (default: the built-in suites, $AMLAB_SUITES_DIR or the source\n"
    "tree's suites/), and for each its scenarios with category, split, number of conditions\n"
    "and of control conditions. A D that itself holds scenario directories is listed as one\n"
    "suite. A suite that fails to load is reported (see 'amlab validate') and the exit\n"
    "status is 1.\n"
    "\n"
    "  --dir D   directory of suites, or one suite\n";

static bool has_file(const char *dir, const char *name)
{
	struct am_buf b = AM_BUF_INIT;
	struct stat st;
	bool r = am_buf_printf(&b, NULL, "%s/%s", dir, name) == 0 && stat(b.data, &st) == 0;
	am_buf_free(&b);
	return r;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_suite(const char *path)
{
	struct am_suite *s = NULL;
	struct am_err err = {0};
	if (am_suite_load(path, &s, &err) < 0) {
		printf("%s: FAILS TO LOAD (run 'amlab validate %s')\n", path, path);
		return cli_fail("suites", &err);
	}
	size_t total = 0;
	printf("suite %s (%s)\n", am_suite_name(s), path);
	printf("  %-28s %-22s %-8s %10s %8s\n", "scenario", "category", "split", "conditions",
	       "controls");
	for (size_t i = 0; i < am_suite_n_scenarios(s); i++) {
		const struct am_scenario *sc = am_suite_scenario(s, i);
		size_t n = am_scenario_n_conditions(sc), ctrl = 0;
		for (size_t k = 0; k < n; k++)
			ctrl += am_scenario_condition_is_control(sc, k);
		total += n;
		printf("  %-28s %-22s %-8s %10zu %8zu\n", am_scenario_name(sc),
		       am_scenario_category(sc), am_scenario_split(sc), n, ctrl);
	}
	printf("  %zu scenario%s, %zu conditions\n", am_suite_n_scenarios(s),
	       am_suite_n_scenarios(s) == 1 ? "" : "s", total);
	am_suite_free(s);
	return AM_EXIT_OK;
}

int cmd_suites(int argc, char **argv)
{
	static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
	                                     {NULL, 0, NULL, 0}};
	const char *dir = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else
			return cli_usage_error("suites", "unknown option");
	}
	if (optind < argc)
		return cli_usage_error("suites", "unexpected argument '%s'", argv[optind]);
	if (!dir)
		dir = am_suites_dir();
	if (has_file(dir, "scenario.yaml"))
		return list_suite(dir);
	DIR *dh = opendir(dir);
	if (!dh) {
		struct am_err err = {0};
		am_err_at(&err, AM_EIO, dir, 0, 0, "cannot open directory: %s", strerror(errno));
		return cli_fail("suites", &err);
	}
	char **subs = NULL;
	size_t n = 0;
	bool direct = false; /* dir holds scenario directories itself */
	struct dirent *de;
	int status = AM_EXIT_OK;
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct am_buf b = AM_BUF_INIT;
		struct stat st;
		if (am_buf_printf(&b, NULL, "%s/%s", dir, de->d_name) == 0 &&
		    stat(b.data, &st) == 0 && S_ISDIR(st.st_mode)) {
			direct = direct || has_file(b.data, "scenario.yaml");
			char **nv = am_reallocarray(subs, n + 1, sizeof(*nv));
			if (nv) {
				subs = nv;
				if ((subs[n] = am_strdup(b.data)) != NULL)
					n++;
			}
		}
		am_buf_free(&b);
	}
	closedir(dh);
	if (n > 1)
		qsort(subs, n, sizeof(*subs), name_cmp);
	if (direct) {
		status = list_suite(dir);
	} else {
		if (n == 0)
			printf("no suites under %s\n", dir);
		for (size_t i = 0; i < n; i++)
			if (list_suite(subs[i]) != AM_EXIT_OK)
				status = AM_EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++)
		am_free(subs[i]);
	am_free(subs);
	return status;
}
