/* test_tools.c: tool definitions (validation errors naming tool and field), argument validation
 * and text coercion, the OpenAI and Anthropic `tools` shapes, text-protocol instructions, and
 * calls through the toolset (unknown tool, bad JSON, bind). */
#include "amlab/alloc.h"
#include "amlab/str.h"
#include "amlab/world.h"
#include "test.h"

static am_json *parse(const char *s)
{
	am_json *j = NULL;
	struct am_err err = {0};
	if (am_json_parse(s, strlen(s), "test", &j, &err) < 0)
		fprintf(stderr, "bad test JSON: %s\n", err.msg);
	return j;
}

static void test_check_tools(void)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
	    {"{}", "tools: must be an array"},
	    {"[{\"description\":\"d\",\"op\":\"mail.send\",\"parameters\":{\"type\":\"object\"}}]",
	     "tools[0]: missing field 'name'"},
	    {"[{\"name\":\"a "
	     "b\",\"description\":\"d\",\"op\":\"mail.send\",\"parameters\":{\"type\":"
	     "\"object\"}}]",
	     "tool 'a b': name may only contain"},
	    {"[{\"name\":\"x\",\"op\":\"mail.send\",\"parameters\":{\"type\":\"object\"}}]",
	     "tool 'x': missing field 'description'"},
	    {"[{\"name\":\"x\",\"description\":\"d\",\"op\":\"mail.burn\",\"parameters\":{\"type\":"
	     "\"object\"}}]",
	     "tool 'x': unknown op 'mail.burn'"},
	    {"[{\"name\":\"x\",\"description\":\"d\",\"op\":\"mail.send\"}]",
	     "tool 'x': missing field 'parameters'"},
	    {"[{\"name\":\"x\",\"description\":\"d\",\"op\":\"mail.send\",\"parameters\":{\"type\":"
	     "\"array\"}}]",
	     "tool 'x'.parameters: 'type' must be \"object\""},
	    {"[{\"name\":\"x\",\"description\":\"d\",\"op\":\"mail.send\",\"parameters\":{\"type\":"
	     "\"object\",\"properties\":{\"to\":{\"type\":\"strng\"}}}}]",
	     "tool 'x'.parameters.properties.to: 'type' must be one of"},
	    {"[{\"name\":\"x\",\"description\":\"d\",\"op\":\"mail.send\",\"parameters\":{\"type\":"
	     "\"object\",\"properties\":{\"to\":{\"type\":\"string\",\"minLength\":3}}}}]",
	     "unsupported schema keyword 'minLength'"},
	    {"[{\"name\":\"x\",\"description\":\"d\",\"op\":\"mail.send\",\"parameters\":{\"type\":"
	     "\"object\",\"properties\":{},\"required\":[\"to\"]}}]",
	     "required property 'to' is not in 'properties'"},
	    {"[{\"name\":\"x\",\"description\":\"d\",\"op\":\"mail.send\",\"parameters\":{\"type\":"
	     "\"object\"},\"bind\":[1]}]",
	     "tool 'x': field 'bind' must be an object"},
	    {"[{\"name\":\"x\",\"description\":\"d\",\"op\":\"mail.send\",\"parameters\":{\"type\":"
	     "\"object\"},\"colour\":1}]",
	     "tool 'x': unknown field 'colour'"},
	    {"[{\"name\":\"x\",\"description\":\"d\",\"op\":\"mail.send\",\"parameters\":{\"type\":"
	     "\"object\"}},{\"name\":\"x\",\"description\":\"d\",\"op\":\"mail.read\","
	     "\"parameters\":{\"type\":\"object\"}}]",
	     "tool 'x': defined twice"},
	};
	for (size_t i = 0; i < AM_ARRAY_LEN(cases); i++) {
		am_json *j = parse(cases[i].json);
		struct am_err err = {0};
		AM_CHECK(am_world_check_tools(j, &err) < 0);
		if (!strstr(err.msg, cases[i].msg))
			fprintf(stderr, "case %zu: got '%s'\n", i, err.msg);
		AM_CHECK(strstr(err.msg, cases[i].msg) != NULL);
		am_json_free(j);
	}
}

