/* test_registry: the server's clients across reloads (a client keeps its
 * session while its key stays; a new key means a new session; removed
 * clients go) and receiver indices (top bit set, found only while the
 * client's session owns them). No sockets; time is injected. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/b64key.h"
#include "common/diag.h"
#include "config/routes.h"
#include "proto/session.h"
#include "server/registry.h"

#define KEY_DRONE3 "MNSNxUxF3nOSfua5uBvU9VIHfZatOAqpD6AOnIfAvBM="
#define KEY_GCS4 "PG706jxMbNsos0lINepFzFwbRJ1wJke51aaHhQVeGm8="
#define KEY_GCS5 "3FX2VZxYNwGDTSWKdPQ7648w91CjcswyDBop5POY3E0="
#define SERVER "server: { listen = [\"203.0.113.10:7400\"]; key_file = \"server.key\"; };\n"
#define FLOWS "flows: ();\n"

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
	/* The key file is not read here: give the server a fixed test key. */
	memset(r->server.key, 0x42, sizeof(r->server.key));
	return r;
}

static void test_registry_follows_added_removed_and_rekeyed_clients(void **state)
{
	struct routes *a = parse(SERVER "clients: { drone3 = { key = \"" KEY_DRONE3
					"\"; }; gcs4 = { key = \"" KEY_GCS4 "\"; }; };\n" FLOWS);
	struct routes *b = parse(SERVER "clients: { drone3 = { key = \"" KEY_DRONE3
					"\"; }; gcs4 = { key = \"" KEY_GCS5 "\"; }; };\n" FLOWS);
	struct routes *c = parse(SERVER "clients: { gcs4 = { key = \"" KEY_GCS5
					"\"; }; gcs5 = { key = \"" KEY_GCS4 "\"; }; };\n" FLOWS);
	struct registry reg;
	struct registry_client *d3, *g4;
	uint8_t k4[32], k5[32];

	(void)state;
	assert_int_equal(b64key_decode(KEY_GCS4, k4), 0);
	assert_int_equal(b64key_decode(KEY_GCS5, k5), 0);
	assert_int_equal(registry_init(&reg, a, 1000), 0);
	assert_int_equal(reg.n_clients, 2);
	d3 = registry_find_by_id(&reg, "drone3");
	g4 = registry_find_by_id(&reg, "gcs4");
	assert_non_null(d3);
	assert_ptr_equal(registry_find_by_key(&reg, k4), g4);
	assert_true(d3->gen_sent == 1000);
	d3->is_online = true;
	d3->session->has_stamp = true;
	d3->session->last_stamp = 77;

	/* gcs4's key changed: a new client with a new session; drone3 stays. */
	assert_int_equal(registry_update(&reg, b), 0);
	assert_ptr_equal(registry_find_by_id(&reg, "drone3"), d3);
	assert_true(d3->is_online && d3->session->last_stamp == 77);
	g4 = registry_find_by_id(&reg, "gcs4");
	assert_null(registry_find_by_key(&reg, k4));
	assert_ptr_equal(registry_find_by_key(&reg, k5), g4);
	assert_memory_equal(g4->session->remote_pub, k5, 32);
	assert_false(g4->session->has_stamp);

	/* drone3 removed, gcs5 added with the key gcs4 used to have. */
	assert_int_equal(registry_update(&reg, c), 0);
	assert_int_equal(reg.n_clients, 2);
	assert_null(registry_find_by_id(&reg, "drone3"));
	assert_ptr_equal(registry_find_by_id(&reg, "gcs4"), g4);
	assert_ptr_equal(registry_find_by_key(&reg, k4), registry_find_by_id(&reg, "gcs5"));
	registry_fini(&reg);
	routes_free(a);
	routes_free(b);
	routes_free(c);
}

