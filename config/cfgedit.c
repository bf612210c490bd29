/* cfgedit: find the byte range of one flow or client in routes.conf text
 * and splice a new one in (DESIGN §6 write-back: hand-written comments and
 * layout outside the changed part survive; inside a replaced flow,
 * cfgmerge keeps what did not change). The tokens and the grammar walk are
 * cfglex's. Nothing is validated here; the caller parses the result. */
#include "config/cfgedit.h"

#include "config/cfglex.h"
#include "config/cfgmerge.h"
#include "config/routes.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEMS_MAX CFGLEX_ITEMS_MAX
#define STR_(x) #x
#define STR(x) STR_(x)

const char cfgedit_flow_defaults[] =
	"{ mtu = " STR(ROUTES_DEFAULT_MTU) "; multipath = \"failover\"; joinable = false; "
					   "impair = { loss = 0; corrupt = 0; duplicate = 0; "
					   "reorder = 0; loss_burst = 0; "
					   "delay_ms = 0; jitter_ms = 0; rate_kbps = 0; }; }";

/* The value span of top-level setting `name`: 1 found, 0 missing, -EPROTO. */
static int find_top(const char *text, size_t len, const char *name, struct cfgspan *v)
{
	struct cfglex lx = {.t = text, .len = len};

	for (int i = 0; i < ITEMS_MAX; i++) {
		struct cfgspan n, val;
		size_t term;

		if (cfglex_peek(&lx).kind == CFGTOK_END) {
			return 0;
		}
		if (cfglex_setting(&lx, 0, &n, &val, &term) != 0) {
			return -EPROTO;
		}
		if (cfgspan_is(text, n, name)) {
			*v = val;
			return 1;
		}
	}
	return -EPROTO;
}

/* Does group span g have `name = "want"` among its own settings? */
static bool group_has_name(const char *text, struct cfgspan g, const char *want)
{
	struct cfglex lx = {.t = text, .len = g.end, .pos = g.start};

	if (!cfgtok_is(cfglex_next(&lx), '{')) {
		return false;
	}
	for (int i = 0; i < ITEMS_MAX; i++) {
		struct cfgspan n, v;
		size_t term;

		if (cfgtok_is(cfglex_peek(&lx), '}') || cfglex_peek(&lx).kind == CFGTOK_END) {
			return false;
		}
		if (cfglex_setting(&lx, 1, &n, &v, &term) != 0) {
			return false;
		}
		if (cfgspan_is(text, n, "name") && cfgspan_string_is(text, v, want)) {
			return true;
		}
	}
	return false;
}

