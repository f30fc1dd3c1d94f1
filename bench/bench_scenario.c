/* bench_scenario.c: cost of loading suites with full validation (every condition rendered once
 * and hashed) and of rendering one condition on demand.
 *
 *   bench_scenario [SUITES_DIR]      (default: the built-in suites)
 *
 * Prints, per suite: conditions, load+validate time, conditions validated per second, and the
 * mean time to render one condition again afterwards (what an evaluation pays per episode). */
#include <dirent.h>
#include <sys/stat.h>

#include "amlab/clock.h"
#include "amlab/scenario.h"
#include "amlab/str.h"

static void bench_suite(const char *path, const char *name)
{
	struct am_suite *s = NULL;
	struct am_err err = {0};
	int64_t t0 = am_clock_mono_ns();
	if (am_suite_load(path, &s, &err) < 0) {
		fprintf(stderr, "%s: %s:%d: %s\n", name, err.where, err.line, err.msg);
		return;
	}
	int64_t t1 = am_clock_mono_ns();
	size_t nc = 0;
	for (size_t k = 0; k < am_suite_n_scenarios(s); k++)
		nc += am_scenario_n_conditions(am_suite_scenario(s, k));
	/* render every condition again (at most 500, spread over the suite) */
	size_t rendered = 0, stride = nc / 500 + 1, idx = 0;
	int64_t t2 = am_clock_mono_ns();
	for (size_t k = 0; k < am_suite_n_scenarios(s); k++) {
		const struct am_scenario *sc = am_suite_scenario(s, k);
		for (size_t i = 0; i < am_scenario_n_conditions(sc); i++, idx++) {
			if (idx % stride)
				continue;
			struct am_condition *c = NULL;
			if (am_condition_render(sc, i, &c, &err) == 0)
				rendered++;
			am_condition_free(c);
		}
	}
	int64_t t3 = am_clock_mono_ns();
	double load_s = (double)(t1 - t0) / 1e9;
	double render_ms = rendered ? (double)(t3 - t2) / 1e6 / (double)rendered : 0;
	printf("%-10s %6zu conditions  load+validate %8.3f s  %9.0f conditions/s  render one "
	       "%7.3f ms\n",
	       name, nc, load_s, load_s > 0 ? (double)nc / load_s : 0.0, render_ms);
	am_suite_free(s);
}

int main(int argc, char **argv)
{
	am_json_init();
	const char *dir = argc > 1 ? argv[1] : am_suites_dir();
	DIR *dh = opendir(dir);
	if (!dh) {
		fprintf(stderr, "cannot open %s\n", dir);
		return 1;
	}
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		char p[4096];
		struct stat st;
		if (de->d_name[0] == '.' ||
		    am_snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) < 0 || stat(p, &st) != 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		bench_suite(p, de->d_name);
	}
	closedir(dh);
	return 0;
}
