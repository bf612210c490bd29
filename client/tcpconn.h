/* tcpconn: one connection of a TCP flow (flow_tcp.h; DESIGN §4,
 * PROTOCOL.md "Streams"): its local TCP socket and watchers, its stream
 * (proto/rstream.h), the connect to a sink's delivery target, and the bytes
 * between socket and stream, both ways, with half-close, resets and
 * back-pressure. flow_tcp.c owns the list (set->conns) and frees dead
 * connections from its pump; a connection borrows its peer, which outlives
 * it (flow_tcp_apply ends connections before peer_prune). */
#ifndef WH_TCPCONN_H
#define WH_TCPCONN_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/rstream.h"

struct flow_tcp_set;
struct peer;

struct tcpconn {
	struct tcpconn *next;	  /* list in struct flow_tcp_set */
	struct flow_tcp_set *set; /* borrowed */
	struct peer *peer;	  /* borrowed */
	uint32_t flow_id;	  /* sink: valid once has_header */
	bool has_header;
	bool is_source;	  /* we opened the stream (the app connected here) */
	uint64_t open_us; /* when the stream was opened */
	bool is_connecting;
	bool is_local_eof;  /* the app shut its write side: FIN queued */
	bool is_wr_shut;    /* we shut the app's read side after the peer's FIN */
	bool is_dead;	    /* to be freed by the pump */
	bool was_direct;    /* the peer's path at the last pass */
	uint32_t returns;   /* the peer's returns at the last pass */
	uint32_t mtu_drops; /* the peer's mtu_drops at the last pass */
	uint64_t rtos;	    /* the stream's timeouts at the last pass */
	int fd;		    /* owns; -1 once closed */
	ev_io rio, wio;
	uint64_t connect_until_us;
	uint64_t linger_until_us; /* 0: still open */
	uint64_t eof_check_us;	  /* after is_local_eof: next look for a reset */
	struct rstream rs;	  /* owns its buffers */
};

/* A connection for stream id with peer p on local socket fd (-1: a sink's
 * stream, until its header names the flow), added to set's list. NULL when
 * FLOW_TCP_CONNS_MAX are open (counted) or memory is short. */
struct tcpconn *tcpconn_new(struct flow_tcp_set *set, struct peer *p, uint32_t id, int fd);
/* Free c (not in a list any more): closes its socket with an RST. */
void tcpconn_free(struct tcpconn *c);
/* Source side: the stream starts with flow_id; start reading the app. */
void tcpconn_start_source(struct tcpconn *c, uint32_t flow_id);
/* Close the local socket (is_abort: with an RST to the app). */
void tcpconn_close_fd(struct tcpconn *c, bool is_abort);
/* Reset both ways: RST to the peer (next pass) and to the app. */
void tcpconn_abort(struct tcpconn *c);
/* Once per loop pass: path changes, the header, the sockets, frames to the
 * peer, and the end of the stream (close, linger, is_dead). */
void tcpconn_pass(struct tcpconn *c, uint64_t now_us);
/* The stream's timers are due (rstream_on_timer); a retransmission timeout
 * is logged at debug level with what was outstanding. */
void tcpconn_on_timer(struct tcpconn *c, uint64_t now_us);
/* When c next needs tcpconn_pass or its stream's timer (UINT64_MAX: none). */
uint64_t tcpconn_deadline_us(struct tcpconn *c, uint64_t now_us);

#endif
