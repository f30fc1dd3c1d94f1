/* pretok_dump.c: prints how a pre-tokenizer splits texts, for tests/engine/pretok_peer.py.
 *
 * Usage: pretok_dump PRE_NAME < LINES. Each input line is a hex-encoded UTF-8 text; each output
 * line lists the fragments of that text, hex-encoded, separated by single spaces ("-" for an
 * empty text). */
#include "../../lib/engine/tokenizer_internal.h"
#include "../../lib/engine/unicode.h"
#include "amlab/alloc.h"
#include "amlab/buf.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pretok_dump PRE_NAME < hex lines\n");
		return 2;
	}
	bool unsupported;
	const struct am_pretok *p = am_pretok_find(argv[1], strlen(argv[1]), &unsupported);
	if (!p) {
		fprintf(stderr, "unknown pre-tokenizer %s\n", argv[1]);
		return 2;
	}
	struct am_buf in = AM_BUF_INIT;
	if (am_buf_read_stream(&in, stdin, "<stdin>", NULL) < 0)
		return 1;
	struct am_span_vec spans = {0};
	int rc = 0;
	char *save = NULL;
	for (char *line = strtok_r(in.data ? in.data : (char[]){0}, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t hl = strlen(line), n = hl / 2;
		uint8_t *text = am_malloc(n + 1);
		uint32_t *cps = am_malloc((n + 1) * sizeof(uint32_t));
		uint16_t *fl = am_malloc((n + 1) * sizeof(uint16_t));
		size_t *off = am_malloc((n + 1) * sizeof(size_t));
		if (!text || !cps || !fl || !off)
			return 1;
		for (size_t i = 0; i < n; i++)
			text[i] = (uint8_t)(hexval(line[2 * i]) * 16 + hexval(line[2 * i + 1]));
		size_t m = 0;
		for (size_t o = 0; o < n; m++) {
			size_t len;
			cps[m] = am_utf8_next(text + o, n - o, &len);
			fl[m] = am_ucp_flags(cps[m]);
			off[m] = o;
			o += len;
		}
		off[m] = n;
		struct am_cp_text t = {cps, fl, m};
		rc = am_pretok_split(p, &t, &spans, NULL);
		if (spans.n == 0)
			fputs("-", stdout);
		for (size_t f = 0; f < spans.n; f++) {
			if (f)
				putchar(' ');
			for (size_t b = off[spans.v[f].start]; b < off[spans.v[f].end]; b++)
				printf("%02x", text[b]);
		}
		putchar('\n');
		am_free(text);
		am_free(cps);
		am_free(fl);
		am_free(off);
	}
	am_span_vec_free(&spans);
	am_buf_free(&in);
	return rc < 0 ? 1 : 0;
}
