/* toolproto.c: the text tool protocol (see amlab/toolproto.h): <tool_use:NAME> blocks with
 * `key: value` fields, <tool_call>{json}</tool_call> tags, and reasoning tags.
 *
 * The input is untrusted model output of any bytes (it has a fuzz target); every search is
 * bounded by the given length and nothing assumes NUL termination or valid UTF-8. */
#include "amlab/toolproto.h"

#include <ctype.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/str.h"
#include "amlab/world.h"

#define NPOS ((size_t)-1)

/* Case-insensitive search of needle in t[from..len). */
static size_t ci_find(const char *t, size_t len, size_t from, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = from; i + n <= len; i++)
		if (am_strncasecmp_ascii(t + i, needle, n) == 0)
			return i;
	return NPOS;
}

static size_t skip_space(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
		i++;
	return i;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* ---- call list ---- */

static int push_call(struct am_text_calls *out, struct am_text_call *c)
{
	struct am_text_call *v = am_reallocarray(out->v, out->n + 1, sizeof(*v));
	if (!v)
		return AM_ENOMEM;
	out->v = v;
	out->v[out->n++] = *c;
	memset(c, 0, sizeof(*c));
	return 0;
}

static void call_free(struct am_text_call *c)
{
	am_free(c->name);
	am_json_free(c->args);
	am_free(c->error);
	memset(c, 0, sizeof(*c));
}

void am_text_calls_free(struct am_text_calls *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		call_free(&c->v[i]);
	am_free(c->v);
	c->v = NULL;
	c->n = 0;
}

static int set_error(struct am_text_call *c, const char *fmt, ...) AM_PRINTF(2, 3);
static int set_error(struct am_text_call *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	am_free(c->error);
	am_json_free(c->args);
	c->args = NULL;
	c->error = am_strdup(msg);
	return c->error ? 0 : AM_ENOMEM;
}

/* A printable, UTF-8-safe copy of a name for messages and events. */
static char *name_dup(const char *p, size_t n)
{
	if (n > 64)
		n = 64;
	if (!am_utf8_valid(p, n))
		return am_strdup("");
	return am_strndup(p, n);
}

/* ---- field values ---- */

/* Trim, drop a trailing comma after a quoted value, strip matching quotes (unescaping \" \\ \n
 * inside them). Appends the value to out. */
static int clean_value(const char *p, size_t n, struct am_buf *out)
{
	am_trim(&p, &n);
	if (n >= 2 && p[n - 1] == ',') {
		const char *q = p;
		size_t m = n - 1;
		am_trim(&q, &m);
		if (m >= 2 && (q[m - 1] == '"' || q[m - 1] == '\'' || q[m - 1] == ']'))
			n = (size_t)(q - p) + m;
	}
	if (n >= 2 && (p[0] == '"' || p[0] == '\'') && p[n - 1] == p[0]) {
		char quote = p[0];
		p++;
		n -= 2;
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			if (c == '\\' && i + 1 < n) {
				char d = p[i + 1];
				if (d == quote || d == '\\') {
					c = d;
					i++;
				} else if (d == 'n') {
					c = '\n';
					i++;
				} else if (d == 't') {
					c = '\t';
					i++;
				}
			}
			if (am_buf_putc(out, c, NULL) < 0)
				return AM_ENOMEM;
		}
		return 0;
	}
	return am_buf_append(out, p, n, NULL);
}

/* Is line[0..n) a `key:` line? Returns the normalized key (new string) and the value offset;
 * NULL when it is not one, or when memory ran out (*oom then set). */
static char *key_line(const char *line, size_t n, const am_json *known, size_t *value_at, bool *oom)
{
	size_t i = 0;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	bool quoted = i < n && (line[i] == '"' || line[i] == '\'');
	if (quoted)
		i++;
	size_t ks = i;
	if (i >= n || !(isalpha((unsigned char)line[i]) || line[i] == '_'))
		return NULL;
	while (i < n && i - ks < 40 &&
	       (isalnum((unsigned char)line[i]) || line[i] == '_' || line[i] == '-' ||
	        (known && line[i] == ' ')))
		i++;
	size_t ke = i;
	while (ke > ks && line[ke - 1] == ' ')
		ke--;
	if (quoted && i < n && (line[i] == '"' || line[i] == '\''))
		i++;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i >= n || line[i] != ':')
		return NULL;
	if (i + 2 < n && line[i + 1] == '/' && line[i + 2] == '/')
		return NULL; /* a URL, not a field */
	char *key = am_strndup(line + ks, ke - ks);
	if (!key) {
		*oom = true;
		return NULL;
	}
	for (char *q = key; *q; q++)
		*q = (*q == ' ' || *q == '-') ? '_' : (char)tolower((unsigned char)*q);
	if (known) {
		bool ok = false;
		const char *k;
		am_json *v;
		json_object_foreach((am_json *)known, k, v)
		{
			if (am_strcaseeq_ascii(k, key)) {
				ok = true;
				am_free(key);
				key = am_strdup(k);
				break;
			}
		}
		if (ok && !key)
			*oom = true;
		if (!ok || !key) {
			am_free(key);
			return NULL;
		}
	}
	*value_at = i + 1;
	return key;
}

