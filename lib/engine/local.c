/* local.c: the local engine as a struct am_model (see amlab/engine.h, amlab/model.h).
 *
 * ops->run pulls every ready request, renders and tokenizes its prompt, and decodes all samples
 * together: requests with the same rendered prompt share one prefill (their caches are copies
 * of it), and every decode step feeds one token of each active sample through the model as one
 * batch. Finished samples leave their KV cache in a slot; the next request whose prompt starts
 * with the same tokens (the next turn of the same episode) resumes from it. */
#include "amlab/alloc.h"
#include "amlab/chat_template.h"
#include "amlab/engine.h"
#include "amlab/gguf.h"
#include "amlab/log.h"
#include "amlab/sampling.h"
#include "amlab/str.h"
#include "amlab/tokenizer.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_TOKENS 512
#define DEFAULT_MAX_BATCH  16
#define MAX_CTX_DEFAULT    32768

struct slot {
	struct am_llm_seq seq;
	int32_t *toks; /* the tokens whose KV the cache holds (seq.n_pos of them) */
	size_t toks_cap;
	uint64_t last_used;
	bool busy;           /* decoding a sample */
	int pinned;          /* source of a group whose samples still need to start */
	int children;        /* samples decoding on forks of this slot's cache */
	struct slot *parent; /* the slot this one's cache is a fork of, while decoding */
};

struct am_local {
	struct am_model base;
	struct am_llm *llm;
	struct am_tokenizer *tok;
	struct am_chat_template tpl;
	struct am_llm_ctx ctx;
	struct slot *slots;
	size_t n_slots, max_slots;
	long n_ctx;
	int max_batch;
	size_t n_vocab;
	uint64_t clock;
};

/* ---- slots ---- */

static int slot_set_tokens(struct slot *s, const int32_t *toks, size_t n, struct am_err *err)
{
	if (n > s->toks_cap) {
		int32_t *t = am_reallocarray(s->toks, n, sizeof(int32_t));
		if (!t)
			return am_err_set(err, AM_ENOMEM, "out of memory");
		s->toks = t;
		s->toks_cap = n;
	}
	if (n)
		memmove(s->toks, toks, n * sizeof(int32_t));
	return 0;
}

static int slot_push_token(struct slot *s, int32_t tok, struct am_err *err)
{
	size_t n = (size_t)s->seq.n_pos; /* already advanced by the forward pass */
	if (n > s->toks_cap) {
		size_t cap = s->toks_cap ? s->toks_cap * 2 : 256;
		while (cap < n)
			cap *= 2;
		int32_t *t = am_reallocarray(s->toks, cap, sizeof(int32_t));
		if (!t)
			return am_err_set(err, AM_ENOMEM, "out of memory");
		s->toks = t;
		s->toks_cap = cap;
	}
	s->toks[n - 1] = tok;
	return 0;
}

/* A slot whose sample is finished: idle, and no longer a fork of another's cache (the shared
 * rows are copied in so that its tokens stay reusable; without the memory, it is emptied). */
static void slot_release(struct slot *s)
{
	s->busy = false;
	if (!s->parent)
		return;
	if (am_llm_seq_detach(&s->seq, NULL) < 0)
		am_llm_seq_truncate(&s->seq, 0);
	s->parent->children--;
	s->parent = NULL;
}

static size_t common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	size_t i = 0;
	while (i < na && i < nb && a[i] == b[i])
		i++;
	return i;
}

/* An idle slot: the one sharing the longest prefix with toks (when toks), else the least
 * recently used; a new one while the pool may grow. NULL when every slot is busy/pinned. */
static struct slot *slot_get(struct am_local *L, const int32_t *toks, size_t n, size_t *lcp_out)
{
	struct slot *best = NULL;
	size_t best_lcp = 0;
	for (size_t i = 0; i < L->n_slots; i++) {
		struct slot *s = &L->slots[i];
		if (s->busy || s->pinned || s->children)
			continue;
		size_t lcp = toks ? common_prefix(s->toks, (size_t)s->seq.n_pos, toks, n) : 0;
		if (!best || lcp > best_lcp ||
		    (lcp == best_lcp && s->last_used < best->last_used)) {
			best = s;
			best_lcp = lcp;
		}
	}
	if ((!best || best_lcp == 0) && L->n_slots < L->max_slots) {
		best = &L->slots[L->n_slots++];
		memset(best, 0, sizeof(*best));
		am_llm_seq_init(&best->seq, L->llm);
		best_lcp = 0;
	}
	if (best)
		best->last_used = ++L->clock;
	if (lcp_out)
		*lcp_out = best_lcp;
	return best;
}

