/* restedit: the REST API's write endpoints (DESIGN §6 write-back, §7).
 * Each one turns the request into new routes.conf text by editing the file
 * as read for this request (config/cfgedit: only the changed flow group or
 * client entry is rewritten) and hands it to restreq_commit, which
 * validates and applies it like a reload and only then writes it back. A
 * request that fails anywhere before the commit changes nothing. */
#include "api/restedit.h"

#include "api/restreq.h"

#include "api/flowjson.h"
#include "api/httpd.h"
#include "common/diag.h"
#include "config/cfgedit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Answer a cfgedit failure. */
static void edit_failed(struct restreq *r, int err, const char *what)
{
	if (err == -ENOENT) {
		restreq_error(r, 404, "no %s in routes.conf", what);
	} else if (err == -ENOMEM) {
		restreq_error(r, 503, "out of memory");
	} else {
		restreq_error(r, 409,
			      "routes.conf cannot be edited as it is (fix it by hand first)");
	}
}

/* Commit text; on success answer status with the flow `name` as now running
 * (or no body when name is NULL). Frees text. */
static void commit_and_answer(struct restreq *r, char *text, size_t len, int status,
			      const char *name)
{
	char etag[RESTAPI_ETAG_MAX];
	const struct routes_flow *f;

	if (!restreq_commit(r, text, len, etag)) {
		free(text);
		return;
	}
	free(text);
	f = name ? routes_find_flow(r->api->ops->routes(r->api->ctx), name) : NULL;
	if (f) {
		restreq_json(r, status, flowjson_from_flow(f), etag);
	} else {
		(void)httpd_respond(r->rq, status == 200 && !name ? 204 : status,
				    "application/json", "", 0, etag);
	}
}

/* routes.conf as it is on disk now, which is what every edit starts from
 * and is checked against (README "Write-back": a hand edit saved but not
 * yet applied, or refused by the reload, is kept; the running config
 * would silently undo it, or call a flow it adds new). NULL with the
 * request answered 409 when the file does not load as it is. */
static const struct routes *disk_routes(struct restreq *r)
{
	char msg[DIAG_MSG_MAX + DIAG_FILE_MAX + 32];
	const struct routes *rt = restreq_disk(r, msg, sizeof(msg));

	if (!rt) {
		restreq_error(r, 409,
			      "routes.conf does not load as it is (fix it by hand first): %s", msg);
	}
	return rt;
}

/* The flow `name` as routes.conf says it on disk now. NULL with the
 * request answered: 409 as disk_routes, 404 when it has no such flow. */
static const struct routes_flow *disk_flow(struct restreq *r, const char *name)
{
	const struct routes *rt = disk_routes(r);
	const struct routes_flow *f = rt ? routes_find_flow(rt, name) : NULL;

	if (rt && !f) {
		restreq_error(r, 404, "no flow \"%s\"", name);
	}
	return f;
}

/* obj -> group text -> replace flow `old` (or add when old is NULL) -> commit.
 * was: old's JSON as the file has it, for the settings set back to their
 * default (flowjson_edit_text), or NULL. */
static void write_flow(struct restreq *r, const cJSON *obj, const char *old, const cJSON *was,
		       int status)
{
	char err[FLOWJSON_ERR_MAX];
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "name");
	char *group = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!cJSON_IsString(name)) {
		restreq_error(r, 400, "name: %s", name ? "must be a string" : "missing");
		return;
	}
	if (flowjson_edit_text(obj, was, &group, err, sizeof(err)) != 0) {
		restreq_error(r, 400, "%s", err);
		return;
	}
	rc = old ? cfgedit_flow_replace(r->text, r->len, old, group, &text, &len)
		 : cfgedit_flow_add(r->text, r->len, group, &text, &len);
	free(group);
	if (rc != 0) {
		edit_failed(r, rc, "such flow");
		return;
	}
	commit_and_answer(r, text, len, status, name->valuestring);
}

