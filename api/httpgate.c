/* httpgate: httpd's front door (httpgate.h). One thread with its own libev
 * loop and non-blocking sockets: a connection reads its request whole, is
 * then joined to a new connection to civetweb, and passes civetweb's answer
 * back at the client's pace. Must not: interpret a request beyond finding
 * its end and checking the framing that tells it (httpgate_check), or touch
 * the daemon's loop. */
#include "api/httpgate.h"

#include "api/httpd.h"
#include "common/addr.h"
#include "common/compiler.h"
#include "common/log.h"
#include "common/monotime.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX (HTTPGATE_HEAD_MAX + HTTPD_BODY_MAX)
#define REQ_FIRST 2048
#define ACCEPT_BATCH 32
#define BACKLOG 256	   /* connections the kernel holds while the gate is full */
#define SWEEP_S 0.1	   /* deadlines are checked this often */
#define EMFILE_PAUSE_S 0.1 /* out of file descriptors: accept again after this */

enum gconn_state { GC_READING, GC_CONNECTING, GC_PIPING };

struct gconn {
	struct httpgate *g;
	struct gconn *prev, *next; /* g->head: oldest first */
	enum gconn_state state;
	int cfd, ufd; /* the client; civetweb (-1 before the hand-over) */
	ev_io c_io, u_io;
	ev_tstamp since; /* accepted; once piping, the answer's last progress */
	char *req;	 /* the request, until it has all gone to civetweb */
	size_t req_len, req_cap, req_sent;
	char *ans; /* HTTPGATE_ANSWER_BUF: civetweb's answer not yet sent on */
	size_t ans_off, ans_len;
	bool is_client_eof, is_upstream_eof;
	bool is_continued;	  /* "100 Continue" was sent */
	char peer[ADDR_TEXT_MAX]; /* the client's address, for the log */
};

struct httpgate {
	struct ev_loop *loop;
	pthread_t thread;
	bool has_thread;
	int lfd;
	struct sockaddr_storage inner;
	ev_tstamp read_s;
	ev_io accept_io;
	ev_timer sweep, emfile, drain;
	ev_async stop_w;
	bool is_stopping;
	struct gconn *head, *tail;
	unsigned n_conns;
	atomic_ullong n_accepted, n_slow, n_unread; /* httpgate_stats */
	struct log_bucket log_bucket;		    /* the gate's own: its thread's */
};

/* Why the gate drops c or turns it away (remote input: rate-limited). */
static void log_drop(const struct gconn *c, const char *what)
{
	log_ratelimited(&c->g->log_bucket, monotime_now_us(), LOG_LEVEL_INFO, "api: %s from %s",
			what, c->peer);
}

/* The length of the head at the start of buf (up to and with its empty
 * line), or 0 when it does not end within len bytes. */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n') {
			return i + 2;
		}
		if (buf[i] == '\n' && i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			return i + 3;
		}
	}
	return 0;
}

/* The value of the head's (head bytes) first header called name (with its
 * colon), NULL when there is none; *more: there is another one. */
static const char *header(const char *buf, size_t head, const char *name, bool *more)
{
	size_t n = strlen(name);
	const char *found = NULL;

	*more = false;
	for (const char *line = memchr(buf, '\n', head); line && line + 1 < buf + head;
	     line = memchr(line + 1, '\n', (size_t)(buf + head - line - 1))) {
		const char *p = line + 1;

		if ((size_t)(buf + head - p) < n || strncasecmp(p, name, n) != 0) {
			continue;
		}
		if (found) {
			*more = true;
			break;
		}
		for (found = p + n; *found == ' ' || *found == '\t'; found++) {
		}
	}
	return found;
}

/* RFC 9110 §5.6.2 tchar: what a method and a header name are made of. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t token_len(const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && is_tchar(p[n])) {
		n++;
	}
	return n;
}

static void refuse(struct httpgate_verdict *v, int status, const char *message)
{
	v->end = 0;
	v->status = status;
	v->message = message;
}

/* The request line (line bytes, without its end): METHOD SP target SP
 * HTTP/1.x, with a method the API knows. */
