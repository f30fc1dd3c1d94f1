/* toolproto.h: the text tool protocol: tool calls written inside a model's reply, and the
 * separation of reasoning (scratchpad / thinking tags) from the action text.
 *
 * Two block forms are recognised, in any number and order:
 *   <tool_use:NAME>            the case study's form: `key: value` fields; a value runs until
 *   to: "a@x.com", b@y.com     the next `key:` line or the closing tag (so bodies span lines);
 *   body: ...                  keys are case-insensitive; quotes and trailing commas are
 *   </tool_use:NAME>           stripped; a repeated key is joined with ", ".
 *   <tool_call>{"name": "NAME", "arguments": {...}}</tool_call>     as small local models write it.
 * A block that cannot be read (no closing tag, bad JSON, no name, stray text) is still returned,
 * with `error` set, so the caller can answer it as a tool error; parsing never fails on content.
 *
 * Ownership: am_text_calls owns everything it points to; free with am_text_calls_free(). */
#ifndef AMLAB_TOOLPROTO_H
#define AMLAB_TOOLPROTO_H

#include "amlab/err.h"
#include "amlab/json.h"

struct am_toolset;

struct am_text_call {
	char *name;    /* tool name as written; "" when it could not be read */
	am_json *args; /* object of the fields (strings, or JSON values for <tool_call>); NULL on
	                  error */
	char *error;   /* why the block is malformed, or NULL */
	size_t start;  /* byte span of the block in the text */
	size_t end;
};

struct am_text_calls {
	struct am_text_call *v;
	size_t n;
};

/* Find every tool block in text[0..len). With a toolset, a known tool's fields start only at its
 * own parameter names (so "Note: ..." inside a body stays in the body); without one (or for an
 * unknown tool), any `identifier:` line starts a field. Fails only on AM_ENOMEM. */
int am_toolproto_parse(const char *text, size_t len, const struct am_toolset *ts,
                       struct am_text_calls *out, struct am_err *err);
void am_text_calls_free(struct am_text_calls *c);

/* Split a reply into action text and reasoning: the contents of <SCRATCHPAD_REASONING>,
 * <thinking>, <think> and <reasoning> tags (case-insensitive) go to *reasoning (joined by blank
 * lines; NULL when none), the rest to *action. An unclosed opening tag runs to the end; text
 * before a closing tag that has no opening (a template that opened <think> in the prompt) is
 * reasoning too. Both results are new strings (am_free). */
int am_split_reasoning(const char *text, char **action, char **reasoning, struct am_err *err);

#endif
