/* quant.c: scalar (reference) dequantization of the ggml block types and the 8-bit activation
 * blocks of the integer matmul (see amlab/quant.h). The block layouts are the public GGUF/ggml
 * format; the arithmetic order of each formula is the format's, so results are bit-exact. */
#include "amlab/quant.h"

#include "amlab/cpu.h"
#include "quant_internal.h"

#include <math.h>

static float bits_to_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof(f));
	return f;
}

static uint32_t f32_to_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof(u));
	return u;
}

float am_fp16_to_fp32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t mant = h & 0x3ff;
	if (exp == 0x1f) /* Inf / NaN */
		return bits_to_f32(sign | 0x7f800000u | (mant << 13));
	if (exp == 0) {
		if (mant == 0)
			return bits_to_f32(sign);
		/* subnormal: mant * 2^-24, exact in float */
		float v = (float)mant * 0x1p-24f;
		return sign ? -v : v;
	}
	return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t am_fp32_to_fp16(float f)
{
	uint32_t u = f32_to_bits(f);
	uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
	uint32_t abs = u & 0x7fffffffu;
	if (abs > 0x7f800000u) /* NaN: keep it a quiet NaN */
		return (uint16_t)(sign | 0x7e00 | ((abs >> 13) & 0x3ff));
	if (abs >= 0x477ff000u) /* rounds to >= 65520: infinity */
		return (uint16_t)(sign | 0x7c00);
	if (abs < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
		/* value * 2^24 rounded to nearest even gives the subnormal mantissa */
		float v = bits_to_f32(abs) * 0x1p24f;
		float r = nearbyintf(v); /* default rounding mode: to nearest even */
		return (uint16_t)(sign | (uint16_t)r);
	}
	uint32_t mant = abs & 0x7fffffu;
	uint32_t exp = (abs >> 23) - 112;
	uint32_t h = (exp << 10) | (mant >> 13);
	uint32_t rest = mant & 0x1fffu;
	if (rest > 0x1000u || (rest == 0x1000u && (h & 1)))
		h++; /* may carry into the exponent, which is still correct */
	return (uint16_t)(sign | h);
}

float am_bf16_to_fp32(uint16_t h)
{
	return bits_to_f32((uint32_t)h << 16);
}

uint16_t am_fp32_to_bf16(float f)
{
	uint32_t u = f32_to_bits(f);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 64);
	return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

bool am_quant_supported(enum am_ggml_type t)
{
	return am_quant_block_elems(t) != 0;
}

size_t am_quant_block_elems(enum am_ggml_type t)
{
	switch (t) {
	case AM_GGML_F32:
	case AM_GGML_F16:
	case AM_GGML_BF16: return 1;
	case AM_GGML_Q4_0:
	case AM_GGML_Q4_1:
	case AM_GGML_Q5_0:
	case AM_GGML_Q5_1:
	case AM_GGML_Q8_0: return 32;
	case AM_GGML_Q4_K:
	case AM_GGML_Q5_K:
	case AM_GGML_Q6_K: return 256;
	default: return 0;
	}
}

size_t am_quant_block_bytes(enum am_ggml_type t)
{
	switch (t) {
	case AM_GGML_F32: return 4;
	case AM_GGML_F16:
	case AM_GGML_BF16: return 2;
	case AM_GGML_Q4_0: return 18;
	case AM_GGML_Q4_1: return 20;
	case AM_GGML_Q5_0: return 22;
	case AM_GGML_Q5_1: return 24;
	case AM_GGML_Q8_0: return 34;
	case AM_GGML_Q4_K: return 144;
	case AM_GGML_Q5_K: return 176;
	case AM_GGML_Q6_K: return 210;
	default: return 0;
	}
}

size_t am_quant_row_bytes(enum am_ggml_type t, size_t n)
{
	size_t be = am_quant_block_elems(t);
	if (!be || n % be)
		return 0;
	return n / be * am_quant_block_bytes(t);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/* The 6-bit scale and min of sub-block j of a Q4_K/Q5_K block (12 packed bytes). */
void am_q4k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
		*m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
	}
}

