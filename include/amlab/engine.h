/* engine.h: the local GGUF inference engine.
 *
 * Two levels:
 *  - am_local_open(): a struct am_model (amlab/model.h) over a GGUF file: chat templates,
 *    batched same-prompt sampling, KV reuse across turns, log-probabilities.
 *  - am_llm_*: the transformer itself (llama, qwen2, qwen3, gemma3), driven with token ids;
 *    used by the model above, by tests (logits dumps against the numpy reference) and benches.
 *
 * Ownership: am_llm_load() returns an am_llm that owns its GGUF mapping (weights are read in
 * place). A struct am_llm_seq (one sequence's KV cache) and a struct am_llm_ctx (thread pool,
 * scratch) are owned by the caller and freed with their *_free. Logits buffers are the
 * caller's. */
#ifndef AMLAB_ENGINE_H
#define AMLAB_ENGINE_H

#include "amlab/kernels.h"
#include "amlab/model.h"

enum am_arch { AM_ARCH_LLAMA, AM_ARCH_QWEN2, AM_ARCH_QWEN3, AM_ARCH_GEMMA3 };

struct am_llm_hparams {
	enum am_arch arch;
	int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_rot;
	long n_ctx_train;
	float eps;
	float rope_base, rope_base_swa, rope_scale;
	int sliding_window; /* 0: none; which layers use it: attention.sliding_window_pattern */
	float embd_scale;   /* 1, or sqrt(n_embd) (gemma) */
	float attn_scale;
	bool neox;
};

struct am_gguf;
struct am_llm;

/* Load the transformer of a GGUF file; the message names the file and the missing/bad tensor
 * or key when it fails. */
int am_llm_load(const char *path, struct am_llm **out, struct am_err *err);
void am_llm_free(struct am_llm *m);
const struct am_llm_hparams *am_llm_hparams(const struct am_llm *m);
const struct am_gguf *am_llm_gguf(const struct am_llm *m);

/* One sequence's KV cache (positions 0..n_pos-1 filled). */
struct am_llm_seq {
	uint16_t *k, *v; /* own rows, [n_layer][n_head_kv][cap][head_dim] halves: a kv head's
	                    positions contiguous, so attention streams them */
	long cap;        /* own rows allocated */
	long n_pos;
	size_t head_dim;
	size_t n_planes; /* n_layer * n_head_kv */
	/* A fork (am_llm_seq_fork) reads positions below n_shared from parent's cache (borrowed);
	 * its own row r holds position n_shared + r. */
	const struct am_llm_seq *parent;
	long n_shared;
};
void am_llm_seq_init(struct am_llm_seq *s, const struct am_llm *m);
void am_llm_seq_free(struct am_llm_seq *s);
/* Forget positions >= n (prefix reuse). */
void am_llm_seq_truncate(struct am_llm_seq *s, long n);
/* Make dst a copy of src's first n positions (shared prompt, then N samples). */
int am_llm_seq_copy(struct am_llm_seq *dst, const struct am_llm_seq *src, long n,
                    struct am_err *err);
/* Make dst start with src's first n positions without copying them: dst's attention reads
 * them from src's cache, so N samples of one prompt stream one copy of its keys and values.
 * src must outlive dst's use of them and keep those n positions (it may grow beyond them);
 * dst's new positions are its own. am_llm_seq_detach copies the shared rows in and ends the
 * dependence (a fork that outlives its sample). */
int am_llm_seq_fork(struct am_llm_seq *dst, const struct am_llm_seq *src, long n,
                    struct am_err *err);
int am_llm_seq_detach(struct am_llm_seq *s, struct am_err *err);

struct am_llm_ctx {
	struct am_kernel_ctx k;
	struct am_threadpool *pool;
	float *buf; /* forward scratch */
	size_t buf_cap;
	float *scores; /* attention scratch, per thread */
	size_t scores_cap;
	float *part; /* partial attention of blocks of positions */
	size_t part_cap;
	float *rope_cs; /* per token: RoPE angles of the global and the local layers */
	size_t rope_cs_cap;
	bool force_generic;
};
int am_llm_ctx_init(struct am_llm_ctx *c, int n_threads, struct am_err *err);
void am_llm_ctx_free(struct am_llm_ctx *c);

/* A batch: token i goes to sequence seqs[seq[i]] at position pos[i]; a sequence's tokens in a
 * batch must have consecutive positions starting at that sequence's n_pos. Logits are written
 * for the tokens with want[i] set, in batch order, n_vocab floats each. */
struct am_llm_batch {
	size_t n;
	const int32_t *tokens;
	const long *pos;
	const int *seq;
	const bool *want;
};
int am_llm_forward(struct am_llm *m, struct am_llm_ctx *c, struct am_llm_seq *const *seqs,
                   const struct am_llm_batch *b, float *logits, struct am_err *err);
/* Convenience: feed tokens[0..n) to one sequence; logits of the last token (or of every token
 * when all_logits) into logits. */
int am_llm_eval(struct am_llm *m, struct am_llm_ctx *c, struct am_llm_seq *s, const int32_t *tokens,
                size_t n, bool all_logits, float *logits, struct am_err *err);

/* The local model (amlab/model.h). id: "local/smollm2" (the embedded model: models/ under
 * $AMLAB_MODELS_DIR or the source tree), "local/PATH" or a plain PATH to a GGUF file. */
struct am_local_options {
	int n_threads;             /* 0: all CPUs */
	const char *template_name; /* NULL: from the GGUF; "chatml", "gemma", "llama3" */
	long n_ctx;                /* 0: the model's training context (capped at 32768) */
	int max_batch;             /* most sequences decoded together (0: 64) */
};
int am_local_open(const char *id_or_path, const struct am_local_options *opts,
                  struct am_model **out, struct am_err *err);
/* Reply text as valid UTF-8 (replies go into JSON): a trailing character cut short by the token
 * limit is dropped, other invalid bytes become U+FFFD. am_malloc'd; NULL when out of memory. */
char *am_engine_valid_utf8(const char *s, size_t n);
/* Resolve a model id to a file path (am_malloc'd). */
int am_local_resolve(const char *id_or_path, char **path, struct am_err *err);

#endif
