/* fuzz_httpgate: the gate's parsing (api/httpgate.c) of what a client
 * sends, on arbitrary bytes in a buffer of exactly their size (a read past
 * the end is AddressSanitizer's to find). Checks its promise: a request is
 * whole with all of the bytes, or not yet; a head over HTTPGATE_HEAD_MAX is
 * never waited on; once whole, more bytes do not make it unfinished. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/httpgate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	size_t end;

	if (!buf) {
		return 0;
	}
	memcpy(buf, data, size);
	end = httpgate_request_end(buf, size);
	if (end != 0 && end != size) {
		abort();
	}
	if (size >= HTTPGATE_HEAD_MAX && end == 0 && !memchr(buf, '\n', HTTPGATE_HEAD_MAX)) {
		abort(); /* no head within the bound, and still waiting */
	}
	/* A prefix that was whole stays whole with what follows (the gate
	 * hands it over then; this is what it would have seen). */
	if (size > 1 && size / 2 < HTTPGATE_HEAD_MAX &&
	    httpgate_request_end(buf, size / 2) == size / 2 && end == 0) {
		abort();
	}
	(void)httpgate_wants_continue(buf, size);
	free(buf);
	return 0;
}