/* out = text[0..s) + ins + text[e..len). */
static int splice(const char *text, size_t len, size_t s, size_t e, const char *ins, char **out,
		  size_t *out_len)
{
	size_t n_ins = strlen(ins);
	size_t n = s + n_ins + (len - e);
	char *buf = malloc(n + 1);

	if (!buf) {
		return -ENOMEM;
	}
	memcpy(buf, text, s);
	memcpy(buf + s, ins, n_ins);
	memcpy(buf + s + n_ins, text + e, len - e);
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

/* Append a new top-level setting at the end of text (its lines ending
 * with "\n", written with the file's own line end). */
static int append_top(const char *text, size_t len, const char *setting, char **out,
		      size_t *out_len)
{
	const char *eol = cfgtext_eol_at(text, len, len);
	bool needs_nl = len > 0 && text[len - 1] != '\n';
	size_t n = 2 * strlen(setting) + 3;
	char *ins = malloc(n);
	char *p = ins;
	int err;

	if (!ins) {
		return -ENOMEM;
	}
	p = needs_nl ? stpcpy(p, eol) : p;
	for (const char *c = setting; *c; c++) {
		if (*c == '\n' && eol[0] == '\r') {
			*p++ = '\r';
		}
		*p++ = *c;
	}
	*p = '\0';
	err = splice(text, len, len, len, ins, out, out_len);
	free(ins);
	return err;
}

static int find_flow(const char *text, size_t len, const char *name, struct cfgelems *e,
		     size_t *idx)
{
	struct cfgspan list;
	int found = find_top(text, len, "flows", &list);

	if (found <= 0) {
		memset(e, 0, sizeof(*e));
		return found == 0 ? -ENOENT : -EPROTO;
	}
	if (cfglex_list(text, list, '(', e) != 0) {
		cfgelems_fini(e);
		return -EPROTO;
	}
	for (size_t i = 0; i < e->n; i++) {
		if (group_has_name(text, e->el[i], name)) {
			*idx = i;
			return 0;
		}
	}
	cfgelems_fini(e);
	return -ENOENT;
}

int cfgedit_flow_replace(const char *text, size_t len, const char *name, const char *group,
			 char **out, size_t *out_len)
{
	struct cfgelems e;
	size_t i;
	int err = find_flow(text, len, name, &e, &i);

	char *merged = NULL;
	size_t merged_len = 0;

	if (err != 0) {
		return err;
	}
	/* The flow's own comments and layout stay where its settings do; a
	 * group cfgmerge cannot read is replaced whole. */
	err = cfgmerge_group(text, e.el[i], group, cfgedit_flow_defaults, &merged, &merged_len);
	if (err == 0 || err == -EPROTO) {
		err = splice(text, len, e.el[i].start, e.el[i].end, merged ? merged : group, out,
			     out_len);
	}
	free(merged);
	cfgelems_fini(&e);
	return err;
}

int cfgedit_flow_remove(const char *text, size_t len, const char *name, char **out, size_t *out_len)
{
	struct cfgelems e;
	size_t i, s, end;
	int err = find_flow(text, len, name, &e, &i);

	if (err != 0) {
		return err;
	}
	if (e.comma[i].end > 0) {
		/* "{ this }," : the element and its comma. */
		s = e.el[i].start;
		end = e.comma[i].end;
		cfgtext_widen_to_lines(text, len, &s, &end);
	} else if (i > 0) {
		/* The last one: the element (with its line when alone there) and
		 * the previous element's comma; what lies between them stays. */
		char *tmp = NULL;
		size_t tmp_len = 0;

		s = e.el[i].start;
		end = e.el[i].end;
		cfgtext_widen_to_lines(text, len, &s, &end);
		err = splice(text, len, s, end, "", &tmp, &tmp_len);
		if (err == 0) {
			err = splice(tmp, tmp_len, e.comma[i - 1].start, e.comma[i - 1].end, "",
				     out, out_len);
			free(tmp);
		}
		cfgelems_fini(&e);
		return err;
	} else {
		s = e.el[i].start;
		end = e.el[i].end;
		cfgtext_widen_to_lines(text, len, &s, &end);
	}
	err = splice(text, len, s, end, "", out, out_len);
	cfgelems_fini(&e);
	return err;
}

/* The settings of the group at [s, e) of text: the first one's start, the
 * last one's start and terminator end, the closing brace's start, and how
 * many. Returns 0 or -EPROTO. */
struct group_shape {
	size_t open_end, first, last, last_term, close;
	size_t n;
};

static int group_shape(const char *text, size_t s, size_t e, struct group_shape *g)
{
	struct cfglex lx = {text, e, s};
	struct cfgtok t = cfglex_next(&lx);
	struct cfgspan name, v;
	size_t term;

	memset(g, 0, sizeof(*g));
	if (!cfgtok_is(t, '{')) {
		return -EPROTO;
	}
	g->open_end = t.end;
	while (!cfgtok_is(cfglex_peek(&lx), '}')) {
		if (cfglex_setting(&lx, 1, &name, &v, &term) != 0) {
			return -EPROTO;
		}
		g->first = g->n++ == 0 ? name.start : g->first;
		g->last = name.start;
		g->last_term = term;
	}
	g->close = cfglex_next(&lx).start;
	return 0;
}

/* printf into out[*used..cap); *used becomes cap when it did not fit. */
static void append(char *out, size_t cap, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *out, size_t cap, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= cap) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(out + *used, cap - *used, fmt, ap);
	va_end(ap);
	*used = n < 0 || (size_t)n >= cap - *used ? cap : *used + (size_t)n;
}

/* group (as flowjson writes it, on one line) laid out like the flow at
 * [ns, ne) of text when that one spans lines: a setting per line at its
 * last setting's indent, the first on the brace's line or not and the
 * closing brace on its own line (at indent) or not, as it has them. NULL
 * when the neighbour is on one line, or either cannot be read (the group is
 * then added as it is). */
