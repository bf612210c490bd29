/* direct: a peer's direct paths — request, attempt, validation, monitoring,
 * fallback (see direct.h); what the peer sends on them is directrx.c, the
 * choice of paths for each packet pathsel.c, the relay beside them
 * relaypath.c. */
#include "client/direct.h"

#include "client/client.h"
#include "client/direct_internal.h"
#include "client/linkmtu.h"
#include "client/natwatch.h"
#include "client/peer.h"
#include "client/punchrun.h"
#include "client/sealout.h"
#include "client/srvconn.h"
#include "client/uplink.h"
#include "client/xsock.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/wallclock.h"
#include "config/client_ini.h"
#include "nat/pathsched.h"
#include "nat/punch.h"
#include "proto/frameaddr.h"
#include "proto/session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static const char *peer_name(const struct peer *p)
{
	return p->def.peer.text;
}

static bool is_requester(const struct peer *p)
{
	return strcmp(p->cl->ini->id, p->def.peer.text) < 0;
}

/* Of two sides that validated different paths of one attempt, whose path
 * both take. In a spray, the spraying side's: it keeps the socket that
 * won and closes the others, so a path the scanning side found through
 * another one dies a second later (it did, at 600 ms of RTT, every time),
 * and a scanning side that found none at all stayed on the relay while the
 * sprayer was direct. Otherwise both sides use their uplink's socket and
 * the side whose id sorts first decides. */
bool direct_is_decider(const struct peer *p, const struct direct_path *s)
{
	if (s->strategy == FRAME_PUNCH_SPRAY) {
		return s->role == FRAME_PUNCH_ROLE_SPRAY;
	}
	return is_requester(p);
}

static bool session_up(const struct peer *p)
{
	return p->sess && session_state(p->sess) == SESSION_ESTABLISHED;
}

/* The peer's uplinks (bit i: uplink i); its PEER frame says 0 for "main only". */
static uint8_t peer_mask(const struct peer *p)
{
	return p->def.uplinks ? (uint8_t)(p->def.uplinks | 1u) : 1u;
}

bool direct_is_multi(const struct peer *p)
{
	return p->cl->n_up > 1 || peer_mask(p) != 1u;
}

const char *direct_path_tag(const struct peer *p, const struct direct_path *s, char *buf,
			    size_t len)
{
	if (!direct_is_multi(p)) {
		return "";
	}
	snprintf(buf, len, " (uplink %s -> its %u)",
		 p->cl->up[s->uplink].name[0] ? p->cl->up[s->uplink].name : "0",
		 (unsigned)s->peer_uplink);
	return buf;
}

int direct_seal_to(struct peer *p, int fd, const struct sockaddr_storage *dst,
		   const struct frame *f, uint64_t now_us)
{
	return direct_seal_frames_to(p, fd, dst, f, 1, now_us);
}

int direct_seal_frames_to(struct peer *p, int fd, const struct sockaddr_storage *dst,
			  const struct frame *fs, size_t n, uint64_t now_us)
{
	if (!p->sess) {
		return -ENOTCONN;
	}
	return sealout_frames_fd(p->cl, fd, p->sess, dst, fs, n, now_us);
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

void direct_init(struct peer *p)
{
	struct direct *dp = &p->dp;

	memset(dp, 0, sizeof(*dp));
	dp->active = -1;
	dp->relay_alt = -1;
	dp->armed_us = UINT64_MAX;
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		dp->paths[i].fd = -1;
		dp->paths[i].next_request_us = UINT64_MAX;
	}
	ev_init(&dp->timer, timer_cb);
}

static void drop_run(struct direct_path *s)
{
	punchrun_free(s->run);
	s->run = NULL;
}

static void free_slot(struct direct_path *s)
{
	drop_run(s);
	xsock_close(s->xs);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->next_request_us = UINT64_MAX;
}

void direct_fini(struct peer *p)
{
	struct direct *dp = &p->dp;

	ev_timer_stop(p->cl->loop, &dp->timer);
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		free_slot(&dp->paths[i]);
	}
	dp->active = -1;
}

/* ---- path slots ---- */

struct direct_path *direct_slot_for(struct peer *p, uint8_t uplink, uint8_t peer_uplink)
{
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		struct direct_path *s = &p->dp.paths[i];

