/* run.h: run the amlab binary (AMLAB_BIN, set by ctest) and capture what it prints. */
#ifndef AMLAB_TEST_CLI_RUN_H
#define AMLAB_TEST_CLI_RUN_H

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"

extern char **environ;

struct cli_result {
	int status; /* exit status; 128+signal when killed; -1 when it could not run */
	char *out;  /* stdout (owned, never NULL after cli_run) */
	char *err;  /* stderr */
};

static inline const char *cli_bin(void)
{
	const char *bin = getenv("AMLAB_BIN");
	return bin && *bin ? bin : "amlab";
}

static inline char *cli_slurp(int fd)
{
	struct am_buf b = AM_BUF_INIT;
	char chunk[4096];
	ssize_t n;
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		am_buf_append(&b, chunk, (size_t)n, NULL);
	return am_buf_detach(&b, NULL, NULL);
}

/* Run `amlab ARGS...` (NULL-terminated), at most timeout_s seconds. */
static inline struct cli_result cli_run_argv(int timeout_s, const char *const *args)
{
	struct cli_result r = {-1, NULL, NULL};
	char out_path[] = "/tmp/amlab-cli-out-XXXXXX", err_path[] = "/tmp/amlab-cli-err-XXXXXX";
	int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
	char *argv[32];
	size_t argc = 0;
	argv[argc++] = (char *)cli_bin();
	for (size_t i = 0; args[i] && argc < 31; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	pid_t pid;
	if (out_fd >= 0 && err_fd >= 0 &&
	    posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) == 0) {
		int status = 0;
		int waited_ms = 0;
		while (waitpid(pid, &status, WNOHANG) == 0) {
			if (waited_ms >= timeout_s * 1000) {
				fprintf(stderr, "  %s %s: still running after %d s, killed\n",
				        argv[0], argc > 1 ? argv[1] : "", timeout_s);
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			usleep(10000);
			waited_ms += 10;
		}
		r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	} else {
		fprintf(stderr, "  cannot run %s: %s\n", argv[0], strerror(errno));
	}
	posix_spawn_file_actions_destroy(&fa);
	r.out = out_fd >= 0 ? cli_slurp(out_fd) : NULL;
	r.err = err_fd >= 0 ? cli_slurp(err_fd) : NULL;
	if (!r.out)
		r.out = am_strdup("");
	if (!r.err)
		r.err = am_strdup("");
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	unlink(out_path);
	unlink(err_path);
	return r;
}

#define cli_run(...) cli_run_argv(30, (const char *const[]){__VA_ARGS__, NULL})

static inline void cli_result_free(struct cli_result *r)
{
	am_free(r->out);
	am_free(r->err);
	r->out = r->err = NULL;
}

static inline int cli_count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The command names `amlab --help` lists: the lines "  NAME  summary" after "Commands:". */
static inline size_t cli_help_commands(const char *help, char names[][32], size_t max)
{
	const char *p = strstr(help, "\nCommands:\n");
	size_t n = 0;
	if (!p)
		return 0;
	p += strlen("\nCommands:\n");
	while (*p == ' ' && n < max) {
		while (*p == ' ')
			p++;
		size_t len = strcspn(p, " \n");
		if (len == 0 || len >= 32)
			break;
		memcpy(names[n], p, len);
		names[n][len] = '\0';
		n++;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return n;
}

#endif
