/* diag: one-line errors with a place, for config, CLI and API input (STYLE §4). */
#include "diag.h"

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

	if (!d || d->is_set) {
		return;
	}
	snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
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
