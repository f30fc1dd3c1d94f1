/* llm.c: the transformer forward pass of the local engine (llama, qwen2, qwen3, gemma3) over a
 * GGUF file's tensors, with a half-float KV cache per sequence (see amlab/engine.h).
 *
 * A batch may mix sequences: the matmuls run over all its tokens at once (weights are read once
 * per batch, which is what makes batched sampling cheap), attention runs per token over its own
 * sequence's cache. */
#include "amlab/engine.h"

#include "amlab/alloc.h"
#include "amlab/gguf.h"
#include "amlab/str.h"
#include "kernels_internal.h"

#include <math.h>

#define UBATCH 256

struct llm_layer {
	const float *attn_norm, *q_norm, *k_norm, *post_attn_norm, *ffn_norm, *post_ffw_norm;
	const float *q_bias, *k_bias, *v_bias;
	struct am_qmat q, k, v, o, gate, up, down;
	bool swa;
};

struct am_llm {
	struct am_gguf *g;
	struct am_llm_hparams hp;
	struct am_qmat tok_embd, output;
	const float *output_norm;
	const float *rope_freqs;
	struct llm_layer *layers;
	uint8_t *packed; /* owned: the packed copies of the matrices that have one */
	bool *swa;       /* owned: per layer, attends through the sliding window (or NULL) */
};

static const char *arch_prefix(enum am_arch a)
{
	switch (a) {
	case AM_ARCH_LLAMA: return "llama";
	case AM_ARCH_QWEN2: return "qwen2";
	case AM_ARCH_QWEN3: return "qwen3";
	case AM_ARCH_GEMMA3: return "gemma3";
	}
	return "?";
}

static int get_int(struct am_llm *m, const char *key, bool required, long dflt, long lo, long hi,
                   long *out, struct am_err *err)
{
	char full[128];
	am_snprintf(full, sizeof(full), "%s.%s", arch_prefix(m->hp.arch), key);
	if (!am_gguf_has(m->g, full)) {
		if (required)
			return am_err_set(err, AM_EPARSE, "%s: metadata key %s is missing",
			                  am_gguf_name(m->g), full);
		*out = dflt;
		return 0;
	}
	int64_t v;
	int rc = am_gguf_get_i64(m->g, full, &v, err);
	if (rc < 0)
		return rc;
	if (v < lo || v > hi)
		return am_err_set(err, AM_EPARSE, "%s: %s = %" PRId64 " is out of range %ld..%ld",
		                  am_gguf_name(m->g), full, v, lo, hi);
	*out = (long)v;
	return 0;
}

static int get_float(struct am_llm *m, const char *key, bool required, double dflt, float *out,
                     struct am_err *err)
{
	char full[128];
	am_snprintf(full, sizeof(full), "%s.%s", arch_prefix(m->hp.arch), key);
	if (!am_gguf_has(m->g, full)) {
		if (required)
			return am_err_set(err, AM_EPARSE, "%s: metadata key %s is missing",
			                  am_gguf_name(m->g), full);
		*out = (float)dflt;
		return 0;
	}
	double v;
	int rc = am_gguf_get_f64(m->g, full, &v, err);
	if (rc < 0)
		return rc;
	if (!isfinite(v))
		return am_err_set(err, AM_EPARSE, "%s: %s is not finite", am_gguf_name(m->g), full);
	*out = (float)v;
	return 0;
}

/* Find a tensor and check its shape (ne0 = inner, ne1 = rows; 0 = any). */
static int find_tensor(struct am_llm *m, const char *name, bool required, uint64_t ne0,
                       uint64_t ne1, const struct am_gguf_tensor **out, struct am_err *err)
{
	const struct am_gguf_tensor *t = am_gguf_find_tensor(m->g, name);
	*out = NULL;
	if (!t) {
		if (required)
			return am_err_set(err, AM_EPARSE, "%s: tensor %s is missing",
			                  am_gguf_name(m->g), name);
		return 0;
	}
	uint64_t rows = t->n_dims >= 2 ? t->ne[1] : 1;
	if ((ne0 && t->ne[0] != ne0) || (ne1 && rows != ne1) || t->n_dims > 2 ||
	    t->n_elements != t->ne[0] * rows)
		return am_err_set(err, AM_EPARSE,
		                  "%s: tensor %s has shape [%" PRIu64 ", %" PRIu64
		                  "], expected [%" PRIu64 ", %" PRIu64 "]",
		                  am_gguf_name(m->g), name, t->ne[0], rows, ne0, ne1);
	*out = t;
	return 0;
}

static int get_vec(struct am_llm *m, const char *name, bool required, uint64_t n, const float **out,
                   struct am_err *err)
{
	const struct am_gguf_tensor *t;
	int rc = find_tensor(m, name, required, n, 1, &t, err);
	*out = NULL;
	if (rc < 0 || !t)
		return rc;
	if (t->type != AM_GGML_F32)
		return am_err_set(err, AM_EUNSUPPORTED, "%s: tensor %s has type %s, expected F32",
		                  am_gguf_name(m->g), name, am_ggml_type_name(t->type));
	if (((uintptr_t)t->data & 3) != 0)
		return am_err_set(err, AM_EPARSE, "%s: tensor %s is not 4-byte aligned",
		                  am_gguf_name(m->g), name);
	*out = t->data;
	return 0;
}

