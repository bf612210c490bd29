/* cfgmerge: a fresh group merged into the old one's text (see cfgmerge.h).
 * The result is built as a list of edits of the old group's bytes (a value
 * replaced, a setting removed, settings inserted), applied in one pass. */
#include "config/cfgmerge.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETTINGS_MAX 1024 /* per group; larger ones are not merged */
#define DEPTH_MAX 8	  /* nested groups merged (a flow has two levels) */
#define INDENT_MAX 64

struct setting {
	struct cfgspan name, value;
	size_t term; /* end of its ';' or ',' (value.end when it has none) */
	bool is_used;
};

struct settings {
	struct cfgspan open, close; /* the '{' and '}' */
	struct setting *s;	    /* owns */
	size_t n;
};

/* Replace text[start..end) by ins[0..len) (ins owned when `owned`). */
struct edit {
	size_t start, end;
	const char *ins;
	size_t len;
	char *owned;
	size_t seq; /* order of making: ties at one place keep it */
};

struct edits {
	struct edit *e; /* owns */
	size_t n, cap;
};

static void settings_fini(struct settings *g)
{
	free(g->s);
	g->s = NULL;
	g->n = 0;
}

/* The settings of the group at t[g] (its own, not nested ones). */
static int group_settings(const char *t, struct cfgspan g, int depth, struct settings *out)
{
	struct cfglex lx = {.t = t, .len = g.end, .pos = g.start};
	struct cfgtok tok = cfglex_next(&lx);

	memset(out, 0, sizeof(*out));
	if (!cfgtok_is(tok, '{')) {
		return -EPROTO;
	}
	out->open = (struct cfgspan){tok.start, tok.end};
	for (size_t i = 0; i <= SETTINGS_MAX; i++) {
		struct setting s = {0};

		tok = cfglex_peek(&lx);
		if (cfgtok_is(tok, '}') && tok.end == g.end) {
			out->close = (struct cfgspan){tok.start, tok.end};
			return 0;
		}
		if (cfgtok_is(tok, '}')) {
			break; /* the group ends before the span does */
		}
		if (i == SETTINGS_MAX ||
		    cfglex_setting(&lx, depth + 1, &s.name, &s.value, &s.term) != 0) {
			break;
		}
		if (i == 0 || (i & (i - 1)) == 0) { /* 1, 2, 4, ...: double */
			struct setting *a = realloc(out->s, sizeof(*a) * (i == 0 ? 1 : 2 * i));
			if (!a) {
				settings_fini(out);
				return -ENOMEM;
			}
			out->s = a;
		}
		out->s[out->n++] = s;
	}
	settings_fini(out);
	return -EPROTO;
}

static bool is_group(const char *t, struct cfgspan v)
{
	return v.end > v.start && t[v.start] == '{';
}

static bool same_bytes(const char *a, struct cfgspan sa, const char *b, struct cfgspan sb)
{
	return sa.end - sa.start == sb.end - sb.start &&
	       memcmp(a + sa.start, b + sb.start, sa.end - sa.start) == 0;
}

/* The same tokens in the same order (blanks and comments aside). */
static bool same_tokens(const char *a, struct cfgspan va, const char *b, struct cfgspan vb)
{
	struct cfglex la = {.t = a, .len = va.end, .pos = va.start};
	struct cfglex lb = {.t = b, .len = vb.end, .pos = vb.start};

	for (size_t i = 0; i < CFGLEX_ITEMS_MAX; i++) {
		struct cfgtok ta = cfglex_next(&la);
		struct cfgtok tb = cfglex_next(&lb);

		if (ta.kind != tb.kind || ta.kind == CFGTOK_BAD ||
		    !same_bytes(a, (struct cfgspan){ta.start, ta.end}, b,
				(struct cfgspan){tb.start, tb.end})) {
			return false;
		}
		if (ta.kind == CFGTOK_END) {
			return true;
		}
	}
	return false;
}

