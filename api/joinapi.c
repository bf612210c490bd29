/* joinapi: POST /api/v1/join (see joinapi.h). Runs on the loop thread
 * (httpd hands requests there). The body is untrusted local input: it is
 * parsed whole, and the flow name must pass the wire's name rule before it
 * reaches the daemon. Must not: keep requests (the daemon owns the wait). */
#include "api/joinapi.h"

#include "api/httpd.h"
#include "api/jsonbody.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [A-Za-z0-9][A-Za-z0-9_.-]{0,31}: the name rule of routes.conf and the wire. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum =
			(c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) {
			return false;
		}
	}
	return true;
}

static bool role_ok(const char *as)
{
	return strcmp(as, "from") == 0 || strcmp(as, "to") == 0 || strcmp(as, "member") == 0;
}

/* The body as a JSON object, or NULL with rq answered (400). Like the
 * server's POST /flows/{name}/members, a field we do not know is refused,
 * not ignored: it may be meant to say something (a misspelt "as" would
 * otherwise join with the default role). */
static cJSON *parse_body(struct httpd_req *rq)
{
	char why[JSONBODY_WHY_MAX];
	cJSON *o = jsonbody_object(rq->body, rq->body_len, why);

	for (const cJSON *e = o ? o->child : NULL; e; e = e->next) {
		if (strcmp(e->string, "flow") != 0 && strcmp(e->string, "as") != 0) {
			snprintf(why, sizeof(why),
				 "unknown field \"%.40s\" (a join is {\"flow\", \"as\"})",
				 e->string);
			cJSON_Delete(o);
			o = NULL;
			break;
		}
	}
	if (!o) {
		(void)httpd_respond_error(rq, 400, why, NULL);
	}
	return o;
}

void joinapi_handle(struct httpd_req *rq, joinapi_fn *fn, void *ctx)
{
	const cJSON *flow;
	const cJSON *as;
	cJSON *o;

	if (!fn) {
		(void)httpd_respond_error(rq, 404, "not found", NULL);
		return;
	}
	if (strcmp(rq->method, "POST") != 0) {
		(void)httpd_respond_error(rq, 405, "method not allowed (POST only)", NULL);
		return;
	}
	o = parse_body(rq);
	if (!o) {
		return;
	}
	flow = cJSON_GetObjectItemCaseSensitive(o, "flow");
	as = cJSON_GetObjectItemCaseSensitive(o, "as");
	if (!cJSON_IsString(flow) || !name_ok(flow->valuestring)) {
		(void)httpd_respond_error(rq, 400, "flow: must be a flow name", NULL);
	} else if (as && !cJSON_IsNull(as) && !(cJSON_IsString(as) && role_ok(as->valuestring))) {
		(void)httpd_respond_error(rq, 400, "as: must be \"from\", \"to\" or \"member\"",
					  NULL);
	} else {
		fn(ctx, rq, flow->valuestring, cJSON_IsString(as) ? as->valuestring : NULL);
	}
	cJSON_Delete(o);
}

int joinapi_answer(struct httpd_req *rq, int http_status, const char *flow, const char *result,
		   const char *message)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	int rc;

	if (o && cJSON_AddStringToObject(o, "flow", flow) &&
	    cJSON_AddStringToObject(o, "result", result) &&
	    cJSON_AddStringToObject(o, "message", message) &&
	    (http_status < 400 || cJSON_AddStringToObject(o, "error", message))) {
		text = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(o);
	if (!text) {
		return httpd_respond_error(rq, 503, "out of memory", NULL);
	}
	rc = httpd_respond(rq, http_status, "application/json", text, strlen(text), NULL);
	free(text);
	return rc;
}
