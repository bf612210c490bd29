/* test_rscc: proto/rscc — CUBIC's reaction to loss with and without a
 * standing queue, one reduction per round, cuts bounded by the queue and
 * the measured capacity, growth by the RTT (fast, CUBIC, held) and the
 * drain of a standing queue, the RTO collapse, no growth while the window
 * is unused, the HyStart++ delay exit and the pacer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/rscc.h"

#define MSS 1400u
#define MS 1000u

static void test_rscc_random_loss_at_the_rtt_floor_keeps_the_window(void **state)
{
	struct rscc c;
	uint64_t w;

	(void)state;
	rscc_init(&c, MSS);
	c.cwnd = 100 * MSS;
	c.ssthresh = 100 * MSS;
	w = c.cwnd;
	/* RTT 20.5 ms against a 20 ms floor: no queue. */
	rscc_on_loss(&c, 0, MSS, 200 * MSS, 20500, 20 * MS, 1000000);
	assert_int_equal(c.cwnd, w);
	assert_int_equal(c.random_losses, 1);
	assert_int_equal(c.loss_events, 0);
}

static void test_rscc_random_loss_does_not_end_slow_start(void **state)
{
	struct rscc c;

	(void)state;
	rscc_init(&c, MSS);
	assert_true(rscc_in_slow_start(&c));
	/* 3 % loss at the RTT floor while the window is still small. */
	rscc_on_loss(&c, 0, MSS, 20 * MSS, 20 * MS, 20 * MS, 1000000);
	assert_true(rscc_in_slow_start(&c));
	/* An ack of data sent before the loss still grows the window: a
	 * random loss starts no recovery freeze. */
	rscc_on_ack(&c, 10 * MSS, 10 * MSS, 30 * MSS, 20 * MSS, 20 * MS, 20 * MS, 1020000);
	assert_int_equal(c.cwnd, (uint64_t)(RSCC_INIT_SEGS + 10) * MSS);
	assert_int_equal(c.random_losses, 1);
}

static void test_rscc_loss_with_a_standing_queue_cuts_the_window_once_per_round(void **state)
{
	struct rscc c;

	(void)state;
	rscc_init(&c, MSS);
	c.cwnd = 100 * MSS;
	c.ssthresh = 100 * MSS;
	/* RTT 40 ms against a 20 ms floor: a queue. */
	rscc_on_loss(&c, 10 * MSS, MSS, 200 * MSS, 40 * MS, 20 * MS, 1000000);
	assert_int_equal(c.cwnd, (uint64_t)(100 * MSS * RSCC_BETA));
	assert_int_equal(c.ssthresh, c.cwnd);
	/* Another loss of data sent before the cut: the same event. */
	rscc_on_loss(&c, 20 * MSS, MSS, 210 * MSS, 40 * MS, 20 * MS, 1001000);
	assert_int_equal(c.cwnd, (uint64_t)(100 * MSS * RSCC_BETA));
	assert_int_equal(c.loss_events, 1);
	/* Data sent after the cut is a new event. */
	rscc_on_loss(&c, 205 * MSS, MSS, 300 * MSS, 40 * MS, 20 * MS, 1100000);
	assert_int_equal(c.loss_events, 2);
	assert_true(c.cwnd < (uint64_t)(100 * MSS * RSCC_BETA));
}

static void test_rscc_loss_with_a_shallow_queue_cuts_only_the_queue(void **state)
{
	struct rscc c;

	(void)state;
	rscc_init(&c, MSS);
	c.cwnd = 100 * MSS;
	c.ssthresh = 100 * MSS;
	/* RTT 26 ms against a 20 ms floor: a 6 ms queue, 6/26 of the window;
	 * the cut takes that (to 20/26), not beta's 30 %. */
	rscc_on_loss(&c, 10 * MSS, MSS, 200 * MSS, 26 * MS, 20 * MS, 1000000);
	assert_int_equal(c.loss_events, 1);
	assert_int_equal(c.cwnd, 100 * MSS * 20 / 26);
	assert_int_equal(c.ssthresh, c.cwnd);
	assert_int_equal(c.w_max, 100 * MSS);
}

/* Out of slow start, an RTT at its floor (within an eighth) grows the window
 * by half of what is acked; a queue hands growth back to CUBIC, far slower;
 * a queue past half the floor stops growth. */
