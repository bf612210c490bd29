/* restedit: the REST API's write endpoints (flows, members, clients). Each
 * answers the request itself: the new routes.conf text goes through
 * restreq_commit, or the request is refused and nothing changes. */
#ifndef WH_RESTEDIT_H
#define WH_RESTEDIT_H

#include <stdbool.h>

struct restreq;

void restedit_flow_create(struct restreq *r);
/* PUT replaces the flow with the body; PATCH (is_patch) merges the body
 * into it (RFC 7396). The name cannot change. */
void restedit_flow_put(struct restreq *r, const char *name, bool is_patch);
void restedit_flow_delete(struct restreq *r, const char *name);
/* {"id": ID, "as": "from"|"to"|"member"}: 201 when added, 200 when it was there. */
void restedit_member_add(struct restreq *r, const char *name);
/* Out of from/to/members, with its deliver, listen and joinable entries. */
void restedit_member_del(struct restreq *r, const char *name, const char *id);
/* {"key": BASE64}: 201 new, 200 replaced. */
void restedit_client_put(struct restreq *r, const char *id);
void restedit_client_delete(struct restreq *r, const char *id);

#endif
