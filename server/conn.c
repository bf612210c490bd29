/* conn: the server half of the client<->server protocol (PROTOCOL.md
 * "Sessions", "Client <-> server", "Route sets", "Relay"; DESIGN §3, §5.1).
 * Owns the cookie checker, the initiation rate limiters and the session
 * timer; borrows the registry (clients and sessions), the listener and the
 * relay. Checks run cheapest first (STYLE §7): size and type (demux) ->
 * mac1 -> load and rate -> Noise -> client lookup -> stamp; and for
 * transport: receiver index -> AEAD open -> replay -> frames. Only
 * authenticated input changes a client's state. Must not: parse wire bytes
 * by hand beyond the receiver index, allocate per packet. */
#include "conn.h"
#include "connhs.h"
#include "connset.h"
#include "conntwin.h"
#include "connuplink.h"

#include "common/addr.h"
#include "common/compiler.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/wallclock.h"
#include "config/routes.h"
#include "listener.h"
#include "proto/frame.h"
#include "proto/session.h"
#include "proto/wire.h"
#include "registry.h"
#include "relay.h"
#include "relaystate.h"
#include "routeset.h"

#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const drop_names[CONN_DROP_COUNT] = {
	[CONN_DROP_BAD_MAC1] = "bad_mac1",
	[CONN_DROP_RATELIMIT] = "ratelimit",
	[CONN_DROP_HANDSHAKE_INVALID] = "handshake_invalid",
	[CONN_DROP_UNKNOWN_KEY] = "unknown_key",
	[CONN_DROP_STALE_STAMP] = "stale_stamp",
	[CONN_DROP_NO_INDEX] = "no_index",
	[CONN_DROP_NOT_OURS] = "not_ours",
	[CONN_DROP_UNKNOWN_INDEX] = "unknown_index",
	[CONN_DROP_OPEN_FAILED] = "open_failed",
	[CONN_DROP_REPLAY] = "replay",
	[CONN_DROP_BAD_FRAMES] = "bad_frames",
	[CONN_DROP_RESPONSE_INVALID] = "response_invalid",
	[CONN_DROP_BIND_WRONG_CLIENT] = "bind_wrong_client",
	[CONN_DROP_BIND_MISMATCH] = "bind_mismatch",
	[CONN_DROP_STALE_ACK] = "stale_ack",
	[CONN_DROP_TX_FAILED] = "tx_failed",
};

const char *conn_drop_name(enum conn_drop why)
{
	return (unsigned)why < CONN_DROP_COUNT ? drop_names[why] : "?";
}

const char *conn_natclass_name(uint8_t natclass)
{
	static const char *const names[] = {
		"unknown",  "open", "full-cone", "restricted-cone", "port-restricted-cone",
		"symmetric"};

	return natclass < WH_ARRAY_LEN(names) ? names[natclass] : "?";
}

static void drop(struct conn *cn, enum conn_drop why)
{
	conn_count_drop(cn, why);
}

static uint64_t keepalive_us(const struct conn *cn)
{
	return (uint64_t)cn->routes->server.keepalive_s * 1000000ull;
}

/* PROTOCOL.md "Stamps": offline = no authenticated packet for 3 intervals. */
bool conn_client_silent(const struct conn *cn, const struct registry_client *c, uint64_t now_us)
{
	return c->last_rx_us == 0 || c->has_left ||
	       now_us - c->last_rx_us > CONN_OFFLINE_INTERVALS * keepalive_us(cn);
}

/* ---- sending ---- */

int conn_send_sealed_to(struct conn *cn, struct registry_client *c,
			const struct listener_sock *sock, const struct sockaddr *dst,
			const uint8_t *pt, size_t len, uint64_t now_us)
{
	size_t n = 0;
	int rc;

	if (!sock) {
		return -ENOTCONN;
	}
	rc = session_seal(c->session, now_us, pt, len, cn->tx_pkt, sizeof(cn->tx_pkt), &n);
	if (rc == 0) {
		rc = listener_send(cn->listener, sock, dst,
				   addr_len((const struct sockaddr_storage *)(const void *)dst),
				   cn->tx_pkt, n);
	}
	if (rc != 0) {
		drop(cn, CONN_DROP_TX_FAILED);
	}
	return rc;
}

