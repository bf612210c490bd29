/* flowsapi: GET /api/v1/flows[/{name}] and the /api/v1/events stream of the
 * client's local API (DESIGN §8-§9, issue #9), so an encoder can poll the
 * congestion state or subscribe to its changes. Owns the open event
 * streams; publishing only queues into httpstream's bounded per-stream
 * queues, so a slow reader never blocks the loop. Must not: hold daemon
 * state (flows come from list_fn each time) or answer anything but GET. */
#include "api/flowsapi.h"

#include "api/flowreport.h"
#include "api/httpd.h"
#include "api/httpstream.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_FLOWS "/api/v1/flows"
#define PATH_EVENTS "/api/v1/events"

void flowsapi_init(struct flowsapi *fa, flowsapi_list_fn *list, void *ctx)
{
	memset(fa, 0, sizeof(*fa));
	fa->list = list;
	fa->ctx = ctx;
}

/* The daemon's flows now: a new array (caller frees) with *n set, or NULL. */
static struct flowreport_flow *list_flows(struct flowsapi *fa, size_t *n)
{
	struct flowreport_flow *out = calloc(FLOWSAPI_FLOWS_MAX, sizeof(*out));

	*n = out && fa->list ? fa->list(fa->ctx, out, FLOWSAPI_FLOWS_MAX) : 0;
	return out;
}

static void respond_json(struct httpd_req *rq, cJSON *o)
{
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	if (!text) {
		(void)httpd_respond_error(rq, 503, "out of memory", NULL);
		return;
	}
	(void)httpd_respond(rq, 200, "application/json", text, strlen(text), NULL);
	free(text);
}

/* GET /api/v1/flows (name NULL) or /api/v1/flows/{name}. */
static void serve_flows(struct flowsapi *fa, struct httpd_req *rq, const char *name)
{
	size_t n;
	struct flowreport_flow *flows = list_flows(fa, &n);
	cJSON *o = NULL;
	bool is_found = name == NULL;

	if (!flows) {
		(void)httpd_respond_error(rq, 503, "out of memory", NULL);
		return;
	}
	if (!name) {
		o = cJSON_CreateArray();
		for (size_t i = 0; o && i < n; i++) {
			cJSON *f = flowreport_json(&flows[i]);
			if (!f || !cJSON_AddItemToArray(o, f)) {
				cJSON_Delete(f);
				cJSON_Delete(o);
				o = NULL;
			}
		}
	}
	for (size_t i = 0; name && i < n && !is_found; i++) {
		if (strcmp(flows[i].name, name) == 0) {
			is_found = true;
			o = flowreport_json(&flows[i]);
		}
	}
	free(flows);
	if (!is_found) {
		(void)httpd_respond_error(rq, 404, "no such flow", NULL);
		return;
	}
	respond_json(rq, o);
}

/* The first events of a stream: "hello" (how many flows there are), then
 * one "state" per flow, so a watcher knows it is connected and where
 * things stand before any change. Queued as one entry: a greeting of more
 * flows than the stream's queue holds still arrives whole, and hello's
 * count is the number of states that follow. */
static int send_greeting(struct flowsapi *fa, struct httpstream *st)
{
	size_t n;
	struct flowreport_flow *flows = list_flows(fa, &n);
	const char *events[FLOWSAPI_FLOWS_MAX + 1];
	char *datas[FLOWSAPI_FLOWS_MAX + 1] = {NULL};
	char hello[64];
	int err = 0;

	if (!flows) {
		return -ENOMEM;
	}
	snprintf(hello, sizeof(hello), "{\"flows\": %zu}", n);
	events[0] = "hello";
	datas[0] = hello;
	for (size_t i = 0; err == 0 && i < n; i++) {
		events[i + 1] = "state";
		datas[i + 1] = flowreport_text(&flows[i]);
		err = datas[i + 1] ? 0 : -ENOMEM;
	}
	if (err == 0) {
		err = httpstream_send_all(st, n + 1, events, (const char *const *)datas);
	}
	for (size_t i = 1; i <= n; i++) {
		free(datas[i]);
	}
	free(flows);
	return err;
}

static void serve_events(struct flowsapi *fa, struct httpd_req *rq)
{
	struct httpstream *st;

	if (fa->n_streams == FLOWSAPI_STREAMS_MAX) {
		(void)httpd_respond_error(rq, 503, "too many event streams open", NULL);
		return;
	}
	st = httpstream_open(rq);
	if (!st) {
		return; /* rq got 503 */
	}
	fa->streams[fa->n_streams++] = st;
	/* A failure here (out of memory, reader already gone) leaves a stream
	 * that ends through on_stream_closed like any other. */
	(void)send_greeting(fa, st);
}

bool flowsapi_handle(struct flowsapi *fa, struct httpd_req *rq)
{
	const char *name = NULL;
	bool is_events = strcmp(rq->path, PATH_EVENTS) == 0;
	bool is_flows = strcmp(rq->path, PATH_FLOWS) == 0;

	if (strncmp(rq->path, PATH_FLOWS "/", sizeof(PATH_FLOWS)) == 0) {
		name = rq->path + sizeof(PATH_FLOWS);
		/* One segment, as flow names have no "/": anything deeper is no path of ours. */
		if (name[0] == '\0' || strchr(name, '/')) {
			return false;
		}
	}
	if (!is_events && !is_flows && !name) {
		return false;
	}
	if (strcmp(rq->method, "GET") != 0) {
		(void)httpd_respond_error(rq, 405, "method not allowed (GET only)", NULL);
	} else if (is_events) {
		serve_events(fa, rq);
	} else {
		serve_flows(fa, rq, name);
	}
	return true;
}

void flowsapi_publish(struct flowsapi *fa, const struct flowreport_flow *f)
{
	char *text;

	if (fa->n_streams == 0) {
		return;
	}
	text = flowreport_text(f);
	if (!text) {
		return; /* out of memory: the watchers can still poll /flows */
	}
	for (size_t i = 0; i < fa->n_streams; i++) {
		/* -EPIPE: the reader left; on_stream_closed is on its way. */
		(void)httpstream_send(fa->streams[i], f->is_saturated ? "saturated" : "cleared",
				      text);
	}
	free(text);
}

void flowsapi_on_stream_closed(struct flowsapi *fa, struct httpstream *st)
{
	for (size_t i = 0; i < fa->n_streams; i++) {
		if (fa->streams[i] == st) {
			fa->streams[i] = fa->streams[--fa->n_streams];
			fa->streams[fa->n_streams] = NULL;
			break;
		}
	}
	httpstream_close(st);
}
