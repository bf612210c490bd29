/* flowrole: who sends what to whom in a flow (DESIGN §4, PROTOCOL.md "Flow
 * datagrams"), decided from one ROUTE frame and this client's id. Pure: no
 * sockets, no sessions, so it is unit-tested on its own. Data from a source
 * goes to every sink; a sink's reply goes back only to the source it
 * answers. 1:1, 1:N, N:1 and N:N (every member both) all follow. */
#ifndef WH_FLOWROLE_H
#define WH_FLOWROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"
#include "proto/wire_const.h"

/* The largest payload one DATAGRAM frame carries in one sealed packet:
 * plaintext minus the frame header and flow_id u32 | flags u8 | seq u32. */
#define FLOWROLE_PAYLOAD_MAX (WIRE_MAX_PLAINTEXT - WIRE_FRAME_HEADER_LEN - 9)

enum flowrole_verdict {
	FLOWROLE_DELIVER = 0,	  /* to our delivery target, from the sender's socket */
	FLOWROLE_REPLY,		  /* to our app's last address, from the listen socket */
	FLOWROLE_DROP_NOT_MEMBER, /* the sender is not in the flow */
	FLOWROLE_DROP_NOT_SINK,	  /* data, but we are no sink or it is no source */
	FLOWROLE_DROP_NOT_SOURCE, /* a reply, but we are no source or it is no sink */
};

/* Roles of self in r (FRAME_ROLE_*; 0 when not a member). */
uint8_t flowrole_self(const struct frame_route *r, const char *self);
/* Does self listen on 127.1.0.1 for r? (a source with a listen port) */
bool flowrole_listens(const struct frame_route *r, const char *self);
/* Does self deliver for r? (a sink with a delivery address) */
bool flowrole_delivers(const struct frame_route *r, const char *self);
/* Member i of r is a remote source self delivers for: it gets its own
 * sending socket on 127.1.0.1. */
bool flowrole_is_remote_source(const struct frame_route *r, const char *self, size_t i);
/* Member i of r receives what self's app sends: a sink other than self. */
bool flowrole_is_remote_sink(const struct frame_route *r, const char *self, size_t i);
/* What to do with a DATAGRAM from sender with flags. */
enum flowrole_verdict flowrole_on_datagram(const struct frame_route *r, const char *self,
					   const char *sender, uint8_t flags);
/* The largest payload r accepts: its mtu, capped by one sealed packet. */
size_t flowrole_payload_max(const struct frame_route *r);

#endif
