/* pathsel: which of a peer's paths carry each packet (DESIGN §5.5: per
 * flow failover, redundant or balance; see direct.h, direct_route), and
 * what the status shows about the paths. The paths themselves (punching,
 * validation, monitoring, fallback) are direct.c's. */
#include "client/direct.h"

#include "client/client.h"
#include "client/linkmtu.h"
#include "client/peer.h"
#include "client/uplink.h"
#include "common/addr.h"
#include "common/log.h"
#include "nat/pathsched.h"
#include "nat/punch.h"

#include <string.h>

/* Failover leaves a direct path that loses far more than the relay (DESIGN
 * §5: the best path, not merely one that answers), and takes it again once
 * it is clean. Loss is the share of the last PATHMON_RING pings (6.4 s of
 * a direct path's) left unanswered, of those sent long enough before the
 * last pong (as pathmon_loss counts them, but a silence is for liveness to
 * judge). With at least PATHSEL_LOSS_SAMPLES of them (3 s: a few lost
 * pings of a new path are no verdict), a path more than PATHSEL_LOSS_LEAVE
 * above the relay's loss is left, and it is used again when it is within
 * PATHSEL_LOSS_BACK. Ten points: a path with a few per cent of loss rarely
 * shows that much in 15-32 pings (5 % does once in about 50 estimates),
 * while one that costs an app a tenth of its datagrams and more is clearly
 * worse than a clean relay; the gap between the two keeps a path near the
 * line from flapping. A dead path still falls back after 1 s (direct.c):
 * this is about paths that answer. */
#define PATHSEL_LOSS_LEAVE 0.10
#define PATHSEL_LOSS_BACK 0.05
#define PATHSEL_LOSS_SAMPLES 15
/* A path that dies is judged by its pings up to its last pong, with at
 * least this many: one that lost half of them died within 2-3 s, before
 * the first verdict, and its successor was used again after each 10 s
 * cooldown. */
#define PATHSEL_LOSS_END_SAMPLES 8
/* As pathmon_loss: a ping counts once it is older than max(4 x srtt, this)
 * plus one interval (nat/pathmon.c). */
#define PATHSEL_LOSS_WAIT_MIN_US 200000ull
/* The relay is pinged once a second, so its ring spans 32 s to the direct
 * path's 6.4: a bottleneck both paths share (our own traffic filling a
 * link) shows on the direct path long before it does on the whole ring.
 * The relay's loss over the direct path's span counts too (the larger of
 * the two), once it has this many pings. */
#define PATHSEL_RELAY_SPAN_SAMPLES 3

bool direct_any_up(const struct peer *p)
{
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		if (p->dp.paths[i].is_up) {
			return true;
		}
	}
	return false;
}

bool direct_in_use(const struct peer *p)
{
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		if (p->dp.paths[i].is_up && !p->dp.paths[i].is_lossy) {
			return true;
		}
	}
	return false;
}

/* The remembered pings sent from since_us on and old enough at at_us to
 * have been answered: how many (returned) and the share of them that were
 * not (*loss), as pathmon_loss counts them; *first_us: the oldest's. */
static unsigned count_pings(const struct pathmon *pm, uint64_t since_us, uint64_t at_us,
			    double *loss, uint64_t *first_us)
{
	uint64_t wait = 4ull * pm->srtt_us;
	unsigned n = 0, lost = 0;

	if (wait < PATHSEL_LOSS_WAIT_MIN_US) {
		wait = PATHSEL_LOSS_WAIT_MIN_US;
	}
	wait += pm->interval_us;
	*first_us = UINT64_MAX;
	for (unsigned i = 0; i < PATHMON_RING; i++) {
		const struct pathmon_ping *g = &pm->ring[i];

		if (g->id != 0 && g->tx_us >= since_us && g->tx_us + wait <= at_us) {
			n++;
			lost += !g->is_answered;
			*first_us = g->tx_us < *first_us ? g->tx_us : *first_us;
		}
	}
	*loss = n ? (double)lost / (double)n : 0.0;
	return n;
}

/* The relay's loss to compare a direct path's with, whose counted pings
 * start at since_us (PATHSEL_RELAY_SPAN_SAMPLES). */
