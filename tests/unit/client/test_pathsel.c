/* test_pathsel: client/pathsel — failover's choice between a direct path
 * and the relay by their measured loss. A direct path that loses far more
 * pings than the relay (more than 10 points, judged on at least 15 pings)
 * is left for the relay and reported as such; it is taken again once its
 * pings are clean (within 5 points); a few lost pings of a new path, a
 * little loss, or loss the relay has too (also when only the relay's pings
 * of the same span show it: one a second) leave it in use; a path left for
 * its loss that comes up again waits for clean pings before it carries, and
 * so does one after a path that lost many pings before it died (judged up
 * to its last pong: the silence that ended it is no loss).
 *
 * Pings and pongs are injected (nat/pathmon); the client's sockets, the
 * peer's relay addresses and the path MTU text are stubbed below (this
 * test links pathsel.o without them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/client.h"
#include "client/direct.h"
#include "client/linkmtu.h"
#include "client/peer.h"
#include "client/uplink.h"

/* ---- stubs ---- */

bool uplink_is_open(const struct client *cl, uint8_t id)
{
	return id < cl->n_up;
}

int uplink_send_fd(const struct client *cl, uint8_t id)
{
	return id < cl->n_up ? 100 + id : -2;
}

int uplink_ctl_fd(const struct client *cl)
{
	return 100 + cl->ctl;
}

const struct sockaddr_storage *peer_relay_via(const struct peer *p, uint8_t u)
{
	(void)u;
	return &p->relay;
}

const char *linkmtu_probe_text(const struct peer *p, const struct pmtu *pm, bool is_relay)
{
	(void)p;
	(void)pm;
	(void)is_relay;
	return NULL;
}

bool direct_is_multi(const struct peer *p)
{
	(void)p;
	return false;
}

const char *direct_path_tag(const struct peer *p, const struct direct_path *s, char *buf,
			    size_t len)
{
	(void)p;
	(void)s;
	(void)buf;
	(void)len;
	return "";
}

/* ---- fixture ---- */

#define T0 100000000ull
#define DIRECT_RTT 20000ull
#define RELAY_RTT 30000ull

struct fx {
	struct client *cl;
	struct peer *p;
	uint64_t now_us; /* the simulation's clock: the next ping round */
	unsigned round;	 /* direct pings so far */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct direct_path *s;

	assert_non_null(fx);
	fx->cl = calloc(1, sizeof(*fx->cl));
	fx->p = calloc(1, sizeof(*fx->p));
	assert_non_null(fx->cl);
	assert_non_null(fx->p);
	fx->cl->n_up = 1;
	fx->p->cl = fx->cl;
	memcpy(fx->p->def.peer.text, "gcs", 4);
	fx->p->def.peer.len = 3;
	fx->p->dp.active = -1;
	fx->p->dp.relay_alt = -1;
	pathmon_init(&fx->p->dp.relay_mon, T0, DIRECT_RELAY_PING_US, DIRECT_DOUBT_US * 5,
		     DIRECT_DEAD_US * 5);
	s = &fx->p->dp.paths[0];
	s->is_used = true;
	s->is_up = true;
	s->fd = 7;
	s->addr.ss_family = AF_INET;
	s->strategy = 3;
	pathmon_init(&s->mon, T0, DIRECT_PING_US, DIRECT_DOUBT_US, DIRECT_DEAD_US);
	fx->now_us = T0;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	free(fx->p);
	free(fx->cl);
	free(fx);
	return 0;
}

/* Loss patterns: is direct ping number i (or relay ping number i) lost? */
typedef bool lost_fn(unsigned i);

static bool none(unsigned i)
{
	(void)i;
	return false;
}

static bool three_in_ten(unsigned i) /* 30 % */
{
	return i % 10 == 1 || i % 10 == 4 || i % 10 == 7;
}

static bool one_in_twenty(unsigned i) /* 5 % */
{
	return i % 20 == 3;
}

static bool one_in_fourteen(unsigned i) /* 7 %: between the thresholds */
{
	return i % 14 == 5;
}

/* One direct ping round every DIRECT_PING_US for secs seconds (a relay
 * ping every fifth), each answered after its RTT unless lost; the path's
 * loss is judged after each round, as direct.c's timer does. Returns how
 * often the verdict changed. */
