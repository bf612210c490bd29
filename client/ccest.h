/* ccest: congestion reports of a UDP flow and the sender's capacity estimate
 * (DESIGN §9, issue #9). Pure logic: no sockets, no clock, no logging; the
 * owner (client/flowqos.c) feeds events with now_us and sends the frames.
 *
 * Receiver (struct ccest_rx, one per flow and sending peer): counts the
 * datagrams it hands to the app and, every CCEST_REPORT_US while data
 * arrives, builds a FRAME_CC (received packets and bytes, and the losses:
 * gaps in the sender's sequence numbers, RTCP style, so reordering does not
 * count as loss) and a FRAME_CC_ECHO (the highest sequence number so far and
 * how long ago it arrived).
 *
 * Sender (struct ccest, one per flow and receiving peer): remembers when it
 * sent each sequence number, turns each echo into a round-trip sample whose
 * rise over its minimum is the queueing delay, measures its own send rate,
 * and on each CC decides. A report is "congested" when the queueing delay
 * has risen by CCEST_QDELAY_RISE_US over its calm baseline AND the path
 * loses (loss >= CCEST_LOSS_MIN) or delivers clearly less than was sent:
 * loss rising with queueing delay. The capacity is the delivered rate of
 * congested reports (smoothed). The flow is saturated after
 * CCEST_SATURATE_RUN congested reports in a row while it sends at least
 * CCEST_SATURATE_SHARE of the capacity, and clears once it sends below
 * CCEST_CLEAR_SHARE of it for CCEST_CLEAR_RUN reports (hysteresis), or after
 * CCEST_CALM_RUN reports without congestion, or when it keeps sending but no
 * report has come for CCEST_STALE_US (nothing gets through any more: the
 * path, not the load, is the problem), or when it has sent nothing for
 * CCEST_STALE_US (the load is gone, and with it the reports that would
 * clear it). A report that spans such a pause (the first after it) counts
 * its losses but not its rates. The owner calls ccest_on_tick at ccest_next_us for the last
 * two, since no send or report may come to find them. */
#ifndef WH_CCEST_H
#define WH_CCEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"

#define CCEST_REPORT_US 50000ull     /* receiver report interval (at most 100 ms) */
#define CCEST_TX_RING 512	     /* send times remembered (power of two) */
#define CCEST_LOSS_MIN 0.01	     /* loss share that, with delay, is congestion */
#define CCEST_DELIVERED_SHORT 0.95   /* delivered/sent below this, with delay, too */
#define CCEST_QDELAY_RISE_US 10000.0 /* queueing delay rise that counts */
#define CCEST_SATURATE_RUN 2
#define CCEST_SATURATE_SHARE 0.9
#define CCEST_CLEAR_SHARE 0.8
#define CCEST_CLEAR_RUN 2
#define CCEST_CALM_RUN 20
#define CCEST_MIN_WINDOW_US 5000000ull /* the RTT minimum is kept over 5..10 s */
#define CCEST_REBASE_GAP 65536	       /* a sequence jump this far back: the sender restarted */
#define CCEST_STALE_US 1000000ull      /* no report, or no send, for this long: not saturated */
/* Reports come every CCEST_REPORT_US while data arrives: this long without
 * one and the smoothed send rate is old news, so the rate since the last
 * report is read instead (ccest_send_bps). */
#define CCEST_SEND_FRESH_US 250000ull

struct ccest_rx {
	bool has_seq;
	uint64_t base;	   /* extended sequence number of the first datagram */
	uint64_t ext_max;  /* highest extended sequence number received */
	uint64_t received; /* datagrams counted since base */
	uint64_t max_rx_us;
	/* at the last report */
	uint64_t report_us;
	uint64_t expected_at_report;
	uint64_t received_at_report;
	uint64_t bytes; /* since the last report */
};

enum ccest_change {
	CCEST_SAME = 0,
	CCEST_SATURATED,
	CCEST_CLEARED,
};

struct ccest {
	uint64_t tx_ring[CCEST_TX_RING]; /* (seq & 0xffff) << 48 | tx_us (48 bits) */
	uint64_t tx_bytes;		 /* payload bytes sent, total */
	uint64_t tx_us;			 /* the last send (0: none yet) */
	uint64_t report_us;		 /* the last CC taken */
	uint64_t tx_bytes_at_report;
	double send_bps; /* smoothed */
	double delivered_bps;
	double capacity_bps;  /* 0: not measured yet */
	double loss;	      /* smoothed share lost */
	double rtt_us;	      /* smoothed round trip of echoes (0: no sample) */
	double rtt_min_us[2]; /* minimum of the current and the previous window */
	uint64_t rtt_window_us;
	double qdelay_us;      /* smoothed rise of the round trip over its minimum */
	double qdelay_base_us; /* its calm baseline */
	bool has_qdelay;
	unsigned congested_run, below_run, calm_run;
	bool is_saturated;
	/* It sent nothing for CCEST_STALE_US before its last send: the next
	 * report spans the pause, and its rates measure nothing. */
	bool is_after_pause;
	uint64_t reports;
};

/* Receiver: a datagram with sequence number seq and len payload bytes went
 * to the app at now_us. */
void ccest_rx_on_datagram(struct ccest_rx *rx, uint32_t seq, size_t len, uint64_t now_us);
/* Receiver: when a report is due (CCEST_REPORT_US since the last, and data
 * arrived since), fill *cc and *echo for flow_id and return true. */
bool ccest_rx_report(struct ccest_rx *rx, uint32_t flow_id, uint64_t now_us, struct frame_cc *cc,
		     struct frame_cc_echo *echo);

/* Sender: datagram seq with len payload bytes was sent at now_us. Returns
 * CCEST_CLEARED when that finds a saturated state stale, else CCEST_SAME. */
enum ccest_change ccest_on_send(struct ccest *e, uint32_t seq, size_t len, uint64_t now_us);
/* Sender: when ccest_on_tick must next run (UINT64_MAX: not needed; only a
 * saturated state has a deadline). */
uint64_t ccest_next_us(const struct ccest *e);
/* Sender: time passed; returns CCEST_CLEARED when a saturated state went
 * stale (nothing sent, or no report, for CCEST_STALE_US), else CCEST_SAME.
 * Safe to call at any time. */
enum ccest_change ccest_on_tick(struct ccest *e, uint64_t now_us);
/* Sender: the send rate now: the smoothed one while reports come, the rate
 * since the last report when they are overdue, 0 after CCEST_STALE_US
 * without a send (an idle flow is not still sending its last burst). */
double ccest_send_bps(const struct ccest *e, uint64_t now_us);
/* Sender: an echo arrived (a round-trip sample, when seq is still known). */
void ccest_on_echo(struct ccest *e, const struct frame_cc_echo *echo, uint64_t now_us);
/* Sender: a report arrived; returns the change of the saturated state. */
enum ccest_change ccest_on_report(struct ccest *e, const struct frame_cc *cc, uint64_t now_us);

#endif