/* To c's main address. */
static int send_sealed(struct conn *cn, struct registry_client *c, const uint8_t *pt, size_t len,
		       uint64_t now_us)
{
	return conn_send_sealed_to(cn, c, c->sock, (const struct sockaddr *)&c->addr, pt, len,
				   now_us);
}

/* Encode one frame into tx_pt. Returns its length, or 0 on failure. */
static size_t encode_frame(struct conn *cn, const struct frame *f)
{
	struct wire_writer w;
	size_t len = 0;

	wire_writer_init(&w, cn->tx_pt, sizeof(cn->tx_pt));
	if (frame_write(&w, f) != 0 || wire_writer_done(&w, &len) != 0) {
		return 0;
	}
	return len;
}

int conn_seal_frame(struct conn *cn, struct registry_client *c, const struct frame *f,
		    uint64_t now_us, size_t *n)
{
	size_t len = encode_frame(cn, f);

	if (len == 0) {
		return -EINVAL;
	}
	return session_seal(c->session, now_us, cn->tx_pt, len, cn->tx_pkt, sizeof(cn->tx_pkt), n);
}

int conn_send_frame_to(struct conn *cn, struct registry_client *c, const struct listener_sock *sock,
		       const struct sockaddr *dst, const struct frame *f, uint64_t now_us)
{
	size_t len = encode_frame(cn, f);

	return len > 0 ? conn_send_sealed_to(cn, c, sock, dst, cn->tx_pt, len, now_us) : -EINVAL;
}

void conn_routes_changed(struct conn *cn, const struct routes *r, uint64_t now_us)
{
	cn->routes = r;
	punchcoord_prune(&cn->punch, r);
	connset_push_all(cn, now_us);
}

/* ---- frames from a client ---- */

typedef void frame_fn(struct conn *cn, struct registry_client *c, const struct frame *f,
		      uint64_t now_us);

/* The relay forwards through the server's own links: a client keeps its
 * stream packets on the relay path within their MTU. Back to where the
 * REGISTER came from (each uplink registers from its own socket). Older
 * clients skip the frame type. */
static void send_link_mtu(struct conn *cn, struct registry_client *c, uint64_t now_us)
{
	struct frame f;
	size_t len;

	if (cn->listener->link_mtu < FRAME_LINK_MTU_MIN || cn->listener->link_mtu > 0xFFFF) {
		return;
	}
	memset(&f, 0, sizeof(f));
	f.type = FRAME_LINK_MTU;
	f.u.link_mtu.mtu = (uint16_t)cn->listener->link_mtu;
	len = encode_frame(cn, &f);
	if (len > 0) {
		(void)conn_send_sealed_to(cn, c, cn->rx_sock, cn->rx_from, cn->tx_pt, len, now_us);
	}
}

/* What a main uplink's REGISTER says of the client: its uplink, NAT class and
 * local addresses; online (or a changed NAT class) is worth a line. */
