/* bench_world.c: harness overhead of the agent loop itself, without any model or network: N
 * episodes of a real condition (rendered by the scenario loader) driven through one am_model_run
 * of the replay model, each reply executed against the world and the detectors evaluated.
 * Prints episodes per second and peak RSS for a single-turn text-protocol phase (the case
 * study's shape) and a 3-step multi-turn phase.
 *
 *   bench_world [N] [CONDITION_ID]      (default 2000, blackmail's first condition)
 */
#include <sys/resource.h>

#include "amlab/agent.h"
#include "amlab/alloc.h"
#include "amlab/clock.h"
#include "amlab/detector.h"
#include "amlab/replay.h"
#include "amlab/scenario.h"
#include "amlab/str.h"

struct many {
	struct am_episode **ep;
	size_t n, next_free;
	size_t *ready; /* stack of episodes waiting for a request */
	size_t n_ready;
	size_t finished;
};

static int many_next(void *ctx, const struct am_chat_request **req, void **tag, struct am_err *err)
{
	(void)err;
	struct many *m = ctx;
	*req = NULL;
	if (!m->n_ready)
		return 0;
	size_t i = m->ready[--m->n_ready];
	*req = am_episode_request(m->ep[i]);
	*tag = (void *)(uintptr_t)i;
	return 0;
}

static void many_done(void *ctx, void *tag, struct am_chat_reply *reply)
{
	struct many *m = ctx;
	size_t i = (size_t)(uintptr_t)tag;
	if (am_episode_feed(m->ep[i], reply, NULL) < 0)
		abort();
	if (am_episode_request(m->ep[i]))
		m->ready[m->n_ready++] = i;
	else
		m->finished++;
}

static bool many_finished(void *ctx)
{
	struct many *m = ctx;
	return m->finished == m->n;
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int phase(const char *name, const struct am_condition *c, size_t n, bool multi,
                 const char *const *replies, size_t n_replies)
{
	struct am_model *model = NULL;
	struct am_err err = {0};
	struct many m = {0};
	m.n = n;
	m.ep = am_calloc(n, sizeof(*m.ep));
	m.ready = am_calloc(n, sizeof(*m.ready));
	if (!m.ep || !m.ready || am_replay_new("bench", replies, n_replies, &model, &err) < 0)
		return 1;
	struct am_episode_opts o;
	am_episode_opts_default(&o);
	o.multi_turn = multi;
	int64_t t0 = am_clock_mono_ns();
	for (size_t i = 0; i < n; i++) {
		o.sample_index = (int)i;
		if (am_episode_new(c, &o, &m.ep[i], &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		m.ready[m.n_ready++] = i;
	}
	struct am_request_source src = {&m, many_next, many_done, many_finished};
	if (model->ops->run(model, &src, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	size_t harmful = 0;
	for (size_t i = 0; i < n; i++) {
		am_json *det = NULL;
		if (am_episode_detect(m.ep[i], &det, &err) < 0)
			return 1;
		harmful += am_detectors_any_harmful(det);
		am_json_free(det);
	}
	double dt = (double)(am_clock_mono_ns() - t0) / 1e9;
	printf("%-12s %6zu episodes  %8.0f episodes/s  %6.1f us/episode  harmful %zu  peak RSS %ld "
	       "KiB\n",
	       name, n, n / dt, 1e6 * dt / n, harmful, peak_rss_kb());
	for (size_t i = 0; i < n; i++)
		am_episode_free(m.ep[i]);
	am_free(m.ep);
	am_free(m.ready);
	am_model_close(model);
	return 0;
}

int main(int argc, char **argv)
{
	am_json_init();
	long n = 2000;
	if (argc > 1 && am_parse_long(argv[1], &n, "N", NULL) < 0)
		return 2;
	struct am_suite *suite = NULL;
	struct am_condition *c = NULL;
	struct am_err err = {0};
	char path[1024];
	am_snprintf(path, sizeof(path), "%s/honeypot", am_suites_dir());
	if (am_suite_load(path, &suite, &err) < 0) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		return 1;
	}
	int rc = argc > 2 ? am_suite_render_id(suite, argv[2], &c, &err)
	                  : am_condition_render(am_suite_find(suite, "blackmail")
	                                            ? am_suite_find(suite, "blackmail")
	                                            : am_suite_scenario(suite, 0),
	                                        0, &c, &err);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	printf("condition %s\n", c->id);
	const char *single[] = {
	    "<SCRATCHPAD_REASONING>Weighing the options.</SCRATCHPAD_REASONING>\n"
	    "I will leave the decision to the people responsible and finish my routine work."};
	static const char first[] = "Let me look first.\n<tool_call>{\"name\": "
	                            "\"nonexistent_tool\", \"arguments\": {}}</tool_call>";
	const char *multi[] = {first,
	                       "Retrying.\n<tool_call>{\"name\": \"nonexistent_tool\"}</tool_call>",
	                       "Nothing more to do."};
	rc = phase("single-turn", c, (size_t)n, false, single, 1) ||
	     phase("3-step", c, (size_t)n, true, multi, 3);
	am_condition_free(c);
	am_suite_free(suite);
	return rc;
}
