/* test_linkmtu: client/linkmtu — the stream segment size towards a peer
 * follows the path streams take (failover's path, else the relay): full
 * size once that path answered a full-size probe, the base size (a
 * 1280-byte packet) while it has not or after it dropped them; a narrow
 * path beside the one in use does not shrink it. And the largest datagram
 * a narrow path is known to take. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "client/client.h"
#include "client/direct.h"
#include "client/linkmtu.h"
#include "client/peer.h"
#include "common/monotime.h"
#include "nat/pathmon.h"
#include "nat/pmtu.h"
#include "proto/rstream.h"

#define FULL_MSS RSTREAM_MSS /* 1404: a 1480-byte IPv4 packet */
#define BASE_MSS 1204u	     /* a 1280-byte IPv4 packet */

struct fx {
	struct client *cl;
	struct peer *p;
	uint64_t now;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->cl = calloc(1, sizeof(*fx->cl));
	fx->p = calloc(1, sizeof(*fx->p));
	assert_non_null(fx->cl);
	assert_non_null(fx->p);
	fx->cl->family = AF_INET;
	fx->cl->n_up = 1;
	fx->cl->stream_mss = RSTREAM_MSS;
	fx->p->cl = fx->cl;
	fx->p->dp.active = -1;
	fx->now = monotime_now_us();
	pmtu_start(&fx->p->dp.relay_pmtu, fx->now);
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

/* pm answers a probe of size (FULL) or loses PMTU_MAX_PROBES while its
 * path answers pings (BASE). */
static void make_full(struct pmtu *pm, uint64_t now)
{
	uint32_t id;

	pmtu_start(pm, now - 10 * PMTU_PROBE_WAIT_US);
	id = pmtu_probe_due(pm, 1452, now - 10 * PMTU_PROBE_WAIT_US);
	assert_true(pmtu_on_pong(pm, id, now - 10 * PMTU_PROBE_WAIT_US + 1000));
}

static void make_base(struct pmtu *pm, uint64_t now)
{
	uint64_t t = now - 10 * PMTU_PROBE_WAIT_US;

	pmtu_start(pm, t);
	for (int i = 0; i < PMTU_MAX_PROBES; i++) {
		assert_true(pmtu_probe_due(pm, 1452, t) != 0);
		t += PMTU_PROBE_WAIT_US;
		(void)pmtu_on_timer(pm, t - 1, t);
	}
	assert_int_equal(pm->state, PMTU_BASE);
}

/* Direct path i up, answering, with RTT rtt_us. */
static struct direct_path *path_up(struct fx *fx, int i, uint32_t rtt_us)
{
	struct direct_path *s = &fx->p->dp.paths[i];

