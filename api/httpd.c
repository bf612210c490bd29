/* httpd: the gate in front (httpgate.c: requests read whole on a thread of
 * its own), civetweb threads behind it on a private loopback port, and the
 * daemon's libev loop behind those.
 *
 * A civetweb worker checks the request (target shape, Host, body framing,
 * size and type), reads the body, queues an item and wakes the loop with
 * ev_async_send; then it waits on a condition variable until the loop has
 * answered or HTTPD_ANSWER_TIMEOUT_MS passed (503), and writes the answer.
 * Nothing here touches loop state from a worker: the loop side only runs in
 * async_cb, httpd_respond, httpstream_* and httpd_stop.
 *
 * Ownership: an item has two references, the worker's and the loop's, both
 * counted under h->mu; whoever drops the last one frees it. So a worker that
 * timed out and a loop answering late never touch freed memory. Streams work
 * the same way (reader thread + loop). Must not: serve files, parse forms,
 * or call the handler from a worker. */
#include "api/httpd.h"

#include "api/httpcheck.h"
#include "api/httpd_internal.h"
#include "api/httpgate.h"
#include "api/httpstream.h"
#include "common/addr.h"
#include "common/compiler.h"

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STOP_DRAIN_MS 2000 /* httpd_stop waits at most this for workers' last writes */

void httpd_item_free(struct httpd_item *it)
{
	free(it->rq.body);
	free(it->answer);
	free(it);
}

bool httpd_item_unref_locked(struct httpd_item *it)
{
	return --it->refs == 0;
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 421:
		return "Misdirected Request";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

/* Write a whole response from a worker thread. headers: NULL, or more
 * header lines, each ending in CRLF (httpd_add_header). */
static void write_answer(struct mg_connection *conn, int status, const char *ctype,
			 const char *body, size_t len, const char *etag, const char *headers)
{
	mg_printf(conn,
		  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		  "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s%s%s%s"
		  "Connection: close\r\n\r\n",
		  status, status_text(status), ctype, len, etag ? "ETag: " : "", etag ? etag : "",
		  etag ? "\r\n" : "", headers ? headers : "");
	if (len > 0) {
		mg_write(conn, body, len);
	}
}

static char *json_error(const char *message, size_t *len)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (o && cJSON_AddStringToObject(o, "error", message)) {
		text = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(o);
	*len = text ? strlen(text) : 0;
	return text;
}

static void write_error(struct mg_connection *conn, int status, const char *message)
{
	size_t len;
	char *body = json_error(message, &len);

	if (body) {
		write_answer(conn, status, "application/json", body, len, NULL, NULL);
	} else {
		write_answer(conn, status, "application/json", "{\"error\":\"\"}", 11, NULL, NULL);
	}
	free(body);
}

static void copy_header(const struct mg_connection *conn, const char *name, char *out, size_t size)
{
	const char *v = mg_get_header(conn, name);

	snprintf(out, size, "%s", v ? v : "");
}

/* The checks that need no loop: the answer status, or 0 to go on. */
static int precheck(struct httpd *h, struct mg_connection *conn, char path[HTTPD_URI_MAX + 1],
		    const char **why)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *host = mg_get_header(conn, "Host");
	const char *te = mg_get_header(conn, "Transfer-Encoding");

	if (!httpcheck_target(ri->request_uri) || !httpcheck_target(ri->local_uri_raw)) {
		*why = "not found";
		return 404;
	}
	if (!httpcheck_decode_path(ri->local_uri_raw, path, HTTPD_URI_MAX + 1)) {
		*why = "bad percent-encoding in the path (an escape of NUL, '/' or a control "
		       "character, or not two hex digits)";
		return 400;
	}
	if (!httpcheck_host(host, h->hosts, h->n_hosts)) {
		*why = "Host header does not name this server";
		return 421;
	}
	if (te) {
		*why = "Transfer-Encoding is not supported: send Content-Length";
		return 411;
	}
	if (ri->content_length > HTTPD_BODY_MAX) {
		*why = "request body too large (max 65536 bytes)";
		return 413;
	}
	if (ri->content_length > 0 && !httpcheck_json_type(mg_get_header(conn, "Content-Type"))) {
		*why = "Content-Type must be application/json";
		return 415;
	}
	return 0;
}

