/* test_log.c: levels, the AMLAB_LOG variable, and secret redaction. */
#include <sys/wait.h>
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/log.h"
#include "test.h"

/* Everything logged while `f` was the stream, as a C string (caller frees). */
static char *stream_text(FILE *f)
{
	struct am_buf b = AM_BUF_INIT;
	fflush(f);
	rewind(f);
	if (am_buf_read_stream(&b, f, "log", NULL) < 0) {
		am_buf_free(&b);
		return NULL;
	}
	return am_buf_detach(&b, NULL, NULL);
}

static void test_level_parse(void)
{
	enum am_log_level l = AM_LOG_ERROR;
	AM_CHECK_INT(am_log_level_parse("debug", &l), 0);
	AM_CHECK_INT(l, AM_LOG_DEBUG);
	AM_CHECK_INT(am_log_level_parse("info", &l), 0);
	AM_CHECK_INT(l, AM_LOG_INFO);
	AM_CHECK_INT(am_log_level_parse("warn", &l), 0);
	AM_CHECK_INT(l, AM_LOG_WARN);
	AM_CHECK_INT(am_log_level_parse("error", &l), 0);
	AM_CHECK_INT(l, AM_LOG_ERROR);
	AM_CHECK_INT(am_log_level_parse("verbose", &l), AM_EINVAL);
	AM_CHECK_INT(am_log_level_parse("", &l), AM_EINVAL);
	AM_CHECK_INT(am_log_level_parse("DEBUG", &l), AM_EINVAL);
	AM_CHECK_INT(am_log_level_parse(NULL, &l), AM_EINVAL);
	AM_CHECK_INT(l, AM_LOG_ERROR); /* untouched by the failures */
}

static void test_levels_filter(void)
{
	FILE *f = tmpfile();
	am_log_set_stream(f);
	am_log_set_level(AM_LOG_WARN);
	am_log_error("e%d", 1);
	am_log_warn("w%d", 2);
	am_log_info("i%d", 3);
	am_log_debug("d%d", 4);
	am_log_set_level(AM_LOG_DEBUG);
	am_log_debug("d%d", 5);
	am_log_set_level(AM_LOG_ERROR);
	am_log_warn("w%d", 6);
	am_log_set_stream(NULL);
	char *text = stream_text(f);
	AM_CHECK_STR(text, "amlab: error: e1\namlab: warn: w2\namlab: debug: d5\n");
	am_free(text);
	fclose(f);
}

/* Run AMLAB_LOG=value in a fresh process (the variable is read once per process); returns the
 * level that process ends up with, and what it printed into *out (caller frees). */
