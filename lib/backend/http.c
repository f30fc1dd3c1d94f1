/* http.c: the HTTP engine behind every remote model: one libcurl multi handle drives all
 * requests of am_model_run from one event loop, under an adaptive (AIMD) concurrency limit,
 * with bounded, jittered retries and the response cache. Provider wire formats live in
 * openai.c and anthropic.c (see http_internal.h). */
#include <pthread.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/clock.h"
#include "amlab/log.h"
#include "amlab/sha256.h"
#include "amlab/str.h"
#include "http_internal.h"

#define NS_PER_MS          1000000LL
#define NS_PER_S           1000000000LL
#define MAX_RETRY_AFTER_NS (600 * NS_PER_S) /* never sleep longer than this on a server's word */
#define SNIPPET_MAX        300

static const struct am_model_ops http_ops;

/* ---- small helpers ---- */

bool http_contains_ci(const char *hay, const char *needle)
{
	if (!hay || !needle)
		return false;
	size_t n = strlen(needle);
	for (const char *p = hay; *p; p++)
		if (am_strncasecmp_ascii(p, needle, n) == 0)
			return true;
	return false;
}

char *http_dup_or_empty(const char *s)
{
	return am_strdup(s ? s : "");
}

void http_error_message(const am_json *body, char *msg, size_t msg_size)
{
	msg[0] = '\0';
	if (!body)
		return;
	am_json *e = am_json_get(body, "error");
	const char *text = NULL;
	if (json_is_string(e))
		text = json_string_value(e);
	else if (json_is_object(e))
		text = am_json_get_str_or(e, "message", NULL);
	if (!text)
		text = am_json_get_str_or(body, "message", NULL);
	if (!text)
		text = am_json_get_str_or(body, "detail", NULL);
	if (text)
		(void)am_strlcpy(msg, text, msg_size);
}

/* ---- AIMD ---- */

void am_aimd_init(struct am_aimd *a, int initial, int max)
{
	memset(a, 0, sizeof(*a));
	a->max = max > 0 ? max : 256;
	a->min = 1;
	a->limit = initial > 0 ? initial : 16;
	if (a->limit > a->max)
		a->limit = a->max;
	a->decrease = 0.5;
	a->last_cut = INT64_MIN;
	a->slow_start = true;
}

bool am_aimd_can_start(const struct am_aimd *a, int in_flight, int64_t now_ns)
{
	if (now_ns < a->blocked_until)
		return false;
	return (double)in_flight < a->limit - 1e-9 || in_flight == 0;
}

void am_aimd_on_success(struct am_aimd *a)
{
	a->limit += a->slow_start ? 1.0 : 1.0 / a->limit;
	if (a->limit > a->max)
		a->limit = a->max;
}

void am_aimd_on_overload(struct am_aimd *a, int64_t now_ns, int64_t retry_after_ns)
{
	/* Many requests in flight see the same overload at once; cut once per second, or the
	 * limit would collapse to 1 on every burst. */
	a->slow_start = false;
	if (a->last_cut == INT64_MIN || now_ns - a->last_cut >= NS_PER_S) {
		a->limit *= a->decrease;
		if (a->limit < a->min)
			a->limit = a->min;
		a->last_cut = now_ns;
	}
	if (retry_after_ns > 0) {
		if (retry_after_ns > MAX_RETRY_AFTER_NS)
			retry_after_ns = MAX_RETRY_AFTER_NS;
		if (now_ns + retry_after_ns > a->blocked_until)
			a->blocked_until = now_ns + retry_after_ns;
	}
}

/* ---- header values ---- */

bool am_http_parse_retry_after(const char *value, int64_t now_ms, int64_t *out_ns)
{
	const char *s = value;
	size_t n = strlen(s);
	am_trim(&s, &n);
	if (n == 0 || n > 64)
		return false;
	char buf[72];
	memcpy(buf, s, n);
	buf[n] = '\0';
	double secs;
	if (am_parse_double(buf, &secs, "Retry-After", NULL) == 0) {
		if (!(secs >= 0) || secs > 1e7)
			return false;
		*out_ns = (int64_t)(secs * (double)NS_PER_S);
		return true;
	}
	/* HTTP date: "Sun, 06 Nov 1994 08:49:37 GMT". */
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return false;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	if ((int64_t)t > INT64_MAX / 2000 || (int64_t)t < -(INT64_MAX / 2000))
		return false;
	int64_t delta_ms = (int64_t)t * 1000 - now_ms;
	/* Dates absurdly far ahead are capped (callers cap the wait far lower anyway). */
	if (delta_ms > 10000000000LL)
		delta_ms = 10000000000LL;
	*out_ns = delta_ms > 0 ? delta_ms * NS_PER_MS : 0;
	return true;
}

bool am_http_parse_duration(const char *value, int64_t *out_ns)
{
	const char *p = value;
	double total = 0;
	bool any = false;
	while (*p == ' ')
		p++;
	while (*p) {
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		if (end == p || errno || !(v >= 0))
			return false;
		p = end;
		double unit;
		if (p[0] == 'm' && p[1] == 's') {
			unit = 1e-3;
			p += 2;
		} else if (p[0] == 'h') {
			unit = 3600;
			p++;
		} else if (p[0] == 'm') {
			unit = 60;
			p++;
		} else if (p[0] == 's') {
			unit = 1;
			p++;
		} else {
			return false;
		}
		total += v * unit;
		any = true;
	}
	if (!any || total > 1e7)
		return false;
	*out_ns = (int64_t)(total * (double)NS_PER_S);
	return true;
}

/* ---- jobs ---- */

enum job_kind { JOB_CHAT, JOB_RAW };

