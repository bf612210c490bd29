/* cfgedit: find the byte range of one flow or client in routes.conf text
 * and splice a new one in (DESIGN §6 write-back: hand-written comments and
 * layout outside the changed part survive). The lexer knows libconfig's
 * tokens (names, strings with escapes, numbers, punctuation, "#", "//" and
 * block comments) and a recursive walk knows its grammar: settings
 * `name = value;` in groups `{ }`, values in lists `( )` and arrays `[ ]`.
 * Nothing is validated here; the caller parses the result. Depth and token
 * counts are bounded, so any input ends. */
#include "config/cfgedit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 32
#define ITEMS_MAX 100000 /* settings or elements walked in one container */

enum tok_kind { TOK_END, TOK_NAME, TOK_STRING, TOK_PUNCT, TOK_OTHER, TOK_BAD };

struct tok {
	enum tok_kind kind;
	size_t start, end;
	char c; /* TOK_PUNCT */
};

struct lex {
	const char *t;
	size_t len, pos;
};

struct span {
	size_t start, end;
};

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void skip_space_and_comments(struct lex *lx)
{
	while (lx->pos < lx->len) {
		char c = lx->t[lx->pos];
		char n = lx->pos + 1 < lx->len ? lx->t[lx->pos + 1] : '\0';

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
			lx->pos++;
		} else if (c == '#' || (c == '/' && n == '/')) {
			while (lx->pos < lx->len && lx->t[lx->pos] != '\n') {
				lx->pos++;
			}
		} else if (c == '/' && n == '*') {
			const char *e = NULL;
			if (lx->pos + 2 < lx->len) {
				e = memmem(lx->t + lx->pos + 2, lx->len - lx->pos - 2, "*/", 2);
			}
			lx->pos = e ? (size_t)(e - lx->t) + 2 : lx->len;
		} else {
			return;
		}
	}
}

static struct tok next_tok(struct lex *lx)
{
	struct tok t = {.kind = TOK_END};
	char c;

	skip_space_and_comments(lx);
	t.start = t.end = lx->pos;
	if (lx->pos >= lx->len) {
		return t;
	}
	c = lx->t[lx->pos];
	if (c == '"') {
		size_t p = lx->pos + 1;
		while (p < lx->len && lx->t[p] != '"') {
			p += lx->t[p] == '\\' && p + 1 < lx->len ? 2 : 1;
		}
		t.kind = p < lx->len ? TOK_STRING : TOK_BAD;
		lx->pos = p < lx->len ? p + 1 : lx->len;
	} else if (strchr("{}()[]=:;,", c)) {
		t.kind = TOK_PUNCT;
		t.c = c;
		lx->pos++;
	} else if (is_name_start(c)) {
		t.kind = TOK_NAME;
		while (lx->pos < lx->len && is_name_char(lx->t[lx->pos])) {
			lx->pos++;
		}
	} else {
		t.kind = TOK_OTHER;
		while (lx->pos < lx->len && !strchr(" \t\r\n{}()[]=:;,\"#/", lx->t[lx->pos])) {
			lx->pos++;
		}
		if (lx->pos == t.start) {
			t.kind = TOK_BAD;
			lx->pos++;
		}
	}
	t.end = lx->pos;
	return t;
}

static struct tok peek_tok(struct lex *lx)
{
	size_t saved = lx->pos;
	struct tok t = next_tok(lx);

	lx->pos = saved;
	return t;
}

static bool is_punct(struct tok t, char c)
{
	return t.kind == TOK_PUNCT && t.c == c;
}

static int parse_value(struct lex *lx, int depth, struct span *v);

/* One `name = value` with its optional terminator. *term is the end of the
 * terminator (or of the value when there is none). */
static int parse_setting(struct lex *lx, int depth, struct span *name, struct span *v, size_t *term)
{
	struct tok t = next_tok(lx);
	struct tok eq;

	if (t.kind != TOK_NAME) {
		return -EPROTO;
	}
	name->start = t.start;
	name->end = t.end;
	eq = next_tok(lx);
	if (!is_punct(eq, '=') && !is_punct(eq, ':')) {
		return -EPROTO;
	}
	if (parse_value(lx, depth, v) != 0) {
		return -EPROTO;
	}
	*term = v->end;
	t = peek_tok(lx);
	if (is_punct(t, ';') || is_punct(t, ',')) {
		next_tok(lx);
		*term = t.end;
	}
	return 0;
}

