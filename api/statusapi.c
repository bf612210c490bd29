/* statusapi: GET /api/v1/status for the client daemon (DESIGN §8) and its
 * rendering for `wormhole-client status`; routes /api/v1/flows and
 * /api/v1/events to api/flowsapi.c. Read-only and without tokens: it
 * listens on the client's loopback address by default, and httpd refuses a
 * Host header naming anything else (DNS rebinding). Runs on the loop
 * thread; the daemon's state comes only through ops->status and ops->flows. */
#include "api/statusapi.h"

#include "api/flowsapi.h"
#include "api/httpd.h"
#include "common/compiler.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct statusapi {
	struct httpd *httpd; /* owns */
	const struct statusapi_ops *ops;
	void *ctx;
	struct flowsapi flows; /* /api/v1/flows and /api/v1/events */
};

static bool add_ms_ago(cJSON *o, const char *key, uint64_t ms)
{
	return ms == UINT64_MAX ? cJSON_AddNullToObject(o, key) != NULL
				: cJSON_AddNumberToObject(o, key, (double)ms) != NULL;
}

static bool add_counters(cJSON *o, uint64_t txp, uint64_t txb, uint64_t rxp, uint64_t rxb,
			 uint64_t drops)
{
	return cJSON_AddNumberToObject(o, "tx_packets", (double)txp) &&
	       cJSON_AddNumberToObject(o, "tx_bytes", (double)txb) &&
	       cJSON_AddNumberToObject(o, "rx_packets", (double)rxp) &&
	       cJSON_AddNumberToObject(o, "rx_bytes", (double)rxb) &&
	       cJSON_AddNumberToObject(o, "drops", (double)drops);
}

static bool add_str_or_null(cJSON *o, const char *name, const char *s)
{
	return s[0] ? cJSON_AddStringToObject(o, name, s) != NULL
		    : cJSON_AddNullToObject(o, name) != NULL;
}

static bool add_path(cJSON *a, const struct statusapi_path *p)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		return false;
	}
	return cJSON_AddNumberToObject(o, "uplink", p->uplink) &&
	       cJSON_AddNumberToObject(o, "peer_uplink", p->peer_uplink) &&
	       cJSON_AddStringToObject(o, "kind", "direct") &&
	       cJSON_AddStringToObject(o, "state", p->state) &&
	       cJSON_AddBoolToObject(o, "active", p->is_active) &&
	       cJSON_AddBoolToObject(o, "lossy", p->is_lossy) &&
	       (p->rtt_ms > 0 ? cJSON_AddNumberToObject(o, "rtt_ms", p->rtt_ms) != NULL
			      : cJSON_AddNullToObject(o, "rtt_ms") != NULL) &&
	       cJSON_AddNumberToObject(o, "loss", p->loss) &&
	       cJSON_AddStringToObject(o, "strategy", p->strategy ? p->strategy : "none") &&
	       add_str_or_null(o, "mtu_probe", p->mtu_probe ? p->mtu_probe : "") &&
	       add_str_or_null(o, "address", p->addr) &&
	       (p->since > 0 ? cJSON_AddNumberToObject(o, "since", p->since) != NULL
			     : cJSON_AddNullToObject(o, "since") != NULL) &&
	       cJSON_AddNumberToObject(o, "tx_packets", (double)p->tx_packets) &&
	       cJSON_AddNumberToObject(o, "rx_packets", (double)p->rx_packets) &&
	       cJSON_AddNumberToObject(o, "upgrades", (double)p->upgrades) &&
	       cJSON_AddNumberToObject(o, "fallbacks", (double)p->fallbacks) &&
	       cJSON_AddNumberToObject(o, "punch_attempts", (double)p->attempts);
}