static bool blank_or_fence(const char *p, size_t n)
{
	am_trim(&p, &n);
	return n == 0 || (n >= 3 && memcmp(p, "```", 3) == 0);
}

/* Store key = value (joining a repeated key with ", "). */
static int store_field(struct am_text_call *c, const char *key, struct am_buf *val)
{
	const char *s = val->data ? val->data : "";
	if (!am_utf8_valid(s, val->len))
		return set_error(c, "field '%s' is not valid UTF-8", key);
	am_json *old = am_json_get(c->args, key);
	int rc;
	if (json_is_string(old)) {
		struct am_buf j = AM_BUF_INIT;
		rc = am_buf_append(&j, json_string_value(old), json_string_length(old), NULL);
		if (rc == 0)
			rc = am_buf_puts(&j, ", ", NULL);
		if (rc == 0)
			rc = am_buf_append(&j, s, val->len, NULL);
		if (rc == 0)
			rc = am_json_set_strn(c->args, key, j.data, j.len);
		am_buf_free(&j);
	} else {
		rc = am_json_set_strn(c->args, key, s, val->len);
	}
	return rc;
}

static int parse_json_args(struct am_text_call *c, const char *p, size_t n);

/* Does a value line leave a double-quoted value open? `open` says whether it was open before the
 * line; the value is closed by a line ending in an unescaped '"' (optionally followed by ','). */
static bool quote_open_after(const char *p, size_t n, bool open, bool first)
{
	am_trim(&p, &n);
	if (first) {
		if (n == 0 || p[0] != '"')
			return false;
		p++;
		n--;
		open = true;
	}
	if (!open)
		return false;
	if (n && p[n - 1] == ',')
		n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n && p[n - 1] == '"' && !(n >= 2 && p[n - 2] == '\\'))
		return false;
	return true;
}

/* The `key: value` lines of a block. With quotes, a line inside a double-quoted value that has
 * not closed yet never starts a field (a quoted body may contain "to: ..." lines). Returns 1
 * when a quoted value was still open at the end (the caller retries without quotes). */
static int parse_lines(struct am_text_call *c, const char *body, size_t len, const am_json *known,
                       bool quotes)
{
	am_json_free(c->args);
	c->args = am_json_obj_new();
	if (!c->args)
		return AM_ENOMEM;
	char *key = NULL;
	struct am_buf raw = AM_BUF_INIT, val = AM_BUF_INIT;
	int rc = 0;
	size_t i = 0;
	bool open = false;
	while (i < len && rc == 0 && !c->error) {
		size_t e = i;
		while (e < len && body[e] != '\n')
			e++;
		size_t at;
		bool oom = false;
		char *k = open ? NULL : key_line(body + i, e - i, known, &at, &oom);
		if (oom) {
			rc = AM_ENOMEM;
			break;
		}
		if (k) {
			if (key) {
				am_buf_reset(&val);
				rc = clean_value(raw.data ? raw.data : "", raw.len, &val);
				if (rc == 0)
					rc = store_field(c, key, &val);
				am_free(key);
			}
			key = k;
			am_buf_reset(&raw);
			if (rc == 0)
				rc = am_buf_append(&raw, body + i + at, e - i - at, NULL);
			open = quotes && quote_open_after(body + i + at, e - i - at, false, true);
		} else if (key) {
			rc = am_buf_putc(&raw, '\n', NULL);
			if (rc == 0)
				rc = am_buf_append(&raw, body + i, e - i, NULL);
			open = open && quote_open_after(body + i, e - i, true, false);
		} else if (!blank_or_fence(body + i, e - i)) {
			size_t show = AM_MIN(e - i, (size_t)40);
			char *snip = name_dup(body + i, show);
			rc = snip
			         ? set_error(c, "text before the first 'field: value' line: \"%s\"",
			                     snip)
			         : AM_ENOMEM;
			am_free(snip);
		}
		i = e + 1;
	}
	if (rc == 0 && open && !c->error)
		rc = 1;
	if (rc == 0 && key && !c->error) {
		am_buf_reset(&val);
		rc = clean_value(raw.data ? raw.data : "", raw.len, &val);
		if (rc == 0)
			rc = store_field(c, key, &val);
	}
	am_free(key);
	am_buf_free(&raw);
	am_buf_free(&val);
	return rc;
}

