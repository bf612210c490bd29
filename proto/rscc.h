/* rscc: congestion control and pacing of one reliable stream (DESIGN §9,
 * PROTOCOL.md "Streams"). CUBIC (RFC 9438) with a HyStart++ delay exit from
 * slow start (RFC 9406), made delay-aware on loss: a loss event while the
 * RTT sits at its floor and the round lost little is taken as random loss
 * (radio, a lossy link) and does not shrink the window; a loss with a
 * standing queue (RTT above its floor) or heavy loss in a round is
 * congestion and gets CUBIC's multiplicative decrease, cut no deeper than
 * it takes to drain the queue (cwnd * min_rtt / latest_rtt) nor below 1.25
 * times the path's delivery rate (the largest of the last 10 rounds) times
 * its RTT floor, unless the round lost heavily. Out of slow start, while
 * the RTT shows no queue, the window grows by half of what is acked (the
 * path holds more); with a queue, by CUBIC; with a queue past half the RTT
 * floor (at least 5 ms), not at all: the path is full, and a deeper queue
 * only delays every flow through it until the buffer overflows. A round
 * whose smallest RTT is past that ceiling scales the window down to it. A token bucket paces
 * sends at cwnd/srtt times a gain. Pure: the owner passes time and RTTs in;
 * no clock, no allocation. Sequence numbers are stream offsets (bytes). */
#ifndef WH_RSCC_H
#define WH_RSCC_H

#include <stdbool.h>
#include <stdint.h>

#define RSCC_INIT_SEGS 10	     /* RFC 6928 initial window */
#define RSCC_MIN_SEGS 2		     /* never below two segments */
#define RSCC_BETA 0.7		     /* RFC 9438 β_cubic */
#define RSCC_C 0.4		     /* RFC 9438 C */
#define RSCC_HEAVY_LOSS_PERMILLE 100 /* a round losing ≥ 10 % is congestion */
#define RSCC_PACE_BURST_US 1500	     /* the bucket holds this long at the rate */
#define RSCC_BW_ROUNDS 10	     /* the delivery rate's max filter, in rounds */
#define RSCC_BDP_GAIN 1.25	     /* no cut below this times rate x RTT floor */
#define RSCC_QUEUE_MIN_US 5000	     /* the window stops growing past max(this, floor/2) of queue */

struct rscc {
	uint32_t mss;
	uint64_t cwnd;	   /* bytes */
	uint64_t ssthresh; /* bytes; UINT64_MAX until the first exit */
	/* CUBIC epoch (RFC 9438 §4.2) */
	uint64_t w_max;	     /* bytes at the last reduction */
	uint64_t epoch_us;   /* start of the congestion-avoidance epoch; 0: none */
	double k_s;	     /* time to reach w_max again */
	double w_est;	     /* Reno-friendly estimate, bytes */
	uint64_t cwnd_epoch; /* cwnd at the epoch start */
	/* Loss events: one per round trip (losses of data sent before the last
	 * reduction belong to it). */
	uint64_t recover_seq;
	uint64_t cut_seq; /* the window grows again once data sent after the last cut is acked */
	/* Rounds: one ends when data sent after its start is acked. */
	uint64_t round_end_seq;
	uint64_t round_acked;
	uint64_t round_lost;
	uint64_t round_start_us;  /* 0: no round timed yet */
	uint64_t round_delivered; /* bytes delivered in this round */
	uint64_t rounds;
	double bw_max;			/* largest delivery rate of a recent round, bytes/us */
	uint64_t bw_max_round;		/* the round it was measured in */
	uint64_t last_round_min_rtt_us; /* HyStart++ */
	uint64_t cur_round_min_rtt_us;
	uint32_t round_samples;
	bool probe_floor; /* the owner re-measures the RTT floor: use half the window */
	/* Pacer */
	double tokens; /* bytes; may go one segment negative */
	uint64_t tokens_us;
	/* Counters (tests, logs) */
	uint64_t loss_events;	/* windows reduced for congestion */
	uint64_t random_losses; /* loss events judged random: window kept */
	uint64_t hystart_exits;
	uint64_t fast_grows;  /* acks that grew the window fast: no queue (rscc_on_ack) */
	uint64_t delay_holds; /* acks that did not grow it: the queue past its ceiling */
	uint64_t delay_cuts;  /* rounds whose smallest RTT was past it: window scaled down */
	uint64_t rto_collapses;
};

void rscc_init(struct rscc *c, uint32_t mss);
bool rscc_in_slow_start(const struct rscc *c);

/* bytes newly delivered (cumulatively or by SACK) by an ack that acked
 * up to ack_seq; rtt_us is its sample (0: none); snd_nxt the next new byte;
 * inflight what was in flight before the ack (the window grows only while
 * it is used, RFC 7661). */
void rscc_on_ack(struct rscc *c, uint64_t bytes, uint64_t ack_seq, uint64_t snd_nxt,
		 uint64_t inflight, uint64_t rtt_us, uint64_t min_rtt_us, uint64_t now_us);
/* The path under the stream changed (relay <-> direct): start over as on a
 * new path (RFC 9000 §9.4), keeping the counters. */
void rscc_on_path_change(struct rscc *c);
/* A segment [seq, seq+bytes) was declared lost; latest_rtt_us is the RTT
 * seen most recently, min_rtt_us the path's floor. */
void rscc_on_loss(struct rscc *c, uint64_t seq, uint64_t bytes, uint64_t snd_nxt,
		  uint64_t latest_rtt_us, uint64_t min_rtt_us, uint64_t now_us);
/* The retransmission timer fired (RFC 5681 §3.1: one segment, slow start).
 * is_repeat: it fired again without an ack since (the path is out): ssthresh
 * is held (RFC 5681 §3.1), not cut from the one resent segment in flight,
 * so slow start can bring the window back once the path returns. */
void rscc_on_rto(struct rscc *c, uint64_t inflight, uint64_t snd_nxt, bool is_repeat);

/* May len more bytes go out with inflight in flight (window only)? Half
 * the window while probe_floor is set. */
bool rscc_window_allows(const struct rscc *c, uint64_t inflight, uint64_t len);
/* Pacer: when may the next len bytes go (<= now_us: now)? srtt_us 0: no
 * pacing yet (the first window goes out at once). */
uint64_t rscc_pace_at_us(struct rscc *c, uint64_t len, uint64_t srtt_us, uint64_t now_us);
/* len bytes went out now. */
void rscc_on_send(struct rscc *c, uint64_t len, uint64_t srtt_us, uint64_t now_us);

#endif
