/* chat_template.c: see amlab/chat_template.h. The formats follow the models' published chat
 * templates (the Jinja sources shipped in their GGUF files). */
#include "amlab/chat_template.h"

#include "amlab/alloc.h"
#include "amlab/str.h"

const char *am_chat_format_name(enum am_chat_format f)
{
	switch (f) {
	case AM_CHAT_CHATML: return "chatml";
	case AM_CHAT_GEMMA: return "gemma";
	case AM_CHAT_LLAMA3: return "llama3";
	}
	return "?";
}

int am_chat_template_by_name(const char *name, struct am_chat_template *out, struct am_err *err)
{
	memset(out, 0, sizeof(*out));
	if (am_streq(name, "chatml"))
		out->format = AM_CHAT_CHATML;
	else if (am_streq(name, "gemma"))
		out->format = AM_CHAT_GEMMA;
	else if (am_streq(name, "llama3"))
		out->format = AM_CHAT_LLAMA3;
	else
		return am_err_set(err, AM_EINVAL,
		                  "unknown chat template \"%s\" (known: chatml, gemma, llama3)",
		                  name ? name : "");
	return 0;
}

static const char *find(const char *s, size_t len, const char *needle)
{
	return memmem(s, len, needle, strlen(needle));
}

/* The literal default system prompt of a ChatML template: the text between
 * "<|im_start|>system\n" and "<|im_end|>" when it contains no template syntax. */
static int extract_default_system(const char *s, size_t len, char **out, struct am_err *err)
{
	static const char open[] = "<|im_start|>system\n";
	*out = NULL;
	const char *p = s, *end = s + len;
	while ((p = find(p, (size_t)(end - p), open))) {
		const char *text = p + strlen(open);
		const char *close = find(text, (size_t)(end - text), "<|im_end|>");
		if (!close)
			return 0;
		bool literal = close > text;
		for (const char *c = text; c < close && literal; c++)
			if (*c == '{' || *c == '}' || *c == '\'' || *c == '"' || *c == '+')
				literal = false;
		if (literal) {
			*out = am_strndup(text, (size_t)(close - text));
			return *out ? 0 : am_err_set(err, AM_ENOMEM, "out of memory");
		}
		p = close;
	}
	return 0;
}

int am_chat_template_detect(const char *jinja, size_t len, struct am_chat_template *out,
                            struct am_err *err)
{
	memset(out, 0, sizeof(*out));
	if (find(jinja, len, "<|im_start|>")) {
		out->format = AM_CHAT_CHATML;
		return extract_default_system(jinja, len, &out->default_system, err);
	}
	if (find(jinja, len, "<start_of_turn>")) {
		out->format = AM_CHAT_GEMMA;
		return 0;
	}
	if (find(jinja, len, "<|start_header_id|>")) {
		out->format = AM_CHAT_LLAMA3;
		return 0;
	}
	return am_err_set(err, AM_EUNSUPPORTED,
	                  "tokenizer.chat_template is none of the built-in formats (ChatML, Gemma, "
	                  "Llama 3); choose one with --template");
}

void am_chat_template_free(struct am_chat_template *t)
{
	if (!t)
		return;
	am_free(t->default_system);
	t->default_system = NULL;
}

/* The text of one message for the text protocol: content, then tool calls as blocks. */
static int message_text(const struct am_chat_message *m, struct am_buf *out, struct am_err *err)
{
	int rc = 0;
	if (m->content)
		rc = am_buf_puts(out, m->content, err);
	for (size_t i = 0; rc == 0 && i < m->n_tool_calls; i++) {
		const struct am_tool_call *c = &m->tool_calls[i];
		const char *name = c->name ? c->name : "";
		rc = am_buf_printf(out, err, "%s<tool_use:%s>\n%s\n</tool_use:%s>",
		                   (i > 0 || (m->content && *m->content)) ? "\n\n" : "", name,
		                   c->arguments ? c->arguments : "{}", name);
	}
	return rc;
}

