/* test_model_local.c: the local model (am_local_open, amlab/engine.h) on the embedded SmolLM2:
 * batched same-prompt samples equal one-at-a-time runs, seeds reproduce, stop strings and
 * max_tokens end replies, KV reuse across turns gives what a fresh model gives, log-probs are
 * consistent with the logits, and bad inputs fail clearly. The logits themselves are checked
 * against the numpy reference in test_model_ref.py. */
#include "amlab/alloc.h"
#include "amlab/engine.h"
#include "amlab/str.h"
#include "test.h"

static struct am_model *open_model(void)
{
	struct am_err err = {0};
	struct am_model *m = NULL;
	struct am_local_options o = {.n_threads = 2, .max_batch = 4};
	int rc = am_local_open("local/smollm2", &o, &m, &err);
	if (rc < 0)
		fprintf(stderr, "open: %s\n", err.msg);
	AM_CHECK_INT(rc, 0);
	return m;
}

struct src {
	struct am_chat_request *reqs;
	size_t n, next;
	struct am_chat_reply *replies;
};

static int s_next(void *ctx, const struct am_chat_request **req, void **tag, struct am_err *err)
{
	struct src *s = ctx;
	(void)err;
	*req = NULL;
	if (s->next < s->n) {
		*tag = (void *)(uintptr_t)s->next;
		*req = &s->reqs[s->next++];
	}
	return 0;
}

static void s_done(void *ctx, void *tag, struct am_chat_reply *r)
{
	struct src *s = ctx;
	s->replies[(uintptr_t)tag] = *r;
}

static bool s_finished(void *ctx)
{
	struct src *s = ctx;
	return s->next == s->n;
}

static void run_all(struct am_model *m, struct am_chat_request *reqs, size_t n,
                    struct am_chat_reply *replies)
{
	struct src s = {reqs, n, 0, replies};
	struct am_request_source rs = {&s, s_next, s_done, s_finished};
	struct am_err err = {0};
	memset(replies, 0, n * sizeof(*replies));
	int rc = m->ops->run(m, &rs, &err);
	if (rc < 0)
		fprintf(stderr, "run: %s\n", err.msg);
	AM_CHECK_INT(rc, 0);
}

static struct am_chat_message user_msg[1] = {
    {.role = AM_ROLE_USER, .content = "Name three colors."}};

static struct am_chat_request base_req(void)
{
	struct am_chat_request r = {
	    .messages = user_msg, .n_messages = 1, .temperature = 0, .top_p = 1, .max_tokens = 8};
	return r;
}

static void test_batched_equals_sequential(struct am_model *m)
{
	/* 3 greedy samples of one prompt in one batch, plus a different prompt, versus each
	 * alone: batching must not change a single token */
	struct am_chat_message other[1] = {{.role = AM_ROLE_USER, .content = "Say hello."}};
	struct am_chat_request reqs[4];
	for (int i = 0; i < 4; i++)
		reqs[i] = base_req();
	reqs[2].messages = other;
	struct am_chat_reply rep[4], one[1];
	run_all(m, reqs, 4, rep);
	struct am_chat_request single = base_req();
	run_all(m, &single, 1, one);
	for (int i = 0; i < 4; i++)
		AM_CHECK_INT(rep[i].status, AM_REPLY_OK);
	AM_CHECK_STR(rep[0].content, one[0].content);
	AM_CHECK_STR(rep[1].content, one[0].content);
	AM_CHECK_STR(rep[3].content, one[0].content);
	AM_CHECK(rep[0].content && strlen(rep[0].content) > 0);
	AM_CHECK_INT(rep[0].completion_tokens, 8);
	AM_CHECK_STR(rep[0].finish_reason, "length");
	AM_CHECK(rep[0].prompt_tokens > 5);
	struct am_chat_reply alone[1];
	run_all(m, &reqs[2], 1, alone);
	AM_CHECK_STR(rep[2].content, alone[0].content);
	for (int i = 0; i < 4; i++)
		am_chat_reply_free(&rep[i]);
	am_chat_reply_free(&one[0]);
	am_chat_reply_free(&alone[0]);
}

