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
 * HTTPGATE_STALL_MS is dropped. A head over HTTPGATE_HEAD_MAX bytes or a
 * body over HTTPD_BODY_MAX is handed over as it is, for civetweb to refuse.
 * Knows nothing of HTTP beyond finding where a request ends. */
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

/* The gate's only parsing, of len bytes a client sent (not NUL-terminated;
 * fuzz_httpgate): the request's length when it is whole, which is then all
 * of len (a head that does not end within HTTPGATE_HEAD_MAX, a
 * Transfer-Encoding, or a Content-Length that is not one number up to
 * HTTPD_BODY_MAX make it whole as it is: civetweb refuses it), or 0 while
 * more must come. */
size_t httpgate_request_end(const char *buf, size_t len);
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
