/* fuzz_tokenize.c: libFuzzer target for the tokenizers. The first input byte picks a
 * vocabulary (byte-level BPE under one of the pre-tokenizers, or SentencePiece) and whether
 * special tokens are parsed; the rest is the text. Every text must encode without error and,
 * where the vocabulary allows it, detokenize back to exactly the same bytes. The vocabularies are
 * small GGUF files built in memory once: every byte has a token, there are a few merges or
 * scored pieces, a control token and a user-defined token. */
#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/gguf.h"
#include "amlab/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const pre_names[] = {
    "gpt-2",       "starcoder",  "llama-bpe", "qwen2",  "deepseek-llm", "deepseek-coder",
    "deepseek-v3", "falcon",     "default",   "bloom",  "viking",       "gpt-4o",
    "tekken",      "seed-coder", "refact",    "smollm", "mpt",          "command-r"};

#define N_VOCABS (AM_ARRAY_LEN(pre_names) + 1) /* + SentencePiece */

struct vocab {
	struct am_buf file;
	struct am_gguf *g;
	struct am_tokenizer *t;
};

static struct vocab vocabs[N_VOCABS];
static bool ready;

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

static void put_bytes(struct am_buf *b, const char *s, size_t n)
{
	put_u64(b, n);
	(void)am_buf_append(b, s, n, NULL);
}

static void put_str(struct am_buf *b, const char *s)
{
	put_bytes(b, s, strlen(s));
}

static void put_key(struct am_buf *b, const char *key, uint32_t type)
{
	put_str(b, key);
	put_u32(b, type);
}

/* GPT-2's printable stand-in for byte b, as UTF-8. */
static size_t byte_char(unsigned b, char *out)
{
	unsigned cp = b <= 0x20                  ? 0x100 + b
	              : (b >= 0x7F && b <= 0xA0) ? 0x121 + (b - 0x7F)
	              : b == 0xAD                ? 0x143
	                                         : b;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	out[0] = (char)(0xC0 | (cp >> 6));
	out[1] = (char)(0x80 | (cp & 0x3F));
	return 2;
}

static const char *const bpe_words[] = {"Ġt", "he", "Ġthe", "in", "er", "Ġa", "on", "Ġin"};
static const char *const bpe_merges[] = {"Ġ t", "h e", "Ġt he", "i n", "e r", "Ġ a", "o n", "Ġ in"};

static void build_bpe(struct am_buf *b, const char *pre)
{
	uint64_t n_tok = 256 + AM_ARRAY_LEN(bpe_words) + 2;
	put_u32(b, 0x46554747u);
	put_u32(b, 3);
	put_u64(b, 0);
	put_u64(b, 5);
	put_key(b, "tokenizer.ggml.model", AM_GGUF_STRING);
	put_str(b, "gpt2");
	put_key(b, "tokenizer.ggml.pre", AM_GGUF_STRING);
	put_str(b, pre);
	put_key(b, "tokenizer.ggml.tokens", AM_GGUF_ARRAY);
	put_u32(b, AM_GGUF_STRING);
	put_u64(b, n_tok);
	for (unsigned i = 0; i < 256; i++) {
		char c[2];
		put_bytes(b, c, byte_char(i, c));
	}
	for (size_t i = 0; i < AM_ARRAY_LEN(bpe_words); i++)
		put_str(b, bpe_words[i]);
	put_str(b, "<|ctl|>");
	put_str(b, "<ud>");
	put_key(b, "tokenizer.ggml.token_type", AM_GGUF_ARRAY);
	put_u32(b, AM_GGUF_I32);
	put_u64(b, n_tok);
	for (uint64_t i = 0; i < n_tok; i++)
		put_u32(b, i == n_tok - 2 ? 3 : i == n_tok - 1 ? 4 : 1);
	put_key(b, "tokenizer.ggml.merges", AM_GGUF_ARRAY);
	put_u32(b, AM_GGUF_STRING);
	put_u64(b, AM_ARRAY_LEN(bpe_merges));
	for (size_t i = 0; i < AM_ARRAY_LEN(bpe_merges); i++)
		put_str(b, bpe_merges[i]);
}

