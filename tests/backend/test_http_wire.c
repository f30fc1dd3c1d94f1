/* test_http_wire.c: what the backends put on the wire and read back (OpenAI Chat Completions,
 * Anthropic Messages, /completions scoring), the response cache, and the AIMD and header
 * parsing logic under the fake clock. */
#include <sqlite3.h>
#include <unistd.h>

#include "amlab/backend.h"
#include "amlab/clock.h"
#include "amlab/json.h"
#include "amlab/log.h"
#include "fault_server.h"
#include "test.h"
#include "test_source.h"

static struct fault_server srv;

static struct am_model *open_id(const char *id, bool anthropic, const struct am_http_config *c)
{
	char url[128];
	if (anthropic)
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
	else
		fs_url(&srv, url, sizeof(url));
	struct am_http_config cfg;
	if (c)
		cfg = *c;
	else
		memset(&cfg, 0, sizeof(cfg));
	cfg.base_url = url;
	if (!cfg.api_key)
		cfg.api_key = "";
	cfg.retry_base_ms = 5;
	struct am_model *m = NULL;
	struct am_err err = {0};
	if (am_http_model_open(id, &cfg, &m, &err) < 0)
		fprintf(stderr, "open %s: %s\n", id, err.msg);
	return m;
}

/* A conversation with every kind of message: system, user, assistant tool call, tool result. */
struct convo {
	struct am_chat_message msgs[5];
	struct am_tool_call call;
	struct am_chat_request req;
	am_json *tools;
};

static void convo_init(struct convo *c, const char *user_text)
{
	memset(c, 0, sizeof(*c));
	c->call.id = "call_1";
	c->call.name = "read_inbox";
	c->call.arguments = "{\"folder\":\"inbox\"}";
	c->msgs[0] = (struct am_chat_message){.role = AM_ROLE_SYSTEM, .content = "You are Alex."};
	c->msgs[1] = (struct am_chat_message){.role = AM_ROLE_USER, .content = (char *)user_text};
	c->msgs[2] = (struct am_chat_message){
	    .role = AM_ROLE_ASSISTANT, .content = NULL, .tool_calls = &c->call, .n_tool_calls = 1};
	c->msgs[3] = (struct am_chat_message){.role = AM_ROLE_TOOL,
	                                      .content = "3 emails",
	                                      .tool_call_id = "call_1",
	                                      .name = "read_inbox"};
	c->msgs[4] = (struct am_chat_message){.role = AM_ROLE_USER, .content = "go on"};
	struct am_err err = {0};
	const char *tools = "[{\"name\":\"send_email\",\"description\":\"Send an email\","
	                    "\"parameters\":{\"type\":\"object\",\"properties\":{\"to\":{\"type\":"
	                    "\"string\"}},\"required\":[\"to\"]}}]";
	if (am_json_parse(tools, strlen(tools), "tools", &c->tools, &err) < 0)
		fprintf(stderr, "tools: %s\n", err.msg);
	static char *stops[] = {"END"};
	c->req = (struct am_chat_request){.messages = c->msgs,
	                                  .n_messages = 5,
	                                  .tools = c->tools,
	                                  .temperature = 0.7,
	                                  .top_p = 0.9,
	                                  .max_tokens = 123,
	                                  .seed = 42,
	                                  .sample_index = 3,
	                                  .stop = stops,
	                                  .n_stop = 1,
	                                  .want_logprobs = true};
}

static am_json *last_body(void)
{
	am_json *j = NULL;
	struct am_err err = {0};
	if (am_json_parse(srv.last_body, strlen(srv.last_body), "server body", &j, &err) < 0)
		fprintf(stderr, "last body: %s\n", err.msg);
	return j;
}

