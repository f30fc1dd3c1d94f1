/* cmd_report.c: `amlab report RUN`: a stored run as text, md, json, csv or html. */
#include <getopt.h>

#include "amlab/report.h"
#include "amlab/str.h"
#include "cli.h"

const char cmd_report_usage[] =
    "usage: amlab report RUN [--db FILE] [--format text|md|json|csv|html] [--out FILE]\n"
    "                    [--judging N] [--jeffreys]\n"
    "\n"
    "Render run RUN (a run id or 'latest') of the store: the misalignment rate, rates with\n"
    "95% intervals per category, condition and axis value, invalid counts, evaluation-\n"
    "awareness splits and detector/judge agreement. html is one self-contained file with\n"
    "charts and a transcript viewer (docs/reports.md). A propensity run renders its\n"
    "forced-choice probabilities (text or json).\n"
    "\n"
    "  --db FILE      the store (default results/amlab.db)\n"
    "  --format F     text (default), md, json, csv or html\n"
    "  --out FILE     write there (atomically) instead of standard output\n"
    "  --judging N    use judging N (0: detector-only); default: the latest judging\n"
    "  --jeffreys     Jeffreys intervals instead of Wilson\n";

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},  {"format", required_argument, NULL, 'f'},
	    {"out", required_argument, NULL, 'o'}, {"judging", required_argument, NULL, 'j'},
	    {"jeffreys", no_argument, NULL, 'J'},  {NULL, 0, NULL, 0}};
	const char *db = "results/amlab.db", *out_path = NULL;
	enum am_report_format fmt = AM_REPORT_TEXT;
	enum am_ci_method method = AM_CI_WILSON;
	long judging = -1;
	struct am_err err = {0};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'f':
			if (am_report_format_parse(optarg, &fmt, &err) < 0)
				return cli_usage_error("report", "%s", err.msg);
			break;
		case 'o': out_path = optarg; break;
		case 'j':
			if (am_parse_long(optarg, &judging, "--judging", &err) < 0 || judging < 0)
				return cli_usage_error("report",
				                       "--judging must be a judging id or 0");
			break;
		case 'J': method = AM_CI_JEFFREYS; break;
		default: return cli_usage_error("report", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("report",
		                       optind < argc ? "one RUN only" : "RUN is required");
	struct am_store *s = NULL;
	struct am_report *r = NULL;
	struct am_run_info info = {0};
	struct am_buf out = AM_BUF_INIT;
	int64_t run;
	int rc;
	if ((rc = am_store_open(db, &s, &err)) < 0 ||
	    (rc = am_store_resolve_run(s, argv[optind], &run, &err)) < 0 ||
	    (rc = am_store_get_run(s, run, &info, &err)) < 0)
		goto done;
	if (am_streq(info.kind, "propensity"))
		rc = am_propensity_render(s, run, fmt, &out, &err);
	else if ((rc = am_report_build(s, run, judging, method, &r, &err)) == 0)
		rc = am_report_render(r, s, fmt, &out, &err);
	if (rc < 0)
		goto done;
	if (out_path)
		rc = am_write_file_atomic(out_path, out.data ? out.data : "", out.len, &err);
	else if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len)
		rc = am_err_set(&err, AM_EIO, "writing the report to standard output");
done:
	am_buf_free(&out);
	am_report_free(r);
	am_run_info_free(&info);
	am_store_close(s);
	return rc < 0 ? cli_fail("report", &err) : AM_EXIT_OK;
}
