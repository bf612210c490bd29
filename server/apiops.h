/* apiops: the server's side of the REST API: the table of operations
 * api/restapi calls (DESIGN §2: api/ never sees server structs), and the
 * API's start and stop. */
#ifndef WH_APIOPS_H
#define WH_APIOPS_H

#include <stddef.h>

struct server;
struct diag;

/* Serve the REST API on the routes' server.api.listen, when server.api has
 * at least one token (without one nobody could use it, so the port is not
 * taken). Returns 0 or negative errno with d set
 * ("server.api.listen 127.0.0.1:7480: ..."). */
int apiops_start(struct server *srv, struct diag *d);
/* Stop serving (joins the HTTP threads). Safe when never started. */
void apiops_stop(struct server *srv);

/* The one write-back path (REST edits and FLOW_JOIN): validate text as
 * routes.conf like a reload, replace routes.conf atomically keeping the
 * previous version as a backup, then apply the change live. text must be
 * made from the last reload_read_base of srv->reload (the API's read_text
 * and FLOW_JOIN read that way): routes.conf is replaced only while it
 * still holds that version. Returns 0; -EINVAL/-EBUSY/-EEXIST (text
 * refused, d says why, nothing changed); -ESTALE (routes.conf changed
 * since that read, a hand edit: d says so, nothing changed); -EIO
 * (routes.conf could not be read or written, d says why, nothing changed);
 * -ENOMEM (the file is put back, nothing changed). */
int apiops_commit(struct server *srv, const char *text, size_t len, struct diag *d);

/* The kind of the path between clients a and b as the server knows it:
 * "relay" (the only kind until punching lands, issue #6). */
const char *apiops_path_kind(const struct server *srv, const char *a, const char *b);

#endif
