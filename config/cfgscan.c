/* cfgscan: a small lexer over raw libconfig text that runs before
 * config_read_string, for traps libconfig 1.5 lets through:
 *   - integers are converted with wrap-around: "port = 4294981846;" reads as
 *     14550, and the setting's type gives no hint; so every integer literal
 *     is range-checked here against the type libconfig will give it;
 *   - @include opens files relative to the working directory (escaping the
 *     config folder) and can crash the library: refused outright;
 *   - large groups parse in quadratic time: settings and nesting are capped;
 *   - a UTF-8 byte-order mark is a bare "syntax error": named here.
 *   - a block comment left open drops the rest of the file: refused.
 * Strings, "#" and "//" line comments and block comments are skipped. Knows
 * nothing about routes.conf semantics. */
#include "config/cfgscan.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/diag.h"

#define CFGSCAN_TOKEN_MAX 64

struct scan {
	const char *text;
	size_t len;
	size_t pos;
	int line;
	const char *file;
	struct diag *d;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_name_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '*' || c == '-';
}

static int hex_value(char c)
{
	if (is_digit(c)) {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Advance over one char, counting lines. */
static void step(struct scan *s)
{
	if (s->text[s->pos] == '\n') {
		s->line++;
	}
	s->pos++;
}

/* Skip a string body; pos is on the opening quote. Unterminated strings
 * are left for libconfig to report. */
static void skip_string(struct scan *s)
{
	step(s);
	while (s->pos < s->len && s->text[s->pos] != '"') {
		if (s->text[s->pos] == '\\' && s->pos + 1 < s->len) {
			step(s);
		}
		step(s);
	}
	if (s->pos < s->len) {
		step(s);
	}
}

static void skip_line_comment(struct scan *s)
{
	while (s->pos < s->len && s->text[s->pos] != '\n') {
		step(s);
	}
}

/* libconfig ends a block comment that never closes at the end of the
 * text and keeps what came before it: a save cut short inside a comment
 * would apply with the rest of the file gone. Refused at the line where
 * the comment starts. */
static int skip_block_comment(struct scan *s)
{
	int start_line = s->line;

	s->pos += 2;
	while (s->pos < s->len &&
	       !(s->text[s->pos] == '*' && s->pos + 1 < s->len && s->text[s->pos + 1] == '/')) {
		step(s);
	}
	if (s->pos >= s->len) {
		diag_set(s->d, s->file, start_line, "unterminated /* comment");
		return -EINVAL;
	}
	s->pos += 2;
	return 0;
}

/* Value of digits tok[0..n) in base (10 or 16), saturating at UINT64_MAX. */
static uint64_t token_value(const char *tok, size_t n, unsigned base)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t digit = (uint64_t)hex_value(tok[i]);

		if (v > (UINT64_MAX - digit) / base) {
			return UINT64_MAX;
		}
		v = v * base + digit;
	}
	return v;
}

/* Check one number token. libconfig 1.5: decimal and hex literals without
 * an L suffix become 32-bit ints (wrapped: 3000000000 reads as -1294967296);
 * with L they are 64-bit. */
static int check_number(struct scan *s, const char *tok, size_t n)
{
	bool is_hex = n > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X');
	size_t start = is_hex ? 2 : 0;
	size_t end = start;
	bool is_long;
	uint64_t v;

	while (end < n && (is_hex ? hex_value(tok[end]) >= 0 : is_digit(tok[end]))) {
		end++;
	}
	if (!is_hex && end < n && (tok[end] == '.' || tok[end] == 'e' || tok[end] == 'E')) {
		return 0; /* a float */
	}
	is_long = end < n && tok[end] == 'L';
	v = token_value(tok + start, end - start, is_hex ? 16 : 10);
	if (v > INT64_MAX) {
		diag_set(s->d, s->file, s->line,
			 "integer %.*s is out of range (max 9223372036854775807)", (int)n, tok);
		return -EINVAL;
	}
	/* libconfig 1.5 does not promote a large literal to 64 bits (later
	 * versions do): it must be written with L, and the message says so. */
	if (!is_long && v > INT32_MAX) {
		diag_set(s->d, s->file, s->line,
			 "integer %.*s is out of range (max 2147483647; write %.*sL for a "
			 "64-bit integer)",
			 (int)n, tok, (int)n, tok);
		return -EINVAL;
	}
	return 0;
}

