/* httpstream: server-sent events on top of httpd (DESIGN §8's event stream).
 * The loop publishes with httpstream_send into a bounded per-stream queue and
 * never blocks: a slow reader loses the oldest events and gets a gap marker.
 * A civetweb worker (the reader) writes the queue out as text/event-stream
 * until the peer goes, the loop closes the stream, or httpd stops; then the
 * loop hears of it through on_stream_closed. Two references (reader, loop)
 * counted under h->mu; the last one frees. */
#include "api/httpstream.h"

#include "api/httpd_internal.h"
#include "common/compiler.h"

#include <civetweb.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_KEEPALIVE_S 2 /* an idle stream writes a comment this often */

void httpstream_free(struct httpstream *st)
{
	for (unsigned i = 0; i < st->count; i++) {
		free(st->queue[(st->head + i) % HTTPSTREAM_QUEUE]);
	}
	free(st);
}

static bool stream_write(struct mg_connection *conn, const char *text, size_t len)
{
	return mg_write(conn, text, len) == (int)len;
}

/* Reader thread: write queued events until the peer goes, the loop closes
 * the stream, or httpd stops. Each wait is bounded by the keep-alive. */
void httpstream_serve(struct httpd *h, struct mg_connection *conn, struct httpstream *st)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				   "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
	bool is_ok = stream_write(conn, head, sizeof(head) - 1);
	bool must_free;
	struct timespec keepalive_due;

	/* Due STREAM_KEEPALIVE_S after the last write; only a write moves it: h->cond
	 * is shared by every request and stream, so a wake-up says nothing
	 * about this stream. (A fresh deadline per wake-up never came due on a
	 * polled API, and a reader that left was never noticed.) */
	httpd_abstime_after_ms(&keepalive_due, STREAM_KEEPALIVE_S * 1000);
	pthread_mutex_lock(&h->mu);
	while (is_ok && !h->is_stopping && !st->is_loop_done) {
		char *text = NULL;
		unsigned long dropped = st->dropped;

		if (st->count > 0) {
			text = st->queue[st->head];
			st->head = (st->head + 1) % HTTPSTREAM_QUEUE;
			st->count--;
			st->dropped = 0;
		} else if (pthread_cond_timedwait(&h->cond, &h->mu, &keepalive_due) != ETIMEDOUT) {
			continue;
		}
		pthread_mutex_unlock(&h->mu);
		if (text && dropped > 0) {
			char gap[96];
			snprintf(gap, sizeof(gap), "event: gap\ndata: {\"dropped\": %lu}\n\n",
				 dropped);
			is_ok = stream_write(conn, gap, strlen(gap));
		}
		if (text) {
			is_ok = is_ok && stream_write(conn, text, strlen(text));
			free(text);
		} else {
			is_ok = stream_write(conn, ": keep-alive\n\n", 14);
		}
		httpd_abstime_after_ms(&keepalive_due, STREAM_KEEPALIVE_S * 1000);
		pthread_mutex_lock(&h->mu);
	}
	st->is_reader_gone = true;
	if (!st->is_loop_done && !h->is_stopping) {
		st->next_gone = h->gone;
		h->gone = st;
	}
	must_free = --st->refs == 0;
	pthread_mutex_unlock(&h->mu);
	if (must_free) {
		httpstream_free(st);
	} else if (!h->is_stopping) {
		ev_async_send(h->loop, &h->wake);
	}
}

struct httpstream *httpstream_open(struct httpd_req *rq)
{
	struct httpd_item *it = container_of(rq, struct httpd_item, rq);
	struct httpd *h = it->h;
	struct httpstream *st = calloc(1, sizeof(*st));
	bool must_free;

	if (!st) {
		(void)httpd_respond_error(rq, 503, "out of memory", NULL);
		return NULL;
	}
	st->h = h;
	st->refs = 2;
	httpd_held_del(h, it);
	pthread_mutex_lock(&h->mu);
	if (it->is_abandoned) {
		st->refs = 1;
		st->is_reader_gone = true;
	} else {
		it->stream = st;
		it->is_answered = true;
		pthread_cond_broadcast(&h->cond);
	}
	must_free = httpd_item_unref_locked(it);
	pthread_mutex_unlock(&h->mu);
	if (must_free) {
		httpd_item_free(it);
	}
	st->live_next = h->live;
	if (h->live) {
		h->live->live_prev = st;
	}
	h->live = st;
	return st;
}

