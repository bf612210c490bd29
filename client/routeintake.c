/* routeintake: route-set collection and comparison for the client
 * (PROTOCOL.md "Route sets", STYLE §8 diff). Owns the frames of the
 * generation being collected; the live flows and peers are elsewhere
 * (flow_udp.c, peer.c), which use the comparisons here to leave unchanged
 * ones untouched. */
#include "routeintake.h"

#include "config/routes.h"

/* The server refuses a routes.conf that gives a client more (config/routes.c
 * check_route_sets): a set over these would never be applied here. */
_Static_assert(ROUTEINTAKE_FLOWS_MAX >= ROUTES_CLIENT_FLOWS_MAX, "a client takes every flow");
_Static_assert(ROUTEINTAKE_PEERS_MAX >= ROUTES_CLIENT_PEERS_MAX, "a client takes every peer");

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int routeintake_init(struct routeintake *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->routes = calloc(ROUTEINTAKE_FLOWS_MAX, sizeof(*rs->routes));
	rs->peers = calloc(ROUTEINTAKE_PEERS_MAX, sizeof(*rs->peers));
	rs->opts = calloc(ROUTEINTAKE_FLOWS_MAX, sizeof(*rs->opts));
	if (!rs->routes || !rs->peers || !rs->opts) {
		routeintake_fini(rs);
		return -ENOMEM;
	}
	return 0;
}

void routeintake_fini(struct routeintake *rs)
{
	free(rs->routes);
	free(rs->peers);
	free(rs->opts);
	rs->routes = NULL;
	rs->peers = NULL;
	rs->opts = NULL;
	rs->n_routes = 0;
	rs->n_peers = 0;
	rs->n_opts = 0;
}

void routeintake_reset(struct routeintake *rs)
{
	rs->has_generation = false;
	rs->has_applied = false;
	rs->n_routes = 0;
	rs->n_peers = 0;
	rs->n_opts = 0;
}

/* Is gen older than what is collected? A newer one starts over. */
static bool take_generation(struct routeintake *rs, uint64_t gen)
{
	if (rs->has_applied && gen <= rs->applied) {
		return false;
	}
	if (rs->has_generation && gen < rs->generation) {
		return false;
	}
	if (!rs->has_generation || gen > rs->generation) {
		rs->generation = gen;
		rs->has_generation = true;
		rs->n_routes = 0;
		rs->n_peers = 0;
		rs->n_opts = 0;
	}
	return true;
}

enum routeintake_verdict routeintake_on_route(struct routeintake *rs, const struct frame_route *r)
{
	if (!take_generation(rs, r->generation)) {
		return ROUTEINTAKE_STALE;
	}
	for (size_t i = 0; i < rs->n_routes; i++) {
		if (rs->routes[i].flow_id == r->flow_id) {
			rs->routes[i] = *r;
			return ROUTEINTAKE_KEEP;
		}
	}
	if (rs->n_routes == ROUTEINTAKE_FLOWS_MAX) {
		return ROUTEINTAKE_FULL;
	}
	rs->routes[rs->n_routes++] = *r;
	return ROUTEINTAKE_KEEP;
}

enum routeintake_verdict routeintake_on_peer(struct routeintake *rs, const struct frame_peer *p)
{
	if (!take_generation(rs, p->generation)) {
		return ROUTEINTAKE_STALE;
	}
	for (size_t i = 0; i < rs->n_peers; i++) {
		if (strcmp(rs->peers[i].peer.text, p->peer.text) == 0) {
			rs->peers[i] = *p;
			return ROUTEINTAKE_KEEP;
		}
	}
	if (rs->n_peers == ROUTEINTAKE_PEERS_MAX) {
		return ROUTEINTAKE_FULL;
	}
	rs->peers[rs->n_peers++] = *p;
	return ROUTEINTAKE_KEEP;
}

enum routeintake_verdict routeintake_on_flow_opts(struct routeintake *rs,
						  const struct frame_flow_opts *o)
{
	if (!take_generation(rs, o->generation)) {
		return ROUTEINTAKE_STALE;
	}
	for (size_t i = 0; i < rs->n_opts; i++) {
		if (rs->opts[i].flow_id == o->flow_id) {
			rs->opts[i] = *o;
			return ROUTEINTAKE_KEEP;
		}
	}
	if (rs->n_opts == ROUTEINTAKE_FLOWS_MAX) {
		return ROUTEINTAKE_FULL;
	}
	rs->opts[rs->n_opts++] = *o;
	return ROUTEINTAKE_KEEP;
}

enum routeintake_sync routeintake_on_sync(struct routeintake *rs, const struct frame_sync *s)
{
	if (rs->has_applied && s->generation == rs->applied) {
		/* Our ack was lost: the server resends until acked. */
		return ROUTEINTAKE_SYNC_REACK;
	}
	if (!take_generation(rs, s->generation)) {
		return ROUTEINTAKE_SYNC_WAIT;
	}
	if ((size_t)s->count != rs->n_routes + rs->n_peers + rs->n_opts) {
		return ROUTEINTAKE_SYNC_WAIT;
	}
	return ROUTEINTAKE_SYNC_APPLY;
}

void routeintake_applied(struct routeintake *rs)
{
	rs->applied = rs->generation;
	rs->has_applied = true;
}

static bool addr_same(const struct frame_addr *a, const struct frame_addr *b)
{
	size_t n = a->family == FRAME_ADDR_IPV4 ? 4 : 16;

	if (a->family != b->family) {
		return false;
	}
	if (a->family == 0) {
		return true;
	}
	return a->port == b->port && memcmp(a->ip, b->ip, n) == 0;
}

bool routeintake_route_equal(const struct frame_route *a, const struct frame_route *b)
{
	if (a->flow_id != b->flow_id || strcmp(a->flow.text, b->flow.text) != 0 ||
	    a->proto != b->proto || a->port != b->port || a->listen_port != b->listen_port ||
	    a->mtu != b->mtu || a->member_count != b->member_count ||
	    !addr_same(&a->deliver, &b->deliver)) {
		return false;
	}
	for (size_t i = 0; i < a->member_count; i++) {
		if (a->members[i].roles != b->members[i].roles ||
		    strcmp(a->members[i].name.text, b->members[i].name.text) != 0) {
			return false;
		}
	}
	return true;
}

bool routeintake_peer_equal(const struct frame_peer *a, const struct frame_peer *b)
{
	return strcmp(a->peer.text, b->peer.text) == 0 && a->relay_port == b->relay_port &&
	       memcmp(a->key, b->key, sizeof(a->key)) == 0;
}

const struct frame_route *routeintake_find_route(const struct frame_route *routes, size_t n,
						 uint32_t flow_id)
{
	for (size_t i = 0; i < n; i++) {
		if (routes[i].flow_id == flow_id) {
			return &routes[i];
		}
	}
	return NULL;
}

const struct frame_peer *routeintake_find_peer(const struct frame_peer *peers, size_t n,
					       const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(peers[i].peer.text, name) == 0) {
			return &peers[i];
		}
	}
	return NULL;
}

const struct frame_flow_opts *routeintake_find_opts(const struct frame_flow_opts *opts, size_t n,
						    uint32_t flow_id)
{
	for (size_t i = 0; i < n; i++) {
		if (opts[i].flow_id == flow_id) {
			return &opts[i];
		}
	}
	return NULL;
}

uint8_t routeintake_member_roles(const struct frame_route *r, const char *name)
{
	for (size_t i = 0; i < r->member_count; i++) {
		if (strcmp(r->members[i].name.text, name) == 0) {
			return r->members[i].roles;
		}
	}
	return 0;
}
