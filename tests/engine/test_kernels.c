/* test_kernels.c: every optimised kernel against its naive reference (include/amlab/kernels.h,
 * quant.h), on random data, with the AVX2 paths and the scalar fallbacks. */
#include "amlab/alloc.h"
#include "../../lib/engine/quant_internal.h"
#include "amlab/cpu.h"
#include "amlab/kernels.h"
#include "amlab/rng.h"
#include "amlab/threadpool.h"
#include "test.h"

static struct am_rng rng;

static float frand(void)
{
	return (float)(am_rng_uniform(&rng) * 2.0 - 1.0);
}

static uint16_t half_in(float lo, float hi)
{
	return am_fp32_to_fp16(lo + (hi - lo) * (float)am_rng_uniform(&rng));
}

/* Random bytes for n blocks of type t with moderate, finite scales. */
static void random_blocks(enum am_ggml_type t, uint8_t *p, size_t n_elems)
{
	size_t bb = am_quant_block_bytes(t), be = am_quant_block_elems(t), nb = n_elems / be;
	if (t == AM_GGML_F32) {
		for (size_t i = 0; i < n_elems; i++) {
			float f = frand();
			memcpy(p + 4 * i, &f, 4);
		}
		return;
	}
	for (size_t i = 0; i < nb * bb; i++)
		p[i] = (uint8_t)am_rng_below(&rng, 256);
	for (size_t b = 0; b < nb; b++) {
		uint8_t *blk = p + b * bb;
		uint16_t h;
		switch (t) {
		case AM_GGML_F16:
			h = am_fp32_to_fp16(frand());
			memcpy(blk, &h, 2);
			break;
		case AM_GGML_BF16:
			h = am_fp32_to_bf16(frand());
			memcpy(blk, &h, 2);
			break;
		case AM_GGML_Q4_1:
		case AM_GGML_Q5_1:
		case AM_GGML_Q4_K:
		case AM_GGML_Q5_K:
			h = half_in(0.001f, 0.05f);
			memcpy(blk, &h, 2);
			h = half_in(-0.05f, 0.05f);
			if (t == AM_GGML_Q4_K || t == AM_GGML_Q5_K)
				h = half_in(0.0f, 0.01f);
			memcpy(blk + 2, &h, 2);
			break;
		case AM_GGML_Q6_K:
			h = half_in(0.0005f, 0.005f);
			memcpy(blk + 208, &h, 2);
			break;
		default:
			h = half_in(0.001f, 0.05f);
			memcpy(blk, &h, 2);
			break;
		}
	}
}

static const enum am_ggml_type all_types[] = {
    AM_GGML_F32,  AM_GGML_F16,  AM_GGML_BF16, AM_GGML_Q4_0, AM_GGML_Q4_1, AM_GGML_Q5_0,
    AM_GGML_Q5_1, AM_GGML_Q8_0, AM_GGML_Q4_K, AM_GGML_Q5_K, AM_GGML_Q6_K};

static void test_half_conversions(void)
{
	/* hand-checked values of IEEE half */
	AM_CHECK(am_fp16_to_fp32(0x3c00) == 1.0f);
	AM_CHECK(am_fp16_to_fp32(0xc000) == -2.0f);
	AM_CHECK(am_fp16_to_fp32(0x7bff) == 65504.0f);
	AM_CHECK(am_fp16_to_fp32(0x0001) == 0x1p-24f);
	AM_CHECK(isinf(am_fp16_to_fp32(0x7c00)));
	AM_CHECK_INT(am_fp32_to_fp16(1.0f), 0x3c00);
	AM_CHECK_INT(am_fp32_to_fp16(65520.0f), 0x7c00);        /* rounds up to infinity */
	AM_CHECK_INT(am_fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00); /* tie to even */
	AM_CHECK_INT(am_fp32_to_fp16(0x1p-25f), 0x0000);        /* tie to even (zero) */
	AM_CHECK_INT(am_fp32_to_fp16(0x1.8p-25f), 0x0001);
	/* every finite half survives a round trip */
	int bad = 0;
	for (uint32_t h = 0; h < 0x10000; h++) {
		if ((h & 0x7c00) == 0x7c00)
			continue;
		if (am_fp32_to_fp16(am_fp16_to_fp32((uint16_t)h)) != h)
			bad++;
	}
	AM_CHECK_INT(bad, 0);
	AM_CHECK(am_bf16_to_fp32(0x3f80) == 1.0f);
	AM_CHECK_INT(am_fp32_to_bf16(1.0f + 0x1p-8f), 0x3f80); /* tie to even */
}

