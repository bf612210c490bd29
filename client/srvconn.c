/* srvconn: the client half of PROTOCOL.md "Client <-> server" and "Route
 * sets". Owns the server session and its one timer (STYLE §6): the timer
 * runs at the earliest of the session's deadline, the next initiation retry
 * (backoff 1, 2, 4, 5, 5 ... s, with jitter), the next PING and the loss deadline
 * (3 silent keepalive intervals). REGISTER carries natwatch's NAT class and
 * goes out again when natwatch finds a new class or mapping. The frames the
 * server sends are srvframes.c's (a handler table; route sets are collected
 * in routeintake.c and applied by peer.c, flow_udp.c and flow_tcp.c). Must
 * not parse wire bytes by hand. */
#include "srvconn.h"
#include "srvconn_internal.h"

#include "client/client.h"
#include "client/joinwait.h"
#include "client/linkmtu.h"
#include "client/natwatch.h"
#include "client/peer.h"
#include "client/sealout.h"
#include "client/srvaddr.h"
#include "client/uplink.h"
#include "common/addr.h"
#include "common/b64key.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/wallclock.h"
#include "config/client_ini.h"
#include "proto/frame.h"
#include "proto/restarted.h"
#include "proto/session.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

void srvconn_init(struct srvconn *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->armed_us = UINT64_MAX;
	sc->keepalive_s = SRVCONN_KEEPALIVE_DEFAULT_S;
	sc->backoff_us = SRVCONN_BACKOFF_MIN_US;
	ev_init(&sc->timer, timer_cb);
}

bool srvconn_keeps_index(void *owner, uint32_t idx)
{
	struct srvconn *sc = owner;

	return sc->sess && session_owns_index(sc->sess, idx);
}

bool srvconn_is_up(const struct client *cl)
{
	return cl->srv.is_up;
}

bool srvconn_is_registered(const struct client *cl)
{
	return cl->srv.is_up && cl->srv.is_registered;
}

const char *srvconn_state(const struct client *cl)
{
	if (cl->srv.is_refused) {
		return "refused";
	}
	return cl->srv.is_up ? "up" : "connecting";
}

