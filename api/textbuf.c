/* textbuf: bounded text appends (see textbuf.h). */
#include "api/textbuf.h"

#include <stdio.h>

void textbuf_vput(struct textbuf *b, const char *fmt, va_list ap)
{
	int n;

	if (b->is_full || !b->p) {
		b->is_full = true;
		return;
	}
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->is_full = true;
		b->p[b->len] = '\0';
		return;
	}
	b->len += (size_t)n;
}

void textbuf_put(struct textbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	textbuf_vput(b, fmt, ap);
	va_end(ap);
}
