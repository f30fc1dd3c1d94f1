/* quant_avx2.c: AVX2/FMA/F16C versions of the hot quant paths: dequantization of the common
 * block types (bit-identical to the scalar reference: same float operations, no fusing), the
 * 16-bit activation quantizer (bit-identical) and the integer dot products of 4/5/8-bit weight
 * blocks with activation blocks. Compiled for the generic target; only these functions carry
 * the avx2 attribute, and callers reach them only after am_cpu_features() says the CPU has it. */
#include "quant_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include "simd_avx2.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))

/* Block scales: F16C, except for NaNs, which F16C quiets when they signal; dequantized values
 * must match the reference bit for bit even for such (broken) scales. */
AVX2 static inline float half_to_float(const uint8_t *p)
{
	uint16_t h;
	memcpy(&h, p, 2);
	if (__builtin_expect((h & 0x7c00) == 0x7c00, 0))
		return am_fp16_to_fp32(h);
	return _cvtsh_ss(h);
}

/* 16 packed bytes of nibbles -> 32 bytes: low nibbles (elements 0..15), then high (16..31). */
AVX2 static inline __m256i unpack_nibbles(const uint8_t *p)
{
	__m128i raw = _mm_loadu_si128((const __m128i *)p);
	__m128i mask = _mm_set1_epi8(0x0F);
	__m128i lo = _mm_and_si128(raw, mask);
	__m128i hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
	return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

/* 32 bits -> 32 bytes, byte i = 0x10 when bit i is set. */
AVX2 static inline __m256i expand_bits_0x10(uint32_t bits)
{
	__m256i v = _mm256_set1_epi32((int)bits);
	const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
	                                       0x0101010101010101, 0x0000000000000000);
	v = _mm256_shuffle_epi8(v, shuf);
	const __m256i bitsel = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
	v = _mm256_and_si256(v, bitsel);
	v = _mm256_cmpeq_epi8(v, bitsel);
	return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

AVX2 static inline void store_bytes_as_floats(__m256i q, __m256 d, __m256 m, bool add_min, float *y)
{
	__m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
	__m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
	for (int k = 0; k < 4; k++) {
		__m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[k]));
		__m256 r = _mm256_mul_ps(d, f);
		if (add_min)
			r = _mm256_add_ps(r, m);
		_mm256_storeu_ps(y + 8 * k, r);
	}
}

AVX2 bool am_dequantize_row_avx2(enum am_ggml_type t, const void *src, float *dst, size_t n)
{
	const uint8_t *p = src;
	switch (t) {
	case AM_GGML_F16: {
		size_t i = 0;
		const __m128i abs_mask = _mm_set1_epi16(0x7fff), inf = _mm_set1_epi16(0x7c00);
		for (; i + 8 <= n; i += 8) {
			__m128i h = _mm_loadu_si128((const __m128i *)(p + 2 * i));
			/* NaNs: F16C would quiet signalling ones; keep their bits like the
			 * reference does */
			if (_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_and_si128(h, abs_mask), inf))) {
				for (size_t k = i; k < i + 8; k++)
					dst[k] = half_to_float(p + 2 * k);
				continue;
			}
			_mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
		}
		for (; i < n; i++)
			dst[i] = half_to_float(p + 2 * i);
		return true;
	}
	case AM_GGML_Q4_0:
	case AM_GGML_Q4_1:
	case AM_GGML_Q8_0: {
		if (n % 32)
			return false;
		size_t bb = am_quant_block_bytes(t);
		for (size_t b = 0; b < n / 32; b++, p += bb) {
			__m256 d = _mm256_set1_ps(half_to_float(p)), m = _mm256_setzero_ps();
			__m256i q;
			if (t == AM_GGML_Q8_0) {
				q = _mm256_loadu_si256((const __m256i *)(p + 2));
			} else if (t == AM_GGML_Q4_0) {
				q = _mm256_sub_epi8(unpack_nibbles(p + 2), _mm256_set1_epi8(8));
			} else {
				m = _mm256_set1_ps(half_to_float(p + 2));
				q = unpack_nibbles(p + 4);
			}
			store_bytes_as_floats(q, d, m, t == AM_GGML_Q4_1, dst + b * 32);
		}
		return true;
	}
	default: return false;
	}
}