static bool check_request_line(const char *p, size_t line, struct httpgate_verdict *v)
{
	static const char *const methods[] = {"GET",   "HEAD",	 "POST",   "PUT",
					      "PATCH", "DELETE", "OPTIONS"};
	const char *end = p + line;
	size_t m = token_len(p, end);
	const char *sp = m < line && p[m] == ' ' ? p + m : NULL;
	const char *last = memrchr(p, ' ', line);
	const char *ver = last ? last + 1 : end;
	size_t vlen = (size_t)(end - ver);
	bool known = false;

	/* One space, a target without spaces, one space, a version. */
	if (m == 0 || !sp || last == sp || last == sp + 1 ||
	    memchr(sp + 1, ' ', (size_t)(last - sp - 1)) || vlen < 5 ||
	    memcmp(ver, "HTTP/", 5) != 0) {
		refuse(v, 400, "malformed request line: METHOD /target HTTP/1.1");
		return false;
	}
	if (vlen != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || (ver[7] != '0' && ver[7] != '1')) {
		refuse(v, 505, "HTTP/1.1 or HTTP/1.0 only");
		return false;
	}
	for (size_t i = 0; i < WH_ARRAY_LEN(methods) && !known; i++) {
		known = strlen(methods[i]) == m && memcmp(methods[i], p, m) == 0;
	}
	if (!known) {
		refuse(v, 501,
		       "method not implemented (the API takes GET, POST, PUT, PATCH, DELETE)");
		return false;
	}
	return true;
}

/* Every header line is NAME ":" value, the name a token right before the
 * colon (RFC 9112 §5.1: no space there; no line folding). */
static bool check_header_lines(const char *buf, size_t head, struct httpgate_verdict *v)
{
	const char *end = buf + head;

	for (const char *p = memchr(buf, '\n', head); p && p + 1 < end;
	     p = memchr(p + 1, '\n', (size_t)(end - p - 1))) {
		const char *line = p + 1;
		size_t n;

		if (*line == '\r' || *line == '\n') {
			return true; /* the empty line: the head's end */
		}
		n = token_len(line, end);
		if (n == 0 || line + n >= end || line[n] != ':') {
			refuse(v, 400,
			       "malformed header line (NAME: value, no space before the colon, "
			       "no folding)");
			return false;
		}
	}
	return true;
}

/* The body's length from Content-Length (none: 0), or -1 with v refused. */
static long long body_length(const char *buf, size_t head, struct httpgate_verdict *v)
{
	bool more;
	const char *cl;
	long long body = 0;

	if (header(buf, head, "Transfer-Encoding:", &more)) {
		refuse(v, 411, "Transfer-Encoding is not supported: send Content-Length");
		return -1;
	}
	cl = header(buf, head, "Content-Length:", &more);
	if (!cl) {
		return 0;
	}
	if (more) {
		refuse(v, 400, "more than one Content-Length");
		return -1;
	}
	if (*cl < '0' || *cl > '9') {
		refuse(v, 400, "Content-Length is not a number of bytes");
		return -1;
	}
	for (; *cl >= '0' && *cl <= '9'; cl++) {
		body = body * 10 + (*cl - '0');
		if (body > HTTPD_BODY_MAX) {
			refuse(v, 413, "request body too large (max 65536 bytes)");
			return -1;
		}
	}
	while (*cl == ' ' || *cl == '\t') {
		cl++;
	}
	if (*cl != '\r' && *cl != '\n') {
		refuse(v, 400, "Content-Length is not a number of bytes");
		return -1;
	}
	return body;
}

/* A request is its head and the body its Content-Length announces, with a
 * framing the gate can be sure of (httpgate.h). */
void httpgate_check(const char *buf, size_t len, struct httpgate_verdict *v)
{
	size_t head = head_end(buf, len < HTTPGATE_HEAD_MAX ? len : HTTPGATE_HEAD_MAX);
	const char *nl;
	long long body;

	memset(v, 0, sizeof(*v));
	if (!head) {
		if (len >= HTTPGATE_HEAD_MAX) {
			refuse(v, 431, "request head too large (max 16384 bytes)");
		}
		return;
	}
	nl = memchr(buf, '\n', head); /* there is one: the head ends with two */
	if (!check_request_line(buf, (size_t)(nl - buf) - (nl > buf && nl[-1] == '\r'), v) ||
	    !check_header_lines(buf, head, v) || (body = body_length(buf, head, v)) < 0) {
		return;
	}
	if (len >= head + (size_t)body) {
		v->end = len;
	}
}

