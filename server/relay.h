/* relay: port pairs that pipe datagrams between two clients (DESIGN §5.1,
 * PROTOCOL.md "Relay"). Each port is bound on every server.listen address,
 * so a client reaches its relay ports at whichever server address it
 * reaches the server at. A side learns its client's address only from an
 * authenticated RELAY_BIND, which the session layer checks
 * (relay_server_rx_fn) before calling relay_side_bind. The relay forwards
 * peer traffic unchanged and never decrypts it. */
#ifndef WH_RELAY_H
#define WH_RELAY_H

#include "common/compiler.h"
#include "common/log.h"
#include "common/udpio.h"
#include "config/routes.h"

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Forwarding towards a side stops when it has been silent this long. */
#define RELAY_SIDE_SILENT_US (30 * 1000000ull)
/* A pair whose two sides are both silent this long gives its ports back. */
#define RELAY_PAIR_IDLE_US (120 * 1000000ull)
/* A pair that shares a redundant flow forwards to each endpoint of a side
 * heard this recently (clients with several uplinks ping the relay from each
 * every 500 ms), not only to relay_side_target's. */
#define RELAY_FANOUT_LIVE_US (3 * 1000000ull)
/* A client with several uplinks pings the relay from each at once, every
 * 500 ms (client/direct.h DIRECT_RELAY_PING_MULTI_US), and binds its
 * control uplink's address as primary: datagrams to it go there while it
 * was heard within this long (a round of pings and 100 ms for its jitter),
 * else to the address heard last. Unequal uplink delays, a GEO link's
 * 300 ms and more among them, thus never move the traffic to the slowest
 * uplink for part of every round; a primary that went quiet loses it this
 * long after it was last heard (a late ping moves it only until the ping
 * comes, and to an uplink that works). */
#define RELAY_PRIMARY_QUIET_US 600000ull
/* File descriptors the relay leaves to the rest of the server (listeners,
 * API connections, reading routes.conf, writing its backup): relay ports
 * stop there, so that a fleet too large for the open-files limit still
 * leaves the server reachable and its configuration editable. */
#define RELAY_FD_RESERVE 64
/* A pair without ports (range exhausted) tries again this often. */
#define RELAY_RETRY_US (10 * 1000000ull)

/* One port range: which ports this relay holds. */
struct relay_ports {
	struct routes_port_range range;
	uint8_t *used; /* owns: one flag per port of the range */
	uint32_t next; /* offset of the next port to try (round robin) */
};

struct relay_pair;
struct relaystate;

/* Addresses a side's client bound (RELAY_BIND): one per uplink of a client
 * with several (DESIGN §5.5), so the pair survives one going down. */
#define RELAY_ENDPOINTS_MAX 8

struct relay_endpoint {
	struct sockaddr_storage addr;
	socklen_t len;
	uint64_t last_rx_us; /* its last bind or datagram */
	unsigned sock;	     /* the socket (server address) it was heard on last */
	bool is_primary;     /* bound with FRAME_RELAY_BIND_PRIMARY (one per side) */
};

struct relay_side;

/* A side's port on one server address: socks[k] of a side is bound on
 * server.listen[k]. */
struct relay_sock {
	struct relay_side *side; /* borrowed back-pointer */
	int fd;
	ev_io io;
};

struct relay_side {
	struct relay_pair *pair;   /* borrowed back-pointer */
	int index;		   /* 0: relay_a side, 1: relay_b side */
	char id[ROUTES_NAME_SIZE]; /* the client owning this side */
	/* The port on each server address (socks[k] on server.listen[k]);
	 * n_socks is 0 while the pair has no ports. */
	struct relay_sock socks[ROUTES_LISTEN_MAX];
	unsigned n_socks;
	uint16_t port;
	/* Learnt from RELAY_BIND only. Datagrams from any of them are
	 * forwarded; datagrams to the client go to relay_side_target, and
	 * for a redundant pair also to every other one heard lately. */
	struct relay_endpoint ep[RELAY_ENDPOINTS_MAX];
	unsigned n_ep;
	bool is_bound;	     /* n_ep > 0 */
	uint64_t last_rx_us; /* last datagram from a bound address */
	/* Peer traffic from the bound client through this side (for the API):
	 * received, and of those dropped instead of forwarded. They survive a
	 * port change of the pair, not the pair itself. */
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t drops;
	uint64_t stranger_told_us; /* on_stranger last called for it */
};

