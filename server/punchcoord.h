/* punchcoord: the server's side of hole punching (DESIGN §5.3, PROTOCOL.md
 * "Direct paths"). A client on the relay asks for help reaching a peer
 * (PATH PUNCH_REQUEST); the coordinator picks a strategy from both NAT
 * classes (nat/punch) and sends both clients a PUNCH frame with their role
 * and the other's candidates, to start together. Clients report the
 * outcome (PATH UP / DOWN): the coordinator logs every upgrade and
 * fallback, keeps each pair's path kind for the API, and remembers per
 * pair of public addresses which strategy worked and for which NAT
 * classes, to try it first next time those addresses meet with the same
 * classes (and only where the classes allow it, nat/punch); an attempt
 * that used the memory and failed (the pair asks again with no UP for it)
 * forgets it. With multipath (PROTOCOL.md "Multipath (server)") a pair of
 * clients has one record per pair of uplinks that was punched or reported;
 * the client pair's PATH_STATS stay on its uplink 0/0 record. Owned by conn;
 * knows nothing of sockets (frames go out through a callback). */
#ifndef WH_PUNCHCOORD_H
#define WH_PUNCHCOORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/routes.h"
#include "nat/punch.h"
#include "proto/frame.h"

struct registry;
struct registry_client;

/* An attempt for a pair is not started again within this time. */
#define PUNCHCOORD_BUSY_US 2000000ull
/* A peer whose NAT class is still unknown this long after registering is
 * punched anyway (its classification failed; treated as cone). */
#define PUNCHCOORD_CLASS_WAIT_US 6000000ull
#define PUNCHCOORD_MEMO_MAX 256
/* An attempt that makes many new mappings on a client's NAT (its spray, a
 * side of a PREDICT between two symmetric NATs) keeps such a PREDICT on that
 * NAT waiting this long after it started, and that PREDICT keeps sprays
 * waiting (their mappings would shift the ports it guesses): a spray's
 * sockets are open and a PREDICT's mappings made by then. The side of a
 * cone + symmetric PREDICT opens one mapping and neither waits nor holds. */
#define PUNCHCOORD_HEAVY_US 1500000ull

/* What one client of the pair last reported about its way to the other. */
struct punchcoord_side_stats {
	bool has;
	uint8_t kind; /* enum frame_path_kind */
	uint32_t rtt_us;
	uint32_t loss_ppm;
	uint32_t relay_rtt_us;
	uint32_t relay_loss_ppm;
	uint64_t updated_us;
};

/* One pair of uplinks of two clients: a's uplink[0], b's uplink[1]. */
struct punchcoord_pair {
	char a[ROUTES_NAME_SIZE]; /* a < b (strcmp) */
	char b[ROUTES_NAME_SIZE];
	uint8_t uplink[2]; /* of a, of b */
	uint64_t token;
	uint8_t strategy;
	uint8_t role[2];     /* of a, of b (enum frame_punch_role) */
	uint64_t started_us; /* last PUNCH sent */
	bool is_attempt_up;  /* a side reported UP with the last PUNCH's token */
	bool is_direct[2];   /* as reported by a, b */
	uint64_t changed_us; /* last upgrade or fallback */
	uint64_t upgrades;
	uint64_t fallbacks;
	struct punchcoord_side_stats stats[2]; /* as reported by a, b (uplinks 0/0 only) */
	/* Whether the last PUNCH's strategy came from the memory, and a's and
	 * b's side as that strategy was chosen for (remembered with it). */
	bool is_memo_attempt;
	struct punch_side side[2];
	/* The next record of the same two clients in the array (its index + 1,
	 * 0: none): the records of a and b in the order they were made. */
	size_t next_same;
};

/* A strategy that worked for two public IPs, and what its choice depended
 * on besides them: an entry counts only for a pair whose sides have the
 * same NAT classes and allocation steps now (two clients behind one
 * carrier NAT can sit behind different NATs of their own). */
struct punchcoord_memo {
	struct frame_addr ip[2]; /* public IPs, in pair order (ports ignored) */
	uint8_t natclass[2];
	int8_t alloc_step[2];
	uint8_t strategy; /* FRAME_PUNCH_RELAY: a free entry */
};

