/* flow_tcp: the TCP flows (flow_tcp.h; DESIGN §4, PROTOCOL.md "Streams").
 * Owns each flow's listening socket and the list of connections
 * (tcpconn.c moves their bytes); routes streams' frames to them, opens
 * streams for accepted connections and for a peer's new streams. Protocol
 * work is proto/rstream.c. One ev_prepare (the pump, at top priority so it runs
 * before the send queue's flush) reads the streams, writes the sockets and
 * pulls frames, within a per-pass budget of the shared send queue so UDP
 * datagrams always find room; one ev_timer runs the streams' deadlines.
 * Nothing is allocated per packet: a stream's buffers come with it. */
#include "flow_tcp.h"

#include "client/client.h"
#include "client/flowrole.h"
#include "client/peer.h"
#include "client/tcpconn.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/monotime.h"
#include "config/client_ini.h"
#include "proto/frameaddr.h"
#include "proto/rstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOCAL_IP "127.1.0.1"

struct flow_tcp_flow {
	struct flow_tcp_flow *next;
	struct flow_tcp_set *set; /* borrowed */
	struct frame_route route;
	int listen_fd; /* owns; -1 */
	ev_io listen_io;
	ev_timer listen_retry;	     /* the listen port was taken: try again */
	uint64_t listen_wait_us;     /* the retry timer's wait; 0: not retrying */
	struct flow_tcp_report done; /* counters of its streams that ended */
};

static void pump_cb(struct ev_loop *loop, ev_prepare *w, int revents);
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static struct flow_tcp_set *set_get(struct client *cl)
{
	struct flow_tcp_set *set = cl->tcp;

	if (set) {
		return set;
	}
	set = calloc(1, sizeof(*set));
	if (!set) {
		return NULL;
	}
	set->cl = cl;
	set->armed_us = UINT64_MAX;
	set->mem.limit = FLOW_TCP_MEM_GROWTH_LIMIT;
	ev_prepare_init(&set->pump, pump_cb);
	ev_set_priority(&set->pump, EV_MAXPRI);
	ev_prepare_start(cl->loop, &set->pump);
	ev_init(&set->timer, timer_cb);
	cl->tcp = set;
	return set;
}

static const char *self_id(const struct flow_tcp_set *set)
{
	return set->cl->ini->id;
}

static struct flow_tcp_flow *find_flow(struct flow_tcp_set *set, uint32_t flow_id)
{
	for (struct flow_tcp_flow *f = set->flows; f; f = f->next) {
		if (f->route.flow_id == flow_id) {
			return f;
		}
	}
	return NULL;
}

const struct frame_route *flow_tcp_route(struct flow_tcp_set *set, uint32_t flow_id)
{
	struct flow_tcp_flow *f = find_flow(set, flow_id);

	return f ? &f->route : NULL;
}

static struct tcpconn *find_conn(struct flow_tcp_set *set, const struct peer *p, uint32_t id)
{
	for (struct tcpconn *c = set->conns; c; c = c->next) {
		if (c->peer == p && c->rs.id == id && !c->is_dead) {
			return c;
		}
	}
	return NULL;
}

/* PROTOCOL.md "Streams": the client whose id sorts first opens even
 * stream ids, the other odd ones, so both may open streams at once. */
static uint32_t my_parity(const struct flow_tcp_set *set, const struct peer *p)
{
	return strcmp(self_id(set), p->def.peer.text) < 0 ? 0u : 1u;
}

static void rearm(struct flow_tcp_set *set, uint64_t d, uint64_t now_us, bool fired)
{
	if (!fired && d >= set->armed_us) {
		return;
	}
	ev_timer_stop(set->cl->loop, &set->timer);
	set->armed_us = d;
	if (d == UINT64_MAX) {
		return;
	}
	ev_timer_set(&set->timer, d > now_us ? (double)(d - now_us) / 1e6 : 0.0, 0.0);
	ev_timer_start(set->cl->loop, &set->timer);
}

/* Add c's stream counters to r. */
static void count_stream(struct flow_tcp_report *r, const struct tcpconn *c)
{
	const struct rstream_stats *st = &c->rs.stats;

	r->tx_segs += st->tx_segs;
	r->rx_segs += st->rx_segs;
	r->rexmit_segs += st->rexmit_segs;
	r->tx_bytes += st->tx_bytes - st->rexmit_bytes;
	r->rx_bytes += st->rx_bytes;
}

