/* joinwait: the client daemon's FLOW_JOIN requests in flight (DESIGN §7,
 * §8: `wormhole-client join`). A local API request becomes a FLOW_JOIN over
 * the server session; the HTTP request is completed when the server's
 * FLOW_JOIN_ACK arrives, with 503 at once when the session is down, or
 * after JOINWAIT_TIMEOUT_US without an answer. Embedded in struct client. */
#ifndef WH_JOINWAIT_H
#define WH_JOINWAIT_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"

struct client;
struct httpd_req;

#define JOINWAIT_MAX 8		       /* requests in flight; more get 503 */
#define JOINWAIT_TIMEOUT_US 5000000ull /* the server must answer within this */
#define JOINWAIT_RESEND_US 1000000ull  /* FLOW_JOIN is resent (same id) this often */

struct joinwait_item {
	struct httpd_req *rq; /* borrowed from httpd until answered */
	uint32_t request_id;
	struct frame_name flow;
	uint8_t role; /* enum frame_join_role */
	uint64_t deadline_us;
	uint64_t next_send_us;
};

struct joinwait {
	struct joinwait_item items[JOINWAIT_MAX];
	size_t n;
	uint32_t next_id;
	ev_timer timer; /* the earliest resend or deadline */
};

/* Set up (nothing in flight, timer not started). */
void joinwait_init(struct joinwait *jw);
/* Answer everything in flight with 503 and stop the timer. Call before the
 * local API stops (its requests die with it). */
void joinwait_fini(struct client *cl);

/* The local API's join operation (api/joinapi.h joinapi_fn; ctx is the
 * client): send FLOW_JOIN and keep rq until the answer. */
void joinwait_request(void *ctx, struct httpd_req *rq, const char *flow, const char *as);

/* A FLOW_JOIN_ACK from the server: complete the request it answers (an
 * unknown id, e.g. one that timed out, is ignored). */
void joinwait_on_ack(struct client *cl, const struct frame_flow_join_ack *ack, uint64_t now_us);
/* A server session came up (the first, or a new one after a loss or on
 * another uplink): send every pending FLOW_JOIN now, not at its next resend. */
void joinwait_on_server_up(struct client *cl, uint64_t now_us);

#endif
