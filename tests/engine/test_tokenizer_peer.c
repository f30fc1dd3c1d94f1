/* test_tokenizer_peer.c: every case of the reference tokenizer's published vectors
 * ($AMLAB_SHARED_DIR/peer-tests/tokenizer/NAME.gguf{,.inp,.out}) reproduced token for token,
 * in-process; plus detokenize(encode(text)) == text on each case. (The same vectors through the
 * `amlab tokenize` command: tests/engine/tokenizer_cli_peer.py.) */
#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/gguf.h"
#include "amlab/str.h"
#include "amlab/tokenizer.h"
#include "test.h"

static const char *const vocabs[] = {"gpt-2", "llama-spm", "starcoder", "deepseek-llm"};

static void check_vocab(const char *name)
{
	char path[1024], inp_path[1100], out_path[1100];
	(void)am_snprintf(path, sizeof(path), "%s/peer-tests/tokenizer/ggml-vocab-%s.gguf",
	                  am_test_shared_dir(), name);
	(void)am_snprintf(inp_path, sizeof(inp_path), "%s.inp", path);
	(void)am_snprintf(out_path, sizeof(out_path), "%s.out", path);
	struct am_err err = {0};
	struct am_gguf *g = NULL;
	struct am_tokenizer *t = NULL;
	struct am_buf inp = AM_BUF_INIT, outb = AM_BUF_INIT, got = AM_BUF_INIT;
	AM_CHECK_INT(am_gguf_open(path, &g, &err), 0);
	if (g)
		AM_CHECK_INT(am_tokenizer_load(g, &t, &err), 0);
	AM_CHECK_INT(am_buf_read_file(&inp, inp_path, &err), 0);
	AM_CHECK_INT(am_buf_read_file(&outb, out_path, &err), 0);
	if (!t || !inp.data || !outb.data) {
		fprintf(stderr, "%s: %s\n", name, err.msg);
		goto out;
	}
	static const char sep[] = "\n__ggml_vocab_test__\n";
	const char *p = inp.data, *end = inp.data + inp.len;
	const char *line = outb.data;
	int cases = 0, failed = 0;
	while (p < end) {
		const char *s = memmem(p, (size_t)(end - p), sep, strlen(sep));
		if (!s)
			break;
		const char *nl = strchr(line, '\n');
		AM_CHECK(nl != NULL);
		if (!nl)
			break;
		int32_t *ids = NULL;
		size_t n = 0;
		AM_CHECK_INT(am_tokenizer_encode(t, p, (size_t)(s - p), false, &ids, &n, &err), 0);
		am_buf_reset(&got);
		for (size_t i = 0; i < n; i++)
			(void)am_buf_printf(&got, NULL, " %" PRId32, ids[i]);
		cases++;
		if (got.len != (size_t)(nl - line) ||
		    memcmp(got.data ? got.data : "", line, got.len)) {
			failed++;
			fprintf(stderr, "FAIL %s case %d %.*s\n  want:%.*s\n  got: %s\n", name,
			        cases, (int)AM_MIN(s - p, 60), p, (int)(nl - line), line,
			        got.data ? got.data : "");
		}
		struct am_buf back = AM_BUF_INIT;
		AM_CHECK_INT(am_tokenizer_detokenize(t, ids, n, true, &back, &err), 0);
		if (back.len != (size_t)(s - p) ||
		    memcmp(back.data ? back.data : "", p, back.len)) {
			failed++;
			fprintf(stderr, "FAIL %s case %d: detokenize gives '%s'\n", name, cases,
			        back.data ? back.data : "");
		}
		am_buf_free(&back);
		am_free(ids);
		p = s + strlen(sep);
		line = nl + 1;
	}
	printf("%s: %d cases, %d failed\n", name, cases, failed);
	AM_CHECK(cases >= 40);
	AM_CHECK_INT(failed, 0);
out:
	am_buf_free(&inp);
	am_buf_free(&outb);
	am_buf_free(&got);
	am_tokenizer_free(t);
	am_gguf_close(g);
}

static void test_gpt2(void)
{
	check_vocab(vocabs[0]);
}

static void test_llama_spm(void)
{
	check_vocab(vocabs[1]);
}

static void test_starcoder(void)
{
	check_vocab(vocabs[2]);
}

static void test_deepseek_llm(void)
{
	check_vocab(vocabs[3]);
}

int main(void)
{
	AM_RUN(test_gpt2);
	AM_RUN(test_llama_spm);
	AM_RUN(test_starcoder);
	AM_RUN(test_deepseek_llm);
	return am_test_result();
}
