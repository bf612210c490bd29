/* direct: a peer's direct path (DESIGN §5.3-§5.4, PROTOCOL.md "Direct
 * paths"): asking the server for a punch, running the attempt (punchrun),
 * validating a path (an authenticated probe answered both ways), sending on
 * it, monitoring it with pings every DIRECT_PING_US, and falling back to
 * the relay — kept warm all along — when it goes quiet. Embedded in struct
 * peer; the peer's Noise session seals everything, whatever the path.
 *
 * Who asks: of two peers, the one whose id sorts first sends PUNCH_REQUEST
 * (so a pair is not punched twice at once); both run the attempt the server
 * then sends, and both monitor and fall back on their own. */
#ifndef WH_DIRECT_H
#define WH_DIRECT_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nat/pathmon.h"
#include "proto/frame.h"

struct client;
struct peer;
struct punchrun;
struct xsock;

#define DIRECT_PING_US 200000ull	  /* pings on a direct path (DESIGN: <= 250 ms) */
#define DIRECT_DOUBT_US 500000ull	  /* quiet this long: send on the relay too */
#define DIRECT_DEAD_US 1000000ull	  /* quiet this long: back to the relay */
#define DIRECT_RELAY_PING_US 1000000ull	  /* RTT and loss of the relay path */
#define DIRECT_REQUEST_WAIT_US 2000000ull /* no PUNCH after a request: ask again */
#define DIRECT_CLASS_WAIT_US 6000000ull	  /* ask even if our NAT class is unknown */
#define DIRECT_REPROBE_US 100000ull	  /* probes to an unexpected source address */
#define DIRECT_STATS_FIRST_US 2000000ull  /* first PATH_STATS after the session is up */

enum direct_kind { DIRECT_KIND_RELAY = 0, DIRECT_KIND_DIRECT };

struct direct {
	bool is_up;
	int fd;			      /* the path's socket: -1 = main socket */
	struct xsock *xs;	      /* owns: the kept spray socket, or NULL */
	struct sockaddr_storage addr; /* the peer's address on the path */
	struct pathmon mon;	      /* the direct path */
	struct pathmon relay_mon;     /* the relay path (RTT, loss) */
	bool is_doubt;		      /* last state seen: DOUBT (logged once) */
	uint8_t strategy;	      /* of the path in use, or of the last attempt */
	uint64_t token;		      /* of the last attempt */
	uint64_t since_us;	      /* monotonic: path kind last changed */
	uint64_t since_wall_us;	      /* the same, wall clock (status) */
	uint64_t session_up_us;	      /* peer session established (for logs) */
	struct punchrun *run;	      /* owns: the attempt in progress */
	unsigned failures;	      /* attempts in a row that failed */
	uint64_t next_request_us;     /* requester: next PUNCH_REQUEST */
	uint64_t last_reprobe_us;
	uint64_t armed_us;
	uint64_t next_stats_us; /* next PATH_STATS to the server */
	ev_timer timer;
	uint64_t upgrades;
	uint64_t fallbacks;
	uint64_t attempts;
	uint64_t dup_tx; /* datagrams sent on both paths while in doubt */
};

/* What `wormhole-client status` shows for a peer. */
struct direct_report {
	enum direct_kind kind;
	double rtt_ms; /* of the path in use; 0 when not measured */
	double loss;   /* 0..1, of the path in use */
	double relay_rtt_ms;
	double relay_loss;
	const char *strategy; /* of the path in use or the last attempt */
	uint64_t since_wall_us;
	struct sockaddr_storage addr; /* direct: the peer's address */
	uint64_t upgrades, fallbacks, attempts;
};

void direct_init(struct peer *p);
/* Stop everything; close sockets. */
void direct_fini(struct peer *p);

/* The peer session came up or went down. */
void direct_on_session(struct peer *p, bool up, uint64_t now_us);

/* The server sent a punch attempt (srvconn). */
void direct_on_punch(struct client *cl, const struct frame_punch *k, uint64_t now_us);

/* Authenticated frames from p that arrived on fd (-1: main socket) from. */
void direct_on_path(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_path *f, uint64_t now_us);
void direct_on_ping(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_ping *f, uint64_t now_us);
void direct_on_pong(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_pong *f, uint64_t now_us);

/* Where data for p goes now: returns the number of destinations (0..2)
 * with their sockets and addresses (the relay is fd -1 to p->relay). */
int direct_route(struct peer *p, uint64_t now_us, int fds[2],
		 const struct sockaddr_storage *dsts[2]);

/* True when from (on fd) is p's direct path. */
bool direct_is_path(const struct peer *p, int fd, const struct sockaddr_storage *from);

void direct_report(const struct peer *p, uint64_t now_us, struct direct_report *out);

/* A path was validated (an authenticated PROBE_ACK came back on fd from
 * addr): it becomes the one in use; xs is the winning spray socket (taken
 * over) or NULL. */
void direct_on_validated(struct peer *p, int fd, struct xsock *xs,
			 const struct sockaddr_storage *addr, uint64_t now_us);

/* Seal f in p's session and queue it on fd to dst. */
int direct_seal_to(struct peer *p, int fd, const struct sockaddr_storage *dst,
		   const struct frame *f, uint64_t now_us);

#endif
