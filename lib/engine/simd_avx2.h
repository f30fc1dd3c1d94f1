/* simd_avx2.h: small AVX2 helpers shared by the kernel files (static inline, carrying the avx2
 * target attribute, so a caller compiled for a wider target may inline them). Include only from
 * x86 code under the files' own target checks. */
#ifndef AMLAB_ENGINE_SIMD_AVX2_H
#define AMLAB_ENGINE_SIMD_AVX2_H

#include <immintrin.h>

/* The sum of the eight lanes. */
__attribute__((target("avx2,fma,f16c"))) static inline float am_hsum8(__m256 v)
{
	__m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
	lo = _mm_add_ps(lo, hi);
	lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
	lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
	return _mm_cvtss_f32(lo);
}

/* Eight vectors of partial sums -> one vector of their eight totals. */
__attribute__((target("avx2,fma,f16c"))) static inline __m256 am_hsum8x8(const __m256 *v)
{
	__m256 h0 = _mm256_hadd_ps(v[0], v[1]), h1 = _mm256_hadd_ps(v[2], v[3]);
	__m256 h2 = _mm256_hadd_ps(v[4], v[5]), h3 = _mm256_hadd_ps(v[6], v[7]);
	__m256 g0 = _mm256_hadd_ps(h0, h1), g1 = _mm256_hadd_ps(h2, h3);
	return _mm256_add_ps(_mm256_permute2f128_ps(g0, g1, 0x20),
	                     _mm256_permute2f128_ps(g0, g1, 0x31));
}

#endif
