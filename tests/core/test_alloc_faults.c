/* test_alloc_faults.c: walk EVERY allocation failure of real code paths.
 *
 * For n = 0, 1, 2, ...: make the (n+1)-th allocation fail (once, and in a second pass for
 * good, "sticky"), run the path, and require a clean error when a failure fired and the exact
 * expected result when none did; the walk ends at the first run with no injected failure. It
 * must take exactly one more run than the path has allocations. A crash fails the test, and
 * LeakSanitizer (the Asan build) catches anything an error path forgot to release. Later
 * modules add their own walks with am_fault_walk() from tests/core/fault_walk.h. */
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/json.h"
#include "amlab/log.h"
#include "amlab/model.h"
#include "amlab/sha256.h"
#include "amlab/str.h"
#include "core/fault_walk.h"
#include "test.h"

/* ---- JSON: parse a nested document, edit a copy, dump it canonically, hash it. ---- */

/* Already canonical (sorted keys, compact), so the dump of the parse must give it back. 20
 * keys in one object make jansson grow its hash table; long strings and escapes grow the
 * lexer's buffer. */
static const char json_doc[] =
    "{\"a01\":1,\"a02\":-2,\"a03\":3.5,\"a04\":\"four\",\"a05\":[1,[2,[3,[4,{\"deep\":true}]]]],"
    "\"a06\":null,\"a07\":false,\"a08\":{\"x\":{\"y\":{\"z\":\"\xe2\x82\xac\"}}},"
    "\"a09\":\"a string long enough to make the lexer grow its buffer more than once, "
    "with escapes \\\" \\\\ \\n \\t \\u0000 and UTF-8 \xc3\xa9\xf0\x9f\x98\x80\","
    "\"a10\":[],\"a11\":{},\"a12\":[\"p\",\"q\",\"r\",\"s\"],\"a13\":0.0009765625,"
    "\"a14\":9223372036854775807,\"a15\":\"x\",\"a16\":\"y\",\"a17\":\"z\",\"a18\":[true],"
    "\"a19\":{\"k\":[{\"m\":1},{\"n\":2}]},\"a20\":\"last\"}";

/* The same with the edits json_path makes: a21 added, "t" pushed onto a12, a06 replaced. */
static const char json_edited[] =
    "{\"a01\":1,\"a02\":-2,\"a03\":3.5,\"a04\":\"four\",\"a05\":[1,[2,[3,[4,{\"deep\":true}]]]],"
    "\"a06\":{\"now\":\"an "
    "object\"},\"a07\":false,\"a08\":{\"x\":{\"y\":{\"z\":\"\xe2\x82\xac\"}}},"
    "\"a09\":\"a string long enough to make the lexer grow its buffer more than once, "
    "with escapes \\\" \\\\ \\n \\t \\u0000 and UTF-8 \xc3\xa9\xf0\x9f\x98\x80\","
    "\"a10\":[],\"a11\":{},\"a12\":[\"p\",\"q\",\"r\",\"s\",\"t\"],\"a13\":0.0009765625,"
    "\"a14\":9223372036854775807,\"a15\":\"x\",\"a16\":\"y\",\"a17\":\"z\",\"a18\":[true],"
    "\"a19\":{\"k\":[{\"m\":1},{\"n\":2}]},\"a20\":\"last\",\"a21\":\"added\"}";

static int json_path(void *ctx, bool *ok, struct am_err *err)
{
	(void)ctx;
	am_json *doc = NULL, *copy = NULL, *obj = NULL;
	struct am_buf dump = AM_BUF_INIT, edited = AM_BUF_INIT;
	char hash[65], want_hash[65];
	int rc = am_json_parse(json_doc, strlen(json_doc), "doc.json", &doc, err);
	if (rc < 0)
		goto out;
	if ((rc = am_json_dump(doc, true, &dump, err)) < 0)
		goto out;
	copy = am_json_copy(doc);
	obj = am_json_obj_new();
	if (!copy || !obj) {
		rc = am_err_set(err, AM_ENOMEM, "copy");
		goto out;
	}
	if ((rc = am_json_set_str(obj, "now", "an object")) < 0 ||
	    (rc = am_json_set(copy, "a06", obj)) < 0 ||
	    (rc = am_json_set_str(copy, "a21", "added")) < 0 ||
	    (rc = am_json_push_str(am_json_get(copy, "a12"), "t")) < 0) {
		am_err_set(err, rc, "edit");
		goto out;
	}
	if ((rc = am_json_dump(copy, true, &edited, err)) < 0)
		goto out;
	if ((rc = am_json_hash(copy, hash, err)) < 0)
		goto out;
	/* The hash of the expected text; SHA-256 itself is checked against FIPS vectors. */
	if ((rc = am_sha256_hex(json_edited, strlen(json_edited), want_hash, err)) < 0)
		goto out;
	*ok = strcmp(dump.data, json_doc) == 0 && strcmp(edited.data, json_edited) == 0 &&
	      strcmp(hash, want_hash) == 0;
	if (!*ok)
		fprintf(stderr, "  json_path output:\n  %s\n  %s\n", dump.data, edited.data);
out:
	am_json_free(doc);
	am_json_free(copy);
	am_json_free(obj);
	am_buf_free(&dump);
	am_buf_free(&edited);
	return rc;
}