static unsigned run(struct fx *fx, double secs, lost_fn *direct_lost, lost_fn *relay_lost)
{
	struct direct_path *s = &fx->p->dp.paths[0];
	struct pathmon *relay = &fx->p->dp.relay_mon;
	unsigned rounds = (unsigned)(secs * 1e6 / (double)DIRECT_PING_US);
	unsigned changes = 0;

	for (unsigned k = 0; k < rounds; k++, fx->round++, fx->now_us += DIRECT_PING_US) {
		uint64_t t = fx->now_us;
		uint32_t id = pathmon_on_ping_sent(&s->mon, t);

		if (!direct_lost(fx->round)) {
			assert_true(pathmon_on_pong(&s->mon, id, t, 0, t + DIRECT_RTT));
		}
		if (fx->round % 5 == 0) {
			uint32_t rid = pathmon_on_ping_sent(relay, t);

			if (!relay_lost(fx->round / 5)) {
				assert_true(pathmon_on_pong(relay, rid, t, 0, t + RELAY_RTT));
			}
		}
		changes += direct_judge_loss(fx->p, s, t + RELAY_RTT);
	}
	return changes;
}

static uint64_t now(const struct fx *fx)
{
	return fx->now_us - DIRECT_PING_US + RELAY_RTT;
}

/* The path failover sends on now is the direct one (else the relay). */
static bool on_direct(const struct fx *fx)
{
	return direct_failover_path(fx->p, now(fx)) == &fx->p->dp.paths[0];
}

/* ---- tests ---- */

static void test_pathsel_clean_direct_path_carries_the_traffic(void **state)
{
	struct fx *fx = *state;
	struct direct_report r;

	assert_int_equal(run(fx, 10, none, none), 0);
	assert_true(on_direct(fx));
	assert_true(direct_in_use(fx->p));
	direct_report(fx->p, now(fx), &r);
	assert_int_equal(r.kind, DIRECT_KIND_DIRECT);
	assert_null(r.why);
}

static void test_pathsel_direct_path_losing_30_percent_leaves_for_a_clean_relay(void **state)
{
	struct fx *fx = *state;
	struct direct_report r;

	(void)run(fx, 5, none, none);
	assert_true(on_direct(fx));
	/* The loss starts: within a few seconds of pings failover leaves. */
	assert_int_equal(run(fx, 4, three_in_ten, none), 1);
	assert_true(fx->p->dp.paths[0].is_lossy);
	assert_null(direct_failover_path(fx->p, now(fx)));
	assert_false(direct_in_use(fx->p));
	assert_true(direct_any_up(fx->p)); /* still up and pinged: kept warm */
	direct_report(fx->p, now(fx), &r);
	assert_int_equal(r.kind, DIRECT_KIND_RELAY);
	assert_string_equal(r.why, "lossy direct path");
	assert_true(r.loss == r.relay_loss);
	/* And it stays left while the loss lasts: no flapping. */
	assert_int_equal(run(fx, 30, three_in_ten, none), 0);
	assert_null(direct_failover_path(fx->p, now(fx)));
}

static void test_pathsel_path_left_for_loss_is_taken_again_once_clean(void **state)
{
	struct fx *fx = *state;

	(void)run(fx, 10, three_in_ten, none);
	assert_null(direct_failover_path(fx->p, now(fx)));
	/* Clean pings: back once the lossy ones are out of the window. */
	assert_int_equal(run(fx, 8, none, none), 1);
	assert_false(fx->p->dp.paths[0].is_lossy);
	assert_true(on_direct(fx));
	assert_true(direct_in_use(fx->p));
}

static void test_pathsel_a_few_lost_pings_of_a_new_path_are_no_verdict(void **state)
{
	struct fx *fx = *state;

	/* 30 % of its first pings: too few pings to judge by. */
	assert_int_equal(run(fx, 2, three_in_ten, none), 0);
	assert_true(on_direct(fx));
}

static void test_pathsel_small_loss_keeps_the_direct_path(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(run(fx, 30, one_in_twenty, none), 0);
	assert_true(on_direct(fx));
}

static void test_pathsel_loss_the_relay_has_too_keeps_the_direct_path(void **state)
{
	struct fx *fx = *state;

	/* A lossy uplink: both paths lose as much. */
	assert_int_equal(run(fx, 40, three_in_ten, three_in_ten), 0);
	assert_true(on_direct(fx));
}