AVX2 void am_quantize_qa_avx2(const float *x, struct am_qa_block *out, size_t n)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	for (size_t b = 0; b < n / AM_QA_BLOCK; b++) {
		const float *xb = x + b * AM_QA_BLOCK;
		__m256 v[4], mx = _mm256_setzero_ps();
		for (int k = 0; k < 4; k++) {
			v[k] = _mm256_loadu_ps(xb + 8 * k);
			mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[k]));
		}
		__m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
		m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
		m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
		float amax = _mm_cvtss_f32(m4);
		float d = amax / 32767.0f;
		float id = d != 0.0f ? 1.0f / d : 0.0f;
		__m256 idv = _mm256_set1_ps(id);
		__m256i i32[4];
		for (int k = 0; k < 4; k++)
			i32[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], idv));
		/* |x*id| <= 32767 up to rounding; clamp like the reference */
		for (int k = 0; k < 4; k++)
			i32[k] =
			    _mm256_max_epi32(_mm256_min_epi32(i32[k], _mm256_set1_epi32(32767)),
			                     _mm256_set1_epi32(-32767));
		__m256i sum = _mm256_add_epi32(_mm256_add_epi32(i32[0], i32[1]),
		                               _mm256_add_epi32(i32[2], i32[3]));
		__m128i s4 =
		    _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
		s4 = _mm_hadd_epi32(s4, s4);
		s4 = _mm_hadd_epi32(s4, s4);
		int isum = _mm_cvtsi128_si32(s4);
		/* packs works per 128-bit lane: restore element order with a 64-bit permute */
		__m256i p01 = _mm256_permute4x64_epi64(_mm256_packs_epi32(i32[0], i32[1]), 0xD8);
		__m256i p23 = _mm256_permute4x64_epi64(_mm256_packs_epi32(i32[2], i32[3]), 0xD8);
		_mm256_storeu_si256((__m256i *)out[b].q, p01);
		_mm256_storeu_si256((__m256i *)(out[b].q + 16), p23);
		out[b].d = d;
		out[b].s = d * (float)isum;
	}
}

/* 32 weight values as int16 (elements 0..15, 16..31) for the block at p of type t; the block's
 * offset/min term (times the activation sum) goes to *extra. */
__attribute__((always_inline)) AVX2 static inline void
weights_i16(enum am_ggml_type t, const uint8_t *p, float d, const struct am_qa_block *a,
            __m256i *w0, __m256i *w1, float *extra)
{
	__m256i b8;
	switch (t) {
	case AM_GGML_Q4_0:
	case AM_GGML_Q4_1: {
		/* bytes zero-extended to 16 bits: the low nibble is element j, the high one
		 * element j + 16 */
		const uint8_t *qs = p + (t == AM_GGML_Q4_0 ? 2 : 4);
		__m256i z = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)qs));
		*w0 = _mm256_and_si256(z, _mm256_set1_epi16(0x0F));
		*w1 = _mm256_srli_epi16(z, 4);
		if (t == AM_GGML_Q4_0)
			*extra -= 8.0f * d * a->s;
		else
			*extra += half_to_float(p + 2) * a->s;
		return;
	}
	case AM_GGML_Q5_0: {
		uint32_t qh;
		memcpy(&qh, p + 2, 4);
		b8 = _mm256_or_si256(unpack_nibbles(p + 6), expand_bits_0x10(qh));
		*extra -= 16.0f * d * a->s;
		break;
	}
	case AM_GGML_Q5_1: {
		uint32_t qh;
		memcpy(&qh, p + 4, 4);
		b8 = _mm256_or_si256(unpack_nibbles(p + 8), expand_bits_0x10(qh));
		*extra += half_to_float(p + 2) * a->s;
		break;
	}
	default: /* Q8_0: signed bytes */
		*w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p + 2)));
		*w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p + 18)));
		return;
	}
	*w0 = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(b8));
	*w1 = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(b8, 1));
}