static bool add_uplink(cJSON *a, const struct statusapi_uplink *u)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		return false;
	}
	return cJSON_AddNumberToObject(o, "id", u->id) &&
	       cJSON_AddStringToObject(o, "name", u->name) &&
	       cJSON_AddStringToObject(o, "state", u->state) &&
	       add_str_or_null(o, "local", u->local) &&
	       cJSON_AddStringToObject(o, "nat", u->nat_class) &&
	       add_str_or_null(o, "mapped", u->mapped) &&
	       cJSON_AddStringToObject(o, "server", u->server ? u->server : "none") &&
	       cJSON_AddNumberToObject(o, "rx_packets", (double)u->rx_packets) &&
	       cJSON_AddNumberToObject(o, "tx_packets", (double)u->tx_packets) &&
	       cJSON_AddNumberToObject(o, "tx_bytes", (double)u->tx_bytes);
}

/* An MTU someone told or measured: null while unknown. */
static bool add_mtu(cJSON *o, const char *key, unsigned mtu)
{
	return mtu ? cJSON_AddNumberToObject(o, key, mtu) != NULL
		   : cJSON_AddNullToObject(o, key) != NULL;
}

static bool add_peer(cJSON *a, const struct statusapi_peer *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *paths = o ? cJSON_AddArrayToObject(o, "paths") : NULL;
	bool ok = paths != NULL;

	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		return false;
	}
	for (size_t i = 0; ok && i < p->n_paths; i++) {
		ok = add_path(paths, &p->paths[i]);
	}
	return ok && cJSON_AddStringToObject(o, "peer", p->id) &&
	       cJSON_AddStringToObject(o, "id", p->id) &&
	       cJSON_AddStringToObject(o, "session", p->is_up ? "up" : "down") &&
	       cJSON_AddStringToObject(o, "path", p->path) &&
	       add_str_or_null(o, "path_reason", p->path_reason ? p->path_reason : "") &&
	       (p->rtt_ms > 0 ? cJSON_AddNumberToObject(o, "rtt_ms", p->rtt_ms) != NULL
			      : cJSON_AddNullToObject(o, "rtt_ms") != NULL) &&
	       cJSON_AddNumberToObject(o, "loss", p->loss) &&
	       cJSON_AddStringToObject(o, "strategy", p->strategy ? p->strategy : "none") &&
	       (p->since > 0 ? cJSON_AddNumberToObject(o, "since", p->since) != NULL
			     : cJSON_AddNullToObject(o, "since") != NULL) &&
	       (p->direct_addr[0]
			? cJSON_AddStringToObject(o, "direct_address", p->direct_addr) != NULL
			: cJSON_AddNullToObject(o, "direct_address") != NULL) &&
	       (p->relay_rtt_ms > 0
			? cJSON_AddNumberToObject(o, "relay_rtt_ms", p->relay_rtt_ms) != NULL
			: cJSON_AddNullToObject(o, "relay_rtt_ms") != NULL) &&
	       cJSON_AddNumberToObject(o, "relay_loss", p->relay_loss) &&
	       add_str_or_null(o, "relay_mtu_probe",
			       p->relay_mtu_probe ? p->relay_mtu_probe : "") &&
	       cJSON_AddNumberToObject(o, "upgrades", (double)p->upgrades) &&
	       cJSON_AddNumberToObject(o, "fallbacks", (double)p->fallbacks) &&
	       cJSON_AddNumberToObject(o, "punch_attempts", (double)p->attempts) &&
	       cJSON_AddBoolToObject(o, "relay_bound", p->is_bound) &&
	       cJSON_AddNumberToObject(o, "relay_port", p->relay_port) &&
	       cJSON_AddNumberToObject(o, "relay_uplink", p->relay_uplink) &&
	       cJSON_AddNumberToObject(o, "key_generation", (double)p->key_generation) &&
	       cJSON_AddBoolToObject(o, "key_refused", p->is_refused) &&
	       add_mtu(o, "link_mtu", p->link_mtu) &&
	       cJSON_AddNumberToObject(o, "stream_mss", p->stream_mss) &&
	       add_ms_ago(o, "last_rx_ms_ago", p->last_rx_ms_ago) &&
	       add_counters(o, p->tx_packets, p->tx_bytes, p->rx_packets, p->rx_bytes, p->drops);
}

/* A UDP flow's saturated state and impairment counters, as /api/v1/flows
 * shows them (null for a TCP flow). */
