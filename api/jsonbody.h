/* jsonbody: a request body as one JSON object, for every API that takes
 * one (the REST API, the client's join). No I/O: the body comes straight
 * off the network. */
#ifndef WH_JSONBODY_H
#define WH_JSONBODY_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define JSONBODY_WHY_MAX 96

/* Parse body[0..len) (with a NUL at body[len]) as a JSON object. Refused,
 * with a one-line reason for a 400 in why: an empty body, a NUL byte,
 * text that is not UTF-8 (RFC 8259 §8.1), bad JSON (with its byte offset),
 * a string holding \u0000 (cJSON would end it there: "t1\u0000x" would
 * name flow "t1"), anything but an object. Returns the object (the caller
 * frees it) or NULL.
 *
 * cJSON keeps a number only as a double, exact up to 2^53 (impair.seed
 * goes to 2^63-1), so each number node also holds the number's own text,
 * as sent, in valuestring ("9007199254740993"): cJSON_Delete frees it,
 * cJSON_Duplicate copies it and printing ignores it. Nodes made otherwise
 * have none. */
cJSON *jsonbody_object(const char *body, size_t len, char why[JSONBODY_WHY_MAX]);

#endif
