/* quant_avx512.c: the packed-group integer dot products (am_qp_dot) with AVX-512 VNNI: one zmm
 * register holds all 16 rows of a group, and vpdpwssd multiplies and accumulates a chunk's
 * element pairs in one instruction with the activation pair broadcast from memory. Eight tokens
 * share each unpacked chunk (32 registers make room for their accumulators). Per lane it is the
 * AVX2 kernel's arithmetic exactly: the integer sums are exact and the float steps the same, so
 * both give the same bits. Only these functions carry the avx512 attributes; callers reach them
 * only after am_cpu_features() reports avx512f/bw/vl/vnni. */
#include "quant_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

AVX512 static inline __m512i pair_bcast512(const int16_t *q)
{
	int32_t v;
	memcpy(&v, q, 4);
	return _mm512_set1_epi32(v);
}

__attribute__((always_inline)) AVX512 static inline void
qp_dot512(enum am_ggml_type t, int T, const uint8_t *grp, const struct am_qa_block *a,
          size_t stride, size_t cols, float *y, size_t ldy)
{
	size_t bb = am_quant_block_bytes(t), sb = t == AM_GGML_Q4_1 ? 4 : 2;
	const __m512i low4 = _mm512_set1_epi16(0x0F);
	__m512 f[8];
#pragma GCC unroll 8
	for (int k = 0; k < T; k++)
		f[k] = _mm512_setzero_ps();
	for (size_t b = 0; b < cols / 32; b++) {
		const uint8_t *g = grp + b * AM_QP_ROWS * bb, *codes = g + AM_QP_ROWS * sb;
		__m512i s[8];
#pragma GCC unroll 8
		for (int k = 0; k < T; k++)
			s[k] = _mm512_setzero_si512();
		if (t == AM_GGML_Q8_0) {
			for (int c = 0; c < 16; c++) {
				__m512i w = _mm512_cvtepi8_epi16(
				    _mm256_loadu_si256((const __m256i *)(codes + 32 * c)));
#pragma GCC unroll 8
				for (int k = 0; k < T; k++)
					s[k] = _mm512_dpwssd_epi32(
					    s[k], w, pair_bcast512(a[k * stride + b].q + 2 * c));
			}
		} else {
			for (int c = 0; c < 8; c++) {
				__m512i z = _mm512_cvtepu8_epi16(
				    _mm256_loadu_si256((const __m256i *)(codes + 32 * c)));
				__m512i lo = _mm512_and_si512(z, low4),
				        hi = _mm512_srli_epi16(z, 4);
#pragma GCC unroll 8
				for (int k = 0; k < T; k++) {
					const int16_t *aq = a[k * stride + b].q;
					s[k] = _mm512_dpwssd_epi32(s[k], lo,
					                           pair_bcast512(aq + 2 * c));
					s[k] = _mm512_dpwssd_epi32(s[k], hi,
					                           pair_bcast512(aq + 2 * c + 16));
				}
			}
		}
		__m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)g)), m = d;
		if (t == AM_GGML_Q4_1)
			m = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(g + 32)));
#pragma GCC unroll 8
		for (int k = 0; k < T; k++) {
			const struct am_qa_block *ab = &a[k * stride + b];
			f[k] = _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(ab->d)),
			                       _mm512_cvtepi32_ps(s[k]), f[k]);
			if (t != AM_GGML_Q8_0)
				f[k] = _mm512_fmadd_ps(
				    m, _mm512_set1_ps(t == AM_GGML_Q4_0 ? -8.0f * ab->s : ab->s),
				    f[k]);
		}
	}
#pragma GCC unroll 8
	for (int k = 0; k < T; k++)
		_mm512_storeu_ps(y + k * ldy, f[k]);
}

#define QP_DOT512_T(T)                                                                             \
	do {                                                                                       \
		switch (t) {                                                                       \
		case AM_GGML_Q4_0: qp_dot512(AM_GGML_Q4_0, T, grp, a, stride, cols, y, ldy);       \
		    break;                                                                         \
		case AM_GGML_Q4_1: qp_dot512(AM_GGML_Q4_1, T, grp, a, stride, cols, y, ldy);       \
		    break;                                                                         \
		default: qp_dot512(AM_GGML_Q8_0, T, grp, a, stride, cols, y, ldy); break;          \
		}                                                                                  \
	} while (0)

AVX512 void am_qp_dot_avx512(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a,
                             size_t stride, size_t cols, size_t n_tok, float *y, size_t ldy)
{
	if (!am_qp_supported(t)) {
		am_qp_dot_ref(t, grp, a, stride, cols, n_tok, y, ldy);
		return;
	}
	/* full passes of eight, then one pass for the rest */
	for (; n_tok >= 8; n_tok -= 8, a += 8 * stride, y += 8 * ldy)
		QP_DOT512_T(8);
	switch (n_tok) {
	case 0: break;
	case 1: QP_DOT512_T(1); break;
	case 2: QP_DOT512_T(2); break;
	case 3: QP_DOT512_T(3); break;
	case 4: QP_DOT512_T(4); break;
	case 5: QP_DOT512_T(5); break;
	case 6: QP_DOT512_T(6); break;
	default: QP_DOT512_T(7); break;
	}
}

#else /* not x86: never called, since am_cpu_features() reports no AVX-512 */

void am_qp_dot_avx512(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a,
                      size_t stride, size_t cols, size_t n_tok, float *y, size_t ldy)
{
	am_qp_dot_ref(t, grp, a, stride, cols, n_tok, y, ldy);
}
#endif
