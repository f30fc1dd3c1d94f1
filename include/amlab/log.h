/* log.h: leveled logging to stderr.
 *
 * Level from am_log_set_level() or the AMLAB_LOG environment variable (error, warn, info,
 * debug). Secrets registered with am_log_add_secret() are replaced by "[REDACTED]" in every
 * message, so an API key can never reach a log line even by mistake. */
#ifndef AMLAB_LOG_H
#define AMLAB_LOG_H

enum am_log_level { AM_LOG_ERROR = 0, AM_LOG_WARN = 1, AM_LOG_INFO = 2, AM_LOG_DEBUG = 3 };

void am_log_set_level(enum am_log_level level);
enum am_log_level am_log_get_level(void);
/* Parse "error"/"warn"/"info"/"debug"; returns AM_EINVAL for anything else. */
int am_log_level_parse(const char *s, enum am_log_level *out);
/* Redirect output (tests); NULL restores stderr. */
void am_log_set_stream(FILE *f);
/* Register a string that must never be printed (copied; at most 16 secrets, >= 4 chars). */
int am_log_add_secret(const char *secret);
void am_log_clear_secrets(void);
/* Replace every registered secret in s (len n) and append to out. */
struct am_buf;
int am_log_redact(const char *s, size_t n, struct am_buf *out);

void am_log(enum am_log_level level, const char *fmt, ...) AM_PRINTF(2, 3);
#define am_log_error(...) am_log(AM_LOG_ERROR, __VA_ARGS__)
#define am_log_warn(...)  am_log(AM_LOG_WARN, __VA_ARGS__)
#define am_log_info(...)  am_log(AM_LOG_INFO, __VA_ARGS__)
#define am_log_debug(...) am_log(AM_LOG_DEBUG, __VA_ARGS__)

#endif
