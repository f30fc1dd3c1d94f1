/* fuzz_scenario.c: libFuzzer target for the scenario loader (YAML manifest, templates, emails,
 * CSV tables, tools, detectors, candidates) through am_suite_load_mem.
 *
 * Input format: a small archive of files. Each file starts with a line "=== PATH" and runs to
 * the next such line; text before the first marker is scenario.yaml. Properties checked:
 *  - loading never crashes; a failure is AM_EPARSE (or AM_ELIMIT/AM_EINVAL for the archive)
 *    with a message, never a half-loaded suite;
 *  - whatever loads renders every condition (up to a cap) and rendering is deterministic: the
 *    hash of a second rendering equals the hash computed at load. */
#include "amlab/alloc.h"
#include "amlab/scenario.h"
#include "amlab/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 32

static void must(bool cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_scenario: property violated: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	am_json_init();
	if (size > (1 << 16))
		return 0;
	char *text = am_malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct am_vfile files[MAX_FILES];
	char paths[MAX_FILES][128];
	size_t nf = 0;
	const char *start = text, *end = text + size;
	am_strlcpy(paths[0], "scenario.yaml", sizeof(paths[0]));
	const char *p = text;
	bool ok = true;
	for (;;) {
		const char *m = p;
		const char *found = NULL;
		while (m < end) {
			if ((m == text || m[-1] == '\n') && end - m >= 4 &&
			    memcmp(m, "=== ", 4) == 0) {
				found = m;
				break;
			}
			const char *nl = memchr(m, '\n', (size_t)(end - m));
			if (!nl)
				break;
			m = nl + 1;
		}
		const char *stop = found ? found : end;
		if (nf == MAX_FILES) {
			ok = false;
			break;
		}
		files[nf].path = paths[nf];
		files[nf].data = start;
		files[nf].len = (size_t)(stop - start);
		nf++;
		if (!found)
			break;
		const char *nl = memchr(found, '\n', (size_t)(end - found));
		const char *name = found + 4;
		size_t nlen = (size_t)((nl ? nl : end) - name);
		if (nf == MAX_FILES || nlen == 0 || nlen >= sizeof(paths[0])) {
			ok = false;
			break;
		}
		memcpy(paths[nf], name, nlen);
		paths[nf][nlen] = '\0';
		start = nl ? nl + 1 : end;
		p = start;
	}
	if (ok) {
		struct am_suite *s = NULL;
		struct am_err err = {0};
		int rc = am_suite_load_mem(files, nf, "fuzz", &s, &err);
		if (rc < 0) {
			must(s == NULL, "failed load returned a suite");
			must(err.msg[0] != '\0', "failure without a message");
		} else {
			must(am_suite_n_scenarios(s) == 1, "one scenario");
			const struct am_scenario *sc = am_suite_scenario(s, 0);
			size_t n = am_scenario_n_conditions(sc);
			for (size_t i = 0; i < n && i < 16; i++) {
				struct am_condition *c = NULL;
				rc = am_condition_render(sc, i, &c, &err);
				must(rc == 0, "a loaded condition renders");
				must(strcmp(c->hash, am_scenario_condition_hash(sc, i)) == 0,
				     "rendering is deterministic");
				am_condition_free(c);
			}
			am_suite_free(s);
		}
	}
	am_free(text);
	return 0;
}
