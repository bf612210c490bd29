/* udpio: batched UDP I/O for both daemons (DESIGN §10). Sockets are
 * non-blocking; sends queue up during a loop pass and leave in sendmmsg
 * batches from the owner's ev_prepare watcher (STYLE §6). */
#include "udpio.h"

#include "common/addr.h"
#include "common/diag.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Ask for UDPIO_SOCK_BUF: the *FORCE options pass net.core.[rw]mem_max when
 * we may (CAP_NET_ADMIN); else the plain ones give what the limit allows.
 * Either way a failure only leaves the default, so it is not an error. */
static void size_buffers(int fd)
{
	int size = UDPIO_SOCK_BUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
}

int udpio_open(const struct sockaddr *addr, socklen_t len, const char *ifname, struct diag *d)
{
	char text[ADDR_TEXT_MAX];
	int fd, err;

	fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		diag_set(d, NULL, 0, "socket: %s", strerror(errno));
		return err;
	}
	if (ifname &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) != 0) {
		err = -errno;
		diag_set(d, NULL, 0, "bind to device %s: %s", ifname, strerror(errno));
		close(fd);
		return err;
	}
	size_buffers(fd);
	if (bind(fd, addr, len) != 0) {
		err = -errno;
		diag_set(d, NULL, 0, "bind %s: %s", addr_format(addr, text, sizeof(text)),
			 strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

int udpio_local_addr(int fd, struct sockaddr_storage *out, socklen_t *len)
{
	*len = sizeof(*out);
	if (getsockname(fd, (struct sockaddr *)out, len) != 0) {
		return -errno;
	}
	return 0;
}

int udpio_rx_init(struct udpio_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->bufs = calloc(UDPIO_BATCH, UDPIO_BUF_SIZE);
	return rx->bufs ? 0 : -ENOMEM;
}

void udpio_rx_fini(struct udpio_rx *rx)
{
	free(rx->bufs);
	rx->bufs = NULL;
}

int udpio_rx_batch(struct udpio_rx *rx, int fd)
{
	int n;

	for (size_t i = 0; i < UDPIO_BATCH; i++) {
		rx->iov[i].iov_base = rx->bufs[i];
		rx->iov[i].iov_len = UDPIO_BUF_SIZE;
		memset(&rx->msgs[i].msg_hdr, 0, sizeof(rx->msgs[i].msg_hdr));
		rx->msgs[i].msg_hdr.msg_name = &rx->from[i];
		rx->msgs[i].msg_hdr.msg_namelen = sizeof(rx->from[i]);
		rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
		rx->msgs[i].msg_hdr.msg_iovlen = 1;
		rx->msgs[i].msg_len = 0;
	}
	do {
		n = recvmmsg(fd, rx->msgs, UDPIO_BATCH, MSG_DONTWAIT, NULL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
	}
	return n;
}

int udpio_txq_init(struct udpio_txq *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	q->ents = calloc(cap, sizeof(*q->ents));
	if (!q->ents) {
		return -ENOMEM;
	}
	q->cap = cap;
	return 0;
}

void udpio_txq_fini(struct udpio_txq *q)
{
	free(q->ents);
	memset(q, 0, sizeof(*q));
}

struct udpio_txq_entry *udpio_txq_push(struct udpio_txq *q)
{
	struct udpio_txq_entry *e;

	if (q->n == q->cap) {
		q->dropped_full++;
		return NULL;
	}
	e = &q->ents[(q->head + q->n) % q->cap];
	q->n++;
	return e;
}

int udpio_txq_send(struct udpio_txq *q, int fd, const struct sockaddr *dst, socklen_t dst_len,
		   const void *data, size_t len)
{
	struct udpio_txq_entry *e;

	if (len > UDPIO_BUF_SIZE || dst_len > sizeof(e->dst)) {
		return -EMSGSIZE;
	}
	e = udpio_txq_push(q);
	if (!e) {
		return -ENOBUFS;
	}
	e->fd = fd;
	e->len = (uint16_t)len;
	e->dst_len = dst_len;
	memcpy(&e->dst, dst, dst_len);
	memcpy(e->data, data, len);
	return 0;
}

/* Send up to UDPIO_BATCH queued entries that share the first one's fd.
 * Returns how many left the queue, or -EAGAIN. */
static int flush_run(struct udpio_txq *q)
{
	struct mmsghdr msgs[UDPIO_BATCH];
	struct iovec iov[UDPIO_BATCH];
	int fd = q->ents[q->head].fd;
	size_t k = 0;
	int n;

	memset(msgs, 0, sizeof(msgs));
	while (k < UDPIO_BATCH && k < q->n) {
		struct udpio_txq_entry *e = &q->ents[(q->head + k) % q->cap];
		if (e->fd != fd) {
			break;
		}
		iov[k].iov_base = e->data;
		iov[k].iov_len = e->len;
		msgs[k].msg_hdr.msg_name = &e->dst;
		msgs[k].msg_hdr.msg_namelen = e->dst_len;
		msgs[k].msg_hdr.msg_iov = &iov[k];
		msgs[k].msg_hdr.msg_iovlen = 1;
		k++;
	}
	do {
		n = sendmmsg(fd, msgs, (unsigned)k, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
		return -EAGAIN;
	}
	if (n <= 0) {
		/* The first datagram was refused (unreachable, too big...): drop it, go on. */
		q->send_errors++;
		n = 1;
	}
	return n;
}

bool udpio_txq_flush(struct udpio_txq *q)
{
	/* Bounded: each round removes at least one entry. */
	while (q->n > 0) {
		int n = flush_run(q);
		if (n == -EAGAIN) {
			return false;
		}
		q->head = (q->head + (size_t)n) % q->cap;
		q->n -= (size_t)n;
	}
	q->head = 0;
	return true;
}
