/* routeset: one client's route set, built from the running routes (PROTOCOL.md
 * "Route sets"). Pure: no sockets, no clock, no state. The caller supplies
 * the relay port of each peer and receives packed plaintext packets to seal. */
#ifndef WH_ROUTESET_H
#define WH_ROUTESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/wire_const.h"

struct routes;
struct diag;

#define ROUTESET_HASH_LEN 32
/* The plaintext of a route set packet: sealed, it fits a 1280-byte IPv6
 * packet (40 bytes of IPv6, 8 of UDP), which every path takes. A set in
 * full-size packets would be lost for good on a path that silently drops
 * them (client/linkmtu.h); a frame larger than this goes alone. */
#define ROUTESET_PACKET_MAX (1280 - 40 - 8 - WIRE_TRANSPORT_MIN_LEN)

/* What client self's PEER frame says of peer: self's side of the relay pair
 * with peer (0 = none: no PEER frame) and the peer's present uplinks (bit i
 * = uplink i registered; 0 or 1 = its main uplink only). */
struct routeset_peer {
	uint16_t relay_port;
	uint8_t uplinks;
	uint64_t boot_id; /* the peer process's (registry_client.boot_id) */
};
/* Fill *out (zeroed by the caller) for the pair self, peer. */
typedef void routeset_peer_fn(void *ctx, const char *self, const char *peer,
			      struct routeset_peer *out);
/* One packed plaintext packet (<= WIRE_MAX_PLAINTEXT bytes), valid during the call. */
typedef void routeset_emit_fn(void *ctx, const uint8_t *pt, size_t len);

struct routeset_info {
	uint16_t count;			 /* ROUTE + FLOW_OPTS + PEER frames */
	size_t n_packets;		 /* packets emitted (or that would be) */
	uint8_t hash[ROUTESET_HASH_LEN]; /* of the set without its generation */
};

/* The flow id: the first 4 bytes, big-endian, of BLAKE2b-256(name). */
uint32_t routeset_flow_id(const char *name);

/* 0, or -EEXIST with d set ("PATH:LINE: flow "b": flow id 0x... collides with
 * flow "a"") when two flows of r share a flow id. */
WH_MUST_CHECK int routeset_check_ids(const struct routes *r, struct diag *d);

/* Build client id's route set with generation gen: one ROUTE per flow it is
 * in (followed by its FLOW_OPTS when the flow has impair or a multipath
 * mode other than failover), one PEER per client sharing a flow with it (in routes order) whose
 * relay port is known (peer_info NULL or relay_port 0: the peer is left out), with the peer's
 * uplink mask (so a new uplink changes the set's hash), then
 * SYNC {gen, count, keepalive_s}, packed into as few packets as fit. emit
 * (may be NULL: only *info is filled) gets each packet. Returns 0; -ENOENT
 * id is not a client; -E2BIG a flow has more than WIRE_MEMBERS_MAX members;
 * -EINVAL a frame could not be encoded. */
WH_MUST_CHECK int routeset_build(const struct routes *r, const char *id, uint64_t gen,
				 routeset_peer_fn *peer_info, void *peer_ctx,
				 routeset_emit_fn *emit, void *emit_ctx,
				 struct routeset_info *info);

#endif
