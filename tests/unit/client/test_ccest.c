/* test_ccest: client/ccest — the receiver's reports count gaps in the
 * sequence numbers as losses (not reordering or duplicates, across the u32
 * wrap); and the sender, fed through a simulated 10 Mbit/s bottleneck (the
 * impair engine's rate limit, 50 ms queue) by a source ramping from 2 to
 * 20 Mbit/s and then dropping to 5, reports saturation within 2 s of
 * crossing 10 Mbit/s with a capacity within 20 % of it, and clears within
 * 2 s of the drop, and keeps its capacity across a 3 s pause; a saturated
 * state clears when the source stops (no
 * send, no report); random loss without queueing is not congestion. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/ccest.h"
#include "client/impair.h"

static void test_ccest_rx_counts_gaps_as_losses(void **state)
{
	struct ccest_rx rx;
	struct frame_cc cc;
	struct frame_cc_echo echo;
	/* 0xfffffffe .. 0x0000000a with 3 and 5 missing, 7 before 6, 8 twice */
	const uint32_t seqs[] = {0xfffffffe, 0xffffffff, 0, 1, 2, 4, 7, 6, 8, 8, 9, 10};

	(void)state;
	memset(&rx, 0, sizeof(rx));
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		ccest_rx_on_datagram(&rx, seqs[i], 100, 1000 + i);
	}
	assert_false(ccest_rx_report(&rx, 5, 1000 + CCEST_REPORT_US - 1, &cc, &echo));
	assert_true(ccest_rx_report(&rx, 5, 1000 + CCEST_REPORT_US, &cc, &echo));
	assert_int_equal(cc.flow_id, 5);
	assert_int_equal(cc.rx_packets, 12);
	/* 13 expected (0xfffffffe..10), 12 arrived, one of them twice */
	assert_int_equal(cc.lost_packets, 1);
	assert_int_equal(cc.rx_bytes, 1200);
	assert_int_equal(cc.interval_us, CCEST_REPORT_US);
	assert_int_equal(echo.echo_seq, 10);
	assert_int_equal(echo.echo_hold_us, CCEST_REPORT_US - 11);
	/* nothing new: no report */
	assert_false(ccest_rx_report(&rx, 5, 1000 + 3 * CCEST_REPORT_US, &cc, &echo));
	/* 3 arrives late, 11 and 14: 12, 13 lost in this interval */
	ccest_rx_on_datagram(&rx, 3, 100, 200000);
	ccest_rx_on_datagram(&rx, 11, 100, 200001);
	ccest_rx_on_datagram(&rx, 14, 100, 200002);
	assert_true(ccest_rx_report(&rx, 5, 300000, &cc, &echo));
	assert_int_equal(cc.rx_packets, 3);
	assert_int_equal(cc.lost_packets, 1); /* 4 expected (11..14), 3 arrived */
	assert_int_equal(echo.echo_seq, 14);
}

struct sim {
	struct ccest tx;
	struct ccest_rx rx;
	struct impair path;
	uint64_t saturated_us, cleared_us;
	double capacity_at_saturation;
	unsigned changes;
	uint32_t seq;
};

/* Send at rate_bps(t) for [from_us, to_us) in 1250-byte datagrams; the
 * path delivers to the receiver, whose reports reach the sender at once. */
static void run(struct sim *s, uint64_t from_us, uint64_t to_us, double (*rate_bps)(uint64_t))
{
	uint8_t b[1250];
	double credit = 0;

	memset(b, 0, sizeof(b));
	for (uint64_t t = from_us; t < to_us; t += 100) {
		struct impair_out out;
		struct frame_cc cc;
		struct frame_cc_echo echo;

		credit += rate_bps(t) * 100e-6 / 8;
		while (credit >= sizeof(b)) {
			credit -= sizeof(b);
			s->seq++;
			assert_int_equal(ccest_on_send(&s->tx, s->seq, sizeof(b), t), CCEST_SAME);
			assert_true(impair_push(&s->path, t, s->seq, b, sizeof(b)) >= 0);
		}
		while (impair_pop(&s->path, t, &out)) {
			ccest_rx_on_datagram(&s->rx, (uint32_t)out.tag, out.len, t);
		}
		if (ccest_rx_report(&s->rx, 1, t, &cc, &echo)) {
			enum ccest_change ch;

			ccest_on_echo(&s->tx, &echo, t + 500);
			ch = ccest_on_report(&s->tx, &cc, t + 500);
			if (ch == CCEST_SATURATED && s->saturated_us == 0) {
				s->saturated_us = t;
				s->capacity_at_saturation = s->tx.capacity_bps;
			}
			if (ch == CCEST_CLEARED && s->cleared_us == 0) {
				s->cleared_us = t;
			}
			s->changes += ch != CCEST_SAME;
		}
	}
}

