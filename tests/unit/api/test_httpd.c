/* test_httpd: the HTTP core on loopback with a real libev loop in this
 * thread and raw-socket clients in another: answers now and later, the
 * 503 when the loop is too slow (and the late answer after it, which must
 * neither crash nor leak), a path of 5,000 "/", oversized and chunked
 * bodies, a foreign Host, a non-JSON body, an event stream whose reader
 * goes away, and the gate in front (httpgate.h): clients that hold more
 * connections than there are workers with requests that never end, a 408
 * for such a request, a body that comes later than its head, a client that
 * asks to be told to go on, one that half-closes, and a gate that ran out
 * of file descriptors. Uses sockets because
 * httpd is what wraps them. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>
#include <netinet/in.h>

#include "api/httpd.h"
#include "api/httpgate.h"
#include "api/httpstream.h"
#include "common/addr.h"
#include "common/compiler.h"

struct fixture {
	struct ev_loop *loop;
	struct httpd *h;
	uint16_t port;
	struct httpd_req *deferred; /* a request the handler answers later */
	struct httpstream *stream;
	int streams_closed;
	ev_timer later;
	ev_timer stream_tick;
	ev_timer guard;
	int ticks;
	/* client thread */
	const char *request;
	char reply[8192];
	bool done;
	ev_async client_done;
};

static void handler(void *ctx, struct httpd_req *rq)
{
	struct fixture *fx = ctx;

	if (strcmp(rq->path, "/slow") == 0) {
		fx->deferred = rq;
		return;
	}
	if (strcmp(rq->path, "/held") == 0) {
		fx->deferred = rq; /* answered by nobody: httpd_stop must clean up */
		ev_break(fx->loop, EVBREAK_ONE);
		return;
	}
	if (strcmp(rq->path, "/events") == 0) {
		fx->stream = httpstream_open(rq);
		return;
	}
	if (strcmp(rq->path, "/later") == 0) {
		fx->deferred = rq;
		ev_timer_set(&fx->later, 0.05, 0.);
		ev_timer_start(fx->loop, &fx->later);
		return;
	}
	if (strcmp(rq->path, "/allow") == 0) {
		assert_int_equal(httpd_add_header(rq, "Allow", "GET\r\nX-Evil: 1"), -EINVAL);
		assert_int_equal(httpd_add_header(rq, "Al low", "GET"), -EINVAL);
		assert_int_equal(httpd_add_header(rq, "Allow", "GET, PUT"), 0);
		assert_int_equal(httpd_respond_error(rq, 405, "method POST not allowed here", NULL),
				 0);
		return;
	}
	if (strcmp(rq->path, "/echo") == 0) {
		assert_int_equal(httpd_respond(rq, 200, "application/json", rq->body, rq->body_len,
					       "\"e1\""),
				 0);
		return;
	}
	assert_int_equal(httpd_respond_error(rq, 404, "no such thing", NULL), 0);
}

static void later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *fx = (struct fixture *)((char *)w - offsetof(struct fixture, later));

	(void)loop;
	(void)revents;
	assert_int_equal(httpd_respond(fx->deferred, 200, "application/json", "{}", 2, NULL), 0);
	fx->deferred = NULL;
}

static void stream_closed(void *ctx, struct httpstream *st)
{
	struct fixture *fx = ctx;

	assert_ptr_equal(st, fx->stream);
	httpstream_close(st);
	fx->stream = NULL;
	fx->streams_closed++;
	ev_break(fx->loop, EVBREAK_ONE);
}

static void client_done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ONE);
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ONE);
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {.tv_sec = 5};

	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&in, sizeof(in)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0) {
			return; /* the server may refuse before reading it all */
		}
		p += k;
		n -= (size_t)k;
	}
}

/* A whole reply: headers, then as many body bytes as Content-Length says
 * (no Content-Length: read until the server closes). */
static bool is_reply_complete(const char *reply)
{
	const char *end = strstr(reply, "\r\n\r\n");
	const char *cl = strcasestr(reply, "\r\nContent-Length:");

	if (!end || !cl || cl > end) {
		return false;
	}
	return strlen(end + 4) >= strtoul(cl + 17, NULL, 10);
}