void restedit_flow_create(struct restreq *r)
{
	cJSON *obj = restreq_body(r);
	const struct routes *disk;
	const cJSON *name;

	if (!obj) {
		return;
	}
	name = cJSON_GetObjectItemCaseSensitive(obj, "name");
	disk = disk_routes(r);
	if (!disk) {
		/* answered */
	} else if (cJSON_IsString(name) && routes_find_flow(disk, name->valuestring)) {
		/* Issue #7: a duplicate flow name is a bad request (400). */
		restreq_error(r, 400, "name: flow \"%.40s\" already exists", name->valuestring);
	} else {
		write_flow(r, obj, NULL, NULL, 201);
	}
	cJSON_Delete(obj);
}

void restedit_flow_put(struct restreq *r, const char *name, bool is_patch)
{
	char msg[DIAG_MSG_MAX + DIAG_FILE_MAX + 32];
	cJSON *body = restreq_body(r);
	const struct routes *disk;
	const struct routes_flow *f;
	cJSON *obj = NULL;
	cJSON *was;
	const cJSON *bn;

	if (!body) {
		return;
	}
	/* PATCH merges into the flow as on disk. PUT replaces it whole and
	 * needs the file only for the settings it sets back to their default
	 * (cfgedit answers 404 when the file has no such flow). */
	if (is_patch) {
		f = disk_flow(r, name);
		if (!f) {
			cJSON_Delete(body);
			return;
		}
	} else {
		disk = restreq_disk(r, msg, sizeof(msg));
		f = disk ? routes_find_flow(disk, name) : NULL;
	}
	bn = cJSON_GetObjectItemCaseSensitive(body, "name");
	if (bn && !(cJSON_IsString(bn) && strcmp(bn->valuestring, name) == 0)) {
		restreq_error(r, 400, "name: must be \"%s\" as in the URL (a flow is not renamed)",
			      name);
		cJSON_Delete(body);
		return;
	}
	was = f ? flowjson_from_flow(f) : NULL;
	if (is_patch) {
		obj = was ? cJSON_Duplicate(was, true) : NULL;
		if (obj && flowjson_merge(obj, body) != 0) {
			cJSON_Delete(obj);
			obj = NULL;
		}
		cJSON_Delete(body);
	} else {
		obj = body;
		if (!bn && !cJSON_AddStringToObject(obj, "name", name)) {
			cJSON_Delete(obj);
			obj = NULL;
		}
	}
	if (!obj || (f && !was)) {
		restreq_error(r, 503, "out of memory");
		cJSON_Delete(obj);
		cJSON_Delete(was);
		return;
	}
	write_flow(r, obj, name, was, 200);
	cJSON_Delete(obj);
	cJSON_Delete(was);
}

void restedit_flow_delete(struct restreq *r, const char *name)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!disk_flow(r, name)) {
		return;
	}
	rc = cfgedit_flow_remove(r->text, r->len, name, &text, &len);
	if (rc != 0) {
		edit_failed(r, rc, "such flow");
		return;
	}
	commit_and_answer(r, text, len, 200, NULL);
}

/* Remove every string equal to id from array a; true when one was there. */
static bool drop_id(cJSON *a, const char *id)
{
	bool found = false;
	int n = cJSON_GetArraySize(a);

	for (int i = n - 1; i >= 0; i--) {
		const cJSON *e = cJSON_GetArrayItem(a, i);
		if (cJSON_IsString(e) && strcmp(e->valuestring, id) == 0) {
			cJSON_DeleteItemFromArray(a, i);
			found = true;
		}
	}
	return found;
}

/* The membership list that `as` names, or NULL with the error answered. */
static const char *member_list(struct restreq *r, const struct routes_flow *f, const cJSON *as)
{
	const char *want = cJSON_IsString(as) ? as->valuestring : NULL;

	if (as && !want) {
		restreq_error(r, 400, "as: must be \"from\", \"to\" or \"member\"");
		return NULL;
	}
	if (f->is_nn) {
		if (want && strcmp(want, "member") != 0) {
			restreq_error(
				r, 400,
				"as: flow \"%s\" has members (N:N): use \"member\" (got \"%.16s\")",
				f->name, want);
			return NULL;
		}
		return "members";
	}
	if (!want || (strcmp(want, "from") != 0 && strcmp(want, "to") != 0)) {
		restreq_error(r, 400, "as: flow \"%s\" has from/to: use \"from\" or \"to\"",
			      f->name);
		return NULL;
	}
	return want;
}