static void take_registration(struct conn *cn, struct registry_client *c, const struct frame *f,
			      uint64_t now_us)
{
	char text[ADDR_TEXT_MAX];
	uint8_t was = c->natclass;

	if (registry_uplink_set_main(c, f->u.reg.uplink_id)) {
		/* The client moved its session to another uplink (its first
		 * one is down): that uplink is the main address now. */
		log_info("client %s: session on uplink %u (%s) now", c->id,
			 (unsigned)f->u.reg.uplink_id,
			 f->u.reg.name.len ? f->u.reg.name.text : "-");
		cn->uplinks_changed = true;
	}
	snprintf(c->uplinks[c->main_uplink].name, sizeof(c->uplinks[0].name), "%s",
		 f->u.reg.name.text);
	c->natclass = f->u.reg.natclass;
	c->alloc_step = f->u.reg.alloc_step;
	c->n_local = f->u.reg.addr_count;
	memcpy(c->local, f->u.reg.addrs, sizeof(c->local[0]) * c->n_local);
	c->registered_us = now_us;
	if (!c->is_online) {
		c->is_online = true;
		log_info("client %s: online addr=%s nat=%s uplink=%u", c->id,
			 addr_format((const struct sockaddr *)&c->addr, text, sizeof(text)),
			 conn_natclass_name(c->natclass), (unsigned)f->u.reg.uplink_id);
	} else if (c->natclass != was) {
		/* Clients register again once their NAT class is known or changed
		 * (authenticated, so at most as often as the client sends it). */
		log_info("client %s: nat=%s was=%s addr=%s", c->id, conn_natclass_name(c->natclass),
			 conn_natclass_name(was),
			 addr_format((const struct sockaddr *)&c->addr, text, sizeof(text)));
	}
}

/* The REGISTER's boot id: true when it is another process's than before. */
static bool take_boot_id(struct registry_client *c, uint64_t boot_id, uint64_t now_us)
{
	char text[ADDR_TEXT_MAX];

	if (boot_id == c->boot_id) {
		return false;
	}
	/* A restart never brings an older process back: one that comes back
	 * is a second machine with the same id and key, and the two keep
	 * replacing each other's session and paths. */
	if (c->boot_id != 0 && boot_id == c->prev_boot_id) {
		if (c->twin_warned_us == 0 || now_us - c->twin_warned_us >= CONN_TWIN_WARN_US) {
			c->twin_warned_us = now_us;
			log_warn(
				"client %s: two processes take turns with this identity (from %s "
				"and another address): give each machine its own id and key",
				c->id,
				addr_format((const struct sockaddr *)&c->addr, text, sizeof(text)));
		}
	} else if (c->boot_id != 0) {
		log_info("client %s: restarted (another process)", c->id);
	}
	c->prev_boot_id = c->boot_id;
	c->boot_id = boot_id;
	return true;
}

static void on_register(struct conn *cn, struct registry_client *c, const struct frame *f,
			uint64_t now_us)
{
	bool woke;

	if (cn->rx_uplink != CONN_RX_MAIN) {
		/* A secondary uplink's: taken before the frames (classify). */
		if (f->u.reg.uplink_id != cn->rx_uplink) {
			cn->stats.frames_ignored++;
		}
		return;
	}
	take_registration(cn, c, f, now_us);
	/* Pairs released while idle get new ports when a client is back; the
	 * peers' sets change too (their PEER frame comes back). So do they
	 * when the client is another process (restarted): its boot id. */
	woke = relay_wake(cn->relay, cn->routes, c->id, now_us);
	if (take_boot_id(c, f->u.reg.boot_id, now_us)) {
		woke = true;
	}
	if (woke) {
		connset_push_all(cn, now_us);
	}
	/* A (re)registering client may have lost its state: send the set
	 * again and wait for its ack, even if an older process acked it. */
	c->gen_acked = 0;
	connset_push(cn, c, now_us, true);
	send_link_mtu(cn, c, now_us);
}

/* The client's process stops (PROTOCOL.md "One identity, two processes"):
 * offline now, and a new process takes the identity without a probe. */
static void on_leave(struct conn *cn, struct registry_client *c, const struct frame *f,
		     uint64_t now_us)
{
	(void)cn;
	(void)f;
	(void)now_us;
	/* From any of its uplinks: it is the session's own word. */
	if (c->is_online) {
		log_info("client %s: offline (its process stopped)", c->id);
	}
	c->is_online = false;
	c->has_left = true;
	c->twin_probe_us = 0;
}

