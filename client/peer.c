/* peer: the client's peers and their sessions over the relay (PROTOCOL.md
 * "Relay", "Sessions"; DESIGN §5.1). Owns, per peer, the Noise IK session,
 * its receiver indices and its one timer, which runs at the earliest of the
 * session's deadline and the next RELAY_BIND (every 1 s until acked, then
 * every keepalive interval). Flow frames inside the session go to
 * flow_udp.c. Must not parse wire bytes by hand. */
#include "peer.h"

#include "client/client.h"
#include "client/flow_tcp.h"
#include "client/flow_udp.h"
#include "client/linkmtu.h"
#include "client/sealout.h"
#include "common/addr.h"
#include "common/b64key.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/wallclock.h"
#include "config/client_ini.h"
#include "proto/session.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

bool peer_keeps_index(void *owner, uint32_t idx)
{
	struct peer *p = owner;

	return p->sess && session_owns_index(p->sess, idx);
}

struct peer *peer_find(struct client *cl, const char *name)
{
	for (struct peer *p = cl->peers; p; p = p->next) {
		if (strcmp(p->def.peer.text, name) == 0) {
			return p;
		}
	}
	return NULL;
}

bool peer_is_relay(const struct peer *p, const struct sockaddr_storage *addr)
{
	return addr_equal((const struct sockaddr *)&p->relay, (const struct sockaddr *)addr) ||
	       addr_equal((const struct sockaddr *)&p->relay_other, (const struct sockaddr *)addr);
}

const struct sockaddr_storage *peer_relay_via(const struct peer *p, uint8_t u)
{
	int family = uplink_family(p->cl, u);

	if (p->relay.ss_family == family) {
		return &p->relay;
	}
	return p->relay_other.ss_family == family ? &p->relay_other : NULL;
}

/* Both relay addresses for the relay port (the session may run through
 * another server address, or family, now). */
static void set_relay_addrs(struct peer *p)
{
	int other;

	client_relay_addr(p->cl, p->def.relay_port, &p->relay);
	other = p->relay.ss_family == AF_INET6 ? AF_INET : AF_INET6;
	client_relay_addr_of(p->cl, other, p->def.relay_port, &p->relay_other);
}

struct peer *peer_find_by_addr(struct client *cl, int fd, const struct sockaddr_storage *addr)
{
	for (struct peer *p = cl->peers; p; p = p->next) {
		if ((uplink_by_fd(cl, fd) && peer_is_relay(p, addr)) ||
		    direct_is_path(p, fd, addr)) {
			return p;
		}
	}
	return NULL;
}

static uint64_t deadline(const struct peer *p)
{
	uint64_t d = p->next_bind_us;

	if (p->sess) {
		uint64_t s = session_next_deadline_us(p->sess);

		d = s < d ? s : d;
	}
	return d;
}

/* Move the timer when the deadline comes earlier, or after it fired. */
static void rearm(struct peer *p, uint64_t now_us, bool fired)
{
	uint64_t d = deadline(p);

	if (!fired && d >= p->armed_us) {
		return;
	}
	ev_timer_stop(p->cl->loop, &p->timer);
	p->armed_us = d;
	if (d == UINT64_MAX) {
		return;
	}
	ev_timer_set(&p->timer, d > now_us ? (double)(d - now_us) / 1e6 : 0.0, 0.0);
	ev_timer_start(p->cl->loop, &p->timer);
}

/* Log the session going up or down, once per change; the direct path
 * follows it. */
static void note_state(struct peer *p, uint64_t now_us)
{
	bool up = p->sess && session_state(p->sess) == SESSION_ESTABLISHED;

	if (up == p->is_up) {
		return;
	}
	if (up) {
		log_info("peer %s: session established", p->def.peer.text);
	} else {
		log_info("peer %s: session down", p->def.peer.text);
	}
	p->is_up = up;
	if (up) {
		/* Maybe a restarted peer, numbering from 1 again. */
		dgdedup_init(&p->dedup);
	}
	direct_on_session(p, up, now_us);
	if (up) {
		linkmtu_tell_peer(p, now_us);
	}
}