static char *layout_like(const char *text, size_t ns, size_t ne, const char *group,
			 const char *indent, const char *eol)
{
	struct group_shape nb, g;
	struct cfgspan name, v;
	size_t term, used = 0, cap;
	struct cfglex lx;
	char inner[64];
	bool first = true;
	char *out;

	if (!cfgtext_has_newline(text, ns, ne) || group_shape(text, ns, ne, &nb) != 0 ||
	    nb.n == 0 || group_shape(group, 0, strlen(group), &g) != 0 || g.n == 0) {
		return NULL;
	}
	cfgtext_indent_of(text, nb.last, inner, sizeof(inner));
	cap = strlen(group) + g.n * (strlen(inner) + 2) + strlen(indent) + 9;
	out = malloc(cap);
	if (!out) {
		return NULL;
	}
	append(out, cap, &used, "{");
	lx = (struct cfglex){group, strlen(group), g.open_end};
	while (!cfgtok_is(cfglex_peek(&lx), '}') && cfglex_setting(&lx, 1, &name, &v, &term) == 0) {
		bool same_line = first && !cfgtext_has_newline(text, nb.open_end, nb.first);

		append(out, cap, &used, "%s%s%.*s", same_line ? " " : eol, same_line ? "" : inner,
		       (int)(term - name.start), group + name.start);
		first = false;
	}
	if (cfgtext_has_newline(text, nb.last_term, nb.close)) {
		append(out, cap, &used, "%s%s}", eol, indent);
	} else {
		append(out, cap, &used, " }");
	}
	if (used >= cap) {
		free(out);
		return NULL;
	}
	return out;
}

/* group into the empty list whose "(" ends at open_end: on a line of its
 * own. Before the line end after "(" when nothing else is there, so that a
 * delete takes the line it made and gives the list back. */
static int add_first(const char *text, size_t len, size_t open_end, const char *group, char **out,
		     size_t *out_len)
{
	const char *eol = cfgtext_eol_at(text, len, open_end);
	size_t n = strlen(group) + 8;
	size_t at = open_end;
	char *ins = malloc(n);
	int err;

	if (!ins) {
		return -ENOMEM;
	}
	while (at < len && (text[at] == ' ' || text[at] == '\t')) {
		at++;
	}
	if (at < len && (text[at] == '\n' || text[at] == '\r')) {
		snprintf(ins, n, "%s  %s", eol, group);
	} else {
		at = open_end;
		snprintf(ins, n, "%s  %s%s", eol, group, eol);
	}
	err = splice(text, len, at, at, ins, out, out_len);
	free(ins);
	return err;
}

int cfgedit_flow_add(const char *text, size_t len, const char *group, char **out, size_t *out_len)
{
	struct cfgspan list;
	struct cfgelems e;
	char indent[64];
	char *ins;
	size_t n = strlen(group) + sizeof(indent) + 32;
	int found = find_top(text, len, "flows", &list);
	int err;

	if (found < 0) {
		return -EPROTO;
	}
	ins = malloc(n);
	if (!ins) {
		return -ENOMEM;
	}
	if (found == 0) {
		snprintf(ins, n, "flows: (\n  %s\n);\n", group);
		err = append_top(text, len, ins, out, out_len);
		free(ins);
		return err;
	}
	err = cfglex_list(text, list, '(', &e);
	if (err == 0 && e.n == 0) {
		err = add_first(text, len, e.open.end, group, out, out_len);
	} else if (err == 0) {
		size_t last = e.el[e.n - 1].end;
		const char *eol = cfgtext_eol_at(text, len, last);
		char *laid;

		cfgtext_indent_of(text, e.el[e.n - 1].start, indent, sizeof(indent));
		/* Written a setting per line like the flow before it, if it is. */
		laid = layout_like(text, e.el[e.n - 1].start, last, group, indent, eol);
		if (laid && strlen(laid) + sizeof(indent) + 32 > n) {
			char *bigger = realloc(ins, strlen(laid) + sizeof(indent) + 32);

			if (bigger) {
				ins = bigger;
				n = strlen(laid) + sizeof(indent) + 32;
			} else {
				free(laid);
				laid = NULL;
			}
		}
		if (cfgtext_has_newline(text, e.open.end, e.close.start)) {
			snprintf(ins, n, ",%s%s%s", eol, indent, laid ? laid : group);
		} else {
			snprintf(ins, n, ", %s", group);
		}
		free(laid);
		err = splice(text, len, last, last, ins, out, out_len);
	}
	cfgelems_fini(&e);
	free(ins);
	return err;
}

