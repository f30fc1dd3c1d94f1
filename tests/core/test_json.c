/* test_json.c: the non-stealing JSON layer: reference counts, canonical dumps and hashes,
 * parse errors with locations, UTF-8 checks, typed getters. */
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/json.h"
#include "test.h"

/* Canonical text of v (caller frees), or NULL. */
static char *canon(const am_json *v)
{
	struct am_buf b = AM_BUF_INIT;
	if (am_json_dump(v, true, &b, NULL) < 0) {
		am_buf_free(&b);
		return NULL;
	}
	return am_buf_detach(&b, NULL, NULL);
}

static void test_set_does_not_steal(void)
{
	am_json *shared = am_json_str_new("shared value");
	am_json *o1 = am_json_obj_new(), *o2 = am_json_obj_new(), *arr = am_json_arr_new();
	AM_CHECK(shared && o1 && o2 && arr);
	AM_CHECK_INT(shared->refcount, 1);
	AM_CHECK_INT(am_json_set(o1, "k", shared), 0);
	AM_CHECK_INT(am_json_set(o2, "k", shared), 0);
	AM_CHECK_INT(am_json_push(arr, shared), 0);
	AM_CHECK_INT(shared->refcount, 4); /* ours + two objects + the array */
	am_json_free(o1);
	AM_CHECK_INT(shared->refcount, 3);
	/* Still alive and readable through the other containers (ASan would flag a free). */
	AM_CHECK_STR(am_json_get_str_or(o2, "k", NULL), "shared value");
	AM_CHECK_STR(json_string_value(json_array_get(arr, 0)), "shared value");
	am_json_free(arr);
	am_json_free(o2);
	AM_CHECK_INT(shared->refcount, 1);
	AM_CHECK_STR(json_string_value(shared), "shared value");
	am_json_free(shared);

	/* Replacing a key releases the old value exactly once. */
	am_json *o = am_json_obj_new();
	am_json *v1 = am_json_int_new(1), *v2 = am_json_int_new(2);
	AM_CHECK_INT(am_json_set(o, "x", v1), 0);
	AM_CHECK_INT(am_json_set(o, "x", v2), 0);
	AM_CHECK_INT(v1->refcount, 1);
	AM_CHECK_INT(v2->refcount, 2);
	am_json_free(v1);
	am_json_free(v2);
	AM_CHECK_INT(json_integer_value(am_json_get(o, "x")), 2);
	am_json_free(o);
	am_json_free(NULL); /* NULL-safe */
}

static void test_bad_arguments(void)
{
	am_json *arr = am_json_arr_new(), *obj = am_json_obj_new(), *v = am_json_int_new(3);
	AM_CHECK_INT(am_json_set(arr, "k", v), AM_EINVAL); /* not an object */
	AM_CHECK_INT(am_json_set(obj, NULL, v), AM_EINVAL);
	AM_CHECK_INT(am_json_set(obj, "k", NULL), AM_EINVAL);
	AM_CHECK_INT(am_json_push(obj, v), AM_EINVAL); /* not an array */
	AM_CHECK_INT(am_json_push(arr, NULL), AM_EINVAL);
	AM_CHECK_INT(am_json_set_str(obj, "k", NULL), AM_EINVAL);
	AM_CHECK_INT(am_json_push_str(arr, NULL), AM_EINVAL);
	AM_CHECK_INT(v->refcount, 1);
	AM_CHECK_INT(json_object_size(obj), 0);
	AM_CHECK_INT(json_array_size(arr), 0);
	am_json_free(arr);
	am_json_free(obj);
	am_json_free(v);
}