static void send_initiation(struct peer *p, uint64_t now_us)
{
	struct client *cl = p->cl;
	uint8_t msg[WIRE_INIT_LEN];
	uint32_t index;
	uint64_t st = stamp_next(&cl->stamp, wallclock_now_us(), now_us);
	const struct sockaddr_storage *dsts[DIRECT_PATHS_MAX];
	int fds[DIRECT_PATHS_MAX];
	int n;

	if (idxmap_take(&cl->idx, &p->idx, IDXMAP_PEER, p, peer_keeps_index, &index) != 0) {
		log_error("peer %s: no free receiver index", p->def.peer.text);
		return;
	}
	if (session_initiation_create(p->sess, index, st, now_us, msg) != 0) {
		return;
	}
	(void)sealout_raw_fd(cl, uplink_ctl_fd(cl), &p->relay, msg, sizeof(msg));
	/* And on the direct paths, which work while the server is away. */
	n = direct_up_paths(p, fds, dsts);
	for (int i = 0; i < n; i++) {
		(void)sealout_raw_fd(cl, fds[i], dsts[i], msg, sizeof(msg));
	}
}

/* A fresh session with p's key (none while refused). Returns 0 or -ENOMEM. */
static int new_session(struct peer *p)
{
	struct client *cl = p->cl;

	idxmap_release_all(&cl->idx, &p->idx);
	session_free(p->sess);
	p->sess = NULL;
	if (p->is_refused) {
		return 0;
	}
	p->sess = session_new(cl->self, p->def.key, NULL);
	return p->sess ? 0 : -ENOMEM;
}

static void send_bind(struct peer *p, uint64_t now_us)
{
	struct frame f;

	if (p->is_refused) {
		/* No session with it: the relay need not forward anything to us. */
		p->next_bind_us = UINT64_MAX;
		return;
	}
	memset(&f, 0, sizeof(f));
	f.type = FRAME_RELAY_BIND;
	f.u.relay_bind.peer = p->def.peer;
	f.u.relay_bind.relay_port = p->def.relay_port;
	f.u.relay_bind.flags = 0;
	/* Sealed in the server session, sent to the relay port itself, from
	 * every open uplink (the relay then survives one going down); the
	 * control uplink's last and as primary, so the relay forwards to it
	 * while it hears it. */
	for (uint8_t u = 0; u < p->cl->n_up; u++) {
		if (u != p->cl->ctl && uplink_is_open(p->cl, u) && peer_relay_via(p, u)) {
			(void)srvconn_send_fd(p->cl, uplink_send_fd(p->cl, u), &f,
					      peer_relay_via(p, u), now_us);
		}
	}
	f.u.relay_bind.flags = FRAME_RELAY_BIND_PRIMARY;
	if (srvconn_send(p->cl, &f, &p->relay, now_us) == 0 && !p->is_bound &&
	    ++p->binds_unacked == PEER_BIND_WARN_TRIES) {
		char a[ADDR_TEXT_MAX];

		log_warn("peer %s: relay port %s answers none of %u binds: check that UDP to the "
			 "server's relay ports (relay_a, relay_b) can leave this network",
			 p->def.peer.text,
			 addr_format((const struct sockaddr *)&p->relay, a, sizeof(a)),
			 PEER_BIND_WARN_TRIES);
	}
	p->next_bind_us = now_us + (p->is_bound ? srvconn_keepalive_us(p->cl) : PEER_BIND_RETRY_US);
}

static void session_timer(struct peer *p, uint64_t now_us)
{
	if (!p->sess) {
		return;
	}
	switch (session_on_timer(p->sess, now_us)) {
	case SESSION_ACT_SEND_INITIATION:
		if (p->is_bound || direct_any_up(p)) {
			send_initiation(p, now_us);
		}
		break;
	case SESSION_ACT_SEND_KEEPALIVE:
		(void)sealout_frame_fd(p->cl, uplink_ctl_fd(p->cl), p->sess, &p->relay, NULL,
				       now_us);
		break;
	case SESSION_ACT_ENDED:
		/* Keys expired or the handshake gave up: start over. */
		note_state(p, now_us);
		if (new_session(p) == 0 && p->is_bound) {
			send_initiation(p, now_us);
		}
		break;
	case SESSION_ACT_NONE:
		break;
	}
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct peer *p = container_of(w, struct peer, timer);
	uint64_t now_us = monotime_now_us();

	(void)loop;
	(void)revents;
	session_timer(p, now_us);
	if (now_us >= p->next_bind_us) {
		send_bind(p, now_us);
	}
	note_state(p, now_us);
	rearm(p, now_us, true);
}

