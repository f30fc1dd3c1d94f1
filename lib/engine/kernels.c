/* kernels.c: reference kernels, the scalar fallbacks and the run-time dispatch to the AVX2
 * versions in kernels_avx2.c (see amlab/kernels.h). */
#include "amlab/kernels.h"

#include "amlab/alloc.h"
#include "amlab/cpu.h"
#include "kernels_internal.h"
#include "quant_internal.h"

#include <math.h>

#define TILE_ROWS      AM_QP_ROWS /* a tile is a packed group */
#define F32_MIN_TOKENS 6

static bool use_avx2(bool force_generic)
{
	const struct am_cpu_features *f = am_cpu_features();
	return !force_generic && f->avx2 && f->fma && f->f16c;
}

void am_kernel_ctx_free(struct am_kernel_ctx *k)
{
	if (!k)
		return;
	am_free(k->act);
	am_free(k->tiles);
	k->act = NULL;
	k->tiles = NULL;
	k->act_cap = k->tiles_cap = 0;
}

double am_dot_f32_ref(const float *a, const float *b, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * (double)b[i];
	return s;
}

static float dot_f32_generic(const float *a, const float *b, size_t n)
{
	float s[4] = {0, 0, 0, 0};
	size_t i = 0;
	for (; i + 4 <= n; i += 4)
		for (int j = 0; j < 4; j++)
			s[j] += a[i + j] * b[i + j];
	for (; i < n; i++)
		s[0] += a[i] * b[i];
	return (s[0] + s[1]) + (s[2] + s[3]);
}

float am_dot_f32(const float *a, const float *b, size_t n)
{
	if (use_avx2(false))
		return am_dot_f32_avx2(a, b, n);
	return dot_f32_generic(a, b, n);
}

void am_matmul_ref(const struct am_qmat *w, const float *x, size_t n_tok, float *y)
{
	float *row = am_malloc(w->cols * sizeof(float));
	if (!row) {
		/* the reference is a test oracle: fail loudly rather than return garbage */
		for (size_t i = 0; i < n_tok * w->rows; i++)
			y[i] = NAN;
		return;
	}
	for (size_t r = 0; r < w->rows; r++) {
		am_dequantize_row_ref(w->type, (const uint8_t *)w->data + r * w->row_bytes, row,
		                      w->cols);
		for (size_t t = 0; t < n_tok; t++)
			y[t * w->rows + r] = (float)am_dot_f32_ref(row, x + t * w->cols, w->cols);
	}
	am_free(row);
}

size_t am_qmat_packed_bytes(const struct am_qmat *w)
{
	if (!am_qp_supported(w->type) || w->cols % 32)
		return 0;
	return (w->rows + AM_QP_ROWS - 1) / AM_QP_ROWS * AM_QP_ROWS * w->row_bytes;
}

void am_qmat_pack(struct am_qmat *w, uint8_t *dst)
{
	size_t group = AM_QP_ROWS * w->row_bytes;
	for (size_t r0 = 0; r0 < w->rows; r0 += AM_QP_ROWS)
		am_qp_pack_group(w->type, (const uint8_t *)w->data + r0 * w->row_bytes,
		                 w->row_bytes, AM_MIN((size_t)AM_QP_ROWS, w->rows - r0), w->cols,
		                 dst + r0 / AM_QP_ROWS * group);
	w->packed = dst;
}

/* A matmul job is cut into chunks of whole tiles; each chunk a contiguous run of tiles, so a thread
 * streams through its part of a matrix in order. */
struct matmul_job {
	struct am_kernel_ctx *k;
	size_t n_mats;
	const struct am_qmat *const *ws;
	const float *x;
	size_t n_tok;
	float *const *ys;
	size_t chunks_before[9]; /* chunk index where matrix i starts (n_mats <= 8) */
	size_t tiles_per_chunk[8];
	size_t n_chunks;
	size_t scratch_floats; /* per thread: a dequantized tile, then an unpacked group */
	size_t n_quant_chunks;
	bool avx2;
	bool f32[8]; /* matrix i multiplies dequantized weights with float activations */
};