void am_dequant_block_ref(enum am_ggml_type t, const uint8_t *b, float *y)
{
	switch (t) {
	case AM_GGML_Q4_0: {
		float d = am_fp16_to_fp32(rd16(b));
		for (int j = 0; j < 16; j++) {
			y[j] = d * (float)((b[2 + j] & 0xF) - 8);
			y[j + 16] = d * (float)((b[2 + j] >> 4) - 8);
		}
		break;
	}
	case AM_GGML_Q4_1: {
		float d = am_fp16_to_fp32(rd16(b)), m = am_fp16_to_fp32(rd16(b + 2));
		for (int j = 0; j < 16; j++) {
			y[j] = d * (float)(b[4 + j] & 0xF) + m;
			y[j + 16] = d * (float)(b[4 + j] >> 4) + m;
		}
		break;
	}
	case AM_GGML_Q5_0:
	case AM_GGML_Q5_1: {
		bool has_min = t == AM_GGML_Q5_1;
		float d = am_fp16_to_fp32(rd16(b));
		float m = has_min ? am_fp16_to_fp32(rd16(b + 2)) : 0.0f;
		const uint8_t *hp = b + (has_min ? 4 : 2);
		uint32_t qh = rd32(hp);
		const uint8_t *qs = hp + 4;
		for (int j = 0; j < 16; j++) {
			int h0 = (int)((qh >> j) & 1) << 4;
			int h1 = (int)((qh >> (j + 16)) & 1) << 4;
			int q0 = (qs[j] & 0xF) | h0, q1 = (qs[j] >> 4) | h1;
			if (has_min) {
				y[j] = d * (float)q0 + m;
				y[j + 16] = d * (float)q1 + m;
			} else {
				y[j] = d * (float)(q0 - 16);
				y[j + 16] = d * (float)(q1 - 16);
			}
		}
		break;
	}
	case AM_GGML_Q8_0: {
		float d = am_fp16_to_fp32(rd16(b));
		for (int j = 0; j < 32; j++)
			y[j] = (float)(int8_t)b[2 + j] * d;
		break;
	}
	case AM_GGML_Q4_K:
	case AM_GGML_Q5_K: {
		bool five = t == AM_GGML_Q5_K;
		float d = am_fp16_to_fp32(rd16(b)), dmin = am_fp16_to_fp32(rd16(b + 2));
		const uint8_t *scales = b + 4;
		const uint8_t *qh = b + 16;
		const uint8_t *qs = five ? b + 48 : b + 16;
		for (int c = 0; c < 4; c++) { /* 64 values per chunk: two sub-blocks of 32 */
			for (int half = 0; half < 2; half++) {
				int sub = c * 2 + half;
				uint8_t sc, mn;
				am_q4k_scale_min(sub, scales, &sc, &mn);
				float d1 = d * (float)sc, m1 = dmin * (float)mn;
				for (int l = 0; l < 32; l++) {
					int q = half ? qs[c * 32 + l] >> 4 : qs[c * 32 + l] & 0xF;
					if (five)
						q |= ((qh[l] >> sub) & 1) << 4;
					y[sub * 32 + l] = d1 * (float)q - m1;
				}
			}
		}
		break;
	}
	case AM_GGML_Q6_K: {
		const uint8_t *ql = b, *qh = b + 128;
		const int8_t *sc = (const int8_t *)(b + 192);
		float d = am_fp16_to_fp32(rd16(b + 208));
		for (int n = 0; n < 2; n++) {
			const uint8_t *l8 = ql + n * 64, *h8 = qh + n * 32;
			const int8_t *s8 = sc + n * 8;
			float *yy = y + n * 128;
			for (int l = 0; l < 32; l++) {
				int is = l / 16;
				int q1 = ((l8[l] & 0xF) | (((h8[l] >> 0) & 3) << 4)) - 32;
				int q2 = ((l8[l + 32] & 0xF) | (((h8[l] >> 2) & 3) << 4)) - 32;
				int q3 = ((l8[l] >> 4) | (((h8[l] >> 4) & 3) << 4)) - 32;
				int q4 = ((l8[l + 32] >> 4) | (((h8[l] >> 6) & 3) << 4)) - 32;
				yy[l] = (d * (float)s8[is]) * (float)q1;
				yy[l + 32] = (d * (float)s8[is + 2]) * (float)q2;
				yy[l + 64] = (d * (float)s8[is + 4]) * (float)q3;
				yy[l + 96] = (d * (float)s8[is + 6]) * (float)q4;
			}
		}
		break;
	}
	default: break;
	}
}

int am_dequantize_row_ref(enum am_ggml_type t, const void *src, float *dst, size_t n)
{
	size_t be = am_quant_block_elems(t), bb = am_quant_block_bytes(t);
	if (!be || n % be)
		return AM_EINVAL;
	const uint8_t *p = src;
	switch (t) {
	case AM_GGML_F32: memcpy(dst, src, n * sizeof(float)); return 0;
	case AM_GGML_F16:
		for (size_t i = 0; i < n; i++)
			dst[i] = am_fp16_to_fp32(rd16(p + 2 * i));
		return 0;
	case AM_GGML_BF16:
		for (size_t i = 0; i < n; i++)
			dst[i] = am_bf16_to_fp32(rd16(p + 2 * i));
		return 0;
	default:
		for (size_t i = 0; i < n / be; i++)
			am_dequant_block_ref(t, p + i * bb, dst + i * be);
		return 0;
	}
}

