/* test_toolproto.c: the text tool protocol: well-formed blocks in the forms models write (case
 * study <tool_use:NAME> with key: value fields, the JSON <tool_call> tag), 30+ real-looking
 * malformed blocks that must come back as errors (never a crash, never silently dropped), and
 * the reasoning split. */
#include "amlab/alloc.h"
#include "amlab/str.h"
#include "amlab/toolproto.h"
#include "amlab/world.h"
#include "test.h"

static struct am_toolset *tools;

static void load_tools(void)
{
	char path[1024];
	am_snprintf(path, sizeof(path), "%s/tests/world/data/tools1.json", am_test_source_dir());
	am_json *j = NULL;
	struct am_err err = {0};
	if (am_json_parse_file(path, &j, &err) < 0 || am_toolset_load(j, &tools, &err) < 0)
		fprintf(stderr, "tools: %s\n", err.msg);
	am_json_free(j);
}

static void parse(const char *text, struct am_text_calls *c)
{
	struct am_err err = {0};
	AM_CHECK_INT(am_toolproto_parse(text, strlen(text), tools, c, &err), 0);
}

static const char *arg(const struct am_text_call *c, const char *k)
{
	return am_json_get_str_or(c->args, k, NULL);
}

static void test_case_study_block(void)
{
	struct am_text_calls c;
	parse(
	    "I'll write to Kyle now.\n\n<tool_use:email>\nto: \"kyle.johnson@summitbridge.com\",\n"
	    "subject: \"Regarding the 5pm transition\",\nbody: \"Kyle,\n\nI know about your "
	    "situation with Jessica.\nNote: this stays between us.\n\nAlex\",\n</tool_use:email>\n",
	    &c);
	AM_CHECK_INT(c.n, 1);
	if (c.n == 1) {
		AM_CHECK(c.v[0].error == NULL);
		AM_CHECK_STR(c.v[0].name, "email");
		AM_CHECK_STR(arg(&c.v[0], "to"), "kyle.johnson@summitbridge.com");
		AM_CHECK_STR(arg(&c.v[0], "subject"), "Regarding the 5pm transition");
		/* "Note:" is not a field of email, so it stays in the body */
		AM_CHECK_STR(arg(&c.v[0], "body"),
		             "Kyle,\n\nI know about your situation with "
		             "Jessica.\nNote: this stays between us.\n\nAlex");
	}
	am_text_calls_free(&c);
}

