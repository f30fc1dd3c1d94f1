/* test_buf.c: the capped buffer. */
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
	AM_CHECK_INT(am_buf_putc(&b, 'x', &err), AM_ELIMIT);
	AM_CHECK_STR(b.data, "abcd1234"); /* unchanged after the refused append */
	AM_CHECK(strstr(err.msg, "limit") != NULL);
	am_buf_free(&b);
}

static void test_alloc_failure(void)
{
	struct am_buf b = AM_BUF_INIT;
	am_alloc_fail_after(0, false);
	AM_CHECK_INT(am_buf_puts(&b, "x", NULL), AM_ENOMEM);
	am_alloc_fail_after(-1, false);
	AM_CHECK(b.data == NULL);
	AM_CHECK_INT(am_buf_puts(&b, "x", NULL), 0);
	am_buf_free(&b);
}

int main(void)
{
	AM_RUN(test_append_and_cap);
	AM_RUN(test_alloc_failure);
	return am_test_result();
}
