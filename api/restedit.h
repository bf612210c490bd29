/* restedit: the REST API's write endpoints (flows, members, clients). Each
 * answers the request itself: the new routes.conf text goes through
 * restreq_commit, or the request is refused and nothing changes. */
#ifndef WH_RESTEDIT_H
#define WH_RESTEDIT_H

#include <stdbool.h>
#include <stddef.h>

struct restreq;
struct routes_flow;

void restedit_flow_create(struct restreq *r);
/* PUT replaces the flow with the body; PATCH (is_patch) merges the body
 * into it (RFC 7396). The name cannot change. */
void restedit_flow_put(struct restreq *r, const char *name, bool is_patch);
void restedit_flow_delete(struct restreq *r, const char *name);
/* {"id": ID, "as": "from"|"to"|"member"}: 201 when added, 200 when it was there. */
void restedit_member_add(struct restreq *r, const char *name);
/* The edit behind a member add, shared with the server's FLOW_JOIN: the
 * routes.conf text[0..len) with id appended to the list ("from", "to" or
 * "members") of the flow named like f, that flow's group rewritten from
 * the flow as text has it (not f, the running one: a hand edit not yet
 * applied stays) and nothing else touched (config/cfgedit). On 0, *out is
 * a new NUL-terminated text of *out_len bytes (caller frees); not
 * validated: commit it like a reload. Returns 0, -EALREADY (id is in that
 * list: nothing to write), -ENOMEM, -EINVAL (text does not load, or the
 * flow cannot be written as text; err says why), or -ENOENT/-EPROTO (no
 * such flow in text / text not understood). */
int restedit_member_text(const char *text, size_t len, const struct routes_flow *f, const char *id,
			 const char *list, char **out, size_t *out_len, char *err, size_t err_len);
/* Out of from/to/members, with its deliver, listen and joinable entries. */
void restedit_member_del(struct restreq *r, const char *name, const char *id);
/* {"key": BASE64}: 201 new, 200 replaced. */
void restedit_client_put(struct restreq *r, const char *id);
void restedit_client_delete(struct restreq *r, const char *id);

#endif
