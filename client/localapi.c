/* localapi: what `GET /api/v1/status` reports about this client: its server
 * session, NAT class and mapped address, and each peer and flow with its
 * counters. Reads only; runs on the loop thread (httpd calls back there). */
#include "client/localapi.h"

#include "api/flowreport.h"
#include "api/flowsapi.h"
#include "api/httpget.h"
#include "api/statusapi.h"
#include "client/client.h"
#include "client/flow_tcp.h"
#include "client/flow_udp.h"
#include "client/joinwait.h"
#include "client/linkmtu.h"
#include "client/peer.h"
#include "client/routeintake.h"
#include "common/addr.h"
#include "common/cliopt.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/utf8.h"
#include "config/client_ini.h"
#include "nat/nat64.h"
#include "nat/natclass.h"
#include "proto/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *localapi_path_kind(const struct client *cl, const char *peer)
{
	const struct peer *p = peer_find((struct client *)cl, peer);

	return p && direct_in_use(p) ? "direct" : "relay";
}

static uint64_t ms_ago(uint64_t now_us, uint64_t then_us)
{
	return then_us == 0 ? UINT64_MAX : (now_us - then_us) / 1000u;
}

static void fill_paths(const struct peer *p, uint64_t now_us, struct statusapi_peer *out)
{
	struct direct_path_report r[DIRECT_PATHS_MAX];
	size_t n = direct_paths_report(p, now_us, r, DIRECT_PATHS_MAX);

	for (size_t i = 0; i < n && out->n_paths < STATUSAPI_PATHS_MAX; i++) {
		struct statusapi_path *o = &out->paths[out->n_paths++];

		o->uplink = r[i].uplink;
		o->peer_uplink = r[i].peer_uplink;
		o->state = r[i].state;
		o->is_active = r[i].is_active;
		o->is_lossy = r[i].is_lossy;
		o->rtt_ms = r[i].rtt_ms;
		o->loss = r[i].loss;
		o->strategy = r[i].strategy;
		o->mtu_probe = r[i].mtu_probe;
		if (r[i].addr.ss_family != 0) {
			addr_format((const struct sockaddr *)&r[i].addr, o->addr, sizeof(o->addr));
		}
		o->since = r[i].since_wall_us / 1e6;
		o->tx_packets = r[i].tx_packets;
		o->rx_packets = r[i].rx_packets;
		o->upgrades = r[i].upgrades;
		o->fallbacks = r[i].fallbacks;
		o->attempts = r[i].attempts;
	}
}

static void fill_uplinks(const struct client *cl, struct statusapi_status *out)
{
	for (size_t i = 0; i < cl->n_up && out->n_uplinks < STATUSAPI_UPLINKS_MAX; i++) {
		const struct uplink *u = &cl->up[i];
		struct statusapi_uplink *o = &out->uplinks[out->n_uplinks++];
		bool open = uplink_is_open(cl, u->id);

		o->id = u->id;
		snprintf(o->name, sizeof(o->name), "%s", u->name);
		o->state = open ? "up" : "down";
		if (open) {
			const struct sockaddr_storage *l = i == 0 ? &cl->ms.local : &u->local;

			addr_format((const struct sockaddr *)l, o->local, sizeof(o->local));
		}
		o->nat_class = u->nw.has_result ? natclass_type_name(u->nw.result.type) : "unknown";
		if (open && u->nw.mapped.ss_family != 0) {
			addr_format((const struct sockaddr *)&u->nw.mapped, o->mapped,
				    sizeof(o->mapped));
		}
		o->server = uplink_server_state(cl, u->id);
		o->rx_packets = i == 0 ? cl->ms.rx_packets : u->rx_packets;
		o->tx_packets = u->tx_packets;
		o->tx_bytes = u->tx_bytes;
	}
}

static void fill_peer(const struct client *cl, const struct peer *p, uint64_t now_us,
		      struct statusapi_peer *out)
{
	struct direct_report r;