/* ---- Files: write atomically, read back, parse from the file. ---- */

static int file_path(void *ctx, bool *ok, struct am_err *err)
{
	const char *path = ctx;
	struct am_buf b = AM_BUF_INIT;
	am_json *doc = NULL;
	int rc = am_write_file_atomic(path, json_doc, strlen(json_doc), err);
	if (rc < 0)
		goto out;
	if ((rc = am_buf_read_file(&b, path, err)) < 0)
		goto out;
	if ((rc = am_json_parse_file(path, &doc, err)) < 0)
		goto out;
	size_t len = 0;
	char *text = am_buf_detach(&b, &len, err);
	if (!text) {
		rc = err->code;
		goto out;
	}
	*ok = len == strlen(json_doc) && memcmp(text, json_doc, len) == 0 &&
	      json_object_size(doc) == 20;
	am_free(text);
out:
	am_buf_free(&b);
	am_json_free(doc);
	return rc;
}

/* ---- Chat messages: deep copy of a message with tool calls. ---- */

static int chat_copy_path(void *ctx, bool *ok, struct am_err *err)
{
	const struct am_chat_message *src = ctx;
	struct am_chat_message dst;
	int rc = am_chat_message_copy(&dst, src);
	if (rc < 0) {
		/* "dst left empty" is the contract. */
		if (dst.content || dst.tool_calls || dst.n_tool_calls || dst.reasoning)
			return am_err_set(err, AM_EINTERNAL, "dst not empty after failure");
		return am_err_set(err, rc, "copy failed");
	}
	*ok = am_streq(dst.content, src->content) && am_streq(dst.reasoning, src->reasoning) &&
	      dst.name == NULL && dst.n_tool_calls == 2 &&
	      am_streq(dst.tool_calls[1].id, "call_2") &&
	      am_streq(dst.tool_calls[1].arguments, "{\"to\":\"kyle\"}") &&
	      dst.tool_calls[0].id != src->tool_calls[0].id;
	am_chat_message_free(&dst);
	return 0;
}

/* ---- Logging with a secret: under memory pressure a message may be dropped, never leaked. */

static int log_path(void *ctx, bool *ok, struct am_err *err)
{
	FILE *f = ctx;
	rewind(f);
	if (ftruncate(fileno(f), 0) != 0)
		return am_err_set(err, AM_EIO, "ftruncate");
	am_log_set_stream(f);
	am_log_warn("calling %s with key %s and a long tail %0200d", "https://api.example",
	            "sk-fault-walk-secret", 7);
	am_log_set_stream(NULL);
	fflush(f);
	rewind(f);
	struct am_buf out;
	am_buf_init(&out, 1 << 16);
	int rc = am_buf_read_stream(&out, f, "log", err);
	if (rc < 0) {
		am_buf_free(&out);
		return rc;
	}
	bool leaked = out.data && strstr(out.data, "fault-walk") != NULL;
	bool dropped = out.data && strstr(out.data, "message dropped") != NULL;
	bool full = out.data && strstr(out.data, "with key [REDACTED] and a long tail 000") != NULL;
	am_buf_free(&out);
	if (leaked)
		return am_err_set(err, AM_EINTERNAL, "secret leaked into the log");
	if (dropped)
		return AM_ENOMEM; /* the message was dropped as it should be */
	*ok = full;
	return 0;
}

static void test_json_walk(void)
{
	am_fault_walk("json parse+copy+edit+dump+hash", json_path, NULL, AM_ENOMEM);
}

static void test_file_walk(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[256];
	snprintf(path, sizeof(path), "%s/amlab-test-faults-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	AM_CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	am_fault_walk("write+read+parse file", file_path, path, AM_ENOMEM);
	remove(path);
}

static void test_chat_copy_walk(void)
{
	struct am_tool_call calls[2] = {
	    {"call_1", "email", "{\"to\":\"all\"}"},
	    {"call_2", "email", "{\"to\":\"kyle\"}"},
	};
	struct am_chat_message m = {
	    .role = AM_ROLE_ASSISTANT,
	    .content = "I will send two emails.",
	    .reasoning = "thinking",
	    .tool_calls = calls,
	    .n_tool_calls = 2,
	};
	am_fault_walk("chat message copy", chat_copy_path, &m, AM_ENOMEM);
}

static void test_log_walk(void)
{
	AM_CHECK_INT(am_log_add_secret("sk-fault-walk-secret"), 0);
	FILE *f = tmpfile();
	AM_CHECK(f != NULL);
	if (f)
		am_fault_walk("log with redaction", log_path, f, AM_ENOMEM);
	if (f)
		fclose(f);
	am_log_clear_secrets();
}

int main(void)
{
	am_json_init();
	AM_RUN(test_json_walk);
	AM_RUN(test_file_walk);
	AM_RUN(test_chat_copy_walk);
	AM_RUN(test_log_walk);
	return am_test_result();
}
