/* cmd_rejudge.c: `amlab rejudge RUN --judge MODEL`: a new judging of stored transcripts. */
#include <getopt.h>

#include "amlab/judge.h"
#include "amlab/registry.h"
#include "amlab/run.h"
#include "amlab/str.h"
#include "cli.h"

const char cmd_rejudge_usage[] =
    "usage: amlab rejudge RUN --judge MODEL [--db FILE] [--concurrency C] [--attempts N]\n"
    "                     [--cache on|off|read-only] [--quiet]\n"
    "\n"
    "Re-decide every episode of run RUN with the LLM judge MODEL from the stored transcripts,\n"
    "without re-running the agent. The verdicts form a new judging of the run, which reports\n"
    "use from then on; earlier judgings stay in the store ('amlab report RUN --judging N').\n"
    "\n"
    "  --judge MODEL      any model id (docs/verdicts.md)\n"
    "  --db FILE          the store (default results/amlab.db)\n"
    "  --concurrency C    judge requests in flight (default 64)\n"
    "  --attempts N       asks per episode when the answer is unparseable (default 3)\n"
    "  --cache MODE       HTTP response cache: on (default), off, read-only\n"
    "  --quiet            no progress line\n";

int cmd_rejudge(int argc, char **argv)
{
	static const struct option opts[] = {{"judge", required_argument, NULL, 'j'},
	                                     {"db", required_argument, NULL, 'd'},
	                                     {"concurrency", required_argument, NULL, 'c'},
	                                     {"attempts", required_argument, NULL, 'a'},
	                                     {"cache", required_argument, NULL, 'C'},
	                                     {"quiet", no_argument, NULL, 'q'},
	                                     {NULL, 0, NULL, 0}};
	const char *db = "results/amlab.db", *judge_id = NULL;
	long conc = 64, attempts = AM_JUDGE_MAX_ATTEMPTS;
	bool progress = true;
	enum am_cache_mode cache_mode = AM_CACHE_ON;
	struct am_err err = {0};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': judge_id = optarg; break;
		case 'd': db = optarg; break;
		case 'c':
			if (am_parse_long(optarg, &conc, "--concurrency", &err) < 0 || conc < 1)
				return cli_usage_error("rejudge",
				                       "--concurrency must be a positive integer");
			break;
		case 'a':
			if (am_parse_long(optarg, &attempts, "--attempts", &err) < 0 ||
			    attempts < 1 || attempts > 20)
				return cli_usage_error("rejudge",
				                       "--attempts must be from 1 to 20");
			break;
		case 'C':
			if (am_cache_mode_parse(optarg, &cache_mode, &err) < 0)
				return cli_usage_error("rejudge", "%s", err.msg);
			break;
		case 'q': progress = false; break;
		default: return cli_usage_error("rejudge", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("rejudge", "RUN is required (one run)");
	if (!judge_id)
		return cli_usage_error("rejudge", "--judge is required");
	struct am_store *s = NULL;
	struct am_cache *cache = NULL;
	struct am_model *judge = NULL;
	int64_t run, judging = 0;
	long judged = 0;
	int rc;
	if ((rc = am_store_open(db, &s, &err)) < 0 ||
	    (rc = am_store_resolve_run(s, argv[optind], &run, &err)) < 0)
		goto done;
	if (cache_mode != AM_CACHE_OFF && (rc = am_cache_open(db, cache_mode, &cache, &err)) < 0)
		goto done;
	struct am_model_open_opts mo = {cache, 0};
	if ((rc = am_model_open(judge_id, &mo, &judge, &err)) < 0)
		goto done;
	rc = am_eval_rejudge(s, run, judge, (int)conc, (int)attempts, progress, &judging, &judged,
	                     &err);
	if (rc == 0)
		printf("run %" PRId64 ": judging %" PRId64 " by %s: %ld episodes judged\n", run,
		       judging, judge_id, judged);
done:
	am_model_close(judge);
	am_cache_close(cache);
	am_store_close(s);
	return rc < 0 ? cli_fail("rejudge", &err) : AM_EXIT_OK;
}
