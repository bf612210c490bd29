/* conn: the server's side of every client's session (PROTOCOL.md "Sessions",
 * "Client <-> server", "Route sets", relay binds). Attached to the
 * listener's wormhole messages and to the relay's top-bit packets; drives
 * the sessions' timers, online/offline, and route-set delivery. */
#ifndef WH_CONN_H
#define WH_CONN_H

#include "common/compiler.h"
#include "common/log.h"
#include "common/udpio.h"
#include "proto/cookie.h"
#include "proto/frame.h"
#include "proto/ratelimit.h"
#include "proto/wire_const.h"
#include "server/punchcoord.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct listener;
struct listener_sock;
struct registry;
struct registry_client;
struct relay;
struct routes;
struct diag;

/* The session layer runs its timers at this rate (s). */
#define CONN_TICK_S 0.25
/* Initiations per second (all sources) above which mac2 is required. */
#define CONN_LOAD_INITS_PER_S 64
/* Under load, initiations that carry a valid mac2 are also limited per
 * source network (an IPv4 address, an IPv6 /64), whatever their ports, as
 * WireGuard does: a cookie proves an address and port, and one host with
 * many ports would otherwise get 20 a second through per port. Only under
 * load, so that many clients behind one carrier NAT address can all
 * reconnect at once after a server restart. */
#define CONN_LOAD_NET_INITS_PER_S 20
#define CONN_LOAD_NET_INITS_BURST 5
/* Route sets are resent this often until acked. */
#define CONN_SET_RESEND_US (1000000ull)
/* Refused initiations are logged at most this often (remote input). */
#define CONN_HS_LOG_US (10 * 1000000ull)
/* Two processes with one identity: warned about at most this often. */
#define CONN_TWIN_WARN_US (60 * 1000000ull)
/* A client is offline after this many silent keepalive intervals. */
#define CONN_OFFLINE_INTERVALS 3

/* Why a packet was dropped; one counter per reason (STYLE §4). */
enum conn_drop {
	CONN_DROP_BAD_MAC1 = 0,
	CONN_DROP_RATELIMIT,
	CONN_DROP_HANDSHAKE_INVALID, /* does not authenticate or malformed */
	CONN_DROP_UNKNOWN_KEY,	     /* authenticated, but no such client */
	CONN_DROP_STALE_STAMP,
	CONN_DROP_NO_INDEX, /* index table full */
	CONN_DROP_NOT_OURS, /* transport with a client index (top bit clear) */
	CONN_DROP_UNKNOWN_INDEX,
	CONN_DROP_OPEN_FAILED, /* malformed, expired keys or forged */
	CONN_DROP_REPLAY,
	CONN_DROP_BAD_FRAMES,
	CONN_DROP_RESPONSE_INVALID,
	CONN_DROP_BIND_WRONG_CLIENT, /* sealed by a client that does not own the side */
	CONN_DROP_BIND_MISMATCH,     /* peer or port do not name this side */
	CONN_DROP_STALE_ACK,	     /* SYNC ack for a set that is not the newest */
	CONN_DROP_TX_FAILED,	     /* seal or queue refused a reply */
	CONN_DROP_COUNT
};

/* Answer a FLOW_JOIN from client id (authenticated): fill ack. Runs after
 * the packet's frames are handled, so it may apply a new configuration
 * (the registry may change under it). */
typedef void conn_join_fn(void *ctx, const char *id, const struct frame_flow_join *req,
			  struct frame_flow_join_ack *ack, uint64_t now_us);

struct conn_stats {
	uint64_t initiations;
	uint64_t responses_sent;
	uint64_t cookie_replies_sent;
	uint64_t transport_rx;
	uint64_t frames_ignored;    /* frame types the server does not take */
	uint64_t sets_sent;	    /* route-set transmissions */
	uint64_t identity_refusals; /* sessions of a second process refused (conntwin) */
	uint64_t drops[CONN_DROP_COUNT];
};