static bool add_report(cJSON *o, const struct statusapi_flow *f)
{
	cJSON *r = f->has_report ? flowreport_json(&f->report) : NULL;
	cJSON *imp;

	if (!f->has_report) {
		return cJSON_AddNullToObject(o, "saturated") && cJSON_AddNullToObject(o, "impair");
	}
	if (!r) {
		return false;
	}
	imp = cJSON_DetachItemFromObjectCaseSensitive(r, "impair");
	cJSON_Delete(r);
	return cJSON_AddBoolToObject(o, "saturated", f->report.is_saturated) && imp &&
	       cJSON_AddItemToObject(o, "impair", imp);
}

static bool add_flow(cJSON *a, const struct statusapi_flow *f)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		return false;
	}
	return cJSON_AddStringToObject(o, "name", f->name) &&
	       cJSON_AddStringToObject(o, "proto", f->proto) &&
	       cJSON_AddNumberToObject(o, "port", f->port) &&
	       (f->listen_port ? cJSON_AddNumberToObject(o, "listen_port", f->listen_port) != NULL
			       : cJSON_AddNullToObject(o, "listen_port") != NULL) &&
	       cJSON_AddBoolToObject(o, "sink", f->is_sink) &&
	       add_counters(o, f->tx_packets, f->tx_bytes, f->rx_packets, f->rx_bytes, f->drops) &&
	       add_report(o, f);
}

static bool add_drops(cJSON *o, const struct statusapi_drops *d)
{
	return o && cJSON_AddNumberToObject(o, "unrecognized", (double)d->unrecognized) &&
	       cJSON_AddNumberToObject(o, "stun", (double)d->stun) &&
	       cJSON_AddNumberToObject(o, "bad_mac", (double)d->bad_mac) &&
	       cJSON_AddNumberToObject(o, "unknown_index", (double)d->unknown_index) &&
	       cJSON_AddNumberToObject(o, "auth", (double)d->auth) &&
	       cJSON_AddNumberToObject(o, "bad_frames", (double)d->bad_frames) &&
	       cJSON_AddNumberToObject(o, "truncated", (double)d->truncated);
}

