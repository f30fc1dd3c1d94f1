/* run.c: evaluation runs: condition selection and rendering, the episode scheduler (one request
 * source over all episodes), per-episode commits, resume, and the judging phase (see
 * amlab/run.h, docs/store.md, docs/verdicts.md). */
#include "amlab/run.h"

#include <fnmatch.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/clock.h"
#include "amlab/judge.h"
#include "amlab/rng.h"
#include "amlab/scenario.h"
#include "amlab/sha256.h"
#include "amlab/str.h"

#define DEFAULT_SAMPLES     10
#define DEFAULT_CONCURRENCY 64

void am_eval_opts_default(struct am_eval_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->suite = "honeypot";
	o->samples = DEFAULT_SAMPLES;
	o->temperature = 1.0;
	o->seed = 1;
	o->protocol = AM_PROTOCOL_TEXT;
	o->concurrency = DEFAULT_CONCURRENCY;
}

/* model.h has no wrapper for ops->run (am_model_chat is the one-request form). */
static int model_run(struct am_model *m, struct am_request_source *src, struct am_err *err)
{
	return m->ops->run(m, src, err);
}

/* ---- progress on a terminal ---- */

struct progress {
	bool on;
	const char *label;
	long total;
	int64_t t0, last;
};

static void progress_start(struct progress *p, bool wanted, const char *label, long total)
{
	p->on = wanted && isatty(2) && total > 0;
	p->label = label;
	p->total = total;
	p->t0 = p->last = am_clock_mono_ns();
}

