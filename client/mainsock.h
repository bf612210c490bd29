/* mainsock: the client's main UDP socket (PROTOCOL.md "Sockets and
 * demultiplexing"): everything to the server, the relay and peers goes out
 * of it. Also owns the one send queue of the daemon: datagrams for any of
 * the client's sockets are queued during a loop pass and flushed from one
 * ev_prepare (STYLE §6); on EAGAIN an EV_WRITE watcher waits for room. */
#ifndef WH_MAINSOCK_H
#define WH_MAINSOCK_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"
#include "common/udpio.h"

struct client_ini;
struct diag;
struct frame_addr;
struct mainsock;

/* Called for each datagram received on the main socket. buf is the shared
 * receive buffer: valid during the call only. */
typedef void mainsock_rx_fn(struct mainsock *ms, const uint8_t *buf, size_t len,
			    const struct sockaddr_storage *from, uint64_t now_us);

struct mainsock {
	struct ev_loop *loop; /* borrowed */
	int fd;		      /* owns; -1 when closed */
	struct sockaddr_storage local;
	ev_io rx_io;
	ev_io tx_io; /* started only while the queue waits for room */
	ev_prepare flush_prep;
	struct udpio_rx *rx;  /* borrowed: the daemon's shared receive buffers */
	struct udpio_txq txq; /* owns */
	mainsock_rx_fn *on_rx;
	uint64_t rx_packets;
	uint64_t rx_truncated;
	uint64_t rx_errors;
};

/* Open a non-blocking UDP socket for uplink (index into client.ini's
 * [uplink] sections; 0 is the main socket's): bound to its source address
 * (of its own family), else of family (the client's, struct client's
 * `family`) to its interface or to any address. Returns the fd or a
 * negative errno with d set. natcheck, xsock and uplink use it too. */
int mainsock_open_fd(const struct client_ini *ini, int family, size_t uplink, struct diag *d);

/* Open the socket (first [uplink] source or interface, else 0.0.0.0:0 of
 * ini->family) and the send queue; watchers are set up, not started.
 * Returns 0 or negative errno with d set. mainsock_fini is safe after a
 * failure. */
WH_MUST_CHECK int mainsock_init(struct mainsock *ms, struct ev_loop *loop,
				const struct client_ini *ini, struct udpio_rx *rx,
				mainsock_rx_fn *on_rx, struct diag *d);
void mainsock_start(struct mainsock *ms);
/* Open a new main socket of family and swap it in (its interface was
 * re-created: a socket bound to the old one sends nowhere; or the client's
 * family changed). Queued datagrams for the old one are dropped. On
 * failure (negative errno, d set) the old one stays. */
int mainsock_reopen(struct mainsock *ms, const struct client_ini *ini, int family, struct diag *d);
/* Stop the watchers, close the socket, free the queue. */
void mainsock_fini(struct mainsock *ms);
/* Send what is queued now, once, outside the loop (at exit); what meets a
 * full socket buffer stays queued. */
void mainsock_flush(struct mainsock *ms);

/* Queue a copy of data for fd -> dst (fd -1: the main socket). Returns 0,
 * -EMSGSIZE or -ENOBUFS (queue full; counted in txq.dropped_full). */
int mainsock_send(struct mainsock *ms, int fd, const struct sockaddr_storage *dst, const void *data,
		  size_t len);

/* A socket's local addresses for REGISTER, from its bound address local:
 * that address, or, when bound to the wildcard, the interface addresses of
 * its family (loopback aside) with its port; at most WIRE_ADDR_MAX. */
void mainsock_local_addrs(const struct sockaddr_storage *local, struct frame_addr *out, uint8_t *n);

/* Before closing fd: queued datagrams for it are dropped at the flush
 * instead of going out of whatever socket reuses the number. */
void mainsock_forget_fd(struct mainsock *ms, int fd);

#endif
