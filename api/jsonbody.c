/* jsonbody: a request body as one JSON object (see jsonbody.h). */
#include "api/jsonbody.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The length of the UTF-8 sequence at s[0..n), or 0 if it is not one:
 * no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80) {
		return 1;
	}
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

/* The offset of the first byte that is not valid UTF-8, or len. */
static size_t utf8_valid_prefix(const char *body, size_t len)
{
	const unsigned char *s = (const unsigned char *)body;
	size_t i = 0;

	while (i < len) {
		size_t k = utf8_seq(s + i, len - i);
		if (k == 0) {
			return i;
		}
		i += k;
	}
	return len;
}

/* The offset of a \u0000 escape inside a string of well-formed JSON text,
 * or len if there is none. */
static size_t nul_escape_at(const char *body, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (!in_string) {
			in_string = body[i] == '"';
		} else if (body[i] == '"') {
			in_string = false;
		} else if (body[i] == '\\' && i + 1 < len) {
			if (body[i + 1] == 'u' && i + 5 < len &&
			    memcmp(body + i + 2, "0000", 4) == 0) {
				return i;
			}
			i++; /* the escaped character: '"' or '\\' do not end or escape */
		}
	}
	return len;
}

cJSON *jsonbody_object(const char *body, size_t len, char why[JSONBODY_WHY_MAX])
{
	const char *end = NULL;
	cJSON *o;
	size_t at;

	if (len == 0) {
		snprintf(why, JSONBODY_WHY_MAX, "a JSON body is required");
		return NULL;
	}
	if (strlen(body) != len) {
		snprintf(why, JSONBODY_WHY_MAX, "bad JSON: NUL byte at byte %zu", strlen(body));
		return NULL;
	}
	at = utf8_valid_prefix(body, len);
	if (at != len) {
		snprintf(why, JSONBODY_WHY_MAX, "bad JSON: not UTF-8 at byte %zu", at);
		return NULL;
	}
	/* body is NUL-terminated; cJSON wants the NUL inside the length to
	 * insist that nothing follows the value. */
	o = cJSON_ParseWithLengthOpts(body, len + 1, &end, true);
	if (!o) {
		at = end && end >= body ? (size_t)(end - body) : 0;
		snprintf(why, JSONBODY_WHY_MAX, "bad JSON at byte %zu", at);
		return NULL;
	}
	at = nul_escape_at(body, len);
	if (at != len) {
		cJSON_Delete(o);
		snprintf(why, JSONBODY_WHY_MAX, "bad JSON: \\u0000 in a string at byte %zu", at);
		return NULL;
	}
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		snprintf(why, JSONBODY_WHY_MAX, "the body must be a JSON object");
		return NULL;
	}
	return o;
}
