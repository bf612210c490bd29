/* direct: a peer's direct path — request, attempt, validation, monitoring,
 * fallback (see direct.h). */
#include "client/direct.h"

#include "client/client.h"
#include "client/natwatch.h"
#include "client/peer.h"
#include "client/punchrun.h"
#include "client/sealout.h"
#include "client/srvconn.h"
#include "client/stamp.h"
#include "client/xsock.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/monotime.h"
#include "config/client_ini.h"
#include "nat/punch.h"
#include "proto/frameaddr.h"
#include "proto/session.h"

#include <errno.h>
#include <string.h>

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void send_probe_to(struct peer *p, uint8_t op, int fd, const struct sockaddr_storage *to,
			  uint64_t token, uint64_t now_us);

static const char *peer_name(const struct peer *p)
{
	return p->def.peer.text;
}

static bool is_requester(const struct peer *p)
{
	return strcmp(p->cl->ini->id, p->def.peer.text) < 0;
}

static bool session_up(const struct peer *p)
{
	return p->sess && session_state(p->sess) == SESSION_ESTABLISHED;
}

int direct_seal_to(struct peer *p, int fd, const struct sockaddr_storage *dst,
		   const struct frame *f, uint64_t now_us)
{
	if (!p->sess) {
		return -ENOTCONN;
	}
	return sealout_frame_fd(p->cl, fd, p->sess, dst, f, now_us);
}

/* ---- timer ---- */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void rearm(struct peer *p, uint64_t d, uint64_t now_us)
{
	struct direct *dp = &p->dp;

	ev_timer_stop(p->cl->loop, &dp->timer);
	dp->armed_us = d;
	if (d == UINT64_MAX) {
		return;
	}
	ev_timer_set(&dp->timer, d > now_us ? (double)(d - now_us) / 1e6 : 0.0, 0.0);
	ev_timer_start(p->cl->loop, &dp->timer);
}

/* Run the timer's work now and set it for what comes next. */
static void tick(struct peer *p, uint64_t now_us);

void direct_init(struct peer *p)
{
	struct direct *dp = &p->dp;

	memset(dp, 0, sizeof(*dp));
	dp->fd = -1;
	dp->next_request_us = UINT64_MAX;
	dp->armed_us = UINT64_MAX;
	ev_init(&dp->timer, timer_cb);
}

static void drop_run(struct peer *p)
{
	punchrun_free(p->dp.run);
	p->dp.run = NULL;
}

void direct_fini(struct peer *p)
{
	struct direct *dp = &p->dp;

	ev_timer_stop(p->cl->loop, &dp->timer);
	drop_run(p);
	xsock_close(dp->xs);
	dp->xs = NULL;
	dp->is_up = false;
}

/* ---- reports ---- */

static void send_path_frame(struct peer *p, uint8_t op, const struct sockaddr_storage *via,
			    bool to_peer, uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_PATH;
	f.u.path.op = op;
	f.u.path.token = p->dp.token;
	if (via && frameaddr_from_sockaddr(&f.u.path.addrs[0], (const struct sockaddr *)via)) {
		f.u.path.addr_count = 1;
	}
	if (to_peer) {
		/* On the relay: the direct path may be what broke. */
		(void)direct_seal_to(p, -1, &p->relay, &f, now_us);
		return;
	}
	f.u.path.peer = p->def.peer;
	(void)srvconn_send(p->cl, &f, NULL, now_us);
}

static void set_kind_time(struct direct *dp, uint64_t now_us)
{
	dp->since_us = now_us;
	dp->since_wall_us = stamp_wall_now_us();
}

/* ---- falling back ---- */

