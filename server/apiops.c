/* apiops: what the REST API may do to the server, as struct restapi_ops.
 * Reads borrow the running routes, the registry and the relay for the
 * call. The one write, commit, takes the same road as a saved file:
 * server_prepare_text validates the whole text against the running
 * configuration, routes.conf is replaced atomically (backup kept), and
 * only then is the change applied live and the reload watcher told the
 * content is already running, so our own rename is not applied twice. A
 * request that fails anywhere changes neither the file nor the running
 * configuration. Runs on the loop thread. */
#include "apiops.h"

#include "api/restapi.h"
#include "common/addr.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/version.h"
#include "config/cfgfile.h"
#include "config/cfgwrite.h"
#include "config/routes.h"
#include "nat/punch.h"
#include "nat/stun.h"
#include "proto/demux.h"
#include "routeset.h"
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GET /api/v1/clients and /metrics show every peer of a client. */
_Static_assert(RESTAPI_PEERS_MAX >= ROUTES_CLIENT_PEERS_MAX,
	       "struct restapi_client holds fewer paths than a client may have peers");

const char *apiops_path_kind(const struct server *srv, const char *a, const char *b)
{
	return punchcoord_path_kind(&srv->conn.punch, a, b);
}

static const struct routes *ops_routes(void *ctx)
{
	const struct server *srv = ctx;

	return srv->routes;
}

static int ops_read_text(void *ctx, char **text, size_t *len)
{
	struct server *srv = ctx;

	/* Every API request reads the file first and, if it writes, makes the
	 * new text from this read and commits it within the same call. */
	return reload_read_base(&srv->reload, text, len);
}

/* Replace routes.conf with text, only over the version it was made from
 * (base; NULL: whatever is there). 0, -ESTALE or -EIO with d set. */
static int write_file(const char *path, const char *text, size_t len, const uint8_t *base,
		      struct diag *d)
{
	int err = cfgwrite_replace(path, text, len, base);

	if (err == -ESTALE) {
		log_warn("api: %s changed while a change to it was made: nothing written or "
			 "applied",
			 path);
		diag_set(d, path, 0,
			 "changed on disk while this change was made (a hand edit?): nothing "
			 "written or applied; read it again");
		return err;
	}
	if (err != 0) {
		log_error("api: cannot write %s: %s (nothing applied)", path, strerror(-err));
		diag_set(d, path, 0, "cannot write: %s (nothing applied)", strerror(-err));
		return -EIO;
	}
	return 0;
}

/* The commit failed after the write: the file goes back to what is
 * running, unless something replaced our text already. */
static void put_back(const char *path, const char *old, size_t old_len, const char *text,
		     size_t len)
{
	uint8_t ours[CFGWRITE_HASH_SIZE];
	int err;

	cfgwrite_hash(text, len, ours);
	err = cfgwrite_replace(path, old, old_len, ours);
	if (err != 0) {
		log_error("api: cannot put %s back: %s (it holds the refused change; the "
			  "running configuration is the previous one)",
			  path, strerror(-err));
	}
}

int apiops_commit(struct server *srv, const char *text, size_t len, struct diag *d)
{
	const char *path = srv->reload.path;
	struct server_next next;
	uint8_t base[CFGWRITE_HASH_SIZE];
	bool has_base = reload_take_base(&srv->reload, base);
	char bak[PATH_MAX + 8];
	char *old = NULL;
	size_t old_len = 0;
	int err = server_prepare_text(srv, "api", text, len, &next, d);

	if (err != 0) {
		return err;
	}
	/* What the write replaces, put back should the commit fail after it. */
	err = reload_read_file(path, RELOAD_READ_MAX, &old, &old_len);
	if (err != 0) {
		server_drop_next(&next);
		diag_set(d, path, 0, "cannot read: %s", cfgfile_strerror(err));
		return -EIO;
	}
	/* The file first: a write that fails (a full or read-only disk) leaves
	 * the running configuration as it was, and the clients see no change
	 * come and go. Only over the version text was made from: a hand edit
	 * saved since (If-Match or not) is never overwritten. */
	err = write_file(path, text, len, has_base ? base : NULL, d);
	if (err == 0) {
		err = server_commit_next(srv, "api", &next, d);
		if (err != 0) {
			/* Out of memory. */
			put_back(path, old, old_len, text, len);
		}
	} else {
		server_drop_next(&next);
	}
	free(old);
	if (err != 0) {
		return err;
	}
	reload_set_running(&srv->reload, text, len);
	/* A symlinked routes.conf: the backup is beside the file it names. */
	if (cfgwrite_backup_path(path, bak, sizeof(bak)) != 0) {
		snprintf(bak, sizeof(bak), "%s%s", path, CFGWRITE_BACKUP_SUFFIX);
	}
	log_info("api: wrote %s (previous version in %s)", path, bak);
	return 0;
}

