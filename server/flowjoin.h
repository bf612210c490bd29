/* flowjoin: the server's answer to FLOW_JOIN (DESIGN §6, §7: "a client can
 * ask to join a flow over its own authenticated session, where the flow
 * allows it"). The decision is a pure function of the running routes; a
 * join that adds the client is written like the REST API's member add (the
 * same routes.conf edit, the same commit: validated like a reload, applied
 * live, written back atomically with a backup). */
#ifndef WH_FLOWJOIN_H
#define WH_FLOWJOIN_H

#include <stdint.h>

#include "proto/frame.h"

struct routes;
struct server;

/* A client may write routes.conf through joins at most this often. */
#define FLOWJOIN_INTERVAL_US 1000000ull

/* Decide the join of client id (authenticated) to req->flow in r. Sets ack
 * (status and a message for people; request_id is the caller's) and, when
 * the status is FRAME_JOIN_OK, *list to the routes.conf list to add id to
 * ("from", "to" or "members"): OK here means "would be added". Rules, in
 * order: the flow exists; its joinable allows id (true, or id listed); the
 * role fits (member for N:N only, from/to for from/to flows only; DEFAULT
 * picks member or to); id is not already in that list (ALREADY); a TCP flow
 * keeps exactly one sink. Returns ack->status. */
enum frame_join_status flowjoin_check(const struct routes *r, const char *id,
				      const struct frame_flow_join *req, const char **list,
				      struct frame_flow_join_ack *ack);

/* Handle a FLOW_JOIN from client id on the loop: check, rate-limit writes
 * (FLOWJOIN_INTERVAL_US per client), edit routes.conf as read from disk and
 * commit it through apiops_commit. Fills ack (request_id included) and
 * logs one line (refusals rate-limited per client). */
void flowjoin_handle(struct server *srv, const char *id, const struct frame_flow_join *req,
		     struct frame_flow_join_ack *ack, uint64_t now_us);

#endif