/* A value that is one number (123, -1.5, 0x3856): its value. */
static bool number_of(const char *t, struct cfgspan v, double *out)
{
	struct cfglex lx = {.t = t, .len = v.end, .pos = v.start};
	struct cfgtok tok = cfglex_next(&lx);
	char buf[48];
	char *end = NULL;
	size_t n = tok.end - tok.start;

	if (tok.kind != CFGTOK_OTHER || n == 0 || n >= sizeof(buf) ||
	    cfglex_next(&lx).kind != CFGTOK_END) {
		return false;
	}
	memcpy(buf, t + tok.start, n);
	buf[n] = '\0';
	*out = strtod(buf, &end);
	return end == buf + n && isfinite(*out);
}

/* Scalars, lists and arrays: numbers by value, the rest token by token. */
static bool same_value(const char *a, struct cfgspan va, const char *b, struct cfgspan vb)
{
	double x, y;

	if (number_of(a, va, &x) && number_of(b, vb, &y)) {
		return x == y;
	}
	return same_tokens(a, va, b, vb);
}

/* The first setting of g named like a's setting s, not used yet. */
static struct setting *match(const char *a, const struct setting *s, const char *b,
			     struct settings *g)
{
	for (size_t i = 0; i < g->n; i++) {
		if (!g->s[i].is_used && same_bytes(a, s->name, b, g->s[i].name)) {
			return &g->s[i];
		}
	}
	return NULL;
}

/* The value of the defaults' setting named like a's setting s, if any. */
static bool default_of(const char *a, const struct setting *s, const struct settings *dg,
		       const char *d, struct cfgspan *out)
{
	for (size_t i = 0; d && i < dg->n; i++) {
		if (same_bytes(a, s->name, d, dg->s[i].name)) {
			*out = dg->s[i].value;
			return true;
		}
	}
	return false;
}

/* Does value va say only what leaving it out says (the defaults' dv)?
 * Scalars only: a group's presence can mean something by itself (an empty
 * `impair` group still makes an impairment engine). */
static bool is_default(const char *a, struct cfgspan va, const char *d, struct cfgspan dv)
{
	return !is_group(a, va) && !is_group(d, dv) && same_value(a, va, d, dv);
}

static bool groups_equiv(const char *a, struct cfgspan ga, const char *b, struct cfgspan gb,
			 const char *d, struct cfgspan dg, int depth);

/* a's value says what b's does (d: the defaults at this place, or NULL). */
static bool values_equiv(const char *a, struct cfgspan va, const char *b, struct cfgspan vb,
			 const char *d, struct cfgspan dv, int depth)
{
	if (is_group(a, va) && is_group(b, vb)) {
		bool has_d = d && is_group(d, dv);

		return groups_equiv(a, va, b, vb, has_d ? d : NULL, dv, depth + 1);
	}
	return same_value(a, va, b, vb);
}

/* Group a says what group b says: the same settings with equivalent values,
 * in any order, but for settings of a that b leaves out and that say only
 * what the defaults d do (d may be NULL: none). */
static bool groups_equiv(const char *a, struct cfgspan ga, const char *b, struct cfgspan gb,
			 const char *d, struct cfgspan dg, int depth)
{
	struct settings sa, sb, sd = {0};
	bool ok = true;

	if (depth > CFGLEX_DEPTH_MAX || group_settings(a, ga, depth, &sa) != 0) {
		return false;
	}
	if (group_settings(b, gb, depth, &sb) != 0 ||
	    (d && group_settings(d, dg, depth, &sd) != 0)) {
		settings_fini(&sa);
		settings_fini(&sb);
		return false;
	}
	for (size_t i = 0; ok && i < sa.n; i++) {
		struct setting *m = match(a, &sa.s[i], b, &sb);
		struct cfgspan dv = {0, 0};
		bool has_d = default_of(a, &sa.s[i], &sd, d, &dv);

		if (m) {
			m->is_used = true;
			ok = values_equiv(a, sa.s[i].value, b, m->value, has_d ? d : NULL, dv,
					  depth);
		} else {
			ok = has_d && is_default(a, sa.s[i].value, d, dv);
		}
	}
	for (size_t i = 0; ok && i < sb.n; i++) {
		ok = sb.s[i].is_used;
	}
	settings_fini(&sa);
	settings_fini(&sb);
	settings_fini(&sd);
	return ok;
}