/* Rows r0..r1 of a tile: the ggml rows, or a packed group unpacked into scratch. */
static const uint8_t *tile_rows(const struct am_qmat *w, size_t r0, uint8_t *scratch)
{
	if (!w->packed)
		return (const uint8_t *)w->data + r0 * w->row_bytes;
	am_qp_unpack_group(w->type, w->packed + r0 * w->row_bytes, w->cols, scratch);
	return scratch;
}

static void matmul_tile(struct matmul_job *j, size_t mi, size_t r0, size_t r1, float *scratch)
{
	const struct am_qmat *w = j->ws[mi];
	float *y = j->ys[mi];
	size_t cols = w->cols, rows = w->rows;
	if (!j->f32[mi]) {
		const struct am_qa_block *act = j->k->act;
		size_t nb = cols / AM_QA_BLOCK;
		if (w->packed) {
			const uint8_t *grp = w->packed + r0 * w->row_bytes;
			if (r1 - r0 == AM_QP_ROWS) {
				if (j->avx2)
					am_qp_dot(w->type, grp, act, nb, cols, j->n_tok, y + r0,
					          rows);
				else
					am_qp_dot_ref(w->type, grp, act, nb, cols, j->n_tok, y + r0,
					              rows);
				return;
			}
			/* the last, partial group: all 16 lanes into scratch, the rows kept */
			float out[AM_QP_ROWS];
			for (size_t t = 0; t < j->n_tok; t++) {
				if (j->avx2)
					am_qp_dot(w->type, grp, act + t * nb, nb, cols, 1, out,
					          AM_QP_ROWS);
				else
					am_qp_dot_ref(w->type, grp, act + t * nb, nb, cols, 1, out,
					              AM_QP_ROWS);
				memcpy(y + t * rows + r0, out, (r1 - r0) * sizeof(float));
			}
			return;
		}
		const uint8_t *base = w->data;
		if (j->avx2) {
			for (size_t t = 0; t < j->n_tok; t++) {
				size_t r = r0;
				for (; r + 2 <= r1; r += 2)
					am_vec_dot_qa_x2_avx2(w->type, base + r * w->row_bytes,
					                      w->row_bytes, act + t * nb, cols,
					                      y + t * rows + r);
				for (; r < r1; r++)
					y[t * rows + r] = am_vec_dot_qa_avx2(
					    w->type, base + r * w->row_bytes, act + t * nb, cols);
			}
		} else {
			for (size_t t = 0; t < j->n_tok; t++)
				for (size_t r = r0; r < r1; r++)
					y[t * rows + r] = am_vec_dot_qa_ref(
					    w->type, base + r * w->row_bytes, act + t * nb, cols);
		}
		return;
	}
	const float *rowsf;
	if (w->type == AM_GGML_F32) {
		rowsf = (const float *)((const uint8_t *)w->data + r0 * w->row_bytes);
	} else {
		float *tile = scratch;
		const uint8_t *src = tile_rows(w, r0, (uint8_t *)(scratch + TILE_ROWS * cols));
		for (size_t r = r0; r < r1; r++) {
			const uint8_t *row = src + (r - r0) * w->row_bytes;
			if (j->avx2)
				am_dequantize_row(w->type, row, tile + (r - r0) * cols, cols);
			else
				am_dequantize_row_ref(w->type, row, tile + (r - r0) * cols, cols);
		}
		rowsf = tile;
	}
	if (j->avx2) {
		am_gemm_f32_avx2(rowsf, r1 - r0, j->x, j->n_tok, cols, y + r0, rows);
		return;
	}
	for (size_t t = 0; t < j->n_tok; t++) {
		const float *xt = j->x + t * cols;
		for (size_t r = r0; r < r1; r++)
			y[t * rows + r] = dot_f32_generic(rowsf + (r - r0) * cols, xt, cols);
	}
}

