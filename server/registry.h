/* registry: the clients of the running routes, each with its session with
 * the server, online state, mapped address and route-set bookkeeping
 * (PROTOCOL.md "Client <-> server"), and the receiver-index table that maps
 * the server's indices (top bit always set) back to clients. The registry
 * owns the clients; every index borrows. */
#ifndef WH_REGISTRY_H
#define WH_REGISTRY_H

#include "common/compiler.h"
#include "common/log.h"
#include "config/routes.h"
#include "proto/frame.h"
#include "proto/noise.h"
#include "proto/wire_const.h"
#include "routeset.h"
#include "rxindex.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct session;
struct listener_sock;

/* Server indices always carry this bit; clients' never do. */
#define REGISTRY_INDEX_TOP 0x80000000u
/* Receiver indices remembered per client: current, previous, next and a
 * handshake of ours in flight. */
#define REGISTRY_INDICES_MAX 4

/* A client's FLOW_STATS for one flow it is a member of. The client counts
 * from 0 when its process or its flow starts again; s counts on from the
 * totals so far (a counter lower than in the report before means that), so
 * its counters never go down while the entry lives: until the client leaves
 * the flow, or the flow or the client leaves routes.conf. */
struct registry_flowstat {
	char flow[ROUTES_NAME_SIZE];
	/* The last report, with the counters (packets, bytes, drops) as totals;
	 * the gauges (flags, capacity, rate, loss) and s.flow as sent. */
	struct frame_flow_stats s;
	struct frame_flow_stats sent; /* the last report as sent */
	uint64_t updated_us;
};

#define REGISTRY_FLOWSTATS_MAX 256 /* flows remembered per client */
/* Every flow a client is a member of fits (registry_update drops the rest). */
_Static_assert(REGISTRY_FLOWSTATS_MAX >= ROUTES_CLIENT_FLOWS_MAX, "a client's flows fit");

/* One more uplink of a client (DESIGN §5.5, PROTOCOL.md "Multipath
 * (server)"), registered by a REGISTER with that uplink id sent from the
 * uplink's own socket. The main uplink (main_uplink: the one the session
 * runs on, 0 unless the client moved it) is the client's main fields (addr,
 * sock, natclass, local); only its name and counters live here. */
struct registry_uplink {
	bool is_present;
	char name[WIRE_NAME_MAX + 1]; /* "" when not given */
	struct sockaddr_storage addr; /* mapped address of the uplink's socket */
	socklen_t addr_len;
	const struct listener_sock *sock; /* borrowed: where addr was seen */
	uint8_t natclass;		  /* enum frame_natclass, from its REGISTER */
	int8_t alloc_step;		  /* its NAT's sequential port step (0: none) */
	uint64_t registered_us;		  /* its last REGISTER */
	uint64_t last_rx_us;		  /* its last authenticated packet */
	uint64_t rx_packets;
};

/* What registry_uplink_note changed. */
enum registry_uplink_change {
	REGISTRY_UPLINK_SAME = 0,
	REGISTRY_UPLINK_ADDED,	 /* was not present */
	REGISTRY_UPLINK_MOVED,	 /* new address or socket */
	REGISTRY_UPLINK_UPDATED, /* new NAT class or name (REGISTER) */
};

struct registry_client {
	char id[ROUTES_NAME_SIZE];
	uint64_t boot_id; /* its process's, from its REGISTER (0: none sent) */
	/* The boot id before it, and when we last warned that the two take
	 * turns (two machines configured with one identity). */
	uint64_t prev_boot_id;
	uint64_t twin_warned_us;
	/* conntwin: when the holder was last probed for a newcomer (0: no
	 * probe), and how many newcomers were refused. */
	uint64_t twin_probe_us;
	uint64_t twin_refusals;
	uint64_t twin_refused_us; /* the last refusal, and whom */
	struct sockaddr_storage twin_refused_addr;
	uint8_t key[WIRE_KEY_LEN];
	struct session *session; /* owns; lives while the client and its key stay */
	bool is_online;
	bool has_left;		      /* its last packet said LEAVE: its process stopped */
	uint64_t last_rx_us;	      /* last authenticated packet */
	struct sockaddr_storage addr; /* mapped address, from authenticated packets */
	socklen_t addr_len;
	const struct listener_sock *sock;	/* borrowed: where addr was seen */
	uint8_t natclass;			/* enum frame_natclass, from REGISTER */
	int8_t alloc_step;			/* sequential port step, from REGISTER (0: none) */
	struct frame_addr local[WIRE_ADDR_MAX]; /* local candidates, from REGISTER */
	uint8_t n_local;
	uint64_t registered_us; /* last REGISTER */
	/* [main_uplink]: the main uplink's name, last_rx_us and rx_packets only
	 * (its address and class are the fields above); others: secondary. */
	struct registry_uplink uplinks[WIRE_UPLINKS_MAX];
	uint8_t main_uplink;  /* the uplink the session runs on (its REGISTER's id) */
	uint32_t fresh_index; /* index of a handshake answered, until its first packet */
	uint32_t indices[REGISTRY_INDICES_MAX];
	/* Route set: the newest generation sent, its hash, and the client's ack. */
	uint64_t gen_sent;
	uint64_t gen_acked;
	uint16_t set_count;
	uint8_t set_hash[ROUTESET_HASH_LEN];
	bool has_set;
	uint64_t set_sent_us;
	uint64_t stamp;			  /* last stamp of an initiation the server sent */
	uint64_t last_join_us;		  /* last FLOW_JOIN that wrote routes.conf (flowjoin.h) */
	struct log_bucket join_log;	  /* FLOW_JOIN refusals this client can make us log */
	struct registry_flowstat *fstats; /* owns: n_fstats of cap_fstats */
	struct log_bucket fstats_log;	  /* FLOW_STATS it can make us log (not stored) */
	size_t n_fstats;
	size_t cap_fstats;
};

