/* punchcoord: the server's side of hole punching (DESIGN §5.3, PROTOCOL.md
 * "Direct paths"). A client on the relay asks for help reaching a peer
 * (PATH PUNCH_REQUEST); the coordinator picks a strategy from both NAT
 * classes (nat/punch) and sends both clients a PUNCH frame with their role
 * and the other's candidates, to start together. Clients report the
 * outcome (PATH UP / DOWN): the coordinator logs every upgrade and
 * fallback, keeps each pair's path kind for the API, and remembers per
 * pair of public addresses which strategy worked, to try it first next
 * time. Owned by conn; knows nothing of sockets (frames go out through a
 * callback). */
#ifndef WH_PUNCHCOORD_H
#define WH_PUNCHCOORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/routes.h"
#include "proto/frame.h"

struct registry;
struct registry_client;

/* An attempt for a pair is not started again within this time. */
#define PUNCHCOORD_BUSY_US 2000000ull
/* A peer whose NAT class is still unknown this long after registering is
 * punched anyway (its classification failed; treated as cone). */
#define PUNCHCOORD_CLASS_WAIT_US 6000000ull
#define PUNCHCOORD_MEMO_MAX 256

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

struct punchcoord_pair {
	char a[ROUTES_NAME_SIZE]; /* a < b (strcmp) */
	char b[ROUTES_NAME_SIZE];
	uint64_t token;
	uint8_t strategy;
	uint64_t started_us; /* last PUNCH sent */
	bool is_direct[2];   /* as reported by a, b */
	uint64_t changed_us; /* last upgrade or fallback */
	uint64_t upgrades;
	uint64_t fallbacks;
	struct punchcoord_side_stats stats[2]; /* as reported by a, b */
};

struct punchcoord_memo {
	struct frame_addr ip[2]; /* public IPs, in pair order (ports ignored) */
	uint8_t strategy;
};

struct punchcoord {
	struct punchcoord_pair *pairs; /* owns */
	size_t n_pairs;
	size_t cap_pairs;
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

/* from asks for a punch to peer (PATH PUNCH_REQUEST). With enabled false
 * (routes.conf server.punch = false) both are told to stay on the relay.
 * Refused quietly when
 * the two share no flow, the peer is offline or not yet classified, or an
 * attempt for the pair started within PUNCHCOORD_BUSY_US. */
void punchcoord_on_request(struct punchcoord *pc, struct registry *reg, const struct routes *r,
			   struct registry_client *from, const char *peer, bool enabled,
			   unsigned spray, uint64_t now_us, punchcoord_send_fn *send, void *ctx);
/* from reports its direct path to peer up (PATH UP) or gone (PATH DOWN). */
void punchcoord_on_report(struct punchcoord *pc, struct registry *reg, struct registry_client *from,
			  const struct frame_path *p, uint64_t now_us);

/* from reports what it measures on its way to the peer (PATH_STATS). */
void punchcoord_on_stats(struct punchcoord *pc, struct registry *reg, struct registry_client *from,
			 const struct frame_path_stats *s, uint64_t now_us);
/* The stats `id` reported for its way to `peer`, or NULL. */
const struct punchcoord_side_stats *punchcoord_stats(const struct punchcoord *pc, const char *id,
						     const char *peer);

/* "direct" when either client of the pair reports a direct path, else
 * "relay" (also for pairs never punched). */
const char *punchcoord_path_kind(const struct punchcoord *pc, const char *a, const char *b);
/* The pair record, or NULL. */
const struct punchcoord_pair *punchcoord_find(const struct punchcoord *pc, const char *a,
					      const char *b);

#endif
