/* utf8: UTF-8 validation (RFC 3629) and \xHH escaping of what is not
 * printable UTF-8, for diag messages and log lines. No allocation. */
#include "common/utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80) {
		return 1;
	}
	/* RFC 3629 §4: C0, C1 and F5..FF never appear; E0/F0/ED/F4 are
	 * bounded through the code point below. */
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len) {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
		return 0;
	}
	return len;
}

size_t utf8_escape(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t left = strlen(src);
	size_t n = 0;

	while (left > 0) {
		size_t k = utf8_seq_len(s, left);
		bool is_raw = k == 0 || *s < 0x20 || *s == 0x7f;
		size_t need = is_raw ? 4 : k;

		if (n + need + 1 > cap) {
			break;
		}
		if (is_raw) {
			snprintf(dst + n, cap - n, "\\x%02X", *s);
			k = 1;
		} else {
			memcpy(dst + n, s, k);
		}
		n += need;
		s += k;
		left -= k;
	}
	dst[n] = '\0';
	return n;
}