struct conn {
	struct ev_loop *loop;	     /* borrowed */
	struct listener *listener;   /* borrowed */
	struct registry *reg;	     /* borrowed */
	struct relay *relay;	     /* borrowed */
	const struct routes *routes; /* borrowed: the server's running routes */
	struct cookie_checker checker;
	struct ratelimit limiter;     /* per source (address and port) */
	struct ratelimit net_limiter; /* per source network, under load (mac2) */
	ev_timer tick;
	uint64_t load_start_us;
	uint32_t load_count;
	uint8_t rx_pt[UDPIO_BUF_SIZE];	   /* decrypted frames of one packet */
	uint8_t tx_pt[WIRE_MAX_PLAINTEXT]; /* one reply's frames */
	uint8_t tx_pkt[WIRE_MAX_PACKET];   /* one sealed reply */
	struct conn_stats stats;
	struct log_bucket log_bucket;
	/* Initiations the server cannot take (another server_key, a key not
	 * in routes.conf): three lines, then one per CONN_HS_LOG_US, scans
	 * included. */
	struct log_bucket hs_log;
	struct punchcoord punch; /* hole-punching coordination between clients */
	conn_join_fn *on_join;	 /* FLOW_JOIN handler (the server sets it), or NULL */
	void *join_ctx;		 /* borrowed */
	/* The packet being handled: where it came from and which of the
	 * client's uplinks sent it (0 = the main address), for replies. */
	const struct listener_sock *rx_sock;
	const struct sockaddr *rx_from;
	uint64_t rx_prev_last_us; /* the client's last_rx_us before this packet */
	bool rx_prev_left;	  /* and its has_left */
	unsigned rx_uplink;
	bool uplinks_changed; /* a client's uplink set changed: push_all */
	/* The first FLOW_JOIN of the packet being handled, answered after it. */
	bool has_join;
	char join_id[WIRE_NAME_MAX + 1];
	struct frame_flow_join join_req;
};

/* Attach to l (on_wh) and rl (on_server); the tick timer is set up, not
 * started. Returns 0 or negative errno with d set; conn_fini is safe after. */
/* For conn's parts (conntwin.c, connset.c): f sealed in c's session into
 * cn->tx_pkt, *n bytes; or sealed and sent from sock to dst; or plaintext pt
 * (frames already encoded) sealed and sent from sock to dst. Return 0 or
 * negative errno (a failed send is counted: CONN_DROP_TX_FAILED). */
int conn_seal_frame(struct conn *cn, struct registry_client *c, const struct frame *f,
		    uint64_t now_us, size_t *n);
int conn_send_frame_to(struct conn *cn, struct registry_client *c, const struct listener_sock *sock,
		       const struct sockaddr *dst, const struct frame *f, uint64_t now_us);
int conn_send_sealed_to(struct conn *cn, struct registry_client *c,
			const struct listener_sock *sock, const struct sockaddr *dst,
			const uint8_t *pt, size_t len, uint64_t now_us);

int conn_init(struct conn *cn, struct ev_loop *loop, struct listener *l, struct registry *reg,
	      struct relay *rl, const struct routes *r, struct diag *d);
void conn_start(struct conn *cn);
/* Stop the timer, detach, wipe the cookie secret. Safe on a zeroed conn. */
void conn_fini(struct conn *cn);

/* The running routes are now r (registry and relay already updated): push a
 * new route set at once to every online client whose set changed. */
void conn_routes_changed(struct conn *cn, const struct routes *r, uint64_t now_us);

/* Count a packet dropped for why (conn.c and its parts). */
static inline void conn_count_drop(struct conn *cn, enum conn_drop why)
{
	cn->stats.drops[why]++;
}

/* PROTOCOL.md "Stamps": c has sent no authenticated packet for
 * CONN_OFFLINE_INTERVALS keepalive intervals (or never). */
bool conn_client_silent(const struct conn *cn, const struct registry_client *c, uint64_t now_us);

/* A short, stable name for a drop reason ("stale_stamp"), for metrics. */
const char *conn_drop_name(enum conn_drop why);
/* The name of a reported NAT class (enum frame_natclass): "symmetric", ... */
const char *conn_natclass_name(uint8_t natclass);

#endif