AVX2 static inline __m256i block_isum(__m256i w0, __m256i w1, const struct am_qa_block *a)
{
	__m256i a0 = _mm256_loadu_si256((const __m256i *)a->q);
	__m256i a1 = _mm256_loadu_si256((const __m256i *)(a->q + 16));
	return _mm256_add_epi32(_mm256_madd_epi16(w0, a0), _mm256_madd_epi16(w1, a1));
}

__attribute__((always_inline)) AVX2 static inline float
dot_qa(enum am_ggml_type t, const void *w, const struct am_qa_block *a, size_t n)
{
	const uint8_t *p = w;
	size_t bb = am_quant_block_bytes(t);
	__m256 acc = _mm256_setzero_ps();
	float extra = 0.0f;
	for (size_t b = 0; b < n / 32; b++, p += bb) {
		float d = half_to_float(p);
		__m256i w0, w1;
		weights_i16(t, p, d, &a[b], &w0, &w1, &extra);
		__m256 f = _mm256_cvtepi32_ps(block_isum(w0, w1, &a[b]));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(d * a[b].d), f, acc);
	}
	return am_hsum8(acc) + extra;
}

/* The per-type loops are specialised (the type a compile-time constant in each). */
AVX2 float am_vec_dot_qa_avx2(enum am_ggml_type t, const void *w, const struct am_qa_block *a,
                              size_t n)
{
	switch (t) {
	case AM_GGML_Q4_0: return dot_qa(AM_GGML_Q4_0, w, a, n);
	case AM_GGML_Q4_1: return dot_qa(AM_GGML_Q4_1, w, a, n);
	case AM_GGML_Q5_0: return dot_qa(AM_GGML_Q5_0, w, a, n);
	case AM_GGML_Q5_1: return dot_qa(AM_GGML_Q5_1, w, a, n);
	case AM_GGML_Q8_0: return dot_qa(AM_GGML_Q8_0, w, a, n);
	default: return am_vec_dot_qa_ref(t, w, a, n);
	}
}

/* Two weight rows against the same activations (halves the activation loads). */
__attribute__((always_inline)) AVX2 static inline void dot_qa_x2(enum am_ggml_type t, const void *w,
                                                                 size_t row_bytes,
                                                                 const struct am_qa_block *a,
                                                                 size_t n, float *y)
{
	const uint8_t *p0 = w, *p1 = p0 + row_bytes;
	size_t bb = am_quant_block_bytes(t);
	__m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
	float e0 = 0.0f, e1 = 0.0f;
	for (size_t b = 0; b < n / 32; b++, p0 += bb, p1 += bb) {
		__m256i a0 = _mm256_loadu_si256((const __m256i *)a[b].q);
		__m256i a1 = _mm256_loadu_si256((const __m256i *)(a[b].q + 16));
		float d0 = half_to_float(p0), d1 = half_to_float(p1);
		__m256i w0, w1;
		weights_i16(t, p0, d0, &a[b], &w0, &w1, &e0);
		__m256i s0 = _mm256_add_epi32(_mm256_madd_epi16(w0, a0), _mm256_madd_epi16(w1, a1));
		weights_i16(t, p1, d1, &a[b], &w0, &w1, &e1);
		__m256i s1 = _mm256_add_epi32(_mm256_madd_epi16(w0, a0), _mm256_madd_epi16(w1, a1));
		acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d0 * a[b].d), _mm256_cvtepi32_ps(s0), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_set1_ps(d1 * a[b].d), _mm256_cvtepi32_ps(s1), acc1);
	}
	y[0] = am_hsum8(acc0) + e0;
	y[1] = am_hsum8(acc1) + e1;
}