static void peer_free(struct peer *p)
{
	if (!p) {
		return;
	}
	ev_timer_stop(p->cl->loop, &p->timer);
	direct_fini(p);
	idxmap_release_all(&p->cl->idx, &p->idx);
	session_free(p->sess);
	free(p);
}

/* Key check against client.ini pins (one error line per refusal). */
static void check_pin(struct peer *p)
{
	const uint8_t *pin = client_ini_find_pin(p->cl->ini, p->def.peer.text);

	p->is_refused = pin && sodium_memcmp(pin, p->def.key, WIRE_KEY_LEN) != 0;
	if (p->is_refused) {
		log_error("peer %s: key from server does not match the pinned key; refusing",
			  p->def.peer.text);
	}
}

/* Take def (new or changed). A new key means a new session; a new relay
 * port means a new bind. */
static int set_def(struct peer *p, const struct frame_peer *def, uint64_t now_us)
{
	bool new_key = p->sess == NULL || memcmp(p->def.key, def->key, WIRE_KEY_LEN) != 0;

	p->def = *def;
	set_relay_addrs(p);
	p->is_bound = false;
	p->next_bind_us = now_us;
	if (new_key || p->is_refused) {
		check_pin(p);
		if (new_session(p) != 0) {
			return -ENOMEM;
		}
		note_state(p, now_us);
	}
	return 0;
}

static struct peer *peer_new(struct client *cl, const struct frame_peer *def, uint64_t now_us)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (!p) {
		return NULL;
	}
	p->cl = cl;
	p->armed_us = UINT64_MAX;
	ev_init(&p->timer, timer_cb);
	direct_init(p);
	dgdedup_init(&p->dedup);
	if (set_def(p, def, now_us) != 0) {
		peer_free(p);
		return NULL;
	}
	return p;
}

void peer_apply(struct client *cl, const struct frame_peer *defs, size_t n, uint64_t now_us)
{
	for (size_t i = 0; i < n; i++) {
		struct peer *p = peer_find(cl, defs[i].peer.text);
		char fp[B64KEY_FINGERPRINT_MAX];

		if (p && p->def.boot_id != 0 && defs[i].boot_id != 0 &&
		    p->def.boot_id != defs[i].boot_id) {
			/* Another process: it forgot our streams and datagram
			 * numbers. Reset the streams now rather than after their
			 * retransmissions give up (~25 s). */
			log_info("peer %s: restarted (another process)", p->def.peer.text);
			flow_tcp_on_peer_restart(p);
			dgdedup_init(&p->dedup);
			/* Its new process may stamp lower than the old one (a
			 * machine without a real-time clock restarted before
			 * NTP): take its next initiation whatever its stamp (the
			 * server vouches for the restart), and offer ours now. */
			if (p->sess) {
				session_forget_stamp(p->sess);
				if (p->is_bound || direct_any_up(p)) {
					send_initiation(p, now_us);
				}
			}
		}
		if (p) {
			p->def.boot_id = defs[i].boot_id;
		}
		if (p && routeintake_peer_equal(&p->def, &defs[i])) {
			p->def.generation = defs[i].generation;
			if (p->def.uplinks != defs[i].uplinks) {
				/* Its uplinks changed: paths for new pairs. */
				p->def.uplinks = defs[i].uplinks;
				direct_on_uplinks(p, now_us);
			}
			continue;
		}
		b64key_fingerprint(defs[i].key, fp);
		if (p) {
			log_info("peer %s: changed (key %s…, relay port %u)", defs[i].peer.text, fp,
				 (unsigned)defs[i].relay_port);
			if (set_def(p, &defs[i], now_us) != 0) {
				log_error("peer %s: out of memory for its session",
					  p->def.peer.text);
			}
		} else {
			p = peer_new(cl, &defs[i], now_us);
			if (!p) {
				log_error("peer %s: out of memory", defs[i].peer.text);
				continue;
			}
			p->next = cl->peers;
			cl->peers = p;
			log_info("peer %s: added (key %s…, relay port %u)", defs[i].peer.text, fp,
				 (unsigned)defs[i].relay_port);
		}
		send_bind(p, now_us);
		rearm(p, now_us, true);
	}
}

