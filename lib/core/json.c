/* json.c: jansson behind a non-stealing API (see include/amlab/json.h). */
#include "amlab/json.h"

#include "amlab/alloc.h"
#include "amlab/sha256.h"
#include "amlab/str.h"

/* True when s is not valid UTF-8, i.e. jansson refused it for that reason. */
static bool utf8_invalid(const char *s, size_t n)
{
	return !am_utf8_valid(s, n);
}

void am_json_init(void)
{
	static bool done;
	if (!done) {
		json_set_alloc_funcs(am_malloc, am_free);
		done = true;
	}
}

int am_json_parse(const char *text, size_t len, const char *source, am_json **out,
                  struct am_err *err)
{
	am_json_init();
	json_error_t je;
	unsigned long failures_before = am_alloc_failures();
	/* JSON_ALLOW_NUL keeps embedded NULs inside strings as data instead of a parse error. */
	am_json *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	/* jansson 2.14 does not check every allocation: a failed one can drop a character from a
	 * string and still "succeed", or surface as a syntax error with an empty message. Any
	 * allocation that failed during the parse therefore fails the parse, as out of memory. */
	if (am_alloc_failures() != failures_before) {
		json_decref(v);
		return am_err_set(err, AM_ENOMEM, "out of memory parsing JSON");
	}
	if (!v) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return am_err_set(err, AM_ENOMEM, "out of memory parsing JSON");
		/* jansson says only "unable to decode byte"; name the actual problem. */
		bool utf8 = json_error_code(&je) == json_error_invalid_utf8;
		return am_err_at(err, AM_EPARSE, source ? source : "<json>",
		                 je.line > 0 ? je.line : 0, je.column > 0 ? je.column : 0,
		                 "invalid JSON: %s%s", utf8 ? "text is not valid UTF-8: " : "",
		                 je.text);
	}
	*out = v;
	return 0;
}

int am_json_parse_file(const char *path, am_json **out, struct am_err *err)
{
	struct am_buf b = AM_BUF_INIT;
	int rc = am_buf_read_file(&b, path, err);
	if (rc == 0)
		rc = am_json_parse(b.data ? b.data : "", b.len, path, out, err);
	am_buf_free(&b);
	return rc;
}

am_json *am_json_obj_new(void)
{
	am_json_init();
	return json_object();
}

am_json *am_json_arr_new(void)
{
	am_json_init();
	return json_array();
}

am_json *am_json_str_new(const char *s)
{
	am_json_init();
	return s ? json_string(s) : NULL;
}

am_json *am_json_strn_new(const char *s, size_t n)
{
	am_json_init();
	return s ? json_stringn(s, n) : NULL;
}

am_json *am_json_int_new(long long v)
{
	am_json_init();
	return json_integer(v);
}

am_json *am_json_real_new(double v)
{
	am_json_init();
	return json_real(v);
}

am_json *am_json_bool_new(bool v)
{
	am_json_init();
	return json_boolean(v);
}

am_json *am_json_null_new(void)
{
	return json_null();
}

am_json *am_json_copy(const am_json *v)
{
	if (!v)
		return NULL;
	unsigned long failures_before = am_alloc_failures();
	am_json *c = json_deep_copy(v);
	if (am_alloc_failures() != failures_before) { /* never hand out a partial copy */
		json_decref(c);
		return NULL;
	}
	return c;
}

void am_json_free(am_json *v)
{
	json_decref(v);
}

int am_json_set(am_json *obj, const char *key, am_json *val)
{
	if (!json_is_object(obj) || !key || !val)
		return AM_EINVAL;
	if (utf8_invalid(key, strlen(key))) /* jansson refuses it too, but as a bare -1 */
		return AM_EINVAL;
	/* json_object_set (not _new) takes its own reference: the caller keeps theirs. */
	return json_object_set(obj, key, val) == 0 ? 0 : AM_ENOMEM;
}

/* Set a freshly made value and drop our reference; NULL val means the constructor failed. */
static int set_fresh(am_json *obj, const char *key, am_json *val)
{
	if (!val)
		return AM_ENOMEM;
	int rc = am_json_set(obj, key, val);
	json_decref(val);
	return rc;
}

int am_json_set_str(am_json *obj, const char *key, const char *s)
{
	if (!s)
		return AM_EINVAL;
	am_json *v = am_json_str_new(s);
	if (!v) /* jansson refuses invalid UTF-8: say so rather than claim out of memory */
		return utf8_invalid(s, strlen(s)) ? AM_EINVAL : AM_ENOMEM;
	return set_fresh(obj, key, v);
}

int am_json_set_strn(am_json *obj, const char *key, const char *s, size_t n)
{
	if (!s)
		return AM_EINVAL;
	am_json *v = am_json_strn_new(s, n);
	if (!v)
		return utf8_invalid(s, n) ? AM_EINVAL : AM_ENOMEM;
	return set_fresh(obj, key, v);
}

