/* flowreport: flow counters to the server (see flowreport.h). */
#include "client/flowreport.h"

#include "client/client.h"
#include "client/flow_udp.h"
#include "client/srvconn.h"
#include "common/compiler.h"
#include "common/monotime.h"
#include "proto/frame.h"

#include <stdlib.h>
#include <string.h>

static struct flowreport_last *last_of(struct flowreport *fr, const char *name)
{
	for (size_t i = 0; i < fr->n_last; i++) {
		if (strcmp(fr->last[i].name, name) == 0) {
			return &fr->last[i];
		}
	}
	if (fr->n_last == FLOWREPORT_FLOWS_MAX) {
		return NULL;
	}
	memset(&fr->last[fr->n_last], 0, sizeof(fr->last[0]));
	memcpy(fr->last[fr->n_last].name, name, sizeof(fr->last[0].name));
	return &fr->last[fr->n_last++];
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
	cl->fr.sent++;
}

static void tick(struct client *cl, uint64_t now_us)
{
	struct flowreport *fr = &cl->fr;
	struct flow_udp_state *st;
	size_t n;

	if (!srvconn_is_up(cl)) {
		return;
	}
	st = malloc(sizeof(*st) * FLOWREPORT_FLOWS_MAX);
	if (!st) {
		return;
	}
	n = flow_udp_report(cl, st, FLOWREPORT_FLOWS_MAX);
	for (size_t i = 0; i < n; i++) {
		struct flowreport_last *l = last_of(fr, st[i].name);
		bool changed = !l || l->tx_packets != st[i].stats.tx_packets ||
			       l->rx_packets != st[i].stats.rx_packets ||
			       l->saturated != st[i].saturated;

		if (!changed && now_us - l->sent_us < srvconn_keepalive_us(cl)) {
			continue;
		}
		report(cl, &st[i], now_us);
		if (l) {
			l->tx_packets = st[i].stats.tx_packets;
			l->rx_packets = st[i].stats.rx_packets;
			l->saturated = st[i].saturated;
			l->sent_us = now_us;
		}
	}
	/* Forget flows that are gone (their names may come back as new flows). */
	for (size_t i = 0; i < fr->n_last;) {
		bool present = false;

		for (size_t k = 0; k < n && !present; k++) {
			present = strcmp(st[k].name, fr->last[i].name) == 0;
		}
		if (present) {
			i++;
		} else {
			fr->last[i] = fr->last[--fr->n_last];
		}
	}
	free(st);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct flowreport *fr = container_of(w, struct flowreport, timer);
	struct client *cl = container_of(fr, struct client, fr);

	(void)loop;
	(void)revents;
	tick(cl, monotime_now_us());
}

void flowreport_init(struct flowreport *fr)
{
	memset(fr, 0, sizeof(*fr));
	ev_timer_init(&fr->timer, timer_cb, FLOWREPORT_PERIOD_S, FLOWREPORT_PERIOD_S);
}

void flowreport_start(struct client *cl)
{
	ev_timer_start(cl->loop, &cl->fr.timer);
}

void flowreport_stop(struct client *cl)
{
	ev_timer_stop(cl->loop, &cl->fr.timer);
}
