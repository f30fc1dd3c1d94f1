/* tokenizer_pre.c: the pre-tokenizers of byte-level BPE vocabularies, chosen by
 * tokenizer.ggml.pre (see tokenizer_internal.h).
 *
 * Each splitter below matches at one position the way its regular expression would (leftmost
 * alternative first, greedy quantifiers with the backtracking that the expression implies) and
 * returns the end of the match, or the start position when nothing matches there. Two facts about
 * the reference shape the classes: \s is Unicode White_Space, and in expressions that spell out
 * non-ASCII characters the reference first replaces every non-ASCII whitespace character by a
 * vertical tab, so such characters never match those explicit classes (only \s). */
#include "amlab/alloc.h"
#include "tokenizer_internal.h"
#include "unicode.h"

#define NO_CP 0xFFFFFFFFu

struct ctx {
	const uint32_t *cps;
	const uint16_t *fl;
	size_t end; /* the fragment's end: look-ahead stops here */
};

static uint32_t cp_at(const struct ctx *c, size_t i)
{
	return i < c->end ? c->cps[i] : NO_CP;
}

static uint16_t fl_at(const struct ctx *c, size_t i)
{
	return i < c->end ? c->fl[i] : 0;
}

static bool is_l(const struct ctx *c, size_t i)
{
	return fl_at(c, i) & AM_UCP_LETTER;
}

static bool is_n(const struct ctx *c, size_t i)
{
	return fl_at(c, i) & AM_UCP_NUMBER;
}

static bool is_ws(const struct ctx *c, size_t i)
{
	return fl_at(c, i) & AM_UCP_WHITESPACE;
}

/* [^\s\p{L}\p{N}] */
static bool is_other(const struct ctx *c, size_t i)
{
	return i < c->end && !(c->fl[i] & (AM_UCP_WHITESPACE | AM_UCP_LETTER | AM_UCP_NUMBER));
}

static bool is_crlf(const struct ctx *c, size_t i)
{
	uint32_t cp = cp_at(c, i);
	return cp == '\r' || cp == '\n';
}

typedef bool (*cls_fn)(const struct ctx *c, size_t i);

static size_t run(const struct ctx *c, size_t i, cls_fn f)
{
	while (f(c, i))
		i++;
	return i;
}

/* " ?X+" */
static size_t opt_space_run(const struct ctx *c, size_t i, cls_fn f)
{
	if (cp_at(c, i) == ' ' && f(c, i + 1))
		return run(c, i + 1, f);
	return f(c, i) ? run(c, i, f) : i;
}

/* "\s?X+" */
static size_t opt_ws_run(const struct ctx *c, size_t i, cls_fn f)
{
	if (is_ws(c, i) && f(c, i + 1))
		return run(c, i + 1, f);
	return f(c, i) ? run(c, i, f) : i;
}

static uint32_t ascii_lower(uint32_t cp)
{
	return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
}

/* 's|'t|'re|'ve|'m|'ll|'d, case-insensitively when ci */
static size_t contraction(const struct ctx *c, size_t i, bool ci)
{
	if (cp_at(c, i) != '\'')
		return i;
	uint32_t a = cp_at(c, i + 1), b = cp_at(c, i + 2);
	if (ci) {
		a = ascii_lower(a);
		b = ascii_lower(b);
	}
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return i + 2;
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
		return i + 3;
	return i;
}

/* Whitespace alternatives shared by most expressions: "\s*[\r\n]+" (when crlf_run), then
 * "\s+(?!\S)", then "\s+" (when trailing_ws). */
static size_t whitespace_tail(const struct ctx *c, size_t i, bool crlf_run, bool trailing_ws)
{
	size_t k = i, last_nl = SIZE_MAX;
	while (is_ws(c, k)) {
		if (is_crlf(c, k))
			last_nl = k;
		k++;
	}
	if (k == i)
		return i;
	if (crlf_run && last_nl != SIZE_MAX)
		return last_nl + 1;
	if (k == c->end)
		return k; /* \s+(?!\S) at the end of the fragment */
	if (k - i > 1)
		return k - 1; /* give back the last whitespace before \S */
	return trailing_ws ? k : i;
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) (a lone
 * whitespace character before \S is left unmatched; it becomes a fragment of its own either way) */