static void test_f16_row_matches_scalar(void)
{
	float x[203];
	uint16_t a[203];
	for (size_t i = 0; i < 203; i++)
		x[i] = frand() * 1000.0f * (float)(i % 7);
	am_f32_to_f16_row(x, a, 203);
	int bad = 0;
	for (size_t i = 0; i < 203; i++)
		bad += a[i] != am_fp32_to_fp16(x[i]);
	AM_CHECK_INT(bad, 0);
}

static void test_dequant_simd_matches_ref(void)
{
	size_t n = 1024;
	uint8_t *buf = am_malloc(n * 4);
	float *a = am_malloc(n * sizeof(float)), *b = am_malloc(n * sizeof(float));
	for (size_t i = 0; i < AM_ARRAY_LEN(all_types); i++) {
		random_blocks(all_types[i], buf, n);
		AM_CHECK_INT(am_dequantize_row(all_types[i], buf, a, n), 0);
		AM_CHECK_INT(am_dequantize_row_ref(all_types[i], buf, b, n), 0);
		AM_CHECK(memcmp(a, b, n * sizeof(float)) == 0);
	}
	AM_CHECK_INT(am_dequantize_row(AM_GGML_Q4_0, buf, a, 31), AM_EINVAL);
	AM_CHECK_INT(am_dequantize_row((enum am_ggml_type)99, buf, a, 32), AM_EINVAL);
	am_free(buf);
	am_free(a);
	am_free(b);
}

/* The integer dot products against a float dot of the dequantized weights with the
 * dequantized activation blocks: the same numbers, so only rounding may differ. */
static void test_qa_dot(void)
{
	size_t n = 512;
	uint8_t *w = am_malloc(n * 2);
	float *x = am_malloc(n * sizeof(float)), *wf = am_malloc(n * sizeof(float)),
	      *xa = am_malloc(n * sizeof(float));
	struct am_qa_block *a = am_malloc(n / 32 * sizeof(*a)),
	                   *a2 = am_malloc(n / 32 * sizeof(*a));
	for (size_t i = 0; i < n; i++)
		x[i] = frand() * (i % 37 == 0 ? 10.0f : 1.0f);
	am_quantize_qa(x, a, n);
	for (size_t b = 0; b < n / 32; b++) {
		int sum = 0;
		for (int j = 0; j < 32; j++) {
			xa[b * 32 + j] = a[b].d * (float)a[b].q[j];
			sum += a[b].q[j];
			/* quantization error at most half a step */
			AM_CHECK(fabsf(xa[b * 32 + j] - x[b * 32 + j]) <= a[b].d * 0.5001f);
			AM_CHECK(a[b].q[j] >= -32767 && a[b].q[j] <= 32767);
		}
		AM_CHECK_NEAR(a[b].s, a[b].d * (float)sum, 1e-4);
	}
	/* the dispatching quantizer equals the scalar one */
	am_quantize_qa_ref(x, a2, n);
	AM_CHECK(memcmp(a, a2, n / 32 * sizeof(*a)) == 0);
	const enum am_ggml_type types[] = {AM_GGML_Q4_0, AM_GGML_Q4_1, AM_GGML_Q5_0, AM_GGML_Q5_1,
	                                   AM_GGML_Q8_0};
	for (size_t i = 0; i < AM_ARRAY_LEN(types); i++) {
		random_blocks(types[i], w, n);
		am_dequantize_row_ref(types[i], w, wf, n);
		double want = am_dot_f32_ref(wf, xa, n), mag = 0;
		for (size_t k = 0; k < n; k++)
			mag += fabs(wf[k] * xa[k]);
		double tol = 1e-5 * mag + 1e-6;
		AM_CHECK_NEAR(am_vec_dot_qa_ref(types[i], w, a, n), want, tol);
		AM_CHECK_NEAR(am_vec_dot_qa(types[i], w, a, n), want, tol);
	}
	am_free(w);
	am_free(x);
	am_free(wf);
	am_free(xa);
	am_free(a);
	am_free(a2);
}

