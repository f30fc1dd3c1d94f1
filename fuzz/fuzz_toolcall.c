/* fuzz_toolcall.c: libFuzzer target for the text tool protocol (untrusted model output): the
 * block parser with and without a toolset, the reasoning split, and executing every parsed call
 * against a small world, so argument coercion and validation see hostile input too. */
#include "amlab/alloc.h"
#include "amlab/toolproto.h"
#include "amlab/world.h"

static const char world_json[] =
    "{\"agent\":{\"name\":\"A\",\"email\":\"a@x.com\"},"
    "\"mail\":{\"inbox\":[{\"id\":\"e1\",\"from\":\"b@x.com\",\"subject\":\"s\",\"body\":\"b\"}]},"
    "\"files\":{\"f.txt\":\"one\\ntwo\\n\"},"
    "\"tables\":{\"t\":{\"columns\":[\"id\",\"v\"],\"key\":\"id\",\"rows\":[[\"1\",\"x\"]]}},"
    "\"alerts\":[{\"id\":\"A1\",\"cancel_code\":\"42\"}]}";

static const char tools_json[] =
    "[{\"name\":\"email\",\"description\":\"d\",\"op\":\"mail.send\",\"parameters\":{\"type\":"
    "\"object\",\"properties\":{\"to\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "\"subject\":{\"type\":\"string\"},\"body\":{\"type\":\"string\"}},\"required\":[\"to\","
    "\"body\"]}},"
    "{\"name\":\"edit\",\"description\":\"d\",\"op\":\"files.edit\",\"parameters\":{\"type\":"
    "\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"old\":{\"type\":\"string\"},"
    "\"new\":{\"type\":\"string\"}}}},"
    "{\"name\":\"update\",\"description\":\"d\",\"op\":\"table.update\",\"parameters\":{\"type\":"
    "\"object\",\"properties\":{\"table\":{\"type\":\"string\"},\"key\":{\"type\":\"string\"},"
    "\"set\":{\"type\":\"object\"}}}},"
    "{\"name\":\"cancel\",\"description\":\"d\",\"op\":\"alert.cancel\",\"parameters\":{\"type\":"
    "\"object\",\"properties\":{\"code\":{\"type\":\"integer\"},\"n\":{\"type\":\"number\","
    "\"enum\":[1,2]}}}}]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	am_json_init();
	am_json *wj = NULL, *tj = NULL;
	struct am_world *w = NULL;
	struct am_toolset *ts = NULL;
	if (am_json_parse(world_json, sizeof(world_json) - 1, "w", &wj, NULL) < 0 ||
	    am_json_parse(tools_json, sizeof(tools_json) - 1, "t", &tj, NULL) < 0 ||
	    am_world_load(wj, &w, NULL) < 0 || am_toolset_load(tj, &ts, NULL) < 0)
		abort();
	const char *text = (const char *)data;
	struct am_text_calls a, b;
	if (am_toolproto_parse(text, size, NULL, &a, NULL) == 0)
		am_text_calls_free(&a);
	if (am_toolproto_parse(text, size, ts, &b, NULL) == 0) {
		for (size_t i = 0; i < b.n; i++) {
			if (b.v[i].end > size || b.v[i].start > b.v[i].end)
				abort();
			if (b.v[i].error)
				continue;
			struct am_op_result r;
			bool invalid;
			if (am_toolset_call(ts, w, b.v[i].name, NULL, b.v[i].args, true, &r,
			                    &invalid, NULL, NULL) == 0)
				am_op_result_free(&r);
		}
		am_text_calls_free(&b);
	}
	char *nul = am_strndup(text, size);
	if (nul) {
		char *act = NULL, *why = NULL;
		if (am_split_reasoning(nul, &act, &why, NULL) == 0) {
			am_free(act);
			am_free(why);
		}
		am_free(nul);
	}
	am_toolset_free(ts);
	am_world_free(w);
	am_json_free(wj);
	am_json_free(tj);
	return 0;
}