static int ops_commit(void *ctx, const char *text, size_t len, struct diag *d)
{
	return apiops_commit(ctx, text, len, d);
}

static void ops_health(void *ctx, struct restapi_health *out)
{
	struct server *srv = ctx;
	const struct reload_status *st = &srv->reload.status;
	struct relay_pair_counts pc;

	out->version = WH_VERSION;
	out->uptime_s = (monotime_now_us() - srv->started_us) / 1000000u;
	out->config_path = srv->reload.path;
	out->generation = srv->generation;
	out->has_reload = st->has_result;
	out->is_reload_ok = st->is_ok;
	out->reload_at = st->at_wall;
	out->reload_message = st->message;
	/* The path chosen at start, which the state timer keeps writing
	 * (state_file needs a restart). */
	out->state_file = srv->state_path[0] ? srv->state_path : NULL;
	out->state_restored = srv->state_restored;
	out->state_written_at = srv->state_written_at;
	out->state_error = srv->state_error[0] ? srv->state_error : NULL;
	relay_count_pairs(&srv->relay, &pc);
	out->relay_pairs_waiting = pc.waiting;
}

/* The uplink pairs of id and peer the coordinator knows, seen from id. */
static void fill_uplink_paths(const struct server *srv, const char *id, const char *peer,
			      struct restapi_path *p)
{
	const struct punchcoord *pc = &srv->conn.punch;

	for (const struct punchcoord_pair *q = punchcoord_next(pc, id, peer, NULL);
	     q && p->n_uplink_paths < RESTAPI_UPLINK_PAIRS_MAX;
	     q = punchcoord_next(pc, id, peer, q)) {
		struct restapi_uplink_path *u = &p->uplink_paths[p->n_uplink_paths++];
		int side = strcmp(q->a, id) == 0 ? 0 : 1;

		u->uplink = q->uplink[side];
		u->peer_uplink = q->uplink[!side];
		u->kind = punchcoord_pair_kind(q);
		u->strategy = q->started_us ? punch_strategy_name(q->strategy) : "none";
	}
}

static void fill_path(struct server *srv, const char *id, const char *peer, struct restapi_path *p)
{
	struct relay_pair *pair = relay_find_pair(&srv->relay, id, peer);
	const struct relay_side *s = NULL;
	const struct punchcoord_side_stats *st = punchcoord_stats(&srv->conn.punch, id, peer);

	memset(p, 0, sizeof(*p));
	snprintf(p->peer, sizeof(p->peer), "%s", peer);
	p->kind = apiops_path_kind(srv, id, peer);
	fill_uplink_paths(srv, id, peer, p);
	if (st) {
		p->has_stats = true;
		p->rtt_ms = st->rtt_us / 1000.0;
		p->loss = st->loss_ppm / 1e6;
		p->relay_rtt_ms = st->relay_rtt_us / 1000.0;
		p->relay_loss = st->relay_loss_ppm / 1e6;
		p->stats_age_ms = (monotime_now_us() - st->updated_us) / 1000;
	}
	if (pair) {
		s = strcmp(pair->side[0].id, id) == 0 ? &pair->side[0] : &pair->side[1];
	}
	if (s) {
		p->relay_port = relay_side_is_open(s) ? s->port : 0;
		p->is_bound = s->is_bound;
		p->packets = s->rx_packets;
		p->bytes = s->rx_bytes;
		p->drops = s->drops;
	}
}

