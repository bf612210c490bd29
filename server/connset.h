/* connset: route-set delivery to clients (PROTOCOL.md "Route sets"): a new
 * generation when what a client's set holds changed, the same one again
 * every CONN_SET_RESEND_US until the client acks it, and the acks. A set
 * left unacked goes again by every uplink of the client, not only the
 * session's: that uplink may have died with its interface up (coverage
 * lost), and with no peer session to notice, the client would learn it only
 * from its keepalive, up to keepalive_s + 3 s later. The copy by another
 * uplink brings it the set at once and tells it to check its session's
 * uplink (PROTOCOL.md "Multipath" 2.). Part of conn.c (uses struct conn). */
#ifndef WH_CONNSET_H
#define WH_CONNSET_H

#include <stdbool.h>
#include <stdint.h>

struct conn;
struct frame;
struct registry_client;

/* Send c its route set (nothing while c is offline): a new generation when
 * its content changed; the same one again when forced, or (by every uplink)
 * when unacked for CONN_SET_RESEND_US. */
void connset_push(struct conn *cn, struct registry_client *c, uint64_t now_us, bool force);
/* connset_push, unforced, for every client. */
void connset_push_all(struct conn *cn, uint64_t now_us);
/* c's SYNC ack (f): the newest set is acked, or the ack is stale (counted). */
void connset_on_ack(struct conn *cn, struct registry_client *c, const struct frame *f);
/* Resend c's set when unacked for CONN_SET_RESEND_US (the session tick). */
void connset_tick(struct conn *cn, struct registry_client *c, uint64_t now_us);

#endif
