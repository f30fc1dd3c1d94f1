/* test_readme.c: README.md's command tour and `amlab --help` agree: every command the binary
 * lists appears in the tour as `amlab NAME...`, and the tour names no command the binary lacks.
 * The tour is the part of README.md from the line "## Commands" to the next "## " heading;
 * words in capitals after `amlab ` (`amlab CMD --help`) are placeholders, not names. */
#include "amlab/buf.h"
#include "cli/run.h"
#include "test.h"

#define MAX_COMMANDS 64

static bool listed(char names[][32], size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
			return true;
	return false;
}

static void test_readme_tour_matches_help(void)
{
	struct cli_result r = cli_run("--help");
	AM_CHECK_INT(r.status, 0);
	char names[MAX_COMMANDS][32];
	size_t n = cli_help_commands(r.out, names, MAX_COMMANDS);
	AM_CHECK(n >= 2);

	struct am_buf path = AM_BUF_INIT, readme = AM_BUF_INIT;
	am_buf_printf(&path, NULL, "%s/README.md", am_test_source_dir());
	AM_CHECK_INT(am_buf_read_file(&readme, path.data, NULL), 0);
	const char *text = readme.data ? readme.data : "";
	const char *start = strstr(text, "\n## Commands\n");
	AM_CHECK(start != NULL);
	if (!start)
		goto out;
	start += 1;
	const char *end = strstr(start + 3, "\n## ");
	size_t len = end ? (size_t)(end - start) : strlen(start);
	char *tour = am_strndup(start, len);

	/* Every command of --help is in the tour as "`amlab NAME" then a space or backquote. */
	for (size_t i = 0; i < n; i++) {
		char a[2100], b[2100];
		snprintf(a, sizeof(a), "`amlab %s ", names[i]);
		snprintf(b, sizeof(b), "`amlab %s`", names[i]);
		bool found = strstr(tour, a) || strstr(tour, b);
		if (!found)
			fprintf(stderr, "  README.md's command tour does not mention `amlab %s`\n",
			        names[i]);
		AM_CHECK(found);
	}
	/* Every `amlab WORD` of the tour (WORD not an option) is a command --help lists. */
	for (const char *p = tour; (p = strstr(p, "`amlab ")) != NULL;) {
		p += strlen("`amlab ");
		size_t wlen = strcspn(p, " `\n");
		/* Options (--help) and placeholders in capitals (CMD) are not command names. */
		bool placeholder = wlen > 0 && strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == wlen;
		if (wlen && p[0] != '-' && !placeholder && !listed(names, n, p, wlen)) {
			fprintf(stderr,
			        "  README.md's command tour names `amlab %.*s`, which "
			        "`amlab --help` does not list\n",
			        (int)wlen, p);
			AM_CHECK(false);
		}
	}
	am_free(tour);
out:
	am_buf_free(&path);
	am_buf_free(&readme);
	cli_result_free(&r);
}

int main(void)
{
	AM_RUN(test_readme_tour_matches_help);
	return am_test_result();
}
