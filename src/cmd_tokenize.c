/* cmd_tokenize.c: `amlab tokenize`: text on stdin to token ids. */
#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/gguf.h"
#include "amlab/tokenizer.h"
#include "cli.h"

#include <getopt.h>

const char cmd_tokenize_usage[] =
    "usage: amlab tokenize --model FILE [--parse-special]\n"
    "\n"
    "Read UTF-8 text from stdin (all of it, as one string) and print its token ids on one\n"
    "line, separated by single spaces. No BOS/EOS token is added. Special-token strings in\n"
    "the text are plain text unless --parse-special is given. FILE may be a whole model or a\n"
    "vocabulary-only GGUF file.\n"
    "\n"
    "  --model FILE       the GGUF file whose tokenizer to use\n"
    "  --parse-special    turn special-token strings (e.g. <|im_end|>) into their tokens\n";

int cmd_tokenize(int argc, char **argv)
{
	static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
	                                     {"parse-special", no_argument, NULL, 's'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *model = NULL;
	bool parse_special = false;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 's': parse_special = true; break;
		case 'h': fputs(cmd_tokenize_usage, stdout); return AM_EXIT_OK;
		default:
			return cli_usage_error("tokenize", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("tokenize", "unexpected argument '%s'", argv[optind]);
	if (!model)
		return cli_usage_error("tokenize", "--model FILE is required");

	struct am_err err = {0};
	struct am_gguf *g = NULL;
	struct am_tokenizer *t = NULL;
	struct am_buf in = AM_BUF_INIT, line = AM_BUF_INIT;
	int32_t *ids = NULL;
	size_t n = 0;
	int rc = am_gguf_open(model, &g, &err);
	if (rc == 0)
		rc = am_tokenizer_load(g, &t, &err);
	if (rc == 0)
		rc = am_buf_read_stream(&in, stdin, "<stdin>", &err);
	if (rc == 0)
		rc = am_tokenizer_encode(t, in.data ? in.data : "", in.len, parse_special, &ids, &n,
		                         &err);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = am_buf_printf(&line, &err, i ? " %" PRId32 : "%" PRId32, ids[i]);
	if (rc == 0)
		rc = am_buf_putc(&line, '\n', &err);
	if (rc == 0 && (fwrite(line.data, 1, line.len, stdout) != line.len || fflush(stdout) != 0))
		rc = am_err_set(&err, AM_EIO, "writing stdout: %s", strerror(errno));
	am_free(ids);
	am_buf_free(&in);
	am_buf_free(&line);
	am_tokenizer_free(t);
	am_gguf_close(g);
	return rc < 0 ? cli_fail("tokenize", &err) : AM_EXIT_OK;
}