		if (s->is_used && s->uplink == uplink && s->peer_uplink == peer_uplink) {
			return s;
		}
	}
	return NULL;
}

struct direct_path *direct_slot_by_token(struct peer *p, uint64_t token)
{
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		struct direct_path *s = &p->dp.paths[i];

		if (s->is_used && s->token == token && token != 0) {
			return s;
		}
	}
	return NULL;
}

const struct direct_path *direct_slot_by_path(const struct peer *p, int fd,
					      const struct sockaddr_storage *from)
{
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		const struct direct_path *s = &p->dp.paths[i];

		if (s->is_up && s->fd == fd &&
		    addr_equal((const struct sockaddr *)&s->addr, (const struct sockaddr *)from)) {
			return s;
		}
	}
	return NULL;
}

/* One slot per pair (our open uplink, the peer's uplink); slots of pairs
 * gone are freed unless their path is up (it dies by itself if it is). */
static void sync_slots(struct peer *p, uint64_t now_us)
{
	struct client *cl = p->cl;
	uint8_t ours = uplink_open_mask(cl);
	uint8_t theirs = peer_mask(p);

	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		struct direct_path *s = &p->dp.paths[i];

		if (s->is_used && !s->is_up &&
		    (!(ours & (1u << s->uplink)) || !(theirs & (1u << s->peer_uplink)))) {
			if (p->dp.active == i) {
				p->dp.active = -1;
			}
			free_slot(s);
		}
	}
	for (unsigned u = 0; u < cl->n_up; u++) {
		for (unsigned v = 0; v < WIRE_UPLINKS_MAX; v++) {
			struct direct_path *s = NULL;

			if (!(ours & (1u << u)) || !(theirs & (1u << v)) ||
			    direct_slot_for(p, (uint8_t)u, (uint8_t)v)) {
				continue;
			}
			for (int i = 0; i < DIRECT_PATHS_MAX && !s; i++) {
				if (!p->dp.paths[i].is_used) {
					s = &p->dp.paths[i];
				}
			}
			if (!s) {
				return; /* DIRECT_PATHS_MAX pairs: enough */
			}
			s->is_used = true;
			s->uplink = (uint8_t)u;
			s->peer_uplink = (uint8_t)v;
			s->next_request_us = is_requester(p) ? now_us : UINT64_MAX;
		}
	}
}

/* ---- reports ---- */

static void send_path_frame(struct peer *p, const struct direct_path *s, uint8_t op,
			    const struct sockaddr_storage *via, bool to_peer, uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_PATH;
	f.u.path.op = op;
	f.u.path.token = s->token;
	f.u.path.uplink = s->uplink;
	f.u.path.peer_uplink = s->peer_uplink;
	if (via && frameaddr_from_sockaddr(&f.u.path.addrs[0], (const struct sockaddr *)via)) {
		f.u.path.addr_count = 1;
	}
	if (to_peer) {
		/* On the relay: the direct path may be what broke. */
		(void)direct_seal_to(p, uplink_ctl_fd(p->cl), &p->relay, &f, now_us);
		return;
	}
	f.u.path.peer = p->def.peer;
	(void)srvconn_send(p->cl, &f, NULL, now_us);
}

/* The path in use began now (status `since`). */
static void note_since(struct direct *dp, uint64_t now_us)
{
	dp->since_us = now_us;
	dp->since_wall_us = wallclock_now_us();
}

/* The path kind (relay or direct) may have changed: count and time it. */
static void note_kind(struct peer *p, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	bool direct = direct_in_use(p); /* a lossy path carries nothing */

	if (direct == dp->was_direct) {
		return;
	}
	dp->was_direct = direct;
	if (direct) {
		dp->upgrades++;
	} else {
		dp->fallbacks++;
	}
	note_since(dp, now_us);
	dp->next_stats_us = now_us + DIRECT_PING_US * 3;
}

/* ---- falling back ---- */

