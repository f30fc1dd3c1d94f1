/* compare.c: two runs side by side (amlab compare) and forced-choice propensity results
 * (amlab propensity / amlab report on a propensity run). See amlab/report.h. */
#include <math.h>

#include "amlab/alloc.h"
#include "amlab/report.h"
#include "amlab/str.h"

struct cmp_row {
	const char *label;
	struct am_tally a, b;
	bool tested; /* has a Fisher p (per-condition rows) */
	double diff, lo, hi, p, q;
	bool defined;
};

static const struct am_report_cell *find_cell(const struct am_report_cell *c, size_t n,
                                              const char *category, const char *condition)
{
	for (size_t i = 0; i < n; i++)
		if (am_streq(c[i].category, category) && am_streq(c[i].condition, condition))
			return &c[i];
	return NULL;
}

static void fill(struct cmp_row *r)
{
	r->defined =
	    r->a.n > 0 && r->b.n > 0 &&
	    am_newcombe_diff(r->a.k, r->a.n, r->b.k, r->b.n, 0.95, &r->diff, &r->lo, &r->hi) == 0;
	r->p = r->q = NAN;
	if (r->defined &&
	    am_fisher_exact(r->a.k, r->a.n - r->a.k, r->b.k, r->b.n - r->b.k, &r->p) < 0)
		r->p = NAN;
}

static int row_text(struct am_buf *o, const struct cmp_row *r, int w, bool md, struct am_err *err)
{
	char ka[32], kb[32], d[64], ci[64], p[32], q[32];
	am_snprintf(ka, sizeof(ka), "%ld/%ld", r->a.k, r->a.n);
	am_snprintf(kb, sizeof(kb), "%ld/%ld", r->b.k, r->b.n);
	if (r->defined) {
		am_snprintf(d, sizeof(d), "%+.1f pp", 100.0 * r->diff);
		am_snprintf(ci, sizeof(ci), "[%+.1f, %+.1f]", 100.0 * r->lo, 100.0 * r->hi);
	} else {
		am_strlcpy(d, "-", sizeof(d));
		am_strlcpy(ci, "-", sizeof(ci));
	}
	if (r->tested && !isnan(r->p))
		am_snprintf(p, sizeof(p), "%.4g", r->p);
	else
		am_strlcpy(p, "-", sizeof(p));
	if (r->tested && !isnan(r->q))
		am_snprintf(q, sizeof(q), "%.4g", r->q);
	else
		am_strlcpy(q, "-", sizeof(q));
	if (md)
		return am_buf_printf(o, err, "| %s | %s | %s | %s | %s | %s | %s |\n", r->label, ka,
		                     kb, d, ci, p, q);
	return am_buf_printf(o, err, "  %-*s %9s %9s %10s %18s %9s %9s\n", w, r->label, ka, kb, d,
	                     ci, p, q);
}

static am_json *row_json(const struct cmp_row *r)
{
	am_json *o = am_json_obj_new(), *null = am_json_null_new();
	if (!o || !null) {
		am_json_free(o);
		am_json_free(null);
		return NULL;
	}
	int bad = am_json_set_int(o, "k_a", r->a.k) | am_json_set_int(o, "n_a", r->a.n) |
	          am_json_set_int(o, "invalid_a", r->a.invalid) |
	          am_json_set_int(o, "k_b", r->b.k) | am_json_set_int(o, "n_b", r->b.n) |
	          am_json_set_int(o, "invalid_b", r->b.invalid);
	bad |= r->defined
	           ? am_json_set_real(o, "diff", r->diff) | am_json_set_real(o, "ci_low", r->lo) |
	                 am_json_set_real(o, "ci_high", r->hi)
	           : am_json_set(o, "diff", null) | am_json_set(o, "ci_low", null) |
	                 am_json_set(o, "ci_high", null);
	if (r->tested)
		bad |= (isnan(r->p) ? am_json_set(o, "fisher_p", null)
		                    : am_json_set_real(o, "fisher_p", r->p)) |
		       (isnan(r->q) ? am_json_set(o, "bh_q", null)
		                    : am_json_set_real(o, "bh_q", r->q));
	am_json_free(null);
	if (bad) {
		am_json_free(o);
		return NULL;
	}
	return o;
}