static void test_openai_request_and_reply(void)
{
	struct convo c;
	convo_init(&c, "ID=1 FAULT=tools");
	struct am_model *m = open_id("openai/gpt-test", false, NULL);
	struct am_chat_reply r;
	struct am_err err = {0};
	AM_CHECK_INT(am_model_chat(m, &c.req, &r, &err), 0);
	AM_CHECK_STR(srv.last_path, "/v1/chat/completions");
	AM_CHECK(!strstr(srv.last_headers, "Authorization")); /* empty key: none sent */
	am_json *b = last_body();
	AM_CHECK_STR(am_json_get_str_or(b, "model", NULL), "gpt-test");
	AM_CHECK_NEAR(json_number_value(am_json_get(b, "temperature")), 0.7, 1e-12);
	AM_CHECK_NEAR(json_number_value(am_json_get(b, "top_p")), 0.9, 1e-12);
	AM_CHECK_INT(json_integer_value(am_json_get(b, "max_tokens")), 123);
	AM_CHECK_INT(json_integer_value(am_json_get(b, "seed")), 42);
	AM_CHECK(json_is_true(am_json_get(b, "logprobs")));
	AM_CHECK_STR(json_string_value(json_array_get(am_json_get(b, "stop"), 0)), "END");
	am_json *msgs = am_json_get(b, "messages");
	AM_CHECK_INT(json_array_size(msgs), 5);
	AM_CHECK_STR(am_json_get_str_or(json_array_get(msgs, 0), "role", NULL), "system");
	am_json *asst = json_array_get(msgs, 2);
	AM_CHECK(json_is_null(am_json_get(asst, "content")));
	am_json *call = json_array_get(am_json_get(asst, "tool_calls"), 0);
	AM_CHECK_STR(am_json_get_str_or(call, "id", NULL), "call_1");
	AM_CHECK_STR(am_json_get_str_or(call, "type", NULL), "function");
	AM_CHECK_STR(am_json_get_str_or(am_json_get(call, "function"), "arguments", NULL),
	             "{\"folder\":\"inbox\"}");
	am_json *tool = json_array_get(msgs, 3);
	AM_CHECK_STR(am_json_get_str_or(tool, "role", NULL), "tool");
	AM_CHECK_STR(am_json_get_str_or(tool, "tool_call_id", NULL), "call_1");
	am_json *t0 = json_array_get(am_json_get(b, "tools"), 0);
	AM_CHECK_STR(am_json_get_str_or(t0, "type", NULL), "function");
	am_json *fn = am_json_get(t0, "function");
	AM_CHECK_STR(am_json_get_str_or(fn, "name", NULL), "send_email");
	AM_CHECK_STR(am_json_get_str_or(am_json_get(fn, "parameters"), "type", NULL), "object");
	am_json_free(b);
	/* The reply: a tool call. */
	AM_CHECK_INT(r.status, AM_REPLY_OK);
	AM_CHECK_STR(r.content, "");
	AM_CHECK_STR(r.finish_reason, "tool_calls");
	AM_CHECK_INT(r.n_tool_calls, 1);
	if (r.n_tool_calls == 1) {
		AM_CHECK_STR(r.tool_calls[0].id, "call_1");
		AM_CHECK_STR(r.tool_calls[0].name, "send_email");
		AM_CHECK_STR(r.tool_calls[0].arguments, "{\"to\":\"kyle@corp\"}");
	}
	AM_CHECK_INT(r.prompt_tokens, 11);
	am_chat_reply_free(&r);

	/* Reasoning and logprobs. */
	struct am_chat_message um = {.role = AM_ROLE_USER, .content = "ID=2 FAULT=reason"};
	struct am_chat_request req = {.messages = &um, .n_messages = 1, .want_logprobs = true};
	AM_CHECK_INT(am_model_chat(m, &req, &r, &err), 0);
	AM_CHECK_STR(r.reasoning, "thinking about 2");
	AM_CHECK_INT(r.n_token_logprobs, 2);
	if (r.n_token_logprobs == 2) {
		AM_CHECK_NEAR(r.token_logprobs[0], -0.25, 0);
		AM_CHECK_NEAR(r.token_logprobs[1], -1.5, 0);
	}
	am_chat_reply_free(&r);
	am_model_close(m);
	am_json_free(c.tools);
}

/* OpenAI's own endpoint gets max_completion_tokens (its reasoning models refuse max_tokens);
 * opening makes no connection, so the loopback rule is lifted for this check only. */