/* Bring slot s to hold toks[0..n) and put the logits of the last token in logits. */
static int slot_prefill(struct am_local *L, struct slot *s, size_t lcp, const int32_t *toks,
                        size_t n, float *logits, struct am_err *err)
{
	if (lcp >= n)
		lcp = n - 1; /* the last token is evaluated again for its logits */
	am_llm_seq_truncate(&s->seq, (long)lcp);
	int rc = am_llm_eval(L->llm, &L->ctx, &s->seq, toks + lcp, n - lcp, false, logits, err);
	if (rc < 0) {
		am_llm_seq_truncate(&s->seq, 0);
		return rc;
	}
	return slot_set_tokens(s, toks, n, err);
}

/* ---- requests ---- */

struct sample {
	size_t req;   /* index into the pulled requests */
	size_t group; /* index into groups */
	struct slot *slot;
	struct am_sampler sampler;
	struct am_buf text;
	float *logits;
	double *lps;
	size_t n_lps, lps_cap;
	long n_gen;
	long max_tokens;
	bool started, done;
	const char *finish;
	size_t stop_at; /* content length after a stop string cut */
};

struct group {
	int32_t *toks;
	size_t n;
	struct slot *src; /* prefilled source while samples still need copies */
	float *logits;    /* logits after the prompt */
	size_t unstarted; /* samples not yet started */
	char *error;      /* per-request failure text (e.g. context length) */
	const char *error_kind;
};

struct pulled {
	const struct am_chat_request *req;
	void *tag;
	size_t group;
};

static int render_prompt(struct am_local *L, const struct am_chat_request *req, int32_t **toks,
                         size_t *n, struct am_err *err)
{
	struct am_buf text = AM_BUF_INIT;
	int32_t *ids = NULL;
	size_t n_ids = 0;
	int rc = am_chat_template_render(&L->tpl, req->messages, req->n_messages, true, &text, err);
	if (rc == 0)
		rc = am_tokenizer_encode(L->tok, text.data ? text.data : "", text.len, true, &ids,
		                         &n_ids, err);
	if (rc == 0) {
		bool bos = am_tokenizer_add_bos(L->tok) && am_tokenizer_bos(L->tok) >= 0;
		*toks = am_reallocarray(NULL, n_ids + 2, sizeof(int32_t));
		if (!*toks) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
		} else {
			size_t k = 0;
			if (bos)
				(*toks)[k++] = am_tokenizer_bos(L->tok);
			if (n_ids)
				memcpy(*toks + k, ids, n_ids * sizeof(int32_t));
			*n = k + n_ids;
		}
	}
	am_free(ids);
	am_buf_free(&text);
	return rc;
}

static void sample_free(struct sample *s)
{
	am_sampler_free(&s->sampler);
	am_buf_free(&s->text);
	am_free(s->logits);
	am_free(s->lps);
}

/* Does the text end inside/with a stop string? Cuts at the earliest stop string found. */
static bool check_stop(const struct am_chat_request *req, struct sample *s, size_t prev_len)
{
	for (size_t i = 0; i < req->n_stop; i++) {
		const char *st = req->stop[i];
		size_t sl = st ? strlen(st) : 0;
		if (!sl)
			continue;
		size_t from = prev_len > sl ? prev_len - sl : 0;
		if (from > s->text.len)
			continue;
		const char *hit = memmem(s->text.data + from, s->text.len - from, st, sl);
		if (hit) {
			size_t at = (size_t)(hit - s->text.data);
			if (!s->done || at < s->stop_at)
				s->stop_at = at;
			s->done = true;
		}
	}
	return s->done;
}

