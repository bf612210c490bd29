/* xsock: an extra UDP socket of the client besides the main one — opened
 * only while punching a symmetric NAT (DESIGN §3: "Extra sockets exist
 * only while punching a symmetric NAT"), and the one kept when it wins.
 * Bound like its uplink's socket; what it receives goes through
 * the same inbound path, tagged with its fd. */
#ifndef WH_XSOCK_H
#define WH_XSOCK_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

struct client;
struct diag;

struct xsock {
	struct client *cl; /* borrowed */
	int fd;		   /* owns */
	ev_io io;
	bool *alive; /* set while its receive callback runs: cleared on close */
};

/* Open and start one, bound like uplink's socket. Returns NULL with d set
 * (or -ENOMEM). */
struct xsock *xsock_open(struct client *cl, uint8_t uplink, struct diag *d);
/* Stop, drop its queued datagrams, close and free. NULL is a no-op. */
void xsock_close(struct xsock *xs);

#endif
