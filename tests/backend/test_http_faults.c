/* test_http_faults.c: the HTTP engine against a scripted fault-injecting server on loopback:
 * every fault is either recovered from or fails exactly that request with a clear error kind;
 * nothing crashes, nothing is lost or answered twice. */
#include "amlab/backend.h"
#include "amlab/clock.h"
#include "amlab/json.h"
#include "fault_server.h"
#include "test.h"
#include "test_source.h"

static struct fault_server srv;

static struct am_model *open_model(const struct am_http_config *extra)
{
	char url[128];
	fs_url(&srv, url, sizeof(url));
	struct am_http_config cfg;
	if (extra)
		cfg = *extra;
	else
		memset(&cfg, 0, sizeof(cfg));
	cfg.base_url = url;
	if (!cfg.api_key)
		cfg.api_key = "";
	if (!cfg.retry_base_ms)
		cfg.retry_base_ms = 5;
	if (!cfg.retry_max_ms)
		cfg.retry_max_ms = 40;
	if (!cfg.timeout_ms)
		cfg.timeout_ms = 5000;
	struct am_model *m = NULL;
	struct am_err err = {0};
	int rc = am_http_model_open("openai/test-model", &cfg, &m, &err);
	if (rc < 0)
		fprintf(stderr, "open: %s\n", err.msg);
	return m;
}

/* One request with the given script through its own model; returns the reply. */
static void one(const char *script, const struct am_http_config *cfg, struct am_chat_reply *r,
                struct am_http_stats *st)
{
	struct am_model *m = open_model(cfg);
	AM_CHECK(m != NULL);
	if (!m)
		return;
	struct test_source s;
	ts_init(&s, 1);
	ts_set_text(&s, 0, script);
	struct am_request_source src = ts_source(&s);
	struct am_err err = {0};
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	AM_CHECK_INT(s.answered[0], 1);
	*r = s.replies[0];
	memset(&s.replies[0], 0, sizeof(s.replies[0]));
	if (st)
		AM_CHECK_INT(am_http_model_stats(m, st, &err), 0);
	ts_free(&s);
	am_model_close(m);
}

static void expect_ok(const struct am_chat_reply *r, const char *content)
{
	AM_CHECK_INT(r->status, AM_REPLY_OK);
	AM_CHECK_STR(r->content, content);
	if (r->status != AM_REPLY_OK)
		fprintf(stderr, "  unexpected error: %s: %s\n", r->error_kind, r->error);
}

static void expect_err(const struct am_chat_reply *r, const char *kind, const char *needle)
{
	AM_CHECK_INT(r->status, AM_REPLY_ERROR);
	AM_CHECK_STR(r->error_kind, kind);
	AM_CHECK(r->error && strstr(r->error, needle));
	if (r->error && !strstr(r->error, needle))
		fprintf(stderr, "  message lacks '%s': %s\n", needle, r->error);
}

static void test_plain_ok(void)
{
	struct am_chat_reply r;
	struct am_http_stats st;
	one("ID=1", NULL, &r, &st);
	expect_ok(&r, "reply to ID=1");
	AM_CHECK_STR(r.finish_reason, "stop");
	AM_CHECK_INT(r.prompt_tokens, 5);
	AM_CHECK_INT(r.completion_tokens, 4);
	AM_CHECK_INT(st.attempts, 1);
	AM_CHECK_INT(st.retries, 0);
	AM_CHECK_INT(st.requests, 1);
	am_chat_reply_free(&r);
}

static void test_429_retry_after_honoured(void)
{
	struct am_chat_reply r;
	struct am_http_stats st;
	int64_t t0 = am_clock_mono_ns();
	one("ID=2 FAULT=429x2 RA=1", NULL, &r, &st);
	double secs = (double)(am_clock_mono_ns() - t0) / 1e9;
	expect_ok(&r, "reply to ID=2");
	AM_CHECK_INT(st.attempts, 3);
	AM_CHECK_INT(st.rate_limited, 2);
	/* Two waits of Retry-After: 1 s each. */
	AM_CHECK(secs >= 1.9);
	/* The limit was cut from 16 once (cuts are at most one per second) or twice. */
	AM_CHECK(st.concurrency <= 8.5);
	am_chat_reply_free(&r);
}

