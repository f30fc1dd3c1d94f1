/* test.h: the minimal unit-test harness of amlab's C tests.
 *
 * A test file defines static void functions and runs them from main() with AM_RUN(fn);
 * AM_CHECK* record a failure (file:line and the values) and go on. main returns
 * am_test_result(), non-zero when any check failed. */
#ifndef AMLAB_TEST_H
#define AMLAB_TEST_H

#include <math.h>

static int am_test_failures;
static int am_test_checks;
static const char *am_test_current = "";

#define AM_CHECK(cond)                                                                             \
	do {                                                                                       \
		am_test_checks++;                                                                  \
		if (!(cond)) {                                                                     \
			am_test_failures++;                                                        \
			fprintf(stderr, "FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__,               \
			        am_test_current, #cond);                                           \
		}                                                                                  \
	} while (0)

#define AM_CHECK_INT(a, b)                                                                         \
	do {                                                                                       \
		long long am_a_ = (long long)(a), am_b_ = (long long)(b);                          \
		am_test_checks++;                                                                  \
		if (am_a_ != am_b_) {                                                              \
			am_test_failures++;                                                        \
			fprintf(stderr, "FAIL %s:%d [%s]: %s == %s (%lld vs %lld)\n", __FILE__,    \
			        __LINE__, am_test_current, #a, #b, am_a_, am_b_);                  \
		}                                                                                  \
	} while (0)

#define AM_CHECK_STR(a, b)                                                                         \
	do {                                                                                       \
		const char *am_a_ = (a), *am_b_ = (b);                                             \
		am_test_checks++;                                                                  \
		if (!am_a_ || !am_b_ || strcmp(am_a_, am_b_) != 0) {                               \
			am_test_failures++;                                                        \
			fprintf(stderr, "FAIL %s:%d [%s]: %s == %s (\"%s\" vs \"%s\")\n",          \
			        __FILE__, __LINE__, am_test_current, #a, #b,                       \
			        am_a_ ? am_a_ : "(null)", am_b_ ? am_b_ : "(null)");               \
		}                                                                                  \
	} while (0)

#define AM_CHECK_NEAR(a, b, tol)                                                                   \
	do {                                                                                       \
		double am_a_ = (a), am_b_ = (b);                                                   \
		am_test_checks++;                                                                  \
		if (!(fabs(am_a_ - am_b_) <= (tol))) {                                             \
			am_test_failures++;                                                        \
			fprintf(stderr, "FAIL %s:%d [%s]: %s ~= %s (%.17g vs %.17g)\n", __FILE__,  \
			        __LINE__, am_test_current, #a, #b, am_a_, am_b_);                  \
		}                                                                                  \
	} while (0)

#define AM_RUN(fn)                                                                                 \
	do {                                                                                       \
		am_test_current = #fn;                                                             \
		int am_before_ = am_test_failures;                                                 \
		fn();                                                                              \
		printf("%s %s\n", am_test_failures == am_before_ ? "ok  " : "FAIL", #fn);          \
	} while (0)

static inline int am_test_result(void)
{
	printf("%d checks, %d failed\n", am_test_checks, am_test_failures);
	return am_test_failures ? 1 : 0;
}

/* Directory of the source tree / shared folder, from the environment ctest sets. */
static inline const char *am_test_source_dir(void)
{
	const char *d = getenv("AMLAB_SOURCE_DIR");
	return d ? d : ".";
}

static inline const char *am_test_shared_dir(void)
{
	const char *d = getenv("AMLAB_SHARED_DIR");
	return d ? d : "../shared";
}

#endif
