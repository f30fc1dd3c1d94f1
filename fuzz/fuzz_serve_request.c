/* fuzz_serve_request.c: libFuzzer target for the request bodies `amlab serve` accepts on
 * /v1/chat/completions: any input is accepted or rejected with a message; nothing leaks. */
#include "amlab/json.h"
#include "amlab/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	am_json_init();
	struct am_err err = {0};
	if (am_serve_check_chat_body((const char *)data, size, &err) < 0 && !err.msg[0])
		__builtin_trap();
	return 0;
}
