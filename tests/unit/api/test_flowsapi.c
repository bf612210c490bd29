/* test_flowsapi: the client local API's per-flow part (api/flowsapi.c,
 * through api/statusapi.c) on loopback with a real libev loop here and
 * raw-socket clients in other threads: GET /api/v1/flows and /flows/{name}
 * from the daemon's list, 404 and 405 as JSON, and the /api/v1/events
 * stream: hello and one state per flow on connect (more flows than a
 * stream queues events too), then saturated and
 * cleared events as the daemon publishes them; a stream past the limit is
 * refused and stop ends the open ones. Uses sockets because httpd is what
 * wraps them. */
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
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <netinet/in.h>

#include "api/flowreport.h"
#include "api/flowsapi.h"
#include "api/statusapi.h"
#include "common/addr.h"

#define REPLY_MAX (512 * 1024) /* a greeting of FLOWSAPI_FLOWS_MAX states fits */

struct reader {
	struct fixture *fx;
	const char *path;
	const char *until; /* stop reading once this is in (NULL: until EOF) */
	const char *after; /* NULL, or until must come after this */
	bool is_holding;   /* then keep the connection until the server ends it */
	char reply[REPLY_MAX];
	pthread_t t;
};

struct fixture {
	struct ev_loop *loop;
	struct statusapi *sa;
	uint16_t port;
	int publishes;
	ev_async reader_done;
	ev_timer tick;
	ev_timer guard;
	pthread_mutex_t mu;
	int n_done; /* under mu */
	int want_done;
	size_t n_flows; /* the daemon's flows: 0 for video and bulk, else f0, f1, ... */
};

static size_t flows_cb(void *ctx, struct flowreport_flow *out, size_t max)
{
	const struct fixture *fx = ctx;

	assert_true(max >= 2);
	if (fx->n_flows > 0) {
		assert_true(max >= fx->n_flows);
		for (size_t i = 0; i < fx->n_flows; i++) {
			snprintf(out[i].name, sizeof(out[i].name), "f%zu", i);
			out[i].proto = "udp";
		}
		return fx->n_flows;
	}
	snprintf(out[0].name, sizeof(out[0].name), "video");
	out[0].proto = "udp";
	out[0].capacity_kbps = 9900;
	out[0].has_impair = true;
	out[0].impair.rate_dropped = 12;
	snprintf(out[1].name, sizeof(out[1].name), "bulk");
	out[1].proto = "udp";
	return 2;
}

static void status_cb(void *ctx, struct statusapi_status *out)
{
	(void)ctx;
	snprintf(out->id, sizeof(out->id), "drone1");
	out->server_state = "up";
	out->nat_class = "unknown";
}

static const struct statusapi_ops ops = {.status = status_cb, .flows = flows_cb};

static void reader_done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct fixture *fx = (struct fixture *)((char *)w - offsetof(struct fixture, reader_done));
	bool is_all;

	(void)revents;
	pthread_mutex_lock(&fx->mu);
	is_all = fx->n_done >= fx->want_done;
	pthread_mutex_unlock(&fx->mu);
	if (is_all) {
		ev_break(loop, EVBREAK_ONE);
	}
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ONE);
}

/* Every 20 ms the daemon's video flow changes state: saturated, cleared, ... */
static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *fx = (struct fixture *)((char *)w - offsetof(struct fixture, tick));
	struct flowreport_flow f = {.name = "video", .proto = "udp", .capacity_kbps = 9900};

	(void)loop;
	(void)revents;
	f.is_saturated = ++fx->publishes % 2 == 1;
	f.send_kbps = (uint32_t)fx->publishes;
	statusapi_publish(fx->sa, &f);
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

/* r->until is in the reply (after r->after, when set). */
static bool seen(const struct reader *r)
{
	const char *from = r->after ? strstr(r->reply, r->after) : r->reply;

	return from && strstr(from, r->until);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char request[512];
	int fd = connect_to(r->fx->port);
	size_t used = 0;
	int n;

	n = snprintf(request, sizeof(request), "%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", r->path,
		     r->fx->port);
	if (fd >= 0 && send(fd, request, (size_t)n, MSG_NOSIGNAL) == n) {
		for (int i = 0; i < 1000 && used < sizeof(r->reply) - 1; i++) {
			ssize_t k = recv(fd, r->reply + used, sizeof(r->reply) - 1 - used, 0);
			if (k <= 0) {
				break;
			}
			used += (size_t)k;
			r->reply[used] = '\0';
			if (r->until && seen(r)) {
				break;
			}
		}
	}
	r->reply[used] = '\0';
	pthread_mutex_lock(&r->fx->mu);
	r->fx->n_done++;
	pthread_mutex_unlock(&r->fx->mu);
	ev_async_send(r->fx->loop, &r->fx->reader_done);
	/* Hold the connection until the test ends it: a stream stays open. */
	if (fd >= 0 && r->is_holding) {
		while (recv(fd, request, sizeof(request), 0) > 0) {
		}
	}
	if (fd >= 0) {
		close(fd);
	}
	return NULL;
}