cJSON *statusapi_json(const struct statusapi_status *st)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *srv = o ? cJSON_AddObjectToObject(o, "server") : NULL;
	cJSON *nat = o ? cJSON_AddObjectToObject(o, "nat") : NULL;
	cJSON *uplinks = o ? cJSON_AddArrayToObject(o, "uplinks") : NULL;
	cJSON *peers = o ? cJSON_AddArrayToObject(o, "peers") : NULL;
	cJSON *flows = o ? cJSON_AddArrayToObject(o, "flows") : NULL;
	bool ok =
		srv && nat && uplinks && peers && flows &&
		cJSON_AddStringToObject(o, "id", st->id) &&
		cJSON_AddNumberToObject(o, "uptime_s", (double)st->uptime_s) &&
		cJSON_AddStringToObject(srv, "session", st->server_state) &&
		cJSON_AddStringToObject(srv, "address", st->server) &&
		add_ms_ago(srv, "last_rx_ms_ago", st->server_last_rx_ms_ago) &&
		cJSON_AddNumberToObject(srv, "reconnects", (double)st->reconnects) &&
		cJSON_AddNumberToObject(srv, "uplink", st->server_uplink) &&
		add_mtu(srv, "link_mtu", st->server_link_mtu) &&
		add_mtu(o, "link_mtu", st->link_mtu) &&
		cJSON_AddNumberToObject(o, "stream_mss", st->stream_mss) &&
		(strcmp(st->server_state, "refused") != 0 ||
		 (st->held_by[0] ? cJSON_AddStringToObject(srv, "held_by", st->held_by) != NULL
				 : cJSON_AddNullToObject(srv, "held_by") != NULL)) &&
		cJSON_AddStringToObject(nat, "class", st->nat_class) &&
		(st->mapped[0] ? cJSON_AddStringToObject(nat, "mapped_address", st->mapped) != NULL
			       : cJSON_AddNullToObject(nat, "mapped_address") != NULL) &&
		(st->nat64_prefix[0]
			 ? cJSON_AddStringToObject(nat, "nat64_prefix", st->nat64_prefix) != NULL
			 : cJSON_AddNullToObject(nat, "nat64_prefix") != NULL) &&
		add_drops(cJSON_AddObjectToObject(o, "drops"), &st->drops);

	for (size_t i = 0; ok && i < st->n_uplinks; i++) {
		ok = add_uplink(uplinks, &st->uplinks[i]);
	}
	for (size_t i = 0; ok && i < st->n_peers; i++) {
		ok = add_peer(peers, &st->peers[i]);
	}
	for (size_t i = 0; ok && i < st->n_flows; i++) {
		ok = add_flow(flows, &st->flows[i]);
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void handler(void *ctx, struct httpd_req *rq)
{
	struct statusapi *sa = ctx;
	struct statusapi_status *st;
	char *text;

	if (strcmp(rq->path, JOINAPI_PATH) == 0) {
		joinapi_handle(rq, sa->ops->join, sa->ctx);
		return;
	}
	if (flowsapi_handle(&sa->flows, rq)) {
		return;
	}
	if (strcmp(rq->path, "/api/v1/status") != 0) {
		(void)httpd_respond_error(rq, 404, "not found", NULL);
		return;
	}
	if (strcmp(rq->method, "GET") != 0) {
		(void)httpd_respond_error(rq, 405, "method not allowed (GET only)", NULL);
		return;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		(void)httpd_respond_error(rq, 503, "out of memory", NULL);
		return;
	}
	sa->ops->status(sa->ctx, st);
	cJSON *o = statusapi_json(st);
	text = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	free(st);
	if (!text) {
		(void)httpd_respond_error(rq, 503, "out of memory", NULL);
		return;
	}
	(void)httpd_respond(rq, 200, "application/json", text, strlen(text), NULL);
	free(text);
}

static void stream_closed(void *ctx, struct httpstream *st)
{
	struct statusapi *sa = ctx;

	flowsapi_on_stream_closed(&sa->flows, st);
}

struct statusapi *statusapi_start(struct ev_loop *loop, const struct sockaddr_storage *listen,
				  const struct statusapi_ops *ops, void *ctx, char *err,
				  size_t err_len)
{
	struct statusapi *sa = calloc(1, sizeof(*sa));
	struct httpd_config cfg = {.handler = handler, .on_stream_closed = stream_closed};

	if (!sa) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	sa->ops = ops;
	sa->ctx = ctx;
	flowsapi_init(&sa->flows, ops->flows, ctx);
	cfg.listen = *listen;
	cfg.ctx = sa;
	sa->httpd = httpd_start(loop, &cfg, err, err_len);
	if (!sa->httpd) {
		free(sa);
		return NULL;
	}
	return sa;
}

void statusapi_stop(struct statusapi *sa)
{
	if (!sa) {
		return;
	}
	httpd_stop(sa->httpd); /* closes every stream through stream_closed */
	free(sa);
}

void statusapi_publish(struct statusapi *sa, const struct flowreport_flow *f)
{
	if (sa) {
		flowsapi_publish(&sa->flows, f);
	}
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A peer's direct paths, when it has several pairs of uplinks. */
static void print_paths(FILE *out, const cJSON *paths)
{
	const cJSON *e;

	if (!cJSON_IsArray(paths) || cJSON_GetArraySize(paths) < 2) {
		return;
	}
	cJSON_ArrayForEach(e, paths)
	{
		fprintf(out,
			"  %-16s path uplink %.0f -> %.0f %-5s%s%s rtt %.1f ms loss %.1f %% %s\n",
			"", num(e, "uplink"), num(e, "peer_uplink"), str(e, "state"),
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "active")) ? " (active)"
										    : "",
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "lossy")) ? " (lossy)"
										   : "",
			num(e, "rtt_ms"), 100.0 * num(e, "loss"), str(e, "address"));
	}
}