void peer_prune(struct client *cl, const struct frame_peer *defs, size_t n)
{
	struct peer **pp = &cl->peers;

	while (*pp) {
		struct peer *p = *pp;

		if (routeintake_find_peer(defs, n, p->def.peer.text)) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		log_info("peer %s: removed", p->def.peer.text);
		peer_free(p);
	}
}

void peer_free_all(struct client *cl)
{
	while (cl->peers) {
		struct peer *p = cl->peers;

		cl->peers = p->next;
		log_debug("peer %s: tx_packets=%llu tx_bytes=%llu rx_packets=%llu rx_bytes=%llu "
			  "drop_no_session=%llu drop_auth=%llu drop_duplicate=%llu",
			  p->def.peer.text, (unsigned long long)p->stats.tx_packets,
			  (unsigned long long)p->stats.tx_bytes,
			  (unsigned long long)p->stats.rx_packets,
			  (unsigned long long)p->stats.rx_bytes,
			  (unsigned long long)p->stats.drops[PEER_DROP_NO_SESSION],
			  (unsigned long long)p->stats.drops[PEER_DROP_AUTH],
			  (unsigned long long)p->stats.drops[PEER_DROP_DUPLICATE]);
		peer_free(p);
	}
}

void peer_all_rebind(struct client *cl, uint64_t now_us)
{
	for (struct peer *p = cl->peers; p; p = p->next) {
		set_relay_addrs(p);
		p->is_bound = false;
		p->next_bind_us = now_us;
		rearm(p, now_us, false);
	}
}

void peer_all_bind_now(struct client *cl, uint64_t now_us)
{
	for (struct peer *p = cl->peers; p; p = p->next) {
		if (p->next_bind_us != UINT64_MAX) {
			p->next_bind_us = now_us;
			rearm(p, now_us, false);
		}
	}
}

void peer_bind_soon(struct peer *p, uint64_t now_us)
{
	if (p->next_bind_us != UINT64_MAX) {
		p->next_bind_us = now_us;
		rearm(p, now_us, false);
	}
}

void peer_rebind(struct peer *p, uint64_t now_us)
{
	p->is_bound = false;
	send_bind(p, now_us);
	rearm(p, now_us, true);
}

void peer_on_bind_ack(struct client *cl, const struct frame_relay_bind *b, uint64_t now_us)
{
	struct peer *p = peer_find(cl, b->peer.text);

	if (!p || p->def.relay_port != b->relay_port) {
		return;
	}
	if (!p->is_bound) {
		if (p->binds_unacked >= PEER_BIND_WARN_TRIES) {
			log_info("peer %s: relay port %u answers our binds now", p->def.peer.text,
				 (unsigned)b->relay_port);
		} else {
			log_debug("peer %s: relay bound port=%u", p->def.peer.text,
				  (unsigned)b->relay_port);
		}
	}
	p->binds_unacked = 0;
	p->is_bound = true;
	p->next_bind_us = now_us + srvconn_keepalive_us(cl);
	/* Start the end-to-end session as soon as the relay forwards. */
	if (p->sess &&
	    (session_state(p->sess) == SESSION_IDLE || session_state(p->sess) == SESSION_ENDED)) {
		if (session_state(p->sess) == SESSION_ENDED && new_session(p) != 0) {
			return;
		}
		send_initiation(p, now_us);
	}
	rearm(p, now_us, true);
}

