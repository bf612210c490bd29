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

bool direct_any_up(const struct peer *p)
{
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		if (p->dp.paths[i].is_up) {
			return true;
		}
	}
	return false;
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

/* Failover's path: the one in use while it answers, else the live path
 * with the lowest RTT. -1 when no path is UP. */
static int best_path(const struct peer *p, uint64_t now_us)
{
	const struct direct *dp = &p->dp;
	int best = -1;

	if (dp->active >= 0 && dp->paths[dp->active].is_up &&
	    pathmon_state(&dp->paths[dp->active].mon, now_us) == PATHMON_UP) {
		return dp->active;
	}
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		const struct direct_path *s = &dp->paths[i];

		if (s->is_up && pathmon_state(&s->mon, now_us) == PATHMON_UP &&
		    (best < 0 || rtt_key(s) < rtt_key(&dp->paths[best]))) {
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
	 * drops duplicates. */
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		if (dp->paths[i].is_up) {
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
	if (dp->active >= 0 && dp->paths[dp->active].is_up) {
		s = &dp->paths[dp->active];
	}
	for (int i = 0; i < DIRECT_PATHS_MAX && !s; i++) {
		if (dp->paths[i].is_up) {
			s = &dp->paths[i];
		}
	}
	out->kind = s ? DIRECT_KIND_DIRECT : DIRECT_KIND_RELAY;
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