static void *client_main(void *arg)
{
	struct fixture *fx = arg;
	int fd = connect_to(fx->port);
	size_t used = 0;

	if (fd >= 0) {
		send_all(fd, fx->request, strlen(fx->request));
		for (int i = 0; i < 1000 && used < sizeof(fx->reply) - 1; i++) {
			ssize_t k = recv(fd, fx->reply + used, sizeof(fx->reply) - 1 - used, 0);
			if (k <= 0) {
				break;
			}
			used += (size_t)k;
			fx->reply[used] = '\0';
			if (is_reply_complete(fx->reply)) {
				break; /* not waiting for the server to close */
			}
		}
		close(fd);
	}
	fx->reply[used] = '\0';
	ev_async_send(fx->loop, &fx->client_done);
	return NULL;
}

/* Send request from another thread, run the loop until the reply is in. */
static const char *exchange(struct fixture *fx, const char *request)
{
	pthread_t t;

	fx->request = request;
	fx->reply[0] = '\0';
	ev_timer_set(&fx->guard, 15., 0.);
	ev_timer_start(fx->loop, &fx->guard);
	assert_int_equal(pthread_create(&t, NULL, client_main, fx), 0);
	ev_run(fx->loop, 0);
	pthread_join(t, NULL);
	ev_timer_stop(fx->loop, &fx->guard);
	return fx->reply;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct httpd_config cfg = {.handler = handler, .on_stream_closed = stream_closed};
	char listen[32];
	char err[128];

	fx->loop = ev_loop_new(EVFLAG_AUTO);
	cfg.ctx = fx;
	cfg.answer_timeout_ms = 300;
	cfg.read_timeout_ms = 1000;
	for (fx->port = 47311; fx->port < 47400 && !fx->h; fx->port += 7) {
		snprintf(listen, sizeof(listen), "127.0.0.1:%u", fx->port);
		assert_int_equal(addr_parse(listen, &cfg.listen, NULL), 0);
		fx->h = httpd_start(fx->loop, &cfg, err, sizeof(err));
	}
	fx->port -= 7;
	assert_non_null(fx->h);
	ev_async_init(&fx->client_done, client_done_cb);
	ev_async_start(fx->loop, &fx->client_done);
	ev_timer_init(&fx->later, later_cb, 0.05, 0.);
	ev_timer_init(&fx->guard, guard_cb, 15., 0.);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	httpd_stop(fx->h);
	ev_async_stop(fx->loop, &fx->client_done);
	ev_timer_stop(fx->loop, &fx->later);
	ev_loop_destroy(fx->loop);
	free(fx);
	return 0;
}

static char *req(struct fixture *fx, const char *fmt, const char *path)
	__attribute__((format(printf, 2, 0)));
static char *req(struct fixture *fx, const char *fmt, const char *path)
{
	static char buf[16384];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(buf, sizeof(buf), fmt, path, fx->port);
#pragma GCC diagnostic pop
	return buf;
}

static void test_httpd_answers_a_json_body_with_its_etag(void **state)
{
	struct fixture *fx = *state;
	const char *r =
		exchange(fx, req(fx,
				 "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
				 "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n"
				 "{\"a\":1}",
				 "/echo"));

	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "ETag: \"e1\""));
	assert_non_null(strstr(r, "\r\n\r\n{\"a\":1}"));
}

/* RFC 9110 §15.5.6: a 405 carries Allow; a header value cannot smuggle
 * another header in. */
static void test_httpd_answers_extra_headers_such_as_allow(void **state)
{
	struct fixture *fx = *state;
	const char *r =
		exchange(fx, req(fx,
				 "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
				 "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n"
				 "{}",
				 "/allow"));

	assert_non_null(strstr(r, "HTTP/1.1 405"));
	assert_non_null(strstr(r, "\r\nAllow: GET, PUT\r\n"));
	assert_null(strstr(r, "X-Evil"));
	assert_null(strstr(r, "Al low"));
	/* Only the answer it was added to has it. */
	r = exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/nothing"));
	assert_non_null(strstr(r, "HTTP/1.1 404"));
	assert_null(strstr(r, "Allow:"));
}

static void test_httpd_accepts_localhost_on_loopback_and_refuses_other_hosts(void **state)
{
	struct fixture *fx = *state;

	assert_non_null(strstr(
		exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: localhost:%u\r\n\r\n", "/nothing")),
		"HTTP/1.1 404"));
	assert_non_null(strstr(
		exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: evil.example:%u\r\n\r\n", "/echo")),
		"HTTP/1.1 421"));
}