static const char *const spm_pieces[] = {"\xe2\x96\x81t", "he", "\xe2\x96\x81the", "in",
                                         "\xe2\x96\x81",  "er", "\xc3\xa9"};

static void build_spm(struct am_buf *b)
{
	static const char hex[] = "0123456789ABCDEF";
	uint64_t n_tok = 3 + 256 + AM_ARRAY_LEN(spm_pieces);
	put_u32(b, 0x46554747u);
	put_u32(b, 3);
	put_u64(b, 0);
	put_u64(b, 4);
	put_key(b, "tokenizer.ggml.model", AM_GGUF_STRING);
	put_str(b, "llama");
	put_key(b, "tokenizer.ggml.tokens", AM_GGUF_ARRAY);
	put_u32(b, AM_GGUF_STRING);
	put_u64(b, n_tok);
	put_str(b, "<unk>");
	put_str(b, "<s>");
	put_str(b, "</s>");
	for (unsigned i = 0; i < 256; i++) {
		char name[6] = {'<', '0', 'x', hex[i >> 4], hex[i & 15], '>'};
		put_bytes(b, name, 6);
	}
	for (size_t i = 0; i < AM_ARRAY_LEN(spm_pieces); i++)
		put_str(b, spm_pieces[i]);
	put_key(b, "tokenizer.ggml.scores", AM_GGUF_ARRAY);
	put_u32(b, AM_GGUF_F32);
	put_u64(b, n_tok);
	for (uint64_t i = 0; i < n_tok; i++) {
		float f = i < 259 ? 0.0f : -(float)(i - 258);
		uint32_t u;
		memcpy(&u, &f, 4);
		put_u32(b, u);
	}
	put_key(b, "tokenizer.ggml.token_type", AM_GGUF_ARRAY);
	put_u32(b, AM_GGUF_I32);
	put_u64(b, n_tok);
	for (uint64_t i = 0; i < n_tok; i++)
		put_u32(b, i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1);
}

static void setup(void)
{
	for (size_t v = 0; v < N_VOCABS; v++) {
		am_buf_init(&vocabs[v].file, 0);
		if (v < AM_ARRAY_LEN(pre_names))
			build_bpe(&vocabs[v].file, pre_names[v]);
		else
			build_spm(&vocabs[v].file);
		struct am_err err = {0};
		if (am_gguf_open_memory(vocabs[v].file.data, vocabs[v].file.len, "fuzz-vocab.gguf",
		                        &vocabs[v].g, &err) < 0 ||
		    am_tokenizer_load(vocabs[v].g, &vocabs[v].t, &err) < 0) {
			fprintf(stderr, "fuzz vocabulary %zu: %s\n", v, err.msg);
			__builtin_trap();
		}
	}
	ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	if (size == 0)
		return 0;
	size_t which = data[0] % N_VOCABS;
	bool parse_special = (data[0] / N_VOCABS) & 1;
	bool spm = which == N_VOCABS - 1;
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	const struct am_tokenizer *t = vocabs[which].t;
	int32_t *ids = NULL;
	size_t n_ids = 0;
	struct am_err err = {0};
	struct am_buf back = AM_BUF_INIT;
	if (am_tokenizer_encode(t, text, n, parse_special, &ids, &n_ids, &err) < 0) {
		if (err.code != AM_ENOMEM)
			__builtin_trap(); /* text alone never makes encoding fail */
		return 0;
	}
	for (size_t i = 0; i < n_ids; i++)
		if (ids[i] < 0 || (size_t)ids[i] >= am_tokenizer_n_vocab(t))
			__builtin_trap();
	if (am_tokenizer_detokenize(t, ids, n_ids, true, &back, &err) == 0) {
		/* SentencePiece: U+2581 in the text stands for a space, and a special token resets
		 * the space prefix, so only plain texts without it must come back unchanged */
		bool exact = !spm || (!parse_special && !memmem(text, n, "\xe2\x96\x81", 3));
		if (exact && (back.len != n || memcmp(back.data ? back.data : "", text, n) != 0))
			__builtin_trap();
	}
	am_buf_free(&back);
	am_free(ids);
	return 0;
}