/* Settings up to the closing '}' (consumed). */
static int parse_group_body(struct lex *lx, int depth)
{
	for (int i = 0; i < ITEMS_MAX; i++) {
		struct span name, v;
		size_t term;

		if (is_punct(peek_tok(lx), '}')) {
			next_tok(lx);
			return 0;
		}
		if (parse_setting(lx, depth, &name, &v, &term) != 0) {
			return -EPROTO;
		}
	}
	return -EPROTO;
}

/* Values separated by ',' up to close (consumed). */
static int parse_list_body(struct lex *lx, int depth, char close)
{
	if (is_punct(peek_tok(lx), close)) {
		next_tok(lx);
		return 0;
	}
	for (int i = 0; i < ITEMS_MAX; i++) {
		struct span v;
		struct tok t;

		if (parse_value(lx, depth, &v) != 0) {
			return -EPROTO;
		}
		t = next_tok(lx);
		if (is_punct(t, close)) {
			return 0;
		}
		if (!is_punct(t, ',')) {
			return -EPROTO;
		}
	}
	return -EPROTO;
}

static int parse_value(struct lex *lx, int depth, struct span *v)
{
	struct tok t = next_tok(lx);
	int err = 0;

	if (depth >= DEPTH_MAX) {
		return -EPROTO;
	}
	v->start = t.start;
	if (is_punct(t, '{')) {
		err = parse_group_body(lx, depth + 1);
	} else if (is_punct(t, '(')) {
		err = parse_list_body(lx, depth + 1, ')');
	} else if (is_punct(t, '[')) {
		err = parse_list_body(lx, depth + 1, ']');
	} else if (t.kind == TOK_STRING) {
		/* "a" "b" is one string in libconfig. */
		while (peek_tok(lx).kind == TOK_STRING) {
			next_tok(lx);
		}
	} else if (t.kind != TOK_NAME && t.kind != TOK_OTHER) {
		err = -EPROTO;
	}
	v->end = lx->pos;
	return err;
}

static bool span_is(const char *text, struct span s, const char *word)
{
	size_t n = strlen(word);

	return s.end - s.start == n && memcmp(text + s.start, word, n) == 0;
}

/* The value span of top-level setting `name`: 1 found, 0 missing, -EPROTO. */
static int find_top(const char *text, size_t len, const char *name, struct span *v)
{
	struct lex lx = {.t = text, .len = len};

	for (int i = 0; i < ITEMS_MAX; i++) {
		struct span n, val;
		size_t term;

		if (peek_tok(&lx).kind == TOK_END) {
			return 0;
		}
		if (parse_setting(&lx, 0, &n, &val, &term) != 0) {
			return -EPROTO;
		}
		if (span_is(text, n, name)) {
			*v = val;
			return 1;
		}
	}
	return -EPROTO;
}

/* The elements of the list whose value span is list. */
struct elems {
	struct span open, close; /* the '(' and ')' */
	struct span *el;	 /* owns */
	struct span *comma;	 /* owns: comma after el[i], {0,0} for none */
	size_t n;
};

static void elems_fini(struct elems *e)
{
	free(e->el);
	free(e->comma);
}

static int grow(struct elems *e, size_t *cap)
{
	struct span *a, *b;
	size_t ncap = *cap ? *cap * 2 : 16;

	a = realloc(e->el, ncap * sizeof(*a));
	if (!a) {
		return -ENOMEM;
	}
	e->el = a;
	b = realloc(e->comma, ncap * sizeof(*b));
	if (!b) {
		return -ENOMEM;
	}
	e->comma = b;
	*cap = ncap;
	return 0;
}

