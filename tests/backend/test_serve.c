/* test_serve.c: the OpenAI-compatible server over a toy model, exercised by amlab's own HTTP
 * client (chat, tools, errors, prompt scoring, many clients at once) and by raw requests (bad
 * JSON, oversized bodies, wrong methods and paths, streaming, a client that hangs up). */
#include <curl/curl.h>

#include "amlab/backend.h"
#include "amlab/buf.h"
#include "amlab/json.h"
#include "amlab/serve.h"
#include "amlab/str.h"
#include "fault_server.h"
#include "test.h"
#include "test_source.h"
#include "toy_model.h"

static struct toy_model *toy;
static struct am_server *server;
static char base[128];

static struct am_model *client(void)
{
	struct am_http_config cfg = {.base_url = base, .api_key = "", .retry_base_ms = 5};
	struct am_model *m = NULL;
	struct am_err err = {0};
	if (am_http_model_open("openai/toy", &cfg, &m, &err) < 0)
		fprintf(stderr, "client: %s\n", err.msg);
	return m;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	am_buf_append(ud, p, size * n, NULL);
	return size * n;
}

/* A raw request; returns the status and fills body. */
static bool chunked; /* send the next raw() body with Transfer-Encoding: chunked */

static long raw(const char *method, const char *path, const char *data, size_t len,
                struct am_buf *body)
{
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", am_serve_port(server), path);
	CURL *e = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	if (chunked)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	if (data) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
	long status = 0;
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return status;
}

static void test_chat_roundtrip(void)
{
	struct am_model *m = client();
	struct am_chat_message msgs[2] = {{.role = AM_ROLE_SYSTEM, .content = "be brief"},
	                                  {.role = AM_ROLE_USER, .content = "hello there"}};
	struct am_chat_request req = {.messages = msgs,
	                              .n_messages = 2,
	                              .temperature = 0.25,
	                              .top_p = 1,
	                              .max_tokens = 77,
	                              .want_logprobs = true};
	struct am_chat_reply r;
	struct am_err err = {0};
	AM_CHECK_INT(am_model_chat(m, &req, &r, &err), 0);
	AM_CHECK_INT(r.status, AM_REPLY_OK);
	AM_CHECK_STR(r.content, "echo: hello there");
	AM_CHECK_STR(r.reasoning, "r0");
	AM_CHECK_STR(r.finish_reason, "stop");
	AM_CHECK_INT(r.prompt_tokens, 11);
	AM_CHECK_INT(r.completion_tokens, 3);
	AM_CHECK_INT(r.n_token_logprobs, 3);
	if (r.n_token_logprobs == 3)
		AM_CHECK_NEAR(r.token_logprobs[2], -0.375, 0);
	AM_CHECK_NEAR(toy->last_temperature, 0.25, 1e-12);
	AM_CHECK_INT(toy->last_max_tokens, 77);
	am_chat_reply_free(&r);
	am_model_close(m);
}

static void test_tools_roundtrip(void)
{
	struct am_model *m = client();
	am_json *tools = NULL;
	struct am_err err = {0};
	const char *tj = "[{\"name\":\"send_email\",\"description\":\"d\",\"parameters\":{\"type\":"
	                 "\"object\"}},{\"name\":\"wait\"}]";
	AM_CHECK_INT(am_json_parse(tj, strlen(tj), "tools", &tools, &err), 0);
	struct am_tool_call prior = {"call_0", "wait", "{}"};
	struct am_chat_message msgs[3] = {
	    {.role = AM_ROLE_ASSISTANT, .tool_calls = &prior, .n_tool_calls = 1},
	    {.role = AM_ROLE_TOOL, .content = "waited", .tool_call_id = "call_0"},
	    {.role = AM_ROLE_USER, .content = "CALL something"}};
	struct am_chat_request req = {
	    .messages = msgs, .n_messages = 3, .tools = tools, .top_p = 1};
	struct am_chat_reply r;
	AM_CHECK_INT(am_model_chat(m, &req, &r, &err), 0);
	AM_CHECK_INT(r.status, AM_REPLY_OK);
	AM_CHECK_STR(toy->last_tool_names, "send_email,wait");
	AM_CHECK_STR(r.finish_reason, "tool_calls");
	AM_CHECK_INT(r.n_tool_calls, 1);
	if (r.n_tool_calls == 1) {
		AM_CHECK_STR(r.tool_calls[0].id, "call_toy_1");
		AM_CHECK_STR(r.tool_calls[0].name, "send_email");
		AM_CHECK_STR(r.tool_calls[0].arguments, "{\"x\":1}");
	}
	am_chat_reply_free(&r);
	am_json_free(tools);
	am_model_close(m);
}

