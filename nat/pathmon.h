/* pathmon: liveness, RTT and loss of one path between two peers, from the
 * pings it sends and the pongs that come back (DESIGN §5.4). No I/O: the
 * owner sends a PING when pathmon_ping_due() says so, feeds it the PONGs,
 * and asks for the state.
 *
 * A PONG proves that both directions work, so liveness is "time since the
 * last PONG" (data from the peer alone would not notice a one-way cut):
 *   UP     a PONG within doubt_us;
 *   DOUBT  quiet for doubt_us (half the failover time): send on this path
 *          and the fallback at once, the receiver drops duplicates;
 *   DEAD   quiet for dead_us: leave the path.
 *
 * The PONG we owe the peer for its PING on the path may wait for our own
 * next PING (due within one interval) and leave in the same packet: half
 * the packets of an idle path (each side pings every interval anyway). Its
 * hold_us says how long it waited, so the peer's RTT stays right, and pongs
 * still come back once an interval: liveness is unchanged. */
#ifndef WH_PATHMON_H
#define WH_PATHMON_H

#include <stdbool.h>
#include <stdint.h>

#define PATHMON_RING 32 /* pings remembered for the loss estimate */
/* Until we have sent this many pings on a path, its pongs go at once: a
 * new path's RTT is measured at its first ping (status, a new stream's
 * first timeout), not an interval later. */
#define PATHMON_PROMPT_PINGS 5

enum pathmon_state {
	PATHMON_UP = 0,
	PATHMON_DOUBT,
	PATHMON_DEAD,
};

struct pathmon_ping {
	uint32_t id;
	uint64_t tx_us;
	bool is_answered;
};

/* A PONG owed to the peer: its PING's id and tx_us, and when it came. */
struct pathmon_owed {
	bool is_set;
	uint32_t id;
	uint64_t echo_tx_us;
	uint64_t rx_us;
};

struct pathmon {
	uint64_t interval_us; /* ping period */
	uint64_t doubt_us;
	uint64_t dead_us;
	uint64_t last_life_us; /* last PONG (or the start) */
	uint64_t next_ping_us;
	uint32_t next_id;
	uint32_t srtt_us; /* smoothed RTT (RFC 6298 gains), 0 until measured */
	uint32_t rttvar_us;
	uint32_t last_rtt_us;
	struct pathmon_ping ring[PATHMON_RING];
	uint64_t pings_sent;
	uint64_t pongs_received;
	struct pathmon_owed owed; /* at most one PONG waits */
};

/* Start monitoring at now_us (counts as a sign of life); the first PING is
 * due at once. */
void pathmon_init(struct pathmon *pm, uint64_t now_us, uint64_t interval_us, uint64_t doubt_us,
		  uint64_t dead_us);

/* True when a PING should go out now. */
bool pathmon_ping_due(const struct pathmon *pm, uint64_t now_us);
/* A PING went out: returns the id to put in it (1 .. 2^31 - 1). */
uint32_t pathmon_on_ping_sent(struct pathmon *pm, uint64_t now_us);
/* A PONG came back on this path. Returns false (and ignores it) when it
 * answers no ping we remember, or its echo does not match. */
bool pathmon_on_pong(struct pathmon *pm, uint32_t id, uint64_t echo_tx_us, uint32_t hold_us,
		     uint64_t now_us);

/* The peer's PING (id, tx_us) came on this path at now_us. True: its PONG
 * waits for our next PING (pathmon_take_pong). False: answer it now (the
 * path is new, our next PING is not due within one interval, or a PONG
 * waits already). */
bool pathmon_owe_pong(struct pathmon *pm, uint32_t id, uint64_t tx_us, uint64_t now_us);
/* The PONG owed, now forgotten, for the packet of the PING going out at
 * now_us: true with *id, *echo_tx_us and *hold_us (now_us minus its PING's
 * arrival) set; false when none waits. */
bool pathmon_take_pong(struct pathmon *pm, uint64_t now_us, uint32_t *id, uint64_t *echo_tx_us,
		       uint32_t *hold_us);

enum pathmon_state pathmon_state(const struct pathmon *pm, uint64_t now_us);
/* When the state next changes if nothing arrives, or the next ping is due:
 * the owner's timer deadline. */
uint64_t pathmon_next_event_us(const struct pathmon *pm, uint64_t now_us);

/* Fraction of the remembered pings, old enough to have been answered
 * (older than max(4 x srtt, 200 ms) plus one interval, the longest the
 * peer holds a PONG), that were not: 0..1. */
double pathmon_loss(const struct pathmon *pm, uint64_t now_us);
/* Smoothed RTT in ms (0 until measured). */
double pathmon_rtt_ms(const struct pathmon *pm);

#endif