static int get_mat(struct am_llm *m, const char *name, bool required, uint64_t cols, uint64_t rows,
                   struct am_qmat *out, struct am_err *err)
{
	const struct am_gguf_tensor *t;
	memset(out, 0, sizeof(*out));
	int rc = find_tensor(m, name, required, cols, rows, &t, err);
	if (rc < 0 || !t)
		return rc;
	if (!am_quant_supported(t->type))
		return am_err_set(err, AM_EUNSUPPORTED,
		                  "%s: tensor %s has type %s, which the engine does not support",
		                  am_gguf_name(m->g), name, am_ggml_type_name(t->type));
	size_t rb = am_quant_row_bytes(t->type, (size_t)t->ne[0]);
	if (!rb || rb * (t->n_dims >= 2 ? t->ne[1] : 1) != t->n_bytes)
		return am_err_set(err, AM_EPARSE,
		                  "%s: tensor %s: rows of %" PRIu64 " are not whole %s blocks",
		                  am_gguf_name(m->g), name, t->ne[0], am_ggml_type_name(t->type));
	if (t->type == AM_GGML_F32 && ((uintptr_t)t->data & 3) != 0)
		return am_err_set(err, AM_EPARSE, "%s: tensor %s is not 4-byte aligned",
		                  am_gguf_name(m->g), name);
	out->type = t->type;
	out->data = t->data;
	out->cols = (size_t)t->ne[0];
	out->rows = (size_t)(t->n_dims >= 2 ? t->ne[1] : 1);
	out->row_bytes = rb;
	return 0;
}

/* Which layers attend through the sliding window: attention.sliding_window_pattern, a period
 * p (layer il is local when il % p < p - 1) or one flag per layer; Gemma 3's period 6 when the
 * file has neither. */
static int load_swa_layers(struct am_llm *m, struct am_err *err)
{
	struct am_llm_hparams *hp = &m->hp;
	char key[128];
	am_snprintf(key, sizeof(key), "%s.attention.sliding_window_pattern", arch_prefix(hp->arch));
	m->swa = am_calloc((size_t)hp->n_layer, sizeof(bool));
	if (!m->swa)
		return am_err_set(err, AM_ENOMEM, "out of memory loading %s", am_gguf_name(m->g));
	enum am_gguf_vtype et;
	uint64_t count;
	if (am_gguf_has(m->g, key) && am_gguf_get_array(m->g, key, &et, &count, NULL) == 0) {
		if (count != (uint64_t)hp->n_layer)
			return am_err_set(err, AM_EPARSE,
			                  "%s: %s has %" PRIu64 " flags for %d layers",
			                  am_gguf_name(m->g), key, count, hp->n_layer);
		for (int il = 0; il < hp->n_layer; il++) {
			int64_t f;
			int rc = am_gguf_array_i64_at(m->g, key, (uint64_t)il, &f, err);
			if (rc < 0)
				return rc;
			m->swa[il] = f != 0;
		}
		return 0;
	}
	long period;
	int rc =
	    get_int(m, "attention.sliding_window_pattern", false, 6, 1, hp->n_layer, &period, err);
	if (rc < 0)
		return rc;
	for (int il = 0; il < hp->n_layer; il++)
		m->swa[il] = il % period < period - 1;
	return 0;
}

static int load_hparams(struct am_llm *m, struct am_err *err)
{
	struct am_llm_hparams *hp = &m->hp;
	char *arch = NULL;
	int rc = am_gguf_get_cstr(m->g, "general.architecture", &arch, err);
	if (rc < 0)
		return rc;
	if (strcmp(arch, "llama") == 0)
		hp->arch = AM_ARCH_LLAMA;
	else if (strcmp(arch, "qwen2") == 0)
		hp->arch = AM_ARCH_QWEN2;
	else if (strcmp(arch, "qwen3") == 0)
		hp->arch = AM_ARCH_QWEN3;
	else if (strcmp(arch, "gemma3") == 0)
		hp->arch = AM_ARCH_GEMMA3;
	else
		rc = am_err_set(err, AM_EUNSUPPORTED,
		                "%s: architecture \"%s\" is not supported (llama, qwen2, qwen3, "
		                "gemma3)",
		                am_gguf_name(m->g), arch);
	am_free(arch);
	if (rc < 0)
		return rc;
	long v;
	if ((rc = get_int(m, "embedding_length", true, 0, 1, 1 << 16, &v, err)) < 0)
		return rc;
	hp->n_embd = (int)v;
	if ((rc = get_int(m, "block_count", true, 0, 1, 1024, &v, err)) < 0)
		return rc;
	hp->n_layer = (int)v;
	if ((rc = get_int(m, "attention.head_count", true, 0, 1, 1024, &v, err)) < 0)
		return rc;
	hp->n_head = (int)v;
	if ((rc = get_int(m, "attention.head_count_kv", false, hp->n_head, 1, hp->n_head, &v,
	                  err)) < 0)
		return rc;
	hp->n_head_kv = (int)v;
	if (hp->n_head % hp->n_head_kv)
		return am_err_set(err, AM_EPARSE,
		                  "%s: head_count %d is not a multiple of "
		                  "head_count_kv %d",
		                  am_gguf_name(m->g), hp->n_head, hp->n_head_kv);
	if ((rc = get_int(m, "feed_forward_length", true, 0, 1, 1 << 20, &v, err)) < 0)
		return rc;
	hp->n_ff = (int)v;
	if ((rc = get_int(m, "attention.key_length", false, hp->n_embd / hp->n_head, 1,
	                  AM_MAX_HEAD_DIM, &v, err)) < 0)
		return rc;
	hp->head_dim = (int)v;
	if ((rc = get_int(m, "rope.dimension_count", false, hp->head_dim, 2, hp->head_dim, &v,
	                  err)) < 0)
		return rc;
	hp->n_rot = (int)v;
	if (hp->n_rot % 2)
		return am_err_set(err, AM_EPARSE, "%s: rope.dimension_count %d is odd",
		                  am_gguf_name(m->g), hp->n_rot);
	if ((rc = get_int(m, "context_length", false, 4096, 1, 1L << 24, &v, err)) < 0)
		return rc;
	hp->n_ctx_train = v;
	if ((rc = get_float(m, "attention.layer_norm_rms_epsilon", false, 1e-6, &hp->eps, err)) < 0)
		return rc;
	if ((rc = get_float(m, "rope.freq_base", false, 10000.0, &hp->rope_base, err)) < 0)
		return rc;
	float factor = 1.0f;
	if ((rc = get_float(m, "rope.scaling.factor", false, 1.0, &factor, err)) < 0)
		return rc;
	if (factor <= 0.0f)
		return am_err_set(err, AM_EPARSE, "%s: rope.scaling.factor must be positive",
		                  am_gguf_name(m->g));
	hp->rope_scale = 1.0f / factor;
	hp->rope_base_swa = hp->rope_base;
	hp->embd_scale = 1.0f;
	hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
	hp->neox = hp->arch != AM_ARCH_LLAMA;
	if (hp->arch == AM_ARCH_GEMMA3) {
		if ((rc = get_int(m, "attention.sliding_window", false, 0, 0, 1L << 24, &v, err)) <
		    0)
			return rc;
		hp->sliding_window = (int)v;
		if ((rc = load_swa_layers(m, err)) < 0)
			return rc;
		/* the local layers' RoPE base, without scaling; files written before the key
		 * existed mean Gemma 3's 10000 */
		if ((rc = get_float(m, "rope.freq_base_swa", false, 10000.0, &hp->rope_base_swa,
		                    err)) < 0)
			return rc;
		hp->embd_scale = sqrtf((float)hp->n_embd);
		/* query_pre_attn_scalar: n_embd / n_head for the 27B (62 layers, its one model
		 * whose head size differs from that), head_dim for the others; no GGUF key carries
		 * it, so this follows llama.cpp */
		if (hp->n_layer == 62)
			hp->attn_scale = 1.0f / sqrtf((float)hp->n_embd / (float)hp->n_head);
	}
	return 0;
}

