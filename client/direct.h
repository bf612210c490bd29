/* direct: a peer's direct paths (DESIGN §5.3-§5.5, PROTOCOL.md "Direct
 * paths", "Multipath"): one per pair of uplinks (ours x the peer's, from
 * its PEER frame): asking the server for a punch, running the attempt
 * (punchrun), validating a path (an authenticated probe answered both
 * ways), monitoring it with pings every DIRECT_PING_US, leaving it when it
 * goes quiet, and choosing where each packet goes: per flow, the best live
 * path (failover), every live path (redundant) or a weighted spread
 * (balance), with the relay — kept warm all along — when no direct path is
 * up. Embedded in struct peer; the peer's Noise session seals everything,
 * whatever the path.
 *
 * Who asks: of two peers, the one whose id sorts first sends PUNCH_REQUEST
 * for each pair of uplinks (so a pair is not punched twice at once); both
 * run the attempt the server then sends, and both monitor and fall back on
 * their own. Who decides: when the two validate different paths of an
 * attempt (or one none), the decider's path (the sprayer's in a spray,
 * else the requester's) is taken by both: it sends PATH UP on it. */
#ifndef WH_DIRECT_H
#define WH_DIRECT_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nat/pathmon.h"
#include "nat/pmtu.h"
#include "proto/frame.h"
#include "proto/wire_const.h"

struct client;
struct peer;
struct punchrun;
struct xsock;

#define DIRECT_PING_US 200000ull	/* pings on a direct path (DESIGN: <= 250 ms) */
#define DIRECT_DOUBT_US 500000ull	/* quiet this long: send on another path too */
#define DIRECT_DEAD_US 1000000ull	/* quiet this long: leave the path */
#define DIRECT_RELAY_PING_US 1000000ull /* RTT and loss of the relay path */
/* With several uplinks the pings also move the relay to a working one when
 * the control uplink dies (it hears the others and not that one): a round
 * every 500 ms (server/relay.h RELAY_PRIMARY_QUIET_US counts on it). */
#define DIRECT_RELAY_PING_MULTI_US 500000ull
/* No relay PONG for this long: ask whether the server is still there
 * (srvconn_suspect), once per silence. */
#define DIRECT_RELAY_SILENT_US 2500000ull
/* While the relay stays silent the relay port is bound again at once, then
 * after 1 s, doubling up to the keepalive interval: a NAT may have given
 * only the relay flow a new mapping, which no mapping probe (to the
 * server's own port) shows, and the relay drops what comes from it until
 * it is bound (the periodic bind: up to keepalive_s later). */
#define DIRECT_RELAY_REBIND_MIN_US 1000000ull
/* The relay sends to our control uplink while it hears it (its bind is
 * PRIMARY), else to the uplink it heard last (server/relay.c), and every
 * round of relay pings goes out of each uplink, the control one last.
 * A round answered on another uplink but not on the control one within
 * twice the control uplink's relay round trip (plus 50 ms, within these
 * bounds): the relay no longer hears the control uplink, so relay traffic
 * leaves by the uplink it answers too, and the server session is probed
 * (srvconn_suspect) to move sooner than its keepalive would. */
#define DIRECT_RELAY_CTL_WAIT_MIN_US 100000ull
#define DIRECT_RELAY_CTL_WAIT_MAX_US 750000ull
#define DIRECT_RELAY_TAGS 8		  /* relay datagrams whose copies are recognised */
#define DIRECT_REQUEST_WAIT_US 2000000ull /* no PUNCH after a request: ask again */
#define DIRECT_CLASS_WAIT_US 6000000ull	  /* ask even if our NAT class is unknown */
#define DIRECT_REPROBE_US 100000ull	  /* probes to an unexpected source address */
#define DIRECT_STATS_FIRST_US 2000000ull  /* first PATH_STATS after the session is up */
/* The decider's PATH UP rides its pings on a new path this long (five
 * pings: one lost is no matter). */
