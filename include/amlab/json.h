/* json.h: a thin layer over jansson that hides its reference stealing.
 *
 * Ownership rule: functions named *_new, am_json_parse* and am_json_copy return a NEW reference
 * that the caller releases with am_json_free(). Nothing in this API steals: am_json_set() and
 * am_json_push() take their own reference to `val`, so the caller still releases what it made.
 * Getters return BORROWED pointers valid while the container lives. All jansson allocation goes
 * through am_malloc (see alloc.h), so allocation-failure tests cover JSON too. */
#ifndef AMLAB_JSON_H
#define AMLAB_JSON_H

#include <jansson.h>

#include "amlab/buf.h"
#include "amlab/err.h"

typedef json_t am_json;

/* Route jansson's allocator through am_malloc. Called once at start-up; idempotent. */
void am_json_init(void);

/* Parse text; on error the message names `source` with line and column. */
int am_json_parse(const char *text, size_t len, const char *source, am_json **out,
                  struct am_err *err);
int am_json_parse_file(const char *path, am_json **out, struct am_err *err);

am_json *am_json_obj_new(void);
am_json *am_json_arr_new(void);
am_json *am_json_str_new(const char *s);            /* NULL if s is not valid UTF-8 */
am_json *am_json_strn_new(const char *s, size_t n); /* NULL if not valid UTF-8 */
am_json *am_json_int_new(long long v);
am_json *am_json_real_new(double v);
am_json *am_json_bool_new(bool v);
am_json *am_json_null_new(void);
am_json *am_json_copy(const am_json *v); /* deep copy */
void am_json_free(am_json *v);           /* NULL-safe */

/* Setters (never steal). Return 0 or AM_ENOMEM / AM_EINVAL. */
int am_json_set(am_json *obj, const char *key, am_json *val);
int am_json_set_str(am_json *obj, const char *key, const char *s);
int am_json_set_strn(am_json *obj, const char *key, const char *s, size_t n);
int am_json_set_int(am_json *obj, const char *key, long long v);
int am_json_set_real(am_json *obj, const char *key, double v);
int am_json_set_bool(am_json *obj, const char *key, bool v);
int am_json_push(am_json *arr, am_json *val);
int am_json_push_str(am_json *arr, const char *s);

/* Typed getters with field-named errors ("field 'x' must be a string"). `path` names the object
 * in messages (e.g. "request.messages[2]"); may be NULL. A missing key is AM_ENOTFOUND. */
int am_json_get_str(const am_json *obj, const char *key, const char **out, const char *path,
                    struct am_err *err);
int am_json_get_int(const am_json *obj, const char *key, long long *out, const char *path,
                    struct am_err *err);
int am_json_get_num(const am_json *obj, const char *key, double *out, const char *path,
                    struct am_err *err);
int am_json_get_bool(const am_json *obj, const char *key, bool *out, const char *path,
                     struct am_err *err);
/* Borrowed; NULL when absent. */
am_json *am_json_get(const am_json *obj, const char *key);
const char *am_json_get_str_or(const am_json *obj, const char *key, const char *dflt);

/* Serialize. Canonical form: compact, keys sorted, so equal values give equal bytes (used for
 * hashing requests and conditions). Appends to out. */
int am_json_dump(const am_json *v, bool canonical, struct am_buf *out, struct am_err *err);
int am_json_dump_pretty(const am_json *v, struct am_buf *out, struct am_err *err);
/* SHA-256 hex of the canonical form. */
int am_json_hash(const am_json *v, char out[65], struct am_err *err);

#endif
