/* fuzz_httpgate: the gate's parsing (api/httpgate.c) of what a client
 * sends, on arbitrary bytes in a buffer of exactly their size (a read past
 * the end is AddressSanitizer's to find). Checks its promises: a request is
 * whole with all of the bytes, refused with a 4xx/5xx and a message, or not
 * yet, never two of these; a head over HTTPGATE_HEAD_MAX is never waited
 * on; once decided, more bytes do not change the decision. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/httpgate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *buf, size_t size, struct httpgate_verdict *v)
{
	httpgate_check(buf, size, v);
	if (v->end != 0 && (v->end != size || v->status != 0)) {
		abort();
	}
	if (v->status != 0 && (v->status < 400 || v->status > 599 || !v->message)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct httpgate_verdict whole, half;

	if (!buf) {
		return 0;
	}
	memcpy(buf, data, size);
	check(buf, size, &whole);
	if (size >= HTTPGATE_HEAD_MAX && whole.end == 0 && whole.status == 0 &&
	    !memchr(buf, '\n', HTTPGATE_HEAD_MAX)) {
		abort(); /* no head within the bound, and still waiting */
	}
	/* A prefix that was decided stays decided, the same way, with what
	 * follows (the gate acts on it then; this is what it would have seen). */
	if (size > 1 && size / 2 < HTTPGATE_HEAD_MAX) {
		check(buf, size / 2, &half);
		if ((half.end != 0 && whole.end == 0) || half.status != whole.status) {
			if (half.end != 0 || half.status != 0) {
				abort();
			}
		}
	}
	(void)httpgate_wants_continue(buf, size);
	free(buf);
	return 0;
}
