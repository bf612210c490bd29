/* test_routeintake: client/routeintake — a route set is applied only when
 * its SYNC count matches the frames held for its generation; older
 * generations are ignored, a newer one starts over, resent frames replace
 * their copy, an applied generation is acked again; and the comparisons
 * that let unchanged flows and peers run untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/routeintake.h"
#include "client_fixture.h"

static const char *const two[] = {"drone3", "gcs4"};
static const uint8_t one_to_one[] = {FRAME_ROLE_SOURCE, FRAME_ROLE_SINK};

static struct frame_sync sync_of(uint64_t gen, uint16_t count)
{
	struct frame_sync s = {.generation = gen, .count = count, .keepalive_s = 25};

	return s;
}

static int setup(void **state)
{
	static struct routeintake rs;

	*state = &rs;
	return routeintake_init(&rs);
}

static int teardown(void **state)
{
	routeintake_fini(*state);
	return 0;
}

static void test_routeintake_applies_when_the_count_matches(void **state)
{
	struct routeintake *rs = *state;
	struct frame_route r = fixture_route(7, 1, "video", 5600, 0, 2, two, one_to_one);
	struct frame_peer p = fixture_peer(7, "gcs4", 1, 2000);
	struct frame_sync s = sync_of(7, 2);

	assert_int_equal(routeintake_on_route(rs, &r), ROUTEINTAKE_KEEP);
	assert_int_equal(routeintake_on_sync(rs, &s), ROUTEINTAKE_SYNC_WAIT);
	assert_int_equal(routeintake_on_peer(rs, &p), ROUTEINTAKE_KEEP);
	assert_int_equal(routeintake_on_sync(rs, &s), ROUTEINTAKE_SYNC_APPLY);
	assert_int_equal(rs->n_routes, 1);
	assert_int_equal(rs->n_peers, 1);
	routeintake_applied(rs);
	/* The server did not see our ack and resends: ack again, no re-apply. */
	assert_int_equal(routeintake_on_route(rs, &r), ROUTEINTAKE_STALE);
	assert_int_equal(routeintake_on_sync(rs, &s), ROUTEINTAKE_SYNC_REACK);
}

/* FLOW_OPTS frames count towards SYNC like ROUTE and PEER; a resent one
 * replaces its copy; a newer generation starts over without them. */
static void test_routeintake_flow_opts_are_part_of_the_count(void **state)
{
	struct routeintake *rs = *state;
	struct frame_route r = fixture_route(7, 1, "video", 5600, 0, 2, two, one_to_one);
	struct frame_peer p = fixture_peer(7, "gcs4", 1, 2000);
	struct frame_flow_opts o = {.generation = 7,
				    .flow_id = 1,
				    .flags = FRAME_FLOW_OPTS_IMPAIR,
				    .loss_ppb = 100000000};
	struct frame_sync s = sync_of(7, 3);

	assert_int_equal(routeintake_on_route(rs, &r), ROUTEINTAKE_KEEP);
	assert_int_equal(routeintake_on_peer(rs, &p), ROUTEINTAKE_KEEP);
	assert_int_equal(routeintake_on_sync(rs, &s), ROUTEINTAKE_SYNC_WAIT);
	assert_int_equal(routeintake_on_flow_opts(rs, &o), ROUTEINTAKE_KEEP);
	o.loss_ppb = 500000000;
	assert_int_equal(routeintake_on_flow_opts(rs, &o), ROUTEINTAKE_KEEP);
	assert_int_equal(routeintake_on_sync(rs, &s), ROUTEINTAKE_SYNC_APPLY);
	assert_int_equal(rs->n_opts, 1);
	assert_non_null(routeintake_find_opts(rs->opts, rs->n_opts, 1));
	assert_int_equal(routeintake_find_opts(rs->opts, rs->n_opts, 1)->loss_ppb, 500000000);
	assert_null(routeintake_find_opts(rs->opts, rs->n_opts, 2));
	routeintake_applied(rs);
	r.generation = 8;
	assert_int_equal(routeintake_on_route(rs, &r), ROUTEINTAKE_KEEP);
	assert_int_equal(rs->n_opts, 0);
	o.generation = 7;
	assert_int_equal(routeintake_on_flow_opts(rs, &o), ROUTEINTAKE_STALE);
}

static void test_routeintake_resent_frames_replace_their_copy(void **state)
{
	struct routeintake *rs = *state;
	struct frame_route r = fixture_route(3, 1, "video", 5600, 0, 2, two, one_to_one);
	struct frame_sync s = sync_of(3, 1);

	assert_int_equal(routeintake_on_route(rs, &r), ROUTEINTAKE_KEEP);
	assert_int_equal(routeintake_on_route(rs, &r), ROUTEINTAKE_KEEP);
	assert_int_equal(rs->n_routes, 1);
	assert_int_equal(routeintake_on_sync(rs, &s), ROUTEINTAKE_SYNC_APPLY);
}

