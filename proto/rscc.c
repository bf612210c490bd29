/* rscc: CUBIC with a HyStart++ delay exit, a delay test on loss, and a
 * token-bucket pacer, for one reliable stream (rscc.h; DESIGN §9). Owns
 * nothing; reads no clock. RFC rules are quoted beside the lines that
 * follow them. Windows are in bytes; CUBIC's formulas in segments. */
#include "rscc.h"

#include <math.h>
#include <stdint.h>

#define SEC_US 1000000.0
/* RFC 9406 §4.2: MIN_RTT_THRESH 4 ms, MAX_RTT_THRESH 16 ms, N_RTT_SAMPLE 8. */
#define HYSTART_MIN_ETA_US 4000u
#define HYSTART_MAX_ETA_US 16000u
#define HYSTART_SAMPLES 8u
/* A standing queue: the RTT is above its floor by a quarter of it, and by
 * at least this much (timer and scheduling noise on a fast path). */
#define QUEUE_MIN_EXCESS_US 1000u

void rscc_init(struct rscc *c, uint32_t mss)
{
	*c = (struct rscc){0};
	c->mss = mss;
	c->cwnd = (uint64_t)RSCC_INIT_SEGS * mss;
	c->ssthresh = UINT64_MAX;
	c->last_round_min_rtt_us = UINT64_MAX;
	c->cur_round_min_rtt_us = UINT64_MAX;
}

bool rscc_in_slow_start(const struct rscc *c)
{
	return c->cwnd < c->ssthresh;
}

static uint64_t min_cwnd(const struct rscc *c)
{
	return (uint64_t)RSCC_MIN_SEGS * c->mss;
}

/* The queue the window may build before it stops growing: half the RTT
 * floor (the path stays full behind it), at least RSCC_QUEUE_MIN_US. */
static uint64_t queue_ceiling(uint64_t min_rtt_us)
{
	uint64_t q = min_rtt_us / 2;

	return q < RSCC_QUEUE_MIN_US ? RSCC_QUEUE_MIN_US : q;
}

/* At a round's end, out of slow start: if even the round's smallest RTT
 * sat past the queue's ceiling, the queue stands (a slow start that
 * overshot, a path that slowed down): scale the window down to what keeps
 * the queue at the ceiling, cwnd * (floor + ceiling) / that RTT. The
 * round's minimum ignores a lone delayed sample. */
static void drain_check(struct rscc *c, uint64_t min_rtt_us)
{
	uint64_t rtt = c->cur_round_min_rtt_us, target;

	if (rscc_in_slow_start(c) || min_rtt_us == 0 || rtt == UINT64_MAX ||
	    rtt <= min_rtt_us + queue_ceiling(min_rtt_us)) {
		return;
	}
	target = (uint64_t)((double)c->cwnd * (double)(min_rtt_us + queue_ceiling(min_rtt_us)) /
			    (double)rtt);
	c->cwnd = target < min_cwnd(c) ? min_cwnd(c) : target;
	c->ssthresh = c->cwnd;
	c->epoch_us = 0;
	c->delay_cuts++;
}

/* A round ends when data sent after it began is acked (RFC 9406 §4.2). Its
 * delivery rate feeds a max filter over RSCC_BW_ROUNDS rounds (as BBR's
 * bottleneck bandwidth): a newer, lower rate replaces the maximum only
 * once that is RSCC_BW_ROUNDS rounds old. */
static void round_check(struct rscc *c, uint64_t ack_seq, uint64_t snd_nxt, uint64_t min_rtt_us,
			uint64_t now_us)
{
	if (ack_seq < c->round_end_seq) {
		return;
	}
	drain_check(c, min_rtt_us);
	if (c->round_start_us != 0 && now_us > c->round_start_us) {
		double rate = (double)c->round_delivered / (double)(now_us - c->round_start_us);

		if (rate >= c->bw_max || c->rounds - c->bw_max_round >= RSCC_BW_ROUNDS) {
			c->bw_max = rate;
			c->bw_max_round = c->rounds;
		}
	}
	c->rounds++;
	c->round_start_us = now_us;
	c->round_delivered = 0;
	c->round_end_seq = snd_nxt;
	c->last_round_min_rtt_us = c->cur_round_min_rtt_us;
	c->cur_round_min_rtt_us = UINT64_MAX;
	c->round_samples = 0;
	/* Loss accounting spans this round and the one before (halved). */
	c->round_acked /= 2;
	c->round_lost /= 2;
}