static int tool_result_text(const struct am_chat_message *m, struct am_buf *out, struct am_err *err)
{
	const char *name = m->name && *m->name ? m->name : "tool";
	return am_buf_printf(out, err, "<tool_result:%s>\n%s\n</tool_result:%s>", name,
	                     m->content ? m->content : "", name);
}

/* A turn: role and text. Consecutive tool messages merge into one user turn. */
struct turn {
	const char *role; /* "system", "user", "assistant" */
	struct am_buf text;
};

static int build_turns(const struct am_chat_message *msgs, size_t n, struct turn **out,
                       size_t *n_out, struct am_err *err)
{
	struct turn *t = am_calloc(n ? n : 1, sizeof(*t));
	size_t k = 0;
	int rc = 0;
	if (!t)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct am_chat_message *m = &msgs[i];
		if (m->role == AM_ROLE_TOOL && k > 0 && msgs[i - 1].role == AM_ROLE_TOOL) {
			rc = am_buf_puts(&t[k - 1].text, "\n\n", err);
			if (rc == 0)
				rc = tool_result_text(m, &t[k - 1].text, err);
			continue;
		}
		am_buf_init(&t[k].text, 0);
		switch (m->role) {
		case AM_ROLE_SYSTEM: t[k].role = "system"; break;
		case AM_ROLE_USER:
		case AM_ROLE_TOOL: t[k].role = "user"; break;
		case AM_ROLE_ASSISTANT: t[k].role = "assistant"; break;
		}
		if (m->role == AM_ROLE_TOOL)
			rc = tool_result_text(m, &t[k].text, err);
		else
			rc = message_text(m, &t[k].text, err);
		if (rc == 0 && !t[k].text.data)
			rc = am_buf_puts(&t[k].text, "", err);
		k++;
	}
	*out = t;
	*n_out = k;
	return rc;
}

static void free_turns(struct turn *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		am_buf_free(&t[i].text);
	am_free(t);
}

static int render_chatml(const struct am_chat_template *tpl, struct turn *t, size_t n, bool gen,
                         struct am_buf *out, struct am_err *err)
{
	int rc = 0;
	if (tpl->default_system && (n == 0 || strcmp(t[0].role, "system") != 0))
		rc = am_buf_printf(out, err, "<|im_start|>system\n%s<|im_end|>\n",
		                   tpl->default_system);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = am_buf_printf(out, err, "<|im_start|>%s\n%s<|im_end|>\n", t[i].role,
		                   t[i].text.data);
	if (rc == 0 && gen)
		rc = am_buf_puts(out, "<|im_start|>assistant\n", err);
	return rc;
}

/* Gemma has no system role: the system text opens the first user turn. */
static int render_gemma(struct turn *t, size_t n, bool gen, struct am_buf *out, struct am_err *err)
{
	int rc = 0;
	const char *system = NULL;
	size_t i = 0;
	if (n > 0 && strcmp(t[0].role, "system") == 0) {
		system = t[0].text.data;
		i = 1;
	}
	bool first = true;
	for (; i < n && rc == 0; i++) {
		const char *role = strcmp(t[i].role, "assistant") == 0 ? "model" : "user";
		rc = am_buf_printf(out, err, "<start_of_turn>%s\n", role);
		if (rc == 0 && first && system && strcmp(role, "user") == 0)
			rc = am_buf_printf(out, err, "%s\n\n", system);
		first = false;
		if (rc == 0)
			rc = am_buf_printf(out, err, "%s<end_of_turn>\n", t[i].text.data);
	}
	if (rc == 0 && first && system) /* only a system message */
		rc = am_buf_printf(out, err, "<start_of_turn>user\n%s\n\n<end_of_turn>\n", system);
	if (rc == 0 && gen)
		rc = am_buf_puts(out, "<start_of_turn>model\n", err);
	return rc;
}

