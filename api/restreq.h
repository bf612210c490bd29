/* restreq: what the REST API's files share about one request being served:
 * the API itself, the request, routes.conf as read for it and its ETag.
 * Internal to api/ (restapi.c reads, restedit.c writes, metrics.c). */
#ifndef WH_RESTREQ_H
#define WH_RESTREQ_H

#include "api/restapi.h"

#include <cjson/cJSON.h>

struct httpd_req;

struct restapi {
	struct ev_loop *loop;
	struct httpd *httpd; /* owns */
	const struct restapi_ops *ops;
	void *ctx;
};

struct restreq {
	struct restapi *api;
	struct httpd_req *rq;
	char *text; /* owns: routes.conf as on disk when the request came */
	size_t len;
	char etag[RESTAPI_ETAG_MAX];
	const char *seg[6]; /* path segments after /api/v1 */
	size_t n_seg;
};

/* Answer with JSON (takes and frees body, which may be NULL: 503). */
void restreq_json(struct restreq *r, int status, cJSON *body, const char *etag);
void restreq_error(struct restreq *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Parse the request body as a JSON object; on failure answers 400 and
 * returns NULL. */
cJSON *restreq_body(struct restreq *r);
/* Commit new routes.conf text; answers the error itself and returns false,
 * or returns true with the new ETag in etag (the caller answers). */
bool restreq_commit(struct restreq *r, const char *text, size_t len, char etag[RESTAPI_ETAG_MAX]);

#endif
