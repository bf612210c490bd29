/* test_relay: the relay's port allocator on loopback (DESIGN §5.1: busy
 * ports are skipped; an exhausted range is an error): order, reuse after
 * release, ports another program holds, exhaustion, and a random run
 * against a naive reference. Uses real sockets on 127.0.0.1 because the
 * allocator is what wraps them. And where a side's datagrams go among the
 * addresses its client bound (the primary one), and the pairs found by
 * their clients (relay_find_pair's index) across reloads that add and
 * drop them, against a scan of every pair. */
#include <errno.h>
#include <netinet/in.h>
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

#include <sodium.h>

#include "common/addr.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/udpio.h"
#include "config/routes.h"
#include "server/relay.h"

#include "relay_fixture.h"

#define RANGE_LEN 8

static struct sockaddr_storage loopback(void)
{
	struct sockaddr_storage ss;

	assert_int_equal(addr_parse("127.0.0.1:1", &ss, NULL), 0);
	addr_set_port(&ss, 0);
	return ss;
}

/* One socket on ip at the next free port of the range: its fd, or the
 * negative errno of relay_ports_open_on. */
static int relay_ports_open(struct relay_ports *rp, const struct sockaddr_storage *ip,
			    uint16_t *port)
{
	int fd = -1;
	int rc = relay_ports_open_on(rp, ip, 1, port, &fd);

	return rc < 0 ? rc : fd;
}

/* A range of RANGE_LEN ports that are all free right now. */
static struct routes_port_range free_range(void)
{
	uint16_t base = fix_free_ports(RANGE_LEN, 47100, 60000, 64);

	if (base == 0) {
		fail_msg("no free port range on 127.0.0.1");
	}
	return (struct routes_port_range){base, (uint16_t)(base + RANGE_LEN - 1)};
}

static void test_relay_ports_are_handed_out_in_order_and_reused(void **state)
{
	struct sockaddr_storage ip = loopback();
	struct routes_port_range range = free_range();
	struct relay_ports rp;
	int fds[RANGE_LEN];
	uint16_t port;

	(void)state;
	assert_int_equal(relay_ports_init(&rp, range), 0);
	for (int i = 0; i < 3; i++) {
		fds[i] = relay_ports_open(&rp, &ip, &port);
		assert_true(fds[i] >= 0);
		assert_int_equal(port, range.lo + i);
	}
	/* The port is really bound: nobody else can take it. */
	assert_int_equal(fix_hold(range.lo), -1);
	relay_ports_release(&rp, range.lo);
	close(fds[0]);
	/* Round robin: the next one comes first, the released one later. */
	fds[0] = relay_ports_open(&rp, &ip, &port);
	assert_int_equal(port, range.lo + 3);
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
	relay_ports_fini(&rp);
}

static void test_relay_busy_ports_are_skipped(void **state)
{
	struct sockaddr_storage ip = loopback();
	struct routes_port_range range = free_range();
	struct relay_ports rp;
	int busy = fix_hold((uint16_t)(range.lo + 1));
	int a, b;
	uint16_t pa, pb;

	(void)state;
	assert_true(busy >= 0);
	assert_int_equal(relay_ports_init(&rp, range), 0);
	a = relay_ports_open(&rp, &ip, &pa);
	b = relay_ports_open(&rp, &ip, &pb);
	assert_true(a >= 0 && b >= 0);
	assert_int_equal(pa, range.lo);
	assert_int_equal(pb, range.lo + 2);
	close(a);
	close(b);
	close(busy);
	relay_ports_fini(&rp);
}

/* One socket per server address, all on one port: a port busy on any of
 * the addresses is skipped, and what was bound on the others for it is
 * closed again. */
static void test_relay_ports_open_on_every_address(void **state)
{
	struct sockaddr_storage ips[2] = {loopback(), loopback()};
	struct routes_port_range range = free_range();
	struct relay_ports rp;
	struct sockaddr_storage local;
	socklen_t len;
	int fds[2] = {-1, -1}, busy, again;
	uint16_t port = 0;

	(void)state;
	assert_int_equal(addr_parse("127.0.0.2:1", &ips[1], NULL), 0);
	addr_set_port(&ips[1], 0);
	addr_set_port(&ips[1], range.lo); /* hold range.lo on 127.0.0.2 only */
	busy = udpio_open((const struct sockaddr *)&ips[1], addr_len(&ips[1]), NULL, NULL);
	assert_true(busy >= 0);
	addr_set_port(&ips[1], 0);
	assert_int_equal(relay_ports_init(&rp, range), 0);
	assert_int_equal(relay_ports_open_on(&rp, ips, 2, &port, fds), 0);
	assert_int_equal(port, range.lo + 1);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(udpio_local_addr(fds[k], &local, &len), 0);
		assert_int_equal(addr_port((const struct sockaddr *)&local), range.lo + 1);
		addr_set_port(&local, 0);
		assert_true(addr_equal((const struct sockaddr *)&local,
				       (const struct sockaddr *)&ips[k]));
		close(fds[k]);
	}
	again = fix_hold(range.lo); /* the try on 127.0.0.1 was closed */
	assert_true(again >= 0);
	close(again);
	close(busy);
	relay_ports_fini(&rp);
}