/* Trim p[0..n) and drop a ``` code fence around it: the opening line (with any language
 * tag) and the closing ticks. */
static void trim_code_fence(const char **p, size_t *n)
{
	am_trim(p, n);
	if (*n >= 3 && memcmp(*p, "```", 3) == 0) {
		size_t nl = 0;
		while (nl < *n && (*p)[nl] != '\n')
			nl++;
		*p += nl;
		*n -= nl;
		if (*n >= 3 && memcmp(*p + *n - 3, "```", 3) == 0)
			*n -= 3;
		am_trim(p, n);
	}
}

/* Parse the fields between the tags of a <tool_use:NAME> block into c->args. */
static int parse_fields(struct am_text_call *c, const char *body, size_t len, const am_json *known)
{
	const char *p = body;
	size_t n = len;
	/* tolerate a code fence around the fields */
	trim_code_fence(&p, &n);
	if (n && p[0] == '{')
		return parse_json_args(c, p, n);
	int rc = parse_lines(c, body, len, known, true);
	if (rc == 1) /* a quote never closed: read the lines without quote awareness */
		rc = parse_lines(c, body, len, known, false);
	return rc;
}

/* A JSON object as a block body: the arguments directly. */
static int parse_json_args(struct am_text_call *c, const char *p, size_t n)
{
	am_json *v = NULL;
	struct am_err perr = {0};
	int rc = am_json_parse(p, n, "tool block", &v, &perr);
	if (rc == AM_ENOMEM)
		return rc;
	if (rc < 0)
		return set_error(c, "the block's JSON is invalid: %s", perr.msg);
	if (!json_is_object(v)) {
		am_json_free(v);
		return set_error(c, "the block's JSON must be an object");
	}
	c->args = v;
	return 0;
}

/* <tool_call>{"name":..., "arguments":...}</tool_call> content. */
static int parse_tool_call_json(struct am_text_call *c, const char *p, size_t n)
{
	trim_code_fence(&p, &n);
	am_json *v = NULL;
	struct am_err perr = {0};
	int rc = am_json_parse(p, n, "tool_call", &v, &perr);
	if (rc == AM_ENOMEM)
		return rc;
	c->name = am_strdup("");
	if (!c->name) {
		am_json_free(v);
		return AM_ENOMEM;
	}
	if (rc < 0)
		return set_error(c, "the <tool_call> JSON is invalid: %s", perr.msg);
	if (!json_is_object(v)) {
		am_json_free(v);
		return set_error(c, "the <tool_call> JSON must be an object with \"name\" and "
		                    "\"arguments\"");
	}
	am_json *fn = am_json_get(v, "function"); /* tolerate the OpenAI wrapping */
	am_json *src = json_is_object(fn) ? fn : v;
	const char *name = am_json_get_str_or(src, "name", NULL);
	am_json *args = am_json_get(src, "arguments");
	if (!args)
		args = am_json_get(src, "parameters");
	if (!args)
		args = am_json_get(src, "input");
	if (!name || !*name) {
		am_json_free(v);
		return set_error(c, "the <tool_call> JSON has no \"name\"");
	}
	am_free(c->name);
	c->name = am_strdup(name);
	if (!c->name) {
		am_json_free(v);
		return AM_ENOMEM;
	}
	if (!args || json_is_null(args)) {
		c->args = am_json_obj_new();
		rc = c->args ? 0 : AM_ENOMEM;
	} else if (json_is_string(args)) {
		/* arguments as a JSON string, as the OpenAI API sends them */
		am_json *a = NULL;
		rc = am_json_parse(json_string_value(args), json_string_length(args), "arguments",
		                   &a, &perr);
		if (rc == 0 && !json_is_object(a)) {
			am_json_free(a);
			rc = set_error(c, "\"arguments\" must be a JSON object");
		} else if (rc == AM_ENOMEM) {
			;
		} else if (rc < 0) {
			rc = set_error(c, "\"arguments\" is not valid JSON: %s", perr.msg);
		} else {
			c->args = a;
		}
	} else if (json_is_object(args)) {
		c->args = am_json_copy(args);
		rc = c->args ? 0 : AM_ENOMEM;
	} else {
		rc = set_error(c, "\"arguments\" must be a JSON object");
	}
	am_json_free(v);
	return rc;
}

/* ---- block scanning ---- */

