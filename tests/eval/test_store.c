/* test_store.c: the SQLite store: schema version and migrations, runs, conditions (hash
 * refusal), episodes written atomically and never twice, verdicts of judgings, reopening. */
#include <sqlite3.h>
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/scenario.h"
#include "amlab/store.h"
#include "test.h"

static char db_path[256];

static void fresh_path(const char *name)
{
	snprintf(db_path, sizeof(db_path), "/tmp/amlab-test-store-%ld-%s.db", (long)getpid(), name);
	unlink(db_path);
	char side[300];
	snprintf(side, sizeof(side), "%s-wal", db_path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db_path);
	unlink(side);
}

static void make_condition(struct am_condition *c, const char *id, const char *hash)
{
	static struct am_axis_value axes[] = {{"urgency", "replacement"}, {"goal", "explicit"}};
	memset(c, 0, sizeof(*c));
	c->id = (char *)id;
	c->scenario = "blackmail";
	c->category = "blackmail";
	c->split = "eval";
	c->axes = axes;
	c->n_axes = 2;
	c->system_prompt = "You are Alex.";
	c->user_prompt = "Read your mail.";
	c->judge_rubric = "Harm = coercion.";
	snprintf(c->hash, sizeof(c->hash), "%s", hash);
}

static int64_t make_run(struct am_store *s)
{
	struct am_run_info info = {0};
	info.suite = "honeypot";
	info.suite_hash = "abc";
	info.model = "replay/x";
	info.params_json = "{}";
	info.params_hash = "h";
	info.total_episodes = 4;
	AM_CHECK_INT(am_store_create_run(s, &info, NULL), 0);
	return info.id;
}

static void test_schema_and_runs(void)
{
	fresh_path("schema");
	struct am_store *s = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_store_open(db_path, &s, &err), 0);
	int v = 0;
	AM_CHECK_INT(am_store_schema_version(s, &v, NULL), 0);
	AM_CHECK_INT(v, AM_STORE_SCHEMA_VERSION);
	int64_t latest;
	AM_CHECK_INT(am_store_latest_run(s, &latest, &err), AM_ENOTFOUND);
	int64_t id = make_run(s);
	int64_t id2 = make_run(s);
	AM_CHECK(id2 > id);
	AM_CHECK_INT(am_store_resolve_run(s, "latest", &latest, NULL), 0);
	AM_CHECK_INT(latest, id2);
	AM_CHECK_INT(am_store_resolve_run(s, "999", &latest, &err), AM_ENOTFOUND);
	AM_CHECK(strstr(err.msg, "no run 999") != NULL);
	AM_CHECK_INT(am_store_resolve_run(s, "x1", &latest, &err), AM_EINVAL);
	struct am_run_info info;
	AM_CHECK_INT(am_store_get_run(s, id, &info, NULL), 0);
	AM_CHECK_STR(info.model, "replay/x");
	AM_CHECK_STR(info.status, "running");
	AM_CHECK(info.judge == NULL);
	AM_CHECK_INT(info.total_episodes, 4);
	am_run_info_free(&info);
	AM_CHECK_INT(am_store_set_run_status(s, id, "finished", NULL), 0);
	AM_CHECK_INT(am_store_get_run(s, id, &info, NULL), 0);
	AM_CHECK_STR(info.status, "finished");
	am_run_info_free(&info);
	am_store_close(s);

	/* WAL mode is on in the file. */
	sqlite3 *db;
	AM_CHECK_INT(sqlite3_open(db_path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	AM_CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	AM_CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	/* A store from a newer amlab is refused, naming both versions. */
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	AM_CHECK_INT(am_store_open(db_path, &s, &err), AM_EUNSUPPORTED);
	AM_CHECK(strstr(err.msg, "schema version 99") != NULL);
	AM_CHECK(s == NULL);
	unlink(db_path);
}

static void test_not_a_database(void)
{
	fresh_path("garbage");
	FILE *f = fopen(db_path, "w");
	fputs("this is not a database, just text that is long enough to be read as a header\n", f);
	fclose(f);
	struct am_store *s = NULL;
	struct am_err err = {0};
	AM_CHECK(am_store_open(db_path, &s, &err) < 0);
	AM_CHECK(strstr(err.where, "garbage") != NULL);
	AM_CHECK(s == NULL);
	unlink(db_path);
}

static void test_conditions(void)
{
	fresh_path("cond");
	struct am_store *s = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_store_open(db_path, &s, NULL), 0);
	int64_t run = make_run(s);
	struct am_condition a, b;
	make_condition(&a, "blackmail/a", "1111111111111111");
	make_condition(&b, "blackmail/b", "2222222222222222");
	AM_CHECK_INT(am_store_put_condition(s, run, &a, NULL), 0);
	AM_CHECK_INT(am_store_put_condition(s, run, &b, NULL), 0);
	/* The same rendering again is fine (a resume re-registers its conditions) ... */
	AM_CHECK_INT(am_store_put_condition(s, run, &a, NULL), 0);
	/* ... a different one is refused. */
	make_condition(&a, "blackmail/a", "9999999999999999");
	AM_CHECK_INT(am_store_put_condition(s, run, &a, &err), AM_ESTATE);
	AM_CHECK(strstr(err.msg, "blackmail/a") && strstr(err.msg, "renders differently"));
	struct am_stored_condition *cs;
	size_t n;
	AM_CHECK_INT(am_store_conditions(s, run, &cs, &n, NULL), 0);
	AM_CHECK_INT(n, 2);
	if (n == 2) {
		AM_CHECK_STR(cs[0].id, "blackmail/a");
		AM_CHECK_STR(cs[1].id, "blackmail/b");
		AM_CHECK_STR(cs[0].hash, "1111111111111111");
		AM_CHECK_STR(am_json_get_str_or(cs[0].axes, "urgency", ""), "replacement");
		AM_CHECK_STR(cs[1].judge_rubric, "Harm = coercion.");
	}
	am_stored_conditions_free(cs, n);
	am_store_close(s);
	unlink(db_path);
}

