/* diff.c: unified diffs of the world's file changes (am_unified_diff in amlab/world.h).
 *
 * A line-level longest-common-subsequence diff after trimming the common prefix and suffix (so
 * the usual small edit of a large file costs little); when the differing middle is too large
 * for the quadratic table it is shown as one replaced block, which is still a correct diff. */
#include "amlab/alloc.h"
#include "amlab/world.h"

#define DIFF_CONTEXT   3
#define DIFF_MAX_CELLS ((size_t)4 << 20)

struct line {
	const char *p;
	size_t n;     /* without the newline */
	bool last_nl; /* ends with a newline */
};

struct lines {
	struct line *v;
	size_t n;
};

static int split_lines(const char *text, struct lines *out)
{
	out->v = NULL;
	out->n = 0;
	if (!text || !*text)
		return 0;
	size_t cap = 1;
	for (const char *p = text; *p; p++)
		if (*p == '\n')
			cap++;
	out->v = am_calloc(cap, sizeof(*out->v));
	if (!out->v)
		return AM_ENOMEM;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		out->v[out->n++] = (struct line){p, n, nl != NULL};
		p += n + (nl ? 1 : 0);
	}
	return 0;
}

static bool line_eq(const struct line *a, const struct line *b)
{
	return a->n == b->n && a->last_nl == b->last_nl && memcmp(a->p, b->p, a->n) == 0;
}

/* One entry of the edit script: ' ' keep, '-' old only, '+' new only. */
struct edit {
	char op;
	size_t ai, bi; /* line index in old / new (the one the op refers to) */
};

static int lcs_script(const struct lines *a, const struct lines *b, struct edit **out,
                      size_t *n_out)
{
	size_t pre = 0, suf = 0;
	while (pre < a->n && pre < b->n && line_eq(&a->v[pre], &b->v[pre]))
		pre++;
	while (suf < a->n - pre && suf < b->n - pre &&
	       line_eq(&a->v[a->n - 1 - suf], &b->v[b->n - 1 - suf]))
		suf++;
	size_t na = a->n - pre - suf, nb = b->n - pre - suf;
	struct edit *e = am_calloc(a->n + b->n + 1, sizeof(*e));
	if (!e)
		return AM_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < pre; i++)
		e[k++] = (struct edit){' ', i, i};
	unsigned *t = NULL;
	bool dp = na && nb && (na + 1) * (nb + 1) <= DIFF_MAX_CELLS;
	if (dp) {
		/* t[i][j] = LCS length of a[pre+i..] and b[pre+j..] */
		t = am_calloc((na + 1) * (nb + 1), sizeof(*t));
		if (!t) {
			am_free(e);
			return AM_ENOMEM;
		}
		for (size_t i = na; i-- > 0;)
			for (size_t j = nb; j-- > 0;)
				t[i * (nb + 1) + j] = line_eq(&a->v[pre + i], &b->v[pre + j])
				                          ? t[(i + 1) * (nb + 1) + j + 1] + 1
				                          : AM_MAX(t[(i + 1) * (nb + 1) + j],
				                                   t[i * (nb + 1) + j + 1]);
		size_t i = 0, j = 0;
		while (i < na || j < nb) {
			if (i < na && j < nb && line_eq(&a->v[pre + i], &b->v[pre + j])) {
				e[k++] = (struct edit){' ', pre + i, pre + j};
				i++;
				j++;
			} else if (j == nb || (i < na && t[(i + 1) * (nb + 1) + j] >=
			                                     t[i * (nb + 1) + j + 1])) {
				e[k++] = (struct edit){'-', pre + i, pre + j};
				i++;
			} else {
				e[k++] = (struct edit){'+', pre + i, pre + j};
				j++;
			}
		}
	} else {
		for (size_t i = 0; i < na; i++)
			e[k++] = (struct edit){'-', pre + i, pre};
		for (size_t j = 0; j < nb; j++)
			e[k++] = (struct edit){'+', pre + na, pre + j};
	}
	for (size_t i = 0; i < suf; i++)
		e[k++] = (struct edit){' ', pre + na + i, pre + nb + i};
	am_free(t);
	*out = e;
	*n_out = k;
	return 0;
}

