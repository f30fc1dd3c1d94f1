/* diff_tool.c: `diff_tool OLD NEW NAME` prints am_unified_diff of two files (a missing file is an
 * absent side), for peer_diff.py, which applies the output with GNU patch. */
#include "amlab/buf.h"
#include "amlab/world.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: diff_tool OLD NEW NAME\n");
		return 2;
	}
	struct am_buf a = AM_BUF_INIT, b = AM_BUF_INIT, out = AM_BUF_INIT;
	struct am_err err = {0};
	bool has_a = am_buf_read_file(&a, argv[1], NULL) == 0;
	bool has_b = am_buf_read_file(&b, argv[2], NULL) == 0;
	int rc = am_unified_diff(argv[3], has_a ? (a.data ? a.data : "") : NULL,
	                         has_b ? (b.data ? b.data : "") : NULL, &out, &err);
	if (rc == 0 && out.len)
		fwrite(out.data, 1, out.len, stdout);
	if (rc < 0)
		fprintf(stderr, "%s\n", err.msg);
	am_buf_free(&a);
	am_buf_free(&b);
	am_buf_free(&out);
	return rc < 0 ? 1 : 0;
}