static void start_reader(struct fixture *fx, struct reader *r, const char *path, const char *until)
{
	r->fx = fx;
	r->path = path;
	r->until = until;
	r->reply[0] = '\0';
	assert_int_equal(pthread_create(&r->t, NULL, reader_main, r), 0);
}

/* Run the loop until want readers are done (or 15 s pass). */
static void run_until_done(struct fixture *fx, int want)
{
	pthread_mutex_lock(&fx->mu);
	fx->n_done = 0;
	fx->want_done = want;
	pthread_mutex_unlock(&fx->mu);
	ev_timer_set(&fx->guard, 15., 0.);
	ev_timer_start(fx->loop, &fx->guard);
	ev_run(fx->loop, 0);
	ev_timer_stop(fx->loop, &fx->guard);
}

/* One request, answered: the reply (static until the next call). */
static const char *get(struct fixture *fx, const char *method_path)
{
	static struct reader r;

	start_reader(fx, &r, method_path, NULL);
	run_until_done(fx, 1);
	pthread_join(r.t, NULL);
	return r.reply;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct sockaddr_storage listen;
	char text[32];
	char err[128];

	fx->loop = ev_loop_new(EVFLAG_AUTO);
	for (fx->port = 47411; fx->port < 47500 && !fx->sa; fx->port += 7) {
		snprintf(text, sizeof(text), "127.0.0.1:%u", fx->port);
		assert_int_equal(addr_parse(text, &listen, NULL), 0);
		fx->sa = statusapi_start(fx->loop, &listen, &ops, fx, err, sizeof(err));
	}
	fx->port -= 7;
	assert_non_null(fx->sa);
	pthread_mutex_init(&fx->mu, NULL);
	ev_async_init(&fx->reader_done, reader_done_cb);
	ev_async_start(fx->loop, &fx->reader_done);
	ev_timer_init(&fx->tick, tick_cb, 0.02, 0.02);
	ev_timer_init(&fx->guard, guard_cb, 15., 0.);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	statusapi_stop(fx->sa);
	ev_async_stop(fx->loop, &fx->reader_done);
	ev_timer_stop(fx->loop, &fx->tick);
	ev_loop_destroy(fx->loop);
	pthread_mutex_destroy(&fx->mu);
	free(fx);
	return 0;
}

static void test_flowsapi_lists_every_flow_with_its_state(void **state)
{
	struct fixture *fx = *state;
	const char *r = get(fx, "GET /api/v1/flows");
	const char *body = strstr(r, "\r\n\r\n");
	cJSON *a;

	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "Content-Type: application/json"));
	assert_non_null(body);
	a = cJSON_Parse(body + 4);
	assert_true(cJSON_IsArray(a));
	assert_int_equal(cJSON_GetArraySize(a), 2);
	assert_string_equal(cJSON_GetArrayItem(a, 0)->child->valuestring, "video");
	assert_true(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, 0), "capacity_kbps")
			    ->valuedouble == 9900);
	assert_true(cJSON_IsNull(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, 1), "capacity_kbps")));
	cJSON_Delete(a);
}

static void test_flowsapi_gives_one_flow_by_name_and_404_for_others(void **state)
{
	struct fixture *fx = *state;
	const char *r = get(fx, "GET /api/v1/flows/bulk");

	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(
		strstr(r, "\r\n\r\n{\"name\":\"bulk\",\"proto\":\"udp\",\"saturated\":false,"));
	r = get(fx, "GET /api/v1/flows/nothing");
	assert_non_null(strstr(r, "HTTP/1.1 404"));
	assert_non_null(strstr(r, "{\"error\":\"no such flow\"}"));
	assert_non_null(strstr(get(fx, "GET /api/v1/flows/video/more"), "HTTP/1.1 404"));
	assert_non_null(strstr(get(fx, "GET /api/v1/flows/"), "HTTP/1.1 404"));
	assert_non_null(strstr(get(fx, "GET /api/v1/eventsx"), "HTTP/1.1 404"));
	assert_non_null(strstr(get(fx, "GET /api/v1/status"), "HTTP/1.1 200"));
}

static void test_flowsapi_answers_405_to_anything_but_get(void **state)
{
	struct fixture *fx = *state;

	assert_non_null(strstr(get(fx, "DELETE /api/v1/flows/video"), "HTTP/1.1 405"));
	assert_non_null(strstr(get(fx, "PUT /api/v1/flows"), "HTTP/1.1 405"));
	assert_non_null(strstr(get(fx, "POST /api/v1/events"), "HTTP/1.1 405"));
}

