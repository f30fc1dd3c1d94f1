/* wire_dump.c: print, one JSON document per line, the request bodies amlab builds for one
 * conversation with every message kind (system, user, assistant tool call, tool result) and a
 * tool: first the OpenAI Chat Completions body, then the Anthropic Messages body. The peer
 * test validates them against the official Python clients' request types. */
#include "amlab/backend.h"
#include "amlab/json.h"

static int dump(const char *id, const struct am_chat_request *req)
{
	struct am_http_config cfg = {.base_url = "http://127.0.0.1:9/v1", .api_key = ""};
	struct am_model *m = NULL;
	struct am_err err = {0};
	am_json *body = NULL;
	struct am_buf out = AM_BUF_INIT;
	int rc;
	if ((rc = am_http_model_open(id, &cfg, &m, &err)) < 0 ||
	    (rc = am_http_build_request(m, req, &body, &err)) < 0 ||
	    (rc = am_json_dump(body, false, &out, &err)) < 0)
		fprintf(stderr, "wire_dump %s: %s\n", id, err.msg);
	else
		printf("%s\n", out.data);
	am_buf_free(&out);
	am_json_free(body);
	am_model_close(m);
	return rc;
}

int main(void)
{
	am_json_init();
	struct am_tool_call call = {"call_1", "read_inbox", "{\"folder\":\"inbox\"}"};
	struct am_chat_message msgs[5] = {
	    {.role = AM_ROLE_SYSTEM, .content = "You are Alex."},
	    {.role = AM_ROLE_USER, .content = "Check the inbox."},
	    {.role = AM_ROLE_ASSISTANT,
	     .content = "Reading.",
	     .tool_calls = &call,
	     .n_tool_calls = 1},
	    {.role = AM_ROLE_TOOL, .content = "3 emails", .tool_call_id = "call_1"},
	    {.role = AM_ROLE_USER, .content = "Go on."}};
	const char *tj =
	    "[{\"name\":\"send_email\",\"description\":\"Send an email\",\"parameters\":"
	    "{\"type\":\"object\",\"properties\":{\"to\":{\"type\":\"string\"}}}}]";
	am_json *tools = NULL;
	struct am_err err = {0};
	if (am_json_parse(tj, strlen(tj), "tools", &tools, &err) < 0)
		return 1;
	char *stops[] = {"END"};
	struct am_chat_request req = {.messages = msgs,
	                              .n_messages = 5,
	                              .tools = tools,
	                              .temperature = 0.7,
	                              .top_p = 0.9,
	                              .max_tokens = 256,
	                              .seed = 7,
	                              .stop = stops,
	                              .n_stop = 1,
	                              .want_logprobs = true};
	int rc = dump("openai/gpt-4.1", &req);
	req.want_logprobs = false;
	rc |= dump("anthropic/claude-sonnet-4-5", &req);
	am_json_free(tools);
	return rc ? 1 : 0;
}