static double relay_loss(const struct peer *p, uint64_t since_us, uint64_t now_us)
{
	const struct pathmon *pm = &p->dp.relay_mon;
	double all = pathmon_loss(pm, now_us), span;
	uint64_t first;

	if (count_pings(pm, since_us, now_us, &span, &first) >= PATHSEL_RELAY_SPAN_SAMPLES &&
	    span > all) {
		return span;
	}
	return all;
}

bool direct_judge_loss(struct peer *p, struct direct_path *s, uint64_t now_us)
{
	double loss, relay;
	uint64_t first;
	/* Up to its last pong: a silence is for liveness to judge (a cut path
	 * goes in 1 s, and the next one must not wait for clean pings). */
	unsigned n = count_pings(&s->mon, 0, s->mon.last_life_us, &loss, &first);
	bool lossy = s->is_lossy;
	char a[ADDR_TEXT_MAX], tag[64];

	relay = relay_loss(p, first, now_us);
	if (n >= PATHSEL_LOSS_SAMPLES) {
		lossy = s->is_lossy ? loss > relay + PATHSEL_LOSS_BACK
				    : loss > relay + PATHSEL_LOSS_LEAVE;
	}
	if (lossy == s->is_lossy) {
		return false;
	}
	s->is_lossy = lossy;
	addr_format((const struct sockaddr *)&s->addr, a, sizeof(a));
	if (lossy) {
		log_info("peer %s: direct path %s loses %.0f %% of pings, the relay %.0f %%: "
			 "traffic leaves it for %s%s",
			 p->def.peer.text, a, loss * 100.0, relay * 100.0,
			 direct_in_use(p) ? "another direct path" : "the relay",
			 direct_path_tag(p, s, tag, sizeof(tag)));
	} else {
		log_info("peer %s: direct path %s clean again (loss %.0f %%, the relay %.0f %%): "
			 "usable again%s",
			 p->def.peer.text, a, loss * 100.0, relay * 100.0,
			 direct_path_tag(p, s, tag, sizeof(tag)));
	}
	return true;
}

void direct_judge_end(struct peer *p, struct direct_path *s, uint64_t now_us)
{
	double loss, relay;
	uint64_t first;
	char a[ADDR_TEXT_MAX], tag[64];

	/* Up to its last pong, as direct_judge_loss: the silence that ended
	 * it is no loss. */
	if (s->is_lossy || count_pings(&s->mon, 0, s->mon.last_life_us, &loss, &first) <
				   PATHSEL_LOSS_END_SAMPLES) {
		return;
	}
	relay = relay_loss(p, first, now_us);
	if (loss <= relay + PATHSEL_LOSS_LEAVE) {
		return;
	}
	s->is_lossy = true;
	log_info("peer %s: direct path %s lost %.0f %% of its pings before it went, the relay "
		 "%.0f %%: the next one carries once its pings are clean%s",
		 p->def.peer.text, addr_format((const struct sockaddr *)&s->addr, a, sizeof(a)),
		 loss * 100.0, relay * 100.0, direct_path_tag(p, s, tag, sizeof(tag)));
}

int direct_up_paths(const struct peer *p, int fds[DIRECT_PATHS_MAX],
		    const struct sockaddr_storage *dsts[DIRECT_PATHS_MAX])
{
	int n = 0;

	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		const struct direct_path *s = &p->dp.paths[i];

		if (s->is_up) {
			fds[n] = s->fd;
			dsts[n] = &s->addr;
			n++;
		}
	}
	return n;
}

/* RTT for comparisons: unmeasured paths sort last. */
static uint32_t rtt_key(const struct direct_path *s)
{
	return s->mon.srtt_us ? s->mon.srtt_us : UINT32_MAX;
}

/* A path failover may send on now: it answers, and loses no more than the
 * relay does (direct_judge_loss). */
static bool is_usable(const struct direct_path *s, uint64_t now_us)
{
	return s->is_up && !s->is_lossy && pathmon_state(&s->mon, now_us) == PATHMON_UP;
}

/* Failover's path: the one in use while it is usable, else the usable path
 * with the lowest RTT. -1 when none is (the relay carries). */
static int best_path(const struct peer *p, uint64_t now_us)
{
	const struct direct *dp = &p->dp;
	int best = -1;

	if (dp->active >= 0 && is_usable(&dp->paths[dp->active], now_us)) {
		return dp->active;
	}
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		const struct direct_path *s = &dp->paths[i];

		if (is_usable(s, now_us) && (best < 0 || rtt_key(s) < rtt_key(&dp->paths[best]))) {
			best = i;
		}
	}
	return best;
}