static void test_registry_indices_have_the_top_bit_and_need_an_owning_session(void **state)
{
	struct routes *r =
		parse(SERVER "clients: { drone3 = { key = \"" KEY_DRONE3 "\"; }; };\n" FLOWS);
	uint8_t init[WIRE_INIT_LEN], resp[WIRE_RESP_LEN];
	struct noise_keypair ck;
	struct session_pending p;
	struct registry_client *c;
	struct session *cs;
	struct registry reg;
	uint32_t idx, spare;

	(void)state;
	assert_int_equal(registry_init(&reg, r, 1), 0);
	c = registry_find_by_id(&reg, "drone3");
	/* A client session with drone3's key pair stands in for the client. */
	assert_int_equal(noise_keypair_generate(&ck), 0);
	memcpy(c->key, ck.pub, 32);
	session_free(c->session);
	c->session = session_new(&reg.local, ck.pub, NULL);
	cs = session_new(&ck, reg.local.pub, NULL);
	assert_non_null(cs);

	spare = registry_index_new(&reg, c);
	assert_true(spare & REGISTRY_INDEX_TOP);
	/* Not owned by the session yet: not found. */
	assert_null(registry_find_by_index(&reg, spare));

	assert_int_equal(session_initiation_create(cs, 5, 100, 1, init), 0);
	assert_int_equal(session_initiation_consume(&reg.local, init, sizeof(init), &p), 0);
	idx = registry_index_new(&reg, c);
	assert_true(idx & REGISTRY_INDEX_TOP);
	assert_int_not_equal(idx, spare);
	assert_int_equal(session_response_create(c->session, &p, idx, 1, resp), 0);
	assert_ptr_equal(registry_find_by_index(&reg, idx), c);
	assert_null(registry_find_by_index(&reg, idx & ~REGISTRY_INDEX_TOP));

	/* Purge drops the unused one from the table, keeps the owned one. */
	registry_index_purge(&reg, c);
	assert_null(rxindex_find(&reg.indices, spare));
	assert_ptr_equal(rxindex_find(&reg.indices, idx), c);
	session_free(cs);
	registry_fini(&reg);
	routes_free(r);
}

static void test_registry_caps_indices_per_client(void **state)
{
	struct routes *r =
		parse(SERVER "clients: { drone3 = { key = \"" KEY_DRONE3 "\"; }; };\n" FLOWS);
	struct registry reg;
	struct registry_client *c;

	(void)state;
	assert_int_equal(registry_init(&reg, r, 1), 0);
	c = registry_find_by_id(&reg, "drone3");
	/* Unused indices are purged before a new one is taken, so a stream of
	 * refused handshakes never fills the table. */
	for (int i = 0; i < 100; i++) {
		assert_int_not_equal(registry_index_new(&reg, c), 0);
		assert_true(reg.indices.n_used <= REGISTRY_INDICES_MAX);
	}
	registry_fini(&reg);
	routes_free(r);
}

static void set_addr(struct sockaddr_in *in, const char *ip, uint16_t port)
{
	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	inet_pton(AF_INET, ip, &in->sin_addr);
}

/* Secondary uplinks: added by their first packet, found by address and
 * socket, moved, re-classed by REGISTER, in the mask, found silent, and
 * dropped one by one or all at once (a new session). */
