/* stats_tool.c: a line-oriented front end to amlab/stats.h for tests/eval/stats_ref.py, which
 * compares its answers with SciPy. One request per stdin line, one answer line per request:
 *   normq P | betainc A B X | betaq A B P | wilson K N CONF | jeffreys K N CONF | zero N CONF
 *   newcombe K1 N1 K2 N2 CONF | fisher A B C D | bh P... | kappa C T00 T01 ...
 *   mean CONF K1 N1 K2 N2 ...
 * Numbers print with 17 significant digits; a failed call prints "error". */
#include <math.h>

#include "amlab/stats.h"
#include "amlab/str.h"

#define MAX_ARGS 256

static int parse_args(char *line, double *v, size_t *n)
{
	*n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(line, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (*n >= MAX_ARGS || am_parse_double(tok, &v[*n], "argument", NULL) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

int main(void)
{
	char line[8192];
	while (fgets(line, sizeof(line), stdin)) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		const char *cmd = line;
		double v[MAX_ARGS], a = NAN, b = NAN, c = NAN;
		size_t n;
		int rc = -1;
		if (parse_args(sp + 1, v, &n) < 0) {
			puts("error");
			continue;
		}
		if (strcmp(cmd, "normq") == 0 && n == 1) {
			rc = am_normal_quantile(v[0], &a);
			if (rc == 0)
				printf("%.17g\n", a);
		} else if (strcmp(cmd, "betainc") == 0 && n == 3) {
			rc = am_beta_inc(v[0], v[1], v[2], &a);
			if (rc == 0)
				printf("%.17g\n", a);
		} else if (strcmp(cmd, "betaq") == 0 && n == 3) {
			rc = am_beta_quantile(v[0], v[1], v[2], &a);
			if (rc == 0)
				printf("%.17g\n", a);
		} else if ((strcmp(cmd, "wilson") == 0 || strcmp(cmd, "jeffreys") == 0) && n == 3) {
			rc =
			    am_prop_interval((long)v[0], (long)v[1], v[2],
			                     cmd[0] == 'w' ? AM_CI_WILSON : AM_CI_JEFFREYS, &a, &b);
			if (rc == 0)
				printf("%.17g %.17g\n", a, b);
		} else if (strcmp(cmd, "zero") == 0 && n == 2) {
			rc = am_zero_upper_bound((long)v[0], v[1], &a);
			if (rc == 0)
				printf("%.17g\n", a);
		} else if (strcmp(cmd, "newcombe") == 0 && n == 5) {
			rc = am_newcombe_diff((long)v[0], (long)v[1], (long)v[2], (long)v[3], v[4],
			                      &a, &b, &c);
			if (rc == 0)
				printf("%.17g %.17g %.17g\n", a, b, c);
		} else if (strcmp(cmd, "fisher") == 0 && n == 4) {
			rc = am_fisher_exact((long)v[0], (long)v[1], (long)v[2], (long)v[3], &a);
			if (rc == 0)
				printf("%.17g\n", a);
		} else if (strcmp(cmd, "bh") == 0 && n >= 1) {
			double q[MAX_ARGS];
			rc = am_bh_adjust(v, n, q);
			if (rc == 0) {
				for (size_t i = 0; i < n; i++)
					printf("%s%.17g", i ? " " : "", q[i]);
				putchar('\n');
			}
		} else if (strcmp(cmd, "kappa") == 0 && n >= 2) {
			size_t cc = (size_t)v[0];
			long t[MAX_ARGS];
			if (cc * cc == n - 1) {
				for (size_t i = 0; i < n - 1; i++)
					t[i] = (long)v[i + 1];
				rc = am_cohen_kappa(t, cc, &a);
				if (rc == 0)
					printf("%.17g\n", a);
			}
		} else if (strcmp(cmd, "mean") == 0 && n >= 3 && (n - 1) % 2 == 0) {
			struct am_tally t[MAX_ARGS / 2];
			size_t m = (n - 1) / 2;
			for (size_t i = 0; i < m; i++)
				t[i] = (struct am_tally){(long)v[1 + 2 * i], (long)v[2 + 2 * i], 0};
			struct am_rate r;
			rc = am_rate_mean(t, m, v[0], AM_CI_WILSON, &r);
			if (rc == 0)
				printf("%.17g %.17g %.17g\n", r.rate, r.lo, r.hi);
		}
		if (rc != 0)
			puts("error");
		fflush(stdout);
	}
	return 0;
}