static void test_routeintake_ignores_older_and_restarts_on_newer_generations(void **state)
{
	struct routeintake *rs = *state;
	struct frame_route r5 = fixture_route(5, 1, "video", 5600, 0, 2, two, one_to_one);
	struct frame_route r4 = fixture_route(4, 2, "old", 5601, 0, 2, two, one_to_one);
	struct frame_route r6 = fixture_route(6, 3, "new", 5602, 0, 2, two, one_to_one);
	struct frame_sync s5 = sync_of(5, 1);
	struct frame_sync s6 = sync_of(6, 1);

	assert_int_equal(routeintake_on_route(rs, &r5), ROUTEINTAKE_KEEP);
	assert_int_equal(routeintake_on_route(rs, &r4), ROUTEINTAKE_STALE);
	assert_int_equal(routeintake_on_route(rs, &r6), ROUTEINTAKE_KEEP);
	/* Generation 5 was dropped when 6 began. */
	assert_int_equal(routeintake_on_sync(rs, &s5), ROUTEINTAKE_SYNC_WAIT);
	assert_int_equal(rs->n_routes, 1);
	assert_int_equal(rs->routes[0].flow_id, 3);
	assert_int_equal(routeintake_on_sync(rs, &s6), ROUTEINTAKE_SYNC_APPLY);
}

static void test_routeintake_applies_an_empty_set(void **state)
{
	struct routeintake *rs = *state;
	struct frame_sync s = sync_of(9, 0);

	assert_int_equal(routeintake_on_sync(rs, &s), ROUTEINTAKE_SYNC_APPLY);
	assert_int_equal(rs->n_routes + rs->n_peers, 0);
}

static void test_routeintake_reset_accepts_a_restarted_servers_generations(void **state)
{
	struct routeintake *rs = *state;
	struct frame_sync s9 = sync_of(9, 0);
	struct frame_sync s1 = sync_of(1, 0);

	assert_int_equal(routeintake_on_sync(rs, &s9), ROUTEINTAKE_SYNC_APPLY);
	routeintake_applied(rs);
	assert_int_equal(routeintake_on_sync(rs, &s1), ROUTEINTAKE_SYNC_WAIT);
	routeintake_reset(rs);
	assert_int_equal(routeintake_on_sync(rs, &s1), ROUTEINTAKE_SYNC_APPLY);
}

static void test_routeintake_refuses_more_flows_than_it_holds(void **state)
{
	struct routeintake *rs = *state;

	for (uint32_t i = 0; i < ROUTEINTAKE_FLOWS_MAX; i++) {
		struct frame_route r = fixture_route(1, i + 1, "f", 1, 0, 2, two, one_to_one);

		assert_int_equal(routeintake_on_route(rs, &r), ROUTEINTAKE_KEEP);
	}
	struct frame_route extra = fixture_route(1, 99999, "f", 1, 0, 2, two, one_to_one);
	assert_int_equal(routeintake_on_route(rs, &extra), ROUTEINTAKE_FULL);
}

static void test_routeintake_route_equal_ignores_only_the_generation(void **state)
{
	struct frame_route a = fixture_route(1, 1, "video", 5600, 5700, 2, two, one_to_one);
	struct frame_route b = a;

	(void)state;
	b.generation = 2;
	assert_true(routeintake_route_equal(&a, &b));
	b.listen_port = 5601;
	assert_false(routeintake_route_equal(&a, &b));
	b = a;
	b.deliver.port = 5701;
	assert_false(routeintake_route_equal(&a, &b));
	b = a;
	b.members[1].roles = FRAME_ROLES_ALL;
	assert_false(routeintake_route_equal(&a, &b));
	b = a;
	b.mtu = 1200;
	assert_false(routeintake_route_equal(&a, &b));
	b = a;
	b.member_count = 1;
	assert_false(routeintake_route_equal(&a, &b));
}

static void test_routeintake_peer_equal_compares_key_and_relay_port(void **state)
{
	struct frame_peer a = fixture_peer(1, "gcs4", 1, 2000);
	struct frame_peer b = fixture_peer(2, "gcs4", 1, 2000);

	(void)state;
	assert_true(routeintake_peer_equal(&a, &b));
	b.relay_port = 2001;
	assert_false(routeintake_peer_equal(&a, &b));
	b = fixture_peer(2, "gcs4", 2, 2000);
	assert_false(routeintake_peer_equal(&a, &b));
}

static void test_routeintake_finds_members_routes_and_peers(void **state)
{
	struct frame_route rs[2] = {
		fixture_route(1, 10, "a", 1, 0, 2, two, one_to_one),
		fixture_route(1, 20, "b", 1, 0, 2, two, one_to_one),
	};
	struct frame_peer ps[1] = {fixture_peer(1, "gcs4", 1, 2000)};

	(void)state;
	assert_ptr_equal(routeintake_find_route(rs, 2, 20), &rs[1]);
	assert_null(routeintake_find_route(rs, 2, 30));
	assert_ptr_equal(routeintake_find_peer(ps, 1, "gcs4"), &ps[0]);
	assert_null(routeintake_find_peer(ps, 1, "gcs"));
	assert_int_equal(routeintake_member_roles(&rs[0], "drone3"), FRAME_ROLE_SOURCE);
	assert_int_equal(routeintake_member_roles(&rs[0], "gcs4"), FRAME_ROLE_SINK);
	assert_int_equal(routeintake_member_roles(&rs[0], "gcs5"), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_routeintake_applies_when_the_count_matches),
		T(test_routeintake_flow_opts_are_part_of_the_count),
		T(test_routeintake_resent_frames_replace_their_copy),
		T(test_routeintake_ignores_older_and_restarts_on_newer_generations),
		T(test_routeintake_applies_an_empty_set),
		T(test_routeintake_reset_accepts_a_restarted_servers_generations),
		T(test_routeintake_refuses_more_flows_than_it_holds),
		cmocka_unit_test(test_routeintake_route_equal_ignores_only_the_generation),
		cmocka_unit_test(test_routeintake_peer_equal_compares_key_and_relay_port),
		cmocka_unit_test(test_routeintake_finds_members_routes_and_peers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
