/* udpio: UDP sockets for the daemons — open and bind, receive in batches with
 * recvmmsg, queue sends during a loop iteration and flush them with sendmmsg
 * (STYLE §6, DESIGN §10). Buffers are allocated once at init; nothing is
 * allocated per packet. No libev here: the owner's watchers call these. */
#ifndef WH_UDPIO_H
#define WH_UDPIO_H

#include "common/compiler.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct diag;

#define UDPIO_BATCH 64	    /* datagrams per recvmmsg / sendmmsg call */
#define UDPIO_BUF_SIZE 2048 /* largest datagram handled (path MTU is below it) */
#define UDPIO_TXQ_DEFAULT 1024
/* Socket buffers asked for: bursts (a video frame is dozens of datagrams)
 * outrun the kernel's default ~208 KiB while the loop is busy elsewhere. */
#define UDPIO_SOCK_BUF (2 << 20)

/* Open a non-blocking UDP socket bound to addr (port 0 = any). ifname, when
 * not NULL, binds it to that device (SO_BINDTODEVICE). Returns the fd or a
 * negative errno, with d set to "bind 203.0.113.10:7400: Address already in use". */
int udpio_open(const struct sockaddr *addr, socklen_t len, const char *ifname, struct diag *d);

/* The address a socket is bound to. Returns 0 or negative errno. */
int udpio_local_addr(int fd, struct sockaddr_storage *out, socklen_t *len);

/* UDP GRO (Linux 5.0, UDP_GRO): the kernel may hand a socket that asked
 * for it a run of datagrams from one sender as one buffer, cut at gso_size
 * (the last one may be shorter), as a GSO send left it; the whole path
 * through the stack then costs one packet instead of dozens. A buffer that
 * can hold such a run must take a whole 64 KiB UDP payload. */
#define UDPIO_GRO_SLOT_SIZE 65536

/* One received datagram, as udpio_rx_next hands it out. data points into
 * the receive buffers and is valid until the next udpio_rx_batch on them. */
struct udpio_dgram {
	uint8_t *data;
	size_t len;
	const struct sockaddr_storage *from; /* borrowed, like data */
	bool is_truncated;		     /* larger than the slot: drop it */
};

struct udpio_rx {
	struct mmsghdr msgs[UDPIO_BATCH];
	struct iovec iov[UDPIO_BATCH];
	struct sockaddr_storage from[UDPIO_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[UDPIO_BATCH];
	uint8_t *bufs;	  /* owns: UDPIO_BATCH slots of slot_size bytes */
	size_t slot_size; /* UDPIO_BUF_SIZE, or UDPIO_GRO_SLOT_SIZE */
	/* The batch being handed out: messages [0, n_msgs), the next
	 * datagram at byte cur_off of message cur_msg. */
	int n_msgs;
	int cur_msg;
	size_t cur_off;
};

/* Allocate the receive buffers: slots of UDPIO_GRO_SLOT_SIZE when
 * is_gro (the sockets read through them may ask for UDP GRO), else of
 * UDPIO_BUF_SIZE. Returns 0 or -ENOMEM. */
int udpio_rx_init(struct udpio_rx *rx, bool is_gro);
void udpio_rx_fini(struct udpio_rx *rx);
/* Ask the kernel for UDP GRO on fd; only for sockets read through an rx
 * made with is_gro. Returns 0, or a negative errno (old kernel: each
 * datagram then simply arrives alone). */
int udpio_enable_gro(int fd);
/* Receive up to UDPIO_BATCH buffers from fd, each one datagram or (with
 * GRO) a run of them. Returns the number of buffers (0 when none is
 * waiting) or a negative errno; udpio_rx_next then hands out the
 * datagrams one by one, so callers never see a run. */
int udpio_rx_batch(struct udpio_rx *rx, int fd);
/* The next datagram of the last batch into *d; false when all were
 * handed out. Bounded: a batch holds at most UDPIO_BATCH slots of data. */
bool udpio_rx_next(struct udpio_rx *rx, struct udpio_dgram *d);

struct udpio_txq_entry {
	int fd;
	uint16_t len;
	socklen_t dst_len;
	struct sockaddr_storage dst;
	uint8_t data[UDPIO_BUF_SIZE];
};

struct udpio_txq {
	struct udpio_txq_entry *ents; /* owns: cap entries */
	size_t cap;
	size_t head;	       /* first queued */
	size_t n;	       /* queued */
	uint64_t dropped_full; /* pushes refused because the queue was full */
	uint64_t send_errors;  /* datagrams the kernel refused (other than EAGAIN) */
	/* Datagrams dropped because their socket had no room while other
	 * sockets' datagrams waited behind them. */
	uint64_t dropped_blocked;
	bool is_gso_off; /* the kernel refused UDP GSO: one datagram per message */
};

/* Allocate a queue of cap datagrams. Returns 0 or -ENOMEM. */
int udpio_txq_init(struct udpio_txq *q, size_t cap);
void udpio_txq_fini(struct udpio_txq *q);
/* Reserve the next entry to fill in place (data, len, dst, fd), or NULL when
 * the queue is full (counted in dropped_full). The entry is queued at once. */
struct udpio_txq_entry *udpio_txq_push(struct udpio_txq *q);
/* Queue a copy of data for fd -> dst. Returns 0, -EMSGSIZE or -ENOBUFS (full). */
int udpio_txq_send(struct udpio_txq *q, int fd, const struct sockaddr *dst, socklen_t dst_len,
		   const void *data, size_t len);
/* Send what is queued, in sendmmsg batches of consecutive entries for one fd.
 * Returns true when the queue is empty afterwards, false when a socket said
 * EAGAIN with nothing else queued behind its datagrams (the caller starts its
 * EV_WRITE watcher and calls again later). A socket without room never holds
 * back another's datagrams: its run at the head is dropped (dropped_blocked). */
bool udpio_txq_flush(struct udpio_txq *q);

#endif