static int add_edit(struct edits *ed, size_t start, size_t end, const char *ins, size_t len,
		    char *owned)
{
	if (ed->n == ed->cap) {
		size_t cap = ed->cap ? ed->cap * 2 : 16;
		struct edit *e = realloc(ed->e, sizeof(*e) * cap);

		if (!e) {
			free(owned);
			return -ENOMEM;
		}
		ed->e = e;
		ed->cap = cap;
	}
	ed->e[ed->n] = (struct edit){start, end, ins, len, owned, ed->n};
	ed->n++;
	return 0;
}

static void edits_fini(struct edits *ed)
{
	for (size_t i = 0; i < ed->n; i++) {
		free(ed->e[i].owned);
	}
	free(ed->e);
}

/* text[g] with the edits (sorted, not overlapping) applied. */
static int apply(const char *text, struct cfgspan g, const struct edits *ed, char **out,
		 size_t *out_len)
{
	size_t n = g.end - g.start;
	size_t at = g.start;
	char *buf, *p;

	for (size_t i = 0; i < ed->n; i++) {
		n = n - (ed->e[i].end - ed->e[i].start) + ed->e[i].len;
	}
	buf = malloc(n + 1);
	if (!buf) {
		return -ENOMEM;
	}
	p = buf;
	for (size_t i = 0; i < ed->n; i++) {
		memcpy(p, text + at, ed->e[i].start - at);
		p += ed->e[i].start - at;
		memcpy(p, ed->e[i].ins, ed->e[i].len);
		p += ed->e[i].len;
		at = ed->e[i].end;
	}
	memcpy(p, text + at, g.end - at);
	p += g.end - at;
	*p = '\0';
	*out = buf;
	*out_len = (size_t)(p - buf);
	return 0;
}

/* end, moved past blanks and a `#` or `//` comment that follow it on its
 * line (to the newline), if there is one before limit; else end. */
static size_t past_line_comment(const char *t, size_t end, size_t limit)
{
	size_t p = end;

	while (p < limit && (t[p] == ' ' || t[p] == '\t')) {
		p++;
	}
	if (p < limit && (t[p] == '#' || (t[p] == '/' && p + 1 < limit && t[p + 1] == '/'))) {
		while (p < limit && t[p] != '\n') {
			p++;
		}
		return p;
	}
	return end;
}

/* p, or p - 1 when t[p] ends a "\r\n" line end: where lines added after a
 * line go, before its whole line end, so that they end in the file's own. */
static size_t before_eol(const char *t, size_t p)
{
	return p > 0 && t[p] == '\n' && t[p - 1] == '\r' ? p - 1 : p;
}

/* A setting removed: its bytes, a comment after it on its line, and the
 * line itself when nothing else is on it. */
static int remove_setting(const char *t, struct cfgspan g, const struct setting *s,
			  struct edits *ed)
{
	size_t start = s->name.start;
	size_t end = past_line_comment(t, s->term, g.end);

	cfgtext_widen_to_lines(t, g.end, &start, &end);
	return add_edit(ed, start, end, "", 0, NULL);
}

static int edit_cmp(const void *a, const void *b);

static bool is_list(const char *t, struct cfgspan v)
{
	return v.end > v.start && (t[v.start] == '[' || t[v.start] == '(');
}

/* Sort the edits by place; -EPROTO when two overlap (a layout these rules do
 * not cover). */
static int sort_edits(struct edits *ed)
{
	if (ed->n > 1) {
		qsort(ed->e, ed->n, sizeof(*ed->e), edit_cmp);
	}
	for (size_t i = 1; i < ed->n; i++) {
		if (ed->e[i].start < ed->e[i - 1].end) {
			return -EPROTO;
		}
	}
	return 0;
}

/* Old element i of the list at t[ov] dropped: with its comma, the comment
 * after it on its line, and the line when nothing else is on it. */
static int drop_elem(const char *t, struct cfgspan ov, const struct cfgelems *o, size_t i,
		     struct edits *ed)
{
	size_t start = o->el[i].start;
	size_t end = o->comma[i].end ? o->comma[i].end : o->el[i].end;