void direct_fall_back(struct peer *p, struct direct_path *s, const char *why, bool tell_peer,
		      uint64_t now_us)
{
	struct direct *dp = &p->dp;
	char a[ADDR_TEXT_MAX], tag[64];
	int left = 0;

	if (!s->is_up) {
		return;
	}
	direct_judge_end(p, s, now_us);
	s->is_up = false;
	s->is_doubt = false;
	s->fallbacks++;
	s->since_wall_us = wallclock_now_us();
	if (dp->active == (int)(s - dp->paths)) {
		dp->active = -1;
	}
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		left += dp->paths[i].is_up;
	}
	if (left == 0) {
		log_info("peer %s: direct path %s lost (%s), back to relay%s", peer_name(p),
			 addr_format((const struct sockaddr *)&s->addr, a, sizeof(a)), why,
			 direct_path_tag(p, s, tag, sizeof(tag)));
	} else {
		log_info("peer %s: direct path %s lost (%s), %d other path(s) up%s", peer_name(p),
			 addr_format((const struct sockaddr *)&s->addr, a, sizeof(a)), why, left,
			 direct_path_tag(p, s, tag, sizeof(tag)));
	}
	xsock_close(s->xs);
	s->xs = NULL;
	s->fd = -1;
	if (tell_peer) {
		send_path_frame(p, s, FRAME_PATH_DOWN, NULL, true, now_us);
	}
	send_path_frame(p, s, FRAME_PATH_DOWN, NULL, false, now_us);
	note_kind(p, now_us);
	/* The relay was kept warm; make sure it still knows our address (a
	 * NAT that changed our mapping broke the direct path too), and tell
	 * the server where we are now before the next attempt. The relay and
	 * the server session run on the control uplink; another uplink checks
	 * its own mapping. */
	if (s->uplink == p->cl->ctl) {
		peer_rebind(p, now_us);
		srvconn_ping_now(p->cl, now_us);
	}
	if (s->uplink < p->cl->n_up) {
		natwatch_probe_now(&p->cl->up[s->uplink].nw, now_us);
	}
	s->failures = 0;
	s->next_request_us = is_requester(p) ? now_us + PUNCH_COOLDOWN_US : UINT64_MAX;
	/* The attempt is spent: a late answer or PATH UP of the peer's for it
	 * must not bring the path back behind the peer's back (it falls back
	 * too, on our DOWN); the next attempt has a token of its own. */
	s->token = 0;
	s->tell_peer_until_us = 0;
}

/* ---- the attempt ---- */

static void end_run_failed(struct peer *p, struct direct_path *s, uint64_t now_us)
{
	char tag[64];
	uint64_t wait;

	log_info("peer %s: punch %s failed (%llu probes)%s", peer_name(p),
		 punch_strategy_name(s->strategy), s->run ? (unsigned long long)s->run->sent : 0ull,
		 direct_path_tag(p, s, tag, sizeof(tag)));
	drop_run(s);
	s->failures++;
	wait = punch_retry_delay_us(s->strategy, s->failures);
	s->next_request_us = is_requester(p) ? now_us + wait : UINT64_MAX;
}

void direct_on_punch(struct client *cl, const struct frame_punch *k, uint64_t now_us)
{
	struct peer *p = peer_find(cl, k->peer.text);
	struct direct_path *s;
	char tag[64];
	int fd;

	if (!p || !session_up(p)) {
		return;
	}
	sync_slots(p, now_us);
	s = direct_slot_for(p, k->uplink, k->peer_uplink);
	fd = uplink_send_fd(cl, k->uplink);
	if (!s || fd == -2) {
		log_debug("peer %s: punch for uplinks %u/%u we do not have", peer_name(p),
			  (unsigned)k->uplink, (unsigned)k->peer_uplink);
		return;
	}
	if (s->is_up) {
		return; /* the other side asked again; we are fine */
	}
	drop_run(s);
	s->token = k->token;
	s->strategy = k->strategy;
	s->role = k->role;
	s->attempts++;
	p->dp.attempts++;
	p->dp.strategy = k->strategy;
	if (k->strategy == FRAME_PUNCH_RELAY) {
		log_info("peer %s: punch: the server keeps this pair on the relay (both NATs "
			 "symmetric, or punching is off)%s",
			 peer_name(p), direct_path_tag(p, s, tag, sizeof(tag)));
		s->failures = PUNCH_RETRIES; /* straight to the cooldown */
		end_run_failed(p, s, now_us);
		direct_tick(p, now_us);
		return;
	}
	s->run = punchrun_new(p, k, fd, now_us);
	if (!s->run) {
		log_error("peer %s: punch: out of memory", peer_name(p));
		end_run_failed(p, s, now_us);
	} else {
		log_info("peer %s: punch strategy=%s role=%u count=%u candidates=%u%s",
			 peer_name(p), punch_strategy_name(k->strategy), (unsigned)k->role,
			 (unsigned)k->count, (unsigned)s->run->n_cand,
			 direct_path_tag(p, s, tag, sizeof(tag)));
	}
	s->next_request_us = UINT64_MAX;
	direct_tick(p, now_us);
}