static void test_httpd_answers_later_from_the_loop(void **state)
{
	struct fixture *fx = *state;
	const char *r =
		exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/later"));

	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_null(fx->deferred);
}

static void test_httpd_gives_503_when_the_loop_is_late_and_drops_the_late_answer(void **state)
{
	struct fixture *fx = *state;
	const char *r =
		exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/slow"));

	assert_non_null(strstr(r, "HTTP/1.1 503"));
	assert_non_null(strstr(r, "{\"error\":"));
	assert_non_null(fx->deferred);
	assert_int_equal(httpd_respond(fx->deferred, 200, "application/json", "{}", 2, NULL),
			 -ETIMEDOUT);
	fx->deferred = NULL;
}

static void test_httpd_answers_404_to_5000_slashes_and_keeps_serving(void **state)
{
	struct fixture *fx = *state;
	char path[5001];
	const char *r;

	memset(path, '/', 5000);
	path[5000] = '\0';
	r = exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", path));
	assert_non_null(strstr(r, "HTTP/1.1 404"));
	r = exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/a//b"));
	assert_non_null(strstr(r, "HTTP/1.1 404"));
	r = exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/later"));
	assert_non_null(strstr(r, "HTTP/1.1 200"));
}

static void test_httpd_refuses_big_chunked_and_non_json_bodies(void **state)
{
	struct fixture *fx = *state;

	assert_non_null(strstr(exchange(fx, req(fx,
						"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
						"Content-Type: application/json\r\n"
						"Content-Length: 2000000\r\n\r\n{",
						"/echo")),
			       "HTTP/1.1 413"));
	assert_non_null(
		strstr(exchange(fx, req(fx,
					"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
					"Content-Type: application/json\r\n"
					"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
					"/echo")),
		       "HTTP/1.1 411"));
	assert_non_null(
		strstr(exchange(fx, req(fx,
					"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
					"Content-Type: application/x-www-form-urlencoded\r\n"
					"Content-Length: 3\r\n\r\na=b",
					"/echo")),
		       "HTTP/1.1 415"));
}

static void stream_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *fx = (struct fixture *)((char *)w - offsetof(struct fixture, stream_tick));
	char ev[64];

	(void)loop;
	(void)revents;
	if (!fx->stream) {
		return;
	}
	snprintf(ev, sizeof(ev), "{\"n\": %d}", ++fx->ticks);
	/* A name that could forge another field is refused, and queues nothing. */
	assert_int_equal(httpstream_send(fx->stream, "tick\ndata: x", ev), -EINVAL);
	(void)httpstream_send(fx->stream, "tick", ev);
	if (fx->ticks == 2) {
		(void)httpstream_send(fx->stream, NULL, "line 1\nline 2");
	}
}

static void *stream_client(void *arg)
{
	struct fixture *fx = arg;
	int fd = connect_to(fx->port);
	size_t used = 0;

	if (fd >= 0) {
		send_all(fd, fx->request, strlen(fx->request));
		/* Read until three events are in, then hang up. */
		for (int i = 0; i < 200 && used < sizeof(fx->reply) - 1; i++) {
			ssize_t k = recv(fd, fx->reply + used, sizeof(fx->reply) - 1 - used, 0);
			if (k <= 0) {
				break;
			}
			used += (size_t)k;
			fx->reply[used] = '\0';
			if (strstr(fx->reply, "{\"n\": 3}")) {
				break;
			}
		}
		close(fd);
	}
	fx->reply[used] = '\0';
	return NULL;
}

static void test_httpd_streams_events_until_the_reader_leaves(void **state)
{
	struct fixture *fx = *state;
	pthread_t t;

	fx->request = req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/events");
	ev_timer_init(&fx->stream_tick, stream_tick_cb, 0.02, 0.02);
	ev_timer_start(fx->loop, &fx->stream_tick);
	ev_timer_set(&fx->guard, 15., 0.);
	ev_timer_start(fx->loop, &fx->guard);
	assert_int_equal(pthread_create(&t, NULL, stream_client, fx), 0);
	ev_run(fx->loop, 0); /* ends when the loop hears the stream closed */
	pthread_join(t, NULL);
	ev_timer_stop(fx->loop, &fx->stream_tick);
	ev_timer_stop(fx->loop, &fx->guard);
	assert_non_null(strstr(fx->reply, "Content-Type: text/event-stream"));
	assert_non_null(strstr(fx->reply, "\r\n\r\nevent: tick\ndata: {\"n\": 1}\n\n"));
	assert_null(strstr(fx->reply, "data: x"));
	assert_non_null(strstr(fx->reply, "}\n\ndata: line 1\ndata: line 2\n\nevent: tick\n"));
	assert_int_equal(fx->streams_closed, 1);
	assert_null(fx->stream);
}