static void test_429_gives_up(void)
{
	struct am_chat_reply r;
	struct am_http_config cfg = {.max_rate_limit_retries = 2};
	struct am_http_stats st;
	one("ID=3 FAULT=429", &cfg, &r, &st);
	expect_err(&r, "rate_limited", "HTTP 429");
	AM_CHECK(r.error && strstr(r.error, "Rate limit reached"));
	AM_CHECK_INT(st.attempts, 3);
	am_chat_reply_free(&r);
}

static void test_500_recovers_and_gives_up(void)
{
	struct am_chat_reply r;
	struct am_http_stats st;
	struct am_http_config cfg = {.max_retries = 2};
	one("ID=4 FAULT=500x2", &cfg, &r, &st);
	expect_ok(&r, "reply to ID=4");
	AM_CHECK_INT(st.attempts, 3);
	AM_CHECK_INT(st.retries, 2);
	am_chat_reply_free(&r);
	one("ID=5 FAULT=500", &cfg, &r, &st);
	expect_err(&r, "server", "internal boom");
	AM_CHECK(r.error && strstr(r.error, "after 3 attempts"));
	AM_CHECK_INT(st.attempts, 3);
	am_chat_reply_free(&r);
}

static void test_overloaded_529_and_503(void)
{
	struct am_chat_reply r;
	struct am_http_stats st;
	one("ID=6 FAULT=529x1", NULL, &r, &st);
	expect_ok(&r, "reply to ID=6");
	AM_CHECK_INT(st.rate_limited, 1);
	AM_CHECK(st.concurrency < 16);
	am_chat_reply_free(&r);
	one("ID=7 FAULT=503ox1", NULL, &r, &st);
	expect_ok(&r, "reply to ID=7");
	AM_CHECK_INT(st.rate_limited, 1);
	am_chat_reply_free(&r);
}

static void test_slow_body(void)
{
	struct am_chat_reply r;
	one("ID=8 FAULT=slow", NULL, &r, NULL);
	expect_ok(&r, "reply to ID=8");
	am_chat_reply_free(&r);
}

static void test_reset_and_truncated(void)
{
	struct am_chat_reply r;
	struct am_http_stats st;
	struct am_http_config cfg = {.max_retries = 2};
	one("ID=9 FAULT=resetx1", &cfg, &r, &st);
	expect_ok(&r, "reply to ID=9");
	AM_CHECK_INT(st.attempts, 2);
	am_chat_reply_free(&r);
	one("ID=10 FAULT=reset", &cfg, &r, &st);
	expect_err(&r, "network", "gave up after 3 attempts");
	am_chat_reply_free(&r);
	one("ID=11 FAULT=truncx2", &cfg, &r, &st);
	expect_ok(&r, "reply to ID=11");
	AM_CHECK_INT(st.attempts, 3);
	am_chat_reply_free(&r);
}

static void test_bad_bodies_fail_without_retry(void)
{
	struct am_chat_reply r;
	struct am_http_stats st;
	one("ID=12 FAULT=malformed", NULL, &r, &st);
	expect_err(&r, "bad_response", "malformed JSON");
	AM_CHECK_INT(st.attempts, 1);
	am_chat_reply_free(&r);
	one("ID=13 FAULT=html", NULL, &r, &st);
	expect_err(&r, "bad_response", "text/html");
	AM_CHECK_INT(st.attempts, 1);
	am_chat_reply_free(&r);
	struct am_http_config cfg = {.max_response_bytes = 1 << 20};
	one("ID=14 FAULT=huge", &cfg, &r, &st);
	expect_err(&r, "bad_response", "larger than 1048576 bytes");
	AM_CHECK_INT(st.attempts, 1);
	am_chat_reply_free(&r);
}

static void test_client_errors(void)
{
	struct am_chat_reply r;
	struct am_http_stats st;
	one("ID=15 FAULT=404", NULL, &r, &st);
	expect_err(&r, "unknown_model", "does not exist");
	AM_CHECK_INT(st.attempts, 1);
	am_chat_reply_free(&r);
	one("ID=16 FAULT=toolong", NULL, &r, &st);
	expect_err(&r, "context_length", "maximum context length");
	am_chat_reply_free(&r);
	one("ID=17 FAULT=filter", NULL, &r, &st);
	expect_err(&r, "refused", "flagged");
	am_chat_reply_free(&r);
	/* Text that is not UTF-8 cannot be sent as JSON: that request fails, without an attempt. */
	one("ID=18 \xff\xfe", NULL, &r, &st);
	expect_err(&r, "bad_request", "messages[0].content is not valid UTF-8");
	AM_CHECK_INT(st.attempts, 0);
	am_chat_reply_free(&r);
}