/* The flow c belongs to (NULL: a sink's stream before its header, or a
 * flow that is gone). */
static struct flow_tcp_flow *flow_of(struct flow_tcp_set *set, const struct tcpconn *c)
{
	return c->has_header ? find_flow(set, c->flow_id) : NULL;
}

/* Dead connections leave the list; their counters stay with their flow. */
static void reap(struct flow_tcp_set *set)
{
	struct tcpconn **pp = &set->conns;

	while (*pp) {
		struct tcpconn *c = *pp;
		struct flow_tcp_flow *f;

		if (!c->is_dead) {
			pp = &c->next;
			continue;
		}
		f = flow_of(set, c);
		if (f) {
			count_stream(&f->done, c);
			f->done.resets += c->rs.is_peer_reset || c->rs.is_rst_sent ||
					  c->rs.is_rst_queued || c->rs.is_failed;
		}
		*pp = c->next;
		set->n_conns--;
		tcpconn_free(c);
	}
}

/* A finished stream lingers FLOW_TCP_LINGER_US (it acks a resent FIN) and
 * counts toward FLOW_TCP_CONNS_MAX meanwhile. At the limit, a new connection
 * ends the one that finished first instead of being refused: short
 * connections in a row (an HTTP client polling the drone) filled the limit
 * with lingering streams, none of them open, and were refused. */
static void make_room(struct flow_tcp_set *set)
{
	struct tcpconn *oldest = NULL;

	if (set->n_conns < FLOW_TCP_CONNS_MAX) {
		return;
	}
	for (struct tcpconn *c = set->conns; c; c = c->next) {
		if (c->linger_until_us != 0 && !c->is_dead &&
		    (!oldest || c->linger_until_us < oldest->linger_until_us)) {
			oldest = c;
		}
	}
	if (oldest) {
		oldest->is_dead = true;
		set->stats.lingers_ended++;
		reap(set);
	}
}

size_t flow_tcp_reports(const struct client *cl, struct flow_tcp_report *out, size_t max)
{
	const struct flow_tcp_set *set = cl->tcp;
	size_t n = 0;

	for (struct flow_tcp_flow *f = set ? set->flows : NULL; f && n < max; f = f->next) {
		struct flow_tcp_report *r = &out[n++];
		uint64_t rtt_sum = 0, rtt_n = 0;
		double rate = 0;

		*r = f->done;
		r->route = &f->route;
		for (const struct tcpconn *c = set->conns; c; c = c->next) {
			if (!c->has_header || c->flow_id != f->route.flow_id) {
				continue;
			}
			count_stream(r, c);
			if (c->is_dead || c->linger_until_us) {
				continue; /* gone, or finished and only acking late resends */
			}
			r->connections++;
			if (c->rs.srtt_us) {
				rtt_sum += c->rs.srtt_us;
				rtt_n++;
			}
			if (c->rs.inflight > 0) {
				rate += c->rs.cc.bw_max * 8000.0; /* bytes/us -> kbit/s */
			}
		}
		r->rtt_us = rtt_n ? rtt_sum / rtt_n : 0;
		r->rate_kbps = (uint64_t)rate;
	}
	return n;
}

static void pump_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct flow_tcp_set *set = container_of(w, struct flow_tcp_set, pump);
	uint64_t now_us, d = UINT64_MAX;

	(void)loop;
	(void)revents;
	if (!set->conns) {
		return;
	}
	now_us = monotime_now_us();
	/* Gaps between passes while data is in flight: the loop's latency. */
	if (set->stats.last_pass_us &&
	    now_us - set->stats.last_pass_us > set->stats.max_pass_gap_us) {
		set->stats.max_pass_gap_us = now_us - set->stats.last_pass_us;
	}
	set->stats.last_pass_us = 0;
	for (struct tcpconn *c = set->conns; c; c = c->next) {
		uint64_t cd;

		tcpconn_pass(c, now_us);
		if (c->rs.inflight > 0 || c->rs.ack_pending > 0) {
			set->stats.last_pass_us = now_us;
		}
		cd = c->is_dead ? UINT64_MAX : tcpconn_deadline_us(c, now_us);
		d = cd < d ? cd : d;
	}
	reap(set);
	rearm(set, d, now_us, false);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct flow_tcp_set *set = container_of(w, struct flow_tcp_set, timer);
	uint64_t now_us = monotime_now_us();

	(void)loop;
	(void)revents;
	for (struct tcpconn *c = set->conns; c; c = c->next) {
		tcpconn_on_timer(c, now_us);
	}
	/* The pump runs next in this loop pass and sets the timer again. */
	set->armed_us = UINT64_MAX;
}