static size_t m_gpt2(const struct ctx *c, size_t i)
{
	size_t e;
	if ((e = contraction(c, i, false)) > i)
		return e;
	if ((e = opt_space_run(c, i, is_l)) > i)
		return e;
	if ((e = opt_space_run(c, i, is_n)) > i)
		return e;
	if ((e = opt_space_run(c, i, is_other)) > i)
		return e;
	return whitespace_tail(c, i, false, false);
}

/* [^\r\n\p{L}\p{N}]?\p{L}+ */
static size_t opt_prefix_letters(const struct ctx *c, size_t i)
{
	if (i < c->end && !is_crlf(c, i) && !is_l(c, i) && !is_n(c, i) && is_l(c, i + 1))
		return run(c, i + 1, is_l);
	return is_l(c, i) ? run(c, i, is_l) : i;
}

/* \p{N}{1,max} (max 0: unbounded) */
static size_t digits(const struct ctx *c, size_t i, size_t max)
{
	size_t e = i;
	while (is_n(c, e) && (max == 0 || e - i < max))
		e++;
	return e;
}

/* The Llama 3 family:
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 * \s*[\r\n]+|\s+(?!\S)|\s+
 * with D = 3 (llama3) or 1 (qwen2 and others); seed-coder has no [\r\n]* after punctuation. */
static size_t llama3_like(const struct ctx *c, size_t i, size_t max_digits, bool punct_nl)
{
	size_t e;
	if ((e = contraction(c, i, true)) > i)
		return e;
	if ((e = opt_prefix_letters(c, i)) > i)
		return e;
	if ((e = digits(c, i, max_digits)) > i)
		return e;
	if ((e = opt_space_run(c, i, is_other)) > i)
		return punct_nl ? run(c, e, is_crlf) : e;
	return whitespace_tail(c, i, true, true);
}

static size_t m_llama3(const struct ctx *c, size_t i)
{
	return llama3_like(c, i, 3, true);
}

static size_t m_qwen2(const struct ctx *c, size_t i)
{
	return llama3_like(c, i, 1, true);
}

static size_t m_seed_coder(const struct ctx *c, size_t i)
{
	return llama3_like(c, i, 1, false);
}

static size_t m_digit(const struct ctx *c, size_t i)
{
	return is_n(c, i) ? i + 1 : i;
}

static size_t m_digits(const struct ctx *c, size_t i)
{
	return digits(c, i, 0);
}

static size_t m_digits3(const struct ctx *c, size_t i)
{
	return digits(c, i, 3);
}

/* [0-9][0-9][0-9] */
static size_t m_ascii_digits3(const struct ctx *c, size_t i)
{
	for (size_t k = 0; k < 3; k++) {
		uint32_t cp = cp_at(c, i + k);
		if (cp < '0' || cp > '9')
			return i;
	}
	return i + 3;
}

static bool is_default_punct(const struct ctx *c, size_t i)
{
	uint32_t cp = cp_at(c, i);
	return (fl_at(c, i) & AM_UCP_PUNCT) || cp == '$' || cp == '+' || cp == '<' || cp == '=' ||
	       cp == '>' || cp == '^' || cp == '~' || cp == '|';
}

static bool is_falcon_punct(const struct ctx *c, size_t i)
{
	return is_default_punct(c, i) || cp_at(c, i) == '`';
}

/* [\p{P}\$\+<=>\^~\|]+ */
static size_t m_default_punct(const struct ctx *c, size_t i)
{
	return run(c, i, is_default_punct);
}