/* The packed layout: groups unpack to the same bytes (padding rows zero), and the packed dot
 * products equal the row-by-row ones (the scalar reference bit for bit: same arithmetic). */
static void test_qpack(void)
{
	const enum am_ggml_type types[] = {AM_GGML_Q4_0, AM_GGML_Q4_1, AM_GGML_Q8_0};
	size_t rows = 37, cols = 96;
	float x[96];
	struct am_qa_block a[3];
	for (size_t i = 0; i < cols; i++)
		x[i] = frand() * (i % 11 == 0 ? 8.0f : 1.0f);
	am_quantize_qa(x, a, cols);
	AM_CHECK(!am_qp_supported(AM_GGML_Q5_0) && !am_qp_supported(AM_GGML_Q4_K));
	for (size_t i = 0; i < AM_ARRAY_LEN(types); i++) {
		enum am_ggml_type t = types[i];
		size_t rb = am_quant_row_bytes(t, cols), groups = (rows + 15) / 16;
		uint8_t *w = am_malloc(rows * rb), *packed = am_malloc(groups * 16 * rb),
		        *back = am_malloc(16 * rb);
		random_blocks(t, w, rows * cols);
		struct am_qmat m = {
		    .type = t, .data = w, .rows = rows, .cols = cols, .row_bytes = rb};
		AM_CHECK_INT(am_qmat_packed_bytes(&m), groups * 16 * rb);
		am_qmat_pack(&m, packed);
		AM_CHECK(m.packed == packed);
		int bad_bytes = 0, bad_ref = 0, bad_simd = 0;
		for (size_t g = 0; g < groups; g++) {
			const uint8_t *grp = packed + g * 16 * rb;
			am_qp_unpack_group(t, grp, cols, back);
			float yr[16], ys[16];
			am_qp_dot_ref(t, grp, a, 0, cols, 1, yr, 16);
			am_qp_dot(t, grp, a, 0, cols, 1, ys, 16);
			for (size_t r = 0; r < 16; r++) {
				size_t row = g * 16 + r;
				if (row >= rows) {
					for (size_t k = 0; k < rb; k++)
						bad_bytes += back[r * rb + k] != 0;
					bad_ref += yr[r] != 0.0f || ys[r] != 0.0f;
					continue;
				}
				bad_bytes += memcmp(back + r * rb, w + row * rb, rb) != 0;
				float want = am_vec_dot_qa_ref(t, w + row * rb, a, cols);
				bad_ref += memcmp(&yr[r], &want, sizeof(float)) != 0;
				double mag = 0;
				float wf[96];
				am_dequantize_row_ref(t, w + row * rb, wf, cols);
				for (size_t k = 0; k < cols; k++)
					mag += fabs(wf[k] * a[k / 32].d * a[k / 32].q[k % 32]);
				bad_simd += !(fabs(ys[r] - want) <= 1e-5 * mag + 1e-6);
			}
		}
		AM_CHECK_INT(bad_bytes, 0);
		AM_CHECK_INT(bad_ref, 0);
		AM_CHECK_INT(bad_simd, 0);
		am_free(w);
		am_free(packed);
		am_free(back);
	}
	/* a token's results are the same bits whether it is computed alone or with up to three
	 * others (batching must not change a token) */
	{
		size_t cols4 = 64, rb = am_quant_row_bytes(AM_GGML_Q4_1, cols4);
		uint8_t *w = am_malloc(16 * rb), *grp = am_malloc(16 * rb);
		float xs[4 * 64], y1[16], y4[4 * 16];
		struct am_qa_block a4[4 * 2];
		random_blocks(AM_GGML_Q4_1, w, 16 * cols4);
		am_qp_pack_group(AM_GGML_Q4_1, w, rb, 16, cols4, grp);
		for (size_t i = 0; i < 4 * cols4; i++)
			xs[i] = frand();
		am_quantize_qa(xs, a4, 4 * cols4);
		for (size_t n = 1; n <= 4; n++) {
			am_qp_dot(AM_GGML_Q4_1, grp, a4, 2, cols4, n, y4, 16);
			for (size_t k = 0; k < n; k++) {
				am_qp_dot(AM_GGML_Q4_1, grp, a4 + 2 * k, 2, cols4, 1, y1, 16);
				AM_CHECK(memcmp(y1, y4 + 16 * k, sizeof(y1)) == 0);
			}
		}
		am_free(w);
		am_free(grp);
	}
	/* the AVX2 and AVX-512 VNNI kernels give the same bits (exact integer sums, the same float
	 * steps per lane) for every type and token count, and stay near the reference */
	const struct am_cpu_features *cf = am_cpu_features();
	if (cf->avx2 && cf->fma && cf->f16c) {
		bool vnni = cf->avx512f && cf->avx512bw && cf->avx512vl && cf->avx512vnni;
		size_t cols8 = 128, nb8 = cols8 / 32;
		float xs[9 * 128], yr[9 * 16], y2[9 * 16], y5[9 * 16];
		struct am_qa_block a9[9 * 4];
		for (size_t i = 0; i < 9 * cols8; i++)
			xs[i] = frand() * (i % 13 == 0 ? 6.0f : 1.0f);
		am_quantize_qa(xs, a9, 9 * cols8);
		for (size_t i = 0; i < AM_ARRAY_LEN(types); i++) {
			size_t rb = am_quant_row_bytes(types[i], cols8);
			uint8_t *w = am_malloc(16 * rb), *grp = am_malloc(16 * rb);
			random_blocks(types[i], w, 16 * cols8);
			am_qp_pack_group(types[i], w, rb, 16, cols8, grp);
			for (size_t n = 1; n <= 9; n++) {
				am_qp_dot_ref(types[i], grp, a9, nb8, cols8, n, yr, 16);
				am_qp_dot_avx2(types[i], grp, a9, nb8, cols8, n, y2, 16);
				int far = 0;
				for (size_t k = 0; k < n * 16; k++)
					far += !(fabs(y2[k] - yr[k]) <= 1e-4 * (fabs(yr[k]) + 1.0));
				AM_CHECK_INT(far, 0);
				if (vnni) {
					am_qp_dot_avx512(types[i], grp, a9, nb8, cols8, n, y5, 16);
					AM_CHECK(memcmp(y2, y5, n * 16 * sizeof(float)) == 0);
				}
			}
			am_free(w);
			am_free(grp);
		}
		printf("qpack: AVX2%s kernels checked\n", vnni ? " and AVX-512 VNNI" : "");
	}
	/* a hand check of the layout: row 1's scale is the group's second half float, and its
	 * code bytes 2..3 sit in chunk 1 at offset 2 */
	uint8_t rows2[2 * 18] = {0}, grp[16 * 18];
	rows2[18 + 0] = 0x34, rows2[18 + 1] = 0x12; /* row 1: d */
	rows2[18 + 2 + 2] = 0xAB, rows2[18 + 2 + 3] = 0xCD;
	am_qp_pack_group(AM_GGML_Q4_0, rows2, 18, 2, 32, grp);
	AM_CHECK(grp[2] == 0x34 && grp[3] == 0x12);
	AM_CHECK(grp[32 + 32 * 1 + 2] == 0xAB && grp[32 + 32 * 1 + 3] == 0xCD);
}

