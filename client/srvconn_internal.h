/* srvconn_internal: what srvconn.c shares with its other part, srvframes.c
 * (the frames the server sends). Not for other modules. */
#ifndef WH_SRVCONN_INTERNAL_H
#define WH_SRVCONN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

struct client;

/* A fresh session (the old one, if any, is dropped with its indices; the
 * route set taken in so far too). Returns 0 or -ENOMEM. */
int srvconn_new_session(struct client *cl);
/* Move the timer only when the deadline comes earlier than it is set for,
 * or when it fired (armed_us UINT64_MAX): never per packet otherwise. */
void srvconn_rearm(struct client *cl, uint64_t now_us, bool fired);

#endif