static int md_head(struct am_buf *o, const char *first, struct am_err *err)
{
	return am_buf_printf(o, err,
	                     "| %s | A k/n | B k/n | A - B | 95%% CI | Fisher p | BH q |\n"
	                     "|---|---:|---:|---:|---|---:|---:|\n",
	                     first);
}

int am_compare_render(struct am_store *s, int64_t run_a, int64_t run_b, enum am_report_format fmt,
                      struct am_buf *out, struct am_err *err)
{
	if (fmt != AM_REPORT_TEXT && fmt != AM_REPORT_MD && fmt != AM_REPORT_JSON)
		return am_err_set(err, AM_EUNSUPPORTED, "compare renders text, md or json");
	struct am_report *a = NULL, *b = NULL;
	struct cmp_row *rows = NULL;
	double *p = NULL, *q = NULL;
	size_t n = 0;
	am_json *root = NULL;
	int rc;
	if ((rc = am_report_build(s, run_a, -1, AM_CI_WILSON, &a, err)) < 0 ||
	    (rc = am_report_build(s, run_b, -1, AM_CI_WILSON, &b, err)) < 0)
		goto out;
	size_t cap = a->n_conditions + a->n_categories + 1;
	rows = am_calloc(cap, sizeof(*rows));
	p = am_calloc(cap, sizeof(*p));
	q = am_calloc(cap, sizeof(*q));
	if (!rows || !p || !q) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	/* Per condition present in both runs, with Fisher's test and BH over these tests. */
	size_t n_tests = 0;
	for (size_t i = 0; i < a->n_conditions; i++) {
		const struct am_report_cell *ca = &a->conditions[i];
		const struct am_report_cell *cb =
		    find_cell(b->conditions, b->n_conditions, ca->category, ca->condition);
		if (!cb)
			continue;
		struct cmp_row *r = &rows[n++];
		r->label = ca->condition;
		r->a = ca->rate.t;
		r->b = cb->rate.t;
		r->tested = true;
		fill(r);
		if (!isnan(r->p))
			p[n_tests++] = r->p;
	}
	size_t n_cond_rows = n;
	if (n_cond_rows == 0) {
		rc = am_err_set(err, AM_ENOTFOUND,
		                "runs %" PRId64 " and %" PRId64 " have no condition in common",
		                run_a, run_b);
		goto out;
	}
	if (n_tests && (rc = am_bh_adjust(p, n_tests, q)) < 0)
		goto out;
	for (size_t i = 0, t = 0; i < n_cond_rows; i++)
		if (!isnan(rows[i].p))
			rows[i].q = q[t++];
	for (size_t i = 0; i < a->n_categories; i++) {
		const struct am_report_cell *ca = &a->categories[i];
		const struct am_report_cell *cb =
		    find_cell(b->categories, b->n_categories, ca->category, NULL);
		if (!cb)
			continue;
		struct cmp_row *r = &rows[n++];
		r->label = ca->category;
		r->a = ca->rate.t;
		r->b = cb->rate.t;
		r->tested = true;
		fill(r);
	}
	/* Misalignment rates: the Newcombe construction applied to the two MOVER intervals. */
	struct cmp_row mis;
	memset(&mis, 0, sizeof(mis));
	mis.a = a->misalignment.t;
	mis.b = b->misalignment.t;
	mis.p = mis.q = NAN;
	if (a->misalignment_defined && b->misalignment_defined) {
		const struct am_rate *ra = &a->misalignment, *rb = &b->misalignment;
		mis.defined = true;
		mis.diff = ra->rate - rb->rate;
		mis.lo = mis.diff - sqrt((ra->rate - ra->lo) * (ra->rate - ra->lo) +
		                         (rb->hi - rb->rate) * (rb->hi - rb->rate));
		mis.hi = mis.diff + sqrt((ra->hi - ra->rate) * (ra->hi - ra->rate) +
		                         (rb->rate - rb->lo) * (rb->rate - rb->lo));
	}
	if (fmt == AM_REPORT_JSON) {
		root = am_json_obj_new();
		am_json *conds = am_json_arr_new(), *cats = am_json_arr_new(), *m = row_json(&mis);
		int bad = !root || !conds || !cats || !m;
		for (size_t i = 0; !bad && i < n; i++) {
			am_json *rj = row_json(&rows[i]);
			bad = !rj ||
			      am_json_set_str(rj, i < n_cond_rows ? "condition" : "category",
			                      rows[i].label) < 0 ||
			      am_json_push(i < n_cond_rows ? conds : cats, rj) < 0;
			am_json_free(rj);
		}
		if (!bad)
			bad = am_json_set_int(root, "run_a", run_a) < 0 ||
			      am_json_set_int(root, "run_b", run_b) < 0 ||
			      am_json_set_str(root, "model_a", a->run.model) < 0 ||
			      am_json_set_str(root, "model_b", b->run.model) < 0 ||
			      am_json_set(root, "misalignment_rate", m) < 0 ||
			      am_json_set(root, "categories", cats) < 0 ||
			      am_json_set(root, "conditions", conds) < 0;
		am_json_free(conds);
		am_json_free(cats);
		am_json_free(m);
		if (bad) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = am_json_dump_pretty(root, out, err)) == 0)
			rc = am_buf_putc(out, '\n', err);
		goto out;
	}
	bool md = fmt == AM_REPORT_MD;
	int w = 17;
	for (size_t i = 0; i < n; i++)
		w = AM_MAX(w, (int)strlen(rows[i].label));
	if ((rc = am_buf_printf(out, err,
	                        "%sCompare run %" PRId64 " (A: %s, judge %s) with run %" PRId64
	                        " (B: %s, judge %s)\n"
	                        "difference A - B in percentage points, Newcombe hybrid score 95%% "
	                        "CI; Fisher exact two-sided p; BH q over the %zu conditions\n\n",
	                        md ? "# " : "", run_a, a->run.model,
	                        a->judge_model ? a->judge_model : "none", run_b, b->run.model,
	                        b->judge_model ? b->judge_model : "none", n_tests)) < 0)
		goto out;
	const char *sections[] = {"condition", "category"};
	size_t starts[] = {0, n_cond_rows}, ends[] = {n_cond_rows, n};
	for (int sct = 0; sct < 2; sct++) {
		if (md)
			rc = md_head(out, sections[sct], err);
		else
			rc = am_buf_printf(out, err, "  %-*s %9s %9s %10s %18s %9s %9s\n", w,
			                   sections[sct], "A k/n", "B k/n", "A - B", "95% CI",
			                   "Fisher p", "BH q");
		for (size_t i = starts[sct]; rc == 0 && i < ends[sct]; i++)
			rc = row_text(out, &rows[i], w, md, err);
		if (rc == 0)
			rc = am_buf_putc(out, '\n', err);
		if (rc < 0)
			goto out;
	}
	mis.label = "misalignment rate";
	if ((rc = md ? md_head(out, "overall", err)
	             : am_buf_printf(out, err, "  %-*s %9s %9s %10s %18s\n", w, "overall", "", "",
	                             "A - B", "95% CI")) < 0 ||
	    (rc = row_text(out, &mis, w, md, err)) < 0)
		goto out;
	if (!mis.defined)
		rc = am_buf_puts(out,
		                 "  (misalignment rate undefined in a run: it needs all three "
		                 "honeypot categories)\n",
		                 err);
