/* routespeers: build the peer index of a parsed struct routes (routes.h:
 * peer_start, peers). Internal to config/; the queries are in routes.h. */
#ifndef WH_ROUTESPEERS_H
#define WH_ROUTESPEERS_H

struct routes;

/* Fill r->peer_start, r->peers, r->flow_start and r->member_flows from
 * r->flows. Returns 0 or -ENOMEM
 * (whatever was allocated is freed by routes_free). */
int routespeers_build(struct routes *r);

#endif