static void test_seeds(struct am_model *m)
{
	struct am_chat_request reqs[3];
	for (int i = 0; i < 3; i++) {
		reqs[i] = base_req();
		reqs[i].temperature = 1.5;
		reqs[i].top_k = 0;
		reqs[i].max_tokens = 10;
		reqs[i].want_logprobs = true;
	}
	reqs[0].seed = 11;
	reqs[1].seed = 11;
	reqs[2].seed = 12;
	struct am_chat_reply rep[3];
	run_all(m, reqs, 3, rep);
	AM_CHECK_STR(rep[0].content, rep[1].content);
	AM_CHECK(rep[0].content && rep[2].content && strcmp(rep[0].content, rep[2].content) != 0);
	AM_CHECK_INT(rep[0].n_token_logprobs, (size_t)rep[0].completion_tokens);
	for (size_t i = 0; i < rep[0].n_token_logprobs; i++)
		AM_CHECK(rep[0].token_logprobs[i] <= 0 && rep[0].token_logprobs[i] > -60);
	for (int i = 0; i < 3; i++)
		am_chat_reply_free(&rep[i]);
}

static void test_stop_and_length(struct am_model *m)
{
	struct am_chat_request r = base_req();
	r.max_tokens = 24;
	struct am_chat_reply full[1];
	run_all(m, &r, 1, full);
	AM_CHECK(full[0].content && strlen(full[0].content) >= 4);
	/* stop at the text's 3rd..4th characters: the reply is the text before them */
	char stop[3] = {0};
	if (full[0].content && strlen(full[0].content) >= 4) {
		memcpy(stop, full[0].content + 2, 2);
		char *stops[1] = {stop};
		r.stop = stops;
		r.n_stop = 1;
		struct am_chat_reply cut[1];
		run_all(m, &r, 1, cut);
		const char *first = strstr(full[0].content, stop);
		size_t want = first ? (size_t)(first - full[0].content) : 0;
		AM_CHECK(cut[0].content && strlen(cut[0].content) == want &&
		         strncmp(cut[0].content, full[0].content, want) == 0);
		AM_CHECK_STR(cut[0].finish_reason, "stop");
		am_chat_reply_free(&cut[0]);
	}
	am_chat_reply_free(&full[0]);
}

static void test_kv_reuse_across_turns(struct am_model *m)
{
	/* turn 2 of a conversation on a model that holds turn 1's cache must equal the same
	 * turn on a fresh model */
	struct am_chat_request r = base_req();
	struct am_chat_reply t1[1];
	run_all(m, &r, 1, t1);
	struct am_chat_message conv[3] = {{.role = AM_ROLE_USER, .content = "Name three colors."},
	                                  {.role = AM_ROLE_ASSISTANT, .content = t1[0].content},
	                                  {.role = AM_ROLE_USER, .content = "And three animals?"}};
	r.messages = conv;
	r.n_messages = 3;
	struct am_chat_reply warm[1], cold[1];
	run_all(m, &r, 1, warm);
	struct am_model *fresh = open_model();
	if (fresh) {
		run_all(fresh, &r, 1, cold);
		AM_CHECK_STR(warm[0].content, cold[0].content);
		am_chat_reply_free(&cold[0]);
	}
	am_model_close(fresh);
	am_chat_reply_free(&warm[0]);
	am_chat_reply_free(&t1[0]);
}

static void test_logprob(struct am_model *m)
{
	struct am_err err = {0};
	double a, b;
	long na, nb;
	AM_CHECK_INT(am_model_logprob(m, "The capital of France is", " Paris", &a, &na, &err), 0);
	AM_CHECK_INT(am_model_logprob(m, "The capital of France is", " banana", &b, &nb, &err), 0);
	AM_CHECK(a < 0 && b < 0);
	AM_CHECK(a > b); /* the model knows this much */
	AM_CHECK(na >= 1 && nb >= 1);
	/* a second call with the same context reuses the cache: only the last context token is
	 * evaluated again, alone (16-bit activation path instead of the batched f32 one), so the
	 * result may differ in the last digits only */
	double a2;
	AM_CHECK_INT(am_model_logprob(m, "The capital of France is", " Paris", &a2, &na, &err), 0);
	AM_CHECK_NEAR(a2, a, 1e-3);
	AM_CHECK_INT(am_model_logprob(m, "x", "", &a, &na, &err), AM_EINVAL);
}