static void matmul_worker(void *ctx, size_t ci, int thread)
{
	struct matmul_job *j = ctx;
	float *scratch = j->k->tiles ? j->k->tiles + (size_t)thread * j->scratch_floats : NULL;
	size_t mi = 0;
	while (mi + 1 < j->n_mats && ci >= j->chunks_before[mi + 1])
		mi++;
	const struct am_qmat *w = j->ws[mi];
	size_t tile0 = (ci - j->chunks_before[mi]) * j->tiles_per_chunk[mi];
	for (size_t r0 = tile0 * TILE_ROWS;
	     r0 < w->rows && r0 < (tile0 + j->tiles_per_chunk[mi]) * TILE_ROWS; r0 += TILE_ROWS)
		matmul_tile(j, mi, r0, AM_MIN(r0 + TILE_ROWS, w->rows), scratch);
}

/* Chunk c of the tokens' activations into 16-bit blocks: tokens [c * n / nc, (c + 1) * n / nc)
 * of n tokens in nc = j->n_quant_chunks runs. */
static void quantize_worker(void *ctx, size_t c, int thread)
{
	const struct matmul_job *j = ctx;
	size_t cols = j->ws[0]->cols, nc = j->n_quant_chunks;
	(void)thread;
	for (size_t t = c * j->n_tok / nc; t < (c + 1) * j->n_tok / nc; t++) {
		struct am_qa_block *act =
		    (struct am_qa_block *)j->k->act + t * (cols / AM_QA_BLOCK);
		if (j->avx2)
			am_quantize_qa_avx2(j->x + t * cols, act, cols);
		else
			am_quantize_qa_ref(j->x + t * cols, act, cols);
	}
}

static int grow(void **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	void *n = am_realloc(*p, need);
	if (!n)
		return AM_ENOMEM;
	*p = n;
	*cap = need;
	return 0;
}

int am_matmul_multi(struct am_kernel_ctx *k, size_t n_mats, const struct am_qmat *const *ws,
                    const float *x, size_t n_tok, float *const *ys)
{
	if (n_mats == 0 || n_mats > 8)
		return AM_EINVAL;
	struct matmul_job j = {.k = k,
	                       .n_mats = n_mats,
	                       .ws = ws,
	                       .x = x,
	                       .n_tok = n_tok,
	                       .ys = ys,
	                       .avx2 = use_avx2(k->force_generic)};
	size_t cols = ws[0]->cols;
	/* Packed matrices always use the 16-bit integer dot products: as fast as float FMAs over
	 * dequantized tiles even for prefill, and a token's logits then never depend on what else
	 * is in its batch. Unpacked integer types switch to float activations for batches of many
	 * tokens, which amortize dequantizing a tile over all of them. */
	bool many = n_tok >= (k->f32_min_tokens ? k->f32_min_tokens : F32_MIN_TOKENS);
	int nth = am_threadpool_size(k->pool);
	bool any_qa = false, any_f32 = false;
	for (size_t i = 0; i < n_mats; i++) {
		if (ws[i]->cols != cols)
			return AM_EINVAL;
		size_t tiles = (ws[i]->rows + TILE_ROWS - 1) / TILE_ROWS;
		/* few, long contiguous runs of tiles per thread: one for a single token, whose
		 * matmuls stream the weights from memory (longer streams measured ~15% faster
		 * than four runs), two for batches, so that a thread finishing early still takes
		 * over work; each claim moves a cache line between cores */
		size_t per_thread = n_tok == 1 ? 1 : 2;
		j.tiles_per_chunk[i] = AM_MAX((size_t)1, tiles / ((size_t)nth * per_thread));
		j.chunks_before[i] = j.n_chunks;
		j.n_chunks += (tiles + j.tiles_per_chunk[i] - 1) / j.tiles_per_chunk[i];
		j.f32[i] = k->f32_activations || !am_quant_uses_qa(ws[i]->type) ||
		           (!ws[i]->packed && many);
		if (!j.f32[i])
			any_qa = true;
		else
			any_f32 = true;
	}
	if (any_qa) {
		if (cols % AM_QA_BLOCK)
			return AM_EINVAL;
		if (grow(&k->act, &k->act_cap,
		         n_tok * (cols / AM_QA_BLOCK) * sizeof(struct am_qa_block)))
			return AM_ENOMEM;
		/* two runs of tokens per thread (see run_tokens in llm.c) */
		j.n_quant_chunks = AM_MIN(n_tok, 2 * (size_t)nth);
		am_threadpool_run(k->pool, quantize_worker, &j, j.n_quant_chunks);
	}
	/* a tile of floats, then room for one unpacked group (fewer than 2 bytes per weight) */
	j.scratch_floats = TILE_ROWS * cols + TILE_ROWS * cols / 2;
	if (any_f32 &&
	    grow((void **)&k->tiles, &k->tiles_cap, (size_t)nth * j.scratch_floats * sizeof(float)))
		return AM_ENOMEM;
	am_threadpool_run(k->pool, matmul_worker, &j, j.n_chunks);
	return 0;
}