static void on_ping(struct conn *cn, struct registry_client *c, const struct frame *f,
		    uint64_t now_us)
{
	struct frame pong;
	size_t len;

	memset(&pong, 0, sizeof(pong));
	pong.type = FRAME_PONG;
	pong.u.pong.id = f->u.ping.id;
	pong.u.pong.echo_tx_us = f->u.ping.tx_us;
	pong.u.pong.hold_us = 0; /* answered in the same pass */
	len = encode_frame(cn, &pong);
	/* Back to where the PING came from: a client pings from each uplink's
	 * socket, to keep its NAT mapping open and measure it. */
	if (len > 0) {
		(void)conn_send_sealed_to(cn, c, cn->rx_sock, cn->rx_from, cn->tx_pt, len, now_us);
	}
}

static void on_sync(struct conn *cn, struct registry_client *c, const struct frame *f,
		    uint64_t now_us)
{
	(void)now_us;
	connset_on_ack(cn, c, f);
}

static void punch_send_cb(void *ctx, struct registry_client *c, const struct frame *f,
			  uint64_t now_us)
{
	struct conn *cn = ctx;
	size_t len = encode_frame(cn, f);

	if (len > 0) {
		(void)send_sealed(cn, c, cn->tx_pt, len, now_us);
	}
}

/* Hole punching: requests for help and path reports (punchcoord.h). */
static void on_path(struct conn *cn, struct registry_client *c, const struct frame *f,
		    uint64_t now_us)
{
	const struct frame_path *p = &f->u.path;

	if (p->peer.len == 0) {
		cn->stats.frames_ignored++;
		return;
	}
	switch (p->op) {
	case FRAME_PATH_PUNCH_REQUEST:
		punchcoord_on_request(&cn->punch, cn->reg, cn->routes, c, p->uplink, p->peer.text,
				      p->peer_uplink, cn->routes->server.punch,
				      cn->routes->server.punch_spray, now_us, punch_send_cb, cn);
		break;
	case FRAME_PATH_UP:
	case FRAME_PATH_DOWN:
		punchcoord_on_report(&cn->punch, cn->reg, c, p, now_us);
		break;
	default:
		cn->stats.frames_ignored++;
		break;
	}
}

static void on_path_stats(struct conn *cn, struct registry_client *c, const struct frame *f,
			  uint64_t now_us)
{
	punchcoord_on_stats(&cn->punch, cn->reg, c, &f->u.path_stats, now_us);
}

/* A client's flow counters (for the API), for flows it is a member of. */
static void on_flow_stats(struct conn *cn, struct registry_client *c, const struct frame *f,
			  uint64_t now_us)
{
	const struct routes_flow *fl = routes_find_flow(cn->routes, f->u.flow_stats.flow.text);
	int err;

	if (!fl || !routes_flow_has_member(fl, c->id)) {
		cn->stats.frames_ignored++;
		return;
	}
	err = registry_flowstat_put(c, &f->u.flow_stats, now_us);
	if (err != 0) {
		cn->stats.frames_ignored++;
		log_ratelimited(&c->fstats_log, now_us, LOG_LEVEL_WARN,
				"client %s: flow %s: stats not kept: %s", c->id, fl->name,
				strerror(-err));
	}
}

/* Keep the request: the join may apply a new configuration, which must not
 * happen while this packet's frames (and c) are in use. One per packet. */
static void on_flow_join(struct conn *cn, struct registry_client *c, const struct frame *f,
			 uint64_t now_us)
{
	(void)now_us;
	if (!cn->on_join || cn->has_join) {
		cn->stats.frames_ignored++;
		return;
	}
	cn->has_join = true;
	snprintf(cn->join_id, sizeof(cn->join_id), "%s", c->id);
	cn->join_req = f->u.flow_join;
}

