/* ccest: congestion feedback at the receiver and capacity estimation at the
 * sender of a UDP flow (DESIGN §9, issue #9; the rules are in ccest.h). Owns
 * nothing but its counters; never allocates, never reads a clock. */
#include "ccest.h"

#include <string.h>

#define TX_MASK (CCEST_TX_RING - 1)
#define TX_US_MASK ((1ull << 48) - 1)
_Static_assert((CCEST_TX_RING & TX_MASK) == 0, "CCEST_TX_RING is a power of two");

/* Smoothing weights of a new sample. */
#define EWMA_SEND 0.3
#define EWMA_CAPACITY 0.25
#define EWMA_LOSS 0.3
#define EWMA_RTT 0.25
#define EWMA_QDELAY 0.3
#define EWMA_BASE 0.02

static double ewma(double old, double sample, double w, bool is_first)
{
	return is_first ? sample : old + w * (sample - old);
}

/* ---- receiver ---- */

void ccest_rx_on_datagram(struct ccest_rx *rx, uint32_t seq, size_t len, uint64_t now_us)
{
	int32_t delta;

	if (!rx->has_seq) {
		memset(rx, 0, sizeof(*rx));
		rx->has_seq = true;
		rx->base = seq;
		rx->ext_max = seq;
		rx->expected_at_report = 0;
		rx->report_us = now_us;
		rx->max_rx_us = now_us;
	}
	/* Sequence numbers are u32 and wrap: extend them to 64 bits. */
	delta = (int32_t)(seq - (uint32_t)rx->ext_max);
	if (delta < -CCEST_REBASE_GAP) {
		/* The sender started over (restart, new member list): new base. */
		rx->has_seq = false;
		ccest_rx_on_datagram(rx, seq, len, now_us);
		return;
	}
	if (delta > 0) {
		rx->ext_max += (uint64_t)delta;
		rx->max_rx_us = now_us;
	}
	rx->received++;
	rx->bytes += len;
}

bool ccest_rx_report(struct ccest_rx *rx, uint32_t flow_id, uint64_t now_us, struct frame_cc *cc,
		     struct frame_cc_echo *echo)
{
	uint64_t expected, d_expected, d_received;

	if (!rx->has_seq || now_us < rx->report_us + CCEST_REPORT_US ||
	    rx->received == rx->received_at_report) {
		return false;
	}
	expected = rx->ext_max - rx->base + 1;
	d_expected = expected - rx->expected_at_report;
	d_received = rx->received - rx->received_at_report;
	memset(cc, 0, sizeof(*cc));
	cc->flow_id = flow_id;
	/* After a long pause the interval saturates rather than wraps. */
	cc->interval_us = now_us - rx->report_us > UINT32_MAX ? UINT32_MAX
							      : (uint32_t)(now_us - rx->report_us);
	cc->rx_packets = (uint32_t)d_received;
	/* Duplicates and late (reordered) datagrams can make more arrive than
	 * were expected in an interval: no negative loss. */
	cc->lost_packets = d_expected > d_received ? (uint32_t)(d_expected - d_received) : 0;
	cc->rx_bytes = rx->bytes;
	memset(echo, 0, sizeof(*echo));
	echo->flow_id = flow_id;
	echo->echo_seq = (uint32_t)rx->ext_max;
	echo->echo_hold_us = now_us - rx->max_rx_us > UINT32_MAX
				     ? UINT32_MAX
				     : (uint32_t)(now_us - rx->max_rx_us);
	rx->report_us = now_us;
	rx->expected_at_report = expected;
	rx->received_at_report = rx->received;
	rx->bytes = 0;
	return true;
}

/* ---- sender ---- */

/* Stale: no report, or nothing sent, for CCEST_STALE_US. */
static bool is_stale(const struct ccest *e, uint64_t now_us)
{
	uint64_t last_us = e->tx_us < e->report_us ? e->tx_us : e->report_us;

	return now_us > last_us + CCEST_STALE_US;
}