static void fall_back(struct peer *p, const char *why, bool tell_peer, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	char a[ADDR_TEXT_MAX];

	if (!dp->is_up) {
		return;
	}
	log_info("peer %s: direct path %s lost (%s), back to relay", peer_name(p),
		 addr_format((const struct sockaddr *)&dp->addr, a, sizeof(a)), why);
	dp->is_up = false;
	dp->is_doubt = false;
	dp->fallbacks++;
	set_kind_time(dp, now_us);
	dp->next_stats_us = now_us + DIRECT_PING_US * 3;
	xsock_close(dp->xs);
	dp->xs = NULL;
	dp->fd = -1;
	if (tell_peer) {
		send_path_frame(p, FRAME_PATH_DOWN, NULL, true, now_us);
	}
	send_path_frame(p, FRAME_PATH_DOWN, NULL, false, now_us);
	/* The relay was kept warm; make sure it still knows our address (a
	 * NAT that changed our mapping broke the direct path too), and tell
	 * the server where we are now before the next attempt. */
	peer_rebind(p, now_us);
	srvconn_ping_now(p->cl, now_us);
	natwatch_probe_now(p->cl, now_us);
	dp->failures = 0;
	dp->next_request_us = is_requester(p) ? now_us + PUNCH_COOLDOWN_US : UINT64_MAX;
}

/* ---- the attempt ---- */

static void end_run_failed(struct peer *p, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	uint64_t wait;

	log_info("peer %s: punch %s failed (%llu probes)", peer_name(p),
		 punch_strategy_name(dp->strategy),
		 dp->run ? (unsigned long long)dp->run->sent : 0ull);
	drop_run(p);
	dp->failures++;
	wait = punch_retry_delay_us(dp->strategy, dp->failures);
	dp->next_request_us = is_requester(p) ? now_us + wait : UINT64_MAX;
}

void direct_on_punch(struct client *cl, const struct frame_punch *k, uint64_t now_us)
{
	struct peer *p = peer_find(cl, k->peer.text);
	struct direct *dp;

	if (!p || !session_up(p)) {
		return;
	}
	dp = &p->dp;
	if (dp->is_up) {
		return; /* the other side asked again; we are fine */
	}
	drop_run(p);
	dp->token = k->token;
	dp->strategy = k->strategy;
	dp->attempts++;
	if (k->strategy == FRAME_PUNCH_RELAY) {
		log_info("peer %s: punch: the server keeps this pair on the relay (both NATs "
			 "symmetric, or punching is off)",
			 peer_name(p));
		dp->failures = PUNCH_RETRIES; /* straight to the cooldown */
		end_run_failed(p, now_us);
		tick(p, now_us);
		return;
	}
	dp->run = punchrun_new(p, k, now_us);
	if (!dp->run) {
		log_error("peer %s: punch: out of memory", peer_name(p));
		end_run_failed(p, now_us);
	} else {
		log_info("peer %s: punch strategy=%s role=%u count=%u candidates=%u", peer_name(p),
			 punch_strategy_name(k->strategy), (unsigned)k->role, (unsigned)k->count,
			 (unsigned)dp->run->n_cand);
	}
	dp->next_request_us = UINT64_MAX;
	tick(p, now_us);
}

void direct_on_validated(struct peer *p, int fd, struct xsock *xs,
			 const struct sockaddr_storage *addr, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	char a[ADDR_TEXT_MAX];

	drop_run(p); /* closes the losing spray sockets */
	xsock_close(dp->xs);
	dp->xs = xs;
	dp->fd = fd;
	dp->addr = *addr;
	dp->is_up = true;
	dp->is_doubt = false;
	dp->failures = 0;
	dp->upgrades++;
	dp->next_request_us = UINT64_MAX;
	set_kind_time(dp, now_us);
	dp->next_stats_us = now_us + DIRECT_PING_US * 3;
	pathmon_init(&dp->mon, now_us, DIRECT_PING_US, DIRECT_DOUBT_US, DIRECT_DEAD_US);
	log_info("peer %s: direct path up via %s%s (strategy %s, %llu ms after the session)",
		 peer_name(p), addr_format((const struct sockaddr *)addr, a, sizeof(a)),
		 xs ? " on a spray socket" : "", punch_strategy_name(dp->strategy),
		 dp->session_up_us ? (unsigned long long)((now_us - dp->session_up_us) / 1000)
				   : 0ull);
	send_path_frame(p, FRAME_PATH_UP, addr, false, now_us);
	/* Our probe was answered; make sure the peer's is too (its probe or
	 * our answer may have been lost): probe once more on the new path. */
	send_probe_to(p, FRAME_PATH_PROBE, fd, addr, dp->token, now_us);
	tick(p, now_us);
}

