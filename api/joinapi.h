/* joinapi: POST /api/v1/join on the client's local API (DESIGN §8), the
 * way `wormhole-client join` asks the daemon to join a flow. Parses and
 * checks the body, hands the request to the daemon (which completes it
 * later, when the server answers), and builds the answers. Owns no state. */
#ifndef WH_JOINAPI_H
#define WH_JOINAPI_H

#include <stddef.h>

struct httpd_req;

#define JOINAPI_PATH "/api/v1/join"

/* The daemon's side: take rq (it must answer it exactly once, with
 * joinapi_answer, now or later). flow is a checked flow name; as is
 * "from", "to", "member", or NULL (the server picks: member for an N:N flow,
 * to otherwise). Both strings live only during the call. */
typedef void joinapi_fn(void *ctx, struct httpd_req *rq, const char *flow, const char *as);

/* Serve rq (its path is JOINAPI_PATH): POST with a JSON object
 * {"flow": NAME, "as": "from"|"to"|"member"} ("as" optional, no other
 * field). Anything else is answered here (405, 400); a good request goes
 * to fn (NULL: 404). */
void joinapi_handle(struct httpd_req *rq, joinapi_fn *fn, void *ctx);

/* Complete rq with {"flow": flow, "result": result, "message": message}
 * (plus "error": message when http_status >= 400). result is a short
 * stable word ("joined", "already", "not_joinable", "timeout", ...).
 * Returns httpd_respond's result. */
int joinapi_answer(struct httpd_req *rq, int http_status, const char *flow, const char *result,
		   const char *message);

#endif
