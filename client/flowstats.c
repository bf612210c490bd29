/* flowstats: flow counters to the server (see flowreport.h). */
#include "client/flowstats.h"

#include "client/client.h"
#include "client/flow_udp.h"
#include "client/routeintake.h"
#include "client/srvconn.h"
#include "common/compiler.h"
#include "common/monotime.h"
#include "proto/frame.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(FLOWSTATS_FLOWS_MAX >= ROUTEINTAKE_FLOWS_MAX, "every flow is reported");

static struct flowstats_last *last_of(struct flowstats *fs, const char *name)
{
	for (size_t i = 0; i < fs->n_last; i++) {
		if (strcmp(fs->last[i].name, name) == 0) {
			return &fs->last[i];
		}
	}
	if (fs->n_last == FLOWSTATS_FLOWS_MAX) {
		return NULL;
	}
	memset(&fs->last[fs->n_last], 0, sizeof(fs->last[0]));
	memcpy(fs->last[fs->n_last].name, name, sizeof(fs->last[0].name));
	return &fs->last[fs->n_last++];
}

static uint64_t drops_of(const struct flow_udp_stats *s)
{
	uint64_t n = 0;

	for (int i = 0; i < FLOW_UDP_DROP_COUNT; i++) {
		n += s->drops[i];
	}
	return n;
}

static void report(struct client *cl, const struct flow_udp_state *st, uint64_t now_us)
{
	struct frame f;
	struct frame_flow_stats *s = &f.u.flow_stats;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_FLOW_STATS;
	if (frame_name_set(&s->flow, st->name) != 0) {
		return;
	}
	s->flags = (st->saturated ? FRAME_FLOW_STATS_SATURATED : 0) |
		   (st->capacity_kbps ? FRAME_FLOW_STATS_MEASURED : 0);
	s->tx_packets = st->stats.tx_packets;
	s->tx_bytes = st->stats.tx_bytes;
	s->rx_packets = st->stats.rx_packets;
	s->rx_bytes = st->stats.rx_bytes;
	s->drops = drops_of(&st->stats);
	s->capacity_kbps = st->capacity_kbps;
	s->send_kbps = st->send_kbps;
	s->loss_ppm = st->loss <= 0 ? 0 : st->loss >= 1 ? 1000000u : (uint32_t)(st->loss * 1e6);
	(void)srvconn_send(cl, &f, NULL, now_us);
	cl->fs.sent++;
}

static void tick(struct client *cl, uint64_t now_us)
{
	struct flowstats *fs = &cl->fs;
	struct flow_udp_state *st;
	size_t n;

	if (!srvconn_is_up(cl)) {
		return;
	}
	st = malloc(sizeof(*st) * FLOWSTATS_FLOWS_MAX);
	if (!st) {
		return;
	}
	n = flow_udp_report(cl, st, FLOWSTATS_FLOWS_MAX);
	for (size_t i = 0; i < n; i++) {
		struct flowstats_last *l = last_of(fs, st[i].name);
		uint64_t drops = drops_of(&st[i].stats);
		/* Drops alone are a change too: a flow whose datagrams are all
		 * refused or dropped (too large, its sink gone) sends nothing
		 * and delivers nothing, and its drops would wait a keepalive. */
		bool changed = !l || l->tx_packets != st[i].stats.tx_packets ||
			       l->rx_packets != st[i].stats.rx_packets || l->drops != drops ||
			       l->saturated != st[i].saturated;

		if (!changed && now_us - l->sent_us < srvconn_keepalive_us(cl)) {
			continue;
		}
		report(cl, &st[i], now_us);
		if (l) {
			l->tx_packets = st[i].stats.tx_packets;
			l->rx_packets = st[i].stats.rx_packets;
			l->drops = drops;
			l->saturated = st[i].saturated;
			l->sent_us = now_us;
		}
	}
	/* Forget flows that are gone (their names may come back as new flows). */
	for (size_t i = 0; i < fs->n_last;) {
		bool present = false;

		for (size_t k = 0; k < n && !present; k++) {
			present = strcmp(st[k].name, fs->last[i].name) == 0;
		}
		if (present) {
			i++;
		} else {
			fs->last[i] = fs->last[--fs->n_last];
		}
	}
	free(st);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct flowstats *fs = container_of(w, struct flowstats, timer);
	struct client *cl = container_of(fs, struct client, fs);

	(void)loop;
	(void)revents;
	tick(cl, monotime_now_us());
}

void flowstats_init(struct flowstats *fs)
{
	memset(fs, 0, sizeof(*fs));
	ev_timer_init(&fs->timer, timer_cb, FLOWSTATS_PERIOD_S, FLOWSTATS_PERIOD_S);
}

void flowstats_start(struct client *cl)
{
	ev_timer_start(cl->loop, &cl->fs.timer);
}

void flowstats_stop(struct client *cl)
{
	ev_timer_stop(cl->loop, &cl->fs.timer);
}
