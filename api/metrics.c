/* metrics: GET /metrics in the Prometheus text exposition format (0.0.4)
 * and GET /api/v1/flows/{name}/stats. Per-flow counters are the relay's
 * per-client counters summed over the flow's members towards its other
 * members: the relay pipes ciphertext and cannot tell flows apart inside a
 * pair's session, so a pair that shares several flows counts in each of
 * them (said in the output and the README). Daemon-wide counters come from
 * ops->metrics. The answer grows as needed up to METRICS_TEXT_MAX, which
 * the largest valid routes.conf stays far below. */
#include "api/metrics.h"

#include "api/textbuf.h"

#include "api/restreq.h"

#include "api/httpd.h"
#include "api/httpgate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The answer starts at METRICS_TEXT_START and doubles up to METRICS_TEXT_MAX.
 * The largest valid routes.conf (README: 10,000 settings; a client entry
 * costs 3, so at most 3,334 clients) stays far below it, counting every line
 * at its longest (32-character ids and flow names, 22-digit values):
 *   - per client, online and nat_info: 2 x 3,334 x 100 B = 0.7 MB;
 *   - path_info, one per peer of each client (two per relay pair): a flow
 *     of m members makes at most m(m-1) of them and costs 6 + m settings
 *     or more, at most 32 x 31 / 38 = 26.2 a setting at m = 32:
 *     26.2 x 10,000 x 130 B = 34 MB;
 *   - wormhole_flow_member_*: 7 per membership, and each member costs a
 *     setting (its ',' or the list's '['): 7 x 10,000 x 155 B = 10.9 MB;
 *   - wormhole_flow_*: 7 per flow, a flow costs 6 settings or more:
 *     7 x 1,667 x 120 B = 1.4 MB;
 *   - daemon-wide counters: a few KB.
 * That is under 48 MB, well below the cap. */
#define METRICS_TEXT_START (64 * 1024)
#define METRICS_TEXT_MAX (128 * 1024 * 1024)

struct mbuf {
	struct textbuf t; /* t.p owns its cap bytes */
	int err;	  /* 0, -ENOSPC (at METRICS_TEXT_MAX) or -ENOMEM; then t.is_full */
	char last_name[96];
};

/* Double b's buffer; false (b->err set) at METRICS_TEXT_MAX or out of memory. */
static bool grow(struct mbuf *b)
{
	size_t cap = b->t.cap * 2;
	char *p;

	if (cap > METRICS_TEXT_MAX) {
		b->err = -ENOSPC;
		return false;
	}
	p = realloc(b->t.p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	b->t.p = p;
	b->t.cap = cap;
	return true;
}

static void put(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;

	/* A piece that does not fit is not written (textbuf.h): grow, write again. */
	for (;;) {
		va_start(ap, fmt);
		textbuf_vput(&b->t, fmt, ap);
		va_end(ap);
		if (!b->t.is_full || b->err != 0 || !grow(b)) {
			return;
		}
		b->t.is_full = false;
	}
}

/* HELP and TYPE once per family; the samples of a family come together. */
static void family(struct mbuf *b, const char *name, const char *help, bool is_counter)
{
	if (strcmp(b->last_name, name) == 0) {
		return;
	}
	snprintf(b->last_name, sizeof(b->last_name), "%s", name);
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, is_counter ? "counter" : "gauge");
}

/* Label values are ids, flow names and fixed words; escape anyway. */
static void label_value(const char *in, char *out, size_t size)
{
	size_t k = 0;

	for (; *in && k + 3 < size; in++) {
		if (*in == '\\' || *in == '"') {
			out[k++] = '\\';
			out[k++] = *in;
		} else if (*in == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
		} else {
			out[k++] = *in;
		}
	}
	out[k] = '\0';
}

static void emit_cb(void *mctx, const char *name, const char *help, bool is_counter,
		    const char *labels, double value)
{
	struct mbuf *b = mctx;

	family(b, name, help, is_counter);
	put(b, "%s%s%s%s %.17g\n", name, labels && labels[0] ? "{" : "", labels ? labels : "",
	    labels && labels[0] ? "}" : "", value);
}

struct member_stats {
	char id[ROUTES_NAME_SIZE];
	struct restapi_flow_member rep; /* what the member reported (FLOW_STATS) */
	uint64_t relay_packets, relay_bytes, relay_drops; /* what the relay counted */
};

/* Member c's report about flow f, and its relay counters towards f's other
 * members (a pair sharing several flows counts in each), into m. */
static void member_fill(struct restreq *r, const struct routes_flow *f,
			const struct restapi_client *c, struct member_stats *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", c->id);
	(void)r->api->ops->flow_member(r->api->ctx, f->name, c->id, &m->rep);
	for (size_t k = 0; k < c->n_paths; k++) {
		if (routes_flow_has_member(f, c->paths[k].peer)) {
			m->relay_packets += c->paths[k].packets;
			m->relay_bytes += c->paths[k].bytes;
			m->relay_drops += c->paths[k].drops;
		}
	}
}

/* The members of one flow, in client order, as member_fill makes them. */
static size_t flow_members(struct restreq *r, const struct routes_flow *f, struct member_stats *out,
			   size_t max)
{
	const struct routes *rt = r->api->ops->routes(r->api->ctx);
	struct restapi_client *c = calloc(1, sizeof(*c));
	size_t n = 0;

	for (size_t i = 0; c && i < rt->n_clients && n < max; i++) {
		const char *id = rt->clients[i].id;

		if (!routes_flow_has_member(f, id) || !r->api->ops->client(r->api->ctx, id, c)) {
			continue;
		}
		member_fill(r, f, c, &out[n++]);
	}
	free(c);
	return n;
}

/* A client as GET /metrics shows it. */
struct client_row {
	bool is_known; /* ops->client answered for it */
	bool is_online;
	const char *natclass; /* borrowed from ops->client, for the scrape */
};

/* What one scrape reads of the clients, each client once (ops->client
 * fills up to RESTAPI_PEERS_MAX paths, each looked up in the relay and
 * the punch coordinator: reading a client per series and per flow made a
 * scrape of a dense routes.conf take minutes of the loop). The members of
 * flow f are ms[start[f] .. start[f] + n[f]), in client order; rows has a
 * row per client; paths holds the wormhole_client_path_info samples. */
struct scrape {
	struct member_stats *ms; /* owns */
	size_t *start;		 /* owns; n_flows + 1 entries */
	size_t *n;		 /* owns; n_flows + 1 entries */
	struct client_row *rows; /* owns; n_clients + 1 entries */
	struct mbuf paths;	 /* paths.t.p owns its cap bytes */
};

static void scrape_free(struct scrape *sc)
{
	free(sc->ms);
	free(sc->start);
	free(sc->n);
	free(sc->rows);
	free(sc->paths.t.p);
}

/* The wormhole_client_path_info samples of c. */
static void put_paths(struct mbuf *b, const struct restapi_client *c)
{
	char id[80], peer[80];

	label_value(c->id, id, sizeof(id));
	for (size_t k = 0; k < c->n_paths; k++) {
		label_value(c->paths[k].peer, peer, sizeof(peer));
		put(b, "wormhole_client_path_info{client=\"%s\",peer=\"%s\",kind=\"%s\"} 1\n", id,
		    peer, c->paths[k].kind);
	}
}

/* Room for every membership of rt's flows in a zeroed sc: sc->start set,
 * sc->n zero. Returns 0 or -ENOMEM. */
static int scrape_alloc(const struct routes *rt, struct scrape *sc)
{
	size_t total = 0;

	sc->start = calloc(rt->n_flows + 1, sizeof(*sc->start));
	sc->n = calloc(rt->n_flows + 1, sizeof(*sc->n));
	sc->rows = calloc(rt->n_clients + 1, sizeof(*sc->rows));
	sc->paths.t.cap = METRICS_TEXT_START;
	sc->paths.t.p = malloc(sc->paths.t.cap);
	if (!sc->start || !sc->n || !sc->rows || !sc->paths.t.p) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < rt->n_clients; i++) {
		size_t nf = 0;
		const uint32_t *flows = routes_flows_of(rt, i, &nf);

		for (size_t k = 0; k < nf; k++) {
			sc->n[flows[k]]++;
		}
	}
	for (size_t f = 0; f < rt->n_flows; f++) {
		sc->start[f] = total;
		total += sc->n[f];
		sc->n[f] = 0;
	}
	sc->ms = calloc(total + 1, sizeof(*sc->ms));
	return sc->ms ? 0 : -ENOMEM;
}

/* Read every client of rt once into sc (scrape_free it, also after a
 * failure). Returns 0 or a negative errno (-ENOMEM, or -ENOSPC: the path
 * samples reached METRICS_TEXT_MAX). */
static int scrape_read(struct restreq *r, const struct routes *rt, struct scrape *sc)
{
	struct restapi_client *c;
	int err;

	memset(sc, 0, sizeof(*sc));
	c = calloc(1, sizeof(*c));
	err = c ? scrape_alloc(rt, sc) : -ENOMEM;

	for (size_t i = 0; err == 0 && i < rt->n_clients; i++) {
		size_t nf = 0;
		const uint32_t *flows = routes_flows_of(rt, i, &nf);

		if (!r->api->ops->client(r->api->ctx, rt->clients[i].id, c)) {
			continue;
		}
		sc->rows[i].is_known = true;
		sc->rows[i].is_online = c->is_online;
		sc->rows[i].natclass = c->natclass;
		put_paths(&sc->paths, c);
		for (size_t k = 0; k < nf; k++) {
			uint32_t f = flows[k];

			member_fill(r, &rt->flows[f], c, &sc->ms[sc->start[f] + sc->n[f]++]);
		}
		err = sc->paths.err;
	}
	free(c);
	return err;
}

/* One value of a member's stats for the flow families below. */
static double member_value(const struct member_stats *m, int k)
{
	switch (k) {
	case 0:
		return (double)m->rep.tx_packets;
	case 1:
		return (double)m->rep.tx_bytes;
	case 2:
		return (double)m->rep.drops;
	case 3:
		return (double)m->rep.rx_packets;
	case 4:
		return (double)m->rep.rx_bytes;
	case 5:
		return m->rep.is_saturated ? 1 : 0;
	default:
		return (double)m->relay_packets;
	}
}

static void flow_metrics(const struct routes *rt, const struct scrape *sc, struct mbuf *b)
{
	/* Per flow: the sum over members (the maximum for "saturated"); then
	 * the same per member, under wormhole_flow_member_*, with a client
	 * label. */
	static const char *const names[7] = {"packets_total",	      "bytes_total",
					     "drops_total",	      "delivered_packets_total",
					     "delivered_bytes_total", "saturated",
					     "relay_packets_total"};
	static const char *const helps[7] = {
		"Datagrams the apps of the flow's members sent into it, once per receiving member "
		"(members' reports)",
		"Bytes the apps of the flow's members sent into it, once per receiving member "
		"(members' reports)",
		"Datagrams of the flow the members dropped, one per receiving member missed "
		"(members' reports)",
		"Datagrams of the flow the members delivered to their apps (members' reports)",
		"Bytes of the flow the members delivered to their apps (members' reports)",
		"1 while a member reports the flow saturated (congestion reports)",
		"Datagrams the relay received from members of the flow towards other members"};
	char name[80], flow[80], id[80];

	for (int per_member = 0; per_member < 2; per_member++) {
		for (int k = 0; k < 7; k++) {
			snprintf(name, sizeof(name), "wormhole_flow_%s%s",
				 per_member ? "member_" : "", names[k]);
			family(b, name, helps[k], k != 5);
			for (size_t i = 0; i < rt->n_flows; i++) {
				const struct member_stats *ms = &sc->ms[sc->start[i]];
				double sum = 0;

				label_value(rt->flows[i].name, flow, sizeof(flow));
				for (size_t m = 0; m < sc->n[i]; m++) {
					double v = member_value(&ms[m], k);

					sum = k == 5 ? (v > sum ? v : sum) : sum + v;
					if (per_member) {
						label_value(ms[m].id, id, sizeof(id));
						put(b, "%s{flow=\"%s\",client=\"%s\"} %.17g\n",
						    name, flow, id, v);
					}
				}
				if (!per_member) {
					put(b, "%s{flow=\"%s\"} %.17g\n", name, flow, sum);
				}
			}
		}
	}
}

/* Append n bytes of text to b. */
static void put_text(struct mbuf *b, const char *text, size_t n)
{
	while (b->err == 0 && b->t.cap - b->t.len <= n) {
		if (!grow(b)) {
			b->t.is_full = true;
			return;
		}
	}
	if (b->err != 0 || b->t.is_full) {
		return;
	}
	memcpy(b->t.p + b->t.len, text, n);
	b->t.len += n;
	b->t.p[b->t.len] = '\0';
}

static void client_metrics(const struct routes *rt, const struct scrape *sc, struct mbuf *b)
{
	char id[80], nat[80];

	family(b, "wormhole_client_online", "1 when the client is online", false);
	for (size_t i = 0; i < rt->n_clients; i++) {
		if (sc->rows[i].is_known) {
			label_value(rt->clients[i].id, id, sizeof(id));
			put(b, "wormhole_client_online{client=\"%s\"} %d\n", id,
			    sc->rows[i].is_online);
		}
	}
	family(b, "wormhole_client_nat_info", "The NAT class the client reported", false);
	for (size_t i = 0; i < rt->n_clients; i++) {
		if (sc->rows[i].is_known) {
			label_value(rt->clients[i].id, id, sizeof(id));
			label_value(sc->rows[i].natclass, nat, sizeof(nat));
			put(b, "wormhole_client_nat_info{client=\"%s\",class=\"%s\"} 1\n", id, nat);
		}
	}
	family(b, "wormhole_client_path_info",
	       "A path from the client to a peer, by kind (relay or direct)", false);
	put_text(b, sc->paths.t.p, sc->paths.t.len);
}

/* The API's own front door (httpgate.h): what slow clients cost. */
static void api_metrics(struct restreq *r, struct mbuf *b)
{
	static const char dropped[] = "wormhole_api_connections_dropped_total";
	static const char dropped_help[] = "API connections the server dropped, by reason";
	struct httpgate_stats gs;

	httpd_gate_stats(r->api->httpd, &gs);
	emit_cb(b, "wormhole_api_connections_total", "Connections to the API", true, NULL,
		(double)gs.connections);
	emit_cb(b, dropped, dropped_help, true, "reason=\"slow_request\"",
		(double)gs.slow_requests);
	emit_cb(b, dropped, dropped_help, true, "reason=\"unread_answer\"",
		(double)gs.unread_answers);
}

void metrics_serve(struct restreq *r)
{
	const struct routes *rt = r->api->ops->routes(r->api->ctx);
	struct mbuf b = {.t.cap = METRICS_TEXT_START};
	struct scrape sc;
	int err;

	b.t.p = malloc(b.t.cap);
	if (!b.t.p) {
		restreq_error(r, 503, "out of memory");
		return;
	}
	family(&b, "wormhole_up", "1 while the server answers", false);
	put(&b, "wormhole_up 1\n");
	err = scrape_read(r, rt, &sc);
	if (err == 0) {
		flow_metrics(rt, &sc, &b);
		client_metrics(rt, &sc, &b);
	} else if (b.err == 0) {
		b.err = err;
		b.t.is_full = true;
	}
	scrape_free(&sc);
	api_metrics(r, &b);
	r->api->ops->metrics(r->api->ctx, emit_cb, &b);
	if (b.err == -ENOMEM) {
		restreq_error(r, 503, "out of memory");
	} else if (b.t.is_full) {
		/* Not reached by a valid routes.conf (see METRICS_TEXT_MAX). */
		restreq_error(r, 500, "metrics larger than the %d MiB limit (METRICS_TEXT_MAX)",
			      METRICS_TEXT_MAX / (1024 * 1024));
	} else {
		(void)httpd_respond(r->rq, 200, "text/plain; version=0.0.4; charset=utf-8", b.t.p,
				    b.t.len, r->etag);
	}
	free(b.t.p);
}

/* One member of GET /flows/{name}/stats: its report, or nulls before one. */
static bool member_json(cJSON *a, const struct member_stats *m)
{
	const struct restapi_flow_member *p = &m->rep;
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		return false;
	}
	if (!cJSON_AddStringToObject(o, "id", m->id) ||
	    !cJSON_AddBoolToObject(o, "reported", p->has_report) ||
	    !cJSON_AddNumberToObject(o, "packets", (double)p->tx_packets) ||
	    !cJSON_AddNumberToObject(o, "bytes", (double)p->tx_bytes) ||
	    !cJSON_AddNumberToObject(o, "delivered_packets", (double)p->rx_packets) ||
	    !cJSON_AddNumberToObject(o, "delivered_bytes", (double)p->rx_bytes) ||
	    !cJSON_AddNumberToObject(o, "drops", (double)p->drops) ||
	    !cJSON_AddBoolToObject(o, "saturated", p->is_saturated) ||
	    !cJSON_AddNumberToObject(o, "send_kbps", p->send_kbps) ||
	    !cJSON_AddNumberToObject(o, "loss", p->loss) ||
	    !cJSON_AddNumberToObject(o, "relay_packets", (double)m->relay_packets) ||
	    !cJSON_AddNumberToObject(o, "relay_bytes", (double)m->relay_bytes) ||
	    !cJSON_AddNumberToObject(o, "relay_drops", (double)m->relay_drops)) {
		return false;
	}
	if (p->has_capacity ? !cJSON_AddNumberToObject(o, "capacity_kbps", p->capacity_kbps)
			    : !cJSON_AddNullToObject(o, "capacity_kbps")) {
		return false;
	}
	return p->has_report
		       ? cJSON_AddNumberToObject(o, "report_age_ms", (double)p->age_ms) != NULL
		       : cJSON_AddNullToObject(o, "report_age_ms") != NULL;
}

