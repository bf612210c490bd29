/* test_routeset: one client's route set built from routes.conf text
 * (PROTOCOL.md "Route sets"): which ROUTE and PEER frames it holds, their
 * fields, the SYNC at the end, packing into packets, the generation-free
 * hash, and flow-id collisions. No sockets, no clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/diag.h"
#include "config/routes.h"
#include "proto/frame.h"
#include "server/routeset.h"

#define KEY_DRONE3 "MNSNxUxF3nOSfua5uBvU9VIHfZatOAqpD6AOnIfAvBM="
#define KEY_GCS4 "PG706jxMbNsos0lINepFzFwbRJ1wJke51aaHhQVeGm8="
#define KEY_GCS5 "3FX2VZxYNwGDTSWKdPQ7648w91CjcswyDBop5POY3E0="

#define HEAD                                                                            \
	"server: { listen = [\"203.0.113.10:7400\"]; key_file = \"server.key\"; "       \
	"keepalive_s = 20; };\n"                                                        \
	"clients: { drone3 = { key = \"" KEY_DRONE3 "\"; }; gcs4 = { key = \"" KEY_GCS4 \
	"\"; }; gcs5 = { key = \"" KEY_GCS5 "\"; }; };\n"

#define FLOW_MAVLINK \
	"{ name = \"mavlink\"; proto = \"udp\"; port = 14550; members = [\"drone3\", \"gcs4\"]; }"
#define FLOW_VIDEO                                                                \
	"{ name = \"video\"; proto = \"udp\"; port = 5600; from = [\"drone3\"]; " \
	"to = [\"gcs4\"]; deliver = { gcs4 = \"127.0.0.1:5700\"; }; mtu = 1200; }"
#define FLOW_SSH                                                              \
	"{ name = \"ssh\"; proto = \"tcp\"; port = 2222; from = [\"gcs4\"]; " \
	"to = [\"drone3\"]; listen = { gcs4 = 2223; }; }"
#define FLOW_CHAT \
	"{ name = \"chat\"; proto = \"udp\"; port = 7000; members = [\"gcs4\", \"gcs5\"]; }"

struct collected {
	struct {
		uint8_t buf[WIRE_MAX_PLAINTEXT];
		size_t len;
	} pkts[64];
	size_t n;
};

static struct routes *parse(const char *text)
{
	struct diag d;
	char line[600];
	struct routes *r;

	diag_clear(&d);
	r = routes_parse_text(text, strlen(text), "routes.conf", NULL, false, &d);
	if (!r) {
		fail_msg("%s", diag_format(&d, line, sizeof(line)));
	}
	return r;
}

static uint16_t port_of(const char *self, const char *peer)
{
	/* Deterministic and different per direction. */
	return (uint16_t)(2000 + (unsigned)strlen(self) * 100 + (unsigned)strlen(peer));
}

/* ctx: NULL, or the uplink mask every peer has. */
static void fake_relay_port(void *ctx, const char *self, const char *peer,
			    struct routeset_peer *out)
{
	out->relay_port = port_of(self, peer);
	out->uplinks = ctx ? *(const uint8_t *)ctx : 0;
}

static void fake_relay_port2(void *ctx, const char *self, const char *peer,
			     struct routeset_peer *out)
{
	(void)ctx;
	out->relay_port = (uint16_t)(port_of(self, peer) + 1);
}

static void collect_cb(void *ctx, const uint8_t *pt, size_t len)
{
	struct collected *c = ctx;

	assert_true(c->n < 64);
	assert_true(len <= WIRE_MAX_PLAINTEXT);
	memcpy(c->pkts[c->n].buf, pt, len);
	c->pkts[c->n].len = len;
	c->n++;
}

/* Decode every frame of every packet, in order, into frames[]. */
static size_t decode_all(const struct collected *c, struct frame *frames, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++) {
		struct frame_reader fr;
		int rc;

		frame_reader_init(&fr, c->pkts[i].buf, c->pkts[i].len);
		while ((rc = frame_read_next(&fr, &frames[n])) == 1) {
			n++;
			assert_true(n < max);
		}
		assert_int_equal(rc, 0);
	}
	return n;
}

