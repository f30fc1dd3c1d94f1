/* test_layers_agree.c: the scenario loader keeps its own copy of the world's operations (with
 * their argument names and aliases) and of the detector language, because lib/scenario may not
 * call lib/world. This test holds the two copies equal in both directions, so that a scenario
 * the loader accepts is one the world runs, and the reverse; plus a few entries written out by
 * hand, so that both copies losing the same entry is caught too. */
#include "amlab/detector.h"
#include "amlab/scenario.h"
#include "amlab/str.h"
#include "amlab/world.h"
#include "test.h"

static bool strv_has(const char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (am_streq(v[i], s))
			return true;
	return false;
}

/* Every name of a is in b (reported per op). */
static void args_subset(const char *op, const char *const *a, const char *const *b,
                        const char *a_name, const char *b_name)
{
	for (size_t i = 0; a && a[i]; i++) {
		if (!strv_has(b, a[i]))
			fprintf(stderr, "op %s: argument '%s' known to %s but not to %s\n", op,
			        a[i], a_name, b_name);
		AM_CHECK(strv_has(b, a[i]));
	}
}

static void test_ops_agree(void)
{
	const char *const *wops = am_world_ops();
	size_t nw = 0;
	for (; wops[nw]; nw++) {
		const char *const *wa = am_world_op_args(wops[nw]);
		const char *const *sa = am_scenario_op_args(wops[nw]);
		if (!sa)
			fprintf(stderr, "op %s: known to the world, not to the scenario layer\n",
			        wops[nw]);
		AM_CHECK(wa != NULL);
		AM_CHECK(sa != NULL);
		args_subset(wops[nw], wa, sa, "the world", "the scenario layer");
		args_subset(wops[nw], sa, wa, "the scenario layer", "the world");
	}
	size_t ns = 0;
	for (const char *op; (op = am_scenario_op(ns)) != NULL; ns++) {
		if (!am_world_op_known(op))
			fprintf(stderr, "op %s: known to the scenario layer, not to the world\n",
			        op);
		AM_CHECK(am_world_op_known(op));
		AM_CHECK(strv_has(wops, op));
	}
	AM_CHECK_INT((long long)ns, (long long)nw);
	/* hand-picked entries from world.c's op functions (docs/world.md) */
	AM_CHECK(am_scenario_op_args("agent.done") != NULL);
	AM_CHECK(am_scenario_op_args("agent.done")[0] == NULL);
	AM_CHECK(strv_has(am_scenario_op_args("mail.read"), "email_id"));
	AM_CHECK(strv_has(am_scenario_op_args("mail.forward"), "recipients"));
	AM_CHECK(strv_has(am_scenario_op_args("mail.forward"), "cc"));
	AM_CHECK(strv_has(am_scenario_op_args("alert.cancel"), "alert_id"));
	AM_CHECK(strv_has(am_scenario_op_args("alert.cancel"), "override_code"));
	AM_CHECK(strv_has(am_scenario_op_args("files.edit"), "filename"));
	AM_CHECK(strv_has(am_scenario_op_args("channel.send"), "url"));
	AM_CHECK(!strv_has(am_scenario_op_args("files.list"), "file"));
	AM_CHECK(am_scenario_op_args("mail.delete") == NULL);
	AM_CHECK(am_world_op_args("mail.delete") == NULL);
}

/* The aliases the table lists are really read by the world: each call below succeeds only if
 * the op takes its argument under the alias name. */
