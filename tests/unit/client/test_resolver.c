/* test_resolver: client/resolver — getaddrinfo in a thread, answers through
 * ev_async. Only "localhost" is looked up: /etc/hosts answers it, so no DNS
 * query leaves the machine. */
#include <arpa/inet.h>
#include <ev.h>
#include <netdb.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "client/resolver.h"
#include "common/addr.h"
#include "common/diag.h"

struct waiter {
	ev_async done;
	ev_timer limit;
	unsigned wakeups;
	bool is_timed_out;
};

static void done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct waiter *wt = (struct waiter *)w;

	(void)revents;
	wt->wakeups++;
	ev_break(loop, EVBREAK_ALL);
}

static void limit_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct waiter *wt = (struct waiter *)((char *)w - offsetof(struct waiter, limit));

	(void)revents;
	wt->is_timed_out = true;
	ev_break(loop, EVBREAK_ALL);
}

static void waiter_start(struct ev_loop *loop, struct waiter *wt)
{
	memset(wt, 0, sizeof(*wt));
	ev_async_init(&wt->done, done_cb);
	ev_timer_init(&wt->limit, limit_cb, 0.0, 0.0);
	ev_async_start(loop, &wt->done);
}

/* Run the loop until the resolver wakes it, or secs pass. */
static void run_for(struct ev_loop *loop, struct waiter *wt, double secs)
{
	wt->is_timed_out = false;
	ev_timer_set(&wt->limit, secs, 0.0);
	ev_timer_start(loop, &wt->limit);
	ev_run(loop, 0);
	ev_timer_stop(loop, &wt->limit);
}

static void assert_loopback(const struct sockaddr_storage *ss, uint16_t port)
{
	char text[ADDR_TEXT_MAX];

	assert_int_equal(ss->ss_family, AF_INET);
	assert_string_equal(addr_format((const struct sockaddr *)ss, text, sizeof(text)),
			    port == 7400 ? "127.0.0.1:7400" : "127.0.0.1:7401");
}

static void test_resolver_lookup_finds_localhost_with_the_port(void **state)
{
	struct sockaddr_storage out, keep;

	(void)state;
	assert_int_equal(
		resolver_lookup("localhost", 7400, AF_INET, AF_INET, NULL, NULL, &out, NULL, NULL),
		0);
	assert_loopback(&out, 7400);
	/* An address to keep that is not among the answers changes nothing. */
	assert_int_equal(addr_parse("198.51.100.7:7400", &keep, NULL), 0);
	assert_int_equal(
		resolver_lookup("localhost", 7400, AF_INET, AF_INET, NULL, &keep, &out, NULL, NULL),
		0);
	assert_loopback(&out, 7400);
}

/* Either family (client.ini fixes none): a numeric name is its own one
 * answer, and the host has a route to its loopback. */
static void test_resolver_lookup_of_either_family_takes_what_there_is(void **state)
{
	struct sockaddr_storage out, alt, other;

	(void)state;
	assert_int_equal(resolver_lookup("127.0.0.1", 7400, AF_UNSPEC, AF_INET6, NULL, NULL, &out,
					 &alt, &other),
			 0);
	assert_loopback(&out, 7400);
	/* other: none (one address of one family). */
	assert_int_equal(other.ss_family, 0);
	/* alt: the other family than the sockets' (IPv6 here), with a route. */
	assert_loopback(&alt, 7400);
	assert_int_equal(resolver_lookup("127.0.0.1", 7400, AF_UNSPEC, AF_INET, NULL, NULL, &out,
					 &alt, NULL),
			 0);
	assert_loopback(&out, 7400);
	assert_int_equal(alt.ss_family, 0);
	/* Through an interface that does not exist: no route. */
	assert_int_equal(resolver_lookup("127.0.0.1", 7400, AF_UNSPEC, AF_INET6, "wh-nonesuch0",
					 NULL, &out, &alt, NULL),
			 0);
	assert_loopback(&out, 7400);
	assert_int_equal(alt.ss_family, 0);
}

static void set_cands(struct sockaddr_storage *c, const char *const *texts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(addr_parse(texts[i], &c[i], NULL), 0);
	}
}

/* The order of resolver_pick: keep if routable; the preferred family with a
 * route; any with a route; the preferred family; the first. */
static void test_resolver_pick_follows_routes_then_the_preferred_family(void **state)
{
	static const char *const texts[4] = {"[2001:db8::10]:7400", "203.0.113.10:7400",
					     "[2001:db8::11]:7400", "203.0.113.11:7400"};
	struct sockaddr_storage c[4], keep;
	bool all[4] = {true, true, true, true};
	bool none[4] = {false, false, false, false};
	bool v6_only[4] = {true, false, true, false};
	bool v4_only[4] = {false, true, false, true};

	(void)state;
	set_cands(c, texts, 4);
	/* Both families have routes: the sockets' family stays. */
	assert_int_equal(resolver_pick(c, all, 4, AF_INET, NULL), 1);
	assert_int_equal(resolver_pick(c, all, 4, AF_INET6, NULL), 0);
	/* The address in use, still listed and routable, stays. */
	keep = c[3];
	assert_int_equal(resolver_pick(c, all, 4, AF_INET, &keep), 3);
	keep = c[2];
	assert_int_equal(resolver_pick(c, all, 4, AF_INET, &keep), 2);
	/* An IPv6-only network: the IPv6 address, even with IPv4 preferred
	 * and an IPv4 address in use. */
	keep = c[3];
	assert_int_equal(resolver_pick(c, v6_only, 4, AF_INET, &keep), 0);
	/* And back. */
	keep = c[2];
	assert_int_equal(resolver_pick(c, v4_only, 4, AF_INET6, &keep), 1);
	/* No route at all (a modem not up yet): the preferred family. */
	assert_int_equal(resolver_pick(c, none, 4, AF_INET, NULL), 1);
	assert_int_equal(resolver_pick(c, none, 4, AF_INET6, NULL), 0);
	/* Only the other family listed, no route: the first. */
	assert_int_equal(resolver_pick(&c[1], none, 1, AF_INET6, NULL), 0);
}