int am_matmul(struct am_kernel_ctx *k, const struct am_qmat *w, const float *x, size_t n_tok,
              float *y)
{
	const struct am_qmat *ws[1] = {w};
	float *ys[1] = {y};
	return am_matmul_multi(k, 1, ws, x, n_tok, ys);
}

void am_rmsnorm_ref(const float *x, const float *w, size_t n, float eps, float *out)
{
	double ss = 0.0;
	for (size_t i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	double scale = 1.0 / sqrt(ss / (double)n + eps);
	for (size_t i = 0; i < n; i++)
		out[i] = (float)(x[i] * scale * (w ? w[i] : 1.0f));
}

void am_rmsnorm(const float *x, const float *w, size_t n, float eps, float *out)
{
	float s[4] = {0, 0, 0, 0};
	size_t i = 0;
	for (; i + 4 <= n; i += 4)
		for (int j = 0; j < 4; j++)
			s[j] += x[i + j] * x[i + j];
	for (; i < n; i++)
		s[0] += x[i] * x[i];
	float ss = (s[0] + s[1]) + (s[2] + s[3]);
	float scale = 1.0f / sqrtf(ss / (float)n + eps);
	if (w)
		for (i = 0; i < n; i++)
			out[i] = x[i] * scale * w[i];
	else
		for (i = 0; i < n; i++)
			out[i] = x[i] * scale;
}

void am_rope_ref(float *x, int n_heads, int head_dim, long pos, const struct am_rope *r)
{
	int half = r->n_rot / 2;
	for (int i = 0; i < half; i++) {
		double inv = pow((double)r->theta_base, -2.0 * i / (double)r->n_rot);
		if (r->freq_factors)
			inv /= (double)r->freq_factors[i];
		double theta = (double)pos * (double)r->freq_scale * inv;
		double c = cos(theta), s = sin(theta);
		for (int h = 0; h < n_heads; h++) {
			float *v = x + (size_t)h * head_dim;
			int a = r->neox ? i : 2 * i, b = r->neox ? i + half : 2 * i + 1;
			double x0 = v[a], x1 = v[b];
			v[a] = (float)(x0 * c - x1 * s);
			v[b] = (float)(x0 * s + x1 * c);
		}
	}
}

void am_rope_cs(const struct am_rope *r, long pos, float *cs)
{
	for (int i = 0; i < r->n_rot / 2; i++) {
		double inv = pow((double)r->theta_base, -2.0 * i / (double)r->n_rot);
		if (r->freq_factors)
			inv /= (double)r->freq_factors[i];
		double theta = (double)pos * (double)r->freq_scale * inv;
		cs[2 * i] = (float)cos(theta);
		cs[2 * i + 1] = (float)sin(theta);
	}
}

void am_rope_apply_cs(float *x, int n_heads, int head_dim, const struct am_rope *r, const float *cs)
{
	int half = r->n_rot / 2;
	for (int h = 0; h < n_heads; h++) {
		float *v = x + (size_t)h * head_dim;
		for (int i = 0; i < half; i++) {
			int a = r->neox ? i : 2 * i, b = r->neox ? i + half : 2 * i + 1;
			float x0 = v[a], x1 = v[b], c = cs[2 * i], s = cs[2 * i + 1];
			v[a] = x0 * c - x1 * s;
			v[b] = x0 * s + x1 * c;
		}
	}
}

void am_rope(float *x, int n_heads, int head_dim, long pos, const struct am_rope *r)
{
	float cs[AM_MAX_HEAD_DIM];
	am_rope_cs(r, pos, cs);
	am_rope_apply_cs(x, n_heads, head_dim, r, cs);
}

void am_softmax_ref(float *x, size_t n)
{
	if (n == 0)
		return;
	double mx = x[0];
	for (size_t i = 1; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	double sum = 0.0;
	for (size_t i = 0; i < n; i++)
		sum += exp((double)x[i] - mx);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(exp((double)x[i] - mx) / sum);
}

void am_softmax(float *x, size_t n)
{
	if (n == 0)
		return;
	if (use_avx2(false)) {
		am_softmax_avx2(x, n);
		return;
	}
	float mx = x[0];
	for (size_t i = 1; i < n; i++)
		mx = fmaxf(mx, x[i]);
	float sum = 0.0f;
	for (size_t i = 0; i < n; i++) {
		x[i] = expf(x[i] - mx);
		sum += x[i];
	}
	float inv = 1.0f / sum;
	for (size_t i = 0; i < n; i++)
		x[i] *= inv;
}

float am_silu(float x)
{
	return x / (1.0f + expf(-x));
}

float am_gelu(float x)
{
	const float k = 0.7978845608028654f; /* sqrt(2/pi) */
	return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

void am_glu(const float *gate, const float *up, size_t n, bool gelu, float *out)
{
	if (use_avx2(false)) {
		am_glu_avx2(gate, up, n, gelu, out);
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (gelu ? am_gelu(gate[i]) : am_silu(gate[i])) * up[i];
}

void am_attention_ref(const struct am_attn_args *a)
{
	long n = a->p1 - a->p0;
	int group = a->n_q_heads / a->n_kv_heads;
	double *s = am_malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
	if (!s) {
		for (int i = 0; i < a->n_q_heads * a->head_dim; i++)
			a->out[i] = NAN;
		return;
	}
	for (int h = 0; h < a->n_q_heads; h++) {
		int kvh = h / group;
		const float *q = a->q + (size_t)h * a->head_dim;
		double mx = -INFINITY;
		for (long p = 0; p < n; p++) {
			const uint16_t *k = am_kv_row(a, false, kvh, a->p0 + p);
			double d = 0.0;
			for (int i = 0; i < a->head_dim; i++)
				d += (double)q[i] * am_fp16_to_fp32(k[i]);
			s[p] = d * a->scale;
			mx = s[p] > mx ? s[p] : mx;
		}
		double sum = 0.0;
		for (long p = 0; p < n; p++) {
			s[p] = exp(s[p] - mx);
			sum += s[p];
		}
		for (int i = 0; i < a->head_dim; i++) {
			double acc = 0.0;
			for (long p = 0; p < n; p++)
				acc +=
				    s[p] * am_fp16_to_fp32(am_kv_row(a, true, kvh, a->p0 + p)[i]);
			a->out[(size_t)h * a->head_dim + i] = n > 0 ? (float)(acc / sum) : 0.0f;
		}
	}
	am_free(s);
}

static void attention_block_generic(const struct am_attn_args *a, int kvh, long b0, long b1,
                                    float *scores, float *m, float *l, float *o)
{
	long n = b1 - b0;
	int group = a->n_q_heads / a->n_kv_heads, hd = a->head_dim;
	for (int g = 0; g < group; g++) {
		const float *q = a->q + (size_t)(kvh * group + g) * hd;
		float *og = o + (size_t)g * hd, *sg = scores + (size_t)g * n, mx = -INFINITY,
		      sum = 0.0f;
		for (long p = 0; p < n; p++) {
			const uint16_t *k = am_kv_row(a, false, kvh, b0 + p);
			float d = 0.0f;
			for (int i = 0; i < hd; i++)
				d += q[i] * am_fp16_to_fp32(k[i]);
			sg[p] = d * a->scale;
			mx = fmaxf(mx, sg[p]);
		}
		for (long p = 0; p < n; p++) {
			sg[p] = expf(sg[p] - mx);
			sum += sg[p];
		}
		for (int i = 0; i < hd; i++)
			og[i] = 0.0f;
		for (long p = 0; p < n; p++) {
			const uint16_t *v = am_kv_row(a, true, kvh, b0 + p);
			for (int i = 0; i < hd; i++)
				og[i] += sg[p] * am_fp16_to_fp32(v[i]);
		}
		m[g] = mx;
		l[g] = sum;
	}
}

void am_attention_block(const struct am_attn_args *a, int kvh, long b0, long b1, float *scores,
                        float *m, float *l, float *o, bool force_generic)
{
	if (use_avx2(force_generic) && a->head_dim % 8 == 0 && am_cpu_features()->avx512f)
		am_attention_block_avx512(a, kvh, b0, b1, scores, m, l, o);
	else if (use_avx2(force_generic) && a->head_dim % 8 == 0)
		am_attention_block_avx2(a, kvh, b0, b1, scores, m, l, o);
	else
		attention_block_generic(a, kvh, b0, b1, scores, m, l, o);
}

void am_attention_merge(int group, int head_dim, int n_blocks, const float *m, const float *l,
                        const float *o, float *out)
{
	for (int g = 0; g < group; g++) {
		float mx = -INFINITY, sum = 0.0f;
		for (int b = 0; b < n_blocks; b++)
			mx = fmaxf(mx, m[b * group + g]);
		float *og = out + (size_t)g * head_dim;
		for (int i = 0; i < head_dim; i++)
			og[i] = 0.0f;
		if (mx == -INFINITY)
			continue; /* no position at all */
		for (int b = 0; b < n_blocks; b++) {
			if (l[b * group + g] == 0.0f)
				continue;
			float w = expf(m[b * group + g] - mx);
			sum += w * l[b * group + g];
			const float *ob = o + ((size_t)b * group + g) * head_dim;
			for (int i = 0; i < head_dim; i++)
				og[i] += w * ob[i];
		}
		for (int i = 0; i < head_dim; i++)
			og[i] /= sum;
	}
}

void am_attention(const struct am_attn_args *a, int kvh0, int kvh1, float *scores,
                  bool force_generic)
{
	long n = a->p1 - a->p0;
	int group = a->n_q_heads / a->n_kv_heads, hd = a->head_dim;
	float *m = scores + (size_t)group * (size_t)n, *l = m + group;
	for (int kvh = kvh0; kvh < kvh1; kvh++) {
		float *out = a->out + (size_t)kvh * group * hd;
		am_attention_block(a, kvh, a->p0, a->p1, scores, m, l, out, force_generic);
		for (int g = 0; g < group; g++)
			for (int i = 0; i < hd; i++)
				out[(size_t)g * hd + i] =
				    l[g] > 0.0f ? out[(size_t)g * hd + i] / l[g] : 0.0f;
	}
}

void am_f32_to_f16_row(const float *x, uint16_t *y, size_t n)
{
	if (use_avx2(false)) {
		am_f32_to_f16_row_avx2(x, y, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		y[i] = am_fp32_to_fp16(x[i]);
}
