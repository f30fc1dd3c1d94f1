/* agent.c: the episode state machine (amlab/agent.h): requests out, replies in, tool calls
 * executed against the world, every step recorded as an event. */
#include "amlab/agent.h"

#include "amlab/alloc.h"
#include "amlab/detector.h"
#include "amlab/str.h"
#include "amlab/toolproto.h"
#include "amlab/world.h"

struct am_episode {
	struct am_episode_opts opts;
	char *condition_id;
	char *condition_hash;
	am_json *shared; /* holds references to the condition's immutable world and detectors */
	am_json *initial_world; /* borrowed from shared */
	am_json *detectors;     /* borrowed from shared; NULL when the condition has none */
	struct am_world *world;
	struct am_toolset *tools;
	am_json *native_tools; /* neutral definitions, native protocol only */
	struct am_chat_message *msgs;
	size_t n_msgs;
	struct am_chat_request req;
	am_json *events;
	int steps;
	long completion_tokens;
	long prompt_tokens;
	enum am_end_reason end;
	size_t log_seen; /* world log entries already turned into events */
};

void am_episode_opts_default(struct am_episode_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->protocol = AM_PROTOCOL_TEXT;
	o->multi_turn = false;
	o->max_steps = 20;
	o->temperature = 1.0;
	o->top_p = 1.0;
}

const char *am_end_reason_name(enum am_end_reason r)
{
	switch (r) {
	case AM_END_NONE: return "running";
	case AM_END_DONE: return "done";
	case AM_END_NO_CALL: return "no_call";
	case AM_END_SINGLE_TURN: return "single_turn";
	case AM_END_MAX_STEPS: return "max_steps";
	case AM_END_MAX_TOKENS: return "max_tokens";
	case AM_END_MODEL_ERROR: return "model_error";
	}
	return "unknown";
}

/* Append an event {"index","turn","type", ...fields of `ev`}; ev is not consumed. */
static int add_event(struct am_episode *e, const char *type, am_json *ev)
{
	if (am_json_set_int(ev, "index", (long long)json_array_size(e->events)) < 0 ||
	    am_json_set_int(ev, "turn", e->steps) < 0 || am_json_set_str(ev, "type", type) < 0 ||
	    am_json_push(e->events, ev) < 0)
		return AM_ENOMEM;
	return 0;
}

static int add_text_event(struct am_episode *e, const char *type, const char *key, const char *text)
{
	am_json *ev = am_json_obj_new();
	int rc = ev ? 0 : AM_ENOMEM;
	if (rc == 0 && text && am_json_set_str(ev, key, text) < 0)
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = add_event(e, type, ev);
	am_json_free(ev);
	return rc;
}

static int push_msg(struct am_episode *e, struct am_chat_message *m)
{
	struct am_chat_message *v = am_reallocarray(e->msgs, e->n_msgs + 1, sizeof(*v));
	if (!v)
		return AM_ENOMEM;
	e->msgs = v;
	e->msgs[e->n_msgs++] = *m;
	memset(m, 0, sizeof(*m));
	return 0;
}

static int push_text_msg(struct am_episode *e, enum am_role role, const char *text)
{
	struct am_chat_message m = {.role = role};
	m.content = am_strdup(text ? text : "");
	if (!m.content)
		return AM_ENOMEM;
	int rc = push_msg(e, &m);
	am_chat_message_free(&m);
	return rc;
}

static void refresh_request(struct am_episode *e)
{
	struct am_chat_request *r = &e->req;
	r->messages = e->msgs;
	r->n_messages = e->n_msgs;
	r->tools = e->opts.protocol == AM_PROTOCOL_NATIVE ? e->native_tools : NULL;
	r->temperature = e->opts.temperature;
	r->top_p = e->opts.top_p;
	r->top_k = e->opts.top_k;
	r->min_p = e->opts.min_p;
	r->seed = e->opts.seed;
	r->sample_index = e->opts.sample_index;
	r->max_tokens = e->opts.max_reply_tokens;
	if (e->opts.max_tokens > 0) {
		long left = e->opts.max_tokens - e->completion_tokens;
		if (left > 0 && (r->max_tokens == 0 || left < r->max_tokens))
			r->max_tokens = (int)AM_MIN(left, (long)INT_MAX);
	}
}

