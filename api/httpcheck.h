/* httpcheck: the checks httpd makes on a request before anything else sees
 * it, as pure functions (unit-tested and fuzzed without a server). */
#ifndef WH_HTTPCHECK_H
#define WH_HTTPCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A request target we accept: present, "/"-rooted, at most HTTPD_URI_MAX
 * characters, no empty path segment ("//"), no control characters. Anything
 * else is answered 404 before civetweb's own path handling could act on it
 * (Debian's civetweb 1.15 overflows a heap buffer on long runs of "/"). */
bool httpcheck_target(const char *uri);

/* Percent-decode the path of a target that passed httpcheck_target into
 * out (out_size bytes). False for a malformed escape, or one that decodes
 * to NUL, '/' or a control character: "/flows/t1%00x" would otherwise name
 * flow "t1", and "t1%2Fx" two segments. */
bool httpcheck_decode_path(const char *raw, char *out, size_t out_size);

/* Host header against the allowed "host:port" names (exact, ASCII case
 * insensitive): the defence against DNS rebinding. NULL host is refused. */
bool httpcheck_host(const char *host, const char (*allowed)[80], size_t n_allowed);

/* Content-Type is application/json, optionally with parameters. */
bool httpcheck_json_type(const char *content_type);

/* An If-Match header (not empty) against the current etag (quoted), as RFC
 * 9110 §13.1.1 says: "*", or a comma-separated list of entity tags of which
 * one is etag by strong comparison (a weak W/"..." never matches). A
 * malformed list matches nothing. */
bool httpcheck_if_match(const char *header, const char *etag);

/* 127.0.0.0/8 or ::1. */
bool httpcheck_is_loopback(const struct sockaddr *sa);

#endif
