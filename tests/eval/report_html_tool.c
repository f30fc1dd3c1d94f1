/* report_html_tool.c: write the HTML report of the fixture store (fixture.h) to OUT, with every
 * model-written text hostile ("hostile") or ordinary ("plain"); tests/eval/report_browser.py
 * opens the result in headless Chromium. */
#include <unistd.h>

#include "amlab/report.h"
#include "fixture.h"

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[2], "hostile") != 0 && strcmp(argv[2], "plain") != 0)) {
		fprintf(stderr, "usage: report_html_tool OUT.html hostile|plain\n");
		return 2;
	}
	am_json_init();
	char db[300];
	snprintf(db, sizeof(db), "%s.db", argv[1]);
	unlink(db);
	int64_t run;
	struct am_store *s = NULL;
	struct am_report *r = NULL;
	struct am_buf out = AM_BUF_INIT;
	struct am_err err = {0};
	int rc = fixture_build(db, strcmp(argv[2], "hostile") == 0, &run);
	if (rc == 0)
		rc = am_store_open(db, &s, &err);
	if (rc == 0)
		rc = am_report_build(s, run, -1, AM_CI_WILSON, &r, &err);
	if (rc == 0)
		rc = am_report_render(r, s, AM_REPORT_HTML, &out, &err);
	if (rc == 0)
		rc = am_write_file_atomic(argv[1], out.data, out.len, &err);
	if (rc < 0)
		fprintf(stderr, "report_html_tool: %s\n", err.msg);
	am_buf_free(&out);
	am_report_free(r);
	am_store_close(s);
	return rc < 0 ? 1 : 0;
}
