/* srvframes: what the server sends in the session (PROTOCOL.md "Client <->
 * server", "Route sets"): route sets (taken in, applied and acked), relay-bind
 * acks, punches, join answers, the server's PING, IN_USE and LINK_MTU; and
 * which uplink a packet came by (a route set by another uplink than the
 * control one: check the server). Part of srvconn (srvconn_internal.h). */
#include "client/srvconn.h"
#include "client/srvconn_internal.h"

#include "client/client.h"
#include "client/direct.h"
#include "client/flow_tcp.h"
#include "client/flow_udp.h"
#include "client/joinwait.h"
#include "client/linkmtu.h"
#include "client/peer.h"
#include "client/routeintake.h"
#include "client/uplink.h"
#include "common/addr.h"
#include "common/log.h"
#include "config/client_ini.h"
#include "proto/frame.h"
#include "proto/frameaddr.h"
#include "proto/session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

typedef void srv_frame_fn(struct client *cl, const struct frame *f, uint64_t now_us);

static void ack_sync(struct client *cl, uint64_t generation, uint16_t count, uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_SYNC;
	f.u.sync.generation = generation;
	f.u.sync.count = count;
	f.u.sync.keepalive_s = 0;
	(void)srvconn_send(cl, &f, NULL, now_us);
}

static void on_route(struct client *cl, const struct frame *f, uint64_t now_us)
{
	if (routeintake_on_route(&cl->rs, &f->u.route) == ROUTEINTAKE_FULL) {
		log_ratelimited(&cl->rx_log, now_us, LOG_LEVEL_WARN,
				"routes: more than %d flows in a route set; ignoring flow %s",
				ROUTEINTAKE_FLOWS_MAX, f->u.route.flow.text);
	}
}

static void on_peer(struct client *cl, const struct frame *f, uint64_t now_us)
{
	if (routeintake_on_peer(&cl->rs, &f->u.peer) == ROUTEINTAKE_FULL) {
		log_ratelimited(&cl->rx_log, now_us, LOG_LEVEL_WARN,
				"routes: more than %d peers in a route set; ignoring peer %s",
				ROUTEINTAKE_PEERS_MAX, f->u.peer.peer.text);
	}
}

static void on_flow_opts(struct client *cl, const struct frame *f, uint64_t now_us)
{
	if (routeintake_on_flow_opts(&cl->rs, &f->u.flow_opts) == ROUTEINTAKE_FULL) {
		log_ratelimited(&cl->rx_log, now_us, LOG_LEVEL_WARN,
				"routes: more than %d flow options in a route set; ignoring some",
				ROUTEINTAKE_FLOWS_MAX);
	}
}

/* Make peers and flows what cl->rs holds (empty after routeintake_reset:
 * none). Flows borrow peers: peers first, pruned last. */
static void apply_route_set(struct client *cl, uint64_t now_us)
{
	peer_apply(cl, cl->rs.peers, cl->rs.n_peers, now_us);
	flow_udp_apply(cl, cl->rs.routes, cl->rs.n_routes, cl->rs.opts, cl->rs.n_opts, now_us);
	flow_tcp_apply(cl, cl->rs.routes, cl->rs.n_routes, now_us);
	peer_prune(cl, cl->rs.peers, cl->rs.n_peers);
}

static void on_sync(struct client *cl, const struct frame *f, uint64_t now_us)
{
	const struct frame_sync *s = &f->u.sync;
	struct srvconn *sc = &cl->srv;
	enum routeintake_sync v = routeintake_on_sync(&cl->rs, s);

	if (v == ROUTEINTAKE_SYNC_WAIT) {
		return;
	}
	if (sc->is_refused) {
		sc->is_refused = false;
		sc->held_by[0] = '\0';
		log_info("server: this process holds id %s now", cl->ini->id);
	}
	sc->has_sync = true;
	if (!sc->is_registered) {
		sc->is_registered = true;
		uplink_on_server_up(cl, now_us);
	}
	if (s->keepalive_s > 0 && s->keepalive_s != sc->keepalive_s) {
		sc->keepalive_s = s->keepalive_s;
		sc->next_ping_us = min_u64(sc->next_ping_us, now_us + srvconn_keepalive_us(cl));
		log_info("server: keepalive_s=%u", (unsigned)s->keepalive_s);
		uplink_on_keepalive(cl, now_us);
	}
	if (v == ROUTEINTAKE_SYNC_APPLY) {
		apply_route_set(cl, now_us);
		routeintake_applied(&cl->rs);
		log_info("routes: generation=%llu flows=%zu peers=%zu",
			 (unsigned long long)s->generation, cl->rs.n_routes, cl->rs.n_peers);
	}
	ack_sync(cl, s->generation, s->count, now_us);
}

