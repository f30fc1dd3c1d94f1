/* kernels_avx2.c: AVX2/FMA/F16C kernels (f32 dot, two-row integer dot, softmax with a
 * vectorised exp, attention over a half-float KV cache). Only these functions carry the target
 * attribute; the dispatchers in kernels.c call them after checking the CPU. */
#include "kernels_internal.h"
#include "quant_internal.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include "simd_avx2.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 float am_dot_f32_avx2(const float *a, const float *b, size_t n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	float s = am_hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* 4 weight rows x 3 tokens of dot products in 12 accumulators, written out so that they stay
 * in registers (a loop over an accumulator array is kept in memory at -O2). */
AVX2 static void gemm_4x3(const float *w, const float *x, size_t cols, float *y, size_t ldy)
{
	__m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00,
	       a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
	const float *w0 = w, *w1 = w + cols, *w2 = w + 2 * cols, *w3 = w + 3 * cols;
	const float *x0 = x, *x1 = x + cols, *x2 = x + 2 * cols;
	for (size_t c = 0; c < cols; c += 8) {
		__m256 v0 = _mm256_loadu_ps(x0 + c), v1 = _mm256_loadu_ps(x1 + c),
		       v2 = _mm256_loadu_ps(x2 + c);
		__m256 wv = _mm256_loadu_ps(w0 + c);
		a00 = _mm256_fmadd_ps(wv, v0, a00);
		a01 = _mm256_fmadd_ps(wv, v1, a01);
		a02 = _mm256_fmadd_ps(wv, v2, a02);
		wv = _mm256_loadu_ps(w1 + c);
		a10 = _mm256_fmadd_ps(wv, v0, a10);
		a11 = _mm256_fmadd_ps(wv, v1, a11);
		a12 = _mm256_fmadd_ps(wv, v2, a12);
		wv = _mm256_loadu_ps(w2 + c);
		a20 = _mm256_fmadd_ps(wv, v0, a20);
		a21 = _mm256_fmadd_ps(wv, v1, a21);
		a22 = _mm256_fmadd_ps(wv, v2, a22);
		wv = _mm256_loadu_ps(w3 + c);
		a30 = _mm256_fmadd_ps(wv, v0, a30);
		a31 = _mm256_fmadd_ps(wv, v1, a31);
		a32 = _mm256_fmadd_ps(wv, v2, a32);
	}
	y[0] = am_hsum8(a00);
	y[1] = am_hsum8(a10);
	y[2] = am_hsum8(a20);
	y[3] = am_hsum8(a30);
	y[ldy + 0] = am_hsum8(a01);
	y[ldy + 1] = am_hsum8(a11);
	y[ldy + 2] = am_hsum8(a21);
	y[ldy + 3] = am_hsum8(a31);
	y[2 * ldy + 0] = am_hsum8(a02);
	y[2 * ldy + 1] = am_hsum8(a12);
	y[2 * ldy + 2] = am_hsum8(a22);
	y[2 * ldy + 3] = am_hsum8(a32);
}

AVX2 void am_gemm_f32_avx2(const float *w, size_t nr, const float *x, size_t nt, size_t cols,
                           float *y, size_t ldy)
{
	size_t t = 0;
	if (cols % 8 == 0) {
		for (; t + 3 <= nt; t += 3) {
			size_t r = 0;
			for (; r + 4 <= nr; r += 4)
				gemm_4x3(w + r * cols, x + t * cols, cols, y + t * ldy + r, ldy);
			for (; r < nr; r++)
				for (size_t k = 0; k < 3; k++)
					y[(t + k) * ldy + r] =
					    am_dot_f32_avx2(w + r * cols, x + (t + k) * cols, cols);
		}
	}
	for (; t < nt; t++)
		for (size_t r = 0; r < nr; r++)
			y[t * ldy + r] = am_dot_f32_avx2(w + r * cols, x + t * cols, cols);
}

/* exp(x) for x <= 0 region and beyond: 2^n * p(r), r = x - n ln2, |r| <= ln2/2, degree-6
 * Taylor polynomial (relative error < 2e-7); inputs below -87 flush to 0. */
AVX2 static inline __m256 exp256(__m256 x)
{
	const __m256 lo = _mm256_set1_ps(-87.0f), hi = _mm256_set1_ps(88.0f);
	__m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
	x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
	__m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
	                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
	__m256 p = _mm256_set1_ps(1.0f / 720.0f);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
	__m256i e =
	    _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
	__m256 res = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
	return _mm256_andnot_ps(under, res);
}