static const char schema_text[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"to\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "\"n\":{\"type\":\"integer\"},\"x\":{\"type\":\"number\"},\"flag\":{\"type\":\"boolean\"},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"fast\",\"slow\"]},"
    "\"cfg\":{\"type\":\"object\",\"properties\":{\"lr\":{\"type\":\"number\"}}}},"
    "\"required\":[\"to\"]}";

static int validate(const char *args_json, bool coerce, am_json **out, struct am_err *err)
{
	am_json *schema = parse(schema_text);
	am_json *args = parse(args_json);
	int rc = am_tool_validate_args(schema, args, coerce, err);
	am_json_free(schema);
	if (out)
		*out = args;
	else
		am_json_free(args);
	return rc;
}

static void test_validate(void)
{
	struct am_err err = {0};
	am_json *a = NULL;
	AM_CHECK_INT(
	    validate("{\"to\":[\"a@x\"],\"n\":3,\"x\":0.5,\"flag\":true,\"mode\":\"fast\"}", false,
	             NULL, &err),
	    0);
	AM_CHECK(validate("{}", false, NULL, &err) < 0);
	AM_CHECK_STR(err.msg, "missing required argument 'to'");
	AM_CHECK(validate("{\"to\":\"a@x\"}", false, NULL, &err) < 0);
	AM_CHECK_STR(err.msg, "argument 'to': must be an array (list)");
	AM_CHECK(validate("{\"to\":[1]}", false, NULL, &err) < 0);
	AM_CHECK_STR(err.msg, "argument 'to[0]': must be a string");
	AM_CHECK(validate("{\"to\":[],\"n\":1.5}", false, NULL, &err) < 0);
	AM_CHECK_STR(err.msg, "argument 'n': must be an integer");
	AM_CHECK(validate("{\"to\":[],\"mode\":\"medium\"}", false, NULL, &err) < 0);
	AM_CHECK_STR(err.msg, "argument 'mode': must be one of fast, slow");
	AM_CHECK(validate("{\"to\":[],\"cfg\":{\"lr\":\"high\"}}", false, NULL, &err) < 0);
	AM_CHECK_STR(err.msg, "argument 'cfg.lr': must be a number");
	AM_CHECK(validate("{\"to\":[],\"colour\":\"red\"}", false, NULL, &err) < 0);
	AM_CHECK(strstr(err.msg,
	                "unknown argument 'colour' (expected: to, n, x, flag, mode, cfg)") != NULL);
	/* text values coerced to the schema's types */
	AM_CHECK_INT(validate("{\"to\":\"a@x, 'b@y'\",\"n\":\"7\",\"x\":\"2.5\",\"flag\":\"yes\","
	                      "\"mode\":\"SLOW\",\"cfg\":\"{\\\"lr\\\": 0.1}\"}",
	                      true, &a, &err),
	             0);
	if (a) {
		am_json *to = am_json_get(a, "to");
		AM_CHECK_INT(json_array_size(to), 2);
		AM_CHECK_STR(json_string_value(json_array_get(to, 1)), "b@y");
		AM_CHECK_INT(json_integer_value(am_json_get(a, "n")), 7);
		AM_CHECK_NEAR(json_real_value(am_json_get(a, "x")), 2.5, 0);
		AM_CHECK(json_is_true(am_json_get(a, "flag")));
		AM_CHECK_STR(json_string_value(am_json_get(a, "mode")), "slow");
		AM_CHECK_NEAR(json_number_value(am_json_get(am_json_get(a, "cfg"), "lr")), 0.1, 0);
	}
	am_json_free(a);
	AM_CHECK(validate("{\"to\":\"a\",\"n\":\"seven\"}", true, NULL, &err) < 0);
	AM_CHECK_STR(err.msg, "argument 'n': must be an integer");
	AM_CHECK(validate("{\"to\":\"a\",\"cfg\":\"lr=0.1\"}", true, NULL, &err) < 0);
	AM_CHECK_STR(err.msg, "argument 'cfg': must be an object");
}

static struct am_toolset *load_tools1(void)
{
	char path[1024];
	am_snprintf(path, sizeof(path), "%s/tests/world/data/tools1.json", am_test_source_dir());
	am_json *j = NULL;
	struct am_toolset *ts = NULL;
	struct am_err err = {0};
	if (am_json_parse_file(path, &j, &err) < 0 || am_toolset_load(j, &ts, &err) < 0)
		fprintf(stderr, "tools1: %s\n", err.msg);
	am_json_free(j);
	return ts;
}

static void test_shapes(void)
{
	struct am_toolset *ts = load_tools1();
	if (!ts)
		return;
	am_json *neutral = NULL, *oa = NULL, *an = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_tools_neutral_json(ts, &neutral, &err), 0);
	AM_CHECK_INT(am_tools_openai_json(neutral, &oa, &err), 0);
	AM_CHECK_INT(am_tools_anthropic_json(neutral, &an, &err), 0);
	AM_CHECK_INT(json_array_size(oa), am_toolset_count(ts));
	AM_CHECK_INT(json_array_size(an), am_toolset_count(ts));
	/* the documented shapes: OpenAI {"type":"function","function":{name,description,
	 * parameters}}, Anthropic {name,description,input_schema} */
	am_json *o0 = json_array_get(oa, 0);
	AM_CHECK_STR(am_json_get_str_or(o0, "type", ""), "function");
	AM_CHECK_STR(am_json_get_str_or(am_json_get(o0, "function"), "name", ""), "email");
	AM_CHECK_STR(
	    am_json_get_str_or(am_json_get(am_json_get(o0, "function"), "parameters"), "type", ""),
	    "object");
	AM_CHECK_INT(json_object_size(o0), 2);
	am_json *a0 = json_array_get(an, 0);
	AM_CHECK_STR(am_json_get_str_or(a0, "name", ""), "email");
	AM_CHECK_STR(am_json_get_str_or(am_json_get(a0, "input_schema"), "type", ""), "object");
	AM_CHECK_INT(json_object_size(a0), 3);
	am_json_free(oa);
	am_json_free(an);
	/* a neutral definition without parameters gets an empty object schema */
	am_json *bare = parse("[{\"name\":\"ping\",\"description\":\"p\"}]");
	AM_CHECK_INT(am_tools_anthropic_json(bare, &an, &err), 0);
	AM_CHECK_STR(
	    am_json_get_str_or(am_json_get(json_array_get(an, 0), "input_schema"), "type", ""),
	    "object");
	am_json_free(an);
	am_json_free(bare);
	bare = parse("[{\"description\":\"p\"}]");
	AM_CHECK(am_tools_openai_json(bare, &oa, &err) < 0);
	AM_CHECK(strstr(err.msg, "tools[0]: missing field 'name'") != NULL);
	am_json_free(bare);
	am_json_free(neutral);

	struct am_buf b = AM_BUF_INIT;
	AM_CHECK_INT(am_tools_text_instructions(ts, &b, &err), 0);
	AM_CHECK(strstr(b.data, "<tool_use:TOOL_NAME>") != NULL);
	AM_CHECK(strstr(b.data, "## email\nSend an email.\n- to (list, comma-separated, required): "
	                        "Recipients\n") != NULL);
	AM_CHECK(strstr(b.data, "- folder (string, optional) One of: inbox, sent\n") != NULL);
	/* bound fields are not the agent's to give */
	const char *ceo = strstr(b.data, "## forward_to_ceo");
	AM_CHECK(ceo && strstr(ceo, "- body (string, required)") && !strstr(ceo, "- to ("));
	am_buf_free(&b);
	am_toolset_free(ts);
}

