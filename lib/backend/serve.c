/* serve.c: an OpenAI-compatible server over any struct am_model, on libmicrohttpd (one thread
 * per connection; one model mutex, so concurrent clients queue). Every failure is an OpenAI-
 * shaped JSON error ({"error": {"message", "type", "param", "code"}}) with a fitting status. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/json.h"
#include "amlab/log.h"
#include "amlab/serve.h"
#include "amlab/str.h"

#define MAX_SEGMENTS 4096

struct am_server {
	struct MHD_Daemon *d;
	struct am_model *model;
	char *name;
	size_t max_body;
	int max_n;
	int port;
	pthread_mutex_t model_lock; /* held by whoever calls the model: dispatcher or scorer */
	pthread_mutex_t qlock;      /* guards the queue, the run list and the jobs in them */
	pthread_cond_t qcond;       /* work queued, or stopping */
	pthread_cond_t done_cond;   /* a job is done */
	pthread_t dispatcher;
	struct chat_job *qhead, *running;
	bool stopping;
	int batch, peak_batch; /* requests handed out in one run of the model */
	atomic_long requests;
	atomic_long next_id;
};

struct conn_ctx {
	struct am_buf body;
	bool too_large;
	bool responded; /* an answer was queued before the body arrived */
};

/* ---- responses ---- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const char *data, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	enum MHD_Result ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, const am_json *j)
{
	struct am_buf b = AM_BUF_INIT;
	if (am_json_dump(j, false, &b, NULL) < 0) {
		am_buf_free(&b);
		return MHD_NO;
	}
	enum MHD_Result ok = send_text(c, status, "application/json", b.data, b.len);
	am_buf_free(&b);
	return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *type,
                                  const char *code, const char *fmt, ...) AM_PRINTF(5, 6);
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *type,
                                  const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Never echo bytes that are not UTF-8 (they came from the client). */
	if (!am_utf8_valid(msg, strlen(msg)))
		(void)am_strlcpy(msg, "invalid request (message not printable)", sizeof(msg));
	am_json *o = am_json_obj_new(), *e = am_json_obj_new(), *null = am_json_null_new();
	enum MHD_Result ok = MHD_NO;
	if (o && e && null && am_json_set_str(e, "message", msg) == 0 &&
	    am_json_set_str(e, "type", type) == 0 && am_json_set(e, "param", null) == 0 &&
	    (code ? am_json_set_str(e, "code", code) : am_json_set(e, "code", null)) == 0 &&
	    am_json_set(o, "error", e) == 0)
		ok = send_json(c, status, o);
	am_json_free(o);
	am_json_free(e);
	am_json_free(null);
	return ok;
}

#define BAD(c, ...) send_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request_error", NULL, __VA_ARGS__)

/* ---- request parsing ---- */

struct chat_in {
	struct am_chat_message *msgs;
	size_t n_msgs;
	am_json *tools; /* neutral form, NEW reference */
	char **stop;
	size_t n_stop;
	struct am_chat_request req;
	int n;
	bool stream;
};

static void chat_in_free(struct chat_in *in)
{
	for (size_t i = 0; i < in->n_msgs; i++)
		am_chat_message_free(&in->msgs[i]);
	am_free(in->msgs);
	for (size_t i = 0; i < in->n_stop; i++)
		am_free(in->stop[i]);
	am_free(in->stop);
	am_json_free(in->tools);
}

/* content: a string, null, or an array of {"type":"text","text":...} parts. */
static int content_text(const am_json *v, char **out, const char *path, char *emsg, size_t en)
{
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		*out = am_strndup(json_string_value(v), json_string_length(v));
		return *out ? 0 : AM_ENOMEM;
	}
	if (!json_is_array(v)) {
		(void)am_snprintf(emsg, en,
		                  "%s.content must be a string, null or an array of parts", path);
		return AM_EINVAL;
	}
	struct am_buf b = AM_BUF_INIT;
	size_t i;
	am_json *part;
	json_array_foreach(v, i, part)
	{
		const char *t = am_json_get_str_or(part, "text", NULL);
		if (!am_streq(am_json_get_str_or(part, "type", NULL), "text") || !t) {
			(void)am_snprintf(
			    emsg, en, "%s.content[%zu]: only text parts are supported", path, i);
			am_buf_free(&b);
			return AM_EINVAL;
		}
		if (am_buf_puts(&b, t, NULL) < 0) {
			am_buf_free(&b);
			return AM_ENOMEM;
		}
	}
	*out = am_buf_detach(&b, NULL, NULL);
	return *out ? 0 : AM_ENOMEM;
}

