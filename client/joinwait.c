/* joinwait: FLOW_JOIN requests in flight (see joinwait.h). Owns the table
 * of waiting HTTP requests and its one timer. The server's answer is
 * turned into an HTTP status here: 200 joined/already, 409 refused, 429
 * rate-limited, 500 the server failed, 503 no server session, 504 no
 * answer in time. Must not: decide anything about flows (the server does). */
#include "client/joinwait.h"

#include "api/joinapi.h"
#include "client/client.h"
#include "common/compiler.h"
#include "common/log.h"
#include "common/monotime.h"

#include <sodium.h>
#include <string.h>

static const char *const results[] = {
	[FRAME_JOIN_OK] = "joined",
	[FRAME_JOIN_ALREADY] = "already",
	[FRAME_JOIN_NO_FLOW] = "no_flow",
	[FRAME_JOIN_NOT_JOINABLE] = "not_joinable",
	[FRAME_JOIN_BAD_ROLE] = "bad_role",
	[FRAME_JOIN_INVALID] = "invalid",
	[FRAME_JOIN_RATE_LIMITED] = "rate_limited",
	[FRAME_JOIN_SERVER_ERROR] = "server_error",
};
_Static_assert(WH_ARRAY_LEN(results) == FRAME_JOIN_STATUS_MAX + 1, "a result per status");
_Static_assert(JOINWAIT_TIMEOUT_US == 5000000ull, "the timeout message says 5 s");

static int http_status_for(uint8_t status)
{
	switch (status) {
	case FRAME_JOIN_OK:
	case FRAME_JOIN_ALREADY:
		return 200;
	case FRAME_JOIN_RATE_LIMITED:
		return 429;
	case FRAME_JOIN_SERVER_ERROR:
		return 500;
	default:
		return 409;
	}
}

static uint8_t role_from_text(const char *as)
{
	if (!as) {
		return FRAME_JOIN_ROLE_DEFAULT;
	}
	if (strcmp(as, "from") == 0) {
		return FRAME_JOIN_ROLE_FROM;
	}
	return strcmp(as, "to") == 0 ? FRAME_JOIN_ROLE_TO : FRAME_JOIN_ROLE_MEMBER;
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

void joinwait_init(struct joinwait *jw)
{
	memset(jw, 0, sizeof(*jw));
	jw->next_id = randombytes_random();
	ev_init(&jw->timer, timer_cb);
}

/* Answer item i and take it out of the table (order is not kept). */
static void finish(struct joinwait *jw, size_t i, int http_status, const char *result,
		   const char *message)
{
	(void)joinapi_answer(jw->items[i].rq, http_status, jw->items[i].flow.text, result, message);
	jw->items[i] = jw->items[--jw->n];
}

static void send_join(struct client *cl, struct joinwait_item *it, uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_FLOW_JOIN;
	f.u.flow_join.request_id = it->request_id;
	f.u.flow_join.flow = it->flow;
	f.u.flow_join.role = it->role;
	it->next_send_us = now_us + JOINWAIT_RESEND_US;
	/* A lost datagram is resent; a send failure waits for the deadline. */
	(void)srvconn_send(cl, &f, NULL, now_us);
}

/* Set the timer to the earliest resend or deadline (stopped when idle). */
static void rearm(struct client *cl, uint64_t now_us)
{
	struct joinwait *jw = &cl->jw;
	uint64_t next = UINT64_MAX;

	ev_timer_stop(cl->loop, &jw->timer);
	for (size_t i = 0; i < jw->n; i++) {
		uint64_t t = jw->items[i].next_send_us < jw->items[i].deadline_us
				     ? jw->items[i].next_send_us
				     : jw->items[i].deadline_us;
		next = t < next ? t : next;
	}
	if (next == UINT64_MAX) {
		return;
	}
	ev_timer_set(&jw->timer, next > now_us ? (double)(next - now_us) / 1e6 : 0.0, 0.0);
	ev_timer_start(cl->loop, &jw->timer);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *cl = container_of(w, struct client, jw.timer);
	struct joinwait *jw = &cl->jw;
	uint64_t now_us = monotime_now_us();

	(void)loop;
	(void)revents;
	/* Bounded: each pass either removes an item or moves its resend on. */
	for (size_t i = jw->n; i-- > 0;) {
		struct joinwait_item *it = &jw->items[i];

		if (now_us >= it->deadline_us) {
			bool up = srvconn_is_up(cl);

			log_warn("join: flow %s: %s", it->flow.text,
				 up ? "the server did not answer" : "no server session");
			finish(jw, i, up ? 504 : 503, up ? "timeout" : "no_server",
			       up ? "the server did not answer within 5 s"
				  : "not connected to the server (is wormhole-server running?)");
		} else if (now_us >= it->next_send_us) {
			/* Unanswered for JOINWAIT_RESEND_US: the session's uplink
			 * may be dead; check before the deadline passes. */
			srvconn_suspect(cl, "a FLOW_JOIN went unanswered", now_us);
			send_join(cl, it, now_us);
		}
	}
	rearm(cl, now_us);
}

void joinwait_request(void *ctx, struct httpd_req *rq, const char *flow, const char *as)
{
	struct client *cl = ctx;
	struct joinwait *jw = &cl->jw;
	uint64_t now_us = monotime_now_us();
	struct joinwait_item *it;

	if (!srvconn_is_up(cl)) {
		(void)joinapi_answer(rq, 503, flow, "no_server",
				     "not connected to the server (is wormhole-server running?)");
		return;
	}
	if (jw->n == JOINWAIT_MAX) {
		(void)joinapi_answer(rq, 503, flow, "busy", "too many joins in flight");
		return;
	}
	it = &jw->items[jw->n];
	memset(it, 0, sizeof(*it));
	if (frame_name_set(&it->flow, flow) != 0) {
		(void)joinapi_answer(rq, 400, flow, "bad_request", "not a flow name");
		return;
	}
	jw->n++;
	it->rq = rq;
	it->request_id = jw->next_id++;
	it->role = role_from_text(as);
	it->deadline_us = now_us + JOINWAIT_TIMEOUT_US;
	log_info("join: asking the server for flow %s as %s", flow, as ? as : "default");
	send_join(cl, it, now_us);
	rearm(cl, now_us);
}

void joinwait_on_ack(struct client *cl, const struct frame_flow_join_ack *ack, uint64_t now_us)
{
	struct joinwait *jw = &cl->jw;

	for (size_t i = 0; i < jw->n; i++) {
		if (jw->items[i].request_id != ack->request_id) {
			continue;
		}
		if (ack->status <= FRAME_JOIN_ALREADY) {
			log_info("join: flow %s: %s", jw->items[i].flow.text, ack->msg);
		} else {
			log_warn("join: flow %s refused: %s", jw->items[i].flow.text, ack->msg);
		}
		finish(jw, i, http_status_for(ack->status), results[ack->status], ack->msg);
		rearm(cl, now_us);
		return;
	}
}

void joinwait_on_server_up(struct client *cl, uint64_t now_us)
{
	struct joinwait *jw = &cl->jw;

	if (jw->n == 0) {
		return;
	}
	for (size_t i = 0; i < jw->n; i++) {
		send_join(cl, &jw->items[i], now_us);
	}
	rearm(cl, now_us);
}

void joinwait_fini(struct client *cl)
{
	struct joinwait *jw = &cl->jw;

	if (cl->loop) {
		ev_timer_stop(cl->loop, &jw->timer);
	}
	while (jw->n > 0) {
		finish(jw, jw->n - 1, 503, "stopping", "the client daemon is stopping");
	}
}
