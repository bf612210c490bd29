/* uplink: the client's uplinks (DESIGN §5.5, issue #10). Each [uplink NAME]
 * of client.ini (none: the default route) is one uplink with its own
 * socket, its own NAT classification (natwatch) and its own registration
 * with the server; peers punch direct paths per pair of uplinks (direct.h).
 * Uplink 0 is the main socket (mainsock.h); an uplink i >= 1 has a socket of
 * its own. The server session and the relay run on one uplink, the control
 * uplink (cl->ctl: 0 at start; srvconn moves it to the next open uplink
 * when the server does not answer on it, so a client whose first modem is
 * down still reaches the server; it moves back to an earlier uplink once
 * that answers again: uplink_on_probe_answered).
 *
 * Every other uplink sends REGISTER with its id from its own socket (sealed
 * in the server session) once the server answered the session's own
 * REGISTER (a faster uplink's must not arrive first: the server takes a new
 * session's first REGISTER for the uplink it runs on), when its mapping or class
 * changes and every keepalive interval (which also keeps its NAT mapping
 * towards the server). A PING goes in the same packet; until something of
 * the server's comes back on that socket, the REGISTER is sent again
 * UPLINK_REGISTER_RETRY_MIN_US later, then twice that, up to the keepalive
 * interval: an uplink that was down when the session came up (or moved)
 * registers within seconds of coming back, not at its next keepalive.
 *
 * An uplink i >= 1 is reopened every UPLINK_REOPEN_US while it cannot be
 * opened (interface or address gone). An uplink bound to an interface
 * (uplink 0 too) is reopened when the interface disappears or comes back as
 * another one (a re-plugged modem); its direct paths fall back at once and
 * are punched again. Embedded in struct client. */
#ifndef WH_UPLINK_H
#define WH_UPLINK_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/natwatch.h"
#include "proto/frame.h"

struct client;

#define UPLINK_REOPEN_US 2000000ull
/* An interface uplink checks this often that its interface is the one its
 * socket is bound to (a re-plugged modem comes back with a new index). */
#define UPLINK_CHECK_US 2000000ull
/* Probes (one per keepalive interval) an earlier uplink must answer in a
 * row before the session moves back to it: a link that flaps does not pull
 * the session to and fro. */
#define UPLINK_RETURN_PROBES 3u
/* A REGISTER of an uplink that is not the control one, left unanswered, is
 * sent again this long after, then twice as long..., up to the keepalive
 * interval. */
#define UPLINK_REGISTER_RETRY_MIN_US 2000000ull

struct uplink {
	struct client *cl; /* borrowed */
	uint8_t id;
	const char *name; /* borrowed (client.ini); "" for the default route */
	int fd;		  /* uplink 0: -1 (the main socket); others: owns, -1 while closed */
	int family;	  /* uplinks >= 1: their socket's (uplink_family) */
	ev_io io;	  /* uplinks >= 1 */
	ev_timer timer;	  /* uplinks >= 1: reopen, REGISTER */
	struct natwatch nw;
	struct sockaddr_storage local;
	unsigned ifindex;	/* interface uplinks: the index the socket is bound to */
	bool is_gone;		/* uplink 0: its interface is gone (the main socket stays) */
	uint64_t next_check_us; /* interface uplinks: next ifindex check */
	uint64_t next_open_us;
	uint64_t next_register_us;
	uint64_t register_sent_us;  /* its last REGISTER (with a PING), 0: none */
	uint64_t register_retry_us; /* the wait before the next resend, if unanswered */
	bool is_register_answered;  /* the server sent something on it since then */
	bool is_no_server_logged;   /* "the server has no IPv6 address" said */
	bool has_bound;		    /* since it opened: the peers' relay binds went from it */
	uint64_t rx_packets;
	uint64_t tx_packets; /* sealed by sealout on its socket (queued) */
	uint64_t tx_bytes;
	uint64_t registers;
	uint64_t open_failures;
	bool *alive; /* set while its receive callback runs: cleared on close */
};

/* Set up every uplink of client.ini (at least one); nothing opened. */
void uplink_init_all(struct client *cl);
/* Start: uplink 0's watch on the main socket (open and started), the other
 * uplinks' sockets (retried later when they cannot open now). */