static enum ccest_change clear_if_stale(struct ccest *e, uint64_t now_us)
{
	if (!e->is_saturated || !is_stale(e, now_us)) {
		return CCEST_SAME;
	}
	e->is_saturated = false;
	e->congested_run = 0;
	return CCEST_CLEARED;
}

enum ccest_change ccest_on_send(struct ccest *e, uint32_t seq, size_t len, uint64_t now_us)
{
	enum ccest_change ch;

	e->tx_ring[seq & TX_MASK] = (uint64_t)(seq & 0xffff) << 48 | (now_us & TX_US_MASK);
	e->tx_bytes += len;
	/* Checked before this send counts: a send after a long pause finds
	 * the old saturated state stale (the pause was not saturated). */
	ch = clear_if_stale(e, now_us);
	if (e->tx_us != 0 && now_us > e->tx_us + CCEST_STALE_US) {
		e->is_after_pause = true;
	}
	e->tx_us = now_us;
	return ch;
}

uint64_t ccest_next_us(const struct ccest *e)
{
	if (!e->is_saturated) {
		return UINT64_MAX;
	}
	return (e->tx_us < e->report_us ? e->tx_us : e->report_us) + CCEST_STALE_US + 1;
}

enum ccest_change ccest_on_tick(struct ccest *e, uint64_t now_us)
{
	return clear_if_stale(e, now_us);
}

double ccest_send_bps(const struct ccest *e, uint64_t now_us)
{
	if (e->tx_us == 0 || now_us >= e->tx_us + CCEST_STALE_US) {
		return 0;
	}
	if (e->reports > 0 && now_us > e->report_us + CCEST_SEND_FRESH_US) {
		return (double)(e->tx_bytes - e->tx_bytes_at_report) * 8e6 /
		       (double)(now_us - e->report_us);
	}
	return e->send_bps;
}

/* A windowed minimum: the smaller of this window's and the last one's, so
 * a path whose base delay grows is re-learned within two windows. */
static double rtt_min(struct ccest *e, double rtt, uint64_t now_us)
{
	if (e->rtt_window_us == 0 || now_us >= e->rtt_window_us + CCEST_MIN_WINDOW_US) {
		e->rtt_min_us[1] = e->rtt_window_us == 0 ? rtt : e->rtt_min_us[0];
		e->rtt_min_us[0] = rtt;
		e->rtt_window_us = now_us;
	}
	if (rtt < e->rtt_min_us[0]) {
		e->rtt_min_us[0] = rtt;
	}
	return e->rtt_min_us[0] < e->rtt_min_us[1] ? e->rtt_min_us[0] : e->rtt_min_us[1];
}

void ccest_on_echo(struct ccest *e, const struct frame_cc_echo *echo, uint64_t now_us)
{
	uint64_t ent = e->tx_ring[echo->echo_seq & TX_MASK];
	uint64_t tx_us = ent & TX_US_MASK;
	double rtt, q;

	/* The ring slot may hold a newer datagram (or none): no sample then. */
	if (ent == 0 || (ent >> 48) != (echo->echo_seq & 0xffff) ||
	    (now_us & TX_US_MASK) < tx_us + echo->echo_hold_us) {
		return;
	}
	rtt = (double)((now_us & TX_US_MASK) - tx_us - echo->echo_hold_us);
	e->rtt_us = ewma(e->rtt_us, rtt, EWMA_RTT, e->rtt_us == 0);
	q = rtt - rtt_min(e, rtt, now_us);
	e->qdelay_us = ewma(e->qdelay_us, q, EWMA_QDELAY, !e->has_qdelay);
	if (!e->has_qdelay) {
		e->qdelay_base_us = e->qdelay_us;
		e->has_qdelay = true;
	}
}

/* Is this report a congested one: loss (or a short delivery) together with
 * a queueing delay risen over its calm baseline. */
