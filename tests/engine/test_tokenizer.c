/* test_tokenizer.c: tokenizer behaviour beyond the peer vectors: exact round trips of random
 * bytes, special tokens and end-of-generation ids of the embedded model, tiny hand-made
 * vocabularies whose token ids are worked out by hand, and refusals of malformed vocabularies. */
#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/gguf.h"
#include "amlab/rng.h"
#include "amlab/str.h"
#include "amlab/tokenizer.h"
#include "test.h"

struct vocab {
	struct am_gguf *g;
	struct am_tokenizer *t;
};

static bool open_vocab(const char *path, struct vocab *v)
{
	struct am_err err = {0};
	v->g = NULL;
	v->t = NULL;
	if (am_gguf_open(path, &v->g, &err) < 0 || am_tokenizer_load(v->g, &v->t, &err) < 0) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		AM_CHECK(!"vocabulary loads");
		return false;
	}
	return true;
}

static void close_vocab(struct vocab *v)
{
	am_tokenizer_free(v->t);
	am_gguf_close(v->g);
}

static void peer_path(char *out, size_t n, const char *name)
{
	(void)am_snprintf(out, n, "%s/peer-tests/tokenizer/ggml-vocab-%s.gguf",
	                  am_test_shared_dir(), name);
}

static void model_path(char *out, size_t n)
{
	(void)am_snprintf(out, n, "%s/models/SmolLM2-135M-Instruct.Q4_1.gguf",
	                  am_test_source_dir());
}

/* detokenize(encode(s)) == s for random strings: arbitrary bytes (valid UTF-8 or not) when
 * any_bytes, else valid UTF-8 over a mixed alphabet (some vocabularies lack tokens for bytes
 * that never occur in UTF-8, or spell them as user-defined tokens, as their reference does). */
static void round_trip(const struct am_tokenizer *t, bool spm, bool any_bytes, uint64_t seed)
{
	static const char *const alphabet[] = {
	    "a",  "Z", "7", " ",  " ", "\n", "\t",     "'s",     ".",  "<",  "é",
	    "中", "😀", "Ж", "\r", "ý", "١",  "\u3000", "\u0301", "{}", "  ", "ß"};
	struct am_rng rng;
	am_rng_seed(&rng, seed);
	int bad = 0;
	for (int iter = 0; iter < 300; iter++) {
		uint8_t s[64 * 4];
		size_t n = 0, len = 1 + am_rng_below(&rng, 64);
		for (size_t i = 0; i < len; i++) {
			if (!any_bytes) {
				const char *a =
				    alphabet[am_rng_below(&rng, AM_ARRAY_LEN(alphabet))];
				memcpy(s + n, a, strlen(a));
				n += strlen(a);
				continue;
			}
			/* mix ASCII, spaces and arbitrary bytes: words, runs and broken UTF-8 */
			uint64_t r = am_rng_below(&rng, 4);
			s[n++] = r == 0   ? (uint8_t)(' ' + am_rng_below(&rng, 95))
			         : r == 1 ? (uint8_t)' '
			                  : (uint8_t)am_rng_below(&rng, 256);
		}
		/* SentencePiece writes spaces as U+2581, so that character itself cannot round-trip
		 */
		if (spm && memmem(s, n, "\xe2\x96\x81", 3))
			continue;
		int32_t *ids = NULL;
		size_t n_ids = 0;
		struct am_buf back = AM_BUF_INIT;
		struct am_err err = {0};
		AM_CHECK_INT(am_tokenizer_encode(t, (const char *)s, n, false, &ids, &n_ids, &err),
		             0);
		AM_CHECK_INT(am_tokenizer_detokenize(t, ids, n_ids, true, &back, &err), 0);
		if (back.len != n || memcmp(back.data, s, n) != 0) {
			if (bad++ == 0) {
				fprintf(stderr, "  round trip differs for:");
				for (size_t i = 0; i < n; i++)
					fprintf(stderr, " %02x", s[i]);
				fprintf(stderr, "\n  got back (%zu bytes):", back.len);
				for (size_t i = 0; i < back.len; i++)
					fprintf(stderr, " %02x", (uint8_t)back.data[i]);
				fprintf(stderr, "\n");
			}
		}
		am_buf_free(&back);
		am_free(ids);
	}
	AM_CHECK_INT(bad, 0);
}

