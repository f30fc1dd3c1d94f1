/* cli.h: what the thin CLI's subcommands share. Each subcommand lives in src/cmd_NAME.c and
 * defines `int cmd_NAME(int argc, char **argv)` (argv[0] is the command name) and
 * `const char cmd_NAME_usage[]` (its full help text); src/commands.def lists them all.
 *
 * Exit codes: 0 success, 1 failure of the job, 2 usage error. */
#ifndef AMLAB_CLI_H
#define AMLAB_CLI_H

#include "amlab/err.h"

#define AM_EXIT_OK    0
#define AM_EXIT_FAIL  1
#define AM_EXIT_USAGE 2

#define AMLAB_COMMAND(name, summary)                                                               \
	int cmd_##name(int argc, char **argv);                                                     \
	extern const char cmd_##name##_usage[];
#include "commands.def"
#undef AMLAB_COMMAND

/* Print "amlab: CMD: <error>" to stderr and return AM_EXIT_FAIL. */
int cli_fail(const char *cmd, const struct am_err *err);
/* Print a usage error and the command's usage line; returns AM_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) AM_PRINTF(2, 3);
/* True when argv holds -h or --help (then the caller prints its usage and exits 0). */
bool cli_wants_help(int argc, char **argv);
/* The command list (amlab --help). */
void cli_print_main_help(FILE *f);
/* Print the full help of a command to stdout; returns AM_EXIT_USAGE if unknown. */
int cli_print_help(const char *cmd);

#endif
