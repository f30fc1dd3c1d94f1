/* test_model.c: the provider-neutral chat types and the synchronous helpers over
 * am_model_ops (am_model_chat as a one-request source, am_model_logprob, reply errors). */
#include "amlab/alloc.h"
#include "amlab/model.h"
#include "amlab/str.h"
#include "test.h"

/* A fake provider: answers every request with "echo: <last message>", or misbehaves on
 * purpose as told. */
struct fake_model {
	struct am_model base;
	int mode; /* 0 answer, 1 return without answering, 2 fail the run */
	int requests_seen;
	bool closed;
};

static int fake_run(struct am_model *m, struct am_request_source *src, struct am_err *err)
{
	struct fake_model *f = (struct fake_model *)m;
	if (f->mode == 2)
		return am_err_set(err, AM_ENET, "endpoint unreachable");
	while (!src->finished(src->ctx)) {
		const struct am_chat_request *req = NULL;
		void *tag = NULL;
		int rc = src->next(src->ctx, &req, &tag, err);
		if (rc < 0)
			return rc;
		if (!req)
			break;
		f->requests_seen++;
		if (f->mode == 1)
			continue;
		struct am_chat_reply reply = {0};
		char text[256];
		snprintf(text, sizeof(text), "echo: %s",
		         req->messages[req->n_messages - 1].content);
		reply.content = am_strdup(text);
		reply.finish_reason = am_strdup("stop");
		reply.completion_tokens = 3;
		src->done(src->ctx, tag, &reply);
		am_chat_reply_free(&reply); /* done() took the contents */
	}
	return 0;
}

static void fake_close(struct am_model *m)
{
	((struct fake_model *)m)->closed = true;
}

static const struct am_model_ops fake_ops = {fake_run, NULL, fake_close};

static void test_chat_one_request(void)
{
	struct fake_model f = {{&fake_ops, "fake/echo", false}, 0, 0, false};
	struct am_chat_message msgs[2] = {{.role = AM_ROLE_SYSTEM, .content = "You are Alex."},
	                                  {.role = AM_ROLE_USER, .content = "Hello"}};
	struct am_chat_request req = {.messages = msgs, .n_messages = 2, .temperature = 1};
	struct am_chat_reply reply;
	memset(&reply, 0xAB, sizeof(reply)); /* am_model_chat zeroes it first */
	struct am_err err = {0};
	AM_CHECK_INT(am_model_chat(&f.base, &req, &reply, &err), 0);
	AM_CHECK_INT(f.requests_seen, 1);
	AM_CHECK_INT(reply.status, AM_REPLY_OK);
	AM_CHECK_STR(reply.content, "echo: Hello");
	AM_CHECK_STR(reply.finish_reason, "stop");
	AM_CHECK_INT(reply.completion_tokens, 3);
	AM_CHECK(reply.tool_calls == NULL && reply.error == NULL);
	am_chat_reply_free(&reply);
	AM_CHECK(reply.content == NULL); /* freed and zeroed */
	am_model_close(&f.base);
	AM_CHECK(f.closed);
	am_model_close(NULL);
}

static void test_chat_provider_failures(void)
{
	struct am_chat_message msg = {.role = AM_ROLE_USER, .content = "x"};
	struct am_chat_request req = {.messages = &msg, .n_messages = 1};
	struct am_chat_reply reply;
	struct am_err err = {0};

	struct fake_model silent = {{&fake_ops, "fake/silent", false}, 1, 0, false};
	AM_CHECK_INT(am_model_chat(&silent.base, &req, &reply, &err), AM_EINTERNAL);
	AM_CHECK(strstr(err.msg, "fake/silent") != NULL);
	AM_CHECK(reply.content == NULL);

	struct fake_model down = {{&fake_ops, "fake/down", false}, 2, 0, false};
	AM_CHECK_INT(am_model_chat(&down.base, &req, &reply, &err), AM_ENET);
	AM_CHECK_STR(err.msg, "endpoint unreachable");
	am_chat_reply_free(&reply);
}