static void test_model_error_maps_to_kind(void)
{
	struct am_model *m = client();
	struct am_chat_message msg = {.role = AM_ROLE_USER, .content = "TOOLONG"};
	struct am_chat_request req = {.messages = &msg, .n_messages = 1, .top_p = 1};
	struct am_chat_reply r;
	struct am_err err = {0};
	AM_CHECK_INT(am_model_chat(m, &req, &r, &err), 0);
	AM_CHECK_INT(r.status, AM_REPLY_ERROR);
	AM_CHECK_STR(r.error_kind, "context_length");
	AM_CHECK(r.error && strstr(r.error, "9999 tokens"));
	am_chat_reply_free(&r);
	am_model_close(m);
}

static void test_logprob_through_server(void)
{
	struct am_model *m = client();
	double lp = 0;
	long n = 0;
	struct am_err err = {0};
	/* Segments " sat" and " down" are scored by the toy at -0.5 per byte: -2 - 2.5. */
	AM_CHECK_INT(am_model_logprob(m, "The cat", " sat down", &lp, &n, &err), 0);
	AM_CHECK_NEAR(lp, -4.5, 1e-12);
	AM_CHECK_INT(n, 9);
	/* Non-ASCII: offsets are in characters. "é" is two bytes; the continuation " çà" is
	 * 5 bytes: -2.5. */
	AM_CHECK_INT(am_model_logprob(m, "Café", " çà", &lp, &n, &err), 0);
	AM_CHECK_NEAR(lp, -2.5, 1e-12);
	am_model_close(m);
}

static void test_many_clients_queue(void)
{
	size_t n = 40;
	struct am_model *m = client();
	struct test_source s;
	ts_init(&s, n);
	/* Every 10th request is slow (300 ms), so that others pile up in the queue meanwhile. */
	for (size_t i = 0; i < n; i++) {
		char t[32];
		snprintf(t, sizeof(t), "q%zu%s", i, i % 10 == 0 ? " SLOW" : "");
		ts_set_text(&s, i, t);
	}
	struct am_request_source src = ts_source(&s);
	struct am_err err = {0};
	atomic_store(&toy->peak_inside, 0);
	AM_CHECK_INT(m->ops->run(m, &src, &err), 0);
	for (size_t i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "echo: q%zu%s", i, i % 10 == 0 ? " SLOW" : "");
		AM_CHECK_INT(s.answered[i], 1);
		AM_CHECK_STR(s.replies[i].content, want);
	}
	struct am_http_stats st;
	AM_CHECK_INT(am_http_model_stats(m, &st, &err), 0);
	AM_CHECK(st.peak_in_flight > 1);                 /* the clients were concurrent... */
	AM_CHECK_INT(atomic_load(&toy->peak_inside), 1); /* ...and queued at the model */
	/* Requests that waited together were handed to the model together (batched runs). */
	AM_CHECK(am_serve_peak_batch(server) > 1);
	ts_free(&s);
	am_model_close(m);
}

static void test_bad_requests(void)
{
	struct am_buf b = AM_BUF_INIT;
	const char *bad = "{\"model\": \"toy\", \"messages\": [}";
	AM_CHECK_INT(raw("POST", "/v1/chat/completions", bad, strlen(bad), &b), 400);
	AM_CHECK(b.data && strstr(b.data, "not valid JSON") &&
	         strstr(b.data, "invalid_request_error"));
	am_buf_reset(&b);
	const char *norole =
	    "{\"model\":\"toy\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}";
	AM_CHECK_INT(raw("POST", "/v1/chat/completions", norole, strlen(norole), &b), 400);
	AM_CHECK(b.data && strstr(b.data, "messages[0].role"));
	am_buf_reset(&b);
	const char *nomodel = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
	AM_CHECK_INT(raw("POST", "/v1/chat/completions", nomodel, strlen(nomodel), &b), 400);
	AM_CHECK(b.data && strstr(b.data, "'model'"));
	am_buf_reset(&b);
	const char *badn =
	    "{\"model\":\"t\",\"n\":99,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
	AM_CHECK_INT(raw("POST", "/v1/chat/completions", badn, strlen(badn), &b), 400);
	AM_CHECK(b.data && strstr(b.data, "'n' must be"));
	am_buf_reset(&b);
	AM_CHECK_INT(raw("GET", "/v1/chat/completions", NULL, 0, &b), 405);
	am_buf_reset(&b);
	AM_CHECK_INT(raw("POST", "/v1/embeddings", "{}", 2, &b), 404);
	AM_CHECK(b.data && strstr(b.data, "no such endpoint"));
	am_buf_reset(&b);
	/* 9 MB body: over the 8 MiB limit. */
	size_t big = (size_t)9 << 20;
	char *huge = am_malloc(big);
	memset(huge, ' ', big);
	AM_CHECK_INT(raw("POST", "/v1/chat/completions", huge, big, &b), 413);
	AM_CHECK(b.data && strstr(b.data, "larger than the limit"));
	am_buf_reset(&b);
	/* The same without a Content-Length: caught while the body streams in. */
	chunked = true;
	AM_CHECK_INT(raw("POST", "/v1/chat/completions", huge, big, &b), 413);
	chunked = false;
	AM_CHECK(b.data && strstr(b.data, "larger than the limit"));
	am_free(huge);
	am_buf_reset(&b);
	const char *gen = "{\"model\":\"t\",\"prompt\":\"hi\",\"max_tokens\":5}";
	AM_CHECK_INT(raw("POST", "/v1/completions", gen, strlen(gen), &b), 400);
	AM_CHECK(b.data && strstr(b.data, "scores prompts only"));
	am_buf_reset(&b);
	/* The server still works after all that. */
	AM_CHECK_INT(raw("GET", "/v1/models", NULL, 0, &b), 200);
	AM_CHECK(b.data && strstr(b.data, "\"id\":\"toy-served\""));
	am_buf_free(&b);
}

