/* flow_udp: UDP flows on 127.1.0.1 (DESIGN §4, PROTOCOL.md "Flow
 * datagrams"). Source side: a listening socket on 127.1.0.1:listen_port;
 * what the app sends there goes as DATAGRAM to every sink, replies come back
 * to the app's last address. Sink side: one sending socket on 127.1.0.1 per
 * (flow, remote source) (on the wildcard address for a delivery target off
 * loopback), kept while both exist so its port stays the same; what the app
 * sends back to it returns to that source as a REPLY. The
 * client owns the list (cl->flows); flows borrow peers. */
#ifndef WH_FLOW_UDP_H
#define WH_FLOW_UDP_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/impair.h"
#include "proto/frame.h"

struct client;
struct flowqos;
struct peer;

/* A flow's warnings about its apps' datagrams: at most one a minute each. */
#define FLOW_UDP_WARN_US 60000000ull
/* A listen port that is taken (another app holds it, or a process of ours
 * that is stopping has not let go of it yet) is tried again after 1 s,
 * doubling up to FLOW_UDP_LISTEN_RETRY_MAX_US: a port held for a moment at
 * start is ours within seconds of its release, with no restart or edit, and
 * one held for good costs a bind every 30 s. */
#define FLOW_UDP_LISTEN_RETRY_MIN_US 1000000ull
/* A peer heard from on no path for this long is gone (its client stopped,
 * crashed or lost its links: a live one answers the path pings every
 * second or faster): its datagrams are dropped and counted, not sent. */
#define FLOW_UDP_PEER_GONE_US 10000000ull
#define FLOW_UDP_LISTEN_RETRY_MAX_US 30000000ull

enum flow_udp_drop {
	FLOW_UDP_DROP_TOO_BIG = 0, /* app datagram over the flow mtu: refused */
	FLOW_UDP_DROP_NO_PEER,	   /* the member has no usable peer (unknown, refused) */
	FLOW_UDP_DROP_NO_SESSION,  /* the peer session is not up yet */
	FLOW_UDP_DROP_NOT_MEMBER,  /* datagram from a client not in the flow */
	FLOW_UDP_DROP_WRONG_ROLE,  /* data to a non-sink, reply to a non-source */
	FLOW_UDP_DROP_NO_APP,	   /* reply, but no app has sent on the listen socket */
	FLOW_UDP_DROP_NO_SOCKET,   /* no local socket for it (port taken, open failed) */
	FLOW_UDP_DROP_QUEUE_FULL,  /* the send queue was full */
	FLOW_UDP_DROP_NOT_TARGET,  /* to a source's wildcard socket, not from the target's host */
	FLOW_UDP_DROP_PEER_GONE,   /* the peer was not heard for FLOW_UDP_PEER_GONE_US */
	FLOW_UDP_DROP_COUNT
};

struct flow_udp_stats {
	uint64_t tx_packets; /* datagrams from local apps sent to a peer (per peer) */
	uint64_t tx_bytes;
	uint64_t rx_packets; /* datagrams from peers delivered to local apps */
	uint64_t rx_bytes;
	uint64_t drops[FLOW_UDP_DROP_COUNT];
};

/* Where the sink side's sending sockets are bound (flow_udp.c src_bind_for). */
enum flow_udp_src_bind {
	FLOW_UDP_SRC_LOCAL = 0, /* 127.1.0.1: a delivery target on loopback */
	FLOW_UDP_SRC_ANY4,	/* 0.0.0.0: a target elsewhere (the LAN) */
	FLOW_UDP_SRC_ANY6,	/* [::]: an IPv6 target */
};

/* One sending socket for a remote source (sink side). */
struct flow_udp_src {
	struct flow_udp *flow; /* borrowed: the flow that holds this slot */
	struct frame_name name;
	struct peer *peer; /* borrowed, refreshed on every apply */
	int fd;		   /* owns; -1 when unused */
	ev_io io;
	uint16_t port;
};

struct flow_udp {
	struct flow_udp *next; /* list in struct client */
	struct client *cl;     /* borrowed */
	struct frame_route route;
	int listen_fd; /* owns; -1 when not listening */
	ev_io listen_io;
	ev_timer listen_retry;	 /* the listen port was taken: try again */
	uint64_t listen_wait_us; /* the retry timer's wait; 0: not retrying */
	bool has_app;
	struct sockaddr_storage app; /* last sender on the listen socket */
	struct sockaddr_storage deliver;
	struct peer *peers[WIRE_MEMBERS_MAX]; /* borrowed, by member index */
	struct flow_udp_src srcs[WIRE_MEMBERS_MAX];
	enum flow_udp_src_bind src_bind; /* where srcs are bound, from deliver */
	struct flowqos *qos;		 /* owns: options, impairment, congestion reports */
	uint64_t narrow_warned_us;	 /* a datagram too large for a narrow path, logged */
	uint64_t big_warned_us;		 /* an app datagram over the flow's limit, logged */
	uint64_t gone_warned_us;	 /* a datagram for a gone peer, logged */
	struct flow_udp_stats stats;
};

/* One flow as the local API shows it (issue #9): read-only, filled by
 * flow_udp_report. Congestion fields are over the peers we send to: the
 * flow is saturated when the path to any of them is; capacity is the
 * smallest measured, send rate, loss and rtt the largest. */
struct flow_udp_state {
	char name[WIRE_NAME_MAX + 1];
	uint32_t flow_id;
	bool saturated;
	uint32_t capacity_kbps; /* 0: not measured yet */
	uint32_t send_kbps;
	double loss; /* share of datagrams lost, smoothed */
	uint32_t rtt_ms;
	bool has_impair;
	struct impair_counters impair; /* since the flow was added */
	struct flow_udp_stats stats;
};

/* Add, update and remove flows to match routes (UDP ones; others are
 * skipped with a log line), leaving unchanged flows untouched, then point
 * every flow at the current peers. */
void flow_udp_apply(struct client *cl, const struct frame_route *routes, size_t n,
		    const struct frame_flow_opts *opts, size_t n_opts, uint64_t now_us);
/* Free every flow (logs its counters at debug level). */
void flow_udp_free_all(struct client *cl);
/* The flow with flow_id (borrowed), or NULL. */
struct flow_udp *flow_udp_find(struct client *cl, uint32_t flow_id);
/* A DATAGRAM from peer p. */
void flow_udp_on_datagram(struct client *cl, struct peer *p, const struct frame_datagram *dg,
			  uint64_t now_us);
/* FRAME_CC or FRAME_CC_ECHO from peer p. */
void flow_udp_on_cc(struct client *cl, struct peer *p, const struct frame *fr, uint64_t now_us);
/* Hand a datagram from member m (after impairment) to the local app: to the
 * delivery target from m's socket, or (is_reply) to the app's last address
 * from the listening socket. Returns true when it was queued for sending. */
bool flow_udp_deliver(struct flow_udp *f, size_t m, bool is_reply, const uint8_t *data, size_t len);
/* Up to max flows into out (in list order); returns how many. */
size_t flow_udp_report(struct client *cl, struct flow_udp_state *out, size_t max);

/* Called once per change of a flow's saturated state, after the log line,
 * with the flow's state (valid during the call): the hook for the local
 * API's event stream (/api/v1/events). Set in struct client
 * (flow_event, flow_event_ctx); NULL: none. */
typedef void flow_udp_event_fn(void *ctx, const struct flow_udp_state *st);

/* The state of one flow, as flow_udp_report gives it. */
void flow_udp_state_of(struct flow_udp *f, struct flow_udp_state *st);

#endif