struct job {
	struct job *next;
	enum job_kind kind;
	void *tag; /* JOB_CHAT */
	const struct am_chat_request *req;
	struct http_raw_result *raw; /* JOB_RAW */
	char *url;
	struct am_buf body;
	char cache_key[AM_SHA256_HEX_LEN];
	CURL *easy;
	struct am_buf resp;
	bool overflow; /* the body passed max_response_bytes */
	char errbuf[CURL_ERROR_SIZE];
	int64_t retry_after_ns; /* from this attempt's headers; -1 none */
	bool ratelimit_exhausted;
	int64_t ratelimit_reset_ns;
	int attempts;    /* attempts made (for 5xx / network / timeout) */
	int rl_attempts; /* attempts answered with an overload */
	int64_t not_before;
	int64_t started;
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->easy)
		curl_easy_cleanup(j->easy);
	am_free(j->url);
	am_buf_free(&j->body);
	am_buf_free(&j->resp);
	am_free(j);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct job *j = ud;
	size_t n = size * nmemb;
	if (am_buf_append(&j->resp, ptr, n, NULL) < 0) {
		j->overflow = true;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	return n;
}

static bool header_is(const char *line, size_t n, const char *name, const char **value,
                      size_t *vlen)
{
	size_t k = strlen(name);
	if (n <= k || line[k] != ':' || am_strncasecmp_ascii(line, name, k) != 0)
		return false;
	*value = line + k + 1;
	*vlen = n - k - 1;
	am_trim(value, vlen);
	return true;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct job *j = ud;
	size_t n = size * nmemb;
	const char *v;
	size_t vlen;
	char val[80];
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue or a redirect): forget earlier headers. */
		j->retry_after_ns = -1;
		j->ratelimit_exhausted = false;
		j->ratelimit_reset_ns = 0;
		return n;
	}
	if (header_is(ptr, n, "retry-after-ms", &v, &vlen) && vlen < sizeof(val)) {
		memcpy(val, v, vlen);
		val[vlen] = '\0';
		double ms;
		if (am_parse_double(val, &ms, "retry-after-ms", NULL) == 0 && ms >= 0 && ms < 1e10)
			j->retry_after_ns = (int64_t)(ms * NS_PER_MS);
	} else if (header_is(ptr, n, "retry-after", &v, &vlen) && vlen < sizeof(val)) {
		memcpy(val, v, vlen);
		val[vlen] = '\0';
		int64_t ns;
		if (j->retry_after_ns < 0 &&
		    am_http_parse_retry_after(val, am_clock_wall_ms(), &ns))
			j->retry_after_ns = ns;
	} else if ((header_is(ptr, n, "x-ratelimit-remaining-requests", &v, &vlen) ||
	            header_is(ptr, n, "anthropic-ratelimit-requests-remaining", &v, &vlen)) &&
	           vlen == 1 && v[0] == '0') {
		j->ratelimit_exhausted = true;
	} else if (header_is(ptr, n, "x-ratelimit-reset-requests", &v, &vlen) &&
	           vlen < sizeof(val)) {
		memcpy(val, v, vlen);
		val[vlen] = '\0';
		int64_t ns;
		if (am_http_parse_duration(val, &ns))
			j->ratelimit_reset_ns = ns;
	}
	return n;
}

/* ---- the model ---- */

