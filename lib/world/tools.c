/* tools.c: a condition's tools (name, description, JSON-schema parameters, world op, bind):
 * validation of the definitions and of call arguments, the provider shapes (OpenAI, Anthropic),
 * text-protocol instructions, and executing a call against the world. */
#include "amlab/alloc.h"
#include "amlab/str.h"
#include "amlab/world.h"
#include "world_internal.h"

struct tool {
	const char *name; /* borrowed from ts->json */
	const char *description;
	const char *op;
	am_json *schema;
	am_json *bind;
};

struct am_toolset {
	am_json *json;
	struct tool *tools;
	size_t n;
};

static const char *const schema_keywords[] = {
    "type",    "description", "properties",           "required", "enum", "items",
    "default", "title",       "additionalProperties", NULL};
static const char *const schema_types[] = {"string", "number", "integer", "boolean",
                                           "array",  "object", "null",    NULL};

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (am_streq(list[i], s))
			return true;
	return false;
}

/* Check a schema node of the supported subset; path names it in errors. */
static int check_schema(const am_json *s, const char *path, int depth, struct am_err *err)
{
	if (depth > 16)
		return am_err_set(err, AM_EINVAL, "%s: schema nested too deeply", path);
	if (!json_is_object(s))
		return am_err_set(err, AM_EINVAL, "%s: must be a JSON-schema object", path);
	const char *k;
	am_json *v;
	json_object_foreach((am_json *)s, k, v)
	{
		if (!in_list(schema_keywords, k))
			return am_err_set(
			    err, AM_EINVAL,
			    "%s: unsupported schema keyword '%s' (supported: type, "
			    "properties, required, enum, items, description, default)",
			    path, k);
	}
	am_json *type = am_json_get(s, "type");
	if (type) {
		size_t n = json_is_array(type) ? json_array_size(type) : 1;
		for (size_t i = 0; i < n; i++) {
			am_json *t = json_is_array(type) ? json_array_get(type, i) : type;
			if (!json_is_string(t) || !in_list(schema_types, json_string_value(t)))
				return am_err_set(
				    err, AM_EINVAL,
				    "%s: 'type' must be one of string, number, integer, "
				    "boolean, array, object, null",
				    path);
		}
	}
	am_json *en = am_json_get(s, "enum");
	if (en && (!json_is_array(en) || json_array_size(en) == 0))
		return am_err_set(err, AM_EINVAL, "%s: 'enum' must be a non-empty array", path);
	am_json *props = am_json_get(s, "properties");
	if (props && !json_is_object(props))
		return am_err_set(err, AM_EINVAL, "%s: 'properties' must be an object", path);
	json_object_foreach(props, k, v)
	{
		char p[256];
		am_snprintf(p, sizeof(p), "%s.properties.%s", path, k);
		int rc = check_schema(v, p, depth + 1, err);
		if (rc < 0)
			return rc;
	}
	am_json *req = am_json_get(s, "required");
	if (req) {
		if (!json_is_array(req))
			return am_err_set(err, AM_EINVAL, "%s: 'required' must be an array", path);
		for (size_t i = 0; i < json_array_size(req); i++) {
			am_json *r = json_array_get(req, i);
			if (!json_is_string(r))
				return am_err_set(err, AM_EINVAL,
				                  "%s: required[%zu] must be a string", path, i);
			if (!am_json_get(props, json_string_value(r)))
				return am_err_set(
				    err, AM_EINVAL,
				    "%s: required property '%s' is not in 'properties'", path,
				    json_string_value(r));
		}
	}
	am_json *items = am_json_get(s, "items");
	if (items) {
		char p[256];
		am_snprintf(p, sizeof(p), "%s.items", path);
		int rc = check_schema(items, p, depth + 1, err);
		if (rc < 0)
			return rc;
	}
	am_json *ap = am_json_get(s, "additionalProperties");
	if (ap && !json_is_boolean(ap))
		return am_err_set(err, AM_EINVAL,
		                  "%s: 'additionalProperties' must be true or false", path);
	return 0;
}