/* pos is on a digit (or a '.' followed by one): take the whole token. */
static int scan_number(struct scan *s)
{
	const char *tok = s->text + s->pos;
	size_t n = 0;

	while (s->pos + n < s->len) {
		char c = tok[n];
		char prev = n > 0 ? tok[n - 1] : '\0';
		bool is_exp_sign = (c == '+' || c == '-') && (prev == 'e' || prev == 'E') &&
				   !(n > 1 && (tok[1] == 'x' || tok[1] == 'X'));

		if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '_' && !is_exp_sign) {
			break;
		}
		n++;
	}
	s->pos += n;
	if (n > CFGSCAN_TOKEN_MAX) {
		diag_set(s->d, s->file, s->line, "number too long (%zu characters)", n);
		return -EINVAL;
	}
	return check_number(s, tok, n);
}

/* One char of plain text (not in a string or comment). */
static int scan_plain(struct scan *s, size_t *settings, size_t max_settings, int *depth)
{
	char c = s->text[s->pos];

	if (c == '@') {
		diag_set(s->d, s->file, s->line, "%s",
			 s->len - s->pos >= 8 && memcmp(s->text + s->pos, "@include", 8) == 0
				 ? "@include is not allowed"
				 : "syntax error: unexpected '@'");
		return -EINVAL;
	}
	if (c == '{' || c == '(' || c == '[') {
		if (++*depth > CFGSCAN_DEPTH_MAX) {
			diag_set(s->d, s->file, s->line, "nesting too deep (max %d)",
				 CFGSCAN_DEPTH_MAX);
			return -EINVAL;
		}
	} else if ((c == '}' || c == ')' || c == ']') && *depth > 0) {
		(*depth)--;
	}
	/* Every setting needs one of these: "name =", "name :", or a "," or
	 * an opening bracket before a list element. An upper bound is enough. */
	if (c == '=' || c == ':' || c == ',' || c == '{' || c == '(' || c == '[') {
		if (++*settings > max_settings) {
			diag_set(s->d, s->file, s->line, "too many settings (max %zu)",
				 max_settings);
			return -EINVAL;
		}
	}
	step(s);
	return 0;
}

/* Dispatch on the char at pos; returns 0 or -EINVAL. */
static int scan_one(struct scan *s, size_t *settings, size_t max_settings, int *depth)
{
	const char *p = s->text + s->pos;
	char next = s->pos + 1 < s->len ? p[1] : '\0';

	if (*p == '\0') {
		diag_set(s->d, s->file, s->line, "contains a NUL byte");
		return -EINVAL;
	}
	if (*p == '"') {
		skip_string(s);
	} else if (*p == '#' || (*p == '/' && next == '/')) {
		skip_line_comment(s);
	} else if (*p == '/' && next == '*') {
		return skip_block_comment(s);
	} else if (is_alpha(*p) || *p == '*') {
		while (s->pos < s->len && is_name_char(s->text[s->pos])) {
			s->pos++;
		}
	} else if (is_digit(*p) || (*p == '.' && is_digit(next))) {
		return scan_number(s);
	} else {
		return scan_plain(s, settings, max_settings, depth);
	}
	return 0;
}

int cfgscan_check(const char *text, size_t len, const char *file, size_t max_settings,
		  struct diag *d)
{
	struct scan s = {.text = text, .len = len, .line = 1, .file = file, .d = d};
	size_t settings = 0;
	int depth = 0;

	/* NUL inside strings and comments too: libconfig would stop there. */
	const char *nul = memchr(text, '\0', len);

	if (nul) {
		int line = 1;

		for (const char *p = text; p < nul; p++) {
			line += *p == '\n';
		}
		diag_set(d, file, line, "contains a NUL byte");
		return -EINVAL;
	}
	/* libconfig says only "syntax error" for the mark some editors write. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		diag_set(d, file, 1, "starts with a UTF-8 byte-order mark (save it without one)");
		return -EINVAL;
	}
	while (s.pos < s.len) {
		if (scan_one(&s, &settings, max_settings, &depth) != 0) {
			return -EINVAL;
		}
		if (s.line > CFGSCAN_LINES_MAX) {
			diag_set(d, file, s.line, "too many lines (max %d)", CFGSCAN_LINES_MAX);
			return -EINVAL;
		}
	}
	return 0;
}
