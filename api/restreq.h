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
	char *text; /* owns: routes.conf as on disk when the request came; NULL
		     * when it cannot be read (reads only: writes are refused) */
	size_t len;
	struct routes *disk;	     /* owns: text parsed (restreq_disk), NULL until then */
	char etag[RESTAPI_ETAG_MAX]; /* "" when text is NULL: no ETag */
	const char *seg[6];	     /* path segments after /api/v1 */
	size_t n_seg;
};

/* Answer with JSON (takes and frees body, which may be NULL: 503). */
void restreq_json(struct restreq *r, int status, cJSON *body, const char *etag);
void restreq_error(struct restreq *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Parse the request body as a JSON object; on failure answers 400 and
 * returns NULL. */
cJSON *restreq_body(struct restreq *r);
/* r->text parsed and validated like a saved file (without reading the key
 * file), once per request: what an edit starts from, which may differ from
 * the running configuration (a hand edit not yet applied, or refused).
 * NULL when it does not load, with the validator's one-line error in msg;
 * nothing is answered. */
const struct routes *restreq_disk(struct restreq *r, char *msg, size_t msg_len);
/* Free what the request owns (text, disk). */
void restreq_fini(struct restreq *r);
/* Commit new routes.conf text; answers the error itself and returns false,
 * or returns true with the new ETag in etag (the caller answers). */
bool restreq_commit(struct restreq *r, const char *text, size_t len, char etag[RESTAPI_ETAG_MAX]);

#endif