static void test_rscc_grows_fast_while_the_rtt_shows_no_queue(void **state)
{
	struct rscc c;
	uint64_t before;

	(void)state;
	rscc_init(&c, MSS);
	c.cwnd = 100 * MSS;
	c.ssthresh = 100 * MSS;
	c.w_max = 100 * MSS;
	rscc_on_ack(&c, 10 * MSS, 10 * MSS, 110 * MSS, 100 * MSS, 21 * MS, 20 * MS, 1000000);
	assert_int_equal(c.cwnd, 105 * MSS);
	assert_int_equal(c.fast_grows, 1);
	before = c.cwnd;
	/* 24 ms against 20: a 4 ms queue, past an eighth of the floor. */
	rscc_on_ack(&c, 10 * MSS, 20 * MSS, 120 * MSS, 105 * MSS, 24 * MS, 20 * MS, 1001000);
	assert_int_equal(c.fast_grows, 1);
	assert_true(c.cwnd - before < MSS);
	assert_true(c.cwnd > before);
	/* 31 ms: an 11 ms queue, past half the floor: the window holds. */
	before = c.cwnd;
	rscc_on_ack(&c, 10 * MSS, 30 * MSS, 130 * MSS, 110 * MSS, 31 * MS, 20 * MS, 1002000);
	assert_int_equal(c.cwnd, before);
	assert_int_equal(c.delay_holds, 1);
}

/* Rounds that delivered 9.1 bytes per microsecond, over a 20 ms floor: a
 * cut for a deep queue (60 ms) stops at 1.25 x 9.1 x 20000 bytes, above
 * beta's 70 % and far above the drained window (a third). */
static void test_rscc_a_cut_keeps_the_measured_path_capacity(void **state)
{
	struct rscc c;
	uint64_t seq = 0, now = 1000000;

	(void)state;
	rscc_init(&c, MSS);
	c.cwnd = 200 * MSS;
	c.ssthresh = 200 * MSS;
	for (int i = 0; i < 100; i++) {
		seq += 9100;
		now += 1000;
		rscc_on_ack(&c, 9100, seq, seq + 200 * MSS, 200 * MSS, 60 * MS, 20 * MS, now);
	}
	assert_true(c.bw_max > 9.09 && c.bw_max < 9.11);
	c.cwnd = 200 * MSS;
	rscc_on_loss(&c, seq, MSS, seq + 200 * MSS, 60 * MS, 20 * MS, now);
	assert_int_equal(c.loss_events, 1);
	assert_true(c.cwnd >= 227400 && c.cwnd <= 227600);
}

/* A round whose every RTT sample sat at 40 ms over a 20 ms floor: a 20 ms
 * queue, twice the ceiling (half the floor). At the round's end the window
 * is scaled to (20 + 10) / 40 of itself. */
static void test_rscc_a_standing_queue_past_the_ceiling_is_drained(void **state)
{
	struct rscc c;

	(void)state;
	rscc_init(&c, MSS);
	c.cwnd = 200 * MSS;
	c.ssthresh = 200 * MSS;
	/* The first ack starts a round that ends at 200 MSS. */
	rscc_on_ack(&c, MSS, MSS, 200 * MSS, 200 * MSS, 40 * MS, 20 * MS, 1000000);
	for (int i = 2; i < 200; i++) {
		rscc_on_ack(&c, MSS, (uint64_t)i * MSS, 200 * MSS + (uint64_t)i * MSS, 200 * MSS,
			    40 * MS, 20 * MS, 1000000 + (uint64_t)i * 100);
	}
	assert_int_equal(c.delay_cuts, 0);
	assert_int_equal(c.cwnd, 200 * MSS); /* held: no growth past the ceiling */
	rscc_on_ack(&c, MSS, 200 * MSS, 400 * MSS, 200 * MSS, 40 * MS, 20 * MS, 1040000);
	assert_int_equal(c.delay_cuts, 1);
	assert_int_equal(c.cwnd, 150 * MSS);
}

static void test_rscc_heavy_loss_is_congestion_even_without_delay(void **state)
{
	struct rscc c;

	(void)state;
	rscc_init(&c, MSS);
	c.cwnd = 100 * MSS;
	c.ssthresh = 100 * MSS;
	c.round_acked = 60 * MSS;
	c.round_lost = 10 * MSS;
	rscc_on_loss(&c, 0, MSS, 200 * MSS, 20 * MS, 20 * MS, 1000000);
	assert_int_equal(c.loss_events, 1);
	assert_true(c.cwnd < 100 * MSS);
}