/* restedit_member_text with f the flow as text has it. */
static int member_text(const char *text, size_t len, const struct routes_flow *f, const char *id,
		       const char *list, char **out, size_t *out_len, char *err, size_t err_len)
{
	cJSON *obj = flowjson_from_flow(f);
	cJSON *a = obj ? cJSON_GetObjectItemCaseSensitive(obj, list) : NULL;
	cJSON *s = cJSON_CreateString(id);
	char *group = NULL;
	int rc = -ENOMEM;

	snprintf(err, err_len, "out of memory");
	if (obj && !a) {
		a = cJSON_AddArrayToObject(obj, list); /* an empty list is left out */
	}
	if (!a || !s) {
		goto done;
	}
	if (drop_id(a, id)) {
		rc = -EALREADY;
		goto done;
	}
	if (!cJSON_AddItemToArray(a, s)) {
		goto done;
	}
	s = NULL; /* the array owns it now */
	rc = flowjson_to_text(obj, &group, err, err_len) != 0 ? -EINVAL : 0;
	if (rc == 0) {
		rc = cfgedit_flow_replace(text, len, f->name, group, out, out_len);
		free(group);
	}
done:
	cJSON_Delete(s);
	cJSON_Delete(obj);
	return rc;
}

int restedit_member_text(const char *text, size_t len, const struct routes_flow *f, const char *id,
			 const char *list, char **out, size_t *out_len, char *err, size_t err_len)
{
	struct diag d;
	char msg[DIAG_MSG_MAX + DIAG_FILE_MAX + 32];
	struct routes *disk;
	const struct routes_flow *df;
	int rc;

	/* The flow as text says it, not f: a hand edit of it not yet applied
	 * stays (README "Write-back"). */
	diag_clear(&d);
	disk = routes_parse_text(text, len, NULL, NULL, false, &d);
	if (!disk) {
		snprintf(err, err_len, "routes.conf does not load as it is: %s",
			 diag_format(&d, msg, sizeof(msg)));
		return -EINVAL;
	}
	df = routes_find_flow(disk, f->name);
	rc = df ? member_text(text, len, df, id, list, out, out_len, err, err_len) : -ENOENT;
	routes_free(disk);
	return rc;
}

void restedit_member_add(struct restreq *r, const char *name)
{
	cJSON *body = restreq_body(r);
	const struct routes_flow *f;
	char err[FLOWJSON_ERR_MAX];
	const cJSON *id;
	const char *list;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!body) {
		return;
	}
	/* Like a flow's or a client's body: a field we do not know is refused,
	 * not ignored (it may be meant to say something). */
	for (const cJSON *e = body->child; e; e = e->next) {
		if (strcmp(e->string, "id") != 0 && strcmp(e->string, "as") != 0) {
			restreq_error(r, 400,
				      "unknown field \"%.40s\" (a member is {\"id\", \"as\"})",
				      e->string);
			cJSON_Delete(body);
			return;
		}
	}
	f = disk_flow(r, name);
	if (!f) {
		cJSON_Delete(body);
		return;
	}
	id = cJSON_GetObjectItemCaseSensitive(body, "id");
	if (!cJSON_IsString(id)) {
		restreq_error(r, 400, "id: %s", id ? "must be a string" : "missing");
	} else if ((list = member_list(r, f, cJSON_GetObjectItemCaseSensitive(body, "as")))) {
		rc = member_text(r->text, r->len, f, id->valuestring, list, &text, &len, err,
				 sizeof(err));
		if (rc == -EALREADY) {
			/* Already in that list: nothing to write. */
			restreq_json(r, 200, flowjson_from_flow(f), r->etag);
		} else if (rc == -ENOMEM) {
			restreq_error(r, 503, "out of memory");
		} else if (rc == -EINVAL) {
			restreq_error(r, 400, "%s", err);
		} else if (rc != 0) {
			edit_failed(r, rc, "such flow");
		} else {
			commit_and_answer(r, text, len, 201, name);
		}
	}
	cJSON_Delete(body);
}