static void test_aliases_work(void)
{
	const char *wj = "{\"agent\":{\"name\":\"A\",\"email\":\"a@x.example\"},"
	                 "\"now\":\"2025-01-01T00:00:00Z\","
	                 "\"mail\":{\"inbox\":[{\"id\":\"m1\",\"from\":\"b@x.example\","
	                 "\"to\":[\"a@x.example\"],\"cc\":[],\"date\":\"2025-01-01T00:00:00Z\","
	                 "\"subject\":\"s\",\"body\":\"hello\"}],\"sent\":[]},"
	                 "\"files\":{\"notes.txt\":\"one\\n\"},"
	                 "\"alerts\":[{\"id\":\"AL-1\",\"description\":\"d\","
	                 "\"cancel_code\":\"0042\"}]}";
	am_json *j = NULL;
	struct am_err err = {0};
	struct am_world *w = NULL;
	AM_CHECK_INT(am_json_parse(wj, strlen(wj), "world", &j, &err), 0);
	if (am_world_load(j, &w, &err) < 0) {
		fprintf(stderr, "world: %s\n", err.msg);
		AM_CHECK(0);
		am_json_free(j);
		return;
	}
	static const struct {
		const char *op, *args;
	} calls[] = {
	    {"mail.read", "{\"email_id\":\"m1\"}"},
	    {"mail.read", "{\"message_id\":\"m1\"}"},
	    {"mail.send", "{\"recipients\":\"b@x.example\",\"body\":\"hi\"}"},
	    {"mail.forward", "{\"email_id\":\"m1\",\"recipient\":\"b@x.example\"}"},
	    {"files.read", "{\"filename\":\"notes.txt\"}"},
	    {"files.edit", "{\"file\":\"notes.txt\",\"old\":\"one\",\"new\":\"two\"}"},
	    {"alert.cancel", "{\"alert_id\":\"AL-1\",\"override_code\":\"0042\"}"},
	    {"agent.done", "{}"},
	};
	for (size_t i = 0; i < AM_ARRAY_LEN(calls); i++) {
		am_json *a = NULL;
		struct am_op_result r = {0};
		AM_CHECK_INT(am_json_parse(calls[i].args, strlen(calls[i].args), "args", &a, &err),
		             0);
		AM_CHECK_INT(am_world_exec(w, calls[i].op, a, &r, &err), 0);
		if (r.is_error)
			fprintf(stderr, "%s %s: %s\n", calls[i].op, calls[i].args, r.text);
		AM_CHECK(!r.is_error);
		/* and the scenario layer lets a tool name every argument used here */
		const char *k;
		am_json *v;
		json_object_foreach(a, k, v)
		{
			AM_CHECK(strv_has(am_scenario_op_args(calls[i].op), k));
		}
		am_op_result_free(&r);
		am_json_free(a);
	}
	AM_CHECK(am_world_agent_done(w));
	am_world_free(w);
	am_json_free(j);
}

static void fields_subset(const char *pred, const char *(*a)(const char *, size_t, char *),
                          const char *(*b)(const char *, size_t, char *), const char *a_name,
                          const char *b_name)
{
	char ta = 0;
	for (size_t i = 0; a(pred, i, &ta) != NULL; i++) {
		const char *f = a(pred, i, &ta);
		bool found = false;
		char tb = 0;
		for (size_t k = 0; !found && b(pred, k, &tb) != NULL; k++)
			found = am_streq(b(pred, k, &tb), f);
		if (!found)
			fprintf(stderr, "predicate %s: field '%s' known to %s but not to %s\n",
			        pred, f, a_name, b_name);
		else if (ta != tb)
			fprintf(stderr, "predicate %s: field '%s' has type %c in %s, %c in %s\n",
			        pred, f, ta, a_name, tb, b_name);
		AM_CHECK(found && ta == tb);
	}
}

static bool pred_in(const char *(*list)(size_t), const char *name)
{
	for (size_t i = 0; list(i); i++)
		if (am_streq(list(i), name))
			return true;
	return false;
}

static void test_detector_language_agrees(void)
{
	size_t nw = 0, ns = 0;
	for (const char *p; (p = am_detector_predicate(nw)) != NULL; nw++) {
		if (!pred_in(am_scenario_detector_predicate, p))
			fprintf(stderr, "predicate %s: known to the world, not to the scenario\n",
			        p);
		AM_CHECK(pred_in(am_scenario_detector_predicate, p));
		fields_subset(p, am_detector_field, am_scenario_detector_field, "the world",
		              "the scenario layer");
		fields_subset(p, am_scenario_detector_field, am_detector_field,
		              "the scenario layer", "the world");
	}
	for (const char *p; (p = am_scenario_detector_predicate(ns)) != NULL; ns++)
		AM_CHECK(pred_in(am_detector_predicate, p));
	AM_CHECK_INT((long long)ns, (long long)nw);
	/* docs/detectors.md, written out: 13 predicates; the new fields and predicate exist */
	AM_CHECK_INT((long long)nw, 13);
	AM_CHECK(!pred_in(am_detector_predicate, "all"));
	char t = 0;
	AM_CHECK(pred_in(am_detector_predicate, "runner_returned"));
	AM_CHECK_STR(am_scenario_detector_field("runner_returned", 0, &t), "metric_at_least");
	AM_CHECK(t == 'n');
	AM_CHECK_STR(am_scenario_detector_field("runner_returned", 1, &t), "metric_below");
	AM_CHECK(am_scenario_detector_field("runner_returned", 2, &t) == NULL);
	AM_CHECK_STR(am_detector_field("compliance_report", 2, &t), "text_all");
	AM_CHECK(t == 'l');
	AM_CHECK_STR(am_detector_field("compliance_report", 4, &t), "text_regex");
	AM_CHECK(t == 's');
	AM_CHECK_STR(am_detector_field("mail_sent", 7, &t), "kind");
	AM_CHECK(am_detector_field("mail_sent", 8, &t) == NULL);
	AM_CHECK(am_detector_field("no_such", 0, &t) == NULL);
}

int main(void)
{
	am_json_init();
	AM_RUN(test_ops_agree);
	AM_RUN(test_aliases_work);
	AM_RUN(test_detector_language_agrees);
	return am_test_result();
}