#define DIRECT_TELL_PEER_US 1000000ull
/* Direct paths per peer: one per pair (our uplink, its uplink), at most. */
#define DIRECT_PATHS_MAX 8
/* Destinations direct_route may return: every path, and the relay from
 * every uplink. */
#define DIRECT_ROUTE_MAX (DIRECT_PATHS_MAX + WIRE_UPLINKS_MAX)

enum direct_kind { DIRECT_KIND_RELAY = 0, DIRECT_KIND_DIRECT };

/* One direct path: between our uplink and one of the peer's. */
struct direct_path {
	bool is_used;		      /* the slot stands for (uplink, peer_uplink) */
	uint8_t uplink;		      /* ours (uplink.h) */
	uint8_t peer_uplink;	      /* the peer's */
	bool is_up;		      /* validated and not yet dead */
	int fd;			      /* the path's socket: -1 = main socket */
	struct xsock *xs;	      /* owns: the kept spray socket, or NULL */
	struct sockaddr_storage addr; /* the peer's address on the path */
	struct pathmon mon;
	struct pmtu pmtu;	  /* full-size packets on the path (linkmtu.c) */
	bool is_doubt;		  /* last state seen: DOUBT (logged once) */
	uint8_t strategy;	  /* of the path, or of the last attempt */
	uint8_t role;		  /* ours in the last attempt (enum frame_punch_role) */
	uint64_t token;		  /* of the last attempt */
	uint64_t since_wall_us;	  /* up or down last (wall clock, status) */
	struct punchrun *run;	  /* owns: the attempt in progress */
	unsigned failures;	  /* attempts in a row that failed */
	uint64_t next_request_us; /* requester: next PUNCH_REQUEST */
	int64_t wrr;		  /* balance: its credit in nat/pathsched's round robin */
	uint64_t upgrades, fallbacks, attempts;
	uint64_t tx_packets, rx_packets;
	/* The path's loss is far above the relay's: failover leaves it
	 * (pathsel.c, direct_judge_loss). Kept when the path falls back, so
	 * that the next one is used only once its pings show it clean. */
	bool is_lossy;
	uint64_t tell_peer_until_us; /* decider: PATH UP rides our pings till then */
};

struct direct {
	struct direct_path paths[DIRECT_PATHS_MAX];
	int active;		   /* failover: the path in use, -1 = none */
	struct pathmon relay_mon;  /* the relay path (RTT, loss) */
	struct pmtu relay_pmtu;	   /* full-size packets on it, by the control uplink */
	uint64_t relay_tx_packets; /* our traffic sent on it (pathsel.c), for relay_pmtu */
	uint8_t relay_pmtu_ctl;	   /* the control uplink relay_pmtu was started on */
	bool is_relay_silent;	   /* DIRECT_RELAY_SILENT_US without a relay PONG */
	uint64_t relay_rebind_us;  /* while silent: the next bind (DIRECT_RELAY_REBIND_MIN_US) */
	uint64_t relay_rebind_gap_us;
	uint64_t relay_round_us; /* the last round of relay pings went out */
	uint8_t relay_round_ctl; /* the control uplink then */
	/* Per uplink of ours: the last datagram from the relay, and the
	 * relay's round trip (smoothed, 0 = not measured). */
	uint64_t relay_rx_us[WIRE_UPLINKS_MAX];
	uint32_t relay_rtt_us[WIRE_UPLINKS_MAX];
	int relay_alt; /* the uplink the relay answers instead of the control one, or -1 */
	uint8_t relay_tags[DIRECT_RELAY_TAGS][WIRE_TAG_LEN]; /* of the last relay datagrams */
	unsigned relay_tag_next; /* tags recorded; the next goes to this modulo DIRECT_RELAY_TAGS */
	bool was_direct;	 /* some path was up at the last kind change */
	uint8_t strategy;	 /* of the last path up or attempt (status) */
	uint64_t since_us;	 /* monotonic: session up on the relay, or kind changed */
	uint64_t since_wall_us;	 /* the same, wall clock (status) */
	uint64_t session_up_us;	 /* peer session established (for logs) */
	uint64_t last_reprobe_us;
	uint64_t armed_us;
	uint64_t next_stats_us; /* next PATH_STATS to the server */
	ev_timer timer;
	uint64_t upgrades;  /* relay -> direct */
	uint64_t fallbacks; /* direct -> relay */
	uint64_t attempts;
	uint64_t dup_tx; /* datagrams sent on a path in doubt and another */
};

