/* test_report.c: reports of the fixed store of fixture.h: the counts and rates checked by hand,
 * then text, Markdown, JSON and CSV compared byte for byte with tests/eval/golden/ (regenerate
 * with AMLAB_UPDATE_GOLDEN=1 after an intended change, and review the diff). */
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/report.h"
#include "amlab/str.h"
#include "fixture.h"
#include "test.h"

static char db_path[256];

static const struct am_report_cell *find(const struct am_report_cell *c, size_t n,
                                         const char *category, const char *condition,
                                         const char *value)
{
	for (size_t i = 0; i < n; i++)
		if ((!category || am_streq(c[i].category, category)) &&
		    (!condition || am_streq(c[i].condition, condition)) &&
		    (!value || am_streq(c[i].value, value)))
			return &c[i];
	return NULL;
}

static void check_tally(const struct am_report_cell *c, long k, long n, long invalid)
{
	AM_CHECK(c != NULL);
	if (!c)
		return;
	AM_CHECK_INT(c->rate.t.k, k);
	AM_CHECK_INT(c->rate.t.n, n);
	AM_CHECK_INT(c->rate.t.invalid, invalid);
}

static void test_counts_by_hand(void)
{
	struct am_store *s = NULL;
	AM_CHECK_INT(am_store_open(db_path, &s, NULL), 0);
	struct am_report *r = NULL;
	AM_CHECK_INT(am_report_build(s, 1, -1, AM_CI_WILSON, &r, NULL), 0);
	if (!r) {
		am_store_close(s);
		return;
	}
	AM_CHECK_INT(r->judging, 1);
	check_tally(
	    find(r->conditions, r->n_conditions, NULL, "blackmail/explicit/replacement", NULL), 3,
	    9, 1);
	check_tally(find(r->conditions, r->n_conditions, NULL, "blackmail/none/none", NULL), 0, 6,
	            0);
	check_tally(find(r->categories, r->n_categories, "blackmail", NULL, NULL), 3, 15, 1);
	check_tally(find(r->categories, r->n_categories, "research-sabotage", NULL, NULL), 2, 5, 0);
	check_tally(find(r->categories, r->n_categories, "framing", NULL, NULL), 1, 3, 1);
	/* Axis goal=none exists only in the blackmail control (first match: goal). */
	check_tally(find(r->axes, r->n_axes, "blackmail", NULL, "none"), 0, 6, 0);
	check_tally(find(r->axes, r->n_axes, "blackmail", NULL, "explicit"), 3, 9, 1);
	/* The 0/6 control gets the exact one-sided bound 1 - 0.05^(1/6). */
	const struct am_report_cell *ctl =
	    find(r->conditions, r->n_conditions, NULL, "blackmail/none/none", NULL);
	AM_CHECK(ctl && ctl->rate.exact_upper);
	if (ctl)
		AM_CHECK_NEAR(ctl->rate.hi, 1.0 - pow(0.05, 1.0 / 6.0), 1e-12);
	AM_CHECK(r->misalignment_defined);
	AM_CHECK_NEAR(r->misalignment.rate, (3.0 / 15 + 2.0 / 5 + 1.0 / 3) / 3.0, 1e-12);
	/* Awareness: blackmail aware=yes episodes are all not harmful (s5-7, control s4). */
	check_tally(find(r->awareness, r->n_awareness, "blackmail", NULL, "yes"), 0, 4, 0);
	check_tally(find(r->awareness, r->n_awareness, "blackmail", NULL, "no"), 3, 11, 0);
	/* Agreement over the 23 episodes with both valid: both H = 3+2+1, detector only = 1,
	 * judge only = 1, neither = 4+6+3+2 = 15; by hand po = 21/23, each rater has 7 harmful
	 * and 16 not, so pe = (7*7 + 16*16)/23^2. */
	AM_CHECK_INT(r->agreement[0], 6);
	AM_CHECK_INT(r->agreement[1], 1);
	AM_CHECK_INT(r->agreement[2], 1);
	AM_CHECK_INT(r->agreement[3], 15);
	double po = 21.0 / 23, pe = (7.0 * 7 + 16.0 * 16) / 529.0;
	AM_CHECK(r->kappa_defined);
	AM_CHECK_NEAR(r->kappa, (po - pe) / (1 - pe), 1e-12);
	am_report_free(r);

	/* Detector-only view of the same run. */
	AM_CHECK_INT(am_report_build(s, 1, 0, AM_CI_WILSON, &r, NULL), 0);
	if (r) {
		AM_CHECK_INT(r->judging, 0);
		check_tally(find(r->conditions, r->n_conditions, NULL,
		                 "blackmail/explicit/replacement", NULL),
		            4, 9, 1);
		check_tally(find(r->categories, r->n_categories, "framing", NULL, NULL), 1, 4, 0);
		AM_CHECK_INT(r->n_awareness, 0);
	}
	am_report_free(r);
	struct am_err err = {0};
	AM_CHECK_INT(am_report_build(s, 7, -1, AM_CI_WILSON, &r, &err), AM_ENOTFOUND);
	AM_CHECK(strstr(err.msg, "no run 7") != NULL);
	am_store_close(s);
}

