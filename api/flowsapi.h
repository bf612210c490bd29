/* flowsapi: the per-flow part of the client's local API (DESIGN §8-§9,
 * issue #9): GET /api/v1/flows, GET /api/v1/flows/{name}, and the
 * server-sent event stream GET /api/v1/events (saturated/cleared changes).
 * Embedded in api/statusapi, which routes requests here; runs on the loop
 * thread. Flows come from the daemon through list_fn (api/ never includes
 * client/ headers). */
#ifndef WH_FLOWSAPI_H
#define WH_FLOWSAPI_H

#include <stdbool.h>
#include <stddef.h>

struct flowreport_flow;
struct httpd_req;
struct httpstream;

/* Flows one answer (and an event stream's greeting) lists: every flow a
 * client can hold (client/routeintake.h ROUTEINTAKE_FLOWS_MAX, checked
 * there), so none is left out. */
#define FLOWSAPI_FLOWS_MAX 256
/* Each open stream keeps one of httpd's HTTPD_THREADS workers: leave most
 * of them for plain requests. */
#define FLOWSAPI_STREAMS_MAX 4

/* Up to max flows into out (zeroed by the caller); returns how many. */
typedef size_t flowsapi_list_fn(void *ctx, struct flowreport_flow *out, size_t max);

struct flowsapi {
	flowsapi_list_fn *list;
	void *ctx;					  /* borrowed */
	struct httpstream *streams[FLOWSAPI_STREAMS_MAX]; /* owns each */
	size_t n_streams;
};

void flowsapi_init(struct flowsapi *fa, flowsapi_list_fn *list, void *ctx);
/* Serve rq when its path is one of ours (then rq is gone) and return true;
 * false leaves rq to the caller. Unknown flow: 404; not GET: 405; too many
 * streams: 503. */
bool flowsapi_handle(struct flowsapi *fa, struct httpd_req *rq);
/* A flow's saturated state changed: "event: saturated" or "event: cleared"
 * (by f->is_saturated) with f's JSON, to every open stream. Never blocks. */
void flowsapi_publish(struct flowsapi *fa, const struct flowreport_flow *f);
/* httpd's on_stream_closed: forget st and close it. */
void flowsapi_on_stream_closed(struct flowsapi *fa, struct httpstream *st);

#endif
