/* httpd_internal: the state httpd.c and httpstream.c share (a request
 * item, an event stream, the server). Not for other files: the interface of
 * httpd is httpd.h and httpstream.h. Locking: fields marked "under mu" are
 * read and written only with h->mu held; "loop only" fields only on the loop
 * thread. */
#ifndef WH_HTTPD_INTERNAL_H
#define WH_HTTPD_INTERNAL_H

#include "api/httpd.h"
#include "api/httpstream.h"

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

struct httpgate;
struct mg_context;
struct mg_connection;

struct httpd_item {
	struct httpd_req rq; /* first: handlers get &item->rq */
	struct httpd *h;
	int refs; /* under h->mu */
	bool is_answered;
	bool is_abandoned; /* the worker gave up (503) */
	struct httpstream *stream;
	int status;
	char content_type[64];
	char etag[96];
	char headers[256]; /* more header lines (httpd_add_header), "" when none */
	char *answer;	   /* owns */
	size_t answer_len;
	struct httpd_item *next;		  /* queue to the loop (under h->mu) */
	struct httpd_item *held_prev, *held_next; /* handed to the handler (loop only) */
};

struct httpstream {
	struct httpd *h;
	int refs;		       /* under h->mu: reader thread + loop */
	bool is_loop_done;	       /* the loop closed it */
	bool is_reader_gone;	       /* the reader thread ended */
	char *queue[HTTPSTREAM_QUEUE]; /* owns each */
	unsigned head, count;
	unsigned long dropped;			  /* since the reader last wrote */
	struct httpstream *next_gone;		  /* gone, to report to the loop */
	struct httpstream *live_prev, *live_next; /* all streams the loop holds */
};

struct httpd {
	struct ev_loop *loop;
	struct httpd_config cfg;
	struct mg_context *mg;
	struct httpgate *gate;	       /* owns the listening address */
	struct sockaddr_storage inner; /* civetweb's loopback address, for the gate */
	ev_async wake;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool is_stopping;	   /* under mu */
	bool is_poke_done;	   /* under mu: httpd_stop's poke thread may end */
	unsigned n_busy;	   /* under mu: workers between enqueue and their last write */
	struct httpd_item *q_head; /* under mu */
	struct httpd_item *q_tail;
	struct httpstream *gone;  /* under mu */
	struct httpd_item *held;  /* loop only */
	struct httpstream *live;  /* loop only */
	unsigned long n_requests; /* loop only */
	char hosts[3][80];
	size_t n_hosts;
};

/* Drop one reference to it; the caller holds h->mu. True when it must be
 * freed (with httpd_item_free, after unlocking). */
bool httpd_item_unref_locked(struct httpd_item *it);
void httpd_item_free(struct httpd_item *it);
/* Loop thread: it is no longer handed to the handler / st no longer held. */
void httpd_held_del(struct httpd *h, struct httpd_item *it);
void httpd_live_del(struct httpd *h, struct httpstream *st);
/* CLOCK_MONOTONIC now + ms, for pthread_cond_timedwait on h->cond. */
void httpd_abstime_after_ms(struct timespec *ts, unsigned ms);

#endif