struct relay_pair {
	struct relay *owner;	   /* borrowed */
	struct relay_side side[2]; /* side[0]: the id that sorts first (strcmp) */
	bool has_ports;
	/* The two share a flow with multipath "redundant": a datagram goes to
	 * every live endpoint of the other side (DESIGN §5.5), so losing one
	 * uplink loses nothing even towards a client that sends nothing. The
	 * receiving session drops the extra copies as replays. */
	bool is_redundant;
	bool is_wanted;		 /* scratch for relay_update */
	uint64_t ports_since_us; /* when the ports were allocated */
	uint64_t last_try_us;	 /* last allocation attempt without ports */
};

struct relay_stats {
	uint64_t rx_packets;
	uint64_t forwarded;
	uint64_t copies;	    /* extra datagrams sent for redundant pairs */
	uint64_t to_server;	    /* top-bit transport handed to the session layer */
	uint64_t drop_unbound_src;  /* not from this side's bound address */
	uint64_t drop_peer_unbound; /* the other side has no bound address */
	uint64_t drop_peer_silent;  /* the other side silent > 30 s */
	uint64_t drop_truncated;
	uint64_t drop_txq_full;
	uint64_t pairs_released_idle;
	uint64_t alloc_failures; /* a pair found no ports: range or fds exhausted */
};

/* A top-bit transport datagram that arrived on a side's socket (it may be a
 * RELAY_BIND sealed in a client's session with the server; rs->side is the
 * side). Valid during the call. */
typedef void relay_server_rx_fn(void *ctx, struct relay_sock *rs, const uint8_t *buf, size_t len,
				const struct sockaddr *from, uint64_t now_us);
/* A datagram for the peer from an address bound to no side of rs's pair:
 * the side's client may have lost the server (a restart without the state
 * of its binding). Called at most once per RELAY_STRANGER_TELL_US a side,
 * and only for a datagram no shorter than the restart notice (no
 * amplification). */
typedef void relay_stranger_fn(void *ctx, struct relay_sock *rs, const struct sockaddr *from,
			       uint64_t now_us);
/* Long enough for the client told to finish its handshake before the next. */
#define RELAY_STRANGER_TELL_US (3 * 1000000ull)

struct relay {
	struct ev_loop *loop;				/* borrowed */
	struct sockaddr_storage ips[ROUTES_LISTEN_MAX]; /* server.listen, port 0 */
	unsigned n_ips;
	struct relay_ports ports[2]; /* relay_a, relay_b */
	struct log_bucket alloc_log; /* pairs that found no ports */
	size_t n_fds;		     /* relay sockets open */
	size_t fd_budget;	     /* at most this many (0: no limit known) */
	struct relay_pair **pairs;   /* owns each pair */
	size_t n_pairs;
	size_t cap_pairs;
	/* The pairs by their two ids (relay_find_pair), open addressing with
	 * linear probing, NULL for a free slot; borrowed. cap_index is 0 or a
	 * power of two, at least twice n_pairs: a scrape of /metrics, a route
	 * set and a reload look a pair up for each two clients that share a
	 * flow, tens of thousands on a dense routes.conf. */
	struct relay_pair **index;
	size_t cap_index;
	struct udpio_rx rx;
	struct udpio_txq txq;
	ev_prepare flush_watch;
	ev_io write_watch;
	bool is_started;
	relay_server_rx_fn *on_server;
	relay_stranger_fn *on_stranger; /* called with on_server_ctx too */
	void *on_server_ctx;
	/* At start only: the pairs' ports before the restart (relaystate),
	 * held for them and tried first. Borrowed; NULL otherwise. */
	struct relaystate *saved;
	struct relay_stats stats;
	struct log_bucket log_bucket;
};

/* Port range bookkeeping (unit-tested on loopback). init returns 0, -EINVAL
 * or -ENOMEM; fini is safe on a zeroed struct. */
