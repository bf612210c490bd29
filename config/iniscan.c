/* iniscan: the raw-text half of client.ini parsing. inih (Debian's build)
 * silently truncates long lines and names, takes indented lines as
 * continuations of the previous value, ignores text after "]" and does not
 * tell its handler the line number. So the text is checked and normalized
 * here first, then handed to inih one line at a time through
 * iniscan_reader, which counts lines for the handler's diags. The line
 * classification below follows inih r55 (ini.c, ini_parse_stream). Knows
 * no section or key names. */
#include "config/iniscan.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/diag.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* inih's find_chars_or_comment: the first char of chars in s[0..n), or an
 * inline ';' comment preceded by a blank. Returns its index, or n. */
static size_t find_sep(const char *s, size_t n, const char *chars)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr(chars, s[i]) || (s[i] == ';' && i > 0 && is_blank(s[i - 1]))) {
			return i;
		}
	}
	return n;
}

static int add_section(struct iniscan *s, const char *name, size_t n, int line, struct diag *d)
{
	struct iniscan_section *more;

	for (size_t i = 0; i < s->n_sections; i++) {
		if (strlen(s->sections[i].name) == n && memcmp(s->sections[i].name, name, n) == 0) {
			diag_set(d, s->file, line, "duplicate section [%.*s] (first at line %d)",
				 (int)n, name, s->sections[i].line);
			return -EINVAL;
		}
	}
	more = realloc(s->sections, (s->n_sections + 1) * sizeof(*more));
	if (!more) {
		diag_set(d, s->file, line, "out of memory");
		return -ENOMEM;
	}
	s->sections = more;
	memcpy(more[s->n_sections].name, name, n);
	more[s->n_sections].name[n] = '\0';
	more[s->n_sections].line = line;
	s->n_sections++;
	return 0;
}

/* p[0..n) is a stripped line starting with '['. */
static int check_section(struct iniscan *s, const char *p, size_t n, int line, struct diag *d)
{
	size_t close = find_sep(p + 1, n - 1, "]") + 1;
	size_t rest;

	if (close >= n || p[close] != ']') {
		diag_set(d, s->file, line, "section header without \"]\"");
		return -EINVAL;
	}
	if (close - 1 > INISCAN_NAME_MAX) {
		diag_set(d, s->file, line, "section name too long (%zu characters, max %d)",
			 close - 1, INISCAN_NAME_MAX);
		return -EINVAL;
	}
	for (rest = close + 1; rest < n && is_blank(p[rest]); rest++) {
	}
	if (rest < n && p[rest] != ';' && p[rest] != '#') {
		diag_set(d, s->file, line, "unexpected text after section header");
		return -EINVAL;
	}
	return add_section(s, p + 1, close - 1, line, d);
}

/* p[0..n) is a stripped line that is not blank, a comment or a section. */
static int check_pair(struct iniscan *s, const char *p, size_t n, int line, struct diag *d)
{
	size_t sep = find_sep(p, n, "=:");
	size_t name_len = sep;

	if (sep >= n || p[sep] == ';') {
		diag_set(d, s->file, line, "expected \"key = value\"");
		return -EINVAL;
	}
	while (name_len > 0 && is_blank(p[name_len - 1])) {
		name_len--;
	}
	if (name_len == 0) {
		diag_set(d, s->file, line, "missing key name before \"%c\"", p[sep]);
		return -EINVAL;
	}
	if (name_len > INISCAN_NAME_MAX) {
		diag_set(d, s->file, line, "key name too long (%zu characters, max %d)", name_len,
			 INISCAN_NAME_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Check one raw line p[0..n) (no '\n') and append its normalized form. */
static int take_line(struct iniscan *s, const char *p, size_t n, int line, struct diag *d)
{
	size_t raw = n;

	if (line == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
		p += 3; /* UTF-8 BOM */
		n -= 3;
		raw -= 3;
	}
	if (raw > 0 && p[raw - 1] == '\r') {
		raw--;
	}
	if (raw > INISCAN_LINE_MAX) {
		diag_set(d, s->file, line, "line too long (%zu characters, max %d)", raw,
			 INISCAN_LINE_MAX);
		return -EINVAL;
	}
	while (n > 0 && is_blank(*p)) {
		p++;
		n--;
	}
	while (n > 0 && is_blank(p[n - 1])) {
		n--;
	}
	if (n > 0 && *p == '[' && check_section(s, p, n, line, d) != 0) {
		return -EINVAL;
	}
	if (n > 0 && *p != '[' && *p != ';' && *p != '#' && check_pair(s, p, n, line, d) != 0) {
		return -EINVAL;
	}
	memcpy(s->text + s->len, p, n);
	s->len += n;
	s->text[s->len++] = '\n';
	return 0;
}

int iniscan_prepare(struct iniscan *s, const char *text, size_t len, const char *file,
		    struct diag *d)
{
	const char *nul = memchr(text, '\0', len);
	size_t start = 0;
	int line = 1;

	memset(s, 0, sizeof(*s));
	s->file = file;
	if (nul) {
		for (const char *p = text; p < nul; p++) {
			line += *p == '\n';
		}
		diag_set(d, file, line, "contains a NUL byte");
		return -EINVAL;
	}
	s->text = malloc(len + 2);
	if (!s->text) {
		diag_set(d, file, 0, "out of memory");
		return -ENOMEM;
	}
	while (start < len) {
		const char *eol = memchr(text + start, '\n', len - start);
		size_t n = eol ? (size_t)(eol - (text + start)) : len - start;
		int err = take_line(s, text + start, n, line, d);

		if (err != 0) {
			return err;
		}
		start += n + 1;
		line++;
	}
	s->text[s->len] = '\0';
	return 0;
}

void iniscan_fini(struct iniscan *s)
{
	/* The text may hold a private key (key = ...). */
	if (s->text) {
		sodium_memzero(s->text, s->len);
	}
	free(s->text);
	free(s->sections);
	memset(s, 0, sizeof(*s));
}

char *iniscan_reader(char *str, int num, void *stream)
{
	struct iniscan *s = stream;
	const char *p;
	const char *eol;
	size_t n;

	if (s->pos >= s->len || num < 2) {
		return NULL;
	}
	p = s->text + s->pos;
	eol = memchr(p, '\n', s->len - s->pos);
	n = eol ? (size_t)(eol - p) : s->len - s->pos;
	/* The line end is not handed over: a line of exactly num - 1
	 * characters then still counts as one line. iniscan_prepare keeps
	 * lines short enough; cut defensively should num be smaller. */
	s->pos += n + 1;
	if (n > (size_t)num - 1) {
		n = (size_t)num - 1;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	s->line++;
	return str;
}
