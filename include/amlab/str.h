/* str.h: safe string helpers (the replacements for what banned.h forbids).
 * None of them allocate unless the name says dup. */
#ifndef AMLAB_STR_H
#define AMLAB_STR_H

#include "amlab/err.h"

/* Copy src into dst (size dst_size), always NUL-terminating. Returns 0, or AM_ELIMIT if src was
 * truncated. */
int am_strlcpy(char *dst, const char *src, size_t dst_size);
/* snprintf that reports truncation as AM_ELIMIT instead of silently cutting. */
int am_snprintf(char *dst, size_t dst_size, const char *fmt, ...) AM_PRINTF(3, 4);

/* Strict number parsing: the whole string must be the number (no trailing junk, no empty
 * string); range errors are reported. `what` names the field in the error message. */
int am_parse_long(const char *s, long *out, const char *what, struct am_err *err);
int am_parse_ulong(const char *s, unsigned long *out, const char *what, struct am_err *err);
int am_parse_double(const char *s, double *out, const char *what, struct am_err *err);

bool am_streq(const char *a, const char *b); /* NULL-safe */
bool am_starts_with(const char *s, const char *prefix);
bool am_ends_with(const char *s, const char *suffix);
/* Trim ASCII whitespace in place on a (ptr,len) view. */
void am_trim(const char **s, size_t *len);
/* ASCII case-insensitive comparison of n bytes / whole strings. */
int am_strncasecmp_ascii(const char *a, const char *b, size_t n);
bool am_strcaseeq_ascii(const char *a, const char *b);
/* True if the n bytes are valid UTF-8. */
bool am_utf8_valid(const char *s, size_t n);

/* UTC broken-down time and ISO-8601 ("2026-11-28T05:54:45Z") from a Unix time. */
int am_time_utc(time_t t, struct tm *out);
int am_time_iso8601(time_t t, char *out, size_t out_size);

#endif
