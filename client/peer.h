/* peer: another client this one shares a flow with (PROTOCOL.md "Relay",
 * DESIGN §5.1): its key, its relay port, the RELAY_BIND that opens the
 * relay for us, and the Noise IK session with it over the relay. The
 * client owns the list (cl->peers); flows borrow peers by name. */
#ifndef WH_PEER_H
#define WH_PEER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/dgdedup.h"
#include "client/direct.h"
#include "client/idxmap.h"
#include "common/log.h"
#include "proto/frame.h"

struct client;
struct session;

#define PEER_BIND_RETRY_US 1000000ull
/* Unanswered binds (one a second) before the log says so: a network that
 * lets the server's port through but not its relay ports leaves the peer
 * with no session and no path, which nothing else would say. */
#define PEER_BIND_WARN_TRIES 5u
/* Silence from a peer longer than this, then a packet: it is back. */
#define PEER_RETURN_US 1500000ull

enum peer_drop {
	PEER_DROP_NO_SESSION = 0, /* data for the peer before its session is up */
	PEER_DROP_SEAL,		  /* sealing or queueing failed */
	PEER_DROP_AUTH,		  /* a packet from it did not open */
	PEER_DROP_DUPLICATE,	  /* a counter seen already (a relay's copy) */
	PEER_DROP_HANDSHAKE,	  /* a handshake from it was refused */
	PEER_DROP_COUNT
};

/* Packets and bytes on the wire (sealed), both ways. */
struct peer_stats {
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t drops[PEER_DROP_COUNT];
};

struct peer {
	struct peer *next;	       /* list in struct client */
	struct client *cl;	       /* borrowed */
	struct frame_peer def;	       /* as the server sent it */
	struct sockaddr_storage relay; /* server IP, def.relay_port */
	/* The relay as uplinks of the other family reach it (the server's
	 * address of that family); family 0 when it has none. */
	struct sockaddr_storage relay_other;
	struct session *sess; /* owns; NULL while refused */
	struct idxmap_owned idx;
	ev_timer timer;
	uint64_t armed_us;
	bool is_refused; /* pinned key differs: no session */
	bool is_bound;	 /* the relay acked our bind */
	/* Binds sent since the last ack; at PEER_BIND_WARN_TRIES unanswered
	 * (while the server session is up) the log says the relay port does
	 * not answer, once until an ack. */
	unsigned binds_unacked;
	bool is_up; /* session established (logged once per change) */
	uint64_t next_bind_us;
	uint64_t last_rx_us; /* last authenticated packet from the peer */
	/* Times the peer was heard again after PEER_RETURN_US of silence (an
	 * outage of some path between us: it pings every path at least each
	 * second): streams stalled meanwhile resend at once (tcpconn.c). */
	uint32_t returns;
	uint16_t link_mtu;	   /* the peer's smallest link MTU (FRAME_LINK_MTU); 0: unknown */
	uint64_t link_mtu_sent_us; /* when ours last went to the peer */
	uint32_t mtu_drops;	   /* a path was found to drop full-size packets (linkmtu.c) */
	struct peer_stats stats;
	struct direct dp;     /* the direct paths (direct.h) */
	struct dgdedup dedup; /* datagrams that came by two paths */
	uint32_t dg_seq_top;  /* the highest datagram number sent to it (dgdedup_next_seq) */
	/* Lines about its streams that come as often as an app connects
	 * (tcpconn.c; 5 at once, then one a second, each kind): its streams'
	 * targets refused or unreachable here, and our streams reset as it is
	 * silent (no answer to an open, or nothing heard for RSTREAM_GIVEUP_US). */
	struct log_bucket connect_log;
	struct log_bucket silent_log;
};

/* Create, update (key or relay port) peers of a new route set; logs each
 * change. Peers not in the set are left for peer_prune. */
void peer_apply(struct client *cl, const struct frame_peer *defs, size_t n, uint64_t now_us);
/* Free the peers not in defs (after the flows stopped borrowing them). */
void peer_prune(struct client *cl, const struct frame_peer *defs, size_t n);
/* Free every peer. */
void peer_free_all(struct client *cl);
/* The peer named name (borrowed), or NULL. */
struct peer *peer_find(struct client *cl, const char *name);
/* The peer whose relay address, or direct path (socket fd, address), is
 * addr (borrowed), or NULL. */
struct peer *peer_find_by_addr(struct client *cl, int fd, const struct sockaddr_storage *addr);

/* addr is p's relay (either family's address). */
bool peer_is_relay(const struct peer *p, const struct sockaddr_storage *addr);
/* p's relay address as uplink u reaches it (relay or relay_other, by u's
 * family), or NULL when the server has no address of that family. */
const struct sockaddr_storage *peer_relay_via(const struct peer *p, uint8_t u);
/* A new server session, or a changed mapped address (NAT rebinding): bind
 * every peer's relay port again at once, without waiting for the next
 * keepalive interval. */
void peer_all_rebind(struct client *cl, uint64_t now_us);
/* Bind every peer's relay port now, from every open uplink, as bound as
 * they are (an uplink that opened after the last binds: its first REGISTER
 * was answered). Refused peers are left alone. */
void peer_all_bind_now(struct client *cl, uint64_t now_us);
/* Bind p's relay port again now (a direct path just failed: the NAT may
 * have changed our mapping). */
void peer_rebind(struct peer *p, uint64_t now_us);
/* Send p's relay bind now, keeping what is known of it (is_bound): the
 * relay went silent (relaypath.c). Nothing while p is refused. */
void peer_bind_soon(struct peer *p, uint64_t now_us);
/* The server acked a RELAY_BIND. */
void peer_on_bind_ack(struct client *cl, const struct frame_relay_bind *b, uint64_t now_us);

/* Packets for p (already past the MAC check), from the relay or a direct
 * path, on socket fd (-1: the main socket). */
void peer_on_initiation(struct client *cl, int fd, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *from, uint64_t now_us);
void peer_on_response(struct peer *p, const uint8_t *buf, size_t len, uint64_t now_us);
void peer_on_cookie_reply(struct peer *p, const uint8_t *buf, size_t len, uint64_t now_us);
void peer_on_transport(struct peer *p, int fd, const uint8_t *buf, size_t len,
		       const struct sockaddr_storage *from, uint64_t now_us);

/* Seal f to p on the path in use (direct.h: the best direct path, the
 * relay, or both while the direct path is in doubt). Returns 0 or negative
 * errno (-ENOTCONN or -ESHUTDOWN: no session up); counts drops. */
int peer_send(struct peer *p, const struct frame *f, uint64_t now_us);
/* The same for a flow's datagram scheduled as mode (enum frame_multipath):
 * failover, every live path (redundant) or a spread (balance). */
int peer_send_mode(struct peer *p, const struct frame *f, uint8_t mode, uint64_t now_us);

/* True if idx belongs to p's session (for idxmap_take). */
bool peer_keeps_index(void *owner, uint32_t idx);

#endif