static const struct frame *find_route(const struct frame *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (f[i].type == FRAME_ROUTE && strcmp(f[i].u.route.flow.text, name) == 0) {
			return &f[i];
		}
	}
	return NULL;
}

static uint8_t roles_of(const struct frame_route *rt, const char *id)
{
	for (size_t i = 0; i < rt->member_count; i++) {
		if (strcmp(rt->members[i].name.text, id) == 0) {
			return rt->members[i].roles;
		}
	}
	return 0;
}

static void test_routeset_flow_id_is_the_first_four_bytes_of_blake2b(void **state)
{
	uint8_t h[32];

	(void)state;
	assert_int_equal(crypto_generichash(h, sizeof(h), (const uint8_t *)"video", 5, NULL, 0), 0);
	assert_int_equal(routeset_flow_id("video"),
			 (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3]);
	/* Known answer: stays the same across builds and restarts. */
	assert_int_equal(routeset_flow_id("mavlink"), 0xbdac54de);
}

static void test_routeset_holds_routes_peers_and_a_final_sync(void **state)
{
	static struct frame f[64];
	struct routes *r = parse(HEAD "flows: (" FLOW_MAVLINK ", " FLOW_VIDEO ", " FLOW_SSH
				      ", " FLOW_CHAT ");\n");
	struct collected *c = calloc(1, sizeof(*c));
	struct routeset_info info;
	const struct frame *rt;
	size_t n;

	(void)state;
	assert_int_equal(
		routeset_build(r, "drone3", 77, fake_relay_port, NULL, collect_cb, c, &info), 0);
	assert_int_equal(c->n, 1);
	assert_int_equal(info.n_packets, 1);
	n = decode_all(c, f, 64);
	/* mavlink, video, ssh; one peer (gcs4, not gcs5); sync. */
	assert_int_equal(n, 5);
	assert_int_equal(info.count, 4);
	assert_null(find_route(f, n, "chat"));
	rt = find_route(f, n, "video");
	assert_non_null(rt);
	assert_true(rt->u.route.generation == 77);
	assert_int_equal(rt->u.route.flow_id, routeset_flow_id("video"));
	assert_int_equal(rt->u.route.listen_port, 5600); /* drone3 is a source */
	assert_int_equal(rt->u.route.deliver.family, 0); /* and not a sink */
	assert_int_equal(rt->u.route.mtu, 1200);
	assert_int_equal(roles_of(&rt->u.route, "drone3"), FRAME_ROLE_SOURCE);
	assert_int_equal(roles_of(&rt->u.route, "gcs4"), FRAME_ROLE_SINK);
	rt = find_route(f, n, "ssh");
	assert_non_null(rt);
	assert_int_equal(rt->u.route.proto, FRAME_PROTO_TCP);
	assert_int_equal(rt->u.route.listen_port, 0);
	assert_int_equal(rt->u.route.deliver.family, FRAME_ADDR_IPV4);
	assert_int_equal(rt->u.route.deliver.port, 2222);
	rt = find_route(f, n, "mavlink");
	assert_int_equal(roles_of(&rt->u.route, "gcs4"), FRAME_ROLES_ALL);
	assert_int_equal(f[3].type, FRAME_PEER);
	assert_string_equal(f[3].u.peer.peer.text, "gcs4");
	assert_int_equal(f[3].u.peer.relay_port, port_of("drone3", "gcs4"));
	assert_memory_equal(f[3].u.peer.key, r->clients[1].key, 32);
	assert_int_equal(f[4].type, FRAME_SYNC);
	assert_true(f[4].u.sync.generation == 77);
	assert_int_equal(f[4].u.sync.count, 4);
	assert_int_equal(f[4].u.sync.keepalive_s, 20);
	free(c);
	routes_free(r);
}