/* What `wormhole-client status` shows for a peer. */
struct direct_report {
	enum direct_kind kind;
	double rtt_ms; /* of the path in use; 0 when not measured */
	double loss;   /* 0..1, of the path in use */
	double relay_rtt_ms;
	double relay_loss;
	const char *relay_mtu_probe; /* linkmtu_probe_text of the relay; NULL: not probed */
	const char *strategy;	     /* of the path in use or the last attempt */
	/* On the relay while a direct path is up: why ("lossy direct path");
	 * NULL otherwise. */
	const char *why;
	uint64_t since_wall_us;
	struct sockaddr_storage addr; /* direct: the peer's address */
	uint64_t upgrades, fallbacks, attempts;
};

/* One direct path as the status shows it. */
struct direct_path_report {
	uint8_t uplink, peer_uplink;
	const char *state;     /* "up", "doubt", "down" (not up: punching or waiting) */
	bool is_active;	       /* failover's choice */
	bool is_lossy;	       /* up, but carrying nothing: it loses more than the relay */
	const char *mtu_probe; /* linkmtu_probe_text; NULL: down or not probed */
	double rtt_ms, loss;
	const char *strategy;
	struct sockaddr_storage addr; /* family 0 when down */
	uint64_t since_wall_us;
	uint64_t tx_packets, rx_packets, upgrades, fallbacks, attempts;
};

void direct_init(struct peer *p);
/* Stop everything; close sockets. */
void direct_fini(struct peer *p);

/* The peer session came up or went down. */
void direct_on_session(struct peer *p, bool up, uint64_t now_us);
/* The peer's uplinks or ours changed: paths for new pairs are set up at the
 * next timer pass (now). */
void direct_on_uplinks(struct peer *p, uint64_t now_us);

/* Our uplink's socket is about to close (interface gone): every path on it
 * falls back now (the peer and the server are told) and is forgotten; the
 * pairs come back when the uplink does. */
void direct_on_uplink_down(struct client *cl, uint8_t uplink, uint64_t now_us);

/* The server sent a punch attempt (srvconn). */
void direct_on_punch(struct client *cl, const struct frame_punch *k, uint64_t now_us);

/* A STUN datagram on fd (not an uplink's socket): true when it answered a
 * PREDICT attempt's request (punchrun_on_stun). */
bool direct_on_stun(struct client *cl, int fd, const uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from, uint64_t now_us);

/* directrx.c: authenticated frames from p that arrived on fd (-1: main
 * socket) from. */
void direct_on_path(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_path *f, uint64_t now_us);
void direct_on_ping(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_ping *f, uint64_t now_us);
void direct_on_pong(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_pong *f, uint64_t now_us);
/* An authenticated packet from p (buf, len: as received) arrived on fd
 * from (per-path counters, and which uplink the relay answers). */
void direct_note_rx(struct peer *p, int fd, const struct sockaddr_storage *from, const uint8_t *buf,
		    size_t len, uint64_t now_us);
/* A packet refused as a replay: a relay forwarding to every uplink of ours
 * delivers each datagram on each; a copy of one that authenticated (the
 * same tag) shows that the relay reaches this uplink too. */
void direct_note_copy(struct peer *p, int fd, const struct sockaddr_storage *from,
		      const uint8_t *buf, size_t len, uint64_t now_us);

/* Where data for p goes now, for a flow scheduled as mode (enum
 * frame_multipath; control and stream frames use FAILOVER): fills up to
 * DIRECT_ROUTE_MAX destinations with their sockets and returns how many
 * (the relay is fd -1 to p->relay). More than one: every copy must be
 * marked FRAME_DATAGRAM_COPY (the receiver keeps the first). */