static int parse_message(const am_json *m, size_t i, struct am_chat_message *out, char *emsg,
                         size_t en)
{
	char path[48];
	(void)am_snprintf(path, sizeof(path), "messages[%zu]", i);
	if (!json_is_object(m)) {
		(void)am_snprintf(emsg, en, "%s must be an object", path);
		return AM_EINVAL;
	}
	const char *role = am_json_get_str_or(m, "role", NULL);
	if (am_streq(role, "system") || am_streq(role, "developer"))
		out->role = AM_ROLE_SYSTEM;
	else if (am_streq(role, "user"))
		out->role = AM_ROLE_USER;
	else if (am_streq(role, "assistant"))
		out->role = AM_ROLE_ASSISTANT;
	else if (am_streq(role, "tool"))
		out->role = AM_ROLE_TOOL;
	else {
		(void)am_snprintf(emsg, en,
		                  "%s.role must be one of system, developer, user, assistant, tool",
		                  path);
		return AM_EINVAL;
	}
	int rc = content_text(am_json_get(m, "content"), &out->content, path, emsg, en);
	if (rc < 0)
		return rc;
	if (out->role == AM_ROLE_TOOL) {
		const char *id = am_json_get_str_or(m, "tool_call_id", NULL);
		if (!id) {
			(void)am_snprintf(emsg, en, "%s: a tool message needs tool_call_id", path);
			return AM_EINVAL;
		}
		if (!(out->tool_call_id = am_strdup(id)))
			return AM_ENOMEM;
	}
	const char *name = am_json_get_str_or(m, "name", NULL);
	if (name && out->role == AM_ROLE_TOOL && !(out->name = am_strdup(name)))
		return AM_ENOMEM;
	am_json *calls = am_json_get(m, "tool_calls");
	if (out->role == AM_ROLE_ASSISTANT && json_is_array(calls) && json_array_size(calls)) {
		size_t n = json_array_size(calls);
		out->tool_calls = am_calloc(n, sizeof(*out->tool_calls));
		if (!out->tool_calls)
			return AM_ENOMEM;
		out->n_tool_calls = n;
		for (size_t k = 0; k < n; k++) {
			am_json *c = json_array_get(calls, k);
			am_json *fn = am_json_get(c, "function");
			const char *id = am_json_get_str_or(c, "id", NULL);
			const char *fname = am_json_get_str_or(fn, "name", NULL);
			const char *args = am_json_get_str_or(fn, "arguments", "{}");
			if (!id || !fname) {
				(void)am_snprintf(emsg, en,
				                  "%s.tool_calls[%zu] needs id and function.name",
				                  path, k);
				return AM_EINVAL;
			}
			struct am_tool_call *tc = &out->tool_calls[k];
			if (!(tc->id = am_strdup(id)) || !(tc->name = am_strdup(fname)) ||
			    !(tc->arguments = am_strdup(args)))
				return AM_ENOMEM;
		}
	}
	return 0;
}

static bool get_num(const am_json *j, const char *key, double *out, double dflt, char *emsg,
                    size_t en)
{
	am_json *v = am_json_get(j, key);
	*out = dflt;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_number(v)) {
		(void)am_snprintf(emsg, en, "'%s' must be a number", key);
		return false;
	}
	*out = json_number_value(v);
	return true;
}

static int parse_chat(const am_json *j, int max_n, struct chat_in *in, char *emsg, size_t en)
{
	memset(in, 0, sizeof(*in));
	am_json *msgs = am_json_get(j, "messages");
	if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
		(void)am_snprintf(emsg, en, "'messages' must be a non-empty array");
		return AM_EINVAL;
	}
	size_t n = json_array_size(msgs);
	in->msgs = am_calloc(n, sizeof(*in->msgs));
	if (!in->msgs)
		return AM_ENOMEM;
	in->n_msgs = n;
	for (size_t i = 0; i < n; i++) {
		int rc = parse_message(json_array_get(msgs, i), i, &in->msgs[i], emsg, en);
		if (rc < 0)
			return rc;
	}
	am_json *tools = am_json_get(j, "tools");
	const char *choice = am_json_get_str_or(j, "tool_choice", NULL);
	if (tools && !json_is_null(tools) && !am_streq(choice, "none")) {
		if (!json_is_array(tools)) {
			(void)am_snprintf(emsg, en, "'tools' must be an array");
			return AM_EINVAL;
		}
		in->tools = am_json_arr_new();
		if (!in->tools)
			return AM_ENOMEM;
		size_t i;
		am_json *t;
		json_array_foreach(tools, i, t)
		{
			am_json *fn = am_json_get(t, "function");
			const char *name = am_json_get_str_or(fn, "name", NULL);
			if (!am_streq(am_json_get_str_or(t, "type", NULL), "function") || !name) {
				(void)am_snprintf(
				    emsg, en,
				    "tools[%zu] must be {\"type\": \"function\", \"function\": "
				    "{\"name\": ...}}",
				    i);
				return AM_EINVAL;
			}
			am_json *o = am_json_obj_new();
			const char *desc = am_json_get_str_or(fn, "description", NULL);
			am_json *params = am_json_get(fn, "parameters");
			int rc = (!o || am_json_set_str(o, "name", name) < 0 ||
			          (desc && am_json_set_str(o, "description", desc) < 0) ||
			          (params && am_json_set(o, "parameters", params) < 0) ||
			          am_json_push(in->tools, o) < 0)
			             ? AM_ENOMEM
			             : 0;
			am_json_free(o);
			if (rc < 0)
				return rc;
		}
	}
	am_json *stop = am_json_get(j, "stop");
	if (json_is_string(stop)) {
		in->stop = am_calloc(1, sizeof(char *));
		if (!in->stop || !(in->stop[0] = am_strdup(json_string_value(stop))))
			return AM_ENOMEM;
		in->n_stop = 1;
	} else if (json_is_array(stop) && json_array_size(stop)) {
		size_t k = json_array_size(stop);
		in->stop = am_calloc(k, sizeof(char *));
		if (!in->stop)
			return AM_ENOMEM;
		for (size_t i = 0; i < k; i++) {
			const char *s = json_string_value(json_array_get(stop, i));
			if (!s) {
				(void)am_snprintf(emsg, en, "stop[%zu] must be a string", i);
				return AM_EINVAL;
			}
			if (!(in->stop[i] = am_strdup(s)))
				return AM_ENOMEM;
			in->n_stop++;
		}
	} else if (stop && !json_is_null(stop) && !json_is_array(stop)) {
		(void)am_snprintf(emsg, en, "'stop' must be a string or an array of strings");
		return AM_EINVAL;
	}
	double temp, top_p, min_p, top_k, max_tokens, seed, nd;
	if (!get_num(j, "temperature", &temp, 1.0, emsg, en) ||
	    !get_num(j, "top_p", &top_p, 1.0, emsg, en) ||
	    !get_num(j, "min_p", &min_p, 0.0, emsg, en) ||
	    !get_num(j, "top_k", &top_k, 0.0, emsg, en) ||
	    !get_num(j, "max_completion_tokens", &max_tokens, 0.0, emsg, en) ||
	    !get_num(j, "seed", &seed, 0.0, emsg, en) || !get_num(j, "n", &nd, 1.0, emsg, en))
		return AM_EINVAL;
	if (max_tokens == 0 && !get_num(j, "max_tokens", &max_tokens, 0.0, emsg, en))
		return AM_EINVAL;
	if (temp < 0 || temp > 2 || !(top_p > 0 && top_p <= 1) || max_tokens < 0 ||
	    max_tokens > 1e6 || top_k < 0 || seed < 0 || seed > 9007199254740991.0) {
		(void)am_snprintf(
		    emsg, en,
		    "out of range: temperature in [0, 2], top_p in (0, 1], max_tokens >= 0, "
		    "seed >= 0");
		return AM_EINVAL;
	}
	if (nd < 1 || nd > max_n || nd != (double)(int)nd) {
		(void)am_snprintf(emsg, en, "'n' must be an integer from 1 to %d", max_n);
		return AM_EINVAL;
	}
	am_json *lp = am_json_get(j, "logprobs");
	am_json *st = am_json_get(j, "stream");
	in->n = (int)nd;
	in->stream = json_is_true(st);
	in->req = (struct am_chat_request){.messages = in->msgs,
	                                   .n_messages = in->n_msgs,
	                                   .tools = in->tools,
	                                   .temperature = temp,
	                                   .top_p = top_p,
	                                   .top_k = (int)top_k,
	                                   .min_p = min_p,
	                                   .max_tokens = (int)max_tokens,
	                                   .seed = (uint64_t)seed,
	                                   .stop = in->stop,
	                                   .n_stop = in->n_stop,
	                                   .want_logprobs = json_is_true(lp)};
	return 0;
}