/* s is up on (fd, addr) now (it may have been up elsewhere before). */
static void path_up(struct peer *p, struct direct_path *s, int fd, struct xsock *xs,
		    const struct sockaddr_storage *addr, uint64_t now_us)
{
	drop_run(s); /* closes the losing spray sockets */
	if (s->xs != xs) {
		xsock_close(s->xs);
	}
	s->xs = xs;
	s->fd = fd;
	s->addr = *addr;
	s->is_up = true;
	s->is_doubt = false;
	s->failures = 0;
	s->upgrades++;
	s->next_request_us = UINT64_MAX;
	s->since_wall_us = wallclock_now_us();
	p->dp.strategy = s->strategy;
	pathmon_init(&s->mon, now_us, DIRECT_PING_US, DIRECT_DOUBT_US, DIRECT_DEAD_US);
	/* Both sides validate within a round trip and would ping in step:
	 * each peer's PING would come just after our own and its PONG wait a
	 * whole interval for our next (pathmon.h). Half an interval apart,
	 * each PONG waits half of one, and the slow drift of the two clocks
	 * leaves them apart for a long time. */
	if (!is_requester(p)) {
		s->mon.next_ping_us = now_us + DIRECT_PING_US / 2;
	}
	pmtu_start(&s->pmtu, now_us);
}

/* " (not used until ...)" for a slot whose last path was left for its loss. */
static const char *lossy_note(const struct direct_path *s)
{
	return s->is_lossy ? " (not used until its pings show it clean: the last one was lossy)"
			   : "";
}

void direct_validated(struct peer *p, struct direct_path *s, int fd, struct xsock *xs,
		      const struct sockaddr_storage *addr, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	char a[ADDR_TEXT_MAX], tag[64];
	struct frame f[2];

	path_up(p, s, fd, xs, addr, now_us);
	log_info("peer %s: direct path up via %s%s (strategy %s, %llu ms after the session)%s%s",
		 peer_name(p), addr_format((const struct sockaddr *)addr, a, sizeof(a)),
		 xs ? " on a spray socket" : "", punch_strategy_name(s->strategy),
		 dp->session_up_us ? (unsigned long long)((now_us - dp->session_up_us) / 1000)
				   : 0ull,
		 lossy_note(s), direct_path_tag(p, s, tag, sizeof(tag)));
	note_kind(p, now_us);
	send_path_frame(p, s, FRAME_PATH_UP, addr, false, now_us);
	/* Our probe was answered; make sure the peer's is too (its probe or
	 * our answer may have been lost): probe once more on the new path.
	 * The decider also says that this is the path (PATH UP, again with
	 * each ping for a while: one may be lost), so that the peer takes
	 * it even if it validated another or none (direct_adopt). */
	memset(f, 0, sizeof(f));
	f[0].type = FRAME_PATH;
	f[0].u.path.op = FRAME_PATH_PROBE;
	f[0].u.path.token = s->token;
	f[1] = f[0];
	f[1].u.path.op = FRAME_PATH_UP;
	f[1].u.path.uplink = s->uplink;
	f[1].u.path.peer_uplink = s->peer_uplink;
	s->tell_peer_until_us = 0;
	if (direct_is_decider(p, s)) {
		s->tell_peer_until_us = now_us + DIRECT_TELL_PEER_US;
	}
	(void)direct_seal_frames_to(p, fd, addr, f, s->tell_peer_until_us ? 2 : 1, now_us);
	direct_tick(p, now_us);
}