/* Answer the packet's FLOW_JOIN, if any, once its frames are done. */
static void run_join(struct conn *cn, uint64_t now_us)
{
	struct frame ack;
	struct registry_client *c;
	size_t len;

	if (!cn->has_join) {
		return;
	}
	cn->has_join = false;
	memset(&ack, 0, sizeof(ack));
	ack.type = FRAME_FLOW_JOIN_ACK;
	cn->on_join(cn->join_ctx, cn->join_id, &cn->join_req, &ack.u.flow_join_ack, now_us);
	/* A commit may have rebuilt the registry: find the client again. */
	c = registry_find_by_id(cn->reg, cn->join_id);
	len = c ? encode_frame(cn, &ack) : 0;
	if (len > 0) {
		(void)send_sealed(cn, c, cn->tx_pt, len, now_us);
	}
}

static frame_fn *const frame_handlers[FRAME_TYPE_COUNT] = {
	[FRAME_FLOW_STATS] = on_flow_stats,
	[FRAME_PATH] = on_path,
	[FRAME_PATH_STATS] = on_path_stats,
	[FRAME_REGISTER] = on_register,
	[FRAME_PING] = on_ping,
	[FRAME_LEAVE] = on_leave,
	[FRAME_SYNC] = on_sync,
	[FRAME_FLOW_JOIN] = on_flow_join,
};

static void handle_frames(struct conn *cn, struct registry_client *c, size_t len, uint64_t now_us)
{
	struct frame_reader fr;
	struct frame f;
	int rc;

	frame_reader_init(&fr, cn->rx_pt, len);
	while ((rc = frame_read_next(&fr, &f)) == 1) {
		frame_fn *fn = (unsigned)f.type < FRAME_TYPE_COUNT ? frame_handlers[f.type] : NULL;

		if (!fn) {
			cn->stats.frames_ignored++;
			continue;
		}
		fn(cn, c, &f, now_us);
	}
	if (rc < 0) {
		drop(cn, CONN_DROP_BAD_FRAMES);
	}
}

/* ---- transport ---- */

/* Open buf with the session that owns its receiver index. Returns the client
 * (rx_pt holds *len plaintext bytes) or NULL (dropped and counted). */
static struct registry_client *open_transport(struct conn *cn, const uint8_t *buf, size_t len,
					      const char *owner, size_t *pt_len, uint64_t now_us)
{
	uint32_t idx = wire_get_u32(buf + WIRE_MSG_TYPE_LEN);
	struct registry_client *c;
	int rc;

	if (!(idx & REGISTRY_INDEX_TOP)) {
		drop(cn, CONN_DROP_NOT_OURS);
		return NULL;
	}
	c = registry_find_by_index(cn->reg, idx);
	if (!c) {
		drop(cn, CONN_DROP_UNKNOWN_INDEX);
		return NULL;
	}
	if (owner && strcmp(owner, c->id) != 0) {
		drop(cn, CONN_DROP_BIND_WRONG_CLIENT);
		return NULL;
	}
	rc = session_open(c->session, now_us, buf, len, cn->rx_pt, sizeof(cn->rx_pt), pt_len);
	if (rc != 0) {
		drop(cn, rc == -EALREADY ? CONN_DROP_REPLAY : CONN_DROP_OPEN_FAILED);
		return NULL;
	}
	cn->stats.transport_rx++;
	cn->rx_prev_last_us = c->last_rx_us;
	cn->rx_prev_left = c->has_left;
	c->last_rx_us = now_us;
	c->has_left = false; /* LEAVE sets it again after this */
	return c;
}

/* PROTOCOL.md: any authenticated packet updates the mapped address. */
static void note_address(struct registry_client *c, const struct listener_sock *sock,
			 const struct sockaddr *from)
{
	char a[ADDR_TEXT_MAX], b[ADDR_TEXT_MAX];

	if (c->sock == sock && c->addr_len != 0 &&
	    addr_equal(from, (const struct sockaddr *)&c->addr)) {
		return;
	}
	if (c->addr_len != 0 && c->is_online) {
		log_info("client %s: address %s -> %s", c->id,
			 addr_format((const struct sockaddr *)&c->addr, a, sizeof(a)),
			 addr_format(from, b, sizeof(b)));
	}
	memset(&c->addr, 0, sizeof(c->addr));
	c->addr_len = addr_len((const struct sockaddr_storage *)(const void *)from);
	memcpy(&c->addr, from, c->addr_len);
	c->sock = sock;
}

