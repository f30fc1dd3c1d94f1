/* cmd_generate.c: `amlab generate`: sample completions from a local GGUF model. */
#include "amlab/alloc.h"
#include "amlab/chat_template.h"
#include "amlab/clock.h"
#include "amlab/engine.h"
#include "amlab/json.h"
#include "amlab/str.h"
#include "cli.h"

#include <getopt.h>

const char cmd_generate_usage[] =
    "usage: amlab generate --model M [--prompt TEXT | --chat FILE] [--samples N] [--seed S]\n"
    "                      [--temperature T] [--top-k K] [--top-p P] [--min-p P]\n"
    "                      [--max-tokens N] [--stop STR]... [--threads N] [--template NAME]\n"
    "\n"
    "Generate replies with the built-in local engine. The prompt is one user message\n"
    "(--prompt) or a conversation (--chat FILE: a JSON array of {\"role\", \"content\"}),\n"
    "rendered with the model's chat template. N samples of one prompt are decoded together\n"
    "as a batch (the prompt is prefilled once); sample i uses seed S+i, so the same seed\n"
    "gives the same output.\n"
    "\n"
    "  --model M          local/smollm2 (the embedded model), local/PATH or a GGUF PATH\n"
    "  --prompt TEXT      the user message\n"
    "  --chat FILE        a conversation in JSON\n"
    "  --samples N        number of samples (default 1)\n"
    "  --seed S           sampling seed (default 0)\n"
    "  --temperature T    0 for greedy (default 0.8)\n"
    "  --top-k K          keep the K most likely tokens, 0 = off (default 40)\n"
    "  --top-p P          nucleus sampling, 1 = off (default 0.95)\n"
    "  --min-p P          drop tokens below P times the most likely one (default 0.05)\n"
    "  --max-tokens N     reply length cap (default 256)\n"
    "  --stop STR         stop before this string (repeatable)\n"
    "  --threads N        compute threads (default: all CPUs)\n"
    "  --template NAME    chatml, gemma or llama3 instead of the GGUF's template\n"
    "\n"
    "One sample prints its text; several print a header line per sample. Timing goes to\n"
    "stderr.\n";

struct gen_source {
	struct am_chat_request *reqs;
	size_t n, next, done;
	struct am_chat_reply *replies;
};

static int src_next(void *ctx, const struct am_chat_request **req, void **tag, struct am_err *err)
{
	struct gen_source *s = ctx;
	(void)err;
	*req = NULL;
	if (s->next < s->n) {
		*tag = (void *)(uintptr_t)s->next;
		*req = &s->reqs[s->next++];
	}
	return 0;
}

static void src_done(void *ctx, void *tag, struct am_chat_reply *reply)
{
	struct gen_source *s = ctx;
	s->replies[(uintptr_t)tag] = *reply;
	s->done++;
}

static bool src_finished(void *ctx)
{
	struct gen_source *s = ctx;
	return s->next == s->n;
}

static int parse_num(const char *opt, const char *v, double lo, double hi, double *out,
                     struct am_err *err)
{
	if (am_parse_double(v, out, opt, err) < 0)
		return AM_EINVAL;
	if (*out < lo || *out > hi)
		return am_err_set(err, AM_EINVAL, "%s %s is out of range %g..%g", opt, v, lo, hi);
	return 0;
}

