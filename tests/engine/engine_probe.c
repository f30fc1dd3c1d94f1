/* engine_probe.c: a test tool that exposes the engine's numbers to the Python reference tests
 * (tests/engine/ref_model.py, test_model_ref.py):
 *
 *   engine_probe dequant TYPE_ID IN OUT         raw blocks -> float32 (checks SIMD == scalar)
 *   engine_probe tensor MODEL NAME OUT           one GGUF tensor dequantized -> float32
 *   engine_probe logits MODEL IDS OUT [THREADS] [generic]
 *                                                token ids (text file) -> float32 [n][vocab]
 *   engine_probe greedy MODEL IDS N [THREADS]    greedy continuation ids on stdout
 *   engine_probe chat MODEL CHAT_JSON            the prompt the model's chat template renders
 *
 * Not a user command: it exists so that tests compare the C engine against independent code. */
#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/chat_template.h"
#include "amlab/engine.h"
#include "amlab/gguf.h"
#include "amlab/quant.h"
#include "amlab/str.h"

static int fail(const struct am_err *err)
{
	char msg[1024];
	am_err_format(err, msg, sizeof(msg));
	fprintf(stderr, "engine_probe: %s\n", msg);
	return 1;
}

static int write_all(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n) {
		fprintf(stderr, "engine_probe: cannot write %s\n", path);
		if (f)
			fclose(f);
		return 1;
	}
	return fclose(f) == 0 ? 0 : 1;
}

static int read_ids(const char *path, int32_t **ids, size_t *n, struct am_err *err)
{
	struct am_buf b = AM_BUF_INIT;
	int rc = am_buf_read_file(&b, path, err);
	*ids = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	size_t cap = b.len / 2 + 1;
	*ids = am_calloc(cap, sizeof(int32_t));
	if (!*ids) {
		am_buf_free(&b);
		return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	char *p = b.data;
	while (*p) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		(*ids)[(*n)++] = (int32_t)v;
		p = end;
	}
	am_buf_free(&b);
	return 0;
}

static int cmd_dequant(char **argv)
{
	struct am_err err = {0};
	long type;
	if (am_parse_long(argv[2], &type, "type", &err) < 0)
		return fail(&err);
	struct am_buf in = AM_BUF_INIT;
	if (am_buf_read_file(&in, argv[3], &err) < 0)
		return fail(&err);
	enum am_ggml_type t = (enum am_ggml_type)type;
	size_t bb = am_quant_block_bytes(t), be = am_quant_block_elems(t);
	if (!bb || in.len % bb) {
		am_buf_free(&in);
		fprintf(stderr, "engine_probe: bad type or size\n");
		return 1;
	}
	size_t n = in.len / bb * be;
	float *a = am_calloc(n + 1, sizeof(float)), *b = am_calloc(n + 1, sizeof(float));
	int rc = 1;
	if (a && b && am_dequantize_row(t, in.data, a, n) == 0 &&
	    am_dequantize_row_ref(t, in.data, b, n) == 0) {
		if (memcmp(a, b, n * sizeof(float)) != 0)
			fprintf(stderr, "engine_probe: SIMD and scalar dequantization differ\n");
		else
			rc = write_all(argv[4], a, n * sizeof(float));
	}
	am_free(a);
	am_free(b);
	am_buf_free(&in);
	return rc;
}

static int cmd_tensor(char **argv)
{
	struct am_err err = {0};
	struct am_gguf *g;
	if (am_gguf_open(argv[2], &g, &err) < 0)
		return fail(&err);
	const struct am_gguf_tensor *t = am_gguf_find_tensor(g, argv[3]);
	int rc = 1;
	float *out = NULL;
	if (!t)
		fprintf(stderr, "engine_probe: no tensor %s\n", argv[3]);
	else if ((out = am_calloc(t->n_elements + 1, sizeof(float))) &&
	         am_dequantize_row(t->type, t->data, out, t->n_elements) == 0)
		rc = write_all(argv[4], out, t->n_elements * sizeof(float));
	am_free(out);
	am_gguf_close(g);
	return rc;
}

static int setup(const char *model, const char *ids_path, int threads, struct am_llm **m,
                 struct am_llm_ctx *c, int32_t **ids, size_t *n, struct am_err *err)
{
	int rc = am_llm_load(model, m, err);
	if (rc < 0)
		return rc;
	if ((rc = am_llm_ctx_init(c, threads, err)) < 0)
		return rc;
	return read_ids(ids_path, ids, n, err);
}