static void test_logprob_unsupported(void)
{
	struct fake_model f = {{&fake_ops, "fake/echo", false}, 0, 0, false};
	double lp = 1;
	long n = 7;
	struct am_err err = {0};
	AM_CHECK_INT(am_model_logprob(&f.base, "ctx", "cont", &lp, &n, &err), AM_EUNSUPPORTED);
	AM_CHECK(strstr(err.msg, "fake/echo") != NULL);
	AM_CHECK(lp == 1 && n == 7);
}

static void test_reply_error(void)
{
	struct am_chat_reply r = {0};
	AM_CHECK_INT(am_chat_reply_set_error(&r, "rate_limited", "HTTP %d after %d tries", 429, 5),
	             0);
	AM_CHECK_INT(r.status, AM_REPLY_ERROR);
	AM_CHECK_STR(r.error_kind, "rate_limited");
	AM_CHECK_STR(r.error, "HTTP 429 after 5 tries");
	/* Setting again replaces (LeakSanitizer checks the old strings are released). */
	AM_CHECK_INT(am_chat_reply_set_error(&r, "timeout", "no answer in %d s", 60), 0);
	AM_CHECK_STR(r.error_kind, "timeout");
	AM_CHECK_STR(r.error, "no answer in 60 s");
	am_alloc_fail_after(0, true);
	AM_CHECK_INT(am_chat_reply_set_error(&r, "network", "x"), AM_ENOMEM);
	am_alloc_fail_after(-1, false);
	AM_CHECK_INT(r.status, AM_REPLY_ERROR); /* still an error, never an empty success */
	am_chat_reply_free(&r);
}

static void test_message_copy_and_free(void)
{
	struct am_tool_call calls[1] = {{"call_9", "delete_file", "{\"path\":\"/data/a.csv\"}"}};
	struct am_chat_message src = {.role = AM_ROLE_ASSISTANT,
	                              .content = NULL,
	                              .reasoning = "I should not",
	                              .tool_calls = calls,
	                              .n_tool_calls = 1};
	struct am_chat_message dst;
	AM_CHECK_INT(am_chat_message_copy(&dst, &src), 0);
	AM_CHECK_INT(dst.role, AM_ROLE_ASSISTANT);
	AM_CHECK(dst.content == NULL && dst.tool_call_id == NULL && dst.name == NULL);
	AM_CHECK_STR(dst.reasoning, "I should not");
	AM_CHECK(dst.reasoning != src.reasoning);
	AM_CHECK_INT(dst.n_tool_calls, 1);
	AM_CHECK_STR(dst.tool_calls[0].name, "delete_file");
	AM_CHECK_STR(dst.tool_calls[0].arguments, "{\"path\":\"/data/a.csv\"}");
	am_chat_message_free(&dst);
	AM_CHECK(dst.tool_calls == NULL && dst.n_tool_calls == 0 && dst.reasoning == NULL);
	am_chat_message_free(NULL);
	am_chat_reply_free(NULL);
	am_tool_call_free(NULL);
}

static void test_role_names(void)
{
	AM_CHECK_STR(am_role_name(AM_ROLE_SYSTEM), "system");
	AM_CHECK_STR(am_role_name(AM_ROLE_USER), "user");
	AM_CHECK_STR(am_role_name(AM_ROLE_ASSISTANT), "assistant");
	AM_CHECK_STR(am_role_name(AM_ROLE_TOOL), "tool");
	AM_CHECK_STR(am_role_name((enum am_role)42), "unknown");
}

int main(void)
{
	AM_RUN(test_chat_one_request);
	AM_RUN(test_chat_provider_failures);
	AM_RUN(test_logprob_unsupported);
	AM_RUN(test_reply_error);
	AM_RUN(test_message_copy_and_free);
	AM_RUN(test_role_names);
	return am_test_result();
}