/* Length of the valid UTF-8 sequence starting at p (1..4), or 0 when invalid/incomplete. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Reply text must be valid UTF-8 (it goes into JSON): a character cut by the token limit is
 * dropped, other invalid bytes (a model can emit any byte token) become U+FFFD. */
char *am_engine_valid_utf8(const char *s, size_t n)
{
	if (am_utf8_valid(s, n))
		return am_strndup(s, n);
	struct am_buf b = AM_BUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t k = utf8_seq_len(p + i, n - i);
		if (k) {
			if (am_buf_append(&b, p + i, k, NULL) < 0)
				goto fail;
			i += k;
			continue;
		}
		/* an incomplete sequence at the very end: the limit cut a character */
		bool tail = true;
		for (size_t j = i + 1; j < n; j++)
			if ((p[j] & 0xC0) != 0x80)
				tail = false;
		if (tail && p[i] >= 0xC2 && p[i] <= 0xF4 && n - i < 4)
			break;
		if (am_buf_append(&b, "\xEF\xBF\xBD", 3, NULL) < 0)
			goto fail;
		i++;
	}
	return am_buf_detach(&b, NULL, NULL);
fail:
	am_buf_free(&b);
	return NULL;
}

static int finish_reply(struct am_local *L, struct pulled *p, struct group *g, struct sample *s,
                        struct am_chat_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->status = AM_REPLY_OK;
	r->prompt_tokens = (long)g->n;
	r->completion_tokens = s->n_gen;
	size_t len = s->finish && strcmp(s->finish, "stop") == 0 && s->stop_at < s->text.len
	                 ? s->stop_at
	                 : s->text.len;
	r->content = am_engine_valid_utf8(s->text.data ? s->text.data : "", len);
	r->finish_reason = am_strdup(s->finish ? s->finish : "stop");
	if (!r->content || !r->finish_reason)
		return AM_ENOMEM;
	if (p->req->want_logprobs && s->n_lps) {
		r->token_logprobs = am_memdup(s->lps, s->n_lps * sizeof(double));
		if (!r->token_logprobs)
			return AM_ENOMEM;
		r->n_token_logprobs = s->n_lps;
	}
	(void)L;
	return 0;
}

/* Start sample s: give it a slot holding its group's prompt and its first logits. */
static int start_sample(struct am_local *L, struct group *g, struct sample *s, bool *started,
                        struct am_err *err)
{
	int rc;
	*started = false;
	if (!g->src) {
		size_t lcp;
		struct slot *src = slot_get(L, g->toks, g->n, &lcp);
		if (!src)
			return 0;
		if (!g->logits && !(g->logits = am_calloc(L->n_vocab, sizeof(float))))
			return am_err_set(err, AM_ENOMEM, "out of memory");
		if ((rc = slot_prefill(L, src, lcp, g->toks, g->n, g->logits, err)) < 0)
			return rc;
		g->src = src;
		src->pinned++;
	}
	struct slot *slot;
	if (g->unstarted == 1) {
		slot = g->src; /* the last sample takes the source itself */
		slot->pinned--;
		g->src = NULL;
	} else {
		slot = slot_get(L, NULL, 0, NULL);
		if (!slot)
			return 0;
		/* the samples share the prompt's keys and values: one copy is streamed */
		if ((rc = am_llm_seq_fork(&slot->seq, &g->src->seq, (long)g->n, err)) < 0 ||
		    (rc = slot_set_tokens(slot, g->toks, g->n, err)) < 0)
			return rc;
		slot->parent = g->src;
		g->src->children++;
	}
	slot->busy = true;
	s->slot = slot;
	if (!(s->logits = am_memdup(g->logits, L->n_vocab * sizeof(float))))
		return am_err_set(err, AM_ENOMEM, "out of memory");
	g->unstarted--;
	s->started = true;
	*started = true;
	return 0;
}

/* The requests being served: pulled requests, their samples (one each) and prompt groups. */
struct serve {
	struct pulled *reqs;
	struct sample *samples;
	size_t n, cap;
	struct group *groups;
	size_t n_groups, groups_cap;
};