static void test_official_openai_token_field(void)
{
	struct am_chat_message um = {.role = AM_ROLE_USER, .content = "x"};
	struct am_chat_request req = {.messages = &um, .n_messages = 1, .max_tokens = 50};
	struct am_http_config cfg = {.base_url = "https://api.openai.com/v1", .api_key = ""};
	struct am_model *m = NULL;
	struct am_err err = {0};
	am_json *b = NULL;
	unsetenv("AMLAB_TEST_LOOPBACK_ONLY");
	AM_CHECK_INT(am_http_model_open("openai/gpt-5", &cfg, &m, &err), 0);
	setenv("AMLAB_TEST_LOOPBACK_ONLY", "1", 1);
	AM_CHECK_INT(am_http_build_request(m, &req, &b, &err), 0);
	AM_CHECK_INT(json_integer_value(am_json_get(b, "max_completion_tokens")), 50);
	AM_CHECK(!am_json_get(b, "max_tokens"));
	am_json_free(b);
	am_model_close(m);
}

static void test_anthropic_request_and_reply(void)
{
	struct convo c;
	convo_init(&c, "ID=3 FAULT=tools");
	struct am_http_config cfg = {.api_key = "sk-ant-test-KEY-9876"};
	struct am_model *m = open_id("anthropic/claude-test", true, &cfg);
	struct am_chat_reply r;
	struct am_err err = {0};
	AM_CHECK(m != NULL);
	AM_CHECK(m->ops->logprob == NULL);
	AM_CHECK_INT(am_model_chat(m, &c.req, &r, &err), 0);
	AM_CHECK_STR(srv.last_path, "/v1/messages");
	AM_CHECK(strstr(srv.last_headers, "x-api-key: sk-ant-test-KEY-9876"));
	AM_CHECK(strstr(srv.last_headers, "anthropic-version: 2023-06-01"));
	AM_CHECK(!strstr(srv.last_headers, "Authorization"));
	am_json *b = last_body();
	AM_CHECK_STR(am_json_get_str_or(b, "model", NULL), "claude-test");
	AM_CHECK_STR(am_json_get_str_or(b, "system", NULL), "You are Alex.");
	AM_CHECK_INT(json_integer_value(am_json_get(b, "max_tokens")), 123);
	AM_CHECK(!am_json_get(b, "seed"));
	AM_CHECK_STR(json_string_value(json_array_get(am_json_get(b, "stop_sequences"), 0)), "END");
	am_json *msgs = am_json_get(b, "messages");
	/* user, assistant(tool_use), user(tool_result + "go on") */
	AM_CHECK_INT(json_array_size(msgs), 3);
	am_json *a = json_array_get(msgs, 1);
	AM_CHECK_STR(am_json_get_str_or(a, "role", NULL), "assistant");
	am_json *tu = json_array_get(am_json_get(a, "content"), 0);
	AM_CHECK_STR(am_json_get_str_or(tu, "type", NULL), "tool_use");
	AM_CHECK_STR(am_json_get_str_or(tu, "id", NULL), "call_1");
	AM_CHECK_STR(am_json_get_str_or(am_json_get(tu, "input"), "folder", NULL), "inbox");
	am_json *u = am_json_get(json_array_get(msgs, 2), "content");
	AM_CHECK_INT(json_array_size(u), 2);
	AM_CHECK_STR(am_json_get_str_or(json_array_get(u, 0), "type", NULL), "tool_result");
	AM_CHECK_STR(am_json_get_str_or(json_array_get(u, 0), "tool_use_id", NULL), "call_1");
	AM_CHECK_STR(am_json_get_str_or(json_array_get(u, 1), "text", NULL), "go on");
	am_json *t0 = json_array_get(am_json_get(b, "tools"), 0);
	AM_CHECK_STR(am_json_get_str_or(t0, "name", NULL), "send_email");
	AM_CHECK_STR(am_json_get_str_or(am_json_get(t0, "input_schema"), "type", NULL), "object");
	am_json_free(b);
	AM_CHECK_INT(r.status, AM_REPLY_OK);
	AM_CHECK_STR(r.content, "calling");
	AM_CHECK_STR(r.reasoning, "plan 3");
	AM_CHECK_STR(r.finish_reason, "tool_use");
	AM_CHECK_INT(r.prompt_tokens, 21);
	AM_CHECK_INT(r.completion_tokens, 9);
	AM_CHECK_INT(r.n_tool_calls, 1);
	if (r.n_tool_calls == 1) {
		AM_CHECK_STR(r.tool_calls[0].id, "toolu_3");
		AM_CHECK_STR(r.tool_calls[0].arguments, "{\"to\":\"kyle@corp\"}");
	}
	am_chat_reply_free(&r);
	/* Overloaded (529) is retried. */
	struct am_chat_message um = {.role = AM_ROLE_USER, .content = "ID=4 FAULT=529x2"};
	struct am_chat_request req = {.messages = &um, .n_messages = 1};
	AM_CHECK_INT(am_model_chat(m, &req, &r, &err), 0);
	AM_CHECK_STR(r.content, "reply to ID=4");
	AM_CHECK_STR(r.finish_reason, "end_turn");
	struct am_http_stats st;
	AM_CHECK_INT(am_http_model_stats(m, &st, &err), 0);
	AM_CHECK_INT(st.rate_limited, 2);
	am_chat_reply_free(&r);
	am_model_close(m);
	am_json_free(c.tools);
}

