/* world_internal.h: helpers shared by the files of lib/world (not a public interface).
 * Ownership follows amlab/json.h: *_new and dup functions return owned values. */
#ifndef AMLAB_WORLD_INTERNAL_H
#define AMLAB_WORLD_INTERNAL_H

#include "amlab/buf.h"
#include "amlab/json.h"

/* Case-insensitive (ASCII) substring search; NULL if absent. */
const char *wi_strcasestr(const char *hay, const char *needle);
/* Lower-cased copy (ASCII), or NULL on ENOMEM. */
char *wi_lower_dup(const char *s);
/* The address of a recipient ("Kyle <kyle@x.com>" -> "kyle@x.com"), lower-cased, trimmed. */
char *wi_address_dup(const char *s);
/* Append a JSON value as text for the agent: strings verbatim, others compact JSON. */
int wi_append_value(struct am_buf *b, const am_json *v);
/* Round to 6 decimals (docs/world.md's round6). */
double wi_round6(double x);

#endif