int direct_route(struct peer *p, uint8_t mode, uint64_t now_us, int fds[DIRECT_ROUTE_MAX],
		 const struct sockaddr_storage *dsts[DIRECT_ROUTE_MAX]);

/* True when from (on fd) is one of p's direct paths. */
bool direct_is_path(const struct peer *p, int fd, const struct sockaddr_storage *from);
/* True when some direct path to p is up. */
bool direct_any_up(const struct peer *p);
/* True when failover may use some direct path to p: one is up and not
 * left for its loss (the kind of path in use, for counts and reports). */
bool direct_in_use(const struct peer *p);
/* pathsel.c: compare s's measured loss with the relay's and set
 * s->is_lossy (logged); true when it changed. Called on s's timer. */
bool direct_judge_loss(struct peer *p, struct direct_path *s, uint64_t now_us);
/* pathsel.c: s is going down: judge its loss up to its last pong (a lossy
 * path may die before it was judged), so that the next path of the pair
 * waits for clean pings when it was lossy. */
void direct_judge_end(struct peer *p, struct direct_path *s, uint64_t now_us);
/* The path failover mode sends on now (streams always do): the one in use
 * while it answers, else the answering one with the lowest RTT, leaving
 * out paths left for their loss (direct_judge_loss); NULL when none is
 * left (the relay carries, beside a path in doubt). */
const struct direct_path *direct_failover_path(const struct peer *p, uint64_t now_us);
/* The direct paths that are up: fills up to DIRECT_PATHS_MAX, returns how
 * many (handshakes go on each, besides the relay). */
int direct_up_paths(const struct peer *p, int fds[DIRECT_PATHS_MAX],
		    const struct sockaddr_storage *dsts[DIRECT_PATHS_MAX]);

/* relaypath.c: the relay path. Start monitoring it (the peer session came
 * up); its timer work (pings, silence), returning when it is next due. */
void direct_relay_start(struct peer *p, uint64_t now_us);
uint64_t direct_relay_tick(struct peer *p, uint64_t now_us);
/* relaypath.c: which of our uplinks the relay answers (DIRECT_RELAY_CTL_WAIT_*).
 * A datagram from the relay (its tag: the last WIRE_TAG_LEN bytes)
 * authenticated on uplink up, or a copy of a recent one came on it; a relay
 * PONG on it took rtt_us; the last round of relay pings is checked
 * (returns when to check again, UINT64_MAX when nothing is pending). */
void direct_relay_rx(struct peer *p, uint8_t up, const uint8_t *tag, uint64_t now_us);
void direct_relay_copy(struct peer *p, uint8_t up, const uint8_t *tag, uint64_t now_us);
void direct_relay_rtt(struct peer *p, uint8_t up, uint64_t rtt_us);
uint64_t direct_relay_check(struct peer *p, uint64_t now_us);

void direct_report(const struct peer *p, uint64_t now_us, struct direct_report *out);
/* Every path slot of p; returns how many were filled (at most max). */
size_t direct_paths_report(const struct peer *p, uint64_t now_us, struct direct_path_report *out,
			   size_t max);

/* For direct.c and pathsel.c: several uplinks on either side (log lines
 * then name a path's uplinks); " (uplink NAME -> its N)" for s, or "";
 * the path up on (fd, from), or NULL. */
bool direct_is_multi(const struct peer *p);
const char *direct_path_tag(const struct peer *p, const struct direct_path *s, char *buf,
			    size_t len);
const struct direct_path *direct_slot_by_path(const struct peer *p, int fd,
					      const struct sockaddr_storage *from);

/* Seal f in p's session and queue it on fd to dst; fs[n] in one packet. */
int direct_seal_frames_to(struct peer *p, int fd, const struct sockaddr_storage *dst,
			  const struct frame *fs, size_t n, uint64_t now_us);
int direct_seal_to(struct peer *p, int fd, const struct sockaddr_storage *dst,
		   const struct frame *f, uint64_t now_us);

#endif
