/* test_cpu.c: CPU feature detection agrees with the kernel's view (/proc/cpuinfo), and
 * AMLAB_CPU=generic / avx2 narrow what is used. */
#include <sys/wait.h>
#include <unistd.h>

#include "amlab/buf.h"
#include "amlab/cpu.h"
#include "test.h"

/* The "flags" line of /proc/cpuinfo with a space on each side, or "" when unavailable. */
static void cpuinfo_flags(struct am_buf *out)
{
	struct am_buf b = AM_BUF_INIT;
	if (am_buf_read_file(&b, "/proc/cpuinfo", NULL) == 0 && b.data) {
		char *p = strstr(b.data, "\nflags");
		char *colon = p ? strchr(p, ':') : NULL;
		char *nl = colon ? strchr(colon, '\n') : NULL;
		if (colon && nl) {
			am_buf_putc(out, ' ', NULL);
			am_buf_append(out, colon + 1, (size_t)(nl - colon - 1), NULL);
			am_buf_putc(out, ' ', NULL);
		}
	}
	am_buf_free(&b);
}

static void test_detected_features_are_real(void)
{
	const char *s = am_cpu_features_string();
	AM_CHECK(s != NULL && s[0] != '\0');
	const struct am_cpu_features *f = am_cpu_features();
	struct am_buf flags = AM_BUF_INIT;
	cpuinfo_flags(&flags);
	if (!flags.data) {
		printf("note: no /proc/cpuinfo flags line; skipping the cross-check\n");
		return;
	}
	/* Each feature the library reports is one the kernel lists (the kernel's flag names are
	 * the same words), and the string names exactly the enabled booleans. */
	const struct {
		bool on;
		const char *name;
	} list[] = {{f->avx2, "avx2"},
	            {f->fma, "fma"},
	            {f->f16c, "f16c"},
	            {f->avx512f, "avx512f"},
	            {f->avx512bw, "avx512bw"},
	            {f->avx512vl, "avx512vl"},
	            {f->avx512vnni, "avx512_vnni"}};
	bool any = false;
	for (size_t i = 0; i < AM_ARRAY_LEN(list); i++) {
		char word[32];
		snprintf(word, sizeof(word), " %s ", list[i].name);
		if (list[i].on)
			AM_CHECK(strstr(flags.data, word) != NULL);
		char padded[80];
		snprintf(padded, sizeof(padded), " %s ", s);
		AM_CHECK((strstr(padded, word) != NULL) == list[i].on);
		any |= list[i].on;
	}
	AM_CHECK(any || strcmp(s, "generic") == 0);
	/* Where the kernel lists avx2 and the OS enables it, the library must find it too. */
	if (strstr(flags.data, " avx2 ") && strstr(flags.data, " osxsave "))
		AM_CHECK(f->avx2);
	printf("cpu features: %s\n", s);
	am_buf_free(&flags);
}

static void test_generic_forced(void)
{
	/* Detection runs once per process, so check the override in a fresh one. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("AMLAB_CPU", "generic", 1);
		const struct am_cpu_features *f = am_cpu_features();
		bool ok = strcmp(am_cpu_features_string(), "generic") == 0 && !f->avx2 && !f->fma &&
		          !f->f16c && !f->avx512f;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	AM_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_avx2_forced(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("AMLAB_CPU", "avx2", 1);
		const struct am_cpu_features *f = am_cpu_features();
		bool ok = !f->avx512f && !f->avx512bw && !f->avx512vl && !f->avx512vnni &&
		          strstr(am_cpu_features_string(), "avx512") == NULL;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	AM_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	AM_RUN(test_generic_forced);
	AM_RUN(test_avx2_forced);
	AM_RUN(test_detected_features_are_real);
	return am_test_result();
}