static void test_n_and_stream(void)
{
	struct am_buf b = AM_BUF_INIT;
	const char *req = "{\"model\":\"t\",\"n\":3,\"seed\":5,\"messages\":[{\"role\":\"user\","
	                  "\"content\":\"hi\"}]}";
	AM_CHECK_INT(raw("POST", "/v1/chat/completions", req, strlen(req), &b), 200);
	am_json *j = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_json_parse(b.data, b.len, "resp", &j, &err), 0);
	am_json *ch = am_json_get(j, "choices");
	AM_CHECK_INT(json_array_size(ch), 3);
	AM_CHECK_STR(am_json_get_str_or(am_json_get(json_array_get(ch, 2), "message"),
	                                "reasoning_content", NULL),
	             "r2");
	AM_CHECK_INT(json_integer_value(am_json_get(am_json_get(j, "usage"), "completion_tokens")),
	             9);
	am_json_free(j);
	am_buf_reset(&b);
	const char *sreq = "{\"model\":\"t\",\"stream\":true,\"messages\":[{\"role\":\"user\","
	                   "\"content\":\"hi\"}]}";
	AM_CHECK_INT(raw("POST", "/v1/chat/completions", sreq, strlen(sreq), &b), 200);
	AM_CHECK(b.data && am_starts_with(b.data, "data: {") &&
	         am_ends_with(b.data, "data: [DONE]\n\n") && strstr(b.data, "\"delta\""));
	am_buf_free(&b);
}

static void test_client_hangs_up(void)
{
	/* Send a slow request and close the socket at once; the server must survive it. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)am_serve_port(server));
	AM_CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	const char *body =
	    "{\"model\":\"t\",\"messages\":[{\"role\":\"user\",\"content\":\"SLOW\"}]}";
	char req[512];
	int n = snprintf(req, sizeof(req),
	                 "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
	                 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
	                 strlen(body), body);
	fs_send_all(fd, req, (size_t)n);
	close(fd);
	/* Half a request, then hang up. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	AM_CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	const char *half =
	    "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{";
	fs_send_all(fd, half, strlen(half));
	close(fd);
	struct am_buf b = AM_BUF_INIT;
	const char *ok =
	    "{\"model\":\"t\",\"messages\":[{\"role\":\"user\",\"content\":\"after\"}]}";
	AM_CHECK_INT(raw("POST", "/v1/chat/completions", ok, strlen(ok), &b), 200);
	AM_CHECK(b.data && strstr(b.data, "echo: after"));
	am_buf_free(&b);
}

int main(void)
{
	setenv("AMLAB_TEST_LOOPBACK_ONLY", "1", 1);
	am_json_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	toy = toy_open();
	struct am_serve_options o = {.model_name = "toy-served"};
	struct am_err err = {0};
	if (am_serve_start(&toy->base, &o, &server, &err) < 0) {
		fprintf(stderr, "serve: %s\n", err.msg);
		return 1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1", am_serve_port(server));
	AM_RUN(test_chat_roundtrip);
	AM_RUN(test_tools_roundtrip);
	AM_RUN(test_model_error_maps_to_kind);
	AM_RUN(test_logprob_through_server);
	AM_RUN(test_many_clients_queue);
	AM_RUN(test_bad_requests);
	AM_RUN(test_n_and_stream);
	AM_RUN(test_client_hangs_up);
	am_serve_stop(server);
	am_model_close(&toy->base);
	curl_global_cleanup();
	return am_test_result();
}
