/* tokenizer.c: the tokenizers of GGUF vocabularies (see include/amlab/tokenizer.h).
 *
 * Two models, chosen by tokenizer.ggml.model:
 * - "gpt2": byte-level BPE. The text is split by the pre-tokenizer named in tokenizer.ggml.pre,
 *   each fragment's bytes are mapped to GPT-2's printable byte alphabet, and the fragment is
 *   merged pair by pair in the order of tokenizer.ggml.merges (lowest rank first, leftmost on
 *   ties).
 * - "llama": SentencePiece BPE. Spaces become U+2581, a space is prefixed at the start and after
 *   every special token (tokenizer.ggml.add_space_prefix, default on), characters are merged
 *   by best score (tokenizer.ggml.scores; leftmost on ties), and characters without a token fall
 *   back to the <0xXX> byte tokens.
 * Before either, special tokens are cut out of the text, longest first: user-defined tokens
 * always, control and unknown tokens only with parse_special. These rules reproduce the
 * reference (llama.cpp); tests/engine checks its published vectors token for token.
 *
 * Deliberate differences, on invalid UTF-8 only: bytes keep their identity (the reference turns
 * them into U+FFFD before byte-level BPE; they are classified as U+FFFD would be, so fragment
 * boundaries are the reference's), and SentencePiece splits an invalid sequence into single
 * bytes. So every byte string round-trips through encode and detokenize, wherever the
 * vocabulary has a token for each byte and no user-defined token spells a byte's character. */
#include "amlab/tokenizer.h"
#include "amlab/alloc.h"
#include "amlab/gguf.h"
#include "amlab/log.h"
#include "amlab/str.h"
#include "tokenizer_internal.h"
#include "unicode.h"

enum tok_attr {
	ATTR_UNKNOWN = 1 << 0,
	ATTR_UNUSED = 1 << 1,
	ATTR_NORMAL = 1 << 2,
	ATTR_CONTROL = 1 << 3,
	ATTR_USER_DEFINED = 1 << 4,
	ATTR_BYTE = 1 << 5,
	ATTR_LSTRIP = 1 << 7,
	ATTR_RSTRIP = 1 << 8,
};

enum tok_model { MODEL_SPM, MODEL_BPE };

/* Open-addressing hash set over byte strings stored elsewhere; slots hold index + 1. */
struct strmap {
	uint32_t *slots;
	size_t cap; /* power of two */
};

struct token {
	uint32_t off, len;             /* text in the arena */
	uint32_t piece_off, piece_len; /* decoded bytes in the piece arena */
	float score;
	uint16_t attr;
};

struct merge {
	uint32_t left_off, left_len, right_off, right_len; /* into the merge arena */
};

struct am_tokenizer {
	enum tok_model model;
	const struct am_pretok *pre;
	size_t n_vocab;
	struct token *tok;
	char *arena;
	struct strmap by_text;
	size_t n_merges;
	struct merge *merges;
	char *merge_arena;
	struct strmap by_pair;
	char *pieces;
	int32_t *special; /* special-token cache: longest text first */
	size_t n_special;
	bool *eog;
	int32_t byte_tok[256]; /* token of each byte: <0xXX> (SPM) or its GPT-2 character (BPE) */
	int32_t bos, eos, unk, eot, eom;
	bool add_bos, add_eos, add_space_prefix, ignore_merges;
};

/* ---------------------------------------------------------------- hashing */

static uint32_t fnv1a(const void *p, size_t n, uint32_t h)
{
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	return h;
}

#define FNV_SEED 2166136261u

static int strmap_init(struct strmap *m, size_t n, struct am_err *err)
{
	size_t cap = 16;
	while (cap < n * 2)
		cap *= 2;
	m->slots = am_calloc(cap, sizeof(uint32_t));
	if (!m->slots)
		return am_err_set(err, AM_ENOMEM, "out of memory building the vocabulary index");
	m->cap = cap;
	return 0;
}

static const char *tok_text(const struct am_tokenizer *t, int32_t id, size_t *len)
{
	*len = t->tok[id].len;
	return t->arena + t->tok[id].off;
}

/* Id of the token whose text is s[0..n), or -1. */
static int32_t find_text(const struct am_tokenizer *t, const char *s, size_t n)
{
	uint32_t h = fnv1a(s, n, FNV_SEED);
	for (size_t i = h & (t->by_text.cap - 1);; i = (i + 1) & (t->by_text.cap - 1)) {
		uint32_t slot = t->by_text.slots[i];
		if (!slot)
			return -1;
		size_t len;
		const char *txt = tok_text(t, (int32_t)(slot - 1), &len);
		if (len == n && memcmp(txt, s, n) == 0)
			return (int32_t)(slot - 1);
	}
}

/* Insert token id; a later token with the same text replaces the earlier (as the reference). */
static void insert_text(struct am_tokenizer *t, int32_t id)
{
	size_t n;
	const char *s = tok_text(t, id, &n);
	uint32_t h = fnv1a(s, n, FNV_SEED);
	for (size_t i = h & (t->by_text.cap - 1);; i = (i + 1) & (t->by_text.cap - 1)) {
		uint32_t slot = t->by_text.slots[i];
		if (slot) {
			size_t len;
			const char *txt = tok_text(t, (int32_t)(slot - 1), &len);
			if (len != n || memcmp(txt, s, n) != 0)
				continue;
		}
		t->by_text.slots[i] = (uint32_t)id + 1;
		return;
	}
}

static uint32_t pair_hash(const char *l, size_t ln, const char *r, size_t rn)
{
	uint32_t h = fnv1a(l, ln, FNV_SEED);
	h = fnv1a("\xff", 1, h); /* separator: 0xFF never occurs in UTF-8 */
	return fnv1a(r, rn, h);
}

/* Rank of the merge (l, r), or -1. */
static int32_t find_merge(const struct am_tokenizer *t, const char *l, size_t ln, const char *r,
                          size_t rn)
{
	uint32_t h = pair_hash(l, ln, r, rn);
	for (size_t i = h & (t->by_pair.cap - 1);; i = (i + 1) & (t->by_pair.cap - 1)) {
		uint32_t slot = t->by_pair.slots[i];
		if (!slot)
			return -1;
		const struct merge *m = &t->merges[slot - 1];
		if (m->left_len == ln && m->right_len == rn &&
		    memcmp(t->merge_arena + m->left_off, l, ln) == 0 &&
		    memcmp(t->merge_arena + m->right_off, r, rn) == 0)
			return (int32_t)(slot - 1);
	}
}