static void serve_free(struct serve *st)
{
	for (size_t i = 0; i < st->n; i++)
		sample_free(&st->samples[i]);
	for (size_t g = 0; g < st->n_groups; g++) {
		am_free(st->groups[g].toks);
		am_free(st->groups[g].logits);
		am_free(st->groups[g].error);
	}
	am_free(st->reqs);
	am_free(st->samples);
	am_free(st->groups);
}

/* Take one pulled request: render, tokenize, join a group with the same prompt whose samples
 * have not all started (they share its prefill), or open a group. Bad requests are answered
 * at once. Only a failure to allocate is an error. */
static int serve_add(struct am_local *L, struct serve *st, const struct am_chat_request *rq,
                     void *tag, struct am_request_source *src, struct am_err *err)
{
	struct sample *s = NULL;
	if (st->n == st->cap) {
		size_t nc = st->cap ? st->cap * 2 : 16;
		struct pulled *r = am_reallocarray(st->reqs, nc, sizeof(*r));
		if (r)
			st->reqs = r;
		struct sample *sm = am_reallocarray(st->samples, nc, sizeof(*sm));
		if (sm)
			st->samples = sm;
		if (!r || !sm)
			goto oom;
		st->cap = nc;
	}
	if (st->n_groups == st->groups_cap) {
		size_t nc = st->groups_cap ? st->groups_cap * 2 : 16;
		struct group *g = am_reallocarray(st->groups, nc, sizeof(*g));
		if (!g)
			goto oom;
		st->groups = g;
		st->groups_cap = nc;
	}
	size_t i = st->n++;
	st->reqs[i] = (struct pulled){.req = rq, .tag = tag};
	s = &st->samples[i];
	memset(s, 0, sizeof(*s));
	s->req = i;
	am_buf_init(&s->text, 0);
	struct am_sampling_params sp = {.temperature = rq->temperature,
	                                .top_k = rq->top_k,
	                                .top_p = rq->top_p > 0 ? rq->top_p : 1.0,
	                                .min_p = rq->min_p};
	am_sampler_init(&s->sampler, &sp, rq->seed, 0);
	s->max_tokens = rq->max_tokens > 0 ? rq->max_tokens : DEFAULT_MAX_TOKENS;
	int32_t *toks = NULL;
	size_t n = 0;
	struct am_err rerr = {0};
	int r2 = am_sampling_params_check(&sp, &rerr);
	if (r2 == 0)
		r2 = render_prompt(L, rq, &toks, &n, &rerr);
	if (r2 == AM_ENOMEM)
		goto oom;
	if (r2 == 0 && (long)n >= L->n_ctx) {
		r2 = AM_ELIMIT;
		am_err_set(&rerr, AM_ELIMIT, "the prompt has %zu tokens; the context holds %ld", n,
		           L->n_ctx);
	}
	if (r2 < 0) {
		am_free(toks);
		struct am_chat_reply r = {0};
		if (am_chat_reply_set_error(&r, r2 == AM_ELIMIT ? "context_length" : "bad_request",
		                            "%s", rerr.msg) < 0)
			goto oom;
		s->started = s->done = true;
		src->done(src->ctx, tag, &r);
		return 0;
	}
	size_t gi = st->n_groups;
	for (size_t g = 0; g < st->n_groups; g++) {
		struct group *gr = &st->groups[g];
		if (gr->unstarted > 0 && gr->n == n &&
		    memcmp(gr->toks, toks, n * sizeof(int32_t)) == 0) {
			gi = g;
			break;
		}
	}
	if (gi == st->n_groups) {
		memset(&st->groups[gi], 0, sizeof(st->groups[gi]));
		st->groups[gi].toks = toks;
		st->groups[gi].n = n;
		st->n_groups++;
	} else {
		am_free(toks);
	}
	s->group = gi;
	st->reqs[i].group = gi;
	st->groups[gi].unstarted++;
	return 0;
oom : {
	struct am_chat_reply r = {0};
	am_chat_reply_set_error(&r, "internal", "out of memory");
	src->done(src->ctx, tag, &r);
}
	return am_err_set(err, AM_ENOMEM, "out of memory");
}

/* Sample the next token of s; finishes it (and answers its request) when it ends. Returns
 * the token to feed, or -1 when the sample is done. */