/* ---- transport (uplinks: connuplink.c) ---- */

static void on_transport(struct conn *cn, struct listener_sock *sock, const uint8_t *buf,
			 size_t len, const struct sockaddr *from, uint64_t now_us)
{
	uint32_t idx = wire_get_u32(buf + WIRE_MSG_TYPE_LEN);
	struct registry_client *c;
	struct connuplink_peek pk;
	size_t pt_len = 0;
	bool is_fresh;

	c = open_transport(cn, buf, len, NULL, &pt_len, now_us);
	if (!c) {
		return;
	}
	/* The first packet under keys of a handshake we answered: when it
	 * registers (the uplink its session runs on), the client (re)started
	 * its session, and registers its other uplinks again. A rekey's first
	 * packet does not register. */
	is_fresh = c->fresh_index != 0 && c->fresh_index == idx;
	if (is_fresh) {
		c->fresh_index = 0;
	}
	connuplink_peek(cn, pt_len, &pk);
	is_fresh = is_fresh && pk.has_reg;
	if (is_fresh) {
		/* Judged by the holder's last packet, not this one. */
		c->last_rx_us = cn->rx_prev_last_us;
		c->has_left = cn->rx_prev_left;
		if (conntwin_refuses(cn, c, idx, &pk.reg, sock, from, now_us)) {
			return;
		}
		c->last_rx_us = now_us;
		c->has_left = false;
	}
	if (is_fresh && registry_uplink_clear(c) != 0) {
		log_info("client %s: new session, uplinks dropped until registered again", c->id);
		cn->uplinks_changed = true;
	}
	cn->rx_sock = sock;
	cn->rx_from = from;
	cn->rx_uplink = connuplink_classify(cn, c, sock, from, &pk, is_fresh);
	if (cn->rx_uplink == CONN_RX_MAIN) {
		note_address(c, sock, from);
		c->uplinks[c->main_uplink].last_rx_us = now_us;
		c->uplinks[c->main_uplink].rx_packets++;
	} else {
		connuplink_note(cn, c, cn->rx_uplink, sock, from, &pk, now_us);
	}
	handle_frames(cn, c, pt_len, now_us);
	cn->rx_sock = NULL;
	cn->rx_from = NULL;
	cn->rx_uplink = CONN_RX_MAIN;
	if (cn->uplinks_changed) {
		cn->uplinks_changed = false;
		connset_push_all(cn, now_us);
	}
	/* c may be gone after this (a join can apply a new configuration). */
	run_join(cn, now_us);
}

static void on_wh_cb(void *ctx, struct listener_sock *sock, enum demux_kind kind,
		     const uint8_t *buf, size_t len, const struct sockaddr *from, uint64_t now_us)
{
	struct conn *cn = ctx;

	switch (kind) {
	case DEMUX_INITIATION:
		connhs_on_initiation(cn, sock, buf, len, from, now_us);
		return;
	case DEMUX_TRANSPORT:
		on_transport(cn, sock, buf, len, from, now_us);
		return;
	case DEMUX_RESPONSE:
	case DEMUX_COOKIE_REPLY:
		connhs_on_reply(cn, kind, buf, len, from, now_us);
		return;
	default:
		return;
	}
}

/* ---- relay binds ---- */

static void bind_ack(struct conn *cn, struct registry_client *c, struct relay_sock *rs,
		     const struct frame *f, const struct sockaddr *from, uint64_t now_us)
{
	struct frame ack = *f;
	size_t len, n = 0;

	ack.u.relay_bind.flags = FRAME_RELAY_BIND_ACK;
	len = encode_frame(cn, &ack);
	if (len == 0 ||
	    session_seal(c->session, now_us, cn->tx_pt, len, cn->tx_pkt, sizeof(cn->tx_pkt), &n) !=
		    0 ||
	    relay_side_send(rs, from, cn->tx_pkt, n) != 0) {
		drop(cn, CONN_DROP_TX_FAILED);
	}
}

