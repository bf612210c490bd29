/* cfglex: routes.conf text as libconfig tokens and byte spans, for the
 * write-back edits (cfgedit, cfgmerge) that must keep every byte they do not
 * change. The lexer knows libconfig's tokens (names, strings with escapes,
 * numbers, punctuation, "#", "//" and block comments) and the walk knows its
 * grammar: settings `name = value;` in groups `{ }`, values in lists `( )`
 * and arrays `[ ]`. Nothing is validated here: the caller parses the edited
 * text like a reload. Depth and item counts are bounded, so any input ends. */
#ifndef WH_CFGLEX_H
#define WH_CFGLEX_H

#include <stdbool.h>
#include <stddef.h>

#define CFGLEX_DEPTH_MAX 32
#define CFGLEX_ITEMS_MAX 100000 /* settings or elements walked in one container */

enum cfgtok_kind { CFGTOK_END, CFGTOK_NAME, CFGTOK_STRING, CFGTOK_PUNCT, CFGTOK_OTHER, CFGTOK_BAD };

struct cfgtok {
	enum cfgtok_kind kind;
	size_t start, end;
	char c; /* CFGTOK_PUNCT */
};

/* The text t[0..len), read from pos. */
struct cfglex {
	const char *t;
	size_t len, pos;
};

struct cfgspan {
	size_t start, end;
};

/* The next token after blanks and comments (CFGTOK_END at the end). */
struct cfgtok cfglex_next(struct cfglex *lx);
/* The same without moving on. */
struct cfgtok cfglex_peek(struct cfglex *lx);
bool cfgtok_is(struct cfgtok t, char c); /* punctuation c */

/* One value (a scalar, adjacent strings, or a whole group, list or array):
 * its span in *v. Returns 0 or -EPROTO. */
int cfglex_value(struct cfglex *lx, int depth, struct cfgspan *v);
/* One `name = value` (or `name : value`) with its optional ';' or ','.
 * *term is the end of the terminator, or of the value when there is none.
 * Returns 0 or -EPROTO. */
int cfglex_setting(struct cfglex *lx, int depth, struct cfgspan *name, struct cfgspan *v,
		   size_t *term);
/* The elements of a list `( )` or an array `[ ]`. */
struct cfgelems {
	struct cfgspan open, close; /* the brackets */
	struct cfgspan *el;	    /* owns */
	struct cfgspan *comma;	    /* owns: comma after el[i], {0,0} for none */
	size_t n;
};

/* The elements of the list or array at span (its first token must be
 * `open`: '(' or '['). Returns 0, -EPROTO or -ENOMEM; *e is to be freed
 * with cfgelems_fini either way. */
int cfglex_list(const char *text, struct cfgspan span, char open, struct cfgelems *e);
void cfgelems_fini(struct cfgelems *e);

/* Is text[s] exactly word? */
bool cfgspan_is(const char *text, struct cfgspan s, const char *word);
/* Is the value span s a string (one or more adjacent literals, as libconfig
 * joins them, with its escapes \\ \" \f \n \r \t \xHH) that reads want? */
bool cfgspan_string_is(const char *text, struct cfgspan s, const char *want);

/* Widen [*s, *e) to whole lines when nothing else is on them; else take
 * one of two spaces around it ("a; b; c;" less "b;" is "a; c;"). */
void cfgtext_widen_to_lines(const char *text, size_t len, size_t *s, size_t *e);
/* The blanks before pos on its line when only blanks are there, else "  ". */
void cfgtext_indent_of(const char *text, size_t pos, char *out, size_t size);
bool cfgtext_has_newline(const char *text, size_t s, size_t e);
/* The line end of text at pos, for the lines an edit adds there: that of
 * the line holding pos, else of the last line before it; "\r\n" when it is
 * one (a file saved on Windows), else "\n". So what an edit adds has the
 * file's own line ends, and removing it again gives the file back. */
const char *cfgtext_eol_at(const char *text, size_t len, size_t pos);
/* Does a line end start at text[p] ("\n", or "\r\n"; p < len)? */
bool cfgtext_is_eol(const char *text, size_t len, size_t p);

#endif
