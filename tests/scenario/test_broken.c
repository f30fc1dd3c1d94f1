/* test_broken.c: every scenario under tests/scenario/broken/ (made by make_broken.py, one
 * defect each) must fail to load, with its own message at the file and line its `expect` file
 * names; the valid base they are all made from must load. */
#include <dirent.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/scenario.h"
#include "amlab/str.h"
#include "test.h"

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_base_loads(void)
{
	char path[1024];
	am_snprintf(path, sizeof(path), "%s/tests/scenario/base-tiny", am_test_source_dir());
	struct am_suite *s = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_suite_load(path, &s, &err), 0);
	if (!s) {
		fprintf(stderr, "%s:%d: %s\n", err.where, err.line, err.msg);
		return;
	}
	AM_CHECK_INT(am_scenario_n_conditions(am_suite_scenario(s, 0)), 4);
	am_suite_free(s);
}

static void test_each_broken_case(void)
{
	char root[1024];
	am_snprintf(root, sizeof(root), "%s/tests/scenario/broken", am_test_source_dir());
	DIR *dh = opendir(root);
	AM_CHECK(dh != NULL);
	if (!dh)
		return;
	char *names[200];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL && n < 200)
		if (de->d_name[0] != '.')
			names[n++] = am_strdup(de->d_name);
	closedir(dh);
	qsort(names, n, sizeof(char *), cmp);
	AM_CHECK(n >= 20);
	char *seen[200];
	size_t nseen = 0;
	for (size_t i = 0; i < n; i++) {
		char dir[1200], expect_path[1300];
		am_snprintf(dir, sizeof(dir), "%s/%s", root, names[i]);
		am_snprintf(expect_path, sizeof(expect_path), "%s/expect", dir);
		struct am_buf ex = AM_BUF_INIT;
		AM_CHECK_INT(am_buf_read_file(&ex, expect_path, NULL), 0);
		char *nl = ex.data ? strchr(ex.data, '\n') : NULL;
		AM_CHECK(nl != NULL);
		if (!nl) {
			am_buf_free(&ex);
			continue;
		}
		*nl = '\0';
		const char *msg = ex.data;
		char *loc = nl + 1;
		char *nl2 = strchr(loc, '\n');
		if (nl2)
			*nl2 = '\0';
		for (size_t k = 0; k < nseen; k++)
			if (strcmp(seen[k], msg) == 0) {
				fprintf(stderr, "case %s repeats the message of another case\n",
				        names[i]);
				AM_CHECK(false);
			}
		seen[nseen++] = am_strdup(msg);
		char want_loc[1600];
		am_snprintf(want_loc, sizeof(want_loc), "%s/%s: ", dir, loc);

		char **msgs = NULL;
		size_t nm = 0;
		struct am_err err = {0};
		int rc = am_suite_check(dir, &msgs, &nm, &err);
		AM_CHECK_INT(rc, AM_EPARSE);
		bool found = false;
		for (size_t k = 0; k < nm; k++)
			if (strncmp(msgs[k], want_loc, strlen(want_loc)) == 0 &&
			    strstr(msgs[k], msg))
				found = true;
		if (!found) {
			fprintf(stderr, "case %s: wanted \"%s\" at %s; got:\n", names[i], msg, loc);
			for (size_t k = 0; k < nm; k++)
				fprintf(stderr, "    %s\n", msgs[k]);
		}
		AM_CHECK(found);
		/* the single-error API agrees and never returns a half-loaded suite */
		struct am_suite *s = (struct am_suite *)1;
		AM_CHECK_INT(am_suite_load(dir, &s, &err), AM_EPARSE);
		AM_CHECK(s == NULL);
		AM_CHECK(err.line > 0 || strstr(err.msg, "no scenario") != NULL);
		am_strv_free(msgs, nm);
		am_buf_free(&ex);
	}
	for (size_t i = 0; i < n; i++)
		am_free(names[i]);
	for (size_t k = 0; k < nseen; k++)
		am_free(seen[k]);
}

int main(void)
{
	am_json_init();
	AM_RUN(test_base_loads);
	AM_RUN(test_each_broken_case);
	return am_test_result();
}
