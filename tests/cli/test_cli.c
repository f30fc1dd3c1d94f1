/* test_cli.c: the CLI basics: --help lists every command of src/commands.def, `amlab help CMD`
 * and `amlab CMD --help` print its usage, unknown commands and options exit 2 with a short
 * usage, `amlab version` prints version, git revision, build type and CPU features. */
#include "amlab/buf.h"
#include "amlab/cpu.h"
#include "cli/run.h"
#include "test.h"

#define MAX_COMMANDS 64

static char def_names[MAX_COMMANDS][32];
static size_t n_def;

/* The names in src/commands.def: every line starting with AMLAB_COMMAND(. */
static void read_commands_def(void)
{
	struct am_buf path = AM_BUF_INIT, text = AM_BUF_INIT;
	am_buf_printf(&path, NULL, "%s/src/commands.def", am_test_source_dir());
	AM_CHECK_INT(am_buf_read_file(&text, path.data, NULL), 0);
	const char *p = text.data ? text.data : "";
	while ((p = strstr(p, "\nAMLAB_COMMAND(")) != NULL && n_def < MAX_COMMANDS) {
		p += strlen("\nAMLAB_COMMAND(");
		size_t len = strcspn(p, ", )");
		if (len > 0 && len < 32) {
			memcpy(def_names[n_def], p, len);
			def_names[n_def][len] = '\0';
			n_def++;
		}
	}
	am_buf_free(&path);
	am_buf_free(&text);
}

static void test_help_lists_every_command(void)
{
	AM_CHECK(n_def >= 2); /* help and version at least */
	struct cli_result r = cli_run("--help");
	AM_CHECK_INT(r.status, 0);
	AM_CHECK_STR(r.err, "");
	AM_CHECK(strncmp(r.out, "usage: amlab ", 13) == 0);
	char names[MAX_COMMANDS][32];
	size_t n = cli_help_commands(r.out, names, MAX_COMMANDS);
	/* Same commands, same order as the table. */
	AM_CHECK_INT(n, n_def);
	for (size_t i = 0; i < n && i < n_def; i++) {
		if (strcmp(names[i], def_names[i]) != 0)
			fprintf(stderr, "  --help lists '%s' where commands.def has '%s'\n",
			        names[i], def_names[i]);
		AM_CHECK_STR(names[i], def_names[i]);
	}
	/* -h and `amlab help` print the same list. */
	struct cli_result h = cli_run("-h"), help = cli_run("help");
	AM_CHECK_INT(h.status, 0);
	AM_CHECK_STR(h.out, r.out);
	AM_CHECK_INT(help.status, 0);
	AM_CHECK_STR(help.out, r.out);
	cli_result_free(&r);
	cli_result_free(&h);
	cli_result_free(&help);
}

static void test_no_arguments(void)
{
	struct cli_result r = cli_run_argv(30, (const char *const[]){NULL});
	AM_CHECK_INT(r.status, 2);
	AM_CHECK_STR(r.out, "");
	AM_CHECK(strstr(r.err, "usage: amlab") != NULL);
	cli_result_free(&r);
}

static void test_every_command_has_usage(void)
{
	for (size_t i = 0; i < n_def; i++) {
		const char *name = def_names[i];
		char want[2100];
		snprintf(want, sizeof(want), "usage: amlab %s", name);
		struct cli_result a = cli_run("help", name);
		struct cli_result b = cli_run(name, "--help");
		struct cli_result c = cli_run(name, "-h");
		if (a.status != 0 || strncmp(a.out, want, strlen(want)) != 0)
			fprintf(stderr, "  'amlab help %s' gave %d:\n%s%s", name, a.status, a.out,
			        a.err);
		AM_CHECK_INT(a.status, 0);
		AM_CHECK(strncmp(a.out, want, strlen(want)) == 0);
		/* More than the synopsis: a blank line, then an explanation. */
		AM_CHECK(cli_count_lines(a.out) >= 3);
		AM_CHECK_INT(b.status, 0);
		AM_CHECK_STR(b.out, a.out);
		AM_CHECK_INT(c.status, 0);
		AM_CHECK_STR(c.out, a.out);
		cli_result_free(&a);
		cli_result_free(&b);
		cli_result_free(&c);
	}
}

static void test_unknown_command(void)
{
	struct cli_result r = cli_run("frobnicate", "--now");
	AM_CHECK_INT(r.status, 2);
	AM_CHECK_STR(r.out, "");
	AM_CHECK(strstr(r.err, "unknown command 'frobnicate'") != NULL);
	AM_CHECK(strstr(r.err, "usage: amlab") != NULL);
	AM_CHECK(cli_count_lines(r.err) <= 4); /* short: not the whole help */
	cli_result_free(&r);

	r = cli_run("help", "frobnicate");
	AM_CHECK_INT(r.status, 2);
	AM_CHECK(strstr(r.err, "frobnicate") != NULL);
	cli_result_free(&r);
}