int am_episode_new(const struct am_condition *c, const struct am_episode_opts *o,
                   struct am_episode **out, struct am_err *err)
{
	*out = NULL;
	struct am_episode *e = am_calloc(1, sizeof(*e));
	struct am_buf sys = AM_BUF_INIT;
	int rc = 0;
	if (!e)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	if (o)
		e->opts = *o;
	else
		am_episode_opts_default(&e->opts);
	if (e->opts.max_steps <= 0)
		e->opts.max_steps = 20;
	if (!(e->condition_id = am_strdup(c->id ? c->id : "")) ||
	    !(e->condition_hash = am_strdup(c->hash)) || !(e->events = am_json_arr_new())) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	if (!c->world) {
		rc = am_err_set(err, AM_EINVAL, "condition %s: no world", e->condition_id);
		goto out;
	}
	/* The condition's world and detectors are never modified (the world works on its own
	 * copy), so the episode keeps references instead of deep copies: they stay alive after
	 * the condition is freed. */
	if (!(e->shared = am_json_arr_new()) || am_json_push(e->shared, c->world) < 0 ||
	    (c->detectors && am_json_push(e->shared, c->detectors) < 0)) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	e->initial_world = json_array_get(e->shared, 0);
	e->detectors = c->detectors ? json_array_get(e->shared, 1) : NULL;
	am_json *empty = NULL;
	if (!c->tools && !(empty = am_json_arr_new())) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	rc = am_toolset_load(c->tools ? c->tools : empty, &e->tools, err);
	am_json_free(empty);
	if (rc < 0 || (rc = am_world_load(c->world, &e->world, err)) < 0) {
		am_err_prefix(err, "condition %s", e->condition_id);
		goto out;
	}
	if ((rc = am_buf_puts(&sys, c->system_prompt ? c->system_prompt : "", err)) < 0)
		goto out;
	if (e->opts.protocol == AM_PROTOCOL_NATIVE) {
		if ((rc = am_tools_neutral_json(e->tools, &e->native_tools, err)) < 0)
			goto out;
	} else if (e->opts.tool_text == AM_TOOL_TEXT_ALWAYS ||
	           (e->opts.tool_text == AM_TOOL_TEXT_AUTO &&
	            !strstr(sys.data ? sys.data : "", "<tool_use:"))) {
		if (am_toolset_count(e->tools) &&
		    (rc = am_tools_text_instructions(e->tools, &sys, err)) < 0)
			goto out;
	}
	if ((rc = push_text_msg(e, AM_ROLE_SYSTEM, sys.data)) < 0 ||
	    (rc = push_text_msg(e, AM_ROLE_USER, c->user_prompt)) < 0 ||
	    (rc = add_text_event(e, "system", "content", sys.data ? sys.data : "")) < 0 ||
	    (rc = add_text_event(e, "user", "content", c->user_prompt ? c->user_prompt : "")) < 0) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	e->log_seen = json_array_size(am_world_log(e->world));
	refresh_request(e);
	*out = e;
	e = NULL;
out:
	am_buf_free(&sys);
	am_episode_free(e);
	return rc;
}

void am_episode_free(struct am_episode *e)
{
	if (!e)
		return;
	am_free(e->condition_id);
	am_free(e->condition_hash);
	am_json_free(e->shared);
	am_world_free(e->world);
	am_toolset_free(e->tools);
	am_json_free(e->native_tools);
	for (size_t i = 0; i < e->n_msgs; i++)
		am_chat_message_free(&e->msgs[i]);
	am_free(e->msgs);
	am_json_free(e->events);
	am_free(e);
}

const struct am_chat_request *am_episode_request(struct am_episode *e)
{
	return e->end == AM_END_NONE ? &e->req : NULL;
}