static void test_resolver_answers_each_round_through_ev_async(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	static const char names[2][ADDR_NAME_MAX] = {"localhost", "localhost"};
	const uint16_t ports[2] = {7400, 7401};
	struct sockaddr_storage keep[2], out[2], alt[2], other[2];
	int err[2] = {-1, -1};
	struct resolver_nat64 n64;
	struct waiter wt;
	struct diag d;
	struct resolver *r;

	(void)state;
	memset(keep, 0, sizeof(keep));
	waiter_start(loop, &wt);
	diag_clear(&d);
	r = resolver_start(loop, &wt.done, names, ports, 2, AF_INET, NULL, &d);
	assert_non_null(r);
	/* Nothing asked: no answers, no wake-up. */
	assert_false(resolver_collect(r, out, alt, other, err, &n64));
	run_for(loop, &wt, 0.2);
	assert_true(wt.is_timed_out);
	assert_int_equal(wt.wakeups, 0);

	for (unsigned round = 1; round <= 2; round++) {
		resolver_ask(r, keep, AF_INET);
		run_for(loop, &wt, 10.0);
		assert_false(wt.is_timed_out);
		assert_int_equal(wt.wakeups, round);
		assert_false(resolver_is_busy(r));
		assert_true(resolver_collect(r, out, alt, other, err, &n64));
		assert_int_equal(err[0], 0);
		assert_int_equal(err[1], 0);
		assert_loopback(&out[0], 7400);
		assert_loopback(&out[1], 7401);
		/* Collected once only. */
		assert_false(resolver_collect(r, out, alt, other, err, &n64));
		keep[0] = out[0];
		keep[1] = out[1];
	}
	resolver_stop(r);
	ev_async_stop(loop, &wt.done);
	ev_loop_destroy(loop);
}

/* Stopped while a round may be running: the loop is never woken after
 * resolver_stop returns, and the thread frees what it shares (ASan and
 * valgrind see a leak or a use after free otherwise). A round may end
 * between resolver_ask and resolver_stop (a loaded machine stalls this
 * thread): that wake-up was sent before the stop and is allowed, so the
 * watcher is restarted after each stop (libev drops what it was sent) and
 * must stay quiet until the next resolver is asked, and after the last. */
static void test_resolver_stop_while_busy_never_wakes_the_loop(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	static const char names[1][ADDR_NAME_MAX] = {"localhost"};
	const uint16_t ports[1] = {7400};
	struct sockaddr_storage keep[1];
	struct waiter wt;
	struct diag d;

	(void)state;
	memset(keep, 0, sizeof(keep));
	waiter_start(loop, &wt);
	for (int i = 0; i < 64; i++) {
		struct resolver *r =
			resolver_start(loop, &wt.done, names, ports, 1, AF_INET, NULL, &d);
		struct timespec gap = {0, (i % 16) * 20000L}; /* 0 to 300 us */

		assert_non_null(r);
		/* since the last restart, only a stopped resolver could send */
		assert_false(ev_async_pending(&wt.done));
		resolver_ask(r, keep, AF_INET);
		/* stopped at every point of a round: before, inside, after */
		nanosleep(&gap, NULL);
		resolver_stop(r);
		ev_async_stop(loop, &wt.done);
		ev_async_start(loop, &wt.done);
	}
	run_for(loop, &wt, 0.5);
	assert_true(wt.is_timed_out);
	assert_int_equal(wt.wakeups, 0);
	ev_async_stop(loop, &wt.done);
	ev_loop_destroy(loop);
}

static void test_resolver_start_refuses_a_bad_count(void **state)
{
	static const char names[1][ADDR_NAME_MAX] = {"localhost"};
	const uint16_t ports[1] = {7400};
	ev_async done;
	struct diag d;

	(void)state;
	ev_async_init(&done, NULL);
	diag_clear(&d);
	assert_null(resolver_start(EV_DEFAULT, &done, names, ports, 0, AF_INET, NULL, &d));
	assert_non_null(strstr(d.msg, "0 names"));
	resolver_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolver_lookup_finds_localhost_with_the_port),
		cmocka_unit_test(test_resolver_lookup_of_either_family_takes_what_there_is),
		cmocka_unit_test(test_resolver_pick_follows_routes_then_the_preferred_family),
		cmocka_unit_test(test_resolver_answers_each_round_through_ev_async),
		cmocka_unit_test(test_resolver_stop_while_busy_never_wakes_the_loop),
		cmocka_unit_test(test_resolver_start_refuses_a_bad_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