uint64_t srvconn_keepalive_us(const struct client *cl)
{
	return (uint64_t)cl->srv.keepalive_s * 1000000u;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t deadline(const struct client *cl)
{
	const struct srvconn *sc = &cl->srv;
	uint64_t d = UINT64_MAX;

	if (!sc->is_up) {
		return sc->next_init_us;
	}
	d = min_u64(d, session_next_deadline_us(sc->sess));
	d = min_u64(d, sc->next_ping_us);
	d = min_u64(d, sc->last_rx_us + SRVCONN_LOST_INTERVALS * srvconn_keepalive_us(cl));
	if (sc->notice_at_us != 0) {
		d = min_u64(d, sc->notice_at_us + SRVCONN_NOTICE_CHECK_US);
	}
	if (!sc->has_sync) {
		d = min_u64(d, sc->next_register_us);
	}
	return d;
}

void srvconn_rearm(struct client *cl, uint64_t now_us, bool fired)
{
	struct srvconn *sc = &cl->srv;
	uint64_t d = deadline(cl);

	if (!fired && d >= sc->armed_us) {
		return;
	}
	ev_timer_stop(cl->loop, &sc->timer);
	sc->armed_us = d;
	if (d == UINT64_MAX) {
		return;
	}
	ev_timer_set(&sc->timer, d > now_us ? (double)(d - now_us) / 1e6 : 0.0, 0.0);
	ev_timer_start(cl->loop, &sc->timer);
}

static void send_initiation(struct client *cl, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;
	uint8_t msg[WIRE_INIT_LEN];
	uint32_t index;
	uint64_t st = stamp_next(&cl->stamp, wallclock_now_us(), now_us);

	if (idxmap_take(&cl->idx, &sc->idx, IDXMAP_SERVER, sc, srvconn_keeps_index, &index) != 0) {
		log_error("server: no free receiver index");
		return;
	}
	if (session_initiation_create(sc->sess, index, st, now_us, msg) != 0) {
		log_warn("server: cannot build an initiation");
		return;
	}
	if (sealout_raw_fd(cl, uplink_ctl_fd(cl), client_server_addr(cl), msg, sizeof(msg)) == 0) {
		sc->tx_packets++;
	}
}

int srvconn_new_session(struct client *cl)
{
	struct srvconn *sc = &cl->srv;

	idxmap_release_all(&cl->idx, &sc->idx);
	session_free(sc->sess);
	sc->sess = session_new(cl->self, cl->ini->server_key, NULL);
	if (!sc->sess) {
		return -ENOMEM;
	}
	sc->is_up = false;
	sc->has_sync = false;
	sc->is_registered = false;
	sc->is_awaiting_pong = false;
	sc->is_suspect = false;
	sc->unanswered = 0;
	sc->notice_at_us = 0;
	routeintake_reset(&cl->rs);
	return 0;
}

static void reconnect(struct client *cl, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;

	/* The control uplink just failed to get answers: the first new
	 * initiation goes out of the next uplink already. */
	sc->init_tries = 1;
	sc->lost_us = now_us;
	sc->reconnects++;
	sc->backoff_us = SRVCONN_BACKOFF_MIN_US;
	sc->next_init_us = now_us;
	if (srvconn_new_session(cl) != 0) {
		log_error("server: out of memory for a new session");
	}
}

/* SRVCONN_WARN_TRIES initiations unanswered (once per connecting spell):
 * say what the likely cause is. A server that answers our STUN requests is
 * there: it drops handshakes made for another key, or from a key that
 * routes.conf does not list. After a session, only a STUN answer since the
 * session was given up counts (one before may have come just before a
 * coverage gap began, and the server's last packet may be older than it:
 * the two run on their own cycles); a probe goes out a try earlier
 * (connecting_timer) so that the answer is fresh. */
static void warn_unanswered(const struct client *cl)
{
	const struct natwatch *nw = &cl->up[cl->ctl].nw;
	const struct srvconn *sc = &cl->srv;
	char where[ADDR_NAME_MAX + 2 * ADDR_TEXT_MAX];
	char fp[B64KEY_FINGERPRINT_MAX];

	srvaddr_label(cl, sc->server_i, where, sizeof(where));
	if (nw->last_answer_us > max_u64(sc->last_rx_us, sc->lost_us) ||
	    (sc->last_rx_us == 0 && nw->has_result && nw->result.type != NATCLASS_UDP_BLOCKED)) {
		b64key_fingerprint(cl->self->pub, fp);
		log_warn("server: %s answers STUN but none of %u handshakes: check server_key in "
			 "%s, and that routes.conf lists client %s with this key (%s...)",
			 where, (unsigned)SRVCONN_WARN_TRIES, cl->ini->path, cl->ini->id, fp);
	} else {
		log_warn("server: no answer from %s to %u handshakes nor to STUN: check the "
			 "address and port, and that UDP to it can leave this network",
			 where, (unsigned)SRVCONN_WARN_TRIES);
	}
}

/* Move to the next server address that has an address of the client's
 * family (the client's sockets are of that family; a name may have none
 * yet). True when that went round past the last: all were tried (always,
 * with one address); the names are then looked up again, since the server
 * may have moved. */
static bool next_server(struct client *cl, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;
	unsigned n = (unsigned)cl->ini->n_servers, from = sc->server_i, i = from;
	char a[ADDR_NAME_MAX + 2 * ADDR_TEXT_MAX], b[ADDR_NAME_MAX + 2 * ADDR_TEXT_MAX];

	for (unsigned k = 0; k < n; k++) {
		i = (i + 1) % n;
		if (srvaddr_is_usable(cl, i)) {
			break;
		}
	}
	if (i == from || !srvaddr_is_usable(cl, i)) {
		srvaddr_refresh(cl, now_us);
		return true;
	}
	log_info("server: no answer from %s, trying %s", srvaddr_label(cl, from, a, sizeof(a)),
		 srvaddr_label(cl, i, b, sizeof(b)));
	sc->server_i = i;
	if (i < from) {
		srvaddr_refresh(cl, now_us);
		return true;
	}
	return false;
}

/* Not up: (re)send an initiation on the backoff schedule. The session's own
 * retransmission (every 5 s) is not used for the server: the backoff is. */
static void connecting_timer(struct client *cl, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;

	if (now_us < sc->next_init_us) {
		return;
	}
	if ((!sc->sess || session_state(sc->sess) == SESSION_ENDED) &&
	    srvconn_new_session(cl) != 0) {
		sc->next_init_us = now_us + sc->backoff_us;
		return;
	}
	/* No answer: try the server's next address, and after the last one
	 * the next uplink (a drone whose first modem has no coverage reaches
	 * the server on its second). */
	if (sc->init_tries > 0 && next_server(cl, now_us) && cl->n_up > 1) {
		uint8_t next = uplink_next_ctl(cl);

		if (next != cl->ctl) {
			log_info("server: no answer on uplink %s, trying uplink %s",
				 uplink_label(cl, cl->ctl), uplink_label(cl, next));
			uplink_on_ctl_lost(cl, cl->ctl);
			cl->ctl = next;
			srvaddr_pick_usable(cl); /* it may be of another family */
		}
	}
	if (!srvaddr_is_usable(cl, sc->server_i)) {
		/* Every entry is a name with no address yet: srvaddr calls
		 * srvconn_on_server_addr when one has. */
		if (!cl->sa.is_wait_logged) {
			char a[ADDR_NAME_MAX + 2 * ADDR_TEXT_MAX];

			log_info("server: waiting for %s to resolve",
				 srvaddr_label(cl, sc->server_i, a, sizeof(a)));
			cl->sa.is_wait_logged = true;
		}
		sc->next_init_us = now_us + SRVCONN_BACKOFF_MAX_US;
		return;
	}
	sc->init_tries++;
	sc->is_cookie_retried = false;
	send_initiation(cl, now_us);
	if (sc->init_tries == SRVCONN_WARN_TRIES - 1) {
		/* does the server answer STUN now? (warn_unanswered asks) */
		natwatch_probe_now(&cl->up[cl->ctl].nw, now_us);
	} else if (sc->init_tries == SRVCONN_WARN_TRIES) {
		warn_unanswered(cl);
	}
	sc->next_init_us =
		now_us + sc->backoff_us + randombytes_uniform((uint32_t)(sc->backoff_us / 4));
	sc->backoff_us = min_u64(sc->backoff_us * 2, SRVCONN_BACKOFF_MAX_US);
}

static void send_register(struct client *cl, uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_REGISTER;
	/* The uplink the session runs on, with its class and local addresses. */
	f.u.reg.uplink_id = cl->ctl;
	f.u.reg.boot_id = cl->boot_id;
	f.u.reg.natclass = natwatch_frame_natclass(&cl->up[cl->ctl].nw);
	f.u.reg.alloc_step = natwatch_frame_alloc_step(&cl->up[cl->ctl].nw);
	if (cl->up[cl->ctl].name[0] && frame_name_set(&f.u.reg.name, cl->up[cl->ctl].name) != 0) {
		memset(&f.u.reg.name, 0, sizeof(f.u.reg.name)); /* not a valid name: none */
	}
	mainsock_local_addrs(cl->ctl == 0 ? &cl->ms.local : &cl->up[cl->ctl].local, f.u.reg.addrs,
			     &f.u.reg.addr_count);
	if (srvconn_send(cl, &f, NULL, now_us) != 0) {
		log_warn("server: cannot send REGISTER");
	}
	cl->srv.next_register_us = now_us + SRVCONN_REGISTER_RETRY_US;
}

static void send_ping(struct client *cl, uint64_t now_us)
{
	struct frame f;

	if (cl->srv.is_awaiting_pong) {
		cl->srv.unanswered++;
	}
	memset(&f, 0, sizeof(f));
	f.type = FRAME_PING;
	f.u.ping.id = ++cl->srv.ping_id;
	f.u.ping.tx_us = now_us;
	(void)srvconn_send(cl, &f, NULL, now_us);
	/* Check back soon; any authenticated packet from the server moves the
	 * next PING to a keepalive interval from then (srvconn_on_transport). */
	cl->srv.is_awaiting_pong = true;
	cl->srv.next_ping_us =
		now_us + (cl->srv.is_suspect ? SRVCONN_SUSPECT_PROBE_US : SRVCONN_PROBE_US);
}

void srvconn_on_ctl_down(struct client *cl, uint64_t now_us)
{
	if (!cl->srv.sess) {
		return;
	}
	log_warn("server: uplink %s is gone, moving the session", uplink_label(cl, cl->ctl));
	reconnect(cl, now_us);
	srvconn_rearm(cl, now_us, true);
}

void srvconn_move_ctl(struct client *cl, uint8_t id, uint64_t now_us)
{
	cl->ctl = id;
	reconnect(cl, now_us);
	srvaddr_pick_usable(cl);
	/* A planned move: the first initiation goes out of id itself. */
	cl->srv.init_tries = 0;
	srvconn_rearm(cl, now_us, true);
}

void srvconn_ping_now(struct client *cl, uint64_t now_us)
{
	if (!cl->srv.is_up || cl->srv.is_awaiting_pong) {
		return;
	}
	send_ping(cl, now_us);
	srvconn_rearm(cl, now_us, false);
}

void srvconn_on_network_change(struct client *cl, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;

	srvaddr_on_network_change(cl, now_us);
	uplink_check_families(cl, now_us);
	linkmtu_refresh(cl);
	if (sc->is_up) {
		srvconn_ping_now(cl, now_us);
		return;
	}
	sc->backoff_us = SRVCONN_BACKOFF_MIN_US;
	if (sc->next_init_us > now_us) {
		sc->next_init_us = now_us;
		srvconn_rearm(cl, now_us, false);
	}
}

void srvconn_on_server_addr(struct client *cl, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;

	if (sc->is_up || !sc->sess) {
		return;
	}
	/* The next initiation goes to the new address, not on to the next
	 * entry or uplink. */
	sc->init_tries = 0;
	sc->backoff_us = SRVCONN_BACKOFF_MIN_US;
	sc->next_init_us = now_us;
	srvconn_rearm(cl, now_us, false);
}

void srvconn_suspect(struct client *cl, const char *why, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;

	if (!sc->is_up || sc->is_suspect) {
		return;
	}
	sc->is_suspect = true;
	log_info("server: %s, checking that the server is still there", why);
	if (!sc->is_awaiting_pong) {
		send_ping(cl, now_us);
	} else {
		sc->next_ping_us = min_u64(sc->next_ping_us, now_us + SRVCONN_SUSPECT_PROBE_US);
	}
	srvconn_rearm(cl, now_us, false);
}

static void up_timer(struct client *cl, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;

	switch (session_on_timer(sc->sess, now_us)) {
	case SESSION_ACT_SEND_INITIATION:
		send_initiation(cl, now_us);
		break;
	case SESSION_ACT_SEND_KEEPALIVE:
		(void)sealout_frame_fd(cl, uplink_ctl_fd(cl), sc->sess, client_server_addr(cl),
				       NULL, now_us);
		break;
	case SESSION_ACT_ENDED:
		log_warn("server: session ended, reconnecting");
		reconnect(cl, now_us);
		connecting_timer(cl, now_us);
		return;
	case SESSION_ACT_NONE:
		break;
	}
	if (sc->notice_at_us != 0 && now_us >= sc->notice_at_us + SRVCONN_NOTICE_CHECK_US) {
		log_warn("server: it restarted (its notice came), reconnecting");
		reconnect(cl, now_us);
		/* the server's restart, not the uplink: the same one */
		sc->init_tries = 0;
		connecting_timer(cl, now_us);
		return;
	}
	if (now_us >= sc->last_rx_us + SRVCONN_LOST_INTERVALS * srvconn_keepalive_us(cl) ||
	    (sc->unanswered >= SRVCONN_PROBE_TRIES && now_us >= sc->next_ping_us)) {
		log_warn("server: lost, reconnecting (unanswered pings=%u)", sc->unanswered);
		reconnect(cl, now_us);
		connecting_timer(cl, now_us);
		return;
	}
	if (!sc->has_sync && now_us >= sc->next_register_us) {
		/* A resend: nothing came back for SRVCONN_REGISTER_RETRY_US. */
		srvconn_suspect(cl, "no route set came back for our REGISTER", now_us);
		send_register(cl, now_us);
	}
	if (now_us >= sc->next_ping_us) {
		send_ping(cl, now_us);
	}
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct srvconn *sc = container_of(w, struct srvconn, timer);
	struct client *cl = container_of(sc, struct client, srv);
	uint64_t now_us = monotime_now_us();

	(void)loop;
	(void)revents;
	if (sc->is_up) {
		up_timer(cl, now_us);
	} else {
		connecting_timer(cl, now_us);
	}
	srvconn_rearm(cl, now_us, true);
}

void srvconn_leave(struct client *cl, uint64_t now_us)
{
	struct frame f;

	if (!cl->srv.is_up || cl->srv.is_refused) {
		return;
	}
	memset(&f, 0, sizeof(f));
	f.type = FRAME_LEAVE;
	if (srvconn_send(cl, &f, NULL, now_us) == 0) {
		log_debug("server: told it this process stops");
	}
	/* And by every other open uplink: the control uplink may be the
	 * reason for the restart (dead with its interface up). */
	for (uint8_t u = 0; u < cl->n_up; u++) {
		if (u != cl->ctl && uplink_is_open(cl, u)) {
			(void)srvconn_send_fd(cl, uplink_send_fd(cl, u), &f, NULL, now_us);
		}
	}
}

/* A valid notice while the session is up: a restarted server cannot
 * answer in it, one that still has it does (the notice was old). */
static void check_notice(struct client *cl, uint64_t now_us)
{
	struct frame f;

	cl->srv.notice_at_us = now_us;
	log_info("server: a restart notice came, checking that the server lost our session");
	memset(&f, 0, sizeof(f));
	f.type = FRAME_PING;
	f.u.ping.tx_us = now_us;
	for (int i = 0; i < 2; i++) { /* one may be lost */
		f.u.ping.id = ++cl->srv.ping_id;
		(void)srvconn_send(cl, &f, NULL, now_us);
	}
}

void srvconn_on_pong(struct client *cl, uint64_t echo_tx_us)
{
	struct srvconn *sc = &cl->srv;

	if (sc->notice_at_us != 0 && echo_tx_us >= sc->notice_at_us) {
		sc->notice_at_us = 0;
		log_warn("server: a restart notice came, but the server still has our session: "
			 "an old notice sent again (replayed?), ignored");
	}
}

void srvconn_on_restarted(struct client *cl, const uint8_t *buf, size_t len,
			  const struct sockaddr_storage *from, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;
	struct sockaddr_storage a = *from, b = *client_server_addr(cl);
	uint64_t stamp;

	/* From the server's address (its main or a relay port), under the
	 * key only it and we hold, and newer than the last one taken. */
	addr_set_port(&a, 0);
	addr_set_port(&b, 0);
	if (!sc->has_restart_key || !addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b) ||
	    restarted_read(buf, len, sc->restart_key, &stamp) != 0 || stamp <= sc->restart_stamp) {
		cl->drop_demux++;
		return;
	}
	sc->restart_stamp = stamp;
	if (sc->is_up) {
		if (sc->notice_at_us == 0) {
			check_notice(cl, now_us);
		}
	} else {
		sc->backoff_us = SRVCONN_BACKOFF_MIN_US;
		sc->next_init_us = now_us;
	}
	srvconn_rearm(cl, now_us, false);
}

