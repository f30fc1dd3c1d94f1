/* sha256.c: SHA-256 through OpenSSL's EVP interface (see include/amlab/sha256.h). */
#include "amlab/sha256.h"

#include <openssl/evp.h>

#include "amlab/buf.h"

int am_sha256_init(struct am_sha256 *h, struct am_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return am_err_set(err, AM_ENOMEM, "out of memory creating a SHA-256 context");
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return am_err_set(err, AM_EINTERNAL, "SHA-256 initialisation failed");
	}
	h->ctx = ctx;
	return 0;
}

int am_sha256_update(struct am_sha256 *h, const void *p, size_t n, struct am_err *err)
{
	if (n && EVP_DigestUpdate(h->ctx, p, n) != 1)
		return am_err_set(err, AM_EINTERNAL, "SHA-256 update failed");
	return 0;
}

void am_sha256_abort(struct am_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int am_sha256_final(struct am_sha256 *h, uint8_t out[AM_SHA256_LEN], struct am_err *err)
{
	unsigned int len = 0;
	int ok = EVP_DigestFinal_ex(h->ctx, out, &len) == 1 && len == AM_SHA256_LEN;
	am_sha256_abort(h);
	return ok ? 0 : am_err_set(err, AM_EINTERNAL, "SHA-256 finalisation failed");
}

int am_sha256(const void *p, size_t n, uint8_t out[AM_SHA256_LEN], struct am_err *err)
{
	struct am_sha256 h;
	int rc = am_sha256_init(&h, err);
	if (rc < 0)
		return rc;
	if ((rc = am_sha256_update(&h, p, n, err)) < 0) {
		am_sha256_abort(&h);
		return rc;
	}
	return am_sha256_final(&h, out, err);
}

void am_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int am_sha256_hex(const void *p, size_t n, char out[AM_SHA256_HEX_LEN], struct am_err *err)
{
	uint8_t d[AM_SHA256_LEN];
	int rc = am_sha256(p, n, d, err);
	if (rc == 0)
		am_hex_encode(d, sizeof(d), out);
	return rc;
}

int am_sha256_file_hex(const char *path, char out[AM_SHA256_HEX_LEN], struct am_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return am_err_at(err, errno == ENOENT ? AM_ENOTFOUND : AM_EIO, path, 0, 0,
		                 "cannot open: %s", strerror(errno));
	struct am_sha256 h;
	int rc = am_sha256_init(&h, err);
	if (rc < 0)
		goto out;
	static __thread unsigned char chunk[1 << 16];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if ((rc = am_sha256_update(&h, chunk, n, err)) < 0) {
			am_sha256_abort(&h);
			goto out;
		}
	}
	if (ferror(f)) {
		am_sha256_abort(&h);
		rc = am_err_at(err, AM_EIO, path, 0, 0, "read failed: %s", strerror(errno));
		goto out;
	}
	uint8_t d[AM_SHA256_LEN];
	if ((rc = am_sha256_final(&h, d, err)) == 0)
		am_hex_encode(d, sizeof(d), out);
out:
	fclose(f);
	return rc;
}
