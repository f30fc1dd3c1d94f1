/* test_alloc.c: allocation-failure walk over loading and rendering a small scenario
 * (tests/scenario/base-tiny). Each run makes one allocation fail; the load must then fail with
 * AM_ENOMEM and return nothing (never a half-loaded suite), and LeakSanitizer checks that every
 * failure path frees what it made. Allocations are walked one by one at the start and with a
 * stride after that, to keep the test fast under ASan. */
#include "amlab/alloc.h"
#include "amlab/scenario.h"
#include "amlab/str.h"
#include "test.h"

#ifndef MAX_RUNS
#define MAX_RUNS 1200
#endif

static void test_fail_each_allocation(void)
{
	char dir[1024];
	am_snprintf(dir, sizeof(dir), "%s/tests/scenario/base-tiny", am_test_source_dir());
	struct am_suite *s = NULL;
	struct am_err err = {0};
	am_alloc_fail_after(-1, false);
	AM_CHECK_INT(am_suite_load(dir, &s, &err), 0);
	long total = am_alloc_count();
	am_suite_free(s);
	AM_CHECK(total > 100);
	long step = total / MAX_RUNS + 1;
	long runs = 0, enomem = 0;
	for (long n = 0; n < total; n += (n < 300 ? 1 : step)) {
		s = NULL;
		am_alloc_fail_after(n, false);
		int rc = am_suite_load(dir, &s, &err);
		bool fired = am_alloc_failed();
		am_alloc_fail_after(-1, false);
		runs++;
		if (fired) {
			if (rc != AM_ENOMEM)
				fprintf(stderr,
				        "allocation %ld failed but the load returned %d (%s)\n", n,
				        rc, err.msg);
			AM_CHECK_INT(rc, AM_ENOMEM);
			AM_CHECK(s == NULL);
			enomem++;
		} else {
			AM_CHECK_INT(rc, 0);
		}
		am_suite_free(s);
	}
	printf("  %ld allocations in a load; %ld runs, %ld failed cleanly with ENOMEM\n", total,
	       runs, enomem);
	AM_CHECK(enomem > 0);

	/* rendering a condition too */
	AM_CHECK_INT(am_suite_load(dir, &s, &err), 0);
	if (!s)
		return;
	const struct am_scenario *sc = am_suite_scenario(s, 0);
	struct am_condition *c = NULL;
	am_alloc_fail_after(-1, false);
	AM_CHECK_INT(am_condition_render(sc, 0, &c, &err), 0);
	long rtotal = am_alloc_count();
	am_condition_free(c);
	for (long n = 0; n < rtotal; n++) {
		c = NULL;
		am_alloc_fail_after(n, false);
		int rc = am_condition_render(sc, 0, &c, &err);
		bool fired = am_alloc_failed();
		am_alloc_fail_after(-1, false);
		if (fired) {
			AM_CHECK_INT(rc, AM_ENOMEM);
			AM_CHECK(c == NULL);
		}
		am_condition_free(c);
	}
	/* and the condition's JSON form */
	AM_CHECK_INT(am_condition_render(sc, 0, &c, &err), 0);
	am_json *j = NULL;
	am_alloc_fail_after(-1, false);
	AM_CHECK_INT(am_condition_to_json(c, &j, &err), 0);
	long jtotal = am_alloc_count();
	AM_CHECK(json_is_object(j) &&
	         json_object_size(j) == 16); /* 15 keys + run (base-tiny has one) */
	am_json_free(j);
	for (long n = 0; n < jtotal; n++) {
		j = NULL;
		am_alloc_fail_after(n, false);
		int rc = am_condition_to_json(c, &j, &err);
		bool fired = am_alloc_failed();
		am_alloc_fail_after(-1, false);
		if (fired) {
			AM_CHECK_INT(rc, AM_ENOMEM);
			AM_CHECK(j == NULL);
		}
		am_json_free(j);
	}
	am_condition_free(c);
	am_suite_free(s);
}

int main(void)
{
	am_json_init();
	AM_RUN(test_fail_each_allocation);
	return am_test_result();
}