struct punchcoord {
	struct punchcoord_pair *pairs; /* owns; removed by punchcoord_prune */
	size_t n_pairs;
	size_t cap_pairs;
	/* The first record of each two clients by their ids (its index + 1, 0:
	 * a free slot), open addressing with linear probing. cap_index is 0 or
	 * a power of two, at least twice n_index (the pairs of clients): GET
	 * /metrics and /api/v1/clients look up every two clients sharing a
	 * flow, tens of thousands of records on a large fleet. */
	size_t *index;
	size_t cap_index;
	size_t n_index;
	struct punchcoord_memo memo[PUNCHCOORD_MEMO_MAX];
	size_t n_memo;
	size_t memo_next; /* ring: the oldest entry is replaced */
	uint64_t next_token;
};

/* Send f to client c (sealed in its session). */
typedef void punchcoord_send_fn(void *ctx, struct registry_client *c, const struct frame *f,
				uint64_t now_us);

void punchcoord_init(struct punchcoord *pc, uint64_t token_seed);
void punchcoord_fini(struct punchcoord *pc);

/* from asks for a punch between its uplink `uplink` and peer's uplink
 * `peer_uplink` (PATH PUNCH_REQUEST; both < WIRE_UPLINKS_MAX). With enabled
 * false (routes.conf server.punch = false) both are told to stay on the
 * relay. Refused quietly when the two share no flow, the peer is offline or
 * not yet classified, either uplink is not registered, an attempt for
 * that uplink pair started within PUNCHCOORD_BUSY_US, or the attempt would
 * run into another's mappings (PUNCHCOORD_HEAVY_US). */
void punchcoord_on_request(struct punchcoord *pc, struct registry *reg, const struct routes *r,
			   struct registry_client *from, unsigned uplink, const char *peer,
			   unsigned peer_uplink, bool enabled, unsigned spray, uint64_t now_us,
			   punchcoord_send_fn *send, void *ctx);
/* from reports its direct path to peer up (PATH UP) or gone (PATH DOWN), on
 * the uplink pair p->uplink (from's), p->peer_uplink. */
void punchcoord_on_report(struct punchcoord *pc, struct registry *reg, struct registry_client *from,
			  const struct frame_path *p, uint64_t now_us);

/* from reports what it measures on its way to the peer (PATH_STATS). */
void punchcoord_on_stats(struct punchcoord *pc, struct registry *reg, struct registry_client *from,
			 const struct frame_path_stats *s, uint64_t now_us);
/* The stats `id` reported for its way to `peer`, or NULL. */
const struct punchcoord_side_stats *punchcoord_stats(const struct punchcoord *pc, const char *id,
						     const char *peer);

/* After a routes change (r): forget the records of two clients that no
 * longer share a flow (one of them deleted, or their flows edited apart).
 * Without it the records of every two clients ever punched stayed until a
 * restart, growing with a fleet's churn of flows. The memory of strategies
 * (by public addresses, a ring) stays. */
void punchcoord_prune(struct punchcoord *pc, const struct routes *r);

/* "direct" when either client reports a direct path on any uplink pair of
 * a and b, else "relay" (also for pairs never punched). */
const char *punchcoord_path_kind(const struct punchcoord *pc, const char *a, const char *b);
/* The kind of one record: "direct" or "relay". */
const char *punchcoord_pair_kind(const struct punchcoord_pair *p);
/* The uplink 0/0 record of a and b, or NULL. */
const struct punchcoord_pair *punchcoord_find(const struct punchcoord *pc, const char *a,
					      const char *b);
/* The record of a's uplink ua and b's uplink ub, or NULL. */
const struct punchcoord_pair *punchcoord_find_uplinks(const struct punchcoord *pc, const char *a,
						      unsigned ua, const char *b, unsigned ub);
/* The next record of clients a and b after prev (NULL: the first; else a
 * record of a and b), or NULL: in the order the records were made. */
const struct punchcoord_pair *punchcoord_next(const struct punchcoord *pc, const char *a,
					      const char *b, const struct punchcoord_pair *prev);

#endif