static int next_token(struct am_local *L, struct serve *st, size_t i, struct am_request_source *src,
                      int32_t *tok, struct am_err *err)
{
	struct sample *s = &st->samples[i];
	const struct am_chat_request *rq = st->reqs[i].req;
	int rc;
	*tok = -1;
	int32_t t = am_sampler_sample(&s->sampler, s->logits, L->n_vocab);
	if (t < 0)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	if (am_tokenizer_is_eog(L->tok, t)) {
		s->done = true;
		s->finish = "stop";
		s->stop_at = s->text.len;
	} else {
		if (rq->want_logprobs) {
			if (s->n_lps == s->lps_cap) {
				size_t cap = s->lps_cap ? s->lps_cap * 2 : 64;
				double *lp = am_reallocarray(s->lps, cap, sizeof(double));
				if (!lp)
					return am_err_set(err, AM_ENOMEM, "out of memory");
				s->lps = lp;
				s->lps_cap = cap;
			}
			s->lps[s->n_lps++] = am_logprob_of(s->logits, L->n_vocab, t);
		}
		size_t prev = s->text.len;
		if ((rc = am_tokenizer_decode(L->tok, &t, 1, false, &s->text, err)) < 0)
			return rc;
		s->n_gen++;
		if (check_stop(rq, s, prev)) {
			s->finish = "stop";
		} else if (s->n_gen >= s->max_tokens || s->slot->seq.n_pos + 1 >= L->n_ctx) {
			s->done = true;
			s->finish = "length";
			s->stop_at = s->text.len;
		}
	}
	if (!s->done) {
		*tok = t;
		return 0;
	}
	struct am_chat_reply r;
	int fr = finish_reply(L, &st->reqs[i], &st->groups[s->group], s, &r);
	slot_release(s->slot);
	if (fr < 0) {
		am_chat_reply_free(&r);
		return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	/* done() may make new requests ready (the next turn); they are pulled next step */
	src->done(src->ctx, st->reqs[i].tag, &r);
	return 0;
}

/* Continuous batching: pull ready requests whenever the batch has room, start samples, and
 * step every active sample by one token per forward pass, until nothing is active and no
 * request is ready. */
static int local_serve(struct am_local *L, struct am_request_source *src, struct am_err *err)
{
	struct serve st = {0};
	size_t mb = (size_t)L->max_batch;
	int32_t *btok = am_calloc(mb, sizeof(int32_t));
	long *bpos = am_calloc(mb, sizeof(long));
	int *bseq = am_calloc(mb, sizeof(int));
	bool *bwant = am_calloc(mb, sizeof(bool));
	struct am_llm_seq **bseqs = am_calloc(mb, sizeof(*bseqs));
	size_t *bsample = am_calloc(mb, sizeof(size_t));
	float *blogits = am_calloc(mb * L->n_vocab, sizeof(float));
	int rc = 0;
	if (!btok || !bpos || !bseq || !bwant || !bseqs || !bsample || !blogits) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	size_t next = 0; /* first sample that may not have started, in pull order */
	for (;;) {
		size_t active = 0;
		for (size_t i = 0; i < st.n; i++)
			active += st.samples[i].started && !st.samples[i].done;
		/* pull while there is room: every ready request, as the design asks */
		bool room = active < mb;
		while (room) {
			const struct am_chat_request *req = NULL;
			void *tag = NULL;
			if ((rc = src->next(src->ctx, &req, &tag, err)) < 0)
				goto out;
			if (!req)
				break;
			if ((rc = serve_add(L, &st, req, tag, src, err)) < 0)
				goto out;
		}
		while (next < st.n && active < mb) {
			struct sample *s = &st.samples[next];
			if (s->started) {
				next++;
				continue;
			}
			bool ok;
			if ((rc = start_sample(L, &st.groups[s->group], s, &ok, err)) < 0)
				goto out;
			if (!ok)
				break;
			active++;
			next++;
		}
		if (active == 0) {
			if (next < st.n) {
				rc = am_err_set(err, AM_EINTERNAL,
				                "no KV slot free to start a sample");
				goto out;
			}
			break; /* nothing active, nothing ready */
		}
		size_t nb = 0;
		for (size_t i = 0; i < st.n; i++) {
			struct sample *s = &st.samples[i];
			if (!s->started || s->done)
				continue;
			int32_t t;
			if ((rc = next_token(L, &st, i, src, &t, err)) < 0)
				goto out;
			if (t < 0)
				continue;
			btok[nb] = t;
			bpos[nb] = s->slot->seq.n_pos;
			bseq[nb] = (int)nb;
			bwant[nb] = true;
			bseqs[nb] = &s->slot->seq;
			bsample[nb] = i;
			nb++;
		}
		if (nb == 0)
			continue;
		struct am_llm_batch b = {
		    .n = nb, .tokens = btok, .pos = bpos, .seq = bseq, .want = bwant};
		if ((rc = am_llm_forward(L->llm, &L->ctx, bseqs, &b, blogits, err)) < 0)
			goto out;
		for (size_t k = 0; k < nb; k++) {
			struct sample *s = &st.samples[bsample[k]];
			memcpy(s->logits, blogits + k * L->n_vocab, L->n_vocab * sizeof(float));
			if ((rc = slot_push_token(s->slot, btok[k], err)) < 0)
				goto out;
		}
	}
out:
	if (rc < 0) {
		/* whatever was pulled and not answered gets an error reply: the source stays
		 * consistent even when the run cannot go on */
		for (size_t i = 0; i < st.n; i++) {
			if (st.samples[i].done)
				continue;
			struct am_chat_reply r = {0};
			am_chat_reply_set_error(&r, "internal", "local engine: %s",
			                        err ? err->msg : "failure");
			st.samples[i].done = true;
			src->done(src->ctx, st.reqs[i].tag, &r);
		}
	}
	for (size_t i = 0; L->slots && i < L->n_slots; i++) {
		slot_release(&L->slots[i]);
		L->slots[i].pinned = 0;
	}
	serve_free(&st);
	am_free(btok);
	am_free(bpos);
	am_free(bseq);
	am_free(bwant);
	am_free(bseqs);
	am_free(bsample);
	am_free(blogits);
	return rc;
}

static int local_run(struct am_model *m, struct am_request_source *src, struct am_err *err)
{
	struct am_local *L = (struct am_local *)m;
	int rc = local_serve(L, src, err);
	if (rc < 0)
		return rc;
	if (!src->finished(src->ctx))
		return am_err_set(err, AM_ESTATE,
		                  "the request source has no ready request but is not finished");
	return 0;
}

static int tokenize_plain(struct am_local *L, const char *text, int32_t **ids, size_t *n,
                          struct am_err *err)
{
	return am_tokenizer_encode(L->tok, text, strlen(text), false, ids, n, err);
}

static int local_logprob(struct am_model *m, const char *context, const char *continuation,
                         double *logprob, long *n_tokens, struct am_err *err)
{
	struct am_local *L = (struct am_local *)m;
	int32_t *ctx_ids = NULL, *cont_ids = NULL, *all = NULL;
	size_t nc = 0, nk = 0;
	float *logits = NULL;
	bool *want = NULL;
	long *pos = NULL;
	int *seq = NULL;
	int rc;
	if ((rc = tokenize_plain(L, context, &ctx_ids, &nc, err)) < 0 ||
	    (rc = tokenize_plain(L, continuation, &cont_ids, &nk, err)) < 0)
		goto out;
	bool bos = am_tokenizer_add_bos(L->tok) && am_tokenizer_bos(L->tok) >= 0;
	size_t off = bos ? 1 : 0, n_ctx_tok = nc + off, total = n_ctx_tok + nk;
	if (nk == 0) {
		rc = am_err_set(err, AM_EINVAL, "the continuation is empty");
		goto out;
	}
	if (n_ctx_tok == 0) {
		rc = am_err_set(
		    err, AM_EINVAL,
		    "the context is empty and the model has no BOS token to condition on");
		goto out;
	}
	if ((long)total > L->n_ctx) {
		rc = am_err_set(err, AM_ELIMIT,
		                "context and continuation have %zu tokens; the "
		                "context holds %ld",
		                total, L->n_ctx);
		goto out;
	}
	all = am_reallocarray(NULL, total, sizeof(int32_t));
	if (!all) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	if (bos)
		all[0] = am_tokenizer_bos(L->tok);
	memcpy(all + off, ctx_ids, nc * sizeof(int32_t));
	memcpy(all + n_ctx_tok, cont_ids, nk * sizeof(int32_t));
	/* reuse the cache of a previous call with the same context (forced choice scores many
	 * continuations of one prompt) */
	size_t lcp;
	struct slot *s = slot_get(L, all, total, &lcp);
	if (!s) {
		rc = am_err_set(err, AM_EINTERNAL, "no KV slot free");
		goto out;
	}
	if (lcp > n_ctx_tok - 1)
		lcp = n_ctx_tok - 1;
	am_llm_seq_truncate(&s->seq, (long)lcp);
	size_t n = total - lcp;
	logits = am_reallocarray(NULL, (nk + 1) * L->n_vocab, sizeof(float));
	want = am_calloc(n, sizeof(bool));
	pos = am_calloc(n, sizeof(long));
	seq = am_calloc(n, sizeof(int));
	if (!logits || !want || !pos || !seq) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		pos[i] = (long)(lcp + i);
		/* logits at positions n_ctx_tok-1 .. total-2 predict the continuation */
		want[i] = lcp + i >= n_ctx_tok - 1 && lcp + i + 1 < total;
	}
	struct am_llm_batch b = {.n = n, .tokens = all + lcp, .pos = pos, .seq = seq, .want = want};
	struct am_llm_seq *seqs[1] = {&s->seq};
	if ((rc = am_llm_forward(L->llm, &L->ctx, seqs, &b, logits, err)) < 0) {
		am_llm_seq_truncate(&s->seq, 0);
		goto out;
	}
	if ((rc = slot_set_tokens(s, all, total, err)) < 0)
		goto out;
	double sum = 0;
	for (size_t k = 0; k < nk; k++)
		sum += am_logprob_of(logits + k * L->n_vocab, L->n_vocab, cont_ids[k]);
	*logprob = sum;
	*n_tokens = (long)nk;
out:
	am_free(ctx_ids);
	am_free(cont_ids);
	am_free(all);
	am_free(logits);
	am_free(want);
	am_free(pos);
	am_free(seq);
	return rc;
}