static void test_auth_error_redacts_key(void)
{
	const char *key = "sk-test-TOPSECRET-0123456789";
	struct am_http_config cfg = {.api_key = key};
	struct am_chat_reply r;
	struct am_http_stats st;
	one("ID=18 FAULT=401", &cfg, &r, &st);
	/* The server did get the key... */
	AM_CHECK(strstr(srv.last_headers, "Authorization: Bearer sk-test-TOPSECRET-0123456789"));
	/* ...and echoed it, but the reply the store would keep never holds it. */
	expect_err(&r, "auth", "[REDACTED]");
	AM_CHECK(r.error && !strstr(r.error, "TOPSECRET"));
	AM_CHECK_INT(st.attempts, 1);
	am_chat_reply_free(&r);
}

static void test_timeout(void)
{
	struct am_chat_reply r;
	struct am_http_stats st;
	struct am_http_config cfg = {.timeout_ms = 300, .max_retries = 1};
	one("ID=19 FAULT=sleep", &cfg, &r, &st);
	expect_err(&r, "timeout", "within 300 ms");
	AM_CHECK_INT(st.attempts, 2);
	am_chat_reply_free(&r);
}

static void test_connection_refused(void)
{
	/* A port nothing listens on: bind one, close it. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	AM_CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
	struct am_http_config cfg = {
	    .base_url = url, .api_key = "", .retry_base_ms = 1, .max_retries = 1};
	struct am_model *m = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_http_model_open("openai/x", &cfg, &m, &err), 0);
	struct am_chat_message msg = {.role = AM_ROLE_USER, .content = "hi"};
	struct am_chat_request req = {.messages = &msg, .n_messages = 1, .top_p = 1};
	struct am_chat_reply r;
	AM_CHECK_INT(am_model_chat(m, &req, &r, &err), 0);
	expect_err(&r, "network", "onnect");
	am_chat_reply_free(&r);
	am_model_close(m);
}

static void test_loopback_only_enforced(void)
{
	struct am_model *m = NULL;
	struct am_err err = {0};
	struct am_http_config cfg = {.base_url = "http://10.1.2.3:8000/v1"};
	AM_CHECK_INT(am_http_model_open("openai/x", &cfg, &m, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "AMLAB_TEST_LOOPBACK_ONLY"));
	AM_CHECK(m == NULL);
	cfg.base_url = "https://api.openai.com/v1";
	AM_CHECK_INT(am_http_model_open("openai/x", &cfg, &m, &err), AM_EINVAL);
	cfg.base_url = "http://localhost.evil.example/v1";
	AM_CHECK_INT(am_http_model_open("openai/x", &cfg, &m, &err), AM_EINVAL);
	cfg.base_url = "http://127.0.0.1@evil.example/v1";
	AM_CHECK_INT(am_http_model_open("openai/x", &cfg, &m, &err), AM_EINVAL);
	cfg.base_url = "ftp://127.0.0.1/v1";
	AM_CHECK_INT(am_http_model_open("openai/x", &cfg, &m, &err), AM_EINVAL);
	AM_CHECK_INT(am_http_model_open("mystery/x", NULL, &m, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "not an HTTP model"));
	cfg.base_url = "http://[::1]:9/v1";
	AM_CHECK_INT(am_http_model_open("openai/x", &cfg, &m, &err), 0);
	am_model_close(m);
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A Retry-After holds back the endpoint's next request too, and the wait is a sleep: the
 * process burns little CPU meanwhile. */
static void test_retry_after_blocks_endpoint_without_spinning(void)
{
	struct am_http_config cfg = {.max_rate_limit_retries = -1, .max_concurrency = 1};
	struct am_model *m = open_model(&cfg);
	struct test_source s;
	ts_init(&s, 2);
	ts_set_text(&s, 0, "ID=30 FAULT=429 RA=1");
	ts_set_text(&s, 1, "ID=31");
	struct am_request_source src = ts_source(&s);
	struct am_err err = {0};
	int64_t t0 = am_clock_mono_ns();
	double c0 = cpu_now();
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	double secs = (double)(am_clock_mono_ns() - t0) / 1e9, cpu = cpu_now() - c0;
	AM_CHECK_STR(s.replies[0].error_kind, "rate_limited");
	AM_CHECK_STR(s.replies[1].content, "reply to ID=31");
	AM_CHECK(secs >= 0.95);
	/* Sleeping costs a few ms; a spinning loop, even on a crowded machine, hundreds. */
	AM_CHECK(cpu < 0.05 * secs);
	if (cpu >= 0.05 * secs)
		fprintf(stderr, "  %.3f s CPU in %.3f s: the wait spins\n", cpu, secs);
	ts_free(&s);
	am_model_close(m);

	/* A retry that is due while the only slot is taken waits for the slot, also asleep. */
	m = open_model(&cfg);
	ts_init(&s, 2);
	ts_set_text(&s, 0, "ID=32 FAULT=500x1");
	ts_set_text(&s, 1, "ID=33 FAULT=sleep");
	src = ts_source(&s);
	t0 = am_clock_mono_ns();
	c0 = cpu_now();
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	secs = (double)(am_clock_mono_ns() - t0) / 1e9;
	cpu = cpu_now() - c0;
	AM_CHECK_STR(s.replies[0].content, "reply to ID=32");
	AM_CHECK_STR(s.replies[1].content, "reply to ID=33");
	AM_CHECK(secs >= 1.9);
	AM_CHECK(cpu < 0.05 * secs);
	if (cpu >= 0.05 * secs)
		fprintf(stderr, "  %.3f s CPU in %.3f s: the wait for a slot spins\n", cpu, secs);
	ts_free(&s);
	am_model_close(m);
}

/* 200 requests with mixed faults through one run: every tag answered exactly once, each with
 * its own reply or the error its script demands. */
static void test_mixed_faults_exactly_once(void)
{
	static const char *const faults[] = {"",
	                                     "FAULT=429x1",
	                                     "FAULT=500x1",
	                                     "FAULT=529x1",
	                                     "FAULT=resetx1",
	                                     "FAULT=truncx1",
	                                     "FAULT=slow",
	                                     "FAULT=malformed",
	                                     "FAULT=html",
	                                     "FAULT=404",
	                                     "FAULT=tools",
	                                     ""};
	size_t n = 200;
	struct am_http_config cfg = {.max_retries = 3, .initial_concurrency = 32};
	struct am_model *m = open_model(&cfg);
	AM_CHECK(m != NULL);
	if (!m)
		return;
	struct test_source s;
	ts_init(&s, n);
	for (size_t i = 0; i < n; i++) {
		char text[96];
		snprintf(text, sizeof(text), "ID=%zu %s", 1000 + i,
		         faults[i % AM_ARRAY_LEN(faults)]);
		ts_set_text(&s, i, text);
	}
	struct am_request_source src = ts_source(&s);
	struct am_err err = {0};
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	struct am_http_stats st;
	AM_CHECK_INT(am_http_model_stats(m, &st, &err), 0);
	size_t ok = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		AM_CHECK_INT(s.answered[i], 1);
		const char *f = faults[i % AM_ARRAY_LEN(faults)];
		struct am_chat_reply *r = &s.replies[i];
		char want[64];
		snprintf(want, sizeof(want), "reply to ID=%zu", 1000 + i);
		if (strstr(f, "malformed") || strstr(f, "html")) {
			AM_CHECK_STR(r->error_kind, "bad_response");
			failed++;
		} else if (strstr(f, "404")) {
			AM_CHECK_STR(r->error_kind, "unknown_model");
			failed++;
		} else if (strstr(f, "tools")) {
			AM_CHECK_INT(r->status, AM_REPLY_OK);
			AM_CHECK_INT(r->n_tool_calls, 1);
			ok++;
		} else {
			AM_CHECK_INT(r->status, AM_REPLY_OK);
			AM_CHECK_STR(r->content, want);
			ok++;
		}
	}
	AM_CHECK_INT(ok + failed, n);
	AM_CHECK_INT(st.requests, n);
	AM_CHECK_INT(st.errors, failed);
	AM_CHECK(st.peak_in_flight > 1);
	AM_CHECK_INT(s.in_hand, 0);
	ts_free(&s);
	am_model_close(m);
}