enum block_kind { BLOCK_NONE, BLOCK_TOOL_USE, BLOCK_TOOL_CALL };

/* At t[i] == '<': which opening tag is it, where does it end (*tag_end, past '>'), and the
 * name span for tool_use. A tool_use opening that cannot be read sets *bad. */
static enum block_kind opening(const char *t, size_t len, size_t i, size_t *tag_end, size_t *name_s,
                               size_t *name_e, bool *bad)
{
	*bad = false;
	size_t j = skip_space(t, len, i + 1);
	if (j + 9 <= len && am_strncasecmp_ascii(t + j, "tool_call", 9) == 0) {
		size_t k = skip_space(t, len, j + 9);
		if (k < len && t[k] == '>') {
			*tag_end = k + 1;
			return BLOCK_TOOL_CALL;
		}
		return BLOCK_NONE;
	}
	if (!(j + 8 <= len && am_strncasecmp_ascii(t + j, "tool_use", 8) == 0))
		return BLOCK_NONE;
	size_t k = skip_space(t, len, j + 8);
	if (k < len && t[k] == ':')
		k = skip_space(t, len, k + 1);
	else {
		*bad = true;
	}
	*name_s = k;
	while (k < len && is_name_char(t[k]))
		k++;
	*name_e = k;
	if (*name_e == *name_s)
		*bad = true;
	k = skip_space(t, len, k);
	if (k < len && t[k] == '>')
		*tag_end = k + 1;
	else {
		*bad = true;
		size_t e = k;
		while (e < len && t[e] != '\n' && t[e] != '>')
			e++;
		*tag_end = e < len && t[e] == '>' ? e + 1 : e;
	}
	return BLOCK_TOOL_USE;
}

/* Next opening tag of either kind at or after from; NPOS if none. */
static size_t next_opening(const char *t, size_t len, size_t from)
{
	for (size_t i = from; i < len; i++) {
		if (t[i] != '<')
			continue;
		size_t te, ns, ne;
		bool bad;
		if (opening(t, len, i, &te, &ns, &ne, &bad) != BLOCK_NONE)
			return i;
	}
	return NPOS;
}

/* A closing tag `</tool_use...>` or `</tool_call>` at or after from, before limit. */
static size_t closing(const char *t, size_t len, size_t from, size_t limit, const char *tag,
                      size_t *close_end)
{
	size_t i = from;
	while ((i = ci_find(t, limit, i, "</")) != NPOS) {
		size_t j = skip_space(t, len, i + 2);
		size_t tl = strlen(tag);
		if (j + tl <= len && am_strncasecmp_ascii(t + j, tag, tl) == 0) {
			size_t k = j + tl;
			while (k < len && k - j < 96 && t[k] != '>' && t[k] != '<' && t[k] != '\n')
				k++;
			if (k < len && t[k] == '>') {
				*close_end = k + 1;
				return i;
			}
		}
		i += 2;
	}
	return NPOS;
}

static const am_json *known_fields(const struct am_toolset *ts, const char *name)
{
	if (!ts)
		return NULL;
	long i = am_toolset_find(ts, name);
	if (i < 0)
		return NULL;
	return am_json_get(am_toolset_schema(ts, (size_t)i), "properties");
}

int am_toolproto_parse(const char *text, size_t len, const struct am_toolset *ts,
                       struct am_text_calls *out, struct am_err *err)
{
	memset(out, 0, sizeof(*out));
	size_t i = 0;
	int rc = 0;
	struct am_text_call c = {0};
	while (rc == 0 && (i = next_opening(text, len, i)) != NPOS) {
		size_t tag_end = 0, ns = 0, ne = 0, close_end = 0;
		bool bad;
		enum block_kind kind = opening(text, len, i, &tag_end, &ns, &ne, &bad);
		size_t next = next_opening(text, len, tag_end);
		size_t limit = next == NPOS ? len : next;
		memset(&c, 0, sizeof(c));
		c.start = i;
		if (kind == BLOCK_TOOL_CALL) {
			size_t ci = closing(text, len, tag_end, limit, "tool_call", &close_end);
			if (ci == NPOS) {
				rc = (c.name = am_strdup("")) ? 0 : AM_ENOMEM;
				if (rc == 0)
					rc = set_error(
					    &c, "<tool_call> is not closed with </tool_call>");
				c.end = limit;
			} else {
				rc = parse_tool_call_json(&c, text + tag_end, ci - tag_end);
				c.end = close_end;
			}
		} else {
			c.name = name_dup(text + ns, ne - ns);
			if (!c.name) {
				rc = AM_ENOMEM;
				break;
			}
			size_t ci = closing(text, len, tag_end, limit, "tool_use", &close_end);
			if (bad) {
				rc = set_error(&c, "malformed opening tag: write <tool_use:NAME>");
				c.end = ci == NPOS ? tag_end : close_end;
			} else if (ci == NPOS) {
				rc =
				    set_error(&c, "<tool_use:%s> is not closed with </tool_use:%s>",
				              c.name, c.name);
				c.end = limit;
			} else {
				rc = parse_fields(&c, text + tag_end, ci - tag_end,
				                  known_fields(ts, c.name));
				c.end = close_end;
			}
		}
		if (rc == 0)
			rc = push_call(out, &c);
		i = c.end > i ? c.end : i + 1;
		if (rc == 0 && out->n && out->v[out->n - 1].end > i)
			i = out->v[out->n - 1].end;
		if (rc == 0 && out->n)
			i = AM_MAX(i, out->v[out->n - 1].end);
	}
	call_free(&c);
	if (rc < 0) {
		am_text_calls_free(out);
		return am_err_set(err, AM_ENOMEM, "out of memory parsing tool calls");
	}
	return 0;
}

