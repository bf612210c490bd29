/* restapi: the server's REST API (DESIGN §7): bearer-token check, the
 * route table, If-Match, and the read endpoints (health, clients, flows).
 * Writes are in restedit.c, /metrics and flow statistics in metrics.c.
 * Runs on the loop thread (httpd calls the handler there); reads the
 * server only through struct restapi_ops. Every answer to a known token
 * carries the ETag of routes.conf as it is on disk (none while the file
 * cannot be read). */
#include "api/restapi.h"

#include "api/flowjson.h"
#include "api/httpcheck.h"
#include "api/httpd.h"
#include "api/metrics.h"
#include "api/restedit.h"
#include "api/restreq.h"
#include "common/compiler.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void restapi_etag(const char *text, size_t len, char out[RESTAPI_ETAG_MAX])
{
	uint8_t h[16];
	char hex[2 * sizeof(h) + 1];

	crypto_generichash(h, sizeof(h), (const unsigned char *)text, len, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, RESTAPI_ETAG_MAX, "\"%s\"", hex);
}

bool restapi_token_ok(const char *token, char *const *tokens, size_t n)
{
	/* Equal-length, zero-padded buffers: the time taken does not depend on
	 * how much of a token matches. Tokens never contain NUL (config/). */
	char given[ROUTES_TOKEN_MAX + 1];
	char want[ROUTES_TOKEN_MAX + 1];
	size_t len = strnlen(token, sizeof(given));
	bool is_ok = false;

	if (len == 0 || len > ROUTES_TOKEN_MAX) {
		return false;
	}
	memset(given, 0, sizeof(given));
	memcpy(given, token, len);
	for (size_t i = 0; i < n; i++) {
		size_t k = strnlen(tokens[i], ROUTES_TOKEN_MAX);
		memset(want, 0, sizeof(want));
		memcpy(want, tokens[i], k);
		is_ok |= sodium_memcmp(given, want, sizeof(given)) == 0;
	}
	sodium_memzero(given, sizeof(given));
	sodium_memzero(want, sizeof(want));
	return is_ok;
}

enum access { ACCESS_NONE, ACCESS_READ, ACCESS_WRITE };

static enum access access_of(const struct routes *rt, const char *authorization)
{
	static const char bearer[] = "Bearer ";
	const struct routes_api *a = &rt->server.api;

	if (strncmp(authorization, bearer, sizeof(bearer) - 1) != 0) {
		return ACCESS_NONE;
	}
	authorization += sizeof(bearer) - 1;
	if (restapi_token_ok(authorization, a->tokens, a->n_tokens)) {
		return ACCESS_WRITE;
	}
	if (restapi_token_ok(authorization, a->read_tokens, a->n_read_tokens)) {
		return ACCESS_READ;
	}
	return ACCESS_NONE;
}

/* A NAT's sequential port step (PROTOCOL.md "Direct paths", predict), or
 * null when its ports are not handed out in sequence (or not known). */
static bool add_port_step(cJSON *o, const char *key, int step)
{
	return (step != 0 ? cJSON_AddNumberToObject(o, key, step)
			  : cJSON_AddNullToObject(o, key)) != NULL;
}

static bool add_uplinks(cJSON *o, const struct restapi_client *c)
{
	cJSON *a = cJSON_AddArrayToObject(o, "uplinks");
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < c->n_uplinks; i++) {
		const struct restapi_uplink *u = &c->uplinks[i];
		cJSON *j = cJSON_CreateObject();

		ok = j && cJSON_AddItemToArray(a, j) && cJSON_AddNumberToObject(j, "id", u->id) &&
		     cJSON_AddStringToObject(j, "name", u->name) &&
		     (u->addr[0] ? cJSON_AddStringToObject(j, "address", u->addr)
				 : cJSON_AddNullToObject(j, "address")) &&
		     cJSON_AddStringToObject(j, "nat", u->natclass) &&
		     add_port_step(j, "nat_port_step", u->port_step) &&
		     (u->last_seen_ms_ago == UINT64_MAX
			      ? cJSON_AddNullToObject(j, "last_seen_ms_ago")
			      : cJSON_AddNumberToObject(j, "last_seen_ms_ago",
							(double)u->last_seen_ms_ago)) &&
		     cJSON_AddNumberToObject(j, "rx_packets", (double)u->rx_packets);
	}
	return ok;
}