static void test_registry_uplinks_are_added_found_and_cleared(void **state)
{
	struct routes *r =
		parse(SERVER "clients: { drone3 = { key = \"" KEY_DRONE3 "\"; }; };\n" FLOWS);
	struct registry reg;
	struct registry_client *c;
	struct sockaddr_in a, b;
	struct frame_register fr;
	const struct listener_sock *s1 = (const void *)&reg, *s2 = (const void *)&a;

	(void)state;
	assert_int_equal(registry_init(&reg, r, 1000), 0);
	c = registry_find_by_id(&reg, "drone3");
	assert_int_equal(registry_uplink_mask(c), 1);
	assert_false(registry_uplink_is_present(c, 0)); /* no address yet */
	assert_false(registry_uplink_is_present(c, 2));
	set_addr(&a, "192.0.2.7", 40000);
	set_addr(&b, "192.0.2.8", 40001);
	memset(&fr, 0, sizeof(fr));
	fr.uplink_id = 2;
	fr.natclass = FRAME_NAT_SYMMETRIC;
	assert_int_equal(frame_name_set(&fr.name, "lte2"), 0);
	assert_int_equal(registry_uplink_note(c, 2, s1, (struct sockaddr *)&a, &fr, 5),
			 REGISTRY_UPLINK_ADDED);
	assert_true(registry_uplink_is_present(c, 2));
	assert_int_equal(registry_uplink_mask(c), 0x05);
	assert_string_equal(c->uplinks[2].name, "lte2");
	assert_int_equal(c->uplinks[2].natclass, FRAME_NAT_SYMMETRIC);
	assert_int_equal(registry_uplink_find(c, s1, (struct sockaddr *)&a), 2);
	assert_int_equal(registry_uplink_find(c, s2, (struct sockaddr *)&a),
			 REGISTRY_UPLINK_NONE); /* other socket */
	assert_int_equal(registry_uplink_find(c, s1, (struct sockaddr *)&b), REGISTRY_UPLINK_NONE);
	/* A plain packet: counted, nothing else changes. */
	assert_int_equal(registry_uplink_note(c, 2, s1, (struct sockaddr *)&a, NULL, 6),
			 REGISTRY_UPLINK_SAME);
	assert_int_equal(c->uplinks[2].rx_packets, 2);
	assert_int_equal(c->uplinks[2].last_rx_us, 6);
	assert_int_equal(c->uplinks[2].registered_us, 5);
	fr.natclass = FRAME_NAT_FULL_CONE;
	assert_int_equal(registry_uplink_note(c, 2, s1, (struct sockaddr *)&a, &fr, 7),
			 REGISTRY_UPLINK_UPDATED);
	assert_int_equal(registry_uplink_note(c, 2, s1, (struct sockaddr *)&b, NULL, 8),
			 REGISTRY_UPLINK_MOVED);
	assert_int_equal(registry_uplink_find(c, s1, (struct sockaddr *)&b), 2);
	assert_int_equal(registry_uplink_find(c, s1, (struct sockaddr *)&a), REGISTRY_UPLINK_NONE);
	assert_int_equal(registry_uplink_note(c, 7, s1, (struct sockaddr *)&a, NULL, 9),
			 REGISTRY_UPLINK_ADDED);
	assert_int_equal(registry_uplink_mask(c), 0x85);
	/* Silent: uplink 2 last heard at 8, uplink 7 at 9. */
	assert_int_equal(registry_uplink_silent(c, 108, 100), 0);
	assert_int_equal(registry_uplink_silent(c, 109, 100), 0x04);
	assert_int_equal(registry_uplink_silent(c, 110, 100), 0x84);
	registry_uplink_del(c, 7);
	assert_int_equal(registry_uplink_mask(c), 0x05);
	assert_int_equal(registry_uplink_clear(c), 0x04);
	assert_int_equal(registry_uplink_mask(c), 1);
	assert_int_equal(registry_uplink_clear(c), 0);
	assert_int_equal(registry_uplink_find(c, s1, (struct sockaddr *)&b), REGISTRY_UPLINK_NONE);
	/* The client moves its session to uplink 2 (its uplink 0 is down):
	 * uplink 2 is the main one, uplink 0 can register as a secondary. */
	assert_int_equal(registry_uplink_note(c, 2, s1, (struct sockaddr *)&b, &fr, 10),
			 REGISTRY_UPLINK_ADDED);
	assert_true(registry_uplink_set_main(c, 2));
	assert_false(registry_uplink_set_main(c, 2));
	assert_false(registry_uplink_set_main(c, WIRE_UPLINKS_MAX));
	assert_int_equal(c->main_uplink, 2);
	assert_false(c->uplinks[2].is_present);
	assert_int_equal(registry_uplink_find(c, s1, (struct sockaddr *)&b), REGISTRY_UPLINK_NONE);
	assert_int_equal(registry_uplink_mask(c), 0x04);
	assert_int_equal(registry_uplink_note(c, 0, s1, (struct sockaddr *)&a, NULL, 11),
			 REGISTRY_UPLINK_ADDED);
	assert_int_equal(registry_uplink_mask(c), 0x05);
	assert_int_equal(registry_uplink_find(c, s1, (struct sockaddr *)&a), 0);
	assert_int_equal(registry_uplink_silent(c, 200, 100), 0x01); /* the main one never */
	registry_uplink_del(c, 2);				     /* nor deleted */
	assert_int_equal(registry_uplink_clear(c), 0x01);
	assert_int_equal(registry_uplink_mask(c), 0x04);
	registry_fini(&reg);
	routes_free(r);
}

/* routes with drone3 and gcs4 in n flows "b<batch>f<k>", and in "keep" when
 * keep is true (drone3 only in its members when drone3_keeps). */
static struct routes *parse_flows(int batch, int n, bool drone3_keeps)
{
	static char text[16384];
	size_t len = (size_t)snprintf(text, sizeof(text),
				      SERVER "clients: { drone3 = { key = \"" KEY_DRONE3
					     "\"; }; gcs4 = { key = \"" KEY_GCS4 "\"; }; };\n"
					     "flows: ( { name = \"keep\"; proto = \"udp\"; "
					     "port = 9000; members = [%s\"gcs4\"]; }",
				      drone3_keeps ? "\"drone3\", " : "");

	for (int k = 0; k < n; k++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					",\n{ name = \"b%df%d\"; proto = \"udp\"; port = %d; "
					"members = [\"drone3\", \"gcs4\"]; }",
					batch, k, 10000 + k);
	}
	snprintf(text + len, sizeof(text) - len, " );\n");
	return parse(text);
}

static struct frame_flow_stats report_of(const char *flow, uint64_t packets)
{
	struct frame_flow_stats s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(frame_name_set(&s.flow, flow), 0);
	s.tx_packets = packets;
	s.tx_bytes = 100 * packets;
	s.rx_packets = 2 * packets;
	s.rx_bytes = 200 * packets;
	s.drops = packets / 10;
	return s;
}

