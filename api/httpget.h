/* httpget: one blocking HTTP/1.1 GET (or POST) to a local API, for the
 * command-line tools (`wormhole-client status`, `join`). Not for the daemons' loops. */
#ifndef WH_HTTPGET_H
#define WH_HTTPGET_H

#include <stddef.h>
#include <sys/socket.h>

#define HTTPGET_REPLY_MAX (1024 * 1024)
#define HTTPGET_REQUEST_MAX 2048 /* request head and body */

/* GET path from addr within timeout_ms in total. On 0, *status is the HTTP
 * status and *body a new NUL-terminated buffer of *len bytes (caller
 * frees). Returns 0, -ECONNREFUSED (nothing listens), -ETIMEDOUT, -EPROTO
 * (not an HTTP answer), -EFBIG (over HTTPGET_REPLY_MAX) or another -errno. */
int httpget(const struct sockaddr_storage *addr, const char *path, unsigned timeout_ms, int *status,
	    char **body, size_t *len);
/* The same as a POST of json (a NUL-terminated JSON text; request head and
 * body together at most HTTPGET_REQUEST_MAX bytes, else -ENAMETOOLONG). */
int httpget_post(const struct sockaddr_storage *addr, const char *path, const char *json,
		 unsigned timeout_ms, int *status, char **body, size_t *len);

#endif
