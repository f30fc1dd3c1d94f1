/* test_str.c: strict number parsing, UTF-8 validity, bounded copies, small helpers. */
#include "amlab/str.h"
#include "test.h"

static void test_parse_long(void)
{
	struct am_err err = {0};
	long v = 12345;
	AM_CHECK_INT(am_parse_long("42", &v, "n", &err), 0);
	AM_CHECK_INT(v, 42);
	AM_CHECK_INT(am_parse_long("-17", &v, "n", &err), 0);
	AM_CHECK_INT(v, -17);
	AM_CHECK_INT(am_parse_long("+8", &v, "n", &err), 0);
	AM_CHECK_INT(v, 8);
	AM_CHECK_INT(am_parse_long("9223372036854775807", &v, "n", &err), 0);
	AM_CHECK(v == LONG_MAX);
	AM_CHECK_INT(am_parse_long("-9223372036854775808", &v, "n", &err), 0);
	AM_CHECK(v == LONG_MIN);

	/* Everything below is refused, and the output is left untouched. */
	static const char *const bad[] = {"",    " 1",  "1x",  "x1",   "1.5", "0x10",
	                                  "- 1", "--1", "1 2", "+",    "-",   "9223372036854775808",
	                                  "1e3", "\t7", "١",   "12abc"};
	for (size_t i = 0; i < AM_ARRAY_LEN(bad); i++) {
		v = 777;
		am_err_clear(&err);
		int rc = am_parse_long(bad[i], &v, "samples", &err);
		if (rc != AM_EINVAL)
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
		AM_CHECK_INT(rc, AM_EINVAL);
		AM_CHECK_INT(v, 777);
		AM_CHECK(strstr(err.msg, "samples") != NULL); /* the field is named */
	}
	AM_CHECK_INT(am_parse_long("-9223372036854775809", &v, "n", &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "range") != NULL);
	AM_CHECK_INT(am_parse_long(NULL, &v, "n", NULL), AM_EINVAL);
}

static void test_parse_long_trailing_space(void)
{
	/* Trailing whitespace (a line read from a file) is tolerated; leading is not. */
	long v = 0;
	AM_CHECK_INT(am_parse_long("5\n", &v, "n", NULL), 0);
	AM_CHECK_INT(v, 5);
}

static void test_parse_ulong(void)
{
	struct am_err err = {0};
	unsigned long v = 0;
	AM_CHECK_INT(am_parse_ulong("0", &v, "seed", &err), 0);
	AM_CHECK_INT(v, 0);
	AM_CHECK_INT(am_parse_ulong("4000000000", &v, "seed", &err), 0);
	AM_CHECK(v == 4000000000ul);
	v = 99;
	AM_CHECK_INT(am_parse_ulong("-1", &v, "seed", &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "negative") != NULL);
	AM_CHECK_INT(v, 99);
	AM_CHECK_INT(am_parse_ulong("-0", &v, "seed", &err), AM_EINVAL); /* no sign at all */
	/* The whole unsigned range: seeds are 64-bit. */
	AM_CHECK_INT(am_parse_ulong("18446744073709551615", &v, "seed", &err), 0);
	AM_CHECK(v == ULONG_MAX);
	AM_CHECK_INT(am_parse_ulong("18446744073709551616", &v, "seed", &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "range") != NULL);
	AM_CHECK_INT(am_parse_ulong("+7", &v, "seed", &err), 0);
	AM_CHECK(v == 7);
	AM_CHECK_INT(am_parse_ulong("", &v, "seed", &err), AM_EINVAL);
	AM_CHECK_INT(am_parse_ulong(" 1", &v, "seed", &err), AM_EINVAL);
	AM_CHECK_INT(am_parse_ulong("12q", &v, "seed", &err), AM_EINVAL);
	AM_CHECK_INT(am_parse_ulong("99999999999999999999999", &v, "seed", &err), AM_EINVAL);
}