static void test_bad_inputs(void)
{
	struct am_err err = {0};
	struct am_model *m = NULL;
	AM_CHECK_INT(am_local_open("local/no/such/file.gguf", NULL, &m, &err), AM_ENOTFOUND);
	AM_CHECK(strstr(err.msg, "no/such/file.gguf") != NULL);
	AM_CHECK(m == NULL);
	struct am_local_options o = {.template_name = "nope"};
	AM_CHECK_INT(am_local_open("local/smollm2", &o, &m, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "nope") != NULL);
	char *path = NULL;
	AM_CHECK_INT(am_local_resolve("local/smollm2", &path, &err), 0);
	AM_CHECK(path && am_ends_with(path, "SmolLM2-135M-Instruct.Q4_1.gguf"));
	am_free(path);
}

static void test_bad_request(struct am_model *m)
{
	struct am_chat_request r = base_req();
	r.top_p = 2.0; /* out of range: an error reply, not a crash or a silent default */
	struct am_chat_reply rep[1];
	run_all(m, &r, 1, rep);
	AM_CHECK_INT(rep[0].status, AM_REPLY_ERROR);
	AM_CHECK(rep[0].error && strstr(rep[0].error, "top-p"));
	am_chat_reply_free(&rep[0]);
}

static void test_valid_utf8(void)
{
	const struct {
		const char *in;
		size_t n;
		const char *want;
	} cases[] = {
	    {"plain", 5, "plain"},
	    {"caf\xc3\xa9", 5, "caf\xc3\xa9"},
	    {"ab\xf0\x9f\x8c", 5, "ab"}, /* emoji cut by the token limit */
	    {"a\xff"
	     "b",
	     3,
	     "a\xef\xbf\xbd"
	     "b"},                           /* a stray byte */
	    {"a\xc3(", 3, "a\xef\xbf\xbd("}, /* a lead byte without continuation */
	    {"\xed\xa0\x80x", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"}, /* a surrogate */
	};
	for (size_t i = 0; i < AM_ARRAY_LEN(cases); i++) {
		char *got = am_engine_valid_utf8(cases[i].in, cases[i].n);
		AM_CHECK_STR(got, cases[i].want);
		am_free(got);
	}
}

/* A source of 3 two-turn episodes: an episode's second turn becomes ready when its first
 * reply arrives (as in the agent loop), so the model must pull it mid-run. */
struct episodes {
	struct am_chat_message conv[3][3];
	struct am_chat_request req[3][2];
	struct am_chat_reply rep[3][2];
	int ready[3]; /* turns handed out per episode */
	int answered[3];
};

static int ep_next(void *ctx, const struct am_chat_request **req, void **tag, struct am_err *err)
{
	struct episodes *e = ctx;
	(void)err;
	*req = NULL;
	for (int i = 0; i < 3; i++) {
		if (e->ready[i] == e->answered[i] && e->ready[i] < 2) {
			int turn = e->ready[i]++;
			*req = &e->req[i][turn];
			*tag = (void *)(uintptr_t)(i * 2 + turn);
			return 0;
		}
	}
	return 0;
}

static void ep_done(void *ctx, void *tag, struct am_chat_reply *r)
{
	struct episodes *e = ctx;
	int i = (int)(uintptr_t)tag / 2, turn = (int)(uintptr_t)tag % 2;
	e->rep[i][turn] = *r;
	e->answered[i]++;
	if (turn == 0) /* the next turn carries this reply */
		e->conv[i][1].content = r->content;
}

static bool ep_finished(void *ctx)
{
	struct episodes *e = ctx;
	return e->answered[0] == 2 && e->answered[1] == 2 && e->answered[2] == 2;
}

static void test_multi_turn_pulls_mid_run(struct am_model *m)
{
	static const char *first[3] = {"Name a fruit.", "Name a city.", "Name a color."};
	struct episodes e;
	memset(&e, 0, sizeof(e));
	for (int i = 0; i < 3; i++) {
		e.conv[i][0] =
		    (struct am_chat_message){.role = AM_ROLE_USER, .content = (char *)first[i]};
		e.conv[i][1] = (struct am_chat_message){.role = AM_ROLE_ASSISTANT};
		e.conv[i][2] =
		    (struct am_chat_message){.role = AM_ROLE_USER, .content = "Another one?"};
		for (int t = 0; t < 2; t++) {
			e.req[i][t] = base_req();
			e.req[i][t].messages = e.conv[i];
			e.req[i][t].n_messages = t == 0 ? 1 : 3;
			e.req[i][t].max_tokens = 5 + i; /* episodes finish at different steps */
		}
	}
	struct am_request_source rs = {&e, ep_next, ep_done, ep_finished};
	struct am_err err = {0};
	AM_CHECK_INT(m->ops->run(m, &rs, &err), 0);
	AM_CHECK(ep_finished(&e));
	/* each second turn equals the same request served alone on a fresh model */
	struct am_model *fresh = open_model();
	for (int i = 0; i < 3 && fresh; i++) {
		struct am_chat_reply alone[1];
		run_all(fresh, &e.req[i][1], 1, alone);
		AM_CHECK_STR(e.rep[i][1].content, alone[0].content);
		am_chat_reply_free(&alone[0]);
	}
	am_model_close(fresh);
	for (int i = 0; i < 3; i++)
		for (int t = 0; t < 2; t++)
			am_chat_reply_free(&e.rep[i][t]);
}

static struct am_model *model;

static void t_batched(void)
{
	test_batched_equals_sequential(model);
}
static void t_seeds(void)
{
	test_seeds(model);
}
static void t_stop(void)
{
	test_stop_and_length(model);
}
static void t_reuse(void)
{
	test_kv_reuse_across_turns(model);
}
static void t_multi_turn(void)
{
	test_multi_turn_pulls_mid_run(model);
}
static void t_logprob(void)
{
	test_logprob(model);
}
static void t_bad_request(void)
{
	test_bad_request(model);
}

/* One decoding step of the given sequences (token toks[i] for seqs[i]) into logits. */
static void step(struct am_llm *m, struct am_llm_ctx *c, struct am_llm_seq **seqs, size_t n,
                 const int32_t *toks, float *logits)
{
	long pos[4];
	int seq[4];
	bool want[4];
	for (size_t i = 0; i < n; i++) {
		pos[i] = seqs[i]->n_pos;
		seq[i] = (int)i;
		want[i] = true;
	}
	struct am_llm_batch b = {.n = n, .tokens = toks, .pos = pos, .seq = seq, .want = want};
	struct am_err err = {0};
	int rc = am_llm_forward(m, c, seqs, &b, logits, &err);
	if (rc < 0)
		fprintf(stderr, "forward: %s\n", err.msg);
	AM_CHECK_INT(rc, 0);
}

/* Forked sequences read the shared prompt from their parent's cache: their logits must be the
 * bits a private copy gives, while the parent grows, after a fork of a fork, after truncation
 * and after detaching from a parent that is then freed. */
static void test_fork(void)
{
	const char *dir = getenv("AMLAB_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/models/SmolLM2-135M-Instruct.Q4_1.gguf", dir ? dir : ".");
	struct am_err err = {0};
	struct am_llm *m = NULL;
	struct am_llm_ctx c;
	if (am_llm_load(path, &m, &err) < 0 || am_llm_ctx_init(&c, 2, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		AM_CHECK(false);
		am_llm_free(m);
		return;
	}
	size_t V = (size_t)am_llm_hparams(m)->n_vocab;
	float *lg = am_malloc(4 * V * sizeof(float)), *l2 = am_malloc(4 * V * sizeof(float));
	int32_t prompt[40];
	for (int i = 0; i < 40; i++)
		prompt[i] = (int32_t)((i * 7919 + 11) % (int)V);
	struct am_llm_seq a, b, f, g, e;
	struct am_llm_seq *const all[5] = {&a, &b, &f, &g, &e};
	for (int i = 0; i < 5; i++)
		am_llm_seq_init(all[i], m);
	AM_CHECK_INT(am_llm_eval(m, &c, &a, prompt, 40, false, lg, &err), 0);
	AM_CHECK_INT(am_llm_seq_copy(&b, &a, 40, &err), 0);
	AM_CHECK_INT(am_llm_seq_fork(&f, &a, 40, &err), 0);
	AM_CHECK(f.parent == &a && f.n_shared == 40 && f.n_pos == 40);
	/* the copy and the fork decode side by side, the parent grows with other tokens */
	for (int t = 0; t < 3; t++) {
		int32_t toks[2] = {100 + t, 100 + t}, other = 500 + t;
		struct am_llm_seq *bf[2] = {&b, &f}, *pa[1] = {&a};
		step(m, &c, bf, 2, toks, lg);
		AM_CHECK(memcmp(lg, lg + V, V * sizeof(float)) == 0);
		step(m, &c, pa, 1, &other, l2);
	}
	/* a fork of the fork within the shared part shares with the original */
	AM_CHECK_INT(am_llm_seq_fork(&g, &f, 30, &err), 0);
	AM_CHECK(g.parent == &a && g.n_shared == 30);
	AM_CHECK_INT(am_llm_seq_copy(&e, &a, 30, &err), 0);
	int32_t t7[2] = {7, 7};
	struct am_llm_seq *ge[2] = {&g, &e};
	step(m, &c, ge, 2, t7, lg);
	AM_CHECK(memcmp(lg, lg + V, V * sizeof(float)) == 0);
	/* writing inside the shared part is refused */
	long pos = 5;
	int seq0 = 0;
	bool want = false;
	struct am_llm_batch bad = {.n = 1, .tokens = t7, .pos = &pos, .seq = &seq0, .want = &want};
	struct am_llm_seq *gs[1] = {&g};
	AM_CHECK_INT(am_llm_forward(m, &c, gs, &bad, NULL, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "shares") != NULL);
	/* truncated below the shared length, the fork goes on from there */
	am_llm_seq_truncate(&g, 10);
	am_llm_seq_truncate(&e, 10);
	AM_CHECK(g.n_shared == 10);
	step(m, &c, ge, 2, t7, lg);
	AM_CHECK(memcmp(lg, lg + V, V * sizeof(float)) == 0);
	/* detached, the fork no longer needs its parent */
	AM_CHECK_INT(am_llm_seq_detach(&f, &err), 0);
	AM_CHECK(f.parent == NULL && f.n_shared == 0 && f.n_pos == 43);
	am_llm_seq_free(&a);
	am_llm_seq_free(&g);
	int32_t t9[2] = {9, 9};
	struct am_llm_seq *bf[2] = {&b, &f};
	step(m, &c, bf, 2, t9, lg);
	AM_CHECK(memcmp(lg, lg + V, V * sizeof(float)) == 0);
	for (int i = 0; i < 5; i++)
		am_llm_seq_free(all[i]);
	am_free(lg);
	am_free(l2);
	am_llm_ctx_free(&c);
	am_llm_free(m);
}

int main(void)
{
	AM_RUN(test_valid_utf8);
	AM_RUN(test_bad_inputs);
	AM_RUN(test_fork);
	model = open_model();
	if (model) {
		AM_RUN(t_batched);
		AM_RUN(t_seeds);
		AM_RUN(t_stop);
		AM_RUN(t_reuse);
		AM_RUN(t_multi_turn);
		AM_RUN(t_logprob);
		AM_RUN(t_bad_request);
	}
	am_model_close(model);
	return am_test_result();
}
