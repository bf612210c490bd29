/* test_relaypath: client/relaypath — which of our uplinks the relay
 * answers. A round of relay pings answered on another uplink and not on the
 * control one within the wait moves relay traffic there too (and probes the
 * server once); an answer on the control uplink brings it back; an answer
 * there a little later than on the other uplink (unequal delays) moves
 * nothing; copies of a redundant pair's fan-out count by their tag, others
 * do not; a round sent before the session moved decides nothing; and when
 * the uplink traffic moved to dies too, a third one that answers takes over.
 *
 * The client's sockets, its server session, its NAT watch, the peer's
 * relay addresses and the relay's path MTU probes are stubbed below (this test links relaypath.o
 * without them): uplinks 0..n_up-1 are open and of one family, and srvconn_suspect counts its
 * calls. */
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
#include "client/natwatch.h"
#include "client/peer.h"
#include "client/srvconn.h"
#include "client/uplink.h"

/* ---- stubs ---- */

static unsigned suspects;

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

const char *uplink_label(const struct client *cl, uint8_t id)
{
	static const char *const names[] = {"lte1", "lte2", "sat", "?"};

	(void)cl;
	return names[id < 3 ? id : 3];
}

void srvconn_suspect(struct client *cl, const char *why, uint64_t now_us)
{
	(void)cl;
	(void)why;
	(void)now_us;
	suspects++;
}

void natwatch_probe_now(struct natwatch *nw, uint64_t now_us)
{
	(void)nw;
	(void)now_us;
}

/* Every uplink reaches the relay at one address (one family). */
const struct sockaddr_storage *peer_relay_via(const struct peer *p, uint8_t u)
{
	(void)u;
	return &p->relay;
}

int direct_seal_frames_to(struct peer *p, int fd, const struct sockaddr_storage *dst,
			  const struct frame *fs, size_t n, uint64_t now_us)
{
	(void)p;
	(void)fd;
	(void)dst;
	(void)fs;
	(void)n;
	(void)now_us;
	return 0;
}

int direct_seal_to(struct peer *p, int fd, const struct sockaddr_storage *dst,
		   const struct frame *f, uint64_t now_us)
{
	return direct_seal_frames_to(p, fd, dst, f, 1, now_us);
}

/* The relay binds relaypath asks for while the relay is silent. */
static uint64_t binds[16];
static unsigned n_binds;

void peer_bind_soon(struct peer *p, uint64_t now_us)
{
	(void)p;
	if (n_binds < 16) {
		binds[n_binds] = now_us;
	}
	n_binds++;
}

uint64_t srvconn_keepalive_us(const struct client *cl)
{
	(void)cl;
	return 25000000ull;
}

/* The relay's MTU probes (linkmtu.c): none due. */
uint64_t linkmtu_probe_relay(struct peer *p, uint64_t now_us)
{
	(void)p;
	(void)now_us;
	return UINT64_MAX;
}

/* ---- fixture ---- */

#define T0 10000000ull	       /* a round of pings goes out */
#define RTT 40000ull	       /* the control uplink's relay round trip */
#define WAIT (2 * RTT + 50000) /* what direct_relay_check waits for its answer */
_Static_assert(WAIT > DIRECT_RELAY_CTL_WAIT_MIN_US && WAIT < DIRECT_RELAY_CTL_WAIT_MAX_US,
	       "the wait follows the RTT here, not a bound");