	direct_report(p, now_us, &r);
	snprintf(out->id, sizeof(out->id), "%s", p->def.peer.text);
	out->path = localapi_path_kind(cl, out->id);
	out->rtt_ms = r.rtt_ms;
	out->loss = r.loss;
	out->relay_rtt_ms = r.relay_rtt_ms;
	out->relay_loss = r.relay_loss;
	out->relay_mtu_probe = r.relay_mtu_probe;
	out->strategy = r.strategy;
	out->path_reason = r.why;
	out->since = r.since_wall_us / 1e6;
	if (r.kind == DIRECT_KIND_DIRECT) {
		addr_format((const struct sockaddr *)&r.addr, out->direct_addr,
			    sizeof(out->direct_addr));
	}
	out->upgrades = r.upgrades;
	out->fallbacks = r.fallbacks;
	out->attempts = r.attempts;
	fill_paths(p, now_us, out);
	out->is_up = p->is_up;
	out->is_bound = p->is_bound;
	out->is_refused = p->is_refused;
	out->relay_port = p->def.relay_port;
	out->relay_uplink = p->dp.relay_alt >= 0 ? (uint8_t)p->dp.relay_alt : cl->ctl;
	out->key_generation = p->sess ? session_key_generation(p->sess) : 0;
	out->link_mtu = p->link_mtu;
	out->stream_mss = linkmtu_peer_mss(p, now_us);
	out->last_rx_ms_ago = ms_ago(now_us, p->last_rx_us);
	out->tx_packets = p->stats.tx_packets;
	out->tx_bytes = p->stats.tx_bytes;
	out->rx_packets = p->stats.rx_packets;
	out->rx_bytes = p->stats.rx_bytes;
	for (int i = 0; i < PEER_DROP_COUNT; i++) {
		out->drops += p->stats.drops[i];
	}
}

static void fill_report(const struct flow_udp_state *st, struct flowreport_flow *out);

static void fill_flow(struct flow_udp *f, struct statusapi_flow *out)
{
	struct flow_udp_state st;

	snprintf(out->name, sizeof(out->name), "%s", f->route.flow.text);
	out->proto = f->route.proto == FRAME_PROTO_TCP ? "tcp" : "udp";
	out->port = f->route.port;
	out->listen_port = f->route.listen_port;
	out->is_sink = f->route.deliver.family != 0;
	out->tx_packets = f->stats.tx_packets;
	out->tx_bytes = f->stats.tx_bytes;
	out->rx_packets = f->stats.rx_packets;
	out->rx_bytes = f->stats.rx_bytes;
	for (int i = 0; i < FLOW_UDP_DROP_COUNT; i++) {
		out->drops += f->stats.drops[i];
	}
	flow_udp_state_of(f, &st);
	fill_report(&st, &out->report);
	out->has_report = true;
}

/* A TCP flow in the status: its stream counters, no report (its streams
 * run their own congestion control). */
static void fill_tcp_flow(const struct flow_tcp_report *r, struct statusapi_flow *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", r->route->flow.text);
	out->proto = "tcp";
	out->port = r->route->port;
	out->listen_port = r->route->listen_port;
	out->is_sink = r->route->deliver.family != 0;
	out->tx_packets = r->tx_segs;
	out->tx_bytes = r->tx_bytes;
	out->rx_packets = r->rx_segs;
	out->rx_bytes = r->rx_bytes;
	out->drops = r->resets;
}