static int end_episode(struct am_episode *e, enum am_end_reason r)
{
	e->end = r;
	am_json *ev = am_json_obj_new();
	int rc = ev ? 0 : AM_ENOMEM;
	if (rc == 0 && (am_json_set_str(ev, "reason", am_end_reason_name(r)) < 0 ||
	                am_json_set_int(ev, "steps", e->steps) < 0 ||
	                am_json_set_int(ev, "completion_tokens", e->completion_tokens) < 0))
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = add_event(e, "end", ev);
	am_json_free(ev);
	return rc;
}

/* Turn new world-log entries into world_change events. */
static int world_events(struct am_episode *e, long call_event)
{
	const am_json *log = am_world_log(e->world);
	int rc = 0;
	for (; rc == 0 && e->log_seen < json_array_size(log); e->log_seen++) {
		am_json *ev = am_json_obj_new();
		rc = ev ? 0 : AM_ENOMEM;
		if (rc == 0 &&
		    (am_json_set(ev, "change", json_array_get(log, e->log_seen)) < 0 ||
		     am_json_set_str(
		         ev, "kind",
		         am_json_get_str_or(json_array_get(log, e->log_seen), "kind", "")) < 0 ||
		     (call_event >= 0 && am_json_set_int(ev, "call_event", call_event) < 0)))
			rc = AM_ENOMEM;
		if (rc == 0)
			rc = add_event(e, "world_change", ev);
		am_json_free(ev);
	}
	return rc;
}

/* One call, executed: events tool_call, [invalid_call], world_change*, tool_result; the result
 * text is appended to results (text protocol) or pushed as a tool message (native). */
struct pending_call {
	const char *id;
	const char *name;
	const char *arguments; /* JSON text (native), or NULL */
	const am_json *args;   /* parsed fields (text), or NULL */
	const char *parse_error;
	const char *source;
};