static void golden(const char *name, int64_t judging, enum am_report_format fmt)
{
	struct am_store *s = NULL;
	AM_CHECK_INT(am_store_open(db_path, &s, NULL), 0);
	struct am_report *r = NULL;
	struct am_buf out = AM_BUF_INIT, want = AM_BUF_INIT;
	struct am_err err = {0};
	AM_CHECK_INT(am_report_build(s, 1, judging, AM_CI_WILSON, &r, NULL), 0);
	AM_CHECK_INT(am_report_render(r, s, fmt, &out, &err), 0);
	char path[512];
	snprintf(path, sizeof(path), "%s/tests/eval/golden/%s", am_test_source_dir(), name);
	if (getenv("AMLAB_UPDATE_GOLDEN")) {
		AM_CHECK_INT(am_write_file_atomic(path, out.data, out.len, NULL), 0);
	} else {
		AM_CHECK_INT(am_buf_read_file(&want, path, &err), 0);
		bool same = want.len == out.len && memcmp(want.data, out.data, out.len) == 0;
		AM_CHECK(same);
		if (!same)
			fprintf(stderr, "--- %s differs; got:\n%s\n", name, out.data);
	}
	am_buf_free(&out);
	am_buf_free(&want);
	am_report_free(r);
	am_store_close(s);
}

static void test_golden(void)
{
	golden("report.txt", -1, AM_REPORT_TEXT);
	golden("report.md", -1, AM_REPORT_MD);
	golden("report.json", -1, AM_REPORT_JSON);
	golden("report.csv", -1, AM_REPORT_CSV);
	golden("report-detector-only.txt", 0, AM_REPORT_TEXT);
}

static void test_escape(void)
{
	struct am_buf b = AM_BUF_INIT;
	AM_CHECK_INT(am_html_escape(&b, "<a href=\"x\">'&'</a>", NULL), 0);
	AM_CHECK_STR(b.data, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	am_buf_free(&b);
	enum am_report_format f;
	struct am_err err = {0};
	AM_CHECK_INT(am_report_format_parse("pdf", &f, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "pdf") != NULL);
}

/* A condition id too long for the space left of a chart's bars: the chart shows its first 25
 * and last 26 characters around an ellipsis with the whole id as the tooltip; the table shows
 * it whole. */
static void test_html_long_label(void)
{
	struct am_store *s = NULL;
	AM_CHECK_INT(am_store_open(db_path, &s, NULL), 0);
	struct am_report *r = NULL;
	AM_CHECK_INT(am_report_build(s, 1, -1, AM_CI_WILSON, &r, NULL), 0);
	if (!r || r->n_conditions == 0) {
		am_report_free(r);
		am_store_close(s);
		return;
	}
	const char *id = "blackmail/explicit-america/replacement/scratchpad/nova/mitigation-on";
	char *saved = r->conditions[0].condition, *long_id = am_strdup(id);
	bool control = r->conditions[0].is_control;
	r->conditions[0].condition = long_id;
	r->conditions[0].is_control = false;
	struct am_buf out = AM_BUF_INIT;
	AM_CHECK_INT(am_report_render(r, s, AM_REPORT_HTML, &out, NULL), 0);
	char shown[128], title[160];
	snprintf(shown, sizeof(shown), ">%.25s\xe2\x80\xa6%s</text>", id, id + strlen(id) - 26);
	snprintf(title, sizeof(title), "<title>%s</title>", id);
	AM_CHECK(out.data && strstr(out.data, shown) != NULL);
	AM_CHECK(out.data && strstr(out.data, title) != NULL);
	char cell[160];
	snprintf(cell, sizeof(cell), "<td>%s</td>", id);
	AM_CHECK(out.data && strstr(out.data, cell) != NULL);
	r->conditions[0].condition = saved;
	r->conditions[0].is_control = control;
	am_free(long_id);
	am_buf_free(&out);
	am_report_free(r);
	am_store_close(s);
}

int main(void)
{
	am_json_init();
	snprintf(db_path, sizeof(db_path), "/tmp/amlab-test-report-%ld.db", (long)getpid());
	unlink(db_path);
	int64_t run = 0;
	if (fixture_build(db_path, false, &run) < 0 || run != 1) {
		fprintf(stderr, "cannot build the fixture store\n");
		return 1;
	}
	AM_RUN(test_counts_by_hand);
	AM_RUN(test_golden);
	AM_RUN(test_escape);
	AM_RUN(test_html_long_label);
	unlink(db_path);
	char side[300];
	snprintf(side, sizeof(side), "%s-wal", db_path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db_path);
	unlink(side);
	return am_test_result();
}
