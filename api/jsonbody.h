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
 * frees it) or NULL. */
cJSON *jsonbody_object(const char *body, size_t len, char why[JSONBODY_WHY_MAX]);

#endif
