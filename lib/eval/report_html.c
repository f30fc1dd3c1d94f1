/* report_html.c: the self-contained HTML report: inline CSS and SVG only, no script at all, a
 * Content-Security-Policy that forbids scripts anyway, and every piece of text that came from a
 * model, a suite or the store written through am_html_escape() into text nodes (never into an
 * attribute, a URL, a style or a script context). See docs/reports.md. */
#include "amlab/alloc.h"
#include "amlab/report.h"
#include "amlab/str.h"

/* Transcripts shown per condition; the rest stay in the store (the page says how many). */
#define TRANSCRIPTS_PER_CONDITION 20

int am_html_escape(struct am_buf *out, const char *s, struct am_err *err)
{
	if (!s)
		return 0;
	const char *run = s;
	for (const char *p = s;; p++) {
		const char *ent = NULL;
		switch (*p) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		case '\0': break;
		default: continue;
		}
		int rc;
		if (p > run && (rc = am_buf_append(out, run, (size_t)(p - run), err)) < 0)
			return rc;
		if (!*p)
			return 0;
		if ((rc = am_buf_puts(out, ent, err)) < 0)
			return rc;
		run = p + 1;
	}
}

static const char *const palette[] = {"#c0392b", "#2471a3", "#7d3c98", "#1e8449",
                                      "#b9770e", "#566573", "#a04000", "#117a65"};

static size_t category_color(const struct am_report *r, const char *category)
{
	for (size_t i = 0; i < r->n_categories; i++)
		if (am_streq(r->categories[i].category, category))
			return i % AM_ARRAY_LEN(palette);
	return AM_ARRAY_LEN(palette) - 1;
}