AVX2 void am_vec_dot_qa_x2_avx2(enum am_ggml_type t, const void *w, size_t row_bytes,
                                const struct am_qa_block *a, size_t n, float *y)
{
	switch (t) {
	case AM_GGML_Q4_0: dot_qa_x2(AM_GGML_Q4_0, w, row_bytes, a, n, y); return;
	case AM_GGML_Q4_1: dot_qa_x2(AM_GGML_Q4_1, w, row_bytes, a, n, y); return;
	case AM_GGML_Q5_0: dot_qa_x2(AM_GGML_Q5_0, w, row_bytes, a, n, y); return;
	case AM_GGML_Q5_1: dot_qa_x2(AM_GGML_Q5_1, w, row_bytes, a, n, y); return;
	case AM_GGML_Q8_0: dot_qa_x2(AM_GGML_Q8_0, w, row_bytes, a, n, y); return;
	default:
		y[0] = am_vec_dot_qa_ref(t, w, a, n);
		y[1] = am_vec_dot_qa_ref(t, (const uint8_t *)w + row_bytes, a, n);
	}
}

/* Broadcast activations q[j], q[j+1] (one 32-bit pair) to every lane. */
AVX2 static inline __m256i pair_bcast(const int16_t *q)
{
	int32_t v;
	memcpy(&v, q, 4);
	return _mm256_set1_epi32(v);
}

/* 16 interleaved rows (am_qp_pack_group) against T activation vectors (a + t * stride): lane r of
 * the two accumulators of a token is row r (0..7) or r + 8; chunk c holds element pair c of
 * each row. The weights are unpacked once for all T tokens; each token's arithmetic is the same
 * whatever T is, so results never depend on how tokens are batched. */
__attribute__((always_inline)) AVX2 static inline void
qp_dot(enum am_ggml_type t, int T, const uint8_t *grp, const struct am_qa_block *a, size_t stride,
       size_t cols, float *y, size_t ldy)
{
	size_t bb = am_quant_block_bytes(t), sb = t == AM_GGML_Q4_1 ? 4 : 2;
	const __m256i low4 = _mm256_set1_epi16(0x0F);
	__m256 f0[4], f1[4];
#pragma GCC unroll 8
	for (int k = 0; k < T; k++)
		f0[k] = f1[k] = _mm256_setzero_ps();
	for (size_t b = 0; b < cols / 32; b++) {
		const uint8_t *g = grp + b * AM_QP_ROWS * bb, *codes = g + AM_QP_ROWS * sb;
		__m256i s0[4], s1[4];
#pragma GCC unroll 8
		for (int k = 0; k < T; k++)
			s0[k] = s1[k] = _mm256_setzero_si256();
		if (t == AM_GGML_Q8_0) {
			for (int c = 0; c < 16; c++) {
				const __m128i *p = (const __m128i *)(codes + 32 * c);
				__m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(p));
				__m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(p + 1));
#pragma GCC unroll 8
				for (int k = 0; k < T; k++) {
					__m256i av = pair_bcast(a[k * stride + b].q + 2 * c);
					s0[k] = _mm256_add_epi32(s0[k], _mm256_madd_epi16(w0, av));
					s1[k] = _mm256_add_epi32(s1[k], _mm256_madd_epi16(w1, av));
				}
			}
		} else {
			for (int c = 0; c < 8; c++) {
				const __m128i *p = (const __m128i *)(codes + 32 * c);
				__m256i z0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(p));
				__m256i z1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(p + 1));
				__m256i lo0 = _mm256_and_si256(z0, low4),
				        hi0 = _mm256_srli_epi16(z0, 4);
				__m256i lo1 = _mm256_and_si256(z1, low4),
				        hi1 = _mm256_srli_epi16(z1, 4);
#pragma GCC unroll 8
				for (int k = 0; k < T; k++) {
					const int16_t *aq = a[k * stride + b].q;
					__m256i lo = pair_bcast(aq + 2 * c),
					        hi = pair_bcast(aq + 2 * c + 16);
					s0[k] = _mm256_add_epi32(
					    s0[k], _mm256_add_epi32(_mm256_madd_epi16(lo0, lo),
					                            _mm256_madd_epi16(hi0, hi)));
					s1[k] = _mm256_add_epi32(
					    s1[k], _mm256_add_epi32(_mm256_madd_epi16(lo1, lo),
					                            _mm256_madd_epi16(hi1, hi)));
				}
			}
		}
		__m256 d0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g));
		__m256 d1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(g + 16)));
		__m256 m0 = d0, m1 = d1;
		if (t == AM_GGML_Q4_1) {
			m0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(g + 32)));
			m1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(g + 48)));
		}