/* The event as it goes on the wire: "event: name\n" (when named), then
 * "data: line\n" per line of data (at most HTTPSTREAM_EVENT_MAX bytes of
 * it), then a blank line. A new string, NULL when out of memory. */
static char *format_event(const char *event, const char *data)
{
	size_t n = strnlen(data, HTTPSTREAM_EVENT_MAX);
	size_t lines = 1;
	size_t cap;
	char *text;
	char *w;

	for (size_t i = 0; i < n; i++) {
		lines += data[i] == '\n';
	}
	cap = (event ? strlen(event) + 8 : 0) + n + lines * 7 + 2;
	text = malloc(cap);
	if (!text) {
		return NULL;
	}
	w = text;
	if (event) {
		w += sprintf(w, "event: %s\n", event);
	}
	for (size_t i = 0;;) {
		const char *nl = memchr(data + i, '\n', n - i);
		size_t k = nl ? (size_t)(nl - (data + i)) : n - i;

		memcpy(w, "data: ", 6);
		memcpy(w + 6, data + i, k);
		w += 6 + k;
		*w++ = '\n';
		if (!nl) {
			break;
		}
		i += k + 1;
	}
	*w++ = '\n';
	*w = '\0';
	return text;
}

/* A name with a line break would forge fields of its own. */
static bool event_name_ok(const char *event)
{
	return !event || (event[0] != '\0' && !strpbrk(event, "\r\n"));
}

/* Queue text (formatted events; taken over either way) as one entry. */
static int queue_text(struct httpstream *st, char *text)
{
	struct httpd *h = st->h;
	int err = 0;

	pthread_mutex_lock(&h->mu);
	if (st->is_reader_gone) {
		err = -EPIPE;
	} else {
		if (st->count == HTTPSTREAM_QUEUE) {
			/* A slow reader loses the oldest event, never the loop's time. */
			free(st->queue[st->head]);
			st->head = (st->head + 1) % HTTPSTREAM_QUEUE;
			st->count--;
			st->dropped++;
		}
		st->queue[(st->head + st->count) % HTTPSTREAM_QUEUE] = text;
		st->count++;
		text = NULL;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->mu);
	free(text);
	return err;
}

int httpstream_send(struct httpstream *st, const char *event, const char *data)
{
	char *text;

	if (!event_name_ok(event)) {
		return -EINVAL;
	}
	text = format_event(event, data);
	return text ? queue_text(st, text) : -ENOMEM;
}

int httpstream_send_all(struct httpstream *st, size_t n, const char *const events[],
			const char *const datas[])
{
	char **parts = calloc(n + 1, sizeof(*parts));
	char *text = NULL;
	size_t len = 0;
	int err = parts ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && err == 0; i++) {
		if (!event_name_ok(events[i])) {
			err = -EINVAL;
		} else if (!(parts[i] = format_event(events[i], datas[i]))) {
			err = -ENOMEM;
		} else {
			len += strlen(parts[i]);
		}
	}
	if (err == 0 && !(text = calloc(len + 1, 1))) {
		err = -ENOMEM;
	}
	for (size_t i = 0, at = 0; text && i < n; i++) {
		size_t k = strlen(parts[i]);

		memcpy(text + at, parts[i], k + 1);
		at += k;
	}
	for (size_t i = 0; parts && i < n; i++) {
		free(parts[i]);
	}
	free(parts);
	return text ? queue_text(st, text) : err;
}

void httpstream_close(struct httpstream *st)
{
	struct httpd *h;
	bool must_free;

	if (!st) {
		return;
	}
	h = st->h;
	httpd_live_del(h, st);
	pthread_mutex_lock(&h->mu);
	st->is_loop_done = true;
	for (struct httpstream **pp = &h->gone; *pp; pp = &(*pp)->next_gone) {
		if (*pp == st) {
			*pp = st->next_gone;
			break;
		}
	}
	must_free = --st->refs == 0;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
	if (must_free) {
		httpstream_free(st);
	}
}