/* RFC 9406 §4.2: in slow start, a round whose minimum RTT rose by eta over
 * the last round's ends slow start. */
static void hystart_sample(struct rscc *c, uint64_t rtt_us)
{
	uint64_t eta;

	if (rtt_us < c->cur_round_min_rtt_us) {
		c->cur_round_min_rtt_us = rtt_us;
	}
	c->round_samples++;
	if (!rscc_in_slow_start(c) || c->round_samples < HYSTART_SAMPLES ||
	    c->last_round_min_rtt_us == UINT64_MAX) {
		return;
	}
	eta = c->last_round_min_rtt_us / 8;
	eta = eta < HYSTART_MIN_ETA_US ? HYSTART_MIN_ETA_US : eta;
	eta = eta > HYSTART_MAX_ETA_US ? HYSTART_MAX_ETA_US : eta;
	if (c->cur_round_min_rtt_us >= c->last_round_min_rtt_us + eta) {
		c->ssthresh = c->cwnd;
		c->hystart_exits++;
	}
}

/* RFC 9438 §4.2-4.3: W_cubic(t) = C (t - K)^3 + W_max, and the
 * Reno-friendly W_est grows by alpha_cubic per window acked. */
static void cubic_grow(struct rscc *c, uint64_t bytes, uint64_t min_rtt_us, uint64_t now_us)
{
	double mss = c->mss;
	double alpha = 3.0 * (1.0 - RSCC_BETA) / (1.0 + RSCC_BETA);
	double t, target, w_max_seg;

	if (c->epoch_us == 0) {
		c->epoch_us = now_us;
		c->cwnd_epoch = c->cwnd;
		c->w_est = (double)c->cwnd;
		if (c->cwnd < c->w_max) {
			c->k_s = cbrt((double)(c->w_max - c->cwnd) / mss / RSCC_C);
		} else {
			c->k_s = 0.0;
			c->w_max = c->cwnd;
		}
	}
	w_max_seg = (double)c->w_max / mss;
	t = (double)(now_us - c->epoch_us + min_rtt_us) / SEC_US;
	target = (RSCC_C * pow(t - c->k_s, 3.0) + w_max_seg) * mss;
	/* RFC 9438 §4.2: the target stays within [cwnd, 1.5 cwnd]. */
	if (target < (double)c->cwnd) {
		target = (double)c->cwnd;
	} else if (target > 1.5 * (double)c->cwnd) {
		target = 1.5 * (double)c->cwnd;
	}
	c->w_est += alpha * (double)bytes * mss / (double)c->cwnd;
	if (c->w_est > target) {
		target = c->w_est;
	}
	c->cwnd += (uint64_t)((target - (double)c->cwnd) * (double)bytes / (double)c->cwnd);
}

static bool has_queue(uint64_t latest_rtt_us, uint64_t min_rtt_us)
{
	uint64_t excess = min_rtt_us / 4;

	if (min_rtt_us == 0 || latest_rtt_us == 0) {
		return true; /* nothing known: assume congestion */
	}
	excess = excess < QUEUE_MIN_EXCESS_US ? QUEUE_MIN_EXCESS_US : excess;
	return latest_rtt_us > min_rtt_us + excess;
}

/* The RTT above its floor that still counts as "no queue" for fast growth:
 * an eighth of the floor, at least the timer noise. */
static uint64_t fast_grow_excess(uint64_t min_rtt_us)
{
	uint64_t excess = min_rtt_us / 8;

	return excess < QUEUE_MIN_EXCESS_US ? QUEUE_MIN_EXCESS_US : excess;
}