#define BURST 1000

/* Once the stream is open: BURST events in one go, far faster than any
 * reader can write them out. */
static void burst_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *fx = (struct fixture *)((char *)w - offsetof(struct fixture, stream_tick));
	char ev[64];

	(void)revents;
	if (!fx->stream || fx->ticks > 0) {
		return;
	}
	for (fx->ticks = 1; fx->ticks <= BURST; fx->ticks++) {
		snprintf(ev, sizeof(ev), "{\"n\": %d}", fx->ticks);
		assert_int_equal(httpstream_send(fx->stream, NULL, ev), 0);
	}
	ev_timer_stop(loop, w);
}

/* Read the stream until the last event; note whether a gap was reported. */
static void *burst_client(void *arg)
{
	struct fixture *fx = arg;
	static char buf[1 << 17];
	int fd = connect_to(fx->port);
	size_t used = 0;
	char last[32];

	snprintf(last, sizeof(last), "data: {\"n\": %d}\n", BURST);
	fx->reply[0] = '\0';
	if (fd >= 0) {
		send_all(fd, fx->request, strlen(fx->request));
		for (int i = 0; i < 10000 && used < sizeof(buf) - 1; i++) {
			ssize_t k = recv(fd, buf + used, sizeof(buf) - 1 - used, 0);
			if (k <= 0) {
				break;
			}
			used += (size_t)k;
			buf[used] = '\0';
			if (strstr(buf, last)) {
				break;
			}
		}
		close(fd);
	}
	buf[used] = '\0';
	snprintf(fx->reply, sizeof(fx->reply), "%s%s", strstr(buf, last) ? "last " : "",
		 strstr(buf, "event: gap\ndata: {\"dropped\": ") ? "gap" : "");
	return NULL;
}

static void test_httpd_stream_drops_the_oldest_for_a_slow_reader_and_says_so(void **state)
{
	struct fixture *fx = *state;
	pthread_t t;

	fx->ticks = 0;
	fx->streams_closed = 0;
	fx->request = req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/events");
	ev_timer_init(&fx->stream_tick, burst_tick_cb, 0.01, 0.01);
	ev_timer_start(fx->loop, &fx->stream_tick);
	ev_timer_set(&fx->guard, 15., 0.);
	ev_timer_start(fx->loop, &fx->guard);
	assert_int_equal(pthread_create(&t, NULL, burst_client, fx), 0);
	ev_run(fx->loop, 0); /* ends when the loop hears the stream closed */
	pthread_join(t, NULL);
	ev_timer_stop(fx->loop, &fx->stream_tick);
	ev_timer_stop(fx->loop, &fx->guard);
	/* The newest event always arrives; the loop never waited for the reader. */
	assert_string_equal(fx->reply, "last gap");
	assert_int_equal(fx->streams_closed, 1);
}

#define HOGS (HTTPGATE_CONNS_MAX + 40)
#define PARTIAL "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len"

/* A connection that starts a request and never ends it (partial), or that
 * never sends a byte (its connect not even waited for). */
static int open_hog(uint16_t port, bool partial)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd;

	if (partial) {
		fd = connect_to(port);
		if (fd >= 0) {
			send_all(fd, PARTIAL, strlen(PARTIAL));
		}
		return fd;
	}
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd >= 0) {
		(void)connect(fd, (struct sockaddr *)&in, sizeof(in));
	}
	return fd;
}

static void test_httpd_serves_while_slow_clients_hold_more_connections_than_it_has(void **state)
{
	struct fixture *fx = *state;
	int hogs[HOGS];

	/* civetweb alone gave each of these a worker until its 10 s request
	 * timeout: the request below waited behind them for minutes. */
	for (int i = 0; i < HOGS; i++) {
		hogs[i] = open_hog(fx->port, i % 3 == 0);
		assert_true(hogs[i] >= 0);
	}
	assert_non_null(strstr(
		exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/nothing")),
		"HTTP/1.1 404"));
	assert_non_null(strstr(exchange(fx, req(fx,
						"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
						"Content-Type: application/json\r\n"
						"Content-Length: 2\r\n\r\n{}",
						"/echo")),
			       "\r\n\r\n{}"));
	for (int i = 0; i < HOGS; i++) {
		close(hogs[i]);
	}
}