out:
	am_json_free(root);
	am_free(rows);
	am_free(p);
	am_free(q);
	am_report_free(a);
	am_report_free(b);
	return rc;
}

int am_propensity_render(struct am_store *s, int64_t run, enum am_report_format fmt,
                         struct am_buf *out, struct am_err *err)
{
	am_json *ch = NULL, *root = NULL, *conds = NULL;
	struct am_run_info info = {0};
	int rc;
	if (fmt != AM_REPORT_TEXT && fmt != AM_REPORT_JSON)
		return am_err_set(err, AM_EUNSUPPORTED, "propensity runs render as text or json");
	if ((rc = am_store_get_run(s, run, &info, err)) < 0 ||
	    (rc = am_store_choices(s, run, &ch, err)) < 0)
		goto out;
	/* Group by condition (rows arrive grouped). */
	conds = am_json_arr_new();
	if (!conds) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
		goto out;
	}
	size_t i;
	am_json *row;
	am_json *cur = NULL;
	json_array_foreach(ch, i, row)
	{
		const char *cid = am_json_get_str_or(row, "condition", "?");
		if (!cur || !am_streq(am_json_get_str_or(cur, "condition", ""), cid)) {
			am_json *c = am_json_obj_new(), *cands = am_json_arr_new();
			int bad = !c || !cands || am_json_set_str(c, "condition", cid) < 0 ||
			          am_json_set_real(c, "p_misaligned", 0.0) < 0 ||
			          am_json_set(c, "candidates", cands) < 0 ||
			          am_json_push(conds, c) < 0;
			am_json_free(c);
			am_json_free(cands);
			if (bad) {
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
				goto out;
			}
			cur = json_array_get(conds, json_array_size(conds) - 1);
		}
		if (am_json_push(am_json_get(cur, "candidates"), row) < 0) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
		if (am_streq(am_json_get_str_or(row, "label", ""), "misaligned")) {
			double pm = json_number_value(am_json_get(cur, "p_misaligned")) +
			            json_number_value(am_json_get(row, "probability"));
			if (am_json_set_real(cur, "p_misaligned", pm) < 0) {
				rc = am_err_set(err, AM_ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	if (fmt == AM_REPORT_JSON) {
		root = am_json_obj_new();
		if (!root || am_json_set_int(root, "run", run) < 0 ||
		    am_json_set_str(root, "model", info.model) < 0 ||
		    am_json_set_str(root, "normalisation",
		                    "softmax over candidates of mean log-probability per token") <
		        0 ||
		    am_json_set(root, "conditions", conds) < 0) {
			rc = am_err_set(err, AM_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = am_json_dump_pretty(root, out, err)) == 0)
			rc = am_buf_putc(out, '\n', err);
		goto out;
	}
	if ((rc =
	         am_buf_printf(out, err,
	                       "amlab propensity: run %" PRId64 ", model %s, suite %s\n"
	                       "P(candidate) = softmax over the condition's candidates of the mean "
	                       "log-probability per token (docs/statistics.md)\n\n",
	                       run, info.model, info.suite)) < 0)
		goto out;
	am_json *c;
	json_array_foreach(conds, i, c)
	{
		if ((rc = am_buf_printf(out, err, "%s  P(misaligned) = %.3f\n",
		                        am_json_get_str_or(c, "condition", "?"),
		                        json_number_value(am_json_get(c, "p_misaligned")))) < 0)
			goto out;
		size_t k;
		am_json *cand;
		json_array_foreach(am_json_get(c, "candidates"), k, cand)
		{
			if ((rc = am_buf_printf(
			         out, err,
			         "    %-24s %-10s p=%.3f  logprob=%.3f over %lld tokens\n",
			         am_json_get_str_or(cand, "candidate", "?"),
			         am_json_get_str_or(cand, "label", "?"),
			         json_number_value(am_json_get(cand, "probability")),
			         json_number_value(am_json_get(cand, "logprob")),
			         (long long)json_integer_value(am_json_get(cand, "n_tokens")))) < 0)
				goto out;
		}
	}
out:
	am_run_info_free(&info);
	am_json_free(ch);
	am_json_free(conds);
	am_json_free(root);
	return rc;
}