/* ---- frames from the peer ---- */

bool direct_is_path(const struct peer *p, int fd, const struct sockaddr_storage *from)
{
	return p->dp.is_up && p->dp.fd == fd &&
	       addr_equal((const struct sockaddr *)&p->dp.addr, (const struct sockaddr *)from);
}

static bool from_relay(const struct peer *p, int fd, const struct sockaddr_storage *from)
{
	return fd < 0 &&
	       addr_equal((const struct sockaddr *)&p->relay, (const struct sockaddr *)from);
}

static void send_probe_to(struct peer *p, uint8_t op, int fd, const struct sockaddr_storage *to,
			  uint64_t token, uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_PATH;
	f.u.path.op = op;
	f.u.path.token = token;
	(void)direct_seal_to(p, fd, to, &f, now_us);
}

void direct_on_path(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_path *f, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	bool relay = from_relay(p, fd, from);
	char a[ADDR_TEXT_MAX];

	log_debug("peer %s: path op=%u token=%llx from %s fd=%d%s", peer_name(p), (unsigned)f->op,
		  (unsigned long long)f->token,
		  addr_format((const struct sockaddr *)from, a, sizeof(a)), fd,
		  relay ? " (relay)" : "");
	switch (f->op) {
	case FRAME_PATH_PROBE:
		if (relay) {
			return;
		}
		/* Answer on the path it came by; and probe back once, so the
		 * peer's probe and ours both prove a direction. */
		send_probe_to(p, FRAME_PATH_PROBE_ACK, fd, from, f->token, now_us);
		if (!direct_is_path(p, fd, from) && now_us - dp->last_reprobe_us >= 20000) {
			dp->last_reprobe_us = now_us;
			send_probe_to(p, FRAME_PATH_PROBE, fd, from, f->token, now_us);
		}
		break;
	case FRAME_PATH_PROBE_ACK:
		if (relay || direct_is_path(p, fd, from)) {
			return;
		}
		/* A round trip on (fd, from): both directions work. Take it if
		 * we have no direct path, or ours is in doubt (the peer moved). */
		if (!dp->is_up || pathmon_state(&dp->mon, now_us) != PATHMON_UP) {
			struct xsock *xs = NULL;

			if (fd >= 0) {
				xs = dp->run ? punchrun_take(dp->run, fd) : NULL;
				if (!xs && !(dp->xs && dp->xs->fd == fd)) {
					return; /* a socket we no longer own */
				}
				if (!xs) {
					xs = dp->xs; /* same socket, new peer address */
					dp->xs = NULL;
				}
			}
			direct_on_validated(p, fd, xs, from, now_us);
		}
		break;
	case FRAME_PATH_DOWN:
		fall_back(p, "the peer lost it", false, now_us);
		tick(p, now_us);
		break;
	default:
		break;
	}
}

void direct_on_ping(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_ping *f, uint64_t now_us)
{
	struct frame pong;

	memset(&pong, 0, sizeof(pong));
	pong.type = FRAME_PONG;
	pong.u.pong.id = f->id;
	pong.u.pong.echo_tx_us = f->tx_us;
	pong.u.pong.hold_us = 0;
	(void)direct_seal_to(p, fd, from, &pong, now_us);
	/* Pings from an address that is not our path: the peer's mapping
	 * changed (NAT rebinding). Probe it; its answer moves the path there
	 * once ours is in doubt. */
	if (p->dp.is_up && !direct_is_path(p, fd, from) && !from_relay(p, fd, from) &&
	    now_us - p->dp.last_reprobe_us >= DIRECT_REPROBE_US) {
		p->dp.last_reprobe_us = now_us;
		send_probe_to(p, FRAME_PATH_PROBE, fd, from, p->dp.token, now_us);
	}
}

