/* fuzz_http_reply.c: libFuzzer target for what the HTTP backends read from the network: an
 * OpenAI or Anthropic answer body (first byte picks the provider), a stored cache row, and the
 * Retry-After / rate-limit reset header values. Every input is either rejected with a message
 * or yields a reply whose strings are all readable; nothing leaks. */
#include "amlab/alloc.h"
#include "amlab/backend.h"
#include "amlab/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const char *s)
{
	if (s) {
		volatile size_t n = strlen(s);
		(void)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	am_json_init();
	if (size == 0)
		return 0;
	const char *provider = (data[0] & 1) ? "anthropic" : "openai";
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	struct am_chat_reply r;
	memset(&r, 0, sizeof(r));
	struct am_err err = {0};
	if (am_http_parse_reply(provider, body, len, &r, &err) == 0) {
		touch(r.content);
		touch(r.reasoning);
		touch(r.finish_reason);
		for (size_t i = 0; i < r.n_tool_calls; i++) {
			touch(r.tool_calls[i].id);
			touch(r.tool_calls[i].name);
			touch(r.tool_calls[i].arguments);
		}
		if (r.status == AM_REPLY_ERROR && (!r.error_kind || !r.error))
			__builtin_trap(); /* an error reply always says what and why */
	} else if (!err.msg[0]) {
		__builtin_trap(); /* a rejection always has a message */
	}
	am_chat_reply_free(&r);

	am_json *j = NULL;
	if (am_json_parse(body, len, "row", &j, NULL) == 0) {
		if (am_chat_reply_from_json(j, &r, NULL) == 0) {
			touch(r.content);
			am_chat_reply_free(&r);
		}
		am_json_free(j);
	}

	char hv[80];
	size_t n = len < sizeof(hv) - 1 ? len : sizeof(hv) - 1;
	memcpy(hv, body, n);
	hv[n] = '\0';
	int64_t ns;
	if (am_http_parse_retry_after(hv, 1700000000000LL, &ns) && ns < 0)
		__builtin_trap();
	if (am_http_parse_duration(hv, &ns) && ns < 0)
		__builtin_trap();
	return 0;
}