static void local_close(struct am_model *m)
{
	struct am_local *L = (struct am_local *)m;
	if (!L)
		return;
	for (size_t i = 0; i < L->n_slots; i++) {
		am_llm_seq_free(&L->slots[i].seq);
		am_free(L->slots[i].toks);
	}
	am_free(L->slots);
	am_llm_ctx_free(&L->ctx);
	am_chat_template_free(&L->tpl);
	am_tokenizer_free(L->tok);
	am_llm_free(L->llm);
	am_free(L->base.id);
	am_free(L);
}

static const struct am_model_ops local_ops = {
    .run = local_run,
    .logprob = local_logprob,
    .close = local_close,
};

static bool file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

#define EMBEDDED_FILE "SmolLM2-135M-Instruct.Q4_1.gguf"

int am_local_resolve(const char *id, char **path, struct am_err *err)
{
	*path = NULL;
	const char *rest = am_starts_with(id, "local/") ? id + 6 : id;
	if (!*rest)
		return am_err_set(err, AM_EINVAL, "model id \"%s\" names no model", id);
	if (strcmp(rest, "smollm2") != 0) {
		if (!file_exists(rest))
			return am_err_set(err, AM_ENOTFOUND, "model file %s does not exist", rest);
		*path = am_strdup(rest);
		return *path ? 0 : am_err_set(err, AM_ENOMEM, "out of memory");
	}
	/* the embedded model: $AMLAB_MODELS_DIR, the source tree (tests), then models/ next to
	 * the executable's tree (build/<dir>/amlab -> models/), then ./models */
	char cand[4096];
	const char *dir = getenv("AMLAB_MODELS_DIR");
	if (dir && am_snprintf(cand, sizeof(cand), "%s/%s", dir, EMBEDDED_FILE) == 0 &&
	    file_exists(cand))
		goto found;
	dir = getenv("AMLAB_SOURCE_DIR");
	if (dir && am_snprintf(cand, sizeof(cand), "%s/models/%s", dir, EMBEDDED_FILE) == 0 &&
	    file_exists(cand))
		goto found;
	char exe[2048];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (k > 0) {
		exe[k] = '\0';
		for (int up = 0; up < 5; up++) {
			char *slash = strrchr(exe, '/');
			if (!slash)
				break;
			*slash = '\0';
			if (am_snprintf(cand, sizeof(cand), "%s/models/%s", exe, EMBEDDED_FILE) ==
			        0 &&
			    file_exists(cand))
				goto found;
		}
	}
	if (am_snprintf(cand, sizeof(cand), "models/%s", EMBEDDED_FILE) == 0 && file_exists(cand))
		goto found;
	return am_err_set(err, AM_ENOTFOUND,
	                  "the embedded model %s was not found (set AMLAB_MODELS_DIR or run "
	                  "scripts/setup)",
	                  EMBEDDED_FILE);
found:
	*path = am_strdup(cand);
	return *path ? 0 : am_err_set(err, AM_ENOMEM, "out of memory");
}