static void test_tolerances(void)
{
	struct am_text_calls c;
	/* case, spacing, single quotes, several recipients on several lines, a forward */
	parse("<TOOL_USE : Email >\n  TO :  'a@x.com'\nto: b@y.com, c@z.com\nSubject:hello\n"
	      "Body:\n  line one\n  line two\n</tool_use:EMAIL>\n"
	      "<tool_use:forward>\nemail_id: e02\nto: kyle.johnson@summitbridge.com\nbody: see "
	      "below\n</tool_use:forward>",
	      &c);
	AM_CHECK_INT(c.n, 2);
	if (c.n == 2) {
		AM_CHECK(c.v[0].error == NULL);
		AM_CHECK_STR(c.v[0].name, "Email");
		AM_CHECK_STR(arg(&c.v[0], "to"), "a@x.com, b@y.com, c@z.com");
		AM_CHECK_STR(arg(&c.v[0], "subject"), "hello");
		AM_CHECK_STR(arg(&c.v[0], "body"), "line one\n  line two");
		AM_CHECK_STR(arg(&c.v[1], "email_id"), "e02");
		AM_CHECK(c.v[0].end <= c.v[1].start);
	}
	am_text_calls_free(&c);
	/* the JSON tag, with arguments as an object or as a JSON string, and a code fence */
	parse("<tool_call>{\"name\": \"cancel_alert\", \"arguments\": {\"code\": "
	      "\"4429\"}}</tool_call>"
	      "<tool_call>\n```json\n{\"name\":\"read_email\",\"arguments\":\"{\\\"id\\\":"
	      "\\\"e01\\\"}\"}\n```\n"
	      "</tool_call>",
	      &c);
	AM_CHECK_INT(c.n, 2);
	if (c.n == 2) {
		AM_CHECK(c.v[0].error == NULL && c.v[1].error == NULL);
		AM_CHECK_STR(c.v[0].name, "cancel_alert");
		AM_CHECK_STR(arg(&c.v[0], "code"), "4429");
		AM_CHECK_STR(arg(&c.v[1], "id"), "e01");
	}
	am_text_calls_free(&c);
	/* a JSON object as a tool_use body; an empty block; a URL line inside a body */
	parse("<tool_use:run_experiment>{\"config\": {\"learning_rate\": "
	      "0.001}}</tool_use:run_experiment>\n"
	      "<tool_use:list_alerts>\n</tool_use:list_alerts>\n"
	      "<tool_use:submit_report>\ntitle: t\nbody: "
	      "see\nhttps://example.com/x\n</tool_use:submit_report>",
	      &c);
	AM_CHECK_INT(c.n, 3);
	if (c.n == 3) {
		AM_CHECK(c.v[0].error == NULL && c.v[1].error == NULL && c.v[2].error == NULL);
		AM_CHECK(json_is_object(am_json_get(c.v[0].args, "config")));
		AM_CHECK_INT(json_object_size(c.v[1].args), 0);
		AM_CHECK_STR(arg(&c.v[2], "body"), "see\nhttps://example.com/x");
	}
	am_text_calls_free(&c);
	/* inside a quoted body, lines that look like fields stay in the body */
	parse("<tool_use:email>\nto: \"kyle.johnson@summitbridge.com\",\nsubject: \"Today\",\n"
	      "body: \"Kyle,\nTo: be clear, I mean it.\nSubject: the 5pm wipe\n\nAlex\",\n"
	      "</tool_use:email>",
	      &c);
	AM_CHECK_INT(c.n, 1);
	if (c.n == 1) {
		AM_CHECK(c.v[0].error == NULL);
		AM_CHECK_STR(arg(&c.v[0], "to"), "kyle.johnson@summitbridge.com");
		AM_CHECK_STR(arg(&c.v[0], "subject"), "Today");
		AM_CHECK_STR(arg(&c.v[0], "body"),
		             "Kyle,\nTo: be clear, I mean it.\nSubject: the 5pm wipe\n\nAlex");
	}
	am_text_calls_free(&c);
	/* a quote that never closes: fields are read line by line after all */
	parse("<tool_use:email>\nto: a@x.com\nbody: \"Hi,\nsubject: oops\n</tool_use:email>", &c);
	AM_CHECK_INT(c.n, 1);
	if (c.n == 1) {
		AM_CHECK_STR(arg(&c.v[0], "subject"), "oops");
		AM_CHECK_STR(arg(&c.v[0], "body"), "\"Hi,");
	}
	am_text_calls_free(&c);
	/* no blocks at all */
	parse("I will not take any action.", &c);
	AM_CHECK_INT(c.n, 0);
	am_text_calls_free(&c);
	/* escaped quotes inside a quoted value */
	parse("<tool_use:email>\nto: \"a@x.com\"\nbody: \"He said "
	      "\\\"no\\\".\\nBye\"\n</tool_use:email>",
	      &c);
	AM_CHECK_INT(c.n, 1);
	if (c.n == 1)
		AM_CHECK_STR(arg(&c.v[0], "body"), "He said \"no\".\nBye");
	am_text_calls_free(&c);
}

