/* quant.h: the tensor types of GGUF files (ggml block layouts): half/bfloat conversion and
 * dequantization of F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K rows,
 * and the 16-bit activation blocks the integer matmul kernels multiply quantized weights with.
 *
 * Ownership: plain functions over caller-provided memory; nothing is allocated. */
#ifndef AMLAB_QUANT_H
#define AMLAB_QUANT_H

#include "amlab/gguf.h"

/* IEEE half <-> float (round to nearest even; NaN/Inf preserved). */
float am_fp16_to_fp32(uint16_t h);
uint16_t am_fp32_to_fp16(float f);
/* bfloat16 <-> float (round to nearest even, NaN kept quiet, as ggml does). */
float am_bf16_to_fp32(uint16_t h);
uint16_t am_fp32_to_bf16(float f);

/* True for the types this engine computes with. */
bool am_quant_supported(enum am_ggml_type t);
/* Elements and bytes per block of a supported type (0 when unsupported). */
size_t am_quant_block_elems(enum am_ggml_type t);
size_t am_quant_block_bytes(enum am_ggml_type t);
/* Bytes of a row of n elements; 0 when n is not a whole number of blocks or t unsupported. */
size_t am_quant_row_bytes(enum am_ggml_type t, size_t n);

/* Dequantize n elements (a whole number of blocks) of type t from src into dst. The scalar
 * version is the reference; am_dequantize_row picks a SIMD version where one exists, with
 * bit-identical results. Returns AM_EINVAL for an unsupported type or a partial block. */
int am_dequantize_row_ref(enum am_ggml_type t, const void *src, float *dst, size_t n);
int am_dequantize_row(enum am_ggml_type t, const void *src, float *dst, size_t n);

/* Activation blocks for the integer dot products: 32 int16 values q, their scale d (x ~ d*q)
 * and s = d * sum(q). Sixteen bits (not ggml's eight) keep the rounding of activations ~1e-5
 * relative, so single-token decoding agrees with float references to the token. */
#define AM_QA_BLOCK 32
struct am_qa_block {
	float d;
	float s;
	int16_t q[AM_QA_BLOCK];
};

/* Types whose matmul uses the integer kernels over am_qa_block activations. */
bool am_quant_uses_qa(enum am_ggml_type t);
/* Quantize n floats (n a multiple of 32) to n/32 activation blocks (the scalar reference and
 * the dispatching version; bit-identical). */
void am_quantize_qa_ref(const float *x, struct am_qa_block *out, size_t n);
void am_quantize_qa(const float *x, struct am_qa_block *out, size_t n);
/* Dot product of one weight row (type t, n elements) with activation blocks: the scalar
 * reference and the dispatching version (AVX2 where available). */
float am_vec_dot_qa_ref(enum am_ggml_type t, const void *w, const struct am_qa_block *a, size_t n);
float am_vec_dot_qa(enum am_ggml_type t, const void *w, const struct am_qa_block *a, size_t n);

/* Packed layout of the integer matmul (lib/engine/qpack.c), for Q4_0, Q4_1 and Q8_0: a matrix's
 * rows in groups of AM_QP_ROWS, each group the same bytes as its 16 ggml rows reordered. Per
 * 32-column block: the 16 half-float scales, (Q4_1) the 16 mins, then the code bytes in chunks of
 * 32: chunk c holds bytes 2c and 2c+1 of each row's codes, row r at offset 2r. A group of a
 * matrix with cols columns takes AM_QP_ROWS * row_bytes bytes; rows past the matrix are zero. */
#define AM_QP_ROWS 16
bool am_qp_supported(enum am_ggml_type t);
/* Pack n_rows (<= 16) rows of row_bytes bytes at src into the group at dst. */
void am_qp_pack_group(enum am_ggml_type t, const uint8_t *src, size_t row_bytes, size_t n_rows,
                      size_t cols, uint8_t *dst);
/* The inverse: the group's 16 rows, as ggml rows, to dst (16 * row_bytes bytes). */
void am_qp_unpack_group(enum am_ggml_type t, const uint8_t *grp, size_t cols, uint8_t *dst);
/* y[k * ldy + r] = dot(row r of the group, activations of token k) for k < n_tok, token k's
 * blocks at a + k * stride: the scalar reference (the arithmetic of am_vec_dot_qa_ref) and the
 * dispatching version (AVX-512 VNNI or AVX2 where available, the same bits either way). A
 * token's results do not depend on n_tok. */
void am_qp_dot_ref(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a,
                   size_t stride, size_t cols, size_t n_tok, float *y, size_t ldy);
void am_qp_dot(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a, size_t stride,
               size_t cols, size_t n_tok, float *y, size_t ldy);

#endif