/* The paths to a peer found dropping full-size packets (mtu_probe "base"). */
static void print_narrow(FILE *out, const cJSON *peer)
{
	const cJSON *e;

	if (strcmp(str(peer, "relay_mtu_probe"), "base") == 0) {
		fprintf(out, "  %-16s full-size packets do not get through the relay\n", "");
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(peer, "paths"))
	{
		if (strcmp(str(e, "mtu_probe"), "base") == 0) {
			fprintf(out,
				"  %-16s full-size packets do not get through the direct path "
				"uplink %.0f -> %.0f\n",
				"", num(e, "uplink"), num(e, "peer_uplink"));
		}
	}
}

/* A peer whose relay answers another uplink than the session's. */
static void print_relay_uplink(FILE *out, const cJSON *peer, const cJSON *srv)
{
	if (num(peer, "relay_uplink") == num(srv, "uplink")) {
		return;
	}
	fprintf(out, "  %-16s the relay answers uplink %.0f, not the session's uplink %.0f:", "",
		num(peer, "relay_uplink"), num(srv, "uplink"));
	fprintf(out, " relay traffic leaves by both\n");
}

/* "1280", or "unknown" while null. */
static const char *mtu_text(const cJSON *o, const char *key, char *buf, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v)) {
		return "unknown";
	}
	snprintf(buf, size, "%.0f", v->valuedouble);
	return buf;
}

/* What the client dropped as not its own or malformed, when anything. */
static void print_drops(FILE *out, const cJSON *d)
{
	static const char *const keys[] = {"unrecognized",  "stun", "bad_mac",
					   "unknown_index", "auth", "bad_frames",
					   "truncated"};
	static const char *const names[] = {"unrecognized",
					    "stray STUN",
					    "without a valid mac1",
					    "for no session of ours",
					    "failing authentication",
					    "with bad frames",
					    "truncated"};
	double total = 0;
	const char *sep = "";

	for (size_t i = 0; i < WH_ARRAY_LEN(keys); i++) {
		total += num(d, keys[i]);
	}
	if (total == 0) {
		return;
	}
	fprintf(out, "dropped: %.0f datagrams (", total);
	for (size_t i = 0; i < WH_ARRAY_LEN(keys); i++) {
		if (num(d, keys[i]) > 0) {
			fprintf(out, "%s%.0f %s", sep, num(d, keys[i]), names[i]);
			sep = ", ";
		}
	}
	fprintf(out, ")\n");
}

/* The client's own lines: its id, server session, NAT, link MTU, uplinks. */
static void print_self(FILE *out, const cJSON *o, const cJSON *srv, const cJSON *nat,
		       const cJSON *uplinks)
{
	char here[16], there[16];
	const cJSON *e;

	fprintf(out, "client %s, up %.0f s\n", str(o, "id"), num(o, "uptime_s"));
	fprintf(out, "server %s: session %s, %.0f reconnects\n", str(srv, "address"),
		str(srv, "session"), num(srv, "reconnects"));
	if (cJSON_GetObjectItemCaseSensitive(srv, "held_by")) {
		fprintf(out,
			"  this id is in use by another process (at %s): give each machine its "
			"own id and key\n",
			str(srv, "held_by"));
	}
	fprintf(out, "nat: %s, mapped address %s", str(nat, "class"), str(nat, "mapped_address"));
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(nat, "nat64_prefix"))) {
		fprintf(out, ", through the NAT64 prefix %s", str(nat, "nat64_prefix"));
	}
	fprintf(out, "\n");
	fprintf(out, "link mtu: %s here, %s at the server; stream segments of %.0f bytes\n",
		mtu_text(o, "link_mtu", here, sizeof(here)),
		mtu_text(srv, "link_mtu", there, sizeof(there)), num(o, "stream_mss"));
	print_drops(out, cJSON_GetObjectItemCaseSensitive(o, "drops"));
	if (cJSON_IsArray(uplinks) && cJSON_GetArraySize(uplinks) > 1) {
		fprintf(out, "uplinks: %d\n", cJSON_GetArraySize(uplinks));
		cJSON_ArrayForEach(e, uplinks)
		{
			fprintf(out, "  %.0f %-12s %-4s local %s nat %s mapped %s server %s\n",
				num(e, "id"), str(e, "name"), str(e, "state"), str(e, "local"),
				str(e, "nat"), str(e, "mapped"), str(e, "server"));
		}
	}
}