static void test_relay_exhausted_range_says_enospc_until_a_port_is_free(void **state)
{
	struct sockaddr_storage ip = loopback();
	struct routes_port_range range = free_range();
	struct relay_ports rp;
	int fds[RANGE_LEN], busy;
	uint16_t port;

	(void)state;
	range.hi = (uint16_t)(range.lo + 2);
	busy = fix_hold(range.hi);
	assert_true(busy >= 0);
	assert_int_equal(relay_ports_init(&rp, range), 0);
	fds[0] = relay_ports_open(&rp, &ip, &port);
	fds[1] = relay_ports_open(&rp, &ip, &port);
	assert_true(fds[0] >= 0 && fds[1] >= 0);
	assert_int_equal(relay_ports_open(&rp, &ip, &port), -ENOSPC);
	/* The other program lets go of its port: it can be used now. */
	close(busy);
	fds[2] = relay_ports_open(&rp, &ip, &port);
	assert_true(fds[2] >= 0);
	assert_int_equal(port, range.hi);
	for (int i = 0; i < 3; i++) {
		close(fds[i]);
	}
	relay_ports_fini(&rp);
}

static void test_relay_bad_range_is_refused(void **state)
{
	struct relay_ports rp;

	(void)state;
	assert_int_equal(relay_ports_init(&rp, (struct routes_port_range){3000, 2999}), -EINVAL);
	relay_ports_fini(&rp);
	assert_int_equal(relay_ports_init(&rp, (struct routes_port_range){0, 10}), -EINVAL);
	relay_ports_fini(&rp);
}

/* Random opens and releases, with ports held by "another program" coming
 * and going, against a naive reference: a port handed out is never held
 * here or elsewhere, and -ENOSPC comes exactly when every port is taken. */
static void test_relay_ports_match_a_naive_reference_at_random(void **state)
{
	struct sockaddr_storage ip = loopback();
	struct routes_port_range range = free_range();
	int mine[RANGE_LEN], other[RANGE_LEN];
	unsigned seed = 20261125;
	struct relay_ports rp;

	(void)state;
	srand(seed);
	for (int i = 0; i < RANGE_LEN; i++) {
		mine[i] = other[i] = -1;
	}
	assert_int_equal(relay_ports_init(&rp, range), 0);
	for (int step = 0; step < 2000; step++) {
		int k = rand() % RANGE_LEN, op = rand() % 4;
		uint16_t port = 0;

		if (op == 0 && mine[k] >= 0) {
			relay_ports_release(&rp, (uint16_t)(range.lo + k));
			close(mine[k]);
			mine[k] = -1;
		} else if (op == 1 && mine[k] < 0) {
			if (other[k] >= 0) {
				close(other[k]);
				other[k] = -1;
			} else {
				other[k] = fix_hold((uint16_t)(range.lo + k));
			}
		} else {
			bool any_free = false;
			int fd = relay_ports_open(&rp, &ip, &port);

			for (int i = 0; i < RANGE_LEN; i++) {
				any_free |= mine[i] < 0 && other[i] < 0;
			}
			if (!any_free) {
				if (fd != -ENOSPC) {
					fail_msg("seed %u step %d: expected -ENOSPC", seed, step);
				}
				continue;
			}
			int i = port - range.lo;
			if (fd < 0 || i < 0 || i >= RANGE_LEN || mine[i] >= 0 || other[i] >= 0) {
				fail_msg("seed %u step %d: bad port %u", seed, step, port);
			}
			mine[i] = fd;
		}
	}
	for (int i = 0; i < RANGE_LEN; i++) {
		if (mine[i] >= 0) {
			close(mine[i]);
		}
		if (other[i] >= 0) {
			close(other[i]);
		}
	}
	relay_ports_fini(&rp);
}

