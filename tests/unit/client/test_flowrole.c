/* test_flowrole: client/flowrole — data from a source reaches every sink,
 * a sink's reply reaches only the source it answers, in 1:1, 1:N, N:1 and
 * N:N flows (DESIGN §4); who listens, who delivers, who gets a socket per
 * remote source; the mtu limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/flowrole.h"
#include "client_fixture.h"

#define S FRAME_ROLE_SOURCE
#define K FRAME_ROLE_SINK
#define B FRAME_ROLES_ALL

static void test_flowrole_one_to_one_sends_data_one_way_and_replies_back(void **state)
{
	static const char *const names[] = {"drone3", "gcs4"};
	static const uint8_t roles[] = {S, K};
	struct frame_route src = fixture_route(1, 1, "video", 5600, 0, 2, names, roles);
	struct frame_route snk = fixture_route(1, 1, "video", 0, 5700, 2, names, roles);

	(void)state;
	assert_true(flowrole_listens(&src, "drone3"));
	assert_false(flowrole_delivers(&src, "drone3"));
	assert_true(flowrole_is_remote_sink(&src, "drone3", 1));
	assert_false(flowrole_is_remote_sink(&src, "drone3", 0));
	assert_false(flowrole_listens(&snk, "gcs4"));
	assert_true(flowrole_delivers(&snk, "gcs4"));
	assert_true(flowrole_is_remote_source(&snk, "gcs4", 0));
	assert_false(flowrole_is_remote_source(&snk, "gcs4", 1));
	assert_int_equal(flowrole_on_datagram(&snk, "gcs4", "drone3", 0), FLOWROLE_DELIVER);
	assert_int_equal(flowrole_on_datagram(&src, "drone3", "gcs4", FRAME_DATAGRAM_REPLY),
			 FLOWROLE_REPLY);
	/* The wrong way round is refused. */
	assert_int_equal(flowrole_on_datagram(&src, "drone3", "gcs4", 0), FLOWROLE_DROP_NOT_SINK);
	assert_int_equal(flowrole_on_datagram(&snk, "gcs4", "drone3", FRAME_DATAGRAM_REPLY),
			 FLOWROLE_DROP_NOT_SOURCE);
}

static void test_flowrole_one_to_n_sends_to_every_sink(void **state)
{
	static const char *const names[] = {"drone1", "gcs1", "gcs2"};
	static const uint8_t roles[] = {S, K, K};
	struct frame_route r = fixture_route(1, 1, "video", 5600, 0, 3, names, roles);
	size_t sinks = 0;

	(void)state;
	for (size_t i = 0; i < r.member_count; i++) {
		sinks += flowrole_is_remote_sink(&r, "drone1", i);
	}
	assert_int_equal(sinks, 2);
}

static void test_flowrole_n_to_one_gives_each_source_a_socket(void **state)
{
	static const char *const names[] = {"drone1", "drone2", "gcs1"};
	static const uint8_t roles[] = {S, S, K};
	struct frame_route r = fixture_route(1, 1, "mav", 0, 14550, 3, names, roles);
	size_t socks = 0;

	(void)state;
	for (size_t i = 0; i < r.member_count; i++) {
		socks += flowrole_is_remote_source(&r, "gcs1", i);
	}
	assert_int_equal(socks, 2);
	assert_int_equal(flowrole_on_datagram(&r, "gcs1", "drone2", 0), FLOWROLE_DELIVER);
	/* Sources do not talk to each other. */
	struct frame_route r1 = fixture_route(1, 1, "mav", 14550, 0, 3, names, roles);
	assert_int_equal(flowrole_on_datagram(&r1, "drone1", "drone2", 0), FLOWROLE_DROP_NOT_SINK);
}

static void test_flowrole_n_to_n_makes_every_member_both(void **state)
{
	static const char *const names[] = {"a", "b", "c"};
	static const uint8_t roles[] = {B, B, B};
	struct frame_route r = fixture_route(1, 1, "mav", 14550, 14551, 3, names, roles);
	size_t sinks = 0;
	size_t socks = 0;

	(void)state;
	for (size_t i = 0; i < r.member_count; i++) {
		sinks += flowrole_is_remote_sink(&r, "b", i);
		socks += flowrole_is_remote_source(&r, "b", i);
	}
	assert_int_equal(sinks, 2);
	assert_int_equal(socks, 2);
	assert_int_equal(flowrole_on_datagram(&r, "b", "a", 0), FLOWROLE_DELIVER);
	assert_int_equal(flowrole_on_datagram(&r, "b", "c", FRAME_DATAGRAM_REPLY), FLOWROLE_REPLY);
}

static void test_flowrole_refuses_strangers_and_ourselves(void **state)
{
	static const char *const names[] = {"a", "b"};
	static const uint8_t roles[] = {B, B};
	struct frame_route r = fixture_route(1, 1, "mav", 14550, 14551, 2, names, roles);

	(void)state;
	assert_int_equal(flowrole_on_datagram(&r, "a", "z", 0), FLOWROLE_DROP_NOT_MEMBER);
	assert_int_equal(flowrole_on_datagram(&r, "a", "a", 0), FLOWROLE_DROP_NOT_MEMBER);
	assert_int_equal(flowrole_on_datagram(&r, "z", "a", 0), FLOWROLE_DROP_NOT_MEMBER);
}

static void test_flowrole_a_sink_without_a_delivery_address_does_not_deliver(void **state)
{
	static const char *const names[] = {"a", "b"};
	static const uint8_t roles[] = {S, K};
	struct frame_route r = fixture_route(1, 1, "v", 0, 0, 2, names, roles);

	(void)state;
	assert_false(flowrole_delivers(&r, "b"));
	assert_false(flowrole_is_remote_source(&r, "b", 0));
	assert_int_equal(flowrole_on_datagram(&r, "b", "a", 0), FLOWROLE_DROP_NOT_SINK);
}

static void test_flowrole_payload_max_is_the_mtu_capped_by_one_packet(void **state)
{
	static const char *const names[] = {"a", "b"};
	static const uint8_t roles[] = {S, K};
	struct frame_route r = fixture_route(1, 1, "v", 1, 0, 2, names, roles);

	(void)state;
	assert_int_equal(flowrole_payload_max(&r), 1400);
	r.mtu = 9000;
	assert_int_equal(flowrole_payload_max(&r), FLOWROLE_PAYLOAD_MAX);
	/* One DATAGRAM with the largest payload fills one packet exactly. */
	assert_int_equal(FLOWROLE_PAYLOAD_MAX + WIRE_FRAME_HEADER_LEN + 9 + WIRE_TRANSPORT_MIN_LEN,
			 WIRE_MAX_PACKET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flowrole_one_to_one_sends_data_one_way_and_replies_back),
		cmocka_unit_test(test_flowrole_one_to_n_sends_to_every_sink),
		cmocka_unit_test(test_flowrole_n_to_one_gives_each_source_a_socket),
		cmocka_unit_test(test_flowrole_n_to_n_makes_every_member_both),
		cmocka_unit_test(test_flowrole_refuses_strangers_and_ourselves),
		cmocka_unit_test(test_flowrole_a_sink_without_a_delivery_address_does_not_deliver),
		cmocka_unit_test(test_flowrole_payload_max_is_the_mtu_capped_by_one_packet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