static int list_elems(const char *text, struct span list, struct elems *e)
{
	struct lex lx = {.t = text, .len = list.end, .pos = list.start};
	struct tok t = next_tok(&lx);
	size_t cap = 0;

	memset(e, 0, sizeof(*e));
	if (!is_punct(t, '(')) {
		return -EPROTO;
	}
	e->open = (struct span){t.start, t.end};
	for (int i = 0; i < ITEMS_MAX; i++) {
		struct span v;

		t = peek_tok(&lx);
		if (is_punct(t, ')')) {
			e->close = (struct span){t.start, t.end};
			return 0;
		}
		if (e->n == cap && grow(e, &cap) != 0) {
			return -ENOMEM;
		}
		if (parse_value(&lx, 1, &v) != 0) {
			return -EPROTO;
		}
		e->el[e->n] = v;
		e->comma[e->n] = (struct span){0, 0};
		t = next_tok(&lx);
		if (is_punct(t, ',')) {
			e->comma[e->n] = (struct span){t.start, t.end};
		} else if (is_punct(t, ')')) {
			e->n++;
			e->close = (struct span){t.start, t.end};
			return 0;
		} else {
			return -EPROTO;
		}
		e->n++;
	}
	return -EPROTO;
}

/* Does group span g have `name = "want"` among its own settings? */
static bool group_has_name(const char *text, struct span g, const char *want)
{
	struct lex lx = {.t = text, .len = g.end, .pos = g.start};

	if (!is_punct(next_tok(&lx), '{')) {
		return false;
	}
	for (int i = 0; i < ITEMS_MAX; i++) {
		struct span n, v;
		size_t term;

		if (is_punct(peek_tok(&lx), '}') || peek_tok(&lx).kind == TOK_END) {
			return false;
		}
		if (parse_setting(&lx, 1, &n, &v, &term) != 0) {
			return false;
		}
		if (span_is(text, n, "name") && v.end - v.start >= 2 && text[v.start] == '"') {
			struct span inner = {v.start + 1, v.end - 1};
			if (text[v.end - 1] == '"' && span_is(text, inner, want)) {
				return true;
			}
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

/* Widen [*s, *e) to whole lines when nothing else is on them. */
static void widen_to_lines(const char *text, size_t len, size_t *s, size_t *e)
{
	size_t ls = *s;
	size_t le = *e;

	while (ls > 0 && (text[ls - 1] == ' ' || text[ls - 1] == '\t')) {
		ls--;
	}
	while (le < len && (text[le] == ' ' || text[le] == '\t' || text[le] == '\r')) {
		le++;
	}
	if ((ls == 0 || text[ls - 1] == '\n') && (le == len || text[le] == '\n')) {
		*s = ls;
		*e = le < len ? le + 1 : le;
	} else if (*s > 0 && text[*s - 1] == ' ' && *e < len && text[*e] == ' ') {
		(*s)--; /* "a; b; c;" less "b;" is "a; c;", not "a;  c;" */
	}
}

/* The whitespace before pos on its line, when only whitespace is there. */
static void indent_of(const char *text, size_t pos, char *out, size_t size)
{
	size_t ls = pos;

	while (ls > 0 && (text[ls - 1] == ' ' || text[ls - 1] == '\t')) {
		ls--;
	}
	if ((ls == 0 || text[ls - 1] == '\n') && pos - ls < size) {
		memcpy(out, text + ls, pos - ls);
		out[pos - ls] = '\0';
	} else {
		snprintf(out, size, "  ");
	}
}

static bool has_newline(const char *text, size_t s, size_t e)
{
	return memchr(text + s, '\n', e - s) != NULL;
}

/* Append a new top-level setting at the end of text. */
static int append_top(const char *text, size_t len, const char *setting, char **out,
		      size_t *out_len)
{
	bool needs_nl = len > 0 && text[len - 1] != '\n';
	size_t n = strlen(setting) + 2;
	char *ins = malloc(n);
	int err;

	if (!ins) {
		return -ENOMEM;
	}
	snprintf(ins, n, "%s%s", needs_nl ? "\n" : "", setting);
	err = splice(text, len, len, len, ins, out, out_len);
	free(ins);
	return err;
}

static int find_flow(const char *text, size_t len, const char *name, struct elems *e, size_t *idx)
{
	struct span list;
	int found = find_top(text, len, "flows", &list);

	if (found <= 0) {
		memset(e, 0, sizeof(*e));
		return found == 0 ? -ENOENT : -EPROTO;
	}
	if (list_elems(text, list, e) != 0) {
		elems_fini(e);
		return -EPROTO;
	}
	for (size_t i = 0; i < e->n; i++) {
		if (group_has_name(text, e->el[i], name)) {
			*idx = i;
			return 0;
		}
	}
	elems_fini(e);
	return -ENOENT;
}

int cfgedit_flow_replace(const char *text, size_t len, const char *name, const char *group,
			 char **out, size_t *out_len)
{
	struct elems e;
	size_t i;
	int err = find_flow(text, len, name, &e, &i);

	if (err != 0) {
		return err;
	}
	err = splice(text, len, e.el[i].start, e.el[i].end, group, out, out_len);
	elems_fini(&e);
	return err;
}

int cfgedit_flow_remove(const char *text, size_t len, const char *name, char **out, size_t *out_len)
{
	struct elems e;
	size_t i, s, end;
	int err = find_flow(text, len, name, &e, &i);

	if (err != 0) {
		return err;
	}
	if (e.comma[i].end > 0) {
		/* "{ this }," : the element and its comma. */
		s = e.el[i].start;
		end = e.comma[i].end;
		widen_to_lines(text, len, &s, &end);
	} else if (i > 0) {
		/* The last one: the element (with its line when alone there) and
		 * the previous element's comma; what lies between them stays. */
		char *tmp = NULL;
		size_t tmp_len = 0;

		s = e.el[i].start;
		end = e.el[i].end;
		widen_to_lines(text, len, &s, &end);
		err = splice(text, len, s, end, "", &tmp, &tmp_len);
		if (err == 0) {
			err = splice(tmp, tmp_len, e.comma[i - 1].start, e.comma[i - 1].end, "",
				     out, out_len);
			free(tmp);
		}
		elems_fini(&e);
		return err;
	} else {
		s = e.el[i].start;
		end = e.el[i].end;
		widen_to_lines(text, len, &s, &end);
	}
	err = splice(text, len, s, end, "", out, out_len);
	elems_fini(&e);
	return err;
}

int cfgedit_flow_add(const char *text, size_t len, const char *group, char **out, size_t *out_len)
{
	struct span list;
	struct elems e;
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
	err = list_elems(text, list, &e);
	if (err == 0 && e.n == 0) {
		snprintf(ins, n, "\n  %s\n", group);
		err = splice(text, len, e.open.end, e.open.end, ins, out, out_len);
	} else if (err == 0) {
		size_t last = e.el[e.n - 1].end;

		indent_of(text, e.el[e.n - 1].start, indent, sizeof(indent));
		if (has_newline(text, e.open.end, e.close.start)) {
			snprintf(ins, n, ",\n%s%s", indent, group);
		} else {
			snprintf(ins, n, ", %s", group);
		}
		err = splice(text, len, last, last, ins, out, out_len);
	}
	elems_fini(&e);
	free(ins);
	return err;
}

/* The settings of the clients group. */
struct entries {
	struct span open, close;
	struct span name, value; /* the one asked for */
	size_t term;		 /* its terminator's end */
	bool has_match;
	size_t last_end; /* end of the last setting (terminator included) */
	bool last_has_term;
	bool is_empty;
};

static int client_entries(const char *text, size_t len, const char *id, struct entries *en)
{
	struct span g;
	struct lex lx;
	struct tok t;
	int found = find_top(text, len, "clients", &g);

	memset(en, 0, sizeof(*en));
	if (found <= 0) {
		return found == 0 ? -ENOENT : -EPROTO;
	}
	lx = (struct lex){.t = text, .len = g.end, .pos = g.start};
	t = next_tok(&lx);
	if (!is_punct(t, '{')) {
		return -EPROTO;
	}
	en->open = (struct span){t.start, t.end};
	en->is_empty = true;
	for (int i = 0; i < ITEMS_MAX; i++) {
		struct span n, v;
		size_t term;

		t = peek_tok(&lx);
		if (is_punct(t, '}')) {
			en->close = (struct span){t.start, t.end};
			return 0;
		}
		if (parse_setting(&lx, 1, &n, &v, &term) != 0) {
			return -EPROTO;
		}
		en->is_empty = false;
		en->last_end = term;
		en->last_has_term = term != v.end;
		if (span_is(text, n, id)) {
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
		bool is_multiline = has_newline(text, en.open.end, en.close.start);

		indent_of(text, en.name.start ? en.name.start : en.last_end, indent,
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
			 is_multiline ? "\n" : " ", is_multiline ? indent : "", id, value);
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
	widen_to_lines(text, len, &s, &e);
	return splice(text, len, s, e, "", out, out_len);
}