static void test_httpd_answers_408_to_a_request_that_does_not_come_whole(void **state)
{
	struct fixture *fx = *state;
	int fd = open_hog(fx->port, true);
	char reply[512];
	ssize_t n;

	assert_true(fd >= 0);
	n = recv(fd, reply, sizeof(reply) - 1, 0); /* the gate answers, not the loop */
	assert_true(n > 0);
	reply[n] = '\0';
	assert_non_null(strstr(reply, "HTTP/1.1 408"));
	assert_non_null(strstr(reply, "{\"error\":"));
	close(fd);
}

/* Heads whose body the gate cannot frame for sure, more of them than civetweb
 * has workers: each gets its JSON error from the gate at once, with no body
 * sent (handed over, each held a worker for civetweb's 10 s timeout, and the
 * API hung for everyone), and the API keeps serving. */
static void test_httpd_gate_refuses_unsure_framing_without_holding_a_worker(void **state)
{
	static const char *const heads[] = {
		"Content-Length: +10\r\n",
		"Content-Length : 10\r\n",
		"Content-Length: 10\r\nContent-Length: 10\r\n",
		"Transfer-Encoding: chunked\r\n",
		"Content-Length: 99999999\r\n",
	};
	static const char *const statuses[] = {"400", "400", "400", "411", "413"};
	struct fixture *fx = *state;
	int fds[HTTPD_THREADS + 2];
	char head[256];
	char reply[512];

	for (size_t i = 0; i < WH_ARRAY_LEN(fds); i++) {
		size_t k = i % WH_ARRAY_LEN(heads);

		fds[i] = connect_to(fx->port);
		assert_true(fds[i] >= 0);
		snprintf(head, sizeof(head),
			 "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
			 "Content-Type: application/json\r\n%s\r\n",
			 fx->port, heads[k]);
		send_all(fds[i], head, strlen(head));
	}
	for (size_t i = 0; i < WH_ARRAY_LEN(fds); i++) {
		ssize_t n = recv(fds[i], reply, sizeof(reply) - 1, 0);

		assert_true(n > 0); /* at once: SO_RCVTIMEO would end a wait at 5 s */
		reply[n] = '\0';
		assert_true(strncmp(reply + 9, statuses[i % WH_ARRAY_LEN(heads)], 3) == 0);
		assert_non_null(strstr(reply, "\r\n\r\n{\"error\":"));
		close(fds[i]);
	}
	fds[0] = connect_to(fx->port);
	send_all(fds[0], "TRACE / HTTP/1.1\r\n\r\n", 20);
	assert_true(recv(fds[0], reply, sizeof(reply) - 1, 0) > 0);
	assert_true(strncmp(reply, "HTTP/1.1 501 ", 13) == 0);
	close(fds[0]);
	assert_non_null(strstr(
		exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/nothing")),
		"HTTP/1.1 404"));
}

/* The head, then after a pause the body, then a half-close; with "Expect:
 * 100-continue" the body waits for the word to go on. */
static void *split_client(void *arg)
{
	struct fixture *fx = arg;
	bool expect = fx->ticks;
	char head[256];
	int fd = connect_to(fx->port);
	size_t used = 0;

	snprintf(head, sizeof(head),
		 "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
		 "Content-Type: application/json\r\nContent-Length: 7\r\n%s\r\n",
		 fx->port, expect ? "Expect: 100-continue\r\n" : "");
	if (fd >= 0) {
		send_all(fd, head, strlen(head));
		if (expect) {
			ssize_t k = recv(fd, fx->reply, sizeof(fx->reply) - 1, 0);

			used = k > 0 ? (size_t)k : 0;
			fx->reply[used] = '\0';
		} else {
			usleep(200 * 1000);
		}
		send_all(fd, "{\"a\":1}", 7);
		shutdown(fd, SHUT_WR);
		for (int i = 0; i < 1000 && used < sizeof(fx->reply) - 1; i++) {
			ssize_t k = recv(fd, fx->reply + used, sizeof(fx->reply) - 1 - used, 0);
			if (k <= 0) {
				break;
			}
			used += (size_t)k;
		}
		close(fd);
	}
	fx->reply[used] = '\0';
	ev_async_send(fx->loop, &fx->client_done);
	return NULL;
}

