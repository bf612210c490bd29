/* diag: one-line errors with a place, for config, CLI and API input (STYLE §4).
 * Messages quote config values as they are, and they end up in JSON (the
 * server's health, log lines): they are kept valid UTF-8 on one line. */
#include "diag.h"

#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void diag_clear(struct diag *d)
{
	if (d) {
		memset(d, 0, sizeof(*d));
	}
}

void diag_set(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char raw[DIAG_MSG_MAX];

	if (!d || d->is_set) {
		return;
	}
	/* A quoted value may hold any byte (a flow name "mav\xfflink"): escape
	 * control characters and what is not UTF-8 as \xHH. */
	utf8_escape(d->file, sizeof(d->file), file ? file : "");
	d->line = line;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	utf8_escape(d->msg, sizeof(d->msg), raw);
	d->is_set = true;
}

const char *diag_format(const struct diag *d, char *buf, size_t len)
{
	if (!d->is_set) {
		snprintf(buf, len, "no error");
	} else if (d->file[0] && d->line > 0) {
		snprintf(buf, len, "%s:%d: %s", d->file, d->line, d->msg);
	} else if (d->file[0]) {
		snprintf(buf, len, "%s: %s", d->file, d->msg);
	} else {
		snprintf(buf, len, "%s", d->msg);
	}
	return buf;
}