static void test_parse_double(void)
{
	struct am_err err = {0};
	double d = 0;
	AM_CHECK_INT(am_parse_double("0.25", &d, "t", &err), 0);
	AM_CHECK(d == 0.25);
	AM_CHECK_INT(am_parse_double("-1e-3", &d, "t", &err), 0);
	AM_CHECK(d == -0.001);
	AM_CHECK_INT(am_parse_double("7", &d, "t", &err), 0);
	AM_CHECK(d == 7.0);
	AM_CHECK_INT(am_parse_double("1.5e308", &d, "t", &err), 0);
	AM_CHECK(d == 1.5e308);
	static const char *const bad[] = {"",      " 1",  "1.0x", "abc",       "1e999", "-1e999",
	                                  "nan",   "NaN", "1,5",  "--1",       ".",     "1e",
	                                  "0.5 .", "e5",  "inf",  "-Infinity", "0x1p3", "1e-400"};
	for (size_t i = 0; i < AM_ARRAY_LEN(bad); i++) {
		d = 3.5;
		am_err_clear(&err);
		int rc = am_parse_double(bad[i], &d, "temperature", &err);
		if (rc != AM_EINVAL)
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
		AM_CHECK_INT(rc, AM_EINVAL);
		AM_CHECK(d == 3.5);
		AM_CHECK(strstr(err.msg, "temperature") != NULL);
	}
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		size_t n;
		bool ok;
	} cases[] = {
	    {"", 0, true},
	    {"plain ascii", 11, true},
	    {"caf\xc3\xa9", 5, true},           /* U+00E9 */
	    {"\xe2\x82\xac", 3, true},          /* U+20AC euro */
	    {"\xf0\x9f\x98\x80", 4, true},      /* U+1F600 */
	    {"\xf4\x8f\xbf\xbf", 4, true},      /* U+10FFFF, the last code point */
	    {"\xed\x9f\xbf", 3, true},          /* U+D7FF, just below the surrogates */
	    {"\xee\x80\x80", 3, true},          /* U+E000, just above them */
	    {"a\0b", 3, true},                  /* NUL is a valid code point */
	    {"\x80", 1, false},                 /* lone continuation byte */
	    {"\xc3", 1, false},                 /* truncated 2-byte sequence */
	    {"\xe2\x82", 2, false},             /* truncated 3-byte sequence */
	    {"\xc3\x28", 2, false},             /* bad continuation */
	    {"\xc0\x80", 2, false},             /* overlong NUL */
	    {"\xc1\xbf", 2, false},             /* overlong U+007F */
	    {"\xe0\x80\xaf", 3, false},         /* overlong '/' */
	    {"\xe0\x9f\xbf", 3, false},         /* overlong U+07FF */
	    {"\xf0\x8f\xbf\xbf", 4, false},     /* overlong U+FFFF */
	    {"\xed\xa0\x80", 3, false},         /* U+D800 high surrogate */
	    {"\xed\xbf\xbf", 3, false},         /* U+DFFF low surrogate */
	    {"\xf4\x90\x80\x80", 4, false},     /* U+110000 */
	    {"\xf5\x80\x80\x80", 4, false},     /* lead byte past the range */
	    {"\xf8\x88\x80\x80\x80", 5, false}, /* 5-byte form */
	    {"\xfe", 1, false},
	    {"\xff", 1, false},
	    {"ok\xe2\x82\xac\xc3", 6, false}, /* valid start, truncated end */
	};
	for (size_t i = 0; i < AM_ARRAY_LEN(cases); i++) {
		bool got = am_utf8_valid(cases[i].s, cases[i].n);
		if (got != cases[i].ok)
			fprintf(stderr, "  utf8 case %zu: got %d\n", i, got);
		AM_CHECK(got == cases[i].ok);
	}
	/* The length is honoured: bytes past n are not looked at. */
	AM_CHECK(am_utf8_valid("ab\xff", 2));
}

static void test_strlcpy(void)
{
	char dst[6];
	memset(dst, 'Z', sizeof(dst));
	AM_CHECK_INT(am_strlcpy(dst, "hello", sizeof(dst)), 0);
	AM_CHECK_STR(dst, "hello");
	memset(dst, 'Z', sizeof(dst));
	AM_CHECK_INT(am_strlcpy(dst, "hello!", sizeof(dst)), AM_ELIMIT);
	AM_CHECK_STR(dst, "hello");
	AM_CHECK_INT(am_strlcpy(dst, "", sizeof(dst)), 0);
	AM_CHECK_STR(dst, "");
	char one[1] = {'Z'};
	AM_CHECK_INT(am_strlcpy(one, "x", 1), AM_ELIMIT);
	AM_CHECK_INT(one[0], '\0');
	AM_CHECK_INT(am_strlcpy(one, "x", 0), AM_ELIMIT);
}