/* A side of a pair, built by hand (no ports: relay_side_bind and
 * relay_side_target only keep its addresses). */
struct hand_pair {
	struct relay_pair pair;
};

static struct relay_side *hand_side(struct hand_pair *h)
{
	memset(h, 0, sizeof(*h));
	h->pair.side[0].pair = &h->pair;
	h->pair.side[1].pair = &h->pair;
	h->pair.side[1].index = 1;
	snprintf(h->pair.side[0].id, sizeof(h->pair.side[0].id), "drone");
	snprintf(h->pair.side[1].id, sizeof(h->pair.side[1].id), "gcs");
	h->pair.side[0].socks[0].side = &h->pair.side[0];
	h->pair.side[0].socks[0].fd = -1;
	h->pair.side[0].n_socks = 1;
	return &h->pair.side[0];
}

static struct sockaddr_storage uplink_addr(int k)
{
	struct sockaddr_storage ss;
	char text[32];

	snprintf(text, sizeof(text), "198.51.100.%d:4000", k);
	assert_int_equal(addr_parse(text, &ss, NULL), 0);
	return ss;
}

static int target_of(const struct relay_side *s, uint64_t now_us)
{
	const struct relay_endpoint *ep = relay_side_target(s, now_us);

	if (!ep) {
		return -1;
	}
	return ((const uint8_t *)&((const struct sockaddr_in *)(const void *)&ep->addr)
			->sin_addr)[3];
}

static void heard(struct relay_side *s, int k, bool primary, uint64_t t_us)
{
	struct sockaddr_storage a = uplink_addr(k);

	relay_side_bind(&s->socks[0], (const struct sockaddr *)&a, primary, t_us);
}

/* A client with two uplinks pings the relay from both at once, every
 * 500 ms, and their order and spacing at the relay depend on their delays:
 * the relay keeps to the primary (the control uplink's) address while it
 * was heard within RELAY_PRIMARY_QUIET_US, however late the other's pings
 * come; with no primary, or the primary quiet, the one heard last. */
static void test_relay_target_keeps_to_the_primary_while_it_is_heard(void **state)
{
	struct hand_pair h;
	struct relay_side *s = hand_side(&h);
	uint64_t t = 1000000;

	(void)state;
	assert_int_equal(target_of(s, t), -1);
	heard(s, 1, false, t);
	heard(s, 2, false, t + 10);
	assert_int_equal(target_of(s, t + 10), 2); /* no primary: the one heard last */
	heard(s, 1, true, t + 20);
	assert_int_equal(target_of(s, t + 20), 1);
	/* Rounds of pings where the other uplink's arrives last: 40 ms later,
	 * then 300 ms (a GEO link), up to the next round's primary ping. */
	for (int round = 1; round <= 5; round++) {
		uint64_t r = t + (uint64_t)round * 500000;
		uint64_t lag = round <= 2 ? 40000 : 300000;

		heard(s, 1, false, r);
		heard(s, 2, false, r + lag);
		assert_int_equal(target_of(s, r + lag), 1);
		assert_int_equal(target_of(s, r + 499999), 1);
	}
	/* The primary goes quiet: the next rounds come from the other alone.
	 * Exactly RELAY_PRIMARY_QUIET_US after the primary was last heard is
	 * still the primary's; one µs more is not. */
	t += 5 * 500000;
	heard(s, 2, false, t + 500000);
	assert_int_equal(target_of(s, t + RELAY_PRIMARY_QUIET_US), 1);
	assert_int_equal(target_of(s, t + RELAY_PRIMARY_QUIET_US + 1), 2);
	heard(s, 1, false, t + 900000); /* back: the primary again */
	assert_int_equal(target_of(s, t + 900000), 1);
	/* Quiet, but nothing else heard since: still the primary. */
	assert_int_equal(target_of(s, t + 5000000), 1);
	/* The session moved: the other uplink's bind says primary; one
	 * primary per side. */
	heard(s, 2, true, t + 6000000);
	heard(s, 1, false, t + 6100000);
	assert_int_equal(target_of(s, t + 6100000), 2);
	assert_false(s->ep[0].is_primary && s->ep[1].is_primary);
	assert_int_equal(s->n_ep, 2);
}

#define POOL 40 /* client ids c0..c39; each reload names some of them */

/* routes.conf text naming the clients of `in` and n_flows N:N flows of two to
 * five of them, picked with rand(); keys[i] is client ci's key (base64). */