const struct direct_path *direct_failover_path(const struct peer *p, uint64_t now_us)
{
	int best = best_path(p, now_us);

	return best >= 0 ? &p->dp.paths[best] : NULL;
}

/* best_path, remembered (and logged when it moves with several uplinks). */
static int choose_active(struct peer *p, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	int best = best_path(p, now_us);

	if (best >= 0 && best != dp->active && direct_is_multi(p)) {
		char a[ADDR_TEXT_MAX], tag[64];

		log_info("peer %s: traffic on path %s%s", p->def.peer.text,
			 addr_format((const struct sockaddr *)&dp->paths[best].addr, a, sizeof(a)),
			 direct_path_tag(p, &dp->paths[best], tag, sizeof(tag)));
	}
	dp->active = best;
	return best;
}

static int add_dst(struct direct_path *s, int n, int fds[], const struct sockaddr_storage *dsts[])
{
	fds[n] = s->fd;
	dsts[n] = &s->addr;
	s->tx_packets++;
	return n + 1;
}

/* The relay by the control uplink; first by the uplink the relay answers
 * instead, while it does (the control uplink's copy goes last, so that the
 * relay answers it again as soon as it hears it). */
static int add_relay(struct peer *p, int n, int fds[], const struct sockaddr_storage *dsts[])
{
	struct client *cl = p->cl;
	int alt = p->dp.relay_alt;

	if (alt >= 0 && alt != cl->ctl && uplink_is_open(cl, (uint8_t)alt) &&
	    peer_relay_via(p, (uint8_t)alt)) {
		fds[n] = uplink_send_fd(cl, (uint8_t)alt);
		dsts[n] = peer_relay_via(p, (uint8_t)alt);
		n++;
	}
	fds[n] = uplink_ctl_fd(cl);
	dsts[n] = &p->relay;
	p->dp.relay_tx_packets++;
	return n + 1;
}

static int route_failover(struct peer *p, uint64_t now_us, int fds[],
			  const struct sockaddr_storage *dsts[])
{
	struct direct *dp = &p->dp;
	int a = choose_active(p, now_us);

	if (a >= 0) {
		return add_dst(&dp->paths[a], 0, fds, dsts);
	}
	/* No path answers: one in doubt (or dead, not yet noticed by the
	 * timer) goes on carrying, with the relay beside it; the receiver
	 * drops duplicates. A lossy one is left to the relay alone. */
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		if (dp->paths[i].is_up && !dp->paths[i].is_lossy) {
			dp->dup_tx++;
			return add_relay(p, add_dst(&dp->paths[i], 0, fds, dsts), fds, dsts);
		}
	}
	return add_relay(p, 0, fds, dsts);
}

/* Every path up (in doubt too), and the relay from every open uplink while
 * fewer than two paths answer (the relay then survives an uplink too). */
static int route_redundant(struct peer *p, uint64_t now_us, int fds[],
			   const struct sockaddr_storage *dsts[])
{
	struct client *cl = p->cl;
	int n = 0, answering = 0;

	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		struct direct_path *s = &p->dp.paths[i];

		if (s->is_up) {
			n = add_dst(s, n, fds, dsts);
			answering += pathmon_state(&s->mon, now_us) == PATHMON_UP;
		}
	}
	if (answering < 2) {
		for (uint8_t u = 0; u < cl->n_up; u++) {
			if (uplink_is_open(cl, u) && peer_relay_via(p, u)) {
				fds[n] = uplink_send_fd(cl, u);
				dsts[n] = peer_relay_via(p, u);
				n++;
			}
		}
	}
	return n;
}

/* The answering paths spread by nat/pathsched (weights from their pings);
 * failover below two. */