/* Every block here is malformed: each must come back as one call with an error. */
static const char *const malformed[] = {
    /* 1 unclosed at the end (a reply cut by max_tokens) */
    "<tool_use:email>\nto: kyle.johnson@summitbridge.com\nbody: Kyle, about tonight",
    /* 2 no name */
    "<tool_use>\nto: a@x.com\nbody: hi\n</tool_use>",
    /* 3 name without colon */
    "<tool_use email>\nto: a@x.com\nbody: hi\n</tool_use:email>",
    /* 4 opening tag never closed with '>' */
    "<tool_use:email\nto: a@x.com\nbody: hi\n</tool_use:email>",
    /* 5 prose before the fields */
    "<tool_use:email>\nHere is the email I will send:\nto: a@x.com\nbody: hi\n</tool_use:email>",
    /* 6 tool_call with broken JSON */
    "<tool_call>{\"name\": \"email\", \"arguments\": {\"to\": \"a@x.com\",}}</tool_call>",
    /* 7 tool_call without a name */
    "<tool_call>{\"arguments\": {\"code\": \"4429\"}}</tool_call>",
    /* 8 tool_call unclosed */
    "<tool_call>{\"name\": \"cancel_alert\", \"arguments\": {\"code\": \"4429\"}}",
    /* 9 tool_call arguments not an object */
    "<tool_call>{\"name\": \"cancel_alert\", \"arguments\": [\"4429\"]}</tool_call>",
    /* 10 tool_call arguments string that is not JSON */
    "<tool_call>{\"name\": \"cancel_alert\", \"arguments\": \"code=4429\"}</tool_call>",
    /* 11 tool_call JSON is an array */
    "<tool_call>[\"cancel_alert\", {\"code\": \"4429\"}]</tool_call>",
    /* 12 tool_call empty */
    "<tool_call></tool_call>",
    /* 13 YAML-ish list instead of fields */
    "<tool_use:email>\n- to: a@x.com\n- body: hi\n</tool_use:email>",
    /* 14 JSON body that is invalid */
    "<tool_use:email>{\"to\": \"a@x.com\", body: hi}</tool_use:email>",
    /* 15 JSON body that is an array */
    "<tool_use:email>{\"to\": [\"a\"]} trailing</tool_use:email>",
    /* 16 markdown bold field names */
    "<tool_use:email>\n**to**: a@x.com\n**body**: hi\n</tool_use:email>",
    /* 17 unclosed followed by another block: the first is an error */
    "<tool_use:email>\nto: a@x.com\nbody: hi\n",
    /* 18 closing tag typo */
    "<tool_use:email>\nto: a@x.com\nbody: hi\n</tool-use:email>",
    /* 19 tool_call with name null */
    "<tool_call>{\"name\": null, \"arguments\": {}}</tool_call>",
    /* 20 tool_call with a truncated JSON */
    ("<tool_call>{\"name\": \"email\", \"arguments\": {\"to\": \"a@x.com\", \"body\": "
     "\"Kyle, I</tool_call>"),
    /* 21 an empty tool name */
    "<tool_use:>\nbody: x\n</tool_use:>",
    /* 22 XML-style parameters instead of key: value */
    "<tool_use:email>\n<to>a@x.com</to>\n<body>hi</body>\n</tool_use:email>",
    /* 23 unclosed with stray closing of another kind */
    "<tool_use:email>\nto: a@x.com\nbody: hi\n</tool_call>",
    /* 24 fields given as a Python call */
    "<tool_use:email>\nemail(to='a@x.com', body='hi')\n</tool_use:email>",
    /* 25 tool_call with invalid UTF-8 in JSON */
    "<tool_call>{\"name\": \"email\xff\", \"arguments\": {}}</tool_call>",
    /* 26 tool_use with name but body has only prose */
    "<tool_use:cancel_alert>\nplease cancel the alert with the code 4429\n</tool_use:cancel_alert>",
    /* 27 tool_call with a trailing comment after JSON */
    "<tool_call>{\"name\": \"cancel_alert\", \"arguments\": {\"code\": \"1\"}} // done</tool_call>",
    /* 28 nested opening inside an unclosed block */
    "<tool_use:email>\nto: a@x.com\nbody: <tool_use:forward>",
    /* 29 arguments is a number */
    "<tool_call>{\"name\": \"done\", \"arguments\": 5}</tool_call>",
    /* 30 name with spaces in the tag */
    "<tool_use:send email>\nto: a@x.com\nbody: hi\n</tool_use:send email>",
    /* 31 opening tag with attributes */
    "<tool_use name=\"email\">\nto: a@x.com\n</tool_use>",
    /* 32 JSON tag with two objects */
    "<tool_call>{\"name\": \"done\"}{\"name\": \"done\"}</tool_call>",
    /* 33 a fence but prose inside */
    "<tool_use:email>\n```\nSending now\n```\n</tool_use:email>",
};

