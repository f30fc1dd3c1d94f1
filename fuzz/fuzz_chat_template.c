/* fuzz_chat_template.c: conversation JSON (as `amlab generate --chat` reads it) through the
 * message parser and every built-in chat template, and arbitrary bytes as a GGUF chat-template
 * source through template detection. Nothing may crash or leak; errors are fine. */
#include "amlab/alloc.h"
#include "amlab/chat_template.h"
#include "amlab/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	am_json_init();
	struct am_chat_template t;
	if (am_chat_template_detect((const char *)data, size, &t, NULL) == 0)
		am_chat_template_free(&t);
	am_json *v = NULL;
	if (am_json_parse((const char *)data, size, "fuzz", &v, NULL) < 0)
		return 0;
	struct am_chat_message *m = NULL;
	size_t n = 0;
	if (am_chat_messages_from_json(v, "fuzz", &m, &n, NULL) == 0) {
		static const char *names[] = {"chatml", "gemma", "llama3"};
		for (size_t i = 0; i < 3; i++) {
			struct am_buf out = AM_BUF_INIT;
			if (am_chat_template_by_name(names[i], &t, NULL) == 0) {
				am_chat_template_render(&t, m, n, i != 1, &out, NULL);
				am_chat_template_free(&t);
			}
			am_buf_free(&out);
		}
		for (size_t i = 0; i < n; i++)
			am_chat_message_free(&m[i]);
		am_free(m);
	}
	am_json_free(v);
	return 0;
}
