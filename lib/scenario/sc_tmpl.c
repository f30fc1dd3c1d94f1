/* sc_tmpl.c: the template language of docs/scenarios.md ("Templates"): {{name}}, filters,
 * {{#if}}/{{#elif}}/{{#else}}/{{/if}} blocks, comments, a literal "{{", and standalone block
 * lines that vanish with their newline. Parsing keeps the line of every tag for errors. */
#include "amlab/alloc.h"
#include "amlab/str.h"
#include "sc_internal.h"

enum tok_kind { TK_TEXT, TK_VAR, TK_IF, TK_ELIF, TK_ELSE, TK_END };

struct tok {
	enum tok_kind kind;
	const char *p; /* TEXT: text; VAR: content; IF/ELIF: expression */
	size_t len;
	int line;
};

struct toks {
	struct tok *t;
	size_t n, cap;
};

static int toks_push(struct toks *ts, enum tok_kind kind, const char *p, size_t len, int line)
{
	if (ts->n == ts->cap) {
		size_t nc = ts->cap ? ts->cap * 2 : 16;
		struct tok *nt = am_reallocarray(ts->t, nc, sizeof(*nt));
		if (!nt)
			return AM_ENOMEM;
		ts->t = nt;
		ts->cap = nc;
	}
	ts->t[ts->n++] = (struct tok){kind, p, len, line};
	return 0;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static const char *find2(const char *s, size_t from, size_t len, char a, char b)
{
	for (size_t i = from; i + 1 < len; i++)
		if (s[i] == a && s[i + 1] == b)
			return s + i;
	return NULL;
}

/* Split text into tokens. Returns 0, AM_ENOMEM or AM_EPARSE (reported to d). */
static int tokenize(const char *s, size_t len, const char *file, int base_line, struct toks *ts,
                    struct sc_diag *d)
{
	size_t pos = 0, text_start = 0, counted = 0;
	int line = base_line;
	for (;;) {
		const char *open = find2(s, pos, len, '{', '{');
		if (!open) {
			if (len > text_start &&
			    toks_push(ts, TK_TEXT, s + text_start, len - text_start, line) < 0)
				return AM_ENOMEM;
			return 0;
		}
		size_t tag_start = (size_t)(open - s);
		for (; counted < tag_start; counted++)
			if (s[counted] == '\n')
				line++;
		int tag_line = line;
		size_t c0 = tag_start + 2;
		while (c0 < len && is_ws(s[c0]))
			c0++;
		size_t close;
		if (c0 < len && s[c0] == '"') {
			const char *q = memchr(s + c0 + 1, '"', len - c0 - 1);
			size_t after = q ? (size_t)(q - s) + 1 : len;
			while (after < len && is_ws(s[after]))
				after++;
			if (!q || after + 1 >= len || s[after] != '}' || s[after + 1] != '}') {
				sc_diag_add(d, file, tag_line,
				            "unclosed string literal in '{{\"...\"}}' tag");
				return AM_EPARSE;
			}
			close = after;
		} else {
			const char *cl = find2(s, tag_start + 2, len, '}', '}');
			if (!cl) {
				sc_diag_add(d, file, tag_line, "unclosed '{{' (no matching '}}')");
				return AM_EPARSE;
			}
			close = (size_t)(cl - s);
		}
		const char *c = s + tag_start + 2;
		size_t clen = close - (tag_start + 2);
		am_trim(&c, &clen);
		enum tok_kind kind;
		bool block = true, comment = false;
		const char *arg = NULL;
		size_t arglen = 0;
		if (clen > 0 && c[0] == '!') {
			comment = true;
			kind = TK_TEXT;
		} else if (clen >= 3 && memcmp(c, "#if", 3) == 0 && (clen == 3 || is_ws(c[3]))) {
			kind = TK_IF;
			arg = c + 3;
			arglen = clen - 3;
		} else if (clen >= 5 && memcmp(c, "#elif", 5) == 0 && (clen == 5 || is_ws(c[5]))) {
			kind = TK_ELIF;
			arg = c + 5;
			arglen = clen - 5;
		} else if (clen == 5 && memcmp(c, "#else", 5) == 0) {
			kind = TK_ELSE;
		} else if (clen == 3 && memcmp(c, "/if", 3) == 0) {
			kind = TK_END;
		} else if (clen > 0 && (c[0] == '#' || c[0] == '/')) {
			sc_diag_add(d, file, tag_line,
			            "unknown block tag '{{%.*s}}' (use #if, #elif, #else, /if)",
			            (int)AM_MIN(clen, 40), c);
			return AM_EPARSE;
		} else {
			block = false;
			kind = TK_VAR;
			arg = c;
			arglen = clen;
		}
		if (arg)
			am_trim(&arg, &arglen);
		size_t text_end = tag_start, next = close + 2;
		if (block) {
			/* standalone: only whitespace around the tag on its line */
			size_t ls = tag_start;
			while (ls > 0 && s[ls - 1] != '\n')
				ls--;
			bool before = ls >= text_start;
			for (size_t i = ls; before && i < tag_start; i++)
				before = is_ws(s[i]);
			size_t a = close + 2;
			while (a < len && is_ws(s[a]))
				a++;
			if (before && (a == len || s[a] == '\n')) {
				text_end = ls;
				next = a < len ? a + 1 : len;
			}
		}
		if (text_end > text_start &&
		    toks_push(ts, TK_TEXT, s + text_start, text_end - text_start, line) < 0)
			return AM_ENOMEM;
		if (!comment) {
			if (kind == TK_VAR && c[0] == '"') {
				/* literal: content between the quotes */
				const char *q = memchr(c + 1, '"', clen - 1);
				if (toks_push(ts, TK_TEXT, c + 1, (size_t)(q - c - 1), tag_line) <
				    0)
					return AM_ENOMEM;
			} else if (toks_push(ts, kind, arg, arglen, tag_line) < 0) {
				return AM_ENOMEM;
			}
		}
		pos = text_start = next;
		/* TEXT tokens record the line their text starts on */
		for (; counted < next; counted++)
			if (s[counted] == '\n')
				line++;
	}
}

/* ---- expressions ---- */

struct elex {
	const char *s;
	size_t len, pos;
	const char *file;
	int line;
	struct sc_diag *d;
	bool failed;
};

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static void skip_ws(struct elex *x)
{
	while (x->pos < x->len && is_ws(x->s[x->pos]))
		x->pos++;
}

/* Next word into (p,n); false at end or non-word. Does not consume on false. */
static bool peek_word(struct elex *x, const char **p, size_t *n)
{
	skip_ws(x);
	size_t i = x->pos;
	while (i < x->len && word_char(x->s[i]))
		i++;
	*p = x->s + x->pos;
	*n = i - x->pos;
	return *n > 0;
}

static bool is_kw(const char *p, size_t n, const char *kw)
{
	return n == strlen(kw) && memcmp(p, kw, n) == 0;
}

static void texpr_free(struct texpr *e)
{
	if (!e)
		return;
	am_free(e->name);
	for (size_t i = 0; i < e->nvals; i++)
		am_free(e->vals[i]);
	am_free(e->vals);
	texpr_free(e->a);
	texpr_free(e->b);
	am_free(e);
}

static struct texpr *new_expr(struct elex *x, enum texpr_op op)
{
	struct texpr *e = am_calloc(1, sizeof(*e));
	if (!e)
		x->d->oom = true;
	else {
		e->op = op;
		e->line = x->line;
	}
	return e;
}

static void expr_error(struct elex *x, const char *what)
{
	if (!x->failed)
		sc_diag_add(x->d, x->file, x->line, "bad condition '{{#if %.*s}}': %s",
		            (int)AM_MIN(x->len, 80), x->s, what);
	x->failed = true;
}

static struct texpr *parse_or(struct elex *x, int depth);

static struct texpr *parse_unary(struct elex *x, int depth)
{
	const char *p;
	size_t n;
	if (depth > SC_MAX_DEPTH) {
		expr_error(x, "nested too deeply");
		return NULL;
	}
	if (!peek_word(x, &p, &n)) {
		expr_error(x, "expected a variable name");
		return NULL;
	}
	if (is_kw(p, n, "not")) {
		x->pos += n;
		struct texpr *inner = parse_unary(x, depth + 1);
		if (!inner)
			return NULL;
		struct texpr *e = new_expr(x, E_NOT);
		if (!e) {
			texpr_free(inner);
			return NULL;
		}
		e->a = inner;
		return e;
	}
	if (is_kw(p, n, "and") || is_kw(p, n, "or")) {
		expr_error(x, "expected a variable name before 'and'/'or'");
		return NULL;
	}
	x->pos += n;
	struct texpr *e = new_expr(x, E_TRUTHY);
	if (!e)
		return NULL;
	if (!(e->name = am_strndup(p, n))) {
		x->d->oom = true;
		texpr_free(e);
		return NULL;
	}
	skip_ws(x);
	if (x->pos + 1 < x->len && (x->s[x->pos] == '=' || x->s[x->pos] == '!') &&
	    x->s[x->pos + 1] == '=') {
		e->op = x->s[x->pos] == '=' ? E_EQ : E_NE;
		x->pos += 2;
		for (;;) {
			if (!peek_word(x, &p, &n)) {
				expr_error(x, "expected a value after '==', '!=' or '|'");
				texpr_free(e);
				return NULL;
			}
			x->pos += n;
			char **nv = am_reallocarray(e->vals, e->nvals + 1, sizeof(*nv));
			char *v = nv ? am_strndup(p, n) : NULL;
			if (nv)
				e->vals = nv;
			if (!v) {
				x->d->oom = true;
				texpr_free(e);
				return NULL;
			}
			e->vals[e->nvals++] = v;
			skip_ws(x);
			if (x->pos < x->len && x->s[x->pos] == '|') {
				x->pos++;
				continue;
			}
			break;
		}
	}
	return e;
}

static struct texpr *parse_bin(struct elex *x, int depth, bool is_or)
{
	struct texpr *left = is_or ? parse_bin(x, depth + 1, false) : parse_unary(x, depth + 1);
	while (left) {
		const char *p;
		size_t n;
		if (!peek_word(x, &p, &n) || !is_kw(p, n, is_or ? "or" : "and"))
			break;
		x->pos += n;
		struct texpr *right =
		    is_or ? parse_bin(x, depth + 1, false) : parse_unary(x, depth + 1);
		if (!right) {
			texpr_free(left);
			return NULL;
		}
		struct texpr *e = new_expr(x, is_or ? E_OR : E_AND);
		if (!e) {
			texpr_free(left);
			texpr_free(right);
			return NULL;
		}
		e->a = left;
		e->b = right;
		left = e;
	}
	return left;
}

static struct texpr *parse_or(struct elex *x, int depth)
{
	return parse_bin(x, depth, true);
}

static struct texpr *parse_expr(const char *s, size_t len, const char *file, int line,
                                struct sc_diag *d)
{
	struct elex x = {s, len, 0, file, line, d, false};
	if (len == 0) {
		expr_error(&x, "empty condition");
		return NULL;
	}
	struct texpr *e = parse_or(&x, 0);
	if (e) {
		skip_ws(&x);
		if (x.pos < x.len) {
			expr_error(&x, "unexpected text (combine with 'and', 'or', 'not'; values "
			               "with '|')");
			texpr_free(e);
			return NULL;
		}
	}
	return e;
}

/* ---- nodes ---- */

static void nodes_free(struct tnode **nodes, size_t n);

static void tnode_free(struct tnode *t)
{
	if (!t)
		return;
	am_free(t->text);
	am_free(t->name);
	for (size_t i = 0; i < t->nbr; i++) {
		texpr_free(t->br[i].cond);
		nodes_free(t->br[i].body, t->br[i].n);
	}
	am_free(t->br);
	am_free(t);
}

static void nodes_free(struct tnode **nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tnode_free(nodes[i]);
	am_free(nodes);
}

void sc_tmpl_free(struct tmpl *t)
{
	if (!t)
		return;
	nodes_free(t->nodes, t->n);
	am_free(t->file);
	am_free(t);
}

static int nodes_push(struct tnode ***arr, size_t *n, struct tnode *node)
{
	struct tnode **na = am_reallocarray(*arr, *n + 1, sizeof(*na));
	if (!na)
		return AM_ENOMEM;
	*arr = na;
	(*arr)[(*n)++] = node;
	return 0;
}

struct tparse {
	const struct toks *ts;
	size_t i;
	const char *file;
	struct sc_diag *d;
};

static bool valid_var_name(const char *p, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		          (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

/* Parse nodes until a token in stop (ELIF/ELSE/END) or the end. */
static int parse_nodes(struct tparse *tp, struct tnode ***out, size_t *nout, int depth)
{
	struct tnode **nodes = NULL;
	size_t n = 0;
	int rc = 0;
	if (depth > SC_MAX_DEPTH) {
		sc_diag_add(tp->d, tp->file, tp->ts->t[tp->i > 0 ? tp->i - 1 : 0].line,
		            "{{#if}} blocks nested deeper than %d", SC_MAX_DEPTH);
		return AM_EPARSE;
	}
	while (tp->i < tp->ts->n) {
		const struct tok *t = &tp->ts->t[tp->i];
		if (t->kind == TK_ELIF || t->kind == TK_ELSE || t->kind == TK_END)
			break;
		tp->i++;
		struct tnode *node = am_calloc(1, sizeof(*node));
		if (!node) {
			rc = AM_ENOMEM;
			goto out;
		}
		node->line = t->line;
		if (t->kind == TK_TEXT) {
			node->kind = T_TEXT;
			node->len = t->len;
			if (!(node->text = am_strndup(t->p, t->len)))
				rc = AM_ENOMEM;
		} else if (t->kind == TK_VAR) {
			node->kind = T_VAR;
			const char *bar = memchr(t->p, '|', t->len);
			const char *nm = t->p;
			size_t nlen = bar ? (size_t)(bar - t->p) : t->len;
			am_trim(&nm, &nlen);
			if (bar) {
				const char *f = bar + 1;
				size_t flen = t->len - (size_t)(f - t->p);
				am_trim(&f, &flen);
				if (flen == 5 && memcmp(f, "lower", 5) == 0)
					node->filter = 1;
				else if (flen == 5 && memcmp(f, "upper", 5) == 0)
					node->filter = 2;
				else {
					sc_diag_add(tp->d, tp->file, t->line,
					            "unknown filter '%.*s' (use lower or upper)",
					            (int)AM_MIN(flen, 40), f);
					rc = AM_EPARSE;
				}
			}
			if (rc == 0 && !valid_var_name(nm, nlen)) {
				sc_diag_add(tp->d, tp->file, t->line,
				            "bad variable name '{{%.*s}}' (letters, digits, '_')",
				            (int)AM_MIN(t->len, 40), t->p);
				rc = AM_EPARSE;
			}
			if (rc == 0 && !(node->name = am_strndup(nm, nlen)))
				rc = AM_ENOMEM;
		} else { /* TK_IF */
			node->kind = T_IF;
			const struct tok *cur = t;
			for (;;) {
				struct tbranch *nb =
				    am_reallocarray(node->br, node->nbr + 1, sizeof(*nb));
				if (!nb) {
					rc = AM_ENOMEM;
					break;
				}
				node->br = nb;
				struct tbranch *b = &node->br[node->nbr++];
				memset(b, 0, sizeof(*b));
				if (cur->kind != TK_ELSE) {
					b->cond = parse_expr(cur->p, cur->len, tp->file, cur->line,
					                     tp->d);
					if (!b->cond) {
						rc = tp->d->oom ? AM_ENOMEM : AM_EPARSE;
						break;
					}
				}
				if ((rc = parse_nodes(tp, &b->body, &b->n, depth + 1)) < 0)
					break;
				if (tp->i >= tp->ts->n) {
					sc_diag_add(tp->d, tp->file, t->line,
					            "{{#if}} is never closed with {{/if}}");
					rc = AM_EPARSE;
					break;
				}
				const struct tok *term = &tp->ts->t[tp->i++];
				if (term->kind == TK_END)
					break;
				if (cur->kind == TK_ELSE) {
					sc_diag_add(tp->d, tp->file, term->line,
					            "{{#%s}} after {{#else}}",
					            term->kind == TK_ELSE ? "else" : "elif");
					rc = AM_EPARSE;
					break;
				}
				cur = term;
			}
		}
		if (nodes_push(&nodes, &n, node) < 0) {
			tnode_free(node);
			rc = AM_ENOMEM;
		}
		if (rc < 0)
			goto out;
	}
out:
	if (rc < 0) {
		nodes_free(nodes, n);
		return rc;
	}
	*out = nodes;
	*nout = n;
	return 0;
}

struct tmpl *sc_tmpl_parse(const char *text, size_t len, const char *file, int line,
                           struct sc_diag *d)
{
	struct toks ts = {0};
	struct tmpl *t = NULL;
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		int nl = line;
		for (const char *q = text; q < nul; q++)
			nl += *q == '\n';
		sc_diag_add(d, file, nl, "text contains a NUL byte");
		return NULL;
	}
	int rc = tokenize(text, len, file, line, &ts, d);
	if (rc == AM_ENOMEM)
		d->oom = true;
	if (rc < 0)
		goto out;
	if (!(t = am_calloc(1, sizeof(*t))) || !(t->file = am_strdup(file))) {
		d->oom = true;
		goto fail;
	}
	t->line = line;
	struct tparse tp = {&ts, 0, file, d};
	rc = parse_nodes(&tp, &t->nodes, &t->n, 0);
	if (rc == AM_ENOMEM)
		d->oom = true;
	if (rc < 0)
		goto fail;
	if (tp.i < ts.n) {
		const struct tok *x = &ts.t[tp.i];
		sc_diag_add(d, file, x->line, "{{%s}} without an open {{#if}}",
		            x->kind == TK_END    ? "/if"
		            : x->kind == TK_ELSE ? "#else"
		                                 : "#elif");
		goto fail;
	}
	t->is_literal = t->n == 0 || (t->n == 1 && t->nodes[0]->kind == T_TEXT);
	goto out;
fail:
	sc_tmpl_free(t);
	t = NULL;
out:
	am_free(ts.t);
	return t;
}

/* ---- rendering ---- */

static bool eval_expr(struct sc_render *r, const struct texpr *e, const char *file, int *err)
{
	const char *v = NULL;
	switch (e->op) {
	case E_NOT: return !eval_expr(r, e->a, file, err);
	case E_AND: return eval_expr(r, e->a, file, err) && eval_expr(r, e->b, file, err);
	case E_OR: return eval_expr(r, e->a, file, err) || eval_expr(r, e->b, file, err);
	case E_TRUTHY:
	case E_EQ:
	case E_NE: break;
	}
	int rc = sc_lookup(r, e->name, &v, file, e->line);
	if (rc < 0) {
		*err = rc;
		return false;
	}
	if (e->op == E_TRUTHY)
		return v[0] != '\0';
	bool any = false;
	for (size_t i = 0; i < e->nvals && !any; i++)
		any = strcmp(v, e->vals[i]) == 0;
	return e->op == E_EQ ? any : !any;
}

static int render_nodes(struct sc_render *r, const char *file, struct tnode *const *nodes, size_t n,
                        struct am_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct tnode *t = nodes[i];
		int rc = 0;
		if (t->kind == T_TEXT) {
			rc = am_buf_append(out, t->text, t->len, NULL);
		} else if (t->kind == T_VAR) {
			const char *v = NULL;
			if ((rc = sc_lookup(r, t->name, &v, file, t->line)) < 0)
				return rc;
			size_t start = out->len;
			rc = am_buf_puts(out, v, NULL);
			for (size_t k = start; rc == 0 && k < out->len; k++) {
				char c = out->data[k];
				if (t->filter == 1 && c >= 'A' && c <= 'Z')
					out->data[k] = (char)(c - 'A' + 'a');
				else if (t->filter == 2 && c >= 'a' && c <= 'z')
					out->data[k] = (char)(c - 'a' + 'A');
			}
		} else {
			for (size_t b = 0; b < t->nbr; b++) {
				int err = 0;
				bool take =
				    !t->br[b].cond || eval_expr(r, t->br[b].cond, file, &err);
				if (err < 0)
					return err;
				if (take) {
					rc = render_nodes(r, file, t->br[b].body, t->br[b].n, out);
					break;
				}
			}
		}
		if (rc == AM_ELIMIT) {
			sc_diag_add(r->d, file, t->line, "rendered text larger than %zu bytes",
			            SC_MAX_RENDER);
			return AM_EPARSE;
		}
		if (rc == AM_ENOMEM)
			r->d->oom = true;
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sc_tmpl_render(struct sc_render *r, const struct tmpl *t, struct am_buf *out)
{
	if (out->max > SC_MAX_RENDER)
		out->max = SC_MAX_RENDER;
	return render_nodes(r, t->file, t->nodes, t->n, out);
}

char *sc_tmpl_render_str(struct sc_render *r, const struct tmpl *t)
{
	struct am_buf b = AM_BUF_INIT;
	b.max = SC_MAX_RENDER;
	char *s = NULL;
	if (sc_tmpl_render(r, t, &b) == 0) {
		s = am_buf_detach(&b, NULL, NULL);
		if (!s)
			r->d->oom = true;
	}
	am_buf_free(&b);
	return s;
}
