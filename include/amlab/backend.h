/* backend.h: model providers over HTTP (OpenAI-compatible Chat Completions and the Anthropic
 * Messages API), their adaptive concurrency, retries and response cache. See docs/backends.md.
 *
 * Ownership: am_http_model_open() returns a struct am_model the caller releases with
 * am_model_close(). The config's strings are copied at open; its cache pointer is borrowed and
 * must outlive the model. A struct am_cache is released with am_cache_close(). */
#ifndef AMLAB_BACKEND_H
#define AMLAB_BACKEND_H

#include "amlab/model.h"

struct am_cache;

/* Settings of one HTTP model. Zero / NULL fields take the default named in the comment, so a
 * zeroed struct is a valid config. Base URL and key come from the environment when NULL (see
 * docs/backends.md: OPENAI_BASE_URL, OPENAI_API_KEY, ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY,
 * and AMLAB_<ENDPOINT>_BASE_URL / AMLAB_<ENDPOINT>_API_KEY for "openai@endpoint/NAME"). */
struct am_http_config {
	const char *base_url;       /* e.g. "http://127.0.0.1:8000/v1"; NULL: environment */
	const char *api_key;        /* NULL: environment; "" sends no key */
	long timeout_ms;            /* whole attempt; default 600000 (reasoning models are slow) */
	long connect_timeout_ms;    /* default 30000 */
	int max_retries;            /* extra attempts on 5xx, timeouts, network; default 4;
	                               negative: none */
	int max_rate_limit_retries; /* extra attempts on 429/529; default 12; negative: none */
	long retry_base_ms;         /* first backoff; default 1000 */
	long retry_max_ms;          /* backoff cap (Retry-After may ask longer); default 60000 */
	int initial_concurrency;    /* default 16 */
	int max_concurrency;        /* default 256 */
	size_t max_response_bytes;  /* a larger body fails the request; default 64 MiB */
	uint64_t jitter_seed;       /* seed of the retry jitter; 0: a fixed default */
	const char *anthropic_version; /* anthropic-version header; default "2023-06-01" */
	struct am_cache *cache;        /* borrowed; NULL: no cache */
};

/* Open "openai/NAME", "openai@ENDPOINT/NAME" or "anthropic/NAME". cfg may be NULL (all
 * defaults). With AMLAB_TEST_LOOPBACK_ONLY=1 in the environment, a base URL whose host is not
 * 127.0.0.1, ::1 or localhost is refused (AM_EINVAL), so tests can never reach the network. */
int am_http_model_open(const char *id, const struct am_http_config *cfg, struct am_model **out,
                       struct am_err *err);

/* The JSON body an HTTP model would POST for req (NEW reference), e.g. for a dry run or a wire
 * check against a provider's own types. */
int am_http_build_request(const struct am_model *m, const struct am_chat_request *req,
                          am_json **body, struct am_err *err);

/* Parse one provider answer body ("openai" Chat Completions or "anthropic" Messages) into
 * reply (zeroed by the caller; freed with am_chat_reply_free even on failure). AM_EPARSE with
 * the field named when it is not that shape. Used by the engine's loop and by fuzzing. */
int am_http_parse_reply(const char *provider, const char *body, size_t len,
                        struct am_chat_reply *reply, struct am_err *err);

/* Counters of an HTTP model since open (for reports and tests). */
struct am_http_stats {
	long requests;      /* requests answered (replies handed to done()) */
	long attempts;      /* HTTP attempts made (retries included; cache hits excluded) */
	long retries;       /* attempts after the first, for any reason */
	long rate_limited;  /* 429 / 529 / overloaded answers seen */
	long cache_hits;    /* replies served from the cache */
	long errors;        /* replies with AM_REPLY_ERROR */
	int peak_in_flight; /* most requests in flight at once */
	double concurrency; /* the adaptive limit now */
};
/* Returns AM_EINVAL when m is not an HTTP model. */
int am_http_model_stats(const struct am_model *m, struct am_http_stats *out, struct am_err *err);

/* ---- Adaptive concurrency (AIMD), one per endpoint; pure logic over the injectable clock so
 * tests can drive it. ---- */
struct am_aimd {
	double limit;          /* requests allowed in flight now */
	double min, max;       /* bounds of limit */
	double decrease;       /* multiplicative factor on overload, e.g. 0.5 */
	int64_t blocked_until; /* mono ns: start nothing new before this (Retry-After) */
	int64_t last_cut;      /* mono ns of the last decrease (one cut per burst of 429s) */
	bool slow_start;       /* no overload seen yet: grow by one per success (doubling) */
};
void am_aimd_init(struct am_aimd *a, int initial, int max);
/* May one more request start with `in_flight` already running, at mono time now? */
bool am_aimd_can_start(const struct am_aimd *a, int in_flight, int64_t now_ns);
/* A request succeeded: until the first overload, one more per success (the limit doubles
 * each window, as TCP's slow start); after it, additive growth of about one per window. */
void am_aimd_on_success(struct am_aimd *a);
/* An overload answer (429/529): cut the limit (at most once per cooldown) and, when the server
 * said how long to wait (retry_after_ns > 0), block new starts until then. */
void am_aimd_on_overload(struct am_aimd *a, int64_t now_ns, int64_t retry_after_ns);

/* Parse a Retry-After value (delta seconds, or an HTTP date, relative to wall time now_ms)
 * into nanoseconds; returns false when it is not one of those forms. */
bool am_http_parse_retry_after(const char *value, int64_t now_ms, int64_t *out_ns);
/* Parse an OpenAI rate-limit reset duration ("1s", "6m0s", "250ms", "1h2m3.5s"). */
bool am_http_parse_duration(const char *value, int64_t *out_ns);

/* ---- Response cache: SQLite table `http_cache` in the given database file (WAL). ---- */
enum am_cache_mode { AM_CACHE_OFF = 0, AM_CACHE_ON = 1, AM_CACHE_READ_ONLY = 2 };
/* "on", "off", "read-only" */
int am_cache_mode_parse(const char *s, enum am_cache_mode *out, struct am_err *err);
int am_cache_open(const char *db_path, enum am_cache_mode mode, struct am_cache **out,
                  struct am_err *err);
void am_cache_close(struct am_cache *c); /* NULL-safe */
enum am_cache_mode am_cache_get_mode(const struct am_cache *c);
/* Look key (64 hex digits) up. On a hit *found is set and reply filled (from_cache true). */
int am_cache_get(struct am_cache *c, const char *key, struct am_chat_reply *reply, bool *found,
                 struct am_err *err);
/* Store a successful reply (errors are never cached); a no-op unless the mode is on. */
int am_cache_put(struct am_cache *c, const char *key, const char *model_id,
                 const struct am_chat_reply *reply, struct am_err *err);
/* New rows wait in memory (lookups already see them); this writes them in one transaction
 * (the HTTP engine calls it whenever it waits and at the end of a run; am_cache_close does
 * too). No transaction stays open between calls, so other connections to the same file (the
 * run's store) never find it locked by the cache. */
int am_cache_flush(struct am_cache *c, struct am_err *err);
long am_cache_hits(const struct am_cache *c);
long am_cache_misses(const struct am_cache *c);
/* Rows in the table (tests, reports). */
int am_cache_count(struct am_cache *c, long *out, struct am_err *err);

/* A reply as JSON and back (the cache's stored form; also handy for fixtures). */
int am_chat_reply_to_json(const struct am_chat_reply *r, am_json **out, struct am_err *err);
int am_chat_reply_from_json(const am_json *j, struct am_chat_reply *r, struct am_err *err);

#endif