static void status_cb(void *ctx, struct statusapi_status *out)
{
	const struct client *cl = ctx;
	uint64_t now_us = monotime_now_us();
	struct flow_tcp_report tcp[STATUSAPI_FLOWS_MAX];
	size_t n_tcp;

	snprintf(out->id, sizeof(out->id), "%s", cl->ini->id);
	out->uptime_s = (now_us - cl->started_us) / 1000000u;
	out->server_state = srvconn_state(cl);
	snprintf(out->held_by, sizeof(out->held_by), "%s", cl->srv.held_by);
	if (srvaddr_is_usable(cl, cl->srv.server_i)) {
		addr_format((const struct sockaddr *)client_server_addr(cl), out->server,
			    sizeof(out->server));
	} else { /* a name with no address yet */
		snprintf(out->server, sizeof(out->server), "%s:%u",
			 cl->ini->server_names[cl->srv.server_i],
			 (unsigned)cl->ini->server_ports[cl->srv.server_i]);
	}
	out->server_last_rx_ms_ago = ms_ago(now_us, cl->srv.last_rx_us);
	out->reconnects = cl->srv.reconnects;
	out->server_uplink = cl->ctl;
	out->server_link_mtu = cl->relay_mtu;
	out->link_mtu = cl->link_mtu;
	out->stream_mss = cl->stream_mss;
	out->nat_class =
		cl->up[0].nw.has_result ? natclass_type_name(cl->up[0].nw.result.type) : "unknown";
	if (cl->up[0].nw.mapped.ss_family != 0) {
		addr_format((const struct sockaddr *)&cl->up[0].nw.mapped, out->mapped,
			    sizeof(out->mapped));
	}
	if (cl->family == AF_INET6 && cl->sa.pref64.len != 0) {
		nat64_prefix_format(&cl->sa.pref64, out->nat64_prefix, sizeof(out->nat64_prefix));
	}
	out->drops = (struct statusapi_drops){
		.unrecognized = cl->drop_demux,
		.stun = cl->drop_stun,
		.bad_mac = cl->drop_bad_mac,
		.unknown_index = cl->drop_no_owner,
		.auth = cl->drop_auth,
		.bad_frames = cl->drop_frames,
		.truncated = cl->ms.rx_truncated,
	};
	fill_uplinks(cl, out);
	for (const struct peer *p = cl->peers; p && out->n_peers < STATUSAPI_PEERS_MAX;
	     p = p->next) {
		fill_peer(cl, p, now_us, &out->peers[out->n_peers++]);
	}
	for (struct flow_udp *f = cl->flows; f && out->n_flows < STATUSAPI_FLOWS_MAX; f = f->next) {
		fill_flow(f, &out->flows[out->n_flows++]);
	}
	n_tcp = flow_tcp_reports(cl, tcp, STATUSAPI_FLOWS_MAX - out->n_flows);
	for (size_t i = 0; i < n_tcp; i++) {
		fill_tcp_flow(&tcp[i], &out->flows[out->n_flows++]);
	}
}

/* One flow's congestion state (client/flow_udp.h) as the API shows it. */
static void fill_report(const struct flow_udp_state *st, struct flowreport_flow *out)
{
	const struct impair_counters *c = &st->impair;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", st->name);
	out->proto = "udp";
	out->is_saturated = st->saturated;
	out->capacity_kbps = st->capacity_kbps;
	out->send_kbps = st->send_kbps;
	out->loss = st->loss;
	out->rtt_ms = st->rtt_ms;
	out->has_impair = st->has_impair;
	out->impair = (struct flowreport_impair){
		.dropped = c->dropped,
		.corrupted = c->corrupted,
		.duplicated = c->duplicated,
		.reordered = c->reordered,
		.delayed = c->delayed,
		.rate_dropped = c->rate_dropped,
		.pool_dropped = c->pool_dropped,
	};
	out->tx_packets = st->stats.tx_packets;
	out->tx_bytes = st->stats.tx_bytes;
	out->rx_packets = st->stats.rx_packets;
	out->rx_bytes = st->stats.rx_bytes;
	for (int i = 0; i < FLOW_UDP_DROP_COUNT; i++) {
		out->drops += st->stats.drops[i];
	}
}

/* A TCP flow's streams (client/flow_tcp.h) as the API shows them: the
 * same object, never saturated, no capacity or impairment, its loss the
 * share of segments sent again. */
static void fill_tcp_report(const struct flow_tcp_report *r, struct flowreport_flow *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", r->route->flow.text);
	out->proto = "tcp";
	out->connections = r->connections;
	out->send_kbps = r->rate_kbps > UINT32_MAX ? UINT32_MAX : (uint32_t)r->rate_kbps;
	out->loss = r->tx_segs ? (double)r->rexmit_segs / (double)r->tx_segs : 0.0;
	out->rtt_ms = (uint32_t)((r->rtt_us + 500) / 1000);
	out->tx_packets = r->tx_segs;
	out->tx_bytes = r->tx_bytes;
	out->rx_packets = r->rx_segs;
	out->rx_bytes = r->rx_bytes;
	out->drops = r->resets;
}

_Static_assert(FLOWSAPI_FLOWS_MAX >= ROUTEINTAKE_FLOWS_MAX,
	       "the local API lists every flow a client can hold");
/* `status` too (it stopped at 64 flows and 64 peers, without a word). */
_Static_assert(STATUSAPI_FLOWS_MAX >= ROUTEINTAKE_FLOWS_MAX, "status lists every flow");
_Static_assert(STATUSAPI_PEERS_MAX >= ROUTEINTAKE_PEERS_MAX, "status lists every peer");