static int64_t backoff_ns(struct http_model *m, int attempt)
{
	int64_t base = (int64_t)m->cfg.retry_base_ms * NS_PER_MS;
	int64_t cap = (int64_t)m->cfg.retry_max_ms * NS_PER_MS;
	int64_t d = base;
	for (int i = 1; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* Jitter: uniform in [d/2, d), so retries of a burst spread out. */
	double u = am_rng_uniform(&m->rng);
	return d / 2 + (int64_t)((double)(d / 2) * u);
}

static int job_start(struct http_model *m, struct job *j, struct am_err *err)
{
	if (!j->easy) {
		j->easy = curl_easy_init();
		if (!j->easy)
			return am_err_set(err, AM_ENOMEM, "curl_easy_init failed");
	} else {
		curl_easy_reset(j->easy);
	}
	am_buf_reset(&j->resp);
	j->overflow = false;
	j->errbuf[0] = '\0';
	j->retry_after_ns = -1;
	j->ratelimit_exhausted = false;
	j->ratelimit_reset_ns = 0;
	CURL *e = j->easy;
	curl_easy_setopt(e, CURLOPT_URL, j->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, m->headers);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body.data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body.len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, m->cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, m->cfg.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	if (am_streq(getenv("AMLAB_TEST_LOOPBACK_ONLY"), "1"))
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	j->resp.max = m->cfg.max_response_bytes;
	CURLMcode mc = curl_multi_add_handle(m->multi, e);
	if (mc != CURLM_OK)
		return am_err_set(err, AM_ENET, "curl_multi_add_handle: %s",
		                  curl_multi_strerror(mc));
	j->started = am_clock_mono_ns();
	j->attempts++;
	m->stats.attempts++;
	if (j->attempts + j->rl_attempts > 1)
		m->stats.retries++;
	return 0;
}

/* What one finished attempt means. */
enum verdict { V_OK, V_RETRY, V_FAIL };

struct outcome {
	enum verdict v;
	const char *kind;
	char msg[1024];
	am_json *json; /* V_OK: the parsed body (NEW reference) */
	int64_t delay_ns;
};

static void snippet(const struct am_buf *b, char *out, size_t out_size)
{
	size_t n = AM_MIN(b->len, (size_t)SNIPPET_MAX);
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < out_size; i++) {
		unsigned char c = (unsigned char)b->data[i];
		out[k++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[k] = '\0';
}

static void judge_attempt(struct http_model *m, struct job *j, CURLcode cc, struct outcome *o)
{
	long status = 0;
	char *ctype = NULL;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(j->easy, CURLINFO_CONTENT_TYPE, &ctype);
	int64_t now = am_clock_mono_ns();
	o->json = NULL;
	o->delay_ns = 0;
	o->msg[0] = '\0';
	char snip[SNIPPET_MAX + 1];
	snip[0] = '\0';
	if (j->resp.data)
		snippet(&j->resp, snip, sizeof(snip));

	if (cc != CURLE_OK) {
		bool retryable = true;
		if (j->overflow) {
			o->v = V_FAIL;
			o->kind = "bad_response";
			(void)am_snprintf(o->msg, sizeof(o->msg),
			                  "POST %s: response body larger than %zu bytes", j->url,
			                  m->cfg.max_response_bytes);
			return;
		}
		if (cc == CURLE_OPERATION_TIMEDOUT) {
			o->kind = "timeout";
			(void)am_snprintf(o->msg, sizeof(o->msg),
			                  "POST %s: no complete answer within %ld ms (%s)", j->url,
			                  m->cfg.timeout_ms, j->errbuf[0] ? j->errbuf : "timeout");
		} else {
			o->kind = "network";
			switch (cc) {
			case CURLE_COULDNT_CONNECT:
			case CURLE_COULDNT_RESOLVE_HOST:
			case CURLE_COULDNT_RESOLVE_PROXY:
			case CURLE_SEND_ERROR:
			case CURLE_RECV_ERROR:
			case CURLE_GOT_NOTHING:
			case CURLE_PARTIAL_FILE:
			case CURLE_SSL_CONNECT_ERROR:
			case CURLE_HTTP2:
			case CURLE_HTTP2_STREAM:
			case CURLE_BAD_CONTENT_ENCODING: break;
			default: retryable = false; break;
			}
			(void)am_snprintf(o->msg, sizeof(o->msg), "POST %s: %s (%s)", j->url,
			                  curl_easy_strerror(cc),
			                  j->errbuf[0] ? j->errbuf : "no detail");
		}
		if (retryable && j->attempts <= m->cfg.max_retries) {
			o->v = V_RETRY;
			o->delay_ns = backoff_ns(m, j->attempts);
		} else {
			o->v = V_FAIL;
			if (retryable) {
				size_t l = strlen(o->msg);
				(void)am_snprintf(o->msg + l, sizeof(o->msg) - l,
				                  "; gave up after %d attempts",
				                  j->attempts + j->rl_attempts);
			}
		}
		return;
	}

	am_json *json = NULL;
	struct am_err perr = {0};
	int prc = AM_EPARSE;
	if (j->resp.len)
		prc = am_json_parse(j->resp.data, j->resp.len, "response", &json, &perr);
	else
		(void)am_err_set(&perr, AM_EPARSE, "empty body");
	bool json_type = ctype && http_contains_ci(ctype, "json");

	if (status >= 200 && status < 300) {
		if (prc == 0 && json_is_object(json)) {
			o->v = V_OK;
			o->json = json;
			am_aimd_on_success(&m->aimd);
			if (j->ratelimit_exhausted && j->ratelimit_reset_ns > 0 &&
			    now + j->ratelimit_reset_ns > m->aimd.blocked_until)
				m->aimd.blocked_until =
				    now + AM_MIN(j->ratelimit_reset_ns, MAX_RETRY_AFTER_NS);
			return;
		}
		am_json_free(json);
		o->v = V_FAIL;
		o->kind = prc == AM_ENOMEM ? "internal" : "bad_response";
		if (prc == AM_ENOMEM)
			(void)am_snprintf(o->msg, sizeof(o->msg),
			                  "POST %s: out of memory parsing the answer", j->url);
		else if (!json_type)
			(void)am_snprintf(o->msg, sizeof(o->msg),
			                  "POST %s: HTTP %ld with content type '%s', not JSON: %s",
			                  j->url, status, ctype ? ctype : "(none)", snip);
		else if (prc == 0)
			(void)am_snprintf(o->msg, sizeof(o->msg),
			                  "POST %s: HTTP %ld body is JSON but not an object: %s",
			                  j->url, status, snip);
		else
			(void)am_snprintf(o->msg, sizeof(o->msg),
			                  "POST %s: HTTP %ld malformed JSON: %s", j->url, status,
			                  perr.msg);
		return;
	}

	char server_msg[512];
	http_error_message(json, server_msg, sizeof(server_msg));
	const char *detail = server_msg[0] ? server_msg : snip;
	bool overload = status == 429 || m->codec->is_overload(status, json);
	if (overload) {
		m->stats.rate_limited++;
		int64_t ra = j->retry_after_ns;
		if (ra < 0 && j->ratelimit_reset_ns > 0)
			ra = j->ratelimit_reset_ns;
		am_aimd_on_overload(&m->aimd, now, ra);
		j->rl_attempts++;
		/* The attempt did not count against the error retries. */
		j->attempts--;
		if (j->rl_attempts <= m->cfg.max_rate_limit_retries) {
			o->v = V_RETRY;
			int64_t d = backoff_ns(m, j->rl_attempts);
			o->delay_ns = ra > d ? AM_MIN(ra, MAX_RETRY_AFTER_NS) : d;
		} else {
			o->v = V_FAIL;
			o->kind = "rate_limited";
			(void)am_snprintf(
			    o->msg, sizeof(o->msg),
			    "POST %s: HTTP %ld (rate limited or overloaded) %d times, "
			    "giving up: %s",
			    j->url, status, j->rl_attempts, detail);
		}
		am_json_free(json);
		return;
	}
	if (status >= 500 || status == 408) {
		if (j->attempts <= m->cfg.max_retries) {
			o->v = V_RETRY;
			o->delay_ns = backoff_ns(m, j->attempts);
			if (j->retry_after_ns > o->delay_ns)
				o->delay_ns = AM_MIN(j->retry_after_ns, MAX_RETRY_AFTER_NS);
		} else {
			o->v = V_FAIL;
			o->kind = status == 408 ? "timeout" : "server";
			(void)am_snprintf(o->msg, sizeof(o->msg),
			                  "POST %s: HTTP %ld after %d attempts: %s", j->url, status,
			                  j->attempts + j->rl_attempts, detail);
		}
		am_json_free(json);
		return;
	}
	char kmsg[512];
	o->v = V_FAIL;
	o->kind = m->codec->error_kind(status, json, kmsg, sizeof(kmsg));
	(void)am_snprintf(o->msg, sizeof(o->msg), "POST %s: HTTP %ld: %s", j->url, status, detail);
	am_json_free(json);
}

/* Redact secrets from a message before it leaves the backend. */
static void set_error(struct am_chat_reply *r, const char *kind, const char *msg)
{
	struct am_buf b = AM_BUF_INIT;
	if (am_log_redact(msg, strlen(msg), &b) < 0 || !b.data) {
		(void)am_chat_reply_set_error(r, kind, "(error message lost: out of memory)");
	} else {
		(void)am_chat_reply_set_error(r, kind, "%s", b.data);
	}
	am_buf_free(&b);
}

/* Deliver the final reply of a chat job, or the result of a raw job. */
static void job_finish(struct http_model *m, struct job *j, struct am_request_source *src,
                       struct outcome *o)
{
	if (j->kind == JOB_RAW) {
		struct http_raw_result *r = j->raw;
		r->rc = 0;
		if (o->v == V_OK) {
			r->json = o->json;
			o->json = NULL;
		} else {
			struct am_buf b = AM_BUF_INIT;
			(void)am_log_redact(o->msg, strlen(o->msg), &b);
			r->rc = am_err_set(&r->err, AM_ENET, "%s: %s", o->kind,
			                   b.data ? b.data : o->msg);
			am_buf_free(&b);
		}
		return;
	}
	struct am_chat_reply reply;
	memset(&reply, 0, sizeof(reply));
	if (o->v == V_OK) {
		struct am_err perr = {0};
		int rc = m->codec->parse_chat(o->json, &reply, &perr);
		if (rc < 0) {
			am_chat_reply_free(&reply);
			char msg[1200];
			(void)am_snprintf(msg, sizeof(msg),
			                  "POST %s: unexpected response shape: %s", j->url,
			                  perr.msg);
			set_error(&reply, rc == AM_ENOMEM ? "internal" : "bad_response", msg);
		} else if (reply.status == AM_REPLY_OK && m->cfg.cache) {
			struct am_err cerr = {0};
			if (am_cache_put(m->cfg.cache, j->cache_key, m->base.id, &reply, &cerr) < 0)
				am_log_warn("response cache: %s", cerr.msg);
		}
	} else {
		set_error(&reply, o->kind, o->msg);
	}
	if (reply.status == AM_REPLY_ERROR)
		m->stats.errors++;
	m->stats.requests++;
	src->done(src->ctx, j->tag, &reply);
}

static bool text_ok(const char *s)
{
	return !s || am_utf8_valid(s, strlen(s));
}

/* Every text of the request is UTF-8 (JSON can carry nothing else), so that a later failure
 * to build the body can only be a failed allocation. */
static int check_request_text(const struct am_chat_request *req, struct am_err *err)
{
	for (size_t i = 0; i < req->n_messages; i++) {
		const struct am_chat_message *m = &req->messages[i];
		const char *bad = !text_ok(m->content)        ? "content"
		                  : !text_ok(m->tool_call_id) ? "tool_call_id"
		                  : !text_ok(m->name)         ? "name"
		                                              : NULL;
		for (size_t k = 0; !bad && k < m->n_tool_calls; k++)
			if (!text_ok(m->tool_calls[k].id) || !text_ok(m->tool_calls[k].name) ||
			    !text_ok(m->tool_calls[k].arguments))
				bad = "tool_calls";
		if (bad)
			return am_err_set(err, AM_EINVAL, "messages[%zu].%s is not valid UTF-8", i,
			                  bad);
	}
	for (size_t i = 0; i < req->n_stop; i++)
		if (!text_ok(req->stop[i]))
			return am_err_set(err, AM_EINVAL, "stop[%zu] is not valid UTF-8", i);
	return 0;
}

/* Make a chat job, or answer it at once (cache hit, request it cannot build). Returns the job
 * or NULL when answered; negative *rc only when the whole run must stop. */
static struct job *chat_job_new(struct http_model *m, const struct am_chat_request *req, void *tag,
                                struct am_request_source *src, int *rc, struct am_err *err)
{
	struct am_chat_reply reply;
	memset(&reply, 0, sizeof(reply));
	am_json *body = NULL;
	struct job *j = am_calloc(1, sizeof(*j));
	struct am_err berr = {0};
	*rc = 0;
	if (!j) {
		*rc = am_err_set(err, AM_ENOMEM, "out of memory");
		return NULL;
	}
	j->kind = JOB_CHAT;
	j->tag = tag;
	j->req = req;
	am_buf_init(&j->body, 0);
	am_buf_init(&j->resp, m->cfg.max_response_bytes);
	struct am_buf url = AM_BUF_INIT;
	if (am_buf_printf(&url, err, "%s%s", m->base_url, m->codec->chat_path) < 0)
		goto nomem;
	j->url = am_buf_detach(&url, NULL, err);
	if (!j->url)
		goto nomem;
	int brc = check_request_text(req, &berr);
	if (brc == 0)
		brc = m->codec->build_chat(m, req, &body, &berr);
	if (brc == AM_ENOMEM)
		goto nomem;
	if (brc < 0) {
		(void)am_chat_reply_set_error(
		    &reply, "bad_request", "cannot build request for %s: %s", m->base.id, berr.msg);
		goto answered;
	}
	if (am_json_dump(body, true, &j->body, err) < 0)
		goto nomem;
	if (m->cfg.cache && am_cache_get_mode(m->cfg.cache) != AM_CACHE_OFF) {
		struct am_buf key = AM_BUF_INIT;
		if (am_buf_printf(&key, err, "amlab-http-cache-v1\n%s\n%s\n%d\n",
		                  m->codec->provider, j->url, req->sample_index) < 0 ||
		    am_buf_append(&key, j->body.data, j->body.len, err) < 0) {
			am_buf_free(&key);
			goto nomem;
		}
		int hrc = am_sha256_hex(key.data, key.len, j->cache_key, err);
		am_buf_free(&key);
		if (hrc < 0) {
			*rc = hrc;
			goto fail;
		}
		bool found = false;
		struct am_err cerr = {0};
		if (am_cache_get(m->cfg.cache, j->cache_key, &reply, &found, &cerr) < 0) {
			am_log_warn("response cache: %s", cerr.msg);
			found = false;
			am_chat_reply_free(&reply);
		}
		if (found) {
			m->stats.cache_hits++;
			goto answered;
		}
	}
	am_json_free(body);
	return j;

answered:
	am_json_free(body);
	job_free(j);
	if (reply.status == AM_REPLY_ERROR)
		m->stats.errors++;
	m->stats.requests++;
	src->done(src->ctx, tag, &reply);
	return NULL;
nomem:
	*rc = am_err_set(err, AM_ENOMEM, "out of memory building a request for %s", m->base.id);
fail:
	am_buf_free(&url);
	am_json_free(body);
	job_free(j);
	return NULL;
}

/* The event loop. src may be NULL (only the pre-made jobs in *pending run). */
static int http_loop(struct http_model *m, struct am_request_source *src, struct job *pending,
                     struct am_err *err)
{
	int rc = 0;
	struct job *waiting = pending; /* to (re)start, each at its not_before */
	struct job *inflight = NULL;   /* attached to the multi handle */
	int active = 0;
	bool source_dry = false;
	while (true) {
		int64_t now = am_clock_mono_ns();
		bool progress = false;
		/* Retries first: they are older than anything the source would hand out. */
		for (struct job **pp = &waiting; *pp;) {
			struct job *j = *pp;
			if (j->not_before > now || !am_aimd_can_start(&m->aimd, active, now)) {
				pp = &j->next;
				continue;
			}
			*pp = j->next;
			j->next = NULL;
			if ((rc = job_start(m, j, err)) < 0) {
				job_free(j);
				goto out;
			}
			j->next = inflight;
			inflight = j;
			active++;
			progress = true;
		}
		source_dry = false;
		while (src && am_aimd_can_start(&m->aimd, active, now)) {
			const struct am_chat_request *req = NULL;
			void *tag = NULL;
			if ((rc = src->next(src->ctx, &req, &tag, err)) < 0)
				goto out;
			if (!req) {
				source_dry = true;
				break;
			}
			progress = true;
			struct job *j = chat_job_new(m, req, tag, src, &rc, err);
			if (rc < 0)
				goto out;
			if (!j)
				continue; /* answered from the cache */
			if ((rc = job_start(m, j, err)) < 0) {
				job_free(j);
				goto out;
			}
			j->next = inflight;
			inflight = j;
			active++;
		}
		if (active > m->stats.peak_in_flight)
			m->stats.peak_in_flight = active;
		if (active == 0 && !waiting) {
			if (!src || src->finished(src->ctx))
				break;
			if (source_dry && !progress) {
				rc = am_err_set(
				    err, AM_ESTATE,
				    "request source for %s has nothing ready, nothing is in "
				    "flight, and it is not finished",
				    m->base.id);
				goto out;
			}
			if (now < m->aimd.blocked_until) {
				/* Nothing in flight and the endpoint said wait: sleep, do not spin.
				 */
				int64_t ns = AM_MIN(m->aimd.blocked_until - now, 1000 * NS_PER_MS);
				(void)curl_multi_poll(m->multi, NULL, 0,
				                      (int)((ns + NS_PER_MS - 1) / NS_PER_MS),
				                      NULL);
			}
			continue;
		}
		int running = 0;
		CURLMcode mc = curl_multi_perform(m->multi, &running);
		if (mc != CURLM_OK) {
			rc = am_err_set(err, AM_ENET, "curl_multi_perform: %s",
			                curl_multi_strerror(mc));
			goto out;
		}
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct job *j = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			CURLcode cc = msg->data.result;
			curl_multi_remove_handle(m->multi, j->easy);
			for (struct job **pp = &inflight; *pp; pp = &(*pp)->next) {
				if (*pp == j) {
					*pp = j->next;
					break;
				}
			}
			j->next = NULL;
			active--;
			progress = true;
			struct outcome o;
			judge_attempt(m, j, cc, &o);
			if (am_log_get_level() >= AM_LOG_DEBUG) {
				long st = 0;
				curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &st);
				am_log_debug("POST %s -> %ld %s (%.0f ms)", j->url, st,
				             o.v == V_OK      ? "ok"
				             : o.v == V_RETRY ? "retry"
				                              : o.kind,
				             (double)(am_clock_mono_ns() - j->started) / 1e6);
			}
			if (o.v == V_RETRY) {
				am_log_info("retrying %s in %.0f ms: %s", j->url,
				            (double)o.delay_ns / 1e6,
				            o.msg[0] ? o.msg : "overloaded");
				j->not_before = am_clock_mono_ns() + o.delay_ns;
				j->next = waiting;
				waiting = j;
				continue;
			}
			job_finish(m, j, src, &o);
			am_json_free(o.json);
			job_free(j);
		}
		/* Sleep until a socket is ready, a retry is due, or curl's own timers fire. */
		now = am_clock_mono_ns();
		int64_t wake = now + 1000 * NS_PER_MS;
		bool room = (double)active < m->aimd.limit;
		for (struct job *j = waiting; j; j = j->next) {
			int64_t t = AM_MAX(j->not_before, m->aimd.blocked_until);
			/* A due retry with no room waits for a completion, which wakes the poll. */
			if (t < wake && (t > now || room))
				wake = t;
		}
		int timeout_ms = (int)AM_MAX((wake - now + NS_PER_MS - 1) / NS_PER_MS, 0);
		if (progress && !source_dry && src)
			timeout_ms = 0;
		long curl_ms = -1;
		curl_multi_timeout(m->multi, &curl_ms);
		if (curl_ms >= 0 && curl_ms < timeout_ms)
			timeout_ms = (int)curl_ms;
		if (progress && active == 0)
			continue;
		if (m->cfg.cache && timeout_ms > 0) {
			struct am_err cerr = {0};
			if (am_cache_flush(m->cfg.cache, &cerr) < 0)
				am_log_warn("response cache: %s", cerr.msg);
		}
		mc = curl_multi_poll(m->multi, NULL, 0, timeout_ms, NULL);
		if (mc != CURLM_OK) {
			rc = am_err_set(err, AM_ENET, "curl_multi_poll: %s",
			                curl_multi_strerror(mc));
			goto out;
		}
	}
out:
	if (m->cfg.cache) {
		struct am_err cerr = {0};
		if (am_cache_flush(m->cfg.cache, &cerr) < 0)
			am_log_warn("response cache: %s", cerr.msg);
	}
	if (rc < 0) {
		/* The run stops; every request still held is answered so the source can free it. */
		struct outcome o = {.v = V_FAIL, .kind = "internal"};
		(void)am_snprintf(o.msg, sizeof(o.msg), "run aborted: %s",
		                  err ? err->msg : "error");
		while (inflight) {
			struct job *j = inflight;
			inflight = j->next;
			curl_multi_remove_handle(m->multi, j->easy);
			j->next = waiting;
			waiting = j;
		}
		while (waiting) {
			struct job *j = waiting;
			waiting = j->next;
			job_finish(m, j, src, &o);
			job_free(j);
		}
	}
	return rc;
}