static void check_matmul(enum am_ggml_type t, size_t rows, size_t cols, size_t n_tok,
                         struct am_threadpool *pool, bool generic, bool f32)
{
	size_t rb = am_quant_row_bytes(t, cols);
	uint8_t *w = am_malloc(rows * rb);
	float *x = am_malloc(n_tok * cols * sizeof(float));
	float *y = am_malloc(n_tok * rows * sizeof(float)),
	      *yr = am_malloc(n_tok * rows * sizeof(float));
	float *wf = am_malloc(cols * sizeof(float));
	random_blocks(t, w, rows * cols);
	for (size_t i = 0; i < n_tok * cols; i++)
		x[i] = frand();
	struct am_qmat m = {.type = t, .data = w, .rows = rows, .cols = cols, .row_bytes = rb};
	struct am_kernel_ctx k = {.pool = pool, .force_generic = generic, .f32_activations = f32};
	am_matmul_ref(&m, x, n_tok, yr);
	AM_CHECK_INT(am_matmul(&k, &m, x, n_tok, y), 0);
	/* the packed copy gives the same results, and is all the matmul reads */
	float *yp = am_malloc(n_tok * rows * sizeof(float));
	uint8_t *copy = am_malloc(rows * rb), *packed = NULL;
	memcpy(copy, w, rows * rb);
	struct am_qmat mp = m;
	mp.data = copy;
	size_t pb = am_qmat_packed_bytes(&mp);
	if (pb) {
		packed = am_malloc(pb);
		am_qmat_pack(&mp, packed);
		memset(copy, 0xFF, rows * rb);
		AM_CHECK_INT(am_matmul(&k, &mp, x, n_tok, yp), 0);
	}
	/* error relative to the magnitude sum |w||x| of each output: float rounding for the f32
	 * path, the 8-bit activation rounding (< 1/254 per element) for the integer path */
	bool q8 = am_quant_uses_qa(t) && !f32 && n_tok < 6;
	int bad = 0;
	for (size_t r = 0; r < rows; r++) {
		am_dequantize_row_ref(t, w + r * rb, wf, cols);
		for (size_t tk = 0; tk < n_tok; tk++) {
			double mag = 0;
			for (size_t c = 0; c < cols; c++)
				mag += fabs(wf[c] * x[tk * cols + c]);
			double tol = (q8 ? 1e-4 : 1e-5) * mag + 1e-6;
			if (!(fabs(y[tk * rows + r] - yr[tk * rows + r]) <= tol))
				bad++;
			if (packed && !(fabs(yp[tk * rows + r] - yr[tk * rows + r]) <= tol))
				bad++;
		}
	}
	if (bad)
		fprintf(stderr, "matmul %s %zux%zu n=%zu generic=%d f32=%d: %d bad\n",
		        am_ggml_type_name(t), rows, cols, n_tok, generic, f32, bad);
	AM_CHECK_INT(bad, 0);
	am_free(yp);
	am_free(copy);
	am_free(packed);
	am_kernel_ctx_free(&k);
	am_free(w);
	am_free(x);
	am_free(y);
	am_free(yr);
	am_free(wf);
}