/* Insert merge rank; the first occurrence of a pair keeps its rank (as the reference). */
static void insert_merge(struct am_tokenizer *t, uint32_t rank)
{
	const struct merge *m = &t->merges[rank];
	const char *l = t->merge_arena + m->left_off, *r = t->merge_arena + m->right_off;
	uint32_t h = pair_hash(l, m->left_len, r, m->right_len);
	for (size_t i = h & (t->by_pair.cap - 1);; i = (i + 1) & (t->by_pair.cap - 1)) {
		uint32_t slot = t->by_pair.slots[i];
		if (!slot) {
			t->by_pair.slots[i] = rank + 1;
			return;
		}
		const struct merge *o = &t->merges[slot - 1];
		if (o->left_len == m->left_len && o->right_len == m->right_len &&
		    memcmp(t->merge_arena + o->left_off, l, m->left_len) == 0 &&
		    memcmp(t->merge_arena + o->right_off, r, m->right_len) == 0)
			return;
	}
}

/* ---------------------------------------------------------------- GPT-2 byte alphabet */

/* GPT-2 maps every byte to a printable code point: the printable Latin-1 bytes to themselves,
 * the other 68 bytes, in order, to U+0100 onwards (0x00-0x20, then 0x7F-0xA0, then 0xAD). */
static uint32_t byte_to_cp(uint8_t b)
{
	if (b <= 0x20)
		return 0x100u + b;
	if (b >= 0x7F && b <= 0xA0)
		return 0x121u + (b - 0x7Fu);
	if (b == 0xAD)
		return 0x143;
	return b;
}

/* Inverse of byte_to_cp: -1 when cp is not in the alphabet. */
static int cp_to_byte(uint32_t cp)
{
	if (cp >= 0x100 && cp <= 0x120)
		return (int)(cp - 0x100);
	if (cp >= 0x121 && cp <= 0x142)
		return (int)(cp - 0x121 + 0x7F);
	if (cp == 0x143)
		return 0xAD;
	if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
		return (int)cp;
	return -1;
}

/* ---------------------------------------------------------------- loading */

static int load_err(const struct am_gguf *g, struct am_err *err, int code, const char *fmt, ...)
    AM_PRINTF(4, 5);