/* The uplink pairs of one peer path ("paths" inside each "paths" entry). */
static bool add_uplink_paths(cJSON *o, const struct restapi_path *p)
{
	cJSON *a = cJSON_AddArrayToObject(o, "paths");
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < p->n_uplink_paths; i++) {
		const struct restapi_uplink_path *u = &p->uplink_paths[i];
		cJSON *j = cJSON_CreateObject();

		ok = j && cJSON_AddItemToArray(a, j) &&
		     cJSON_AddNumberToObject(j, "uplink", u->uplink) &&
		     cJSON_AddNumberToObject(j, "peer_uplink", u->peer_uplink) &&
		     cJSON_AddStringToObject(j, "kind", u->kind) &&
		     cJSON_AddStringToObject(j, "strategy", u->strategy);
	}
	return ok;
}

/* "identity_conflict": null, or what the server refused of a second
 * process with this client's id and key. */
static bool add_conflict(cJSON *o, const struct restapi_client *c)
{
	cJSON *j;

	if (c->refusals == 0) {
		return cJSON_AddNullToObject(o, "identity_conflict") != NULL;
	}
	j = cJSON_AddObjectToObject(o, "identity_conflict");
	return j && cJSON_AddNumberToObject(j, "refusals", (double)c->refusals) &&
	       cJSON_AddStringToObject(j, "last_address", c->refused_addr) &&
	       cJSON_AddNumberToObject(j, "last_ms_ago", (double)c->refused_ms_ago);
}