/* ---- the dispatcher: one thread owns the model; requests of all clients queue for it ---- */

/* One client's request: its n samples. */
struct chat_job {
	struct chat_job *next;     /* in the queue while samples remain to hand out */
	struct chat_job *run_next; /* in the run list while handed out and unanswered */
	struct am_chat_request *reqs;
	struct am_chat_reply *replies;
	struct sample_tag {
		struct chat_job *job;
		int i;
	} * tags;
	int n, handed, answered;
	bool queued, in_run, done;
	char error[512]; /* set when the model failed the whole run */
};

static void job_unqueue(struct am_server *s, struct chat_job *j)
{
	if (!j->queued)
		return;
	for (struct chat_job **pp = &s->qhead; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	j->queued = false;
}

static void job_unrun(struct am_server *s, struct chat_job *j)
{
	if (!j->in_run)
		return;
	for (struct chat_job **pp = &s->running; *pp; pp = &(*pp)->run_next)
		if (*pp == j) {
			*pp = j->run_next;
			break;
		}
	j->in_run = false;
}

/* Source callbacks, called on the dispatcher thread inside the model's run. */
static int q_next(void *ctx, const struct am_chat_request **req, void **tag, struct am_err *err)
{
	(void)err;
	struct am_server *s = ctx;
	*req = NULL;
	pthread_mutex_lock(&s->qlock);
	struct chat_job *j = s->qhead;
	if (j) {
		int i = j->handed++;
		*req = &j->reqs[i];
		*tag = &j->tags[i];
		if (!j->in_run) {
			j->in_run = true;
			j->run_next = s->running;
			s->running = j;
		}
		if (j->handed == j->n)
			job_unqueue(s, j);
		s->batch++;
	}
	pthread_mutex_unlock(&s->qlock);
	return 0;
}

static void q_done(void *ctx, void *tag, struct am_chat_reply *r)
{
	struct am_server *s = ctx;
	struct sample_tag *t = tag;
	struct chat_job *j = t->job;
	pthread_mutex_lock(&s->qlock);
	if (j->done || j->replies[t->i].content || j->replies[t->i].error_kind) {
		am_chat_reply_free(r); /* answered twice: keep the first */
	} else {
		j->replies[t->i] = *r;
		memset(r, 0, sizeof(*r));
		if (++j->answered == j->n) {
			j->done = true;
			job_unrun(s, j);
			pthread_cond_broadcast(&s->done_cond);
		}
	}
	pthread_mutex_unlock(&s->qlock);
}

static bool q_finished(void *ctx)
{
	struct am_server *s = ctx;
	pthread_mutex_lock(&s->qlock);
	bool empty = s->qhead == NULL;
	pthread_mutex_unlock(&s->qlock);
	return empty;
}

static void *dispatcher_main(void *arg)
{
	struct am_server *s = arg;
	struct am_request_source src = {s, q_next, q_done, q_finished};
	pthread_mutex_lock(&s->qlock);
	while (true) {
		while (!s->qhead && !s->stopping)
			pthread_cond_wait(&s->qcond, &s->qlock);
		if (!s->qhead)
			break;
		s->batch = 0;
		pthread_mutex_unlock(&s->qlock);
		struct am_err err = {0};
		pthread_mutex_lock(&s->model_lock);
		int rc = s->model->ops->run(s->model, &src, &err);
		pthread_mutex_unlock(&s->model_lock);
		pthread_mutex_lock(&s->qlock);
		if (s->batch > s->peak_batch)
			s->peak_batch = s->batch;
		/* Whatever the run took and did not answer fails, with the model's reason. */
		while (s->running) {
			struct chat_job *j = s->running;
			(void)am_snprintf(
			    j->error, sizeof(j->error), "model %s failed: %s", s->model->id,
			    rc < 0 ? err.msg : "it returned without answering a request");
			job_unrun(s, j);
			job_unqueue(s, j);
			j->done = true;
		}
		pthread_cond_broadcast(&s->done_cond);
	}
	pthread_mutex_unlock(&s->qlock);
	return NULL;
}

/* Queue a job and wait for all its answers (on the connection's own thread). */
static void run_job(struct am_server *s, struct chat_job *j)
{
	pthread_mutex_lock(&s->qlock);
	j->queued = true;
	struct chat_job **pp = &s->qhead;
	while (*pp)
		pp = &(*pp)->next;
	*pp = j;
	pthread_cond_signal(&s->qcond);
	while (!j->done)
		pthread_cond_wait(&s->done_cond, &s->qlock);
	pthread_mutex_unlock(&s->qlock);
}

static const char *finish_reason(const struct am_chat_reply *r)
{
	if (r->n_tool_calls)
		return "tool_calls";
	if (am_streq(r->finish_reason, "length") || am_streq(r->finish_reason, "max_tokens"))
		return "length";
	if (am_streq(r->finish_reason, "content_filter"))
		return "content_filter";
	return "stop";
}

static am_json *tool_calls_json(const struct am_chat_reply *r, bool with_index)
{
	am_json *arr = am_json_arr_new();
	for (size_t i = 0; arr && i < r->n_tool_calls; i++) {
		const struct am_tool_call *c = &r->tool_calls[i];
		am_json *o = am_json_obj_new(), *fn = am_json_obj_new();
		bool ok =
		    o && fn && am_json_set_str(fn, "name", c->name ? c->name : "") == 0 &&
		    am_json_set_str(fn, "arguments", c->arguments ? c->arguments : "{}") == 0 &&
		    am_json_set_str(o, "id", c->id ? c->id : "") == 0 &&
		    am_json_set_str(o, "type", "function") == 0 &&
		    am_json_set(o, "function", fn) == 0 &&
		    (!with_index || am_json_set_int(o, "index", (long long)i) == 0) &&
		    am_json_push(arr, o) == 0;
		am_json_free(o);
		am_json_free(fn);
		if (!ok) {
			am_json_free(arr);
			return NULL;
		}
	}
	return arr;
}

/* The assistant message (or stream delta) of one reply. */
static am_json *message_json(const struct am_chat_reply *r, bool delta)
{
	am_json *m = am_json_obj_new();
	if (!m || am_json_set_str(m, "role", "assistant") < 0)
		goto fail;
	if (r->n_tool_calls && (!r->content || !*r->content) && !delta) {
		am_json *null = am_json_null_new();
		int rc = null ? am_json_set(m, "content", null) : AM_ENOMEM;
		am_json_free(null);
		if (rc < 0)
			goto fail;
	} else if (am_json_set_str(m, "content", r->content ? r->content : "") < 0) {
		goto fail;
	}
	if (r->reasoning && am_json_set_str(m, "reasoning_content", r->reasoning) < 0)
		goto fail;
	if (r->n_tool_calls) {
		am_json *calls = tool_calls_json(r, delta);
		int rc = calls ? am_json_set(m, "tool_calls", calls) : AM_ENOMEM;
		am_json_free(calls);
		if (rc < 0)
			goto fail;
	}
	return m;
fail:
	am_json_free(m);
	return NULL;
}

static am_json *logprobs_json(const struct am_chat_reply *r)
{
	am_json *lp = am_json_obj_new(), *content = am_json_arr_new();
	for (size_t i = 0; lp && content && i < r->n_token_logprobs; i++) {
		/* The generic model interface gives the numbers, not the token texts. */
		am_json *t = am_json_obj_new(), *top = am_json_arr_new(),
		        *null = am_json_null_new();
		bool ok = t && top && null && am_json_set_str(t, "token", "") == 0 &&
		          am_json_set_real(t, "logprob", r->token_logprobs[i]) == 0 &&
		          am_json_set(t, "bytes", null) == 0 &&
		          am_json_set(t, "top_logprobs", top) == 0 && am_json_push(content, t) == 0;
		am_json_free(t);
		am_json_free(top);
		am_json_free(null);
		if (!ok)
			goto fail;
	}
	if (!lp || !content || am_json_set(lp, "content", content) < 0)
		goto fail;
	am_json_free(content);
	return lp;
fail:
	am_json_free(lp);
	am_json_free(content);
	return NULL;
}

static unsigned status_for_kind(const char *kind, const char **type, const char **code)
{
	*code = NULL;
	*type = "server_error";
	if (am_streq(kind, "context_length")) {
		*type = "invalid_request_error";
		*code = "context_length_exceeded";
		return MHD_HTTP_BAD_REQUEST;
	}
	if (am_streq(kind, "bad_request")) {
		*type = "invalid_request_error";
		return MHD_HTTP_BAD_REQUEST;
	}
	if (am_streq(kind, "refused")) {
		*type = "invalid_request_error";
		*code = "content_filter";
		return MHD_HTTP_BAD_REQUEST;
	}
	if (am_streq(kind, "rate_limited"))
		return MHD_HTTP_TOO_MANY_REQUESTS;
	if (am_streq(kind, "timeout"))
		return MHD_HTTP_GATEWAY_TIMEOUT;
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static enum MHD_Result handle_chat(struct am_server *s, struct MHD_Connection *c, const am_json *j)
{
	struct chat_in in;
	char emsg[512] = "";
	enum MHD_Result ret;
	struct chat_job job;
	memset(&job, 0, sizeof(job));
	am_json *resp = NULL, *choices = NULL;
	int rc = parse_chat(j, s->max_n, &in, emsg, sizeof(emsg));
	if (rc < 0) {
		ret = rc == AM_ENOMEM ? send_error(c, 500, "server_error", NULL, "out of memory")
		                      : BAD(c, "%s", emsg);
		goto out;
	}
	job.n = in.n;
	job.reqs = am_calloc((size_t)in.n, sizeof(*job.reqs));
	job.replies = am_calloc((size_t)in.n, sizeof(*job.replies));
	job.tags = am_calloc((size_t)in.n, sizeof(*job.tags));
	if (!job.reqs || !job.replies || !job.tags) {
		ret = send_error(c, 500, "server_error", NULL, "out of memory");
		goto out;
	}
	for (int i = 0; i < in.n; i++) {
		job.reqs[i] = in.req;
		job.reqs[i].seed = in.req.seed + (uint64_t)i;
		job.reqs[i].sample_index = i;
		job.tags[i].job = &job;
		job.tags[i].i = i;
	}
	run_job(s, &job);
	if (job.error[0] || job.answered != in.n) {
		ret = send_error(c, 500, "server_error", NULL, "%s",
		                 job.error[0] ? job.error : "a choice was not answered");
		goto out;
	}
	for (int i = 0; i < in.n; i++) {
		if (job.replies[i].status == AM_REPLY_ERROR) {
			const char *type, *code;
			unsigned st = status_for_kind(job.replies[i].error_kind, &type, &code);
			ret = send_error(c, st, type, code, "%s: %s", job.replies[i].error_kind,
			                 job.replies[i].error ? job.replies[i].error : "failed");
			goto out;
		}
	}
	char id[64];
	(void)am_snprintf(id, sizeof(id), "chatcmpl-amlab-%ld", atomic_fetch_add(&s->next_id, 1));
	long prompt_tokens = 0, completion_tokens = 0;
	choices = am_json_arr_new();
	if (!choices)
		goto nomem;
	for (int i = 0; i < in.n; i++) {
		const struct am_chat_reply *r = &job.replies[i];
		prompt_tokens = AM_MAX(prompt_tokens, r->prompt_tokens);
		completion_tokens += r->completion_tokens;
		am_json *ch = am_json_obj_new(), *msg = message_json(r, in.stream);
		am_json *lp = r->n_token_logprobs && in.req.want_logprobs ? logprobs_json(r)
		                                                          : am_json_null_new();
		bool ok = ch && msg && lp && am_json_set_int(ch, "index", i) == 0 &&
		          am_json_set(ch, in.stream ? "delta" : "message", msg) == 0 &&
		          am_json_set(ch, "logprobs", lp) == 0 &&
		          am_json_set_str(ch, "finish_reason", finish_reason(r)) == 0 &&
		          am_json_push(choices, ch) == 0;
		am_json_free(ch);
		am_json_free(msg);
		am_json_free(lp);
		if (!ok)
			goto nomem;
	}
	resp = am_json_obj_new();
	am_json *usage = am_json_obj_new();
	bool ok = resp && usage && am_json_set_str(resp, "id", id) == 0 &&
	          am_json_set_str(resp, "object",
	                          in.stream ? "chat.completion.chunk" : "chat.completion") == 0 &&
	          am_json_set_int(resp, "created", (long long)time(NULL)) == 0 &&
	          am_json_set_str(resp, "model", s->name) == 0 &&
	          am_json_set(resp, "choices", choices) == 0 &&
	          am_json_set_int(usage, "prompt_tokens", prompt_tokens) == 0 &&
	          am_json_set_int(usage, "completion_tokens", completion_tokens) == 0 &&
	          am_json_set_int(usage, "total_tokens", prompt_tokens + completion_tokens) == 0 &&
	          am_json_set(resp, "usage", usage) == 0;
	am_json_free(usage);
	if (!ok)
		goto nomem;
	if (in.stream) {
		/* One chunk with every choice's whole delta and finish reason, then [DONE]: a valid
		 * event stream for clients that insist on streaming. */
		struct am_buf b = AM_BUF_INIT;
		if (am_buf_puts(&b, "data: ", NULL) < 0 ||
		    am_json_dump(resp, false, &b, NULL) < 0 ||
		    am_buf_puts(&b, "\n\ndata: [DONE]\n\n", NULL) < 0) {
			am_buf_free(&b);
			goto nomem;
		}
		ret = send_text(c, MHD_HTTP_OK, "text/event-stream", b.data, b.len);
		am_buf_free(&b);
	} else {
		ret = send_json(c, MHD_HTTP_OK, resp);
	}
	goto out;
nomem:
	ret = send_error(c, 500, "server_error", NULL, "out of memory");
out:
	for (int i = 0; job.replies && i < job.n; i++)
		am_chat_reply_free(&job.replies[i]);
	am_free(job.replies);
	am_free(job.reqs);
	am_free(job.tags);
	am_json_free(choices);
	am_json_free(resp);
	chat_in_free(&in);
	return ret;
}

/* Prompt scoring: the prompt is cut before each run of whitespace into segments; segment k's
 * log-probability is the model's log P(segment k | segments 0..k-1) (the chain rule over the
 * generic logprob interface, which has no tokenizer). Segment 0 has none, as OpenAI's first
 * token. */
static enum MHD_Result handle_completions(struct am_server *s, struct MHD_Connection *c,
                                          const am_json *j)
{
	am_json *p = am_json_get(j, "prompt");
	if (json_is_array(p) && json_array_size(p) == 1)
		p = json_array_get(p, 0);
	if (!json_is_string(p))
		return BAD(c, "'prompt' must be a string (or an array of one string)");
	const char *prompt = json_string_value(p);
	size_t plen = json_string_length(p);
	if (plen == 0 || strlen(prompt) != plen)
		return BAD(c, "'prompt' must be non-empty text without NUL characters");
	bool echo = json_is_true(am_json_get(j, "echo"));
	am_json *lpv = am_json_get(j, "logprobs");
	bool want_lp = lpv && !json_is_null(lpv) && !json_is_false(lpv);
	double max_tokens;
	char emsg[256];
	if (!get_num(j, "max_tokens", &max_tokens, 16, emsg, sizeof(emsg)))
		return BAD(c, "%s", emsg);
	if (max_tokens != 0 || !echo)
		return BAD(c,
		           "this server scores prompts only: send echo=true and max_tokens=0 (with "
		           "logprobs for the scores); generate text through /v1/chat/completions");
	if (want_lp && !s->model->ops->logprob)
		return send_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request_error", "unsupported",
		                  "model %s cannot score text (no log-probabilities)",
		                  s->model->id);
	size_t bounds[MAX_SEGMENTS + 1], nseg = 0;
	for (size_t i = 0; i < plen; i++) {
		bool ws =
		    prompt[i] == ' ' || prompt[i] == '\n' || prompt[i] == '\t' || prompt[i] == '\r';
		bool prev_ws = i > 0 && (prompt[i - 1] == ' ' || prompt[i - 1] == '\n' ||
		                         prompt[i - 1] == '\t' || prompt[i - 1] == '\r');
		if (i == 0 || (ws && !prev_ws)) {
			if (nseg == MAX_SEGMENTS)
				return BAD(c, "prompt too long to score: more than %d words",
				           MAX_SEGMENTS);
			bounds[nseg++] = i;
		}
	}
	bounds[nseg] = plen;
	am_json *tokens = am_json_arr_new(), *lps = am_json_arr_new(), *offs = am_json_arr_new();
	/* Extension: the model's own token count of each segment, so that clients (amlab's) can
	 * report real token counts, not segment counts. */
	am_json *counts = am_json_arr_new();
	am_json *resp = NULL, *choice = NULL, *lp = NULL, *choices = NULL, *usage = NULL;
	enum MHD_Result ret;
	long n_tokens = 0;
	char *ctx = am_malloc(plen + 1), *seg = am_malloc(plen + 1);
	if (!tokens || !lps || !offs || !counts || !ctx || !seg)
		goto nomem;
	size_t chars = 0, counted = 0;
	for (size_t k = 0; k < nseg; k++) {
		size_t a = bounds[k], b = bounds[k + 1];
		memcpy(seg, prompt + a, b - a);
		seg[b - a] = '\0';
		for (; counted < a; counted++)
			if (((unsigned char)prompt[counted] & 0xC0) != 0x80)
				chars++;
		if (am_json_push_str(tokens, seg) < 0)
			goto nomem;
		am_json *off = am_json_int_new((long long)chars);
		int rc = off ? am_json_push(offs, off) : AM_ENOMEM;
		am_json_free(off);
		if (rc < 0)
			goto nomem;
		am_json *v = NULL;
		long nt = 0;
		if (k == 0 || !want_lp) {
			v = am_json_null_new();
		} else {
			memcpy(ctx, prompt, a);
			ctx[a] = '\0';
			double l = 0;
			struct am_err err = {0};
			pthread_mutex_lock(&s->model_lock);
			rc = s->model->ops->logprob(s->model, ctx, seg, &l, &nt, &err);
			pthread_mutex_unlock(&s->model_lock);
			if (rc < 0) {
				ret = send_error(c, rc == AM_EINVAL ? 400 : 500,
				                 rc == AM_EINVAL ? "invalid_request_error"
				                                 : "server_error",
				                 NULL, "scoring segment %zu: %s", k, err.msg);
				goto out;
			}
			n_tokens += nt;
			v = am_json_real_new(l);
		}
		rc = v ? am_json_push(lps, v) : AM_ENOMEM;
		am_json_free(v);
		am_json *cnt = am_json_int_new(nt);
		if (rc == 0)
			rc = cnt ? am_json_push(counts, cnt) : AM_ENOMEM;
		am_json_free(cnt);
		if (rc < 0)
			goto nomem;
	}
	char id[64];
	(void)am_snprintf(id, sizeof(id), "cmpl-amlab-%ld", atomic_fetch_add(&s->next_id, 1));
	resp = am_json_obj_new();
	choice = am_json_obj_new();
	lp = am_json_obj_new();
	choices = am_json_arr_new();
	usage = am_json_obj_new();
	am_json *null = am_json_null_new();
	bool ok = resp && choice && lp && choices && usage && null &&
	          am_json_set(lp, "tokens", tokens) == 0 &&
	          am_json_set(lp, "token_logprobs", lps) == 0 &&
	          am_json_set(lp, "text_offset", offs) == 0 &&
	          am_json_set(lp, "top_logprobs", null) == 0 &&
	          am_json_set(lp, "x_amlab_token_counts", counts) == 0 &&
	          am_json_set_int(choice, "index", 0) == 0 &&
	          am_json_set_strn(choice, "text", prompt, plen) == 0 &&
	          am_json_set(choice, "logprobs", want_lp ? lp : null) == 0 &&
	          am_json_set_str(choice, "finish_reason", "length") == 0 &&
	          am_json_push(choices, choice) == 0 && am_json_set_str(resp, "id", id) == 0 &&
	          am_json_set_str(resp, "object", "text_completion") == 0 &&
	          am_json_set_int(resp, "created", (long long)time(NULL)) == 0 &&
	          am_json_set_str(resp, "model", s->name) == 0 &&
	          am_json_set(resp, "choices", choices) == 0 &&
	          am_json_set_int(usage, "prompt_tokens", n_tokens) == 0 &&
	          am_json_set_int(usage, "completion_tokens", 0) == 0 &&
	          am_json_set_int(usage, "total_tokens", n_tokens) == 0 &&
	          am_json_set(resp, "usage", usage) == 0;
	am_json_free(null);
	if (!ok)
		goto nomem;
	ret = send_json(c, MHD_HTTP_OK, resp);
	goto out;
nomem:
	ret = send_error(c, 500, "server_error", NULL, "out of memory");
out:
	am_free(ctx);
	am_free(seg);
	am_json_free(tokens);
	am_json_free(lps);
	am_json_free(offs);
	am_json_free(counts);
	am_json_free(resp);
	am_json_free(choice);
	am_json_free(lp);
	am_json_free(choices);
	am_json_free(usage);
	return ret;
}

static enum MHD_Result handle_models(struct am_server *s, struct MHD_Connection *c)
{
	am_json *o = am_json_obj_new(), *data = am_json_arr_new(), *m = am_json_obj_new();
	enum MHD_Result ret;
	if (o && data && m && am_json_set_str(m, "id", s->name) == 0 &&
	    am_json_set_str(m, "object", "model") == 0 && am_json_set_int(m, "created", 0) == 0 &&
	    am_json_set_str(m, "owned_by", "amlab") == 0 && am_json_push(data, m) == 0 &&
	    am_json_set_str(o, "object", "list") == 0 && am_json_set(o, "data", data) == 0)
		ret = send_json(c, MHD_HTTP_OK, o);
	else
		ret = send_error(c, 500, "server_error", NULL, "out of memory");
	am_json_free(o);
	am_json_free(data);
	am_json_free(m);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	(void)version;
	struct am_server *s = cls;
	struct conn_ctx *cc = *con_cls;
	if (!cc) {
		cc = am_calloc(1, sizeof(*cc));
		if (!cc)
			return MHD_NO;
		am_buf_init(&cc->body, s->max_body);
		*con_cls = cc;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		unsigned long n;
		if (cl && am_parse_ulong(cl, &n, "Content-Length", NULL) == 0 && n > s->max_body) {
			cc->too_large = true;
			cc->responded = true;
			atomic_fetch_add(&s->requests, 1);
			return send_error(
			    c, 413, "invalid_request_error", NULL,
			    "request body of %lu bytes is larger than the limit of %zu", n,
			    s->max_body);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!cc->too_large && am_buf_append(&cc->body, upload, *upload_size, NULL) < 0)
			cc->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (cc->responded)
		return MHD_YES;
	atomic_fetch_add(&s->requests, 1);
	if (cc->too_large)
		return send_error(c, 413, "invalid_request_error", NULL,
		                  "request body is larger than the limit of %zu bytes",
		                  s->max_body);
	bool get = am_streq(method, "GET"), post = am_streq(method, "POST");
	if (am_streq(url, "/v1/models") || am_streq(url, "/models")) {
		if (!get)
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "invalid_request_error",
			                  NULL, "%s needs GET", url);
		return handle_models(s, c);
	}
	if (am_streq(url, "/health"))
		return send_text(c, MHD_HTTP_OK, "application/json", "{\"status\":\"ok\"}", 15);
	bool chat = am_streq(url, "/v1/chat/completions") || am_streq(url, "/chat/completions");
	bool comp = am_streq(url, "/v1/completions") || am_streq(url, "/completions");
	if (!chat && !comp)
		return send_error(
		    c, MHD_HTTP_NOT_FOUND, "invalid_request_error", "unknown_url",
		    "no such endpoint: %s %s (this server offers GET /v1/models, POST "
		    "/v1/chat/completions, POST /v1/completions)",
		    method, url);
	if (!post)
		return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "invalid_request_error", NULL,
		                  "%s needs POST", url);
	am_json *j = NULL;
	struct am_err err = {0};
	if (am_json_parse(cc->body.data ? cc->body.data : "", cc->body.len, "request body", &j,
	                  &err) < 0) {
		char msg[AM_ERR_MSG_MAX + AM_ERR_WHERE_MAX + 16];
		am_err_format(&err, msg, sizeof(msg));
		return BAD(c, "the body is not valid JSON: %s", msg);
	}
	enum MHD_Result ret;
	if (!json_is_object(j))
		ret = BAD(c, "the body must be a JSON object");
	else if (!json_is_string(am_json_get(j, "model")))
		ret = BAD(c, "'model' must be a string (this server serves '%s')", s->name);
	else
		ret = chat ? handle_chat(s, c, j) : handle_completions(s, c, j);
	am_json_free(j);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c;
	struct conn_ctx *cc = *con_cls;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		am_log_debug("serve: request ended early (code %d)", (int)toe);
	if (cc) {
		am_buf_free(&cc->body);
		am_free(cc);
	}
	*con_cls = NULL;
}

