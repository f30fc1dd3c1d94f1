/* tokenizer.h: the tokenizers of GGUF models: byte-level BPE (pre-tokenizer chosen from
 * tokenizer.ggml.pre) and SentencePiece (llama, gemma), with special tokens and exact
 * detokenization. Reproduces llama.cpp's token ids (tests: shared/peer-tests/tokenizer).
 *
 * Ownership: am_tokenizer_load() copies what it needs out of the GGUF (the GGUF may be closed
 * afterwards); free with am_tokenizer_free(). Token id arrays returned through `ids` are
 * allocated with am_malloc and owned by the caller. A loaded tokenizer is read-only: encode,
 * decode and the look-ups may run concurrently from several threads. */
#ifndef AMLAB_TOKENIZER_H
#define AMLAB_TOKENIZER_H

#include "amlab/buf.h"
#include "amlab/err.h"

struct am_gguf;
struct am_tokenizer;

int am_tokenizer_load(const struct am_gguf *g, struct am_tokenizer **out, struct am_err *err);
void am_tokenizer_free(struct am_tokenizer *t);

/* Encode UTF-8 text (no BOS/EOS added). With parse_special, special-token strings in the
 * text become their special tokens; without, they are plain text. */
int am_tokenizer_encode(const struct am_tokenizer *t, const char *text, size_t len,
                        bool parse_special, int32_t **ids, size_t *n_ids, struct am_err *err);
/* Append the bytes of one token / of a sequence to out. Special (control) tokens render as
 * their text only when render_special is set. Pure concatenation of the tokens' pieces, so it
 * suits streaming: decoding ids one at a time gives the same bytes as decoding them together. */
int am_tokenizer_decode(const struct am_tokenizer *t, const int32_t *ids, size_t n,
                        bool render_special, struct am_buf *out, struct am_err *err);
/* The inverse of am_tokenizer_encode: like decode, but drops the one space that SentencePiece
 * vocabularies with add_space_prefix put in front of the text. detokenize(encode(text)) == text
 * for every byte string wherever the vocabulary has a token for each byte (GPT-2-style BPE,
 * SentencePiece with <0xXX> byte fallback); exceptions (U+2581 and special tokens under
 * SentencePiece, vocabularies missing bytes): docs/engine-tokenizers.md. */
int am_tokenizer_detokenize(const struct am_tokenizer *t, const int32_t *ids, size_t n,
                            bool render_special, struct am_buf *out, struct am_err *err);
/* The decoded bytes of one token (pointer into the tokenizer, valid until it is freed; not
 * NUL-terminated). Control and unknown tokens give 0 bytes unless render_special. */
int am_tokenizer_piece(const struct am_tokenizer *t, int32_t id, bool render_special,
                       const char **bytes, size_t *len, struct am_err *err);
/* The token's text as stored in the vocabulary (e.g. "\xc4\xa0the", "<0x0A>", "<|im_end|>"). */
int am_tokenizer_text(const struct am_tokenizer *t, int32_t id, const char **text, size_t *len,
                      struct am_err *err);

size_t am_tokenizer_n_vocab(const struct am_tokenizer *t);
int32_t am_tokenizer_bos(const struct am_tokenizer *t); /* -1 if none */
int32_t am_tokenizer_eos(const struct am_tokenizer *t); /* -1 if none */
/* True for end-of-generation tokens (eos, eot, <|im_end|>, <end_of_turn>, ...). */
bool am_tokenizer_is_eog(const struct am_tokenizer *t, int32_t id);
/* Look up a token by its exact text; -1 if absent. */
int32_t am_tokenizer_find(const struct am_tokenizer *t, const char *text);
bool am_tokenizer_add_bos(const struct am_tokenizer *t); /* tokenizer.ggml.add_bos_token */
bool am_tokenizer_add_eos(const struct am_tokenizer *t); /* tokenizer.ggml.add_eos_token */
/* Control or unknown tokens (what render_special hides). */
bool am_tokenizer_is_special(const struct am_tokenizer *t, int32_t id);
/* "spm" for SentencePiece vocabularies, else the pre-tokenizer in use (e.g. "smollm" selects
 * "starcoder"'s rules and reports "starcoder"). */
const char *am_tokenizer_pre_name(const struct am_tokenizer *t);

/* The chat template is read from the GGUF directly:
 * am_gguf_get_str(g, "tokenizer.chat_template", &s, err). */

#endif
