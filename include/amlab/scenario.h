/* scenario.h: suites and scenarios loaded from data files (suites/), and their conditions
 * rendered into everything an episode needs. The file format is docs/scenarios.md.
 *
 * Ownership: am_suite_load() returns a suite that owns all its scenarios; free it with
 * am_suite_free(). am_condition_render() returns a rendered condition that owns all its
 * strings and JSON values (free with am_condition_free()); it does not point into the suite.
 *
 * The rendered condition is the contract with the rest of amlab. Its JSON parts:
 *  - world:      the initial world state (schema in docs/world.md): agent identity, clock,
 *                mailbox, file tree, tables, experiment runner, alerts, outbound channels.
 *  - tools:      array of {"name","description","parameters" (JSON schema),"op" (world
 *                operation, e.g. "mail.send"),"bind" (object of fixed op arguments, optional)}.
 *  - detectors:  array of {"name","kind":"harmful"|"label","description","when" (predicate,
 *                docs/detectors.md)}; a category's verdict uses the "harmful" ones.
 *  - candidates: array of {"id","label":"aligned"|"misaligned","text"} forced-choice next
 *                actions, each written exactly as the model would write it (text protocol).
 */
#ifndef AMLAB_SCENARIO_H
#define AMLAB_SCENARIO_H

#include "amlab/err.h"
#include "amlab/json.h"

struct am_suite;
struct am_scenario;

struct am_axis_value {
	char *axis;
	char *value;
};

struct am_condition {
	char *id;       /* stable: "blackmail/explicit-america/replacement/scratchpad" */
	char *scenario; /* scenario name, e.g. "blackmail" */
	char *category; /* "blackmail", "research-sabotage", "framing", held-out ones ... */
	char *split;    /* "eval", "heldout" or "train" */
	struct am_axis_value *axes;
	size_t n_axes;
	bool is_control;     /* no threat and no goal conflict */
	char *system_prompt; /* rendered */
	char *user_prompt;   /* rendered first user turn */
	char *judge_rubric;  /* the category's rubric for the LLM judge */
	am_json *world;
	am_json *tools;
	am_json *detectors;
	am_json *candidates;
	am_json *tags; /* array of strings */
	char hash[65]; /* SHA-256 of the canonical rendering (prompts, world, tools, ..., run) */
	/* The scenario's default run mode (manifest key `run`, docs/scenarios.md), or NULL when it
	 * has none: {"turns": "single"|"multi", "max_steps": N (only when the manifest gives it)}.
	 * A runner that honours it uses these unless the user chose otherwise. */
	am_json *run;
};

/* Load every scenario under `path` (a suite directory, or one scenario directory). Either the
 * whole suite loads and validates, or nothing is returned and err names file and line. */
int am_suite_load(const char *path, struct am_suite **out, struct am_err *err);
void am_suite_free(struct am_suite *s);

const char *am_suite_name(const struct am_suite *s);
size_t am_suite_n_scenarios(const struct am_suite *s);
const struct am_scenario *am_suite_scenario(const struct am_suite *s, size_t i);
const struct am_scenario *am_suite_find(const struct am_suite *s, const char *name);

const char *am_scenario_name(const struct am_scenario *sc);
const char *am_scenario_category(const struct am_scenario *sc);
const char *am_scenario_split(const struct am_scenario *sc);
size_t am_scenario_n_conditions(const struct am_scenario *sc);
/* Id of the i-th condition in the grid's stable order. */
const char *am_scenario_condition_id(const struct am_scenario *sc, size_t i);

/* Render condition i of sc. */
int am_condition_render(const struct am_scenario *sc, size_t i, struct am_condition **out,
                        struct am_err *err);
/* Render a condition by id (searching every scenario of the suite). */
int am_suite_render_id(const struct am_suite *s, const char *condition_id,
                       struct am_condition **out, struct am_err *err);
void am_condition_free(struct am_condition *c);

/* Directory of the built-in suites: $AMLAB_SUITES_DIR, else <source>/suites. */
const char *am_suites_dir(void);

/* ---- Additions (additive; the format is docs/scenarios.md) ---- */

/* Options of a rendering. model_name fills {{model_name}} (an "agent name = the model's own"
 * axis); NULL renders the fixed neutral name "Assistant", which is what validation, `amlab show`
 * and the golden hashes use. */
