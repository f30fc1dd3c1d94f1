/* serve.h: an OpenAI-compatible HTTP server (libmicrohttpd) over ANY struct am_model: the local
 * engine for `amlab serve`, or a replay / test model. Endpoints: GET /v1/models,
 * POST /v1/chat/completions (tools, n, seed, logprobs, stream), POST /v1/completions (prompt
 * scoring with echo + logprobs). See docs/backends.md.
 *
 * Ownership: the server borrows the model (it must outlive am_serve_stop). One dispatcher
 * thread owns the model: chat requests of all clients queue and are handed to the model as one
 * request source, so whatever is waiting when a run starts (or arrives during it) is batched.
 * am_serve_stop() releases the server. */
#ifndef AMLAB_SERVE_H
#define AMLAB_SERVE_H

#include "amlab/model.h"

struct am_server;

struct am_serve_options {
	const char *host;       /* address to bind; NULL: "127.0.0.1" (loopback only) */
	int port;               /* 0: any free port (see am_serve_port) */
	const char *model_name; /* the name /v1/models lists; NULL: the model's id */
	size_t max_body_bytes;  /* larger request bodies get 413; 0: 8 MiB */
	int max_connections;    /* 0: 64 */
	int max_n;              /* most choices per request ("n"); 0: 16 */
};

int am_serve_start(struct am_model *m, const struct am_serve_options *opts, struct am_server **out,
                   struct am_err *err);
int am_serve_port(const struct am_server *s);
/* Most chat samples one run of the model took (concurrent clients are batched into one run:
 * the local engine decodes them together). */
int am_serve_peak_batch(struct am_server *s);
/* Requests answered so far (any status). */
long am_serve_requests(const struct am_server *s);
void am_serve_stop(struct am_server *s); /* NULL-safe */

/* Check a /v1/chat/completions body as the server would (JSON, messages, tools, parameters):
 * 0, or AM_EINVAL / AM_EPARSE with the client-facing message in err. For tests and fuzzing. */
int am_serve_check_chat_body(const char *body, size_t len, struct am_err *err);

#endif