/* 2 -> 20 Mbit/s over 9 s (crossing 10 Mbit/s at 4 s), then 5 Mbit/s. */
static double ramp(uint64_t t)
{
	double secs = (double)t / 1e6;

	return secs < 9 ? 2e6 + secs * 2e6 : 5e6;
}

static void test_ccest_ramp_through_a_bottleneck_saturates_and_clears(void **state)
{
	struct impair_params p = {.rate_kbps = 10000};
	struct sim *s = calloc(1, sizeof(*s));

	(void)state;
	assert_non_null(s);
	assert_int_equal(impair_init(&s->path, &p, 1), 0);
	run(s, 0, 13000000, ramp);
	assert_true(s->saturated_us > 4000000);
	assert_true(s->saturated_us <= 6000000);
	assert_true(fabs(s->capacity_at_saturation - 10e6) <= 2e6);
	assert_true(fabs(s->tx.capacity_bps - 10e6) <= 2e6);
	assert_true(s->cleared_us > 9000000);
	assert_true(s->cleared_us <= 11000000);
	assert_int_equal(s->changes, 2);
	assert_false(s->tx.is_saturated);
	assert_true(s->tx.rtt_us > 0);
	impair_fini(&s->path);
	free(s);
}

/* Saturated, then the path dies: the sender keeps sending, no report comes,
 * and after CCEST_STALE_US the state clears (the load is not the problem). */
static void test_ccest_saturation_clears_when_reports_stop(void **state)
{
	struct impair_params p = {.rate_kbps = 10000};
	struct sim *s = calloc(1, sizeof(*s));
	uint64_t t = 7000000;

	(void)state;
	assert_non_null(s);
	assert_int_equal(impair_init(&s->path, &p, 1), 0);
	run(s, 0, t, ramp);
	assert_true(s->tx.is_saturated);
	for (t = s->tx.report_us; t <= s->tx.report_us + CCEST_STALE_US; t += 1000) {
		assert_int_equal(ccest_on_send(&s->tx, ++s->seq, 1250, t), CCEST_SAME);
	}
	assert_int_equal(ccest_on_send(&s->tx, ++s->seq, 1250, t + 1), CCEST_CLEARED);
	assert_false(s->tx.is_saturated);
	impair_fini(&s->path);
	free(s);
}

static double none(uint64_t t)
{
	(void)t;
	return 0;
}

/* Saturated, then the source stops: the queue drains, the reports stop,
 * and no send comes to find the state stale. ccest_on_tick at
 * ccest_next_us clears it CCEST_STALE_US after the last send, and the send
 * rate reads what is sent now (nothing), not the last burst. */