void direct_on_pong(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_pong *f, uint64_t now_us)
{
	struct direct *dp = &p->dp;

	if (direct_is_path(p, fd, from)) {
		(void)pathmon_on_pong(&dp->mon, f->id, f->echo_tx_us, f->hold_us, now_us);
		if (dp->is_doubt && pathmon_state(&dp->mon, now_us) == PATHMON_UP) {
			dp->is_doubt = false;
			log_info("peer %s: direct path back (quiet spell over)", peer_name(p));
		}
	} else if (from_relay(p, fd, from)) {
		(void)pathmon_on_pong(&dp->relay_mon, f->id, f->echo_tx_us, f->hold_us, now_us);
	}
}

/* ---- sending ---- */

int direct_route(struct peer *p, uint64_t now_us, int fds[2],
		 const struct sockaddr_storage *dsts[2])
{
	struct direct *dp = &p->dp;
	enum pathmon_state st;

	if (!dp->is_up) {
		fds[0] = -1;
		dsts[0] = &p->relay;
		return 1;
	}
	st = pathmon_state(&dp->mon, now_us);
	fds[0] = dp->fd;
	dsts[0] = &dp->addr;
	if (st == PATHMON_UP) {
		return 1;
	}
	/* In doubt (or dead and not yet noticed by the timer): the relay too;
	 * the receiver drops duplicates. */
	fds[1] = -1;
	dsts[1] = &p->relay;
	dp->dup_tx++;
	return 2;
}

/* ---- the timer ---- */

static void send_ping(struct peer *p, struct pathmon *pm, int fd,
		      const struct sockaddr_storage *dst, uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_PING;
	f.u.ping.tx_us = now_us;
	f.u.ping.id = pathmon_on_ping_sent(pm, now_us);
	(void)direct_seal_to(p, fd, dst, &f, now_us);
}

static void request_punch(struct peer *p, uint64_t now_us)
{
	struct client *cl = p->cl;
	struct direct *dp = &p->dp;
	struct frame f;

	if (!srvconn_is_up(cl)) {
		dp->next_request_us = now_us + DIRECT_REQUEST_WAIT_US;
		return;
	}
	/* Our NAT class decides the strategy: wait for the classification
	 * (a few seconds at start), but not forever. */
	if (natwatch_frame_natclass(cl) == FRAME_NAT_UNKNOWN &&
	    now_us - cl->started_us < DIRECT_CLASS_WAIT_US) {
		dp->next_request_us = now_us + 500000;
		return;
	}
	memset(&f, 0, sizeof(f));
	f.type = FRAME_PATH;
	f.u.path.op = FRAME_PATH_PUNCH_REQUEST;
	f.u.path.peer = p->def.peer;
	(void)srvconn_send(cl, &f, NULL, now_us);
	log_debug("peer %s: asked the server for a punch", peer_name(p));
	dp->next_request_us = now_us + DIRECT_REQUEST_WAIT_US;
}

static uint32_t to_ppm(double loss)
{
	return loss <= 0 ? 0 : loss >= 1 ? 1000000u : (uint32_t)(loss * 1e6 + 0.5);
}

/* Tell the server what we measure on our way to p (for its API). */
static void send_stats(struct peer *p, uint64_t now_us)
{
	struct direct_report r;
	struct frame f;

	direct_report(p, now_us, &r);
	memset(&f, 0, sizeof(f));
	f.type = FRAME_PATH_STATS;
	f.u.path_stats.peer = p->def.peer;
	f.u.path_stats.kind =
		r.kind == DIRECT_KIND_DIRECT ? FRAME_PATH_KIND_DIRECT : FRAME_PATH_KIND_RELAY;
	f.u.path_stats.rtt_us = (uint32_t)(r.rtt_ms * 1000.0);
	f.u.path_stats.loss_ppm = to_ppm(r.loss);
	f.u.path_stats.relay_rtt_us = (uint32_t)(r.relay_rtt_ms * 1000.0);
	f.u.path_stats.relay_loss_ppm = to_ppm(r.relay_loss);
	(void)srvconn_send(p->cl, &f, NULL, now_us);
	p->dp.next_stats_us = now_us + srvconn_keepalive_us(p->cl);
}

