/* sc_internal.h: the scenario loader's private pieces (lib/scenario only).
 *
 * Ownership: every structure here is owned by the am_scenario (or the parser call) that made
 * it and is released by the matching *_free function; nothing borrows from the file contents
 * after loading, except ynode scalars and template text, which are their own copies. */
#ifndef AMLAB_SC_INTERNAL_H
#define AMLAB_SC_INTERNAL_H

#include "amlab/buf.h"
#include "amlab/json.h"
#include "amlab/scenario.h"

/* Caps that keep a hostile scenario from exhausting memory. */
#define SC_MAX_FILE_BYTES  ((size_t)4 << 20)
#define SC_MAX_TOTAL_BYTES ((size_t)64 << 20)
#define SC_MAX_FILES       4096
#define SC_MAX_CONDITIONS  20000
#define SC_MAX_RENDER      ((size_t)8 << 20)
#define SC_MAX_DEPTH       32 /* template nesting, variable recursion, YAML nesting */
#define SC_MAX_DIAGS       200
#define SC_MAX_RUN_STEPS   1000 /* run.max_steps */

/* ---- diagnostics: every error of a load, each with file and line ---- */

struct sc_diag_item {
	char *file;
	int line;
	char *msg;
};

struct sc_diag {
	struct sc_diag_item *items;
	size_t n, cap;
	size_t dropped;      /* errors beyond SC_MAX_DIAGS */
	size_t repeats;      /* the same error again in another condition (not reported) */
	bool oom;            /* an allocation failed: the load must fail with AM_ENOMEM */
	const char *context; /* appended as " (in condition X)" when set */
};

void sc_diag_add(struct sc_diag *d, const char *file, int line, const char *fmt, ...)
    AM_PRINTF(4, 5);
void sc_diag_free(struct sc_diag *d);
/* Move d's first error into err (with "and N more" when there are more). Returns AM_ENOMEM when
 * d->oom, else AM_EPARSE. */
int sc_diag_to_err(const struct sc_diag *d, struct am_err *err);

/* ---- in-memory file set of one scenario directory ---- */

struct sc_vf {
	char *path; /* relative, '/'-separated */
	char *data; /* NUL-terminated */
	size_t len;
};

struct sc_vfs {
	struct sc_vf *f;
	size_t n, cap;
	size_t total;
};

int sc_vfs_add(struct sc_vfs *v, const char *path, const char *data, size_t len,
               struct am_err *err);
void sc_vfs_sort(struct sc_vfs *v);
const struct sc_vf *sc_vfs_get(const struct sc_vfs *v, const char *path);
void sc_vfs_free(struct sc_vfs *v);
/* Read every regular file below dir (skipping names that start with '.'). */
int sc_vfs_read_dir(struct sc_vfs *v, const char *dir, struct am_err *err);

/* ---- YAML tree with positions ---- */

enum ynode_kind { Y_SCALAR, Y_SEQ, Y_MAP };

struct tmpl;

struct ynode {
	enum ynode_kind kind;
	int line;         /* 1-based line of the node's start */
	int content_line; /* first line of a scalar's content (block scalars start a line later) */
	bool plain;       /* unquoted plain scalar (type inference applies) */
	char *str;        /* scalar text (NUL-terminated) */
	size_t len;
	struct ynode **items; /* SEQ: items; MAP: key0, value0, key1, value1, ... */
	size_t n;             /* number of items (MAP: 2 * pairs) */
	struct tmpl *tpl;     /* scalar parsed as a template, when it is one (set by the loader) */
};

/* Parse YAML text into a tree; errors go to d with file name and line. NULL on failure. */
struct ynode *sc_yaml_parse(const char *text, size_t len, const char *file, struct sc_diag *d);
void sc_ynode_free(struct ynode *n);
struct ynode *sc_ymap_get(const struct ynode *map, const char *key);
const char *sc_ykind_name(const struct ynode *n);

/* ---- templates ---- */

enum texpr_op { E_EQ, E_NE, E_TRUTHY, E_NOT, E_AND, E_OR };

struct texpr {
	enum texpr_op op;
	char *name; /* E_EQ/E_NE/E_TRUTHY */
	char **vals;
	size_t nvals;
	struct texpr *a, *b;
	int line;
};

enum tnode_kind { T_TEXT, T_VAR, T_IF };

struct tbranch {
	struct texpr *cond; /* NULL for else */
	struct tnode **body;
	size_t n;
};

struct tnode {
	enum tnode_kind kind;
	int line;
	char *text; /* T_TEXT */
	size_t len;
	char *name;         /* T_VAR */
	int filter;         /* 0 none, 1 lower, 2 upper */
	struct tbranch *br; /* T_IF */
	size_t nbr;
};

struct tmpl {
	char *file;
	int line;
	struct tnode **nodes;
	size_t n;
	bool is_literal; /* no tags: `literal` holds the text */
};

/* Parse text as a template; `line` is the line of text's first character in `file`. */
struct tmpl *sc_tmpl_parse(const char *text, size_t len, const char *file, int line,
                           struct sc_diag *d);
void sc_tmpl_free(struct tmpl *t);

struct sc_render {
	const struct am_scenario *sc;
	const size_t *vals; /* condition's value index per axis */
	const char *model_name;
	const char *inbox; /* the condition's inbox as text, while rendering the prompts */
	struct sc_diag *d;
	/* var cache, one per scenario variable */
	char **cache;
	unsigned char *state; /* 0 unrendered, 1 in progress, 2 done */
	int depth;
};

