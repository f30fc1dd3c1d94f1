/* registry.h: one entry point that opens any model by its id, dispatching on the provider
 * prefix: openai/ and openai@ENDPOINT/ and anthropic/ (lib/backend, HTTP), local/ (lib/engine,
 * the GGUF engine), replay/ (lib/world, recorded replies).
 *
 * Ownership: the returned model is the caller's (am_model_close). opts->cache is borrowed and
 * must outlive the model. */
#ifndef AMLAB_REGISTRY_H
#define AMLAB_REGISTRY_H

#include "amlab/backend.h"
#include "amlab/model.h"

struct am_model_open_opts {
	struct am_cache *cache; /* HTTP response cache, or NULL */
	int n_threads;          /* local engine threads; 0: all CPUs */
};

int am_model_open(const char *id, const struct am_model_open_opts *opts, struct am_model **out,
                  struct am_err *err);

#endif