int am_dequantize_row(enum am_ggml_type t, const void *src, float *dst, size_t n)
{
	if (am_cpu_features()->avx2 && am_cpu_features()->f16c &&
	    am_dequantize_row_avx2(t, src, dst, n))
		return 0;
	return am_dequantize_row_ref(t, src, dst, n);
}

bool am_quant_uses_qa(enum am_ggml_type t)
{
	return t == AM_GGML_Q4_0 || t == AM_GGML_Q4_1 || t == AM_GGML_Q5_0 || t == AM_GGML_Q5_1 ||
	       t == AM_GGML_Q8_0;
}

void am_quantize_qa_ref(const float *x, struct am_qa_block *out, size_t n)
{
	for (size_t b = 0; b < n / AM_QA_BLOCK; b++) {
		const float *xb = x + b * AM_QA_BLOCK;
		float amax = 0.0f;
		for (int j = 0; j < AM_QA_BLOCK; j++)
			amax = fmaxf(amax, fabsf(xb[j]));
		float d = amax / 32767.0f;
		float id = d != 0.0f ? 1.0f / d : 0.0f;
		int sum = 0;
		for (int j = 0; j < AM_QA_BLOCK; j++) {
			int q = (int)lrintf(xb[j] * id);
			q = q > 32767 ? 32767 : q < -32767 ? -32767 : q;
			out[b].q[j] = (int16_t)q;
			sum += q;
		}
		out[b].d = d;
		out[b].s = d * (float)sum;
	}
}

void am_quantize_qa(const float *x, struct am_qa_block *out, size_t n)
{
	if (am_cpu_features()->avx2 && am_cpu_features()->fma) {
		am_quantize_qa_avx2(x, out, n);
		return;
	}
	am_quantize_qa_ref(x, out, n);
}

/* Integer dot products of weight blocks with activation blocks, block by block. */
float am_vec_dot_qa_ref(enum am_ggml_type t, const void *w, const struct am_qa_block *a, size_t n)
{
	const uint8_t *p = w;
	size_t bb = am_quant_block_bytes(t);
	float sum = 0.0f;
	for (size_t b = 0; b < n / 32; b++, p += bb) {
		const int16_t *aq = a[b].q;
		int dot = 0;
		float d = am_fp16_to_fp32(rd16(p));
		switch (t) {
		case AM_GGML_Q4_0:
			for (int j = 0; j < 16; j++)
				dot += (p[2 + j] & 0xF) * aq[j] + (p[2 + j] >> 4) * aq[j + 16];
			sum += d * a[b].d * (float)dot - 8.0f * d * a[b].s;
			break;
		case AM_GGML_Q4_1:
			for (int j = 0; j < 16; j++)
				dot += (p[4 + j] & 0xF) * aq[j] + (p[4 + j] >> 4) * aq[j + 16];
			sum += d * a[b].d * (float)dot + am_fp16_to_fp32(rd16(p + 2)) * a[b].s;
			break;
		case AM_GGML_Q5_0:
		case AM_GGML_Q5_1: {
			bool has_min = t == AM_GGML_Q5_1;
			const uint8_t *hp = p + (has_min ? 4 : 2);
			uint32_t qh = rd32(hp);
			for (int j = 0; j < 16; j++) {
				int q0 = (hp[4 + j] & 0xF) | (int)(((qh >> j) & 1) << 4);
				int q1 = (hp[4 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
				dot += q0 * aq[j] + q1 * aq[j + 16];
			}
			if (has_min)
				sum +=
				    d * a[b].d * (float)dot + am_fp16_to_fp32(rd16(p + 2)) * a[b].s;
			else
				sum += d * a[b].d * (float)dot - 16.0f * d * a[b].s;
			break;
		}
		case AM_GGML_Q8_0:
			for (int j = 0; j < 32; j++)
				dot += (int8_t)p[2 + j] * aq[j];
			sum += d * a[b].d * (float)dot;
			break;
		default: return NAN;
		}
	}
	return sum;
}

float am_vec_dot_qa(enum am_ggml_type t, const void *w, const struct am_qa_block *a, size_t n)
{
	if (am_cpu_features()->avx2 && am_cpu_features()->fma && am_cpu_features()->f16c)
		return am_vec_dot_qa_avx2(t, w, a, n);
	return am_vec_dot_qa_ref(t, w, a, n);
}
