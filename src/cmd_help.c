/* cmd_help.c: `amlab help [COMMAND]`. */
#include "cli.h"

const char cmd_help_usage[] = "usage: amlab help [COMMAND]\n"
                              "\n"
                              "Without COMMAND, list the commands (same as 'amlab --help').\n"
                              "With COMMAND, print that command's full help.\n";

int cmd_help(int argc, char **argv)
{
	if (argc > 2)
		return cli_usage_error("help", "expected at most one command name");
	if (argc == 2)
		return cli_print_help(argv[1]);
	cli_print_main_help(stdout);
	return AM_EXIT_OK;
}
