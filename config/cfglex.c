/* cfglex: libconfig text as tokens and spans (see cfglex.h). */
#include "config/cfglex.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEMS_MAX CFGLEX_ITEMS_MAX
#define DEPTH_MAX CFGLEX_DEPTH_MAX

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void skip_space_and_comments(struct cfglex *lx)
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

struct cfgtok cfglex_next(struct cfglex *lx)
{
	struct cfgtok t = {.kind = CFGTOK_END};
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
		t.kind = p < lx->len ? CFGTOK_STRING : CFGTOK_BAD;
		lx->pos = p < lx->len ? p + 1 : lx->len;
	} else if (strchr("{}()[]=:;,", c)) {
		t.kind = CFGTOK_PUNCT;
		t.c = c;
		lx->pos++;
	} else if (is_name_start(c)) {
		t.kind = CFGTOK_NAME;
		while (lx->pos < lx->len && is_name_char(lx->t[lx->pos])) {
			lx->pos++;
		}
	} else {
		t.kind = CFGTOK_OTHER;
		while (lx->pos < lx->len && !strchr(" \t\r\n{}()[]=:;,\"#/", lx->t[lx->pos])) {
			lx->pos++;
		}
		if (lx->pos == t.start) {
			t.kind = CFGTOK_BAD;
			lx->pos++;
		}
	}
	t.end = lx->pos;
	return t;
}

struct cfgtok cfglex_peek(struct cfglex *lx)
{
	size_t saved = lx->pos;
	struct cfgtok t = cfglex_next(lx);

	lx->pos = saved;
	return t;
}

bool cfgtok_is(struct cfgtok t, char c)
{
	return t.kind == CFGTOK_PUNCT && t.c == c;
}

/* One `name = value` with its optional terminator. *term is the end of the
 * terminator (or of the value when there is none). */
int cfglex_setting(struct cfglex *lx, int depth, struct cfgspan *name, struct cfgspan *v,
		   size_t *term)
{
	struct cfgtok t = cfglex_next(lx);
	struct cfgtok eq;

	if (t.kind != CFGTOK_NAME) {
		return -EPROTO;
	}
	name->start = t.start;
	name->end = t.end;
	eq = cfglex_next(lx);
	if (!cfgtok_is(eq, '=') && !cfgtok_is(eq, ':')) {
		return -EPROTO;
	}
	if (cfglex_value(lx, depth, v) != 0) {
		return -EPROTO;
	}
	*term = v->end;
	t = cfglex_peek(lx);
	if (cfgtok_is(t, ';') || cfgtok_is(t, ',')) {
		cfglex_next(lx);
		*term = t.end;
	}
	return 0;
}

/* Settings up to the closing '}' (consumed). */
static int parse_group_body(struct cfglex *lx, int depth)
{
	for (int i = 0; i < ITEMS_MAX; i++) {
		struct cfgspan name, v;
		size_t term;

		if (cfgtok_is(cfglex_peek(lx), '}')) {
			cfglex_next(lx);
			return 0;
		}
		if (cfglex_setting(lx, depth, &name, &v, &term) != 0) {
			return -EPROTO;
		}
	}
	return -EPROTO;
}

/* Values separated by ',' up to close (consumed). */
static int parse_list_body(struct cfglex *lx, int depth, char close)
{
	if (cfgtok_is(cfglex_peek(lx), close)) {
		cfglex_next(lx);
		return 0;
	}
	for (int i = 0; i < ITEMS_MAX; i++) {
		struct cfgspan v;
		struct cfgtok t;

		if (cfglex_value(lx, depth, &v) != 0) {
			return -EPROTO;
		}
		t = cfglex_next(lx);
		if (cfgtok_is(t, close)) {
			return 0;
		}
		if (!cfgtok_is(t, ',')) {
			return -EPROTO;
		}
	}
	return -EPROTO;
}

int cfglex_value(struct cfglex *lx, int depth, struct cfgspan *v)
{
	struct cfgtok t = cfglex_next(lx);
	int err = 0;

	if (depth >= DEPTH_MAX) {
		return -EPROTO;
	}
	v->start = t.start;
	if (cfgtok_is(t, '{')) {
		err = parse_group_body(lx, depth + 1);
	} else if (cfgtok_is(t, '(')) {
		err = parse_list_body(lx, depth + 1, ')');
	} else if (cfgtok_is(t, '[')) {
		err = parse_list_body(lx, depth + 1, ']');
	} else if (t.kind == CFGTOK_STRING) {
		/* "a" "b" is one string in libconfig. */
		while (cfglex_peek(lx).kind == CFGTOK_STRING) {
			cfglex_next(lx);
		}
	} else if (t.kind != CFGTOK_NAME && t.kind != CFGTOK_OTHER) {
		err = -EPROTO;
	}
	v->end = lx->pos;
	return err;
}