static void test_logprob_via_completions(void)
{
	struct am_model *m = open_id("openai/scorer", false, NULL);
	struct am_err err = {0};
	double lp = 0;
	long n = 0;
	/* Server tokens: "The"(null) " cat"(-0.5) " sat"(-0.75) " down"(-1.0); the continuation is
	 * " sat down": -1.75 over 2 tokens (hand sum). */
	AM_CHECK_INT(am_model_logprob(m, "The cat", " sat down", &lp, &n, &err), 0);
	AM_CHECK_NEAR(lp, -1.75, 1e-12);
	AM_CHECK_INT(n, 2);
	am_json *b = last_body();
	AM_CHECK(json_is_true(am_json_get(b, "echo")));
	AM_CHECK_INT(json_integer_value(am_json_get(b, "max_tokens")), 0);
	am_json_free(b);
	AM_CHECK_INT(am_model_logprob(m, "NOSCORE x", " y", &lp, &n, &err), AM_EUNSUPPORTED);
	AM_CHECK(strstr(err.msg, "does not score"));
	am_model_close(m);
	/* Anthropic cannot: a clear unsupported error. */
	m = open_id("anthropic/c", true, NULL);
	AM_CHECK_INT(am_model_logprob(m, "a", " b", &lp, &n, &err), AM_EUNSUPPORTED);
	am_model_close(m);
}

