/* fault_walk.h: walk every allocation failure of a code path (include "core/fault_walk.h").
 *
 * am_fault_walk(name, path, ctx, want_code) first runs `path` with no injection, counting its
 * allocations (it must succeed and set *ok). Then, for n = 0, 1, 2, ...: the (n+1)-th allocation
 * fails (once; and in a second pass for good, "sticky"), and the run must return want_code
 * (usually AM_ENOMEM); the walk ends at the first run where no failure fired, which must
 * succeed with *ok set again. So each pass makes exactly one run per allocation, plus one.
 * Crashes fail the test; LeakSanitizer (Asan build) catches leaks on the error paths.
 *
 * A path returns 0 or a negative AM_E* code and sets *ok only when its result is exactly right
 * (compare with an expected value derived independently, not with the path's own output). */
#ifndef AMLAB_TEST_FAULT_WALK_H
#define AMLAB_TEST_FAULT_WALK_H

#include "amlab/alloc.h"
#include "amlab/err.h"
#include "test.h"

typedef int (*am_fault_path)(void *ctx, bool *ok, struct am_err *err);

static inline void am_fault_walk(const char *name, am_fault_path path, void *ctx, int want_code)
{
	struct am_err err = {0};
	bool ok = false;
	am_alloc_fail_after(-1, false);
	int rc = path(ctx, &ok, &err);
	long total = am_alloc_count();
	if (rc != 0)
		fprintf(stderr, "  %s: the run without injected failures failed: %s\n", name,
		        err.msg);
	AM_CHECK_INT(rc, 0);
	AM_CHECK(ok);
	AM_CHECK(total > 0);
	for (int sticky = 0; sticky < 2; sticky++) {
		long failures = 0, bad = 0;
		for (long n = 0; n <= total + 10; n++) { /* the bound only stops a runaway walk */
			am_err_clear(&err);
			ok = false;
			am_alloc_fail_after(n, sticky);
			rc = path(ctx, &ok, &err);
			bool fired = am_alloc_failed();
			am_alloc_fail_after(-1, false);
			if (!fired) {
				if (rc != 0 || !ok)
					fprintf(stderr,
					        "  %s: final run without failure: rc %d, %s\n",
					        name, rc, ok ? "output ok" : "WRONG OUTPUT");
				AM_CHECK_INT(rc, 0);
				AM_CHECK(ok);
				break;
			}
			failures++;
			if (rc != want_code) {
				if (bad++ < 5)
					fprintf(stderr,
					        "  %s: failing allocation %ld%s gave rc %d (%s)%s "
					        "instead of %s\n",
					        name, n + 1, sticky ? " (sticky)" : "", rc, err.msg,
					        rc == 0 && !ok ? " and WRONG OUTPUT" : "",
					        am_err_code_name(want_code));
			}
		}
		AM_CHECK_INT(bad, 0);
		AM_CHECK_INT(failures, total);
		printf("%s%s: %ld allocations, %ld failures injected, %ld mishandled\n", name,
		       sticky ? " (sticky)" : "", total, failures, bad);
	}
}

#endif