static void destroy_sync(struct am_server *s)
{
	pthread_mutex_destroy(&s->model_lock);
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcond);
	pthread_cond_destroy(&s->done_cond);
}

static void stop_dispatcher(struct am_server *s)
{
	pthread_mutex_lock(&s->qlock);
	s->stopping = true;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	pthread_join(s->dispatcher, NULL);
}

int am_serve_start(struct am_model *m, const struct am_serve_options *opts, struct am_server **out,
                   struct am_err *err)
{
	struct am_serve_options o;
	if (opts)
		o = *opts;
	else
		memset(&o, 0, sizeof(o));
	*out = NULL;
	const char *host = o.host ? o.host : "127.0.0.1";
	if (o.port < 0 || o.port > 65535)
		return am_err_set(err, AM_EINVAL, "port %d is not in 0..65535", o.port);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	bool v6 = strchr(host, ':') != NULL;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)o.port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return am_err_set(err, AM_EINVAL, "host '%s' is not an IPv6 address", host);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)o.port);
		if (am_streq(host, "localhost"))
			host = "127.0.0.1";
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return am_err_set(
			    err, AM_EINVAL,
			    "host '%s' is not an IPv4 address (use 127.0.0.1, 0.0.0.0, ...)", host);
	}
	struct am_server *s = am_calloc(1, sizeof(*s));
	if (!s)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	s->model = m;
	s->name = am_strdup(o.model_name ? o.model_name : m->id);
	s->max_body = o.max_body_bytes ? o.max_body_bytes : (size_t)8 << 20;
	s->max_n = o.max_n > 0 ? o.max_n : 16;
	if (!s->name) {
		am_free(s);
		return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&s->model_lock, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_cond_init(&s->done_cond, NULL);
	if (pthread_create(&s->dispatcher, NULL, dispatcher_main, s) != 0) {
		destroy_sync(s);
		am_free(s->name);
		am_free(s);
		return am_err_set(err, AM_EIO, "cannot start the dispatcher thread");
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	                 MHD_USE_POLL | (v6 ? MHD_USE_IPv6 : 0);
	s->d = MHD_start_daemon(
	    flags, (uint16_t)o.port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o.max_connections > 0 ? o.max_connections : 64),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_END);
	if (!s->d) {
		int e = errno;
		stop_dispatcher(s);
		destroy_sync(s);
		am_free(s->name);
		am_free(s);
		return am_err_set(err, AM_EIO, "cannot listen on %s:%d: %s", host, o.port,
		                  e ? strerror(e) : "libmicrohttpd refused to start");
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : o.port;
	*out = s;
	return 0;
}

int am_serve_check_chat_body(const char *body, size_t len, struct am_err *err)
{
	am_json *j = NULL;
	int rc = am_json_parse(body, len, "request body", &j, err);
	if (rc < 0)
		return rc;
	struct chat_in in;
	char emsg[512] = "";
	memset(&in, 0, sizeof(in));
	if (!json_is_object(j))
		rc = am_err_set(err, AM_EINVAL, "the body must be a JSON object");
	else if ((rc = parse_chat(j, 16, &in, emsg, sizeof(emsg))) < 0)
		rc = am_err_set(err, rc, "%s", emsg[0] ? emsg : "out of memory");
	chat_in_free(&in);
	am_json_free(j);
	return rc;
}

int am_serve_port(const struct am_server *s)
{
	return s->port;
}

int am_serve_peak_batch(struct am_server *s)
{
	pthread_mutex_lock(&s->qlock);
	int b = s->peak_batch;
	pthread_mutex_unlock(&s->qlock);
	return b;
}

long am_serve_requests(const struct am_server *s)
{
	return atomic_load(&((struct am_server *)s)->requests);
}

void am_serve_stop(struct am_server *s)
{
	if (!s)
		return;
	/* Connections finish first (the dispatcher still answers what they wait for). */
	MHD_stop_daemon(s->d);
	stop_dispatcher(s);
	destroy_sync(s);
	am_free(s->name);
	am_free(s);
}