void direct_adopt(struct peer *p, struct direct_path *s, int fd, struct xsock *xs,
		  const struct sockaddr_storage *addr, uint64_t now_us)
{
	char a[ADDR_TEXT_MAX], b[ADDR_TEXT_MAX], tag[64];

	addr_format((const struct sockaddr *)addr, a, sizeof(a));
	if (s->is_up) {
		log_info("peer %s: direct path moves from %s to %s, the peer's choice%s",
			 peer_name(p), addr_format((const struct sockaddr *)&s->addr, b, sizeof(b)),
			 a, direct_path_tag(p, s, tag, sizeof(tag)));
	} else {
		log_info("peer %s: direct path up via %s, the peer's choice (strategy %s, %llu ms "
			 "after the session)%s%s",
			 peer_name(p), a, punch_strategy_name(s->strategy),
			 p->dp.session_up_us
				 ? (unsigned long long)((now_us - p->dp.session_up_us) / 1000)
				 : 0ull,
			 lossy_note(s), direct_path_tag(p, s, tag, sizeof(tag)));
	}
	path_up(p, s, fd, xs, addr, now_us);
	s->tell_peer_until_us = 0;
	note_kind(p, now_us);
	send_path_frame(p, s, FRAME_PATH_UP, addr, false, now_us);
	direct_tick(p, now_us);
}

bool direct_on_stun(struct client *cl, int fd, const uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from, uint64_t now_us)
{
	for (struct peer *p = cl->peers; p; p = p->next) {
		for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
			struct direct_path *s = &p->dp.paths[i];

			if (s->run && punchrun_on_stun(s->run, fd, buf, len, from, now_us)) {
				direct_tick(p, now_us);
				return true;
			}
		}
	}
	return false;
}

/* ---- the timer ---- */

/* Our PING on a direct path, with the PONG we owe the peer there if one
 * waits (pathmon_owe_pong): one packet instead of two; and for a while
 * after the decider validated the path, its PATH UP (direct_validated). */
static void send_ping(struct peer *p, struct direct_path *s, uint64_t now_us)
{
	struct pathmon *pm = &s->mon;
	struct frame f[3];
	size_t n = 1;

	memset(f, 0, sizeof(f));
	f[0].type = FRAME_PING;
	f[0].u.ping.tx_us = now_us;
	f[0].u.ping.id = pathmon_on_ping_sent(pm, now_us);
	if (pathmon_take_pong(pm, now_us, &f[1].u.pong.id, &f[1].u.pong.echo_tx_us,
			      &f[1].u.pong.hold_us)) {
		f[1].type = FRAME_PONG;
		n = 2;
	}
	if (now_us < s->tell_peer_until_us) {
		f[n].type = FRAME_PATH;
		f[n].u.path.op = FRAME_PATH_UP;
		f[n].u.path.token = s->token;
		f[n].u.path.uplink = s->uplink;
		f[n].u.path.peer_uplink = s->peer_uplink;
		n++;
	}
	(void)direct_seal_frames_to(p, s->fd, &s->addr, f, n, now_us);
}