static int route_balance(struct peer *p, uint64_t now_us, int fds[],
			 const struct sockaddr_storage *dsts[])
{
	struct direct *dp = &p->dp;
	int64_t weight[DIRECT_PATHS_MAX], credit[DIRECT_PATHS_MAX];
	int live = 0, k;

	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		struct direct_path *s = &dp->paths[i];

		weight[i] = 0;
		credit[i] = s->wrr;
		if (s->is_up && pathmon_state(&s->mon, now_us) == PATHMON_UP) {
			weight[i] = pathsched_weight(pathmon_loss(&s->mon, now_us), s->mon.srtt_us);
			live++;
		}
	}
	if (live < 2) {
		return route_failover(p, now_us, fds, dsts);
	}
	k = pathsched_pick(credit, weight, DIRECT_PATHS_MAX);
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		dp->paths[i].wrr = credit[i];
	}
	return add_dst(&dp->paths[k], 0, fds, dsts);
}

int direct_route(struct peer *p, uint8_t mode, uint64_t now_us, int fds[DIRECT_ROUTE_MAX],
		 const struct sockaddr_storage *dsts[DIRECT_ROUTE_MAX])
{
	switch (mode) {
	case FRAME_MULTIPATH_REDUNDANT:
		return route_redundant(p, now_us, fds, dsts);
	case FRAME_MULTIPATH_BALANCE:
		return route_balance(p, now_us, fds, dsts);
	default:
		return route_failover(p, now_us, fds, dsts);
	}
}

void direct_report(const struct peer *p, uint64_t now_us, struct direct_report *out)
{
	const struct direct *dp = &p->dp;
	const struct direct_path *s = NULL;

	memset(out, 0, sizeof(*out));
	/* The path in use: a lossy one is not (failover sends on the relay). */
	if (dp->active >= 0 && dp->paths[dp->active].is_up && !dp->paths[dp->active].is_lossy) {
		s = &dp->paths[dp->active];
	}
	for (int i = 0; i < DIRECT_PATHS_MAX && !s; i++) {
		if (dp->paths[i].is_up && !dp->paths[i].is_lossy) {
			s = &dp->paths[i];
		}
	}
	out->kind = s ? DIRECT_KIND_DIRECT : DIRECT_KIND_RELAY;
	out->why = !s && direct_any_up(p) ? "lossy direct path" : NULL;
	out->relay_rtt_ms = pathmon_rtt_ms(&dp->relay_mon);
	out->relay_loss = pathmon_loss(&dp->relay_mon, now_us);
	out->relay_mtu_probe = linkmtu_probe_text(p, &dp->relay_pmtu, true);
	if (s) {
		out->rtt_ms = pathmon_rtt_ms(&s->mon);
		out->loss = pathmon_loss(&s->mon, now_us);
		out->addr = s->addr;
	} else {
		out->rtt_ms = out->relay_rtt_ms;
		out->loss = out->relay_loss;
	}
	out->strategy =
		dp->attempts || s ? punch_strategy_name(s ? s->strategy : dp->strategy) : "none";
	out->since_wall_us = dp->since_wall_us;
	out->upgrades = dp->upgrades;
	out->fallbacks = dp->fallbacks;
	out->attempts = dp->attempts;
}

size_t direct_paths_report(const struct peer *p, uint64_t now_us, struct direct_path_report *out,
			   size_t max)
{
	const struct direct *dp = &p->dp;
	int active = best_path(p, now_us);
	size_t n = 0;

	for (int i = 0; i < DIRECT_PATHS_MAX && n < max; i++) {
		const struct direct_path *s = &dp->paths[i];
		struct direct_path_report *r = &out[n];

		if (!s->is_used) {
			continue;
		}
		memset(r, 0, sizeof(*r));
		r->uplink = s->uplink;
		r->peer_uplink = s->peer_uplink;
		r->state = !s->is_up					  ? "down"
			   : pathmon_state(&s->mon, now_us) == PATHMON_UP ? "up"
									  : "doubt";
		r->is_active = active == i;
		r->is_lossy = s->is_up && s->is_lossy;
		if (s->is_up) {
			r->rtt_ms = pathmon_rtt_ms(&s->mon);
			r->loss = pathmon_loss(&s->mon, now_us);
			r->addr = s->addr;
			r->mtu_probe = linkmtu_probe_text(p, &s->pmtu, false);
		}
		r->strategy = s->attempts || s->is_up ? punch_strategy_name(s->strategy) : "none";
		r->since_wall_us = s->since_wall_us;
		r->tx_packets = s->tx_packets;
		r->rx_packets = s->rx_packets;
		r->upgrades = s->upgrades;
		r->fallbacks = s->fallbacks;
		r->attempts = s->attempts;
		n++;
	}
	return n;
}