/* A client that sent "Expect: 100-continue" waits for a word before it
 * sends the body; civetweb would say it only once it has the request. */
bool httpgate_wants_continue(const char *buf, size_t len)
{
	size_t head = head_end(buf, len < HTTPGATE_HEAD_MAX ? len : HTTPGATE_HEAD_MAX);
	const char *v;
	bool more;

	if (!head || head != len) {
		return false; /* no head yet, or the body has begun */
	}
	v = header(buf, head, "Expect:", &more);
	/* buf is not NUL-terminated: compare only what the head holds. */
	return v && (size_t)(buf + head - v) >= 12 && strncasecmp(v, "100-continue", 12) == 0;
}

/* ---- watchers ---- */

static void watch(struct ev_loop *loop, ev_io *w, int fd, int events)
{
	if (ev_is_active(w) && (w->events & (EV_READ | EV_WRITE)) == events) {
		return;
	}
	ev_io_stop(loop, w);
	if (fd >= 0 && events) {
		ev_io_set(w, fd, events);
		ev_io_start(loop, w);
	}
}

/* What each socket of c waits for, from its state. */
static void rewatch(struct gconn *c)
{
	struct ev_loop *loop = c->g->loop;
	int ce = 0, ue = 0;

	switch (c->state) {
	case GC_READING:
		ce = EV_READ;
		break;
	case GC_CONNECTING:
		ue = EV_WRITE;
		break;
	case GC_PIPING:
		ce = (c->is_client_eof ? 0 : EV_READ) | (c->ans_len > c->ans_off ? EV_WRITE : 0);
		ue = (c->req_sent < c->req_len ? EV_WRITE : 0) |
		     (!c->is_upstream_eof && c->ans_len < HTTPGATE_ANSWER_BUF ? EV_READ : 0);
		break;
	}
	watch(loop, &c->c_io, c->cfd, ce);
	watch(loop, &c->u_io, c->ufd, ue);
}

/* ---- connections ---- */

/* The last socket call only had to wait (errno). */
static bool is_again(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

static void conn_close(struct gconn *c)
{
	struct httpgate *g = c->g;

	ev_io_stop(g->loop, &c->c_io);
	ev_io_stop(g->loop, &c->u_io);
	if (c->cfd >= 0) {
		(void)shutdown(c->cfd, SHUT_WR);
		close(c->cfd);
	}
	if (c->ufd >= 0) {
		close(c->ufd);
	}
	*(c->prev ? &c->prev->next : &g->head) = c->next;
	*(c->next ? &c->next->prev : &g->tail) = c->prev;
	g->n_conns--;
	free(c->req);
	free(c->ans);
	free(c);
	if (!g->head) {
		ev_timer_stop(g->loop, &g->sweep); /* no wake-ups while idle */
	}
	if (g->is_stopping) {
		if (!g->head) {
			ev_break(g->loop, EVBREAK_ALL);
		}
	} else if (g->lfd >= 0 && !ev_is_active(&g->accept_io) && !ev_is_active(&g->emfile)) {
		ev_io_start(g->loop, &g->accept_io); /* a place is free */
	}
}

/* The client went away: reset civetweb's side too, so that its next write
 * (an event stream's) fails at once. */
static void conn_gone(struct gconn *c)
{
	struct linger now = {.l_onoff = 1, .l_linger = 0};

	if (c->ufd >= 0) {
		(void)setsockopt(c->ufd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
	}
	conn_close(c);
}

static const char *reason_of(int status)
{
	switch (status) {
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Bad Request";
	}
}

/* Answer with status and a JSON error of our own (best effort: the socket
 * is non-blocking and the answer small), then close. */
static void conn_refuse(struct gconn *c, int status, const char *reason, const char *message)
{
	char buf[384];
	char body[192];
	int bn = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", message);
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
			 status, reason, bn, body);

	if (n > 0 && (size_t)n < sizeof(buf)) {
		(void)send(c->cfd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	conn_close(c);
}

static void hand_over(struct gconn *c)
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->g->inner;

	c->state = GC_CONNECTING;
	c->since = ev_now(c->g->loop);
	c->ufd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->ufd < 0 ||
	    (connect(c->ufd, sa, addr_len(&c->g->inner)) != 0 && errno != EINPROGRESS)) {
		conn_refuse(c, 503, "Service Unavailable", "server busy, try again");
		return;
	}
	rewatch(c);
}

static void on_connected(struct gconn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 ||
	    !(c->ans = malloc(HTTPGATE_ANSWER_BUF))) {
		conn_refuse(c, 503, "Service Unavailable", "server busy, try again");
		return;
	}
	c->state = GC_PIPING;
	c->since = ev_now(c->g->loop);
	rewatch(c);
}