static void test_invalid_utf8_rejected(void)
{
	am_json *obj = am_json_obj_new(), *arr = am_json_arr_new();
	AM_CHECK(am_json_str_new("bad \xc0\x80") == NULL);     /* overlong NUL */
	AM_CHECK(am_json_strn_new("\xed\xa0\x80", 3) == NULL); /* surrogate */
	AM_CHECK_INT(am_json_set_str(obj, "k", "x\xff"), AM_EINVAL);
	AM_CHECK_INT(am_json_set_strn(obj, "k", "\xe2\x82", 2), AM_EINVAL);
	AM_CHECK_INT(am_json_push_str(arr, "\x80"), AM_EINVAL);
	/* A key that is not UTF-8 is refused too. */
	AM_CHECK_INT(am_json_set_int(obj, "\xff", 1), AM_EINVAL);
	am_json *one = am_json_int_new(1);
	AM_CHECK_INT(am_json_set(obj, "\xc0\x80", one), AM_EINVAL);
	am_json_free(one);
	AM_CHECK_INT(json_object_size(obj), 0);
	AM_CHECK_INT(json_array_size(arr), 0);
	/* Valid text, including an embedded NUL through the n-variant, is kept byte for byte. */
	AM_CHECK_INT(am_json_set_strn(obj, "nul", "a\0b", 3), 0);
	am_json *s = am_json_get(obj, "nul");
	AM_CHECK_INT(json_string_length(s), 3);
	AM_CHECK(memcmp(json_string_value(s), "a\0b", 3) == 0);
	AM_CHECK_INT(am_json_set_str(obj, "euro", "\xe2\x82\xac"), 0);
	char *text = canon(obj);
	AM_CHECK_STR(text, "{\"euro\":\"\xe2\x82\xac\",\"nul\":\"a\\u0000b\"}");
	am_free(text);
	am_json_free(obj);
	am_json_free(arr);
}

/* {"b":1,"a":{"d":[1,2.5,"x"],"c":null},"é":true} built in two different insertion orders. */
static am_json *build_doc(bool reversed)
{
	am_json *o = am_json_obj_new(), *a = am_json_obj_new(), *d = am_json_arr_new();
	am_json *one = am_json_int_new(1), *nul = am_json_null_new();
	int rc = 0;
	am_json *r = am_json_real_new(2.5);
	rc |= am_json_push(d, one);
	rc |= am_json_push(d, r);
	rc |= am_json_push_str(d, "x");
	if (reversed) {
		rc |= am_json_set_bool(o, "\xc3\xa9", true);
		rc |= am_json_set(a, "c", nul);
		rc |= am_json_set(a, "d", d);
		rc |= am_json_set(o, "a", a);
		rc |= am_json_set_int(o, "b", 1);
	} else {
		rc |= am_json_set_int(o, "b", 1);
		rc |= am_json_set(a, "d", d);
		rc |= am_json_set(a, "c", nul);
		rc |= am_json_set(o, "a", a);
		rc |= am_json_set_bool(o, "\xc3\xa9", true);
	}
	am_json_free(one);
	am_json_free(r);
	am_json_free(nul);
	am_json_free(d);
	am_json_free(a);
	if (rc) {
		am_json_free(o);
		return NULL;
	}
	return o;
}

