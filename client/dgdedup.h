/* dgdedup: drops a flow datagram that arrives twice from one peer — sent on
 * both the direct path and the relay while the direct path is in doubt
 * (DESIGN §5.4), or on every path of a redundant flow (§5.5); such copies
 * carry FRAME_DATAGRAM_COPY, and only they are checked here. Per flow, a
 * window of the last DGDEDUP_WINDOW sequence numbers (serial arithmetic, so
 * wrap-around is fine). A sequence number far behind the window means the
 * sender started over (a restarted peer): the window restarts there instead
 * of dropping everything as old. No allocation.
 *
 * The sender's side of the contract (dgdedup_next_seq): numbers towards a
 * peer never go back while its session lasts. A flow re-created by a route
 * change, or a member removed and added back, starts after the highest
 * number sent to that peer on any flow, never at 1 again: the peer's window
 * for that flow still holds the old numbers, and would take up to
 * DGDEDUP_WINDOW new datagrams for copies (they were dropped silently). */
#ifndef WH_DGDEDUP_H
#define WH_DGDEDUP_H

#include <stdbool.h>
#include <stdint.h>

#define DGDEDUP_FLOWS 16    /* flows tracked per peer (least recently used goes) */
#define DGDEDUP_WINDOW 4096 /* sequence numbers remembered per flow */

struct dgdedup_flow {
	uint32_t flow_id;
	uint32_t top; /* highest sequence number seen */
	bool is_used;
	uint64_t last_use; /* dgdedup.clock when last used */
	uint64_t bits[DGDEDUP_WINDOW / 64];
};

struct dgdedup {
	struct dgdedup_flow flows[DGDEDUP_FLOWS];
	uint64_t clock;
	uint64_t duplicates; /* datagrams dropped as seen before */
};

/* One sender's numbers for one (flow, member); zero: none sent yet. */
struct dgdedup_seq {
	uint32_t last; /* the last number sent */
	bool has_sent;
};

void dgdedup_init(struct dgdedup *d);
/* The next number for s, towards a peer whose highest number from us on any
 * flow is *peer_top (0 for a new session; updated). */
uint32_t dgdedup_next_seq(struct dgdedup_seq *s, uint32_t *peer_top);
/* True the first time (flow_id, seq) is seen; false for a duplicate. */
bool dgdedup_accept(struct dgdedup *d, uint32_t flow_id, uint32_t seq);

#endif
