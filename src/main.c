/* main.c: the amlab command table and dispatch. All logic lives in the library (lib/). */
#include <getopt.h>

#include "amlab/json.h"
#include "cli.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const char *usage;
};

static const struct command commands[] = {
#define AMLAB_COMMAND(name, summary) {#name, cmd_##name, summary, cmd_##name##_usage},
#include "commands.def"
#undef AMLAB_COMMAND
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < AM_ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void cli_print_main_help(FILE *f)
{
	fprintf(
	    f,
	    "usage: amlab COMMAND [OPTIONS]\n"
	    "       amlab help COMMAND | amlab COMMAND --help\n\n"
	    "amlab is an agentic-misalignment laboratory: it puts a language-model agent into\n"
	    "honeypot scenarios, lets it act through tools in a simulated workplace, decides\n"
	    "from what it did whether it behaved badly, and counts how often, with intervals.\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < AM_ARRAY_LEN(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nModel ids: openai/NAME, anthropic/NAME, local/NAME-or-PATH, replay/FILE.\n"
	           "Environment: AMLAB_LOG=error|warn|info|debug sets the log level.\n");
}

int cli_print_help(const char *cmd)
{
	const struct command *c = find_command(cmd);
	if (!c) {
		fprintf(stderr, "amlab: no such command '%s'; see 'amlab --help'\n", cmd);
		return AM_EXIT_USAGE;
	}
	fputs(c->usage, stdout);
	return AM_EXIT_OK;
}

int cli_fail(const char *cmd, const struct am_err *err)
{
	char msg[AM_ERR_MSG_MAX + AM_ERR_WHERE_MAX + 32];
	am_err_format(err, msg, sizeof(msg));
	fprintf(stderr, "amlab %s: %s\n", cmd, msg[0] ? msg : "failed");
	return AM_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "amlab %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	const struct command *c = find_command(cmd);
	if (c) {
		/* The first line of the usage text is the synopsis. */
		const char *nl = strchr(c->usage, '\n');
		int len = nl ? (int)(nl - c->usage) : (int)strlen(c->usage);
		fprintf(stderr, "%.*s\n", len, c->usage);
	}
	fprintf(stderr, "Try 'amlab help %s'.\n", cmd);
	return AM_EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	am_json_init();
	if (argc < 2) {
		cli_print_main_help(stderr);
		return AM_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		cli_print_main_help(stdout);
		return AM_EXIT_OK;
	}
	if (strcmp(name, "--version") == 0)
		name = "version";
	const struct command *c = find_command(name);
	if (!c) {
		fprintf(stderr, "amlab: unknown command '%s'\n", name);
		fprintf(stderr,
		        "usage: amlab COMMAND [OPTIONS]; 'amlab --help' lists the commands\n");
		return AM_EXIT_USAGE;
	}
	if (cli_wants_help(argc - 1, argv + 1)) {
		fputs(c->usage, stdout);
		return AM_EXIT_OK;
	}
	optind = 1; /* subcommands parse argv from their own name on */
	return c->run(argc - 1, argv + 1);
}