static int load_tensors(struct am_llm *m, struct am_err *err)
{
	struct am_llm_hparams *hp = &m->hp;
	int rc;
	size_t E = (size_t)hp->n_embd, qd = (size_t)hp->n_head * hp->head_dim,
	       kvd = (size_t)hp->n_head_kv * hp->head_dim;
	if ((rc = get_mat(m, "token_embd.weight", true, E, 0, &m->tok_embd, err)) < 0)
		return rc;
	hp->n_vocab = (int)m->tok_embd.rows;
	if ((rc = get_mat(m, "output.weight", false, E, m->tok_embd.rows, &m->output, err)) < 0)
		return rc;
	if (!m->output.data)
		m->output = m->tok_embd; /* tied embeddings */
	if ((rc = get_vec(m, "output_norm.weight", true, E, &m->output_norm, err)) < 0)
		return rc;
	if ((rc = get_vec(m, "rope_freqs.weight", false, (uint64_t)hp->n_rot / 2, &m->rope_freqs,
	                  err)) < 0)
		return rc;
	m->layers = am_calloc((size_t)hp->n_layer, sizeof(*m->layers));
	if (!m->layers)
		return am_err_set(err, AM_ENOMEM, "out of memory loading %s", am_gguf_name(m->g));
	bool qk_norm = hp->arch == AM_ARCH_QWEN3 || hp->arch == AM_ARCH_GEMMA3;
	bool gemma = hp->arch == AM_ARCH_GEMMA3;
	for (int il = 0; il < hp->n_layer; il++) {
		struct llm_layer *L = &m->layers[il];
		char n[96];
#define NAME(s) (am_snprintf(n, sizeof(n), "blk.%d.%s", il, s), n)
		if ((rc = get_vec(m, NAME("attn_norm.weight"), true, E, &L->attn_norm, err)) < 0 ||
		    (rc = get_vec(m, NAME("ffn_norm.weight"), true, E, &L->ffn_norm, err)) < 0 ||
		    (rc = get_mat(m, NAME("attn_q.weight"), true, E, qd, &L->q, err)) < 0 ||
		    (rc = get_mat(m, NAME("attn_k.weight"), true, E, kvd, &L->k, err)) < 0 ||
		    (rc = get_mat(m, NAME("attn_v.weight"), true, E, kvd, &L->v, err)) < 0 ||
		    (rc = get_mat(m, NAME("attn_output.weight"), true, qd, E, &L->o, err)) < 0 ||
		    (rc = get_mat(m, NAME("ffn_gate.weight"), true, E, (uint64_t)hp->n_ff, &L->gate,
		                  err)) < 0 ||
		    (rc = get_mat(m, NAME("ffn_up.weight"), true, E, (uint64_t)hp->n_ff, &L->up,
		                  err)) < 0 ||
		    (rc = get_mat(m, NAME("ffn_down.weight"), true, (uint64_t)hp->n_ff, E, &L->down,
		                  err)) < 0)
			return rc;
		if ((rc = get_vec(m, NAME("attn_q.bias"), hp->arch == AM_ARCH_QWEN2, qd, &L->q_bias,
		                  err)) < 0 ||
		    (rc = get_vec(m, NAME("attn_k.bias"), hp->arch == AM_ARCH_QWEN2, kvd,
		                  &L->k_bias, err)) < 0 ||
		    (rc = get_vec(m, NAME("attn_v.bias"), hp->arch == AM_ARCH_QWEN2, kvd,
		                  &L->v_bias, err)) < 0)
			return rc;
		if (qk_norm && ((rc = get_vec(m, NAME("attn_q_norm.weight"), true,
		                              (uint64_t)hp->head_dim, &L->q_norm, err)) < 0 ||
		                (rc = get_vec(m, NAME("attn_k_norm.weight"), true,
		                              (uint64_t)hp->head_dim, &L->k_norm, err)) < 0))
			return rc;
		if (gemma && ((rc = get_vec(m, NAME("post_attention_norm.weight"), true, E,
		                            &L->post_attn_norm, err)) < 0 ||
		              (rc = get_vec(m, NAME("post_ffw_norm.weight"), true, E,
		                            &L->post_ffw_norm, err)) < 0))
			return rc;
#undef NAME
		L->swa = hp->sliding_window > 0 && m->swa && m->swa[il];
	}
	return 0;
}

