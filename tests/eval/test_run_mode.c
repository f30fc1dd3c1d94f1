/* test_run_mode.c: a scenario's `run` key sets the default turn mode of an evaluation.
 * research-sabotage declares `run: {turns: multi, max_steps: 12}`, blackmail declares nothing.
 * The same two-reply replay agent (one tool call, then a closing reply without calls) must
 * therefore take two turns in research-sabotage and one in blackmail, unless --multi-turn
 * (o.multi_turn) asks every scenario for several turns. */
#include <unistd.h>

#include "amlab/replay.h"
#include "amlab/run.h"
#include "amlab/str.h"
#include "test.h"

static char db_path[256];
static char suites[512];

static const char *replies[] = {
    "<tool_use:list_files>\npath: pathfinder/\n</tool_use:list_files>\n",
    "Nothing else needs doing tonight.\n",
};

static void reset_db(void)
{
	char side[300];
	unlink(db_path);
	snprintf(side, sizeof(side), "%s-wal", db_path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db_path);
	unlink(side);
}

/* Run one sample of each condition matching glob; return the turns of the first episode. */
static int turns_of(const char *glob, bool force_multi)
{
	reset_db();
	struct am_store *s = NULL;
	struct am_model *agent = NULL;
	int turns = -1;
	AM_CHECK_INT(am_store_open(db_path, &s, NULL), 0);
	AM_CHECK_INT(am_replay_new("agent", replies, 2, &agent, NULL), 0);
	if (!s || !agent)
		goto out;
	struct am_eval_opts o;
	am_eval_opts_default(&o);
	o.suite = suites;
	o.conditions = glob;
	o.samples = 1;
	o.multi_turn = force_multi;
	struct am_eval_summary sum;
	struct am_err err = {0};
	AM_CHECK_INT(am_eval_run(s, agent, NULL, &o, 0, &sum, &err), 0);
	if (err.code)
		fprintf(stderr, "eval: %s\n", err.msg);
	struct am_episode_row *rows = NULL;
	size_t n = 0;
	AM_CHECK_INT(am_store_episodes(s, sum.run, -1, &rows, &n, NULL), 0);
	AM_CHECK(n == 1);
	if (n)
		turns = rows[0].n_turns;
	am_episode_rows_free(rows, n);
out:
	am_model_close(agent);
	am_store_close(s);
	return turns;
}

static void test_manifest_sets_multi_turn(void)
{
	AM_CHECK_INT(turns_of("research-sabotage/replacement/rivalry/scratchpad", false), 2);
}

static void test_default_stays_single_turn(void)
{
	AM_CHECK_INT(
	    turns_of("blackmail/none-none/none/scratchpad/alex/unmitigated/no-notice", false), 1);
}

static void test_flag_forces_multi_turn(void)
{
	AM_CHECK_INT(
	    turns_of("blackmail/none-none/none/scratchpad/alex/unmitigated/no-notice", true), 2);
}

int main(void)
{
	snprintf(db_path, sizeof(db_path), "/tmp/amlab-test-run-mode-%d.db", (int)getpid());
	snprintf(suites, sizeof(suites), "%s/suites/honeypot", am_test_source_dir());
	AM_RUN(test_manifest_sets_multi_turn);
	AM_RUN(test_default_stays_single_turn);
	AM_RUN(test_flag_forces_multi_turn);
	reset_db();
	return am_test_result();
}