static void test_canonical_dump_and_hash(void)
{
	/* The canonical text and its SHA-256 were written by hand and hashed with Python's
	 * hashlib: sorted keys (bytewise, so "é" = C3 A9 sorts after "b"), no spaces. */
	static const char want[] =
	    "{\"a\":{\"c\":null,\"d\":[1,2.5,\"x\"]},\"b\":1,\"\xc3\xa9\":true}";
	static const char want_hash[] =
	    "dbf3281cea9307c4264324fdd32726365fd6020130c03e49661b2be28e0cc189";
	am_json *x = build_doc(false), *y = build_doc(true);
	AM_CHECK(x && y);
	if (!x || !y)
		return;
	char *cx = canon(x), *cy = canon(y);
	AM_CHECK_STR(cx, want);
	AM_CHECK_STR(cy, want);
	char hx[65], hy[65];
	AM_CHECK_INT(am_json_hash(x, hx, NULL), 0);
	AM_CHECK_INT(am_json_hash(y, hy, NULL), 0);
	AM_CHECK_STR(hx, want_hash);
	AM_CHECK_STR(hy, want_hash);

	/* Non-canonical keeps insertion order. */
	struct am_buf b = AM_BUF_INIT;
	AM_CHECK_INT(am_json_dump(x, false, &b, NULL), 0);
	AM_CHECK_STR(b.data, "{\"b\":1,\"a\":{\"d\":[1,2.5,\"x\"],\"c\":null},\"\xc3\xa9\":true}");
	/* Dumps append. */
	AM_CHECK_INT(am_json_dump(am_json_get(x, "b"), true, &b, NULL), 0);
	AM_CHECK(b.len >= 6 && strcmp(b.data + b.len - 6, "true}1") == 0);
	am_buf_reset(&b);
	AM_CHECK_INT(am_json_dump_pretty(y, &b, NULL), 0);
	AM_CHECK_STR(b.data, "{\n  \"a\": {\n    \"c\": null,\n    \"d\": [\n      1,\n      2.5,\n"
	                     "      \"x\"\n    ]\n  },\n  \"b\": 1,\n  \"\xc3\xa9\": true\n}");
	am_buf_free(&b);
	struct am_err err = {0};
	AM_CHECK_INT(am_json_dump(NULL, true, &b, &err), AM_EINVAL);
	AM_CHECK(b.data == NULL);

	/* {} hashes to SHA-256("{}"), from hashlib. */
	am_json *empty = am_json_obj_new();
	AM_CHECK_INT(am_json_hash(empty, hx, NULL), 0);
	AM_CHECK_STR(hx, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
	am_json_free(empty);
	am_free(cx);
	am_free(cy);
	am_json_free(x);
	am_json_free(y);
}

static void test_parse_ok_and_numbers(void)
{
	const char *text =
	    "{\"big\": 9223372036854775807, \"neg\": -9007199254740993,"
	    " \"r\": 0.1, \"e\": 1e-7, \"s\": \"a\\u0000b\\u00e9\", \"t\": [true, false]}";
	am_json *v = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_json_parse(text, strlen(text), "t.json", &v, &err), 0);
	if (!v)
		return;
	long long big = 0, neg = 0;
	double r = 0, e = 0;
	AM_CHECK_INT(am_json_get_int(v, "big", &big, NULL, &err), 0);
	AM_CHECK(big == LLONG_MAX);
	AM_CHECK_INT(am_json_get_int(v, "neg", &neg, NULL, &err), 0);
	AM_CHECK(neg == -9007199254740993LL); /* exact: not squeezed through a double */
	AM_CHECK_INT(am_json_get_num(v, "r", &r, NULL, &err), 0);
	AM_CHECK(r == 0.1);
	AM_CHECK_INT(am_json_get_num(v, "e", &e, NULL, &err), 0);
	AM_CHECK(e == 1e-7);
	am_json *s = am_json_get(v, "s");
	AM_CHECK_INT(json_string_length(s), 5);
	AM_CHECK(memcmp(json_string_value(s), "a\0b\xc3\xa9", 5) == 0);

	/* The canonical text parses back to the same doubles, bit for bit. */
	char *c = canon(v);
	am_json *back = NULL;
	AM_CHECK_INT(am_json_parse(c, strlen(c), "canon", &back, &err), 0);
	double r2 = 0, e2 = 0;
	AM_CHECK_INT(am_json_get_num(back, "r", &r2, NULL, &err), 0);
	AM_CHECK_INT(am_json_get_num(back, "e", &e2, NULL, &err), 0);
	AM_CHECK(r2 == 0.1 && e2 == 1e-7);
	char *c2 = canon(back);
	AM_CHECK_STR(c2, c);
	am_free(c);
	am_free(c2);
	am_json_free(back);
	am_json_free(v);
}