bool cfgspan_is(const char *text, struct cfgspan s, const char *word)
{
	size_t n = strlen(word);

	return s.end - s.start == n && memcmp(text + s.start, word, n) == 0;
}

/* One character of a string token's body at *p (an escape or a byte),
 * moving *p past it; -1 for an escape libconfig does not take. */
static int string_char(const char *text, size_t end, size_t *p)
{
	char c = text[(*p)++];
	static const char from[] = "\\\"fnrt", to[] = "\\\"\f\n\r\t";
	const char *k;
	unsigned v = 0;

	if (c != '\\') {
		return (unsigned char)c;
	}
	if (*p >= end) {
		return -1;
	}
	c = text[(*p)++];
	if (c != '\0' && (k = strchr(from, c))) {
		return (unsigned char)to[k - from];
	}
	if (c != 'x' || *p + 2 > end) {
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		char h = text[(*p)++];

		if (!isxdigit((unsigned char)h)) {
			return -1;
		}
		v = v * 16 +
		    (unsigned)(isdigit((unsigned char)h) ? h - '0' : (h | 0x20) - 'a' + 10);
	}
	return (int)v;
}

bool cfgspan_string_is(const char *text, struct cfgspan s, const char *want)
{
	struct cfglex lx = {.t = text, .len = s.end, .pos = s.start};
	size_t w = 0, n = strlen(want);
	bool has_string = false;

	for (int i = 0; i < CFGLEX_ITEMS_MAX; i++) {
		struct cfgtok t = cfglex_next(&lx);

		if (t.kind == CFGTOK_END) {
			return has_string && w == n;
		}
		if (t.kind != CFGTOK_STRING) {
			return false;
		}
		has_string = true;
		for (size_t p = t.start + 1; p < t.end - 1;) {
			int c = string_char(text, t.end - 1, &p);

			if (c < 0 || w == n || (unsigned char)want[w] != c) {
				return false;
			}
			w++;
		}
	}
	return false;
}

void cfgelems_fini(struct cfgelems *e)
{
	free(e->el);
	free(e->comma);
	e->el = e->comma = NULL;
}

static int elems_grow(struct cfgelems *e, size_t *cap)
{
	struct cfgspan *a, *b;
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

int cfglex_list(const char *text, struct cfgspan span, char open, struct cfgelems *e)
{
	struct cfglex lx = {.t = text, .len = span.end, .pos = span.start};
	struct cfgtok t = cfglex_next(&lx);
	char close = open == '(' ? ')' : ']';
	size_t cap = 0;

	memset(e, 0, sizeof(*e));
	if (!cfgtok_is(t, open)) {
		return -EPROTO;
	}
	e->open = (struct cfgspan){t.start, t.end};
	for (int i = 0; i < CFGLEX_ITEMS_MAX; i++) {
		struct cfgspan v;

		t = cfglex_peek(&lx);
		if (cfgtok_is(t, close)) {
			e->close = (struct cfgspan){t.start, t.end};
			return 0;
		}
		if (e->n == cap && elems_grow(e, &cap) != 0) {
			return -ENOMEM;
		}
		if (cfglex_value(&lx, 1, &v) != 0) {
			return -EPROTO;
		}
		e->el[e->n] = v;
		e->comma[e->n] = (struct cfgspan){0, 0};
		t = cfglex_next(&lx);
		if (cfgtok_is(t, ',')) {
			e->comma[e->n] = (struct cfgspan){t.start, t.end};
		} else if (cfgtok_is(t, close)) {
			e->n++;
			e->close = (struct cfgspan){t.start, t.end};
			return 0;
		} else {
			return -EPROTO;
		}
		e->n++;
	}
	return -EPROTO;
}

/* Widen [*s, *e) to whole lines when nothing else is on them. */
void cfgtext_widen_to_lines(const char *text, size_t len, size_t *s, size_t *e)
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
void cfgtext_indent_of(const char *text, size_t pos, char *out, size_t size)
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

bool cfgtext_has_newline(const char *text, size_t s, size_t e)
{
	return memchr(text + s, '\n', e - s) != NULL;
}

const char *cfgtext_eol_at(const char *text, size_t len, size_t pos)
{
	const char *nl = pos < len ? memchr(text + pos, '\n', len - pos) : NULL;

	if (!nl) {
		nl = memrchr(text, '\n', pos < len ? pos : len);
	}
	return nl && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
}

bool cfgtext_is_eol(const char *text, size_t len, size_t p)
{
	return text[p] == '\n' || (text[p] == '\r' && p + 1 < len && text[p + 1] == '\n');
}