void uplink_start_all(struct client *cl);
/* Close everything. Safe after uplink_init_all. */
void uplink_fini_all(struct client *cl);

/* The uplink whose socket is fd (-1: uplink 0), or NULL (a spray socket). */
struct uplink *uplink_by_fd(struct client *cl, int fd);
/* The socket of uplink id for the send queue (-1: the main socket), or -2
 * when that uplink is not open (or does not exist). */
int uplink_send_fd(const struct client *cl, uint8_t id);
/* The socket the server session and the relay use now (the control
 * uplink's; -1: the main socket, also when the control uplink is closed). */
int uplink_ctl_fd(const struct client *cl);
/* The next open uplink after the control one that has a server address
 * of its family (itself when alone). */
uint8_t uplink_next_ctl(const struct client *cl);
/* Uplink id's natwatch probe was answered by the server. When id comes
 * before the control uplink in client.ini and has answered
 * UPLINK_RETURN_PROBES probes in a row with the session up, the session
 * (and with it the relay) moves back to it: the order of [uplink] sections
 * is the order of preference (a costly backup link carries the relay only
 * while the first cannot). */
void uplink_on_probe_answered(struct client *cl, uint8_t id, uint64_t now_us);
/* The server session leaves uplink id for want of answers: its answered
 * probes so far do not count towards a return, only those from now on (a
 * cut between two probes loses none of them). */
void uplink_on_ctl_lost(struct client *cl, uint8_t id);
/* "NAME" of uplink id for log lines, or its number when it has no name. */
const char *uplink_label(const struct client *cl, uint8_t id);
/* True when uplink id's socket is open. */
bool uplink_is_open(const struct client *cl, uint8_t id);
/* Bit i set for each open uplink i. */
uint8_t uplink_open_mask(const struct client *cl);

/* The server answered the session's REGISTER (srvconn_is_registered):
 * register every uplink but the control one now. */
void uplink_on_server_up(struct client *cl, uint64_t now_us);
/* Register uplink id again now (its mapping or NAT class changed); the
 * control uplink's is srvconn_reregister. */
void uplink_reregister(struct client *cl, uint8_t id, uint64_t now_us);
/* The keepalive interval changed. */
void uplink_on_keepalive(struct client *cl, uint64_t now_us);
/* Move every socket to family (cl->family; client.ini fixes none): uplink
 * 0's main socket at once, the others reopen from their timers; each
 * classifies its NAT anew. Direct paths fall back; the caller tells srvconn
 * and natwatch where the server is. Returns 0, or -1 (logged) when no socket of that family opens:
 * then nothing changed. */
int uplink_set_family(struct client *cl, int family, uint64_t now_us);
/* The family of uplink id's socket: uplink 0's is the main socket's
 * (cl->family); another's is its `source` address's, or, bound to an
 * interface, the main socket's family when the server has an address of it
 * with a route through that interface, else the other family's if that has
 * one (an IPv6-only modem beside an IPv4-only one), else the main socket's.
 * An uplink whose REGISTER goes unanswered checks again, and reopens in the
 * other family when that is the one that routes now. */
int uplink_family(const struct client *cl, uint8_t id);
/* The server address uplink id sends to (its REGISTER, STUN, the session
 * and relay when it is the control uplink): of its family, the session's
 * entry if that has one, else the first that has; NULL when none has. */
const struct sockaddr_storage *uplink_server_addr(const struct client *cl, uint8_t id);
/* The server's addresses of either family changed (a lookup round), or
 * the host's network did: an uplink not registered yet checks its family
 * again, and every NAT watch waiting for an address starts. */
void uplink_check_families(struct client *cl, uint64_t now_us);
/* What the server knows of uplink id, for `status`: "session" (the server
 * session runs on it), "registered" (its last REGISTER was answered),
 * "registering" (not yet), "none" (closed, or no server session). */
const char *uplink_server_state(const struct client *cl, uint8_t id);
/* An authenticated packet of the server session came on socket fd (not the
 * control uplink's): that uplink's REGISTER got through (it goes with a
 * PING, which the server answers there). */
void uplink_on_server_rx(struct client *cl, int fd, uint64_t now_us);

#endif