/* [\p{P}\$\+<=>\^~\|`]+ */
static size_t m_falcon_punct(const struct ctx *c, size_t i)
{
	return run(c, i, is_falcon_punct);
}

/* [\r\n] */
static size_t m_crlf(const struct ctx *c, size_t i)
{
	return is_crlf(c, i) ? i + 1 : i;
}

/* An explicit class of an expression spelled with non-ASCII characters: never whitespace. */
static bool in_explicit(const struct ctx *c, size_t i, const struct am_cp_span *s, size_t n)
{
	return i < c->end && !(c->fl[i] & AM_UCP_WHITESPACE) && am_cp_in(s, n, c->cps[i]);
}

static bool is_dsl_letter(const struct ctx *c, size_t i)
{
	return in_explicit(c, i, am_class_deepseek_llm_letters, am_class_deepseek_llm_letters_n);
}

static bool is_dsl_punct(const struct ctx *c, size_t i)
{
	return in_explicit(c, i, am_class_deepseek_llm_punct, am_class_deepseek_llm_punct_n);
}

static bool is_ds_cjk(const struct ctx *c, size_t i)
{
	return in_explicit(c, i, am_class_deepseek_cjk, am_class_deepseek_cjk_n);
}

static bool is_dsv3_cjk(const struct ctx *c, size_t i)
{
	return in_explicit(c, i, am_class_deepseek_v3_cjk, am_class_deepseek_v3_cjk_n);
}

static size_t m_dsl_letters(const struct ctx *c, size_t i)
{
	return opt_ws_run(c, i, is_dsl_letter);
}

static size_t m_dsl_punct(const struct ctx *c, size_t i)
{
	return opt_ws_run(c, i, is_dsl_punct);
}

/* \s+$ */
static size_t m_trailing_ws(const struct ctx *c, size_t i)
{
	size_t k = run(c, i, is_ws);
	return (k > i && k == c->end) ? k : i;
}

static size_t m_ds_cjk(const struct ctx *c, size_t i)
{
	return run(c, i, is_ds_cjk);
}

static size_t m_dsv3_cjk(const struct ctx *c, size_t i)
{
	return run(c, i, is_dsv3_cjk);
}

static bool is_p(const struct ctx *c, size_t i)
{
	return fl_at(c, i) & AM_UCP_PUNCT;
}

/* \s?\p{L}+ */
static size_t m_ws_letters(const struct ctx *c, size_t i)
{
	return opt_ws_run(c, i, is_l);
}

/* \s?\p{P}+ */
static size_t m_ws_punct(const struct ctx *c, size_t i)
{
	return opt_ws_run(c, i, is_p);
}

