/* replay.h: the `replay/FILE` model provider: recorded assistant replies fed back turn by turn,
 * for tests, re-judging and importing transcripts from other harnesses.
 *
 * Files it reads (by content, not by name):
 *  - JSON {"replies": [R, ...]}: R is a string (the reply text) or an object
 *    {"content": str, "reasoning": str?, "tool_calls": [{"id"?, "name", "arguments": str|obj}]?}.
 *  - The case study's per-sample response.json: an object with "raw_response" (the one reply).
 *  - JSONL: one R per line (blank lines skipped).
 *  - Text (.txt): one reply; leading lines starting with "# " (e.g. "# condition: ID") are
 *    headers and not part of it.
 * The reply for a request is chosen by the request's turn: the number of assistant messages it
 * already holds. So many episodes can share one replay model, each getting reply 0, 1, ...
 * A turn past the recorded replies is an error reply (kind "replay_exhausted").
 *
 * Ownership: the model owns copies of the replies; close with am_model_close(). */
#ifndef AMLAB_REPLAY_H
#define AMLAB_REPLAY_H

#include "amlab/model.h"

/* `id` is "replay/FILE" or a plain path. Errors name the file (and line for JSONL). */
int am_replay_open(const char *id, struct am_model **out, struct am_err *err);
/* A replay model over in-memory reply texts (copied); `name` makes its id "replay/NAME". */
int am_replay_new(const char *name, const char *const *replies, size_t n, struct am_model **out,
                  struct am_err *err);
/* Parse the contents of a replay file (any format above); `source` names it in errors.
 * Returns a JSON array of reply objects {"content", "reasoning"?, "tool_calls"?} (new). */
int am_replay_parse(const char *text, size_t len, const char *source, am_json **replies,
                    struct am_err *err);

#endif