static int level_in_child(const char *value, char **out)
{
	FILE *f = tmpfile();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		if (value)
			setenv("AMLAB_LOG", value, 1);
		else
			unsetenv("AMLAB_LOG");
		am_log_set_stream(f);
		int lvl = (int)am_log_get_level();
		am_log_info("info line");
		fflush(f);
		_exit(lvl);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	*out = stream_text(f);
	fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_env_level(void)
{
	char *out = NULL;
	AM_CHECK_INT(level_in_child("debug", &out), AM_LOG_DEBUG);
	AM_CHECK_STR(out, "amlab: info: info line\n");
	am_free(out);
	AM_CHECK_INT(level_in_child("error", &out), AM_LOG_ERROR);
	AM_CHECK_STR(out, "");
	am_free(out);
	/* Default without the variable: warn. */
	AM_CHECK_INT(level_in_child(NULL, &out), AM_LOG_WARN);
	AM_CHECK_STR(out, "");
	am_free(out);
	/* A bad value keeps the default and says so. */
	AM_CHECK_INT(level_in_child("loud", &out), AM_LOG_WARN);
	AM_CHECK(out && strstr(out, "AMLAB_LOG='loud'") != NULL);
	am_free(out);
}

static void test_set_level_overrides_env(void)
{
	/* In this process AMLAB_LOG was never read yet; an explicit level wins over it. */
	setenv("AMLAB_LOG", "debug", 1);
	am_log_set_level(AM_LOG_ERROR);
	AM_CHECK_INT(am_log_get_level(), AM_LOG_ERROR);
	unsetenv("AMLAB_LOG");
}

static void test_secret_never_printed(void)
{
	const char *key = "sk-test-0123456789abcdefghij";
	const char *key2 = "ant-api-ZYXWVUTSRQ";
	AM_CHECK_INT(am_log_add_secret(key), 0);
	AM_CHECK_INT(am_log_add_secret(key2), 0);
	AM_CHECK_INT(am_log_add_secret(key), 0); /* again: no error, no second slot */
	AM_CHECK_INT(am_log_add_secret("abc"), AM_EINVAL);
	AM_CHECK_INT(am_log_add_secret(NULL), AM_EINVAL);

	FILE *f = tmpfile();
	am_log_set_stream(f);
	am_log_set_level(AM_LOG_DEBUG);
	am_log_error("Authorization: Bearer %s", key);
	am_log_warn("%s%s|%s", key, key, key2);
	am_log_info("url=https://x/?key=%s&k2=%s.", key, key2);
	/* A secret that would straddle a 4096-byte cut must not leak its head either. */
	char pad[5000];
	memset(pad, '.', sizeof(pad));
	for (size_t at = 4060; at < 4100; at += 3) {
		pad[at] = '\0';
		am_log_debug("%s%s tail", pad, key);
		pad[at] = '.';
	}
	am_log_set_stream(NULL);
	char *text = stream_text(f);
	fclose(f);
	AM_CHECK(text != NULL);
	if (!text)
		return;
	/* No 8-byte piece of either key may appear anywhere in the output. */
	int leaks = 0;
	const char *keys[] = {key, key2};
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i + 8 <= strlen(keys[k]); i++) {
			char piece[9];
			memcpy(piece, keys[k] + i, 8);
			piece[8] = '\0';
			if (strstr(text, piece))
				leaks++;
		}
	AM_CHECK_INT(leaks, 0);
	AM_CHECK(strstr(text, "amlab: error: Authorization: Bearer [REDACTED]\n") != NULL);
	AM_CHECK(strstr(text, "amlab: warn: [REDACTED][REDACTED]|[REDACTED]\n") != NULL);
	AM_CHECK(strstr(text, "url=https://x/?key=[REDACTED]&k2=[REDACTED].\n") != NULL);
	AM_CHECK(strstr(text, "[REDACTED] tail\n") != NULL);
	am_free(text);

	/* am_log_redact on its own. */
	struct am_buf b = AM_BUF_INIT;
	const char *line = "a sk-test-0123456789abcdefghij b";
	AM_CHECK_INT(am_log_redact(line, strlen(line), &b), 0);
	AM_CHECK_STR(b.data, "a [REDACTED] b");
	am_buf_free(&b);

	am_log_clear_secrets();
	AM_CHECK_INT(am_log_redact(key, strlen(key), &b), 0);
	AM_CHECK_STR(b.data, key); /* cleared: printed as is */
	am_buf_free(&b);
}

static void test_secret_limit(void)
{
	char s[32];
	int rc = 0;
	for (int i = 0; i < 16; i++) {
		snprintf(s, sizeof(s), "secret-%02d", i);
		rc |= am_log_add_secret(s);
	}
	AM_CHECK_INT(rc, 0);
	AM_CHECK_INT(am_log_add_secret("secret-16"), AM_ELIMIT);
	AM_CHECK_INT(am_log_add_secret("secret-03"), 0); /* already known */
	am_log_clear_secrets();
	AM_CHECK_INT(am_log_add_secret("secret-16"), 0);
	am_log_clear_secrets();
}

static void test_redaction_out_of_memory_drops_message(void)
{
	AM_CHECK_INT(am_log_add_secret("hunter2-secret"), 0);
	FILE *f = tmpfile();
	am_log_set_stream(f);
	am_log_set_level(AM_LOG_INFO);
	/* Every allocation fails: the message is dropped, never printed unredacted. */
	am_alloc_fail_after(0, true);
	am_log_info("password is %s", "hunter2-secret");
	am_alloc_fail_after(-1, false);
	am_log_set_stream(NULL);
	char *text = stream_text(f);
	fclose(f);
	AM_CHECK(text && strstr(text, "hunter2") == NULL);
	AM_CHECK(text && strstr(text, "message dropped") != NULL);
	am_free(text);
	am_log_clear_secrets();
}

int main(void)
{
	AM_RUN(test_level_parse);
	AM_RUN(test_env_level);
	AM_RUN(test_set_level_overrides_env);
	AM_RUN(test_levels_filter);
	AM_RUN(test_secret_never_printed);
	AM_RUN(test_secret_limit);
	AM_RUN(test_redaction_out_of_memory_drops_message);
	return am_test_result();
}