static int read_body(struct mg_connection *conn, struct httpd_item *it)
{
	long long want = mg_get_request_info(conn)->content_length;
	size_t got = 0;

	if (want < 0) {
		want = 0;
	}
	it->rq.body = malloc((size_t)want + 1);
	if (!it->rq.body) {
		return -ENOMEM;
	}
	/* Bounded: at most want bytes, and civetweb's request timeout ends a
	 * slow sender. */
	while (got < (size_t)want) {
		int n = mg_read(conn, it->rq.body + got, (size_t)want - got);
		if (n <= 0) {
			return -EIO;
		}
		got += (size_t)n;
	}
	it->rq.body[got] = '\0';
	it->rq.body_len = got;
	return 0;
}

static struct httpd_item *item_new(struct httpd *h, struct mg_connection *conn, const char *path)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct httpd_item *it = calloc(1, sizeof(*it));

	if (!it) {
		return NULL;
	}
	it->h = h;
	it->refs = 2;
	snprintf(it->rq.method, sizeof(it->rq.method), "%s", ri->request_method);
	snprintf(it->rq.path, sizeof(it->rq.path), "%s", path);
	snprintf(it->rq.query, sizeof(it->rq.query), "%s",
		 ri->query_string ? ri->query_string : "");
	copy_header(conn, "Authorization", it->rq.authorization, sizeof(it->rq.authorization));
	copy_header(conn, "If-Match", it->rq.if_match, sizeof(it->rq.if_match));
	copy_header(conn, "Content-Type", it->rq.content_type, sizeof(it->rq.content_type));
	return it;
}

static void enqueue(struct httpd *h, struct httpd_item *it)
{
	if (h->q_tail) {
		h->q_tail->next = it;
	} else {
		h->q_head = it;
	}
	h->q_tail = it;
}

