/* chat_template.h: built-in chat-template renderers of the local engine: ChatML (SmolLM2, Qwen),
 * Gemma and Llama 3. The template is picked from a GGUF's tokenizer.chat_template by its
 * markers (<|im_start|>, <start_of_turn>, <|start_header_id|>) or by name.
 *
 * Tool traffic is rendered for the text protocol: a tool message becomes user-side text
 * (<tool_result:NAME> ... </tool_result:NAME>, consecutive results in one user turn) and an
 * assistant's structured tool calls become <tool_use:NAME> blocks holding their JSON arguments.
 * BOS is not rendered: the engine adds the BOS token when the tokenizer asks for it.
 *
 * Ownership: struct am_chat_template owns its default system prompt (am_chat_template_free). */
#ifndef AMLAB_CHAT_TEMPLATE_H
#define AMLAB_CHAT_TEMPLATE_H

#include "amlab/buf.h"
#include "amlab/model.h"

enum am_chat_format { AM_CHAT_CHATML, AM_CHAT_GEMMA, AM_CHAT_LLAMA3 };

struct am_chat_template {
	enum am_chat_format format;
	/* ChatML: the system prompt the template inserts when the conversation has none
	 * (SmolLM2, Qwen 2.5), or NULL */
	char *default_system;
};

/* By name: "chatml", "gemma", "llama3". */
int am_chat_template_by_name(const char *name, struct am_chat_template *out, struct am_err *err);
/* From the Jinja source of tokenizer.chat_template (len bytes). */
int am_chat_template_detect(const char *jinja, size_t len, struct am_chat_template *out,
                            struct am_err *err);
void am_chat_template_free(struct am_chat_template *t);
const char *am_chat_format_name(enum am_chat_format f);

/* Render messages, ending with the assistant's generation prompt when add_generation_prompt. */
int am_chat_template_render(const struct am_chat_template *t, const struct am_chat_message *msgs,
                            size_t n, bool add_generation_prompt, struct am_buf *out,
                            struct am_err *err);

/* Messages from JSON: an array of {"role": "system"|"user"|"assistant"|"tool", "content": str,
 * "name"?: str, "tool_call_id"?: str}, or an object with such a "messages" array. `source`
 * names the input in errors ("chat.json: messages[2]: ..."). The caller frees each message with
 * am_chat_message_free and the array with am_free. */
int am_chat_messages_from_json(const am_json *v, const char *source, struct am_chat_message **msgs,
                               size_t *n, struct am_err *err);

#endif