static int http_run(struct am_model *base, struct am_request_source *src, struct am_err *err)
{
	struct http_model *m = (struct http_model *)base;
	return http_loop(m, src, NULL, err);
}

int http_post_json(struct http_model *m, const char *path, const am_json *body,
                   struct http_raw_result *out)
{
	memset(out, 0, sizeof(*out));
	struct job *j = am_calloc(1, sizeof(*j));
	if (!j)
		return out->rc = am_err_set(&out->err, AM_ENOMEM, "out of memory");
	j->kind = JOB_RAW;
	j->raw = out;
	am_buf_init(&j->body, 0);
	am_buf_init(&j->resp, m->cfg.max_response_bytes);
	struct am_buf url = AM_BUF_INIT;
	int rc;
	if ((rc = am_buf_printf(&url, &out->err, "%s%s", m->base_url, path)) < 0 ||
	    (rc = am_json_dump(body, true, &j->body, &out->err)) < 0) {
		am_buf_free(&url);
		job_free(j);
		return out->rc = rc;
	}
	j->url = am_buf_detach(&url, NULL, &out->err);
	if (!j->url) {
		job_free(j);
		return out->rc = AM_ENOMEM;
	}
	struct am_err lerr = {0};
	rc = http_loop(m, NULL, j, &lerr);
	if (rc < 0 && out->rc == 0) {
		out->err = lerr;
		out->rc = rc;
	}
	return out->rc;
}

