/* test_pathmon: nat/pathmon — pings due on time (on the beat), RTT from pongs (hold time
 * subtracted, RFC 6298 smoothing), the UP -> DOUBT -> DEAD ladder on
 * silence, recovery on a pong, stale or forged pongs ignored, loss
 * counted only for pings old enough to have been answered (a held pong
 * included), and the pong owed to the peer held for our next ping. */
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
	/* Pings keep the beat: one sent late (timer at 230 ms) leaves the next
	 * at 400 ms; a beat missed altogether starts a new one. */
	(void)pathmon_on_ping_sent(&pm, t + 230 * MS);
	assert_true(pm.next_ping_us == t + 400 * MS);
	(void)pathmon_on_ping_sent(&pm, t + 650 * MS);
	assert_true(pm.next_ping_us == t + 850 * MS);
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
	/* Nor one whose pong the peer may still hold: the last ping (i = 19,
	 * unanswered) counts only after 200 ms plus one interval. */
	assert_true(pathmon_loss(&pm, t + 1900 * MS + 299 * MS) < 5.0 / 20 - 0.001);
	assert_true(pathmon_loss(&pm, t + 1900 * MS + 300 * MS) > 5.0 / 20 - 0.001);
	/* Long after: exactly 5 of 20. */
	assert_true(pathmon_loss(&pm, t + 10000 * MS) > 0.249);
	assert_true(pathmon_loss(&pm, t + 10000 * MS) < 0.251);
}

/* The peer's ping waits for ours: its pong leaves with our next ping, with
 * the time it waited, and the peer's RTT comes out right. */
static void test_pathmon_owed_pong_rides_with_our_ping(void **state)
{
	struct pathmon a, b; /* a's and b's monitors of one path */
	uint64_t t = 1000000, tx;
	uint32_t id, got_id, hold;
	uint64_t echo;

	(void)state;
	pathmon_init(&a, t, 200 * MS, 500 * MS, 1000 * MS);
	pathmon_init(&b, t, 200 * MS, 500 * MS, 1000 * MS);
	/* A new path: pongs go at once until b has sent its first pings. */
	for (unsigned i = 0; i < PATHMON_PROMPT_PINGS; i++) {
		assert_false(pathmon_owe_pong(&b, 7, t, t));
		(void)pathmon_on_ping_sent(&b, t + i * 200 * MS);
	}
	t += (PATHMON_PROMPT_PINGS - 1) * 200 * MS;
	b.next_ping_us = t + 10 * MS;
	(void)pathmon_on_ping_sent(&b, t + 10 * MS); /* b pings at 10 ms */
	assert_false(pathmon_take_pong(&b, t + 10 * MS, &got_id, &echo, &hold));
	/* a pings at 50 ms; it reaches b 15 ms later (RTT 30 ms). */
	tx = t + 50 * MS;
	id = pathmon_on_ping_sent(&a, tx);
	assert_true(pathmon_owe_pong(&b, id, tx, tx + 15 * MS));
	/* A second ping before b's next: answered at once, the first waits. */
	assert_false(pathmon_owe_pong(&b, id + 1, tx + 1, tx + 16 * MS));
	/* b's next ping at 210 ms takes it: held 145 ms. */
	assert_true(pathmon_ping_due(&b, t + 210 * MS));
	(void)pathmon_on_ping_sent(&b, t + 210 * MS);
	assert_true(pathmon_take_pong(&b, t + 210 * MS, &got_id, &echo, &hold));
	assert_int_equal(got_id, id);
	assert_true(echo == tx);
	assert_int_equal(hold, 145 * MS);
	assert_false(pathmon_take_pong(&b, t + 210 * MS, &got_id, &echo, &hold));
	/* It reaches a 15 ms later: RTT 30 ms, not 175. */
	assert_true(pathmon_on_pong(&a, got_id, echo, hold, t + 225 * MS));
	assert_int_equal(a.srtt_us, 30 * MS);
	assert_int_equal(pathmon_state(&a, t + 225 * MS), PATHMON_UP);
	/* Our next ping not due within an interval (its timer is late, or it
	 * was never started): answer at once. */
	b.next_ping_us = t + 1000 * MS;
	assert_false(pathmon_owe_pong(&b, id + 2, tx + 2, t + 500 * MS));
	assert_true(pathmon_owe_pong(&b, id + 2, tx + 2, t + 800 * MS));
	/* A new monitor (the path validated again) owes nothing. */
	pathmon_init(&b, t + 900 * MS, 200 * MS, 500 * MS, 1000 * MS);
	assert_false(pathmon_take_pong(&b, t + 900 * MS, &got_id, &echo, &hold));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pathmon_ladder),
		cmocka_unit_test(test_pathmon_rtt_and_forgeries),
		cmocka_unit_test(test_pathmon_loss),
		cmocka_unit_test(test_pathmon_owed_pong_rides_with_our_ping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