static int load_err(const struct am_gguf *g, struct am_err *err, int code, const char *fmt, ...)
{
	char msg[AM_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	return am_err_at(err, code, am_gguf_name(g), 0, 0, "tokenizer: %s", msg);
}

static bool str_is(const struct am_gguf_str *s, const char *lit)
{
	return s->len == strlen(lit) && memcmp(s->ptr, lit, (size_t)s->len) == 0;
}

/* Optional token id key: sets *id when present and in range; a present but out-of-range id is
 * ignored with a warning (the reference keeps its default). */
static int opt_token_id(const struct am_gguf *g, const char *key, size_t n_vocab, int32_t *id,
                        struct am_err *err)
{
	uint64_t v;
	int rc = am_gguf_get_u64(g, key, &v, err);
	if (rc == AM_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (v >= n_vocab) {
		am_log_warn("%s: %s = %" PRIu64 " is outside the vocabulary of %zu tokens; ignored",
		            am_gguf_name(g), key, v, n_vocab);
		return 0;
	}
	*id = (int32_t)v;
	return 0;
}

static int opt_bool(const struct am_gguf *g, const char *key, bool *out, struct am_err *err)
{
	int rc = am_gguf_get_bool(g, key, out, err);
	return rc == AM_ENOTFOUND ? 0 : rc;
}

static int load_tokens(const struct am_gguf *g, struct am_tokenizer *t, struct am_err *err)
{
	enum am_gguf_vtype et;
	uint64_t n;
	int rc = am_gguf_get_array(g, "tokenizer.ggml.tokens", &et, &n, err);
	if (rc < 0)
		return rc;
	if (et != AM_GGUF_STRING)
		return load_err(g, err, AM_EINVAL, "%s must be an array of strings",
		                "tokenizer.ggml.tokens");
	if (n == 0 || n > INT32_MAX)
		return load_err(g, err, AM_EINVAL, "%s: bad vocabulary size",
		                "tokenizer.ggml.tokens");
	t->n_vocab = (size_t)n;
	t->tok = am_calloc(t->n_vocab, sizeof(*t->tok));
	if (!t->tok)
		return am_err_set(err, AM_ENOMEM, "out of memory loading the vocabulary");
	uint64_t total = 0;
	for (uint64_t i = 0; i < n; i++) {
		struct am_gguf_str s;
		if ((rc = am_gguf_array_str_at(g, "tokenizer.ggml.tokens", i, &s, err)) < 0)
			return rc;
		total += s.len;
	}
	if (total > UINT32_MAX / 2)
		return load_err(g, err, AM_ELIMIT, "%s: token texts too large",
		                "tokenizer.ggml.tokens");
	t->arena = am_malloc((size_t)total + 1);
	if (!t->arena)
		return am_err_set(err, AM_ENOMEM, "out of memory loading the vocabulary");
	uint32_t off = 0;
	for (uint64_t i = 0; i < n; i++) {
		struct am_gguf_str s;
		(void)am_gguf_array_str_at(g, "tokenizer.ggml.tokens", i, &s, NULL);
		memcpy(t->arena + off, s.ptr, (size_t)s.len);
		t->tok[i].off = off;
		t->tok[i].len = (uint32_t)s.len;
		t->tok[i].attr = ATTR_NORMAL;
		off += (uint32_t)s.len;
	}
	/* scores and token types are optional; when present they must cover the vocabulary */
	if (am_gguf_has(g, "tokenizer.ggml.scores")) {
		if ((rc = am_gguf_get_array(g, "tokenizer.ggml.scores", &et, &n, err)) < 0)
			return rc;
		if (n != t->n_vocab || (et != AM_GGUF_F32 && et != AM_GGUF_F64))
			return load_err(g, err, AM_EINVAL, "%s must hold one float per token",
			                "tokenizer.ggml.scores");
		for (size_t i = 0; i < t->n_vocab; i++) {
			double d;
			if ((rc = am_gguf_array_f64_at(g, "tokenizer.ggml.scores", i, &d, err)) < 0)
				return rc;
			t->tok[i].score = (float)d;
		}
	}
	if (am_gguf_has(g, "tokenizer.ggml.token_type")) {
		if ((rc = am_gguf_get_array(g, "tokenizer.ggml.token_type", &et, &n, err)) < 0)
			return rc;
		if (n != t->n_vocab)
			return load_err(g, err, AM_EINVAL, "%s must hold one type per token",
			                "tokenizer.ggml.token_type");
		for (size_t i = 0; i < t->n_vocab; i++) {
			int64_t ty;
			if ((rc = am_gguf_array_i64_at(g, "tokenizer.ggml.token_type", i, &ty,
			                               err)) < 0)
				return rc;
			static const uint16_t attr_of_type[] = {
			    0,           ATTR_NORMAL, ATTR_UNKNOWN, ATTR_CONTROL, ATTR_USER_DEFINED,
			    ATTR_UNUSED, ATTR_BYTE};
			t->tok[i].attr = (ty >= 0 && ty < (int64_t)AM_ARRAY_LEN(attr_of_type))
			                     ? attr_of_type[ty]
			                     : 0;
		}
	}
	if ((rc = strmap_init(&t->by_text, t->n_vocab, err)) < 0)
		return rc;
	for (size_t i = 0; i < t->n_vocab; i++)
		insert_text(t, (int32_t)i);
	return 0;
}

static int load_merges(const struct am_gguf *g, struct am_tokenizer *t, struct am_err *err)
{
	enum am_gguf_vtype et;
	uint64_t n;
	int rc = am_gguf_get_array(g, "tokenizer.ggml.merges", &et, &n, err);
	if (rc == AM_ENOTFOUND)
		return load_err(g, err, AM_EINVAL, "%s is missing (required by BPE vocabularies)",
		                "tokenizer.ggml.merges");
	if (rc < 0)
		return rc;
	if (et != AM_GGUF_STRING || n > INT32_MAX)
		return load_err(g, err, AM_EINVAL, "%s must be an array of strings",
		                "tokenizer.ggml.merges");
	t->n_merges = (size_t)n;
	t->merges = am_calloc(t->n_merges ? t->n_merges : 1, sizeof(*t->merges));
	uint64_t total = 0;
	for (uint64_t i = 0; i < n && t->merges; i++) {
		struct am_gguf_str s;
		if ((rc = am_gguf_array_str_at(g, "tokenizer.ggml.merges", i, &s, err)) < 0)
			return rc;
		total += s.len;
	}
	if (total > UINT32_MAX / 2)
		return load_err(g, err, AM_ELIMIT, "%s too large", "tokenizer.ggml.merges");
	t->merge_arena = t->merges ? am_malloc((size_t)total + 1) : NULL;
	if (!t->merges || !t->merge_arena)
		return am_err_set(err, AM_ENOMEM, "out of memory loading merges");
	uint32_t off = 0;
	for (uint64_t i = 0; i < n; i++) {
		struct am_gguf_str s;
		(void)am_gguf_array_str_at(g, "tokenizer.ggml.merges", i, &s, NULL);
		memcpy(t->merge_arena + off, s.ptr, (size_t)s.len);
		/* split at the first space after the first byte; without one, both sides are empty
		 * (the reference's behaviour: such a merge can never apply) */
		const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', (size_t)s.len - 1) : NULL;
		struct merge *m = &t->merges[i];
		if (sp) {
			m->left_off = off;
			m->left_len = (uint32_t)(sp - s.ptr);
			m->right_off = off + m->left_len + 1;
			m->right_len = (uint32_t)s.len - m->left_len - 1;
		} else {
			m->left_off = m->right_off = off;
		}
		off += (uint32_t)s.len;
	}
	if ((rc = strmap_init(&t->by_pair, t->n_merges, err)) < 0)
		return rc;
	for (size_t i = 0; i < t->n_merges; i++)
		insert_merge(t, (uint32_t)i);
	return 0;
}

static bool text_is(const struct am_tokenizer *t, int32_t id, const char *lit)
{
	size_t n;
	const char *s = tok_text(t, id, &n);
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static bool text_in(const struct am_tokenizer *t, int32_t id, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (text_is(t, id, list[i]))
			return true;
	return false;
}

/* Every text the rules below look for starts with '<' or '_': skip the rest quickly. */
static bool looks_special(const struct am_tokenizer *t, int32_t id)
{
	const struct token *k = &t->tok[id];
	return k->len >= 5 && (t->arena[k->off] == '<' || t->arena[k->off] == '_');
}

/* End-of-generation tokens and the special-token ids found by their text, as the reference. */
static int find_special_ids(const struct am_gguf *g, struct am_tokenizer *t, struct am_err *err)
{
	static const char *const eot_texts[] = {"<|eot_id|>",
	                                        "<|im_end|>",
	                                        "<|end|>",
	                                        "<end_of_turn>",
	                                        "<|endoftext|>",
	                                        "<|end_of_text|>",
	                                        "<EOT>",
	                                        "_<EOT>",
	                                        "<\xef\xbd\x9c"
	                                        "end\xe2\x96\x81"
	                                        "of\xe2\x96\x81"
	                                        "sentence\xef\xbd\x9c>",
	                                        "<end_of_utterance>"};
	static const char *const eog_texts[] = {
	    "<|eot_id|>", "<|im_end|>",    "<|end|>",         "<|return|>",
	    "<|call|>",   "<end_of_turn>", "<|endoftext|>",   "<|eom_id|>",
	    "<EOT>",      "_<EOT>",        "<|end_of_text|>", "<end_of_utterance>"};
	static const char *const fim_pad_texts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>",
	                                            "<PAD>"};
	static const char *const fim_rep_texts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>",
	                                            "<REPO>", "<reponame>"};
	static const char *const fim_sep_texts[] = {"<|file_sep|>"};
	int32_t fim_pad = -1, fim_rep = -1, fim_sep = -1;
	int rc;
	if ((rc = opt_token_id(g, "tokenizer.ggml.eot_token_id", t->n_vocab, &t->eot, err)) < 0 ||
	    (rc = opt_token_id(g, "tokenizer.ggml.eom_token_id", t->n_vocab, &t->eom, err)) < 0 ||
	    (rc = opt_token_id(g, "tokenizer.ggml.fim_pad_token_id", t->n_vocab, &fim_pad, err)) <
	        0 ||
	    (rc = opt_token_id(g, "tokenizer.ggml.fim_rep_token_id", t->n_vocab, &fim_rep, err)) <
	        0 ||
	    (rc = opt_token_id(g, "tokenizer.ggml.fim_sep_token_id", t->n_vocab, &fim_sep, err)) <
	        0)
		return rc;
	for (int32_t id = 0; id < (int32_t)t->n_vocab; id++) {
		int32_t *slot = NULL;
		if (!looks_special(t, id))
			continue;
		if (t->eot < 0 && text_in(t, id, eot_texts, AM_ARRAY_LEN(eot_texts)))
			slot = &t->eot;
		else if (t->eom < 0 && text_is(t, id, "<|eom_id|>"))
			slot = &t->eom;
		else if (fim_pad < 0 && text_in(t, id, fim_pad_texts, AM_ARRAY_LEN(fim_pad_texts)))
			slot = &fim_pad;
		else if (fim_rep < 0 && text_in(t, id, fim_rep_texts, AM_ARRAY_LEN(fim_rep_texts)))
			slot = &fim_rep;
		else if (fim_sep < 0 && text_in(t, id, fim_sep_texts, AM_ARRAY_LEN(fim_sep_texts)))
			slot = &fim_sep;
		if (slot) {
			*slot = id;
			t->tok[id].attr |= ATTR_CONTROL;
			t->tok[id].attr &= (uint16_t)~ATTR_NORMAL;
		}
	}
	t->eog = am_calloc(t->n_vocab, sizeof(bool));
	if (!t->eog)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	int32_t extra[] = {fim_pad, fim_rep, fim_sep, t->eos, t->eot, t->eom};
	for (size_t i = 0; i < AM_ARRAY_LEN(extra); i++)
		if (extra[i] >= 0)
			t->eog[extra[i]] = true;
	int32_t ret = -1, call = -1, end = -1;
	for (int32_t id = 0; id < (int32_t)t->n_vocab; id++) {
		if (!looks_special(t, id))
			continue;
		if (text_in(t, id, eog_texts, AM_ARRAY_LEN(eog_texts))) {
			t->eog[id] = true;
			t->tok[id].attr |= ATTR_CONTROL;
			t->tok[id].attr &= (uint16_t)~ATTR_NORMAL;
		}
		if (text_is(t, id, "<|return|>"))
			ret = id;
		if (text_is(t, id, "<|call|>"))
			call = id;
		if (text_is(t, id, "<|end|>"))
			end = id;
		if (text_is(t, id, "<|channel|>") || text_is(t, id, "<|message|>") ||
		    text_is(t, id, "<|start|>") || text_is(t, id, "<|constrain|>"))
			t->tok[id].attr = ATTR_USER_DEFINED;
	}
	/* harmony-style vocabularies end a turn with <|return|> or <|call|>, not <|end|> */
	if (ret >= 0 && call >= 0 && end >= 0 && t->eog[ret] && t->eog[call] && t->eog[end]) {
		t->eog[end] = false;
		t->tok[end].attr = ATTR_USER_DEFINED;
	}
	return 0;
}

static int cmp_special(const void *a, const void *b, void *ctx)
{
	const struct am_tokenizer *t = ctx;
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	if (t->tok[x].len != t->tok[y].len)
		return t->tok[x].len > t->tok[y].len ? -1 : 1;
	return x < y ? -1 : (x > y);
}

static int build_special_cache(const struct am_gguf *g, struct am_tokenizer *t, struct am_err *err)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n_vocab; i++)
		if ((t->tok[i].attr & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) &&
		    t->tok[i].len > 0)
			n++;
	t->special = am_calloc(n ? n : 1, sizeof(int32_t));
	if (!t->special)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	for (size_t i = 0; i < t->n_vocab; i++)
		if ((t->tok[i].attr & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) &&
		    t->tok[i].len > 0)
			t->special[t->n_special++] = (int32_t)i;
	qsort_r(t->special, t->n_special, sizeof(int32_t), cmp_special, t);
	/* Phi-3 vocabularies strip whitespace after their special tokens (a per-model rule of the
	 * reference, keyed on the model name) */
	struct am_gguf_str name;
	if (am_gguf_get_str(g, "general.name", &name, NULL) == 0) {
		bool phi3 = false;
		for (uint64_t i = 0; i + 4 <= name.len && !phi3; i++) {
			if (am_strncasecmp_ascii(name.ptr + i, "phi3", 4) == 0 ||
			    (i + 5 <= name.len &&
			     am_strncasecmp_ascii(name.ptr + i, "phi-3", 5) == 0))
				phi3 = true;
		}
		if (phi3) {
			for (size_t i = 0; i < t->n_special; i++)
				t->tok[t->special[i]].attr |= ATTR_RSTRIP;
			int32_t id;
			if ((id = find_text(t, "</s>", 4)) >= 0)
				t->tok[id].attr |= ATTR_RSTRIP;
			static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
			for (size_t i = 0; i < AM_ARRAY_LEN(keep); i++)
				if ((id = find_text(t, keep[i], strlen(keep[i]))) >= 0)
					t->tok[id].attr &= (uint16_t)~ATTR_RSTRIP;
		}
	}
	return 0;
}