/* relay_server_rx_fn: RELAY_BIND{peer = the other side, relay_port = this
 * side's port}, sealed by the client owning this side, binds the side to
 * the datagram's source; the ack leaves from the same port. */
static void on_relay_cb(void *ctx, struct relay_sock *rs, const uint8_t *buf, size_t len,
			const struct sockaddr *from, uint64_t now_us)
{
	struct conn *cn = ctx;
	struct relay_side *side = rs->side;
	const char *other = side->pair->side[1 - side->index].id;
	struct registry_client *c;
	struct frame_reader fr;
	struct frame f;
	size_t pt_len = 0;
	int rc;

	c = open_transport(cn, buf, len, side->id, &pt_len, now_us);
	if (!c) {
		return;
	}
	frame_reader_init(&fr, cn->rx_pt, pt_len);
	while ((rc = frame_read_next(&fr, &f)) == 1) {
		if (f.type != FRAME_RELAY_BIND || (f.u.relay_bind.flags & FRAME_RELAY_BIND_ACK)) {
			cn->stats.frames_ignored++;
			continue;
		}
		if (strcmp(f.u.relay_bind.peer.text, other) != 0 ||
		    f.u.relay_bind.relay_port != side->port) {
			drop(cn, CONN_DROP_BIND_MISMATCH);
			continue;
		}
		relay_side_bind(rs, from, f.u.relay_bind.flags & FRAME_RELAY_BIND_PRIMARY, now_us);
		bind_ack(cn, c, rs, &f, from, now_us);
	}
	if (rc < 0) {
		drop(cn, CONN_DROP_BAD_FRAMES);
	}
}

/* ---- timers ---- */

/* Initiation stamps the server sends: wall-clock µs, never going back. */
static uint64_t next_stamp(struct registry_client *c)
{
	uint64_t wall = wallclock_now_us();

	c->stamp = wall > c->stamp ? wall : c->stamp + 1;
	return c->stamp;
}

static void session_due(struct conn *cn, struct registry_client *c, uint64_t now_us)
{
	uint8_t init[WIRE_INIT_LEN];
	uint32_t idx;

	switch (session_on_timer(c->session, now_us)) {
	case SESSION_ACT_SEND_INITIATION:
		/* Only towards a client we can reach; otherwise it rekeys. */
		if (!c->is_online || !c->sock) {
			return;
		}
		idx = registry_index_new(cn->reg, c);
		if (idx != 0 &&
		    session_initiation_create(c->session, idx, next_stamp(c), now_us, init) == 0) {
			(void)listener_send(cn->listener, c->sock,
					    (const struct sockaddr *)&c->addr, c->addr_len, init,
					    sizeof(init));
		}
		return;
	case SESSION_ACT_SEND_KEEPALIVE:
		(void)send_sealed(cn, c, NULL, 0, now_us);
		return;
	case SESSION_ACT_ENDED:
		log_debug("client %s: session ended", c->id);
		return;
	default:
		return;
	}
}

static void tick_client(struct conn *cn, struct registry_client *c, uint64_t now_us)
{
	if (session_next_deadline_us(c->session) <= now_us) {
		session_due(cn, c, now_us);
	}
	connuplink_expire(cn, c, now_us);
	conntwin_tick(cn, c, now_us);
	if (c->is_online && conn_client_silent(cn, c, now_us)) {
		c->is_online = false;
		log_info("client %s: offline silent_s=%llu", c->id,
			 (unsigned long long)((now_us - c->last_rx_us) / 1000000ull));
	}
	connset_tick(cn, c, now_us);
	registry_index_purge(cn->reg, c);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *cn = container_of(w, struct conn, tick);
	uint64_t now_us = monotime_now_us();

	(void)loop;
	(void)revents;
	for (size_t i = 0; i < cn->reg->n_clients; i++) {
		tick_client(cn, cn->reg->clients[i], now_us);
	}
	if (relay_tick(cn->relay, now_us) || cn->uplinks_changed) {
		cn->uplinks_changed = false;
		connset_push_all(cn, now_us);
	}
}

