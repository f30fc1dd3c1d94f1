/* http_internal.h: what the HTTP engine (http.c) and the provider codecs (openai.c,
 * anthropic.c) share inside lib/backend. Not a public header.
 *
 * Ownership: a struct http_model owns its strings, header list and curl multi handle. Codec
 * builders return NEW JSON references the caller frees; parsers fill caller-zeroed replies. */
#ifndef AMLAB_BACKEND_HTTP_INTERNAL_H
#define AMLAB_BACKEND_HTTP_INTERNAL_H

#include <curl/curl.h>

#include "amlab/backend.h"
#include "amlab/rng.h"

struct http_model;

/* One provider's wire format. */
struct http_codec {
	const char *provider;  /* "openai", "anthropic" */
	const char *chat_path; /* appended to the base URL */
	int (*build_chat)(const struct http_model *m, const struct am_chat_request *req,
	                  am_json **body, struct am_err *err);
	/* Fill reply from a 2xx JSON answer; AM_EPARSE with a message when it is not the shape
	 * expected. May set reply to an error itself (e.g. a refusal). */
	int (*parse_chat)(const am_json *resp, struct am_chat_reply *reply, struct am_err *err);
	/* The stable error kind of a non-2xx, non-retried answer; msg gets the server's own
	 * message when the body carries one (else left ""). */
	const char *(*error_kind)(long status, const am_json *body, char *msg, size_t msg_size);
	/* True when a non-2xx answer means "overloaded" (treated like 429). */
	bool (*is_overload)(long status, const am_json *body);
};

extern const struct http_codec am_openai_codec;
extern const struct http_codec am_anthropic_codec;

struct http_model {
	struct am_model base;
	const struct http_codec *codec;
	char *model_name; /* the provider's name for the model ("gpt-4.1") */
	char *base_url;   /* without trailing slash */
	char *api_key;    /* NULL or "" when none is sent */
	char *anthropic_version;
	bool official_openai;      /* api.openai.com: wants max_completion_tokens, not max_tokens */
	struct am_http_config cfg; /* defaults resolved; string fields not used after open */
	struct curl_slist *headers;
	CURLM *multi;
	struct am_aimd aimd;
	struct am_rng rng;
	struct am_http_stats stats;
};

/* A request body that the engine posts and hands back parsed (used by logprob). */
struct http_raw_result {
	int rc; /* 0, or negative with err set */
	struct am_err err;
	long status;
	am_json *json; /* NEW reference on success */
};
int http_post_json(struct http_model *m, const char *path, const am_json *body,
                   struct http_raw_result *out);

/* Shared helpers for codecs. */
/* Copy the server's error message ("error": {"message": ...} or "error": "...") into msg. */
void http_error_message(const am_json *body, char *msg, size_t msg_size);
/* Case-insensitive substring test. */
bool http_contains_ci(const char *hay, const char *needle);
/* am_strdup of s, or of "" when s is NULL. */
char *http_dup_or_empty(const char *s);

#endif