/* The decoded bytes of every token, computed once. */
static int build_pieces(struct am_tokenizer *t, struct am_err *err)
{
	/* a piece is never longer than its token's text, so the arena's size bounds them all */
	size_t total =
	    t->n_vocab ? (size_t)t->tok[t->n_vocab - 1].off + t->tok[t->n_vocab - 1].len : 0;
	char *out = am_malloc(total + 1);
	if (!out)
		return am_err_set(err, AM_ENOMEM, "out of memory decoding the vocabulary");
	size_t w = 0;
	for (size_t i = 0; i < t->n_vocab; i++) {
		struct token *k = &t->tok[i];
		const char *s = t->arena + k->off;
		k->piece_off = (uint32_t)w;
		if (k->attr & (ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER_DEFINED)) {
			memcpy(out + w, s, k->len);
			w += k->len;
		} else if (k->attr & ATTR_NORMAL) {
			for (size_t j = 0; j < k->len;) {
				size_t n;
				uint32_t cp = am_utf8_next((const uint8_t *)s + j, k->len - j, &n);
				int byte = t->model == MODEL_SPM ? (cp == 0x2581 ? ' ' : -1)
				                                 : cp_to_byte(cp);
				/* otherwise (outside GPT-2's alphabet) keep the text's own bytes */
				if (byte >= 0) {
					out[w++] = (char)byte;
				} else {
					memcpy(out + w, s + j, n);
					w += n;
				}
				j += n;
			}
		} else if ((k->attr & ATTR_BYTE) && t->model == MODEL_SPM) {
			/* <0xXX> */
			unsigned v = 0;
			bool ok = k->len == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>';
			for (int d = 3; ok && d < 5; d++) {
				char ch = s[d];
				unsigned x = (ch >= '0' && ch <= '9')   ? (unsigned)(ch - '0')
				             : (ch >= 'A' && ch <= 'F') ? (unsigned)(ch - 'A' + 10)
				             : (ch >= 'a' && ch <= 'f') ? (unsigned)(ch - 'a' + 10)
				                                        : 16u;
				ok = x < 16;
				v = v * 16 + x;
			}
			if (ok)
				out[w++] = (char)v;
		}
		k->piece_len = (uint32_t)(w - k->piece_off);
	}
	t->pieces = out;
	return 0;
}