static void test_cache_modes(void)
{
	char path[] = "/tmp/amlab-cache-test-XXXXXX";
	int fd = mkstemp(path);
	AM_CHECK(fd >= 0);
	close(fd);
	struct am_cache *cache = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_cache_open(path, AM_CACHE_ON, &cache, &err), 0);
	const char *key = "sk-cache-SECRET-abcdef";
	struct am_http_config cfg = {.api_key = key, .cache = cache};
	struct am_model *m = open_id("openai/cached", false, &cfg);
	struct test_source s;
	ts_init(&s, 4);
	ts_set_text(&s, 0, "ID=50");
	ts_set_text(&s, 1, "ID=51");
	ts_set_text(&s, 2, "ID=50"); /* same text, other sample index: its own entry */
	ts_set_text(&s, 3, "ID=52 FAULT=malformed");
	struct am_request_source src = ts_source(&s);
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	long before = srv.requests, rows = 0;
	AM_CHECK_INT(am_cache_count(cache, &rows, &err), 0);
	AM_CHECK_INT(rows, 3); /* errors are not cached */
	AM_CHECK_INT(am_cache_hits(cache), 0);
	ts_free(&s);
	/* Run again: three hits, one new attempt (the error). */
	ts_init(&s, 4);
	ts_set_text(&s, 0, "ID=50");
	ts_set_text(&s, 1, "ID=51");
	ts_set_text(&s, 2, "ID=50");
	ts_set_text(&s, 3, "ID=52 FAULT=malformed");
	src = ts_source(&s);
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	AM_CHECK_INT(am_cache_hits(cache), 3);
	AM_CHECK_INT(srv.requests - before, 1);
	AM_CHECK(s.replies[0].from_cache);
	AM_CHECK_STR(s.replies[0].content, "reply to ID=50");
	AM_CHECK_STR(s.replies[1].content, "reply to ID=51");
	AM_CHECK_INT(s.replies[1].prompt_tokens, 5);
	AM_CHECK(!s.replies[3].from_cache);
	AM_CHECK_STR(s.replies[3].error_kind, "bad_response");
	ts_free(&s);
	am_model_close(m);
	am_cache_close(cache);

	/* Read-only: hits, but stores nothing new. */
	AM_CHECK_INT(am_cache_open(path, AM_CACHE_READ_ONLY, &cache, &err), 0);
	cfg.cache = cache;
	m = open_id("openai/cached", false, &cfg);
	ts_init(&s, 2);
	ts_set_text(&s, 0, "ID=50");
	ts_set_text(&s, 1, "ID=53");
	src = ts_source(&s);
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	AM_CHECK(s.replies[0].from_cache);
	AM_CHECK(!s.replies[1].from_cache);
	AM_CHECK_INT(am_cache_hits(cache), 1);
	AM_CHECK_INT(am_cache_count(cache, &rows, &err), 0);
	AM_CHECK_INT(rows, 3);
	ts_free(&s);
	am_model_close(m);
	am_cache_close(cache);

	/* Off: never hits. */
	AM_CHECK_INT(am_cache_open(path, AM_CACHE_OFF, &cache, &err), 0);
	cfg.cache = cache;
	m = open_id("openai/cached", false, &cfg);
	ts_init(&s, 1);
	ts_set_text(&s, 0, "ID=50");
	src = ts_source(&s);
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	AM_CHECK(!s.replies[0].from_cache);
	AM_CHECK_INT(am_cache_hits(cache), 0);
	ts_free(&s);
	am_model_close(m);
	am_cache_close(cache);

	/* The key is nowhere in the database files. */
	const char *suffixes[] = {"", "-wal"};
	for (size_t i = 0; i < 2; i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		FILE *f = fopen(p, "rb");
		if (!f)
			continue;
		static char data[1 << 20];
		size_t n = fread(data, 1, sizeof(data), f);
		fclose(f);
		AM_CHECK(memmem(data, n, "SECRET", 6) == NULL);
		AM_CHECK(i != 0 || memmem(data, n, "reply to ID=50", 14) != NULL);
	}
	enum am_cache_mode mode;
	AM_CHECK_INT(am_cache_mode_parse("read-only", &mode, &err), 0);
	AM_CHECK_INT(mode, AM_CACHE_READ_ONLY);
	AM_CHECK_INT(am_cache_mode_parse("maybe", &mode, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "expected on, off or read-only"));
	char p2[160];
	snprintf(p2, sizeof(p2), "%s-wal", path);
	unlink(p2);
	snprintf(p2, sizeof(p2), "%s-shm", path);
	unlink(p2);
	unlink(path);
}

/* The eval's store shares the database file on its own connection and commits each episode
 * from inside done(): the cache must never hold the file locked then. */
struct store_src {
	struct test_source ts;
	sqlite3 *db;
	int commits, failures;
};

static void store_done(void *ctx, void *tag, struct am_chat_reply *r)
{
	struct store_src *s = ctx;
	char *msg = NULL;
	if (sqlite3_exec(s->db, "INSERT INTO episodes_sim(x) VALUES(1)", NULL, NULL, &msg) ==
	    SQLITE_OK) {
		s->commits++;
	} else {
		s->failures++;
		fprintf(stderr, "  store write inside done(): %s\n", msg ? msg : "?");
	}
	sqlite3_free(msg);
	ts_done(&s->ts, tag, r);
}