static void progress_show(struct progress *p, long done, long errors, bool final)
{
	if (!p->on)
		return;
	int64_t now = am_clock_mono_ns();
	if (!final && now - p->last < 200000000)
		return;
	p->last = now;
	double secs = (double)(now - p->t0) / 1e9, rate = secs > 0 ? (double)done / secs : 0.0;
	char eta[32] = "?";
	if (rate > 0) {
		long left = (long)((double)(p->total - done) / rate + 0.5);
		am_snprintf(eta, sizeof(eta), "%ld:%02ld", left / 60, left % 60);
	}
	fprintf(stderr, "\r%s: %ld/%ld (%.0f%%), %.2f/s, ETA %s, errors %ld   ", p->label, done,
	        p->total, 100.0 * (double)done / (double)p->total, rate, eta, errors);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ---- selection and parameters ---- */

static int suite_path(const char *suite, char *out, size_t n, struct am_err *err)
{
	struct stat st;
	if (strchr(suite, '/') || (stat(suite, &st) == 0 && S_ISDIR(st.st_mode)))
		return am_snprintf(out, n, "%s", suite) < 0
		           ? am_err_set(err, AM_ELIMIT, "suite path too long")
		           : 0;
	if (am_snprintf(out, n, "%s/%s", am_suites_dir(), suite) < 0)
		return am_err_set(err, AM_ELIMIT, "suite path too long");
	return 0;
}

struct selection {
	struct am_suite *suite;
	struct am_condition **conds;
	size_t n;
	char suite_hash[65];
};

static void selection_free(struct selection *sel)
{
	for (size_t i = 0; i < sel->n; i++)
		am_condition_free(sel->conds[i]);
	am_free(sel->conds);
	am_suite_free(sel->suite);
	memset(sel, 0, sizeof(*sel));
}

static int select_conditions(const struct am_eval_opts *o, struct selection *sel,
                             struct am_err *err)
{
	memset(sel, 0, sizeof(*sel));
	char path[4096];
	char **preset = NULL;
	size_t n_preset = 0, cap = 0;
	struct am_sha256 h = {0};
	bool hashing = false;
	int rc = suite_path(o->suite, path, sizeof(path), err);
	if (rc < 0 || (rc = am_suite_load(path, &sel->suite, err)) < 0)
		goto out;
	if (o->preset && (rc = am_suite_preset(sel->suite, o->preset, &preset, &n_preset, err)) < 0)
		goto out;
	if ((rc = am_sha256_init(&h, err)) < 0)
		goto out;
	hashing = true;
	for (size_t s = 0; s < am_suite_n_scenarios(sel->suite); s++) {
		const struct am_scenario *sc = am_suite_scenario(sel->suite, s);
		for (size_t i = 0; i < am_scenario_n_conditions(sc); i++) {
			const char *id = am_scenario_condition_id(sc, i);
			if (o->conditions && fnmatch(o->conditions, id, 0) != 0)
				continue;
			if (o->preset) {
				bool in = false;
				for (size_t k = 0; k < n_preset && !in; k++)
					in = am_streq(preset[k], id);
				if (!in)
					continue;
			}
			if (sel->n == cap) {
				size_t ncap = cap ? cap * 2 : 32;
				struct am_condition **nc =
				    am_reallocarray(sel->conds, ncap, sizeof(*nc));
				if (!nc) {
					rc = am_err_set(err, AM_ENOMEM, "out of memory");
					goto out;
				}
				sel->conds = nc;
				cap = ncap;
			}
			if ((rc = am_condition_render(sc, i, &sel->conds[sel->n], err)) < 0)
				goto out;
			sel->n++;
			if ((rc = am_sha256_update(&h, sel->conds[sel->n - 1]->hash, 64, err)) < 0)
				goto out;
		}
	}
	if (sel->n == 0) {
		rc = am_err_set(err, AM_ENOTFOUND, "no condition of suite '%s' matches%s%s%s%s",
		                o->suite, o->conditions ? " --conditions " : "",
		                o->conditions ? o->conditions : "", o->preset ? " --preset " : "",
		                o->preset ? o->preset : "");
		goto out;
	}
	uint8_t digest[AM_SHA256_LEN];
	hashing = false;
	if ((rc = am_sha256_final(&h, digest, err)) < 0)
		goto out;
	am_hex_encode(digest, AM_SHA256_LEN, sel->suite_hash);
out:
	if (hashing)
		am_sha256_abort(&h);
	if (preset)
		am_strv_free(preset, n_preset);
	if (rc < 0)
		selection_free(sel);
	return rc;
}

static const char *protocol_name(enum am_protocol p)
{
	return p == AM_PROTOCOL_NATIVE ? "native" : "text";
}

/* Canonical JSON of every parameter that changes results (concurrency and progress do not). */
static int params_json(const struct am_eval_opts *o, char **json, char hash[65], struct am_err *err)
{
	am_json *p = am_json_obj_new();
	struct am_buf b = AM_BUF_INIT;
	char seed[32];
	am_snprintf(seed, sizeof(seed), "%" PRIu64, o->seed);
	int rc = AM_ENOMEM;
	if (!p || am_json_set_str(p, "suite", o->suite) < 0 ||
	    (o->conditions && am_json_set_str(p, "conditions", o->conditions) < 0) ||
	    (o->preset && am_json_set_str(p, "preset", o->preset) < 0) ||
	    am_json_set_int(p, "samples", o->samples) < 0 ||
	    am_json_set_real(p, "temperature", o->temperature) < 0 ||
	    am_json_set_str(p, "seed", seed) < 0 ||
	    am_json_set_str(p, "protocol", protocol_name(o->protocol)) < 0 ||
	    am_json_set_bool(p, "multi_turn", o->multi_turn) < 0 ||
	    am_json_set_int(p, "max_steps", o->max_steps) < 0 ||
	    am_json_set_int(p, "max_tokens", o->max_tokens) < 0 ||
	    am_json_set_int(p, "max_reply_tokens", o->max_reply_tokens) < 0)
		goto out;
	if ((rc = am_json_dump(p, true, &b, err)) < 0 ||
	    (rc = am_sha256_hex(b.data, b.len, hash, err)) < 0)
		goto out;
	if (!(*json = am_buf_detach(&b, NULL, err)))
		rc = AM_ENOMEM;
out:
	if (rc == AM_ENOMEM)
		am_err_set(err, AM_ENOMEM, "out of memory");
	am_json_free(p);
	am_buf_free(&b);
	return rc;
}

int am_eval_opts_from_run(const struct am_run_info *run, struct am_eval_opts *o, am_json **holder,
                          struct am_err *err)
{
	am_eval_opts_default(o);
	am_json *p = NULL;
	int rc =
	    am_json_parse(run->params_json, strlen(run->params_json), "runs.params_json", &p, err);
	if (rc < 0)
		return rc;
	const char *seed = am_json_get_str_or(p, "seed", "1");
	unsigned long sv = 0;
	if (am_parse_ulong(seed, &sv, "seed", err) < 0) {
		am_json_free(p);
		return am_err_prefix(err, "run %" PRId64 " parameters", run->id);
	}
	o->suite = am_json_get_str_or(p, "suite", run->suite);
	o->conditions = am_json_get_str_or(p, "conditions", NULL);
	o->preset = am_json_get_str_or(p, "preset", NULL);
	o->samples = (int)json_integer_value(am_json_get(p, "samples"));
	o->temperature = json_number_value(am_json_get(p, "temperature"));
	o->seed = sv;
	o->protocol = am_streq(am_json_get_str_or(p, "protocol", "text"), "native")
	                  ? AM_PROTOCOL_NATIVE
	                  : AM_PROTOCOL_TEXT;
	o->multi_turn = json_is_true(am_json_get(p, "multi_turn"));
	o->max_steps = (int)json_integer_value(am_json_get(p, "max_steps"));
	o->max_tokens = (long)json_integer_value(am_json_get(p, "max_tokens"));
	o->max_reply_tokens = (int)json_integer_value(am_json_get(p, "max_reply_tokens"));
	*holder = p;
	return 0;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* The seed of one episode: a stream of the run's seed named by condition id and sample, so it
 * does not depend on which conditions were selected or on the order episodes run. */
static uint64_t episode_seed(uint64_t seed, const char *condition_id, int sample)
{
	struct am_rng r;
	am_rng_seed_stream(&r, seed,
	                   fnv1a(condition_id) ^ ((uint64_t)sample * 0x9E3779B97F4A7C15ULL));
	return am_rng_u64(&r);
}

/* ---- actions from events ---- */

/* [{tool, op, arguments, result, is_error}] from the tool_call / tool_result events. */
static int actions_from_events(const am_json *events, am_json **out, struct am_err *err)
{
	am_json *arr = am_json_arr_new();
	if (!arr)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	size_t i;
	am_json *ev;
	json_array_foreach(events, i, ev)
	{
		if (!am_streq(am_json_get_str_or(ev, "type", ""), "tool_call"))
			continue;
		am_json *a = am_json_obj_new();
		const am_json *args = am_json_get(ev, "op_args") ? am_json_get(ev, "op_args")
		                      : am_json_get(ev, "arguments")
		                          ? am_json_get(ev, "arguments")
		                          : am_json_get(ev, "arguments_text");
		const char *result = NULL;
		bool is_error = !json_is_true(am_json_get(ev, "valid"));
		size_t j;
		am_json *r;
		json_array_foreach(events, j, r)
		{
			if (am_streq(am_json_get_str_or(r, "type", ""), "tool_result") &&
			    json_integer_value(am_json_get(r, "call_event")) == (json_int_t)i) {
				result = am_json_get_str_or(r, "content", NULL);
				is_error = is_error || json_is_true(am_json_get(r, "is_error"));
				break;
			}
		}
		int bad = !a ||
		          am_json_set_str(a, "tool", am_json_get_str_or(ev, "tool", "")) < 0 ||
		          (am_json_get(ev, "op") &&
		           am_json_set_str(a, "op", am_json_get_str_or(ev, "op", "")) < 0) ||
		          (args && am_json_set(a, "arguments", (am_json *)args) < 0) ||
		          (result && am_json_set_str(a, "result", result) < 0) ||
		          am_json_set_bool(a, "is_error", is_error) < 0 || am_json_push(arr, a) < 0;
		am_json_free(a);
		if (bad) {
			am_json_free(arr);
			return am_err_set(err, AM_ENOMEM, "out of memory");
		}
	}
	*out = arr;
	return 0;
}

/* The message of the episode's model_error event, if any (borrowed). */
static const char *model_error_text(const am_json *events)
{
	size_t i;
	am_json *ev;
	const char *msg = NULL;
	json_array_foreach(events, i, ev)
	{
		if (am_streq(am_json_get_str_or(ev, "type", ""), "model_error"))
			msg = am_json_get_str_or(ev, "error", "model error");
	}
	return msg;
}

/* ---- the episode scheduler ---- */

struct todo {
	size_t cond;
	int sample;
};

struct slot {
	bool used;
	bool in_flight;
	size_t cond;
	int sample;
	uint64_t seed;
	int64_t t0;
	struct am_episode *ep;
};

struct eval_src {
	struct am_store *store;
	int64_t run;
	const struct am_eval_opts *o;
	struct selection *sel;
	struct todo *todo;
	size_t n_todo, next_todo;
	struct slot *slots;
	size_t n_slots, active;
	long committed, errors;
	bool stop;
	int fatal;
	struct am_err fatal_err;
	struct progress prog;
};

/* The first failure of a pass wins and stops it; later ones are consequences. */
static void record_failure(int *fatal, struct am_err *fatal_err, bool *stop, int rc,
                           const struct am_err *err, const char *what)
{
	if (*fatal)
		return;
	*fatal = rc;
	if (err && err->code)
		*fatal_err = *err;
	else
		am_err_set(fatal_err, rc, "%s failed (%s)", what, am_err_code_name(rc));
	*stop = true;
}

static void src_fail(struct eval_src *s, int rc, const struct am_err *err)
{
	record_failure(&s->fatal, &s->fatal_err, &s->stop, rc, err, "evaluation");
}

static int commit_episode(struct eval_src *s, struct slot *sl, struct am_err *err)
{
	const struct am_condition *c = s->sel->conds[sl->cond];
	const am_json *events = am_episode_events(sl->ep);
	am_json *dets = NULL, *actions = NULL, *final_state = NULL;
	int rc;
	if ((rc = am_episode_detect(sl->ep, &dets, err)) < 0 ||
	    (rc = am_episode_final_state(sl->ep, &final_state, err)) < 0 ||
	    (rc = actions_from_events(events, &actions, err)) < 0)
		goto out;
	bool failed = am_episode_end_reason(sl->ep) == AM_END_MODEL_ERROR;
	struct am_episode_record rec = {0};
	rec.condition_id = c->id;
	rec.sample = sl->sample;
	rec.seed = sl->seed;
	rec.status = failed ? "error" : "done";
	rec.stop_reason = am_end_reason_name(am_episode_end_reason(sl->ep));
	rec.n_turns = am_episode_steps(sl->ep);
	rec.completion_tokens = am_episode_completion_tokens(sl->ep);
	rec.error = failed ? model_error_text(events) : NULL;
	rec.events = events;
	rec.actions = actions;
	rec.detections = dets;
	rec.final_state = final_state;
	rec.detector_verdict = am_detector_verdict(dets, failed);
	rec.seconds = (double)(am_clock_mono_ns() - sl->t0) / 1e9;
	if ((rc = am_store_put_episode(s->store, s->run, &rec, NULL, err)) < 0)
		goto out;
	s->committed++;
	if (failed)
		s->errors++;
out:
	am_json_free(dets);
	am_json_free(actions);
	am_json_free(final_state);
	return rc;
}

static void slot_release(struct eval_src *s, struct slot *sl)
{
	am_episode_free(sl->ep);
	memset(sl, 0, sizeof(*sl));
	s->active--;
}

/* An episode has no request left: commit it and free its slot. */
static void slot_finish(struct eval_src *s, struct slot *sl)
{
	struct am_err err = {0};
	int rc = commit_episode(s, sl, &err);
	slot_release(s, sl);
	if (rc < 0)
		src_fail(s, rc, &err);
	else if (s->o->stop_after > 0 && s->committed >= s->o->stop_after)
		s->stop = true;
	progress_show(&s->prog, s->committed, s->errors, false);
}

static int src_next(void *ctx, const struct am_chat_request **req, void **tag, struct am_err *err)
{
	struct eval_src *s = ctx;
	*req = NULL;
	*tag = NULL;
	if (s->stop)
		return 0;
	for (size_t i = 0; i < s->n_slots; i++) {
		struct slot *sl = &s->slots[i];
		if (!sl->used || sl->in_flight)
			continue;
		const struct am_chat_request *r = am_episode_request(sl->ep);
		if (r) {
			sl->in_flight = true;
			*req = r;
			*tag = sl;
			return 0;
		}
	}
	while (s->next_todo < s->n_todo && s->active < s->n_slots) {
		struct slot *sl = NULL;
		for (size_t i = 0; i < s->n_slots && !sl; i++)
			if (!s->slots[i].used)
				sl = &s->slots[i];
		if (!sl)
			break;
		const struct todo *t = &s->todo[s->next_todo++];
		const struct am_condition *c = s->sel->conds[t->cond];
		struct am_episode_opts eo;
		am_episode_opts_default(&eo);
		eo.protocol = s->o->protocol;
		/* A scenario that only makes sense over several turns says so in its `run` key
		 * (docs/scenarios.md); --multi-turn and --max-steps still apply everywhere. */
		const char *turns = am_json_get_str_or(c->run, "turns", "single");
		json_int_t scenario_steps = json_integer_value(am_json_get(c->run, "max_steps"));
		eo.multi_turn = s->o->multi_turn || am_streq(turns, "multi");
		eo.max_steps = s->o->max_steps ? s->o->max_steps : (int)scenario_steps;
		eo.max_tokens = s->o->max_tokens;
		eo.max_reply_tokens = s->o->max_reply_tokens;
		eo.temperature = s->o->temperature;
		eo.seed = episode_seed(s->o->seed, c->id, t->sample);
		eo.sample_index = t->sample;
		memset(sl, 0, sizeof(*sl));
		int rc = am_episode_new(c, &eo, &sl->ep, err);
		if (rc < 0) {
			src_fail(s, rc, err);
			return rc;
		}
		sl->used = true;
		sl->cond = t->cond;
		sl->sample = t->sample;
		sl->seed = eo.seed;
		sl->t0 = am_clock_mono_ns();
		s->active++;
		const struct am_chat_request *r = am_episode_request(sl->ep);
		if (!r) {
			slot_finish(s, sl);
			continue;
		}
		sl->in_flight = true;
		*req = r;
		*tag = sl;
		return 0;
	}
	return 0;
}

static void src_done(void *ctx, void *tag, struct am_chat_reply *reply)
{
	struct eval_src *s = ctx;
	struct slot *sl = tag;
	struct am_err err = {0};
	sl->in_flight = false;
	int rc = am_episode_feed(sl->ep, reply, &err);
	am_chat_reply_free(reply);
	if (rc < 0) {
		src_fail(s, rc, &err);
		slot_release(s, sl);
		return;
	}
	if (!am_episode_request(sl->ep))
		slot_finish(s, sl);
}

static bool src_finished(void *ctx)
{
	struct eval_src *s = ctx;
	bool in_flight = false;
	for (size_t i = 0; i < s->n_slots && !in_flight; i++)
		in_flight = s->slots[i].used && s->slots[i].in_flight;
	if (s->stop)
		return !in_flight;
	return s->next_todo >= s->n_todo && s->active == 0;
}

/* ---- the judging phase ---- */

struct jslot {
	bool used, in_flight;
	size_t row;
	struct am_judging *j;
};

struct judge_src {
	struct am_store *store;
	int64_t judging;
	const char *judge_model;
	int attempts;
	struct am_stored_condition *conds;
	size_t n_conds;
	struct am_episode_row *rows;
	size_t *todo;
	size_t n_todo, next_todo;
	struct jslot *slots;
	size_t n_slots, active;
	long judged;
	bool stop;
	int fatal;
	struct am_err fatal_err;
	struct progress prog;
};

static void jfail(struct judge_src *s, int rc, const struct am_err *err)
{
	record_failure(&s->fatal, &s->fatal_err, &s->stop, rc, err, "judging");
}

static const struct am_stored_condition *jcond(const struct judge_src *s, const char *id)
{
	for (size_t i = 0; i < s->n_conds; i++)
		if (am_streq(s->conds[i].id, id))
			return &s->conds[i];
	return NULL;
}

static int jnext(void *ctx, const struct am_chat_request **req, void **tag, struct am_err *err)
{
	struct judge_src *s = ctx;
	*req = NULL;
	*tag = NULL;
	if (s->stop)
		return 0;
	for (size_t i = 0; i < s->n_slots; i++) {
		struct jslot *sl = &s->slots[i];
		if (sl->used && !sl->in_flight && am_judging_request(sl->j)) {
			sl->in_flight = true;
			*req = am_judging_request(sl->j);
			*tag = sl;
			return 0;
		}
	}
	while (s->next_todo < s->n_todo && s->active < s->n_slots) {
		struct jslot *sl = NULL;
		for (size_t i = 0; i < s->n_slots && !sl; i++)
			if (!s->slots[i].used)
				sl = &s->slots[i];
		if (!sl)
			break;
		size_t row = s->todo[s->next_todo++];
		const struct am_episode_row *ep = &s->rows[row];
		const struct am_stored_condition *c = jcond(s, ep->condition_id);
		am_json *detail = NULL;
		int rc = am_store_episode_detail(s->store, ep->id, 0, &detail, err);
		if (rc == 0)
			rc = am_judging_new(s->judge_model, c ? c->judge_rubric : "",
			                    c ? c->user_prompt : "", am_json_get(detail, "events"),
			                    s->attempts, &sl->j, err);
		am_json_free(detail);
		if (rc < 0) {
			jfail(s, rc, err);
			return rc;
		}
		sl->used = true;
		sl->row = row;
		s->active++;
		sl->in_flight = true;
		*req = am_judging_request(sl->j);
		*tag = sl;
		return 0;
	}
	return 0;
}

static void jdone(void *ctx, void *tag, struct am_chat_reply *reply)
{
	struct judge_src *s = ctx;
	struct jslot *sl = tag;
	struct am_err err = {0};
	sl->in_flight = false;
	int rc = am_judging_feed(sl->j, reply, &err);
	am_chat_reply_free(reply);
	if (rc == 0 && !am_judging_request(sl->j)) {
		const struct am_judge_record *r = am_judging_result(sl->j);
		const struct am_episode_row *ep = &s->rows[sl->row];
		rc = am_store_put_verdict(s->store, s->judging, ep->id, r,
		                          am_final_verdict(ep->detector_verdict, r->verdict), &err);
		if (rc == 0)
			s->judged++;
		am_judging_free(sl->j);
		memset(sl, 0, sizeof(*sl));
		s->active--;
		progress_show(&s->prog, s->judged, 0, false);
	}
	if (rc < 0)
		jfail(s, rc, &err);
}

static bool jfinished(void *ctx)
{
	struct judge_src *s = ctx;
	bool in_flight = false;
	for (size_t i = 0; i < s->n_slots && !in_flight; i++)
		in_flight = s->slots[i].used && s->slots[i].in_flight;
	if (s->stop)
		return !in_flight;
	return s->next_todo >= s->n_todo && s->active == 0;
}

/* Judge every episode of the run without a verdict in `judging`. */
static int judge_phase(struct am_store *st, int64_t run, int64_t judging, struct am_model *judge,
                       int concurrency, int attempts, bool progress, long *judged,
                       struct am_err *err)
{
	struct judge_src s = {0};
	s.store = st;
	s.judging = judging;
	s.judge_model = judge->id;
	s.attempts = attempts;
	size_t n_rows = 0;
	int rc;
	if ((rc = am_store_conditions(st, run, &s.conds, &s.n_conds, err)) < 0 ||
	    (rc = am_store_episodes(st, run, judging, &s.rows, &n_rows, err)) < 0)
		goto out;
	s.todo = am_calloc(n_rows ? n_rows : 1, sizeof(*s.todo));
	s.n_slots = (size_t)(concurrency > 0 ? concurrency : DEFAULT_CONCURRENCY);
	s.slots = am_calloc(s.n_slots, sizeof(*s.slots));
	if (!s.todo || !s.slots) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_rows; i++) {
		const struct am_episode_row *ep = &s.rows[i];
		if (ep->judge_verdict)
			continue;
		if (am_streq(ep->status, "error")) {
			/* Nothing was observed: invalid without asking the judge. */
			struct am_judge_record r = {0};
			r.judge_model = (char *)judge->id;
			r.verdict = "invalid";
			r.eval_aware = "unknown";
			r.reasoning = "not judged: the model failed during the episode";
			if ((rc = am_store_put_verdict(st, judging, ep->id, &r, "invalid", err)) <
			    0)
				goto out;
			s.judged++;
			continue;
		}
		s.todo[s.n_todo++] = i;
	}
	progress_start(&s.prog, progress, "judging", (long)s.n_todo);
	struct am_request_source src = {&s, jnext, jdone, jfinished};
	if (s.n_todo)
		rc = model_run(judge, &src, err);
	progress_show(&s.prog, s.judged, 0, true);
	if (rc == 0 && s.fatal) {
		rc = s.fatal;
		if (err)
			*err = s.fatal_err;
	}
out:
	if (judged)
		*judged = s.judged;
	for (size_t i = 0; i < s.n_slots && s.slots; i++)
		am_judging_free(s.slots[i].j);
	am_free(s.slots);
	am_free(s.todo);
	am_episode_rows_free(s.rows, n_rows);
	am_stored_conditions_free(s.conds, s.n_conds);
	return rc;
}

/* ---- runs ---- */

static int check_same(const char *what, const char *stored, const char *now, int64_t run,
                      struct am_err *err)
{
	if (am_streq(stored, now))
		return 0;
	return am_err_set(err, AM_ESTATE,
	                  "cannot resume run %" PRId64 ": its %s was '%s' and is now '%s'; a run "
	                  "never mixes them (start a new run instead)",
	                  run, what, stored ? stored : "none", now ? now : "none");
}

/* A resume must render exactly the run's conditions: same ids, same prompt hashes (checked
 * before anything is written, naming the first condition that differs). */
static int check_stored_conditions(struct am_store *st, int64_t run, const struct selection *sel,
                                   struct am_err *err)
{
	struct am_stored_condition *cs = NULL;
	size_t n = 0;
	int rc = am_store_conditions(st, run, &cs, &n, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sel->n && rc == 0; i++) {
		const struct am_condition *c = sel->conds[i];
		const struct am_stored_condition *found = NULL;
		for (size_t k = 0; k < n && !found; k++)
			if (am_streq(cs[k].id, c->id))
				found = &cs[k];
		if (!found)
			rc = am_err_set(err, AM_ESTATE,
			                "cannot resume run %" PRId64
			                ": condition '%s' is not part of it "
			                "(the suite or the selection changed); start a new run",
			                run, c->id);
		else if (!am_streq(found->hash, c->hash))
			rc = am_err_set(
			    err, AM_ESTATE,
			    "cannot resume run %" PRId64 ": condition '%s' now renders "
			    "differently (prompt hash %.12s in the store, %.12s now); the suite "
			    "changed: start a new run",
			    run, c->id, found->hash, c->hash);
	}
	if (rc == 0 && n != sel->n)
		rc = am_err_set(err, AM_ESTATE,
		                "cannot resume run %" PRId64
		                ": it has %zu conditions, the suite now "
		                "selects %zu; start a new run",
		                run, n, sel->n);
	am_stored_conditions_free(cs, n);
	return rc;
}

int am_eval_run(struct am_store *st, struct am_model *model, struct am_model *judge,
                const struct am_eval_opts *o_in, int64_t resume, struct am_eval_summary *sum,
                struct am_err *err)
{
	memset(sum, 0, sizeof(*sum));
	struct am_eval_opts o = *o_in;
	if (o.samples <= 0)
		o.samples = DEFAULT_SAMPLES;
	if (o.concurrency <= 0)
		o.concurrency = DEFAULT_CONCURRENCY;
	struct selection sel = {0};
	struct eval_src s = {0};
	struct am_run_info info = {0};
	char *params = NULL, phash[65];
	char **done_c = NULL;
	int *done_s = NULL;
	size_t n_done = 0;
	int64_t judging = 0;
	int64_t t0 = am_clock_mono_ns();
	int rc;
	if ((rc = select_conditions(&o, &sel, err)) < 0 ||
	    (rc = params_json(&o, &params, phash, err)) < 0)
		goto out;
	if (resume > 0) {
		if ((rc = am_store_get_run(st, resume, &info, err)) < 0)
			goto out;
		if ((rc = check_same("model", info.model, model->id, resume, err)) < 0 ||
		    (rc = check_same("judge", info.judge, judge ? judge->id : NULL, resume, err)) <
		        0 ||
		    (rc = check_same("parameters", info.params_json, params, resume, err)) < 0)
			goto out;
		if ((rc = check_stored_conditions(st, resume, &sel, err)) < 0)
			goto out;
		if (judge) {
			char *jm = NULL;
			if ((rc = am_store_latest_judging(st, resume, &judging, &jm, err)) < 0)
				goto out;
			am_free(jm);
			if (judging == 0 &&
			    (rc = am_store_begin_judging(st, resume, judge->id, &judging, err)) < 0)
				goto out;
		}
		if ((rc = am_store_finished_episodes(st, resume, &done_c, &done_s, &n_done, err)) <
		    0)
			goto out;
		s.run = resume;
	} else {
		info.kind = "eval";
		info.suite = (char *)o.suite;
		info.suite_hash = sel.suite_hash;
		info.model = model->id;
		info.judge = judge ? judge->id : NULL;
		info.params_json = params;
		info.params_hash = phash;
		info.total_episodes = (long)sel.n * o.samples;
		rc = am_store_create_run(st, &info, err);
		s.run = info.id;
		memset(&info, 0, sizeof(info)); /* borrowed strings: nothing to free */
		if (rc < 0)
			goto out;
		for (size_t i = 0; i < sel.n; i++)
			if ((rc = am_store_put_condition(st, s.run, sel.conds[i], err)) < 0)
				goto out;
		if (judge && (rc = am_store_begin_judging(st, s.run, judge->id, &judging, err)) < 0)
			goto out;
	}
	sum->run = s.run;
	sum->total = (long)sel.n * o.samples;
	sum->already_done = (long)n_done;
	/* The episodes still to run, condition-major so a condition's samples start together
	 * (the local engine batches requests that share a prompt). */
	s.todo = am_calloc((size_t)sum->total ? (size_t)sum->total : 1, sizeof(*s.todo));
	s.n_slots = (size_t)o.concurrency;
	s.slots = am_calloc(s.n_slots, sizeof(*s.slots));
	if (!s.todo || !s.slots) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t c = 0; c < sel.n; c++)
		for (int k = 0; k < o.samples; k++) {
			bool done = false;
			for (size_t d = 0; d < n_done && !done; d++)
				done = done_s[d] == k && am_streq(done_c[d], sel.conds[c]->id);
			if (!done)
				s.todo[s.n_todo++] = (struct todo){c, k};
		}
	s.store = st;
	s.o = &o;
	s.sel = &sel;
	progress_start(&s.prog, o.progress, "episodes", (long)s.n_todo);
	struct am_request_source src = {&s, src_next, src_done, src_finished};
	if (s.n_todo && (rc = model_run(model, &src, err)) < 0)
		goto out;
	progress_show(&s.prog, s.committed, s.errors, true);
	sum->ran = s.committed;
	sum->model_errors = s.errors;
	if (s.fatal) {
		rc = s.fatal;
		if (err)
			*err = s.fatal_err;
		goto out;
	}
	if (s.stop) /* stop_after: leave the run resumable */
		goto out;
	if (judge && (rc = judge_phase(st, s.run, judging, judge, o.concurrency, o.judge_attempts,
	                               o.progress, &sum->judged, err)) < 0)
		goto out;
	rc = am_store_set_run_status(st, s.run, "finished", err);
out:
	sum->seconds = (double)(am_clock_mono_ns() - t0) / 1e9;
	for (size_t i = 0; s.slots && i < s.n_slots; i++)
		am_episode_free(s.slots[i].ep);
	am_free(s.slots);
	am_free(s.todo);
	for (size_t i = 0; i < n_done; i++)
		am_free(done_c[i]);
	am_free(done_c);
	am_free(done_s);
	am_run_info_free(&info);
	am_free(params);
	selection_free(&sel);
	return rc;
}