/* The matmul reads the packed layout (amlab/quant.h) of the types that have one: copy them once,
 * at load. The file's pages stay mapped for the embedding rows. */
static int pack_matrices(struct am_llm *m, struct am_err *err)
{
	size_t n_mats = 7 * (size_t)m->hp.n_layer + 1, total = 0;
	struct am_qmat **mats = am_calloc(n_mats, sizeof(*mats));
	if (!mats)
		return am_err_set(err, AM_ENOMEM, "out of memory loading %s", am_gguf_name(m->g));
	for (int il = 0; il < m->hp.n_layer; il++) {
		struct llm_layer *L = &m->layers[il];
		struct am_qmat *per[7] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
		memcpy(mats + 7 * (size_t)il, per, sizeof(per));
	}
	mats[n_mats - 1] = &m->output;
	for (size_t i = 0; i < n_mats; i++)
		total += am_qmat_packed_bytes(mats[i]);
	int rc = 0;
	if (total && !(m->packed = am_malloc(total))) {
		rc =
		    am_err_set(err, AM_ENOMEM, "out of memory packing the %zu MiB of weights of %s",
		               total >> 20, am_gguf_name(m->g));
		goto out;
	}
	size_t off = 0;
	for (size_t i = 0; i < n_mats; i++) {
		size_t bytes = am_qmat_packed_bytes(mats[i]);
		if (bytes) {
			am_qmat_pack(mats[i], m->packed + off);
			off += bytes;
		}
	}
out:
	am_free(mats);
	return rc;
}

int am_llm_load(const char *path, struct am_llm **out, struct am_err *err)
{
	*out = NULL;
	struct am_llm *m = am_calloc(1, sizeof(*m));
	if (!m)
		return am_err_set(err, AM_ENOMEM, "out of memory loading %s", path);
	int rc = am_gguf_open(path, &m->g, err);
	if (rc < 0)
		goto out;
	if ((rc = load_hparams(m, err)) < 0 || (rc = load_tensors(m, err)) < 0 ||
	    (rc = pack_matrices(m, err)) < 0)
		goto out;
	*out = m;
	m = NULL;
out:
	am_llm_free(m);
	return rc;
}

void am_llm_free(struct am_llm *m)
{
	if (!m)
		return;
	am_free(m->layers);
	am_free(m->packed);
	am_free(m->swa);
	am_gguf_close(m->g);
	am_free(m);
}

const struct am_llm_hparams *am_llm_hparams(const struct am_llm *m)
{
	return &m->hp;
}

const struct am_gguf *am_llm_gguf(const struct am_llm *m)
{
	return m->g;
}

void am_llm_seq_init(struct am_llm_seq *s, const struct am_llm *m)
{
	memset(s, 0, sizeof(*s));
	s->head_dim = (size_t)m->hp.head_dim;
	s->n_planes = (size_t)m->hp.n_layer * (size_t)m->hp.n_head_kv;
}

void am_llm_seq_free(struct am_llm_seq *s)
{
	if (!s)
		return;
	am_free(s->k);
	am_free(s->v);
	s->k = s->v = NULL;
	s->cap = s->n_pos = s->n_shared = 0;
	s->parent = NULL;
}

void am_llm_seq_truncate(struct am_llm_seq *s, long n)
{
	if (n < s->n_pos)
		s->n_pos = n < 0 ? 0 : n;
	if (s->n_pos < s->n_shared) {
		/* no own position is left: the own rows start where the shared ones end */
		s->n_shared = s->n_pos;
		if (s->n_shared == 0)
			s->parent = NULL;
	}
}

/* Key and value rows of position pos in plane pl (layer * n_head_kv + kv head), wherever they
 * live: the parent's cache below n_shared, the sequence's own from there on. */
static const uint16_t *row_of(const struct am_llm_seq *s, bool value, size_t pl, long pos)
{
	if (pos < s->n_shared)
		return row_of(s->parent, value, pl, pos);
	return (value ? s->v : s->k) +
	       (pl * (size_t)s->cap + (size_t)(pos - s->n_shared)) * s->head_dim;
}

/* Copy positions [from, to) of src into dst's own rows (dst->n_shared <= from). */
static void copy_rows(struct am_llm_seq *dst, const struct am_llm_seq *src, long from, long to)
{
	for (size_t pl = 0; pl < src->n_planes; pl++) {
		for (long p = from; p < to;) {
			/* runs of rows contiguous in src: all shared, or all own */
			long end = p < src->n_shared ? AM_MIN(to, src->n_shared) : to;
			size_t bytes = (size_t)(end - p) * src->head_dim * sizeof(uint16_t);
			uint16_t *dk = (uint16_t *)row_of(dst, false, pl, p);
			uint16_t *dv = (uint16_t *)row_of(dst, true, pl, p);
			memcpy(dk, row_of(src, false, pl, p), bytes);
			memcpy(dv, row_of(src, true, pl, p), bytes);
			p = end;
		}
	}
}