static void test_matmul_all_types(void)
{
	struct am_threadpool *pool = NULL;
	AM_CHECK_INT(am_threadpool_new(3, &pool, NULL), 0);
	for (size_t i = 0; i < AM_ARRAY_LEN(all_types); i++) {
		size_t cols = am_quant_block_elems(all_types[i]) == 256 ? 512 : 96;
		for (int generic = 0; generic < 2; generic++) {
			check_matmul(all_types[i], 37, cols, 1, pool, generic, false);
			check_matmul(all_types[i], 37, cols, 5, pool, generic, false);
			check_matmul(all_types[i], 19, cols, 33, pool, generic, false);
			check_matmul(all_types[i], 21, cols, 2, NULL, generic, true);
		}
	}
	am_threadpool_free(pool);
}

static void test_dot_and_norms(void)
{
	float a[301], b[301], o1[301], o2[301], w[301];
	for (int i = 0; i < 301; i++) {
		a[i] = frand();
		b[i] = frand();
		w[i] = frand();
	}
	AM_CHECK_NEAR(am_dot_f32(a, b, 301), am_dot_f32_ref(a, b, 301), 1e-5);
	am_rmsnorm(a, w, 301, 1e-6f, o1);
	am_rmsnorm_ref(a, w, 301, 1e-6f, o2);
	for (int i = 0; i < 301; i++)
		AM_CHECK_NEAR(o1[i], o2[i], 1e-5);
	/* hand check: rms of (3, 4) is sqrt(12.5) */
	float v[2] = {3, 4}, vo[2];
	am_rmsnorm_ref(v, NULL, 2, 0.0f, vo);
	AM_CHECK_NEAR(vo[0], 3.0 / sqrt(12.5), 1e-6);
	memcpy(o1, a, sizeof(a));
	memcpy(o2, a, sizeof(a));
	am_softmax(o1, 301);
	am_softmax_ref(o2, 301);
	double s = 0;
	for (int i = 0; i < 301; i++) {
		AM_CHECK_NEAR(o1[i], o2[i], 1e-7);
		s += o1[i];
	}
	AM_CHECK_NEAR(s, 1.0, 1e-5);
	/* extreme inputs: exp underflow must give 0, not garbage */
	float e[9] = {0, -200, -1000, 5, 5, -87.5f, -30, 1, 2};
	float e2[9];
	memcpy(e2, e, sizeof(e));
	am_softmax(e, 9);
	am_softmax_ref(e2, 9);
	for (int i = 0; i < 9; i++)
		AM_CHECK_NEAR(e[i], e2[i], 1e-7);
	AM_CHECK_NEAR(am_silu(1.0f), 1.0 / (1.0 + exp(-1.0)), 1e-6);
	AM_CHECK_NEAR(am_gelu(1.0f), 0.8411919906082768, 1e-5); /* tanh-approximate GELU(1) */
	/* the gated activations over a wide range (exp underflow and overflow included) against
	 * the formulas in double precision */
	float g[203], u[203], out[203];
	for (int i = 0; i < 203; i++) {
		g[i] = (float)(i - 101) * (i % 3 == 0 ? 1.0f : 0.05f);
		u[i] = frand();
	}
	for (int gelu = 0; gelu < 2; gelu++) {
		am_glu(g, u, 203, gelu, out);
		int bad = 0;
		for (int i = 0; i < 203; i++) {
			double x = g[i], act = gelu ? 0.5 * x *
			                                  (1.0 + tanh(0.7978845608028654 *
			                                              (x + 0.044715 * x * x * x)))
			                            : x / (1.0 + exp(-x));
			double want = act * u[i];
			bad += !(fabs(out[i] - want) <= 1e-5 * fabs(want) + 1e-6);
		}
		AM_CHECK_INT(bad, 0);
	}
}