static uint64_t ms_ago(uint64_t now_us, uint64_t then_us)
{
	return then_us ? (now_us - then_us) / 1000u : UINT64_MAX;
}

/* The main uplink (the main address; uplink 0 unless the client moved its
 * session) always, then each registered uplink. */
static void fill_uplinks(const struct registry_client *c, struct restapi_client *out,
			 uint64_t now_us)
{
	struct restapi_uplink *u = &out->uplinks[out->n_uplinks++];

	u->id = c ? c->main_uplink : 0;
	u->natclass = conn_natclass_name(c ? c->natclass : 0);
	u->port_step = c ? c->alloc_step : 0;
	u->last_seen_ms_ago = UINT64_MAX;
	if (!c) {
		return;
	}
	snprintf(u->name, sizeof(u->name), "%s", c->uplinks[c->main_uplink].name);
	snprintf(u->addr, sizeof(u->addr), "%s", out->addr);
	u->last_seen_ms_ago = ms_ago(now_us, c->uplinks[c->main_uplink].last_rx_us);
	u->rx_packets = c->uplinks[c->main_uplink].rx_packets;
	for (unsigned i = 0; i < WIRE_UPLINKS_MAX && out->n_uplinks < RESTAPI_UPLINKS_MAX; i++) {
		const struct registry_uplink *up = &c->uplinks[i];

		if (i == c->main_uplink || !up->is_present) {
			continue;
		}
		u = &out->uplinks[out->n_uplinks++];
		u->id = i;
		snprintf(u->name, sizeof(u->name), "%s", up->name);
		addr_format((const struct sockaddr *)&up->addr, u->addr, sizeof(u->addr));
		u->natclass = conn_natclass_name(up->natclass);
		u->port_step = up->alloc_step;
		u->last_seen_ms_ago = ms_ago(now_us, up->last_rx_us);
		u->rx_packets = up->rx_packets;
	}
}

static bool ops_client(void *ctx, const char *id, struct restapi_client *out)
{
	struct server *srv = ctx;
	const struct routes *r = srv->routes;
	const struct routes_peer *peers;
	struct registry_client *c;
	uint64_t now_us = monotime_now_us();
	size_t n_peers = 0;

	if (!routes_find_client(r, id)) {
		return false;
	}
	/* All but the paths, which fill_path clears as it fills them: most of
	 * the struct's ~430 KB, and a scrape reads every client. */
	memset(out, 0, offsetof(struct restapi_client, paths));
	memset(&out->n_paths, 0, sizeof(*out) - offsetof(struct restapi_client, n_paths));
	c = registry_find_by_id(&srv->registry, id);
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->is_online = c && c->is_online;
	if (c && c->addr_len > 0) {
		addr_format((const struct sockaddr *)&c->addr, out->addr, sizeof(out->addr));
	}
	out->natclass = conn_natclass_name(c ? c->natclass : 0);
	out->port_step = c ? c->alloc_step : 0;
	out->last_seen_ms_ago = c && c->last_rx_us ? (now_us - c->last_rx_us) / 1000u : UINT64_MAX;
	fill_uplinks(c, out, now_us);
	if (c && c->twin_refusals > 0) {
		out->refusals = c->twin_refusals;
		addr_format((const struct sockaddr *)&c->twin_refused_addr, out->refused_addr,
			    sizeof(out->refused_addr));
		out->refused_ms_ago = (now_us - c->twin_refused_us) / 1000u;
	}
	peers = routes_peers_of(r, routes_client_index(r, id), &n_peers);
	for (size_t i = 0; i < n_peers && out->n_paths < RESTAPI_PEERS_MAX; i++) {
		fill_path(srv, id, r->clients[peers[i].client].id, &out->paths[out->n_paths++]);
	}
	return true;
}

