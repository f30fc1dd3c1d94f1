/* test_backend_alloc.c: every allocation failure on the backend's request building, answer
 * parsing and reply (de)serialisation paths is reported as AM_ENOMEM (never as a wrong request,
 * a misleading "not UTF-8", a crash or a leak). Uses tests/core/fault_walk.h. */
#include "amlab/backend.h"
#include "amlab/json.h"
#include "amlab/str.h"
#include "core/fault_walk.h"
#include "test.h"

static const char openai_answer[] =
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"hi\",\"reasoning_content\":"
    "\"why\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
    "\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":\"tool_calls\",\"logprobs\":{"
    "\"content\":[{\"token\":\"a\",\"logprob\":-0.5}]}}],\"usage\":{\"prompt_tokens\":3,"
    "\"completion_tokens\":2}}";
static const char anthropic_answer[] =
    "{\"type\":\"message\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\"},{\"type\":"
    "\"text\",\"text\":\"ok\"},{\"type\":\"tool_use\",\"id\":\"tu\",\"name\":\"f\",\"input\":{"
    "\"x\":[1,2]}}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":5,"
    "\"output_tokens\":6}}";

static int parse_openai(void *ctx, bool *ok, struct am_err *err)
{
	(void)ctx;
	struct am_chat_reply r;
	memset(&r, 0, sizeof(r));
	int rc = am_http_parse_reply("openai", openai_answer, strlen(openai_answer), &r, err);
	*ok = rc == 0 && r.status == AM_REPLY_OK && am_streq(r.content, "hi") &&
	      am_streq(r.reasoning, "why") && r.n_tool_calls == 1 &&
	      am_streq(r.tool_calls[0].arguments, "{\"a\":1}") && r.n_token_logprobs == 1 &&
	      r.token_logprobs[0] == -0.5 && r.prompt_tokens == 3;
	am_chat_reply_free(&r);
	return rc;
}

static int parse_anthropic(void *ctx, bool *ok, struct am_err *err)
{
	(void)ctx;
	struct am_chat_reply r;
	memset(&r, 0, sizeof(r));
	int rc =
	    am_http_parse_reply("anthropic", anthropic_answer, strlen(anthropic_answer), &r, err);
	*ok = rc == 0 && am_streq(r.content, "ok") && am_streq(r.reasoning, "t") &&
	      r.n_tool_calls == 1 && am_streq(r.tool_calls[0].arguments, "{\"x\":[1,2]}") &&
	      am_streq(r.finish_reason, "tool_use") && r.completion_tokens == 6;
	am_chat_reply_free(&r);
	return rc;
}

static int reply_roundtrip(void *ctx, bool *ok, struct am_err *err)
{
	(void)ctx;
	struct am_tool_call call = {"c1", "f", "{}"};
	double lps[1] = {-1.25};
	struct am_chat_reply r = {.content = "x",
	                          .reasoning = "y",
	                          .tool_calls = &call,
	                          .n_tool_calls = 1,
	                          .finish_reason = "stop",
	                          .token_logprobs = lps,
	                          .n_token_logprobs = 1};
	am_json *j = NULL;
	struct am_chat_reply back;
	memset(&back, 0, sizeof(back));
	int rc = am_chat_reply_to_json(&r, &j, err);
	if (rc == 0)
		rc = am_chat_reply_from_json(j, &back, err);
	*ok = rc == 0 && am_streq(back.content, "x") && am_streq(back.tool_calls[0].name, "f") &&
	      back.token_logprobs[0] == -1.25;
	am_chat_reply_free(&back);
	am_json_free(j);
	return rc;
}

struct build_ctx {
	struct am_model *openai, *anthropic;
	struct am_chat_request req;
};

static int build_both(void *vctx, bool *ok, struct am_err *err)
{
	struct build_ctx *c = vctx;
	am_json *a = NULL, *b = NULL;
	int rc = am_http_build_request(c->openai, &c->req, &a, err);
	if (rc == 0)
		rc = am_http_build_request(c->anthropic, &c->req, &b, err);
	*ok = false;
	if (rc == 0) {
		am_json *msgs = am_json_get(a, "messages");
		am_json *amsgs = am_json_get(b, "messages");
		*ok = json_array_size(msgs) == 5 && json_array_size(amsgs) == 3 &&
		      am_streq(am_json_get_str_or(b, "system", NULL), "sys") &&
		      json_array_size(am_json_get(a, "tools")) == 1 &&
		      json_array_size(am_json_get(b, "tools")) == 1;
	}
	am_json_free(a);
	am_json_free(b);
	return rc;
}

int main(void)
{
	am_json_init();
	setenv("AMLAB_TEST_LOOPBACK_ONLY", "1", 1);
	am_test_current = "walks";
	am_fault_walk("parse openai answer", parse_openai, NULL, AM_ENOMEM);
	am_fault_walk("parse anthropic answer", parse_anthropic, NULL, AM_ENOMEM);
	am_fault_walk("reply json roundtrip", reply_roundtrip, NULL, AM_ENOMEM);

	struct build_ctx c;
	memset(&c, 0, sizeof(c));
	struct am_http_config cfg = {.base_url = "http://127.0.0.1:9", .api_key = ""};
	struct am_err err = {0};
	AM_CHECK_INT(am_http_model_open("openai/m", &cfg, &c.openai, &err), 0);
	AM_CHECK_INT(am_http_model_open("anthropic/m", &cfg, &c.anthropic, &err), 0);
	struct am_tool_call call = {"call_1", "read", "{\"f\":1}"};
	struct am_chat_message msgs[5] = {
	    {.role = AM_ROLE_SYSTEM, .content = "sys"},
	    {.role = AM_ROLE_USER, .content = "u"},
	    {.role = AM_ROLE_ASSISTANT, .content = "a", .tool_calls = &call, .n_tool_calls = 1},
	    {.role = AM_ROLE_TOOL, .content = "r", .tool_call_id = "call_1"},
	    {.role = AM_ROLE_USER, .content = "u2"}};
	const char *tj = "[{\"name\":\"send\",\"description\":\"d\"}]";
	am_json *tools = NULL;
	AM_CHECK_INT(am_json_parse(tj, strlen(tj), "tools", &tools, &err), 0);
	char *stops[] = {"S"};
	c.req = (struct am_chat_request){.messages = msgs,
	                                 .n_messages = 5,
	                                 .tools = tools,
	                                 .temperature = 0.5,
	                                 .top_p = 0.5,
	                                 .max_tokens = 9,
	                                 .stop = stops,
	                                 .n_stop = 1,
	                                 .want_logprobs = true};
	am_fault_walk("build openai+anthropic requests", build_both, &c, AM_ENOMEM);
	am_json_free(tools);
	am_model_close(c.openai);
	am_model_close(c.anthropic);
	return am_test_result();
}
