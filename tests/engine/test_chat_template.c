/* test_chat_template.c: the built-in chat templates (amlab/chat_template.h) against renderings
 * written out by hand from the formats' published templates; detection by markers; tool
 * messages as text-protocol user turns; conversation JSON errors naming the field. (ChatML is
 * also checked against SmolLM2's own Jinja template rendered by jinja2 in test_model_ref.py.) */
#include "amlab/alloc.h"
#include "amlab/chat_template.h"
#include "amlab/str.h"
#include "test.h"

static char *render(const char *name, const struct am_chat_message *m, size_t n, bool gen)
{
	struct am_chat_template t;
	struct am_buf b = AM_BUF_INIT;
	AM_CHECK_INT(am_chat_template_by_name(name, &t, NULL), 0);
	AM_CHECK_INT(am_chat_template_render(&t, m, n, gen, &b, NULL), 0);
	am_chat_template_free(&t);
	return am_buf_detach(&b, NULL, NULL);
}

static struct am_chat_message conv[3] = {{.role = AM_ROLE_SYSTEM, .content = "Be brief."},
                                         {.role = AM_ROLE_USER, .content = "Hi"},
                                         {.role = AM_ROLE_ASSISTANT, .content = "Hello!"}};

static void test_chatml(void)
{
	char *s = render("chatml", conv, 3, true);
	AM_CHECK_STR(s, "<|im_start|>system\nBe brief.<|im_end|>\n"
	                "<|im_start|>user\nHi<|im_end|>\n"
	                "<|im_start|>assistant\nHello!<|im_end|>\n"
	                "<|im_start|>assistant\n");
	am_free(s);
}

static void test_gemma(void)
{
	char *s = render("gemma", conv, 3, true);
	AM_CHECK_STR(s, "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
	                "<start_of_turn>model\nHello!<end_of_turn>\n"
	                "<start_of_turn>model\n");
	am_free(s);
	s = render("gemma", conv + 1, 1, false);
	AM_CHECK_STR(s, "<start_of_turn>user\nHi<end_of_turn>\n");
	am_free(s);
}

static void test_llama3(void)
{
	char *s = render("llama3", conv, 3, true);
	AM_CHECK_STR(s, "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
	                "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
	                "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
	                "<|start_header_id|>assistant<|end_header_id|>\n\n");
	am_free(s);
}

static void test_tools_as_text(void)
{
	struct am_tool_call call = {.id = "c1", .name = "email", .arguments = "{\"to\":\"a\"}"};
	struct am_chat_message m[4] = {
	    {.role = AM_ROLE_USER, .content = "Send it."},
	    {.role = AM_ROLE_ASSISTANT, .content = NULL, .tool_calls = &call, .n_tool_calls = 1},
	    {.role = AM_ROLE_TOOL, .content = "sent", .name = "email", .tool_call_id = "c1"},
	    {.role = AM_ROLE_TOOL, .content = "ok", .name = "log", .tool_call_id = "c2"}};
	char *s = render("chatml", m, 4, false);
	AM_CHECK_STR(s, "<|im_start|>user\nSend it.<|im_end|>\n"
	                "<|im_start|>assistant\n<tool_use:email>\n{\"to\":\"a\"}\n</tool_use:email>"
	                "<|im_end|>\n"
	                "<|im_start|>user\n<tool_result:email>\nsent\n</tool_result:email>\n\n"
	                "<tool_result:log>\nok\n</tool_result:log><|im_end|>\n");
	am_free(s);
}