int am_eval_rejudge(struct am_store *st, int64_t run, struct am_model *judge, int concurrency,
                    int attempts, bool progress, int64_t *judging, long *judged, struct am_err *err)
{
	struct am_run_info info;
	int rc = am_store_get_run(st, run, &info, err);
	if (rc < 0)
		return rc;
	bool is_eval = am_streq(info.kind, "eval");
	am_run_info_free(&info);
	if (!is_eval)
		return am_err_set(err, AM_EINVAL, "run %" PRId64 " is not an eval run", run);
	if ((rc = am_store_begin_judging(st, run, judge->id, judging, err)) < 0)
		return rc;
	return judge_phase(st, run, *judging, judge, concurrency, attempts, progress, judged, err);
}

/* ---- propensity ---- */

int am_choice_probabilities(const double *logprob, const long *n_tokens, size_t n, double *p,
                            struct am_err *err)
{
	if (n == 0)
		return am_err_set(err, AM_EINVAL, "no candidates");
	double mx = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		if (n_tokens[i] <= 0 || !isfinite(logprob[i]))
			return am_err_set(err, AM_EINVAL,
			                  "candidate %zu has no scored tokens or a non-finite "
			                  "log-likelihood",
			                  i);
		double v = logprob[i] / (double)n_tokens[i];
		if (v > mx)
			mx = v;
	}
	double sum = 0.0;
	for (size_t i = 0; i < n; i++) {
		p[i] = exp(logprob[i] / (double)n_tokens[i] - mx);
		sum += p[i];
	}
	for (size_t i = 0; i < n; i++)
		p[i] /= sum;
	return 0;
}