static void build_byte_tokens(struct am_tokenizer *t)
{
	static const char hex[] = "0123456789ABCDEF";
	for (int b = 0; b < 256; b++) {
		char buf[8];
		int32_t id;
		if (t->model == MODEL_SPM) {
			char name[7] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>', 0};
			id = find_text(t, name, 6);
			if (id < 0) {
				buf[0] = (char)b;
				id = find_text(t, buf, 1);
			}
		} else {
			size_t n = am_utf8_put(byte_to_cp((uint8_t)b), buf);
			id = find_text(t, buf, n);
		}
		t->byte_tok[b] = id;
	}
}

int am_tokenizer_load(const struct am_gguf *g, struct am_tokenizer **out, struct am_err *err)
{
	*out = NULL;
	struct am_tokenizer *t = am_calloc(1, sizeof(*t));
	if (!t)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	t->bos = t->eos = t->unk = t->eot = t->eom = -1;
	struct am_gguf_str model, pre;
	int rc = am_gguf_get_str(g, "tokenizer.ggml.model", &model, err);
	if (rc < 0)
		goto out;
	if (str_is(&model, "gpt2")) {
		t->model = MODEL_BPE;
	} else if (str_is(&model, "llama")) {
		t->model = MODEL_SPM;
	} else {
		char name[64];
		(void)am_snprintf(name, sizeof(name), "%.*s", (int)AM_MIN(model.len, 40),
		                  model.ptr);
		rc = load_err(g, err, AM_EUNSUPPORTED,
		              "tokenizer.ggml.model '%s' is not supported (only gpt2 and llama)",
		              name);
		goto out;
	}
	if ((rc = load_tokens(g, t, err)) < 0)
		goto out;
	if (t->model == MODEL_BPE) {
		t->pre = am_pretok_default();
		rc = am_gguf_get_str(g, "tokenizer.ggml.pre", &pre, err);
		if (rc == 0) {
			bool unsupported;
			const struct am_pretok *p =
			    am_pretok_find(pre.ptr, (size_t)pre.len, &unsupported);
			char name[64];
			(void)am_snprintf(name, sizeof(name), "%.*s", (int)AM_MIN(pre.len, 40),
			                  pre.ptr);
			if (unsupported) {
				rc = load_err(
				    g, err, AM_EUNSUPPORTED,
				    "pre-tokenizer '%s' (tokenizer.ggml.pre) is not supported",
				    name);
				goto out;
			}
			if (p)
				t->pre = p;
			else
				am_log_warn(
				    "%s: unknown pre-tokenizer '%s'; using 'default' as the "
				    "reference does",
				    am_gguf_name(g), name);
		} else if (rc != AM_ENOTFOUND) {
			goto out;
		} else {
			am_log_warn("%s: no tokenizer.ggml.pre; using the 'default' pre-tokenizer",
			            am_gguf_name(g));
		}
		rc = 0;
		t->ignore_merges = am_pretok_ignore_merges(t->pre);
		t->add_bos = am_pretok_add_bos(t->pre);
		if ((rc = load_merges(g, t, err)) < 0)
			goto out;
		t->bos = t->eos = t->n_vocab > 11 ? 11 : -1; /* the reference's defaults */
	} else {
		t->add_space_prefix = true;
		t->add_bos = true;
		t->bos = t->n_vocab > 1 ? 1 : -1;
		t->eos = t->n_vocab > 2 ? 2 : -1;
		t->unk = 0;
	}
	if ((rc = opt_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err)) < 0 ||
	    (rc = opt_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos, err)) < 0 ||
	    (rc = opt_bool(g, "tokenizer.ggml.add_eos_token", &t->add_eos, err)) < 0 ||
	    (rc = opt_token_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos, err)) < 0 ||
	    (rc = opt_token_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos, err)) < 0 ||
	    (rc = opt_token_id(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk, err)) < 0)
		goto out;
	if ((rc = find_special_ids(g, t, err)) < 0 || (rc = build_special_cache(g, t, err)) < 0 ||
	    (rc = build_pieces(t, err)) < 0)
		goto out;
	build_byte_tokens(t);
	*out = t;
	return 0;
out:
	am_tokenizer_free(t);
	return rc;
}

void am_tokenizer_free(struct am_tokenizer *t)
{
	if (!t)
		return;
	am_free(t->tok);
	am_free(t->arena);
	am_free(t->by_text.slots);
	am_free(t->merges);
	am_free(t->merge_arena);
	am_free(t->by_pair.slots);
	am_free(t->pieces);
	am_free(t->special);
	am_free(t->eog);
	am_free(t);
}

/* ---------------------------------------------------------------- encoding */

struct ids {
	int32_t *v;
	size_t n, cap;
};

static int ids_push(struct ids *o, int32_t id, struct am_err *err)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		int32_t *v = am_reallocarray(o->v, cap, sizeof(*v));
		if (!v)
			return am_err_set(err, AM_ENOMEM, "out of memory tokenizing");
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = id;
	return 0;
}

struct sym {
	int32_t prev, next;
	uint32_t off, n; /* bytes of the word */
};

struct bigram {
	int32_t left, right;
	uint32_t size;
	float score;  /* SPM: higher first */
	int32_t rank; /* BPE: lower first */
};

