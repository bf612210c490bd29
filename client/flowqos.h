/* flowqos: what a UDP flow does to its datagrams beyond carrying them
 * (DESIGN §9, issue #9): the flow's options from FLOW_OPTS, its impairment
 * engines (client/impair.c, one per source: each member's datagrams, and
 * its replies, to us) with the one timer that releases held datagrams,
 * the per-peer sequence numbers, and the congestion reports both ways
 * (client/ccest.c) with the saturated state they lead to. One per flow,
 * owned by it (struct flow_udp.qos); flow_udp.c calls in at its send and
 * delivery points and nowhere else. */
#ifndef WH_FLOWQOS_H
#define WH_FLOWQOS_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/ccest.h"
#include "client/dgdedup.h"
#include "client/impair.h"
#include "proto/frame.h"

struct flow_udp;
struct flow_udp_state;

/* Per member of the flow (by its index in the ROUTE's member list). */
struct flowqos_member {
	struct dgdedup_seq tx_seq; /* sequence numbers sent to this member */
	struct ccest tx;	   /* what we send to it: its reports, our estimate */
	struct ccest_rx rx;	   /* what we receive from it: our reports */
	/* owns: the impairment engines for its datagrams [0] and its replies
	 * [1] to us, each made at the first one while impairing (NULL: none),
	 * so that its Nth datagram meets the same decisions whatever the other
	 * sources send in between (README "Impairment", key seed). */
	struct impair *imp[2];
	bool imp_failed[2]; /* out of memory for that engine: not impaired */
};

struct flowqos {
	struct flow_udp *flow; /* borrowed: the owner */
	struct frame_flow_opts opts;
	bool has_opts;
	struct impair_params imp_p; /* the setting, when has_imp */
	bool has_imp;		    /* impairing: each source's engine seeded with imp_seed */
	uint64_t imp_seed;
	struct impair_counters imp_retired; /* counters of freed engines */
	ev_timer timer;			    /* next held datagram out, or tick_us */
	uint64_t armed_us;
	uint64_t tick_us; /* next ccest_on_tick due (UINT64_MAX: none) */
	struct flowqos_member m[WIRE_MEMBERS_MAX];
	bool is_saturated; /* the flow's state last given to cl->flow_event */
};

/* A new, idle flowqos for f, or NULL (out of memory). */
struct flowqos *flowqos_new(struct flow_udp *f);
/* Stop the timer, discard held datagrams (logs the counters at debug),
 * free. NULL is a no-op. */
void flowqos_free(struct flowqos *q);

/* Take the flow's options (o NULL: the defaults) from an applied route set.
 * A change of impair replaces the engines at once: datagrams they held are
 * delivered now, each source gets a new engine at its next datagram, and
 * the flow's sockets are not touched. Logs the change. */
void flowqos_set_opts(struct flowqos *q, const struct frame_flow_opts *o, uint64_t now_us);
/* The member list changes from old to new (call before the flow takes the
 * new route): delivers what the engines hold, and moves each member's state
 * (its sequence numbers, estimates, reports and impairment engines) to its
 * index in new, by name, so a member that stays never sees its numbers
 * start over; new members start fresh, and the engines of members that
 * left are freed. */
void flowqos_remap_members(struct flowqos *q, const struct frame_route *old,
			   const struct frame_route *new);

/* The sequence number of the next datagram to member m, whose peer keeps
 * peer_top (dgdedup_next_seq), and the notice that it was sent (payload len
 * bytes). */
uint32_t flowqos_next_seq(struct flowqos *q, size_t m, uint32_t *peer_top);
void flowqos_on_sent(struct flowqos *q, size_t m, uint32_t seq, size_t len, uint64_t now_us);

/* A datagram from member m (is_reply: a REPLY to our app) on its way to the
 * local app: impaired, then handed to flow_udp_deliver. */
void flowqos_on_datagram(struct flowqos *q, size_t m, bool is_reply, uint32_t seq,
			 const uint8_t *data, size_t len, uint64_t now_us);

/* FRAME_CC or FRAME_CC_ECHO from member m about what it received from us. */
void flowqos_on_cc(struct flowqos *q, size_t m, const struct frame *fr, uint64_t now_us);

/* Fill the congestion and impairment fields of *st (the impairment
 * counters summed over every source's engine, live and freed). */
void flowqos_state(const struct flowqos *q, struct flow_udp_state *st);

#endif
