/* connhs: the server's side of session handshakes: initiations (cookies
 * under load, rate limit, Noise IK, stamps) and the replies to the server's
 * own rekeys. Part of conn.c (uses struct conn; counts drops in its stats). */
#ifndef WH_CONNHS_H
#define WH_CONNHS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/demux.h"

struct conn;
struct listener_sock;

/* An initiation (demux checked its size) from `from` on sock: answered with
 * a response, a cookie reply, or dropped and counted. */
void connhs_on_initiation(struct conn *cn, struct listener_sock *sock, const uint8_t *buf,
			  size_t len, const struct sockaddr *from, uint64_t now_us);
/* A response (kind DEMUX_RESPONSE) or cookie reply (DEMUX_COOKIE_REPLY) to
 * an initiation the server sent. */
void connhs_on_reply(struct conn *cn, enum demux_kind kind, const uint8_t *buf, size_t len,
		     const struct sockaddr *from, uint64_t now_us);

#endif
