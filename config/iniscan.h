/* iniscan: checks and normalizes raw INI text before inih sees it, and feeds
 * it to ini_parse_stream one line at a time so handlers know their line. */
#ifndef WH_INISCAN_H
#define WH_INISCAN_H

#include <stddef.h>

struct diag;

/* inih (Debian 12 build): INI_MAX_LINE 200 bytes per line buffer,
 * MAX_SECTION and MAX_NAME 50 bytes; longer input is silently truncated. */
#define INISCAN_LINE_MAX 199 /* characters, without the line end */
#define INISCAN_NAME_MAX 49  /* section and key names */

struct iniscan_section {
	char name[INISCAN_NAME_MAX + 1]; /* exactly as inih will report it */
	int line;
};

struct iniscan {
	char *text; /* owns: normalized lines, each ending in '\n' */
	size_t len;
	size_t pos;			  /* reader position */
	int line;			  /* line number of the line last handed to inih */
	const char *file;		  /* borrowed, for diags */
	struct iniscan_section *sections; /* owns, in file order */
	size_t n_sections;
};

/* Check text (any bytes, not NUL-terminated) and build the normalized copy:
 * a UTF-8 BOM, leading blanks and CRs are removed (so no line is taken as a
 * continuation line). Refused with "FILE:LINE: message": NUL bytes, lines
 * over INISCAN_LINE_MAX, section or key names over INISCAN_NAME_MAX, a
 * section header without "]" or with text after it, a line that is neither
 * a comment, a section header nor "key = value", and a section given twice.
 * Returns 0, -EINVAL or -ENOMEM; call iniscan_fini in both cases. */
int iniscan_prepare(struct iniscan *s, const char *text, size_t len, const char *file,
		    struct diag *d);

void iniscan_fini(struct iniscan *s);

/* An ini_reader for ini_parse_stream(iniscan_reader, s, ...): hands out one
 * line per call and counts s->line. */
char *iniscan_reader(char *str, int num, void *stream);

#endif
