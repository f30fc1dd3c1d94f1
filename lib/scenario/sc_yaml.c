/* sc_yaml.c: libyaml events into a small tree that remembers every node's line, so that every
 * later error can name the file and line it comes from. Aliases are refused (they would let a
 * tiny file expand without bound, and no scenario needs them). */
#include <yaml.h>

#include "amlab/alloc.h"
#include "sc_internal.h"

void sc_ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		sc_ynode_free(n->items[i]);
	am_free(n->items);
	am_free(n->str);
	sc_tmpl_free(n->tpl);
	am_free(n);
}

struct ynode *sc_ymap_get(const struct ynode *map, const char *key)
{
	if (!map || map->kind != Y_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (strcmp(map->items[i]->str, key) == 0)
			return map->items[i + 1];
	return NULL;
}

const char *sc_ykind_name(const struct ynode *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case Y_SCALAR: return "a scalar";
	case Y_SEQ: return "a list";
	case Y_MAP: return "a map";
	}
	return "?";
}

static int push_item(struct ynode *parent, struct ynode *child)
{
	/* capacity is 4, then doubles whenever n reaches a power of two */
	if (parent->n == 0 || (parent->n >= 4 && (parent->n & (parent->n - 1)) == 0)) {
		size_t nc = parent->n ? parent->n * 2 : 4;
		struct ynode **ni = am_reallocarray(parent->items, nc, sizeof(*ni));
		if (!ni)
			return AM_ENOMEM;
		parent->items = ni;
	}
	parent->items[parent->n++] = child;
	return 0;
}

static struct ynode *new_node(enum ynode_kind kind, const yaml_event_t *ev)
{
	struct ynode *n = am_calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->kind = kind;
	n->line = (int)ev->start_mark.line + 1;
	n->content_line = n->line;
	return n;
}

/* libyaml allocates with malloc; its memory is its own business. */
struct ynode *sc_yaml_parse(const char *text, size_t len, const char *file, struct sc_diag *d)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct ynode *root = NULL;
	struct ynode *stack[SC_MAX_DEPTH + 1];
	int top = -1;
	bool ok = false, done = false;
	int docs = 0;

	if (!yaml_parser_initialize(&p)) {
		d->oom = true;
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			int line = (int)p.problem_mark.line + 1;
			if (p.error == YAML_MEMORY_ERROR)
				d->oom = true;
			else
				sc_diag_add(d, file, line, "invalid YAML: %s%s%s",
				            p.problem ? p.problem : "syntax error",
				            p.context ? " " : "", p.context ? p.context : "");
			goto out;
		}
		struct ynode *n = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: done = true; break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				sc_diag_add(d, file, (int)ev.start_mark.line + 1,
				            "only one YAML document is allowed");
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		case YAML_ALIAS_EVENT:
			sc_diag_add(d, file, (int)ev.start_mark.line + 1,
			            "YAML aliases (*name) are not supported; write the value out");
			yaml_event_delete(&ev);
			goto out;
		case YAML_SCALAR_EVENT:
			if (!(n = new_node(Y_SCALAR, &ev)) ||
			    !(n->str =
			          am_memdup(ev.data.scalar.value, ev.data.scalar.length + 1))) {
				am_free(n);
				d->oom = true;
				yaml_event_delete(&ev);
				goto out;
			}
			n->len = ev.data.scalar.length;
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			if (ev.data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
			    ev.data.scalar.style == YAML_FOLDED_SCALAR_STYLE)
				n->content_line = n->line + 1;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (top + 1 >= SC_MAX_DEPTH) {
				sc_diag_add(d, file, (int)ev.start_mark.line + 1,
				            "YAML nested deeper than %d levels", SC_MAX_DEPTH);
				yaml_event_delete(&ev);
				goto out;
			}
			if (!(n = new_node(ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP,
			                   &ev))) {
				d->oom = true;
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: {
			struct ynode *m = stack[top--];
			if (m->kind == Y_MAP) {
				for (size_t i = 0; i + 1 < m->n; i += 2)
					for (size_t j = i + 2; j + 1 < m->n; j += 2)
						if (strcmp(m->items[i]->str, m->items[j]->str) ==
						    0) {
							sc_diag_add(
							    d, file, m->items[j]->line,
							    "duplicate key '%s' (first on line "
							    "%d)",
							    m->items[j]->str, m->items[i]->line);
							yaml_event_delete(&ev);
							goto out;
						}
			}
			break;
		}
		default: break;
		}
		if (n) {
			if (top >= 0) {
				struct ynode *parent = stack[top];
				if (parent->kind == Y_MAP && parent->n % 2 == 0 &&
				    n->kind != Y_SCALAR) {
					sc_diag_add(d, file, n->line,
					            "a map key must be a plain string");
					sc_ynode_free(n);
					yaml_event_delete(&ev);
					goto out;
				}
				if (push_item(parent, n) < 0) {
					sc_ynode_free(n);
					d->oom = true;
					yaml_event_delete(&ev);
					goto out;
				}
			} else if (!root) {
				root = n;
			} else {
				sc_ynode_free(n);
			}
			if (n->kind != Y_SCALAR)
				stack[++top] = n;
		}
		yaml_event_delete(&ev);
	}
	if (!root)
		sc_diag_add(d, file, 1, "empty YAML document");
	else
		ok = true;
out:
	yaml_parser_delete(&p);
	if (!ok) {
		sc_ynode_free(root);
		return NULL;
	}
	return root;
}