void httpd_abstime_after_ms(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Worker: wait for the loop's answer (or give up), then write it. */
static void wait_and_answer(struct httpd *h, struct mg_connection *conn, struct httpd_item *it)
{
	struct timespec deadline;
	struct httpstream *st = NULL;
	bool must_free;
	bool is_stopping;
	int rc = 0;

	httpd_abstime_after_ms(&deadline, h->cfg.answer_timeout_ms);
	pthread_mutex_lock(&h->mu);
	while (!it->is_answered && !h->is_stopping && rc != ETIMEDOUT) {
		rc = pthread_cond_timedwait(&h->cond, &h->mu, &deadline);
	}
	if (!it->is_answered) {
		it->is_abandoned = true;
	}
	st = it->stream;
	is_stopping = h->is_stopping;
	pthread_mutex_unlock(&h->mu);

	if (!it->is_answered) {
		write_error(conn, 503, is_stopping ? "server stopping" : "no answer in time");
	} else if (st) {
		httpstream_serve(h, conn, st);
	} else {
		write_answer(conn, it->status, it->content_type, it->answer, it->answer_len,
			     it->etag[0] ? it->etag : NULL, it->headers);
	}
	pthread_mutex_lock(&h->mu);
	must_free = httpd_item_unref_locked(it);
	h->n_busy--;
	if (h->is_stopping) {
		pthread_cond_broadcast(&h->cond); /* httpd_stop waits for n_busy == 0 */
	}
	pthread_mutex_unlock(&h->mu);
	if (must_free) {
		httpd_item_free(it);
	}
}

static int begin_request_cb(struct mg_connection *conn)
{
	struct httpd *h = mg_get_user_data(mg_get_context(conn));
	const char *why = "";
	char path[HTTPD_URI_MAX + 1]; /* percent-decoded by precheck */
	struct httpd_item *it;
	int status = precheck(h, conn, path, &why);

	if (status != 0) {
		write_error(conn, status, why);
		return status;
	}
	it = item_new(h, conn, path);
	if (!it) {
		write_error(conn, 503, "out of memory");
		return 503;
	}
	if (read_body(conn, it) != 0) {
		write_error(conn, 400, "incomplete request body");
		httpd_item_free(it);
		return 400;
	}
	pthread_mutex_lock(&h->mu);
	if (h->is_stopping) {
		pthread_mutex_unlock(&h->mu);
		httpd_item_free(it);
		write_error(conn, 503, "server stopping");
		return 503;
	}
	enqueue(h, it);
	h->n_busy++;
	pthread_mutex_unlock(&h->mu);
	ev_async_send(h->loop, &h->wake);
	wait_and_answer(h, conn, it);
	return 200;
}

static int log_message_cb(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	(void)message;
	return 1; /* civetweb's own messages are not ours to print from its threads */
}

/* ---- loop side ---- */

static void held_add(struct httpd *h, struct httpd_item *it)
{
	it->held_prev = NULL;
	it->held_next = h->held;
	if (h->held) {
		h->held->held_prev = it;
	}
	h->held = it;
}

void httpd_held_del(struct httpd *h, struct httpd_item *it)
{
	if (it->held_prev) {
		it->held_prev->held_next = it->held_next;
	} else {
		h->held = it->held_next;
	}
	if (it->held_next) {
		it->held_next->held_prev = it->held_prev;
	}
	it->held_prev = it->held_next = NULL;
}

void httpd_live_del(struct httpd *h, struct httpstream *st)
{
	if (st->live_prev) {
		st->live_prev->live_next = st->live_next;
	} else if (h->live == st) {
		h->live = st->live_next;
	}
	if (st->live_next) {
		st->live_next->live_prev = st->live_prev;
	}
	st->live_prev = st->live_next = NULL;
}

/* Take at most this many requests per wake-up; the rest wait for the next. */
#define ASYNC_BATCH 64

static void async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct httpd *h = container_of(w, struct httpd, wake);
	struct httpstream *gone;
	int n = 0;

	(void)revents;
	/* One at a time: the owner's callback may close other streams. */
	for (int k = 0; k < ASYNC_BATCH; k++) {
		pthread_mutex_lock(&h->mu);
		gone = h->gone;
		if (gone) {
			h->gone = gone->next_gone;
			gone->next_gone = NULL;
		}
		pthread_mutex_unlock(&h->mu);
		if (!gone) {
			break;
		}
		if (h->cfg.on_stream_closed) {
			h->cfg.on_stream_closed(h->cfg.ctx, gone);
		} else {
			httpstream_close(gone);
		}
	}
	for (; n < ASYNC_BATCH; n++) {
		struct httpd_item *it;
		bool is_abandoned;

		pthread_mutex_lock(&h->mu);
		it = h->q_head;
		if (it) {
			h->q_head = it->next;
			h->q_tail = h->q_head ? h->q_tail : NULL;
			it->next = NULL;
		}
		is_abandoned = it && it->is_abandoned;
		if (is_abandoned && httpd_item_unref_locked(it)) {
			pthread_mutex_unlock(&h->mu);
			httpd_item_free(it);
			continue;
		}
		pthread_mutex_unlock(&h->mu);
		if (!it) {
			break;
		}
		if (is_abandoned) {
			continue;
		}
		h->n_requests++;
		held_add(h, it);
		h->cfg.handler(h->cfg.ctx, &it->rq);
	}
	if (n == ASYNC_BATCH) {
		ev_async_send(loop, &h->wake);
	}
}

int httpd_respond(struct httpd_req *rq, int status, const char *content_type, const char *body,
		  size_t len, const char *etag)
{
	struct httpd_item *it = container_of(rq, struct httpd_item, rq);
	struct httpd *h = it->h;
	char *copy = malloc(len + 1);
	bool is_late;
	bool must_free;

	httpd_held_del(h, it);
	if (copy && len > 0) {
		memcpy(copy, body, len);
	}
	pthread_mutex_lock(&h->mu);
	is_late = it->is_abandoned;
	if (!is_late) {
		it->status = copy ? status : 503;
		snprintf(it->content_type, sizeof(it->content_type), "%s", content_type);
		snprintf(it->etag, sizeof(it->etag), "%s", copy && etag ? etag : "");
		if (!copy) {
			it->headers[0] = '\0'; /* the 503 is not the answer they were for */
		}
		it->answer = copy;
		it->answer_len = copy ? len : 0;
		copy = NULL;
		it->is_answered = true;
		pthread_cond_broadcast(&h->cond);
	}
	must_free = httpd_item_unref_locked(it);
	pthread_mutex_unlock(&h->mu);
	free(copy);
	if (must_free) {
		httpd_item_free(it);
	}
	return is_late ? -ETIMEDOUT : 0;
}