	end = past_line_comment(t, end, ov.end);
	cfgtext_widen_to_lines(t, ov.end, &start, &end);
	return add_edit(ed, start, end, "", 0, NULL);
}

/* The fresh list's elements n[j..] appended after the line of old element
 * `last` (its comma and comment), each on a line of its own indented like it.
 * -EPROTO when more follows on that line. */
static int append_elems(const char *t, struct cfgspan ov, const struct cfgelems *o, size_t last,
			const char *f, const struct cfgelems *n, size_t j, struct edits *ed)
{
	size_t after = o->comma[last].end ? o->comma[last].end : o->el[last].end;
	size_t eol = before_eol(t, past_line_comment(t, after, ov.end));
	char indent[INDENT_MAX];
	const char *nl;
	int err = 0;

	cfgtext_indent_of(t, o->el[last].start, indent, sizeof(indent));
	while (eol < ov.end && (t[eol] == ' ' || t[eol] == '\t')) {
		eol++;
	}
	if (eol >= ov.end || !cfgtext_is_eol(t, ov.end, eol)) {
		return -EPROTO; /* more on that line: not a layout to follow */
	}
	nl = cfgtext_eol_at(t, ov.end, eol);
	if (!o->comma[last].end) {
		err = add_edit(ed, o->el[last].end, o->el[last].end, ",", 1, NULL);
	}
	for (; err == 0 && j < n->n; j++) {
		size_t len = strlen(nl) + strlen(indent) + (n->el[j].end - n->el[j].start) + 2;
		char *ins = malloc(len);

		if (!ins) {
			return -ENOMEM;
		}
		len = (size_t)snprintf(ins, len, "%s%s%.*s%s", nl, indent,
				       (int)(n->el[j].end - n->el[j].start), f + n->el[j].start,
				       j + 1 < n->n ? "," : "");
		err = add_edit(ed, eol, eol, ins, len, ins);
	}
	return err;
}

/* A list or array written over several lines, merged element by element
 * so that the comments beside the elements stay: the fresh one must be the
 * old one less some elements (each goes with its comma, the comment after
 * it on its line, and the line when nothing else is on it), plus some
 * appended (each on a line of its own, indented like the last kept one,
 * after that one's line). Elements compare as tokens. -EPROTO when it is
 * not such an edit (the caller then writes the fresh value whole). */
static int merge_list(const char *t, struct cfgspan ov, const char *f, struct cfgspan fv,
		      char **out, size_t *out_len)
{
	struct cfgelems o = {0}, n = {0};
	struct edits ed = {0};
	size_t j = 0, last = 0, kept = 0;
	int err;

	if (!cfgtext_has_newline(t, ov.start, ov.end) || f[fv.start] != t[ov.start]) {
		return -EPROTO;
	}
	err = cfglex_list(t, ov, t[ov.start], &o);
	if (err == 0) {
		err = cfglex_list(f, fv, t[ov.start], &n);
	}
	for (size_t i = 0; err == 0 && i < o.n; i++) {
		if (j < n.n && same_tokens(t, o.el[i], f, n.el[j])) {
			last = i;
			kept++;
			j++;
		} else {
			err = drop_elem(t, ov, &o, i, &ed);
		}
	}
	if (err == 0 && kept == 0) {
		err = -EPROTO; /* nothing left to lay the new ones out by */
	}
	if (err == 0 && j < n.n) {
		err = append_elems(t, ov, &o, last, f, &n, j, &ed);
	} else if (err == 0 && last + 1 < o.n && o.comma[last].end) {
		/* Every element after the last kept one went: so does its comma. */
		err = add_edit(&ed, o.comma[last].start, o.comma[last].end, "", 0, NULL);
	}
	if (err == 0) {
		err = sort_edits(&ed);
	}
	if (err == 0) {
		err = apply(t, ov, &ed, out, out_len);
	}
	edits_fini(&ed);
	cfgelems_fini(&o);
	cfgelems_fini(&n);
	return err;
}

/* The indent of the last kept setting of o that starts its own line; indent
 * unchanged when none does. */