/* A multi-turn source: the second turn of each episode becomes ready only when the first is
 * answered, as the eval scheduler's episodes do. */
struct turns {
	struct am_chat_message msg[16][2];
	struct am_chat_request req[16][2];
	int stage[16]; /* 0: turn 1 ready, 1: turn 1 out, 2: turn 2 ready, 3: out, 4: done */
	int done_count;
	char seen[16][2][64];
};

static int turns_next(void *ctx, const struct am_chat_request **req, void **tag, struct am_err *e)
{
	(void)e;
	struct turns *t = ctx;
	*req = NULL;
	for (int i = 0; i < 16; i++) {
		if (t->stage[i] == 0 || t->stage[i] == 2) {
			int turn = t->stage[i] / 2;
			t->stage[i]++;
			*req = &t->req[i][turn];
			*tag = (void *)(uintptr_t)(i * 2 + turn);
			return 0;
		}
	}
	return 0;
}

static void turns_done(void *ctx, void *tag, struct am_chat_reply *r)
{
	struct turns *t = ctx;
	int i = (int)(uintptr_t)tag / 2, turn = (int)(uintptr_t)tag % 2;
	snprintf(t->seen[i][turn], sizeof(t->seen[i][turn]), "%s", r->content ? r->content : "?");
	t->stage[i]++;
	t->done_count++;
	am_chat_reply_free(r);
}