/* ---- open / close ---- */

static void http_close(struct am_model *base)
{
	struct http_model *m = (struct http_model *)base;
	if (!m)
		return;
	if (m->multi)
		curl_multi_cleanup(m->multi);
	curl_slist_free_all(m->headers);
	am_free(m->base.id);
	am_free(m->model_name);
	am_free(m->base_url);
	if (m->api_key) {
		/* Do not leave the key lying in freed heap memory. */
		volatile char *p = m->api_key;
		while (*p)
			*p++ = 0;
	}
	am_free(m->api_key);
	am_free(m->anthropic_version);
	am_free(m);
}

extern int am_openai_logprob(struct am_model *base, const char *context, const char *continuation,
                             double *logprob, long *n_tokens, struct am_err *err);

static const struct am_model_ops http_ops = {http_run, am_openai_logprob, http_close};
static const struct am_model_ops http_ops_nologprob = {http_run, NULL, http_close};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool host_is_loopback(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return false;
	p += 3;
	const char *at = NULL;
	for (const char *q = p; *q && *q != '/'; q++)
		if (*q == '@')
			at = q;
	if (at)
		p = at + 1;
	const char *hosts[] = {"127.0.0.1", "[::1]", "localhost"};
	for (size_t i = 0; i < AM_ARRAY_LEN(hosts); i++) {
		size_t n = strlen(hosts[i]);
		if (am_strncasecmp_ascii(p, hosts[i], n) == 0 &&
		    (p[n] == '\0' || p[n] == ':' || p[n] == '/'))
			return true;
	}
	return false;
}