static void kept_indent(const char *t, const struct settings *o, const bool *kept, char *indent,
			size_t size)
{
	for (size_t i = o->n; i-- > 0;) {
		size_t ls = o->s[i].name.start;

		while (ls > o->open.end && (t[ls - 1] == ' ' || t[ls - 1] == '\t')) {
			ls--;
		}
		if (kept[i] && t[ls - 1] == '\n') {
			cfgtext_indent_of(t, o->s[i].name.start, indent, size);
			return;
		}
	}
}

/* fs's settings the merge did not use, as text: each after a line end nl
 * and indent (multiline) or a blank. *out NULL and *len 0 when there are
 * none. */
static int unused_settings_text(const char *f, const struct settings *fs, const char *nl,
				bool multiline, const char *indent, char **out, size_t *out_len)
{
	size_t n = 0;
	char *p;

	*out = NULL;
	*out_len = 0;
	for (size_t i = 0; i < fs->n; i++) {
		if (!fs->s[i].is_used) {
			n += strlen(nl) + strlen(indent) +
			     (fs->s[i].name.end - fs->s[i].name.start) + 3 +
			     (fs->s[i].value.end - fs->s[i].value.start) + 1;
		}
	}
	if (n == 0) {
		return 0;
	}
	*out = malloc(n + 1);
	if (!*out) {
		return -ENOMEM;
	}
	p = *out;
	for (size_t i = 0; i < fs->n; i++) {
		const struct setting *s = &fs->s[i];

		if (s->is_used) {
			continue;
		}
		p += sprintf(p, "%s%s%.*s = %.*s;", multiline ? nl : " ", multiline ? indent : "",
			     (int)(s->name.end - s->name.start), f + s->name.start,
			     (int)(s->value.end - s->value.start), f + s->value.start);
	}
	*out_len = (size_t)(p - *out);
	return 0;
}

/* New settings (f's unused ones) inserted after the old group's last kept
 * setting, on lines of their own when the group spans lines. */
static int insert_settings(const char *t, const struct settings *o, const bool *kept, const char *f,
			   const struct settings *fs, struct edits *ed)
{
	bool multiline = cfgtext_has_newline(t, o->open.end, o->close.start);
	const struct setting *last = NULL;
	char indent[INDENT_MAX] = "  ";
	size_t len, at;
	char *ins;
	int err;

	for (size_t i = 0; i < o->n; i++) {
		if (kept[i]) {
			last = &o->s[i];
		}
	}
	at = last ? last->term : o->open.end;
	if (multiline) {
		/* After a comment that ends the last setting's line: it is its. */
		at = before_eol(t, past_line_comment(t, at, o->close.start));
	}
	kept_indent(t, o, kept, indent, sizeof(indent));
	err = unused_settings_text(f, fs, cfgtext_eol_at(t, o->close.start, at), multiline, indent,
				   &ins, &len);
	if (err != 0 || len == 0) {
		return err;
	}
	if (last && last->term == last->value.end) {
		err = add_edit(ed, last->term, last->term, ";", 1, NULL);
		if (err != 0) {
			free(ins);
			return err;
		}
	}
	return add_edit(ed, at, at, ins, len, ins);
}