struct registry {
	struct noise_keypair local;	  /* secret priv: the server's static key */
	struct registry_client **clients; /* owns each client */
	size_t n_clients;
	struct rxindex indices; /* receiver index -> client (borrowed) */
	uint64_t gen_base;	/* first generation of any set: wall clock µs at start */
};

/* Derive the server key pair from r's private key and add r's clients.
 * gen_base makes generations grow across server restarts (wall-clock µs).
 * Returns 0, -EINVAL (bad key) or -ENOMEM; registry_fini is safe after a failure. */
WH_MUST_CHECK int registry_init(struct registry *reg, const struct routes *r, uint64_t gen_base);
void registry_fini(struct registry *reg);

/* Make the clients match r: new ones get a session, removed ones go, and a
 * client whose key changed gets a new session (the old one is dropped).
 * Unchanged clients keep their session and state, less the flow stats of
 * flows they are no longer members of. Allocates first: on -ENOMEM nothing
 * changed. */
WH_MUST_CHECK int registry_update(struct registry *reg, const struct routes *r);

/* Borrowed client, or NULL. */
struct registry_client *registry_find_by_id(struct registry *reg, const char *id);
struct registry_client *registry_find_by_key(struct registry *reg, const uint8_t key[WIRE_KEY_LEN]);
/* The client whose session owns receiver index idx, or NULL. */
struct registry_client *registry_find_by_index(struct registry *reg, uint32_t idx);

/* A new random receiver index (top bit set) for c, in the table. Indices c
 * no longer uses are dropped first. Returns the index, or 0 when none is
 * free (the caller drops the handshake). */
uint32_t registry_index_new(struct registry *reg, struct registry_client *c);
/* Keep s as c's latest report for its flow (the caller checks that c is a
 * member), its counters added to the totals (struct registry_flowstat).
 * Returns 0 or -ENOMEM / -ENOSPC (REGISTRY_FLOWSTATS_MAX flows already). */
int registry_flowstat_put(struct registry_client *c, const struct frame_flow_stats *s,
			  uint64_t now_us);
/* c's latest report for flow, or NULL. */
const struct registry_flowstat *registry_flowstat_get(const struct registry_client *c,
						      const char *flow);

/* ---- uplinks (0 .. WIRE_UPLINKS_MAX-1; main_uplink is the main address) ---- */

/* "No uplink" from registry_uplink_find. */
#define REGISTRY_UPLINK_NONE WIRE_UPLINKS_MAX

/* True when c's uplink u is known: the main one once c has a mapped address. */
bool registry_uplink_is_present(const struct registry_client *c, unsigned u);
/* Bit u set for each present uplink; the main one's always (PEER frame uplinks). */
uint8_t registry_uplink_mask(const struct registry_client *c);
/* The present secondary uplink whose address and socket are from and sock,
 * or REGISTRY_UPLINK_NONE. */
unsigned registry_uplink_find(const struct registry_client *c, const struct listener_sock *sock,
			      const struct sockaddr *from);
/* A packet of secondary uplink u (not main_uplink) came from sock/from: mark it
 * present and seen, take its address; reg (or NULL) is its REGISTER (NAT
 * class, name). Returns what changed. */
enum registry_uplink_change registry_uplink_note(struct registry_client *c, unsigned u,
						 const struct listener_sock *sock,
						 const struct sockaddr *from,
						 const struct frame_register *reg, uint64_t now_us);
/* The mask of c's secondary uplinks silent for more than max_us at now_us
 * (the caller drops them: registry_uplink_del). */
uint8_t registry_uplink_silent(const struct registry_client *c, uint64_t now_us, uint64_t max_us);
/* Forget secondary uplink u (the main one stays). */
void registry_uplink_del(struct registry_client *c, unsigned u);
/* Forget every secondary uplink. Returns the mask of those that were present. */
uint8_t registry_uplink_clear(struct registry_client *c);
/* The session now runs on uplink u (a REGISTER of u from the main address,
 * or the first of a new session): u becomes the main uplink; it is no longer
 * a secondary one. Returns true when that changed the main uplink. */
bool registry_uplink_set_main(struct registry_client *c, unsigned u);

/* Drop c's indices its session no longer owns. */
void registry_index_purge(struct registry *reg, struct registry_client *c);

#endif