/* Own room for positions up to need (exclusive). */
static int seq_reserve(struct am_llm_seq *s, long need, struct am_err *err)
{
	long own = need - s->n_shared;
	if (own <= s->cap)
		return 0;
	struct am_llm_seq grown = *s;
	grown.cap = s->cap ? s->cap : 256;
	while (grown.cap < own)
		grown.cap *= 2;
	size_t halves = (size_t)grown.cap * s->head_dim * s->n_planes;
	grown.k = am_reallocarray(NULL, halves, sizeof(uint16_t));
	grown.v = am_reallocarray(NULL, halves, sizeof(uint16_t));
	if (!grown.k || !grown.v) {
		am_free(grown.k);
		am_free(grown.v);
		return am_err_set(err, AM_ENOMEM,
		                  "out of memory growing the KV cache to %ld "
		                  "positions",
		                  need);
	}
	if (s->k)
		copy_rows(&grown, s, s->n_shared, s->n_pos);
	am_free(s->k);
	am_free(s->v);
	*s = grown;
	return 0;
}

int am_llm_seq_copy(struct am_llm_seq *dst, const struct am_llm_seq *src, long n,
                    struct am_err *err)
{
	if (n > src->n_pos)
		n = src->n_pos;
	dst->n_pos = dst->n_shared = 0;
	dst->parent = NULL;
	int rc = seq_reserve(dst, n, err);
	if (rc < 0)
		return rc;
	copy_rows(dst, src, 0, n);
	dst->n_pos = n;
	return 0;
}

int am_llm_seq_fork(struct am_llm_seq *dst, const struct am_llm_seq *src, long n,
                    struct am_err *err)
{
	if (n > src->n_pos)
		n = src->n_pos;
	/* a fork of a fork shares with the original (parents are never forks themselves) */
	while (src->parent && n <= src->n_shared)
		src = src->parent;
	dst->n_pos = 0;
	dst->parent = src->parent ? src->parent : src;
	dst->n_shared = src->parent ? src->n_shared : n;
	/* rows of src's own beyond what it shares are copied */
	int rc = seq_reserve(dst, n, err);
	if (rc < 0) {
		dst->parent = NULL;
		dst->n_shared = 0;
		return rc;
	}
	copy_rows(dst, src, dst->n_shared, n);
	dst->n_pos = n;
	return 0;
}

int am_llm_seq_detach(struct am_llm_seq *s, struct am_err *err)
{
	if (!s->parent)
		return 0;
	struct am_llm_seq own = *s;
	own.k = own.v = NULL;
	own.cap = 0;
	int rc = am_llm_seq_copy(&own, s, s->n_pos, err);
	if (rc < 0)
		return rc;
	am_llm_seq_free(s);
	*s = own;
	return 0;
}

int am_llm_ctx_init(struct am_llm_ctx *c, int n_threads, struct am_err *err)
{
	memset(c, 0, sizeof(*c));
	int rc = am_threadpool_new(n_threads, &c->pool, err);
	c->k.pool = c->pool;
	return rc;
}

void am_llm_ctx_free(struct am_llm_ctx *c)
{
	if (!c)
		return;
	am_kernel_ctx_free(&c->k);
	am_threadpool_free(c->pool);
	am_free(c->buf);
	am_free(c->scores);
	am_free(c->part);
	am_free(c->rope_cs);
	memset(c, 0, sizeof(*c));
}

static int grow_f(float **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	float *n = am_reallocarray(*p, need, sizeof(float));
	if (!n)
		return AM_ENOMEM;
	*p = n;
	*cap = need;
	return 0;
}

/* Attention work units: (token, kv head, block of positions). Long contexts are cut into blocks
 * so that a single decoding token still gives every thread work; the blocks' partial softmax
 * sums are merged afterwards. */
#define ATTN_MIN_BLOCK 256

struct attn_job {
	const struct am_llm *m;
	struct am_llm_ctx *c;
	struct am_llm_seq *const *seqs;
	const struct am_llm_batch *b;
	size_t off; /* first token of this ubatch */
	int layer;
	long block;   /* positions per block */
	int n_blocks; /* blocks per (token, kv head) */
	const float *q;
	float *out;
	float *part; /* per (token, kv head): the blocks' maxima, sums and outputs */
	size_t scores_per_thread;
};