int am_json_set_int(am_json *obj, const char *key, long long v)
{
	return set_fresh(obj, key, am_json_int_new(v));
}

int am_json_set_real(am_json *obj, const char *key, double v)
{
	return set_fresh(obj, key, am_json_real_new(v));
}

int am_json_set_bool(am_json *obj, const char *key, bool v)
{
	return set_fresh(obj, key, am_json_bool_new(v));
}

int am_json_push(am_json *arr, am_json *val)
{
	if (!json_is_array(arr) || !val)
		return AM_EINVAL;
	return json_array_append(arr, val) == 0 ? 0 : AM_ENOMEM;
}

int am_json_push_str(am_json *arr, const char *s)
{
	if (!s)
		return AM_EINVAL;
	am_json *v = am_json_str_new(s);
	if (!v)
		return utf8_invalid(s, strlen(s)) ? AM_EINVAL : AM_ENOMEM;
	int rc = am_json_push(arr, v);
	json_decref(v);
	return rc;
}

am_json *am_json_get(const am_json *obj, const char *key)
{
	return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

const char *am_json_get_str_or(const am_json *obj, const char *key, const char *dflt)
{
	am_json *v = am_json_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

static int missing(const char *key, const char *path, struct am_err *err)
{
	if (path)
		return am_err_set(err, AM_ENOTFOUND, "%s: missing field '%s'", path, key);
	return am_err_set(err, AM_ENOTFOUND, "missing field '%s'", key);
}

static int wrong_type(const char *key, const char *path, const char *want, struct am_err *err)
{
	if (path)
		return am_err_set(err, AM_EINVAL, "%s: field '%s' must be %s", path, key, want);
	return am_err_set(err, AM_EINVAL, "field '%s' must be %s", key, want);
}

int am_json_get_str(const am_json *obj, const char *key, const char **out, const char *path,
                    struct am_err *err)
{
	am_json *v = am_json_get(obj, key);
	if (!v)
		return missing(key, path, err);
	if (!json_is_string(v))
		return wrong_type(key, path, "a string", err);
	*out = json_string_value(v);
	return 0;
}

int am_json_get_int(const am_json *obj, const char *key, long long *out, const char *path,
                    struct am_err *err)
{
	am_json *v = am_json_get(obj, key);
	if (!v)
		return missing(key, path, err);
	if (!json_is_integer(v))
		return wrong_type(key, path, "an integer", err);
	*out = json_integer_value(v);
	return 0;
}

int am_json_get_num(const am_json *obj, const char *key, double *out, const char *path,
                    struct am_err *err)
{
	am_json *v = am_json_get(obj, key);
	if (!v)
		return missing(key, path, err);
	if (!json_is_number(v))
		return wrong_type(key, path, "a number", err);
	*out = json_number_value(v);
	return 0;
}

int am_json_get_bool(const am_json *obj, const char *key, bool *out, const char *path,
                     struct am_err *err)
{
	am_json *v = am_json_get(obj, key);
	if (!v)
		return missing(key, path, err);
	if (!json_is_boolean(v))
		return wrong_type(key, path, "true or false", err);
	*out = json_is_true(v);
	return 0;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
	return am_buf_append(data, buffer, size, NULL) == 0 ? 0 : -1;
}

static int dump_flags(const am_json *v, size_t flags, struct am_buf *out, struct am_err *err)
{
	if (!v)
		return am_err_set(err, AM_EINVAL, "no JSON value to serialize");
	size_t before = out->len;
	unsigned long failures_before = am_alloc_failures();
	/* jansson 2.14 can lose an allocation failure while dumping (a key comes out cut short),
	 * so a failure anywhere during the dump fails it: a wrong canonical form is a wrong hash.
	 */
	if (json_dump_callback(v, dump_cb, out, flags | JSON_ENCODE_ANY) != 0 ||
	    am_alloc_failures() != failures_before) {
		am_buf_truncate(out, before);
		return am_err_set(err, AM_ENOMEM, "out of memory serializing JSON");
	}
	return am_buf_reserve(out, 0, err); /* an empty dump still leaves a NUL-terminated buffer */
}

int am_json_dump(const am_json *v, bool canonical, struct am_buf *out, struct am_err *err)
{
	size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(17);
	if (canonical)
		flags |= JSON_SORT_KEYS;
	return dump_flags(v, flags, out, err);
}

int am_json_dump_pretty(const am_json *v, struct am_buf *out, struct am_err *err)
{
	return dump_flags(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17), out, err);
}

int am_json_hash(const am_json *v, char out[65], struct am_err *err)
{
	struct am_buf b = AM_BUF_INIT;
	int rc = am_json_dump(v, true, &b, err);
	if (rc == 0)
		rc = am_sha256_hex(b.data, b.len, out, err);
	am_buf_free(&b);
	return rc;
}