/* Scratch space reused across the words of one encode call. */
struct work {
	struct sym *syms;
	size_t n_syms, cap_syms;
	struct bigram *heap;
	size_t n_heap, cap_heap;
	struct am_buf word;
	uint32_t *cps;
	uint16_t *flags;
	size_t *boff;
	size_t cap_cps;
	struct am_span_vec spans;
};

static void work_free(struct work *w)
{
	am_free(w->syms);
	am_free(w->heap);
	am_buf_free(&w->word);
	am_free(w->cps);
	am_free(w->flags);
	am_free(w->boff);
	am_span_vec_free(&w->spans);
}

/* Grow the array p (capacity *cap elements of elem bytes) to hold need > *cap elements,
 * doubling from 64. Returns the new array, or NULL (p untouched) when memory runs out. */
static void *grow_array(void *p, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *np = am_reallocarray(p, c, elem);
	if (np)
		*cap = c;
	return np;
}

static int oom(struct am_err *err)
{
	return am_err_set(err, AM_ENOMEM, "out of memory tokenizing");
}

/* Heap order: does a come out before b? */
static bool before(bool spm, const struct bigram *a, const struct bigram *b)
{
	if (spm) {
		if (a->score != b->score)
			return a->score > b->score;
	} else if (a->rank != b->rank) {
		return a->rank < b->rank;
	}
	return a->left < b->left;
}

static int heap_push(struct work *w, bool spm, struct bigram bg, struct am_err *err)
{
	if (w->n_heap + 1 > w->cap_heap) {
		struct bigram *h = grow_array(w->heap, &w->cap_heap, w->n_heap + 1, sizeof(*h));
		if (!h)
			return oom(err);
		w->heap = h;
	}
	size_t i = w->n_heap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(spm, &bg, &w->heap[p]))
			break;
		w->heap[i] = w->heap[p];
		i = p;
	}
	w->heap[i] = bg;
	return 0;
}

static struct bigram heap_pop(struct work *w, bool spm)
{
	struct bigram top = w->heap[0];
	struct bigram last = w->heap[--w->n_heap];
	size_t i = 0, n = w->n_heap;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct bigram *best = &last;
		if (l < n && before(spm, &w->heap[l], best)) {
			m = l;
			best = &w->heap[l];
		}
		if (r < n && before(spm, &w->heap[r], best))
			m = r;
		if (m == i)
			break;
		w->heap[i] = w->heap[m];
		i = m;
	}
	if (n)
		w->heap[i] = last;
	return top;
}

/* Byte length of the UTF-8 sequence a lead byte announces (1 for continuation bytes), as the
 * reference splits words into symbols. */
static size_t utf8_len(uint8_t b)
{
	static const uint8_t lens[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
	return lens[b >> 4];
}

/* Split a word into characters. With validate, an invalid sequence splits into single bytes
 * (the reference lets a lead byte swallow what follows it, e.g. the first byte of an escaped
 * space, which then cannot decode back; valid UTF-8 splits the same either way). */
static int split_symbols(struct work *w, const char *s, size_t n, bool validate, struct am_err *err)
{
	w->n_syms = 0;
	if (n > w->cap_syms) {
		struct sym *y = grow_array(w->syms, &w->cap_syms, n, sizeof(*y));
		if (!y)
			return oom(err);
		w->syms = y;
	}
	for (size_t off = 0; off < n;) {
		size_t len = AM_MIN(utf8_len((uint8_t)s[off]), n - off);
		if (validate)
			(void)am_utf8_next((const uint8_t *)s + off, n - off, &len);
		struct sym *y = &w->syms[w->n_syms];
		y->off = (uint32_t)off;
		y->n = (uint32_t)len;
		y->prev = (int32_t)w->n_syms - 1;
		off += len;
		y->next = off == n ? -1 : (int32_t)w->n_syms + 1;
		w->n_syms++;
	}
	return 0;
}

static int spm_try_bigram(const struct am_tokenizer *t, struct work *w, const char *s, int32_t left,
                          int32_t right, struct am_err *err)
{
	if (left < 0 || right < 0)
		return 0;
	const struct sym *l = &w->syms[left], *r = &w->syms[right];
	int32_t id = find_text(t, s + l->off, l->n + r->n);
	if (id < 0)
		return 0;
	struct bigram bg = {left, right, l->n + r->n, t->tok[id].score, 0};
	return heap_push(w, true, bg, err);
}

static int bpe_try_bigram(const struct am_tokenizer *t, struct work *w, const char *s, int32_t left,
                          int32_t right, struct am_err *err)
{
	if (left < 0 || right < 0)
		return 0;
	const struct sym *l = &w->syms[left], *r = &w->syms[right];
	int32_t rank = find_merge(t, s + l->off, l->n, s + r->off, r->n);
	if (rank < 0)
		return 0;
	struct bigram bg = {left, right, l->n + r->n, 0.0f, rank};
	return heap_push(w, false, bg, err);
}

/* SPM and BPE merge alike; they differ only in how a pair is scored (SPM: the merged
 * token's score, BPE: the merge's rank), which heap_push/heap_pop take as `spm`. */
static int try_bigram(const struct am_tokenizer *t, struct work *w, const char *s, bool spm,
                      int32_t left, int32_t right, struct am_err *err)
{
	return spm ? spm_try_bigram(t, w, s, left, right, err)
	           : bpe_try_bigram(t, w, s, left, right, err);
}

/* Seed the heap with every adjacent pair of symbols, then merge the best pair until none
 * is left; stale heap entries (a side already merged away) are skipped. */
static int merge_symbols(const struct am_tokenizer *t, struct work *w, const char *s, bool spm,
                         struct am_err *err)
{
	int rc;
	w->n_heap = 0;
	for (size_t i = 1; i < w->n_syms; i++)
		if ((rc = try_bigram(t, w, s, spm, (int32_t)i - 1, (int32_t)i, err)) < 0)
			return rc;
	while (w->n_heap) {
		struct bigram bg = heap_pop(w, spm);
		struct sym *l = &w->syms[bg.left], *r = &w->syms[bg.right];
		if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size)
			continue;
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			w->syms[r->next].prev = bg.left;
		if ((rc = try_bigram(t, w, s, spm, l->prev, bg.left, err)) < 0 ||
		    (rc = try_bigram(t, w, s, spm, bg.left, l->next, err)) < 0)
			return rc;
	}
	return 0;
}