static void request_punch(struct peer *p, struct direct_path *s, uint64_t now_us)
{
	struct client *cl = p->cl;
	struct frame f;

	if (!srvconn_is_up(cl)) {
		s->next_request_us = now_us + DIRECT_REQUEST_WAIT_US;
		return;
	}
	/* Our NAT class decides the strategy: wait for the classification
	 * (a few seconds at start), but not forever. */
	if (natwatch_frame_natclass(&cl->up[s->uplink].nw) == FRAME_NAT_UNKNOWN &&
	    now_us - cl->started_us < DIRECT_CLASS_WAIT_US) {
		s->next_request_us = now_us + 500000;
		return;
	}
	memset(&f, 0, sizeof(f));
	f.type = FRAME_PATH;
	f.u.path.op = FRAME_PATH_PUNCH_REQUEST;
	f.u.path.peer = p->def.peer;
	f.u.path.uplink = s->uplink;
	f.u.path.peer_uplink = s->peer_uplink;
	(void)srvconn_send(cl, &f, NULL, now_us);
	log_debug("peer %s: asked the server for a punch (uplinks %u/%u)", peer_name(p),
		  (unsigned)s->uplink, (unsigned)s->peer_uplink);
	s->next_request_us = now_us + DIRECT_REQUEST_WAIT_US;
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

/* One slot's timer work; returns its next deadline. */
static uint64_t tick_slot(struct peer *p, struct direct_path *s, uint64_t now_us)
{
	uint64_t next = UINT64_MAX;

	if (s->run) {
		uint64_t t = punchrun_step(s->run, now_us);

		if (t == 0) {
			end_run_failed(p, s, now_us);
		} else {
			next = t;
		}
	}
	if (s->is_up) {
		enum pathmon_state st = pathmon_state(&s->mon, now_us);

		if (st == PATHMON_DEAD) {
			direct_fall_back(p, s, "no answer for 1 s", true, now_us);
		} else {
			if (st == PATHMON_DOUBT && !s->is_doubt) {
				char tag[64];

				s->is_doubt = true;
				log_info("peer %s: direct path quiet, sending on %s too%s",
					 peer_name(p),
					 direct_any_up(p) && p->dp.active >= 0 ? "another path"
									       : "the relay",
					 direct_path_tag(p, s, tag, sizeof(tag)));
			}
			if (pathmon_ping_due(&s->mon, now_us)) {
				send_ping(p, s, now_us);
			}
			if (direct_judge_loss(p, s, now_us)) {
				note_kind(p, now_us);
			}
			next = min_u64(next, pathmon_next_event_us(&s->mon, now_us));
			next = min_u64(next, linkmtu_probe_direct(p, s, now_us));
		}
	}
	if (!s->is_up && !s->run) {
		if (now_us >= s->next_request_us) {
			request_punch(p, s, now_us);
		}
		next = min_u64(next, s->next_request_us);
	}
	return next;
}

void direct_tick(struct peer *p, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	uint64_t next = UINT64_MAX;

	if (!session_up(p)) {
		rearm(p, UINT64_MAX, now_us);
		return;
	}
	sync_slots(p, now_us);
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		if (dp->paths[i].is_used) {
			next = min_u64(next, tick_slot(p, &dp->paths[i], now_us));
		}
	}
	next = min_u64(next, direct_relay_tick(p, now_us));
	if (now_us >= dp->next_stats_us && srvconn_is_up(p->cl)) {
		send_stats(p, now_us);
	}
	next = min_u64(next, dp->next_stats_us);
	rearm(p, next, now_us);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct direct *dp = container_of(w, struct direct, timer);
	struct peer *p = container_of(dp, struct peer, dp);

	(void)loop;
	(void)revents;
	direct_tick(p, monotime_now_us());
}

void direct_on_session(struct peer *p, bool up, uint64_t now_us)
{
	struct direct *dp = &p->dp;

	if (!up) {
		/* Keys are gone: nothing can be sealed on any path. */
		for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
			struct direct_path *s = &dp->paths[i];

			drop_run(s);
			direct_fall_back(p, s, "session ended", false, now_us);
			s->next_request_us = UINT64_MAX;
		}
		rearm(p, UINT64_MAX, now_us);
		return;
	}
	dp->session_up_us = now_us;
	/* The relay carries from now on: its path begins with the session
	 * (the direct paths all fell back when it went down). */
	note_since(dp, now_us);
	dp->next_stats_us = now_us + DIRECT_STATS_FIRST_US;
	direct_relay_start(p, now_us);
	if (!is_requester(p)) { /* out of step with the peer's (direct_validated) */
		dp->relay_mon.next_ping_us = now_us + dp->relay_mon.interval_us / 2;
	}
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		struct direct_path *s = &dp->paths[i];

		if (s->is_used && !s->is_up && !s->run && is_requester(p)) {
			s->next_request_us = now_us;
		}
	}
	direct_tick(p, now_us);
}

void direct_on_uplink_down(struct client *cl, uint8_t uplink, uint64_t now_us)
{
	for (struct peer *p = cl->peers; p; p = p->next) {
		for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
			struct direct_path *s = &p->dp.paths[i];

			if (!s->is_used || s->uplink != uplink) {
				continue;
			}
			direct_fall_back(p, s, "uplink gone", true, now_us);
			if (p->dp.active == i) {
				p->dp.active = -1;
			}
			free_slot(s);
		}
	}
}

void direct_on_uplinks(struct peer *p, uint64_t now_us)
{
	if (session_up(p)) {
		direct_tick(p, now_us);
	}
}