int am_local_open(const char *id_or_path, const struct am_local_options *opts,
                  struct am_model **out, struct am_err *err)
{
	*out = NULL;
	struct am_local_options o = {0};
	if (opts)
		o = *opts;
	char *path = NULL;
	int rc = am_local_resolve(id_or_path, &path, err);
	if (rc < 0)
		return rc;
	struct am_local *L = am_calloc(1, sizeof(*L));
	if (!L) {
		am_free(path);
		return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	L->base.ops = &local_ops;
	L->base.native_tools = false;
	const char *rest = am_starts_with(id_or_path, "local/") ? id_or_path + 6 : id_or_path;
	struct am_buf idb = AM_BUF_INIT;
	if ((rc = am_buf_printf(&idb, err, "local/%s", rest)) < 0)
		goto out;
	L->base.id = am_buf_detach(&idb, NULL, err);
	if (!L->base.id) {
		rc = AM_ENOMEM;
		goto out;
	}
	if ((rc = am_llm_load(path, &L->llm, err)) < 0)
		goto out;
	if ((rc = am_tokenizer_load(am_llm_gguf(L->llm), &L->tok, err)) < 0)
		goto out;
	L->n_vocab = (size_t)am_llm_hparams(L->llm)->n_vocab;
	if (am_tokenizer_n_vocab(L->tok) > L->n_vocab) {
		rc = am_err_set(err, AM_EPARSE,
		                "%s: the vocabulary has %zu tokens but the model's "
		                "embedding only %zu",
		                path, am_tokenizer_n_vocab(L->tok), L->n_vocab);
		goto out;
	}
	if (o.template_name) {
		if ((rc = am_chat_template_by_name(o.template_name, &L->tpl, err)) < 0)
			goto out;
	} else {
		struct am_gguf_str js;
		if ((rc = am_gguf_get_str(am_llm_gguf(L->llm), "tokenizer.chat_template", &js,
		                          err)) < 0) {
			am_err_prefix(err, "%s has no chat template (choose one with --template)",
			              path);
			goto out;
		}
		if ((rc = am_chat_template_detect(js.ptr, (size_t)js.len, &L->tpl, err)) < 0) {
			am_err_prefix(err, "%s", path);
			goto out;
		}
	}
	long n_threads = o.n_threads > 0 ? o.n_threads : sysconf(_SC_NPROCESSORS_ONLN);
	if (n_threads < 1)
		n_threads = 1;
	if ((rc = am_llm_ctx_init(&L->ctx, (int)AM_MIN(n_threads, 256), err)) < 0)
		goto out;
	long train = am_llm_hparams(L->llm)->n_ctx_train;
	L->n_ctx = o.n_ctx > 0 ? o.n_ctx : AM_MIN(train, MAX_CTX_DEFAULT);
	L->max_batch = o.max_batch > 0 ? o.max_batch : DEFAULT_MAX_BATCH;
	L->max_slots = (size_t)L->max_batch * 2 + 2;
	L->slots = am_calloc(L->max_slots, sizeof(*L->slots));
	if (!L->slots) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	*out = &L->base;
	L = NULL;
out:
	am_free(path);
	if (L)
		local_close(&L->base);
	return rc;
}
