/* fuzz_replay.c: libFuzzer target for replay files (recorded replies from other harnesses:
 * {"replies": [...]}, response.json, JSONL, text), and for serving the parsed replies through
 * the replay model, so every accepted file also yields well-formed chat replies. */
#include "amlab/alloc.h"
#include "amlab/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	am_json_init();
	am_json *replies = NULL;
	if (am_replay_parse((const char *)data, size, "fuzz", &replies, NULL) < 0)
		return 0;
	if (json_array_size(replies) == 0)
		abort(); /* success means at least one reply */
	/* Serve turn 0 and the turn past the end through the model's ops. */
	const char *texts[1] = {am_json_get_str_or(json_array_get(replies, 0), "content", NULL)};
	if (!texts[0])
		abort();
	struct am_model *m = NULL;
	if (am_replay_new("fuzz", texts, 1, &m, NULL) == 0) {
		struct am_chat_message msgs[2] = {{.role = AM_ROLE_USER, .content = "hi"},
		                                  {.role = AM_ROLE_ASSISTANT, .content = "x"}};
		struct am_chat_request req = {.messages = msgs, .n_messages = 1};
		struct am_chat_reply r;
		if (am_model_chat(m, &req, &r, NULL) == 0) {
			if (r.status != AM_REPLY_OK || !r.content)
				abort();
			am_chat_reply_free(&r);
		}
		req.n_messages = 2;
		if (am_model_chat(m, &req, &r, NULL) == 0) {
			if (r.status != AM_REPLY_ERROR)
				abort();
			am_chat_reply_free(&r);
		}
		am_model_close(m);
	}
	am_json_free(replies);
	return 0;
}