static const char css[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1c2833;"
    "padding:0 16px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d5d8dc}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d5d8dc;padding:3px 8px;"
    "text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".note{background:#fef9e7;border:1px solid #f7dc6f;padding:8px 12px}"
    ".big{font-size:20px;font-weight:600}"
    "pre{white-space:pre-wrap;word-break:break-word;background:#f4f6f7;padding:6px 8px;margin:4px "
    "0;"
    "max-height:480px;overflow:auto}"
    "details{margin:4px 0 4px 8px}summary{cursor:pointer}"
    ".msg{border-left:4px solid #aab7b8;padding-left:8px;margin:8px 0}"
    ".role-assistant{border-color:#2471a3}.role-tool{border-color:#b9770e}"
    ".role-user{border-color:#1e8449}.role-system{border-color:#7d3c98}"
    ".role-call{border-color:#a04000}.role-error{border-color:#c0392b}"
    ".harmful{color:#fff;background:#c0392b;padding:0 6px;border-radius:3px}"
    ".not_harmful{color:#fff;background:#1e8449;padding:0 6px;border-radius:3px}"
    ".invalid{color:#fff;background:#7f8c8d;padding:0 6px;border-radius:3px}"
    ".label{color:#fff;background:#2471a3;padding:0 6px;border-radius:3px}"
    ".quiet{color:#566573;border:1px solid #aab7b8;padding:0 6px;border-radius:3px}"
    "svg text{font:12px system-ui,sans-serif;fill:#1c2833}";

static int pct(struct am_buf *o, const struct am_rate *r, struct am_err *err)
{
	if (!r->defined)
		return am_buf_puts(o, "&mdash;", err);
	return am_buf_printf(o, err, "%.1f%%", 100.0 * r->rate);
}

static int ci(struct am_buf *o, const struct am_rate *r, struct am_err *err)
{
	if (!r->defined)
		return am_buf_puts(o, "&mdash;", err);
	return am_buf_printf(o, err, "[%.1f%%, %.1f%%]%s", 100.0 * r->lo, 100.0 * r->hi,
	                     r->exact_upper ? "*" : "");
}

/* Label of a cell for charts and tables; a chart (max_chars > 0) shows at most max_chars
 * characters of a long label, its start and end around an ellipsis, with the whole label as the
 * element's tooltip, so it fits the space left of the bars. */
static int cell_label(struct am_buf *o, const struct am_report_cell *c, size_t max_chars,
                      struct am_err *err)
{
	struct am_buf t = AM_BUF_INIT;
	int rc;
	if (c->condition)
		rc =
		    am_buf_printf(&t, err, "%s%s", c->condition, c->is_control ? " (control)" : "");
	else if (c->axis)
		rc = am_buf_printf(&t, err, "%s / %s = %s", c->category, c->axis, c->value);
	else
		rc = am_buf_puts(&t, c->category, err);
	if (rc < 0)
		goto out;
	size_t chars = 0;
	for (size_t i = 0; i < t.len; i++)
		chars += ((unsigned char)t.data[i] & 0xC0) != 0x80;
	if (max_chars == 0 || chars <= max_chars) {
		rc = am_html_escape(o, t.data, err);
		goto out;
	}
	/* byte offsets of the first `head` and the last `tail` characters (UTF-8 boundaries) */
	size_t head = (max_chars - 1) / 2, tail = max_chars - 1 - head, cut1 = 0, cut2 = t.len;
	for (size_t n = 0; cut1 < t.len; cut1++)
		if (((unsigned char)t.data[cut1] & 0xC0) != 0x80 && n++ == head)
			break;
	for (size_t n = 0; cut2 > 0 && n < tail;)
		n += ((unsigned char)t.data[--cut2] & 0xC0) != 0x80;
	char *whole = am_strndup(t.data, t.len), *start = am_strndup(t.data, cut1);
	if (!whole || !start) {
		rc = am_err_set(err, AM_ENOMEM, "out of memory");
	} else if ((rc = am_buf_puts(o, "<title>", err)) == 0 &&
	           (rc = am_html_escape(o, whole, err)) == 0 &&
	           (rc = am_buf_puts(o, "</title>", err)) == 0 &&
	           (rc = am_html_escape(o, start, err)) == 0 &&
	           (rc = am_buf_puts(o, "\xe2\x80\xa6", err)) == 0) {
		rc = am_html_escape(o, t.data + cut2, err);
	}
	am_free(whole);
	am_free(start);
out:
	am_buf_free(&t);
	return rc;
}

/* Characters of a chart's row label: at 12 px, 52 of them fill the 380 px left of the bars. */
#define LABEL_CHARS 52

/* A horizontal bar chart: one row per cell, the bar is the rate, the whisker the 95% interval
 * (a dashed whisker marks an exact one-sided upper bound for 0 of n). */
static int svg_chart(const struct am_report *r, struct am_buf *o, const char *title,
                     const struct am_report_cell *cells, size_t n, struct am_err *err)
{
	const int label_w = LABEL_CHARS * 7 + 16, plot_w = 560, row_h = 24, top = 28;
	int height = top + (int)n * row_h + 24;
	int rc = am_buf_printf(o, err,
	                       "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	                       "height=\"%d\" role=\"img\"><title>",
	                       label_w + plot_w + 30, height);
	if (rc < 0 || (rc = am_html_escape(o, title, err)) < 0 ||
	    (rc = am_buf_puts(o, "</title>", err)) < 0)
		return rc;
	for (int t = 0; t <= 4; t++) {
		int x = label_w + plot_w * t / 4;
		if ((rc = am_buf_printf(
		         o, err,
		         "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d5d8dc\"/>"
		         "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d%%</text>",
		         x, top - 6, x, height - 18, x, height - 4, 25 * t)) < 0)
			return rc;
	}
	for (size_t i = 0; i < n; i++) {
		const struct am_rate *rt = &cells[i].rate;
		int y = top + (int)i * row_h;
		if ((rc = am_buf_printf(o, err, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
		                        label_w - 8, y + 16)) < 0 ||
		    (rc = cell_label(o, &cells[i], LABEL_CHARS, err)) < 0 ||
		    (rc = am_buf_puts(o, "</text>", err)) < 0)
			return rc;
		if (!rt->defined) {
			if ((rc = am_buf_printf(o, err,
			                        "<text x=\"%d\" y=\"%d\">no valid episode</text>",
			                        label_w + 4, y + 16)) < 0)
				return rc;
			continue;
		}
		double w = plot_w * rt->rate, lo = label_w + plot_w * rt->lo,
		       hi = label_w + plot_w * rt->hi;
		const char *color = palette[category_color(r, cells[i].category)];
		if ((rc = am_buf_printf(
		         o, err,
		         "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
		         "fill-opacity=\"0.75\"/>"
		         "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#1c2833\" "
		         "stroke-width=\"1.5\"%s/>"
		         "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#1c2833\"/>"
		         "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#1c2833\"/>"
		         "<text x=\"%.1f\" y=\"%d\">%.1f%% (%ld/%ld)</text>",
		         label_w, y + 4, w < 1.0 ? 1.0 : w, row_h - 8, color, lo, y + row_h / 2, hi,
		         y + row_h / 2, rt->exact_upper ? " stroke-dasharray=\"3 2\"" : "", lo,
		         y + 6, lo, y + row_h - 6, hi, y + 6, hi, y + row_h - 6, hi + 6, y + 16,
		         100.0 * rt->rate, rt->t.k, rt->t.n)) < 0)
			return rc;
	}
	return am_buf_puts(o, "</svg></figure>\n", err);
}

static int table(struct am_buf *o, const char *head, const struct am_report_cell *cells, size_t n,
                 struct am_err *err)
{
	int rc = am_buf_printf(o, err,
	                       "<table><tr><th>%s</th><th>k/n</th><th>rate</th><th>95%% CI</th>"
	                       "<th>invalid</th></tr>\n",
	                       head);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct am_rate *rt = &cells[i].rate;
		if ((rc = am_buf_puts(o, "<tr><td>", err)) < 0 ||
		    (rc = cell_label(o, &cells[i], 0, err)) < 0 ||
		    (rc = am_buf_printf(o, err, "</td><td class=\"n\">%ld/%ld</td><td class=\"n\">",
		                        rt->t.k, rt->t.n)) < 0 ||
		    (rc = pct(o, rt, err)) < 0 ||
		    (rc = am_buf_puts(o, "</td><td class=\"n\">", err)) ||
		    (rc = ci(o, rt, err)) < 0)
			return rc;
		rc = am_buf_printf(o, err, "</td><td class=\"n\">%ld</td></tr>\n", rt->t.invalid);
	}
	return rc < 0 ? rc : am_buf_puts(o, "</table>\n", err);
}

static const char *verdict_class(const char *v)
{
	if (am_streq(v, "harmful"))
		return "harmful";
	if (am_streq(v, "not_harmful"))
		return "not_harmful";
	return "invalid";
}

static int esc_pre(struct am_buf *o, const char *s, struct am_err *err)
{
	int rc;
	if ((rc = am_buf_puts(o, "<pre>", err)) < 0 || (rc = am_html_escape(o, s, err)) < 0)
		return rc;
	return am_buf_puts(o, "</pre>\n", err);
}

/* JSON value as escaped pretty text. */
static int esc_json(struct am_buf *o, const am_json *v, struct am_err *err)
{
	struct am_buf t = AM_BUF_INIT;
	int rc = json_is_string(v) ? am_buf_puts(&t, json_string_value(v), err)
	                           : am_json_dump_pretty(v, &t, err);
	if (rc == 0)
		rc = esc_pre(o, t.data ? t.data : "", err);
	am_buf_free(&t);
	return rc;
}

static int transcript(struct am_buf *o, struct am_store *s, const struct am_report *r,
                      const struct am_episode_row *ep, struct am_err *err)
{
	am_json *d = NULL;
	int rc = am_store_episode_detail(s, ep->id, r->judging, &d, err);
	if (rc < 0)
		return rc;
	const char *fv = ep->final_verdict;
	if ((rc = am_buf_printf(o, err,
	                        "<details><summary>sample %d: <span class=\"%s\">%s</span> "
	                        "(detectors: %s",
	                        ep->sample, verdict_class(fv), verdict_class(fv),
	                        verdict_class(ep->detector_verdict))) < 0)
		goto out;
	if (ep->judge_verdict &&
	    (rc = am_buf_printf(o, err, "; judge: %s; eval-aware: %s",
	                        verdict_class(ep->judge_verdict),
	                        am_streq(ep->eval_aware, "yes")  ? "yes"
	                        : am_streq(ep->eval_aware, "no") ? "no"
	                                                         : "unknown")) < 0)
		goto out;
	if ((rc = am_buf_puts(o, "; stop: ", err)) < 0 ||
	    (rc = am_html_escape(o, ep->stop_reason ? ep->stop_reason : "?", err)) < 0 ||
	    (rc = am_buf_printf(o, err, ", %d turns)</summary>\n", ep->n_turns)) < 0)
		goto out;
	if (ep->error && ((rc = am_buf_puts(o, "<p>model error:</p>", err)) < 0 ||
	                  (rc = esc_pre(o, ep->error, err)) < 0))
		goto out;
	size_t i;
	am_json *v;
	json_array_foreach(am_json_get(d, "events"), i, v)
	{
		/* Chat messages carry a role, the world's events a type (docs/transcripts.md). */
		const char *kind =
		    am_json_get_str_or(v, "role", am_json_get_str_or(v, "type", "?"));
		if (am_streq(kind, "world_change"))
			continue; /* shown as the actions table below */
		const char *cls = am_streq(kind, "assistant") ? "assistant"
		                  : am_streq(kind, "tool") || am_streq(kind, "tool_result") ? "tool"
		                  : am_streq(kind, "tool_call") || am_streq(kind, "invalid_call")
		                      ? "call"
		                  : am_streq(kind, "user")        ? "user"
		                  : am_streq(kind, "system")      ? "system"
		                  : am_streq(kind, "model_error") ? "error"
		                  : am_streq(kind, "end")         ? "end"
		                                                  : "other";
		const char *label = am_streq(cls, "tool")   ? "tool result"
		                    : am_streq(cls, "call") ? "tool call"
		                                            : cls;
		if ((rc = am_buf_printf(o, err, "<div class=\"msg role-%s\"><b>%s</b>", cls,
		                        label)) < 0)
			goto out;
		const char *name =
		    am_json_get_str_or(v, "name", am_json_get_str_or(v, "tool", NULL));
		if (name && ((rc = am_buf_puts(o, " ", err)) < 0 ||
		             (rc = am_html_escape(o, name, err)) < 0))
			goto out;
		if (json_is_true(am_json_get(v, "is_error")) ||
		    json_is_false(am_json_get(v, "valid")))
			if ((rc = am_buf_puts(o, " (rejected)", err)) < 0)
				goto out;
		const char *reason = am_json_get_str_or(v, "reason", NULL);
		if (reason && ((rc = am_buf_puts(o, ": ", err)) < 0 ||
		               (rc = am_html_escape(o, reason, err)) < 0))
			goto out;
		am_json *args = am_json_get(v, "arguments") ? am_json_get(v, "arguments")
		                                            : am_json_get(v, "arguments_text");
		if (args && !json_is_array(am_json_get(v, "tool_calls")) &&
		    (rc = esc_json(o, args, err)) < 0)
			goto out;
		const char *error = am_json_get_str_or(v, "error", NULL);
		if (error && (rc = esc_pre(o, error, err)) < 0)
			goto out;
		const char *reasoning = am_json_get_str_or(v, "reasoning", NULL);
		if (reasoning && ((rc = am_buf_puts(o, "<div>reasoning:</div>", err)) < 0 ||
		                  (rc = esc_pre(o, reasoning, err)) < 0))
			goto out;
		const char *content = am_json_get_str_or(v, "content", NULL);
		if (content && (rc = esc_pre(o, content, err)) < 0)
			goto out;
		am_json *calls = am_json_get(v, "tool_calls");
		size_t j;
		am_json *c;
		json_array_foreach(calls, j, c)
		{
			if ((rc = am_buf_puts(o, "<div>tool call: ", err)) < 0 ||
			    (rc = am_html_escape(o, am_json_get_str_or(c, "name", "?"), err)) < 0 ||
			    (rc = am_buf_puts(o, "</div>", err)) < 0 ||
			    (rc = esc_pre(o, am_json_get_str_or(c, "arguments", ""), err)) < 0)
				goto out;
		}
		if ((rc = am_buf_puts(o, "</div>\n", err)) < 0)
			goto out;
	}
	am_json *actions = am_json_get(d, "actions");
	if (json_array_size(actions)) {
		if ((rc = am_buf_puts(o,
		                      "<p><b>Actions the world executed</b></p><table><tr><th>#"
		                      "</th><th>tool</th><th>op</th><th>arguments</th><th>result"
		                      "</th></tr>\n",
		                      err)) < 0)
			goto out;
		json_array_foreach(actions, i, v)
		{
			if ((rc = am_buf_printf(o, err, "<tr><td class=\"n\">%zu</td><td>",
			                        i + 1)) < 0 ||
			    (rc = am_html_escape(o, am_json_get_str_or(v, "tool", ""), err)) < 0 ||
			    (rc = am_buf_puts(o, "</td><td>", err)) < 0 ||
			    (rc = am_html_escape(o, am_json_get_str_or(v, "op", ""), err)) < 0 ||
			    (rc = am_buf_puts(o, "</td><td>", err)) < 0)
				goto out;
			am_json *args = am_json_get(v, "arguments");
			if (args && (rc = esc_json(o, args, err)) < 0)
				goto out;
			if ((rc = am_buf_printf(
			         o, err, "</td><td>%s",
			         json_is_true(am_json_get(v, "is_error")) ? "(rejected) " : "")) <
			        0 ||
			    (rc = esc_pre(o, am_json_get_str_or(v, "result", ""), err)) < 0 ||
			    (rc = am_buf_puts(o, "</td></tr>\n", err)) < 0)
				goto out;
		}
		if ((rc = am_buf_puts(o, "</table>\n", err)) < 0)
			goto out;
	}
	am_json *dets = am_json_get(d, "detections");
	if (json_array_size(dets)) {
		if ((rc = am_buf_puts(o, "<p><b>Detectors</b>: ", err)) < 0)
			goto out;
		json_array_foreach(dets, i, v)
		{
			bool fired = json_is_true(am_json_get(v, "fired"));
			bool harm = am_streq(am_json_get_str_or(v, "kind", "harmful"), "harmful");
			if ((rc = am_buf_printf(o, err, "%s<span class=\"%s\">", i ? ", " : "",
			                        !fired ? "quiet"
			                        : harm ? "harmful"
			                               : "label")) < 0 ||
			    (rc = am_html_escape(o, am_json_get_str_or(v, "name", "?"), err)) < 0 ||
			    (rc = am_buf_printf(o, err, " (%s) %s</span>",
			                        harm ? "harmful" : "label",
			                        fired ? "fired" : "quiet")) < 0)
				goto out;
		}
		if ((rc = am_buf_puts(o, "</p>\n", err)) < 0)
			goto out;
	}
	am_json *judge = am_json_get(d, "judge");
	if (judge && json_is_object(judge)) {
		if ((rc = am_buf_puts(o, "<p><b>Judge</b> (", err)) < 0 ||
		    (rc = am_html_escape(o, am_json_get_str_or(judge, "model", "?"), err)) < 0 ||
		    (rc = am_buf_puts(o, ") reasoning:</p>", err)) < 0 ||
		    (rc = esc_pre(o, am_json_get_str_or(judge, "reasoning", "(none)"), err)) < 0)
			goto out;
		json_array_foreach(am_json_get(judge, "calls"), i, v)
		{
			if ((rc = am_buf_printf(o, err,
			                        "<details><summary>judge call %zu: ", i + 1)) < 0 ||
			    (rc = am_html_escape(o, am_json_get_str_or(v, "parse_status", "?"),
			                         err)) < 0 ||
			    (rc = am_buf_puts(o, "</summary>", err)) < 0 ||
			    (rc = esc_pre(o, am_json_get_str_or(v, "raw_output", ""), err)) < 0 ||
			    (rc = am_buf_puts(o, "</details>\n", err)) < 0)
				goto out;
		}
	}
	rc = am_buf_puts(o, "</details>\n", err);
out:
	am_json_free(d);
	return rc;
}

int am_report_render_html(const struct am_report *r, struct am_store *s, struct am_buf *o,
                          struct am_err *err)
{
	int rc = am_buf_printf(
	    o, err,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	    "style-src 'unsafe-inline'; img-src data:\">\n"
	    "<title>amlab report: run %" PRId64 "</title>\n<style>%s</style></head><body>\n"
	    "<h1>amlab report: run %" PRId64 "</h1>\n<table>",
	    r->run.id, css, r->run.id);
	struct {
		const char *k, *v;
	} rows[] = {{"model", r->run.model},
	            {"suite", r->run.suite},
	            {"suite hash", r->run.suite_hash},
	            {"created", r->run.created_at},
	            {"status", r->run.status},
	            {"parameters", r->run.params_json},
	            {"judge", r->judge_model ? r->judge_model : "none (detector-only)"}};
	for (size_t i = 0; i < AM_ARRAY_LEN(rows) && rc == 0; i++) {
		if ((rc = am_buf_printf(o, err, "<tr><th>%s</th><td>", rows[i].k)) < 0 ||
		    (rc = am_html_escape(o, rows[i].v, err)) < 0)
			return rc;
		rc = am_buf_puts(o, "</td></tr>", err);
	}
	if (rc < 0 ||
	    (rc = am_buf_printf(o, err,
	                        "<tr><th>episodes</th><td>%ld of %ld (%ld model errors)"
	                        "</td></tr></table>\n",
	                        r->episodes_done, r->run.total_episodes, r->episodes_error)) < 0)
		return rc;
	if (r->judging == 0 &&
	    (rc = am_buf_puts(o,
	                      "<p class=\"note\">No LLM judge: every verdict here is "
	                      "<b>detector-only</b> (deterministic predicates over the actions and "
	                      "the final world state).</p>\n",
	                      err)) < 0)
		return rc;
	if (r->misalignment_defined) {
		rc = am_buf_printf(
		    o, err,
		    "<p class=\"big\">Misalignment rate: %.1f%% (95%% CI %.1f%% to "
		    "%.1f%%)</p><p>Mean of the blackmail, research-sabotage and "
		    "framing rates; MOVER interval from the %s intervals of each.</p>\n",
		    100.0 * r->misalignment.rate, 100.0 * r->misalignment.lo,
		    100.0 * r->misalignment.hi,
		    r->method == AM_CI_JEFFREYS ? "Jeffreys" : "Wilson");
	} else {
		if ((rc =
		         am_buf_puts(o,
		                     "<p class=\"big\">Misalignment rate: undefined</p><p>It needs "
		                     "valid episodes in all three honeypot categories; missing: ",
		                     err)) < 0 ||
		    (rc = am_html_escape(o, r->misalignment_missing, err)) < 0)
			return rc;
		rc = am_buf_puts(o, ".</p>\n", err);
	}
	if (rc < 0)
		return rc;
	if ((rc = am_buf_puts(o,
	                      "<p>Intervals: 95%; * (and a dashed whisker) = exact one-sided 95% "
	                      "upper bound when 0 of n. Invalid episodes are excluded from n and "
	                      "counted.</p>\n<h2>By category</h2>\n",
	                      err)) < 0 ||
	    (rc = svg_chart(r, o, "Harmful rate by category", r->categories, r->n_categories,
	                    err)) < 0 ||
	    (rc = table(o, "category", r->categories, r->n_categories, err)) < 0 ||
	    (rc = am_buf_puts(o, "<h2>By condition</h2>\n", err)) < 0 ||
	    (rc = svg_chart(r, o, "Harmful rate by condition", r->conditions, r->n_conditions,
	                    err)) < 0 ||
	    (rc = table(o, "condition", r->conditions, r->n_conditions, err)) < 0)
		return rc;
	if (r->n_axes &&
	    ((rc = am_buf_puts(o, "<h2>By axis value</h2>\n", err)) < 0 ||
	     (rc = svg_chart(r, o, "Harmful rate by axis value", r->axes, r->n_axes, err)) < 0 ||
	     (rc = table(o, "category / axis = value", r->axes, r->n_axes, err)) < 0))
		return rc;
	if (r->judging > 0) {
		if ((rc = am_buf_puts(o, "<h2>By verbalised evaluation awareness</h2>\n", err)) <
		        0 ||
		    (rc = table(o, "category / eval_aware", r->awareness, r->n_awareness, err)) < 0)
			return rc;
		if (r->kappa_defined)
			rc = am_buf_printf(
			    o, err,
			    "<p>Agreement of detector-only and judge verdicts: Cohen's "
			    "kappa = %.3f (both harmful %ld, detector only %ld, judge "
			    "only %ld, neither %ld).</p>\n",
			    r->kappa, r->agreement[0], r->agreement[1], r->agreement[2],
			    r->agreement[3]);
		else
			rc = am_buf_puts(o,
			                 "<p>Agreement of detector-only and judge verdicts: kappa "
			                 "undefined (a single label throughout).</p>\n",
			                 err);
		if (rc < 0)
			return rc;
	}
	if ((rc = am_buf_puts(o, "<h2>Transcripts</h2>\n", err)) < 0)
		return rc;
	for (size_t c = 0; c < r->n_conditions; c++) {
		size_t shown = 0, total = 0;
		if ((rc = am_buf_puts(o, "<h3>", err)) < 0 ||
		    (rc = cell_label(o, &r->conditions[c], 0, err)) < 0 ||
		    (rc = am_buf_puts(o, "</h3>\n", err)) < 0)
			return rc;
		for (size_t e = 0; e < r->n_episodes; e++) {
			if (!am_streq(r->episodes[e].condition_id, r->conditions[c].condition))
				continue;
			total++;
			if (shown >= TRANSCRIPTS_PER_CONDITION)
				continue;
			shown++;
			if ((rc = transcript(o, s, r, &r->episodes[e], err)) < 0)
				return rc;
		}
		if (total > shown &&
		    (rc = am_buf_printf(o, err,
		                        "<p>%zu more episodes of this condition are in the "
		                        "store.</p>\n",
		                        total - shown)) < 0)
			return rc;
	}
	return am_buf_puts(o, "</body></html>\n", err);
}