/* Parse text expecting failure; check code, location and a word of the message. */
static void expect_parse_error(const char *text, size_t len, int line, int col, const char *word)
{
	am_json *v = (am_json *)(uintptr_t)1; /* must stay untouched */
	struct am_err err = {0};
	int rc = am_json_parse(text, len, "cfg.json", &v, &err);
	AM_CHECK_INT(rc, AM_EPARSE);
	AM_CHECK(v == (am_json *)(uintptr_t)1);
	AM_CHECK_STR(err.where, "cfg.json");
	AM_CHECK_INT(err.line, line);
	if (col >= 0)
		AM_CHECK_INT(err.col, col);
	if (!strstr(err.msg, word))
		fprintf(stderr, "  message: %s\n", err.msg);
	AM_CHECK(strstr(err.msg, word) != NULL);
}

static void test_parse_errors(void)
{
	/* Line 3 is `  "b": }`: the stray '}' is its 8th character. */
	const char *t = "{\n  \"a\": 1,\n  \"b\": }\n";
	expect_parse_error(t, strlen(t), 3, 8, "invalid JSON");
	char msg[1100];
	struct am_err err = {0};
	am_json *v = NULL;
	am_json_parse(t, strlen(t), "cfg.json", &v, &err);
	am_err_format(&err, msg, sizeof(msg));
	AM_CHECK(strncmp(msg, "cfg.json:3:8: invalid JSON: ", 28) == 0);

	t = "{\"a\": 1, \"a\": 2}";
	expect_parse_error(t, strlen(t), 1, -1, "duplicate");
	expect_parse_error("", 0, 1, -1, "invalid JSON");
	t = "[1, 2";
	expect_parse_error(t, strlen(t), 1, -1, "invalid JSON");
	t = "[1] [2]";
	expect_parse_error(t, strlen(t), 1, -1, "end of file expected");
	/* Invalid UTF-8 inside a string, on line 2. */
	t = "[\n\"ok \xc0\x80\"]";
	expect_parse_error(t, strlen(t), 2, -1, "UTF-8");
	t = "[\"\\ud800\"]"; /* lone surrogate escape */
	expect_parse_error(t, strlen(t), 1, -1, "invalid JSON");
	t = "[9223372036854775808]";
	expect_parse_error(t, strlen(t), 1, -1, "too big");
	t = "[1e999]";
	expect_parse_error(t, strlen(t), 1, -1, "overflow");
	t = "{\"a\": NaN}";
	expect_parse_error(t, strlen(t), 1, -1, "invalid");
	/* The length is honoured: the text is cut before its closing bracket. */
	t = "[1, 2]";
	expect_parse_error(t, 5, 1, -1, "invalid JSON");
}

