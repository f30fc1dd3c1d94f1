/* cmd_eval.c: `amlab eval`: run a suite against a model into the store (lib/eval/run.c). */
#include <getopt.h>
#include <sys/stat.h>

#include "amlab/json.h"
#include "amlab/registry.h"
#include "amlab/run.h"
#include "amlab/str.h"
#include "cli.h"

const char cmd_eval_usage[] =
    "usage: amlab eval --suite S --model M [--samples N] [--conditions GLOB] [--preset NAME]\n"
    "                  [--judge MODEL] [--temperature T] [--seed S] [--db FILE]\n"
    "                  [--concurrency C] [--protocol text|native] [--multi-turn]\n"
    "                  [--max-steps N] [--max-tokens N] [--max-reply-tokens N]\n"
    "                  [--cache on|off|read-only] [--quiet]\n"
    "       amlab eval --resume RUN [--db FILE] [--model M] [--judge MODEL] [--concurrency C]\n"
    "\n"
    "Run every episode (condition x sample) of suite S (a built-in suite name such as\n"
    "'honeypot', or a directory) against model M, decide each one (detectors, and the LLM\n"
    "judge when --judge is given) and record everything in the store. Each finished episode\n"
    "is committed at once, so a killed run loses nothing: continue it with --resume RUN,\n"
    "which runs exactly the missing episodes with the stored parameters and refuses a\n"
    "different model, judge or suite rendering (to judge a finished run with another judge,\n"
    "use 'amlab rejudge'). Then see 'amlab report RUN'.\n"
    "\n"
    "  --suite S            suite name or directory (default: honeypot)\n"
    "  --model M            openai/NAME, openai@ENDPOINT/NAME, anthropic/NAME,\n"
    "                       local/NAME-or-PATH, replay/FILE\n"
    "  --samples N          episodes per condition (default 10)\n"
    "  --conditions GLOB    only condition ids matching GLOB ('*' matches '/' too)\n"
    "  --preset NAME        only the conditions of the suite's preset NAME (e.g. demo)\n"
    "  --judge MODEL        LLM judge (any model id); without it verdicts are detector-only\n"
    "  --temperature T      agent sampling temperature (default 1)\n"
    "  --seed S             base seed; each episode derives its own (default 1)\n"
    "  --db FILE            the store (default results/amlab.db)\n"
    "  --concurrency C      episodes in flight at once (default 64)\n"
    "  --protocol P         text (tool blocks in the reply, default) or native (function\n"
    "                       calling)\n"
    "  --multi-turn         let the agent act over several turns (default: one reply,\n"
    "                       unless the scenario's run key asks for multi-turn)\n"
    "  --max-steps N        model replies per multi-turn episode (default: the\n"
    "                       scenario's run.max_steps, else 20)\n"
    "  --max-tokens N       completion tokens per episode (default: unlimited)\n"
    "  --max-reply-tokens N completion tokens per request (default: provider default)\n"
    "  --cache MODE         HTTP response cache in the store: on (default), off, read-only\n"
    "  --resume RUN         continue run RUN (a number or 'latest')\n"
    "  --quiet              no progress line (it is only shown on a terminal anyway)\n";

#define DEFAULT_DB "results/amlab.db"

static int parse_int(const char *s, const char *what, long lo, long hi, long *out)
{
	struct am_err err = {0};
	if (am_parse_long(s, out, what, &err) < 0 || *out < lo || *out > hi)
		return cli_usage_error("eval", "%s must be an integer from %ld to %ld, not '%s'",
		                       what, lo, hi, s);
	return 0;
}

/* Make the directory of the default store. */
static void ensure_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return;
	char dir[4096];
	if (am_snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) == 0)
		mkdir(dir, 0777);
}

