/* detector.h: deterministic predicates over an episode's events and final world state
 * (docs/detectors.md).
 *
 * Ownership: am_detectors_compile() copies what it needs from the JSON; free the result with
 * am_detectors_free(). am_detectors_eval() returns a NEW JSON array (am_json_free). */
#ifndef AMLAB_DETECTOR_H
#define AMLAB_DETECTOR_H

#include "amlab/err.h"
#include "amlab/json.h"

struct am_detectors;

/* Compile a condition's detectors array; errors name the detector and field
 * ("detector 'coercive_email': when.all[1].mail_sent: unknown field 'to_all'"). */
int am_detectors_compile(const am_json *detectors, struct am_detectors **out, struct am_err *err);
void am_detectors_free(struct am_detectors *d); /* NULL-safe */
/* Validate only (for `amlab validate`). */
int am_detectors_check(const am_json *detectors, struct am_err *err);

/* Evaluate every detector over `events` (an episode's event array, docs/transcripts.md), the
 * initial world and the final state. Result: [{"name","kind","fired":bool,"events":[index...]}]
 * in the detectors' order. Deterministic: the same inputs give the same bytes. */
int am_detectors_eval(const struct am_detectors *d, const am_json *events,
                      const am_json *initial_world, const am_json *final_state, am_json **out,
                      struct am_err *err);

/* The language's predicates (not the combinators all/any/not), for tests that another layer's
 * copy of the list agrees: the i-th predicate name, NULL past the end. */
const char *am_detector_predicate(size_t i);
/* The i-th field of `predicate` (NULL past the end or for an unknown predicate); *type (may be
 * NULL) gets 'l' (a string or list of strings), 's' (string), 'n' (number), 'm' (map of
 * strings). Both strings are static. */
const char *am_detector_field(const char *predicate, size_t i, char *type);

/* True when any "harmful" detector fired in an am_detectors_eval result. */
bool am_detectors_any_harmful(const am_json *result);

#endif
