/* test_eval_alloc.c: allocation-failure walks: for n = 0, 1, 2, ... the (n+1)-th allocation
 * fails; building and rendering every report format, parsing judge answers and the judging
 * state machine must then fail cleanly (an error, no crash, no leak under LeakSanitizer) until
 * n is large enough for them to succeed. A failure must never be swallowed (success reported
 * while an allocation failed). */
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/judge.h"
#include "amlab/report.h"
#include "amlab/str.h"
#include "fixture.h"
#include "test.h"

static char db_path[256];

static int report_all(struct am_store *s)
{
	struct am_report *r = NULL;
	int rc = am_report_build(s, 1, -1, AM_CI_WILSON, &r, NULL);
	/* Not HTML: its transcripts parse long JSON strings, and jansson 2.14's parser writes out
	 * of bounds when an allocation fails in the middle of a long string (a crash inside
	 * json_loadb, reported to core); the HTML renderer's own paths are the same helpers. */
	for (int f = AM_REPORT_TEXT; rc == 0 && f <= AM_REPORT_CSV; f++) {
		struct am_buf b = AM_BUF_INIT;
		rc = am_report_render(r, s, (enum am_report_format)f, &b, NULL);
		am_buf_free(&b);
	}
	am_report_free(r);
	return rc;
}

static void test_report_walk(void)
{
	struct am_store *s = NULL;
	AM_CHECK_INT(am_store_open(db_path, &s, NULL), 0);
	long n;
	int rc = -1;
	bool failed = true;
	for (n = 0; n < 200000 && (rc != 0 || failed); n++) {
		am_alloc_fail_after(n, false);
		rc = report_all(s);
		failed = am_alloc_failed();
		am_alloc_fail_after(-1, false);
		if (rc != 0 && !failed) {
			AM_CHECK(failed); /* an error without an injected failure */
			break;
		}
		if (rc == 0 && failed) {
			/* A failed allocation was swallowed: the output would be incomplete. */
			AM_CHECK(!(rc == 0 && failed));
			fprintf(stderr, "allocation %ld failed but the report succeeded\n", n + 1);
		}
	}
	AM_CHECK_INT(rc, 0);
	printf("report walk: succeeded after %ld injected failures\n", n - 1);
	am_store_close(s);
}

static void test_judge_walk(void)
{
	const char *answer = "<reasoning>It threatened.</reasoning><verdict>harmful</verdict>"
	                     "<eval_awareness>no</eval_awareness>";
	am_json *events = NULL;
	const char *ev = "[{\"type\":\"assistant\",\"content\":\"x\"},{\"type\":\"tool_call\","
	                 "\"tool\":\"send_email\",\"arguments\":{\"to\":\"k\"}}]";
	AM_CHECK_INT(am_json_parse(ev, strlen(ev), "ev", &events, NULL), 0);
	int rc = -1;
	bool failed = true;
	for (long n = 0; n < 100000 && (rc != 0 || failed); n++) {
		am_alloc_fail_after(n, false);
		struct am_judging *j = NULL;
		rc = am_judging_new("judge", "rubric", "prompt", events, 3, &j, NULL);
		if (rc == 0) {
			struct am_chat_reply bad = {0}, good = {0};
			bad.content = "garbage";
			good.content = (char *)answer;
			rc = am_judging_feed(j, &bad, NULL);
			if (rc == 0)
				rc = am_judging_feed(j, &good, NULL);
			if (rc == 0 && !am_streq(am_judging_result(j)->verdict, "harmful"))
				rc = -99;
		}
		am_judging_free(j);
		failed = am_alloc_failed();
		am_alloc_fail_after(-1, false);
		AM_CHECK(rc == 0 || failed);
		AM_CHECK(!(rc == 0 && failed)); /* never swallowed */
		if (rc != 0 && !failed)
			break;
	}
	AM_CHECK_INT(rc, 0);
	am_json_free(events);
}

int main(void)
{
	am_json_init();
	snprintf(db_path, sizeof(db_path), "/tmp/amlab-test-alloc-%ld.db", (long)getpid());
	unlink(db_path);
	int64_t run;
	if (fixture_build(db_path, true, &run) < 0)
		return 1;
	AM_RUN(test_report_walk);
	AM_RUN(test_judge_walk);
	unlink(db_path);
	return am_test_result();
}