static void print_peer(FILE *out, const cJSON *e, const cJSON *srv)
{
	double since = num(e, "since");
	double ago = since > 0 ? (double)time(NULL) - since : -1;

	fprintf(out,
		"  %-16s session %-4s path %-6s rtt %.1f ms loss %.1f %% strategy %s "
		"since %s%.0f s%s\n"
		"  %-16s tx %.0f pkts %.0f B, rx %.0f pkts %.0f B, drops %.0f\n",
		str(e, "peer"), str(e, "session"), str(e, "path"), num(e, "rtt_ms"),
		100.0 * num(e, "loss"), str(e, "strategy"), ago < 0 ? "start (" : "",
		ago < 0 ? 0.0 : ago, ago < 0 ? ")" : " ago", "", num(e, "tx_packets"),
		num(e, "tx_bytes"), num(e, "rx_packets"), num(e, "rx_bytes"), num(e, "drops"));
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "path_reason"))) {
		fprintf(out, "  %-16s on the relay while a direct path is up: %s\n", "",
			str(e, "path_reason"));
	}
	print_relay_uplink(out, e, srv);
	print_narrow(out, e);
	print_paths(out, cJSON_GetObjectItemCaseSensitive(e, "paths"));
}

static void print_flow(FILE *out, const cJSON *e)
{
	const cJSON *imp = cJSON_GetObjectItemCaseSensitive(e, "impair");

	fprintf(out, "  %-16s %s port %.0f, tx %.0f pkts, rx %.0f pkts, drops %.0f%s\n",
		str(e, "name"), str(e, "proto"), num(e, "port"), num(e, "tx_packets"),
		num(e, "rx_packets"), num(e, "drops"),
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "saturated")) ? ", SATURATED"
									       : "");
	if (cJSON_IsObject(imp)) {
		fprintf(out,
			"  %-16s impaired: dropped %.0f, corrupted %.0f, duplicated %.0f, "
			"reordered %.0f, delayed %.0f, rate-dropped %.0f\n",
			"", num(imp, "dropped"), num(imp, "corrupted"), num(imp, "duplicated"),
			num(imp, "reordered"), num(imp, "delayed"), num(imp, "rate_dropped"));
	}
}

/* json as a status document: an object with the server and nat objects
 * and the peers and flows arrays (what statusapi_json writes), nothing
 * after it but white space. NULL when it is something else. */
static cJSON *parse_status(const char *json)
{
	cJSON *o = cJSON_ParseWithOpts(json, NULL, true);

	if (cJSON_IsObject(o) && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "server")) &&
	    cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "nat")) &&
	    cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "peers")) &&
	    cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "flows"))) {
		return o;
	}
	cJSON_Delete(o);
	return NULL;
}

int statusapi_validate(const char *json)
{
	cJSON *o = parse_status(json);
	bool ok = o != NULL;

	cJSON_Delete(o);
	return ok ? 0 : -EINVAL;
}

int statusapi_print(FILE *out, const char *json)
{
	cJSON *o = parse_status(json);
	const cJSON *srv = cJSON_GetObjectItemCaseSensitive(o, "server");
	const cJSON *nat = cJSON_GetObjectItemCaseSensitive(o, "nat");
	const cJSON *uplinks = cJSON_GetObjectItemCaseSensitive(o, "uplinks");
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(o, "peers");
	const cJSON *flows = cJSON_GetObjectItemCaseSensitive(o, "flows");
	const cJSON *e;

	if (!o) {
		return -EINVAL;
	}
	print_self(out, o, srv, nat, uplinks);
	fprintf(out, "peers: %d\n", cJSON_GetArraySize(peers));
	cJSON_ArrayForEach(e, peers)
	{
		print_peer(out, e, srv);
	}
	fprintf(out, "flows: %d\n", cJSON_GetArraySize(flows));
	cJSON_ArrayForEach(e, flows)
	{
		print_flow(out, e);
	}
	cJSON_Delete(o);
	return 0;
}