static void test_routeset_sink_gets_its_deliver_override_and_listen_override(void **state)
{
	static struct frame f[64];
	struct routes *r = parse(HEAD "flows: (" FLOW_VIDEO ", " FLOW_SSH ");\n");
	struct collected *c = calloc(1, sizeof(*c));
	struct routeset_info info;
	const struct frame *rt;
	size_t n;

	(void)state;
	assert_int_equal(routeset_build(r, "gcs4", 1, fake_relay_port, NULL, collect_cb, c, &info),
			 0);
	n = decode_all(c, f, 64);
	rt = find_route(f, n, "video");
	assert_int_equal(rt->u.route.listen_port, 0);
	assert_int_equal(rt->u.route.deliver.family, FRAME_ADDR_IPV4);
	assert_int_equal(rt->u.route.deliver.port, 5700);
	assert_memory_equal(rt->u.route.deliver.ip, "\x7f\x00\x00\x01", 4);
	rt = find_route(f, n, "ssh");
	assert_int_equal(rt->u.route.listen_port, 2223);
	assert_int_equal(f[2].type, FRAME_PEER);
	assert_int_equal(f[2].u.peer.relay_port, port_of("gcs4", "drone3"));
	assert_int_equal(f[3].type, FRAME_SYNC);
	/* Without relay ports (none allocated yet) no PEER is sent. */
	memset(c, 0, sizeof(*c));
	assert_int_equal(routeset_build(r, "gcs4", 1, NULL, NULL, collect_cb, c, &info), 0);
	n = decode_all(c, f, 64);
	assert_int_equal(n, 3);
	assert_int_equal(info.count, 2);
	assert_int_equal(f[2].type, FRAME_SYNC);
	free(c);
	routes_free(r);
}

static void test_routeset_hash_ignores_generation_and_unrelated_flows(void **state)
{
	struct routes *a = parse(HEAD "flows: (" FLOW_MAVLINK ", " FLOW_CHAT ");\n");
	struct routes *b =
		parse(HEAD "flows: (" FLOW_MAVLINK ", { name = \"chat\"; proto = "
			   "\"udp\"; port = 7001; members = [\"gcs4\", \"gcs5\"]; });\n");
	struct routes *c = parse(HEAD "flows: (" FLOW_MAVLINK ", " FLOW_VIDEO ");\n");
	struct routeset_info i1, i2;

	(void)state;
	assert_int_equal(routeset_build(a, "drone3", 1, NULL, NULL, NULL, NULL, &i1), 0);
	assert_int_equal(routeset_build(a, "drone3", 999, NULL, NULL, NULL, NULL, &i2), 0);
	assert_memory_equal(i1.hash, i2.hash, ROUTESET_HASH_LEN);
	/* chat changed, but drone3 is not in it: same set for drone3. */
	assert_int_equal(routeset_build(b, "drone3", 1, NULL, NULL, NULL, NULL, &i2), 0);
	assert_memory_equal(i1.hash, i2.hash, ROUTESET_HASH_LEN);
	/* ... but not for gcs4. */
	assert_int_equal(routeset_build(a, "gcs4", 1, NULL, NULL, NULL, NULL, &i1), 0);
	assert_int_equal(routeset_build(b, "gcs4", 1, NULL, NULL, NULL, NULL, &i2), 0);
	assert_memory_not_equal(i1.hash, i2.hash, ROUTESET_HASH_LEN);
	/* A new flow for drone3 changes its set; a relay port does too. */
	assert_int_equal(routeset_build(a, "drone3", 1, NULL, NULL, NULL, NULL, &i1), 0);
	assert_int_equal(routeset_build(c, "drone3", 1, NULL, NULL, NULL, NULL, &i2), 0);
	assert_memory_not_equal(i1.hash, i2.hash, ROUTESET_HASH_LEN);
	assert_int_equal(routeset_build(a, "drone3", 1, fake_relay_port, NULL, NULL, NULL, &i2), 0);
	assert_memory_not_equal(i1.hash, i2.hash, ROUTESET_HASH_LEN);
	assert_int_equal(routeset_build(a, "drone3", 1, fake_relay_port2, NULL, NULL, NULL, &i1),
			 0);
	assert_memory_not_equal(i1.hash, i2.hash, ROUTESET_HASH_LEN);
	routes_free(a);
	routes_free(b);
	routes_free(c);
}