static int run_call(struct am_episode *e, const struct pending_call *pc, bool native_reply,
                    struct am_buf *results, bool *any_valid, struct am_err *err)
{
	am_json *ev = am_json_obj_new();
	struct am_op_result res = {0};
	am_json *op_args = NULL;
	int rc = ev ? 0 : AM_ENOMEM;
	if (rc == 0 && (am_json_set_str(ev, "call_id", pc->id) < 0 ||
	                am_json_set_str(ev, "tool", pc->name ? pc->name : "") < 0 ||
	                am_json_set_str(ev, "source", pc->source) < 0 ||
	                (pc->args && am_json_set(ev, "arguments", (am_json *)pc->args) < 0) ||
	                (!pc->args && pc->arguments &&
	                 am_json_set_str(ev, "arguments_text", pc->arguments) < 0)))
		rc = AM_ENOMEM;
	long long call_index = (long long)json_array_size(e->events);
	bool invalid = false;
	if (rc == 0 && pc->parse_error) {
		invalid = true;
		res.is_error = true;
		struct am_buf b = AM_BUF_INIT;
		rc = am_buf_printf(&b, NULL, "invalid tool call%s%s: %s",
		                   pc->name && *pc->name ? " " : "", pc->name ? pc->name : "",
		                   pc->parse_error);
		res.text = rc == 0 ? am_buf_detach(&b, NULL, NULL) : NULL;
		am_buf_free(&b);
		if (!res.text)
			rc = AM_ENOMEM;
	} else if (rc == 0) {
		rc = am_toolset_call(e->tools, e->world, pc->name, pc->arguments, pc->args, true,
		                     &res, &invalid, &op_args, err);
		long ti = am_toolset_find(e->tools, pc->name);
		if (rc == 0 && ti >= 0 &&
		    am_json_set_str(ev, "op", am_toolset_op(e->tools, (size_t)ti)) < 0)
			rc = AM_ENOMEM;
		if (rc == 0 && op_args && am_json_set(ev, "op_args", op_args) < 0)
			rc = AM_ENOMEM;
	}
	if (rc == 0 && am_json_set_bool(ev, "valid", !invalid) < 0)
		rc = AM_ENOMEM;
	if (rc == 0)
		rc = add_event(e, "tool_call", ev);
	if (rc == 0 && invalid) {
		am_json *iv = am_json_obj_new();
		rc = iv ? 0 : AM_ENOMEM;
		if (rc == 0 && (am_json_set_str(iv, "tool", pc->name ? pc->name : "") < 0 ||
		                am_json_set_str(iv, "error", res.text) < 0 ||
		                am_json_set_int(iv, "call_event", call_index) < 0))
			rc = AM_ENOMEM;
		if (rc == 0)
			rc = add_event(e, "invalid_call", iv);
		am_json_free(iv);
	}
	if (rc == 0)
		rc = world_events(e, call_index);
	if (rc == 0) {
		am_json *rv = am_json_obj_new();
		rc = rv ? 0 : AM_ENOMEM;
		if (rc == 0 && (am_json_set_str(rv, "call_id", pc->id) < 0 ||
		                am_json_set_str(rv, "tool", pc->name ? pc->name : "") < 0 ||
		                am_json_set_bool(rv, "is_error", res.is_error) < 0 ||
		                am_json_set_str(rv, "content", res.text) < 0 ||
		                am_json_set_int(rv, "call_event", call_index) < 0))
			rc = AM_ENOMEM;
		if (rc == 0)
			rc = add_event(e, "tool_result", rv);
		am_json_free(rv);
	}
	if (rc == 0 && !invalid)
		*any_valid = true;
	if (rc == 0) {
		if (native_reply) {
			struct am_chat_message m = {.role = AM_ROLE_TOOL};
			m.content = am_strdup(res.is_error ? "" : res.text);
			if (res.is_error) {
				am_free(m.content);
				struct am_buf b = AM_BUF_INIT;
				m.content = am_buf_printf(&b, NULL, "Error: %s", res.text) == 0
				                ? am_buf_detach(&b, NULL, NULL)
				                : NULL;
				am_buf_free(&b);
			}
			m.tool_call_id = am_strdup(pc->id);
			m.name = am_strdup(pc->name ? pc->name : "");
			rc = m.content && m.tool_call_id && m.name ? push_msg(e, &m) : AM_ENOMEM;
			am_chat_message_free(&m);
		} else {
			const char *n = pc->name && *pc->name ? pc->name : "unknown";
			rc = am_buf_printf(results, NULL,
			                   "<tool_result:%s>\n%s%s\n</tool_result:%s>\n\n", n,
			                   res.is_error ? "Error: " : "", res.text, n);
		}
	}
	am_op_result_free(&res);
	am_json_free(op_args);
	am_json_free(ev);
	if (rc == AM_ENOMEM)
		am_err_set(err, AM_ENOMEM, "out of memory");
	return rc;
}

