/* quant_internal.h: the pieces of the quant code shared between its scalar and SIMD files. */
#ifndef AMLAB_ENGINE_QUANT_INTERNAL_H
#define AMLAB_ENGINE_QUANT_INTERNAL_H

#include "amlab/quant.h"

void am_q4k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m);
void am_dequant_block_ref(enum am_ggml_type t, const uint8_t *b, float *y);

/* AVX2 versions (lib/engine/quant_avx2.c); call only when am_cpu_features() says so.
 * am_dequantize_row_avx2 returns false for types it has no SIMD path for. */
bool am_dequantize_row_avx2(enum am_ggml_type t, const void *src, float *dst, size_t n);
void am_quantize_qa_avx2(const float *x, struct am_qa_block *out, size_t n);
float am_vec_dot_qa_avx2(enum am_ggml_type t, const void *w, const struct am_qa_block *a, size_t n);
void am_vec_dot_qa_x2_avx2(enum am_ggml_type t, const void *w, size_t row_bytes,
                           const struct am_qa_block *a, size_t n, float *y);
void am_qp_dot_avx2(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a,
                    size_t stride, size_t cols, size_t n_tok, float *y, size_t ldy);
/* AVX-512 VNNI (lib/engine/quant_avx512.c); any n_tok. */
void am_qp_dot_avx512(enum am_ggml_type t, const uint8_t *grp, const struct am_qa_block *a,
                      size_t stride, size_t cols, size_t n_tok, float *y, size_t ldy);

#endif