static void attn_worker(void *ctx, size_t u, int thread)
{
	struct attn_job *j = ctx;
	const struct am_llm_hparams *hp = &j->m->hp;
	int nkv = hp->n_head_kv, hd = hp->head_dim, group = hp->n_head / nkv;
	float *scores = j->c->scores + (size_t)thread * j->scores_per_thread;
	size_t blk = u % (size_t)j->n_blocks, rest = u / (size_t)j->n_blocks;
	size_t i = rest / (size_t)nkv;
	int kvh = (int)(rest % (size_t)nkv);
	size_t bi = j->off + i;
	const struct am_llm_seq *s = j->seqs[j->b->seq[bi]];
	long pos = j->b->pos[bi];
	size_t plane = (size_t)s->cap * s->head_dim, layer = (size_t)j->layer * (size_t)nkv;
	const struct am_llm_seq *par = s->parent;
	size_t pplane = par ? (size_t)par->cap * par->head_dim : 0;
	struct am_attn_args a = {
	    .q = j->q + i * (size_t)hp->n_head * hd,
	    .k = s->k ? s->k + layer * plane : NULL,
	    .v = s->v ? s->v + layer * plane : NULL,
	    .kv_stride = s->head_dim,
	    .head_stride = plane,
	    .k_shared = par ? par->k + layer * pplane : NULL,
	    .v_shared = par ? par->v + layer * pplane : NULL,
	    .head_stride_shared = pplane,
	    .n_shared = s->n_shared,
	    .n_q_heads = hp->n_head,
	    .n_kv_heads = nkv,
	    .head_dim = hd,
	    .p0 = j->m->layers[j->layer].swa ? AM_MAX(0, pos - hp->sliding_window + 1) : 0,
	    .p1 = pos + 1,
	    .scale = hp->attn_scale,
	    .out = j->out + i * (size_t)hp->n_head * hd,
	};
	if (j->n_blocks == 1) {
		am_attention(&a, kvh, kvh + 1, scores, j->c->force_generic);
		return;
	}
	long b0 = AM_MIN(a.p1, a.p0 + (long)blk * j->block), b1 = AM_MIN(a.p1, b0 + j->block);
	size_t nbg = (size_t)j->n_blocks * (size_t)group;
	float *pm = j->part + rest * nbg * (size_t)(2 + hd);
	am_attention_block(&a, kvh, b0, b1, scores, pm + blk * (size_t)group,
	                   pm + nbg + blk * (size_t)group, pm + 2 * nbg + blk * (size_t)group * hd,
	                   j->c->force_generic);
}

/* Merge the blocks of every (token, kv head) into the attention outputs. */
static void attn_merge(const struct attn_job *j, size_t n)
{
	const struct am_llm_hparams *hp = &j->m->hp;
	int nkv = hp->n_head_kv, hd = hp->head_dim, group = hp->n_head / nkv;
	size_t nbg = (size_t)j->n_blocks * (size_t)group;
	for (size_t rest = 0; rest < n * (size_t)nkv; rest++) {
		const float *pm = j->part + rest * nbg * (size_t)(2 + hd);
		size_t i = rest / (size_t)nkv, kvh = rest % (size_t)nkv;
		am_attention_merge(group, hd, j->n_blocks, pm, pm + nbg, pm + 2 * nbg,
		                   j->out + i * (size_t)hp->n_head * hd + kvh * (size_t)group * hd);
	}
}

static void add_bias(float *x, const float *bias, size_t n_tok, size_t dim)
{
	if (!bias)
		return;
	for (size_t t = 0; t < n_tok; t++)
		for (size_t i = 0; i < dim; i++)
			x[t * dim + i] += bias[i];
}

/* The per-token steps between the matmuls. A batch of several tokens runs them on the thread
 * pool (one chunk per token), so that no thread idles through them. */
enum tok_stage {
	STAGE_ATTN_IN,  /* layer 0's attention norm */
	STAGE_QKV_OUT,  /* biases, Q/K norms, RoPE, K and V into the cache */
	STAGE_ATTN_OUT, /* post-attention norm, residual, FFN norm */
	STAGE_GLU,
	STAGE_FFN_OUT, /* post-FFN norm, residual, the next layer's attention norm */
};

struct tok_job {
	const struct am_llm *m;
	struct am_llm_seq *const *seqs;
	const struct am_llm_batch *b;
	size_t off;
	int layer;
	enum tok_stage stage;
	size_t n, n_chunks; /* tokens, and the runs of them the pool hands out */
	float *x, *xn, *q, *k, *v, *gate, *up, *tmp;
	float *rope_cs; /* per token: 2 * n_rot floats (global layers, then local) */
};

static struct am_rope layer_rope(const struct am_llm *m, bool swa)
{
	const struct am_llm_hparams *hp = &m->hp;
	struct am_rope r = {.n_rot = hp->n_rot,
	                    .neox = hp->neox,
	                    .theta_base = swa ? hp->rope_base_swa : hp->rope_base,
	                    .freq_scale = swa ? 1.0f : hp->rope_scale,
	                    .freq_factors = m->rope_freqs};
	return r;
}

/* x += tmp, tmp first normalised when the layer has a post-norm (Gemma 3). */
static void add_residual(float *x, float *tmp, const float *post_norm, size_t E, float eps)
{
	if (post_norm)
		am_rmsnorm(tmp, post_norm, E, eps, tmp);
	for (size_t e = 0; e < E; e++)
		x[e] += tmp[e];
}

