/* localapi: the client daemon's side of its local status API (DESIGN §8):
 * fills api/statusapi's plain struct from the daemon's state, and starts
 * and stops the API on client.ini's `api` address. */
#ifndef WH_LOCALAPI_H
#define WH_LOCALAPI_H

#include <stdbool.h>

struct client;
struct client_ini;

/* Serve GET /api/v1/status, /api/v1/flows[/{name}] and /api/v1/events on
 * cl->ini->api, and route cl->flow_event to the event stream. A port that
 * is taken (another client on this host) is logged and the daemon runs
 * without the API. */
void localapi_start(struct client *cl);
/* Stop serving (joins the HTTP threads). Safe when never started. */
void localapi_stop(struct client *cl);

/* `wormhole-client status [--json]`: ask the daemon's local API on
 * ini->api and print its answer (JSON with --json). Returns the exit code:
 * 0, 1 (no daemon answers, or a bad answer), 2 (usage). */
int localapi_status_main(const struct client_ini *ini, bool is_json);

/* The kind of the path to peer: "relay" (a later issue adds "direct"). */
const char *localapi_path_kind(const struct client *cl, const char *peer);

#endif