AVX2 void am_softmax_avx2(float *x, size_t n)
{
	__m256 mv = _mm256_set1_ps(-INFINITY);
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
	float mx = -INFINITY;
	float tmp[8];
	_mm256_storeu_ps(tmp, mv);
	for (int k = 0; k < 8; k++)
		mx = tmp[k] > mx ? tmp[k] : mx;
	for (size_t k = i; k < n; k++)
		mx = x[k] > mx ? x[k] : mx;
	__m256 mxv = _mm256_set1_ps(mx), sv = _mm256_setzero_ps();
	for (i = 0; i + 8 <= n; i += 8) {
		__m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), mxv));
		_mm256_storeu_ps(x + i, e);
		sv = _mm256_add_ps(sv, e);
	}
	float sum = am_hsum8(sv);
	for (; i < n; i++) {
		x[i] = expf(x[i] - mx);
		sum += x[i];
	}
	__m256 inv = _mm256_set1_ps(1.0f / sum);
	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
	for (; i < n; i++)
		x[i] *= 1.0f / sum;
}

AVX2 void am_glu_avx2(const float *gate, const float *up, size_t n, bool gelu, float *out)
{
	const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 x = _mm256_loadu_ps(gate + i), act;
		if (gelu) {
			/* 0.5 x (1 + tanh(y)), tanh(y) = 1 - 2 / (exp(2y) + 1) */
			__m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
			__m256 y = _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f),
			                         _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
			__m256 e = exp256(_mm256_add_ps(y, y));
			__m256 th = _mm256_sub_ps(
			    one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
			act = _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, th));
		} else {
			/* x / (1 + exp(-x)) */
			__m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
			act = _mm256_div_ps(x, _mm256_add_ps(one, e));
		}
		_mm256_storeu_ps(out + i, _mm256_mul_ps(act, _mm256_loadu_ps(up + i)));
	}
	for (; i < n; i++)
		out[i] = (gelu ? am_gelu(gate[i]) : am_silu(gate[i])) * up[i];
}

AVX2 void am_softmax_part_avx2(float *x, size_t n, float *max, float *sum)
{
	float mx = -INFINITY, total;
	for (size_t i = 0; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	__m256 mxv = _mm256_set1_ps(mx), sv = _mm256_setzero_ps();
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), mxv));
		_mm256_storeu_ps(x + i, e);
		sv = _mm256_add_ps(sv, e);
	}
	total = am_hsum8(sv);
	for (; i < n; i++) {
		x[i] = expf(x[i] - mx);
		total += x[i];
	}
	*max = mx;
	*sum = total;
}

/* q . k for one position and query head: nv vectors of 8. */
__attribute__((always_inline)) AVX2 static inline __m256 qk_partial(const float *q, const __m256 *k,
                                                                    int nv)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0;
	int i = 0;
#pragma GCC unroll 16
	for (; i + 2 <= nv; i += 2) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + 8 * i), k[i], s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + 8 * i + 8), k[i + 1], s1);
	}
	if (i < nv)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + 8 * i), k[i], s0);
	return _mm256_add_ps(s0, s1);
}

/* The block kernel for head_dim = 8 * nv; inlined with nv a constant for the common head sizes so
 * that keys and accumulators live in registers. */
