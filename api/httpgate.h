/* httpgate: httpd's front door. civetweb gives each connection one of its
 * few worker threads from the moment it is accepted, so a handful of clients
 * that connect and send nothing, or send a request a byte at a time (a
 * "slowloris"), or never read their answer, would hold every worker and the
 * API would hang for everyone. The gate owns the listening address instead,
 * on a thread of its own with its own libev loop: it reads each request whole
 * (the head, then the body its Content-Length announces) and only then hands
 * it to civetweb on a private loopback port, and it takes civetweb's answer
 * as fast as civetweb writes it and passes it on at the client's pace.
 *
 * Bounds: HTTPGATE_CONNS_MAX connections at once. When they are all taken,
 * the one that has been sending its request the longest (and for at least
 * HTTPGATE_EVICT_MS) is dropped for the newcomer; while none has, new
 * connections wait in the kernel's backlog. A request not whole within the
 * read timeout gets 408; a client that takes nothing of its answer for
 * HTTPGATE_STALL_MS is dropped. A request whose end the gate cannot be sure
 * of (a head over HTTPGATE_HEAD_MAX bytes, a Transfer-Encoding, a
 * Content-Length that is not one number up to HTTPD_BODY_MAX, a malformed
 * request line or header line, a method or version the API does not take)
 * gets a JSON error from the gate itself and is closed: handed over, it
 * would hold a civetweb worker until civetweb's own timeout (ten such
 * connections would hang the API for everyone).
 * Knows nothing of HTTP beyond the framing of a request. */
#ifndef WH_HTTPGATE_H
#define WH_HTTPGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define HTTPGATE_CONNS_MAX 64
#define HTTPGATE_HEAD_MAX 16384	  /* civetweb's max_request_size: the same bound */
#define HTTPGATE_READ_MS 5000	  /* default: a whole request within this */
#define HTTPGATE_EVICT_MS 250	  /* a full gate drops a request this slow for a newcomer */
#define HTTPGATE_STALL_MS 10000	  /* an answer nobody reads for this long is dropped */
#define HTTPGATE_DRAIN_MS 2000	  /* httpgate_stop waits at most this for answers to leave */
#define HTTPGATE_ANSWER_BUF 16384 /* per connection, civetweb -> client */

struct httpgate;

/* What the gate did since it opened (counters; any thread may read them). */
struct httpgate_stats {
	unsigned long long connections;	   /* accepted */
	unsigned long long slow_requests;  /* 408: not whole in time, or the slowest when full */
	unsigned long long unread_answers; /* dropped: the client took nothing for a while */
};

/* The gate's verdict on what a client sent so far. */
struct httpgate_verdict {
	size_t end;	     /* the request is whole: all of len; else 0 */
	int status;	     /* not 0: refuse the request with this status */
	const char *message; /* why, with status (a constant, JSON-safe) */
};

/* The gate's only parsing, of len bytes a client sent (not NUL-terminated;
 * fuzz_httpgate): whole (end: all of len), refused (status, message), or
 * neither while more must come. Decided once the head has ended, and then
 * more bytes do not change the decision. */
void httpgate_check(const char *buf, size_t len, struct httpgate_verdict *v);
/* True when buf is a head (all of len) that asks "Expect: 100-continue". */
bool httpgate_wants_continue(const char *buf, size_t len);

/* Listen on addr (exactly that address and port). Returns a gate that does
 * not serve yet, or NULL with a one-line reason in err. */
struct httpgate *httpgate_open(const struct sockaddr_storage *addr, char *err, size_t err_len);
/* Serve: hand whole requests to inner (civetweb's loopback address), each
 * within read_ms of its connection (0: HTTPGATE_READ_MS). Starts the gate's
 * thread. Returns 0 or -errno (the gate is then still only open). */
int httpgate_run(struct httpgate *g, const struct sockaddr_storage *inner, unsigned read_ms);
/* Stop accepting, give answers on their way up to HTTPGATE_DRAIN_MS to
 * leave, close everything, join the thread, free. NULL is a no-op. */
void httpgate_stop(struct httpgate *g);
void httpgate_stats(const struct httpgate *g, struct httpgate_stats *out);

#endif
