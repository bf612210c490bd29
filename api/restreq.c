/* restreq: answering one REST request: JSON bodies in and out, errors as
 * {"error": "..."}, and the commit of new routes.conf text through the
 * server's own reload path. Runs on the loop thread only. */
#include "api/restreq.h"

#include "api/httpd.h"
#include "api/jsonbody.h"
#include "common/diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void restreq_json(struct restreq *r, int status, cJSON *body, const char *etag)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;

	cJSON_Delete(body);
	if (!text) {
		(void)httpd_respond_error(r->rq, 503, "out of memory", etag);
		return;
	}
	(void)httpd_respond(r->rq, status, "application/json", text, strlen(text), etag);
	free(text);
}

void restreq_error(struct restreq *r, int status, const char *fmt, ...)
{
	char msg[DIAG_MSG_MAX + DIAG_FILE_MAX + 32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)httpd_respond_error(r->rq, status, msg, r->etag);
}

cJSON *restreq_body(struct restreq *r)
{
	char why[JSONBODY_WHY_MAX];
	cJSON *o = jsonbody_object(r->rq->body, r->rq->body_len, why);

	if (!o) {
		restreq_error(r, 400, "%s", why);
	}
	return o;
}

const struct routes *restreq_disk(struct restreq *r, char *msg, size_t msg_len)
{
	struct diag d;

	if (!r->disk) {
		diag_clear(&d);
		/* Named, so that the answer says where: routes.conf:31: ... */
		r->disk = routes_parse_text(r->text, r->len, "routes.conf", NULL, false, &d);
		if (!r->disk) {
			diag_format(&d, msg, msg_len);
		}
	}
	return r->disk;
}

void restreq_fini(struct restreq *r)
{
	routes_free(r->disk);
	r->disk = NULL;
	free(r->text);
	r->text = NULL;
}

bool restreq_commit(struct restreq *r, const char *text, size_t len, char etag[RESTAPI_ETAG_MAX])
{
	struct diag d;
	char line[DIAG_MSG_MAX + DIAG_FILE_MAX + 32];
	int err;

	diag_clear(&d);
	err = r->api->ops->commit(r->api->ctx, text, len, &d);
	if (err == -EINVAL || err == -EBUSY || err == -EEXIST) {
		restreq_error(r, 400, "%s", diag_format(&d, line, sizeof(line)));
		return false;
	}
	if (err == -ESTALE) { /* a hand edit landed while this one was made */
		restreq_error(r, 412, "%s", diag_format(&d, line, sizeof(line)));
		return false;
	}
	if (err != 0) {
		restreq_error(r, 500, "%s",
			      d.is_set ? diag_format(&d, line, sizeof(line)) : strerror(-err));
		return false;
	}
	restapi_etag(text, len, etag);
	return true;
}