static void test_cache_shares_file_with_store(void)
{
	char path[] = "/tmp/amlab-cache-store-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	struct am_cache *cache = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_cache_open(path, AM_CACHE_ON, &cache, &err), 0);
	struct store_src s;
	memset(&s, 0, sizeof(s));
	AM_CHECK_INT(sqlite3_open(path, &s.db), SQLITE_OK);
	sqlite3_busy_timeout(s.db, 200);
	AM_CHECK_INT(sqlite3_exec(s.db, "CREATE TABLE episodes_sim(x INTEGER)", NULL, NULL, NULL),
	             SQLITE_OK);
	struct am_http_config cfg = {.cache = cache};
	struct am_model *m = open_id("openai/shared", false, &cfg);
	ts_init(&s.ts, 30);
	for (size_t i = 0; i < 30; i++) {
		char t[32];
		snprintf(t, sizeof(t), "ID=%zu", 300 + i % 15); /* the second half are cache hits */
		ts_set_text(&s.ts, i, t);
		s.ts.reqs[i].sample_index = (int)(i % 15);
		s.ts.reqs[i].seed = i % 15;
	}
	struct am_request_source src = {&s, ts_next, store_done, ts_finished};
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	AM_CHECK_INT(s.commits, 30);
	AM_CHECK_INT(s.failures, 0);
	long rows = 0;
	AM_CHECK_INT(am_cache_count(cache, &rows, &err), 0);
	AM_CHECK_INT(rows, 15);
	ts_free(&s.ts);
	am_model_close(m);
	am_cache_close(cache);
	sqlite3_close(s.db);
	char p2[160];
	snprintf(p2, sizeof(p2), "%s-wal", path);
	unlink(p2);
	snprintf(p2, sizeof(p2), "%s-shm", path);
	unlink(p2);
	unlink(path);
}

static void test_reply_json_roundtrip(void)
{
	struct am_tool_call call = {"c1", "f", "{\"a\":1}"};
	double lps[2] = {-0.5, -2.25};
	struct am_chat_reply r = {.status = AM_REPLY_OK,
	                          .content = "hi",
	                          .reasoning = "hmm",
	                          .tool_calls = &call,
	                          .n_tool_calls = 1,
	                          .finish_reason = "stop",
	                          .prompt_tokens = 7,
	                          .completion_tokens = 2,
	                          .token_logprobs = lps,
	                          .n_token_logprobs = 2};
	am_json *j = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_chat_reply_to_json(&r, &j, &err), 0);
	struct am_chat_reply back;
	AM_CHECK_INT(am_chat_reply_from_json(j, &back, &err), 0);
	AM_CHECK_STR(back.content, "hi");
	AM_CHECK_STR(back.reasoning, "hmm");
	AM_CHECK_STR(back.tool_calls[0].arguments, "{\"a\":1}");
	AM_CHECK_INT(back.completion_tokens, 2);
	AM_CHECK_NEAR(back.token_logprobs[1], -2.25, 0);
	am_chat_reply_free(&back);
	am_json_free(j);
	const char *bad = "{\"status\":\"maybe\"}";
	AM_CHECK_INT(am_json_parse(bad, strlen(bad), "t", &j, &err), 0);
	AM_CHECK_INT(am_chat_reply_from_json(j, &back, &err), AM_EPARSE);
	AM_CHECK(strstr(err.msg, "reply.status"));
	am_json_free(j);
}