struct fx {
	struct client *cl;
	struct peer *p;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->cl = calloc(1, sizeof(*fx->cl));
	fx->p = calloc(1, sizeof(*fx->p));
	assert_non_null(fx->cl);
	assert_non_null(fx->p);
	fx->cl->n_up = 3;
	fx->cl->ctl = 0;
	fx->p->cl = fx->cl;
	memcpy(fx->p->def.peer.text, "gcs", 4);
	fx->p->def.peer.len = 3;
	direct_relay_start(fx->p, T0 - 1000000);
	direct_relay_rtt(fx->p, 0, RTT);
	suspects = 0;
	n_binds = 0;
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

/* A relay datagram with tag byte t on uplink up. */
static void relay_rx(struct peer *p, uint8_t up, uint8_t t, uint64_t at)
{
	uint8_t tag[WIRE_TAG_LEN];

	memset(tag, t, sizeof(tag));
	direct_relay_rx(p, up, tag, at);
}

/* A round of relay pings at `at`, as direct_relay_tick sends it. */
static void round_at(struct peer *p, uint64_t at)
{
	p->dp.relay_mon.next_ping_us = at; /* due now */
	(void)direct_relay_tick(p, at);
	assert_true(p->dp.relay_round_us == at);
}

static void test_relaypath_answer_elsewhere_moves_relay_traffic(void **state)
{
	struct fx *fx = *state;
	struct peer *p = fx->p;

	round_at(p, T0);
	/* The answer comes on lte2 only: nothing decided before the wait. */
	relay_rx(p, 1, 1, T0 + RTT);
	assert_int_equal(p->dp.relay_alt, -1);
	assert_true(direct_relay_check(p, T0 + RTT) == T0 + WAIT);
	assert_int_equal(p->dp.relay_alt, -1);
	/* After it: relay traffic leaves by lte2 too, the server is probed. */
	assert_true(direct_relay_check(p, T0 + WAIT) == UINT64_MAX);
	assert_int_equal(p->dp.relay_alt, 1);
	assert_int_equal(suspects, 1);
	/* The next round's answer on lte2 again: nothing more to do. */
	round_at(p, T0 + 500000);
	relay_rx(p, 1, 2, T0 + 500000 + RTT);
	(void)direct_relay_check(p, T0 + 500000 + WAIT);
	assert_int_equal(p->dp.relay_alt, 1);
	assert_int_equal(suspects, 1);
	/* Anything from the relay on lte1 brings it back. */
	relay_rx(p, 0, 3, T0 + 600000);
	assert_int_equal(p->dp.relay_alt, -1);
}

static void test_relaypath_control_answer_a_little_later_moves_nothing(void **state)
{
	struct fx *fx = *state;
	struct peer *p = fx->p;

	/* lte2 faster: its answer first, lte1's within twice its RTT. */
	round_at(p, T0);
	relay_rx(p, 1, 1, T0 + RTT / 2);
	relay_rx(p, 0, 2, T0 + RTT + 10000);
	assert_true(direct_relay_check(p, T0 + WAIT + 1) == UINT64_MAX);
	assert_int_equal(p->dp.relay_alt, -1);
	assert_int_equal(suspects, 0);
	/* A round nobody answered: no other uplink to move to. */
	round_at(p, T0 + 500000);
	assert_true(direct_relay_check(p, T0 + 500000 + WAIT) == UINT64_MAX);
	assert_int_equal(p->dp.relay_alt, -1);
	/* ... until an answer comes elsewhere, late: that decides at once. */
	relay_rx(p, 2, 3, T0 + 500000 + WAIT + 5000);
	assert_int_equal(p->dp.relay_alt, 2);
	assert_int_equal(suspects, 1);
}

static void test_relaypath_fanout_copies_count_by_their_tag(void **state)
{
	struct fx *fx = *state;
	struct peer *p = fx->p;
	uint8_t tag[WIRE_TAG_LEN];

	/* A redundant pair: each datagram comes on lte2 and on lte1; the copy
	 * on lte1 is refused as a replay but shows lte1 is answered. */
	round_at(p, T0);
	relay_rx(p, 1, 7, T0 + RTT);
	memset(tag, 7, sizeof(tag));
	direct_relay_copy(p, 0, tag, T0 + RTT + 100);
	(void)direct_relay_check(p, T0 + WAIT);
	assert_int_equal(p->dp.relay_alt, -1);
	/* A "copy" of nothing we authenticated does not count. */
	round_at(p, T0 + 500000);
	relay_rx(p, 1, 8, T0 + 500000 + RTT);
	memset(tag, 9, sizeof(tag));
	direct_relay_copy(p, 0, tag, T0 + 500000 + RTT + 100);
	(void)direct_relay_check(p, T0 + 500000 + WAIT);
	assert_int_equal(p->dp.relay_alt, 1);
}

static void test_relaypath_round_before_the_session_moved_decides_nothing(void **state)
{
	struct fx *fx = *state;
	struct peer *p = fx->p;

	round_at(p, T0);
	fx->cl->ctl = 1; /* the session moved to lte2 meanwhile */
	relay_rx(p, 1, 1, T0 + RTT);
	relay_rx(p, 2, 2, T0 + RTT);
	(void)direct_relay_check(p, T0 + 750000);
	assert_int_equal(p->dp.relay_alt, -1);
	assert_int_equal(suspects, 0);
	/* One uplink: never. */
	fx->cl->ctl = 0;
	fx->cl->n_up = 1;
	round_at(p, T0 + 500000);
	relay_rx(p, 0, 3, T0 + 400000); /* before the round: not an answer */
	(void)direct_relay_check(p, T0 + 500000 + 750000);
	assert_int_equal(p->dp.relay_alt, -1);
}

static void test_relaypath_third_uplink_takes_over_when_the_second_dies(void **state)
{
	struct fx *fx = *state;
	struct peer *p = fx->p;

	round_at(p, T0);
	relay_rx(p, 1, 1, T0 + RTT);
	(void)direct_relay_check(p, T0 + WAIT);
	assert_int_equal(p->dp.relay_alt, 1);
	/* lte2 dies too: the relay answers the satellite uplink. */
	round_at(p, T0 + 500000);
	relay_rx(p, 2, 2, T0 + 500000 + 200000);
	assert_int_equal(p->dp.relay_alt, 2);
	/* The session then moves to lte2 (back): the bookkeeping follows. */
	fx->cl->ctl = 2;
	assert_true(direct_relay_check(p, T0 + 800000) == UINT64_MAX);
	assert_int_equal(p->dp.relay_alt, -1);
}

/* A silent relay is bound again at once, then 1, 2, 4 ... s apart up to
 * the keepalive interval, and no more once it answers (a NAT may have
 * remapped the relay flow alone: nothing else would bind it until the
 * periodic bind). */
static void test_relaypath_silent_relay_is_bound_again_with_backoff(void **state)
{
	struct fx *fx = *state;
	struct peer *p = fx->p;
	uint64_t silent = p->dp.relay_mon.last_life_us + DIRECT_RELAY_SILENT_US + 1;
	static const uint64_t want_s[] = {0, 1, 3, 7, 15, 31, 56, 81};
	unsigned n_want = sizeof(want_s) / sizeof(want_s[0]);

	for (uint64_t t = silent; t <= silent + 90000000ull; t += 100000) {
		p->dp.relay_mon.next_ping_us = UINT64_MAX; /* no pings in the way */
		(void)direct_relay_tick(p, t);
	}
	assert_int_equal(suspects, 1);
	assert_int_equal(n_binds, n_want);
	for (unsigned i = 0; i < n_want; i++) {
		assert_int_equal(binds[i], silent + want_s[i] * 1000000ull);
	}
	/* heard again: the silence ends, and with it the binds */
	relay_rx(p, 0, 1, silent + 90100000ull);
	p->dp.relay_mon.last_life_us = silent + 90100000ull;
	n_binds = 0;
	for (uint64_t t = silent + 90200000ull; t <= silent + 92000000ull; t += 100000) {
		(void)direct_relay_tick(p, t);
	}
	assert_int_equal(n_binds, 0);
	assert_false(p->dp.is_relay_silent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relaypath_answer_elsewhere_moves_relay_traffic,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_relaypath_control_answer_a_little_later_moves_nothing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_relaypath_fanout_copies_count_by_their_tag,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_relaypath_round_before_the_session_moved_decides_nothing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_relaypath_third_uplink_takes_over_when_the_second_dies, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_relaypath_silent_relay_is_bound_again_with_backoff, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