int httpd_add_header(struct httpd_req *rq, const char *name, const char *value)
{
	struct httpd_item *it = container_of(rq, struct httpd_item, rq);
	size_t used = strlen(it->headers);
	int n;

	/* A CR or LF would end the header early: what follows would be a
	 * header (or a body) of someone else's choosing. */
	if (name[0] == '\0' || strpbrk(name, "\r\n: ") || strpbrk(value, "\r\n")) {
		return -EINVAL;
	}
	n = snprintf(it->headers + used, sizeof(it->headers) - used, "%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= sizeof(it->headers) - used) {
		it->headers[used] = '\0';
		return -ENOSPC;
	}
	return 0;
}

int httpd_respond_error(struct httpd_req *rq, int status, const char *message, const char *etag)
{
	size_t len;
	char *body = json_error(message, &len);
	int err = httpd_respond(rq, body ? status : 503, "application/json", body ? body : "", len,
				etag);

	free(body);
	return err;
}

unsigned long httpd_requests(const struct httpd *h)
{
	return h->n_requests;
}

void httpd_gate_stats(const struct httpd *h, struct httpgate_stats *out)
{
	httpgate_stats(h->gate, out);
}

static void make_hosts(struct httpd *h)
{
	const struct sockaddr *sa = (const struct sockaddr *)&h->cfg.listen;
	uint16_t port = addr_port(sa);

	addr_format(sa, h->hosts[0], sizeof(h->hosts[0]));
	h->n_hosts = 1;
	if (httpcheck_is_loopback(sa)) {
		snprintf(h->hosts[1], sizeof(h->hosts[1]), "localhost:%u", port);
		h->n_hosts = 2;
	}
}

/* civetweb behind the gate: a port of its own on loopback, which only the
 * gate (and httpd_stop's poke) connects to; on the API's own address when
 * that is an IPv4 loopback one (a client's 127.1.0.1), else on 127.0.0.1. */
static int start_civetweb(struct httpd *h, char *err, size_t err_len)
{
	struct mg_callbacks cb;
	struct mg_server_port port;
	struct sockaddr_in *in = (struct sockaddr_in *)&h->inner;
	const struct sockaddr *sa = (const struct sockaddr *)&h->cfg.listen;
	uint32_t ip = INADDR_LOOPBACK;
	char threads[8];
	char head_max[16];
	char inner[32];

	if (sa->sa_family == AF_INET && httpcheck_is_loopback(sa)) {
		ip = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
	}
	snprintf(inner, sizeof(inner), "%u.%u.%u.%u:0", ip >> 24, (ip >> 16) & 255u,
		 (ip >> 8) & 255u, ip & 255u);
	snprintf(threads, sizeof(threads), "%d", HTTPD_THREADS);
	snprintf(head_max, sizeof(head_max), "%d", HTTPGATE_HEAD_MAX);
	/* No document_root: civetweb serves no file. Keep-alive off: one request
	 * per connection keeps a worker's life simple and bounded. */
	const char *options[] = {
		"listening_ports",
		inner,
		"num_threads",
		threads,
		"request_timeout_ms",
		"10000",
		"enable_keep_alive",
		"no",
		"max_request_size",
		head_max, /* the gate hands over a longer head as it is */
		/* httpd decodes the path itself (httpcheck_decode_path):
		 * civetweb's decoding ends the path at a "%00". */
		"decode_url",
		"no",
		"enable_directory_listing",
		"no",
		"listen_backlog",
		"64",
		NULL,
	};
	memset(&cb, 0, sizeof(cb));
	cb.begin_request = begin_request_cb;
	cb.log_message = log_message_cb;
	h->mg = mg_start(&cb, h, options);
	if (!h->mg) {
		snprintf(err, err_len, "cannot start the HTTP server on a loopback port");
		return -1;
	}
	memset(&port, 0, sizeof(port));
	if (mg_get_server_ports(h->mg, 1, &port) != 1 || port.port <= 0 || port.port > 65535) {
		snprintf(err, err_len, "the HTTP server has no loopback port");
		return -1;
	}
	memset(&h->inner, 0, sizeof(h->inner));
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port.port);
	in->sin_addr.s_addr = htonl(ip);
	return 0;
}

