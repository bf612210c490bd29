/* flowjoin: FLOW_JOIN policy and write-back (see flowjoin.h). Owns no
 * state: the per-client rate limit and log bucket live in the registry
 * client. Must not: write routes.conf any other way than apiops_commit (one
 * write-back path), or trust anything in the request but the flow name and
 * the role (the client's identity is its session's). */
#include "server/flowjoin.h"

#include "api/restedit.h"
#include "common/diag.h"
#include "common/log.h"
#include "config/routes.h"
#include "server/apiops.h"
#include "server/server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[] = {
	[FRAME_JOIN_ROLE_DEFAULT] = "default",
	[FRAME_JOIN_ROLE_FROM] = "from",
	[FRAME_JOIN_ROLE_TO] = "to",
	[FRAME_JOIN_ROLE_MEMBER] = "member",
};

static bool id_in(char (*ids)[ROUTES_NAME_SIZE], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ids[i], id) == 0) {
			return true;
		}
	}
	return false;
}

static enum frame_join_status answer(struct frame_flow_join_ack *ack, enum frame_join_status status)
{
	ack->status = (uint8_t)status;
	return status;
}

/* The role the request ends up with: DEFAULT is member (N:N) or to. */
static uint8_t effective_role(const struct routes_flow *f, uint8_t role)
{
	if (role != FRAME_JOIN_ROLE_DEFAULT) {
		return role;
	}
	return f->is_nn ? FRAME_JOIN_ROLE_MEMBER : FRAME_JOIN_ROLE_TO;
}

enum frame_join_status flowjoin_check(const struct routes *r, const char *id,
				      const struct frame_flow_join *req, const char **list,
				      struct frame_flow_join_ack *ack)
{
	const char *name = req->flow.text;
	const struct routes_flow *f = routes_find_flow(r, name);
	uint8_t role;

	*list = NULL;
	if (!f) {
		frame_join_ack_set_msg(ack, "no flow \"%s\"", name);
		return answer(ack, FRAME_JOIN_NO_FLOW);
	}
	if (!f->is_joinable_all && !id_in(f->joinable, f->n_joinable, id)) {
		frame_join_ack_set_msg(ack, "flow \"%s\" is not joinable by %s", name, id);
		return answer(ack, FRAME_JOIN_NOT_JOINABLE);
	}
	role = effective_role(f, req->role);
	if (f->is_nn != (role == FRAME_JOIN_ROLE_MEMBER)) {
		frame_join_ack_set_msg(ack, "flow \"%s\" has %s: join as %s, not %s", name,
				       f->is_nn ? "members (N:N)" : "from/to",
				       f->is_nn ? "member" : "from or to", role_names[role]);
		return answer(ack, FRAME_JOIN_BAD_ROLE);
	}
	*list = role == FRAME_JOIN_ROLE_MEMBER ? "members" : role_names[role];
	if ((role == FRAME_JOIN_ROLE_MEMBER && id_in(f->members, f->n_members, id)) ||
	    (role == FRAME_JOIN_ROLE_FROM && id_in(f->from, f->n_from, id)) ||
	    (role == FRAME_JOIN_ROLE_TO && id_in(f->to, f->n_to, id))) {
		frame_join_ack_set_msg(ack, "already in %s as %s", name, role_names[role]);
		return answer(ack, FRAME_JOIN_ALREADY);
	}
	/* DESIGN §4: each TCP connection is a stream to one sink, so a TCP
	 * flow has one `to`, or exactly two members. */
	if (f->proto == ROUTES_PROTO_TCP && role == FRAME_JOIN_ROLE_TO && f->n_to > 0) {
		*list = NULL;
		frame_join_ack_set_msg(ack, "tcp flow \"%s\" already has its sink (%s)", name,
				       f->to[0]);
		return answer(ack, FRAME_JOIN_BAD_ROLE);
	}
	if (f->proto == ROUTES_PROTO_TCP && role == FRAME_JOIN_ROLE_MEMBER && f->n_members >= 2) {
		*list = NULL;
		frame_join_ack_set_msg(ack, "tcp flow \"%s\" already has its two members", name);
		return answer(ack, FRAME_JOIN_BAD_ROLE);
	}
	frame_join_ack_set_msg(ack, "joined %s as %s", name, role_names[role]);
	return answer(ack, FRAME_JOIN_OK);
}