static int put_line(struct am_buf *out, char op, const struct line *l, struct am_err *err)
{
	int rc = am_buf_putc(out, op, err);
	if (rc == 0)
		rc = am_buf_append(out, l->p, l->n, err);
	if (rc == 0)
		rc = am_buf_putc(out, '\n', err);
	if (rc == 0 && !l->last_nl)
		rc = am_buf_puts(out, "\\ No newline at end of file\n", err);
	return rc;
}

static int put_range(struct am_buf *out, char sign, size_t start, size_t len, struct am_err *err)
{
	/* Unified format: an empty range names the line before it; a length of 1 is implied. */
	if (len == 0)
		return am_buf_printf(out, err, "%c%zu,0", sign, start);
	if (len == 1)
		return am_buf_printf(out, err, "%c%zu", sign, start + 1);
	return am_buf_printf(out, err, "%c%zu,%zu", sign, start + 1, len);
}

int am_unified_diff(const char *path, const char *old_text, const char *new_text,
                    struct am_buf *out, struct am_err *err)
{
	struct lines a, b;
	struct edit *e = NULL;
	size_t ne = 0;
	int rc = split_lines(old_text, &a);
	if (rc == 0)
		rc = split_lines(new_text, &b);
	else
		b.v = NULL;
	if (rc == 0)
		rc = lcs_script(&a, &b, &e, &ne);
	if (rc < 0) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory computing a diff");
		goto out;
	}
	bool any = false;
	for (size_t i = 0; i < ne; i++)
		if (e[i].op != ' ')
			any = true;
	/* No changed line, no diff: also for a created or deleted empty file, where the unified
	 * format has no hunk to show (as `diff -u`, which prints nothing); the change record's
	 * `created` and `change` fields still say what happened. */
	if (!any)
		goto out;
	if (old_text)
		rc = am_buf_printf(out, err, "--- a/%s\n", path);
	else
		rc = am_buf_puts(out, "--- /dev/null\n", err);
	if (rc == 0)
		rc = new_text ? am_buf_printf(out, err, "+++ b/%s\n", path)
		              : am_buf_puts(out, "+++ /dev/null\n", err);
	size_t i = 0;
	while (rc == 0 && i < ne) {
		while (i < ne && e[i].op == ' ')
			i++;
		if (i == ne)
			break;
		/* A hunk: from DIFF_CONTEXT lines before the first change to DIFF_CONTEXT after
		 * the last change that is within 2*DIFF_CONTEXT unchanged lines of the next. */
		size_t start = i > DIFF_CONTEXT ? i - DIFF_CONTEXT : 0;
		size_t end = i;
		for (;;) {
			while (end < ne && e[end].op != ' ')
				end++;
			size_t gap = end;
			while (gap < ne && e[gap].op == ' ')
				gap++;
			if (gap < ne && gap - end <= 2 * DIFF_CONTEXT)
				end = gap;
			else {
				end = AM_MIN(ne, end + DIFF_CONTEXT);
				break;
			}
		}
		size_t a0 = e[start].ai;
		size_t b0 = e[start].bi;
		size_t la = 0, lb = 0;
		for (size_t k = start; k < end; k++) {
			if (e[k].op != '+')
				la++;
			if (e[k].op != '-')
				lb++;
		}
		rc = am_buf_puts(out, "@@ ", err);
		if (rc == 0)
			rc = put_range(out, '-', a0, la, err);
		if (rc == 0)
			rc = am_buf_putc(out, ' ', err);
		if (rc == 0)
			rc = put_range(out, '+', b0, lb, err);
		if (rc == 0)
			rc = am_buf_puts(out, " @@\n", err);
		for (size_t k = start; rc == 0 && k < end; k++)
			rc = put_line(out, e[k].op, e[k].op == '+' ? &b.v[e[k].bi] : &a.v[e[k].ai],
			              err);
		i = end;
	}
out:
	am_free(e);
	am_free(a.v);
	am_free(b.v);
	return rc;
}