static void test_registry_flow_stats_of_flows_left_go_so_new_flows_fit(void **state)
{
	struct routes *r = parse_flows(0, 60, true);
	struct registry reg;
	struct registry_client *d3;
	struct frame_flow_stats s;
	char name[ROUTES_NAME_SIZE];

	(void)state;
	assert_int_equal(registry_init(&reg, r, 1000), 0);
	d3 = registry_find_by_id(&reg, "drone3");
	s = report_of("keep", 5);
	assert_int_equal(registry_flowstat_put(d3, &s, 1), 0);
	/* 5 x 60 flows over time, each batch replacing the one before: 301
	 * names, never more than 61 at once. */
	for (int batch = 0; batch < 5; batch++) {
		if (batch > 0) {
			struct routes *next = parse_flows(batch, 60, true);

			assert_int_equal(registry_update(&reg, next), 0);
			routes_free(r);
			r = next;
			snprintf(name, sizeof(name), "b%df0", batch - 1);
			assert_null(registry_flowstat_get(d3, name));
		}
		for (int k = 0; k < 60; k++) {
			snprintf(name, sizeof(name), "b%df%d", batch, k);
			s = report_of(name, 10 + (uint64_t)k);
			assert_int_equal(registry_flowstat_put(d3, &s, 2), 0);
		}
	}
	assert_int_equal(d3->n_fstats, 61);
	for (int k = 0; k < 60; k++) {
		const struct registry_flowstat *e;

		snprintf(name, sizeof(name), "b4f%d", k);
		e = registry_flowstat_get(d3, name);
		assert_non_null(e);
		assert_int_equal(e->s.tx_packets, 10 + k);
	}
	/* A flow kept all along keeps its entry, until drone3 leaves it. */
	assert_int_equal(registry_flowstat_get(d3, "keep")->s.tx_packets, 5);
	{
		struct routes *next = parse_flows(4, 60, false);

		assert_int_equal(registry_update(&reg, next), 0);
		routes_free(r);
		r = next;
	}
	assert_null(registry_flowstat_get(d3, "keep"));
	assert_non_null(registry_flowstat_get(d3, "b4f59"));
	registry_fini(&reg);
	routes_free(r);
}

static void test_registry_flow_counters_never_go_down_when_the_client_restarts(void **state)
{
	struct routes *r = parse_flows(0, 1, true);
	struct registry reg;
	struct registry_client *d3;
	const struct registry_flowstat *e;
	struct frame_flow_stats s;

	(void)state;
	assert_int_equal(registry_init(&reg, r, 1000), 0);
	d3 = registry_find_by_id(&reg, "drone3");
	s = report_of("keep", 500);
	assert_int_equal(registry_flowstat_put(d3, &s, 1), 0);
	s = report_of("keep", 503);
	s.flags = FRAME_FLOW_STATS_SATURATED;
	s.send_kbps = 900;
	assert_int_equal(registry_flowstat_put(d3, &s, 2), 0);
	e = registry_flowstat_get(d3, "keep");
	assert_int_equal(e->s.tx_packets, 503);
	/* drone3's client restarted: it counts from 0 again. */
	s = report_of("keep", 3);
	s.send_kbps = 20;
	assert_int_equal(registry_flowstat_put(d3, &s, 3), 0);
	assert_int_equal(e->s.tx_packets, 506);
	assert_int_equal(e->s.tx_bytes, 50600);
	assert_int_equal(e->s.rx_packets, 1012);
	assert_int_equal(e->s.rx_bytes, 101200);
	assert_int_equal(e->s.drops, 50);
	/* Gauges as sent. */
	assert_int_equal(e->s.flags, 0);
	assert_int_equal(e->s.send_kbps, 20);
	assert_int_equal(e->updated_us, 3);
	/* And counts on from there. */
	s = report_of("keep", 10);
	assert_int_equal(registry_flowstat_put(d3, &s, 4), 0);
	assert_int_equal(e->s.tx_packets, 513);
	assert_int_equal(e->s.tx_bytes, 51300);
	assert_int_equal(e->s.drops, 51);
	/* Only drops lower (the flow re-created on the client, one packet
	 * already sent): every counter counts on from its total. */
	s = report_of("keep", 10);
	s.drops = 0;
	assert_int_equal(registry_flowstat_put(d3, &s, 5), 0);
	assert_int_equal(e->s.tx_packets, 523);
	assert_int_equal(e->s.drops, 51);
	registry_fini(&reg);
	routes_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_follows_added_removed_and_rekeyed_clients),
		cmocka_unit_test(test_registry_indices_have_the_top_bit_and_need_an_owning_session),
		cmocka_unit_test(test_registry_caps_indices_per_client),
		cmocka_unit_test(test_registry_uplinks_are_added_found_and_cleared),
		cmocka_unit_test(test_registry_flow_stats_of_flows_left_go_so_new_flows_fit),
		cmocka_unit_test(
			test_registry_flow_counters_never_go_down_when_the_client_restarts),
	};

	if (sodium_init() < 0) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
