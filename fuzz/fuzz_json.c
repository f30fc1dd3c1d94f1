/* fuzz_json.c: libFuzzer target for the JSON layer (am_json_parse + am_json_dump).
 *
 * Properties checked on every input:
 *  - parsing never crashes, and a failure is a clean AM_EPARSE with a location and a message;
 *  - whatever parses has a canonical dump that parses again and dumps to the same bytes (the
 *    canonical form is a fixed point, so hashes of equal values are equal);
 *  - the pretty dump parses back to a value whose canonical dump is the same too;
 *  - every string in the dump is valid UTF-8. */
#include "amlab/alloc.h"
#include "amlab/json.h"
#include "amlab/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_json: property violated: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	am_json_init();
	am_json *v = NULL, *back = NULL, *from_pretty = NULL;
	struct am_buf c1 = AM_BUF_INIT, c2 = AM_BUF_INIT, pretty = AM_BUF_INIT, c3 = AM_BUF_INIT;
	struct am_err err = {0};
	int rc = am_json_parse((const char *)data, size, "fuzz", &v, &err);
	if (rc < 0) {
		must(rc == AM_EPARSE, "a parse failure is AM_EPARSE");
		must(err.msg[0] != '\0', "a parse failure has a message");
		must(strcmp(err.where, "fuzz") == 0, "a parse failure names its source");
		goto out;
	}
	must(v != NULL, "a successful parse gives a value");
	must(am_json_dump(v, true, &c1, &err) == 0, "canonical dump succeeds");
	must(am_utf8_valid(c1.data, c1.len), "the dump is valid UTF-8");
	must(am_json_parse(c1.data, c1.len, "canonical", &back, &err) == 0,
	     "the canonical dump parses");
	must(am_json_dump(back, true, &c2, &err) == 0, "second canonical dump succeeds");
	must(c1.len == c2.len && memcmp(c1.data, c2.data, c1.len) == 0,
	     "the canonical form is a fixed point");
	must(json_equal(v, back), "the canonical dump parses to an equal value");
	must(am_json_dump_pretty(v, &pretty, &err) == 0, "pretty dump succeeds");
	must(am_json_parse(pretty.data, pretty.len, "pretty", &from_pretty, &err) == 0,
	     "the pretty dump parses");
	must(am_json_dump(from_pretty, true, &c3, &err) == 0, "canonical dump of the pretty parse");
	must(c1.len == c3.len && memcmp(c1.data, c3.data, c1.len) == 0,
	     "pretty and canonical agree");
out:
	am_json_free(v);
	am_json_free(back);
	am_json_free(from_pretty);
	am_buf_free(&c1);
	am_buf_free(&c2);
	am_buf_free(&pretty);
	am_buf_free(&c3);
	return 0;
}
