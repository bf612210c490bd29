/* srvconn: the client's session with the server (PROTOCOL.md "Client <->
 * server"): initiation with backoff, REGISTER, PING keepalives, loss
 * detection and reconnection, and the frames the server sends (route sets,
 * relay-bind acks). Embedded in struct client. */
#ifndef WH_SRVCONN_H
#define WH_SRVCONN_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/idxmap.h"
#include "common/addr.h"
#include "common/compiler.h"
#include "proto/frame.h"

struct client;
struct frame;
struct session;

/* Initiations while the server does not answer: 1, 2, 4 s, then every 5 s
 * (WireGuard's REKEY_TIMEOUT), each with up to a quarter more at random so
 * that clients that lost a restarting server together do not come back in
 * step. A drone back from a coverage gap with a new address can reach the
 * relay again only through a new server session (its RELAY_BIND is sealed
 * in it): a 30 s cap kept its flows down for up to 30 s after the gap. An
 * initiation is 145 bytes (WIRE_INIT_LEN): about 100 kB an hour with no
 * coverage. */
#define SRVCONN_BACKOFF_MIN_US 1000000ull
#define SRVCONN_BACKOFF_MAX_US 5000000ull
/* After this many unanswered initiations (about 7 s) the client says why
 * the server may not answer. */
#define SRVCONN_WARN_TRIES 4u
#define SRVCONN_KEEPALIVE_DEFAULT_S 25
#define SRVCONN_LOST_INTERVALS 3
/* A PING the server leaves unanswered for this long is re-sent; after
 * SRVCONN_PROBE_TRIES unanswered PINGs in a row the server is lost. Much
 * quicker than 3 silent intervals (75 s at the default keepalive) after a
 * server restart, during which the relay would carry nothing. */
#define SRVCONN_PROBE_US 1000000ull
#define SRVCONN_PROBE_TRIES 3
/* Probes this far apart once something else says the server may be gone
 * (srvconn_suspect): a restarted server is noticed in about 2 s. */
#define SRVCONN_SUSPECT_PROBE_US 500000ull
#define SRVCONN_REGISTER_RETRY_US 3000000ull
/* A restart notice is checked before it is believed: the notice is
 * authenticated but not bound to this session, so an old one (collected
 * while this client was offline, and sent again by anyone who can reach
 * it) must not end a working session. Two PINGs go out; an answer to
 * them within this time says the server still has the session. */
#define SRVCONN_NOTICE_CHECK_US 400000ull
/* "id in use by another process" is said again at most this often. */
#define SRVCONN_REFUSED_WARN_US (60 * 1000000ull)

struct srvconn {
	struct session *sess; /* owns */
	struct idxmap_owned idx;
	ev_timer timer;
	uint64_t armed_us; /* deadline the timer is set to; UINT64_MAX: none */
	bool is_up;	   /* keys established in this session */
	bool has_sync;	   /* a route set arrived since our last REGISTER */
	/* The server answered this session's first REGISTER (its route set
	 * came): the other uplinks register from then on, so that none of
	 * theirs, on a faster link, reaches the server before the session's
	 * own (the server takes a new session's first REGISTER for the uplink
	 * it runs on). */
	bool is_registered;
	uint64_t backoff_us;
	uint64_t next_init_us;
	uint64_t last_rx_us; /* last authenticated packet from the server */
	uint64_t next_ping_us;
	uint64_t next_register_us;
	uint16_t keepalive_s;
	uint32_t ping_id;
	bool is_awaiting_pong; /* a PING went out and nothing came back since */
	unsigned unanswered;   /* PINGs in a row left unanswered */
	bool is_suspect;       /* probing at SRVCONN_SUSPECT_PROBE_US until answered */
	unsigned init_tries;   /* initiations since the last session came up */
	uint64_t lost_us;      /* when the last session was given up (reconnect) */
	/* The server address in use: client.ini's server entry server_i
	 * (srvaddr.h). The initiations go round the entries that have an
	 * address of the client's family, then round the uplinks. */
	unsigned server_i;
	/* A cookie reply already made us initiate again at once since the
	 * last scheduled initiation (once each, so no loop). */
	bool is_cookie_retried;
	/* The server refused our session: another process holds our identity
	 * (FRAME_IN_USE; PROTOCOL.md "One identity, two processes"). We hold
	 * no flows meanwhile and initiate again when it says. */
	bool is_refused;
	bool has_in_use; /* one came in the packet being read */
	struct frame_in_use in_use;
	char held_by[ADDR_TEXT_MAX]; /* the holder's address, "" when not given */
	uint64_t refused_warned_us;
	uint64_t tx_packets;
	uint64_t rx_packets;
	uint64_t reconnects;
	/* The key of the server's restart notices (proto/restarted.h), and the
	 * stamp of the last one taken. */
	uint8_t restart_key[WIRE_KEY_LEN];
	bool has_restart_key;
	uint64_t restart_stamp;
	/* A notice came at this time and is being checked (PINGs sent at it
	 * and answered by a PONG echoing it or later); 0: none. */
	uint64_t notice_at_us;
};