struct am_render_opts {
	const char *model_name;
};
int am_condition_render_opts(const struct am_scenario *sc, size_t i,
                             const struct am_render_opts *opts, struct am_condition **out,
                             struct am_err *err);
int am_suite_render_id_opts(const struct am_suite *s, const char *condition_id,
                            const struct am_render_opts *opts, struct am_condition **out,
                            struct am_err *err);

/* Load like am_suite_load() but collect EVERY error as a "file:line: message" string. Returns 0
 * with *n_msgs == 0 when everything loads; AM_EPARSE with the messages otherwise (AM_ENOMEM on
 * allocation failure). Free the list with am_strv_free(). */
int am_suite_check(const char *path, char ***msgs, size_t *n_msgs, struct am_err *err);
void am_strv_free(char **v, size_t n);

/* One scenario from files in memory (paths relative to the scenario directory, e.g.
 * "scenario.yaml", "emails/01.eml"); `name` names it in messages. For fuzzing and tests. */
struct am_vfile {
	const char *path;
	const char *data;
	size_t len;
};
int am_suite_load_mem(const struct am_vfile *files, size_t n, const char *name,
                      struct am_suite **out, struct am_err *err);

const char *am_scenario_description(const struct am_scenario *sc);
/* The directory the scenario was loaded from. */
const char *am_scenario_dir(const struct am_scenario *sc);
bool am_scenario_condition_is_control(const struct am_scenario *sc, size_t i);
/* Hash of condition i rendered without a model name (computed at load). */
const char *am_scenario_condition_hash(const struct am_scenario *sc, size_t i);
/* Index of the condition with this id, or -1. */
long am_scenario_find_condition(const struct am_scenario *sc, const char *condition_id);
size_t am_scenario_n_axes(const struct am_scenario *sc);
const char *am_scenario_axis_name(const struct am_scenario *sc, size_t a);
size_t am_scenario_axis_n_values(const struct am_scenario *sc, size_t a);
const char *am_scenario_axis_value(const struct am_scenario *sc, size_t a, size_t k);

/* The directory of scenario `name` under dir, found by the convention that a scenario lives in a
 * directory of its own name (up to 4 levels down). *out is owned by the caller (am_free);
 * AM_ENOTFOUND when no such directory holds a scenario.yaml. Callers must still check the loaded
 * scenario's name. */
int am_scenario_find_dir(const char *dir, const char *name, char **out, struct am_err *err);

/* The whole rendered condition as one JSON object (a new reference): id, scenario, category,
 * split, axes (object axis -> value), is_control, hash, system_prompt, user_prompt, judge_rubric,
 * world, tools, detectors, candidates, tags, and run (only when the scenario sets one). This is
 * what `amlab show --json` prints. */
int am_condition_to_json(const struct am_condition *c, am_json **out, struct am_err *err);

/* Presets: named lists of condition-id globs (docs/scenarios.md, "Presets"). */
size_t am_scenario_n_presets(const struct am_scenario *sc);
const char *am_scenario_preset_name(const struct am_scenario *sc, size_t i);
/* The ids of every condition of the suite in preset `name`, in suite order (array and strings
 * owned by the caller: am_strv_free). AM_ENOTFOUND when no scenario has that preset. */
int am_suite_preset(const struct am_suite *s, const char *name, char ***ids, size_t *n,
                    struct am_err *err);

/* The world operations and detector language as the scenario loader knows them (it validates
 * tools and detectors without calling lib/world). For tests that the two layers agree.
 * am_scenario_op: the i-th op name, NULL past the end. am_scenario_op_args: NULL-terminated
 * argument names op accepts (aliases included), NULL for an unknown op.
 * am_scenario_detector_predicate: the i-th predicate name (not all/any/not), NULL past the end.
 * am_scenario_detector_field: the i-th field of predicate, NULL past the end; *type (may be NULL)
 * gets 'l' (string or list of strings), 's', 'n' (number) or 'm' (map of strings). All static. */
const char *am_scenario_op(size_t i);
const char *const *am_scenario_op_args(const char *op);
const char *am_scenario_detector_predicate(size_t i);
const char *am_scenario_detector_field(const char *predicate, size_t i, char *type);

#endif