int cmd_eval(int argc, char **argv)
{
	enum {
		O_SUITE = 1000,
		O_MODEL,
		O_SAMPLES,
		O_COND,
		O_PRESET,
		O_JUDGE,
		O_TEMP,
		O_SEED,
		O_DB,
		O_CONC,
		O_PROTO,
		O_MULTI,
		O_STEPS,
		O_TOKENS,
		O_REPLY,
		O_CACHE,
		O_RESUME,
		O_QUIET,
		O_STOP
	};
	static const struct option opts[] = {
	    {"suite", required_argument, NULL, O_SUITE},
	    {"model", required_argument, NULL, O_MODEL},
	    {"samples", required_argument, NULL, O_SAMPLES},
	    {"conditions", required_argument, NULL, O_COND},
	    {"preset", required_argument, NULL, O_PRESET},
	    {"judge", required_argument, NULL, O_JUDGE},
	    {"temperature", required_argument, NULL, O_TEMP},
	    {"seed", required_argument, NULL, O_SEED},
	    {"db", required_argument, NULL, O_DB},
	    {"concurrency", required_argument, NULL, O_CONC},
	    {"protocol", required_argument, NULL, O_PROTO},
	    {"multi-turn", no_argument, NULL, O_MULTI},
	    {"max-steps", required_argument, NULL, O_STEPS},
	    {"max-tokens", required_argument, NULL, O_TOKENS},
	    {"max-reply-tokens", required_argument, NULL, O_REPLY},
	    {"cache", required_argument, NULL, O_CACHE},
	    {"resume", required_argument, NULL, O_RESUME},
	    {"quiet", no_argument, NULL, O_QUIET},
	    /* testing: stop after N committed episodes, leaving the run resumable */
	    {"stop-after", required_argument, NULL, O_STOP},
	    {NULL, 0, NULL, 0}};
	struct am_eval_opts o;
	am_eval_opts_default(&o);
	o.progress = true;
	const char *model_id = NULL, *judge_id = NULL, *db = DEFAULT_DB, *resume_s = NULL;
	enum am_cache_mode cache_mode = AM_CACHE_ON;
	bool param_given = false, conc_given = false;
	long v;
	double d;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		struct am_err perr = {0};
		switch (c) {
		case O_SUITE:
			o.suite = optarg;
			param_given = true;
			break;
		case O_MODEL: model_id = optarg; break;
		case O_SAMPLES:
			if (parse_int(optarg, "--samples", 1, 1000000, &v))
				return AM_EXIT_USAGE;
			o.samples = (int)v;
			param_given = true;
			break;
		case O_COND:
			o.conditions = optarg;
			param_given = true;
			break;
		case O_PRESET:
			o.preset = optarg;
			param_given = true;
			break;
		case O_JUDGE: judge_id = optarg; break;
		case O_TEMP:
			if (am_parse_double(optarg, &d, "--temperature", &perr) < 0 || d < 0 ||
			    d > 5)
				return cli_usage_error(
				    "eval", "--temperature must be from 0 to 5, not '%s'", optarg);
			o.temperature = d;
			param_given = true;
			break;
		case O_SEED: {
			unsigned long sv;
			if (am_parse_ulong(optarg, &sv, "--seed", &perr) < 0)
				return cli_usage_error("eval",
				                       "--seed must be a non-negative integer, "
				                       "not '%s'",
				                       optarg);
			o.seed = sv;
			param_given = true;
			break;
		}
		case O_DB: db = optarg; break;
		case O_CONC:
			if (parse_int(optarg, "--concurrency", 1, 100000, &v))
				return AM_EXIT_USAGE;
			o.concurrency = (int)v;
			conc_given = true;
			break;
		case O_PROTO:
			if (am_streq(optarg, "text"))
				o.protocol = AM_PROTOCOL_TEXT;
			else if (am_streq(optarg, "native"))
				o.protocol = AM_PROTOCOL_NATIVE;
			else
				return cli_usage_error("eval", "--protocol must be text or native");
			param_given = true;
			break;
		case O_MULTI:
			o.multi_turn = true;
			param_given = true;
			break;
		case O_STEPS:
			if (parse_int(optarg, "--max-steps", 1, 10000, &v))
				return AM_EXIT_USAGE;
			o.max_steps = (int)v;
			param_given = true;
			break;
		case O_TOKENS:
			if (parse_int(optarg, "--max-tokens", 1, 100000000, &v))
				return AM_EXIT_USAGE;
			o.max_tokens = v;
			param_given = true;
			break;
		case O_REPLY:
			if (parse_int(optarg, "--max-reply-tokens", 1, 10000000, &v))
				return AM_EXIT_USAGE;
			o.max_reply_tokens = (int)v;
			param_given = true;
			break;
		case O_CACHE:
			if (am_cache_mode_parse(optarg, &cache_mode, &perr) < 0)
				return cli_usage_error("eval", "%s", perr.msg);
			break;
		case O_RESUME: resume_s = optarg; break;
		case O_QUIET: o.progress = false; break;
		case O_STOP:
			if (parse_int(optarg, "--stop-after", 1, LONG_MAX, &v))
				return AM_EXIT_USAGE;
			o.stop_after = v;
			break;
		default: return cli_usage_error("eval", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
	if (resume_s && param_given)
		return cli_usage_error("eval", "--resume uses the run's stored parameters; do not "
		                               "give suite, sample or sampling options with it");
	if (!resume_s && !model_id)
		return cli_usage_error("eval", "--model is required");

	struct am_err err = {0};
	struct am_store *store = NULL;
	struct am_cache *cache = NULL;
	struct am_model *model = NULL, *judge = NULL;
	struct am_run_info info = {0};
	am_json *holder = NULL;
	int64_t resume = 0;
	int rc, exit_code = AM_EXIT_FAIL;
	if (am_streq(db, DEFAULT_DB))
		ensure_parent(db);
	if ((rc = am_store_open(db, &store, &err)) < 0)
		goto out;
	if (resume_s) {
		if ((rc = am_store_resolve_run(store, resume_s, &resume, &err)) < 0 ||
		    (rc = am_store_get_run(store, resume, &info, &err)) < 0)
			goto out;
		int conc = o.concurrency;
		bool prog = o.progress;
		long stop = o.stop_after;
		if ((rc = am_eval_opts_from_run(&info, &o, &holder, &err)) < 0)
			goto out;
		if (conc_given)
			o.concurrency = conc;
		o.progress = prog;
		o.stop_after = stop;
		if (!model_id)
			model_id = info.model;
		if (!judge_id)
			judge_id = info.judge;
	}
	if (cache_mode != AM_CACHE_OFF && (rc = am_cache_open(db, cache_mode, &cache, &err)) < 0)
		goto out;
	struct am_model_open_opts mo = {cache, 0};
	if ((rc = am_model_open(model_id, &mo, &model, &err)) < 0)
		goto out;
	if (judge_id && (rc = am_model_open(judge_id, &mo, &judge, &err)) < 0) {
		am_err_prefix(&err, "judge");
		goto out;
	}
	struct am_eval_summary sum;
	rc = am_eval_run(store, model, judge, &o, resume, &sum, &err);
	if (sum.run > 0)
		printf("run %" PRId64 ": %ld episodes (%ld run now, %ld already done), %ld model "
		       "errors, %ld judged, %.1f s\n",
		       sum.run, sum.total, sum.ran, sum.already_done, sum.model_errors, sum.judged,
		       sum.seconds);
	if (rc < 0)
		goto out;
	if (sum.ran + sum.already_done < sum.total)
		printf("stopped early; continue with: amlab eval --resume %" PRId64 " --db %s\n",
		       sum.run, db);
	else
		printf("see: amlab report %" PRId64 " --db %s\n", sum.run, db);
	exit_code = AM_EXIT_OK;
out:
	if (rc < 0)
		exit_code = cli_fail("eval", &err);
	am_model_close(model);
	am_model_close(judge);
	am_cache_close(cache);
	am_store_close(store);
	am_run_info_free(&info);
	am_json_free(holder);
	return exit_code;
}
