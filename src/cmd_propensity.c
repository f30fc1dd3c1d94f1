/* cmd_propensity.c: `amlab propensity`: forced-choice P(misaligned) from log-likelihoods. */
#include <getopt.h>

#include "amlab/registry.h"
#include "amlab/report.h"
#include "amlab/run.h"
#include "cli.h"

const char cmd_propensity_usage[] =
    "usage: amlab propensity --suite S --model M [--conditions GLOB] [--preset NAME]\n"
    "                        [--db FILE] [--format text|json]\n"
    "\n"
    "For every selected condition, score each forced-choice candidate action with the model's\n"
    "log-likelihood of its text after the condition's prompt, and report P(candidate) and\n"
    "P(misaligned). P is the softmax over the condition's candidates of the mean\n"
    "log-probability per token (length-normalised; docs/statistics.md). Needs a model that\n"
    "gives log-probabilities (the local engine; replay and most chat APIs cannot).\n"
    "\n"
    "  --suite S          suite name or directory (default: honeypot)\n"
    "  --model M          model id\n"
    "  --conditions GLOB  only condition ids matching GLOB\n"
    "  --preset NAME      only the suite's preset NAME\n"
    "  --db FILE          the store (default results/amlab.db)\n"
    "  --format F         text (default) or json\n";

int cmd_propensity(int argc, char **argv)
{
	static const struct option opts[] = {{"suite", required_argument, NULL, 's'},
	                                     {"model", required_argument, NULL, 'm'},
	                                     {"conditions", required_argument, NULL, 'c'},
	                                     {"preset", required_argument, NULL, 'p'},
	                                     {"db", required_argument, NULL, 'd'},
	                                     {"format", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	struct am_eval_opts o;
	am_eval_opts_default(&o);
	const char *db = "results/amlab.db", *model_id = NULL;
	enum am_report_format fmt = AM_REPORT_TEXT;
	struct am_err err = {0};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.suite = optarg; break;
		case 'm': model_id = optarg; break;
		case 'c': o.conditions = optarg; break;
		case 'p': o.preset = optarg; break;
		case 'd': db = optarg; break;
		case 'f':
			if (am_report_format_parse(optarg, &fmt, &err) < 0 ||
			    (fmt != AM_REPORT_TEXT && fmt != AM_REPORT_JSON))
				return cli_usage_error("propensity",
				                       "--format must be text or json");
			break;
		default:
			return cli_usage_error("propensity", "unknown option '%s'",
			                       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("propensity", "unexpected argument '%s'", argv[optind]);
	if (!model_id)
		return cli_usage_error("propensity", "--model is required");
	struct am_store *s = NULL;
	struct am_model *m = NULL;
	struct am_buf out = AM_BUF_INIT;
	int64_t run = 0;
	int rc;
	if ((rc = am_store_open(db, &s, &err)) < 0 ||
	    (rc = am_model_open(model_id, NULL, &m, &err)) < 0)
		goto done;
	if (!m->ops->logprob) {
		rc = am_err_set(&err, AM_EUNSUPPORTED,
		                "model '%s' cannot score log-likelihoods (use a local/ model)",
		                model_id);
		goto done;
	}
	if ((rc = am_propensity_run(s, m, &o, &run, &err)) < 0 ||
	    (rc = am_propensity_render(s, run, fmt, &out, &err)) < 0)
		goto done;
	fwrite(out.data, 1, out.len, stdout);
done:
	am_buf_free(&out);
	am_model_close(m);
	am_store_close(s);
	return rc < 0 ? cli_fail("propensity", &err) : AM_EXIT_OK;
}