static void test_flowsapi_streams_hello_states_then_saturated_and_cleared(void **state)
{
	struct fixture *fx = *state;
	static struct reader r;
	const char *hello, *sat, *clr;

	fx->publishes = 0;
	ev_timer_start(fx->loop, &fx->tick);
	/* Read until a cleared event follows a saturated one, then hang up. */
	r.after = "event: saturated\n";
	start_reader(fx, &r, "GET /api/v1/events", "event: cleared\n");
	run_until_done(fx, 1);
	ev_timer_stop(fx->loop, &fx->tick);
	assert_non_null(strstr(r.reply, "Content-Type: text/event-stream"));
	hello = strstr(r.reply, "\r\n\r\nevent: hello\ndata: {\"flows\": 2}\n\n"
				"event: state\ndata: {\"name\":\"video\",");
	assert_non_null(hello);
	assert_non_null(strstr(hello, "\n\nevent: state\ndata: {\"name\":\"bulk\","));
	sat = strstr(r.reply, "event: saturated\ndata: {\"name\":\"video\",\"proto\":\"udp\","
			      "\"saturated\":true,\"capacity_kbps\":9900,");
	assert_non_null(sat);
	clr = strstr(sat, "event: cleared\ndata: {\"name\":\"video\",\"proto\":\"udp\","
			  "\"saturated\":false,");
	assert_non_null(clr);
	assert_true(hello < sat);
	pthread_join(r.t, NULL);
}

/* More flows than a stream queues events: hello's count, then a state for
 * every one of them, then the changes (the greeting once stopped at 48
 * states). */
static void test_flowsapi_greets_with_a_state_for_every_flow_of_many(void **state)
{
	struct fixture *fx = *state;
	static struct reader r;
	char hello[64];
	char last[32];
	const char *first_change;
	size_t states = 0;

	fx->n_flows = FLOWSAPI_FLOWS_MAX;
	fx->publishes = 0;
	ev_timer_start(fx->loop, &fx->tick);
	start_reader(fx, &r, "GET /api/v1/events", "event: saturated\n");
	run_until_done(fx, 1);
	ev_timer_stop(fx->loop, &fx->tick);
	pthread_join(r.t, NULL);
	fx->n_flows = 0;
	snprintf(hello, sizeof(hello), "\r\n\r\nevent: hello\ndata: {\"flows\": %d}\n\n",
		 FLOWSAPI_FLOWS_MAX);
	assert_non_null(strstr(r.reply, hello));
	first_change = strstr(r.reply, "event: saturated\n");
	assert_non_null(first_change);
	for (const char *p = r.reply; (p = strstr(p, "event: state\n")) && p < first_change; p++) {
		states++;
	}
	assert_int_equal(states, FLOWSAPI_FLOWS_MAX);
	snprintf(last, sizeof(last), "\"name\":\"f%d\"", FLOWSAPI_FLOWS_MAX - 1);
	assert_non_null(strstr(r.reply, last));
	assert_null(strstr(r.reply, "event: gap"));
}

static void test_flowsapi_refuses_a_stream_past_the_limit_and_stop_ends_the_rest(void **state)
{
	static struct reader rs[FLOWSAPI_STREAMS_MAX];
	void *mine = NULL;
	struct fixture *fx;
	const char *r;

	(void)state;
	assert_int_equal(setup(&mine), 0);
	fx = mine;
	for (size_t i = 0; i < FLOWSAPI_STREAMS_MAX; i++) {
		rs[i].is_holding = true;
		start_reader(fx, &rs[i], "GET /api/v1/events", "event: hello\n");
	}
	run_until_done(fx, FLOWSAPI_STREAMS_MAX);
	for (size_t i = 0; i < FLOWSAPI_STREAMS_MAX; i++) {
		assert_non_null(strstr(rs[i].reply, "event: hello\n"));
	}
	r = get(fx, "GET /api/v1/events");
	assert_non_null(strstr(r, "HTTP/1.1 503"));
	assert_non_null(strstr(r, "too many event streams"));
	/* Stop ends the held streams: each reader sees the end and returns. */
	statusapi_stop(fx->sa);
	fx->sa = NULL;
	for (size_t i = 0; i < FLOWSAPI_STREAMS_MAX; i++) {
		pthread_join(rs[i].t, NULL);
	}
	assert_int_equal(teardown(&mine), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flowsapi_lists_every_flow_with_its_state),
		cmocka_unit_test(test_flowsapi_gives_one_flow_by_name_and_404_for_others),
		cmocka_unit_test(test_flowsapi_answers_405_to_anything_but_get),
		cmocka_unit_test(test_flowsapi_streams_hello_states_then_saturated_and_cleared),
		cmocka_unit_test(test_flowsapi_greets_with_a_state_for_every_flow_of_many),
		cmocka_unit_test(
			test_flowsapi_refuses_a_stream_past_the_limit_and_stop_ends_the_rest),
	};
	/* One server for the group: stopping civetweb is not free. */
	return cmocka_run_group_tests(tests, setup, teardown);
}
