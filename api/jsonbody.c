/* jsonbody: a request body as one JSON object (see jsonbody.h). */
#include "api/jsonbody.h"

#include "common/utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The offset of the first byte that is not valid UTF-8, or len. */
static size_t utf8_valid_prefix(const char *body, size_t len)
{
	const unsigned char *s = (const unsigned char *)body;
	size_t i = 0;

	while (i < len) {
		size_t k = utf8_seq_len(s + i, len - i);
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

/* cJSON skips every byte up to ' ' between tokens, so this walk does too. */
static size_t skip_blanks(const char *t, size_t i, size_t len)
{
	while (i < len && (unsigned char)t[i] <= ' ') {
		i++;
	}
	return i;
}

/* t[i] opens a string: the offset after its closing quote. */
static size_t skip_string(const char *t, size_t i, size_t len)
{
	for (i++; i < len && t[i] != '"'; i++) {
		if (t[i] == '\\') {
			i++;
		}
	}
	return i + 1;
}

static int keep_literals(cJSON *node, const char *t, size_t *at, size_t len);

/* The members or elements of the object or array at t[*at] (its opening
 * brace or bracket), one per child of node, in order. */
static int keep_children(cJSON *node, const char *t, size_t *at, size_t len)
{
	bool is_object = t[*at] == '{';
	char close = is_object ? '}' : ']';
	cJSON *child = node->child;
	size_t i = skip_blanks(t, *at + 1, len);

	if (is_object ? !cJSON_IsObject(node) : !cJSON_IsArray(node)) {
		return -EPROTO;
	}
	if (i < len && t[i] == close) {
		*at = i + 1;
		return child ? -EPROTO : 0;
	}
	for (; child; child = child->next) {
		int err;

		if (is_object) {
			i = skip_blanks(t, i, len);
			if (i >= len || t[i] != '"') {
				return -EPROTO;
			}
			i = skip_blanks(t, skip_string(t, i, len), len);
			if (i >= len || t[i] != ':') {
				return -EPROTO;
			}
			i++;
		}
		err = keep_literals(child, t, &i, len);
		if (err != 0) {
			return err;
		}
		i = skip_blanks(t, i, len);
		if (i < len && t[i] == close && !child->next) {
			*at = i + 1;
			return 0;
		}
		if (i >= len || t[i] != ',') {
			return -EPROTO;
		}
		i++;
	}
	return -EPROTO;
}

/* Walk the value at t[*at] beside node, the tree cJSON made of it, and
 * give each number its own text in valuestring. Returns 0, -ENOMEM, or
 * -EPROTO when the text and the tree disagree (not expected: cJSON took
 * the text). */
static int keep_literals(cJSON *node, const char *t, size_t *at, size_t len)
{
	size_t i = skip_blanks(t, *at, len);
	size_t n;

	if (i >= len) {
		return -EPROTO;
	}
	*at = i;
	if (t[i] == '{' || t[i] == '[') {
		return keep_children(node, t, at, len);
	}
	if (t[i] == '"') {
		*at = skip_string(t, i, len);
		return cJSON_IsString(node) ? 0 : -EPROTO;
	}
	if (t[i] == '-' || (t[i] >= '0' && t[i] <= '9')) {
		/* cJSON reads a number from these characters, and took the text:
		 * the number is all of them. */
		n = strspn(t + i, "0123456789+-eE.");
		if (!cJSON_IsNumber(node) || node->valuestring) {
			return -EPROTO;
		}
		node->valuestring = strndup(t + i, n);
		*at = i + n;
		return node->valuestring ? 0 : -ENOMEM;
	}
	n = strspn(t + i, "abcdefghijklmnopqrstuvwxyz"); /* true, false, null */
	*at = i + n;
	return cJSON_IsBool(node) || cJSON_IsNull(node) ? 0 : -EPROTO;
}

cJSON *jsonbody_object(const char *body, size_t len, char why[JSONBODY_WHY_MAX])
{
	const char *end = NULL;
	cJSON *o;
	size_t at;
	int err;

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
	/* cJSON skips a UTF-8 byte-order mark before the value. */
	at = skip_blanks(body, 0, len);
	if (len - at >= 3 && memcmp(body + at, "\xef\xbb\xbf", 3) == 0) {
		at += 3;
	}
	err = keep_literals(o, body, &at, len);
	if (err != 0) {
		cJSON_Delete(o);
		snprintf(why, JSONBODY_WHY_MAX, "%s",
			 err == -ENOMEM ? "out of memory" : "bad JSON: its numbers cannot be read");
		return NULL;
	}
	return o;
}