/* The PEER frame carries the peer's uplink mask; main-only (1) encodes as
 * before, and a new uplink changes the hash (so the set is sent again). */
static void test_routeset_peer_carries_the_uplink_mask_and_it_changes_the_hash(void **state)
{
	struct routes *r = parse(HEAD "flows: (" FLOW_MAVLINK ");\n");
	struct collected *c = calloc(1, sizeof(*c));
	struct frame frames[16];
	struct routeset_info i0, i1, i2;
	uint8_t main_only = 1, two = 0x05, none = 0;
	size_t n;

	(void)state;
	assert_non_null(c);
	assert_int_equal(routeset_build(r, "drone3", 1, fake_relay_port, &none, NULL, NULL, &i0),
			 0);
	assert_int_equal(
		routeset_build(r, "drone3", 1, fake_relay_port, &main_only, NULL, NULL, &i1), 0);
	assert_memory_equal(i0.hash, i1.hash, ROUTESET_HASH_LEN);
	assert_int_equal(routeset_build(r, "drone3", 1, fake_relay_port, &two, collect_cb, c, &i2),
			 0);
	assert_memory_not_equal(i1.hash, i2.hash, ROUTESET_HASH_LEN);
	n = decode_all(c, frames, 16);
	assert_int_equal(n, 3); /* ROUTE, PEER, SYNC */
	assert_int_equal(frames[1].type, FRAME_PEER);
	assert_string_equal(frames[1].u.peer.peer.text, "gcs4");
	assert_int_equal(frames[1].u.peer.uplinks, 0x05);
	free(c);
	routes_free(r);
}

#define FLOW_VIDEO_IMPAIR(LOSS)                                                        \
	"{ name = \"video\"; proto = \"udp\"; port = 5600; from = [\"drone3\"]; "      \
	"to = [\"gcs4\"]; impair = { loss = " LOSS "; delay_ms = 50; jitter_ms = 10; " \
	"loss_burst = 0.25; seed = 7; rate_kbps = 10000; }; }"

/* A flow with impair gets a FLOW_OPTS right after its ROUTE, counted in
 * SYNC; a flow without options gets none; an edit of only impair changes
 * the set's hash (so it reaches the clients as a new generation). */
static void test_routeset_flow_opts_follow_their_route_and_change_the_hash(void **state)
{
	static struct frame f[64];
	struct routes *a = parse(HEAD "flows: (" FLOW_MAVLINK ", " FLOW_VIDEO_IMPAIR("0.1") ");\n");
	struct routes *b = parse(HEAD "flows: (" FLOW_MAVLINK ", " FLOW_VIDEO_IMPAIR("0.5") ");\n");
	struct collected c;
	struct routeset_info i1, i2;
	const struct frame_flow_opts *o = NULL;
	size_t n, n_opts = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(routeset_build(a, "gcs4", 9, fake_relay_port, NULL, collect_cb, &c, &i1),
			 0);
	n = decode_all(&c, f, 64);
	for (size_t i = 0; i < n; i++) {
		if (f[i].type != FRAME_FLOW_OPTS) {
			continue;
		}
		n_opts++;
		o = &f[i].u.flow_opts;
		assert_true(i > 0 && f[i - 1].type == FRAME_ROUTE);
		assert_string_equal(f[i - 1].u.route.flow.text, "video");
		assert_int_equal(o->flow_id, f[i - 1].u.route.flow_id);
	}
	assert_int_equal(n_opts, 1);
	assert_int_equal(o->generation, 9);
	assert_int_equal(o->flags, FRAME_FLOW_OPTS_IMPAIR | FRAME_FLOW_OPTS_HAS_SEED);
	assert_int_equal(o->multipath, FRAME_MULTIPATH_FAILOVER);
	assert_int_equal(o->loss_ppb, 100000000);
	assert_int_equal(o->loss_burst_ppb, 250000000);
	assert_int_equal(o->corrupt_ppb, 0);
	assert_int_equal(o->delay_ms, 50);
	assert_int_equal(o->jitter_ms, 10);
	assert_int_equal(o->rate_kbps, 10000);
	assert_true(o->seed == 7);
	/* 2 ROUTE + 1 FLOW_OPTS + 1 PEER */
	assert_int_equal(f[n - 1].type, FRAME_SYNC);
	assert_int_equal(f[n - 1].u.sync.count, 4);
	assert_int_equal(i1.count, 4);
	assert_int_equal(routeset_build(b, "gcs4", 9, fake_relay_port, NULL, NULL, NULL, &i2), 0);
	assert_memory_not_equal(i1.hash, i2.hash, ROUTESET_HASH_LEN);
	routes_free(a);
	routes_free(b);
}