/* Set up (no session yet, timer not started). */
void srvconn_init(struct srvconn *sc);
/* Start connecting now. Returns 0 or negative errno. */
WH_MUST_CHECK int srvconn_start(struct client *cl);
/* The process stops: tell the server (LEAVE), so the identity is free at
 * once for a new process (PROTOCOL.md "One identity, two processes").
 * Queued: flush the send queue after it. */
void srvconn_leave(struct client *cl, uint64_t now_us);
/* Stop the timer, release indices, free the session. */
void srvconn_fini(struct client *cl);

bool srvconn_is_up(const struct client *cl);
/* Up, and the server answered the session's REGISTER (is_registered). */
bool srvconn_is_registered(const struct client *cl);
/* The state for `status`: "up", "refused" (another process holds our
 * identity) or "connecting". */
const char *srvconn_state(const struct client *cl);
/* The keepalive interval in µs (server's SYNC, default 25 s). */
uint64_t srvconn_keepalive_us(const struct client *cl);

/* Send REGISTER again now (NAT class found or changed, mapped address
 * changed), and keep resending it until the server answers with its route
 * set. Does nothing while the session is not up: REGISTER goes out when it
 * comes up, with the NAT class known then. */
void srvconn_reregister(struct client *cl, uint64_t now_us);

/* The control uplink's socket is closing: start a new session on the next
 * uplink at once. */
void srvconn_on_ctl_down(struct client *cl, uint64_t now_us);

/* Move the server session (and the relay) to uplink id now: a new session
 * from its socket. */
void srvconn_move_ctl(struct client *cl, uint8_t id, uint64_t now_us);

/* Send a PING now (unless one is out): the server sees our current
 * address at once, and we learn soon whether it is still there. */
void srvconn_ping_now(struct client *cl, uint64_t now_us);
/* The host's addresses or routes changed (netwatch): a server name with no
 * address is looked up now; with no session, initiate now and restart the
 * backoff (the network may have just come up); with one, PING now (our
 * address may have changed). */
void srvconn_on_network_change(struct client *cl, uint64_t now_us);
/* The server address in use got an address (a name resolved), or a new one
 * while not connected: with no session up, initiate now. */
void srvconn_on_server_addr(struct client *cl, uint64_t now_us);
/* Something says the server session may be broken (why, logged): the relay
 * went silent (direct.c; the server may have restarted, losing our session
 * and relay bindings) or answers another uplink than the control one
 * (relaypath.c; the control uplink may be dead), which the next keepalive
 * would notice up to keepalive_s later. Probe it now,
 * SRVCONN_SUSPECT_PROBE_US apart, until it answers; SRVCONN_PROBE_TRIES
 * unanswered probes reconnect (by the next uplink). */
void srvconn_suspect(struct client *cl, const char *why, uint64_t now_us);

/* A restart notice (DEMUX_RESTARTED) came from `from`: when it is the
 * server's (its address, its key, a newer stamp), check the session (two
 * PINGs) and renew it, by the same uplink, unless the server answers
 * within SRVCONN_NOTICE_CHECK_US (a replayed notice); while connecting,
 * initiate now. Either way sooner than the next keepalive would tell.
 * Anything else is dropped. */
void srvconn_on_restarted(struct client *cl, const uint8_t *buf, size_t len,
			  const struct sockaddr_storage *from, uint64_t now_us);
/* A PONG from the server echoing echo_tx_us: ends a notice check. */
void srvconn_on_pong(struct client *cl, uint64_t echo_tx_us);

/* Seal f in the server session and queue it to dst (NULL: the server's main
 * address). Returns 0 or negative errno (-ENOTCONN when not up). */
int srvconn_send(struct client *cl, const struct frame *f, const struct sockaddr_storage *dst,
		 uint64_t now_us);

/* The same from socket fd (-1: the main socket; an uplink's socket sends
 * its own REGISTER). */
int srvconn_send_fd(struct client *cl, int fd, const struct frame *f,
		    const struct sockaddr_storage *dst, uint64_t now_us);
/* fs[n] in one packet from socket fd (an uplink's REGISTER with a PING). */
int srvconn_send_frames_fd(struct client *cl, int fd, const struct frame *fs, size_t n,
			   const struct sockaddr_storage *dst, uint64_t now_us);

/* Received on the main socket for one of the server session's indices. */
void srvconn_on_response(struct client *cl, const uint8_t *buf, size_t len, uint64_t now_us);
void srvconn_on_cookie_reply(struct client *cl, const uint8_t *buf, size_t len, uint64_t now_us);
/* fd: the socket it came on (-1: the main socket); only the control
 * uplink's count as signs of the server session's life. */
void srvconn_on_transport(struct client *cl, int fd, const uint8_t *buf, size_t len,
			  uint64_t now_us);

/* True if idx belongs to the server session (for idxmap_take). */
bool srvconn_keeps_index(void *owner, uint32_t idx);

#endif
