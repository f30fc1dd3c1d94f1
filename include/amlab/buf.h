/* buf.h: the one owned, growable byte buffer of amlab, with a hard size cap.
 *
 * Ownership: a struct am_buf owns `data`; release it with am_buf_free() or take it with
 * am_buf_detach() (the caller then am_free()s it). `data` is NUL-terminated whenever it is
 * non-NULL, so text buffers can be used as C strings; `len` excludes that NUL. Appending past
 * `max` fails with AM_ELIMIT and leaves the buffer unchanged. */
#ifndef AMLAB_BUF_H
#define AMLAB_BUF_H

#include "amlab/err.h"

#define AM_BUF_DEFAULT_MAX ((size_t)1 << 30) /* 1 GiB */

struct am_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len */
};

#define AM_BUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0, AM_BUF_DEFAULT_MAX                                                     \
	}

/* max == 0 selects AM_BUF_DEFAULT_MAX. */
void am_buf_init(struct am_buf *b, size_t max);
void am_buf_free(struct am_buf *b);
/* Empty the buffer, keeping its memory. */
void am_buf_reset(struct am_buf *b);
int am_buf_reserve(struct am_buf *b, size_t extra, struct am_err *err);
int am_buf_append(struct am_buf *b, const void *p, size_t n, struct am_err *err);
int am_buf_puts(struct am_buf *b, const char *s, struct am_err *err);
int am_buf_putc(struct am_buf *b, char c, struct am_err *err);
int am_buf_printf(struct am_buf *b, struct am_err *err, const char *fmt, ...) AM_PRINTF(3, 4);
int am_buf_vprintf(struct am_buf *b, struct am_err *err, const char *fmt, va_list ap)
    AM_PRINTF(3, 0);
/* Shorten to n bytes (n <= len). */
void am_buf_truncate(struct am_buf *b, size_t n);
/* Hand the data to the caller (never NULL on success: an empty buffer gives ""), and reset b. */
char *am_buf_detach(struct am_buf *b, size_t *len_out, struct am_err *err);

/* Read a whole file into b (appending). Fails with AM_ELIMIT when larger than b->max. */
int am_buf_read_file(struct am_buf *b, const char *path, struct am_err *err);
/* Read a whole stream (stdin) into b. */
int am_buf_read_stream(struct am_buf *b, FILE *f, const char *name, struct am_err *err);
/* Write data to path via a temporary file and rename, so readers never see half a file. */
int am_write_file_atomic(const char *path, const void *data, size_t n, struct am_err *err);

#endif