static int render_llama3(struct turn *t, size_t n, bool gen, struct am_buf *out, struct am_err *err)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = am_buf_printf(out, err,
		                   "<|start_header_id|>%s<|end_header_id|>\n\n%s<|eot_id|>",
		                   t[i].role, t[i].text.data);
	if (rc == 0 && gen)
		rc = am_buf_puts(out, "<|start_header_id|>assistant<|end_header_id|>\n\n", err);
	return rc;
}

int am_chat_template_render(const struct am_chat_template *t, const struct am_chat_message *msgs,
                            size_t n, bool add_generation_prompt, struct am_buf *out,
                            struct am_err *err)
{
	struct turn *turns = NULL;
	size_t nt = 0;
	int rc = build_turns(msgs, n, &turns, &nt, err);
	if (rc == 0) {
		switch (t->format) {
		case AM_CHAT_CHATML:
			rc = render_chatml(t, turns, nt, add_generation_prompt, out, err);
			break;
		case AM_CHAT_GEMMA:
			rc = render_gemma(turns, nt, add_generation_prompt, out, err);
			break;
		case AM_CHAT_LLAMA3:
			rc = render_llama3(turns, nt, add_generation_prompt, out, err);
			break;
		}
	}
	free_turns(turns, nt);
	return rc;
}

static int dup_field(const am_json *o, const char *key, char **dst, const char *path,
                     struct am_err *err)
{
	const char *v;
	int rc = am_json_get_str(o, key, &v, path, err);
	if (rc == AM_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	*dst = am_strdup(v);
	return *dst ? 0 : am_err_set(err, AM_ENOMEM, "out of memory");
}

int am_chat_messages_from_json(const am_json *v, const char *source, struct am_chat_message **msgs,
                               size_t *n, struct am_err *err)
{
	*msgs = NULL;
	*n = 0;
	if (json_is_object(v))
		v = am_json_get(v, "messages");
	if (!v || !json_is_array(v))
		return am_err_at(err, AM_EPARSE, source, 0, 0,
		                 "expected an array of messages (or an object with \"messages\")");
	size_t count = json_array_size(v);
	if (count == 0)
		return am_err_at(err, AM_EPARSE, source, 0, 0, "the conversation has no messages");
	struct am_chat_message *m = am_calloc(count, sizeof(*m));
	if (!m)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	int rc = 0;
	size_t i;
	for (i = 0; i < count && rc == 0; i++) {
		char path[96];
		am_snprintf(path, sizeof(path), "%s: messages[%zu]", source, i);
		const am_json *o = json_array_get(v, i);
		const char *role;
		if (!json_is_object(o)) {
			rc = am_err_set(err, AM_EPARSE, "%s: must be an object", path);
			break;
		}
		if ((rc = am_json_get_str(o, "role", &role, path, err)) < 0) {
			if (rc == AM_ENOTFOUND)
				rc =
				    am_err_set(err, AM_EPARSE, "%s: field 'role' is missing", path);
			break;
		}
		if (strcmp(role, "system") == 0)
			m[i].role = AM_ROLE_SYSTEM;
		else if (strcmp(role, "user") == 0)
			m[i].role = AM_ROLE_USER;
		else if (strcmp(role, "assistant") == 0)
			m[i].role = AM_ROLE_ASSISTANT;
		else if (strcmp(role, "tool") == 0)
			m[i].role = AM_ROLE_TOOL;
		else {
			rc = am_err_set(err, AM_EPARSE,
			                "%s: role \"%s\" is not system, user, assistant or tool",
			                path, role);
			break;
		}
		if ((rc = dup_field(o, "content", &m[i].content, path, err)) < 0 ||
		    (rc = dup_field(o, "name", &m[i].name, path, err)) < 0 ||
		    (rc = dup_field(o, "tool_call_id", &m[i].tool_call_id, path, err)) < 0)
			break;
		if (!m[i].content) {
			rc = am_err_set(err, AM_EPARSE, "%s: field 'content' is missing", path);
			break;
		}
	}
	if (rc < 0) {
		for (size_t k = 0; k < count; k++)
			am_chat_message_free(&m[k]);
		am_free(m);
		return rc;
	}
	*msgs = m;
	*n = count;
	return 0;
}
