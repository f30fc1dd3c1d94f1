/* tokenizer_internal.h (engine-internal): the pre-tokenizers of byte-level BPE vocabularies.
 *
 * A pre-tokenizer is an ordered list of splitters, each the hand-written equivalent of one
 * regular expression of the reference tokenizer (llama.cpp, which takes them from each model's
 * tokenizer.json). Splitter k runs over every fragment left by splitter k-1; both its matches and
 * the text between them become fragments, as a regex iterator would produce them.
 *
 * Ownership: presets are static constant data; am_pretok_split appends to a caller-owned
 * growable span array. */
#ifndef AMLAB_ENGINE_TOKENIZER_INTERNAL_H
#define AMLAB_ENGINE_TOKENIZER_INTERNAL_H

#include "amlab/err.h"

struct am_pretok;

/* The text as code points: cps[i], their classification flags[i] (see unicode.h). */
struct am_cp_text {
	const uint32_t *cps;
	const uint16_t *flags;
	size_t n;
};

struct am_span {
	size_t start, end; /* code point indices, end exclusive */
};

struct am_span_vec {
	struct am_span *v;
	size_t n, cap;
};

/* Look up a pre-tokenizer by its tokenizer.ggml.pre name. Returns NULL for an unknown name; sets
 * *unsupported for names the reference knows but amlab does not implement. */
const struct am_pretok *am_pretok_find(const char *name, size_t len, bool *unsupported);
const struct am_pretok *am_pretok_default(void);
const char *am_pretok_name(const struct am_pretok *p);
/* Vocabulary settings the reference ties to the pre-tokenizer. */
bool am_pretok_ignore_merges(const struct am_pretok *p);
bool am_pretok_add_bos(const struct am_pretok *p);

/* Split t into fragments; out is reset first. Fails only on allocation failure. */
int am_pretok_split(const struct am_pretok *p, const struct am_cp_text *t, struct am_span_vec *out,
                    struct am_err *err);
void am_span_vec_free(struct am_span_vec *v);

#endif