#pragma GCC unroll 8
		for (int k = 0; k < T; k++) {
			const struct am_qa_block *ab = &a[k * stride + b];
			__m256 ad = _mm256_set1_ps(ab->d);
			f0[k] = _mm256_fmadd_ps(_mm256_mul_ps(d0, ad), _mm256_cvtepi32_ps(s0[k]),
			                        f0[k]);
			f1[k] = _mm256_fmadd_ps(_mm256_mul_ps(d1, ad), _mm256_cvtepi32_ps(s1[k]),
			                        f1[k]);
			if (t != AM_GGML_Q8_0) {
				/* Q4_0 codes are offset by 8: -8 d s; Q4_1 adds its min: m s */
				__m256 ms =
				    _mm256_set1_ps(t == AM_GGML_Q4_0 ? -8.0f * ab->s : ab->s);
				f0[k] = _mm256_fmadd_ps(m0, ms, f0[k]);
				f1[k] = _mm256_fmadd_ps(m1, ms, f1[k]);
			}
		}
	}
#pragma GCC unroll 8
	for (int k = 0; k < T; k++) {
		_mm256_storeu_ps(y + k * ldy, f0[k]);
		_mm256_storeu_ps(y + k * ldy + 8, f1[k]);
	}
}

#define QP_DOT_T(T)                                                                                \
	do {                                                                                       \
		switch (t) {                                                                       \
		case AM_GGML_Q4_0: qp_dot(AM_GGML_Q4_0, T, grp, a, stride, cols, y, ldy); break;   \
		case AM_GGML_Q4_1: qp_dot(AM_GGML_Q4_1, T, grp, a, stride, cols, y, ldy); break;   \
		default: qp_dot(AM_GGML_Q8_0, T, grp, a, stride, cols, y, ldy); break;             \
		}                                                                                  \
	} while (0)

AVX2 void am_qp_dot_avx2(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a,
                         size_t stride, size_t cols, size_t n_tok, float *y, size_t ldy)
{
	if (!am_qp_supported(t)) {
		am_qp_dot_ref(t, grp, a, stride, cols, n_tok, y, ldy);
		return;
	}
	/* four tokens per pass (registers), the rest in one */
	for (; n_tok >= 4; n_tok -= 4, a += 4 * stride, y += 4 * ldy)
		QP_DOT_T(4);
	switch (n_tok) {
	case 0: break;
	case 1: QP_DOT_T(1); break;
	case 2: QP_DOT_T(2); break;
	default: QP_DOT_T(3); break;
	}
}

#else /* not x86: never called, since am_cpu_features() reports no AVX2 */

bool am_dequantize_row_avx2(enum am_ggml_type t, const void *src, float *dst, size_t n)
{
	return false;
}

void am_quantize_qa_avx2(const float *x, struct am_qa_block *out, size_t n)
{
	am_quantize_qa_ref(x, out, n);
}

float am_vec_dot_qa_avx2(enum am_ggml_type t, const void *w, const struct am_qa_block *a, size_t n)
{
	return am_vec_dot_qa_ref(t, w, a, n);
}

void am_vec_dot_qa_x2_avx2(enum am_ggml_type t, const void *w, size_t row_bytes,
                           const struct am_qa_block *a, size_t n, float *y)
{
	y[0] = am_vec_dot_qa_ref(t, w, a, n);
	y[1] = am_vec_dot_qa_ref(t, (const uint8_t *)w + row_bytes, a, n);
}
void am_qp_dot_avx2(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a,
                    size_t stride, size_t cols, size_t n_tok, float *y, size_t ldy)
{
	am_qp_dot_ref(t, grp, a, stride, cols, n_tok, y, ldy);
}
#endif