static int edit_cmp(const void *a, const void *b)
{
	const struct edit *x = a;
	const struct edit *y = b;

	if (x->start != y->start) {
		return x->start < y->start ? -1 : 1;
	}
	if (x->end != y->end) {
		return x->end < y->end ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The defaults at one place of the group: d[dg], or none (d NULL). */
struct defaults {
	const char *d;
	struct cfgspan dg;
};

static int merge(const char *t, struct cfgspan og, const char *f, struct cfgspan fg,
		 struct defaults df, int depth, char **out, size_t *out_len);

/* Old setting s of the group at t[og] against the fresh group's settings fs
 * (ds: the defaults' at this place): kept as it is, removed, its value merged
 * inside or written anew. *kept: whether it stays. */
static int merge_setting(const char *t, struct cfgspan og, const struct setting *s, const char *f,
			 struct settings *fs, const struct settings *ds, struct defaults df,
			 int depth, struct edits *ed, bool *kept)
{
	struct setting *m = match(t, s, f, fs);
	struct defaults sub_df = {NULL, {0, 0}};
	bool has_d = default_of(t, s, ds, df.d, &sub_df.dg);
	char *sub = NULL;
	size_t sub_len = 0;
	int err = -EPROTO;

	if (has_d) {
		sub_df.d = df.d;
	}
	if (!m) {
		/* Written out by hand at its default: it says what the fresh
		 * group says by leaving it out, so it stays. */
		*kept = has_d && is_default(t, s->value, df.d, sub_df.dg);
		return *kept ? 0 : remove_setting(t, og, s, ed);
	}
	m->is_used = true;
	*kept = true;
	if (values_equiv(t, s->value, f, m->value, sub_df.d, sub_df.dg, depth)) {
		return 0;
	}
	/* Groups and lists over lines are merged inside; anything else (or
	 * what cannot be merged) is written anew. */
	if (is_group(t, s->value) && is_group(f, m->value) && depth + 1 < DEPTH_MAX) {
		if (sub_df.d && !is_group(sub_df.d, sub_df.dg)) {
			sub_df.d = NULL;
		}
		err = merge(t, s->value, f, m->value, sub_df, depth + 1, &sub, &sub_len);
	} else if (is_list(t, s->value) && is_list(f, m->value)) {
		err = merge_list(t, s->value, f, m->value, &sub, &sub_len);
	}
	if (err == 0) {
		return add_edit(ed, s->value.start, s->value.end, sub, sub_len, sub);
	}
	if (err == -ENOMEM) {
		return err;
	}
	return add_edit(ed, s->value.start, s->value.end, f + m->value.start,
			m->value.end - m->value.start, NULL);
}

static int merge(const char *t, struct cfgspan og, const char *f, struct cfgspan fg,
		 struct defaults df, int depth, char **out, size_t *out_len)
{
	struct settings o, fs, ds = {0};
	struct edits ed = {0};
	bool *kept = NULL;
	int err = group_settings(t, og, depth, &o);

	if (err != 0) {
		return err;
	}
	err = group_settings(f, fg, depth, &fs);
	if (err == 0 && df.d) {
		err = group_settings(df.d, df.dg, depth, &ds);
	}
	if (err != 0) {
		settings_fini(&o);
		settings_fini(&fs);
		return err;
	}
	kept = calloc(o.n + 1, sizeof(*kept));
	err = kept ? 0 : -ENOMEM;
	for (size_t i = 0; err == 0 && i < o.n; i++) {
		err = merge_setting(t, og, &o.s[i], f, &fs, &ds, df, depth, &ed, &kept[i]);
	}
	if (err == 0) {
		err = insert_settings(t, &o, kept, f, &fs, &ed);
	}
	if (err == 0) {
		err = sort_edits(&ed);
	}
	if (err == 0) {
		err = apply(t, og, &ed, out, out_len);
	}
	edits_fini(&ed);
	free(kept);
	settings_fini(&o);
	settings_fini(&fs);
	settings_fini(&ds);
	return err;
}

/* text must be exactly one group (blanks around it aside): its span. */
static bool one_group(const char *text, struct cfgspan *v)
{
	struct cfglex lx = {.t = text, .len = strlen(text)};

	return cfglex_value(&lx, 0, v) == 0 && is_group(text, *v) &&
	       cfglex_next(&lx).kind == CFGTOK_END;
}

int cfgmerge_group(const char *text, struct cfgspan old, const char *fresh, const char *defaults,
		   char **out, size_t *out_len)
{
	struct defaults df = {NULL, {0, 0}};
	struct cfgspan v;
	int err;

	/* A NUL byte (in a comment: libconfig stops reading there) would be
	 * carried into the result, which must be a string: not merged. */
	if (!one_group(fresh, &v) || (defaults && !one_group(defaults, &df.dg)) ||
	    memchr(text + old.start, '\0', old.end - old.start) != NULL) {
		return -EPROTO;
	}
	df.d = defaults;
	err = merge(text, old, fresh, v, df, 0, out, out_len);
	if (err != 0) {
		return err;
	}
	if (!groups_equiv(*out, (struct cfgspan){0, *out_len}, fresh, v, df.d, df.dg, 0)) {
		free(*out);
		*out = NULL;
		return -EPROTO;
	}
	return 0;
}