/* UDP flows, then TCP flows. */
static size_t flows_cb(void *ctx, struct flowreport_flow *out, size_t max)
{
	struct client *cl = ctx;
	struct flow_udp_state st;
	struct flow_tcp_report *tcp;
	size_t n = 0, n_tcp;

	for (struct flow_udp *f = cl->flows; f && n < max; f = f->next) {
		flow_udp_state_of(f, &st);
		fill_report(&st, &out[n++]);
	}
	if (n == max || !(tcp = calloc(max - n, sizeof(*tcp)))) {
		return n;
	}
	n_tcp = flow_tcp_reports(cl, tcp, max - n);
	for (size_t i = 0; i < n_tcp; i++) {
		fill_tcp_report(&tcp[i], &out[n++]);
	}
	free(tcp);
	return n;
}

/* flow_udp's saturated/cleared hook: on to the /api/v1/events watchers. */
static void flow_event_cb(void *ctx, const struct flow_udp_state *st)
{
	struct client *cl = ctx;
	struct flowreport_flow fr;

	fill_report(st, &fr);
	statusapi_publish(cl->api, &fr);
}

static const struct statusapi_ops ops = {
	.status = status_cb, .join = joinwait_request, .flows = flows_cb};

void localapi_start(struct client *cl)
{
	char where[ADDR_TEXT_MAX];
	char err[160];

	addr_format((const struct sockaddr *)&cl->ini->api, where, sizeof(where));
	cl->api = statusapi_start(cl->loop, &cl->ini->api, &ops, cl, err, sizeof(err));
	if (!cl->api) {
		/* The API is for local tools; the flows must not depend on it. */
		log_warn("client %s: local API %s: %s; running without it", cl->ini->id, where,
			 err);
		return;
	}
	cl->flow_event = flow_event_cb;
	cl->flow_event_ctx = cl;
	log_info("client %s: local API on http://%s/api/v1/status", cl->ini->id, where);
}

void localapi_stop(struct client *cl)
{
	cl->flow_event = NULL;
	cl->flow_event_ctx = NULL;
	statusapi_stop(cl->api);
	cl->api = NULL;
}

#define STATUS_TIMEOUT_MS 3000

/* An answer other than 200, on one line: the daemon's own error
 * ({"error": "..."}), else what listens there is not its API (an HTML
 * page would otherwise spill over the terminal). */
static void status_error(const char *where, int status, const char *body)
{
	cJSON *o = body ? cJSON_Parse(body) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
	char msg[256];

	if (cJSON_IsString(e)) {
		utf8_escape(msg, sizeof(msg), e->valuestring);
		fprintf(stderr, "wormhole-client status: %s answered %d: %s\n", where, status, msg);
	} else {
		fprintf(stderr,
			"wormhole-client status: %s answered HTTP %d, not a wormhole client's "
			"API (something else listens there?)\n",
			where, status);
	}
	cJSON_Delete(o);
}

int localapi_status_main(const struct client_ini *ini, bool is_json)
{
	char where[ADDR_TEXT_MAX];
	char *body = NULL;
	size_t len = 0;
	int status = 0;
	int err;

	addr_format((const struct sockaddr *)&ini->api, where, sizeof(where));
	err = httpget(&ini->api, "/api/v1/status", STATUS_TIMEOUT_MS, &status, &body, &len);
	if (err != 0) {
		fprintf(stderr,
			"wormhole-client status: no client daemon answers on %s: %s (is it "
			"running with this client.ini?)\n",
			where, strerror(-err));
		return CLIOPT_EXIT_FAILURE;
	}
	if (status != 200) {
		status_error(where, status, body);
		free(body);
		return CLIOPT_EXIT_FAILURE;
	}
	/* --json prints the answer as received, once it is a status. */
	if (is_json ? statusapi_validate(body) != 0 : statusapi_print(stdout, body) != 0) {
		fprintf(stderr,
			"wormhole-client status: %s answered something else than a status\n",
			where);
		free(body);
		return CLIOPT_EXIT_FAILURE;
	}
	if (is_json) {
		printf("%s\n", body);
	}
	free(body);
	return CLIOPT_EXIT_OK;
}