int am_episode_feed(struct am_episode *e, const struct am_chat_reply *reply, struct am_err *err)
{
	if (e->end != AM_END_NONE)
		return am_err_set(err, AM_ESTATE, "episode %s has ended (%s)", e->condition_id,
		                  am_end_reason_name(e->end));
	int rc = 0;
	char *action = NULL, *reasoning = NULL;
	struct am_buf why = AM_BUF_INIT, results = AM_BUF_INIT;
	struct am_text_calls tc = {0};
	am_json *ev = NULL;
	e->steps++;
	e->completion_tokens += reply->completion_tokens > 0 ? reply->completion_tokens : 0;
	e->prompt_tokens += reply->prompt_tokens > 0 ? reply->prompt_tokens : 0;
	if (reply->status != AM_REPLY_OK) {
		if (!(ev = am_json_obj_new()) ||
		    am_json_set_str(ev, "error_kind", reply->error_kind ? reply->error_kind : "") <
		        0 ||
		    am_json_set_str(ev, "error", reply->error ? reply->error : "") < 0 ||
		    add_event(e, "model_error", ev) < 0 || end_episode(e, AM_END_MODEL_ERROR) < 0)
			rc = AM_ENOMEM;
		goto out;
	}
	/* Reasoning apart from actions: tags in the content, plus the provider's own field. */
	if ((rc = am_split_reasoning(reply->content, &action, &reasoning, err)) < 0)
		goto out;
	if (reply->reasoning && *reply->reasoning) {
		rc = am_buf_puts(&why, reply->reasoning, NULL);
		if (rc == 0 && reasoning)
			rc = am_buf_printf(&why, NULL, "\n\n%s", reasoning);
	} else if (reasoning) {
		rc = am_buf_puts(&why, reasoning, NULL);
	}
	/* The assistant turn as the model wrote it, for the next request. */
	struct am_chat_message m = {.role = AM_ROLE_ASSISTANT};
	m.content = am_strdup(reply->content ? reply->content : "");
	m.reasoning = reply->reasoning ? am_strdup(reply->reasoning) : NULL;
	if (rc < 0 || !m.content || (reply->reasoning && !m.reasoning)) {
		am_chat_message_free(&m);
		rc = AM_ENOMEM;
		goto out;
	}
	if (reply->n_tool_calls) {
		struct am_chat_message tmp = {.tool_calls = reply->tool_calls,
		                              .n_tool_calls = reply->n_tool_calls};
		struct am_chat_message copy;
		if (am_chat_message_copy(&copy, &tmp) < 0) {
			am_chat_message_free(&m);
			rc = AM_ENOMEM;
			goto out;
		}
		m.tool_calls = copy.tool_calls;
		m.n_tool_calls = copy.n_tool_calls;
	}
	if ((rc = push_msg(e, &m)) < 0) {
		am_chat_message_free(&m);
		goto out;
	}
	if (!(ev = am_json_obj_new()) ||
	    am_json_set_str(ev, "content", reply->content ? reply->content : "") < 0 ||
	    am_json_set_str(ev, "action", action) < 0 ||
	    (why.len && am_json_set_str(ev, "reasoning", why.data) < 0) ||
	    (reply->finish_reason &&
	     am_json_set_str(ev, "finish_reason", reply->finish_reason) < 0) ||
	    am_json_set_int(ev, "completion_tokens", reply->completion_tokens) < 0 ||
	    am_json_set_int(ev, "prompt_tokens", reply->prompt_tokens) < 0 ||
	    am_json_set_bool(ev, "from_cache", reply->from_cache) < 0 ||
	    add_event(e, "assistant", ev) < 0) {
		rc = AM_ENOMEM;
		goto out;
	}
	bool native = reply->n_tool_calls > 0;
	bool any_call = false, any_valid = false;
	if (native) {
		for (size_t i = 0; rc == 0 && i < reply->n_tool_calls; i++) {
			const struct am_tool_call *c = &reply->tool_calls[i];
			char idbuf[48];
			am_snprintf(idbuf, sizeof(idbuf), "call_%d_%zu", e->steps, i);
			struct pending_call pc = {c->id ? c->id : idbuf,
			                          c->name ? c->name : "",
			                          c->arguments ? c->arguments : "",
			                          NULL,
			                          NULL,
			                          "native"};
			any_call = true;
			rc = run_call(e, &pc, true, &results, &any_valid, err);
		}
	} else {
		if ((rc = am_toolproto_parse(action, strlen(action), e->tools, &tc, err)) < 0)
			goto out;
		for (size_t i = 0; rc == 0 && i < tc.n; i++) {
			char idbuf[48];
			am_snprintf(idbuf, sizeof(idbuf), "text_%d_%zu", e->steps, i);
			struct pending_call pc = {idbuf,        tc.v[i].name,  NULL,
			                          tc.v[i].args, tc.v[i].error, "text"};
			any_call = true;
			rc = run_call(e, &pc, false, &results, &any_valid, err);
		}
		if (rc == 0 && results.len)
			rc = push_text_msg(e, AM_ROLE_USER, results.data);
	}
	if (rc < 0)
		goto out;
	(void)any_valid;
	if (am_world_agent_done(e->world))
		rc = end_episode(e, AM_END_DONE);
	else if (!any_call)
		rc = end_episode(e, AM_END_NO_CALL);
	else if (!e->opts.multi_turn)
		rc = end_episode(e, AM_END_SINGLE_TURN);
	else if (e->opts.max_tokens > 0 && e->completion_tokens >= e->opts.max_tokens)
		rc = end_episode(e, AM_END_MAX_TOKENS);
	else if (e->steps >= e->opts.max_steps)
		rc = end_episode(e, AM_END_MAX_STEPS);
	refresh_request(e);
out:
	am_text_calls_free(&tc);
	am_json_free(ev);
	am_free(action);
	am_free(reasoning);
	am_buf_free(&why);
	am_buf_free(&results);
	if (rc == AM_ENOMEM)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	return rc;
}

