/* kernels_internal.h: the AVX2 kernels (lib/engine/kernels_avx2.c) behind the dispatchers of
 * kernels.c. Call only when am_cpu_features() reports avx2, fma and f16c. */
#ifndef AMLAB_ENGINE_KERNELS_INTERNAL_H
#define AMLAB_ENGINE_KERNELS_INTERNAL_H

#include "amlab/kernels.h"

#define AM_MAX_HEAD_DIM 512

/* The cached key (or value) row of kv head kvh at position p (see struct am_attn_args). */
static inline const uint16_t *am_kv_row(const struct am_attn_args *a, bool value, int kvh, long p)
{
	if (p < a->n_shared)
		return (value ? a->v_shared : a->k_shared) + (size_t)kvh * a->head_stride_shared +
		       (size_t)p * a->kv_stride;
	size_t hs = a->head_stride ? a->head_stride : (size_t)a->head_dim;
	return (value ? a->v : a->k) + (size_t)kvh * hs + (size_t)(p - a->n_shared) * a->kv_stride;
}

float am_dot_f32_avx2(const float *a, const float *b, size_t n);
/* Y[t * ldy + r] = dot(W[r], X[t]) for r < nr, t < nt; W and X rows of `cols` floats. */
void am_gemm_f32_avx2(const float *w, size_t nr, const float *x, size_t nt, size_t cols, float *y,
                      size_t ldy);
void am_softmax_avx2(float *x, size_t n);
void am_attention_block_avx2(const struct am_attn_args *a, int kvh, long b0, long b1, float *scores,
                             float *m, float *l, float *o);
void am_f32_to_f16_row_avx2(const float *x, uint16_t *y, size_t n);
void am_glu_avx2(const float *gate, const float *up, size_t n, bool gelu, float *out);
/* x[i] = exp(x[i] - max x); *max = that max, *sum = the sum of the new x. */
void am_softmax_part_avx2(float *x, size_t n, float *max, float *sum);
/* AVX-512 (lib/engine/kernels_avx512.c); call only when am_cpu_features() reports avx512f. */
void am_attention_block_avx512(const struct am_attn_args *a, int kvh, long b0, long b1,
                               float *scores, float *m, float *l, float *o);

#endif