static char *random_routes_text(const bool in[POOL], char keys[POOL][64], int n_flows)
{
	size_t cap = 64 * 1024, len = 0;
	char *t = malloc(cap);
	int ids[POOL], n = 0;

	assert_non_null(t);
	len += (size_t)snprintf(t + len, cap - len,
				"server: { listen = \"127.0.0.1:7400\"; key_file = \"server.key\"; "
				"relay_a = \"47000-47007\"; relay_b = \"47008-47015\"; };\n"
				"clients: {");
	for (int i = 0; i < POOL; i++) {
		if (in[i]) {
			ids[n++] = i;
			len += (size_t)snprintf(t + len, cap - len, " c%d = { key = \"%s\"; };", i,
						keys[i]);
		}
	}
	len += (size_t)snprintf(t + len, cap - len, " };\nflows: (");
	for (int f = 0; f < n_flows && n >= 2; f++) {
		int want = 2 + rand() % 4, first = rand() % n;

		len += (size_t)snprintf(
			t + len, cap - len,
			"%s { name = \"f%d\"; proto = \"udp\"; port = %d; members = [",
			f ? "," : "", f, 10000 + f);
		/* Consecutive ids from first (wrapping): distinct members. */
		for (int k = 0; k < want && k < n; k++) {
			len += (size_t)snprintf(t + len, cap - len, "%s\"c%d\"", k ? ", " : "",
						ids[(first + k) % n]);
		}
		len += (size_t)snprintf(t + len, cap - len, "]; }");
	}
	len += (size_t)snprintf(t + len, cap - len, " );\n");
	assert_true(len < cap);
	return t;
}

/* The pair of clients x and y found by looking at every pair. */
static struct relay_pair *scan_pairs(const struct relay *rl, const char *x, const char *y)
{
	for (size_t i = 0; i < rl->n_pairs; i++) {
		struct relay_pair *p = rl->pairs[i];

		if ((strcmp(p->side[0].id, x) == 0 && strcmp(p->side[1].id, y) == 0) ||
		    (strcmp(p->side[0].id, y) == 0 && strcmp(p->side[1].id, x) == 0)) {
			return p;
		}
	}
	return NULL;
}

/* Reloads that add and drop clients and flows: after each, every two
 * clients of the pool have a pair exactly when they share a flow, and
 * relay_find_pair finds the pair a scan finds, either way round. The pairs
 * get no ports (no file descriptors to spare), which the index ignores. */
static void test_relay_finds_the_pair_a_scan_finds_across_reloads(void **state)
{
	unsigned seed = 20261129;
	char keys[POOL][64];
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct relay rl;
	bool started = false;

	(void)state;
	assert_non_null(loop);
	log_set_level(LOG_LEVEL_WARN); /* a line per pair added or released */
	srand(seed);
	for (int i = 0; i < POOL; i++) {
		uint8_t k[32];

		for (size_t j = 0; j < sizeof(k); j++) {
			k[j] = (uint8_t)rand();
		}
		sodium_bin2base64(keys[i], sizeof(keys[i]), k, sizeof(k),
				  sodium_base64_VARIANT_ORIGINAL);
	}
	for (int round = 0; round < 60; round++) {
		bool in[POOL];
		char *text;
		struct routes *r;
		struct diag d;

		for (int i = 0; i < POOL; i++) {
			in[i] = rand() % 4 != 0;
		}
		text = random_routes_text(in, keys, round % 7 == 6 ? 0 : 1 + rand() % 30);
		diag_clear(&d);
		r = routes_parse_text(text, strlen(text), "routes.conf", ".", false, &d);
		if (!r) {
			fail_msg("seed %u round %d: %s", seed, round, d.msg);
		}
		if (!started) {
			assert_int_equal(relay_init(&rl, loop, r, &d), 0);
			rl.fd_budget = 1;
			started = true;
		}
		assert_int_equal(relay_update(&rl, r, 1000), 0);
		for (int x = 0; x < POOL; x++) {
			for (int y = 0; y < POOL; y++) {
				char a[8], b[8];
				struct relay_pair *p;

				snprintf(a, sizeof(a), "c%d", x);
				snprintf(b, sizeof(b), "c%d", y);
				p = scan_pairs(&rl, a, b);
				if (relay_find_pair(&rl, a, b) != p ||
				    (p != NULL) != (routes_shared_modes(r, a, b) != 0)) {
					fail_msg("seed %u round %d: pair %s %s", seed, round, a, b);
				}
			}
		}
		routes_free(r);
		free(text);
	}
	relay_fini(&rl);
	ev_loop_destroy(loop);
	log_set_level(LOG_LEVEL_INFO);
}