static void test_routeset_many_flows_pack_into_several_full_packets(void **state)
{
	static struct frame f[512];
	char *text = malloc(65536);
	struct collected *c = calloc(1, sizeof(*c));
	struct routeset_info info;
	struct routes *r;
	size_t off, n;

	(void)state;
	off = (size_t)snprintf(text, 65536, "%sflows: (", HEAD);
	for (int i = 0; i < 60; i++) {
		off += (size_t)snprintf(
			text + off, 65536 - off,
			"%s{ name = \"flow-with-a-long-name-%02d\"; proto = \"udp\"; "
			"port = %d; members = [\"drone3\", \"gcs4\", \"gcs5\"]; }",
			i ? ", " : "", i, 10000 + i);
	}
	snprintf(text + off, 65536 - off, ");\n");
	r = parse(text);
	assert_int_equal(routeset_build(r, "gcs5", 5, fake_relay_port, NULL, collect_cb, c, &info),
			 0);
	n = decode_all(c, f, 512);
	assert_int_equal(n, 60 + 2 + 1);
	assert_int_equal(info.count, 62);
	assert_int_equal(info.n_packets, c->n);
	assert_true(c->n > 1);
	/* As few packets as fit: every packet but the last is nearly full,
	 * and none is over the size every path takes. */
	for (size_t i = 0; i + 1 < c->n; i++) {
		assert_true(c->pkts[i].len > ROUTESET_PACKET_MAX - 200);
	}
	for (size_t i = 0; i < c->n; i++) {
		assert_true(c->pkts[i].len <= ROUTESET_PACKET_MAX);
	}
	assert_int_equal(f[n - 1].type, FRAME_SYNC);
	assert_int_equal(f[n - 1].u.sync.count, 62);
	free(text);
	free(c);
	routes_free(r);
}

static void test_routeset_unknown_client_is_refused(void **state)
{
	struct routes *r = parse(HEAD "flows: (" FLOW_MAVLINK ");\n");
	struct routeset_info info;

	(void)state;
	assert_int_equal(routeset_build(r, "drone9", 1, NULL, NULL, NULL, NULL, &info), -ENOENT);
	/* A client in no flow gets an empty set: just the SYNC. */
	assert_int_equal(routeset_build(r, "gcs5", 1, NULL, NULL, NULL, NULL, &info), 0);
	assert_int_equal(info.count, 0);
	assert_int_equal(info.n_packets, 1);
	routes_free(r);
}