static bool is_ascii_punct(uint32_t cp)
{
	return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
	       (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
}

static bool is_ascii_letter(const struct ctx *c, size_t i)
{
	uint32_t cp = cp_at(c, i);
	return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
}

static bool is_lm(const struct ctx *c, size_t i)
{
	return fl_at(c, i) & (AM_UCP_LETTER | AM_UCP_MARK);
}

static bool is_ps(const struct ctx *c, size_t i)
{
	return fl_at(c, i) & (AM_UCP_PUNCT | AM_UCP_SYMBOL);
}

/* DeepSeek V3:
 * [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|
 * ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t m_dsv3_main(const struct ctx *c, size_t i)
{
	size_t e;
	if (i < c->end && is_ascii_punct(c->cps[i]) && is_ascii_letter(c, i + 1))
		return run(c, i + 1, is_ascii_letter);
	if (i < c->end && !is_crlf(c, i) &&
	    !(c->fl[i] & (AM_UCP_LETTER | AM_UCP_PUNCT | AM_UCP_SYMBOL)) && is_lm(c, i + 1))
		return run(c, i + 1, is_lm);
	if (is_lm(c, i))
		return run(c, i, is_lm);
	if ((e = opt_space_run(c, i, is_ps)) > i)
		return run(c, e, is_crlf);
	return whitespace_tail(c, i, true, true);
}

static bool is_bloom_word(const struct ctx *c, size_t i)
{
	return i < c->end && !(c->fl[i] & AM_UCP_WHITESPACE) &&
	       !am_cp_in(am_class_bloom_stop, am_class_bloom_stop_n, c->cps[i]);
}

/* BLOOM: " ?[^(\s|.,!?…。，、।۔،)]+" */
static size_t m_bloom(const struct ctx *c, size_t i)
{
	return opt_space_run(c, i, is_bloom_word);
}

/* GPT-4o / Llama 4 / Tekken, as the reference runs them: its expressions replace the original
 * [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] by "a letter other than a-z" (U) and
 * [\p{Ll}\p{Lm}\p{Lo}\p{M}] by "a letter other than A-Z" (W), so every non-ASCII letter is
 * both and marks are neither. */
static bool is_upperish(const struct ctx *c, size_t i)
{
	uint32_t cp = cp_at(c, i);
	return is_l(c, i) && !(cp >= 'a' && cp <= 'z');
}

static bool is_lowerish(const struct ctx *c, size_t i)
{
	uint32_t cp = cp_at(c, i);
	return is_l(c, i) && !(cp >= 'A' && cp <= 'Z');
}

static bool is_crlf_slash(const struct ctx *c, size_t i)
{
	return is_crlf(c, i) || cp_at(c, i) == '/';
}

/* [^\r\n\p{L}\p{N}]?U*W+C?|[^\r\n\p{L}\p{N}]?U+W*C?|\p{N}{1,D}| ?[^\s\p{L}\p{N}]+[\r\n/]*|
 * \s*[\r\n]+|\s+(?!\S)|\s+ where C is the optional case-insensitive contraction (GPT-4o) or
 * absent (Tekken). */
static size_t cased_words(const struct ctx *c, size_t i, bool contractions, size_t max_digits)
{
	size_t j = i, e;
	if (i < c->end && !is_crlf(c, i) && !is_l(c, i) && !is_n(c, i))
		j = i + 1; /* the optional prefix; without it no letter could start at i */
	size_t k = run(c, j, is_upperish), end = j;
	if (is_lowerish(c, k)) {
		end = run(c, k, is_lowerish); /* U* took [j,k), W+ continues */
	} else {
		/* give back U characters until one can start W+: the last non-ASCII letter */
		for (size_t p = k; p > j; p--)
			if (is_lowerish(c, p - 1)) {
				end = p;
				break;
			}
		if (end == j && k > j)
			end = run(c, k, is_lowerish); /* second alternative: U+ W* */
	}
	if (end > j) {
		if (contractions && (e = contraction(c, end, true)) > end)
			end = e;
		return end;
	}
	if ((e = digits(c, i, max_digits)) > i)
		return e;
	if ((e = opt_space_run(c, i, is_other)) > i)
		return run(c, e, is_crlf_slash);
	return whitespace_tail(c, i, true, true);
}

static size_t m_gpt4o(const struct ctx *c, size_t i)
{
	return cased_words(c, i, true, 3);
}

static size_t m_tekken(const struct ctx *c, size_t i)
{
	return cased_words(c, i, false, 1);
}

typedef size_t (*splitter_fn)(const struct ctx *c, size_t i);

#define MAX_SPLITTERS 6

struct am_pretok {
	const char *name; /* the canonical name, for messages */
	splitter_fn split[MAX_SPLITTERS];
	bool ignore_merges; /* a whole fragment that is a token is taken as is */
	bool add_bos;       /* the reference's add_bos default for this pre-tokenizer */
};

static const struct am_pretok pre_default = {
    "default", {m_default_punct, m_gpt2, m_digits, m_ascii_digits3}, false, false};
static const struct am_pretok pre_gpt2 = {"gpt-2", {m_gpt2}, false, false};
static const struct am_pretok pre_starcoder = {"starcoder", {m_digit, m_gpt2}, false, false};
static const struct am_pretok pre_llama3 = {"llama3", {m_llama3}, true, true};
static const struct am_pretok pre_llama3_merging = {"dbrx", {m_llama3}, false, false};
static const struct am_pretok pre_qwen2 = {"qwen2", {m_qwen2}, false, false};
static const struct am_pretok pre_seed_coder = {"seed-coder", {m_seed_coder}, false, false};
static const struct am_pretok pre_deepseek_llm = {
    "deepseek-llm",
    {m_crlf, m_dsl_letters, m_dsl_punct, m_trailing_ws, m_ds_cjk, m_digits},
    false,
    false};
static const struct am_pretok pre_deepseek_coder = {
    "deepseek-coder", {m_crlf, m_ws_letters, m_ws_punct, m_ds_cjk, m_digit}, false, false};
static const struct am_pretok pre_deepseek_v3 = {
    "deepseek-v3", {m_digits3, m_dsv3_cjk, m_dsv3_main}, false, false};
static const struct am_pretok pre_falcon = {
    "falcon", {m_falcon_punct, m_gpt2, m_ascii_digits3}, false, false};
static const struct am_pretok pre_bloom = {"bloom", {m_bloom}, false, false};
static const struct am_pretok pre_viking = {"viking", {m_bloom, m_digit}, false, false};
static const struct am_pretok pre_gpt4o = {"gpt-4o", {m_gpt4o}, false, false};
static const struct am_pretok pre_tekken = {"tekken", {m_tekken}, true, true};

struct pre_name {
	const char *name;
	const struct am_pretok *pre;
};

/* tokenizer.ggml.pre names and the pre-tokenizer each selects (as in the reference). */
static const struct pre_name pre_names[] = {
    {"default", &pre_default},
    {"llama3", &pre_llama3},
    {"llama-v3", &pre_llama3},
    {"llama-bpe", &pre_llama3},
    {"falcon3", &pre_llama3},
    {"falcon-h1", &pre_llama3},
    {"pixtral", &pre_llama3},
    {"midm-2.0", &pre_llama3},
    {"lfm2", &pre_llama3},
    {"dbrx", &pre_llama3_merging},
    {"smaug-bpe", &pre_llama3_merging},
    {"chatglm-bpe", &pre_llama3_merging},
    {"glm4", &pre_llama3_merging},
    {"deepseek-llm", &pre_deepseek_llm},
    {"deepseek-coder", &pre_deepseek_coder},
    {"deepseek-v3", &pre_deepseek_v3},
    {"hunyuan-dense", &pre_deepseek_v3},
    {"falcon", &pre_falcon},
    {"mpt", &pre_gpt2},
    {"starcoder", &pre_starcoder},
    {"gpt-2", &pre_gpt2},
    {"phi-2", &pre_gpt2},
    {"jina-es", &pre_gpt2},
    {"jina-de", &pre_gpt2},
    {"gigachat", &pre_gpt2},
    {"jina-v2-es", &pre_gpt2},
    {"jina-v2-de", &pre_gpt2},
    {"a.x-4.0", &pre_gpt2},
    {"mellum", &pre_gpt2},
    {"jina-v1-en", &pre_gpt2},
    {"jina-v2-code", &pre_gpt2},
    {"roberta-bpe", &pre_gpt2},
    {"exaone4", &pre_gpt2},
    {"olmo", &pre_gpt2},
    {"jais", &pre_gpt2},
    {"trillion", &pre_gpt2},
    {"granite-docling", &pre_gpt2},
    {"refact", &pre_starcoder},
    {"command-r", &pre_starcoder},
    {"smollm", &pre_starcoder},
    {"codeshell", &pre_starcoder},
    {"exaone", &pre_starcoder},
    {"minerva-7b", &pre_starcoder},
    {"qwen2", &pre_qwen2},
    {"deepseek-r1-qwen", &pre_qwen2},
    {"kormo", &pre_qwen2},
    {"megrez", &pre_qwen2},
    {"stablelm2", &pre_qwen2},
    {"hunyuan", &pre_qwen2},
    {"grok-2", &pre_qwen2},
    {"seed-coder", &pre_seed_coder},
    {"bailingmoe", &pre_qwen2},
    {"bailingmoe2", &pre_qwen2},
    {"llada-moe", &pre_qwen2},
    {"poro-chat", &pre_bloom},
    {"bloom", &pre_bloom},
    {"gpt3-finnish", &pre_bloom},
    {"viking", &pre_viking},
    {"gpt-4o", &pre_gpt4o},
    {"llama4", &pre_gpt4o},
    {"minimax-m2", &pre_gpt4o},
    {"tekken", &pre_tekken},
};

/* Known to the reference, not implemented here: refused rather than tokenized differently. */
static const char *const unsupported_names[] = {"chameleon", "kimi-k2", "superbpe", "afmoe"};

const struct am_pretok *am_pretok_find(const char *name, size_t len, bool *unsupported)
{
	*unsupported = false;
	for (size_t i = 0; i < AM_ARRAY_LEN(pre_names); i++)
		if (strlen(pre_names[i].name) == len && memcmp(pre_names[i].name, name, len) == 0)
			return pre_names[i].pre;
	for (size_t i = 0; i < AM_ARRAY_LEN(unsupported_names); i++)
		if (strlen(unsupported_names[i]) == len &&
		    memcmp(unsupported_names[i], name, len) == 0)
			*unsupported = true;
	return NULL;
}

const struct am_pretok *am_pretok_default(void)
{
	return &pre_default;
}

const char *am_pretok_name(const struct am_pretok *p)
{
	return p->name;
}

bool am_pretok_ignore_merges(const struct am_pretok *p)
{
	return p->ignore_merges;
}

bool am_pretok_add_bos(const struct am_pretok *p)
{
	return p->add_bos;
}

static int push(struct am_span_vec *v, size_t s, size_t e, struct am_err *err)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct am_span *nv = am_reallocarray(v->v, cap, sizeof(*nv));
		if (!nv)
			return am_err_set(err, AM_ENOMEM, "out of memory pre-tokenizing");
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n].start = s;
	v->v[v->n].end = e;
	v->n++;
	return 0;
}