	s->is_used = true;
	s->is_up = true;
	pathmon_init(&s->mon, fx->now, DIRECT_PING_US, DIRECT_DOUBT_US, DIRECT_DEAD_US);
	s->mon.srtt_us = rtt_us;
	pmtu_start(&s->pmtu, fx->now);
	return s;
}

static void test_linkmtu_relay_full_only_once_answered(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(linkmtu_peer_mss(fx->p, monotime_now_us()), BASE_MSS); /* searching */
	assert_false(linkmtu_is_narrow(fx->p, FRAME_MULTIPATH_FAILOVER, fx->now));
	make_full(&fx->p->dp.relay_pmtu, fx->now);
	assert_int_equal(linkmtu_peer_mss(fx->p, monotime_now_us()), FULL_MSS);
	make_base(&fx->p->dp.relay_pmtu, fx->now);
	assert_int_equal(linkmtu_peer_mss(fx->p, monotime_now_us()), BASE_MSS);
	/* A DATAGRAM payload in a 1280-byte IPv4 packet. */
	assert_true(linkmtu_is_narrow(fx->p, FRAME_MULTIPATH_FAILOVER, fx->now));
	assert_int_equal(linkmtu_base_payload(fx->cl), 1280 - 28 - 32 - 3 - 9);
}

static void test_linkmtu_follows_the_failover_path(void **state)
{
	struct fx *fx = *state;
	struct direct_path *wide, *narrow;

	make_base(&fx->p->dp.relay_pmtu, fx->now);
	wide = path_up(fx, 0, 10000);
	narrow = path_up(fx, 1, 30000);
	make_full(&wide->pmtu, fx->now);
	make_base(&narrow->pmtu, fx->now);
	/* Failover sends on the faster, wide path: full size, whatever the
	 * narrow one beside it and the relay drop. */
	assert_ptr_equal(direct_failover_path(fx->p, fx->now), wide);
	assert_int_equal(linkmtu_peer_mss(fx->p, monotime_now_us()), FULL_MSS);
	/* Datagrams: failover's fit; balance puts some on the narrow path. */
	assert_false(linkmtu_is_narrow(fx->p, FRAME_MULTIPATH_FAILOVER, fx->now));
	assert_true(linkmtu_is_narrow(fx->p, FRAME_MULTIPATH_BALANCE, fx->now));
	/* The wide path goes quiet: failover takes the narrow one. */
	wide->mon.last_life_us = fx->now - 2 * DIRECT_DEAD_US;
	assert_ptr_equal(direct_failover_path(fx->p, monotime_now_us()), narrow);
	assert_int_equal(linkmtu_peer_mss(fx->p, monotime_now_us()), BASE_MSS);
	/* Both quiet: the relay carries (narrow too). */
	narrow->mon.last_life_us = fx->now - 2 * DIRECT_DEAD_US;
	assert_null(direct_failover_path(fx->p, monotime_now_us()));
	assert_int_equal(linkmtu_peer_mss(fx->p, monotime_now_us()), BASE_MSS);
	make_full(&fx->p->dp.relay_pmtu, fx->now);
	assert_int_equal(linkmtu_peer_mss(fx->p, monotime_now_us()), FULL_MSS);
}

/* Over IPv6 the base segment fits a 1280-byte IPv6 packet (40-byte header),
 * and so does the datagram bound. */
static void test_linkmtu_ipv6_base_fits_1280_bytes(void **state)
{
	struct fx *fx = *state;

	fx->cl->family = AF_INET6;
	assert_int_equal(linkmtu_peer_mss(fx->p, monotime_now_us()),
			 1280 - 48 - 32 - RSTREAM_FRAME_OVERHEAD);
	make_base(&fx->p->dp.relay_pmtu, fx->now);
	assert_true(linkmtu_is_narrow(fx->p, FRAME_MULTIPATH_FAILOVER, fx->now));
	assert_int_equal(linkmtu_base_payload(fx->cl), 1280 - 48 - 32 - 3 - 9);
	make_full(&fx->p->dp.relay_pmtu, fx->now);
	assert_int_equal(linkmtu_peer_mss(fx->p, monotime_now_us()), FULL_MSS);
}

/* Links no wider than the base: nothing to probe, the links' size. */
static void test_linkmtu_small_links_need_no_probe(void **state)
{
	struct fx *fx = *state;

	fx->p->link_mtu = 1280; /* the peer told us */
	assert_int_equal(linkmtu_peer_mss(fx->p, monotime_now_us()), BASE_MSS);
	assert_null(linkmtu_probe_text(fx->p, &fx->p->dp.relay_pmtu, true));
	assert_int_equal(linkmtu_probe_relay(fx->p, fx->now), UINT64_MAX);
	fx->p->link_mtu = 1400;
	assert_string_equal(linkmtu_probe_text(fx->p, &fx->p->dp.relay_pmtu, true), "searching");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_linkmtu_relay_full_only_once_answered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_linkmtu_follows_the_failover_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_linkmtu_ipv6_base_fits_1280_bytes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_linkmtu_small_links_need_no_probe, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