int srvconn_start(struct client *cl)
{
	struct srvconn *sc = &cl->srv;
	uint64_t now_us = monotime_now_us();
	int rc = srvconn_new_session(cl);

	if (rc != 0) {
		return rc;
	}
	sc->has_restart_key =
		restarted_key(sc->restart_key, cl->ini->key, cl->ini->server_key) == 0;
	sc->next_init_us = now_us;
	connecting_timer(cl, now_us);
	srvconn_rearm(cl, now_us, true);
	return 0;
}

void srvconn_fini(struct client *cl)
{
	struct srvconn *sc = &cl->srv;

	if (cl->loop) {
		ev_timer_stop(cl->loop, &sc->timer);
	}
	if (cl->idx.slots) {
		idxmap_release_all(&cl->idx, &sc->idx);
	}
	session_free(sc->sess);
	sc->sess = NULL;
	sodium_memzero(sc->restart_key, sizeof(sc->restart_key));
}

void srvconn_reregister(struct client *cl, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;

	if (!sc->is_up) {
		return;
	}
	/* The server answers every REGISTER with the route set (re-acked when
	 * it is the one applied): until it does, up_timer resends. */
	sc->has_sync = false;
	send_register(cl, now_us);
	srvconn_rearm(cl, now_us, false);
}

