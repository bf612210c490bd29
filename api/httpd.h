/* httpd: a small, hardened HTTP/JSON core on civetweb for a libev daemon
 * (DESIGN §7, §8). civetweb serves each request on one of its own threads;
 * libev is not thread-safe, so every request is queued and handed to the
 * loop thread through ev_async. The daemon's handler runs on the loop and
 * completes the request with httpd_respond, at once or later. No document
 * root, no files, no forms: anything the handler does not answer is a JSON
 * error. Knows nothing about wormhole: both daemons reuse it. */
#ifndef WH_HTTPD_H
#define WH_HTTPD_H

#include "common/compiler.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define HTTPD_BODY_MAX (64 * 1024) /* larger request bodies get 413 */
#define HTTPD_URI_MAX 1024	   /* longer request targets get 404 */
#define HTTPD_HEADER_VALUE_MAX 512 /* Authorization, If-Match, ... are cut at this */
#define HTTPD_THREADS 8
#define HTTPD_ANSWER_TIMEOUT_MS 10000 /* the loop must answer within this: else 503 */

struct httpd;
struct httpgate_stats;
struct httpstream;

/* One request, as the handler sees it. Owned by httpd; valid until
 * httpd_respond (or httpstream_open) is called for it. */
struct httpd_req {
	char method[16];
	char path[HTTPD_URI_MAX + 1];  /* percent-decoded, without the query */
	char query[HTTPD_URI_MAX + 1]; /* raw, "" when none */
	char authorization[HTTPD_HEADER_VALUE_MAX + 1];
	char if_match[HTTPD_HEADER_VALUE_MAX + 1];
	char content_type[HTTPD_HEADER_VALUE_MAX + 1];
	char *body; /* NUL-terminated, body_len bytes (a JSON body, or empty) */
	size_t body_len;
};

/* Runs on the loop thread for each request. It must eventually call
 * httpd_respond or httpstream_open on rq exactly once. */
typedef void httpd_handler_fn(void *ctx, struct httpd_req *rq);
/* Runs on the loop thread when a stream's reader went away (or httpd
 * stops); the handler calls httpstream_close on it. */
typedef void httpd_stream_closed_fn(void *ctx, struct httpstream *st);

struct httpd_config {
	struct sockaddr_storage listen; /* exactly this address and port */
	httpd_handler_fn *handler;
	httpd_stream_closed_fn *on_stream_closed; /* may be NULL */
	void *ctx;
	unsigned answer_timeout_ms; /* 0: HTTPD_ANSWER_TIMEOUT_MS */
	unsigned read_timeout_ms;   /* a whole request within this; 0: HTTPGATE_READ_MS */
};

/* Start serving on cfg->listen (through httpgate: a request reaches a
 * civetweb worker only once it has arrived whole). Returns a new httpd
 * (httpd_stop frees it), or NULL with a one-line reason in err. */
struct httpd *httpd_start(struct ev_loop *loop, const struct httpd_config *cfg, char *err,
			  size_t err_len);
/* Stop: answer what is still pending with 503, close streams, join every
 * civetweb thread, free everything. Call on the loop thread. NULL is a no-op. */
void httpd_stop(struct httpd *h);

/* Complete rq with status and body (copied; len bytes, may be 0). etag may be
 * NULL. rq is gone after the call. Returns 0, or -ETIMEDOUT when the client
 * was already told 503 (the answer is dropped). */
int httpd_respond(struct httpd_req *rq, int status, const char *content_type, const char *body,
		  size_t len, const char *etag);
/* Add the header line "name: value" to rq's answer; call on the loop
 * before httpd_respond (e.g. Allow on a 405, RFC 9110 §15.5.6). Returns 0,
 * -EINVAL (a CR or LF in either, or a bad name: nothing added) or -ENOSPC
 * (the answer's extra headers are full, 256 bytes: nothing added). */
int httpd_add_header(struct httpd_req *rq, const char *name, const char *value);
/* {"error": message} with status. Same contract as httpd_respond. */
int httpd_respond_error(struct httpd_req *rq, int status, const char *message, const char *etag);

/* Requests taken since start, for tests and metrics. */
unsigned long httpd_requests(const struct httpd *h);
/* The gate's counters (httpgate.h), for metrics. */
void httpd_gate_stats(const struct httpd *h, struct httpgate_stats *out);

#endif