static void test_rope(void)
{
	float x[2 * 64], y[2 * 64];
	for (int i = 0; i < 128; i++)
		x[i] = frand();
	const float ff[16] = {1, 1, 2, 2, 4, 4, 8, 8, 1, 1, 2, 2, 4, 4, 8, 8};
	for (int neox = 0; neox < 2; neox++) {
		struct am_rope r = {.n_rot = 32,
		                    .neox = neox,
		                    .theta_base = 10000.0f,
		                    .freq_scale = 0.5f,
		                    .freq_factors = ff};
		memcpy(y, x, sizeof(x));
		float z[128];
		memcpy(z, x, sizeof(x));
		am_rope(y, 2, 64, 1234, &r);
		am_rope_ref(z, 2, 64, 1234, &r);
		for (int i = 0; i < 128; i++)
			AM_CHECK_NEAR(y[i], z[i], 1e-5);
		/* dims past n_rot are untouched */
		AM_CHECK(y[40] == x[40] && y[64 + 63] == x[64 + 63]);
	}
	/* hand check: pair (0,1) at pos 1, base b: angle 1 rad for i = 0 */
	float p[4] = {1, 0, 1, 0};
	struct am_rope r = {.n_rot = 4, .neox = false, .theta_base = 10000.0f, .freq_scale = 1};
	am_rope_ref(p, 1, 4, 1, &r);
	AM_CHECK_NEAR(p[0], cos(1.0), 1e-6);
	AM_CHECK_NEAR(p[1], sin(1.0), 1e-6);
	AM_CHECK_NEAR(p[2], cos(0.01), 1e-6); /* 10000^(-2/4) = 0.01 */
}