static void on_relay_bind(struct client *cl, const struct frame *f, uint64_t now_us)
{
	if (f->u.relay_bind.flags & FRAME_RELAY_BIND_ACK) {
		peer_on_bind_ack(cl, &f->u.relay_bind, now_us);
	}
}

static void on_punch(struct client *cl, const struct frame *f, uint64_t now_us)
{
	direct_on_punch(cl, &f->u.punch, now_us);
}

static void on_flow_join_ack(struct client *cl, const struct frame *f, uint64_t now_us)
{
	joinwait_on_ack(cl, &f->u.flow_join_ack, now_us);
}

/* The server checks we are alive (another process registers with our
 * identity: PROTOCOL.md "One identity, two processes"). */
static void on_server_ping(struct client *cl, const struct frame *f, uint64_t now_us)
{
	struct frame pong;

	memset(&pong, 0, sizeof(pong));
	pong.type = FRAME_PONG;
	pong.u.pong.id = f->u.ping.id;
	pong.u.pong.echo_tx_us = f->u.ping.tx_us;
	(void)srvconn_send(cl, &pong, NULL, now_us);
}

/* Taken after the packet's other frames (it ends the session). */
static void on_in_use(struct client *cl, const struct frame *f, uint64_t now_us)
{
	(void)now_us;
	cl->srv.in_use = f->u.in_use;
	cl->srv.has_in_use = true;
}

/* Another process holds our identity: hold no flows (they would take the
 * holder's peers and paths), drop the session and initiate again when the
 * server says. */
static void refused(struct client *cl, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;
	const struct frame_in_use *u = &sc->in_use;
	bool is_checking = (u->flags & FRAME_IN_USE_CHECKING) != 0;
	const char *at = "";

	sc->held_by[0] = '\0';
	if (u->n_holder == 1) {
		struct sockaddr_storage ss;

		frameaddr_to_sockaddr(&u->holder[0], &ss);
		addr_format((const struct sockaddr *)&ss, sc->held_by, sizeof(sc->held_by));
		at = " at ";
	}
	if (!is_checking && (sc->refused_warned_us == 0 ||
			     now_us - sc->refused_warned_us >= SRVCONN_REFUSED_WARN_US)) {
		sc->refused_warned_us = now_us;
		log_warn(
			"server: id %s is in use by another running process%s%s: this one holds no "
			"flows and tries again every %u s; give each machine its own id and key",
			cl->ini->id, at, sc->held_by, (unsigned)(u->retry_ms / 1000));
	} else if (is_checking && !sc->is_refused) {
		log_info("server: another process had id %s%s%s until just now; the server checks "
			 "that it is gone (trying again in %u ms)",
			 cl->ini->id, at, sc->held_by, (unsigned)u->retry_ms);
	}
	if (!sc->is_refused && (cl->flows || cl->peers || cl->tcp)) {
		log_info("routes: dropped (this process does not hold id %s)", cl->ini->id);
	}
	sc->is_refused = true;
	if (srvconn_new_session(cl) != 0) {
		log_error("server: out of memory for a new session");
	}
	routeintake_reset(&cl->rs); /* (srvconn_new_session does too, unless it failed) */
	apply_route_set(cl, now_us);
	sc->init_tries = 0;
	sc->backoff_us = SRVCONN_BACKOFF_MIN_US;
	sc->next_init_us = now_us + (uint64_t)u->retry_ms * 1000u;
	if (!is_checking) { /* twins refused together do not come back in step */
		sc->next_init_us += randombytes_uniform(u->retry_ms / 4 + 1) * 1000ull;
	}
}

