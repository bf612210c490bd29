/* flow_tcp: TCP flows over reliable streams (DESIGN §4, PROTOCOL.md
 * "Streams"). Source side: a listening TCP socket on 127.1.0.1:listen_port;
 * each accepted connection opens a stream (proto/rstream.h) to the flow's
 * sink in the peer session. Sink side: a new stream's first four bytes name
 * its flow; the client connects to the delivery target and pipes bytes both
 * ways. Half-close, resets, back-pressure (the local socket is read only
 * while the stream's send buffer has room; the window is what the local
 * socket has not drained) and a cap on concurrent streams. Streams live in
 * the peer session, not a path, so they survive relay <-> direct switches.
 * The client owns the set (cl->tcp); connections borrow peers. */
#ifndef WH_FLOW_TCP_H
#define WH_FLOW_TCP_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"
#include "proto/rstream.h"

struct client;
struct peer;

#define FLOW_TCP_BUF_FIRST (256 * 1024) /* per stream, each way, at first */
/* ... or less, down to this, when the streams' buffers already take most
 * of the budget (rstream_budget_first_cap) */
#define FLOW_TCP_BUF_MIN (64 * 1024)
/* Each buffer doubles up to this when the path holds more (a long fat
 * path: 4 MiB is 160 Mbit/s at 200 ms), while all the client's stream
 * buffers together stay within FLOW_TCP_MEM_LIMIT. */
#define FLOW_TCP_BUF_MAX (4u << 20)
#define FLOW_TCP_MEM_LIMIT (48u << 20)
#define FLOW_TCP_CONNS_MAX 128 /* concurrent streams per client */
/* Growth and first sizes stop here, keeping FLOW_TCP_BUF_MIN each way free
 * for every stream the client may hold: with all of them, its buffers stay
 * within FLOW_TCP_MEM_LIMIT (128 streams at 256 KiB each way took 64 MiB). */
#define FLOW_TCP_MEM_GROWTH_LIMIT \
	(FLOW_TCP_MEM_LIMIT - (size_t)FLOW_TCP_CONNS_MAX * 2 * FLOW_TCP_BUF_MIN)
#define FLOW_TCP_CONNECT_US 1500000ull /* a delivery target must answer in time */
#define FLOW_TCP_LINGER_US 2000000ull  /* a finished stream still acks this long */
#define FLOW_TCP_HEADER_LEN 4	       /* flow_id u32 at the start of each stream */
/* A taken listen port is tried again after 1 s, doubling up to 30 s, as a
 * UDP flow's (flow_udp.h FLOW_UDP_LISTEN_RETRY_*_US, and why). */
#define FLOW_TCP_LISTEN_RETRY_MIN_US 1000000ull
#define FLOW_TCP_LISTEN_RETRY_MAX_US 30000000ull
/* A source's new stream that the peer has acknowledged nothing of is reset
 * once nothing has been heard from the peer this long, counted from the
 * stream's open at the earliest (its client crashed or lost power, or is out
 * of reach): the app's connection fails within 2 s, as one to a refused
 * target does, instead of hanging until the stream gives up. Longer than the
 * gaps between a live peer's packets on a quiet relay path (about 1 s). */
#define FLOW_TCP_OPEN_SILENCE_US 1500000ull
/* Once the app has shut its write side its socket is readable for good (the
 * FIN), so no watcher can wait for a reset that comes after: the socket's
 * error is read this often instead, and a reset (or any error) is passed on
 * to the peer, as kernel TCP would at once. */
#define FLOW_TCP_EOF_CHECK_US 200000ull

struct flow_tcp_stats {
	uint64_t accepted, opened, refused_full, connect_failed, resets_rx, resets_tx;
	uint64_t closed, unknown_stream, bad_header, tx_budget_waits;
	uint64_t peer_restarts;	  /* streams reset because their peer restarted */
	uint64_t lingers_ended;	  /* finished streams ended early to make room */
	uint64_t open_timeouts;	  /* new streams reset: no answer, the peer silent */
	uint64_t gave_up;	  /* streams reset: unacked, or the peer silent, too long */
	uint64_t max_pass_gap_us; /* longest time between two loop passes with streams */
	uint64_t last_pass_us;
};

/* A TCP flow's streams as the local API shows them (GET /api/v1/flows):
 * the finished ones' counters plus the open ones'. */
struct flow_tcp_report {
	const struct frame_route *route; /* borrowed until the next flow_tcp_apply */
	uint32_t connections;		 /* open now */
	uint64_t tx_segs, rx_segs, rexmit_segs;
	uint64_t tx_bytes, rx_bytes; /* stream bytes, each counted once (not resends) */
	uint64_t resets;	     /* streams that ended in a reset, failed or refused */
	uint64_t rtt_us;	     /* mean SRTT of the open streams that have one; 0: none */
	uint64_t rate_kbps;	     /* delivery rate of the open streams with data in flight */
};

struct flow_tcp_flow;
struct tcpconn;

struct flow_tcp_set {
	struct client *cl;	     /* borrowed */
	struct flow_tcp_flow *flows; /* owns: list */
	struct tcpconn *conns;	     /* owns: list (tcpconn.h) */
	size_t n_conns;
	uint32_t next_id;
	ev_prepare pump; /* once per loop pass, before the send queue flushes */
	ev_timer timer;
	uint64_t armed_us;
	struct rstream_budget mem; /* every stream's buffers */
	struct flow_tcp_stats stats;
};

/* Take the TCP routes of a new route set (after peer_apply, before
 * peer_prune): listeners follow the routes; connections of removed flows or
 * peers are reset and freed. */
void flow_tcp_apply(struct client *cl, const struct frame_route *routes, size_t n, uint64_t now_us);
/* Free everything (before the peers). */
void flow_tcp_free_all(struct client *cl);
/* The route of TCP flow flow_id (borrowed until the next apply), or NULL. */
const struct frame_route *flow_tcp_route(struct flow_tcp_set *set, uint32_t flow_id);
/* One report per TCP flow of this client, up to max; returns how many. */
size_t flow_tcp_reports(const struct client *cl, struct flow_tcp_report *out, size_t max);
/* Stream frames from peer p (authenticated). */
void flow_tcp_on_stream(struct peer *p, const struct frame_stream *f, uint64_t now_us);
void flow_tcp_on_stream_ack(struct peer *p, const struct frame_stream_ack *a, uint64_t now_us);
/* Peer p is another process now (its boot id changed): its streams are
 * gone on its side. Reset ours with it: local connections get an RST. */
void flow_tcp_on_peer_restart(struct peer *p);

#endif