int am_episode_run(struct am_episode *e, struct am_model *m, struct am_err *err)
{
	const struct am_chat_request *req;
	while ((req = am_episode_request(e)) != NULL) {
		struct am_chat_reply reply;
		int rc = am_model_chat(m, req, &reply, err);
		if (rc < 0) {
			struct am_chat_reply failed = {0};
			char msg[AM_ERR_MSG_MAX];
			am_snprintf(msg, sizeof(msg), "%s", err ? err->msg : "model run failed");
			if (am_chat_reply_set_error(&failed, "internal", "%s", msg) == 0)
				am_episode_feed(e, &failed, NULL);
			am_chat_reply_free(&failed);
			am_chat_reply_free(&reply);
			return rc;
		}
		rc = am_episode_feed(e, &reply, err);
		am_chat_reply_free(&reply);
		if (rc < 0)
			return rc;
	}
	return 0;
}

bool am_episode_finished(const struct am_episode *e)
{
	return e->end != AM_END_NONE;
}
enum am_end_reason am_episode_end_reason(const struct am_episode *e)
{
	return e->end;
}
int am_episode_steps(const struct am_episode *e)
{
	return e->steps;
}
long am_episode_completion_tokens(const struct am_episode *e)
{
	return e->completion_tokens;
}
const am_json *am_episode_events(const struct am_episode *e)
{
	return e->events;
}
const struct am_world *am_episode_world(const struct am_episode *e)
{
	return e->world;
}
const am_json *am_episode_initial_world(const struct am_episode *e)
{
	return e->initial_world;
}

int am_episode_final_state(const struct am_episode *e, am_json **out, struct am_err *err)
{
	return am_world_snapshot(e->world, out, err);
}

int am_episode_detect(const struct am_episode *e, am_json **out, struct am_err *err)
{
	*out = NULL;
	struct am_detectors *d = NULL;
	am_json *empty = NULL;
	if (!e->detectors && !(empty = am_json_arr_new()))
		return am_err_set(err, AM_ENOMEM, "out of memory");
	int rc = am_detectors_compile(e->detectors ? e->detectors : empty, &d, err);
	if (rc == 0)
		rc = am_detectors_eval(d, e->events, e->initial_world, am_world_state(e->world),
		                       out, err);
	am_detectors_free(d);
	am_json_free(empty);
	return rc;
}

int am_episode_transcript(const struct am_episode *e, am_json **out, struct am_err *err)
{
	*out = NULL;
	am_json *t = am_json_obj_new(), *fs = NULL;
	int rc = t ? 0 : AM_ENOMEM;
	if (rc == 0)
		rc = am_world_snapshot(e->world, &fs, err);
	if (rc == 0 &&
	    (am_json_set_str(t, "format", "amlab-transcript/1") < 0 ||
	     am_json_set_str(t, "condition", e->condition_id) < 0 ||
	     am_json_set_str(t, "condition_hash", e->condition_hash) < 0 ||
	     am_json_set_str(t, "protocol",
	                     e->opts.protocol == AM_PROTOCOL_NATIVE ? "native" : "text") < 0 ||
	     am_json_set_str(t, "mode", e->opts.multi_turn ? "multi_turn" : "single_turn") < 0 ||
	     am_json_set_str(t, "end_reason", am_end_reason_name(e->end)) < 0 ||
	     am_json_set_int(t, "steps", e->steps) < 0 ||
	     am_json_set_int(t, "completion_tokens", e->completion_tokens) < 0 ||
	     am_json_set_int(t, "prompt_tokens", e->prompt_tokens) < 0 ||
	     am_json_set(t, "events", e->events) < 0 || am_json_set(t, "final_state", fs) < 0))
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
	am_json_free(fs);
	if (rc < 0) {
		am_json_free(t);
		return rc;
	}
	*out = t;
	return 0;
}
