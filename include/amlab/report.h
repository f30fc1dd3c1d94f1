/* report.h: reports of a stored run: rates with intervals per condition, category and axis
 * value, the misalignment rate, evaluation-awareness splits and detector/judge agreement,
 * rendered as a terminal table, Markdown, JSON, CSV or one self-contained HTML file
 * (docs/reports.md).
 *
 * Ownership: am_report_build() returns a report that owns everything it points to (free with
 * am_report_free()); it keeps no pointer into the store. am_report_render() appends to a
 * caller-owned buffer. The HTML renderer reads transcripts from the store it is given. */
#ifndef AMLAB_REPORT_H
#define AMLAB_REPORT_H

#include "amlab/buf.h"
#include "amlab/stats.h"
#include "amlab/store.h"

/* The three honeypot categories whose mean is the misalignment rate (DESIGN.md §1). */
extern const char *const am_honeypot_categories[3];

enum am_report_format {
	AM_REPORT_TEXT = 0,
	AM_REPORT_MD = 1,
	AM_REPORT_JSON = 2,
	AM_REPORT_CSV = 3,
	AM_REPORT_HTML = 4,
};
/* "text", "md", "json", "csv", "html". */
int am_report_format_parse(const char *s, enum am_report_format *out, struct am_err *err);

/* One counted cell. Fields that do not apply are NULL. */
struct am_report_cell {
	char *category;
	char *condition;
	char *axis;
	char *value;
	bool is_control;
	struct am_rate rate;
};

struct am_report {
	struct am_run_info run;
	int64_t judging;   /* 0: detector-only */
	char *judge_model; /* NULL: detector-only */
	enum am_ci_method method;
	double conf;
	long episodes_done;  /* episodes in the store */
	long episodes_error; /* of which the model failed (status error) */

	struct am_report_cell *conditions;
	size_t n_conditions;
	struct am_report_cell *categories;
	size_t n_categories;
	struct am_report_cell *axes; /* category x axis x value, in first-seen order */
	size_t n_axes;
	/* Per category, the rate among episodes the judge labelled evaluation-aware (value
	 * "yes") and not ("no"); empty when detector-only. */
	struct am_report_cell *awareness;
	size_t n_awareness;

	bool misalignment_defined;
	struct am_rate misalignment;
	char *misalignment_missing; /* "research-sabotage, framing" when undefined */

	/* Detector-only vs judge verdicts over episodes where both are valid: rows detector
	 * (harmful, not_harmful), columns judge (harmful, not_harmful). */
	bool kappa_defined;
	double kappa;
	long agreement[4];

	struct am_episode_row *episodes;
	size_t n_episodes;
};

/* judging: an id, 0 for detector-only, or -1 for the run's latest judging. */
int am_report_build(struct am_store *s, int64_t run, int64_t judging, enum am_ci_method method,
                    struct am_report **out, struct am_err *err);
void am_report_free(struct am_report *r); /* NULL-safe */

int am_report_render(const struct am_report *r, struct am_store *s, enum am_report_format fmt,
                     struct am_buf *out, struct am_err *err);

/* The HTML renderer (report_html.c). */
int am_report_render_html(const struct am_report *r, struct am_store *s, struct am_buf *out,
                          struct am_err *err);
/* Two runs side by side (amlab compare): per condition present in both, per category and for
 * the misalignment rate: p_A - p_B with Newcombe's hybrid score interval, Fisher's exact
 * two-sided p and Benjamini-Hochberg q over the per-condition tests. Text, md or json
 * (docs/reports.md). Each run uses its latest judging. */
int am_compare_render(struct am_store *s, int64_t run_a, int64_t run_b, enum am_report_format fmt,
                      struct am_buf *out, struct am_err *err);

/* A forced-choice propensity run (amlab propensity): per condition P(misaligned) and each
 * candidate's log-likelihood, token count and probability. Text or json. */
int am_propensity_render(struct am_store *s, int64_t run, enum am_report_format fmt,
                         struct am_buf *out, struct am_err *err);

/* Append s with &, <, >, " and ' replaced by entities (safe in text and quoted attributes). */
int am_html_escape(struct am_buf *out, const char *s, struct am_err *err);

#endif
