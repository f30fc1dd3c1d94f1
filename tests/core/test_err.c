/* test_err.c: the error record: set, location, prefix, format, code names. */
#include "amlab/err.h"
#include "test.h"

static void test_set_clears_location(void)
{
	struct am_err err;
	AM_CHECK_INT(am_err_at(&err, AM_EPARSE, "suite.yaml", 3, 7, "bad %s", "thing"), AM_EPARSE);
	AM_CHECK_INT(am_err_set(&err, AM_EINVAL, "plain %d", 42), AM_EINVAL);
	AM_CHECK_INT(err.code, AM_EINVAL);
	AM_CHECK_STR(err.msg, "plain 42");
	AM_CHECK_STR(err.where, ""); /* a new error must not inherit the old location */
	AM_CHECK_INT(err.line, 0);
	AM_CHECK_INT(err.col, 0);
}

static void test_null_err_returns_code(void)
{
	AM_CHECK_INT(am_err_set(NULL, AM_ENOMEM, "x"), AM_ENOMEM);
	AM_CHECK_INT(am_err_at(NULL, AM_EIO, "f", 1, 1, "x"), AM_EIO);
	am_err_clear(NULL); /* must not crash */
	char out[16] = "junk";
	am_err_format(NULL, out, sizeof(out));
	AM_CHECK_STR(out, "");
}

static void test_format_with_location(void)
{
	struct am_err err;
	char out[128];
	am_err_at(&err, AM_EPARSE, "suites/honeypot/a.yaml", 12, 5, "unknown tool '%s'", "mail");
	am_err_format(&err, out, sizeof(out));
	AM_CHECK_STR(out, "suites/honeypot/a.yaml:12:5: unknown tool 'mail'");

	am_err_at(&err, AM_EPARSE, "a.yaml", 12, 0, "no column");
	am_err_format(&err, out, sizeof(out));
	AM_CHECK_STR(out, "a.yaml:12: no column");

	am_err_at(&err, AM_ENOTFOUND, "models/x.gguf", 0, 0, "cannot open");
	am_err_format(&err, out, sizeof(out));
	AM_CHECK_STR(out, "models/x.gguf: cannot open");

	am_err_set(&err, AM_ELIMIT, "too big");
	am_err_format(&err, out, sizeof(out));
	AM_CHECK_STR(out, "too big");

	/* No message: the code's name stands in, so a formatted error is never empty. */
	am_err_clear(&err);
	err.code = AM_ENOMEM;
	am_err_format(&err, out, sizeof(out));
	AM_CHECK_STR(out, "ENOMEM");
}

static void test_format_truncates_safely(void)
{
	struct am_err err;
	am_err_at(&err, AM_EPARSE, "file.json", 1, 2, "a long message that will not fit");
	char out[12];
	memset(out, 'Z', sizeof(out));
	am_err_format(&err, out, sizeof(out));
	AM_CHECK_INT(strlen(out), sizeof(out) - 1);
	AM_CHECK_STR(out, "file.json:1");
	char one[1] = {'Z'};
	am_err_format(&err, one, sizeof(one));
	AM_CHECK_INT(one[0], '\0');
}

static void test_prefix(void)
{
	struct am_err err;
	am_err_at(&err, AM_EPARSE, "x.yaml", 4, 2, "unexpected '%c'", '}');
	AM_CHECK_INT(am_err_prefix(&err, "loading suite %s", "honeypot"), AM_EPARSE);
	AM_CHECK_STR(err.msg, "loading suite honeypot: unexpected '}'");
	/* The location survives a prefix. */
	AM_CHECK_STR(err.where, "x.yaml");
	AM_CHECK_INT(err.line, 4);
	AM_CHECK_INT(err.col, 2);
	am_err_prefix(&err, "run %d", 7);
	AM_CHECK_STR(err.msg, "run 7: loading suite honeypot: unexpected '}'");
	char out[128];
	am_err_format(&err, out, sizeof(out));
	AM_CHECK_STR(out, "x.yaml:4:2: run 7: loading suite honeypot: unexpected '}'");
}

static void test_long_message_truncated(void)
{
	struct am_err err;
	char big[AM_ERR_MSG_MAX * 2];
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	am_err_set(&err, AM_EINVAL, "%s", big);
	AM_CHECK_INT(strlen(err.msg), AM_ERR_MSG_MAX - 1);
	char where[AM_ERR_WHERE_MAX * 2];
	memset(where, 'w', sizeof(where) - 1);
	where[sizeof(where) - 1] = '\0';
	am_err_at(&err, AM_EINVAL, where, 1, 1, "x");
	AM_CHECK_INT(strlen(err.where), AM_ERR_WHERE_MAX - 1);
	/* Prefixing a full message stays within bounds. */
	am_err_set(&err, AM_EINVAL, "%s", big);
	am_err_prefix(&err, "context");
	AM_CHECK_INT(strlen(err.msg), AM_ERR_MSG_MAX - 1);
	AM_CHECK(strncmp(err.msg, "context: mmm", 12) == 0);
}

static void test_own_fields_as_arguments(void)
{
	/* Re-setting an error from its own message and location is a common idiom. */
	struct am_err err;
	am_err_at(&err, AM_EPARSE, "a.yaml", 2, 3, "bad key");
	am_err_at(&err, AM_EINVAL, err.where, err.line, err.col, "while checking: %s", err.msg);
	AM_CHECK_STR(err.msg, "while checking: bad key");
	AM_CHECK_STR(err.where, "a.yaml");
	AM_CHECK_INT(err.code, AM_EINVAL);
	am_err_set(&err, AM_EIO, "%s (again)", err.msg);
	AM_CHECK_STR(err.msg, "while checking: bad key (again)");
}

static void test_code_names(void)
{
	AM_CHECK_STR(am_err_code_name(AM_OK), "OK");
	AM_CHECK_STR(am_err_code_name(AM_ENOMEM), "ENOMEM");
	AM_CHECK_STR(am_err_code_name(AM_EINVAL), "EINVAL");
	AM_CHECK_STR(am_err_code_name(AM_EIO), "EIO");
	AM_CHECK_STR(am_err_code_name(AM_EPARSE), "EPARSE");
	AM_CHECK_STR(am_err_code_name(AM_ELIMIT), "ELIMIT");
	AM_CHECK_STR(am_err_code_name(AM_ENOTFOUND), "ENOTFOUND");
	AM_CHECK_STR(am_err_code_name(AM_EUNSUPPORTED), "EUNSUPPORTED");
	AM_CHECK_STR(am_err_code_name(AM_ENET), "ENET");
	AM_CHECK_STR(am_err_code_name(AM_ESTATE), "ESTATE");
	AM_CHECK_STR(am_err_code_name(AM_EINTERNAL), "EINTERNAL");
	AM_CHECK_STR(am_err_code_name(-999), "EUNKNOWN");
	AM_CHECK_STR(am_err_code_name(1), "EUNKNOWN");
}

int main(void)
{
	AM_RUN(test_set_clears_location);
	AM_RUN(test_null_err_returns_code);
	AM_RUN(test_format_with_location);
	AM_RUN(test_format_truncates_safely);
	AM_RUN(test_prefix);
	AM_RUN(test_long_message_truncated);
	AM_RUN(test_own_fields_as_arguments);
	AM_RUN(test_code_names);
	return am_test_result();
}