static void test_rscc_rto_collapses_to_two_segments(void **state)
{
	struct rscc c;

	(void)state;
	rscc_init(&c, MSS);
	c.cwnd = 80 * MSS;
	rscc_on_rto(&c, 60 * MSS, 100 * MSS, false);
	assert_int_equal(c.cwnd, RSCC_MIN_SEGS * MSS);
	assert_int_equal(c.ssthresh, 30 * MSS);
	/* It fires again (the path is out, one segment resent): ssthresh is
	 * held, not cut from that one segment. */
	rscc_on_rto(&c, MSS, 100 * MSS, true);
	assert_int_equal(c.cwnd, RSCC_MIN_SEGS * MSS);
	assert_int_equal(c.ssthresh, 30 * MSS);
	/* Slow start: the ack of a resend (cumulative ack still far below
	 * what was sent before the timeout) grows the window by what it
	 * acked. */
	rscc_on_ack(&c, MSS, 41 * MSS, 100 * MSS, RSCC_MIN_SEGS * MSS, 10 * MS, 10 * MS, 1000000);
	assert_int_equal(c.cwnd, (RSCC_MIN_SEGS + 1) * MSS);
}

static void test_rscc_an_unused_window_does_not_grow(void **state)
{
	struct rscc c;
	uint64_t w;

	(void)state;
	rscc_init(&c, MSS);
	w = c.cwnd;
	/* One segment in flight of a ten-segment window: app-limited. */
	rscc_on_ack(&c, MSS, MSS, 2 * MSS, MSS, 10 * MS, 10 * MS, 1000000);
	assert_int_equal(c.cwnd, w);
	/* A full window in flight: slow start grows by what was acked. */
	rscc_on_ack(&c, MSS, 2 * MSS, 20 * MSS, w, 10 * MS, 10 * MS, 1001000);
	assert_int_equal(c.cwnd, w + MSS);
}

static void test_rscc_hystart_leaves_slow_start_when_the_rtt_rises(void **state)
{
	struct rscc c;
	uint64_t seq = 0, t = 1000000;

	(void)state;
	rscc_init(&c, MSS);
	/* Round 1 at 20 ms, round 2 at 30 ms (eta = max(20/8, 4) = 4 ms). */
	for (int round = 0; round < 3 && rscc_in_slow_start(&c); round++) {
		uint64_t rtt = round == 0 ? 20 * MS : 30 * MS;
		uint64_t end = seq + c.cwnd;

		for (int i = 0; i < 10 && rscc_in_slow_start(&c); i++) {
			seq += MSS;
			t += 100;
			rscc_on_ack(&c, MSS, seq, end + c.cwnd, c.cwnd, rtt, 20 * MS, t);
		}
		seq = end + c.cwnd;
		rscc_on_ack(&c, 0, seq, seq + c.cwnd, c.cwnd, 0, 20 * MS, t);
	}
	assert_false(rscc_in_slow_start(&c));
	assert_int_equal(c.hystart_exits, 1);
}

static void test_rscc_paces_a_window_over_the_rtt(void **state)
{
	struct rscc c;
	uint64_t t = 1000000, sent = 0;

	(void)state;
	rscc_init(&c, MSS);
	c.ssthresh = c.cwnd; /* congestion avoidance: gain 1.25 */
	/* No RTT yet: no pacing. */
	assert_int_equal(rscc_pace_at_us(&c, MSS, 0, t), t);
	/* srtt 100 ms: a 14 kB window goes at 1.25 * 140 B/ms; after the
	 * bucket's burst, sends are spaced. */
	for (int i = 0; i < 40; i++) {
		uint64_t at = rscc_pace_at_us(&c, MSS, 100 * MS, t);

		t = at > t ? at : t;
		rscc_on_send(&c, MSS, 100 * MS, t);
		sent += MSS;
	}
	/* 40 segments at 175 B/ms after a 4-segment burst: about 290 ms. */
	assert_true(t - 1000000 > 250 * MS);
	assert_true(t - 1000000 < 340 * MS);
	(void)sent;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rscc_random_loss_at_the_rtt_floor_keeps_the_window),
		cmocka_unit_test(test_rscc_random_loss_does_not_end_slow_start),
		cmocka_unit_test(test_rscc_loss_with_a_shallow_queue_cuts_only_the_queue),
		cmocka_unit_test(test_rscc_grows_fast_while_the_rtt_shows_no_queue),
		cmocka_unit_test(test_rscc_a_cut_keeps_the_measured_path_capacity),
		cmocka_unit_test(test_rscc_a_standing_queue_past_the_ceiling_is_drained),
		cmocka_unit_test(
			test_rscc_loss_with_a_standing_queue_cuts_the_window_once_per_round),
		cmocka_unit_test(test_rscc_heavy_loss_is_congestion_even_without_delay),
		cmocka_unit_test(test_rscc_rto_collapses_to_two_segments),
		cmocka_unit_test(test_rscc_an_unused_window_does_not_grow),
		cmocka_unit_test(test_rscc_hystart_leaves_slow_start_when_the_rtt_rises),
		cmocka_unit_test(test_rscc_paces_a_window_over_the_rtt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
