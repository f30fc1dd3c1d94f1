/* qpack.c: the packed weight layout of the integer matmul (see amlab/quant.h): packing, unpacking
 * and the scalar reference dot product, with the run-time dispatch to the SIMD versions.
 *
 * Why a second layout: ggml stores a matrix row by row, so a decoding step (one activation vector)
 * computes each output with a horizontal reduction per 32-element block, and the scales arrive one
 * at a time. Interleaving 16 rows makes the 16 outputs the 16 lanes of two vector registers: the
 * activation pair is broadcast, every multiply-add does useful work for 8 rows, and the scales of
 * the 16 rows are one vector load. The bytes are the file's bytes, reordered; nothing is
 * requantized. */
#include "amlab/quant.h"

#include "amlab/cpu.h"
#include "quant_internal.h"

bool am_qp_supported(enum am_ggml_type t)
{
	return t == AM_GGML_Q4_0 || t == AM_GGML_Q4_1 || t == AM_GGML_Q8_0;
}

/* Bytes of the quant codes of one block (after its scale, or scale and min). */
static size_t code_bytes(enum am_ggml_type t)
{
	return t == AM_GGML_Q8_0 ? 32 : 16;
}

static size_t scale_bytes(enum am_ggml_type t)
{
	return t == AM_GGML_Q4_1 ? 4 : 2;
}

/* Move n_rows rows between their ggml layout (rows, row_bytes apart) and a packed group (grp):
 * into the group when pack, out of it otherwise. One mapping serves both directions. */
static void move_group(enum am_ggml_type t, uint8_t *rows, size_t row_bytes, size_t n_rows,
                       size_t cols, uint8_t *grp, bool pack)
{
	size_t bb = am_quant_block_bytes(t), cb = code_bytes(t), sb = scale_bytes(t);
	for (size_t b = 0; b < cols / 32; b++) {
		uint8_t *g = grp + b * AM_QP_ROWS * bb, *codes = g + AM_QP_ROWS * sb;
		for (size_t r = 0; r < n_rows; r++) {
			uint8_t *blk = rows + r * row_bytes + b * bb;
			/* d, (Q4_1) m, then the code bytes in pairs: pair c of row r goes to chunk
			 * c, slot r */
			uint8_t *packed[2 + 16] = {g + 2 * r, g + 2 * AM_QP_ROWS + 2 * r};
			uint8_t *plain[2 + 16] = {blk, blk + 2};
			size_t n = t == AM_GGML_Q4_1 ? 2 : 1;
			for (size_t c = 0; c < cb / 2; c++, n++) {
				packed[n] = codes + c * 2 * AM_QP_ROWS + 2 * r;
				plain[n] = blk + sb + 2 * c;
			}
			for (size_t i = 0; i < n; i++)
				memcpy(pack ? packed[i] : plain[i], pack ? plain[i] : packed[i], 2);
		}
	}
}

void am_qp_pack_group(enum am_ggml_type t, const uint8_t *src, size_t row_bytes, size_t n_rows,
                      size_t cols, uint8_t *dst)
{
	memset(dst, 0, cols / 32 * AM_QP_ROWS * am_quant_block_bytes(t));
	/* the rows are only read when packing */
	move_group(t, (uint8_t *)src, row_bytes, n_rows, cols, dst, true);
}

void am_qp_unpack_group(enum am_ggml_type t, const uint8_t *grp, size_t cols, uint8_t *dst)
{
	move_group(t, dst, cols / 32 * am_quant_block_bytes(t), AM_QP_ROWS, cols, (uint8_t *)grp,
	           false);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

/* The same arithmetic as am_vec_dot_qa_ref, block by block, reading the packed bytes. */
static void qp_dot_one(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a,
                       size_t cols, float *y)
{
	size_t bb = am_quant_block_bytes(t), sb = scale_bytes(t);
	for (size_t r = 0; r < AM_QP_ROWS; r++)
		y[r] = 0.0f;
	for (size_t b = 0; b < cols / 32; b++) {
		const uint8_t *g = grp + b * AM_QP_ROWS * bb;
		const uint8_t *codes = g + AM_QP_ROWS * sb;
		const int16_t *aq = a[b].q;
		for (size_t r = 0; r < AM_QP_ROWS; r++) {
			float d = am_fp16_to_fp32(rd16(g + 2 * r));
			int dot = 0;
			/* element j of row r: chunk j/2 (Q8_0) or (j%16)/2 (Q4), slot r, byte j%2
			 */
			if (t == AM_GGML_Q8_0) {
				for (int j = 0; j < 32; j++)
					dot += (int8_t)
					           codes[(j / 2) * 2 * AM_QP_ROWS + 2 * r + j % 2] *
					       aq[j];
				y[r] += d * a[b].d * (float)dot;
				continue;
			}
			for (int j = 0; j < 16; j++) {
				uint8_t byte = codes[(j / 2) * 2 * AM_QP_ROWS + 2 * r + j % 2];
				dot += (byte & 0xF) * aq[j] + (byte >> 4) * aq[j + 16];
			}
			if (t == AM_GGML_Q4_0)
				y[r] += d * a[b].d * (float)dot - 8.0f * d * a[b].s;
			else
				y[r] += d * a[b].d * (float)dot +
				        am_fp16_to_fp32(rd16(g + 2 * AM_QP_ROWS + 2 * r)) * a[b].s;
		}
	}
}

void am_qp_dot_ref(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a,
                   size_t stride, size_t cols, size_t n_tok, float *y, size_t ldy)
{
	for (size_t k = 0; k < n_tok; k++)
		qp_dot_one(t, grp, a + k * stride, cols, y + k * ldy);
}

void am_qp_dot(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a, size_t stride,
               size_t cols, size_t n_tok, float *y, size_t ldy)
{
	const struct am_cpu_features *f = am_cpu_features();
	if (f->avx512f && f->avx512bw && f->avx512vl && f->avx512vnni && f->f16c) {
		am_qp_dot_avx512(t, grp, a, stride, cols, n_tok, y, ldy);
		return;
	}
	if (f->avx2 && f->fma && f->f16c) {
		am_qp_dot_avx2(t, grp, a, stride, cols, n_tok, y, ldy);
		return;
	}
	am_qp_dot_ref(t, grp, a, stride, cols, n_tok, y, ldy);
}
