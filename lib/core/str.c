/* str.c: safe string helpers (see include/amlab/str.h). */
#include "amlab/str.h"

#include <ctype.h>

int am_strlcpy(char *dst, const char *src, size_t dst_size)
{
	if (dst_size == 0)
		return AM_ELIMIT;
	size_t n = strlen(src);
	size_t copy = n < dst_size ? n : dst_size - 1;
	memcpy(dst, src, copy);
	dst[copy] = '\0';
	return copy == n ? 0 : AM_ELIMIT;
}

int am_snprintf(char *dst, size_t dst_size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, dst_size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return AM_EINVAL;
	return (size_t)n < dst_size ? 0 : AM_ELIMIT;
}

static bool only_space(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

int am_parse_long(const char *s, long *out, const char *what, struct am_err *err)
{
	if (!s || !*s || isspace((unsigned char)*s))
		return am_err_set(err, AM_EINVAL, "%s: expected an integer, got '%s'", what,
		                  s ? s : "");
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno == ERANGE)
		return am_err_set(err, AM_EINVAL, "%s: integer out of range: '%s'", what, s);
	if (end == s || !only_space(end))
		return am_err_set(err, AM_EINVAL, "%s: expected an integer, got '%s'", what, s);
	*out = v;
	return 0;
}

int am_parse_ulong(const char *s, unsigned long *out, const char *what, struct am_err *err)
{
	if (!s || !*s || isspace((unsigned char)*s))
		return am_err_set(err, AM_EINVAL, "%s: expected an integer, got '%s'", what,
		                  s ? s : "");
	/* strtoul would take "-1" as ULONG_MAX. */
	if (*s == '-')
		return am_err_set(err, AM_EINVAL, "%s: must not be negative, got '%s'", what, s);
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno == ERANGE)
		return am_err_set(err, AM_EINVAL, "%s: integer out of range: '%s'", what, s);
	if (end == s || !only_space(end))
		return am_err_set(err, AM_EINVAL, "%s: expected an integer, got '%s'", what, s);
	*out = v;
	return 0;
}

int am_parse_double(const char *s, double *out, const char *what, struct am_err *err)
{
	if (!s || !*s || isspace((unsigned char)*s))
		return am_err_set(err, AM_EINVAL, "%s: expected a number, got '%s'", what,
		                  s ? s : "");
	/* Plain decimal notation only: strtod would also take "inf", "nan" and hex floats, which
	 * no amlab input means. */
	size_t digits_end = strspn(s, "0123456789+-.eE");
	if (!only_space(s + digits_end))
		return am_err_set(err, AM_EINVAL, "%s: expected a decimal number, got '%s'", what,
		                  s);
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno == ERANGE)
		return am_err_set(err, AM_EINVAL, "%s: number out of range: '%s'", what, s);
	if (end == s || !only_space(end))
		return am_err_set(err, AM_EINVAL, "%s: expected a number, got '%s'", what, s);
	if (v != v)
		return am_err_set(err, AM_EINVAL, "%s: NaN is not allowed", what);
	*out = v;
	return 0;
}

bool am_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool am_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool am_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

void am_trim(const char **s, size_t *len)
{
	const char *p = *s;
	size_t n = *len;
	while (n && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	*s = p;
	*len = n;
}

static int lower_ascii(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int am_strncasecmp_ascii(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ca = lower_ascii((unsigned char)a[i]), cb = lower_ascii((unsigned char)b[i]);
		if (ca != cb)
			return ca - cb;
		if (!ca)
			return 0;
	}
	return 0;
}

bool am_strcaseeq_ascii(const char *a, const char *b)
{
	size_t n = strlen(a);
	return n == strlen(b) && am_strncasecmp_ascii(a, b, n) == 0;
}

bool am_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		/* Reject overlong forms, surrogates and values past U+10FFFF. */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

int am_time_utc(time_t t, struct tm *out)
{
	return gmtime_r(&t, out) ? 0 : AM_EINVAL;
}

int am_time_iso8601(time_t t, char *out, size_t out_size)
{
	struct tm tm;
	if (am_time_utc(t, &tm) < 0)
		return AM_EINVAL;
	return strftime(out, out_size, "%Y-%m-%dT%H:%M:%SZ", &tm) ? 0 : AM_ELIMIT;
}