/* The value of variable `name` in r's condition (borrowed, valid while r lives). Errors go to
 * r->d naming file and line. */
int sc_lookup(struct sc_render *r, const char *name, const char **val, const char *file, int line);
void sc_render_done(struct sc_render *r);

/* Render t into out. Errors (cycles, limits) go to r->d; returns 0 or negative. */
int sc_tmpl_render(struct sc_render *r, const struct tmpl *t, struct am_buf *out);
/* Render to a fresh string (am_free). NULL on failure. */
char *sc_tmpl_render_str(struct sc_render *r, const struct tmpl *t);

/* ---- the loaded scenario ---- */

struct sc_assign { /* a partial assignment: allowed[a] is NULL (any) or a bool per value */
	bool **allowed;
	int line;
};

enum sc_var_kind {
	V_AXIS,
	V_AXISVAR,
	V_CONST,
	V_BUILTIN_LIT,
	V_AGENT_NAME,
	V_AGENT_EMAIL,
	V_MODEL,
	V_INBOX
};

struct sc_var {
	char *name;
	enum sc_var_kind kind;
	size_t axis;      /* V_AXIS, V_AXISVAR */
	size_t axis_var;  /* V_AXISVAR: index into the axis' var names */
	struct tmpl *tpl; /* V_CONST */
	const char *lit;  /* V_BUILTIN_LIT (borrowed from the scenario) */
};

struct sc_axis {
	char *name;
	char **values;
	size_t nvalues;
	char **var_names;
	size_t nvars;
	struct tmpl **var_tpl; /* [value * nvars + var] */
	int line;
};

struct sc_email {
	char *path;
	struct tmpl *id, *from, *to, *cc, *date, *subject, *body;
	struct tmpl **attach;
	size_t nattach;
	struct sc_assign *when;
};

struct sc_file {
	char *wpath; /* world path */
	char *src;   /* path in the scenario dir */
	char *raw;   /* verbatim content when raw */
	struct tmpl *tpl;
	struct sc_assign *when;
};

struct sc_table {
	char *name;
	char *file;
	char *key;
	struct tmpl *tpl;
	int line;
};

struct sc_tool {
	char *name;
	char *op;
	struct tmpl *desc;
	struct ynode *params; /* borrowed from the manifest tree */
	struct ynode *bind;   /* borrowed, may be NULL */
	struct sc_assign *when;
	int line;
};

struct sc_detector {
	char *name;
	char *kind;
	struct tmpl *desc;
	struct ynode *when; /* predicate, borrowed */
	struct sc_assign *include_when;
	int line;
};

struct sc_candidate {
	char *id;
	char *label;
	struct tmpl *text;
	struct sc_assign *when;
	int line;
};

struct sc_preset {
	char *name;
	char **globs;
	size_t n;
};

struct am_scenario {
	char *dir;      /* as given (for messages) */
	char *manifest; /* dir + "/scenario.yaml" */
	struct ynode *root;
	char *name, *category, *split, *description, *now;
	char **tags;
	size_t ntags;
	struct sc_axis *axes;
	size_t naxes;
	struct sc_var *vars;
	size_t nvars;
	struct tmpl *id_tpl;
	struct tmpl *agent_name, *agent_email;
	struct tmpl *system, *user, *rubric;
	struct sc_email *emails;
	size_t nemails;
	struct sc_file *files;
	size_t nfiles;
	struct sc_table *tables;
	size_t ntables;
	struct ynode *directory, *runner, *alerts, *channels; /* borrowed from root */
	struct sc_tool *tools;
	size_t ntools;
	struct sc_detector *detectors;
	size_t ndetectors;
	struct sc_candidate *candidates;
	size_t ncandidates;
	struct sc_preset *presets;
	size_t npresets;
	char *run_turns;    /* run.turns ("single"/"multi"), NULL when the manifest has no run */
	long run_max_steps; /* run.max_steps, 0 when not given */
	struct sc_assign *excl, *ctrl;
	size_t nexcl, nctrl;
	/* the grid after exclusions */
	size_t ncond;
	size_t *cond_vals; /* ncond * naxes */
	char **cond_ids;
	bool *cond_control;
	char (*cond_hash)[65];
};

/* Load one scenario from its file set; dir names it in messages. Errors go to d. */
struct am_scenario *sc_scenario_load(struct sc_vfs *v, const char *dir, struct sc_diag *d);
void sc_scenario_free(struct am_scenario *sc);
/* Render condition i; errors go to d. */
struct am_condition *sc_render_condition(const struct am_scenario *sc, size_t i,
                                         const char *model_name, struct sc_diag *d);

bool sc_assign_match(const struct am_scenario *sc, const struct sc_assign *as, const size_t *vals);

/* Op argument table from docs/world.md (aliases included). NULL when op is unknown. */
const char *const *sc_op_args(const char *op);
/* Detector predicate fields (docs/detectors.md): type 'l' list of strings (or one string), 's'
 * string, 'n' number, 'm' map of strings. */
struct sc_pred_field {
	const char *name;
	char type;
};
/* The NULL-terminated fields of predicate `name`; NULL for an unknown predicate. */
const struct sc_pred_field *sc_pred_fields(const char *name);
/* Is s a valid name per pattern: 'a' axis/var ident, 'v' axis value, 'n' scenario name,
 * 't' tool name, 'c' candidate id, 'i' condition id. */
bool sc_valid_name(const char *s, char kind);

#endif
