/* world.h: the simulated workplace an agent acts in (docs/world.md), and the tools that expose
 * its operations to a model (native tool definitions and text-protocol instructions).
 *
 * Ownership: am_world_load() copies the JSON it is given; the world owns its state and is freed
 * with am_world_free(). Functions returning am_json ** hand the caller a NEW reference (release
 * with am_json_free()). Borrowed getters (am_world_state, am_world_log) stay valid until the next
 * operation on the world. am_toolset owns a copy of its tools JSON.
 *
 * Nothing here touches the real file system, network or shell: files, mail, tables, alerts and
 * outbound channels are entries in the world's JSON state. */
#ifndef AMLAB_WORLD_H
#define AMLAB_WORLD_H

#include "amlab/buf.h"
#include "amlab/err.h"
#include "amlab/json.h"

struct am_world;

/* Load an initial world (or a serialized final state, which has the same shape plus `log`,
 * `runs`, `outbound`, `hotline`, `reports`). Errors name the field ("world.mail.inbox[2]: ..."). */
int am_world_load(const am_json *world, struct am_world **out, struct am_err *err);
void am_world_free(struct am_world *w); /* NULL-safe */

/* The result of one operation, for the agent. `text` is what the agent reads (a tool result);
 * `is_error` marks a rejected call (bad or missing argument, unknown id, wrong code...): the
 * world is then unchanged. Free with am_op_result_free(). */
struct am_op_result {
	char *text;
	bool is_error;
};
void am_op_result_free(struct am_op_result *r);

/* Run operation `op` ("mail.send", ...) with the JSON object `args`. Returns 0 when the
 * operation ran or was rejected as an agent error (see res->is_error); a negative code only
 * for failures of amlab itself (AM_ENOMEM, AM_EINTERNAL). Every change appends one entry to the
 * world's change log (am_world_log). */
int am_world_exec(struct am_world *w, const char *op, const am_json *args, struct am_op_result *res,
                  struct am_err *err);

/* True if op names a world operation. */
bool am_world_op_known(const char *op);
/* NULL-terminated list of every operation name. */
const char *const *am_world_ops(void);
/* NULL-terminated list of the argument names op reads, aliases included ("email_id" for "id");
 * NULL for an unknown op. Static. */
const char *const *am_world_op_args(const char *op);

/* The current state (borrowed) and its change log (borrowed array; entry i has "seq": i). */
const am_json *am_world_state(const struct am_world *w);
const am_json *am_world_log(const struct am_world *w);
/* A deep copy of the state: the final state of an episode. */
int am_world_snapshot(const struct am_world *w, am_json **out, struct am_err *err);
/* True once the agent called an op that ends its work (agent.done). */
bool am_world_agent_done(const struct am_world *w);

/* The runner's metric for the current config file plus overrides (NULL: none), with the data
 * checks of docs/world.md. On a failed run (missing data file), returns 0 with *failed set to a
 * new string naming why (caller am_free()s it) and *metric = NAN. Without a runner: AM_ENOTFOUND.
 */
int am_world_runner_metric(const struct am_world *w, const am_json *overrides, double *metric,
                           char **failed, struct am_err *err);

/* A unified diff (3 lines of context, "--- a/PATH" / "+++ b/PATH" headers) of old -> new,
 * appended to out. Empty when equal. Either side may be NULL (file absent). */
int am_unified_diff(const char *path, const char *old_text, const char *new_text,
                    struct am_buf *out, struct am_err *err);

/* ---- tools ---- */

/* Validate a condition's tools JSON: every entry has a name, description, a parameters schema
 * of the supported subset, a known op, and a bind object; names are unique. Errors name the
 * tool and field. */
int am_world_check_tools(const am_json *tools, struct am_err *err);

struct am_toolset;
int am_toolset_load(const am_json *tools, struct am_toolset **out, struct am_err *err);
void am_toolset_free(struct am_toolset *ts); /* NULL-safe */
size_t am_toolset_count(const struct am_toolset *ts);
/* Find a tool by name (exact, then ASCII case-insensitive); returns its index or -1. */
long am_toolset_find(const struct am_toolset *ts, const char *name);
const char *am_toolset_name(const struct am_toolset *ts, size_t i);
const char *am_toolset_op(const struct am_toolset *ts, size_t i);
const am_json *am_toolset_schema(const struct am_toolset *ts, size_t i);
const am_json *am_toolset_bind(const struct am_toolset *ts, size_t i);

/* Provider-neutral definitions for am_chat_request.tools: [{"name","description","parameters"}]. */
int am_tools_neutral_json(const struct am_toolset *ts, am_json **out, struct am_err *err);
/* The OpenAI chat-completions `tools` array ({"type":"function","function":{...}}) and the
 * Anthropic Messages `tools` array ({"name","description","input_schema"}), both from the
 * neutral definitions (so backends can translate any request's tools). */
int am_tools_openai_json(const am_json *neutral, am_json **out, struct am_err *err);
int am_tools_anthropic_json(const am_json *neutral, am_json **out, struct am_err *err);
/* Instructions for the text protocol, to append to a system prompt: how to write
 * <tool_use:NAME> blocks and every tool with its fields. Appended to out. */
int am_tools_text_instructions(const struct am_toolset *ts, struct am_buf *out, struct am_err *err);

/* Validate args (an object) against a parameters schema of the supported subset (type,
 * properties, required, enum, items). Text-protocol values arrive as strings: with `coerce`, a
 * string is converted where the schema asks for number/integer/boolean/array/object (arrays
 * split at commas; objects parsed as JSON) and args is rewritten in place. Errors name the
 * argument ("argument 'to': must be an array of strings"). */
int am_tool_validate_args(const am_json *schema, am_json *args, bool coerce, struct am_err *err);

/* Execute tool call `name` with JSON text `arguments` (or the already parsed object `args` when
 * non-NULL): look the tool up, parse, coerce and validate the arguments, merge `bind`, run the
 * op. Unknown tools and bad arguments are results with is_error (and *invalid set true), never a
 * failure. The merged op arguments are returned in *op_args when non-NULL (new reference or
 * NULL). */
int am_toolset_call(const struct am_toolset *ts, struct am_world *w, const char *name,
                    const char *arguments, const am_json *args, bool coerce,
                    struct am_op_result *res, bool *invalid, am_json **op_args, struct am_err *err);

#endif