void rscc_on_ack(struct rscc *c, uint64_t bytes, uint64_t ack_seq, uint64_t snd_nxt,
		 uint64_t inflight, uint64_t rtt_us, uint64_t min_rtt_us, uint64_t now_us)
{
	c->round_delivered += bytes;
	round_check(c, ack_seq, snd_nxt, min_rtt_us, now_us);
	c->round_acked += bytes;
	if (rtt_us) {
		hystart_sample(c, rtt_us);
	}
	if (bytes == 0 || ack_seq < c->cut_seq) {
		/* RFC 6675: no growth while recovering from a window cut (a
		 * random loss cut nothing, and stops nothing). */
		return;
	}
	if (2 * (inflight + c->mss) < c->cwnd) {
		/* RFC 7661: an unused window is not validated by acks. */
		c->epoch_us = 0;
		return;
	}
	if (rscc_in_slow_start(c)) {
		c->cwnd += bytes; /* RFC 5681 §3.1 */
		return;
	}
	if (rtt_us && min_rtt_us && rtt_us <= min_rtt_us + fast_grow_excess(min_rtt_us)) {
		/* No queue: the window is below what the path holds (one
		 * beyond it queues). Grow half as fast as slow start, not by
		 * CUBIC's crawl near w_max: after random losses or a cut on a
		 * fast long path, CUBIC would need seconds to refill it. The
		 * test is stricter than has_queue's (an eighth of the floor):
		 * a shallow buffer must still show as a queue. A queue hands
		 * back to CUBIC, from a new epoch. */
		c->cwnd += bytes / 2;
		c->epoch_us = 0;
		c->fast_grows++;
		return;
	}
	if (rtt_us && min_rtt_us && rtt_us > min_rtt_us + queue_ceiling(min_rtt_us)) {
		/* The queue is past its ceiling: hold the window. CUBIC alone
		 * would fill the bottleneck's buffer until it overflows (a
		 * burst of losses, and the delay every other flow through that
		 * buffer, MAVLink too, pays meanwhile). */
		c->epoch_us = 0;
		c->delay_holds++;
		return;
	}
	cubic_grow(c, bytes, min_rtt_us, now_us);
}

static bool heavy_loss(const struct rscc *c)
{
	uint64_t total = c->round_acked + c->round_lost;

	return total >= 20ull * c->mss &&
	       c->round_lost * 1000 >= (uint64_t)RSCC_HEAVY_LOSS_PERMILLE * total;
}

void rscc_on_loss(struct rscc *c, uint64_t seq, uint64_t bytes, uint64_t snd_nxt,
		  uint64_t latest_rtt_us, uint64_t min_rtt_us, uint64_t now_us)
{
	uint64_t w;

	(void)now_us;
	c->round_lost += bytes;
	if (seq < c->recover_seq) {
		return; /* part of the loss event already answered */
	}
	c->recover_seq = snd_nxt;
	if (!has_queue(latest_rtt_us, min_rtt_us) && !heavy_loss(c)) {
		/* Random loss: repair it, keep the window, and keep slow start
		 * too: on a lossy radio link the first losses come long before
		 * the window fills the path, and CUBIC from there would take
		 * minutes to reach it. HyStart++ (the RTT rising) or a loss
		 * with a queue ends slow start. */
		c->random_losses++;
		return;
	}
	c->loss_events++;
	c->cut_seq = snd_nxt;
	/* RFC 9438 §4.7 fast convergence. */
	w = c->cwnd;
	c->w_max = w < c->w_max ? (uint64_t)((double)w * (1.0 + RSCC_BETA) / 2.0) : w;
	w = (uint64_t)((double)w * RSCC_BETA);
	/* Beta leaves a fast long path idle until CUBIC regrows (seconds),
	 * and random loss on top of a small queue would do it again and
	 * again. Without heavy loss the cut goes no deeper than the window
	 * without the queue: cwnd * min_rtt / latest_rtt (what is in flight
	 * minus what queues), and 1.25 times the delivery rate times the RTT
	 * floor (the path's capacity as measured, and room for the segments
	 * resent meanwhile). Either drains most of the queue and keeps the
	 * path full. */
	if (!heavy_loss(c) && min_rtt_us > 0) {
		double bdp = RSCC_BDP_GAIN * c->bw_max * (double)min_rtt_us;
		uint64_t floor = (uint64_t)(bdp < (double)c->cwnd ? bdp : (double)c->cwnd);

		if (latest_rtt_us > min_rtt_us) {
			uint64_t drained = (uint64_t)((double)c->cwnd * (double)min_rtt_us /
						      (double)latest_rtt_us);

			floor = drained > floor ? drained : floor;
		}
		w = floor > w ? floor : w;
	}
	c->cwnd = w < min_cwnd(c) ? min_cwnd(c) : w;
	c->ssthresh = c->cwnd;
	c->epoch_us = 0;
}

