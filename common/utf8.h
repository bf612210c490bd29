/* utf8: UTF-8 checks and escaping for text that leaves the program as a
 * line or in JSON (diag messages, log lines). Config values and names can
 * hold any bytes; what we print must stay one line of valid UTF-8. */
#ifndef WH_UTF8_H
#define WH_UTF8_H

#include <stddef.h>

/* The length (1-4) of the UTF-8 sequence that starts at s[0..n), or 0 when
 * none does: no overlong forms, no surrogates, nothing above U+10FFFF
 * (RFC 3629 §3). n must be at least 1. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Copy the string src into dst (cap bytes, cap >= 1, always
 * NUL-terminated), writing each control character (below 0x20, and 0x7f)
 * and each byte that is not part of valid UTF-8 as the four characters
 * \xHH (e.g. "\xFF"). Stops before an item that would not fit whole, so the
 * result is valid UTF-8 even when cut. Returns the length written. */
size_t utf8_escape(char *dst, size_t cap, const char *src);

#endif
