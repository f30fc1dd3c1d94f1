/* models.c: the model registry (see amlab/registry.h). */
#include "amlab/registry.h"
#include "amlab/engine.h"
#include "amlab/replay.h"
#include "amlab/str.h"

int am_model_open(const char *id, const struct am_model_open_opts *opts, struct am_model **out,
                  struct am_err *err)
{
	*out = NULL;
	if (!id || !*id)
		return am_err_set(err, AM_EINVAL, "empty model id");
	if (am_starts_with(id, "openai/") || am_starts_with(id, "openai@") ||
	    am_starts_with(id, "anthropic/")) {
		struct am_http_config cfg = {0};
		cfg.cache = opts ? opts->cache : NULL;
		return am_http_model_open(id, &cfg, out, err);
	}
	if (am_starts_with(id, "replay/"))
		return am_replay_open(id, out, err);
	if (am_starts_with(id, "local/")) {
		struct am_local_options lo = {0};
		lo.n_threads = opts ? opts->n_threads : 0;
		return am_local_open(id, &lo, out, err);
	}
	return am_err_set(
	    err, AM_EINVAL,
	    "model id '%s' has no known provider (expected openai/NAME, "
	    "openai@ENDPOINT/NAME, anthropic/NAME, local/NAME-or-PATH or replay/FILE)",
	    id);
}