cJSON *restapi_client_json(const struct restapi_client *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *paths = o ? cJSON_AddArrayToObject(o, "paths") : NULL;
	bool ok = paths && cJSON_AddStringToObject(o, "id", c->id) &&
		  cJSON_AddBoolToObject(o, "online", c->is_online) &&
		  (c->addr[0] ? cJSON_AddStringToObject(o, "mapped_address", c->addr)
			      : cJSON_AddNullToObject(o, "mapped_address")) &&
		  cJSON_AddStringToObject(o, "nat_class", c->natclass) &&
		  add_port_step(o, "nat_port_step", c->port_step) &&
		  (c->last_seen_ms_ago == UINT64_MAX
			   ? cJSON_AddNullToObject(o, "last_seen_ms_ago")
			   : cJSON_AddNumberToObject(o, "last_seen_ms_ago",
						     (double)c->last_seen_ms_ago)) &&
		  add_uplinks(o, c) && add_conflict(o, c);

	for (size_t i = 0; ok && i < c->n_paths; i++) {
		const struct restapi_path *p = &c->paths[i];
		cJSON *j = cJSON_CreateObject();
		/* The server does not measure paths: clients do and report them
		 * (PATH_STATS); null until the first report. */
		ok = j && cJSON_AddItemToArray(paths, j) &&
		     cJSON_AddStringToObject(j, "peer", p->peer) &&
		     cJSON_AddStringToObject(j, "kind", p->kind) &&
		     cJSON_AddNumberToObject(j, "relay_port", p->relay_port) &&
		     cJSON_AddBoolToObject(j, "bound", p->is_bound) &&
		     (p->has_stats
			      ? cJSON_AddNumberToObject(j, "rtt_ms", p->rtt_ms) != NULL &&
					cJSON_AddNumberToObject(j, "loss", p->loss) != NULL &&
					cJSON_AddNumberToObject(j, "relay_rtt_ms",
								p->relay_rtt_ms) != NULL &&
					cJSON_AddNumberToObject(j, "relay_loss", p->relay_loss) !=
						NULL &&
					cJSON_AddNumberToObject(j, "stats_age_ms",
								(double)p->stats_age_ms) != NULL
			      : cJSON_AddNullToObject(j, "rtt_ms") != NULL &&
					cJSON_AddNullToObject(j, "loss") != NULL) &&
		     cJSON_AddNumberToObject(j, "packets", (double)p->packets) &&
		     cJSON_AddNumberToObject(j, "bytes", (double)p->bytes) &&
		     add_uplink_paths(j, p);
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void get_client(struct restreq *r, const char *id)
{
	struct restapi_client *c = calloc(1, sizeof(*c));

	if (!c) {
		restreq_error(r, 503, "out of memory");
		return;
	}
	if (!r->api->ops->client(r->api->ctx, id, c)) {
		restreq_error(r, 404, "no client \"%s\"", id);
	} else {
		restreq_json(r, 200, restapi_client_json(c), r->etag);
	}
	free(c);
}

static void get_clients(struct restreq *r)
{
	const struct routes *rt = r->api->ops->routes(r->api->ctx);
	struct restapi_client *c = calloc(1, sizeof(*c));
	cJSON *a = cJSON_CreateArray();
	bool ok = c && a;

	for (size_t i = 0; ok && i < rt->n_clients; i++) {
		ok = r->api->ops->client(r->api->ctx, rt->clients[i].id, c);
		cJSON *j = ok ? restapi_client_json(c) : NULL;
		ok = j && cJSON_AddItemToArray(a, j);
	}
	free(c);
	if (!ok) {
		cJSON_Delete(a);
		a = NULL;
	}
	restreq_json(r, 200, a, r->etag);
}

static void get_flows(struct restreq *r, const char *name)
{
	const struct routes *rt = r->api->ops->routes(r->api->ctx);
	cJSON *a;
	bool ok = true;

	if (name) {
		const struct routes_flow *f = routes_find_flow(rt, name);
		if (!f) {
			restreq_error(r, 404, "no flow \"%s\"", name);
			return;
		}
		restreq_json(r, 200, flowjson_from_flow(f), r->etag);
		return;
	}
	a = cJSON_CreateArray();
	for (size_t i = 0; a && ok && i < rt->n_flows; i++) {
		cJSON *j = flowjson_from_flow(&rt->flows[i]);
		ok = j && cJSON_AddItemToArray(a, j);
	}
	if (!ok) {
		cJSON_Delete(a);
		a = NULL;
	}
	restreq_json(r, 200, a, r->etag);
}

/* "relay_state": the state file's path, the addresses restored at start,
 * when it was last written and the last error; null when it keeps none. */
static bool add_relay_state(cJSON *o, const struct restapi_health *h)
{
	cJSON *st;
	char at[32];
	struct tm tm;

	if (!h->state_file) {
		return cJSON_AddNullToObject(o, "relay_state") != NULL;
	}
	st = cJSON_AddObjectToObject(o, "relay_state");
	if (!st || !cJSON_AddStringToObject(st, "file", h->state_file) ||
	    !cJSON_AddNumberToObject(st, "restored", h->state_restored)) {
		return false;
	}
	if (h->state_written_at == 0) {
		if (!cJSON_AddNullToObject(st, "written_at")) {
			return false;
		}
	} else {
		gmtime_r(&h->state_written_at, &tm);
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (!cJSON_AddStringToObject(st, "written_at", at)) {
			return false;
		}
	}
	return h->state_error ? cJSON_AddStringToObject(st, "error", h->state_error) != NULL
			      : cJSON_AddNullToObject(st, "error") != NULL;
}

static void get_health(struct restreq *r)
{
	struct restapi_health h;
	cJSON *o = cJSON_CreateObject();
	cJSON *rl = NULL;
	char at[32] = "";
	bool ok;

	memset(&h, 0, sizeof(h));
	r->api->ops->health(r->api->ctx, &h);
	if (h.has_reload) {
		struct tm tm;
		gmtime_r(&h.reload_at, &tm);
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	ok = o && cJSON_AddStringToObject(o, "status", "ok") &&
	     cJSON_AddStringToObject(o, "version", h.version) &&
	     cJSON_AddNumberToObject(o, "uptime_s", (double)h.uptime_s) &&
	     cJSON_AddStringToObject(o, "config", h.config_path) &&
	     cJSON_AddNumberToObject(o, "generation", h.generation) &&
	     cJSON_AddNumberToObject(o, "relay_pairs_waiting", (double)h.relay_pairs_waiting);
	if (ok && h.has_reload) {
		rl = cJSON_AddObjectToObject(o, "last_reload");
		ok = rl && cJSON_AddStringToObject(rl, "at", at) &&
		     cJSON_AddBoolToObject(rl, "ok", h.is_reload_ok) &&
		     cJSON_AddStringToObject(rl, "message", h.reload_message);
	} else if (ok) {
		ok = cJSON_AddNullToObject(o, "last_reload") != NULL;
	}
	ok = ok && add_relay_state(o, &h);
	if (!ok) {
		cJSON_Delete(o);
		o = NULL;
	}
	restreq_json(r, 200, o, r->etag);
}

/* Route table: segments after /api/v1 ("*" matches one name), and which
 * handler serves each method. */
enum route_id {
	R_HEALTH,
	R_CLIENTS,
	R_CLIENT,
	R_FLOWS,
	R_FLOW,
	R_MEMBERS,
	R_MEMBER,
	R_STATS,
};

struct route {
	enum route_id id;
	const char *pattern[4];
	const char *methods; /* space-separated */
};

static const struct route routes_table[] = {
	{R_HEALTH, {"health"}, "GET"},
	{R_CLIENTS, {"clients"}, "GET"},
	{R_CLIENT, {"clients", "*"}, "GET PUT DELETE"},
	{R_FLOWS, {"flows"}, "GET POST"},
	{R_FLOW, {"flows", "*"}, "GET PUT PATCH DELETE"},
	{R_MEMBERS, {"flows", "*", "members"}, "POST"},
	{R_MEMBER, {"flows", "*", "members", "*"}, "DELETE"},
	{R_STATS, {"flows", "*", "stats"}, "GET"},
};

static const struct route *match(const struct restreq *r)
{
	for (size_t i = 0; i < WH_ARRAY_LEN(routes_table); i++) {
		const struct route *rt = &routes_table[i];
		size_t n = 0;
		bool ok = true;

		while (n < 4 && rt->pattern[n]) {
			n++;
		}
		if (n != r->n_seg) {
			continue;
		}
		for (size_t k = 0; k < n && ok; k++) {
			ok = strcmp(rt->pattern[k], "*") == 0
				     ? routes_name_is_valid(r->seg[k])
				     : strcmp(rt->pattern[k], r->seg[k]) == 0;
		}
		if (ok) {
			return rt;
		}
	}
	return NULL;
}

static bool method_in(const char *method, const char *list)
{
	size_t n = strlen(method);

	for (const char *p = list; *p;) {
		size_t k = strcspn(p, " ");
		if (k == n && strncmp(p, method, n) == 0) {
			return true;
		}
		p += k + (p[k] == ' ');
	}
	return false;
}

static void serve_write(struct restreq *r, const struct route *rt, const char *m)
{
	bool is_put = strcmp(m, "PUT") == 0;

	switch (rt->id) {
	case R_CLIENT:
		is_put ? restedit_client_put(r, r->seg[1]) : restedit_client_delete(r, r->seg[1]);
		break;
	case R_FLOWS:
		restedit_flow_create(r);
		break;
	case R_FLOW:
		if (strcmp(m, "DELETE") == 0) {
			restedit_flow_delete(r, r->seg[1]);
		} else {
			restedit_flow_put(r, r->seg[1], !is_put);
		}
		break;
	case R_MEMBERS:
		restedit_member_add(r, r->seg[1]);
		break;
	case R_MEMBER:
		restedit_member_del(r, r->seg[1], r->seg[3]);
		break;
	default:
		restreq_error(r, 405, "method not allowed");
	}
}

static void serve_read(struct restreq *r, const struct route *rt)
{
	const struct routes *routes = r->api->ops->routes(r->api->ctx);
	const struct routes_flow *f;

	switch (rt->id) {
	case R_HEALTH:
		get_health(r);
		break;
	case R_CLIENTS:
		get_clients(r);
		break;
	case R_CLIENT:
		get_client(r, r->seg[1]);
		break;
	case R_FLOWS:
		get_flows(r, NULL);
		break;
	case R_FLOW:
		get_flows(r, r->seg[1]);
		break;
	case R_STATS:
		f = routes_find_flow(routes, r->seg[1]);
		if (!f) {
			restreq_error(r, 404, "no flow \"%s\"", r->seg[1]);
		} else {
			metrics_flow_stats(r, f);
		}
		break;
	default:
		restreq_error(r, 405, "method not allowed");
	}
}

/* Split "/api/v1/a/b" into segments; false when it is not under /api/v1. */
static bool split_path(struct restreq *r, char *path)
{
	static const char prefix[] = "/api/v1/";
	char *save = NULL;

	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0) {
		return false;
	}
	r->n_seg = 0;
	for (char *s = strtok_r(path + sizeof(prefix) - 1, "/", &save); s;
	     s = strtok_r(NULL, "/", &save)) {
		if (r->n_seg == WH_ARRAY_LEN(r->seg)) {
			return false;
		}
		r->seg[r->n_seg++] = s;
	}
	return true;
}

/* 405, naming the methods the resource has in the message and in Allow
 * (RFC 9110 §15.5.6: a 405 must carry Allow). methods: space-separated. */
static void not_allowed(struct restreq *r, const char *methods)
{
	char allow[64];
	size_t j = 0;

	for (const char *p = methods; *p && j + 3 < sizeof(allow); p++) {
		if (*p == ' ') {
			allow[j++] = ',';
		}
		allow[j++] = *p;
	}
	allow[j] = '\0';
	(void)httpd_add_header(r->rq, "Allow", allow);
	restreq_error(r, 405, "method %s not allowed here (allowed: %s)", r->rq->method, methods);
}

/* A write while routes.conf cannot be read: nothing to edit, and nothing
 * changes. err: read_text's. */
static void unreadable(struct restreq *r, int err)
{
	struct restapi_health h;

	memset(&h, 0, sizeof(h));
	r->api->ops->health(r->api->ctx, &h);
	restreq_error(r, 500, "%s: cannot read: %s (nothing changed)",
		      h.config_path ? h.config_path : "routes.conf", strerror(-err));
}

/* The file as it is now, for the ETag and for an edit. Reads are answered
 * from the running configuration even when it cannot be read (moved away,
 * no permission): without an ETag then. Returns 0 or read_text's -errno
 * (r->text NULL). */
static int read_file(struct restreq *r)
{
	int err = r->api->ops->read_text(r->api->ctx, &r->text, &r->len);

	if (err != 0) {
		r->text = NULL;
		r->len = 0;
		return err;
	}
	restapi_etag(r->text, r->len, r->etag);
	return 0;
}

static void serve(struct restreq *r)
{
	const struct routes *routes = r->api->ops->routes(r->api->ctx);
	enum access acc = access_of(routes, r->rq->authorization);
	const char *m = r->rq->method;
	const struct route *rt;
	int read_err;

	if (acc == ACCESS_NONE) {
		/* No ETag for strangers: not even when the configuration changes. */
		(void)httpd_respond_error(
			r->rq, 401, r->rq->authorization[0] ? "bad token" : "missing bearer token",
			NULL);
		return;
	}
	read_err = read_file(r);
	if (strcmp(r->rq->path, "/metrics") == 0) {
		if (strcmp(m, "GET") != 0) {
			not_allowed(r, "GET");
		} else {
			metrics_serve(r);
		}
		return;
	}
	if (!split_path(r, r->rq->path) || !(rt = match(r))) {
		restreq_error(r, 404, "not found");
		return;
	}
	if (!method_in(m, rt->methods)) {
		not_allowed(r, rt->methods);
		return;
	}
	if (strcmp(m, "GET") == 0) {
		serve_read(r, rt);
		return;
	}
	if (acc != ACCESS_WRITE) {
		restreq_error(r, 403, "read-only token");
		return;
	}
	if (read_err != 0) {
		unreadable(r, read_err);
		return;
	}
	/* A stale If-Match means routes.conf changed since the client read it
	 * (another API call or a hand edit): refuse rather than overwrite. */
	if (r->rq->if_match[0] && !httpcheck_if_match(r->rq->if_match, r->etag)) {
		restreq_error(r, 412, "routes.conf changed since ETag %.48s (now %s)",
			      r->rq->if_match, r->etag);
		return;
	}
	serve_write(r, rt, m);
}

static void handler(void *ctx, struct httpd_req *rq)
{
	struct restapi *api = ctx;
	struct restreq r = {.api = api, .rq = rq};

	serve(&r);
	restreq_fini(&r);
}

struct restapi *restapi_start(struct ev_loop *loop, const struct sockaddr_storage *listen,
			      const struct restapi_ops *ops, void *ctx, char *err, size_t err_len)
{
	struct restapi *api = calloc(1, sizeof(*api));
	struct httpd_config cfg = {.handler = handler};

	if (!api) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	api->loop = loop;
	api->ops = ops;
	api->ctx = ctx;
	cfg.listen = *listen;
	cfg.ctx = api;
	api->httpd = httpd_start(loop, &cfg, err, err_len);
	if (!api->httpd) {
		free(api);
		return NULL;
	}
	return api;
}

void restapi_stop(struct restapi *api)
{
	if (!api) {
		return;
	}
	httpd_stop(api->httpd);
	free(api);
}