/* Environment variable NAME for endpoint `ep` (upper-cased, non-alnum to '_'). */
static const char *env_for(const char *prefix, const char *ep, const char *suffix, char *buf,
                           size_t size)
{
	size_t k = 0;
	for (const char *s = prefix; *s && k + 1 < size; s++)
		buf[k++] = *s;
	for (const char *s = ep; *s && k + 1 < size; s++) {
		char c = *s;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		buf[k++] = c;
	}
	for (const char *s = suffix; *s && k + 1 < size; s++)
		buf[k++] = *s;
	buf[k] = '\0';
	return getenv(buf);
}

static int add_header(struct curl_slist **list, struct am_err *err, const char *fmt, ...)
    AM_PRINTF(3, 4);
static int add_header(struct curl_slist **list, struct am_err *err, const char *fmt, ...)
{
	struct am_buf b = AM_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = am_buf_vprintf(&b, err, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return rc;
	struct curl_slist *n = curl_slist_append(*list, b.data);
	/* Scrub the copy that may hold a key. */
	memset(b.data, 0, b.len);
	am_buf_free(&b);
	if (!n)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	*list = n;
	return 0;
}

static bool cfg_in_retries(const struct am_http_config *c)
{
	return c && c->max_retries != 0;
}

int am_http_model_open(const char *id, const struct am_http_config *cfg_in, struct am_model **out,
                       struct am_err *err)
{
	struct am_http_config cfg;
	if (cfg_in)
		cfg = *cfg_in;
	else
		memset(&cfg, 0, sizeof(cfg));
	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return am_err_set(err, AM_ENET, "curl_global_init: %s",
		                  curl_easy_strerror(curl_init_rc));

	const struct http_codec *codec = NULL;
	const char *rest = NULL;
	char endpoint[64] = "";
	if (am_starts_with(id, "openai/")) {
		codec = &am_openai_codec;
		rest = id + 7;
	} else if (am_starts_with(id, "openai@")) {
		codec = &am_openai_codec;
		const char *slash = strchr(id + 7, '/');
		if (!slash || slash == id + 7 || (size_t)(slash - (id + 7)) >= sizeof(endpoint))
			return am_err_set(err, AM_EINVAL,
			                  "model id '%s': expected openai@ENDPOINT/NAME", id);
		memcpy(endpoint, id + 7, (size_t)(slash - (id + 7)));
		endpoint[slash - (id + 7)] = '\0';
		rest = slash + 1;
	} else if (am_starts_with(id, "anthropic/")) {
		codec = &am_anthropic_codec;
		rest = id + 10;
	} else {
		return am_err_set(err, AM_EINVAL,
		                  "model id '%s': not an HTTP model (expected openai/NAME, "
		                  "openai@ENDPOINT/NAME or anthropic/NAME)",
		                  id);
	}
	if (!*rest)
		return am_err_set(err, AM_EINVAL, "model id '%s': the model name is empty", id);

	char envname[128];
	const char *base_url = cfg.base_url;
	const char *key = cfg.api_key;
	const char *url_var = NULL;
	if (endpoint[0]) {
		if (!base_url) {
			base_url =
			    env_for("AMLAB_", endpoint, "_BASE_URL", envname, sizeof(envname));
			url_var = "AMLAB_<ENDPOINT>_BASE_URL";
			if (!base_url)
				return am_err_set(
				    err, AM_EINVAL,
				    "model id '%s': set %s (the endpoint's base URL, e.g. "
				    "http://127.0.0.1:8000/v1)",
				    id, envname);
		}
		if (!key)
			key = env_for("AMLAB_", endpoint, "_API_KEY", envname, sizeof(envname));
	} else if (codec == &am_openai_codec) {
		if (!base_url)
			base_url = getenv("OPENAI_BASE_URL");
		url_var = "OPENAI_BASE_URL";
		if (!base_url || !*base_url)
			base_url = "https://api.openai.com/v1";
		if (!key)
			key = getenv("OPENAI_API_KEY");
	} else {
		if (!base_url)
			base_url = getenv("ANTHROPIC_BASE_URL");
		url_var = "ANTHROPIC_BASE_URL";
		if (!base_url || !*base_url)
			base_url = "https://api.anthropic.com";
		if (!key)
			key = getenv("ANTHROPIC_API_KEY");
	}
	if (!am_starts_with(base_url, "http://") && !am_starts_with(base_url, "https://"))
		return am_err_set(err, AM_EINVAL,
		                  "model %s: base URL '%s'%s%s must start with http:// "
		                  "or https://",
		                  id, base_url, url_var ? " from " : "", url_var ? url_var : "");
	if (am_streq(getenv("AMLAB_TEST_LOOPBACK_ONLY"), "1") && !host_is_loopback(base_url))
		return am_err_set(err, AM_EINVAL,
		                  "model %s: base URL '%s' is not a loopback address and "
		                  "AMLAB_TEST_LOOPBACK_ONLY=1 forbids anything else",
		                  id, base_url);

	/* Fields the caller left at zero may come from the environment. */
	struct {
		const char *var;
		long *dst;
		long lo, hi;
	} envs[] = {{"AMLAB_HTTP_TIMEOUT_MS", &cfg.timeout_ms, 1, 86400000},
	            {"AMLAB_HTTP_MAX_CONCURRENCY", NULL, 1, 100000},
	            {"AMLAB_HTTP_MAX_RETRIES", NULL, 0, 1000}};
	long conc = cfg.max_concurrency, retries = cfg.max_retries;
	envs[1].dst = &conc;
	envs[2].dst = &retries;
	for (size_t i = 0; i < AM_ARRAY_LEN(envs); i++) {
		const char *v = getenv(envs[i].var);
		long x;
		if (*envs[i].dst != 0 || !v || !*v)
			continue;
		if (am_parse_long(v, &x, envs[i].var, NULL) < 0 || x < envs[i].lo || x > envs[i].hi)
			return am_err_set(err, AM_EINVAL,
			                  "%s='%s': expected an integer from %ld to %ld",
			                  envs[i].var, v, envs[i].lo, envs[i].hi);
		*envs[i].dst = x;
	}
	cfg.max_concurrency = (int)conc;
	/* 0 retries asked for in the environment means none (the config's 0 means default). */
	cfg.max_retries =
	    retries == 0 && getenv("AMLAB_HTTP_MAX_RETRIES") && !cfg_in_retries(cfg_in)
	        ? -1
	        : (int)retries;
	if (cfg.timeout_ms <= 0)
		cfg.timeout_ms = 600000;
	if (cfg.connect_timeout_ms <= 0)
		cfg.connect_timeout_ms = 30000;
	if (cfg.max_retries == 0)
		cfg.max_retries = 4;
	else if (cfg.max_retries < 0)
		cfg.max_retries = 0;
	if (cfg.max_rate_limit_retries == 0)
		cfg.max_rate_limit_retries = 12;
	else if (cfg.max_rate_limit_retries < 0)
		cfg.max_rate_limit_retries = 0;
	if (cfg.retry_base_ms <= 0)
		cfg.retry_base_ms = 1000;
	if (cfg.retry_max_ms <= 0)
		cfg.retry_max_ms = 60000;
	if (cfg.retry_max_ms < cfg.retry_base_ms)
		cfg.retry_max_ms = cfg.retry_base_ms;
	if (cfg.max_concurrency <= 0)
		cfg.max_concurrency = 256;
	if (cfg.initial_concurrency <= 0)
		cfg.initial_concurrency = AM_MIN(16, cfg.max_concurrency);
	if (cfg.max_response_bytes == 0)
		cfg.max_response_bytes = (size_t)64 << 20;

	int rc = 0;
	struct http_model *m = am_calloc(1, sizeof(*m));
	if (!m)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	m->codec = codec;
	m->base.ops = codec == &am_openai_codec ? &http_ops : &http_ops_nologprob;
	m->base.native_tools = true;
	m->base.id = am_strdup(id);
	m->model_name = am_strdup(rest);
	size_t ul = strlen(base_url);
	while (ul > 0 && base_url[ul - 1] == '/')
		ul--;
	m->base_url = am_strndup(base_url, ul);
	m->official_openai =
	    codec == &am_openai_codec && http_contains_ci(base_url, "://api.openai.com");
	m->anthropic_version =
	    am_strdup(cfg.anthropic_version ? cfg.anthropic_version : "2023-06-01");
	if (!m->base.id || !m->model_name || !m->base_url || !m->anthropic_version)
		goto nomem;
	/* Credentials written into the URL ("https://user:secret@host/v1") would otherwise show in
	 * every message that names the URL. */
	const char *auth_start = strstr(m->base_url, "://");
	const char *slash = auth_start ? strchr(auth_start + 3, '/') : NULL;
	const char *at = auth_start ? strchr(auth_start + 3, '@') : NULL;
	if (at && (!slash || at < slash) && at - (auth_start + 3) >= 4) {
		char *userinfo = am_strndup(auth_start + 3, (size_t)(at - (auth_start + 3)));
		rc = userinfo ? am_log_add_secret(userinfo) : AM_ENOMEM;
		am_free(userinfo);
		if (rc < 0) {
			rc = am_err_set(err, rc,
			                "model %s: cannot register the URL's credentials for "
			                "redaction",
			                id);
			goto fail;
		}
	}
	if (key && *key) {
		m->api_key = am_strdup(key);
		if (!m->api_key)
			goto nomem;
		rc = strlen(key) >= 4 ? am_log_add_secret(key) : 0;
		if (rc == AM_ELIMIT) {
			/* Refuse rather than run with a key the logs could print. */
			rc = am_err_set(
			    err, AM_ELIMIT,
			    "model %s: too many distinct API keys in one process for the "
			    "log redaction to cover another",
			    id);
			goto fail;
		}
		if (rc < 0) {
			rc = am_err_set(err, rc, "registering the API key for redaction failed");
			goto fail;
		}
	}
	cfg.base_url = cfg.api_key = cfg.anthropic_version = NULL;
	m->cfg = cfg;
	if ((rc = add_header(&m->headers, err, "Content-Type: application/json")) < 0 ||
	    (rc = add_header(&m->headers, err, "Accept: application/json")) < 0 ||
	    (rc = add_header(&m->headers, err, "Expect:")) < 0 ||
	    (rc = add_header(&m->headers, err, "User-Agent: amlab")) < 0)
		goto fail;
	if (codec == &am_anthropic_codec) {
		if ((rc = add_header(&m->headers, err, "anthropic-version: %s",
		                     m->anthropic_version)) < 0)
			goto fail;
		if (m->api_key &&
		    (rc = add_header(&m->headers, err, "x-api-key: %s", m->api_key)) < 0)
			goto fail;
	} else if (m->api_key && (rc = add_header(&m->headers, err, "Authorization: Bearer %s",
	                                          m->api_key)) < 0) {
		goto fail;
	}
	m->multi = curl_multi_init();
	if (!m->multi)
		goto nomem;
	curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg.max_concurrency);
	curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)cfg.max_concurrency);
	am_aimd_init(&m->aimd, cfg.initial_concurrency, cfg.max_concurrency);
	am_rng_seed(&m->rng, cfg.jitter_seed ? cfg.jitter_seed : 0x616d6c6162ULL);
	*out = &m->base;
	return 0;
