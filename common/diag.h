/* diag: a one-line, human-facing error with its place (file, line).
 * Built where the place is known; printed unchanged by the caller as
 * "FILE:LINE: message" (or "FILE: message" when line is 0). */
#ifndef WH_DIAG_H
#define WH_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#define DIAG_FILE_MAX 256
#define DIAG_MSG_MAX 512

struct diag {
	char file[DIAG_FILE_MAX];
	int line; /* 0: no line */
	char msg[DIAG_MSG_MAX];
	bool is_set;
};

/* Reset to "no error". */
void diag_clear(struct diag *d);
/* Record an error. Only the first error is kept: later calls are ignored,
 * so the deepest, earliest cause wins. d may be NULL. Control characters
 * and bytes that are not UTF-8, in file or the message, are kept as \xHH
 * (utf8_escape): the result is one line of valid UTF-8, fit for JSON. */
void diag_set(struct diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Format as "FILE:LINE: message" into buf; returns buf. */
const char *diag_format(const struct diag *d, char *buf, size_t len);

#endif