static bool congested(const struct ccest *e, double loss, double delivered_bps, double send_bps)
{
	bool rising = e->has_qdelay && e->qdelay_us - e->qdelay_base_us >= CCEST_QDELAY_RISE_US;
	bool short_of_sent = send_bps > 0 && delivered_bps < CCEST_DELIVERED_SHORT * send_bps;

	return rising && (loss >= CCEST_LOSS_MIN || short_of_sent);
}

static enum ccest_change decide(struct ccest *e, bool is_congested, double delivered_bps)
{
	/* A congested report measures the bottleneck: what got through while
	 * more was offered. */
	if (is_congested) {
		e->capacity_bps =
			ewma(e->capacity_bps, delivered_bps, EWMA_CAPACITY, e->capacity_bps == 0);
		e->congested_run++;
		e->calm_run = 0;
	} else {
		e->congested_run = 0;
		e->calm_run++;
		/* Calm and delivering more than we thought possible: the path
		 * got better. */
		if (e->capacity_bps > 0 && delivered_bps > 1.1 * e->capacity_bps) {
			e->capacity_bps = delivered_bps;
		}
		/* The baseline follows slowly, and only while calm. */
		e->qdelay_base_us = ewma(e->qdelay_base_us, e->qdelay_us, EWMA_BASE, false);
	}
	e->below_run = e->capacity_bps > 0 && e->send_bps < CCEST_CLEAR_SHARE * e->capacity_bps
			       ? e->below_run + 1
			       : 0;
	if (!e->is_saturated && e->congested_run >= CCEST_SATURATE_RUN &&
	    e->send_bps >= CCEST_SATURATE_SHARE * e->capacity_bps) {
		e->is_saturated = true;
		return CCEST_SATURATED;
	}
	if (e->is_saturated && (e->below_run >= CCEST_CLEAR_RUN || e->calm_run >= CCEST_CALM_RUN)) {
		e->is_saturated = false;
		return CCEST_CLEARED;
	}
	return CCEST_SAME;
}

enum ccest_change ccest_on_report(struct ccest *e, const struct frame_cc *cc, uint64_t now_us)
{
	double delivered, loss, send = 0;
	uint64_t total = (uint64_t)cc->rx_packets + cc->lost_packets;
	bool is_first = e->reports == 0;

	if (cc->interval_us == 0) {
		return CCEST_SAME;
	}
	delivered = (double)cc->rx_bytes * 8e6 / cc->interval_us;
	loss = total > 0 ? (double)cc->lost_packets / (double)total : 0;
	if (e->is_after_pause && !is_first) {
		/* Its interval spans the pause: what got through at the end of
		 * it spread over the whole, next to what was sent (a round trip's
		 * worth) spread over it too: "short of sent", and it took a
		 * quarter off the capacity. Only a new start for the rates. */
		e->is_after_pause = false;
		e->report_us = now_us;
		e->tx_bytes_at_report = e->tx_bytes;
		e->reports++;
		e->loss = ewma(e->loss, loss, EWMA_LOSS, false);
		return CCEST_SAME;
	}
	if (!is_first && now_us > e->report_us) {
		send = (double)(e->tx_bytes - e->tx_bytes_at_report) * 8e6 /
		       (double)(now_us - e->report_us);
		e->send_bps = ewma(e->send_bps, send, EWMA_SEND, e->reports == 1);
	}
	e->is_after_pause = false;
	e->report_us = now_us;
	e->tx_bytes_at_report = e->tx_bytes;
	e->reports++;
	e->delivered_bps = ewma(e->delivered_bps, delivered, EWMA_SEND, is_first);
	e->loss = ewma(e->loss, loss, EWMA_LOSS, is_first);
	if (is_first) {
		return CCEST_SAME; /* no send rate yet */
	}
	/* The instant send rate, not the smoothed one: right after the source
	 * slows down, what drains from the queue is no longer "short". */
	return decide(e, congested(e, loss, delivered, send), delivered);
}
