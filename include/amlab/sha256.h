/* sha256.h: SHA-256 (OpenSSL EVP underneath). No allocation visible to callers. */
#ifndef AMLAB_SHA256_H
#define AMLAB_SHA256_H

#include "amlab/err.h"

#define AM_SHA256_LEN     32
#define AM_SHA256_HEX_LEN 65 /* 64 hex digits + NUL */

struct am_sha256 {
	void *ctx; /* EVP_MD_CTX */
};

int am_sha256_init(struct am_sha256 *h, struct am_err *err);
int am_sha256_update(struct am_sha256 *h, const void *p, size_t n, struct am_err *err);
/* Writes the digest and releases the context (also on failure). */
int am_sha256_final(struct am_sha256 *h, uint8_t out[AM_SHA256_LEN], struct am_err *err);
/* Release a context without finishing it (error paths). */
void am_sha256_abort(struct am_sha256 *h);

int am_sha256(const void *p, size_t n, uint8_t out[AM_SHA256_LEN], struct am_err *err);
int am_sha256_hex(const void *p, size_t n, char out[AM_SHA256_HEX_LEN], struct am_err *err);
void am_hex_encode(const uint8_t *p, size_t n, char *out /* 2n+1 */);
int am_sha256_file_hex(const char *path, char out[AM_SHA256_HEX_LEN], struct am_err *err);

#endif