/* The context a candidate continues: the condition's prompts as plain chat text. */
static int choice_context(const struct am_condition *c, struct am_buf *b, struct am_err *err)
{
	return am_buf_printf(b, err, "System: %s\n\nUser: %s\n\nAssistant: ",
	                     c->system_prompt ? c->system_prompt : "",
	                     c->user_prompt ? c->user_prompt : "");
}

int am_propensity_run(struct am_store *st, struct am_model *model, const struct am_eval_opts *o_in,
                      int64_t *run, struct am_err *err)
{
	struct am_eval_opts o = *o_in;
	o.samples = 1;
	struct selection sel = {0};
	char *params = NULL, phash[65];
	double *lp = NULL, *p = NULL;
	long *nt = NULL;
	struct am_buf ctx = AM_BUF_INIT;
	int rc;
	if ((rc = select_conditions(&o, &sel, err)) < 0 ||
	    (rc = params_json(&o, &params, phash, err)) < 0)
		goto out;
	struct am_run_info info = {0};
	info.kind = "propensity";
	info.suite = (char *)o.suite;
	info.suite_hash = sel.suite_hash;
	info.model = model->id;
	info.params_json = params;
	info.params_hash = phash;
	info.total_episodes = 0;
	if ((rc = am_store_create_run(st, &info, err)) < 0)
		goto out;
	*run = info.id;
	for (size_t i = 0; i < sel.n; i++) {
		const struct am_condition *c = sel.conds[i];
		size_t n = json_array_size(c->candidates);
		if (n == 0)
			continue;
		if ((rc = am_store_put_condition(st, *run, c, err)) < 0)
			goto out;
		am_free(lp);
		am_free(p);
		am_free(nt);
		lp = am_calloc(n, sizeof(*lp));
		p = am_calloc(n, sizeof(*p));
		nt = am_calloc(n, sizeof(*nt));
		if (!lp || !p || !nt) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
		am_buf_reset(&ctx);
		if ((rc = choice_context(c, &ctx, err)) < 0)
			goto out;
		for (size_t k = 0; k < n; k++) {
			const char *text =
			    am_json_get_str_or(json_array_get(c->candidates, k), "text", "");
			if ((rc = am_model_logprob(model, ctx.data, text, &lp[k], &nt[k], err)) <
			    0) {
				am_err_prefix(err, "condition %s, candidate %s", c->id,
				              am_json_get_str_or(json_array_get(c->candidates, k),
				                                 "id", "?"));
				goto out;
			}
		}
		if ((rc = am_choice_probabilities(lp, nt, n, p, err)) < 0) {
			am_err_prefix(err, "condition %s", c->id);
			goto out;
		}
		for (size_t k = 0; k < n; k++) {
			const am_json *cand = json_array_get(c->candidates, k);
			if ((rc = am_store_put_choice(st, *run, c->id,
			                              am_json_get_str_or(cand, "id", "?"),
			                              am_json_get_str_or(cand, "label", "?"), lp[k],
			                              nt[k], p[k], err)) < 0)
				goto out;
		}
	}
	rc = am_store_set_run_status(st, *run, "finished", err);
out:
	am_buf_free(&ctx);
	am_free(lp);
	am_free(p);
	am_free(nt);
	am_free(params);
	selection_free(&sel);
	return rc;
}