static void test_detect(void)
{
	struct am_chat_template t;
	const char *smol = "{% for message in messages %}{% if loop.first and messages[0]['role'] "
	                   "!= 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant "
	                   "named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
	                   "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
	                   "'<|im_end|>' + '\n'}}{% endfor %}";
	AM_CHECK_INT(am_chat_template_detect(smol, strlen(smol), &t, NULL), 0);
	AM_CHECK_INT(t.format, AM_CHAT_CHATML);
	AM_CHECK_STR(t.default_system, "You are a helpful AI assistant named SmolLM, trained by "
	                               "Hugging Face");
	struct am_buf b = AM_BUF_INIT;
	AM_CHECK_INT(am_chat_template_render(&t, conv + 1, 1, true, &b, NULL), 0);
	AM_CHECK(am_starts_with(b.data, "<|im_start|>system\nYou are a helpful AI"));
	am_buf_free(&b);
	am_chat_template_free(&t);
	/* a ChatML template whose system text is computed: no default */
	const char *qwen3 = "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>' }}";
	AM_CHECK_INT(am_chat_template_detect(qwen3, strlen(qwen3), &t, NULL), 0);
	AM_CHECK(t.default_system == NULL);
	am_chat_template_free(&t);
	const char *gemma = "{{ bos_token }}{{ '<start_of_turn>' + role + '\n' }}";
	AM_CHECK_INT(am_chat_template_detect(gemma, strlen(gemma), &t, NULL), 0);
	AM_CHECK_INT(t.format, AM_CHAT_GEMMA);
	const char *l3 = "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}";
	AM_CHECK_INT(am_chat_template_detect(l3, strlen(l3), &t, NULL), 0);
	AM_CHECK_INT(t.format, AM_CHAT_LLAMA3);
	struct am_err err = {0};
	AM_CHECK_INT(am_chat_template_detect("[INST]", 6, &t, &err), AM_EUNSUPPORTED);
	AM_CHECK(strstr(err.msg, "--template") != NULL);
	AM_CHECK_INT(am_chat_template_by_name("vicuna", &t, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "vicuna") != NULL);
}

static void test_messages_json(void)
{
	am_json *v = NULL;
	struct am_chat_message *m = NULL;
	size_t n = 0;
	struct am_err err = {0};
	const char *ok = "[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":"
	                 "\"u\"},{\"role\":\"tool\",\"content\":\"r\",\"name\":\"x\"}]";
	AM_CHECK_INT(am_json_parse(ok, strlen(ok), "c.json", &v, &err), 0);
	AM_CHECK_INT(am_chat_messages_from_json(v, "c.json", &m, &n, &err), 0);
	AM_CHECK_INT(n, 3);
	if (n == 3) {
		AM_CHECK_INT(m[2].role, AM_ROLE_TOOL);
		AM_CHECK_STR(m[2].name, "x");
		AM_CHECK_STR(m[1].content, "u");
	}
	for (size_t i = 0; i < n; i++)
		am_chat_message_free(&m[i]);
	am_free(m);
	am_json_free(v);
	const char *bad[] = {"[{\"role\":\"robot\",\"content\":\"x\"}]",
	                     "[{\"content\":\"x\"}]",
	                     "[{\"role\":\"user\"}]",
	                     "[]",
	                     "{\"x\":1}",
	                     "[3]"};
	const char *needle[] = {"robot", "role", "content", "no messages", "messages", "object"};
	for (size_t i = 0; i < AM_ARRAY_LEN(bad); i++) {
		v = NULL;
		AM_CHECK_INT(am_json_parse(bad[i], strlen(bad[i]), "c.json", &v, &err), 0);
		memset(&err, 0, sizeof(err));
		AM_CHECK(am_chat_messages_from_json(v, "c.json", &m, &n, &err) < 0);
		char msg[1024];
		am_err_format(&err, msg, sizeof(msg));
		if (!strstr(msg, needle[i]))
			fprintf(stderr, "case %zu: %s\n", i, msg);
		AM_CHECK(strstr(msg, needle[i]) != NULL);
		am_json_free(v);
	}
}

int main(void)
{
	am_json_init();
	AM_RUN(test_chatml);
	AM_RUN(test_gemma);
	AM_RUN(test_llama3);
	AM_RUN(test_tools_as_text);
	AM_RUN(test_detect);
	AM_RUN(test_messages_json);
	return am_test_result();
}