__attribute__((always_inline)) AVX2 static inline void
attention_block(const struct am_attn_args *a, int kvh, long b0, long b1, float *scores, float *m,
                float *l, float *o, const int nv)
{
	long n = b1 - b0;
	int group = a->n_q_heads / a->n_kv_heads, hd = 8 * nv;
	const float *q = a->q + (size_t)kvh * group * hd;
	const __m256 scale = _mm256_set1_ps(a->scale);
	__m256 kv[AM_MAX_HEAD_DIM / 8];
	/* scores, eight positions at a time for up to four query heads: each key is converted
	 * once per four heads, and the eight partial-sum vectors of a head are reduced together */
	long p = 0;
	for (; p + 8 <= n; p += 8) {
		for (int g0 = 0; g0 < group; g0 += 4) {
			int ng = group - g0 < 4 ? group - g0 : 4;
			__m256 part[4][8];
			for (int j = 0; j < 8; j++) {
				const uint16_t *k = am_kv_row(a, false, kvh, b0 + p + j);
#pragma GCC unroll 32
				for (int i = 0; i < nv; i++)
					kv[i] = _mm256_cvtph_ps(
					    _mm_loadu_si128((const __m128i *)(k + 8 * i)));
				for (int g = 0; g < ng; g++)
					part[g][j] = qk_partial(q + (size_t)(g0 + g) * hd, kv, nv);
			}
			for (int g = 0; g < ng; g++)
				_mm256_storeu_ps(scores + (size_t)(g0 + g) * n + p,
				                 _mm256_mul_ps(am_hsum8x8(part[g]), scale));
		}
	}
	for (; p < n; p++) {
		const uint16_t *k = am_kv_row(a, false, kvh, b0 + p);
#pragma GCC unroll 32
		for (int i = 0; i < nv; i++)
			kv[i] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + 8 * i)));
		for (int g = 0; g < group; g++)
			scores[(size_t)g * n + p] =
			    am_hsum8(qk_partial(q + (size_t)g * hd, kv, nv)) * a->scale;
	}
	for (int g = 0; g < group; g++)
		am_softmax_part_avx2(scores + (size_t)g * n, (size_t)n, &m[g], &l[g]);
	/* weighted values: 64 dims of one query head in registers at a time */
	for (int g = 0; g < group; g++) {
		const float *sg = scores + (size_t)g * n;
		for (int i0 = 0; i0 < nv; i0 += 8) {
			int w = nv - i0 < 8 ? nv - i0 : 8;
			__m256 acc[8];
			for (int i = 0; i < w; i++)
				acc[i] = _mm256_setzero_ps();
			for (long pp = 0; pp < n; pp++) {
				const uint16_t *v = am_kv_row(a, true, kvh, b0 + pp) + 8 * i0;
				__m256 sw = _mm256_set1_ps(sg[pp]);
#pragma GCC unroll 8
				for (int i = 0; i < w; i++)
					acc[i] = _mm256_fmadd_ps(sw,
					                         _mm256_cvtph_ps(_mm_loadu_si128(
					                             (const __m128i *)(v + 8 * i))),
					                         acc[i]);
			}
			for (int i = 0; i < w; i++)
				_mm256_storeu_ps(o + (size_t)g * hd + 8 * (i0 + i), acc[i]);
		}
	}
}

AVX2 void am_attention_block_avx2(const struct am_attn_args *a, int kvh, long b0, long b1,
                                  float *scores, float *m, float *l, float *o)
{
	switch (a->head_dim) {
	case 64: attention_block(a, kvh, b0, b1, scores, m, l, o, 8); return;
	case 128: attention_block(a, kvh, b0, b1, scores, m, l, o, 16); return;
	case 256: attention_block(a, kvh, b0, b1, scores, m, l, o, 32); return;
	default: attention_block(a, kvh, b0, b1, scores, m, l, o, a->head_dim / 8);
	}
}

AVX2 void am_f32_to_f16_row_avx2(const float *x, uint16_t *y, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i),
		                                                     _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		y[i] = am_fp32_to_fp16(x[i]);
}

#else

float am_dot_f32_avx2(const float *a, const float *b, size_t n)
{
	return (float)am_dot_f32_ref(a, b, n);
}
void am_gemm_f32_avx2(const float *w, size_t nr, const float *x, size_t nt, size_t cols, float *y,
                      size_t ldy)
{
	for (size_t t = 0; t < nt; t++)
		for (size_t r = 0; r < nr; r++)
			y[t * ldy + r] = (float)am_dot_f32_ref(w + r * cols, x + t * cols, cols);
}
void am_softmax_avx2(float *x, size_t n)
{
	am_softmax_ref(x, n);
}
void am_attention_block_avx2(const struct am_attn_args *a, int kvh, long b0, long b1, float *scores,
                             float *m, float *l, float *o)
{
	int group = a->n_q_heads / a->n_kv_heads;
	for (int g = 0; g < group; g++) {
		m[g] = l[g] = NAN;
		for (int i = 0; i < a->head_dim; i++)
			o[(size_t)g * a->head_dim + i] = NAN;
	}
}
void am_f32_to_f16_row_avx2(const float *x, uint16_t *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = am_fp32_to_fp16(x[i]);
}
#endif
