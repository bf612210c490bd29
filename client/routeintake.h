/* routeintake: collect the ROUTE and PEER frames of one route-set generation
 * until its SYNC, and diff a complete set against the one that runs
 * (PROTOCOL.md "Route sets", STYLE §8). Pure: no sockets, no sessions. The
 * collected set is complete when SYNC's count equals the frames held for its
 * generation; older generations are ignored, a newer one starts over. */
#ifndef WH_ROUTEINTAKE_H
#define WH_ROUTEINTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/frame.h"

#define ROUTEINTAKE_FLOWS_MAX 256
#define ROUTEINTAKE_PEERS_MAX 256

struct routeintake {
	uint64_t generation; /* generation being collected */
	bool has_generation;
	struct frame_route *routes; /* owns: ROUTEINTAKE_FLOWS_MAX */
	size_t n_routes;
	struct frame_peer *peers; /* owns: ROUTEINTAKE_PEERS_MAX */
	size_t n_peers;
	struct frame_flow_opts *opts; /* owns: ROUTEINTAKE_FLOWS_MAX */
	size_t n_opts;
	uint64_t applied; /* last generation applied */
	bool has_applied;
};

enum routeintake_verdict {
	ROUTEINTAKE_KEEP = 0, /* frame held (or a duplicate refreshed it) */
	ROUTEINTAKE_STALE,    /* older than the generation being collected: ignored */
	ROUTEINTAKE_FULL,     /* more flows or peers than the table holds: ignored */
};

enum routeintake_sync {
	ROUTEINTAKE_SYNC_WAIT = 0, /* frames still missing (or stale): do nothing */
	ROUTEINTAKE_SYNC_APPLY,	   /* complete: apply it, then ack */
	ROUTEINTAKE_SYNC_REACK,	   /* this generation is applied already: ack again */
};

/* Returns 0 or -ENOMEM. */
WH_MUST_CHECK int routeintake_init(struct routeintake *rs);
void routeintake_fini(struct routeintake *rs);
/* Forget the generations seen (a new server session starts over). */
void routeintake_reset(struct routeintake *rs);

/* Hold one frame of a set. A frame of the same flow id / peer name and
 * generation replaces the one held (the server resends a set until acked). */
enum routeintake_verdict routeintake_on_route(struct routeintake *rs, const struct frame_route *r);
enum routeintake_verdict routeintake_on_peer(struct routeintake *rs, const struct frame_peer *p);
enum routeintake_verdict routeintake_on_flow_opts(struct routeintake *rs,
						  const struct frame_flow_opts *o);
/* Decide on a SYNC (complete when its count equals the ROUTE, FLOW_OPTS and
 * PEER frames held). After APPLY the caller applies rs->routes/opts/peers and
 * calls routeintake_applied. */
enum routeintake_sync routeintake_on_sync(struct routeintake *rs, const struct frame_sync *s);
void routeintake_applied(struct routeintake *rs);

/* Same flow in every field a client acts on (generation aside). */
bool routeintake_route_equal(const struct frame_route *a, const struct frame_route *b);
/* Same peer (generation aside). */
bool routeintake_peer_equal(const struct frame_peer *a, const struct frame_peer *b);

/* The route in routes[0..n) with flow_id, or NULL. */
const struct frame_route *routeintake_find_route(const struct frame_route *routes, size_t n,
						 uint32_t flow_id);
/* The peer in peers[0..n) named name, or NULL. */
const struct frame_peer *routeintake_find_peer(const struct frame_peer *peers, size_t n,
					       const char *name);

/* The options in opts[0..n) for flow_id, or NULL (the flow has defaults). */
const struct frame_flow_opts *routeintake_find_opts(const struct frame_flow_opts *opts, size_t n,
						    uint32_t flow_id);

/* Roles of member name in r (0 when it is not a member). */
uint8_t routeintake_member_roles(const struct frame_route *r, const char *name);

#endif
