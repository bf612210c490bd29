/* listener: the server's public UDP sockets — every listen address on the
 * main port and on alt_port — and what arrives on them (DESIGN §3, §5.2).
 * STUN binding requests are answered here (nat/stun decides the reply and
 * the socket it leaves from); wormhole messages go to the session layer;
 * everything else is dropped and counted. */
#ifndef WH_LISTENER_H
#define WH_LISTENER_H

#include "common/log.h"
#include "common/udpio.h"
#include "nat/stun.h"
#include "proto/demux.h"
#include "proto/ratelimit.h"

#include <ev.h>
#include <stdint.h>

struct routes;
struct diag;
struct listener;

#define LISTENER_SOCKS_MAX 16 /* ROUTES_LISTEN_MAX addresses x 2 ports */

/* STUN answers per source IP address (any port): a spoofed request makes
 * the server send its answer to the forged address, so each address gets at
 * most this many — at most ~190 KB/s of answers of up to 188 bytes — however
 * many ask in its name, where an unbounded server would reflect all it can
 * take. A classification costs a client about 20 requests: the burst lets
 * a hundred clients behind one NAT address start at once, and the rate
 * leaves room for a STUN test tool run in parallel from one host. */
#define LISTENER_STUN_PER_SECOND 1000
#define LISTENER_STUN_BURST 2000
#define LISTENER_STUN_SOURCES 8192 /* rate table slots; a slot is free again once refilled */
#define LISTENER_STUN_LOG_US (10 * 1000000ull) /* 3 lines, then one per 10 s */

struct listener_sock {
	struct listener *owner; /* borrowed back-pointer */
	int fd;
	int addr_index; /* index into routes server.listen */
	bool is_alt_port;
	struct sockaddr_storage local;
	socklen_t local_len;
	/* Where clients reach it: routes server.public[addr_index] with this
	 * socket's port, or local. What STUN reports (RESPONSE-ORIGIN,
	 * OTHER-ADDRESS). */
	struct sockaddr_storage advertised;
	ev_io io;
};

/* Packets dropped before any session code saw them, by reason. */
struct listener_stats {
	uint64_t rx_packets;
	uint64_t stun_answered;
	uint64_t drop_demux[DEMUX_REASON_COUNT];
	uint64_t drop_stun[STUN_DROP_COUNT];
	uint64_t drop_truncated;  /* larger than a receive buffer */
	uint64_t drop_no_handler; /* wormhole message and no session layer to take it */
};

/* A wormhole message for the session layer: valid during the call only. */
typedef void listener_wh_fn(void *ctx, struct listener_sock *sock, enum demux_kind kind,
			    const uint8_t *buf, size_t len, const struct sockaddr *from,
			    uint64_t now_us);

struct listener {
	struct ev_loop *loop; /* borrowed */
	struct listener_sock socks[LISTENER_SOCKS_MAX];
	size_t n_socks;
	struct udpio_rx rx;
	struct udpio_txq txq;
	ev_prepare flush_watch; /* sends queued during a pass leave here */
	ev_io *blocked_io;	/* the socket whose EV_WRITE waits, if any */
	ev_io write_watch;
	/* The smallest MTU of the interfaces the listen addresses are on (all
	 * interfaces of a wildcard's family); 0: unknown. The relay forwards
	 * through them: clients keep stream packets on the relay path within
	 * it (FRAME_LINK_MTU). */
	unsigned link_mtu;
	listener_wh_fn *on_wh; /* NULL until a session layer attaches */
	void *on_wh_ctx;
	struct ratelimit stun_limit; /* per source IP address */
	struct log_bucket stun_limit_log;
	struct listener_stats stats;
};

/* Open and bind every socket of r's server settings. Returns 0, or a
 * negative errno with d set ("bind 203.0.113.10:7400: Address already in
 * use"). listener_fini is safe after a failure. */
int listener_init(struct listener *l, struct ev_loop *loop, const struct routes *r, struct diag *d);
void listener_start(struct listener *l);
void listener_fini(struct listener *l);
/* Queue a datagram from sock to dst; it leaves at the end of this loop pass. */
int listener_send(struct listener *l, const struct listener_sock *sock, const struct sockaddr *dst,
		  socklen_t dst_len, const void *data, size_t len);

#endif