/* ---- lifecycle ---- */

/* Something for the peer came to a relay port from an address its client
 * never bound (relay_stranger_fn). A client with a session here binds
 * what it uses (its mapping changes are its own to find); one without has
 * lost the server, which restarted without its binding: told at once, it
 * renews its session now rather than after noticing the relay silent
 * (2.5 s and three probes). */
static void on_stranger_cb(void *ctx, struct relay_sock *rs, const struct sockaddr *from,
			   uint64_t now_us)
{
	struct conn *cn = ctx;
	const struct registry_client *c = registry_find_by_id(cn->reg, rs->side->id);
	char text[ADDR_TEXT_MAX];

	if (c && c->is_online) {
		return;
	}
	if (relaystate_tell(rs, from, cn->routes, wallclock_now_us()) == 0) {
		log_ratelimited(&cn->relay->log_bucket, now_us, LOG_LEVEL_INFO,
				"relay port %u: %s, not registered, sends from %s: told it the "
				"server restarted",
				(unsigned)rs->side->port, rs->side->id,
				addr_format(from, text, sizeof(text)));
	}
}

int conn_init(struct conn *cn, struct ev_loop *loop, struct listener *l, struct registry *reg,
	      struct relay *rl, const struct routes *r, struct diag *d)
{
	memset(cn, 0, sizeof(*cn));
	cn->loop = loop;
	cn->listener = l;
	cn->reg = reg;
	cn->relay = rl;
	cn->routes = r;
	ev_timer_init(&cn->tick, tick_cb, CONN_TICK_S, CONN_TICK_S);
	punchcoord_init(&cn->punch, ((uint64_t)randombytes_random() << 32) | randombytes_random());
	if (cookie_checker_init(&cn->checker, reg->local.pub) != 0) {
		diag_set(d, r->path, r->server.line, "cannot set up handshake cookies");
		return -EIO;
	}
	if (ratelimit_init(&cn->limiter, 4096, WIRE_INIT_PER_SECOND, WIRE_INIT_BURST) != 0) {
		diag_set(d, r->path, r->server.line, "out of memory for the rate limiter");
		return -ENOMEM;
	}
	if (ratelimit_init(&cn->net_limiter, 4096, CONN_LOAD_NET_INITS_PER_S,
			   CONN_LOAD_NET_INITS_BURST) != 0) {
		diag_set(d, r->path, r->server.line, "out of memory for the rate limiter");
		return -ENOMEM;
	}
	l->on_wh = on_wh_cb;
	l->on_wh_ctx = cn;
	rl->on_server = on_relay_cb;
	rl->on_stranger = on_stranger_cb;
	rl->on_server_ctx = cn;
	return 0;
}

void conn_start(struct conn *cn)
{
	ev_timer_start(cn->loop, &cn->tick);
}

void conn_fini(struct conn *cn)
{
	if (!cn->loop) {
		return;
	}
	ev_timer_stop(cn->loop, &cn->tick);
	if (cn->listener && cn->listener->on_wh_ctx == cn) {
		cn->listener->on_wh = NULL;
		cn->listener->on_wh_ctx = NULL;
	}
	if (cn->relay && cn->relay->on_server_ctx == cn) {
		cn->relay->on_server = NULL;
		cn->relay->on_stranger = NULL;
		cn->relay->on_server_ctx = NULL;
	}
	cookie_checker_fini(&cn->checker);
	ratelimit_fini(&cn->limiter);
	ratelimit_fini(&cn->net_limiter);
	punchcoord_fini(&cn->punch);
	cn->loop = NULL;
}