static bool turns_finished(void *ctx)
{
	struct turns *t = ctx;
	for (int i = 0; i < 16; i++)
		if (t->stage[i] < 4)
			return false;
	return true;
}

static void test_multi_turn_source(void)
{
	static struct turns t;
	char texts[16][2][32];
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < 16; i++)
		for (int k = 0; k < 2; k++) {
			snprintf(texts[i][k], sizeof(texts[i][k]), "ID=%d", 2000 + i * 2 + k);
			t.msg[i][k].role = AM_ROLE_USER;
			t.msg[i][k].content = texts[i][k];
			t.req[i][k].messages = &t.msg[i][k];
			t.req[i][k].n_messages = 1;
		}
	struct am_model *m = open_model(NULL);
	struct am_request_source src = {&t, turns_next, turns_done, turns_finished};
	struct am_err err = {0};
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	AM_CHECK_INT(t.done_count, 32);
	for (int i = 0; i < 16; i++) {
		char want[32];
		snprintf(want, sizeof(want), "reply to ID=%d", 2000 + i * 2 + 1);
		AM_CHECK_STR(t.seen[i][1], want);
	}
	am_model_close(m);
}

/* A source that never becomes ready and never finishes is a caller bug: a clear error. */
static int stuck_next(void *ctx, const struct am_chat_request **req, void **tag, struct am_err *e)
{
	(void)ctx, (void)tag, (void)e;
	*req = NULL;
	return 0;
}
static void stuck_done(void *ctx, void *tag, struct am_chat_reply *r)
{
	(void)ctx, (void)tag;
	am_chat_reply_free(r);
}
static bool stuck_finished(void *ctx)
{
	(void)ctx;
	return false;
}

static void test_stuck_source(void)
{
	struct am_model *m = open_model(NULL);
	struct am_request_source src = {NULL, stuck_next, stuck_done, stuck_finished};
	struct am_err err = {0};
	AM_CHECK_INT(m->ops->run(m, &src, &err), AM_ESTATE);
	AM_CHECK(strstr(err.msg, "nothing ready"));
	am_model_close(m);
}

int main(void)
{
	setenv("AMLAB_TEST_LOOPBACK_ONLY", "1", 1);
	am_json_init();
	if (fs_start(&srv) < 0) {
		fprintf(stderr, "cannot start the fault server\n");
		return 1;
	}
	AM_RUN(test_plain_ok);
	AM_RUN(test_429_retry_after_honoured);
	AM_RUN(test_429_gives_up);
	AM_RUN(test_500_recovers_and_gives_up);
	AM_RUN(test_overloaded_529_and_503);
	AM_RUN(test_slow_body);
	AM_RUN(test_reset_and_truncated);
	AM_RUN(test_bad_bodies_fail_without_retry);
	AM_RUN(test_client_errors);
	AM_RUN(test_auth_error_redacts_key);
	AM_RUN(test_timeout);
	AM_RUN(test_connection_refused);
	AM_RUN(test_loopback_only_enforced);
	AM_RUN(test_retry_after_blocks_endpoint_without_spinning);
	AM_RUN(test_mixed_faults_exactly_once);
	AM_RUN(test_multi_turn_source);
	AM_RUN(test_stuck_source);
	fs_stop(&srv);
	return am_test_result();
}