static void test_ccest_saturation_clears_when_the_sender_stops(void **state)
{
	struct impair_params p = {.rate_kbps = 10000};
	struct sim *s = calloc(1, sizeof(*s));
	uint64_t stop_us = 7000000, t;

	(void)state;
	assert_non_null(s);
	assert_int_equal(impair_init(&s->path, &p, 1), 0);
	run(s, 0, stop_us, ramp);
	assert_true(s->tx.is_saturated);
	assert_true(ccest_send_bps(&s->tx, stop_us) > 8e6);
	/* the queue drains (a report or two), then silence */
	run(s, stop_us, stop_us + 100000, none);
	assert_true(s->tx.report_us > stop_us);
	assert_true(ccest_send_bps(&s->tx, s->tx.report_us + CCEST_SEND_FRESH_US + 1) < 1e3);
	/* the drained reports were too few to clear it */
	assert_true(s->tx.is_saturated);
	t = ccest_next_us(&s->tx);
	assert_true(t > stop_us + CCEST_STALE_US - 1000);
	assert_true(t <= stop_us + CCEST_STALE_US + 1);
	assert_int_equal(ccest_on_tick(&s->tx, t - 2), CCEST_SAME);
	assert_int_equal(ccest_on_tick(&s->tx, t), CCEST_CLEARED);
	assert_false(s->tx.is_saturated);
	assert_int_equal(ccest_next_us(&s->tx), UINT64_MAX);
	assert_true(ccest_send_bps(&s->tx, stop_us + CCEST_STALE_US) == 0);
	assert_int_equal(ccest_on_tick(&s->tx, stop_us + 10 * CCEST_STALE_US), CCEST_SAME);
	impair_fini(&s->path);
	free(s);
}

static double steady(uint64_t t)
{
	(void)t;
	return 5e6;
}

/* 10 % random loss, no queue: losses without a rising delay are not
 * congestion, and the loss is measured. */
static void test_ccest_random_loss_alone_is_not_saturation(void **state)
{
	struct impair_params p = {.loss = 0.1, .delay_ms = 20};
	struct sim *s = calloc(1, sizeof(*s));

	(void)state;
	assert_non_null(s);
	assert_int_equal(impair_init(&s->path, &p, 1), 0);
	run(s, 0, 5000000, steady);
	assert_int_equal(s->changes, 0);
	assert_true(fabs(s->tx.loss - 0.1) <= 0.05);
	assert_true(fabs(s->tx.send_bps - 5e6) <= 0.5e6);
	/* 20 ms one way, the echo comes back at once: about 20.5 ms */
	assert_true(fabs(s->tx.rtt_us - 20500) <= 1500);
	impair_fini(&s->path);
	free(s);
}

static double overload(uint64_t t)
{
	(void)t;
	return 20e6;
}

/* Saturated at 10 Mbit/s, then idle for 3 s, then sending again into the
 * same bottleneck: the first report after the pause spans it (what got
 * through in its last 50 ms spread over 3 s) and is no measure of the path.
 * It must not drag the capacity down (it took a quarter off), and the
 * estimate holds through the restart. */
static void test_ccest_a_report_spanning_a_pause_keeps_the_capacity(void **state)
{
	struct impair_params p = {.rate_kbps = 10000, .delay_ms = 25};
	struct sim *s = calloc(1, sizeof(*s));
	uint64_t t = 7000000;
	double before;

	(void)state;
	assert_non_null(s);
	assert_int_equal(impair_init(&s->path, &p, 1), 0);
	run(s, 0, t, ramp);
	assert_true(s->tx.is_saturated);
	run(s, t, t + 3000000, none);
	/* the owner's tick cleared it meanwhile: the pause is no saturation */
	assert_int_equal(ccest_on_tick(&s->tx, t + 3000000), CCEST_CLEARED);
	before = s->tx.capacity_bps;
	assert_true(fabs(before - 10e6) <= 2e6);
	for (uint64_t at = t + 3000000; at < t + 3400000; at += 50000) {
		uint64_t reports = s->tx.reports;

		run(s, at, at + 50000, overload);
		if (s->tx.reports != reports) {
			assert_true(s->tx.capacity_bps >= 0.95 * before);
		}
	}
	assert_true(fabs(s->tx.capacity_bps - 10e6) <= 2e6);
	assert_true(fabs(s->tx.send_bps - 20e6) <= 6e6);
	impair_fini(&s->path);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ccest_rx_counts_gaps_as_losses),
		cmocka_unit_test(test_ccest_a_report_spanning_a_pause_keeps_the_capacity),
		cmocka_unit_test(test_ccest_ramp_through_a_bottleneck_saturates_and_clears),
		cmocka_unit_test(test_ccest_saturation_clears_when_reports_stop),
		cmocka_unit_test(test_ccest_saturation_clears_when_the_sender_stops),
		cmocka_unit_test(test_ccest_random_loss_alone_is_not_saturation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