/* The settings of the clients group. */
struct entries {
	struct cfgspan open, close;
	struct cfgspan name, value; /* the one asked for */
	size_t term;		    /* its terminator's end */
	bool has_match;
	size_t last_end; /* end of the last setting (terminator included) */
	bool last_has_term;
	bool is_empty;
};

static int client_entries(const char *text, size_t len, const char *id, struct entries *en)
{
	struct cfgspan g;
	struct cfglex lx;
	struct cfgtok t;
	int found = find_top(text, len, "clients", &g);

	memset(en, 0, sizeof(*en));
	if (found <= 0) {
		return found == 0 ? -ENOENT : -EPROTO;
	}
	lx = (struct cfglex){.t = text, .len = g.end, .pos = g.start};
	t = cfglex_next(&lx);
	if (!cfgtok_is(t, '{')) {
		return -EPROTO;
	}
	en->open = (struct cfgspan){t.start, t.end};
	en->is_empty = true;
	for (int i = 0; i < ITEMS_MAX; i++) {
		struct cfgspan n, v;
		size_t term;

		t = cfglex_peek(&lx);
		if (cfgtok_is(t, '}')) {
			en->close = (struct cfgspan){t.start, t.end};
			return 0;
		}
		if (cfglex_setting(&lx, 1, &n, &v, &term) != 0) {
			return -EPROTO;
		}
		en->is_empty = false;
		en->last_end = term;
		en->last_has_term = term != v.end;
		if (cfgspan_is(text, n, id)) {
			en->name = n;
			en->value = v;
			en->term = term;
			en->has_match = true;
		}
	}
	return -EPROTO;
}

int cfgedit_client_set(const char *text, size_t len, const char *id, const char *value, char **out,
		       size_t *out_len)
{
	struct entries en;
	char indent[64];
	size_t n = strlen(id) + strlen(value) + sizeof(indent) + 32;
	char *ins;
	int err = client_entries(text, len, id, &en);

	if (err == 0 && en.has_match) {
		return splice(text, len, en.value.start, en.value.end, value, out, out_len);
	}
	if (err != 0 && err != -ENOENT) {
		return err;
	}
	ins = malloc(n);
	if (!ins) {
		return -ENOMEM;
	}
	if (err == -ENOENT) {
		snprintf(ins, n, "clients: {\n  %s = %s;\n};\n", id, value);
		err = append_top(text, len, ins, out, out_len);
	} else if (en.is_empty) {
		snprintf(ins, n, " %s = %s; ", id, value);
		err = splice(text, len, en.open.end, en.open.end, ins, out, out_len);
	} else {
		bool is_multiline = cfgtext_has_newline(text, en.open.end, en.close.start);

		cfgtext_indent_of(text, en.name.start ? en.name.start : en.last_end, indent,
				  sizeof(indent));
		if (is_multiline) {
			size_t ls = en.last_end;
			/* Indent like the last entry's line. */
			while (ls > 0 && text[ls - 1] != '\n') {
				ls--;
			}
			size_t k = 0;
			while (ls + k < len && (text[ls + k] == ' ' || text[ls + k] == '\t') &&
			       k < sizeof(indent) - 1) {
				indent[k] = text[ls + k];
				k++;
			}
			indent[k] = '\0';
		}
		snprintf(ins, n, "%s%s%s%s = %s;", en.last_has_term ? "" : ";",
			 is_multiline ? cfgtext_eol_at(text, len, en.last_end) : " ",
			 is_multiline ? indent : "", id, value);
		err = splice(text, len, en.last_end, en.last_end, ins, out, out_len);
	}
	free(ins);
	return err;
}

int cfgedit_client_remove(const char *text, size_t len, const char *id, char **out, size_t *out_len)
{
	struct entries en;
	size_t s, e;
	int err = client_entries(text, len, id, &en);

	if (err != 0) {
		return err;
	}
	if (!en.has_match) {
		return -ENOENT;
	}
	s = en.name.start;
	e = en.term;
	cfgtext_widen_to_lines(text, len, &s, &e);
	return splice(text, len, s, e, "", out, out_len);
}
