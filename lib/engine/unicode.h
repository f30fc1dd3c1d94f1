/* unicode.h (engine-internal): the Unicode facts the tokenizers need: UTF-8 decoding the way
 * llama.cpp's tokenizer decodes it, and code point classification from generated tables
 * (lib/engine/unicode_tables.c, written by scripts/gen_unicode_tables.py).
 *
 * Ownership: all tables are static constant data; nothing here allocates. */
#ifndef AMLAB_ENGINE_UNICODE_H
#define AMLAB_ENGINE_UNICODE_H

enum {
	AM_UCP_LETTER = 1,
	AM_UCP_NUMBER = 2,
	AM_UCP_PUNCT = 4,
	AM_UCP_SYMBOL = 8,
	AM_UCP_MARK = 16,
	AM_UCP_SEPARATOR = 32,
	AM_UCP_CONTROL = 64,
	AM_UCP_WHITESPACE = 128, /* Unicode White_Space: what \s matches */
	AM_UCP_LU = 256,
	AM_UCP_LL = 512,
	AM_UCP_LT = 1024,
	AM_UCP_LM = 2048,
	AM_UCP_LO = 4096,
};

struct am_ucp_range {
	uint32_t start; /* first code point of the range; it ends where the next one starts */
	uint16_t flags;
};

struct am_cp_span {
	uint32_t first, last; /* inclusive */
};

extern const char am_unicode_version[];
extern const struct am_ucp_range am_ucp_ranges[];
extern const size_t am_ucp_n_ranges;

extern const struct am_cp_span am_class_deepseek_llm_letters[];
extern const size_t am_class_deepseek_llm_letters_n;
extern const struct am_cp_span am_class_deepseek_llm_punct[];
extern const size_t am_class_deepseek_llm_punct_n;
extern const struct am_cp_span am_class_deepseek_cjk[];
extern const size_t am_class_deepseek_cjk_n;
extern const struct am_cp_span am_class_deepseek_v3_cjk[];
extern const size_t am_class_deepseek_v3_cjk_n;
extern const struct am_cp_span am_class_bloom_stop[];
extern const size_t am_class_bloom_stop_n;

/* Flags of a code point (0 for unassigned code points and values above U+10FFFF). */
uint16_t am_ucp_flags(uint32_t cp);
/* True if cp lies in one of the n sorted spans. */
bool am_cp_in(const struct am_cp_span *spans, size_t n, uint32_t cp);
/* Decode one UTF-8 sequence at s (n > 0 bytes available): returns the code point and sets *len.
 * An invalid or truncated sequence yields U+FFFD with *len = 1 (one byte consumed). */
uint32_t am_utf8_next(const uint8_t *s, size_t n, size_t *len);
/* Encode cp as UTF-8 into out (4 bytes room); returns the length. */
size_t am_utf8_put(uint32_t cp, char *out);

#endif