static void test_aimd_fake_clock(void)
{
	am_clock_set_fake(1700000000000LL, 1000 * 1000000000LL);
	struct am_aimd a;
	/* Slow start: one more per success until the first overload, capped at max. */
	am_aimd_init(&a, 4, 10);
	for (int i = 0; i < 4; i++)
		am_aimd_on_success(&a);
	AM_CHECK_NEAR(a.limit, 8, 1e-12);
	for (int i = 0; i < 4; i++)
		am_aimd_on_success(&a);
	AM_CHECK_NEAR(a.limit, 10, 1e-12);
	am_aimd_init(&a, 16, 64);
	int64_t now = am_clock_mono_ns();
	AM_CHECK(am_aimd_can_start(&a, 15, now));
	AM_CHECK(!am_aimd_can_start(&a, 16, now));
	am_aimd_on_overload(&a, now, 0);
	AM_CHECK_NEAR(a.limit, 8, 1e-12);
	am_aimd_on_overload(&a, now + 1000, 0); /* same burst: no second cut */
	AM_CHECK_NEAR(a.limit, 8, 1e-12);
	am_clock_advance_ns(1500000000LL);
	now = am_clock_mono_ns();
	am_aimd_on_overload(&a, now, 2000000000LL); /* Retry-After: 2 s */
	AM_CHECK_NEAR(a.limit, 4, 1e-12);
	AM_CHECK(!am_aimd_can_start(&a, 0, now));
	AM_CHECK(!am_aimd_can_start(&a, 0, now + 1999999999LL));
	AM_CHECK(am_aimd_can_start(&a, 0, now + 2000000000LL));
	/* Additive growth: 4 successes at limit ~4 add about one. */
	for (int i = 0; i < 4; i++)
		am_aimd_on_success(&a);
	AM_CHECK(a.limit > 4.9 && a.limit < 5.0);
	for (int i = 0; i < 10000; i++)
		am_aimd_on_success(&a);
	AM_CHECK_NEAR(a.limit, 64, 1e-12);
	for (int i = 0; i < 20; i++)
		am_aimd_on_overload(&a, now + (int64_t)(i + 3) * 1000000000LL, 0);
	AM_CHECK_NEAR(a.limit, 1, 1e-12);
	AM_CHECK(am_aimd_can_start(&a, 0, now + 30 * 1000000000LL));
	AM_CHECK(!am_aimd_can_start(&a, 1, now + 30 * 1000000000LL));

	int64_t ns;
	AM_CHECK(am_http_parse_retry_after("3", 0, &ns));
	AM_CHECK_INT(ns, 3000000000LL);
	AM_CHECK(am_http_parse_retry_after(" 0.5 ", 0, &ns));
	AM_CHECK_INT(ns, 500000000LL);
	/* The fake wall clock started at 1700000000 s (Tue, 14 Nov 2023 22:13:20 GMT) and moved
	 * 1.5 s; a date ten seconds after the start is 8.5 s away. */
	AM_CHECK(
	    am_http_parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", am_clock_wall_ms(), &ns));
	AM_CHECK_INT(ns, 8500000000LL);
	AM_CHECK(!am_http_parse_retry_after("soon", 0, &ns));
	AM_CHECK(!am_http_parse_retry_after("-1", 0, &ns));
	AM_CHECK(am_http_parse_duration("6m0s", &ns));
	AM_CHECK_INT(ns, 360000000000LL);
	AM_CHECK(am_http_parse_duration("250ms", &ns));
	AM_CHECK_INT(ns, 250000000LL);
	AM_CHECK(am_http_parse_duration("1h2m3.5s", &ns));
	AM_CHECK_INT(ns, 3723500000000LL);
	AM_CHECK(!am_http_parse_duration("5 minutes", &ns));
	AM_CHECK(!am_http_parse_duration("", &ns));
	am_clock_set_system();
}

static void test_tuning_env(void)
{
	struct am_model *m = NULL;
	struct am_err err = {0};
	char url[128];
	fs_url(&srv, url, sizeof(url));
	struct am_http_config cfg = {.base_url = url, .api_key = ""};
	setenv("AMLAB_HTTP_MAX_CONCURRENCY", "lots", 1);
	AM_CHECK_INT(am_http_model_open("openai/x", &cfg, &m, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "AMLAB_HTTP_MAX_CONCURRENCY='lots'"));
	setenv("AMLAB_HTTP_MAX_CONCURRENCY", "3", 1);
	setenv("AMLAB_HTTP_TIMEOUT_MS", "250", 1);
	setenv("AMLAB_HTTP_MAX_RETRIES", "0", 1);
	AM_CHECK_INT(am_http_model_open("openai/x", &cfg, &m, &err), 0);
	struct am_chat_message um = {.role = AM_ROLE_USER, .content = "ID=70 FAULT=sleep"};
	struct am_chat_request req = {.messages = &um, .n_messages = 1};
	struct am_chat_reply r;
	AM_CHECK_INT(am_model_chat(m, &req, &r, &err), 0);
	AM_CHECK_STR(r.error_kind, "timeout");
	AM_CHECK(r.error && strstr(r.error, "within 250 ms"));
	struct am_http_stats st;
	AM_CHECK_INT(am_http_model_stats(m, &st, &err), 0);
	AM_CHECK_INT(st.attempts, 1); /* no retries */
	AM_CHECK(st.concurrency <= 3);
	am_chat_reply_free(&r);
	am_model_close(m);
	unsetenv("AMLAB_HTTP_MAX_CONCURRENCY");
	unsetenv("AMLAB_HTTP_TIMEOUT_MS");
	unsetenv("AMLAB_HTTP_MAX_RETRIES");
}

static void test_endpoint_env(void)
{
	struct am_model *m = NULL;
	struct am_err err = {0};
	unsetenv("AMLAB_MYVLLM_BASE_URL");
	AM_CHECK_INT(am_http_model_open("openai@myvllm/llama", NULL, &m, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "AMLAB_MYVLLM_BASE_URL"));
	char url[128];
	fs_url(&srv, url, sizeof(url));
	setenv("AMLAB_MYVLLM_BASE_URL", url, 1);
	setenv("AMLAB_MYVLLM_API_KEY", "vllm-key-123456", 1);
	AM_CHECK_INT(am_http_model_open("openai@myvllm/llama", NULL, &m, &err), 0);
	struct am_chat_message um = {.role = AM_ROLE_USER, .content = "ID=60"};
	struct am_chat_request req = {.messages = &um, .n_messages = 1};
	struct am_chat_reply r;
	AM_CHECK_INT(am_model_chat(m, &req, &r, &err), 0);
	AM_CHECK_STR(r.content, "reply to ID=60");
	AM_CHECK(strstr(srv.last_headers, "Bearer vllm-key-123456"));
	am_json *b = last_body();
	AM_CHECK_STR(am_json_get_str_or(b, "model", NULL), "llama");
	am_json_free(b);
	am_chat_reply_free(&r);
	am_model_close(m);
	/* OPENAI_BASE_URL / OPENAI_API_KEY for plain openai/ ids. */
	setenv("OPENAI_BASE_URL", url, 1);
	setenv("OPENAI_API_KEY", "sk-env-key-7777", 1);
	AM_CHECK_INT(am_http_model_open("openai/envmodel", NULL, &m, &err), 0);
	um.content = "ID=61";
	AM_CHECK_INT(am_model_chat(m, &req, &r, &err), 0);
	AM_CHECK_STR(r.content, "reply to ID=61");
	AM_CHECK(strstr(srv.last_headers, "Bearer sk-env-key-7777"));
	am_chat_reply_free(&r);
	am_model_close(m);
	unsetenv("OPENAI_BASE_URL");
	unsetenv("OPENAI_API_KEY");
	/* Credentials inside a base URL are redacted like keys. */
	char curl_[160];
	snprintf(curl_, sizeof(curl_), "http://bob:pw-in-url-42@127.0.0.1:%d/v1", srv.port);
	struct am_http_config ucfg = {.base_url = curl_, .api_key = ""};
	AM_CHECK_INT(am_http_model_open("openai/u", &ucfg, &m, &err), 0);
	um.content = "ID=62 FAULT=404";
	AM_CHECK_INT(am_model_chat(m, &req, &r, &err), 0);
	AM_CHECK_STR(r.error_kind, "unknown_model");
	AM_CHECK(r.error && !strstr(r.error, "pw-in-url-42") && strstr(r.error, "[REDACTED]"));
	am_chat_reply_free(&r);
	am_model_close(m);
	/* The key is registered with the log redaction. */
	struct am_buf out = AM_BUF_INIT;
	AM_CHECK_INT(am_log_redact("key=sk-env-key-7777.", 20, &out), 0);
	AM_CHECK_STR(out.data, "key=[REDACTED].");
	am_buf_free(&out);
}

int main(void)
{
	setenv("AMLAB_TEST_LOOPBACK_ONLY", "1", 1);
	am_json_init();
	if (fs_start(&srv) < 0)
		return 1;
	AM_RUN(test_openai_request_and_reply);
	AM_RUN(test_official_openai_token_field);
	AM_RUN(test_anthropic_request_and_reply);
	AM_RUN(test_logprob_via_completions);
	AM_RUN(test_cache_modes);
	AM_RUN(test_cache_shares_file_with_store);
	AM_RUN(test_reply_json_roundtrip);
	AM_RUN(test_aimd_fake_clock);
	AM_RUN(test_endpoint_env);
	AM_RUN(test_tuning_env);
	fs_stop(&srv);
	am_log_clear_secrets();
	return am_test_result();
}