static int spm_word(const struct am_tokenizer *t, struct work *w, const char *s, size_t n,
                    struct ids *out, struct am_err *err)
{
	int rc = split_symbols(w, s, n, true, err);
	if (rc < 0 || (rc = merge_symbols(t, w, s, true, err)) < 0)
		return rc;
	for (int32_t i = w->n_syms ? 0 : -1; i != -1; i = w->syms[i].next) {
		const struct sym *y = &w->syms[i];
		int32_t id = find_text(t, s + y->off, y->n);
		if (id >= 0) {
			if ((rc = ids_push(out, id, err)) < 0)
				return rc;
			continue;
		}
		for (uint32_t j = 0; j < y->n; j++) {
			int32_t b = t->byte_tok[(uint8_t)s[y->off + j]];
			if (b < 0)
				b = t->unk;
			if (b < 0)
				return am_err_set(
				    err, AM_EINVAL,
				    "tokenizer: no token for byte 0x%02x and no unknown token",
				    (uint8_t)s[y->off + j]);
			if ((rc = ids_push(out, b, err)) < 0)
				return rc;
		}
	}
	return 0;
}

/* One pre-tokenized fragment, already in GPT-2's byte alphabet. */
static int bpe_word(const struct am_tokenizer *t, struct work *w, const char *s, size_t n,
                    struct ids *out, struct am_err *err)
{
	int rc;
	if (t->ignore_merges) {
		int32_t id = find_text(t, s, n);
		if (id >= 0)
			return ids_push(out, id, err);
	}
	if ((rc = split_symbols(w, s, n, false, err)) < 0 ||
	    (rc = merge_symbols(t, w, s, false, err)) < 0)
		return rc;
	for (int32_t i = w->n_syms ? 0 : -1; i != -1; i = w->syms[i].next) {
		const struct sym *y = &w->syms[i];
		int32_t id = find_text(t, s + y->off, y->n);
		if (id >= 0) {
			if ((rc = ids_push(out, id, err)) < 0)
				return rc;
			continue;
		}
		/* the reference's fallback: single bytes of the symbol that are tokens */
		for (uint32_t j = 0; j < y->n; j++) {
			int32_t b = find_text(t, s + y->off + j, 1);
			if (b >= 0 && (rc = ids_push(out, b, err)) < 0)
				return rc;
		}
	}
	return 0;
}

/* Byte-level BPE over one raw fragment: decode, pre-tokenize, map bytes, merge. */
static int bpe_fragment(const struct am_tokenizer *t, struct work *w, const char *s, size_t n,
                        struct ids *out, struct am_err *err)
{
	size_t need = n + 1;
	int rc;
	if (need > w->cap_cps) {
		/* three arrays of one capacity: it is raised only once all three have grown */
		size_t c1 = w->cap_cps, c2 = w->cap_cps, c3 = w->cap_cps;
		uint32_t *cps = grow_array(w->cps, &c1, need, sizeof(*cps));
		if (!cps)
			return oom(err);
		w->cps = cps;
		uint16_t *flags = grow_array(w->flags, &c2, need, sizeof(*flags));
		if (!flags)
			return oom(err);
		w->flags = flags;
		size_t *boff = grow_array(w->boff, &c3, need, sizeof(*boff));
		if (!boff)
			return oom(err);
		w->boff = boff;
		w->cap_cps = c1;
	}
	size_t m = 0;
	for (size_t off = 0; off < n; m++) {
		size_t len;
		uint32_t cp = am_utf8_next((const uint8_t *)s + off, n - off, &len);
		w->cps[m] = cp;
		w->flags[m] = am_ucp_flags(cp);
		w->boff[m] = off;
		off += len;
	}
	w->boff[m] = n;
	struct am_cp_text ct = {w->cps, w->flags, m};
	if ((rc = am_pretok_split(t->pre, &ct, &w->spans, err)) < 0)
		return rc;
	for (size_t f = 0; f < w->spans.n; f++) {
		size_t b0 = w->boff[w->spans.v[f].start], b1 = w->boff[w->spans.v[f].end];
		am_buf_reset(&w->word);
		for (size_t i = b0; i < b1; i++) {
			char enc[4];
			size_t k = am_utf8_put(byte_to_cp((uint8_t)s[i]), enc);
			if ((rc = am_buf_append(&w->word, enc, k, err)) < 0)
				return rc;
		}
		if ((rc = bpe_word(t, w, w->word.data, w->word.len, out, err)) < 0)
			return rc;
	}
	return 0;
}

/* SentencePiece over one raw fragment: optional space prefix, spaces to U+2581, merge. */
static int spm_fragment(const struct am_tokenizer *t, struct work *w, const char *s, size_t n,
                        bool prefix, struct ids *out, struct am_err *err)
{
	int rc = 0;
	am_buf_reset(&w->word);
	if (prefix)
		rc = am_buf_puts(&w->word, "\xe2\x96\x81", err);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = s[i] == ' ' ? am_buf_puts(&w->word, "\xe2\x96\x81", err)
		                 : am_buf_putc(&w->word, s[i], err);
	if (rc < 0)
		return rc;
	return spm_word(t, w, w->word.data, w->word.len, out, err);
}

struct frag {
	size_t off, len; /* raw text */
	int32_t id;      /* >= 0: a special token */
};

struct frags {
	struct frag *v;
	size_t n, cap;
};

static int frag_push(struct frags *f, size_t off, size_t len, int32_t id, struct am_err *err)
{
	if (f->n + 1 > f->cap) {
		struct frag *v = grow_array(f->v, &f->cap, f->n + 1, sizeof(*v));
		if (!v)
			return oom(err);
		f->v = v;
	}
	f->v[f->n].off = off;
	f->v[f->n].len = len;
	f->v[f->n].id = id;
	f->n++;
	return 0;
}