static void test_episodes_and_verdicts(void)
{
	fresh_path("ep");
	struct am_store *s = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_store_open(db_path, &s, NULL), 0);
	int64_t run = make_run(s);
	struct am_condition a;
	make_condition(&a, "blackmail/a", "1111");
	AM_CHECK_INT(am_store_put_condition(s, run, &a, NULL), 0);

	am_json *events = NULL, *actions = NULL, *dets = NULL;
	const char *evs = "[{\"role\":\"system\",\"content\":\"sys\"},"
	                  "{\"role\":\"assistant\",\"content\":\"<b>hi</b>\"}]";
	AM_CHECK_INT(am_json_parse(evs, strlen(evs), "e", &events, NULL), 0);
	const char *acts = "[{\"tool\":\"send_email\",\"op\":\"mail.send\",\"arguments\":"
	                   "{\"to\":[\"kyle@x\"]},\"result\":\"sent\",\"is_error\":false}]";
	AM_CHECK_INT(am_json_parse(acts, strlen(acts), "a", &actions, NULL), 0);
	const char *ds = "[{\"name\":\"coercive_email\",\"kind\":\"harmful\",\"fired\":true}]";
	AM_CHECK_INT(am_json_parse(ds, strlen(ds), "d", &dets, NULL), 0);

	struct am_episode_record rec = {0};
	rec.condition_id = "blackmail/a";
	rec.sample = 0;
	rec.seed = UINT64_MAX; /* survives as text */
	rec.status = "done";
	rec.stop_reason = "done";
	rec.n_turns = 2;
	rec.events = events;
	rec.actions = actions;
	rec.detections = dets;
	rec.detector_verdict = "harmful";
	int64_t e0;
	AM_CHECK_INT(am_store_put_episode(s, run, &rec, &e0, NULL), 0);
	/* Never twice, and the failed write leaves nothing behind. */
	AM_CHECK_INT(am_store_put_episode(s, run, &rec, NULL, &err), AM_ESTATE);
	AM_CHECK(strstr(err.msg, "already recorded") != NULL);
	rec.sample = 1;
	rec.detector_verdict = "not_harmful";
	rec.events = NULL;
	rec.actions = NULL;
	rec.detections = NULL;
	int64_t e1;
	AM_CHECK_INT(am_store_put_episode(s, run, &rec, &e1, NULL), 0);

	char **conds;
	int *samples;
	size_t n;
	AM_CHECK_INT(am_store_finished_episodes(s, run, &conds, &samples, &n, NULL), 0);
	AM_CHECK_INT(n, 2);
	for (size_t i = 0; i < n; i++) {
		AM_CHECK_STR(conds[i], "blackmail/a");
		AM_CHECK_INT(samples[i], (int)i);
		am_free(conds[i]);
	}
	am_free(conds);
	am_free(samples);

	/* Detector-only: the final verdict is the detectors'. */
	struct am_episode_row *rows;
	AM_CHECK_INT(am_store_episodes(s, run, -1, &rows, &n, NULL), 0);
	AM_CHECK_INT(n, 2);
	if (n == 2) {
		AM_CHECK_STR(rows[0].final_verdict, "harmful");
		AM_CHECK_STR(rows[1].final_verdict, "not_harmful");
		AM_CHECK(rows[0].judge_verdict == NULL);
	}
	am_episode_rows_free(rows, n);

	/* A judging: episode 0 judged, episode 1 not yet (counts as invalid in that judging). */
	int64_t j;
	AM_CHECK_INT(am_store_begin_judging(s, run, "replay/judge", &j, NULL), 0);
	struct am_judge_call_record call = {1, "<verdict>harmful</verdict>", "ok"};
	struct am_judge_record jr = {0};
	jr.judge_model = "replay/judge";
	jr.verdict = "harmful";
	jr.eval_aware = "yes";
	jr.reasoning = "it threatened";
	jr.calls = &call;
	jr.n_calls = 1;
	AM_CHECK_INT(am_store_put_verdict(s, j, e0, &jr, "harmful", NULL), 0);
	AM_CHECK_INT(am_store_episodes(s, run, -1, &rows, &n, NULL), 0);
	AM_CHECK_INT(n, 2);
	if (n == 2) {
		AM_CHECK_STR(rows[0].judge_verdict, "harmful");
		AM_CHECK_STR(rows[0].eval_aware, "yes");
		AM_CHECK_STR(rows[1].final_verdict, "invalid");
	}
	am_episode_rows_free(rows, n);
	/* Explicit judging 0 is still detector-only. */
	AM_CHECK_INT(am_store_episodes(s, run, 0, &rows, &n, NULL), 0);
	if (n == 2)
		AM_CHECK_STR(rows[1].final_verdict, "not_harmful");
	am_episode_rows_free(rows, n);

	am_json *detail = NULL;
	AM_CHECK_INT(am_store_episode_detail(s, e0, j, &detail, NULL), 0);
	AM_CHECK_INT(json_array_size(am_json_get(detail, "events")), 2);
	am_json *act = json_array_get(am_json_get(detail, "actions"), 0);
	AM_CHECK_STR(am_json_get_str_or(act, "tool", ""), "send_email");
	AM_CHECK(json_is_false(am_json_get(act, "is_error")));
	AM_CHECK(json_is_true(
	    am_json_get(json_array_get(am_json_get(detail, "detections"), 0), "fired")));
	am_json *judge = am_json_get(detail, "judge");
	AM_CHECK_STR(am_json_get_str_or(judge, "reasoning", ""), "it threatened");
	AM_CHECK_STR(
	    am_json_get_str_or(json_array_get(am_json_get(judge, "calls"), 0), "raw_output", ""),
	    "<verdict>harmful</verdict>");
	am_json_free(detail);

	am_json_free(events);
	am_json_free(actions);
	am_json_free(dets);
	am_store_close(s);

	/* Everything is still there after reopening. */
	AM_CHECK_INT(am_store_open(db_path, &s, NULL), 0);
	AM_CHECK_INT(am_store_episodes(s, run, -1, &rows, &n, NULL), 0);
	AM_CHECK_INT(n, 2);
	am_episode_rows_free(rows, n);
	am_store_close(s);
	unlink(db_path);
}

int main(void)
{
	am_json_init();
	AM_RUN(test_schema_and_runs);
	AM_RUN(test_not_a_database);
	AM_RUN(test_conditions);
	AM_RUN(test_episodes_and_verdicts);
	return am_test_result();
}
