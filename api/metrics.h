/* metrics: GET /metrics (Prometheus text format 0.0.4) and the per-flow
 * statistics of GET /api/v1/flows/{name}/stats. Both answer the request. */
#ifndef WH_METRICS_H
#define WH_METRICS_H

struct restreq;
struct routes_flow;

void metrics_serve(struct restreq *r);
void metrics_flow_stats(struct restreq *r, const struct routes_flow *f);

#endif
