/* kernels.h: the compute kernels of the local engine. Every op has a naive reference
 * (am_*_ref: plain loops, double accumulation where it matters) that the optimised versions
 * (AVX2/FMA/F16C, and AVX-512 / VNNI where the CPU has them, chosen at run time from
 * am_cpu_features(), with a scalar fallback) are tested against.
 *
 * Layouts: a weight matrix has `rows` output rows of `cols` inputs each, row-major, every row a
 * whole number of blocks of its type (struct am_qmat). Activations are row-major
 * [n_tokens][cols] floats; results [n_tokens][rows]. The KV cache stores half floats.
 *
 * Ownership: kernels read and write caller memory only. struct am_kernel_ctx holds the scratch
 * memory of the optimised matmul (grown on demand, freed by am_kernel_ctx_free). */
#ifndef AMLAB_KERNELS_H
#define AMLAB_KERNELS_H

#include "amlab/quant.h"
#include "amlab/threadpool.h"

struct am_qmat {
	enum am_ggml_type type;
	const void *data;
	size_t rows, cols;
	size_t row_bytes;
	const uint8_t *packed; /* borrowed: the rows in am_qp_pack_group groups, or NULL */
};

/* Bytes of w's packed copy (0 when its type has none: see am_qp_supported). */
size_t am_qmat_packed_bytes(const struct am_qmat *w);
/* Pack w's rows into dst (am_qmat_packed_bytes(w) bytes, which must outlive w's use) and point
 * w->packed at it; the matmul then reads only the packed copy. */
void am_qmat_pack(struct am_qmat *w, uint8_t *dst);

struct am_kernel_ctx {
	struct am_threadpool *pool; /* borrowed; NULL = single thread */
	void *act;                  /* quantized activations */
	size_t act_cap;
	float *tiles; /* per-thread dequantized weight tiles */
	size_t tiles_cap;
	bool force_generic;    /* tests: use the scalar paths even on AVX2 machines */
	bool f32_activations;  /* multiply dequantized weights with float activations (slower,
	                          no 16-bit rounding of activations) */
	size_t f32_min_tokens; /* batches of at least this many tokens use float activations
	                          with unpacked matrices (0: the default, 6) */
};

void am_kernel_ctx_free(struct am_kernel_ctx *k);

/* y[t][r] = sum_c W[r][c] * x[t][c]. */
void am_matmul_ref(const struct am_qmat *w, const float *x, size_t n_tok, float *y);
/* Several matrices with the same input and column count in one parallel dispatch (e.g. the Q,
 * K and V projections): ys[i][t][r] for matrix i. Returns AM_ENOMEM when scratch cannot grow. */
int am_matmul_multi(struct am_kernel_ctx *k, size_t n_mats, const struct am_qmat *const *ws,
                    const float *x, size_t n_tok, float *const *ys);
int am_matmul(struct am_kernel_ctx *k, const struct am_qmat *w, const float *x, size_t n_tok,
              float *y);

/* f32 dot products (reference: double accumulation). */
double am_dot_f32_ref(const float *a, const float *b, size_t n);
float am_dot_f32(const float *a, const float *b, size_t n);

/* out = x / rms(x) * w (w may be NULL: no weight). In place allowed. */
void am_rmsnorm_ref(const float *x, const float *w, size_t n, float eps, float *out);
void am_rmsnorm(const float *x, const float *w, size_t n, float eps, float *out);

/* Rotary position embedding of n_heads heads of head_dim values at position pos, rotating the
 * first n_rot dims. neox: pairs (i, i + n_rot/2); otherwise adjacent pairs (2i, 2i+1).
 * freq_factors (n_rot/2 values, may be NULL) divide the frequencies (Llama 3.1 scaling);
 * freq_scale multiplies the position (linear scaling, 1 = none). */
struct am_rope {
	int n_rot;
	bool neox;
	float theta_base;
	float freq_scale;
	const float *freq_factors;
};
void am_rope_ref(float *x, int n_heads, int head_dim, long pos, const struct am_rope *r);
void am_rope(float *x, int n_heads, int head_dim, long pos, const struct am_rope *r);
/* am_rope in two steps, so that one position's angles serve Q, K and every layer: cs gets the
 * n_rot/2 (cos, sin) pairs of position pos (n_rot floats), then rotates x with them. */
void am_rope_cs(const struct am_rope *r, long pos, float *cs);
void am_rope_apply_cs(float *x, int n_heads, int head_dim, const struct am_rope *r,
                      const float *cs);

void am_softmax_ref(float *x, size_t n);
void am_softmax(float *x, size_t n);
float am_silu(float x);
float am_gelu(float x); /* tanh approximation, as GGUF models are trained/converted with */
/* out[i] = act(gate[i]) * up[i]; act = silu or gelu. In place on gate allowed. */
void am_glu(const float *gate, const float *up, size_t n, bool gelu, float *out);

/* Attention of n_q_heads query heads (grouped onto n_kv_heads) at one position over cached
 * keys/values at positions [p0, p1): K and V hold half floats, kv head h's position p at
 * h * head_stride + p * kv_stride (head_stride 0 means head_dim: heads side by side in a
 * position's row), query head h using kv head h / (n_q_heads / n_kv_heads). q and out are
 * [n_q_heads][head_dim].
 * A sequence forked from another (a shared prompt) reads its positions below n_shared from
 * k_shared/v_shared (h * head_stride_shared + p * kv_stride) and its own position p from k/v at
 * p - n_shared; the arithmetic is the same as over one contiguous cache. */
struct am_attn_args {
	const float *q;
	const uint16_t *k, *v;
	size_t kv_stride;
	size_t head_stride;
	const uint16_t *k_shared, *v_shared;
	size_t head_stride_shared;
	long n_shared;
	int n_q_heads, n_kv_heads, head_dim;
	long p0, p1;
	float scale;
	float *out;
};
void am_attention_ref(const struct am_attn_args *a);
/* Part of the attention of kv head kvh's group of query heads: the positions [b0, b1) (inside
 * [a->p0, a->p1)). For query head g of the group: m[g] = its largest score, l[g] = the sum of
 * exp(score - m[g]), o[g * head_dim + i] = the sum of exp(score - m[g]) * v_i (not normalised,
 * so that blocks combine: am_attention_merge). An empty block gives m = -inf, l = 0, o = 0.
 * scores: scratch of group * (b1 - b0) floats. */
void am_attention_block(const struct am_attn_args *a, int kvh, long b0, long b1, float *scores,
                        float *m, float *l, float *o, bool force_generic);
/* The normalised outputs of one group (out[g * head_dim + i]) from n_blocks partials, block b's
 * at m + b * group, l + b * group, o + b * group * head_dim. */
void am_attention_merge(int group, int head_dim, int n_blocks, const float *m, const float *l,
                        const float *o, float *out);
/* Kv heads [kvh0, kvh1) over the whole range, one block each. scores: scratch of
 * group * (p1 - p0 + 2) floats. */
void am_attention(const struct am_attn_args *a, int kvh0, int kvh1, float *scores,
                  bool force_generic);

/* Convert floats to halves (KV cache writes). */
void am_f32_to_f16_row(const float *x, uint16_t *y, size_t n);

#endif
