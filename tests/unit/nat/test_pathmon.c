/* test_pathmon: nat/pathmon — pings due on time, RTT from pongs (hold time
 * subtracted, RFC 6298 smoothing), the UP -> DOUBT -> DEAD ladder on
 * silence, recovery on a pong, stale or forged pongs ignored, and loss
 * counted only for pings old enough to have been answered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nat/pathmon.h"

#define MS 1000ull

static void test_pathmon_ladder(void **state)
{
	struct pathmon pm;
	uint64_t t = 1000000;
	uint32_t id;

	(void)state;
	pathmon_init(&pm, t, 200 * MS, 500 * MS, 1000 * MS);
	assert_true(pathmon_ping_due(&pm, t));
	id = pathmon_on_ping_sent(&pm, t);
	assert_false(pathmon_ping_due(&pm, t + 199 * MS));
	assert_true(pathmon_ping_due(&pm, t + 200 * MS));
	assert_int_equal(pathmon_state(&pm, t + 499 * MS), PATHMON_UP);
	assert_int_equal(pathmon_state(&pm, t + 500 * MS), PATHMON_DOUBT);
	/* A pong brings it back. */
	assert_true(pathmon_on_pong(&pm, id, t, 1000, t + 600 * MS));
	assert_int_equal(pathmon_state(&pm, t + 600 * MS), PATHMON_UP);
	assert_int_equal(pathmon_state(&pm, t + 1599 * MS), PATHMON_DOUBT);
	assert_int_equal(pathmon_state(&pm, t + 1600 * MS), PATHMON_DEAD);
	/* The timer wakes for the next ping or the next state change. */
	assert_int_equal(pathmon_next_event_us(&pm, t + 600 * MS), t + 200 * MS);
}

static void test_pathmon_rtt_and_forgeries(void **state)
{
	struct pathmon pm;
	uint64_t t = 5000000;
	uint32_t id;

	(void)state;
	pathmon_init(&pm, t, 200 * MS, 500 * MS, 1000 * MS);
	id = pathmon_on_ping_sent(&pm, t);
	/* Wrong echo timestamp, unknown id: ignored, no life. */
	assert_false(pathmon_on_pong(&pm, id, t + 1, 0, t + 30 * MS));
	assert_false(pathmon_on_pong(&pm, id + 5, t, 0, t + 30 * MS));
	assert_int_equal(pm.pongs_received, 0);
	/* 30 ms round trip of which the peer held it 10 ms: RTT 20 ms. */
	assert_true(pathmon_on_pong(&pm, id, t, 10000, t + 30 * MS));
	assert_int_equal(pm.srtt_us, 20000);
	/* A duplicate pong counts once. */
	assert_true(pathmon_on_pong(&pm, id, t, 10000, t + 31 * MS));
	assert_int_equal(pm.pongs_received, 1);
	/* Smoothing: a 100 ms sample moves srtt by 1/8 of the difference. */
	id = pathmon_on_ping_sent(&pm, t + 200 * MS);
	assert_true(pathmon_on_pong(&pm, id, t + 200 * MS, 0, t + 300 * MS));
	assert_int_equal(pm.srtt_us, (7 * 20000 + 100000) / 8);
	assert_true(pathmon_rtt_ms(&pm) > 29.9 && pathmon_rtt_ms(&pm) < 30.1);
}

static void test_pathmon_loss(void **state)
{
	struct pathmon pm;
	uint64_t t = 1000000;

	(void)state;
	pathmon_init(&pm, t, 100 * MS, 500 * MS, 1000 * MS);
	/* 20 pings, every 4th unanswered. */
	for (int i = 0; i < 20; i++) {
		uint64_t at = t + (uint64_t)i * 100 * MS;
		uint32_t id = pathmon_on_ping_sent(&pm, at);

		if (i % 4 != 3) {
			assert_true(pathmon_on_pong(&pm, id, at, 0, at + 5 * MS));
		}
	}
	/* Right after the last ping, the youngest pings are not judged yet. */
	assert_true(pathmon_loss(&pm, t + 2000 * MS) >= 0.2);
	assert_true(pathmon_loss(&pm, t + 2000 * MS) <= 0.3);
	/* Long after: exactly 5 of 20. */
	assert_true(pathmon_loss(&pm, t + 10000 * MS) > 0.249);
	assert_true(pathmon_loss(&pm, t + 10000 * MS) < 0.251);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pathmon_ladder),
		cmocka_unit_test(test_pathmon_rtt_and_forgeries),
		cmocka_unit_test(test_pathmon_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
