/* tok_batch.c: tokenizes many texts with one vocabulary, for tests/engine/tokenizer_hf_peer.py.
 *
 * Usage: tok_batch VOCAB.gguf < LINES. Each input line is a hex-encoded text; each output line
 * holds its token ids separated by single spaces (special-token strings are plain text). */
#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/gguf.h"
#include "amlab/tokenizer.h"

static int hexval(int c)
{
	return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: tok_batch VOCAB.gguf < hex lines\n");
		return 2;
	}
	struct am_err err = {0};
	struct am_gguf *g = NULL;
	struct am_tokenizer *t = NULL;
	struct am_buf in = AM_BUF_INIT;
	int rc = am_gguf_open(argv[1], &g, &err);
	if (rc == 0)
		rc = am_tokenizer_load(g, &t, &err);
	if (rc == 0)
		rc = am_buf_read_stream(&in, stdin, "<stdin>", &err);
	const char *p = in.data ? in.data : "";
	while (rc == 0 && *p) {
		const char *nl = strchr(p, '\n');
		size_t hl = nl ? (size_t)(nl - p) : strlen(p), n = hl / 2;
		char *text = am_malloc(n + 1);
		if (!text) {
			rc = AM_ENOMEM;
			break;
		}
		for (size_t i = 0; i < n; i++)
			text[i] = (char)(hexval(p[2 * i]) * 16 + hexval(p[2 * i + 1]));
		int32_t *ids = NULL;
		size_t n_ids = 0;
		rc = am_tokenizer_encode(t, text, n, false, &ids, &n_ids, &err);
		for (size_t i = 0; i < n_ids; i++)
			printf(i ? " %" PRId32 : "%" PRId32, ids[i]);
		putchar('\n');
		am_free(ids);
		am_free(text);
		p = nl ? nl + 1 : p + hl;
	}
	am_buf_free(&in);
	am_tokenizer_free(t);
	am_gguf_close(g);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], err.msg);
		return 1;
	}
	return 0;
}
