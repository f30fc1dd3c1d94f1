/* log.c: leveled, redacting logging to stderr (see include/amlab/log.h). */
#include "amlab/log.h"

#include <pthread.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/str.h"

#define MAX_SECRETS 16

static enum am_log_level current_level = AM_LOG_WARN;
static bool level_from_env_done;
static FILE *log_stream;
static char *secrets[MAX_SECRETS];
static size_t n_secrets;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int am_log_level_parse(const char *s, enum am_log_level *out)
{
	for (size_t i = 0; i < AM_ARRAY_LEN(level_names); i++) {
		if (am_streq(s, level_names[i])) {
			*out = (enum am_log_level)i;
			return 0;
		}
	}
	return AM_EINVAL;
}

static void level_from_env(void)
{
	if (level_from_env_done)
		return;
	level_from_env_done = true;
	const char *env = getenv("AMLAB_LOG");
	enum am_log_level lvl;
	if (!env || !*env)
		return;
	if (am_log_level_parse(env, &lvl) == 0) {
		current_level = lvl;
		return;
	}
	/* A misspelt level must not silently change what the user sees. */
	fprintf(log_stream ? log_stream : stderr,
	        "amlab: warn: AMLAB_LOG='%s' is not one of error, warn, info, debug; using %s\n",
	        env, level_names[current_level]);
}

void am_log_set_level(enum am_log_level level)
{
	level_from_env_done = true;
	current_level = level;
}

enum am_log_level am_log_get_level(void)
{
	level_from_env();
	return current_level;
}

void am_log_set_stream(FILE *f)
{
	log_stream = f;
}

int am_log_add_secret(const char *secret)
{
	/* Very short strings would redact ordinary words; keys are long. */
	if (!secret || strlen(secret) < 4)
		return AM_EINVAL;
	pthread_mutex_lock(&log_lock);
	int rc = 0;
	for (size_t i = 0; i < n_secrets; i++)
		if (am_streq(secrets[i], secret))
			goto out;
	if (n_secrets == MAX_SECRETS) {
		rc = AM_ELIMIT;
		goto out;
	}
	secrets[n_secrets] = am_strdup(secret);
	if (!secrets[n_secrets]) {
		rc = AM_ENOMEM;
		goto out;
	}
	n_secrets++;
out:
	pthread_mutex_unlock(&log_lock);
	return rc;
}

void am_log_clear_secrets(void)
{
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < n_secrets; i++)
		am_free(secrets[i]);
	n_secrets = 0;
	pthread_mutex_unlock(&log_lock);
}

/* Caller holds log_lock. */
static int redact_locked(const char *s, size_t n, struct am_buf *out)
{
	size_t i = 0;
	while (i < n) {
		bool hit = false;
		for (size_t k = 0; k < n_secrets; k++) {
			size_t m = strlen(secrets[k]);
			if (m <= n - i && memcmp(s + i, secrets[k], m) == 0) {
				if (am_buf_puts(out, "[REDACTED]", NULL) < 0)
					return AM_ENOMEM;
				i += m;
				hit = true;
				break;
			}
		}
		if (!hit) {
			if (am_buf_putc(out, s[i], NULL) < 0)
				return AM_ENOMEM;
			i++;
		}
	}
	return 0;
}

int am_log_redact(const char *s, size_t n, struct am_buf *out)
{
	pthread_mutex_lock(&log_lock);
	int rc = redact_locked(s, n, out);
	pthread_mutex_unlock(&log_lock);
	return rc;
}

void am_log(enum am_log_level level, const char *fmt, ...)
{
	if (level > am_log_get_level())
		return;
	/* The whole message is formatted before redaction: cutting it to a fixed size first could
	 * leave the head of a secret at the cut, where no whole secret matches any more. */
	struct am_buf msg = AM_BUF_INIT, line = AM_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int fmt_rc = am_buf_vprintf(&msg, NULL, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	FILE *f = log_stream ? log_stream : stderr;
	if (fmt_rc == 0 && redact_locked(msg.data ? msg.data : "", msg.len, &line) == 0)
		fprintf(f, "amlab: %s: %s\n", level_names[level], line.data ? line.data : "");
	else /* cannot format or redact, so print nothing of the message */
		fprintf(f, "amlab: %s: (message dropped: out of memory)\n", level_names[level]);
	fflush(f);
	pthread_mutex_unlock(&log_lock);
	am_buf_free(&msg);
	am_buf_free(&line);
}
