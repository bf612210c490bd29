/* idpair: see idpair.h. */
#include "common/idpair.h"

#include <stdint.h>

size_t idpair_hash(const char *lo, const char *hi)
{
	uint64_t h = 14695981039346656037ull;
	const char *s = lo;

	do {
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	} while (*s++);
	for (s = hi; *s; s++) {
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 32));
}

size_t idpair_index_cap(size_t cap, size_t want)
{
	size_t next = cap ? cap : 32;

	if (2 * want <= cap) {
		return cap;
	}
	while (next < 2 * want) {
		next *= 2;
	}
	return next;
}
