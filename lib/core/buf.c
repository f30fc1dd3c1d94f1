/* buf.c: the capped growable buffer (see include/amlab/buf.h). */
#include "amlab/buf.h"

#include <sys/stat.h>
#include <unistd.h>

#include "amlab/alloc.h"

void am_buf_init(struct am_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : AM_BUF_DEFAULT_MAX;
}

void am_buf_free(struct am_buf *b)
{
	am_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void am_buf_reset(struct am_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

int am_buf_reserve(struct am_buf *b, size_t extra, struct am_err *err)
{
	size_t max = b->max ? b->max : AM_BUF_DEFAULT_MAX;
	if (extra > max || b->len > max - extra)
		return am_err_set(err, AM_ELIMIT, "buffer limit of %zu bytes exceeded", max);
	size_t need = b->len + extra + 1; /* +1 for the NUL */
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > max + 1)
		cap = max + 1;
	char *p = am_realloc(b->data, cap);
	if (!p)
		return am_err_set(err, AM_ENOMEM, "out of memory growing a buffer to %zu bytes",
		                  cap);
	b->data = p;
	b->cap = cap;
	b->data[b->len] = '\0';
	return 0;
}

int am_buf_append(struct am_buf *b, const void *p, size_t n, struct am_err *err)
{
	int rc = am_buf_reserve(b, n, err);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int am_buf_puts(struct am_buf *b, const char *s, struct am_err *err)
{
	return am_buf_append(b, s, strlen(s), err);
}

int am_buf_putc(struct am_buf *b, char c, struct am_err *err)
{
	return am_buf_append(b, &c, 1, err);
}

int am_buf_vprintf(struct am_buf *b, struct am_err *err, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return am_err_set(err, AM_EINVAL, "bad format string");
	int rc = am_buf_reserve(b, (size_t)n, err);
	if (rc < 0)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int am_buf_printf(struct am_buf *b, struct am_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = am_buf_vprintf(b, err, fmt, ap);
	va_end(ap);
	return rc;
}

void am_buf_truncate(struct am_buf *b, size_t n)
{
	if (n < b->len) {
		b->len = n;
		b->data[n] = '\0';
	}
}

char *am_buf_detach(struct am_buf *b, size_t *len_out, struct am_err *err)
{
	if (!b->data && am_buf_reserve(b, 0, err) < 0)
		return NULL;
	char *p = b->data;
	if (len_out)
		*len_out = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

int am_buf_read_stream(struct am_buf *b, FILE *f, const char *name, struct am_err *err)
{
	char chunk[65536];
	for (;;) {
		size_t n = fread(chunk, 1, sizeof(chunk), f);
		if (n > 0) {
			int rc = am_buf_append(b, chunk, n, err);
			if (rc < 0)
				return am_err_prefix(err, "reading %s", name);
		}
		if (n < sizeof(chunk)) {
			if (ferror(f))
				return am_err_set(err, AM_EIO, "reading %s: %s", name,
				                  strerror(errno));
			return 0;
		}
	}
}

int am_buf_read_file(struct am_buf *b, const char *path, struct am_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return am_err_at(err, errno == ENOENT ? AM_ENOTFOUND : AM_EIO, path, 0, 0,
		                 "cannot open: %s", strerror(errno));
	int rc = am_buf_read_stream(b, f, path, err);
	fclose(f);
	return rc;
}

int am_write_file_atomic(const char *path, const void *data, size_t n, struct am_err *err)
{
	struct am_buf tmp = AM_BUF_INIT;
	int rc = am_buf_printf(&tmp, err, "%s.tmp.%ld", path, (long)getpid());
	if (rc < 0)
		return rc;
	FILE *f = fopen(tmp.data, "wb");
	if (!f) {
		rc = am_err_at(err, AM_EIO, path, 0, 0, "cannot create: %s", strerror(errno));
		goto out;
	}
	if (n && fwrite(data, 1, n, f) != n) {
		rc = am_err_at(err, AM_EIO, path, 0, 0, "write failed: %s", strerror(errno));
		fclose(f);
		remove(tmp.data);
		goto out;
	}
	if (fclose(f) != 0) {
		rc = am_err_at(err, AM_EIO, path, 0, 0, "close failed: %s", strerror(errno));
		remove(tmp.data);
		goto out;
	}
	if (rename(tmp.data, path) != 0) {
		rc = am_err_at(err, AM_EIO, path, 0, 0, "rename failed: %s", strerror(errno));
		remove(tmp.data);
		goto out;
	}
out:
	am_buf_free(&tmp);
	return rc;
}