static void test_httpd_waits_for_a_late_body_and_answers_a_half_close(void **state)
{
	struct fixture *fx = *state;
	pthread_t t;

	for (fx->ticks = 0; fx->ticks < 2; fx->ticks++) {
		fx->reply[0] = '\0';
		ev_timer_set(&fx->guard, 15., 0.);
		ev_timer_start(fx->loop, &fx->guard);
		assert_int_equal(pthread_create(&t, NULL, split_client, fx), 0);
		ev_run(fx->loop, 0);
		pthread_join(t, NULL);
		ev_timer_stop(fx->loop, &fx->guard);
		assert_non_null(strstr(fx->reply, "HTTP/1.1 200"));
		assert_non_null(strstr(fx->reply, "\r\n\r\n{\"a\":1}"));
		if (fx->ticks) {
			assert_true(strncmp(fx->reply, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
		}
	}
	fx->ticks = 0;
}

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 4096; fd++) {
		n += fcntl(fd, F_GETFD) != -1;
	}
	return n;
}

/* Out of file descriptors, accept fails at once and the listening socket
 * stays readable: the gate pauses, and serves again once there are some. */
static void test_httpd_serves_again_after_running_out_of_file_descriptors(void **state)
{
	struct fixture *fx = *state;
	struct rlimit old, low;
	int hogs[64];
	int n;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)open_fds() + 40;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	for (n = 0; n < 64; n++) {
		hogs[n] = open_hog(fx->port, false);
		if (hogs[n] < 0) {
			break; /* the gate's accepts took the rest */
		}
	}
	usleep(300 * 1000);
	for (int i = 0; i < n; i++) {
		close(hogs[i]);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(n < 64);
	assert_non_null(strstr(
		exchange(fx, req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/nothing")),
		"HTTP/1.1 404"));
}

static void test_httpd_stop_answers_what_the_loop_still_holds(void **state)
{
	void *mine = NULL;
	struct fixture *fx;
	pthread_t t;

	(void)state;
	assert_int_equal(setup(&mine), 0);
	fx = mine;
	fx->request = req(fx, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", "/held");
	ev_timer_set(&fx->guard, 15., 0.);
	ev_timer_start(fx->loop, &fx->guard);
	assert_int_equal(pthread_create(&t, NULL, client_main, fx), 0);
	ev_run(fx->loop, 0); /* until the handler holds the request */
	ev_timer_stop(fx->loop, &fx->guard);
	assert_non_null(fx->deferred);
	httpd_stop(fx->h); /* the worker answers 503; the held request is freed */
	fx->h = NULL;
	fx->deferred = NULL;
	pthread_join(t, NULL);
	assert_non_null(strstr(fx->reply, "HTTP/1.1 503"));
	assert_non_null(strstr(fx->reply, "server stopping"));
	assert_int_equal(teardown(&mine), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_httpd_answers_a_json_body_with_its_etag),
		cmocka_unit_test(test_httpd_answers_extra_headers_such_as_allow),
		cmocka_unit_test(test_httpd_accepts_localhost_on_loopback_and_refuses_other_hosts),
		cmocka_unit_test(test_httpd_answers_later_from_the_loop),
		cmocka_unit_test(
			test_httpd_gives_503_when_the_loop_is_late_and_drops_the_late_answer),
		cmocka_unit_test(test_httpd_answers_404_to_5000_slashes_and_keeps_serving),
		cmocka_unit_test(test_httpd_refuses_big_chunked_and_non_json_bodies),
		cmocka_unit_test(test_httpd_streams_events_until_the_reader_leaves),
		cmocka_unit_test(test_httpd_stream_drops_the_oldest_for_a_slow_reader_and_says_so),
		cmocka_unit_test(
			test_httpd_serves_while_slow_clients_hold_more_connections_than_it_has),
		cmocka_unit_test(test_httpd_answers_408_to_a_request_that_does_not_come_whole),
		cmocka_unit_test(test_httpd_gate_refuses_unsure_framing_without_holding_a_worker),
		cmocka_unit_test(test_httpd_waits_for_a_late_body_and_answers_a_half_close),
		cmocka_unit_test(test_httpd_serves_again_after_running_out_of_file_descriptors),
		cmocka_unit_test(test_httpd_stop_answers_what_the_loop_still_holds),
	};
	/* One server for the whole group: civetweb takes seconds to stop. */
	return cmocka_run_group_tests(tests, setup, teardown);
}
