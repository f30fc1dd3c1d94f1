/* test_sha256.c: SHA-256 against the FIPS 180-2 published test vectors (Appendix B). */
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/sha256.h"
#include "test.h"

#define ABC_HEX       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY_HEX     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MSG448        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define MSG448_HEX    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define MILLION_A_HEX "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static void test_published_vectors(void)
{
	char hex[AM_SHA256_HEX_LEN];
	struct am_err err = {0};
	AM_CHECK_INT(am_sha256_hex("", 0, hex, &err), 0);
	AM_CHECK_STR(hex, EMPTY_HEX);
	AM_CHECK_INT(am_sha256_hex("abc", 3, hex, &err), 0);
	AM_CHECK_STR(hex, ABC_HEX);
	AM_CHECK_INT(strlen(MSG448), 56); /* 448 bits */
	AM_CHECK_INT(am_sha256_hex(MSG448, strlen(MSG448), hex, &err), 0);
	AM_CHECK_STR(hex, MSG448_HEX);

	char *million = malloc(1000000);
	memset(million, 'a', 1000000);
	AM_CHECK_INT(am_sha256_hex(million, 1000000, hex, &err), 0);
	AM_CHECK_STR(hex, MILLION_A_HEX);

	/* The same million bytes fed in uneven pieces give the same digest. */
	struct am_sha256 h;
	AM_CHECK_INT(am_sha256_init(&h, &err), 0);
	size_t done = 0, step = 1;
	while (done < 1000000) {
		size_t n = AM_MIN(step, 1000000 - done);
		AM_CHECK_INT(am_sha256_update(&h, million + done, n, &err), 0);
		done += n;
		step = step * 3 + 1;
	}
	AM_CHECK_INT(am_sha256_update(&h, million, 0, &err), 0); /* empty update: no change */
	uint8_t d[AM_SHA256_LEN];
	AM_CHECK_INT(am_sha256_final(&h, d, &err), 0);
	AM_CHECK(h.ctx == NULL);
	am_hex_encode(d, sizeof(d), hex);
	AM_CHECK_STR(hex, MILLION_A_HEX);
	free(million);
}

static void test_raw_digest_and_hex(void)
{
	uint8_t d[AM_SHA256_LEN];
	AM_CHECK_INT(am_sha256("abc", 3, d, NULL), 0);
	AM_CHECK_INT(d[0], 0xba);
	AM_CHECK_INT(d[31], 0xad);
	char hex[7];
	const uint8_t bytes[3] = {0x00, 0x9f, 0xff};
	am_hex_encode(bytes, 3, hex);
	AM_CHECK_STR(hex, "009fff");
	am_hex_encode(bytes, 0, hex);
	AM_CHECK_STR(hex, "");
}

static void test_abort(void)
{
	struct am_sha256 h;
	AM_CHECK_INT(am_sha256_init(&h, NULL), 0);
	AM_CHECK_INT(am_sha256_update(&h, "abc", 3, NULL), 0);
	am_sha256_abort(&h); /* LeakSanitizer checks the context is released */
	AM_CHECK(h.ctx == NULL);
	am_sha256_abort(&h); /* twice is harmless */
}

static void test_file(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[256];
	snprintf(path, sizeof(path), "%s/amlab-test-sha-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	AM_CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	/* The million 'a' again, read back in many chunks. */
	char *million = malloc(1000000);
	memset(million, 'a', 1000000);
	AM_CHECK_INT(am_write_file_atomic(path, million, 1000000, NULL), 0);
	free(million);
	char hex[AM_SHA256_HEX_LEN];
	struct am_err err = {0};
	AM_CHECK_INT(am_sha256_file_hex(path, hex, &err), 0);
	AM_CHECK_STR(hex, MILLION_A_HEX);
	AM_CHECK_INT(am_write_file_atomic(path, "", 0, NULL), 0);
	AM_CHECK_INT(am_sha256_file_hex(path, hex, &err), 0);
	AM_CHECK_STR(hex, EMPTY_HEX);
	remove(path);
	am_err_clear(&err);
	AM_CHECK_INT(am_sha256_file_hex(path, hex, &err), AM_ENOTFOUND);
	AM_CHECK_STR(err.where, path);
}

int main(void)
{
	AM_RUN(test_published_vectors);
	AM_RUN(test_raw_digest_and_hex);
	AM_RUN(test_abort);
	AM_RUN(test_file);
	return am_test_result();
}
