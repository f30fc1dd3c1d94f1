/* fuzz_gguf.c: libFuzzer target for the GGUF reader. Any input must either be rejected with an
 * error message or yield an index whose every key, array element and tensor can be read back
 * without touching memory outside the input. Files that parse are also handed to the tokenizer
 * loader (hostile vocabularies), and a loaded tokenizer encodes and decodes a fixed text. */
#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/gguf.h"
#include "amlab/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct am_gguf *g)
{
	for (size_t i = 0; i < am_gguf_n_kv(g); i++) {
		struct am_gguf_str k;
		enum am_gguf_vtype t;
		if (am_gguf_kv_at(g, i, &k, &t, NULL) < 0)
			__builtin_trap();
		char *key = am_strndup(k.ptr, (size_t)k.len);
		if (!key)
			return;
		uint64_t u;
		int64_t s;
		double d;
		bool b;
		struct am_gguf_str str;
		(void)am_gguf_get_u64(g, key, &u, NULL);
		(void)am_gguf_get_i64(g, key, &s, NULL);
		(void)am_gguf_get_f64(g, key, &d, NULL);
		(void)am_gguf_get_bool(g, key, &b, NULL);
		if (am_gguf_get_str(g, key, &str, NULL) == 0 && str.len) {
			volatile char last = str.ptr[str.len - 1];
			(void)last;
		}
		enum am_gguf_vtype et;
		uint64_t n;
		if (am_gguf_get_array(g, key, &et, &n, NULL) == 0) {
			for (uint64_t j = 0; j < n && j < 4096; j++) {
				(void)am_gguf_array_i64_at(g, key, j, &s, NULL);
				(void)am_gguf_array_f64_at(g, key, j, &d, NULL);
				if (am_gguf_array_str_at(g, key, j, &str, NULL) == 0 && str.len) {
					volatile char last = str.ptr[str.len - 1];
					(void)last;
				}
			}
		}
		am_free(key);
	}
	for (size_t i = 0; i < am_gguf_n_tensors(g); i++) {
		const struct am_gguf_tensor *t = am_gguf_tensor(g, i);
		if (t->n_bytes) {
			volatile uint8_t first = ((const uint8_t *)t->data)[0];
			volatile uint8_t last = ((const uint8_t *)t->data)[t->n_bytes - 1];
			(void)first;
			(void)last;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so reading one byte past the end is caught */
	uint8_t *copy = am_malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	struct am_gguf *g = NULL;
	struct am_err err = {0};
	if (am_gguf_open_memory(copy, size, "fuzz.gguf", &g, &err) == 0) {
		walk(g);
		struct am_tokenizer *t = NULL;
		if (am_tokenizer_load(g, &t, &err) == 0) {
			static const char text[] = "Hello <|endoftext|> w\xc3\xb6rld 123 \xff\n";
			int32_t *ids = NULL;
			size_t n = 0;
			struct am_buf out = AM_BUF_INIT;
			if (am_tokenizer_encode(t, text, sizeof(text) - 1, true, &ids, &n, &err) ==
			    0)
				(void)am_tokenizer_decode(t, ids, n, true, &out, &err);
			am_buf_free(&out);
			am_free(ids);
		} else if (!err.msg[0]) {
			__builtin_trap();
		}
		am_tokenizer_free(t);
	} else if (!err.msg[0])
		__builtin_trap(); /* every rejection says why */
	am_gguf_close(g);
	am_free(copy);
	return 0;
}