/* ---- reasoning ---- */

static const char *const reasoning_tags[] = {"SCRATCHPAD_REASONING", "thinking", "think",
                                             "reasoning"};

/* Find "<tag>" (tolerating spaces) of any reasoning tag at or after from. */
static size_t find_tag(const char *t, size_t len, size_t from, bool closing_tag, size_t *tag_i,
                       size_t *tag_end)
{
	for (size_t i = from; i < len; i++) {
		if (t[i] != '<')
			continue;
		size_t j = skip_space(t, len, i + 1);
		if (closing_tag) {
			if (j >= len || t[j] != '/')
				continue;
			j = skip_space(t, len, j + 1);
		} else if (j < len && t[j] == '/') {
			continue;
		}
		for (size_t k = 0; k < AM_ARRAY_LEN(reasoning_tags); k++) {
			size_t n = strlen(reasoning_tags[k]);
			if (j + n <= len &&
			    am_strncasecmp_ascii(t + j, reasoning_tags[k], n) == 0) {
				size_t e = skip_space(t, len, j + n);
				if (e < len && t[e] == '>') {
					*tag_i = k;
					*tag_end = e + 1;
					return i;
				}
			}
		}
	}
	return NPOS;
}

static int add_reasoning(struct am_buf *r, const char *p, size_t n)
{
	am_trim(&p, &n);
	if (!n)
		return 0;
	if (r->len && am_buf_puts(r, "\n\n", NULL) < 0)
		return AM_ENOMEM;
	return am_buf_append(r, p, n, NULL);
}

int am_split_reasoning(const char *text, char **action, char **reasoning, struct am_err *err)
{
	*action = *reasoning = NULL;
	if (!text)
		text = "";
	size_t len = strlen(text);
	struct am_buf a = AM_BUF_INIT, r = AM_BUF_INIT;
	int rc = 0;
	size_t i = 0, tag, te;
	/* A closing tag before any opening: the template opened it in the prompt. */
	size_t first_open = find_tag(text, len, 0, false, &tag, &te);
	size_t first_close = find_tag(text, len, 0, true, &tag, &te);
	if (first_close != NPOS && (first_open == NPOS || first_close < first_open)) {
		rc = add_reasoning(&r, text, first_close);
		i = te;
	}
	while (rc == 0 && i < len) {
		size_t o = find_tag(text, len, i, false, &tag, &te);
		if (o == NPOS) {
			rc = am_buf_append(&a, text + i, len - i, NULL);
			break;
		}
		rc = am_buf_append(&a, text + i, o - i, NULL);
		size_t body = te, ctag, cte;
		/* the matching closing tag of the same name */
		size_t c = body;
		for (;;) {
			c = find_tag(text, len, c, true, &ctag, &cte);
			if (c == NPOS || ctag == tag)
				break;
			c = cte;
		}
		if (c == NPOS) {
			if (rc == 0)
				rc = add_reasoning(&r, text + body, len - body);
			break;
		}
		if (rc == 0)
			rc = add_reasoning(&r, text + body, c - body);
		i = cte;
	}
	if (rc == 0) {
		*action = am_buf_detach(&a, NULL, NULL);
		if (!*action)
			rc = AM_ENOMEM;
	}
	if (rc == 0 && r.len) {
		*reasoning = am_buf_detach(&r, NULL, NULL);
		if (!*reasoning)
			rc = AM_ENOMEM;
	}
	am_buf_free(&a);
	am_buf_free(&r);
	if (rc < 0) {
		am_free(*action);
		*action = NULL;
		return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	return 0;
}