/* The client's bytes while its request is read; hands it over once whole. */
static void read_request(struct gconn *c)
{
	struct httpgate_verdict v;
	ssize_t n;

	if (c->req_len == c->req_cap) {
		size_t cap = c->req_cap ? c->req_cap * 2 : REQ_FIRST;
		char *p;

		cap = cap < REQ_MAX ? cap : REQ_MAX;
		p = cap > c->req_cap ? realloc(c->req, cap) : NULL;
		if (!p) {
			conn_refuse(c, 503, "Service Unavailable", "server busy, try again");
			return;
		}
		c->req = p;
		c->req_cap = cap;
	}
	n = recv(c->cfd, c->req + c->req_len, c->req_cap - c->req_len, 0);
	if (n < 0 && is_again()) {
		return;
	}
	if (n <= 0) {
		conn_close(c); /* gone before its request was whole */
		return;
	}
	c->req_len += (size_t)n;
	httpgate_check(c->req, c->req_len, &v);
	if (v.status) {
		log_drop(c, v.message);
		conn_refuse(c, v.status, reason_of(v.status), v.message);
	} else if (v.end || c->req_len == REQ_MAX) {
		hand_over(c);
	} else if (!c->is_continued && httpgate_wants_continue(c->req, c->req_len)) {
		static const char go_on[] = "HTTP/1.1 100 Continue\r\n\r\n";

		c->is_continued = true;
		(void)send(c->cfd, go_on, sizeof(go_on) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
}

static void client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct gconn *c = container_of(w, struct gconn, c_io);
	char sink[512];

	(void)loop;
	if (c->state == GC_READING) {
		read_request(c);
		return;
	}
	if (revents & EV_WRITE) {
		ssize_t n = send(c->cfd, c->ans + c->ans_off, c->ans_len - c->ans_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && !is_again()) {
			conn_gone(c);
			return;
		}
		if (n > 0) {
			c->ans_off += (size_t)n;
			c->since = ev_now(c->g->loop);
			if (c->ans_off == c->ans_len) {
				c->ans_off = c->ans_len = 0;
			}
		}
		if (c->is_upstream_eof && c->ans_off == c->ans_len) {
			conn_close(c); /* all of the answer is out */
			return;
		}
	}
	if (revents & EV_READ) {
		/* More than one request: civetweb serves one per connection. A
		 * half-close still gets its answer. */
		ssize_t n = recv(c->cfd, sink, sizeof(sink), MSG_DONTWAIT);

		if (n == 0) {
			c->is_client_eof = true;
		} else if (n < 0 && !is_again()) {
			conn_gone(c); /* reset */
			return;
		}
	}
	rewatch(c);
}

static void upstream_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct gconn *c = container_of(w, struct gconn, u_io);

	(void)loop;
	if (c->state == GC_CONNECTING) {
		on_connected(c);
		return;
	}
	if (revents & EV_WRITE) {
		ssize_t n = send(c->ufd, c->req + c->req_sent, c->req_len - c->req_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && !is_again()) {
			conn_close(c);
			return;
		}
		if (n > 0 && (c->req_sent += (size_t)n) == c->req_len) {
			free(c->req);
			c->req = NULL;
			c->req_len = c->req_sent = c->req_cap = 0;
		}
	}
	if (revents & EV_READ) {
		ssize_t n;

		if (c->ans_off > 0) {
			memmove(c->ans, c->ans + c->ans_off, c->ans_len - c->ans_off);
			c->ans_len -= c->ans_off;
			c->ans_off = 0;
		}
		n = recv(c->ufd, c->ans + c->ans_len, HTTPGATE_ANSWER_BUF - c->ans_len,
			 MSG_DONTWAIT);
		if (n > 0) {
			if (c->ans_len == 0) {
				c->since = ev_now(c->g->loop); /* the stall clock runs from here */
			}
			c->ans_len += (size_t)n;
		} else if (n == 0 || !is_again()) {
			c->is_upstream_eof = true;
			if (c->ans_off == c->ans_len) {
				conn_close(c);
				return;
			}
		}
	}
	rewatch(c);
}

