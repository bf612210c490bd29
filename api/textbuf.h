/* textbuf: text appended into one fixed-size buffer, for answers built
 * piece by piece (routes.conf text of a flow, /metrics). A piece that does
 * not fit marks the buffer full and is not written; later pieces are
 * ignored: the caller checks is_full once at the end. */
#ifndef WH_TEXTBUF_H
#define WH_TEXTBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct textbuf {
	char *p;    /* borrowed or owned by the caller; cap bytes */
	size_t len; /* bytes used, not counting the NUL kept after them */
	size_t cap;
	bool is_full;
};

void textbuf_put(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void textbuf_vput(struct textbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