WH_MUST_CHECK int relay_ports_init(struct relay_ports *rp, struct routes_port_range range);
void relay_ports_fini(struct relay_ports *rp);
/* Bind one new UDP socket per address of ips[0..n), all on the next port of
 * the range that is neither held here nor refused by the kernel on any of
 * them (busy ports are skipped): fds[k] is bound on ips[k], *port set.
 * Returns 0, -ENOSPC when no port of the range can be bound, or
 * -EMFILE/-ENFILE when out of file descriptors. */
WH_MUST_CHECK int relay_ports_open_on(struct relay_ports *rp, const struct sockaddr_storage *ips,
				      unsigned n, uint16_t *port, int *fds);
/* The same for one given port of the range: -EADDRINUSE when it is outside
 * the range or held here, else as udpio_open. */
WH_MUST_CHECK int relay_ports_open_at(struct relay_ports *rp, const struct sockaddr_storage *ips,
				      unsigned n, uint16_t port, int *fds);
/* Give port back (the caller closes its socket). */
void relay_ports_release(struct relay_ports *rp, uint16_t port);

/* Set up for r's listen addresses and ranges; no pairs yet. Returns 0 or
 * negative errno with d set. relay_fini is safe after a failure. */
int relay_init(struct relay *rl, struct ev_loop *loop, const struct routes *r, struct diag *d);
void relay_start(struct relay *rl);
/* Close every pair and free everything. Safe on a zeroed relay. */
void relay_fini(struct relay *rl);

/* Make the pairs match r: a pair for each two clients sharing a flow, new
 * pairs get ports, pairs no longer wanted are released at once. An exhausted
 * range is logged and retried by relay_tick. Returns 0 or -ENOMEM. */
int relay_update(struct relay *rl, const struct routes *r, uint64_t now_us);
/* Release idle pairs' ports, retry pairs without ports. True when a pair's
 * ports changed (route sets must be rebuilt). */
bool relay_tick(struct relay *rl, uint64_t now_us);
/* Client id came back online: pairs of it released as idle get new ports.
 * r: the routes of the last relay_update. True when something changed. */
bool relay_wake(struct relay *rl, const struct routes *r, const char *id, uint64_t now_us);

/* The pairs by what they hold: their ports; none while waiting for a free
 * port or file descriptor (retried every RELAY_RETRY_US); none while idle
 * (released until a side's client comes back). */
struct relay_pair_counts {
	size_t with_ports;
	size_t waiting;
	size_t idle;
};

/* Count rl's pairs into *out. */
void relay_count_pairs(const struct relay *rl, struct relay_pair_counts *out);

/* Borrowed pair of clients a and b (any order), or NULL. */
struct relay_pair *relay_find_pair(struct relay *rl, const char *a, const char *b);
/* self's relay port towards peer, 0 when none (routeset_relay_port_fn). */
uint16_t relay_port_for(void *rl_ctx, const char *self, const char *peer);

/* The side has its ports. */
bool relay_side_is_open(const struct relay_side *s);
/* The owning client of rs's side proved itself from `from` (through rs):
 * record it; traffic to it leaves from rs. primary: the bind said
 * FRAME_RELAY_BIND_PRIMARY (the side's other addresses stop being so). */
void relay_side_bind(struct relay_sock *rs, const struct sockaddr *from, bool primary,
		     uint64_t now_us);
/* Put back an address s's client had bound before the server restarted
 * (relaystate), heard last at last_rx_us, on socks[sock]. Ignored when
 * sock is not one of s's sockets, the address is already there or s has
 * RELAY_ENDPOINTS_MAX. */
void relay_side_restore(struct relay_side *s, unsigned sock, const struct sockaddr_storage *addr,
			socklen_t len, uint64_t last_rx_us, bool primary);
/* Where datagrams to s's client go at now_us: its primary address while it
 * was heard within RELAY_PRIMARY_QUIET_US (or no other address was heard
 * since), else the one heard last; NULL when s has none. */
const struct relay_endpoint *relay_side_target(const struct relay_side *s, uint64_t now_us);
/* Queue a datagram leaving from rs. Returns 0 or negative errno. */
int relay_side_send(struct relay_sock *rs, const struct sockaddr *dst, const void *data,
		    size_t len);

#endif