void rscc_on_path_change(struct rscc *c)
{
	struct rscc fresh;

	rscc_init(&fresh, c->mss);
	fresh.loss_events = c->loss_events;
	fresh.random_losses = c->random_losses;
	fresh.hystart_exits = c->hystart_exits;
	fresh.rto_collapses = c->rto_collapses;
	fresh.fast_grows = c->fast_grows;
	fresh.delay_holds = c->delay_holds;
	fresh.delay_cuts = c->delay_cuts;
	*c = fresh;
}

void rscc_on_rto(struct rscc *c, uint64_t inflight, uint64_t snd_nxt, bool is_repeat)
{
	/* RFC 5681 §3.1 (7): ssthresh = max(FlightSize / 2, 2 SMSS), held on
	 * a repeated timeout for the same loss. */
	uint64_t half = inflight / 2;

	if (!is_repeat) {
		c->ssthresh = half < min_cwnd(c) ? min_cwnd(c) : half;
		c->w_max = c->cwnd;
	}
	c->cwnd = min_cwnd(c);
	c->epoch_us = 0;
	/* Losses of what was sent before belong to this event (no second
	 * cut), but slow start grows with every ack from here, those of the
	 * resends too (RFC 5681 §3.1): unlike a fast-recovery cut, the window
	 * is not held until everything sent before the timeout is acked,
	 * which after a burst loss of a large flight meant resending all of
	 * it at two segments a round trip. */
	c->recover_seq = snd_nxt;
	c->cut_seq = 0;
	c->rto_collapses++;
}

bool rscc_window_allows(const struct rscc *c, uint64_t inflight, uint64_t len)
{
	uint64_t w = c->probe_floor ? c->cwnd / 2 : c->cwnd;

	return inflight + len <= w || inflight == 0;
}

/* Bytes per microsecond: cwnd per srtt, twice that in slow start (RFC 9002
 * §7.7 paces at 1.25 cwnd/srtt; slow start needs room to double). */
static double pace_rate(const struct rscc *c, uint64_t srtt_us)
{
	double gain = rscc_in_slow_start(c) ? 2.0 : 1.25;

	return gain * (double)c->cwnd / (double)srtt_us;
}

static void refill(struct rscc *c, double rate, uint64_t now_us)
{
	double cap = rate * RSCC_PACE_BURST_US;

	if (cap < 4.0 * c->mss) {
		cap = 4.0 * c->mss;
	}
	if (now_us > c->tokens_us) {
		c->tokens += rate * (double)(now_us - c->tokens_us);
	}
	c->tokens_us = now_us;
	if (c->tokens > cap) {
		c->tokens = cap;
	}
}

uint64_t rscc_pace_at_us(struct rscc *c, uint64_t len, uint64_t srtt_us, uint64_t now_us)
{
	double rate;

	(void)len;
	if (srtt_us == 0) {
		return now_us;
	}
	rate = pace_rate(c, srtt_us);
	refill(c, rate, now_us);
	if (c->tokens >= 0.0) {
		return now_us;
	}
	return now_us + (uint64_t)(-c->tokens / rate) + 1;
}

void rscc_on_send(struct rscc *c, uint64_t len, uint64_t srtt_us, uint64_t now_us)
{
	if (srtt_us == 0) {
		return;
	}
	refill(c, pace_rate(c, srtt_us), now_us);
	c->tokens -= (double)len;
}