static int cmd_logits(int argc, char **argv)
{
	struct am_err err = {0};
	struct am_llm *m = NULL;
	struct am_llm_ctx c = {0};
	struct am_llm_seq s = {0};
	int32_t *ids = NULL;
	size_t n = 0;
	long threads = 1;
	float *logits = NULL;
	int rc = 1;
	if (argc > 5 && am_parse_long(argv[5], &threads, "threads", &err) < 0)
		goto out;
	if (setup(argv[2], argv[3], (int)threads, &m, &c, &ids, &n, &err) < 0)
		goto out;
	c.force_generic = argc > 6 && strcmp(argv[6], "generic") == 0;
	c.k.f32_activations = argc > 6 && strcmp(argv[6], "f32") == 0;
	if (argc > 6 && strcmp(argv[6], "q8") == 0)
		c.k.f32_min_tokens = SIZE_MAX;
	am_llm_seq_init(&s, m);
	size_t V = (size_t)am_llm_hparams(m)->n_vocab;
	logits = am_reallocarray(NULL, n * V + 1, sizeof(float));
	if (!logits)
		goto out;
	/* feed in uneven chunks so that cache continuation across calls is exercised too */
	size_t done = 0, chunk = 7;
	while (done < n) {
		size_t k = AM_MIN(chunk, n - done);
		if (am_llm_eval(m, &c, &s, ids + done, k, true, logits + done * V, &err) < 0)
			goto out;
		done += k;
		chunk = chunk * 3 + 1;
	}
	rc = write_all(argv[4], logits, n * V * sizeof(float));
out:
	if (err.code)
		fail(&err);
	am_free(logits);
	am_free(ids);
	am_llm_seq_free(&s);
	am_llm_ctx_free(&c);
	am_llm_free(m);
	return rc;
}

static int cmd_greedy(int argc, char **argv)
{
	struct am_err err = {0};
	struct am_llm *m = NULL;
	struct am_llm_ctx c = {0};
	struct am_llm_seq s = {0};
	int32_t *ids = NULL;
	size_t n = 0;
	long steps, threads = 1;
	float *logits = NULL;
	int rc = 1;
	if (am_parse_long(argv[4], &steps, "steps", &err) < 0 ||
	    (argc > 5 && am_parse_long(argv[5], &threads, "threads", &err) < 0))
		goto out;
	if (setup(argv[2], argv[3], (int)threads, &m, &c, &ids, &n, &err) < 0)
		goto out;
	am_llm_seq_init(&s, m);
	size_t V = (size_t)am_llm_hparams(m)->n_vocab;
	if (!(logits = am_calloc(V, sizeof(float))))
		goto out;
	if (am_llm_eval(m, &c, &s, ids, n, false, logits, &err) < 0)
		goto out;
	for (long i = 0; i < steps; i++) {
		int32_t best = 0;
		for (size_t v = 1; v < V; v++)
			if (logits[v] > logits[best])
				best = (int32_t)v;
		printf("%s%" PRId32, i ? " " : "", best);
		if (am_llm_eval(m, &c, &s, &best, 1, false, logits, &err) < 0)
			goto out;
	}
	printf("\n");
	rc = 0;
out:
	if (err.code)
		fail(&err);
	am_free(logits);
	am_free(ids);
	am_llm_seq_free(&s);
	am_llm_ctx_free(&c);
	am_llm_free(m);
	return rc;
}

static int cmd_chat(char **argv)
{
	struct am_err err = {0};
	struct am_gguf *g = NULL;
	am_json *v = NULL;
	struct am_chat_message *msgs = NULL;
	size_t n = 0;
	struct am_chat_template t = {0};
	struct am_gguf_str js;
	struct am_buf out = AM_BUF_INIT;
	int rc = am_gguf_open(argv[2], &g, &err);
	if (rc == 0)
		rc = am_gguf_get_str(g, "tokenizer.chat_template", &js, &err);
	if (rc == 0)
		rc = am_chat_template_detect(js.ptr, (size_t)js.len, &t, &err);
	if (rc == 0)
		rc = am_json_parse_file(argv[3], &v, &err);
	if (rc == 0)
		rc = am_chat_messages_from_json(v, argv[3], &msgs, &n, &err);
	if (rc == 0)
		rc = am_chat_template_render(&t, msgs, n, true, &out, &err);
	if (rc == 0)
		fwrite(out.data, 1, out.len, stdout);
	for (size_t i = 0; i < n; i++)
		am_chat_message_free(&msgs[i]);
	am_free(msgs);
	am_json_free(v);
	am_buf_free(&out);
	am_chat_template_free(&t);
	am_gguf_close(g);
	return rc < 0 ? fail(&err) : 0;
}

int main(int argc, char **argv)
{
	am_json_init();
	if (argc >= 4 && strcmp(argv[1], "chat") == 0)
		return cmd_chat(argv);
	if (argc >= 5 && strcmp(argv[1], "dequant") == 0)
		return cmd_dequant(argv);
	if (argc >= 5 && strcmp(argv[1], "tensor") == 0)
		return cmd_tensor(argv);
	if (argc >= 5 && strcmp(argv[1], "logits") == 0)
		return cmd_logits(argc, argv);
	if (argc >= 5 && strcmp(argv[1], "greedy") == 0)
		return cmd_greedy(argc, argv);
	fprintf(stderr, "usage: engine_probe dequant|tensor|logits|greedy ...\n");
	return 2;
}