void restedit_member_del(struct restreq *r, const char *name, const char *id)
{
	const struct routes_flow *f = disk_flow(r, name);
	static const char *const lists[] = {"from", "to", "members", "joinable"};
	static const char *const maps[] = {"deliver", "listen"};
	cJSON *obj;
	bool found = false;

	if (!f) {
		return;
	}
	obj = flowjson_from_flow(f);
	if (!obj) {
		restreq_error(r, 503, "out of memory");
		return;
	}
	for (size_t i = 0; i < 3; i++) {
		cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, lists[i]);
		found = (a && drop_id(a, id)) || found;
	}
	if (!found) {
		restreq_error(r, 404, "\"%s\" is not a member of flow \"%s\"", id, name);
		cJSON_Delete(obj);
		return;
	}
	/* Its overrides and joinable entry go with it (they name a non-member now). */
	cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, lists[3]);
	if (cJSON_IsArray(j)) {
		(void)drop_id(j, id);
	}
	for (size_t i = 0; i < 2; i++) {
		cJSON_DeleteItemFromObjectCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(obj, maps[i]), id);
	}
	write_flow(r, obj, name, NULL, 200);
	cJSON_Delete(obj);
}

/* A base64 key has only these characters: anything else could break the text. */
static bool is_b64(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == n;
}

void restedit_client_put(struct restreq *r, const char *id)
{
	cJSON *body = restreq_body(r);
	const cJSON *key;
	char value[128];
	char etag[RESTAPI_ETAG_MAX];
	const struct routes *disk;
	char *text = NULL;
	size_t len = 0;
	bool is_new;
	int rc;

	if (!body) {
		return;
	}
	key = cJSON_GetObjectItemCaseSensitive(body, "key");
	if (!cJSON_IsString(key) || !is_b64(key->valuestring)) {
		restreq_error(r, 400, "key: %s",
			      key ? "must be a base64 X25519 public key" : "missing");
		cJSON_Delete(body);
		return;
	}
	if (cJSON_GetArraySize(body) != 1) {
		restreq_error(r, 400, "only \"key\" may be set for a client");
		cJSON_Delete(body);
		return;
	}
	if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z')) ||
	    strchr(id, '.')) {
		restreq_error(r, 400,
			      "id \"%s\": must start with a letter and have no '.' to be "
			      "written to routes.conf",
			      id);
		cJSON_Delete(body);
		return;
	}
	snprintf(value, sizeof(value), "{ key = \"%s\"; }", key->valuestring);
	/* new to the file on disk (a hand edit may have added it, not yet
	 * applied). A file that does not load is not edited: 409 naming its
	 * line (edited, the error would name a line of the edited text). */
	disk = disk_routes(r);
	if (!disk) {
		cJSON_Delete(body);
		return;
	}
	is_new = !routes_find_client(disk, id);
	rc = cfgedit_client_set(r->text, r->len, id, value, &text, &len);
	if (rc != 0) {
		edit_failed(r, rc, "clients group");
	} else if (restreq_commit(r, text, len, etag)) {
		cJSON *o = cJSON_CreateObject();
		if (o && !(cJSON_AddStringToObject(o, "id", id) &&
			   cJSON_AddStringToObject(o, "key", key->valuestring))) {
			cJSON_Delete(o);
			o = NULL;
		}
		restreq_json(r, is_new ? 201 : 200, o, etag);
	}
	free(text);
	cJSON_Delete(body);
}

void restedit_client_delete(struct restreq *r, const char *id)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!disk_routes(r)) {
		return;
	}
	rc = cfgedit_client_remove(r->text, r->len, id, &text, &len);
	if (rc != 0) {
		edit_failed(r, rc, rc == -ENOENT ? "such client" : "clients group");
		return;
	}
	commit_and_answer(r, text, len, 200, NULL);
}
