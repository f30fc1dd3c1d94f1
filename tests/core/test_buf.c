/* test_buf.c: the capped buffer: growth, cap, printf, detach, file reading and atomic writing. */
#include <sys/stat.h>
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "test.h"

static void test_append_and_cap(void)
{
	struct am_buf b;
	am_buf_init(&b, 8);
	struct am_err err = {0};
	AM_CHECK_INT(am_buf_puts(&b, "abcd", &err), 0);
	AM_CHECK_INT(am_buf_printf(&b, &err, "%d", 1234), 0);
	AM_CHECK_STR(b.data, "abcd1234");
	AM_CHECK_INT(b.len, 8);
	AM_CHECK_INT(am_buf_putc(&b, 'x', &err), AM_ELIMIT);
	AM_CHECK_STR(b.data, "abcd1234"); /* unchanged after the refused append */
	AM_CHECK(strstr(err.msg, "limit") != NULL);
	AM_CHECK_INT(am_buf_append(&b, "", 0, &err), 0); /* appending nothing at the cap is fine */
	AM_CHECK(b.cap <= 9);                            /* never more than max + NUL */
	am_buf_free(&b);
	AM_CHECK(b.data == NULL);
	AM_CHECK_INT(b.len, 0);
}

static void test_printf_refused_past_cap(void)
{
	struct am_buf b;
	am_buf_init(&b, 10);
	AM_CHECK_INT(am_buf_puts(&b, "12345", NULL), 0);
	AM_CHECK_INT(am_buf_printf(&b, NULL, "%s", "678901"), AM_ELIMIT);
	AM_CHECK_STR(b.data, "12345");
	AM_CHECK_INT(am_buf_printf(&b, NULL, "%05d", 42), 0);
	AM_CHECK_STR(b.data, "1234500042");
	am_buf_free(&b);
}

static void test_growth_keeps_content(void)
{
	struct am_buf b = AM_BUF_INIT;
	/* 10000 appends of a 3-digit counter, checked byte by byte against the pattern. */
	for (int i = 0; i < 10000; i++)
		AM_CHECK_INT(am_buf_printf(&b, NULL, "%03d", i % 1000), 0);
	AM_CHECK_INT(b.len, 30000);
	AM_CHECK_INT(strlen(b.data), 30000);
	int bad = 0;
	for (int i = 0; i < 10000; i++) {
		char want[16];
		snprintf(want, sizeof(want), "%03d", i % 1000);
		if (memcmp(b.data + 3 * i, want, 3) != 0)
			bad++;
	}
	AM_CHECK_INT(bad, 0);
	am_buf_truncate(&b, 5); /* "000" "001" ... cut to 5 bytes */
	AM_CHECK_STR(b.data, "00000");
	am_buf_truncate(&b, 100); /* longer than len: no change */
	AM_CHECK_STR(b.data, "00000");
	am_buf_reset(&b);
	AM_CHECK_STR(b.data, "");
	AM_CHECK_INT(b.len, 0);
	am_buf_free(&b);
}

static void test_binary_data(void)
{
	struct am_buf b = AM_BUF_INIT;
	AM_CHECK_INT(am_buf_append(&b, "a\0b", 3, NULL), 0);
	AM_CHECK_INT(b.len, 3);
	AM_CHECK(memcmp(b.data, "a\0b", 4) == 0); /* and still NUL-terminated */
	am_buf_free(&b);
}

static void test_detach(void)
{
	struct am_buf b = AM_BUF_INIT;
	size_t len = 99;
	char *p = am_buf_detach(&b, &len, NULL);
	AM_CHECK(p != NULL);
	AM_CHECK_STR(p, ""); /* an empty buffer detaches as "" */
	AM_CHECK_INT(len, 0);
	am_free(p);

	AM_CHECK_INT(am_buf_puts(&b, "kept", NULL), 0);
	p = am_buf_detach(&b, &len, NULL);
	AM_CHECK_STR(p, "kept");
	AM_CHECK_INT(len, 4);
	AM_CHECK(b.data == NULL);
	AM_CHECK_INT(b.len, 0);
	AM_CHECK_INT(b.cap, 0);
	/* The buffer is reusable after a detach, and its max survives. */
	AM_CHECK(b.max == AM_BUF_DEFAULT_MAX);
	AM_CHECK_INT(am_buf_puts(&b, "again", NULL), 0);
	AM_CHECK_STR(b.data, "again");
	am_buf_free(&b);
	am_free(p);

	am_alloc_fail_after(0, false);
	struct am_err err = {0};
	p = am_buf_detach(&b, &len, &err);
	am_alloc_fail_after(-1, false);
	AM_CHECK(p == NULL);
	AM_CHECK_INT(err.code, AM_ENOMEM);
}

static void test_alloc_failure(void)
{
	struct am_buf b = AM_BUF_INIT;
	am_alloc_fail_after(0, false);
	AM_CHECK_INT(am_buf_puts(&b, "x", NULL), AM_ENOMEM);
	am_alloc_fail_after(-1, false);
	AM_CHECK(b.data == NULL);
	AM_CHECK_INT(am_buf_puts(&b, "x", NULL), 0);
	/* A failed growth leaves the old content intact. */
	am_alloc_fail_after(0, false);
	char big[200];
	memset(big, 'y', sizeof(big));
	AM_CHECK_INT(am_buf_append(&b, big, sizeof(big), NULL), AM_ENOMEM);
	am_alloc_fail_after(-1, false);
	AM_CHECK_STR(b.data, "x");
	AM_CHECK_INT(b.len, 1);
	am_buf_free(&b);
}

