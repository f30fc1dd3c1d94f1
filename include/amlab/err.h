/* err.h: the one error convention of amlab.
 *
 * Every fallible function returns int: 0 on success, a negative AM_E* code on failure. Its last
 * parameter (before any varargs) is an optional `struct am_err *` that, when non-NULL, receives a
 * human-readable message and, where the error concerns an input, the input's name, line and
 * column. Callers own the struct (usually on the stack); it holds no heap memory.
 *
 * Cleanup style: functions keep one exit label, `out:`, and release everything there:
 *
 *     int rc = 0;
 *     if ((rc = step(..., err)) < 0) goto out;
 *   out:
 *     free(tmp);
 *     return rc;
 */
#ifndef AMLAB_ERR_H
#define AMLAB_ERR_H

enum am_errcode {
	AM_OK = 0,
	AM_ENOMEM = -1,       /* an allocation failed */
	AM_EINVAL = -2,       /* bad argument or bad input value */
	AM_EIO = -3,          /* file or stream error */
	AM_EPARSE = -4,       /* malformed input text */
	AM_ELIMIT = -5,       /* a hard cap (buffer size, count) would be exceeded */
	AM_ENOTFOUND = -6,    /* named thing does not exist */
	AM_EUNSUPPORTED = -7, /* valid but not supported by this build */
	AM_ENET = -8,         /* network or remote service error */
	AM_ESTATE = -9,       /* operation not valid in the current state */
	AM_EINTERNAL = -10,   /* a bug: an invariant did not hold */
};

#define AM_ERR_MSG_MAX   768
#define AM_ERR_WHERE_MAX 256

struct am_err {
	int code;                     /* AM_OK when nothing is set */
	char msg[AM_ERR_MSG_MAX];     /* what went wrong, one line, no trailing period */
	char where[AM_ERR_WHERE_MAX]; /* input name (file path, URL, field path) or "" */
	int line;                     /* 1-based line in `where`, 0 when unknown */
	int col;                      /* 1-based column, 0 when unknown */
};

/* Set code and message; returns `code` so callers can `return am_err_set(...)`. err may be NULL. */
int am_err_set(struct am_err *err, int code, const char *fmt, ...) AM_PRINTF(3, 4);
/* Same, with the location of the problem in an input. */
int am_err_at(struct am_err *err, int code, const char *where, int line, int col, const char *fmt,
              ...) AM_PRINTF(6, 7);
/* Prefix the existing message with context ("loading suite x: ..."); returns err->code. */
int am_err_prefix(struct am_err *err, const char *fmt, ...) AM_PRINTF(2, 3);
void am_err_clear(struct am_err *err);
/* "where:line:col: msg" (location parts only when known) into out; always NUL-terminates. */
void am_err_format(const struct am_err *err, char *out, size_t out_size);
/* Short stable name of a code, e.g. "ENOMEM". */
const char *am_err_code_name(int code);

#endif