/* ---- accepting ---- */

/* A full gate makes room by dropping the request that has been coming the
 * longest, if it has for HTTPGATE_EVICT_MS. */
static bool make_room(struct httpgate *g)
{
	ev_tstamp now = ev_now(g->loop);

	for (struct gconn *c = g->head; c; c = c->next) {
		if (c->state == GC_READING) {
			if (now - c->since < HTTPGATE_EVICT_MS / 1000.0) {
				return false; /* the oldest; the others are younger */
			}
			atomic_fetch_add_explicit(&g->n_slow, 1, memory_order_relaxed);
			log_drop(c, "408, a request still coming while the gate was full");
			conn_refuse(c, 408, "Request Timeout", "request too slow, others waiting");
			return true;
		}
	}
	return false;
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct httpgate *g = container_of(w, struct httpgate, accept_io);

	(void)revents;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t from_len;
		struct gconn *c;
		int fd;

		if (g->n_conns >= HTTPGATE_CONNS_MAX && !make_room(g)) {
			ev_io_stop(loop, &g->accept_io); /* the backlog holds them */
			return;
		}
		from_len = sizeof(from);
		fd = accept4(g->lfd, (struct sockaddr *)&from, &from_len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			if (e == ECONNABORTED || e == EINTR) {
				continue;
			}
			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
				/* Level-triggered: without a pause this would spin. */
				log_ratelimited(
					&g->log_bucket, monotime_now_us(), LOG_LEVEL_WARN,
					"api: cannot accept a connection (%s): new ones wait",
					strerror(e));
				ev_io_stop(loop, &g->accept_io);
				ev_timer_start(loop, &g->emfile);
			}
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		atomic_fetch_add_explicit(&g->n_accepted, 1, memory_order_relaxed);
		(void)addr_format((const struct sockaddr *)&from, c->peer, sizeof(c->peer));
		c->g = g;
		c->cfd = fd;
		c->ufd = -1;
		c->since = ev_now(loop);
		ev_init(&c->c_io, client_cb);
		ev_init(&c->u_io, upstream_cb);
		c->prev = g->tail;
		*(g->tail ? &g->tail->next : &g->head) = c;
		g->tail = c;
		g->n_conns++;
		if (!ev_is_active(&g->sweep)) {
			ev_timer_start(loop, &g->sweep);
		}
		rewatch(c);
	}
}

static void emfile_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct httpgate *g = container_of(w, struct httpgate, emfile);

	(void)revents;
	ev_io_start(loop, &g->accept_io);
}

/* Deadlines: a request not whole in time, an answer nobody takes; and a
 * full gate looks again for a request slow enough to drop. */
static void sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct httpgate *g = container_of(w, struct httpgate, sweep);
	ev_tstamp now = ev_now(loop);
	struct gconn *next;

	(void)revents;
	for (struct gconn *c = g->head; c; c = next) {
		next = c->next;
		if (c->state == GC_READING && now - c->since >= g->read_s) {
			atomic_fetch_add_explicit(&g->n_slow, 1, memory_order_relaxed);
			log_drop(c, "408, a request not whole in time");
			conn_refuse(c, 408, "Request Timeout", "request not received in time");
		} else if (c->state == GC_CONNECTING &&
			   now - c->since >= HTTPGATE_STALL_MS / 1000.0) {
			log_drop(c, "503, the API did not take a request in time");
			conn_refuse(c, 503, "Service Unavailable", "server busy, try again");
		} else if (c->state == GC_PIPING && c->ans_len > c->ans_off &&
			   now - c->since >= HTTPGATE_STALL_MS / 1000.0) {
			atomic_fetch_add_explicit(&g->n_unread, 1, memory_order_relaxed);
			log_drop(c, "dropped, an answer nobody read in time");
			conn_close(c); /* nobody reads the answer */
		} else if (c->state == GC_PIPING && c->is_client_eof) {
			/* A closed client reads as a half-closed one until the
			 * first write to it after its close comes back as a
			 * reset: look for that reset (a pending socket error;
			 * recv keeps saying end-of-file) here rather than at
			 * the next write. */
			int err = 0;
			socklen_t len = sizeof(err);

			if (getsockopt(c->cfd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
				conn_gone(c);
			}
		}
	}
	if (!g->is_stopping && !ev_is_active(&g->accept_io) && !ev_is_active(&g->emfile)) {
		ev_io_start(loop, &g->accept_io);
	}
}