/* ---- the source side ---- */

/* The one sink of flow f other than us (routes.conf: a TCP flow has one). */
static struct peer *sink_peer(struct flow_tcp_flow *f)
{
	const struct frame_route *r = &f->route;

	for (size_t m = 0; m < r->member_count; m++) {
		if (flowrole_is_remote_sink(r, self_id(f->set), m)) {
			return peer_find(f->set->cl, r->members[m].name.text);
		}
	}
	return NULL;
}

static uint32_t new_id(struct flow_tcp_set *set, struct peer *p)
{
	uint32_t id;

	do {
		id = (set->next_id++ << 1) | my_parity(set, p);
	} while (find_conn(set, p, id));
	return id;
}

static void accept_one(struct flow_tcp_flow *f, int fd)
{
	struct flow_tcp_set *set = f->set;
	struct peer *p = sink_peer(f);
	struct tcpconn *c = NULL;
	uint32_t id = f->route.flow_id;

	if (p && !p->is_refused) {
		make_room(set);
		c = tcpconn_new(set, p, new_id(set, p), fd);
	}
	if (!c) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		log_ratelimited(&set->cl->rx_log, monotime_now_us(), LOG_LEVEL_WARN,
				"flow %s: connection refused (no sink peer or %d streams open)",
				f->route.flow.text, FLOW_TCP_CONNS_MAX);
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		f->done.resets++;
		return;
	}
	set->stats.accepted++;
	tcpconn_start_source(c, id);
	log_debug("flow %s: stream %u to %s opened", f->route.flow.text, (unsigned)c->rs.id,
		  p->def.peer.text);
}

static void listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct flow_tcp_flow *f = container_of(w, struct flow_tcp_flow, listen_io);

	(void)loop;
	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(f->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			return;
		}
		accept_one(f, fd);
	}
}

/* The listen port was taken: try again after listen_wait_us, which starts
 * at FLOW_TCP_LISTEN_RETRY_MIN_US and doubles up to the max. Said once. */
static void listen_later(struct flow_tcp_flow *f, int err)
{
	if (f->listen_wait_us == 0) {
		log_error("flow %s: cannot listen on tcp %s:%u: %s; trying again until it is free; "
			  "or give this member another listen port in routes.conf",
			  f->route.flow.text, LOCAL_IP, (unsigned)f->route.listen_port,
			  strerror(err));
		f->listen_wait_us = FLOW_TCP_LISTEN_RETRY_MIN_US;
	} else if (f->listen_wait_us < FLOW_TCP_LISTEN_RETRY_MAX_US / 2) {
		f->listen_wait_us *= 2;
	} else {
		f->listen_wait_us = FLOW_TCP_LISTEN_RETRY_MAX_US;
	}
	ev_timer_set(&f->listen_retry, (double)f->listen_wait_us / 1e6, 0.0);
	ev_timer_start(f->set->cl->loop, &f->listen_retry);
}

/* Listen if self is a source; a taken port is tried again (listen_later)
 * until the flow listens or goes away (flow_free: a changed flow is a new
 * one, sync_flows). */
static void open_listen(struct flow_tcp_flow *f)
{
	struct sockaddr_in sin;
	int one = 1;
	int fd;

	if (!flowrole_listens(&f->route, self_id(f->set))) {
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(f->route.listen_port);
	(void)inet_pton(AF_INET, LOCAL_IP, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 128) != 0) {
		int err = errno;

		if (fd >= 0) {
			close(fd);
		}
		listen_later(f, err);
		return;
	}
	if (f->listen_wait_us != 0) {
		log_info("flow %s: listening on tcp %s:%u now", f->route.flow.text, LOCAL_IP,
			 (unsigned)f->route.listen_port);
		f->listen_wait_us = 0;
	}
	f->listen_fd = fd;
	ev_io_init(&f->listen_io, listen_cb, fd, EV_READ);
	ev_io_start(f->set->cl->loop, &f->listen_io);
}

static void listen_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	open_listen(container_of(w, struct flow_tcp_flow, listen_retry));
}