static void relay_metrics(const struct server *srv, restapi_metric_fn *emit, void *m)
{
	const struct relay_stats *st = &srv->relay.stats;
	static const char drops[] = "wormhole_relay_drops_total";
	static const char drops_help[] = "Datagrams the relay dropped, by reason";
	struct relay_pair_counts pc;

	emit(m, "wormhole_relay_rx_packets_total", "Datagrams received on relay ports", true, NULL,
	     (double)st->rx_packets);
	emit(m, "wormhole_relay_forwarded_total", "Datagrams the relay forwarded to a peer", true,
	     NULL, (double)st->forwarded);
	emit(m, "wormhole_relay_copies_total",
	     "Extra datagrams the relay sent to the other uplinks of a client sharing a redundant "
	     "flow",
	     true, NULL, (double)st->copies);
	emit(m, drops, drops_help, true, "reason=\"unbound_source\"", (double)st->drop_unbound_src);
	emit(m, drops, drops_help, true, "reason=\"peer_unbound\"", (double)st->drop_peer_unbound);
	emit(m, drops, drops_help, true, "reason=\"peer_silent\"", (double)st->drop_peer_silent);
	emit(m, drops, drops_help, true, "reason=\"truncated\"", (double)st->drop_truncated);
	emit(m, drops, drops_help, true, "reason=\"txq_full\"", (double)st->drop_txq_full);
	relay_count_pairs(&srv->relay, &pc);
	emit(m, "wormhole_relay_pairs",
	     "Relay pairs (two clients sharing a flow), with their ports or without: "
	     "wormhole_relay_pairs_with_ports, wormhole_relay_pairs_waiting and idle ones",
	     false, NULL, (double)srv->relay.n_pairs);
	emit(m, "wormhole_relay_pairs_with_ports", "Relay pairs holding their ports", false, NULL,
	     (double)pc.with_ports);
	emit(m, "wormhole_relay_pairs_waiting",
	     "Relay pairs without ports because a relay range or the open-files limit is "
	     "exhausted (retried every 10 s)",
	     false, NULL, (double)pc.waiting);
	emit(m, "wormhole_relay_port_alloc_failures_total",
	     "Attempts to give a relay pair its ports that failed (a relay range or the open-files "
	     "limit exhausted)",
	     true, NULL, (double)st->alloc_failures);
}

/* The listen sockets: STUN answered, and what was dropped before the session
 * layer, by reason (README "Hostile input"). */
static void listener_metrics(const struct server *srv, restapi_metric_fn *emit, void *m)
{
	const struct listener_stats *st = &srv->listener.stats;
	static const char drops[] = "wormhole_listener_drops_total";
	static const char drops_help[] =
		"Datagrams the listen ports dropped before the session layer, by reason";
	static const char stun_drops[] = "wormhole_stun_drops_total";
	static const char stun_help[] = "STUN messages the server did not answer, by reason";
	char label[64];

	emit(m, "wormhole_listener_rx_packets_total",
	     "Datagrams received on the listen ports (main and alternate)", true, NULL,
	     (double)st->rx_packets);
	emit(m, "wormhole_stun_answered_total", "STUN binding requests answered", true, NULL,
	     (double)st->stun_answered);
	for (int i = DEMUX_OK + 1; i < DEMUX_REASON_COUNT; i++) {
		snprintf(label, sizeof(label), "reason=\"%s\"",
			 demux_reason_name((enum demux_reason)i));
		emit(m, drops, drops_help, true, label, (double)st->drop_demux[i]);
	}
	emit(m, drops, drops_help, true, "reason=\"truncated\"", (double)st->drop_truncated);
	emit(m, drops, drops_help, true, "reason=\"no_handler\"", (double)st->drop_no_handler);
	for (int i = STUN_DROP_NONE + 1; i < STUN_DROP_COUNT; i++) {
		snprintf(label, sizeof(label), "reason=\"%s\"", stun_drop_name((enum stun_drop)i));
		emit(m, stun_drops, stun_help, true, label, (double)st->drop_stun[i]);
	}
}