void am_span_vec_free(struct am_span_vec *v)
{
	am_free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

int am_pretok_split(const struct am_pretok *p, const struct am_cp_text *t, struct am_span_vec *out,
                    struct am_err *err)
{
	struct am_span_vec cur = {0}, next = {0};
	int rc = 0;
	out->n = 0;
	if (t->n == 0)
		return 0;
	if ((rc = push(&cur, 0, t->n, err)) < 0)
		goto out;
	for (size_t k = 0; k < MAX_SPLITTERS && p->split[k]; k++) {
		next.n = 0;
		for (size_t f = 0; f < cur.n; f++) {
			struct ctx c = {t->cps, t->flags, cur.v[f].end};
			size_t pos = cur.v[f].start, gap = pos;
			while (pos < c.end) {
				size_t e = p->split[k](&c, pos);
				if (e > pos) {
					if (gap < pos && (rc = push(&next, gap, pos, err)) < 0)
						goto out;
					if ((rc = push(&next, pos, e, err)) < 0)
						goto out;
					pos = gap = e;
				} else {
					pos++;
				}
			}
			if (gap < c.end && (rc = push(&next, gap, c.end, err)) < 0)
				goto out;
		}
		struct am_span_vec tmp = cur;
		cur = next;
		next = tmp;
	}
	for (size_t f = 0; f < cur.n; f++)
		if ((rc = push(out, cur.v[f].start, cur.v[f].end, err)) < 0)
			goto out;
out:
	am_span_vec_free(&cur);
	am_span_vec_free(&next);
	return rc;
}