static void test_parse_file(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[256];
	snprintf(path, sizeof(path), "%s/amlab-test-json-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	AM_CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	const char *good = "{\"model\": \"local/smollm2\"}\n";
	AM_CHECK_INT(am_write_file_atomic(path, good, strlen(good), NULL), 0);
	am_json *v = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_json_parse_file(path, &v, &err), 0);
	AM_CHECK_STR(am_json_get_str_or(v, "model", NULL), "local/smollm2");
	am_json_free(v);

	const char *bad = "{\n\n  \"model\" \"x\"\n}\n";
	AM_CHECK_INT(am_write_file_atomic(path, bad, strlen(bad), NULL), 0);
	v = NULL;
	AM_CHECK_INT(am_json_parse_file(path, &v, &err), AM_EPARSE);
	AM_CHECK(v == NULL);
	AM_CHECK_STR(err.where, path);
	AM_CHECK_INT(err.line, 3);
	AM_CHECK_INT(am_write_file_atomic(path, "", 0, NULL), 0);
	AM_CHECK_INT(am_json_parse_file(path, &v, &err), AM_EPARSE);
	remove(path);
	AM_CHECK_INT(am_json_parse_file(path, &v, &err), AM_ENOTFOUND);
	AM_CHECK_STR(err.where, path);
}

static void test_getters(void)
{
	const char *text = "{\"role\": 3, \"name\": \"n\", \"n\": 2, \"f\": 1.5, \"ok\": true}";
	am_json *v = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_json_parse(text, strlen(text), NULL, &v, &err), 0);
	const char *s = NULL;
	AM_CHECK_INT(am_json_get_str(v, "role", &s, "request.messages[2]", &err), AM_EINVAL);
	AM_CHECK_STR(err.msg, "request.messages[2]: field 'role' must be a string");
	AM_CHECK(s == NULL);
	AM_CHECK_INT(am_json_get_str(v, "content", &s, "request.messages[2]", &err), AM_ENOTFOUND);
	AM_CHECK_STR(err.msg, "request.messages[2]: missing field 'content'");
	AM_CHECK_INT(am_json_get_str(v, "content", &s, NULL, &err), AM_ENOTFOUND);
	AM_CHECK_STR(err.msg, "missing field 'content'");
	AM_CHECK_INT(am_json_get_str(v, "name", &s, NULL, &err), 0);
	AM_CHECK_STR(s, "n");
	long long n = 0;
	AM_CHECK_INT(am_json_get_int(v, "n", &n, NULL, &err), 0);
	AM_CHECK_INT(n, 2);
	AM_CHECK_INT(am_json_get_int(v, "f", &n, NULL, &err), AM_EINVAL); /* 1.5 is no integer */
	AM_CHECK_STR(err.msg, "field 'f' must be an integer");
	double d = 0;
	AM_CHECK_INT(am_json_get_num(v, "n", &d, NULL, &err), 0); /* integers are numbers */
	AM_CHECK(d == 2.0);
	AM_CHECK_INT(am_json_get_num(v, "name", &d, NULL, &err), AM_EINVAL);
	bool b = false;
	AM_CHECK_INT(am_json_get_bool(v, "ok", &b, NULL, &err), 0);
	AM_CHECK(b);
	AM_CHECK_INT(am_json_get_bool(v, "n", &b, NULL, &err), AM_EINVAL);
	AM_CHECK_STR(am_json_get_str_or(v, "nope", "dflt"), "dflt");
	AM_CHECK_STR(am_json_get_str_or(v, "n", "dflt"), "dflt"); /* wrong type: default */
	AM_CHECK(am_json_get(v, "nope") == NULL);
	/* Getters on a non-object do not crash: the key is simply absent. */
	am_json *arr = am_json_arr_new();
	AM_CHECK(am_json_get(arr, "x") == NULL);
	AM_CHECK_INT(am_json_get_str(arr, "x", &s, NULL, &err), AM_ENOTFOUND);
	am_json_free(arr);
	am_json_free(v);
}

static void test_copy_is_deep(void)
{
	am_json *x = build_doc(false);
	am_json *c = am_json_copy(x);
	AM_CHECK(c != NULL && c != x);
	AM_CHECK_INT(am_json_set_int(am_json_get(c, "a"), "c", 5), 0);
	char *cx = canon(x);
	AM_CHECK(strstr(cx, "\"c\":null") != NULL); /* the original is unchanged */
	am_free(cx);
	AM_CHECK(am_json_copy(NULL) == NULL);
	am_json_free(c);
	am_json_free(x);
}

int main(void)
{
	AM_RUN(test_set_does_not_steal);
	AM_RUN(test_bad_arguments);
	AM_RUN(test_invalid_utf8_rejected);
	AM_RUN(test_canonical_dump_and_hash);
	AM_RUN(test_parse_ok_and_numbers);
	AM_RUN(test_parse_errors);
	AM_RUN(test_parse_file);
	AM_RUN(test_getters);
	AM_RUN(test_copy_is_deep);
	return am_test_result();
}