static void flow_free(struct flow_tcp_flow *f)
{
	ev_timer_stop(f->set->cl->loop, &f->listen_retry);
	if (f->listen_fd >= 0) {
		ev_io_stop(f->set->cl->loop, &f->listen_io);
		close(f->listen_fd);
	}
	free(f);
}

/* ---- route sets ---- */

/* "flow ssh: tcp source, listen 127.1.0.1:2222" / "... tcp sink, deliver
 * 127.0.0.1:22". */
static void describe(const struct flow_tcp_flow *f)
{
	struct sockaddr_storage dst;
	char a[ADDR_TEXT_MAX];

	if (f->listen_fd >= 0) {
		log_info("flow %s: tcp source, listen %s:%u", f->route.flow.text, LOCAL_IP,
			 (unsigned)f->route.listen_port);
	}
	if (flowrole_delivers(&f->route, self_id(f->set))) {
		frameaddr_to_sockaddr(&f->route.deliver, &dst);
		log_info("flow %s: tcp sink, deliver %s", f->route.flow.text,
			 addr_format((const struct sockaddr *)&dst, a, sizeof(a)));
	}
}

static void send_rst(struct peer *p, uint32_t id, uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_STREAM;
	f.u.stream.stream_id = id;
	f.u.stream.flags = FRAME_STREAM_RST;
	(void)peer_send(p, &f, now_us);
}