static void test_reserve_overflow(void)
{
	struct am_buf b = AM_BUF_INIT;
	AM_CHECK_INT(am_buf_puts(&b, "ab", NULL), 0);
	AM_CHECK_INT(am_buf_reserve(&b, SIZE_MAX, NULL), AM_ELIMIT);
	AM_CHECK_INT(am_buf_reserve(&b, SIZE_MAX - 1, NULL), AM_ELIMIT);
	AM_CHECK_INT(am_buf_reserve(&b, AM_BUF_DEFAULT_MAX - 1, NULL), AM_ELIMIT);
	AM_CHECK_STR(b.data, "ab");
	am_buf_free(&b);
}

/* A fresh scratch directory under TMPDIR for the file tests. */
static void scratch_dir(char *out, size_t n)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(out, n, "%s/amlab-test-buf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(out))
		out[0] = '\0';
}

static void test_files(void)
{
	char dir[256], path[320], missing[320];
	scratch_dir(dir, sizeof(dir));
	AM_CHECK(dir[0] != '\0');
	snprintf(path, sizeof(path), "%s/data.bin", dir);
	snprintf(missing, sizeof(missing), "%s/no/such/file", dir);
	struct am_err err = {0};

	/* 200 000 bytes: more than one read chunk, with NULs and every byte value. */
	size_t n = 200000;
	unsigned char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 7 + i / 256);
	AM_CHECK_INT(am_write_file_atomic(path, data, n, &err), 0);
	struct stat st;
	AM_CHECK_INT(stat(path, &st), 0);
	AM_CHECK_INT(st.st_size, (long long)n);

	struct am_buf b = AM_BUF_INIT;
	AM_CHECK_INT(am_buf_puts(&b, "prefix:", &err), 0);
	AM_CHECK_INT(am_buf_read_file(&b, path, &err), 0); /* appends */
	AM_CHECK_INT(b.len, 7 + n);
	AM_CHECK(memcmp(b.data, "prefix:", 7) == 0);
	AM_CHECK(memcmp(b.data + 7, data, n) == 0);
	am_buf_free(&b);

	/* Rewriting replaces the file as a whole, and no temporary file is left behind. */
	AM_CHECK_INT(am_write_file_atomic(path, "short", 5, &err), 0);
	AM_CHECK_INT(am_buf_read_file(&b, path, &err), 0);
	AM_CHECK_STR(b.data, "short");
	am_buf_free(&b);
	char tmpname[400];
	snprintf(tmpname, sizeof(tmpname), "%s.tmp.%ld", path, (long)getpid());
	AM_CHECK(access(tmpname, F_OK) != 0);

	/* Empty file. */
	AM_CHECK_INT(am_write_file_atomic(path, "", 0, &err), 0);
	AM_CHECK_INT(am_buf_read_file(&b, path, &err), 0);
	AM_CHECK_INT(b.len, 0);
	am_buf_free(&b);

	/* A file larger than the cap is refused, naming the file. */
	AM_CHECK_INT(am_write_file_atomic(path, data, 100, &err), 0);
	am_buf_init(&b, 50);
	am_err_clear(&err);
	AM_CHECK_INT(am_buf_read_file(&b, path, &err), AM_ELIMIT);
	AM_CHECK(strstr(err.msg, path) != NULL);
	am_buf_free(&b);

	/* Missing files: not found, with the path as the error's location. */
	am_err_clear(&err);
	AM_CHECK_INT(am_buf_read_file(&b, missing, &err), AM_ENOTFOUND);
	AM_CHECK_STR(err.where, missing);
	am_err_clear(&err);
	AM_CHECK_INT(am_write_file_atomic(missing, "x", 1, &err), AM_EIO);
	AM_CHECK_STR(err.where, missing);
	AM_CHECK(b.data == NULL);

	free(data);
	remove(path);
	rmdir(dir);
}

static void test_read_stream(void)
{
	FILE *f = tmpfile();
	AM_CHECK(f != NULL);
	if (!f)
		return;
	fputs("line one\nline two\n", f);
	rewind(f);
	struct am_buf b = AM_BUF_INIT;
	AM_CHECK_INT(am_buf_read_stream(&b, f, "<stdin>", NULL), 0);
	AM_CHECK_STR(b.data, "line one\nline two\n");
	fclose(f);
	am_buf_free(&b);
}

int main(void)
{
	AM_RUN(test_append_and_cap);
	AM_RUN(test_printf_refused_past_cap);
	AM_RUN(test_growth_keeps_content);
	AM_RUN(test_binary_data);
	AM_RUN(test_detach);
	AM_RUN(test_alloc_failure);
	AM_RUN(test_reserve_overflow);
	AM_RUN(test_files);
	AM_RUN(test_read_stream);
	return am_test_result();
}