static void ops_metrics(void *ctx, restapi_metric_fn *emit, void *m)
{
	const struct server *srv = ctx;
	const struct conn_stats *cs = &srv->conn.stats;
	char label[64];

	emit(m, "wormhole_config_generation", "Configurations applied since start", false, NULL,
	     srv->generation);
	emit(m, "wormhole_uptime_seconds", "Seconds since the server started", false, NULL,
	     (double)(monotime_now_us() - srv->started_us) / 1e6);
	relay_metrics(srv, emit, m);
	listener_metrics(srv, emit, m);
	emit(m, "wormhole_session_initiations_total", "Handshake initiations received", true, NULL,
	     (double)cs->initiations);
	emit(m, "wormhole_session_responses_total", "Handshake responses sent", true, NULL,
	     (double)cs->responses_sent);
	emit(m, "wormhole_session_cookie_replies_total",
	     "Cookie replies sent (initiations without a valid mac2 while under load)", true, NULL,
	     (double)cs->cookie_replies_sent);
	emit(m, "wormhole_session_transport_rx_total", "Transport packets received", true, NULL,
	     (double)cs->transport_rx);
	emit(m, "wormhole_session_route_sets_sent_total", "Route-set transmissions", true, NULL,
	     (double)cs->sets_sent);
	emit(m, "wormhole_identity_refusals_total",
	     "Sessions refused because another process holds the client's id and key", true, NULL,
	     (double)cs->identity_refusals);
	for (int i = 0; i < CONN_DROP_COUNT; i++) {
		snprintf(label, sizeof(label), "reason=\"%s\"", conn_drop_name((enum conn_drop)i));
		emit(m, "wormhole_session_drops_total", "Session packets dropped, by reason", true,
		     label, (double)cs->drops[i]);
	}
}

static bool ops_flow_member(void *ctx, const char *flow, const char *id,
			    struct restapi_flow_member *out)
{
	struct server *srv = ctx;
	struct registry_client *c = registry_find_by_id(&srv->registry, id);
	const struct registry_flowstat *e = c ? registry_flowstat_get(c, flow) : NULL;

	memset(out, 0, sizeof(*out));
	if (!e) {
		return false;
	}
	out->has_report = true;
	out->tx_packets = e->s.tx_packets;
	out->tx_bytes = e->s.tx_bytes;
	out->rx_packets = e->s.rx_packets;
	out->rx_bytes = e->s.rx_bytes;
	out->drops = e->s.drops;
	out->is_saturated = (e->s.flags & FRAME_FLOW_STATS_SATURATED) != 0;
	out->has_capacity = (e->s.flags & FRAME_FLOW_STATS_MEASURED) != 0;
	out->capacity_kbps = e->s.capacity_kbps;
	out->send_kbps = e->s.send_kbps;
	out->loss = e->s.loss_ppm / 1e6;
	out->age_ms = (monotime_now_us() - e->updated_us) / 1000;
	return true;
}

static const struct restapi_ops ops = {
	.routes = ops_routes,
	.read_text = ops_read_text,
	.commit = ops_commit,
	.health = ops_health,
	.client = ops_client,
	.metrics = ops_metrics,
	.flow_member = ops_flow_member,
};

int apiops_start(struct server *srv, struct diag *d)
{
	const struct routes_api *a = &srv->routes->server.api;
	char err[160];
	char where[ADDR_TEXT_MAX];

	if (a->n_tokens == 0 && a->n_read_tokens == 0) {
		/* Nobody could authenticate: serving would only hold the port. */
		log_info("api: off (no tokens in server.api)");
		return 0;
	}
	srv->api = restapi_start(srv->loop, &a->listen, &ops, srv, err, sizeof(err));
	if (!srv->api) {
		addr_format((const struct sockaddr *)&a->listen, where, sizeof(where));
		diag_set(d, srv->reload.path, srv->routes->server.lines.api,
			 "server.api.listen %s: %s", where, err);
		return -EADDRINUSE;
	}
	addr_format((const struct sockaddr *)&a->listen, where, sizeof(where));
	log_info("api: listening on http://%s/api/v1 (%zu tokens, %zu read-only)", where,
		 a->n_tokens, a->n_read_tokens);
	return 0;
}

void apiops_stop(struct server *srv)
{
	restapi_stop(srv->api);
	srv->api = NULL;
}