/* ---- packets from the relay ---- */

/* Something authenticated came from the peer. After PEER_RETURN_US of
 * silence that is a return (streams resend what timed out meanwhile at
 * once), whatever came first: a handshake response (our initiation, retried
 * across an outage, is often the first thing through) as much as a
 * transport packet. */
static void heard(struct peer *p, uint64_t now_us)
{
	if (p->last_rx_us && now_us - p->last_rx_us >= PEER_RETURN_US) {
		p->returns++;
		log_debug("peer %s: heard again after %llu ms", p->def.peer.text,
			  (unsigned long long)((now_us - p->last_rx_us) / 1000));
	}
	p->last_rx_us = now_us;
}

void peer_on_initiation(struct client *cl, int fd, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *from, uint64_t now_us)
{
	struct session_pending pend;
	uint8_t msg[WIRE_RESP_LEN];
	uint32_t index;
	/* An initiation names no receiver: the relay forwards a peer's packets
	 * from that peer's relay port, and a direct path has a known address,
	 * so the source tells who it is. Unknown sources cost no
	 * Diffie-Hellman. */
	struct peer *p = peer_find_by_addr(cl, fd, from);

	if (!p || !p->sess) {
		cl->drop_no_owner++;
		return;
	}
	if (session_initiation_consume(cl->self, buf, len, &pend) != 0) {
		p->stats.drops[PEER_DROP_HANDSHAKE]++;
		return;
	}
	if (sodium_memcmp(p->def.key, pend.remote_pub, WIRE_KEY_LEN) != 0 ||
	    idxmap_take(&cl->idx, &p->idx, IDXMAP_PEER, p, peer_keeps_index, &index) != 0) {
		session_pending_wipe(&pend);
		p->stats.drops[PEER_DROP_HANDSHAKE]++;
		return;
	}
	/* PROTOCOL.md "Stamps": a peer that was silent (rebooted, maybe without
	 * a real-time clock) may come back with smaller stamps. Its initiation
	 * only makes unconfirmed "next" keys, so a replay cannot hurt. */
	if (session_state(p->sess) != SESSION_ESTABLISHED ||
	    now_us - p->last_rx_us > SRVCONN_LOST_INTERVALS * srvconn_keepalive_us(cl)) {
		session_forget_stamp(p->sess);
	}
	if (session_response_create(p->sess, &pend, index, now_us, msg) != 0) {
		p->stats.drops[PEER_DROP_HANDSHAKE]++;
		return;
	}
	(void)sealout_raw_fd(cl, fd, from, msg, sizeof(msg));
	rearm(p, now_us, false);
}

void peer_on_response(struct peer *p, const uint8_t *buf, size_t len, uint64_t now_us)
{
	if (!p->sess || session_on_response(p->sess, buf, len, now_us) != 0) {
		p->stats.drops[PEER_DROP_HANDSHAKE]++;
		return;
	}
	heard(p, now_us);
	note_state(p, now_us);
	rearm(p, now_us, false);
}

void peer_on_cookie_reply(struct peer *p, const uint8_t *buf, size_t len, uint64_t now_us)
{
	if (!p->sess || session_on_cookie_reply(p->sess, buf, len, now_us) != 0) {
		p->stats.drops[PEER_DROP_HANDSHAKE]++;
	}
}

/* Hand one frame of an authenticated packet to the module that owns its type. */
static void dispatch_frame(struct peer *p, int fd, const struct sockaddr_storage *from,
			   const struct frame *f, uint64_t now_us)
{
	switch (f->type) {
	case FRAME_DATAGRAM:
		if (!(f->u.datagram.flags & FRAME_DATAGRAM_COPY) ||
		    dgdedup_accept(&p->dedup, f->u.datagram.flow_id, f->u.datagram.seq)) {
			flow_udp_on_datagram(p->cl, p, &f->u.datagram, now_us);
		}
		break;
	case FRAME_STREAM: /* TCP flows (flow_tcp.c) */
		flow_tcp_on_stream(p, &f->u.stream, now_us);
		break;
	case FRAME_STREAM_ACK:
		flow_tcp_on_stream_ack(p, &f->u.stream_ack, now_us);
		break;
	case FRAME_PATH:
		direct_on_path(p, fd, from, &f->u.path, now_us);
		break;
	case FRAME_PING:
		direct_on_ping(p, fd, from, &f->u.ping, now_us);
		break;
	case FRAME_PONG:
		direct_on_pong(p, fd, from, &f->u.pong, now_us);
		break;
	case FRAME_CC:
	case FRAME_CC_ECHO:
		flow_udp_on_cc(p->cl, p, f, now_us);
		break;
	case FRAME_LINK_MTU:
		linkmtu_on_frame(p, &f->u.link_mtu, now_us);
		break;
	default:
		break;
	}
}