/* The flow as a whole in GET /flows/{name}/stats: counters and send rates
 * summed over the members, the largest loss, the smallest capacity measured
 * (null before any). */
struct flow_total {
	uint64_t packets, bytes, delivered_packets, delivered_bytes, drops;
	uint64_t relay_packets, relay_bytes, relay_drops;
	double send_kbps, loss, capacity_kbps;
	bool saturated, has_capacity;
};

static void add_member(struct flow_total *t, const struct member_stats *m)
{
	const struct restapi_flow_member *p = &m->rep;

	t->packets += p->tx_packets;
	t->bytes += p->tx_bytes;
	t->delivered_packets += p->rx_packets;
	t->delivered_bytes += p->rx_bytes;
	t->drops += p->drops;
	t->relay_packets += m->relay_packets;
	t->relay_bytes += m->relay_bytes;
	t->relay_drops += m->relay_drops;
	t->send_kbps += p->send_kbps;
	t->loss = p->loss > t->loss ? p->loss : t->loss;
	t->saturated = t->saturated || p->is_saturated;
	if (p->has_capacity && (!t->has_capacity || p->capacity_kbps < t->capacity_kbps)) {
		t->capacity_kbps = p->capacity_kbps;
		t->has_capacity = true;
	}
}

static bool total_json(cJSON *o, const struct flow_total *t)
{
	return cJSON_AddNumberToObject(o, "packets", (double)t->packets) &&
	       cJSON_AddNumberToObject(o, "bytes", (double)t->bytes) &&
	       cJSON_AddNumberToObject(o, "delivered_packets", (double)t->delivered_packets) &&
	       cJSON_AddNumberToObject(o, "delivered_bytes", (double)t->delivered_bytes) &&
	       cJSON_AddNumberToObject(o, "drops", (double)t->drops) &&
	       cJSON_AddBoolToObject(o, "saturated", t->saturated) &&
	       cJSON_AddNumberToObject(o, "send_kbps", t->send_kbps) &&
	       cJSON_AddNumberToObject(o, "loss", t->loss) &&
	       (t->has_capacity ? cJSON_AddNumberToObject(o, "capacity_kbps", t->capacity_kbps)
				: cJSON_AddNullToObject(o, "capacity_kbps")) &&
	       cJSON_AddNumberToObject(o, "relay_packets", (double)t->relay_packets) &&
	       cJSON_AddNumberToObject(o, "relay_bytes", (double)t->relay_bytes) &&
	       cJSON_AddNumberToObject(o, "relay_drops", (double)t->relay_drops);
}

void metrics_flow_stats(struct restreq *r, const struct routes_flow *f)
{
	struct member_stats *ms = calloc(ROUTES_MEMBERS_MAX, sizeof(*ms));
	size_t n = ms ? flow_members(r, f, ms, ROUTES_MEMBERS_MAX) : 0;
	struct flow_total tot;
	cJSON *o = cJSON_CreateObject();
	cJSON *a = o ? cJSON_AddArrayToObject(o, "members") : NULL;
	bool ok = a != NULL;

	memset(&tot, 0, sizeof(tot));
	for (size_t i = 0; ok && i < n; i++) {
		ok = member_json(a, &ms[i]);
		add_member(&tot, &ms[i]);
	}
	ok = ok && cJSON_AddStringToObject(o, "flow", f->name) && total_json(o, &tot) &&
	     cJSON_AddStringToObject(o, "counted_at", "members") &&
	     cJSON_AddStringToObject(o, "note",
				     "counters the members report about once a second "
				     "(packets: what their apps sent into the flow, once "
				     "per receiving member); "
				     "relay_*: what the relay carried between them");
	free(ms);
	if (!ok) {
		cJSON_Delete(o);
		o = NULL;
	}
	restreq_json(r, 200, o, r->etag);
}