static void test_routes_shared_modes_names_the_modes_two_clients_share(void **state)
{
	struct routes *r =
		parse(HEAD "flows: (" FLOW_MAVLINK ", " FLOW_CHAT ",\n"
			   "{ name = \"red\"; proto = \"udp\"; port = 14560; from = "
			   "[\"drone3\"]; to = [\"gcs4\"]; multipath = \"redundant\"; },\n"
			   "{ name = \"bal\"; proto = \"udp\"; port = 14570; members = "
			   "[\"gcs5\", \"gcs4\"]; multipath = \"balance\"; });\n");
	const unsigned failover = 1u << ROUTES_MULTIPATH_FAILOVER;
	const unsigned redundant = 1u << ROUTES_MULTIPATH_REDUNDANT;
	const unsigned balance = 1u << ROUTES_MULTIPATH_BALANCE;

	(void)state;
	assert_int_equal(routes_shared_modes(r, "drone3", "gcs4"), failover | redundant);
	assert_int_equal(routes_shared_modes(r, "gcs4", "drone3"), failover | redundant);
	assert_int_equal(routes_shared_modes(r, "gcs4", "gcs5"), failover | balance);
	assert_int_equal(routes_shared_modes(r, "drone3", "gcs5"), 0);
	assert_int_equal(routes_shared_modes(r, "gcs5", "gcs4"), failover | balance);
	assert_int_equal(routes_shared_modes(r, "gcs5", "drone3"), 0);
	routes_free(r);
}

static void test_routeset_flow_id_collision_is_refused_with_its_line(void **state)
{
	/* f8255 and f12010 share the flow id 0x2b3b6a8d (found by search). */
	struct routes *r = parse(HEAD "flows: (" FLOW_MAVLINK ",\n"
				      "{ name = \"f8255\"; proto = \"udp\"; port = 1; members = "
				      "[\"drone3\"]; },\n"
				      "{ name = \"f12010\"; proto = \"udp\"; port = 2; members = "
				      "[\"gcs4\"]; });\n");
	struct routes *ok = parse(HEAD "flows: (" FLOW_MAVLINK ", " FLOW_VIDEO ");\n");
	struct diag d;
	char line[600];

	(void)state;
	assert_int_equal(routeset_flow_id("f8255"), 0x2b3b6a8d);
	assert_int_equal(routeset_flow_id("f12010"), 0x2b3b6a8d);
	diag_clear(&d);
	assert_int_equal(routeset_check_ids(ok, &d), 0);
	assert_int_equal(routeset_check_ids(r, &d), -EEXIST);
	diag_format(&d, line, sizeof(line));
	assert_non_null(strstr(line, "routes.conf:5: flow \"f12010\""));
	assert_non_null(strstr(line, "collides with flow \"f8255\""));
	routes_free(r);
	/* The other way round, apart, among others: the later one is named. */
	r = parse(HEAD
		  "flows: (" FLOW_MAVLINK ",\n"
		  "{ name = \"f12010\"; proto = \"udp\"; port = 2; members = [\"gcs4\"]; },\n"
		  "{ name = \"a\"; proto = \"udp\"; port = 3; members = [\"gcs4\"]; },\n"
		  "{ name = \"f8255\"; proto = \"udp\"; port = 1; members = [\"drone3\"]; });\n");
	diag_clear(&d);
	assert_int_equal(routeset_check_ids(r, &d), -EEXIST);
	diag_format(&d, line, sizeof(line));
	assert_non_null(strstr(line, "routes.conf:6: flow \"f8255\""));
	assert_non_null(strstr(line, "collides with flow \"f12010\""));
	routes_free(r);
	routes_free(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routeset_flow_id_is_the_first_four_bytes_of_blake2b),
		cmocka_unit_test(test_routeset_holds_routes_peers_and_a_final_sync),
		cmocka_unit_test(test_routeset_sink_gets_its_deliver_override_and_listen_override),
		cmocka_unit_test(test_routeset_hash_ignores_generation_and_unrelated_flows),
		cmocka_unit_test(test_routeset_flow_opts_follow_their_route_and_change_the_hash),
		cmocka_unit_test(
			test_routeset_peer_carries_the_uplink_mask_and_it_changes_the_hash),
		cmocka_unit_test(test_routeset_many_flows_pack_into_several_full_packets),
		cmocka_unit_test(test_routeset_unknown_client_is_refused),
		cmocka_unit_test(test_routes_shared_modes_names_the_modes_two_clients_share),
		cmocka_unit_test(test_routeset_flow_id_collision_is_refused_with_its_line),
	};

	if (sodium_init() < 0) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
