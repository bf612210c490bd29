/* inbound: what arrives on the main socket, dispatched by message type
 * (PROTOCOL.md "Sockets and demultiplexing"): handshakes and transport
 * packets go to the server connection or the peer that owns the receiver
 * index; initiations to the peer whose relay address sent them; STUN
 * answers to natwatch. */
#ifndef WH_INBOUND_H
#define WH_INBOUND_H

#include "client/mainsock.h"

struct client;

/* The main socket's mainsock_rx_fn (ms is the one embedded in struct client). */
void inbound_on_datagram(struct mainsock *ms, const uint8_t *buf, size_t len,
			 const struct sockaddr_storage *from, uint64_t now_us);
/* A datagram that arrived on socket fd (-1: the main socket; else an extra
 * socket, xsock.h). */
void inbound_dispatch(struct client *cl, int fd, const uint8_t *buf, size_t len,
		      const struct sockaddr_storage *from, uint64_t now_us);

#endif