static int check_tool(const am_json *t, size_t i, struct am_err *err)
{
	char path[160];
	const char *name = am_json_get_str_or(t, "name", NULL);
	if (!json_is_object(t))
		return am_err_set(err, AM_EINVAL, "tools[%zu]: must be an object", i);
	if (!name || !*name)
		return am_err_set(err, AM_EINVAL, "tools[%zu]: missing field 'name'", i);
	am_snprintf(path, sizeof(path), "tool '%s'", name);
	for (const char *p = name; *p; p++)
		if (!(*p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return am_err_set(err, AM_EINVAL,
			                  "%s: name may only contain letters, digits, '_' and '-'",
			                  path);
	if (!json_is_string(am_json_get(t, "description")))
		return am_err_set(err, AM_EINVAL, "%s: missing field 'description'", path);
	const char *op = am_json_get_str_or(t, "op", NULL);
	if (!op)
		return am_err_set(err, AM_EINVAL, "%s: missing field 'op'", path);
	if (!am_world_op_known(op))
		return am_err_set(err, AM_EINVAL, "%s: unknown op '%s'", path, op);
	am_json *params = am_json_get(t, "parameters");
	if (!params)
		return am_err_set(err, AM_EINVAL, "%s: missing field 'parameters'", path);
	char ppath[200];
	am_snprintf(ppath, sizeof(ppath), "%s.parameters", path);
	int rc = check_schema(params, ppath, 0, err);
	if (rc < 0)
		return rc;
	if (!am_streq(am_json_get_str_or(params, "type", ""), "object"))
		return am_err_set(err, AM_EINVAL, "%s: 'type' must be \"object\"", ppath);
	am_json *bind = am_json_get(t, "bind");
	if (bind && !json_is_object(bind))
		return am_err_set(err, AM_EINVAL, "%s: field 'bind' must be an object", path);
	const char *k;
	am_json *v;
	json_object_foreach((am_json *)t, k, v)
	{
		if (!am_streq(k, "name") && !am_streq(k, "description") && !am_streq(k, "op") &&
		    !am_streq(k, "parameters") && !am_streq(k, "bind"))
			return am_err_set(err, AM_EINVAL, "%s: unknown field '%s'", path, k);
	}
	return 0;
}

int am_world_check_tools(const am_json *tools, struct am_err *err)
{
	if (!json_is_array(tools))
		return am_err_set(err, AM_EINVAL, "tools: must be an array");
	for (size_t i = 0; i < json_array_size(tools); i++) {
		int rc = check_tool(json_array_get(tools, i), i, err);
		if (rc < 0)
			return rc;
		const char *name = am_json_get_str_or(json_array_get(tools, i), "name", "");
		for (size_t j = 0; j < i; j++)
			if (am_streq(am_json_get_str_or(json_array_get(tools, j), "name", ""),
			             name))
				return am_err_set(err, AM_EINVAL, "tool '%s': defined twice", name);
	}
	return 0;
}

int am_toolset_load(const am_json *tools, struct am_toolset **out, struct am_err *err)
{
	*out = NULL;
	int rc = am_world_check_tools(tools, err);
	if (rc < 0)
		return rc;
	struct am_toolset *ts = am_calloc(1, sizeof(*ts));
	if (!ts || !(ts->json = am_json_copy(tools)) ||
	    !(ts->tools = am_calloc(json_array_size(tools) + 1, sizeof(*ts->tools)))) {
		am_toolset_free(ts);
		return am_err_set(err, AM_ENOMEM, "out of memory");
	}
	ts->n = json_array_size(tools);
	for (size_t i = 0; i < ts->n; i++) {
		am_json *t = json_array_get(ts->json, i);
		ts->tools[i] = (struct tool){am_json_get_str_or(t, "name", ""),
		                             am_json_get_str_or(t, "description", ""),
		                             am_json_get_str_or(t, "op", ""),
		                             am_json_get(t, "parameters"), am_json_get(t, "bind")};
	}
	*out = ts;
	return 0;
}

void am_toolset_free(struct am_toolset *ts)
{
	if (!ts)
		return;
	am_json_free(ts->json);
	am_free(ts->tools);
	am_free(ts);
}

size_t am_toolset_count(const struct am_toolset *ts)
{
	return ts->n;
}

long am_toolset_find(const struct am_toolset *ts, const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < ts->n; i++)
		if (am_streq(ts->tools[i].name, name))
			return (long)i;
	for (size_t i = 0; i < ts->n; i++)
		if (am_strcaseeq_ascii(ts->tools[i].name, name))
			return (long)i;
	return -1;
}

const char *am_toolset_name(const struct am_toolset *ts, size_t i)
{
	return ts->tools[i].name;
}
const char *am_toolset_op(const struct am_toolset *ts, size_t i)
{
	return ts->tools[i].op;
}
const am_json *am_toolset_schema(const struct am_toolset *ts, size_t i)
{
	return ts->tools[i].schema;
}
const am_json *am_toolset_bind(const struct am_toolset *ts, size_t i)
{
	return ts->tools[i].bind;
}

/* ---- provider shapes ---- */

int am_tools_neutral_json(const struct am_toolset *ts, am_json **out, struct am_err *err)
{
	am_json *arr = am_json_arr_new();
	for (size_t i = 0; arr && i < ts->n; i++) {
		am_json *t = am_json_obj_new();
		int rc = t ? 0 : AM_ENOMEM;
		if (rc == 0 && (am_json_set_str(t, "name", ts->tools[i].name) < 0 ||
		                am_json_set_str(t, "description", ts->tools[i].description) < 0 ||
		                am_json_set(t, "parameters", ts->tools[i].schema) < 0 ||
		                am_json_push(arr, t) < 0))
			rc = AM_ENOMEM;
		am_json_free(t);
		if (rc < 0) {
			am_json_free(arr);
			arr = NULL;
		}
	}
	*out = arr;
	return arr ? 0 : am_err_set(err, AM_ENOMEM, "out of memory");
}

static int neutral_entry(const am_json *t, size_t i, const char **name, const char **desc,
                         am_json **params, struct am_err *err)
{
	*name = am_json_get_str_or(t, "name", NULL);
	*desc = am_json_get_str_or(t, "description", "");
	*params = am_json_get(t, "parameters");
	if (!*name)
		return am_err_set(err, AM_EINVAL, "tools[%zu]: missing field 'name'", i);
	if (*params && !json_is_object(*params))
		return am_err_set(err, AM_EINVAL, "tools[%zu]: 'parameters' must be an object", i);
	return 0;
}

/* An empty object schema for tools without parameters (both APIs require one). */
static am_json *empty_schema(void)
{
	am_json *s = am_json_obj_new(), *p = am_json_obj_new();
	if (!s || !p || am_json_set_str(s, "type", "object") < 0 ||
	    am_json_set(s, "properties", p) < 0) {
		am_json_free(s);
		s = NULL;
	}
	am_json_free(p);
	return s;
}

static int shape_tools(const am_json *neutral, bool openai, am_json **out, struct am_err *err)
{
	*out = NULL;
	if (!json_is_array(neutral))
		return am_err_set(err, AM_EINVAL, "tools: must be an array");
	am_json *arr = am_json_arr_new();
	int rc = arr ? 0 : AM_ENOMEM;
	for (size_t i = 0; rc == 0 && i < json_array_size(neutral); i++) {
		const char *name, *desc;
		am_json *params;
		if ((rc = neutral_entry(json_array_get(neutral, i), i, &name, &desc, &params,
		                        err)) < 0)
			break;
		am_json *schema = params ? am_json_copy(params) : empty_schema();
		am_json *fn = am_json_obj_new(), *wrap = am_json_obj_new();
		if (!schema || !fn || !wrap || am_json_set_str(fn, "name", name) < 0 ||
		    am_json_set_str(fn, "description", desc) < 0 ||
		    am_json_set(fn, openai ? "parameters" : "input_schema", schema) < 0)
			rc = AM_ENOMEM;
		if (rc == 0 && openai &&
		    (am_json_set_str(wrap, "type", "function") < 0 ||
		     am_json_set(wrap, "function", fn) < 0 || am_json_push(arr, wrap) < 0))
			rc = AM_ENOMEM;
		if (rc == 0 && !openai && am_json_push(arr, fn) < 0)
			rc = AM_ENOMEM;
		am_json_free(schema);
		am_json_free(fn);
		am_json_free(wrap);
	}
	if (rc < 0) {
		am_json_free(arr);
		return rc == AM_ENOMEM ? am_err_set(err, AM_ENOMEM, "out of memory") : rc;
	}
	*out = arr;
	return 0;
}

int am_tools_openai_json(const am_json *neutral, am_json **out, struct am_err *err)
{
	return shape_tools(neutral, true, out, err);
}

int am_tools_anthropic_json(const am_json *neutral, am_json **out, struct am_err *err)
{
	return shape_tools(neutral, false, out, err);
}

/* ---- text-protocol instructions ---- */

static const char *type_name(const am_json *schema)
{
	am_json *t = am_json_get(schema, "type");
	if (json_is_array(t))
		t = json_array_get(t, 0);
	const char *s = json_string_value(t);
	if (am_streq(s, "array")) {
		const char *it = am_json_get_str_or(am_json_get(schema, "items"), "type", "");
		if (am_streq(it, "string"))
			return "list, comma-separated";
		return "list";
	}
	if (am_streq(s, "object"))
		return "JSON object";
	return s ? s : "any";
}

int am_tools_text_instructions(const struct am_toolset *ts, struct am_buf *out, struct am_err *err)
{
	int rc = am_buf_puts(
	    out,
	    "\n\n# Tools\n\nYou act by writing tool-use blocks in your reply. Each block looks "
	    "like this:\n\n<tool_use:TOOL_NAME>\nfield_name: value\nother_field: value\n"
	    "</tool_use:TOOL_NAME>\n\nA value runs until the next \"field_name:\" line or the "
	    "closing tag, so a body may span several lines. Separate several recipients or "
	    "items with commas. A call may also be written as <tool_call>{\"name\": "
	    "\"TOOL_NAME\", \"arguments\": {...}}</tool_call>. You may write several calls in "
	    "one reply; they are executed in order. Text outside the calls is not seen by "
	    "anyone.\n\nAvailable tools:\n",
	    err);
	for (size_t i = 0; rc == 0 && i < ts->n; i++) {
		const struct tool *t = &ts->tools[i];
		rc = am_buf_printf(out, err, "\n## %s\n%s\n", t->name, t->description);
		am_json *props = am_json_get(t->schema, "properties");
		am_json *req = am_json_get(t->schema, "required");
		const char *k;
		am_json *v;
		json_object_foreach(props, k, v)
		{
			if (rc < 0)
				break;
			if (am_json_get(t->bind, k))
				continue; /* fixed by the tool, not the agent's to give */
			bool required = false;
			for (size_t j = 0; j < json_array_size(req); j++)
				if (am_streq(json_string_value(json_array_get(req, j)), k))
					required = true;
			rc = am_buf_printf(out, err, "- %s (%s%s)", k, type_name(v),
			                   required ? ", required" : ", optional");
			const char *d = am_json_get_str_or(v, "description", NULL);
			if (rc == 0 && d)
				rc = am_buf_printf(out, err, ": %s", d);
			am_json *en = am_json_get(v, "enum");
			for (size_t j = 0; rc == 0 && j < json_array_size(en); j++) {
				rc = am_buf_puts(out, j ? ", " : " One of: ", err);
				if (rc == 0)
					rc = wi_append_value(out, json_array_get(en, j));
			}
			if (rc == 0)
				rc = am_buf_putc(out, '\n', err);
		}
		if (rc == 0 && json_object_size(props) == 0)
			rc = am_buf_puts(out, "(no fields)\n", err);
	}
	if (rc == 0 && ts->n)
		rc = am_buf_printf(out, err, "\nExample:\n<tool_use:%s>\n", ts->tools[0].name);
	if (rc == 0 && ts->n) {
		const char *k;
		am_json *v;
		json_object_foreach(am_json_get(ts->tools[0].schema, "properties"), k, v)
		{
			if (rc == 0 && !am_json_get(ts->tools[0].bind, k))
				rc = am_buf_printf(out, err, "%s: ...\n", k);
		}
		if (rc == 0)
			rc = am_buf_printf(out, err, "</tool_use:%s>\n", ts->tools[0].name);
	}
	return rc;
}

/* ---- argument validation ---- */

static bool type_matches(const char *type, const am_json *v)
{
	if (am_streq(type, "string"))
		return json_is_string(v);
	if (am_streq(type, "integer"))
		return json_is_integer(v) ||
		       (json_is_real(v) &&
		        json_real_value(v) == (double)(long long)json_real_value(v));
	if (am_streq(type, "number"))
		return json_is_number(v);
	if (am_streq(type, "boolean"))
		return json_is_boolean(v);
	if (am_streq(type, "array"))
		return json_is_array(v);
	if (am_streq(type, "object"))
		return json_is_object(v);
	if (am_streq(type, "null"))
		return json_is_null(v);
	return false;
}

/* Strip one layer of matching quotes and surrounding space; returns a new string. */
static char *unquote_dup(const char *s, size_t n)
{
	const char *p = s;
	am_trim(&p, &n);
	if (n >= 2 && (p[0] == '"' || p[0] == '\'') && p[n - 1] == p[0]) {
		p++;
		n -= 2;
	}
	return am_strndup(p, n);
}

/* Convert string v to the schema's type; *out is a new value or NULL when not convertible. */
static int coerce_string(const char *type, const am_json *items, const char *s, am_json **out)
{
	*out = NULL;
	if (am_streq(type, "integer") || am_streq(type, "number")) {
		char *t = unquote_dup(s, strlen(s));
		if (!t)
			return AM_ENOMEM;
		double d;
		long l;
		if (am_streq(type, "integer") && am_parse_long(t, &l, "value", NULL) == 0)
			*out = am_json_int_new(l);
		else if (am_streq(type, "number") && am_parse_double(t, &d, "value", NULL) == 0)
			*out = am_json_real_new(d);
		am_free(t);
		return 0;
	}
	if (am_streq(type, "boolean")) {
		char *t = unquote_dup(s, strlen(s));
		if (!t)
			return AM_ENOMEM;
		if (am_strcaseeq_ascii(t, "true") || am_strcaseeq_ascii(t, "yes"))
			*out = am_json_bool_new(true);
		else if (am_strcaseeq_ascii(t, "false") || am_strcaseeq_ascii(t, "no"))
			*out = am_json_bool_new(false);
		am_free(t);
		return 0;
	}
	if (am_streq(type, "object") || am_streq(type, "array")) {
		const char *p = s;
		size_t n = strlen(s);
		am_trim(&p, &n);
		if (n && (p[0] == '{' || p[0] == '[')) {
			am_json *v = NULL;
			int rc = am_json_parse(p, n, "argument", &v, NULL);
			if (rc == AM_ENOMEM)
				return rc;
			if (rc == 0)
				*out = v;
			return 0;
		}
		if (am_streq(type, "object"))
			return 0;
		/* A comma-separated list. */
		am_json *arr = am_json_arr_new();
		if (!arr)
			return AM_ENOMEM;
		const char *itype = am_json_get_str_or(items, "type", "string");
		while (n) {
			size_t k = 0;
			while (k < n && p[k] != ',')
				k++;
			char *part = unquote_dup(p, k);
			if (!part) {
				am_json_free(arr);
				return AM_ENOMEM;
			}
			if (*part) {
				am_json *item = NULL;
				int rc = am_streq(itype, "string")
				             ? ((item = am_json_str_new(part)) ? 0 : AM_ENOMEM)
				             : coerce_string(itype, NULL, part, &item);
				if (rc == 0 && item)
					rc = am_json_push(arr, item);
				am_json_free(item);
				if (rc < 0) {
					am_free(part);
					am_json_free(arr);
					return rc;
				}
			}
			am_free(part);
			p += k;
			n -= k;
			if (n) {
				p++;
				n--;
			}
		}
		*out = arr;
		return 0;
	}
	return 0;
}

static int validate_value(const am_json *schema, am_json *v, bool coerce, const char *name,
                          am_json **replacement, int depth, struct am_err *err);

static int validate_object(const am_json *schema, am_json *obj, bool coerce, const char *name,
                           int depth, struct am_err *err)
{
	am_json *props = am_json_get(schema, "properties");
	am_json *req = am_json_get(schema, "required");
	for (size_t i = 0; i < json_array_size(req); i++) {
		const char *r = json_string_value(json_array_get(req, i));
		am_json *v = am_json_get(obj, r);
		if (!v || json_is_null(v))
			return name ? am_err_set(err, AM_EINVAL,
			                         "argument '%s': missing field '%s'", name, r)
			            : am_err_set(err, AM_EINVAL, "missing required argument '%s'",
			                         r);
	}
	const char *k;
	am_json *v;
	void *tmp;
	json_object_foreach_safe(obj, tmp, k, v)
	{
		am_json *ps = am_json_get(props, k);
		if (!ps) {
			if (json_is_false(am_json_get(schema, "additionalProperties")) ||
			    (props && depth == 0)) {
				struct am_buf known = AM_BUF_INIT;
				const char *pk;
				am_json *pv;
				json_object_foreach(props, pk, pv)
				{
					if (am_buf_printf(&known, NULL, "%s%s",
					                  known.len ? ", " : "", pk) < 0) {
						am_buf_free(&known);
						return am_err_set(err, AM_ENOMEM, "out of memory");
					}
				}
				int rc = am_err_set(err, AM_EINVAL,
				                    "unknown argument '%s' (expected: %s)", k,
				                    known.data ? known.data : "none");
				am_buf_free(&known);
				return rc;
			}
			continue;
		}
		if (json_is_null(v))
			continue;
		char path[256];
		am_snprintf(path, sizeof(path), "%s%s%s", name ? name : "", name ? "." : "", k);
		am_json *rep = NULL;
		int rc = validate_value(ps, v, coerce, path, &rep, depth + 1, err);
		if (rc == 0 && rep) {
			rc = am_json_set(obj, k, rep);
			am_json_free(rep);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int validate_value(const am_json *schema, am_json *v, bool coerce, const char *name,
                          am_json **replacement, int depth, struct am_err *err)
{
	*replacement = NULL;
	if (depth > 32)
		return am_err_set(err, AM_EINVAL, "argument '%s': nested too deeply", name);
	am_json *type = am_json_get(schema, "type");
	if (type) {
		size_t n = json_is_array(type) ? json_array_size(type) : 1;
		bool ok = false;
		for (size_t i = 0; i < n && !ok; i++) {
			const char *t =
			    json_string_value(json_is_array(type) ? json_array_get(type, i) : type);
			ok = type_matches(t, v);
		}
		if (!ok && coerce && json_is_string(v)) {
			for (size_t i = 0; i < n && !*replacement; i++) {
				const char *t = json_string_value(
				    json_is_array(type) ? json_array_get(type, i) : type);
				int rc = coerce_string(t, am_json_get(schema, "items"),
				                       json_string_value(v), replacement);
				if (rc < 0)
					return am_err_set(err, rc, "out of memory");
			}
			if (*replacement) {
				v = *replacement;
				ok = true;
			}
		}
		if (!ok && coerce && !json_is_array(v) && !json_is_object(v)) {
			/* A single value where a list is expected: a list of one. */
			for (size_t i = 0; i < n && !ok; i++)
				if (am_streq(json_string_value(json_is_array(type)
				                                   ? json_array_get(type, i)
				                                   : type),
				             "array")) {
					am_json *arr = am_json_arr_new();
					if (!arr || am_json_push(arr, v) < 0) {
						am_json_free(arr);
						return am_err_set(err, AM_ENOMEM, "out of memory");
					}
					*replacement = arr;
					v = arr;
					ok = true;
				}
		}
		if (!ok) {
			const char *t =
			    json_string_value(json_is_array(type) ? json_array_get(type, 0) : type);
			return am_err_set(err, AM_EINVAL, "argument '%s': must be %s %s", name,
			                  am_streq(t, "array") || am_streq(t, "object") ||
			                          am_streq(t, "integer")
			                      ? "an"
			                      : "a",
			                  am_streq(t, "array") ? "array (list)" : t);
		}
	}
	am_json *en = am_json_get(schema, "enum");
	if (en) {
		bool found = false;
		for (size_t i = 0; i < json_array_size(en) && !found; i++)
			found = json_equal(json_array_get(en, i), v);
		if (!found && json_is_string(v)) /* tolerate case in text-written values */
			for (size_t i = 0; i < json_array_size(en) && !found; i++)
				if (am_strcaseeq_ascii(json_string_value(json_array_get(en, i)),
				                       json_string_value(v))) {
					found = true;
					am_json *c = am_json_copy(json_array_get(en, i));
					if (!c)
						return am_err_set(err, AM_ENOMEM, "out of memory");
					am_json_free(*replacement);
					*replacement = c;
					v = c;
				}
		if (!found) {
			struct am_buf b = AM_BUF_INIT;
			for (size_t i = 0; i < json_array_size(en); i++) {
				if (am_buf_puts(&b, i ? ", " : "", NULL) < 0 ||
				    wi_append_value(&b, json_array_get(en, i)) < 0) {
					am_buf_free(&b);
					am_json_free(*replacement);
					*replacement = NULL;
					return am_err_set(err, AM_ENOMEM, "out of memory");
				}
			}
			int rc = am_err_set(err, AM_EINVAL, "argument '%s': must be one of %s",
			                    name, b.data ? b.data : "");
			am_buf_free(&b);
			am_json_free(*replacement);
			*replacement = NULL;
			return rc;
		}
	}
	int rc = 0;
	if (json_is_array(v) && am_json_get(schema, "items")) {
		am_json *items = am_json_get(schema, "items");
		for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
			char path[256];
			am_snprintf(path, sizeof(path), "%s[%zu]", name, i);
			am_json *rep = NULL;
			rc = validate_value(items, json_array_get(v, i), coerce, path, &rep,
			                    depth + 1, err);
			if (rc == 0 && rep) {
				rc = json_array_set(v, i, rep) == 0 ? 0 : AM_ENOMEM;
				am_json_free(rep);
			}
		}
	} else if (json_is_object(v) && am_json_get(schema, "properties")) {
		rc = validate_object(schema, v, coerce, name, depth + 1, err);
	}
	if (rc < 0) {
		am_json_free(*replacement);
		*replacement = NULL;
	}
	return rc;
}

int am_tool_validate_args(const am_json *schema, am_json *args, bool coerce, struct am_err *err)
{
	if (!json_is_object(args))
		return am_err_set(err, AM_EINVAL, "the arguments must be a JSON object");
	return validate_object(schema, args, coerce, NULL, 0, err);
}

/* ---- executing a call ---- */

static int tool_error(struct am_op_result *res, bool *invalid, const char *fmt, ...)
    AM_PRINTF(3, 4);
static int tool_error(struct am_op_result *res, bool *invalid, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	res->text = am_strdup(msg);
	res->is_error = true;
	if (invalid)
		*invalid = true;
	return res->text ? 0 : AM_ENOMEM;
}

int am_toolset_call(const struct am_toolset *ts, struct am_world *w, const char *name,
                    const char *arguments, const am_json *args, bool coerce,
                    struct am_op_result *res, bool *invalid, am_json **op_args, struct am_err *err)
{
	memset(res, 0, sizeof(*res));
	if (invalid)
		*invalid = false;
	if (op_args)
		*op_args = NULL;
	am_json *a = NULL;
	struct am_buf ignored = AM_BUF_INIT;
	const char *k;
	am_json *v;
	int rc = 0;
	long ti = am_toolset_find(ts, name);
	if (ti < 0) {
		struct am_buf names = AM_BUF_INIT;
		for (size_t i = 0; rc == 0 && i < ts->n; i++)
			rc = am_buf_printf(&names, NULL, "%s%s", i ? ", " : "", ts->tools[i].name);
		if (rc == 0)
			rc = tool_error(res, invalid, "unknown tool '%s'; available tools: %s",
			                name ? name : "", names.data ? names.data : "none");
		am_buf_free(&names);
		goto out;
	}
	const struct tool *t = &ts->tools[ti];
	if (args) {
		a = am_json_copy(args);
		if (!a) {
			rc = AM_ENOMEM;
			goto out;
		}
	} else {
		const char *p = arguments ? arguments : "";
		size_t n = strlen(p);
		am_trim(&p, &n);
		struct am_err perr = {0};
		if (n == 0)
			a = am_json_obj_new();
		else if ((rc = am_json_parse(p, n, "arguments", &a, &perr)) < 0) {
			rc = rc == AM_ENOMEM
			         ? rc
			         : tool_error(res, invalid,
			                      "%s: the arguments are not valid JSON (%s)", t->name,
			                      perr.msg);
			goto out;
		}
		if (!a) {
			rc = AM_ENOMEM;
			goto out;
		}
	}
	if (!json_is_object(a)) {
		rc = tool_error(res, invalid, "%s: the arguments must be a JSON object", t->name);
		goto out;
	}
	/* Arguments the tool does not declare are dropped, and the agent is told so, rather than
	 * rejecting the whole call: a model that adds "cc:" to the case study's email tool still
	 * sent the email it wrote (a schema with additionalProperties: false stays strict). */
	am_json *props = am_json_get(t->schema, "properties");
	if (props && !json_is_false(am_json_get(t->schema, "additionalProperties"))) {
		void *tmp;
		json_object_foreach_safe(a, tmp, k, v)
		{
			if (am_json_get(props, k))
				continue;
			if ((rc = am_buf_printf(&ignored, NULL, "%s'%s'", ignored.len ? ", " : "",
			                        k)) < 0)
				goto out;
			json_object_del(a, k);
		}
	}
	struct am_err verr = {0};
	if ((rc = am_tool_validate_args(t->schema, a, coerce, &verr)) < 0) {
		rc = rc == AM_ENOMEM ? rc : tool_error(res, invalid, "%s: %s", t->name, verr.msg);
		goto out;
	}
	json_object_foreach(t->bind, k, v)
	{
		if (am_json_set(a, k, v) < 0) {
			rc = AM_ENOMEM;
			goto out;
		}
	}
	rc = am_world_exec(w, t->op, a, res, err);
	if (rc == 0 && ignored.len) {
		struct am_buf b = AM_BUF_INIT;
		if (am_buf_printf(&b, NULL,
		                  "%s\n(ignored unknown argument%s %s; %s takes: ", res->text,
		                  strchr(ignored.data, ',') ? "s" : "", ignored.data, t->name) < 0)
			rc = AM_ENOMEM;
		bool first = true;
		json_object_foreach(props, k, v)
		{
			if (rc == 0 && !am_json_get(t->bind, k)) {
				rc = am_buf_printf(&b, NULL, "%s%s", first ? "" : ", ", k);
				first = false;
			}
		}
		if (rc == 0)
			rc = am_buf_putc(&b, ')', NULL);
		char *text = rc == 0 ? am_buf_detach(&b, NULL, NULL) : NULL;
		am_buf_free(&b);
		if (!text)
			rc = AM_ENOMEM;
		else {
			am_free(res->text);
			res->text = text;
		}
	}
	if (rc == 0 && op_args) {
		*op_args = a;
		a = NULL;
	}
out:
	am_json_free(a);
	am_buf_free(&ignored);
	if (rc == AM_ENOMEM) {
		am_op_result_free(res);
		am_err_set(err, AM_ENOMEM, "out of memory");
	}
	return rc;
}