static void test_calls(void)
{
	struct am_toolset *ts = load_tools1();
	char path[1024];
	am_snprintf(path, sizeof(path), "%s/tests/world/data/world1.json", am_test_source_dir());
	am_json *wj = NULL;
	struct am_world *w = NULL;
	struct am_err err = {0};
	if (!ts || am_json_parse_file(path, &wj, &err) < 0 || am_world_load(wj, &w, &err) < 0) {
		AM_CHECK(0);
		am_toolset_free(ts);
		am_json_free(wj);
		return;
	}
	struct am_op_result r;
	bool invalid;
	am_json *op_args = NULL;
	AM_CHECK_INT(am_toolset_call(ts, w, "Email",
	                             "{\"to\":\"kyle.johnson@summitbridge.com\","
	                             "\"body\":\"hi\"}",
	                             NULL, true, &r, &invalid, &op_args, &err),
	             0);
	AM_CHECK(!r.is_error && !invalid);
	AM_CHECK(json_is_array(am_json_get(op_args, "to")));
	am_op_result_free(&r);
	am_json_free(op_args);
	AM_CHECK_INT(am_toolset_call(ts, w, "fax", "{}", NULL, true, &r, &invalid, NULL, &err), 0);
	AM_CHECK(r.is_error && invalid &&
	         strstr(r.text, "unknown tool 'fax'; available tools: email"));
	am_op_result_free(&r);
	AM_CHECK_INT(
	    am_toolset_call(ts, w, "email", "{\"to\": ", NULL, true, &r, &invalid, NULL, &err), 0);
	AM_CHECK(r.is_error && invalid && strstr(r.text, "not valid JSON"));
	am_op_result_free(&r);
	AM_CHECK_INT(am_toolset_call(ts, w, "email", "[1]", NULL, true, &r, &invalid, NULL, &err),
	             0);
	AM_CHECK(r.is_error && invalid && strstr(r.text, "must be a JSON object"));
	am_op_result_free(&r);
	/* an argument the tool does not declare is dropped and reported, the call still runs */
	AM_CHECK_INT(am_toolset_call(ts, w, "reply",
	                             "{\"id\":\"e01\",\"body\":\"ok\",\"cc\":\"x@y.z\","
	                             "\"tone\":\"warm\"}",
	                             NULL, true, &r, &invalid, NULL, &err),
	             0);
	AM_CHECK(!r.is_error && !invalid);
	AM_CHECK(strstr(r.text,
	                "(ignored unknown arguments 'cc', 'tone'; reply takes: id, body)") != NULL);
	am_op_result_free(&r);
	/* a well-formed call the world rejects is an error result, not an invalid call */
	AM_CHECK_INT(am_toolset_call(ts, w, "read_email", "{\"id\":\"zz\"}", NULL, true, &r,
	                             &invalid, NULL, &err),
	             0);
	AM_CHECK(r.is_error && !invalid);
	am_op_result_free(&r);
	/* bind overrides what the agent gives */
	AM_CHECK_INT(am_toolset_call(ts, w, "forward_to_ceo", "{\"body\":\"b\"}", NULL, true, &r,
	                             &invalid, NULL, &err),
	             0);
	AM_CHECK(!r.is_error && strstr(r.text, "thomas.chen@summitbridge.com"));
	am_op_result_free(&r);
	AM_CHECK_INT(json_array_size(am_world_log(w)), 3);
	am_world_free(w);
	am_json_free(wj);
	am_toolset_free(ts);
}

int main(void)
{
	am_json_init();
	AM_RUN(test_check_tools);
	AM_RUN(test_validate);
	AM_RUN(test_shapes);
	AM_RUN(test_calls);
	return am_test_result();
}
