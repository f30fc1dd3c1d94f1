/* err.c: the error record (see include/amlab/err.h). */
#include "amlab/err.h"
#include "amlab/str.h"

AM_PRINTF(3, 0)
static void err_vset(struct am_err *err, int code, const char *fmt, va_list ap)
{
	err->code = code;
	/* Format into a copy first: the arguments may be err->msg or err->where themselves
	 * ("reading x: %s", err->msg). Truncation of an over-long message is acceptable: it still
	 * starts with the cause. */
	char msg[AM_ERR_MSG_MAX];
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	memcpy(err->msg, msg, sizeof(msg));
}

int am_err_set(struct am_err *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	err->where[0] = '\0';
	err->line = 0;
	err->col = 0;
	return code;
}

int am_err_at(struct am_err *err, int code, const char *where, int line, int col, const char *fmt,
              ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	if (where != err->where) /* re-setting an error at its own location */
		am_strlcpy(err->where, where ? where : "", sizeof(err->where));
	err->line = line;
	err->col = col;
	return code;
}

int am_err_prefix(struct am_err *err, const char *fmt, ...)
{
	if (!err)
		return AM_EINVAL;
	char prefix[AM_ERR_MSG_MAX];
	char old[AM_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (n < 0)
		return err->code;
	am_strlcpy(old, err->msg, sizeof(old));
	(void)am_snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return err->code;
}

void am_err_clear(struct am_err *err)
{
	if (!err)
		return;
	err->code = AM_OK;
	err->msg[0] = '\0';
	err->where[0] = '\0';
	err->line = 0;
	err->col = 0;
}

void am_err_format(const struct am_err *err, char *out, size_t out_size)
{
	if (!out || out_size == 0)
		return;
	if (!err) {
		out[0] = '\0';
		return;
	}
	const char *msg = err->msg[0] ? err->msg : am_err_code_name(err->code);
	if (err->where[0] && err->line > 0 && err->col > 0)
		(void)am_snprintf(out, out_size, "%s:%d:%d: %s", err->where, err->line, err->col,
		                  msg);
	else if (err->where[0] && err->line > 0)
		(void)am_snprintf(out, out_size, "%s:%d: %s", err->where, err->line, msg);
	else if (err->where[0])
		(void)am_snprintf(out, out_size, "%s: %s", err->where, msg);
	else
		am_strlcpy(out, msg, out_size);
}

const char *am_err_code_name(int code)
{
	switch (code) {
	case AM_OK: return "OK";
	case AM_ENOMEM: return "ENOMEM";
	case AM_EINVAL: return "EINVAL";
	case AM_EIO: return "EIO";
	case AM_EPARSE: return "EPARSE";
	case AM_ELIMIT: return "ELIMIT";
	case AM_ENOTFOUND: return "ENOTFOUND";
	case AM_EUNSUPPORTED: return "EUNSUPPORTED";
	case AM_ENET: return "ENET";
	case AM_ESTATE: return "ESTATE";
	case AM_EINTERNAL: return "EINTERNAL";
	default: return "EUNKNOWN";
	}
}
