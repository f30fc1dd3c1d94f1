/* cmd_serve.c: `amlab serve`: an OpenAI-compatible HTTP server over one model. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>

#include "amlab/log.h"
#include "amlab/registry.h"
#include "amlab/serve.h"
#include "amlab/str.h"
#include "cli.h"

const char cmd_serve_usage[] =
    "usage: amlab serve [--model M] [--host 127.0.0.1] [--port 8000] [--name NAME]\n"
    "                   [--threads N]\n"
    "\n"
    "Serve one model over an OpenAI-compatible HTTP API until interrupted (Ctrl-C or\n"
    "SIGTERM): GET /v1/models, POST /v1/chat/completions (tools, n, seed, logprobs, stream),\n"
    "POST /v1/completions (prompt scoring: echo=true, max_tokens=0, logprobs). Clients\n"
    "queue for the model one request at a time. See docs/backends.md.\n"
    "\n"
    "  --model M      local/smollm2 (default; the embedded model) or local/PATH; any HTTP\n"
    "                 model id (openai/NAME, openai@ENDPOINT/NAME, anthropic/NAME), which\n"
    "                 makes this a proxy; or replay/FILE\n"
    "  --host ADDR    address to listen on (default 127.0.0.1: this machine only; anything\n"
    "                 else lets whoever can reach it use the model)\n"
    "  --port N       port (default 8000; 0 picks a free one)\n"
    "  --name NAME    the model name /v1/models lists (default: the model id)\n"
    "  --threads N    CPU threads of the local engine (default: all)\n"
    "\n"
    "Once listening it prints 'listening on http://HOST:PORT/v1' on stdout.\n";

static int parse_int(const char *s, const char *what, long lo, long hi, long *out)
{
	struct am_err err = {0};
	if (am_parse_long(s, out, what, &err) < 0 || *out < lo || *out > hi)
		return cli_usage_error("serve", "%s must be an integer from %ld to %ld, not '%s'",
		                       what, lo, hi, s);
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
	                                     {"host", required_argument, NULL, 'H'},
	                                     {"port", required_argument, NULL, 'p'},
	                                     {"name", required_argument, NULL, 'n'},
	                                     {"threads", required_argument, NULL, 't'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *model_id = "local/smollm2", *host = "127.0.0.1", *name = NULL;
	long port = 8000, threads = 0;
	int c, rc;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model_id = optarg; break;
		case 'H': host = optarg; break;
		case 'n': name = optarg; break;
		case 'p':
			if ((rc = parse_int(optarg, "--port", 0, 65535, &port)) != 0)
				return rc;
			break;
		case 't':
			if ((rc = parse_int(optarg, "--threads", 0, 1024, &threads)) != 0)
				return rc;
			break;
		case 'h': fputs(cmd_serve_usage, stdout); return AM_EXIT_OK;
		default: return cli_usage_error("serve", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);

	/* Block the stop signals before any thread starts, so that only sigwait sees them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	struct am_err err = {0};
	struct am_model *m = NULL;
	struct am_model_open_opts mo = {.n_threads = (int)threads};
	if (am_model_open(model_id, &mo, &m, &err) < 0)
		return cli_fail("serve", &err);
	struct am_serve_options so = {.host = host, .port = (int)port, .model_name = name};
	struct am_server *s = NULL;
	if (am_serve_start(m, &so, &s, &err) < 0) {
		am_model_close(m);
		return cli_fail("serve", &err);
	}
	if (!am_streq(host, "127.0.0.1") && !am_streq(host, "localhost") && !am_streq(host, "::1"))
		am_log_warn("serving on %s: anyone who can reach this address can use the model",
		            host);
	printf("listening on http://%s%s%s:%d/v1 (model %s)\n", strchr(host, ':') ? "[" : "", host,
	       strchr(host, ':') ? "]" : "", am_serve_port(s), m->id);
	fflush(stdout);
	int sig = 0;
	sigwait(&stop, &sig);
	fprintf(stderr, "amlab serve: %s, stopping after %ld requests\n",
	        sig == SIGINT ? "interrupted" : "terminated", am_serve_requests(s));
	am_serve_stop(s);
	am_model_close(m);
	return AM_EXIT_OK;
}
