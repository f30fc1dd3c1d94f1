/* cmd_compare.c: `amlab compare RUN_A RUN_B`: differences with intervals and tests. */
#include <getopt.h>

#include "amlab/report.h"
#include "cli.h"

const char cmd_compare_usage[] =
    "usage: amlab compare RUN_A RUN_B [--db FILE] [--format text|md|json]\n"
    "\n"
    "Compare two runs of the store (run ids or 'latest'), each with its latest judging: per\n"
    "condition present in both, per category and for the misalignment rate, the difference\n"
    "A - B with a Newcombe hybrid-score 95% interval; per condition and category Fisher's\n"
    "exact two-sided p, and Benjamini-Hochberg q over the per-condition tests\n"
    "(docs/statistics.md).\n"
    "\n"
    "  --db FILE     the store (default results/amlab.db)\n"
    "  --format F    text (default), md or json\n";

int cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
	                                     {"format", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	const char *db = "results/amlab.db";
	enum am_report_format fmt = AM_REPORT_TEXT;
	struct am_err err = {0};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'f':
			if (am_report_format_parse(optarg, &fmt, &err) < 0 ||
			    (fmt != AM_REPORT_TEXT && fmt != AM_REPORT_MD && fmt != AM_REPORT_JSON))
				return cli_usage_error("compare",
				                       "--format must be text, md or json");
			break;
		default: return cli_usage_error("compare", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind + 2 != argc)
		return cli_usage_error("compare", "RUN_A and RUN_B are required");
	struct am_store *s = NULL;
	struct am_buf out = AM_BUF_INIT;
	int64_t a, b;
	int rc;
	if ((rc = am_store_open(db, &s, &err)) == 0 &&
	    (rc = am_store_resolve_run(s, argv[optind], &a, &err)) == 0 &&
	    (rc = am_store_resolve_run(s, argv[optind + 1], &b, &err)) == 0 &&
	    (rc = am_compare_render(s, a, b, fmt, &out, &err)) == 0)
		fwrite(out.data, 1, out.len, stdout);
	am_buf_free(&out);
	am_store_close(s);
	return rc < 0 ? cli_fail("compare", &err) : AM_EXIT_OK;
}