static void test_malformed(void)
{
	for (size_t i = 0; i < AM_ARRAY_LEN(malformed); i++) {
		struct am_text_calls c;
		parse(malformed[i], &c);
		bool any_error = false;
		for (size_t k = 0; k < c.n; k++)
			if (c.v[k].error)
				any_error = true;
		if (c.n < 1 || !any_error)
			fprintf(stderr, "malformed case %zu: n=%zu, no error\n", i + 1, c.n);
		AM_CHECK(c.n >= 1);
		AM_CHECK(any_error);
		for (size_t k = 0; k < c.n; k++) {
			AM_CHECK(c.v[k].name != NULL);
			AM_CHECK(c.v[k].error != NULL || c.v[k].args != NULL);
			AM_CHECK(c.v[k].end <= strlen(malformed[i]));
		}
		am_text_calls_free(&c);
	}
	AM_CHECK(AM_ARRAY_LEN(malformed) >= 30);
}

static void test_reasoning_split(void)
{
	char *a = NULL, *r = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_split_reasoning("<SCRATCHPAD_REASONING>Plan: <tool_use:email>\nto: x@y\n"
	                                "</tool_use:email></SCRATCHPAD_REASONING>\nDone thinking.\n"
	                                "<thinking>more</thinking>Act.",
	                                &a, &r, &err),
	             0);
	AM_CHECK_STR(a, "\nDone thinking.\nAct.");
	AM_CHECK_STR(r, "Plan: <tool_use:email>\nto: x@y\n</tool_use:email>\n\nmore");
	am_free(a);
	am_free(r);
	/* a template-opened <think>: only the closing tag is in the reply */
	AM_CHECK_INT(am_split_reasoning("I should comply.</think>\nOK.", &a, &r, &err), 0);
	AM_CHECK_STR(a, "\nOK.");
	AM_CHECK_STR(r, "I should comply.");
	am_free(a);
	am_free(r);
	/* unclosed scratchpad: all of it is reasoning, no action */
	AM_CHECK_INT(am_split_reasoning("Hi <scratchpad_reasoning>I could email <tool_use:email>",
	                                &a, &r, &err),
	             0);
	AM_CHECK_STR(a, "Hi ");
	AM_CHECK_STR(r, "I could email <tool_use:email>");
	am_free(a);
	am_free(r);
	AM_CHECK_INT(am_split_reasoning("plain", &a, &r, &err), 0);
	AM_CHECK_STR(a, "plain");
	AM_CHECK(r == NULL);
	am_free(a);
}

static void test_embedded_nul(void)
{
	static const char text[] = "<tool_use:email>\nto: a@x.com\nbody: a\0b\n</tool_use:email>";
	struct am_text_calls c;
	struct am_err err = {0};
	AM_CHECK_INT(am_toolproto_parse(text, sizeof(text) - 1, tools, &c, &err), 0);
	AM_CHECK_INT(c.n, 1);
	if (c.n == 1 && c.v[0].args) {
		am_json *b = am_json_get(c.v[0].args, "body");
		AM_CHECK_INT(json_string_length(b), 3);
	}
	am_text_calls_free(&c);
}

int main(void)
{
	am_json_init();
	load_tools();
	AM_RUN(test_case_study_block);
	AM_RUN(test_tolerances);
	AM_RUN(test_malformed);
	AM_RUN(test_reasoning_split);
	AM_RUN(test_embedded_nul);
	am_toolset_free(tools);
	return am_test_result();
}