/* One head layout: H query heads on KV kv heads of hd values, 300 cached positions. */
static void check_attention(int H, int KV, int hd)
{
	const long P = 300;
	int group = H / KV;
	size_t stride = (size_t)KV * hd, nq = (size_t)H * hd;
	uint16_t *k = am_malloc(P * stride * 2), *v = am_malloc(P * stride * 2);
	float *q = am_malloc(nq * sizeof(float)), *o1 = am_malloc(nq * sizeof(float)),
	      *o2 = am_malloc(nq * sizeof(float)), *o3 = am_malloc(nq * sizeof(float));
	float *scores = am_malloc((size_t)(P + 2) * group * sizeof(float));
	/* partials of up to 4 blocks: maxima, sums, outputs of the heads of a group */
	float *pm = am_malloc(4 * group * sizeof(float)),
	      *pl = am_malloc(4 * group * sizeof(float)),
	      *po = am_malloc(4 * (size_t)group * hd * sizeof(float));
	/* the same keys and values split as a fork sees them: the first 120 positions from
	 * another cache (a copy), the rest from the original past them */
	const long shared = 120;
	uint16_t *ks = am_malloc(shared * stride * 2), *vs = am_malloc(shared * stride * 2);
	for (size_t i = 0; i < P * stride; i++) {
		k[i] = am_fp32_to_fp16(frand());
		v[i] = am_fp32_to_fp16(frand());
	}
	memcpy(ks, k, shared * stride * 2);
	memcpy(vs, v, shared * stride * 2);
	for (size_t i = 0; i < nq; i++)
		q[i] = frand() * 3;
	long windows[3][2] = {{0, 300}, {200, 300}, {0, 1}};
	for (int wi = 0; wi < 3; wi++) {
		struct am_attn_args a = {.q = q,
		                         .k = k,
		                         .v = v,
		                         .kv_stride = stride,
		                         .n_q_heads = H,
		                         .n_kv_heads = KV,
		                         .head_dim = hd,
		                         .p0 = windows[wi][0],
		                         .p1 = windows[wi][1],
		                         .scale = 0.125f,
		                         .out = o1};
		am_attention_ref(&a);
		a.out = o2;
		am_attention(&a, 0, KV, scores, false);
		int bad = 0;
		for (size_t i = 0; i < nq; i++)
			bad += !(fabsf(o1[i] - o2[i]) <= 1e-5f);
		a.out = o3;
		for (int kvh = 0; kvh < KV; kvh++)
			am_attention(&a, kvh, kvh + 1, scores, true);
		for (size_t i = 0; i < nq; i++)
			bad += !(fabsf(o1[i] - o3[i]) <= 1e-5f);
		/* the same range cut into uneven blocks (one of them empty), merged, with the
		 * positions below 120 read from the other cache */
		for (int split = 0; split < 2; split++) {
			struct am_attn_args as = a;
			if (split) {
				as.k_shared = ks;
				as.v_shared = vs;
				as.head_stride_shared = (size_t)hd;
				as.n_shared = shared;
				as.k = k + shared * stride;
				as.v = v + shared * stride;
			}
			for (int generic = 0; generic < 2; generic++) {
				for (int kvh = 0; kvh < KV; kvh++) {
					long n = a.p1 - a.p0;
					long cuts[5] = {a.p0, a.p0 + n / 3, a.p0 + n / 3,
					                a.p0 + n / 2 + 5, a.p1};
					for (int b = 0; b < 4; b++) {
						long b0 = AM_MIN(cuts[b], a.p1),
						     b1 = AM_MIN(cuts[b + 1], a.p1);
						am_attention_block(
						    &as, kvh, b0, AM_MAX(b0, b1), scores,
						    pm + group * b, pl + group * b,
						    po + (size_t)group * b * hd, generic);
					}
					am_attention_merge(group, hd, 4, pm, pl, po,
					                   o3 + (size_t)kvh * group * hd);
				}
				for (size_t i = 0; i < nq; i++)
					bad += !(fabsf(o1[i] - o3[i]) <= 1e-5f);
			}
		}
		if (bad)
			fprintf(stderr, "attention H=%d KV=%d hd=%d window %d: %d bad\n", H, KV, hd,
			        wi, bad);
		AM_CHECK_INT(bad, 0);
	}
	am_free(k);
	am_free(v);
	am_free(ks);
	am_free(vs);
	am_free(q);
	am_free(o1);
	am_free(o2);
	am_free(o3);
	am_free(scores);
	am_free(pm);
	am_free(pl);
	am_free(po);
}