int srvconn_send(struct client *cl, const struct frame *f, const struct sockaddr_storage *dst,
		 uint64_t now_us)
{
	return srvconn_send_fd(cl, uplink_ctl_fd(cl), f, dst, now_us);
}

int srvconn_send_fd(struct client *cl, int fd, const struct frame *f,
		    const struct sockaddr_storage *dst, uint64_t now_us)
{
	return srvconn_send_frames_fd(cl, fd, f, 1, dst, now_us);
}

int srvconn_send_frames_fd(struct client *cl, int fd, const struct frame *fs, size_t n,
			   const struct sockaddr_storage *dst, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;
	int rc;

	if (!sc->is_up) {
		return -ENOTCONN;
	}
	rc = sealout_frames_fd(cl, fd, sc->sess, dst ? dst : client_server_addr(cl), fs, n, now_us);
	if (rc == 0) {
		sc->tx_packets++;
	}
	return rc;
}

void srvconn_on_response(struct client *cl, const uint8_t *buf, size_t len, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;
	bool was_up = sc->is_up;

	if (!sc->sess || session_on_response(sc->sess, buf, len, now_us) != 0) {
		cl->drop_auth++;
		return;
	}
	sc->rx_packets++;
	sc->last_rx_us = now_us;
	sc->backoff_us = SRVCONN_BACKOFF_MIN_US;
	if (!was_up) {
		sc->is_up = true;
		sc->init_tries = 0;
		if (sc->is_refused) {
			log_debug("server: session established, registering (refused so far)");
		} else if (cl->n_up > 1) {
			log_info("server: session established on uplink %s, registering",
				 uplink_label(cl, cl->ctl));
		} else {
			log_info("server: session established, registering");
		}
		send_register(cl, now_us);
		sc->next_ping_us = now_us + srvconn_keepalive_us(cl);
		linkmtu_refresh(cl);
		peer_all_rebind(cl, now_us);
		joinwait_on_server_up(cl, now_us);
	}
	srvconn_rearm(cl, now_us, false);
}

void srvconn_on_cookie_reply(struct client *cl, const uint8_t *buf, size_t len, uint64_t now_us)
{
	struct srvconn *sc = &cl->srv;

	if (!sc->sess || session_on_cookie_reply(sc->sess, buf, len, now_us) != 0) {
		cl->drop_auth++;
		return;
	}
	/* The server is under load and wants our address proved: initiate
	 * again now, with mac2 from the cookie, rather than a backoff step
	 * later. Once per scheduled initiation: another cookie reply waits
	 * for the schedule. A rekey while up is not urgent. */
	if (!sc->is_up && !sc->is_cookie_retried) {
		sc->is_cookie_retried = true;
		log_info("server: under load (cookie reply), initiating again with the cookie");
		send_initiation(cl, now_us);
	}
}