static bool is_c_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Cut special tokens out of the raw fragments, longest token first. */
static int partition_special(const struct am_tokenizer *t, const char *text, size_t len,
                             bool parse_special, struct frags *out, struct am_err *err)
{
	struct frags cur = {0}, next = {0};
	int rc = 0;
	out->n = 0;
	if (len && (rc = frag_push(&cur, 0, len, -1, err)) < 0)
		goto out;
	for (size_t k = 0; k < t->n_special; k++) {
		int32_t id = t->special[k];
		const struct token *tk = &t->tok[id];
		if (!parse_special && (tk->attr & (ATTR_CONTROL | ATTR_UNKNOWN)))
			continue;
		const char *tt = t->arena + tk->off;
		next.n = 0;
		for (size_t f = 0; f < cur.n; f++) {
			struct frag fr = cur.v[f];
			if (fr.id >= 0) {
				if ((rc = frag_push(&next, fr.off, fr.len, fr.id, err)) < 0)
					goto out;
				continue;
			}
			size_t off = fr.off, end = fr.off + fr.len;
			for (;;) {
				const char *hit = end - off >= tk->len
				                      ? memmem(text + off, end - off, tt, tk->len)
				                      : NULL;
				if (!hit)
					break;
				size_t at = (size_t)(hit - text), left_len = at - off;
				if (tk->attr & ATTR_LSTRIP)
					while (left_len > 0 && is_c_space(text[off + left_len - 1]))
						left_len--;
				if (left_len && (rc = frag_push(&next, off, left_len, -1, err)) < 0)
					goto out;
				if ((rc = frag_push(&next, 0, 0, id, err)) < 0)
					goto out;
				off = at + tk->len;
				if (tk->attr & ATTR_RSTRIP)
					while (off < end && is_c_space(text[off]))
						off++;
			}
			if (off < end && (rc = frag_push(&next, off, end - off, -1, err)) < 0)
				goto out;
		}
		struct frags tmp = cur;
		cur = next;
		next = tmp;
	}
	struct frags tmp = *out;
	*out = cur;
	cur = tmp;
out:
	am_free(cur.v);
	am_free(next.v);
	return rc;
}

int am_tokenizer_encode(const struct am_tokenizer *t, const char *text, size_t len,
                        bool parse_special, int32_t **ids, size_t *n_ids, struct am_err *err)
{
	struct frags fr = {0};
	struct work w = {0};
	struct ids out = {0};
	am_buf_init(&w.word, 0);
	*ids = NULL;
	*n_ids = 0;
	int rc = partition_special(t, text, len, parse_special, &fr, err);
	bool prev_special = true; /* SPM: the first fragment gets the space prefix */
	for (size_t i = 0; i < fr.n && rc == 0; i++) {
		if (fr.v[i].id >= 0) {
			rc = ids_push(&out, fr.v[i].id, err);
			prev_special = true;
		} else if (t->model == MODEL_BPE) {
			rc = bpe_fragment(t, &w, text + fr.v[i].off, fr.v[i].len, &out, err);
		} else {
			rc = spm_fragment(t, &w, text + fr.v[i].off, fr.v[i].len,
			                  t->add_space_prefix && prev_special, &out, err);
			prev_special = false;
		}
	}
	if (rc == 0) {
		if (out.n == 0) {
			out.v = am_malloc(sizeof(int32_t));
			if (!out.v)
				rc = am_err_set(err, AM_ENOMEM, "out of memory tokenizing");
		}
		if (rc == 0) {
			*ids = out.v;
			*n_ids = out.n;
			out.v = NULL;
		}
	}
	am_free(out.v);
	am_free(fr.v);
	work_free(&w);
	return rc;
}

/* ---------------------------------------------------------------- decoding and look-ups */

static int check_id(const struct am_tokenizer *t, int32_t id, struct am_err *err)
{
	if (id < 0 || (size_t)id >= t->n_vocab)
		return am_err_set(err, AM_EINVAL,
		                  "token id %" PRId32 " outside the vocabulary (%zu)", id,
		                  t->n_vocab);
	return 0;
}

int am_tokenizer_piece(const struct am_tokenizer *t, int32_t id, bool render_special,
                       const char **bytes, size_t *len, struct am_err *err)
{
	int rc = check_id(t, id, err);
	if (rc < 0)
		return rc;
	const struct token *k = &t->tok[id];
	*bytes = t->pieces + k->piece_off;
	*len = k->piece_len;
	if (!render_special && (k->attr & (ATTR_CONTROL | ATTR_UNKNOWN)))
		*len = 0;
	return 0;
}

int am_tokenizer_decode(const struct am_tokenizer *t, const int32_t *ids, size_t n,
                        bool render_special, struct am_buf *out, struct am_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *p;
		size_t len;
		int rc = am_tokenizer_piece(t, ids[i], render_special, &p, &len, err);
		if (rc < 0 || (rc = am_buf_append(out, p, len, err)) < 0)
			return rc;
	}
	return 0;
}

int am_tokenizer_detokenize(const struct am_tokenizer *t, const int32_t *ids, size_t n,
                            bool render_special, struct am_buf *out, struct am_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *p;
		size_t len;
		int rc = am_tokenizer_piece(t, ids[i], render_special, &p, &len, err);
		if (rc < 0)
			return rc;
		/* only SentencePiece adds the prefix space that this removes */
		if (i == 0 && t->model == MODEL_SPM && t->add_space_prefix && len > 0 &&
		    p[0] == ' ') {
			p++;
			len--;
		}
		if ((rc = am_buf_append(out, p, len, err)) < 0)
			return rc;
	}
	return 0;
}

size_t am_tokenizer_n_vocab(const struct am_tokenizer *t)
{
	return t->n_vocab;
}

int32_t am_tokenizer_bos(const struct am_tokenizer *t)
{
	return t->bos;
}

int32_t am_tokenizer_eos(const struct am_tokenizer *t)
{
	return t->eos;
}

bool am_tokenizer_is_eog(const struct am_tokenizer *t, int32_t id)
{
	return id >= 0 && (size_t)id < t->n_vocab && t->eog[id];
}

int32_t am_tokenizer_find(const struct am_tokenizer *t, const char *text)
{
	return find_text(t, text, strlen(text));
}

bool am_tokenizer_add_bos(const struct am_tokenizer *t)
{
	return t->add_bos;
}

bool am_tokenizer_add_eos(const struct am_tokenizer *t)
{
	return t->add_eos;
}

bool am_tokenizer_is_special(const struct am_tokenizer *t, int32_t id)
{
	return id >= 0 && (size_t)id < t->n_vocab &&
	       (t->tok[id].attr & (ATTR_CONTROL | ATTR_UNKNOWN));
}

int am_tokenizer_text(const struct am_tokenizer *t, int32_t id, const char **text, size_t *len,
                      struct am_err *err)
{
	int rc = check_id(t, id, err);
	if (rc < 0)
		return rc;
	*text = tok_text(t, id, len);
	return 0;
}

const char *am_tokenizer_pre_name(const struct am_tokenizer *t)
{
	return t->model == MODEL_SPM ? "spm" : am_pretok_name(t->pre);
}