/* Head sizes and group sizes that take every path of the SIMD kernels: the unrolled sizes
 * (64, 128, 256) with groups that fill, split and undershoot their register blocks, and a size
 * that is none of them (96). */
static void test_attention(void)
{
	check_attention(6, 2, 64);
	check_attention(5, 1, 128);
	check_attention(7, 1, 64);
	check_attention(2, 1, 256);
	check_attention(4, 4, 96);
}

struct count_ctx {
	int *hits;
};

static void count_chunk(void *ctx, size_t chunk, int thread)
{
	struct count_ctx *c = ctx;
	__atomic_fetch_add(&c->hits[chunk], 1, __ATOMIC_RELAXED);
	(void)thread;
}

static void test_threadpool(void)
{
	struct am_threadpool *pool = NULL;
	AM_CHECK_INT(am_threadpool_new(4, &pool, NULL), 0);
	AM_CHECK_INT(am_threadpool_size(pool), 4);
	int hits[1000];
	struct count_ctx c = {hits};
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(round * 7) % 1000;
		memset(hits, 0, sizeof(hits));
		am_threadpool_run(pool, count_chunk, &c, n);
		int bad = 0;
		for (size_t i = 0; i < 1000; i++)
			bad += hits[i] != (i < n ? 1 : 0);
		AM_CHECK_INT(bad, 0);
	}
	am_threadpool_free(pool);
	/* many tiny jobs back to back, of changing sizes: a worker late from one job must never
	 * claim a chunk of, or count toward, the next (this once lost a chunk about one run in
	 * ten) */
	AM_CHECK_INT(am_threadpool_new(2, &pool, NULL), 0);
	int bad = 0;
	for (int round = 0; round < 20000; round++) {
		size_t n = 2 + (size_t)(round % 5) * (round % 3);
		memset(hits, 0, n * sizeof(int));
		am_threadpool_run(pool, count_chunk, &c, n);
		for (size_t i = 0; i < n; i++)
			bad += hits[i] != 1;
	}
	AM_CHECK_INT(bad, 0);
	am_threadpool_free(pool);
	struct am_err err = {0};
	AM_CHECK_INT(am_threadpool_new(0, &pool, &err), AM_EINVAL);
}

int main(void)
{
	am_rng_seed(&rng, 20261128);
	AM_RUN(test_half_conversions);
	AM_RUN(test_f16_row_matches_scalar);
	AM_RUN(test_dequant_simd_matches_ref);
	AM_RUN(test_qa_dot);
	AM_RUN(test_qpack);
	AM_RUN(test_matmul_all_types);
	AM_RUN(test_dot_and_norms);
	AM_RUN(test_rope);
	AM_RUN(test_attention);
	AM_RUN(test_threadpool);
	return am_test_result();
}