static void test_snprintf(void)
{
	char dst[8];
	AM_CHECK_INT(am_snprintf(dst, sizeof(dst), "%d-%s", 12, "ab"), 0);
	AM_CHECK_STR(dst, "12-ab");
	AM_CHECK_INT(am_snprintf(dst, sizeof(dst), "%s", "1234567"), 0);
	AM_CHECK_INT(am_snprintf(dst, sizeof(dst), "%s", "12345678"), AM_ELIMIT);
	AM_CHECK_STR(dst, "1234567");
}

static void test_small_helpers(void)
{
	AM_CHECK(am_streq(NULL, NULL));
	AM_CHECK(!am_streq("a", NULL));
	AM_CHECK(!am_streq(NULL, "a"));
	AM_CHECK(am_streq("abc", "abc"));
	AM_CHECK(!am_streq("abc", "abd"));
	AM_CHECK(am_starts_with("openai/gpt", "openai/"));
	AM_CHECK(!am_starts_with("open", "openai/"));
	AM_CHECK(am_starts_with("x", ""));
	AM_CHECK(am_ends_with("a.gguf", ".gguf"));
	AM_CHECK(!am_ends_with("gguf", ".gguf"));
	AM_CHECK(am_ends_with("x", ""));
	AM_CHECK(am_strcaseeq_ascii("Content-Type", "content-TYPE"));
	AM_CHECK(!am_strcaseeq_ascii("Content-Type", "content-typ"));
	AM_CHECK(!am_strcaseeq_ascii("abc", "abd"));
	AM_CHECK(am_strncasecmp_ascii("ABCx", "abcy", 3) == 0);
	AM_CHECK(am_strncasecmp_ascii("abc", "abd", 3) < 0);
	AM_CHECK(am_strncasecmp_ascii("b", "A", 1) > 0);
	/* Only ASCII letters fold: bytes >= 0x80 compare as they are. */
	AM_CHECK(am_strncasecmp_ascii("\xc3\x89", "\xc3\xa9", 2) != 0);

	const char *s = " \t hi there \n";
	size_t n = strlen(s);
	am_trim(&s, &n);
	AM_CHECK_INT(n, 8);
	AM_CHECK(strncmp(s, "hi there", n) == 0);
	const char *blank = "   ";
	size_t bn = 3;
	am_trim(&blank, &bn);
	AM_CHECK_INT(bn, 0);
}

static void test_time(void)
{
	char out[32];
	/* Reference values computed by hand: 86400 s per day from 1970-01-01. */
	AM_CHECK_INT(am_time_iso8601(0, out, sizeof(out)), 0);
	AM_CHECK_STR(out, "1970-01-01T00:00:00Z");
	/* 2000-03-01: 30 years (7 leap days: 72,76,...,96) = 10957 days, + Jan 31 + Feb 29 = 11017
	 * days; plus 12:34:56. */
	AM_CHECK_INT(
	    am_time_iso8601((time_t)11017 * 86400 + 12 * 3600 + 34 * 60 + 56, out, sizeof(out)), 0);
	AM_CHECK_STR(out, "2000-03-01T12:34:56Z");
	AM_CHECK_INT(am_time_iso8601(0, out, 10), AM_ELIMIT);
	struct tm tm;
	AM_CHECK_INT(am_time_utc((time_t)11017 * 86400, &tm), 0);
	AM_CHECK_INT(tm.tm_year, 100);
	AM_CHECK_INT(tm.tm_mon, 2);
	AM_CHECK_INT(tm.tm_mday, 1);
}

int main(void)
{
	AM_RUN(test_parse_long);
	AM_RUN(test_parse_long_trailing_space);
	AM_RUN(test_parse_ulong);
	AM_RUN(test_parse_double);
	AM_RUN(test_utf8);
	AM_RUN(test_strlcpy);
	AM_RUN(test_snprintf);
	AM_RUN(test_small_helpers);
	AM_RUN(test_time);
	return am_test_result();
}