static void tick(struct peer *p, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	uint64_t next = UINT64_MAX;

	if (!session_up(p)) {
		rearm(p, UINT64_MAX, now_us);
		return;
	}
	if (dp->run) {
		uint64_t t = punchrun_step(dp->run, now_us);

		if (t == 0) {
			end_run_failed(p, now_us);
		} else {
			next = min_u64(next, t);
		}
	}
	if (dp->is_up) {
		enum pathmon_state st = pathmon_state(&dp->mon, now_us);

		if (st == PATHMON_DEAD) {
			fall_back(p, "no answer for 1 s", true, now_us);
		} else {
			if (st == PATHMON_DOUBT && !dp->is_doubt) {
				dp->is_doubt = true;
				log_info("peer %s: direct path quiet, sending on the relay too",
					 peer_name(p));
			}
			if (pathmon_ping_due(&dp->mon, now_us)) {
				send_ping(p, &dp->mon, dp->fd, &dp->addr, now_us);
			}
			next = min_u64(next, pathmon_next_event_us(&dp->mon, now_us));
		}
	}
	if (pathmon_ping_due(&dp->relay_mon, now_us)) {
		send_ping(p, &dp->relay_mon, -1, &p->relay, now_us);
	}
	next = min_u64(next, dp->relay_mon.next_ping_us);
	if (!dp->is_up && !dp->run && now_us >= dp->next_request_us) {
		request_punch(p, now_us);
	}
	if (now_us >= dp->next_stats_us && srvconn_is_up(p->cl)) {
		send_stats(p, now_us);
	}
	next = min_u64(next, dp->next_stats_us);
	if (!dp->is_up && !dp->run) {
		next = min_u64(next, dp->next_request_us);
	}
	rearm(p, next, now_us);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct direct *dp = container_of(w, struct direct, timer);
	struct peer *p = container_of(dp, struct peer, dp);

	(void)loop;
	(void)revents;
	tick(p, monotime_now_us());
}

void direct_on_session(struct peer *p, bool up, uint64_t now_us)
{
	struct direct *dp = &p->dp;

	if (!up) {
		/* Keys are gone: nothing can be sealed on any path. */
		drop_run(p);
		if (dp->is_up) {
			fall_back(p, "session ended", false, now_us);
		}
		dp->next_request_us = UINT64_MAX;
		rearm(p, UINT64_MAX, now_us);
		return;
	}
	dp->session_up_us = now_us;
	dp->next_stats_us = now_us + DIRECT_STATS_FIRST_US;
	pathmon_init(&dp->relay_mon, now_us, DIRECT_RELAY_PING_US, UINT64_MAX / 4, UINT64_MAX / 4);
	if (!dp->is_up && !dp->run && is_requester(p)) {
		dp->next_request_us = now_us;
	}
	tick(p, now_us);
}

void direct_report(const struct peer *p, uint64_t now_us, struct direct_report *out)
{
	const struct direct *dp = &p->dp;

	memset(out, 0, sizeof(*out));
	out->kind = dp->is_up ? DIRECT_KIND_DIRECT : DIRECT_KIND_RELAY;
	out->relay_rtt_ms = pathmon_rtt_ms(&dp->relay_mon);
	out->relay_loss = pathmon_loss(&dp->relay_mon, now_us);
	if (dp->is_up) {
		out->rtt_ms = pathmon_rtt_ms(&dp->mon);
		out->loss = pathmon_loss(&dp->mon, now_us);
		out->addr = dp->addr;
	} else {
		out->rtt_ms = out->relay_rtt_ms;
		out->loss = out->relay_loss;
	}
	out->strategy = dp->attempts || dp->is_up ? punch_strategy_name(dp->strategy) : "none";
	out->since_wall_us = dp->since_wall_us;
	out->upgrades = dp->upgrades;
	out->fallbacks = dp->fallbacks;
	out->attempts = dp->attempts;
}
