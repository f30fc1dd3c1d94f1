/* cmd_logprob.c: `amlab logprob`: log-probability of a continuation under a local model. */
#include "amlab/engine.h"
#include "amlab/str.h"
#include "cli.h"

#include <getopt.h>

const char cmd_logprob_usage[] =
    "usage: amlab logprob --model M --context TEXT --continuation TEXT [--threads N]\n"
    "\n"
    "Print log P(continuation | context) under a local GGUF model, summed over the\n"
    "continuation's tokens (natural log), and the number of those tokens:\n"
    "\"LOGPROB N_TOKENS\". Both texts are raw (no chat template); the model's BOS token is\n"
    "prepended to the context when its tokenizer asks for one. Nothing is sampled.\n"
    "\n"
    "  --model M            local/smollm2, local/PATH or a GGUF PATH\n"
    "  --context TEXT       the conditioning text\n"
    "  --continuation TEXT  the text to score\n"
    "  --threads N          compute threads (default: all CPUs)\n";

int cmd_logprob(int argc, char **argv)
{
	static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
	                                     {"context", required_argument, NULL, 'c'},
	                                     {"continuation", required_argument, NULL, 'k'},
	                                     {"threads", required_argument, NULL, 't'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *model = NULL, *context = NULL, *cont = NULL;
	long threads = 0;
	struct am_err err = {0};
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'c': context = optarg; break;
		case 'k': cont = optarg; break;
		case 't':
			if (am_parse_long(optarg, &threads, "--threads", &err) < 0 || threads < 1 ||
			    threads > 256)
				return cli_usage_error("logprob", "--threads must be 1..256");
			break;
		case 'h': fputs(cmd_logprob_usage, stdout); return AM_EXIT_OK;
		default: return cli_usage_error("logprob", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("logprob", "unexpected argument '%s'", argv[optind]);
	if (!model || !context || !cont)
		return cli_usage_error("logprob",
		                       "--model, --context and --continuation are required");
	struct am_model *m = NULL;
	struct am_local_options lo = {.n_threads = (int)threads};
	double lp = 0;
	long n = 0;
	int rc = am_local_open(model, &lo, &m, &err);
	if (rc == 0)
		rc = am_model_logprob(m, context, cont, &lp, &n, &err);
	am_model_close(m);
	if (rc < 0)
		return cli_fail("logprob", &err);
	printf("%.6f %ld\n", lp, n);
	return AM_EXIT_OK;
}