static void test_round_trip_bpe(void)
{
	char path[1024];
	struct vocab v;
	peer_path(path, sizeof(path), "gpt-2");
	if (open_vocab(path, &v)) {
		round_trip(v.t, false, true, 1);
		round_trip(v.t, false, false, 2);
	}
	close_vocab(&v);
	peer_path(path, sizeof(path), "deepseek-llm");
	if (open_vocab(path, &v))
		round_trip(v.t, false, false, 3);
	close_vocab(&v);
	peer_path(path, sizeof(path), "starcoder");
	if (open_vocab(path, &v))
		round_trip(v.t, false, false, 4);
	close_vocab(&v);
	model_path(path, sizeof(path));
	if (open_vocab(path, &v))
		round_trip(v.t, false, false, 5);
	close_vocab(&v);
}

static void test_round_trip_spm(void)
{
	char path[1024];
	struct vocab v;
	peer_path(path, sizeof(path), "llama-spm");
	if (open_vocab(path, &v)) {
		round_trip(v.t, true, true, 6);
		round_trip(v.t, true, false, 7);
	}
	close_vocab(&v);
}

static void encode_str(const struct am_tokenizer *t, const char *s, bool special,
                       struct am_buf *out)
{
	int32_t *ids = NULL;
	size_t n = 0;
	am_buf_reset(out);
	AM_CHECK_INT(am_tokenizer_encode(t, s, strlen(s), special, &ids, &n, NULL), 0);
	for (size_t i = 0; i < n; i++)
		(void)am_buf_printf(out, NULL, i ? " %d" : "%d", ids[i]);
	if (!out->data)
		(void)am_buf_puts(out, "", NULL);
	am_free(ids);
}

/* SmolLM2's special tokens are 0 <|endoftext|>, 1 <|im_start|>, 2 <|im_end|> (its vocabulary) */
static void test_smollm_specials(void)
{
	char path[1024];
	struct vocab v;
	model_path(path, sizeof(path));
	if (!open_vocab(path, &v))
		return;
	struct am_tokenizer *t = v.t;
	AM_CHECK_INT(am_tokenizer_n_vocab(t), 49152);
	AM_CHECK_INT(am_tokenizer_find(t, "<|im_start|>"), 1);
	AM_CHECK_INT(am_tokenizer_find(t, "<|im_end|>"), 2);
	AM_CHECK_INT(am_tokenizer_find(t, "no such token text"), -1);
	AM_CHECK_INT(am_tokenizer_bos(t), 1);
	AM_CHECK_INT(am_tokenizer_eos(t), 2);
	AM_CHECK(!am_tokenizer_add_bos(t)); /* tokenizer.ggml.add_bos_token = false */
	AM_CHECK(am_tokenizer_is_eog(t, 2) && am_tokenizer_is_eog(t, 0));
	AM_CHECK(!am_tokenizer_is_eog(t, 1) && !am_tokenizer_is_eog(t, -1) &&
	         !am_tokenizer_is_eog(t, 49152));
	AM_CHECK_STR(am_tokenizer_pre_name(t), "starcoder");
	struct am_buf ids = AM_BUF_INIT, text = AM_BUF_INIT;
	encode_str(t, "<|im_start|>user", true, &ids);
	AM_CHECK(am_starts_with(ids.data, "1 "));
	encode_str(t, "<|im_start|>user", false, &ids);
	AM_CHECK(!am_starts_with(ids.data, "1 ") && strchr(ids.data, ' ') != NULL);
	int32_t seq[] = {1, 2};
	AM_CHECK_INT(am_tokenizer_decode(t, seq, 2, false, &text, NULL), 0);
	AM_CHECK_INT(text.len, 0);
	AM_CHECK_INT(am_tokenizer_decode(t, seq, 2, true, &text, NULL), 0);
	AM_CHECK_STR(text.data, "<|im_start|><|im_end|>");
	int32_t bad_id = 49152;
	struct am_err err = {0};
	AM_CHECK_INT(am_tokenizer_decode(t, &bad_id, 1, true, &text, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "49152") != NULL);
	const char *p;
	size_t len;
	AM_CHECK_INT(am_tokenizer_text(t, 2, &p, &len, NULL), 0);
	AM_CHECK(len == 10 && memcmp(p, "<|im_end|>", 10) == 0);
	struct am_gguf_str tmpl;
	AM_CHECK_INT(am_gguf_get_str(v.g, "tokenizer.chat_template", &tmpl, NULL), 0);
	AM_CHECK(tmpl.len > 20 && memcmp(tmpl.ptr, "{% for message in messages %}", 29) == 0);
	am_buf_free(&ids);
	am_buf_free(&text);
	close_vocab(&v);
}