/* Edit routes.conf as it is on disk (what the REST API edits too) and
 * commit it. Returns the status, with ack's message set on failure. */
static enum frame_join_status write_join(struct server *srv, const char *id, const char *flow,
					 const char *list, struct frame_flow_join_ack *ack)
{
	const struct routes_flow *f = routes_find_flow(srv->routes, flow);
	char err[160];
	char line[DIAG_MSG_MAX + DIAG_FILE_MAX + 32];
	char *text = NULL;
	char *edited = NULL;
	size_t len = 0;
	size_t edited_len = 0;
	struct diag d;
	int rc = reload_read_base(&srv->reload, &text, &len);

	if (rc != 0) {
		frame_join_ack_set_msg(ack, "server cannot read routes.conf: %s", strerror(-rc));
		return answer(ack, FRAME_JOIN_SERVER_ERROR);
	}
	rc = restedit_member_text(text, len, f, id, list, &edited, &edited_len, err, sizeof(err));
	free(text);
	if (rc == -EALREADY) {
		/* restedit edits the flow as routes.conf has it, flowjoin_check
		 * looked at the running one: a hand edit not applied yet may
		 * already have added this member. Nothing to write. */
		frame_join_ack_set_msg(ack, "already in %s as %s", flow,
				       strcmp(list, "members") == 0 ? "member" : list);
		return answer(ack, FRAME_JOIN_ALREADY);
	}
	if (rc != 0) {
		frame_join_ack_set_msg(ack, "server cannot edit routes.conf (%s)",
				       rc == -EINVAL ? err : strerror(-rc));
		return answer(ack, FRAME_JOIN_SERVER_ERROR);
	}
	diag_clear(&d);
	rc = apiops_commit(srv, edited, edited_len, &d);
	free(edited);
	if (rc != 0) {
		frame_join_ack_set_msg(ack, "routes.conf with %s in %s is refused: %s", id, flow,
				       d.is_set ? diag_format(&d, line, sizeof(line))
						: strerror(-rc));
		return answer(ack, rc == -EIO || rc == -ENOMEM ? FRAME_JOIN_SERVER_ERROR
							       : FRAME_JOIN_INVALID);
	}
	return FRAME_JOIN_OK;
}

void flowjoin_handle(struct server *srv, const char *id, const struct frame_flow_join *req,
		     struct frame_flow_join_ack *ack, uint64_t now_us)
{
	struct registry_client *c = registry_find_by_id(&srv->registry, id);
	const char *list = NULL;
	enum frame_join_status st;

	memset(ack, 0, sizeof(*ack));
	ack->request_id = req->request_id;
	if (!c) {
		frame_join_ack_set_msg(ack, "no client %s", id);
		ack->status = FRAME_JOIN_SERVER_ERROR;
		return;
	}
	st = flowjoin_check(srv->routes, id, req, &list, ack);
	if (st == FRAME_JOIN_OK && c->last_join_us != 0 &&
	    now_us - c->last_join_us < FLOWJOIN_INTERVAL_US) {
		/* Only joins that write count: a client cannot churn the file. */
		frame_join_ack_set_msg(ack, "too many joins from %s: retry in a second", id);
		st = answer(ack, FRAME_JOIN_RATE_LIMITED);
	}
	if (st == FRAME_JOIN_OK) {
		c->last_join_us = now_us;
		st = write_join(srv, id, req->flow.text, list, ack);
	}
	if (st == FRAME_JOIN_OK) {
		log_info("join: client %s joined flow %s as %s; wrote %s", id, req->flow.text,
			 strcmp(list, "members") == 0 ? "member" : list, srv->reload.path);
		return;
	}
	/* Remote input: at most a few lines a second per client. Look the
	 * client up again: a commit may have changed the registry. */
	c = registry_find_by_id(&srv->registry, id);
	if (c) {
		log_ratelimited(&c->join_log, now_us,
				st == FRAME_JOIN_ALREADY ? LOG_LEVEL_INFO : LOG_LEVEL_WARN,
				"join: client %s flow %s: %s: %s", id, req->flow.text,
				st == FRAME_JOIN_ALREADY ? "nothing to do" : "refused", ack->msg);
	}
}
