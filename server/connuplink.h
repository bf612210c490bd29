/* connuplink: the server's side of a client's uplinks (PROTOCOL.md
 * "Multipath (server)"): a packet's REGISTER read before its frames, which
 * uplink it came from (the main address, or a secondary uplink by its
 * REGISTER or its noted address), noting secondary uplinks and dropping the
 * silent ones. Part of conn.c (uses struct conn); sets cn->uplinks_changed
 * when a client's set of uplinks changed (conn pushes route sets then). */
#ifndef WH_CONNUPLINK_H
#define WH_CONNUPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/frame.h"
#include "server/registry.h"

struct conn;
struct listener_sock;

/* cn->rx_uplink of a packet from the main address (not a secondary uplink). */
#define CONN_RX_MAIN REGISTRY_UPLINK_NONE

/* What a packet's REGISTER frame says, read before its frames are handled. */
struct connuplink_peek {
	bool has_reg;
	struct frame_register reg; /* the first REGISTER */
};

/* Read the REGISTER (if any) of the decrypted packet in cn->rx_pt. */
void connuplink_peek(struct conn *cn, size_t len, struct connuplink_peek *pk);
/* Which of c's uplinks sent it: CONN_RX_MAIN, or a secondary uplink's id.
 * is_fresh: the first packet of a new session. */
unsigned connuplink_classify(struct conn *cn, struct registry_client *c,
			     const struct listener_sock *sock, const struct sockaddr *from,
			     const struct connuplink_peek *pk, bool is_fresh);
/* Note a packet of secondary uplink u; logs when it appears or moves. */
void connuplink_note(struct conn *cn, struct registry_client *c, unsigned u,
		     const struct listener_sock *sock, const struct sockaddr *from,
		     const struct connuplink_peek *pk, uint64_t now_us);
/* Drop c's secondary uplinks silent for CONN_OFFLINE_INTERVALS keepalive
 * intervals. */
void connuplink_expire(struct conn *cn, struct registry_client *c, uint64_t now_us);

#endif