/* Tiny vocabularies from fuzz/corpus/gguf (tests/engine/make_gguf_corpus.py):
 * BPE: 0 a, 1 b, 2 ab, 3 Ġ (the space byte), 4 <|endoftext|> (control); one merge "a b".
 * SPM: 0 <unk>, 1 <s>, 2 </s>, 3 <0x41> (byte 'A'), 4 ▁a. */
static void test_tiny_vocabs(void)
{
	char path[1024];
	struct vocab v;
	struct am_buf ids = AM_BUF_INIT;
	(void)am_snprintf(path, sizeof(path), "%s/fuzz/corpus/gguf/vocab-bpe.gguf",
	                  am_test_source_dir());
	if (open_vocab(path, &v)) {
		encode_str(v.t, "ab", false, &ids);
		AM_CHECK_STR(ids.data, "2");
		encode_str(v.t, "abba", false, &ids); /* ab, b, a: "b a" is no merge */
		AM_CHECK_STR(ids.data, "2 1 0");
		encode_str(v.t, " a", false, &ids); /* " a" is one fragment; no merge of Ġ and a */
		AM_CHECK_STR(ids.data, "3 0");
		encode_str(v.t, "c", false, &ids); /* no token: dropped, as the reference does */
		AM_CHECK_STR(ids.data, "");
		encode_str(v.t, "a<|endoftext|>", true, &ids);
		AM_CHECK_STR(ids.data, "0 4");
		AM_CHECK(am_tokenizer_is_eog(v.t, 4));
		AM_CHECK_INT(am_tokenizer_eos(v.t), 4);
	}
	close_vocab(&v);
	(void)am_snprintf(path, sizeof(path), "%s/fuzz/corpus/gguf/vocab-spm.gguf",
	                  am_test_source_dir());
	if (open_vocab(path, &v)) {
		AM_CHECK_STR(am_tokenizer_pre_name(v.t), "spm");
		encode_str(v.t, "a", false, &ids); /* "▁a" */
		AM_CHECK_STR(ids.data, "4");
		/* "▁A": ▁ has no token and no byte tokens: unknown for each of its 3 bytes; A ->
		 * <0x41> */
		encode_str(v.t, "A", false, &ids);
		AM_CHECK_STR(ids.data, "0 0 0 3");
		AM_CHECK(am_tokenizer_add_bos(v.t));
		struct am_buf text = AM_BUF_INIT;
		int32_t seq[] = {4, 3, 4};
		AM_CHECK_INT(am_tokenizer_detokenize(v.t, seq, 3, false, &text, NULL), 0);
		AM_CHECK_STR(text.data, "aA a");
		am_buf_free(&text);
	}
	close_vocab(&v);
	am_buf_free(&ids);
}

/* ---- malformed vocabularies, built byte by byte */

static void put_u32(struct am_buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	(void)am_buf_append(b, p, 4, NULL);
}