static void test_unknown_option_every_command(void)
{
	for (size_t i = 0; i < n_def; i++) {
		const char *name = def_names[i];
		struct cli_result r = cli_run(name, "--no-such-option-xyzzy");
		bool usage = strstr(r.err, "usage: amlab") || strstr(r.err, "amlab help") ||
		             strstr(r.err, "amlab --help");
		if (r.status != 2 || !usage || r.out[0] || cli_count_lines(r.err) > 8)
			fprintf(stderr,
			        "  'amlab %s --no-such-option-xyzzy' exited %d, stdout %zu bytes, "
			        "stderr:\n%s",
			        name, r.status, strlen(r.out), r.err);
		AM_CHECK_INT(r.status, 2);
		AM_CHECK_STR(r.out, "");
		AM_CHECK(usage);
		AM_CHECK(cli_count_lines(r.err) <= 8);
		cli_result_free(&r);
	}
}

/* The value after "KEY: " on its own line of text, into out. */
static bool line_value(const char *text, const char *key, char *out, size_t n)
{
	const char *p = text;
	size_t klen = strlen(key);
	while (p && *p) {
		if (strncmp(p, key, klen) == 0) {
			size_t len = strcspn(p + klen, "\n");
			snprintf(out, n, "%.*s", (int)len, p + klen);
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

/* project(amlab VERSION x.y.z ...) in CMakeLists.txt. */
static void project_version(char *out, size_t n)
{
	struct am_buf path = AM_BUF_INIT, text = AM_BUF_INIT;
	am_buf_printf(&path, NULL, "%s/CMakeLists.txt", am_test_source_dir());
	out[0] = '\0';
	if (am_buf_read_file(&text, path.data, NULL) == 0) {
		const char *p = strstr(text.data, "project(amlab VERSION ");
		if (p) {
			p += strlen("project(amlab VERSION ");
			snprintf(out, n, "%.*s", (int)strcspn(p, " )"), p);
		}
	}
	am_buf_free(&path);
	am_buf_free(&text);
}

/* CMAKE_BUILD_TYPE from the CMakeCache.txt of the build tree that holds AMLAB_BIN. */
static void cache_build_type(char *out, size_t n)
{
	struct am_buf path = AM_BUF_INIT, text = AM_BUF_INIT;
	const char *bin = cli_bin();
	const char *slash = strrchr(bin, '/');
	am_buf_printf(&path, NULL, "%.*s/CMakeCache.txt", slash ? (int)(slash - bin) : 1,
	              slash ? bin : ".");
	out[0] = '\0';
	if (am_buf_read_file(&text, path.data, NULL) == 0)
		line_value(text.data, "CMAKE_BUILD_TYPE:STRING=", out, n);
	am_buf_free(&path);
	am_buf_free(&text);
}

static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* True if `git -C SRC cat-file -e REV^{commit}` succeeds: the revision is a real commit. */
static bool git_has_commit(const char *rev)
{
	char spec[160];
	snprintf(spec, sizeof(spec), "%s^{commit}", rev);
	char *argv[] = {"git", "-C", (char *)am_test_source_dir(), "cat-file", "-e", spec, NULL};
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	int ok = posix_spawnp(&pid, "git", &fa, NULL, argv, environ) == 0;
	posix_spawn_file_actions_destroy(&fa);
	int status = 0;
	if (ok)
		waitpid(pid, &status, 0);
	return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_version(void)
{
	struct cli_result r = cli_run("version");
	AM_CHECK_INT(r.status, 0);
	AM_CHECK_STR(r.err, "");
	char want_version[32], line[128];
	project_version(want_version, sizeof(want_version));
	AM_CHECK(want_version[0] != '\0');
	AM_CHECK(line_value(r.out, "amlab ", line, sizeof(line)));
	AM_CHECK_STR(line, want_version);

	AM_CHECK(line_value(r.out, "git revision: ", line, sizeof(line)));
	if (strcmp(line, "unknown") != 0) {
		AM_CHECK(is_hex(line, 12));
		AM_CHECK(git_has_commit(line));
	}

	char want_type[32];
	cache_build_type(want_type, sizeof(want_type));
	AM_CHECK(line_value(r.out, "build type: ", line, sizeof(line)));
	if (want_type[0])
		AM_CHECK_STR(line, want_type);
	AM_CHECK(strcmp(line, "Debug") == 0 || strcmp(line, "Asan") == 0 ||
	         strcmp(line, "Release") == 0 || strcmp(line, "Fuzz") == 0);

	AM_CHECK(line_value(r.out, "cpu features: ", line, sizeof(line)));
	AM_CHECK_STR(line, am_cpu_features_string()); /* (test_cpu checks it against the kernel) */
	AM_CHECK_INT(cli_count_lines(r.out), 4);

	struct cli_result v = cli_run("--version");
	AM_CHECK_INT(v.status, 0);
	AM_CHECK_STR(v.out, r.out);
	cli_result_free(&v);
	cli_result_free(&r);

	setenv("AMLAB_CPU", "generic", 1);
	r = cli_run("version");
	unsetenv("AMLAB_CPU");
	AM_CHECK(strstr(r.out, "\ncpu features: generic\n") != NULL);
	cli_result_free(&r);

	r = cli_run("version", "extra");
	AM_CHECK_INT(r.status, 2);
	AM_CHECK(strstr(r.err, "usage: amlab version") != NULL);
	cli_result_free(&r);
}

int main(void)
{
	read_commands_def();
	AM_RUN(test_help_lists_every_command);
	AM_RUN(test_no_arguments);
	AM_RUN(test_every_command_has_usage);
	AM_RUN(test_unknown_command);
	AM_RUN(test_unknown_option_every_command);
	AM_RUN(test_version);
	return am_test_result();
}
