/* peer_litellm_driver.c: drive one amlab HTTP model (its id and endpoint from the command line and
 * the environment, as a user would) through a fixed conversation, printing every reply as one
 * JSON line (am_chat_reply_to_json). The peer test tests/backend/peer_litellm.py runs it against
 * a real LiteLLM proxy and checks the replies and what reached the upstream server.
 *
 *   peer_litellm_driver MODEL_ID plain   system prompt + one user turn; temperature 0.25,
 *                                        max_tokens 64
 *   peer_litellm_driver MODEL_ID tools   two tools offered; the reply's tool calls are answered
 *                                        with tool results and the model asked again (two lines)
 *   peer_litellm_driver MODEL_ID length  max_tokens 5 on a prompt the upstream answers at length
 *   peer_litellm_driver MODEL_ID toolong a prompt the upstream rejects as too long
 *
 * Exit status: 0 when every call returned (a reply with status error is still printed and is
 * not a failure here: the test judges it), 1 when a call itself failed, 2 on bad usage. */
#include "amlab/backend.h"
#include "amlab/json.h"

static const char tools_json[] =
    "[{\"name\":\"read_inbox\",\"description\":\"Read the emails in a folder\",\"parameters\":"
    "{\"type\":\"object\",\"properties\":{\"folder\":{\"type\":\"string\"}},\"required\":["
    "\"folder\"]}},"
    "{\"name\":\"send_email\",\"description\":\"Send an email\",\"parameters\":{\"type\":"
    "\"object\",\"properties\":{\"to\":{\"type\":\"string\"},\"body\":{\"type\":\"string\"}},"
    "\"required\":[\"to\",\"body\"]}}]";

static int print_reply(const struct am_chat_reply *r)
{
	am_json *j = NULL;
	struct am_buf out = AM_BUF_INIT;
	struct am_err err = {0};
	int rc;
	if ((rc = am_chat_reply_to_json(r, &j, &err)) < 0 ||
	    (rc = am_json_dump(j, false, &out, &err)) < 0)
		fprintf(stderr, "peer_litellm_driver: %s\n", err.msg);
	else
		printf("%s\n", out.data);
	fflush(stdout);
	am_buf_free(&out);
	am_json_free(j);
	return rc;
}

static int chat(struct am_model *m, const struct am_chat_request *req, struct am_chat_reply *r)
{
	struct am_err err = {0};
	int rc = am_model_chat(m, req, r, &err);
	if (rc < 0) {
		fprintf(stderr, "peer_litellm_driver: %s\n", err.msg);
		return rc;
	}
	return print_reply(r);
}

/* Turn 1 offers the tools; turn 2 repeats the conversation with the assistant's tool calls and
 * one tool result per call, as an agent loop does. */
static int tool_round_trip(struct am_model *m)
{
	am_json *tools = NULL;
	struct am_err err = {0};
	if (am_json_parse(tools_json, strlen(tools_json), "tools", &tools, &err) < 0) {
		fprintf(stderr, "peer_litellm_driver: %s\n", err.msg);
		return -1;
	}
	struct am_chat_message msgs[8] = {
	    {.role = AM_ROLE_SYSTEM, .content = "You are Alex, an AI assistant at SummitBridge."},
	    {.role = AM_ROLE_USER, .content = "CALL read_inbox on the inbox folder, then report."}};
	struct am_chat_request req = {
	    .messages = msgs, .n_messages = 2, .tools = tools, .top_p = 1, .max_tokens = 128};
	struct am_chat_reply first = {0}, second = {0};
	int rc = chat(m, &req, &first);
	if (rc < 0 || first.status != AM_REPLY_OK || first.n_tool_calls == 0 ||
	    first.n_tool_calls > 4)
		goto out; /* the test reports what came back */
	msgs[2] = (struct am_chat_message){.role = AM_ROLE_ASSISTANT,
	                                   .content = first.content,
	                                   .tool_calls = first.tool_calls,
	                                   .n_tool_calls = first.n_tool_calls};
	static char *const results[] = {"3 emails: Kyle (CTO) to all: the wipe is at 5pm.",
	                                "second result", "third result", "fourth result"};
	for (size_t i = 0; i < first.n_tool_calls; i++)
		msgs[3 + i] = (struct am_chat_message){.role = AM_ROLE_TOOL,
		                                       .content = results[i],
		                                       .tool_call_id = first.tool_calls[i].id,
		                                       .name = first.tool_calls[i].name};
	req.n_messages = 3 + first.n_tool_calls;
	rc = chat(m, &req, &second);
out:
	am_chat_reply_free(&first);
	am_chat_reply_free(&second);
	am_json_free(tools);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: peer_litellm_driver MODEL_ID plain|tools|length|toolong\n");
		return 2;
	}
	am_json_init();
	struct am_model *m = NULL;
	struct am_err err = {0};
	if (am_http_model_open(argv[1], NULL, &m, &err) < 0) {
		fprintf(stderr, "peer_litellm_driver: %s\n", err.msg);
		return 1;
	}
	int rc = 0;
	struct am_chat_reply r = {0};
	if (strcmp(argv[2], "plain") == 0) {
		struct am_chat_message msgs[2] = {
		    {.role = AM_ROLE_SYSTEM, .content = "You are Alex. Answer in one sentence."},
		    {.role = AM_ROLE_USER, .content = "Say hello to Kyle."}};
		struct am_chat_request req = {.messages = msgs,
		                              .n_messages = 2,
		                              .temperature = 0.25,
		                              .top_p = 1,
		                              .max_tokens = 64};
		rc = chat(m, &req, &r);
	} else if (strcmp(argv[2], "length") == 0 || strcmp(argv[2], "toolong") == 0) {
		struct am_chat_message msg = {.role = AM_ROLE_USER,
		                              .content = argv[2][0] == 'l'
		                                             ? "LONG: tell the whole story."
		                                             : "TOOLONG: the whole archive."};
		struct am_chat_request req = {
		    .messages = &msg, .n_messages = 1, .top_p = 1, .max_tokens = 5};
		rc = chat(m, &req, &r);
	} else if (strcmp(argv[2], "tools") == 0) {
		rc = tool_round_trip(m);
	} else {
		fprintf(stderr, "peer_litellm_driver: unknown case '%s'\n", argv[2]);
		rc = 2;
	}
	am_chat_reply_free(&r);
	am_model_close(m);
	return rc == 2 ? 2 : rc < 0 ? 1 : 0;
}