static void sync_flows(struct flow_tcp_set *set, const struct frame_route *routes, size_t n)
{
	struct flow_tcp_flow **pp = &set->flows;

	while (*pp) {
		struct flow_tcp_flow *f = *pp;
		const struct frame_route *r = routeintake_find_route(routes, n, f->route.flow_id);

		if (r && r->proto == FRAME_PROTO_TCP && routeintake_route_equal(&f->route, r)) {
			f->route.generation = r->generation;
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		log_info("flow %s: tcp listener closed", f->route.flow.text);
		flow_free(f);
	}
	for (size_t i = 0; i < n; i++) {
		struct flow_tcp_flow *f;

		if (routes[i].proto != FRAME_PROTO_TCP || find_flow(set, routes[i].flow_id)) {
			continue;
		}
		f = calloc(1, sizeof(*f));
		if (!f) {
			log_error("flow %s: out of memory", routes[i].flow.text);
			continue;
		}
		f->set = set;
		f->route = routes[i];
		f->listen_fd = -1;
		ev_init(&f->listen_retry, listen_retry_cb);
		open_listen(f);
		f->next = set->flows;
		set->flows = f;
		describe(f);
	}
}

void flow_tcp_apply(struct client *cl, const struct frame_route *routes, size_t n, uint64_t now_us)
{
	struct flow_tcp_set *set = set_get(cl);

	if (!set) {
		log_error("tcp flows: out of memory");
		return;
	}
	sync_flows(set, routes, n);
	/* Connections whose flow or peer went away end now: the peer may be
	 * freed right after this (peer_prune). A peer that stays hears an RST,
	 * so its side ends too instead of waiting out its timeouts. */
	for (struct tcpconn *c = set->conns; c; c = c->next) {
		bool has_peer = routeintake_find_peer(cl->rs.peers, cl->rs.n_peers,
						      c->peer->def.peer.text) != NULL;

		if (!has_peer || (c->has_header && !find_flow(set, c->flow_id))) {
			if (has_peer && !c->rs.is_rst_sent && !c->rs.is_peer_reset) {
				send_rst(c->peer, c->rs.id, now_us);
			}
			tcpconn_close_fd(c, true);
			c->is_dead = true;
		}
	}
	reap(set);
}

/* The process stops: each open stream's peer is sent an RST now, so its
 * side resets the app's connection (or its own to the target) at once. The
 * server does not tell peers that a client left (its LEAVE only frees the
 * identity); without this they would keep idle connections until the
 * peer's silence ends them (RSTREAM_GIVEUP_US). One RST each, best effort:
 * a lost one leaves that stream to the silence rule. Flushed here, as the
 * loop no longer runs. */
static void reset_all(struct flow_tcp_set *set)
{
	uint64_t now_us = monotime_now_us();
	size_t n = 0;

	for (struct tcpconn *c = set->conns; c; c = c->next) {
		if (c->is_dead || c->linger_until_us != 0 || c->rs.is_rst_sent ||
		    c->rs.is_peer_reset || !c->peer->sess) {
			continue;
		}
		send_rst(c->peer, c->rs.id, now_us);
		c->rs.is_rst_sent = true;
		if (++n % 32 == 0) {
			mainsock_flush(&set->cl->ms);
		}
	}
	if (n > 0) {
		mainsock_flush(&set->cl->ms);
		log_debug("tcp flows: %zu streams reset as the client stops", n);
	}
}

void flow_tcp_free_all(struct client *cl)
{
	struct flow_tcp_set *set = cl->tcp;

	if (!set) {
		return;
	}
	log_debug("tcp flows: accepted=%llu opened=%llu refused_full=%llu connect_failed=%llu "
		  "resets_rx=%llu resets_tx=%llu closed=%llu unknown_stream=%llu bad_header=%llu "
		  "tx_budget_waits=%llu max_pass_gap_us=%llu peer_restarts=%llu lingers_ended=%llu "
		  "open_timeouts=%llu gave_up=%llu",
		  (unsigned long long)set->stats.accepted, (unsigned long long)set->stats.opened,
		  (unsigned long long)set->stats.refused_full,
		  (unsigned long long)set->stats.connect_failed,
		  (unsigned long long)set->stats.resets_rx,
		  (unsigned long long)set->stats.resets_tx, (unsigned long long)set->stats.closed,
		  (unsigned long long)set->stats.unknown_stream,
		  (unsigned long long)set->stats.bad_header,
		  (unsigned long long)set->stats.tx_budget_waits,
		  (unsigned long long)set->stats.max_pass_gap_us,
		  (unsigned long long)set->stats.peer_restarts,
		  (unsigned long long)set->stats.lingers_ended,
		  (unsigned long long)set->stats.open_timeouts,
		  (unsigned long long)set->stats.gave_up);
	reset_all(set);
	while (set->conns) {
		struct tcpconn *c = set->conns;

		set->conns = c->next;
		tcpconn_free(c);
	}
	while (set->flows) {
		struct flow_tcp_flow *f = set->flows;

		set->flows = f->next;
		flow_free(f);
	}
	ev_prepare_stop(cl->loop, &set->pump);
	ev_timer_stop(cl->loop, &set->timer);
	free(set);
	cl->tcp = NULL;
}

void flow_tcp_on_peer_restart(struct peer *p)
{
	struct flow_tcp_set *set = p->cl->tcp;

	if (!set) {
		return;
	}
	for (struct tcpconn *c = set->conns; c; c = c->next) {
		if (c->peer == p && !c->is_dead) {
			set->stats.peer_restarts++;
			tcpconn_close_fd(c, true);
			c->is_dead = true;
		}
	}
	reap(set);
}

/* ---- frames from peers ---- */

void flow_tcp_on_stream(struct peer *p, const struct frame_stream *f, uint64_t now_us)
{
	struct flow_tcp_set *set = p->cl->tcp;
	struct tcpconn *c = set ? find_conn(set, p, f->stream_id) : NULL;

	if (c) {
		rstream_on_stream(&c->rs, f, now_us);
		return;
	}
	if (!set || (f->flags & FRAME_STREAM_RST)) {
		return;
	}
	/* A new stream starts at offset 0 and carries the peer's parity. A
	 * later segment of one we do not know waits for its start (which the
	 * peer resends); one of ours we do not know is stale: reset it. */
	if ((f->stream_id & 1u) == my_parity(set, p)) {
		set->stats.unknown_stream++;
		send_rst(p, f->stream_id, now_us);
		return;
	}
	if (f->offset != 0) {
		set->stats.unknown_stream++;
		return;
	}
	make_room(set);
	c = tcpconn_new(set, p, f->stream_id, -1);
	if (!c) {
		/* The source's app sees a reset: say why here, where it is. */
		log_ratelimited(&set->cl->rx_log, now_us, LOG_LEVEL_WARN,
				"peer %s: new stream %u refused (%zu streams open here, or memory "
				"short); reset",
				p->def.peer.text, (unsigned)f->stream_id, set->n_conns);
		send_rst(p, f->stream_id, now_us);
		return;
	}
	rstream_on_stream(&c->rs, f, now_us);
}

void flow_tcp_on_stream_ack(struct peer *p, const struct frame_stream_ack *a, uint64_t now_us)
{
	struct flow_tcp_set *set = p->cl->tcp;
	struct tcpconn *c = set ? find_conn(set, p, a->stream_id) : NULL;

	if (c) {
		rstream_on_ack(&c->rs, a, now_us);
	}
}