/* ---- the thread ---- */

static void stop_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct httpgate *g = container_of(w, struct httpgate, stop_w);
	struct gconn *next;

	(void)revents;
	g->is_stopping = true;
	ev_io_stop(loop, &g->accept_io);
	ev_timer_stop(loop, &g->emfile);
	for (struct gconn *c = g->head; c; c = next) {
		next = c->next;
		if (c->state != GC_PIPING) {
			conn_refuse(c, 503, "Service Unavailable", "server stopping");
		}
	}
	if (!g->head) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	ev_timer_start(loop, &g->drain);
}

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void *gate_main(void *arg)
{
	struct httpgate *g = arg;

	ev_run(g->loop, 0);
	while (g->head) {
		conn_close(g->head);
	}
	return NULL;
}

struct httpgate *httpgate_open(const struct sockaddr_storage *addr, char *err, size_t err_len)
{
	struct httpgate *g = calloc(1, sizeof(*g));
	const struct sockaddr *sa = (const struct sockaddr *)addr;
	char text[ADDR_TEXT_MAX];
	int one = 1;

	addr_format(sa, text, sizeof(text));
	if (!g || !(g->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK))) {
		snprintf(err, err_len, "out of memory");
		free(g);
		return NULL;
	}
	g->lfd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->lfd < 0 || setsockopt(g->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (sa->sa_family == AF_INET6 &&
	     setsockopt(g->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(g->lfd, sa, addr_len(addr)) != 0 || listen(g->lfd, BACKLOG) != 0) {
		snprintf(err, err_len, "cannot listen on %s (%s)", text, strerror(errno));
		if (g->lfd >= 0) {
			close(g->lfd);
		}
		ev_loop_destroy(g->loop);
		free(g);
		return NULL;
	}
	ev_io_init(&g->accept_io, accept_cb, g->lfd, EV_READ);
	ev_timer_init(&g->sweep, sweep_cb, SWEEP_S, SWEEP_S);
	ev_timer_init(&g->emfile, emfile_cb, EMFILE_PAUSE_S, 0.);
	ev_timer_init(&g->drain, drain_cb, HTTPGATE_DRAIN_MS / 1000.0, 0.);
	ev_async_init(&g->stop_w, stop_cb);
	return g;
}

int httpgate_run(struct httpgate *g, const struct sockaddr_storage *inner, unsigned read_ms)
{
	sigset_t all, old;
	int rc;

	g->inner = *inner;
	g->read_s = (read_ms ? read_ms : HTTPGATE_READ_MS) / 1000.0;
	ev_io_start(g->loop, &g->accept_io);
	ev_async_start(g->loop, &g->stop_w);
	/* Signals stay with the daemon's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&g->thread, NULL, gate_main, g);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		ev_io_stop(g->loop, &g->accept_io);
		ev_async_stop(g->loop, &g->stop_w);
		return -rc;
	}
	g->has_thread = true;
	return 0;
}

void httpgate_stop(struct httpgate *g)
{
	if (!g) {
		return;
	}
	if (g->has_thread) {
		ev_async_send(g->loop, &g->stop_w);
		pthread_join(g->thread, NULL);
	}
	ev_io_stop(g->loop, &g->accept_io);
	ev_timer_stop(g->loop, &g->sweep);
	ev_timer_stop(g->loop, &g->emfile);
	ev_timer_stop(g->loop, &g->drain);
	ev_async_stop(g->loop, &g->stop_w);
	close(g->lfd);
	ev_loop_destroy(g->loop);
	free(g);
}

void httpgate_stats(const struct httpgate *g, struct httpgate_stats *out)
{
	out->connections = atomic_load_explicit(&g->n_accepted, memory_order_relaxed);
	out->slow_requests = atomic_load_explicit(&g->n_slow, memory_order_relaxed);
	out->unread_answers = atomic_load_explicit(&g->n_unread, memory_order_relaxed);
}