/* PONG: the sign of life is the authenticated packet; its echo may answer
 * a restart notice's check. */
static void on_pong(struct client *cl, const struct frame *f, uint64_t now_us)
{
	(void)now_us;
	srvconn_on_pong(cl, f->u.pong.echo_tx_us);
}

static void on_link_mtu(struct client *cl, const struct frame *f, uint64_t now_us)
{
	(void)now_us;
	linkmtu_on_relay(cl, &f->u.link_mtu);
}

static srv_frame_fn *const srv_handlers[FRAME_TYPE_COUNT] = {
	[FRAME_PUNCH] = on_punch,
	[FRAME_ROUTE] = on_route,
	[FRAME_PEER] = on_peer,
	[FRAME_SYNC] = on_sync,
	[FRAME_RELAY_BIND] = on_relay_bind,
	[FRAME_FLOW_OPTS] = on_flow_opts,
	[FRAME_FLOW_JOIN_ACK] = on_flow_join_ack,
	[FRAME_LINK_MTU] = on_link_mtu,
	[FRAME_PING] = on_server_ping,
	[FRAME_PONG] = on_pong,
	[FRAME_IN_USE] = on_in_use,
};

/* The server sends a route set by our other uplinks only when we left it
 * unacked (PROTOCOL.md "Multipath"): our acks leave by the control uplink,
 * which may be dead with its interface up, and with no peer's relay pings
 * to tell (relaypath.c) only the keepalive would, up to keepalive_s + 3 s
 * later. Check the session's path now. */
static void set_by_other_uplink(struct client *cl, int fd, uint64_t now_us)
{
	const struct uplink *u = uplink_by_fd(cl, fd);
	char why[128];

	if (!u) {
		return;
	}
	snprintf(why, sizeof(why),
		 "its route set came again by uplink %s: it did not hear our ack by uplink %s",
		 uplink_label(cl, u->id), uplink_label(cl, cl->ctl));
	srvconn_suspect(cl, why, now_us);
}

void srvconn_on_transport(struct client *cl, int fd, const uint8_t *buf, size_t len,
			  uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;
	struct frame_reader fr;
	struct frame f;
	size_t pt_len = 0;
	int rc;

	if (!sc->sess ||
	    session_open(sc->sess, now_us, buf, len, cl->rx_pt, sizeof(cl->rx_pt), &pt_len) != 0) {
		cl->drop_auth++;
		return;
	}
	sc->rx_packets++;
	/* Only what comes back on the control uplink proves the session's
	 * path: relay-bind acks to other uplinks do not. */
	if (fd == uplink_ctl_fd(cl)) {
		sc->last_rx_us = now_us;
	} else {
		uplink_on_server_rx(cl, fd, now_us);
	}
	if (fd == uplink_ctl_fd(cl) && sc->is_awaiting_pong) {
		sc->is_awaiting_pong = false;
		sc->is_suspect = false;
		sc->unanswered = 0;
		sc->next_ping_us = now_us + srvconn_keepalive_us(cl);
	}
	frame_reader_init(&fr, cl->rx_pt, pt_len);
	while ((rc = frame_read_next(&fr, &f)) == 1) {
		if ((size_t)f.type < FRAME_TYPE_COUNT && srv_handlers[f.type]) {
			srv_handlers[f.type](cl, &f, now_us);
		}
		if (f.type == FRAME_SYNC && fd != uplink_ctl_fd(cl)) {
			set_by_other_uplink(cl, fd, now_us);
		}
	}
	if (rc < 0) {
		cl->drop_frames++;
	}
	if (sc->has_in_use) {
		sc->has_in_use = false;
		refused(cl, now_us);
	}
	srvconn_rearm(cl, now_us, false);
}
