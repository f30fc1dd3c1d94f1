/* kernels_avx512.c: the attention block kernel (am_attention_block) with AVX-512. A 64-value head
 * is four zmm registers, so the 32 registers hold every query head of a kv group (up to 16
 * registers of accumulators): each cached key and value is converted from half floats once and
 * used by all the group's heads, at half the instructions of the AVX2 kernel per position. The
 * exponentials are the AVX2 ones. Only these functions carry the avx512 attribute; callers reach
 * them only after am_cpu_features() reports avx512f. */
#include "kernels_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include "simd_avx2.h"
#include <math.h>

#define AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))

AVX512 static inline __m512 load_halves(const uint16_t *p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

AVX512 static inline __m256 fold(__m512 v)
{
	__m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
	return _mm256_add_ps(_mm512_castps512_ps256(v), hi);
}

/* Heads g0 .. g0 + ng - 1 (ng <= G) of kv head kvh, head_dim = 16 * NV; G * NV <= 16 so the
 * accumulators of all of them stay in registers. */
__attribute__((always_inline)) AVX512 static inline void
block_heads(const struct am_attn_args *a, int kvh, long b0, long b1, float *scores, int g0, int ng,
            float *m, float *l, float *o, const int NV, const int G)
{
	long n = b1 - b0;
	int group = a->n_q_heads / a->n_kv_heads, hd = 16 * NV;
	const float *q = a->q + ((size_t)kvh * group + g0) * hd;
	const __m256 scale = _mm256_set1_ps(a->scale);
	/* scores: eight positions at a time, each key converted once for all the heads */
	long p = 0;
	for (; p + 8 <= n; p += 8) {
		__m256 part[4][8];
		for (int j = 0; j < 8; j++) {
			const uint16_t *k = am_kv_row(a, false, kvh, b0 + p + j);
			__m512 kk[16];
#pragma GCC unroll 16
			for (int i = 0; i < NV; i++)
				kk[i] = load_halves(k + 16 * i);
#pragma GCC unroll 4
			for (int g = 0; g < G; g++) {
				if (g >= ng)
					break;
				const float *qg = q + (size_t)g * hd;
				__m512 acc = _mm512_mul_ps(_mm512_loadu_ps(qg), kk[0]);
#pragma GCC unroll 16
				for (int i = 1; i < NV; i++)
					acc = _mm512_fmadd_ps(_mm512_loadu_ps(qg + 16 * i), kk[i],
					                      acc);
				part[g][j] = fold(acc);
			}
		}
		for (int g = 0; g < ng; g++)
			_mm256_storeu_ps(scores + (size_t)(g0 + g) * n + p,
			                 _mm256_mul_ps(am_hsum8x8(part[g]), scale));
	}
	for (; p < n; p++) {
		const uint16_t *k = am_kv_row(a, false, kvh, b0 + p);
		for (int g = 0; g < ng; g++) {
			const float *qg = q + (size_t)g * hd;
			__m512 acc = _mm512_setzero_ps();
			for (int i = 0; i < NV; i++)
				acc = _mm512_fmadd_ps(_mm512_loadu_ps(qg + 16 * i),
				                      load_halves(k + 16 * i), acc);
			scores[(size_t)(g0 + g) * n + p] = am_hsum8(fold(acc)) * a->scale;
		}
	}
	/* exponentials (and the block's maxima and sums) come between the two passes */
	for (int g = 0; g < ng; g++)
		am_softmax_part_avx2(scores + (size_t)(g0 + g) * n, (size_t)n, &m[g0 + g],
		                     &l[g0 + g]);
	/* weighted values, each value converted once for all the heads */
	__m512 acc[4][16];
#pragma GCC unroll 4
	for (int g = 0; g < G; g++)
#pragma GCC unroll 16
		for (int i = 0; i < NV; i++)
			acc[g][i] = _mm512_setzero_ps();
	for (p = 0; p < n; p++) {
		const uint16_t *v = am_kv_row(a, true, kvh, b0 + p);
		__m512 vv[16];
#pragma GCC unroll 16
		for (int i = 0; i < NV; i++)
			vv[i] = load_halves(v + 16 * i);
#pragma GCC unroll 4
		for (int g = 0; g < G; g++) {
			if (g >= ng)
				break;
			__m512 w = _mm512_set1_ps(scores[(size_t)(g0 + g) * n + p]);
#pragma GCC unroll 16
			for (int i = 0; i < NV; i++)
				acc[g][i] = _mm512_fmadd_ps(w, vv[i], acc[g][i]);
		}
	}
#pragma GCC unroll 4
	for (int g = 0; g < G; g++) {
		if (g >= ng)
			break;
#pragma GCC unroll 16
		for (int i = 0; i < NV; i++)
			_mm512_storeu_ps(o + (size_t)(g0 + g) * hd + 16 * i, acc[g][i]);
	}
}

__attribute__((always_inline)) AVX512 static inline void
block512(const struct am_attn_args *a, int kvh, long b0, long b1, float *scores, float *m, float *l,
         float *o, const int NV, const int G)
{
	int group = a->n_q_heads / a->n_kv_heads;
	for (int g0 = 0; g0 < group; g0 += G)
		block_heads(a, kvh, b0, b1, scores, g0, group - g0 < G ? group - g0 : G, m, l, o,
		            NV, G);
}

AVX512 void am_attention_block_avx512(const struct am_attn_args *a, int kvh, long b0, long b1,
                                      float *scores, float *m, float *l, float *o)
{
	switch (a->head_dim) {
	case 64: block512(a, kvh, b0, b1, scores, m, l, o, 4, 4); return;
	case 128: block512(a, kvh, b0, b1, scores, m, l, o, 8, 2); return;
	case 256: block512(a, kvh, b0, b1, scores, m, l, o, 16, 1); return;
	default: am_attention_block_avx2(a, kvh, b0, b1, scores, m, l, o);
	}
}

#else /* not x86: never called, since am_cpu_features() reports no AVX-512 */

void am_attention_block_avx512(const struct am_attn_args *a, int kvh, long b0, long b1,
                               float *scores, float *m, float *l, float *o)
{
	am_attention_block_avx2(a, kvh, b0, b1, scores, m, l, o);
}
#endif