static void test_pathsel_loss_between_the_thresholds_changes_nothing(void **state)
{
	struct fx *fx = *state;

	/* 7 %: a path in use stays in use... */
	assert_int_equal(run(fx, 20, one_in_fourteen, none), 0);
	assert_true(on_direct(fx));
	/* ...and one left for 30 % is not taken back at 7 %. */
	assert_int_equal(run(fx, 8, three_in_ten, none), 1);
	assert_int_equal(run(fx, 20, one_in_fourteen, none), 0);
	assert_null(direct_failover_path(fx->p, now(fx)));
}

static void test_pathsel_new_path_after_a_lossy_one_waits_for_clean_pings(void **state)
{
	struct fx *fx = *state;
	struct direct_path *s = &fx->p->dp.paths[0];

	/* The lossy path fell back and a new attempt brought the pair up
	 * again (direct.c keeps is_lossy, pathmon starts afresh). */
	s->is_lossy = true;
	pathmon_init(&s->mon, fx->now_us, DIRECT_PING_US, DIRECT_DOUBT_US, DIRECT_DEAD_US);
	assert_int_equal(run(fx, 1, none, none), 0);
	assert_null(direct_failover_path(fx->p, now(fx)));
	assert_int_equal(run(fx, 4, none, none), 1);
	assert_true(on_direct(fx));
}

static bool half(unsigned i) /* 50 % */
{
	return i % 2 == 1;
}

static void test_pathsel_bottleneck_both_paths_share_keeps_the_direct_path(void **state)
{
	struct fx *fx = *state;

	/* Our own traffic fills a link both paths cross: the direct path's
	 * 6.4 s of pings show it at once, the relay's 32 s barely; its pings
	 * of the same span count too. */
	(void)run(fx, 35, none, none);
	assert_int_equal(run(fx, 6, half, half), 0);
	assert_true(on_direct(fx));
}

/* Silence: pings, no pongs (the path dies). */
static bool all(unsigned i)
{
	(void)i;
	return true;
}

static void
test_pathsel_path_that_lost_a_third_of_its_pings_before_it_died_marks_the_next(void **state)
{
	struct fx *fx = *state;
	struct direct_path *s = &fx->p->dp.paths[0];

	(void)run(fx, 2.4, three_in_ten, none); /* too soon for a verdict */
	assert_false(s->is_lossy);
	(void)run(fx, 1, all, none);
	direct_judge_end(fx->p, s, now(fx));
	assert_true(s->is_lossy);
}

static void test_pathsel_clean_path_that_died_does_not_mark_the_next(void **state)
{
	struct fx *fx = *state;
	struct direct_path *s = &fx->p->dp.paths[0];

	(void)run(fx, 2.4, none, none);
	(void)run(fx, 1, all, none); /* cut: its last pings unanswered */
	direct_judge_end(fx->p, s, now(fx));
	assert_false(s->is_lossy);
	/* Nor one too short-lived to judge. */
	pathmon_init(&s->mon, fx->now_us, DIRECT_PING_US, DIRECT_DOUBT_US, DIRECT_DEAD_US);
	(void)run(fx, 1, three_in_ten, none);
	(void)run(fx, 1, all, none);
	direct_judge_end(fx->p, s, now(fx));
	assert_false(s->is_lossy);
}

static void test_pathsel_lossy_path_carries_no_copies_beside_the_relay(void **state)
{
	struct fx *fx = *state;
	int fds[DIRECT_ROUTE_MAX];
	const struct sockaddr_storage *dsts[DIRECT_ROUTE_MAX];

	(void)run(fx, 10, three_in_ten, none);
	assert_int_equal(direct_route(fx->p, FRAME_MULTIPATH_FAILOVER, now(fx), fds, dsts), 1);
	assert_int_equal(fds[0], uplink_ctl_fd(fx->cl));
	assert_ptr_equal(dsts[0], &fx->p->relay);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pathsel_clean_direct_path_carries_the_traffic,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pathsel_direct_path_losing_30_percent_leaves_for_a_clean_relay, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_pathsel_path_left_for_loss_is_taken_again_once_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pathsel_a_few_lost_pings_of_a_new_path_are_no_verdict, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_pathsel_small_loss_keeps_the_direct_path,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pathsel_loss_the_relay_has_too_keeps_the_direct_path, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pathsel_loss_between_the_thresholds_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pathsel_bottleneck_both_paths_share_keeps_the_direct_path, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_pathsel_new_path_after_a_lossy_one_waits_for_clean_pings, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_pathsel_path_that_lost_a_third_of_its_pings_before_it_died_marks_the_next,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pathsel_clean_path_that_died_does_not_mark_the_next, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pathsel_lossy_path_carries_no_copies_beside_the_relay, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