nomem:
	rc = am_err_set(err, AM_ENOMEM, "out of memory opening %s", id);
fail:
	http_close(&m->base);
	return rc;
}

int am_http_build_request(const struct am_model *base, const struct am_chat_request *req,
                          am_json **body, struct am_err *err)
{
	*body = NULL;
	if (!base || (base->ops != &http_ops && base->ops != &http_ops_nologprob))
		return am_err_set(err, AM_EINVAL, "not an HTTP model");
	const struct http_model *m = (const struct http_model *)base;
	int rc = check_request_text(req, err);
	return rc < 0 ? rc : m->codec->build_chat(m, req, body, err);
}

int am_http_parse_reply(const char *provider, const char *body, size_t len,
                        struct am_chat_reply *reply, struct am_err *err)
{
	const struct http_codec *codec = NULL;
	if (am_streq(provider, "openai"))
		codec = &am_openai_codec;
	else if (am_streq(provider, "anthropic"))
		codec = &am_anthropic_codec;
	else
		return am_err_set(err, AM_EINVAL, "unknown provider '%s'",
		                  provider ? provider : "");
	am_json *j = NULL;
	int rc = am_json_parse(body, len, "response", &j, err);
	if (rc < 0)
		return rc;
	if (!json_is_object(j))
		rc = am_err_set(err, AM_EPARSE, "response: not a JSON object");
	else
		rc = codec->parse_chat(j, reply, err);
	am_json_free(j);
	return rc;
}

int am_http_model_stats(const struct am_model *base, struct am_http_stats *out, struct am_err *err)
{
	if (!base || (base->ops != &http_ops && base->ops != &http_ops_nologprob))
		return am_err_set(err, AM_EINVAL, "not an HTTP model");
	const struct http_model *m = (const struct http_model *)base;
	*out = m->stats;
	out->concurrency = m->aimd.limit;
	return 0;
}