void peer_on_transport(struct peer *p, int fd, const uint8_t *buf, size_t len,
		       const struct sockaddr_storage *from, uint64_t now_us)
{
	struct client *cl = p->cl;
	struct frame_reader fr;
	struct frame f;
	size_t pt_len = 0;
	int rc = p->sess ? session_open(p->sess, now_us, buf, len, cl->rx_pt, sizeof(cl->rx_pt),
					&pt_len)
			 : -ENOTCONN;

	if (rc != 0) {
		/* A replayed counter is also what a relay forwarding to every
		 * uplink of a redundant pair delivers: the second copy. */
		p->stats.drops[rc == -EALREADY ? PEER_DROP_DUPLICATE : PEER_DROP_AUTH]++;
		if (rc == -EALREADY) {
			direct_note_copy(p, fd, from, buf, len, now_us);
		}
		return;
	}
	p->stats.rx_packets++;
	p->stats.rx_bytes += len;
	heard(p, now_us);
	direct_note_rx(p, fd, from, buf, len, now_us);
	if (!p->is_up) {
		note_state(p, now_us);
	}
	frame_reader_init(&fr, cl->rx_pt, pt_len);
	while ((rc = frame_read_next(&fr, &f)) == 1) {
		dispatch_frame(p, fd, from, &f, now_us);
	}
	if (rc < 0) {
		cl->drop_frames++;
	}
	rearm(p, now_us, false);
}

int peer_send(struct peer *p, const struct frame *f, uint64_t now_us)
{
	return peer_send_mode(p, f, FRAME_MULTIPATH_FAILOVER, now_us);
}

int peer_send_mode(struct peer *p, const struct frame *f, uint8_t mode, uint64_t now_us)
{
	struct frame copy;
	const struct sockaddr_storage *dsts[DIRECT_ROUTE_MAX];
	int fds[DIRECT_ROUTE_MAX];
	int n, rc;

	if (!p->sess) {
		p->stats.drops[PEER_DROP_NO_SESSION]++;
		return -ENOTCONN;
	}
	n = direct_route(p, f->type == FRAME_DATAGRAM ? mode : FRAME_MULTIPATH_FAILOVER, now_us,
			 fds, dsts);
	if (n > 1 && f->type == FRAME_DATAGRAM) {
		/* Copies on several paths (redundant, or a path in doubt and
		 * another): marked, so the receiver keeps only the first. */
		struct frame_datagram d = f->u.datagram;

		copy.type = FRAME_DATAGRAM;
		copy.u.datagram = d;
		copy.u.datagram.flags |= FRAME_DATAGRAM_COPY;
		f = &copy;
	}
	rc = sealout_frame_fd(p->cl, fds[0], p->sess, dsts[0], f, now_us);
	for (int i = 1; rc == 0 && i < n; i++) {
		(void)sealout_frame_fd(p->cl, fds[i], p->sess, dsts[i], f, now_us);
	}
	if (rc == -ENOTCONN || rc == -ESHUTDOWN) {
		p->stats.drops[PEER_DROP_NO_SESSION]++;
		return rc;
	}
	if (rc != 0) {
		p->stats.drops[PEER_DROP_SEAL]++;
		return rc;
	}
	p->stats.tx_packets++;
	p->stats.tx_bytes += session_sealed_len(frame_size(f));
	return 0;
}
