/* httpstream: turn an httpd request into a server-sent event stream
 * (text/event-stream) that the loop feeds; see httpstream.c. All calls are
 * for the loop thread. */
#ifndef WH_HTTPSTREAM_H
#define WH_HTTPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

struct httpd;
struct httpd_req;
struct httpstream;
struct mg_connection;

#define HTTPSTREAM_QUEUE 64	  /* events queued per stream; older ones are dropped */
#define HTTPSTREAM_EVENT_MAX 4096 /* bytes of one event */

/* Turn rq into a text/event-stream. rq is gone after the call; the returned
 * stream (NULL when out of memory: rq then got 503) belongs to the caller
 * until httpstream_close. */
struct httpstream *httpstream_open(struct httpd_req *rq);
/* Queue one event: "event: <event>" (NULL: unnamed, the SSE "message")
 * and data, one "data:" line per line (copied, cut at HTTPSTREAM_EVENT_MAX
 * bytes). Never blocks: a slow reader loses the oldest queued event and
 * later sees a gap marker. Returns 0, or -EINVAL (an empty event name or
 * one with a line break), -EPIPE when the reader is gone, -ENOMEM. */
int httpstream_send(struct httpstream *st, const char *event, const char *data);
/* Queue n events (events[i] and datas[i] as in httpstream_send) as one
 * entry: written in order, back to back, and dropped only as a whole, so
 * a greeting longer than HTTPSTREAM_QUEUE events arrives whole. Returns as
 * httpstream_send (-EINVAL: any bad name; then nothing is queued). */
int httpstream_send_all(struct httpstream *st, size_t n, const char *const events[],
			const char *const datas[]);
/* Let go of st (the reader's side ends at once). NULL is a no-op. */
void httpstream_close(struct httpstream *st);

/* httpd internals: the reader's side, run by a civetweb worker. */
void httpstream_serve(struct httpd *h, struct mg_connection *conn, struct httpstream *st);
void httpstream_free(struct httpstream *st);

#endif