int cmd_generate(int argc, char **argv)
{
	static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
	                                     {"prompt", required_argument, NULL, 'p'},
	                                     {"chat", required_argument, NULL, 'c'},
	                                     {"samples", required_argument, NULL, 'n'},
	                                     {"seed", required_argument, NULL, 's'},
	                                     {"temperature", required_argument, NULL, 'T'},
	                                     {"top-k", required_argument, NULL, 'k'},
	                                     {"top-p", required_argument, NULL, 'P'},
	                                     {"min-p", required_argument, NULL, 'M'},
	                                     {"max-tokens", required_argument, NULL, 'x'},
	                                     {"stop", required_argument, NULL, 'S'},
	                                     {"threads", required_argument, NULL, 't'},
	                                     {"template", required_argument, NULL, 'e'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *model = NULL, *prompt = NULL, *chat = NULL, *tmpl = NULL;
	double samples = 1, seed = 0, temp = 0.8, top_k = 40, top_p = 0.95, min_p = 0.05,
	       max_tokens = 256, threads = 0;
	char **stops = NULL;
	size_t n_stops = 0;
	struct am_err err = {0};
	struct am_chat_message *msgs = NULL;
	size_t n_msgs = 0;
	am_json *chat_json = NULL;
	struct am_model *m = NULL;
	struct gen_source src = {0};
	int rc = 0, c, exit_code = AM_EXIT_OK;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'p': prompt = optarg; break;
		case 'c': chat = optarg; break;
		case 'n': rc = parse_num("--samples", optarg, 1, 4096, &samples, &err); break;
		case 's':
			rc = parse_num("--seed", optarg, 0, 9007199254740992.0, &seed, &err);
			break;
		case 'T': rc = parse_num("--temperature", optarg, 0, 100, &temp, &err); break;
		case 'k': rc = parse_num("--top-k", optarg, 0, 1e9, &top_k, &err); break;
		case 'P': rc = parse_num("--top-p", optarg, 1e-9, 1, &top_p, &err); break;
		case 'M': rc = parse_num("--min-p", optarg, 0, 1, &min_p, &err); break;
		case 'x': rc = parse_num("--max-tokens", optarg, 1, 1e7, &max_tokens, &err); break;
		case 't': rc = parse_num("--threads", optarg, 1, 256, &threads, &err); break;
		case 'e': tmpl = optarg; break;
		case 'S': {
			char **ns = am_reallocarray(stops, n_stops + 1, sizeof(char *));
			if (!ns) {
				rc = am_err_set(&err, AM_ENOMEM, "out of memory");
				break;
			}
			stops = ns;
			stops[n_stops++] = optarg;
			break;
		}
		case 'h': fputs(cmd_generate_usage, stdout); goto out;
		default:
			exit_code =
			    cli_usage_error("generate", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
		if (rc < 0) {
			exit_code = cli_usage_error("generate", "%s", err.msg);
			goto out;
		}
	}
	if (optind < argc) {
		exit_code = cli_usage_error("generate", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!model || (!prompt == !chat)) {
		exit_code = cli_usage_error(
		    "generate", "--model and exactly one of --prompt and --chat are required");
		goto out;
	}
	if (chat) {
		if ((rc = am_json_parse_file(chat, &chat_json, &err)) < 0 ||
		    (rc = am_chat_messages_from_json(chat_json, chat, &msgs, &n_msgs, &err)) < 0)
			goto fail;
	} else {
		msgs = am_calloc(1, sizeof(*msgs));
		if (!msgs || !(msgs[0].content = am_strdup(prompt))) {
			rc = am_err_set(&err, AM_ENOMEM, "out of memory");
			goto fail;
		}
		msgs[0].role = AM_ROLE_USER;
		n_msgs = 1;
	}
	struct am_local_options lo = {.n_threads = (int)threads, .template_name = tmpl};
	if ((rc = am_local_open(model, &lo, &m, &err)) < 0)
		goto fail;
	src.n = (size_t)samples;
	src.reqs = am_calloc(src.n, sizeof(*src.reqs));
	src.replies = am_calloc(src.n, sizeof(*src.replies));
	if (!src.reqs || !src.replies) {
		rc = am_err_set(&err, AM_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < src.n; i++) {
		struct am_chat_request *r = &src.reqs[i];
		r->messages = msgs;
		r->n_messages = n_msgs;
		r->temperature = temp;
		r->top_k = (int)top_k;
		r->top_p = top_p;
		r->min_p = min_p;
		r->max_tokens = (int)max_tokens;
		r->seed = (uint64_t)seed + i;
		r->sample_index = (int)i;
		r->stop = stops;
		r->n_stop = n_stops;
	}
	struct am_request_source rs = {
	    .ctx = &src, .next = src_next, .done = src_done, .finished = src_finished};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = m->ops->run(m, &rs, &err)) < 0)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long gen = 0;
	for (size_t i = 0; i < src.n; i++) {
		struct am_chat_reply *r = &src.replies[i];
		if (r->status != AM_REPLY_OK) {
			fprintf(stderr, "amlab: generate: sample %zu failed (%s): %s\n", i,
			        r->error_kind ? r->error_kind : "?", r->error ? r->error : "");
			exit_code = AM_EXIT_FAIL;
			continue;
		}
		gen += r->completion_tokens;
		if (src.n > 1)
			printf("--- sample %zu (seed %" PRIu64 ", %ld tokens, %s) ---\n", i,
			       src.reqs[i].seed, r->completion_tokens, r->finish_reason);
		printf("%s\n", r->content);
	}
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	fprintf(stderr,
	        "%zu sample(s), %ld prompt tokens, %ld generated tokens in %.2f s (%.1f t/s)\n",
	        src.n, src.n ? src.replies[0].prompt_tokens : 0L, gen, secs,
	        secs > 0 ? (double)gen / secs : 0.0);
	goto out;
fail:
	exit_code = cli_fail("generate", &err);
out:
	for (size_t i = 0; src.replies && i < src.n; i++)
		am_chat_reply_free(&src.replies[i]);
	am_free(src.replies);
	am_free(src.reqs);
	for (size_t i = 0; i < n_msgs; i++)
		am_chat_message_free(&msgs[i]);
	am_free(msgs);
	am_json_free(chat_json);
	am_free(stops);
	am_model_close(m);
	return exit_code;
}