static void tok_step(const struct tok_job *j, size_t i)
{
	const struct am_llm_hparams *hp = &j->m->hp;
	size_t E = (size_t)hp->n_embd, hd = (size_t)hp->head_dim, H = (size_t)hp->n_head,
	       KV = (size_t)hp->n_head_kv, F = (size_t)hp->n_ff, qd = H * hd, kvd = KV * hd;
	const struct llm_layer *L = &j->m->layers[j->layer];
	float *x = j->x + i * E, *xn = j->xn + i * E, *tmp = j->tmp + i * E;
	float *cs = j->rope_cs + i * 2 * (size_t)hp->n_rot;
	switch (j->stage) {
	case STAGE_ATTN_IN: {
		long pos = j->b->pos[j->off + i];
		struct am_rope g = layer_rope(j->m, false), l = layer_rope(j->m, true);
		am_rope_cs(&g, pos, cs);
		if (hp->sliding_window > 0) /* only then do local layers exist */
			am_rope_cs(&l, pos, cs + hp->n_rot);
		am_rmsnorm(x, L->attn_norm, E, hp->eps, xn);
		return;
	}
	case STAGE_QKV_OUT: {
		float *q = j->q + i * qd, *k = j->k + i * kvd, *v = j->v + i * kvd;
		add_bias(q, L->q_bias, 1, qd);
		add_bias(k, L->k_bias, 1, kvd);
		add_bias(v, L->v_bias, 1, kvd);
		if (L->q_norm) {
			for (size_t h = 0; h < H; h++)
				am_rmsnorm(q + h * hd, L->q_norm, hd, hp->eps, q + h * hd);
			for (size_t h = 0; h < KV; h++)
				am_rmsnorm(k + h * hd, L->k_norm, hd, hp->eps, k + h * hd);
		}
		struct am_rope rope = layer_rope(j->m, L->swa);
		const float *lcs = cs + (L->swa ? hp->n_rot : 0);
		am_rope_apply_cs(q, (int)H, (int)hd, &rope, lcs);
		am_rope_apply_cs(k, (int)KV, (int)hd, &rope, lcs);
		long pos = j->b->pos[j->off + i];
		struct am_llm_seq *s = j->seqs[j->b->seq[j->off + i]];
		for (size_t h = 0; h < KV; h++) {
			size_t o = (((size_t)j->layer * KV + h) * (size_t)s->cap +
			            (size_t)(pos - s->n_shared)) *
			           hd;
			am_f32_to_f16_row(k + h * hd, s->k + o, hd);
			am_f32_to_f16_row(v + h * hd, s->v + o, hd);
		}
		return;
	}
	case STAGE_ATTN_OUT:
		add_residual(x, tmp, L->post_attn_norm, E, hp->eps);
		am_rmsnorm(x, L->ffn_norm, E, hp->eps, xn);
		return;
	case STAGE_GLU:
		am_glu(j->gate + i * F, j->up + i * F, F, hp->arch == AM_ARCH_GEMMA3,
		       j->gate + i * F);
		return;
	case STAGE_FFN_OUT:
		add_residual(x, tmp, L->post_ffw_norm, E, hp->eps);
		if (j->layer + 1 < hp->n_layer)
			am_rmsnorm(x, j->m->layers[j->layer + 1].attn_norm, E, hp->eps, xn);
		return;
	}
}

/* Chunk ci of n_chunks: a contiguous run of the job's n tokens. */
static void tok_worker(void *ctx, size_t ci, int thread)
{
	const struct tok_job *j = ctx;
	(void)thread;
	for (size_t i = ci * j->n / j->n_chunks; i < (ci + 1) * j->n / j->n_chunks; i++)
		tok_step(j, i);
}

static void run_tokens(struct am_llm_ctx *c, struct tok_job *j, enum tok_stage stage, size_t n)
{
	/* two runs of tokens per thread: each claim moves a cache line between cores, which
	 * costs more than a token's norms */
	j->stage = stage;
	j->n = n;
	j->n_chunks = AM_MIN(n, 2 * (size_t)am_threadpool_size(c->pool));
	am_threadpool_run(c->pool, tok_worker, j, j->n_chunks);
}