static void put_u64(struct am_buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(struct am_buf *b, const char *s)
{
	put_u64(b, strlen(s));
	(void)am_buf_append(b, s, strlen(s), NULL);
}

/* A vocabulary-only file: model, pre (NULL: absent), tokens "a","b", merges (if with_merges),
 * token types (n_types of them, 0: absent). */
static void build_vocab(struct am_buf *b, const char *model, const char *pre, bool with_merges,
                        int n_types)
{
	am_buf_reset(b);
	put_u32(b, 0x46554747u);
	put_u32(b, 3);
	put_u64(b, 0);
	put_u64(b, 2 + (pre ? 1 : 0) + (with_merges ? 1 : 0) + (n_types ? 1 : 0));
	put_str(b, "tokenizer.ggml.model");
	put_u32(b, AM_GGUF_STRING);
	put_str(b, model);
	if (pre) {
		put_str(b, "tokenizer.ggml.pre");
		put_u32(b, AM_GGUF_STRING);
		put_str(b, pre);
	}
	put_str(b, "tokenizer.ggml.tokens");
	put_u32(b, AM_GGUF_ARRAY);
	put_u32(b, AM_GGUF_STRING);
	put_u64(b, 2);
	put_str(b, "a");
	put_str(b, "b");
	if (with_merges) {
		put_str(b, "tokenizer.ggml.merges");
		put_u32(b, AM_GGUF_ARRAY);
		put_u32(b, AM_GGUF_STRING);
		put_u64(b, 1);
		put_str(b, "a b");
	}
	if (n_types) {
		put_str(b, "tokenizer.ggml.token_type");
		put_u32(b, AM_GGUF_ARRAY);
		put_u32(b, AM_GGUF_I32);
		put_u64(b, (uint64_t)n_types);
		for (int i = 0; i < n_types; i++)
			put_u32(b, 1);
	}
}

static int load_from(const struct am_buf *b, struct am_err *err)
{
	struct am_gguf *g = NULL;
	struct am_tokenizer *t = NULL;
	int rc = am_gguf_open_memory(b->data, b->len, "vocab.gguf", &g, err);
	if (rc == 0)
		rc = am_tokenizer_load(g, &t, err);
	am_tokenizer_free(t);
	am_gguf_close(g);
	return rc;
}

static void test_malformed_vocabs(void)
{
	struct am_buf b = AM_BUF_INIT;
	struct am_err err = {0};
	build_vocab(&b, "gpt2", "gpt-2", true, 2);
	AM_CHECK_INT(load_from(&b, &err), 0);
	build_vocab(&b, "bert", "gpt-2", true, 2);
	AM_CHECK_INT(load_from(&b, &err), AM_EUNSUPPORTED);
	AM_CHECK(strstr(err.msg, "'bert'") && strcmp(err.where, "vocab.gguf") == 0);
	build_vocab(&b, "gpt2", "kimi-k2", true, 2);
	AM_CHECK_INT(load_from(&b, &err), AM_EUNSUPPORTED);
	AM_CHECK(strstr(err.msg, "'kimi-k2'") != NULL);
	build_vocab(&b, "gpt2", "gpt-2", false, 2);
	AM_CHECK_INT(load_from(&b, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "tokenizer.ggml.merges is missing") != NULL);
	build_vocab(&b, "gpt2", "gpt-2", true, 3);
	AM_CHECK_INT(load_from(&b, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "tokenizer.ggml.token_type") != NULL);
	build_vocab(&b, "llama", NULL, false, 0);
	AM_CHECK_INT(load_from(&b, &err), 0);
	am_buf_free(&b);
}

/* SentencePiece vocabulary <unk>, a, b, ▁a with tokenizer.ggml.add_space_prefix set or not
 * (Gemma's vocabularies turn it off). */
static void build_spm_prefix(struct am_buf *b, bool prefix)
{
	am_buf_reset(b);
	put_u32(b, 0x46554747u);
	put_u32(b, 3);
	put_u64(b, 0);
	put_u64(b, 3);
	put_str(b, "tokenizer.ggml.model");
	put_u32(b, AM_GGUF_STRING);
	put_str(b, "llama");
	put_str(b, "tokenizer.ggml.tokens");
	put_u32(b, AM_GGUF_ARRAY);
	put_u32(b, AM_GGUF_STRING);
	put_u64(b, 4);
	put_str(b, "<unk>");
	put_str(b, "a");
	put_str(b, "b");
	put_str(b, "\xe2\x96\x81"
	           "a");
	put_str(b, "tokenizer.ggml.add_space_prefix");
	put_u32(b, AM_GGUF_BOOL);
	(void)am_buf_putc(b, prefix ? 1 : 0, NULL);
}

static void test_space_prefix(void)
{
	struct am_buf b = AM_BUF_INIT, ids = AM_BUF_INIT, text = AM_BUF_INIT;
	for (int prefix = 0; prefix < 2; prefix++) {
		struct am_gguf *g = NULL;
		struct am_tokenizer *t = NULL;
		build_spm_prefix(&b, prefix);
		AM_CHECK_INT(am_gguf_open_memory(b.data, b.len, "spm.gguf", &g, NULL), 0);
		if (g)
			AM_CHECK_INT(am_tokenizer_load(g, &t, NULL), 0);
		if (t) {
			encode_str(t, "ab a", false, &ids);
			/* with the prefix: ▁a b ▁a; without: a b ▁a */
			AM_CHECK_STR(ids.data, prefix ? "3 2 3" : "1 2 3");
			int32_t seq[] = {3, 2};
			am_buf_reset(&text);
			AM_CHECK_INT(am_tokenizer_detokenize(t, seq, 2, false, &text, NULL), 0);
			AM_CHECK_STR(text.data, prefix ? "ab" : " ab");
			am_buf_reset(&text);
			AM_CHECK_INT(am_tokenizer_decode(t, seq, 2, false, &text, NULL), 0);
			AM_CHECK_STR(text.data, " ab"); /* decode never strips: streaming-safe */
		}
		am_tokenizer_free(t);
		am_gguf_close(g);
	}
	am_buf_free(&b);
	am_buf_free(&ids);
	am_buf_free(&text);
}

static void test_alloc_failures(void)
{
	char path[1024];
	(void)am_snprintf(path, sizeof(path), "%s/fuzz/corpus/gguf/vocab-bpe.gguf",
	                  am_test_source_dir());
	struct am_gguf *g = NULL;
	AM_CHECK_INT(am_gguf_open(path, &g, NULL), 0);
	if (!g)
		return;
	bool ok = false;
	for (long n = 0; n < 200 && !ok; n++) {
		struct am_tokenizer *t = NULL;
		struct am_err err = {0};
		int32_t *ids = NULL;
		size_t n_ids = 0;
		am_alloc_fail_after(n, true);
		int rc = am_tokenizer_load(g, &t, &err);
		if (rc == 0)
			rc = am_tokenizer_encode(t, "ab a<|endoftext|>b", 18, true, &ids, &n_ids,
			                         &err);
		am_alloc_fail_after(-1, false);
		if (rc == 0) {
			ok = true;
			AM_CHECK_INT(n_ids, 5); /* ab, Ġ, a, <|endoftext|>, b */
		} else {
			AM_CHECK_INT(rc, AM_ENOMEM);
		}
		am_free(ids);
		am_tokenizer_free(t);
	}
	AM_CHECK(ok);
	am_gguf_close(g);
}

int main(void)
{
	AM_RUN(test_round_trip_bpe);
	AM_RUN(test_round_trip_spm);
	AM_RUN(test_smollm_specials);
	AM_RUN(test_tiny_vocabs);
	AM_RUN(test_malformed_vocabs);
	AM_RUN(test_space_prefix);
	AM_RUN(test_alloc_failures);
	return am_test_result();
}
