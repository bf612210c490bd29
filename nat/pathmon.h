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
 *   DEAD   quiet for dead_us: leave the path. */
#ifndef WH_PATHMON_H
#define WH_PATHMON_H

#include <stdbool.h>
#include <stdint.h>

#define PATHMON_RING 32 /* pings remembered for the loss estimate */

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

enum pathmon_state pathmon_state(const struct pathmon *pm, uint64_t now_us);
/* When the state next changes if nothing arrives, or the next ping is due:
 * the owner's timer deadline. */
uint64_t pathmon_next_event_us(const struct pathmon *pm, uint64_t now_us);

/* Fraction of the remembered pings, old enough to have been answered
 * (older than max(4 x srtt, 200 ms)), that were not: 0..1. */
double pathmon_loss(const struct pathmon *pm, uint64_t now_us);
/* Smoothed RTT in ms (0 until measured). */
double pathmon_rtt_ms(const struct pathmon *pm);

#endif