/* A client back online (relay_wake) gets ports for its pairs released
 * while idle, and for no other pair: a, b, c and d in a chain of flows
 * (a-b, b-c, c-d), every pair released after both sides were silent. */
static void test_relay_wake_opens_the_client_s_pairs_only(void **state)
{
	static const char *ids[] = {"a", "b", "c", "d"};
	uint16_t base = fix_free_ports(16, 47100, 60000, 16);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	uint64_t t = 1000 + RELAY_PAIR_IDLE_US + 1;
	size_t len = 0, cap = 4096;
	char *text = malloc(cap);
	struct relay rl;
	struct routes *r;
	struct diag d;

	(void)state;
	assert_true(base != 0 && loop && text);
	len += (size_t)snprintf(text + len, cap - len,
				"server: { listen = \"127.0.0.1:7400\"; key_file = \"server.key\"; "
				"relay_a = \"%u-%u\"; relay_b = \"%u-%u\"; };\nclients: {",
				base, base + 7, base + 8, base + 15);
	for (int i = 0; i < 4; i++) {
		uint8_t k[32];
		char b64[64];

		memset(k, 0x30 + i, sizeof(k));
		sodium_bin2base64(b64, sizeof(b64), k, sizeof(k), sodium_base64_VARIANT_ORIGINAL);
		len += (size_t)snprintf(text + len, cap - len, " %s = { key = \"%s\"; };", ids[i],
					b64);
	}
	for (int i = 0; i < 3; i++) {
		len += (size_t)snprintf(text + len, cap - len,
					"%s { name = \"f%d\"; proto = \"udp\"; port = %d; members "
					"= [\"%s\", \"%s\"]; }",
					i ? "," : " };\nflows: (", i, 10000 + i, ids[i],
					ids[i + 1]);
	}
	len += (size_t)snprintf(text + len, cap - len, " );\n");
	assert_true(len < cap);
	diag_clear(&d);
	r = routes_parse_text(text, len, "routes.conf", ".", false, &d);
	if (!r) {
		fail_msg("%s", d.msg);
	}
	log_set_level(LOG_LEVEL_WARN);
	assert_int_equal(relay_init(&rl, loop, r, &d), 0);
	assert_int_equal(relay_update(&rl, r, 1000), 0);
	assert_int_equal(rl.n_pairs, 3);
	for (int i = 0; i < 3; i++) {
		assert_true(relay_find_pair(&rl, ids[i], ids[i + 1])->has_ports);
	}
	assert_true(relay_tick(&rl, t));
	for (int i = 0; i < 3; i++) {
		assert_false(relay_find_pair(&rl, ids[i], ids[i + 1])->has_ports);
	}
	assert_false(relay_wake(&rl, r, "nobody", t));
	assert_true(relay_wake(&rl, r, "a", t));
	assert_true(relay_find_pair(&rl, "a", "b")->has_ports);
	assert_false(relay_find_pair(&rl, "b", "c")->has_ports);
	assert_false(relay_find_pair(&rl, "c", "d")->has_ports);
	assert_false(relay_wake(&rl, r, "a", t)); /* nothing left to open */
	assert_true(relay_wake(&rl, r, "c", t));
	assert_true(relay_find_pair(&rl, "b", "c")->has_ports);
	assert_true(relay_find_pair(&rl, "c", "d")->has_ports);
	relay_fini(&rl);
	routes_free(r);
	free(text);
	ev_loop_destroy(loop);
	log_set_level(LOG_LEVEL_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_ports_are_handed_out_in_order_and_reused),
		cmocka_unit_test(test_relay_busy_ports_are_skipped),
		cmocka_unit_test(test_relay_ports_open_on_every_address),
		cmocka_unit_test(test_relay_exhausted_range_says_enospc_until_a_port_is_free),
		cmocka_unit_test(test_relay_bad_range_is_refused),
		cmocka_unit_test(test_relay_ports_match_a_naive_reference_at_random),
		cmocka_unit_test(test_relay_target_keeps_to_the_primary_while_it_is_heard),
		cmocka_unit_test(test_relay_finds_the_pair_a_scan_finds_across_reloads),
		cmocka_unit_test(test_relay_wake_opens_the_client_s_pairs_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