struct httpd *httpd_start(struct ev_loop *loop, const struct httpd_config *cfg, char *err,
			  size_t err_len)
{
	struct httpd *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;

	if (!h) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	h->loop = loop;
	h->cfg = *cfg;
	if (h->cfg.answer_timeout_ms == 0) {
		h->cfg.answer_timeout_ms = HTTPD_ANSWER_TIMEOUT_MS;
	}
	/* The address first: a clear error before any thread starts. */
	h->gate = httpgate_open(&cfg->listen, err, err_len);
	if (!h->gate) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	ev_async_init(&h->wake, async_cb);
	ev_async_start(loop, &h->wake);
	make_hosts(h);
	if (start_civetweb(h, err, err_len) != 0 ||
	    (httpgate_run(h->gate, &h->inner, cfg->read_timeout_ms) != 0 &&
	     snprintf(err, err_len, "cannot start the HTTP front thread") > 0)) {
		if (h->mg) {
			mg_stop(h->mg);
		}
		httpgate_stop(h->gate);
		ev_async_stop(loop, &h->wake);
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	return h;
}

/* civetweb's listening thread sees its stop flag only between poll()s of
 * up to 2 s. While mg_stop waits for it, this thread connects to the listen
 * address every few ms, which ends that poll at once: a daemon stops in
 * milliseconds, not seconds. Bounded by POKE_MAX tries. */
#define POKE_INTERVAL_MS 10
#define POKE_MAX 400

static void *poke_main(void *arg)
{
	struct httpd *h = arg;
	const struct sockaddr *sa = (const struct sockaddr *)&h->inner;

	for (int i = 0; i < POKE_MAX; i++) {
		struct timespec ts = {.tv_nsec = POKE_INTERVAL_MS * 1000000L};
		int fd;

		pthread_mutex_lock(&h->mu);
		bool is_done = h->is_poke_done;
		pthread_mutex_unlock(&h->mu);
		if (is_done) {
			break;
		}
		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			(void)connect(fd, sa, addr_len(&h->inner));
			close(fd);
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

void httpd_stop(struct httpd *h)
{
	pthread_t poker;
	bool has_poker;
	struct timespec deadline;
	int rc = 0;

	if (!h) {
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->is_stopping = true;
	pthread_cond_broadcast(&h->cond);
	/* Let waiting workers write their 503 (and streams end) before mg_stop
	 * raises civetweb's stop flag, after which civetweb writes nothing. */
	httpd_abstime_after_ms(&deadline, STOP_DRAIN_MS);
	while (h->n_busy > 0 && rc != ETIMEDOUT) {
		rc = pthread_cond_timedwait(&h->cond, &h->mu, &deadline);
	}
	pthread_mutex_unlock(&h->mu);
	has_poker = pthread_create(&poker, NULL, poke_main, h) == 0;
	/* Joins every worker: each one answers 503 or ends its stream now. */
	mg_stop(h->mg);
	if (has_poker) {
		pthread_mutex_lock(&h->mu);
		h->is_poke_done = true;
		pthread_mutex_unlock(&h->mu);
		pthread_join(poker, NULL);
	}
	/* The workers' last answers are written; let the gate pass them on. */
	httpgate_stop(h->gate);
	ev_async_stop(h->loop, &h->wake);
	h->gone = NULL; /* every stream there is also on the live list */
	/* Streams the loop still holds: tell the owner, who closes them. */
	while (h->live) {
		struct httpstream *st = h->live;
		if (h->cfg.on_stream_closed) {
			h->cfg.on_stream_closed(h->cfg.ctx, st);
		}
		if (h->live == st) {
			httpstream_close(st);
		}
	}
	while (h->held) {
		(void)httpd_respond_error(&h->held->rq, 503, "server stopping", NULL);
	}
	while (h->q_head) {
		struct httpd_item *it = h->q_head;
		h->q_head = it->next;
		httpd_item_free(it); /* the workers are gone: only the loop's reference is left */
	}
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