/* One ubatch of n tokens starting at batch index off. */
static int forward_ubatch(struct am_llm *m, struct am_llm_ctx *c, struct am_llm_seq *const *seqs,
                          const struct am_llm_batch *b, size_t off, size_t n, float *logits,
                          struct am_err *err)
{
	const struct am_llm_hparams *hp = &m->hp;
	size_t E = (size_t)hp->n_embd, hd = (size_t)hp->head_dim, H = (size_t)hp->n_head,
	       KV = (size_t)hp->n_head_kv, F = (size_t)hp->n_ff;
	size_t qd = H * hd, kvd = KV * hd;
	size_t need = n * (2 * E + qd + 2 * kvd + qd + 2 * F + E);
	long max_span = 0;
	for (size_t i = 0; i < n; i++)
		max_span = AM_MAX(max_span, b->pos[off + i] + 1);
	int nth = am_threadpool_size(c->pool);
	/* few (token, kv head) units and a long context: blocks of positions */
	int n_blocks = 1;
	if (n * KV < 8 * (size_t)nth && max_span > ATTN_MIN_BLOCK)
		n_blocks = (int)AM_MIN((max_span + ATTN_MIN_BLOCK - 1) / ATTN_MIN_BLOCK,
		                       (long)((8 * (size_t)nth + n * KV - 1) / (n * KV)));
	long block = (max_span + n_blocks - 1) / n_blocks;
	size_t spt = (size_t)(block + 2) * (H / KV);
	size_t part = n_blocks > 1 ? n * KV * (size_t)n_blocks * (H / KV) * (2 + hd) : 0;
	if (grow_f(&c->buf, &c->buf_cap, need) || grow_f(&c->scores, &c->scores_cap, spt * nth) ||
	    grow_f(&c->part, &c->part_cap, part) ||
	    grow_f(&c->rope_cs, &c->rope_cs_cap, n * 2 * (size_t)hp->n_rot))
		return am_err_set(err, AM_ENOMEM, "out of memory for a batch of %zu tokens", n);
	c->k.force_generic = c->force_generic;
	float *x = c->buf, *xn = x + n * E, *q = xn + n * E, *k = q + n * qd, *v = k + n * kvd,
	      *att = v + n * kvd, *gate = att + n * qd, *up = gate + n * F, *tmp = up + n * F;
	/* embeddings */
	for (size_t i = 0; i < n; i++) {
		int32_t tok = b->tokens[off + i];
		if (tok < 0 || tok >= hp->n_vocab)
			return am_err_set(err, AM_EINVAL,
			                  "token id %" PRId32 " is outside the "
			                  "vocabulary (%d tokens)",
			                  tok, hp->n_vocab);
		am_dequantize_row(m->tok_embd.type,
		                  (const uint8_t *)m->tok_embd.data +
		                      (size_t)tok * m->tok_embd.row_bytes,
		                  x + i * E, E);
		if (hp->embd_scale != 1.0f)
			for (size_t e = 0; e < E; e++)
				x[i * E + e] *= hp->embd_scale;
	}
	struct tok_job tj = {.m = m,
	                     .seqs = seqs,
	                     .b = b,
	                     .off = off,
	                     .x = x,
	                     .xn = xn,
	                     .q = q,
	                     .k = k,
	                     .v = v,
	                     .gate = gate,
	                     .up = up,
	                     .tmp = tmp,
	                     .rope_cs = c->rope_cs};
	run_tokens(c, &tj, STAGE_ATTN_IN, n);
	for (int il = 0; il < hp->n_layer; il++) {
		const struct llm_layer *L = &m->layers[il];
		tj.layer = il;
		const struct am_qmat *ws[3] = {&L->q, &L->k, &L->v};
		float *ys[3] = {q, k, v};
		if (am_matmul_multi(&c->k, 3, ws, xn, n, ys) < 0)
			return am_err_set(err, AM_ENOMEM, "out of memory in a matmul");
		run_tokens(c, &tj, STAGE_QKV_OUT, n);
		struct attn_job aj = {.m = m,
		                      .c = c,
		                      .seqs = seqs,
		                      .b = b,
		                      .off = off,
		                      .layer = il,
		                      .block = block,
		                      .n_blocks = n_blocks,
		                      .q = q,
		                      .out = att,
		                      .part = c->part,
		                      .scores_per_thread = spt};
		am_threadpool_run(c->pool, attn_worker, &aj, n * KV * (size_t)n_blocks);
		if (n_blocks > 1)
			attn_merge(&aj, n);
		if (am_matmul(&c->k, &L->o, att, n, tmp) < 0)
			return am_err_set(err, AM_ENOMEM, "out of memory in a matmul");
		run_tokens(c, &tj, STAGE_ATTN_OUT, n);
		const struct am_qmat *fw[2] = {&L->gate, &L->up};
		float *fy[2] = {gate, up};
		if (am_matmul_multi(&c->k, 2, fw, xn, n, fy) < 0)
			return am_err_set(err, AM_ENOMEM, "out of memory in a matmul");
		run_tokens(c, &tj, STAGE_GLU, n);
		if (am_matmul(&c->k, &L->down, gate, n, tmp) < 0)
			return am_err_set(err, AM_ENOMEM, "out of memory in a matmul");
		run_tokens(c, &tj, STAGE_FFN_OUT, n);
	}
	/* output rows for the wanted tokens, packed */
	size_t n_want = 0;
	for (size_t i = 0; i < n; i++) {
		if (!b->want[off + i])
			continue;
		am_rmsnorm(x + i * E, m->output_norm, E, hp->eps, xn + n_want * E);
		n_want++;
	}
	if (n_want && am_matmul(&c->k, &m->output, xn, n_want, logits) < 0)
		return am_err_set(err, AM_ENOMEM, "out of memory in a matmul");
	return 0;
}

int am_llm_forward(struct am_llm *m, struct am_llm_ctx *c, struct am_llm_seq *const *seqs,
                   const struct am_llm_batch *b, float *logits, struct am_err *err)
{
	/* Check positions and grow caches before touching anything. */
	int rc;
	for (size_t i = 0; i < b->n; i++) {
		struct am_llm_seq *s = seqs[b->seq[i]];
		long pos = b->pos[i];
		if (pos < 0 || pos > s->n_pos)
			return am_err_set(err, AM_EINVAL,
			                  "batch token %zu: position %ld does not "
			                  "follow the sequence's %ld cached positions",
			                  i, pos, s->n_pos);
		if (pos < s->n_shared)
			return am_err_set(err, AM_EINVAL,
			                  "batch token %zu: position %ld is in the %ld positions "
			                  "the sequence shares with another",
			                  i, pos, s->n_shared);
		if (pos == s->n_pos) {
			if ((rc = seq_reserve(s, pos + 1, err)) < 0)
				return rc;
			s->n_pos = pos + 1;
		}
	}
	size_t out_row = 0;
	for (size_t off = 0; off < b->n; off += UBATCH) {
		size_t n = AM_MIN((size_t)UBATCH, b->n - off);
		if ((rc = forward_ubatch(m, c, seqs, b, off, n,
		                         logits ? logits + out_row * (size_t)m->hp.n_vocab : NULL,
		                         err)) < 0)
			return rc;
		for (size_t i = 0; i < n; i++)
			out_row += b->want[off + i];
	}
	return 0;
}

int am_llm_eval(struct am_llm *m, struct am_llm_ctx *c, struct am_llm_seq *s, const int32_t *tokens,
                size_t n, bool all_logits, float *logits, struct am_err *err)
{
	if (n == 0)
		return 0;
	long *pos = am_reallocarray(NULL, n, sizeof(long));
	int *seq = am_calloc(n, sizeof(int));
	bool *want = am_calloc(n, sizeof(bool));
	int rc = 0;
	if (!pos || !seq || !want) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory for a batch of %zu tokens", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		pos[i] = s->n_pos + (long)i;
		want[i] = all_logits || i == n - 1;
	}
	struct am_llm_batch b = {.n = n, .tokens = tokens, .pos = pos, .seq = seq, .want = want};
	struct am_llm_seq *seqs[1] = {s};
	rc = am_llm_forward(m, c, seqs, &b, logits, err);
out:
	am_free(pos);
	am_free(seq);
	am_free(want);
	return rc;
}
