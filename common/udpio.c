/* udpio: batched UDP I/O for both daemons (DESIGN §10). Sockets are
 * non-blocking; sends queue up during a loop pass and leave in sendmmsg
 * batches from the owner's ev_prepare watcher (STYLE §6). */
#include "udpio.h"

#include "common/addr.h"
#include "common/diag.h"
#include "common/log.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
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

/* IPv4: send with DF clear (IP_PMTUDISC_DONT), as kernel tunnels such as
 * WireGuard do. A router in the middle whose next link is narrower than our
 * 1480-byte packets then fragments them instead of dropping them with an
 * ICMP "fragmentation needed" that many networks filter: a black hole for
 * every full-size packet (stream segments, large datagrams) while small ones
 * (pings, acks) pass and the path looks alive. The kernel still fragments
 * locally what exceeds the local link's MTU. IPv6 routers never fragment, so
 * IPv6 sockets keep the default. A failure only leaves the default. */
static void clear_df(int fd, int family)
{
	int val = IP_PMTUDISC_DONT;

	if (family == AF_INET) {
		(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &val, sizeof(val));
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
	clear_df(fd, addr->sa_family);
	/* IPv6 only: a "[::]" socket would otherwise take IPv4 too, and its
	 * peers would show as ::ffff:a.b.c.d (a STUN answer with an IPv6
	 * mapped address to an IPv4 client, a NAT class from it, punch
	 * candidates no IPv4 socket can reach). IPv4 has sockets of its own. */
	if (addr->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){1}, sizeof(int)) != 0) {
		err = -errno;
		diag_set(d, NULL, 0, "IPV6_V6ONLY: %s", strerror(errno));
		close(fd);
		return err;
	}
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

int udpio_rx_init(struct udpio_rx *rx, bool is_gro)
{
	memset(rx, 0, sizeof(*rx));
	rx->slot_size = is_gro ? UDPIO_GRO_SLOT_SIZE : UDPIO_BUF_SIZE;
	rx->bufs = calloc(UDPIO_BATCH, rx->slot_size);
	return rx->bufs ? 0 : -ENOMEM;
}

void udpio_rx_fini(struct udpio_rx *rx)
{
	free(rx->bufs);
	rx->bufs = NULL;
}

int udpio_enable_gro(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0 ? 0 : -errno;
}

int udpio_rx_batch(struct udpio_rx *rx, int fd)
{
	int n;

	for (size_t i = 0; i < UDPIO_BATCH; i++) {
		struct msghdr *h = &rx->msgs[i].msg_hdr;

		rx->iov[i].iov_base = rx->bufs + i * rx->slot_size;
		rx->iov[i].iov_len = rx->slot_size;
		memset(h, 0, sizeof(*h));
		h->msg_name = &rx->from[i];
		h->msg_namelen = sizeof(rx->from[i]);
		h->msg_iov = &rx->iov[i];
		h->msg_iovlen = 1;
		h->msg_control = rx->ctl[i].buf;
		h->msg_controllen = sizeof(rx->ctl[i].buf);
		rx->msgs[i].msg_len = 0;
	}
	rx->n_msgs = 0;
	rx->cur_msg = 0;
	rx->cur_off = 0;
	do {
		n = recvmmsg(fd, rx->msgs, UDPIO_BATCH, MSG_DONTWAIT, NULL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
	}
	rx->n_msgs = n;
	return n;
}

/* The segment size of a GRO run (the UDP_GRO control message), or 0 when
 * the buffer is one datagram. */
static size_t gro_size(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		int seg;

		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(seg))) {
			continue;
		}
		memcpy(&seg, CMSG_DATA(c), sizeof(seg));
		return seg > 0 ? (size_t)seg : 0;
	}
	return 0;
}

bool udpio_rx_next(struct udpio_rx *rx, struct udpio_dgram *d)
{
	while (rx->cur_msg < rx->n_msgs) {
		struct mmsghdr *m = &rx->msgs[rx->cur_msg];
		size_t len = m->msg_len;
		size_t seg = gro_size(&m->msg_hdr);

		if (rx->cur_off >= len && !(rx->cur_off == 0 && len == 0)) {
			rx->cur_msg++; /* this buffer is used up */
			rx->cur_off = 0;
			continue;
		}
		d->data = rx->bufs + (size_t)rx->cur_msg * rx->slot_size + rx->cur_off;
		d->from = &rx->from[rx->cur_msg];
		d->is_truncated = (m->msg_hdr.msg_flags & MSG_TRUNC) != 0;
		/* A run is cut every seg bytes, the last datagram may be shorter;
		 * a truncated run cannot be cut safely and goes whole. */
		d->len = len - rx->cur_off;
		if (seg > 0 && !d->is_truncated && d->len > seg) {
			d->len = seg;
		}
		rx->cur_off += d->len;
		if (d->len == 0) {
			rx->cur_msg++; /* an empty datagram: handed out once */
			rx->cur_off = 0;
		}
		return true;
	}
	return false;
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

/* UDP GSO (Linux 4.18, UDP_SEGMENT): consecutive datagrams of one size to
 * one address leave in one send, and cross the stack as one buffer until
 * the device (or the receiving socket) cuts them; a stream's segments are
 * such runs. The last one may be shorter. Kernel limits: 64 segments and a
 * 64 KiB payload. */
#define GSO_SEGS_MAX 64
#define GSO_BYTES_MAX 65000

static bool same_dst(const struct udpio_txq_entry *a, const struct udpio_txq_entry *b)
{
	return a->dst_len == b->dst_len && memcmp(&a->dst, &b->dst, a->dst_len) == 0;
}

/* How many entries from index k of the run (k < q->n) go in one message. */
static size_t gso_group(const struct udpio_txq *q, size_t k, int fd)
{
	const struct udpio_txq_entry *first = &q->ents[(q->head + k) % q->cap];
	size_t n = 1, bytes = first->len;

	if (q->is_gso_off) {
		return 1;
	}
	while (k + n < q->n && n < GSO_SEGS_MAX) {
		const struct udpio_txq_entry *e = &q->ents[(q->head + k + n) % q->cap];

		if (e->fd != fd || e->len > first->len || !same_dst(first, e) ||
		    bytes + e->len > GSO_BYTES_MAX) {
			break;
		}
		bytes += e->len;
		n++;
		if (e->len < first->len) {
			break; /* a shorter one ends the group */
		}
	}
	return n;
}

/* Linux (udp_send_skb) refuses a GSO send itself with EINVAL (too many
 * segments, checksums off; older kernels also for segments too big), EIO (a
 * device that cannot checksum, or xfrm) or EMSGSIZE (newer kernels: a
 * segment does not fit the path MTU, e.g. a modem link of 1400 bytes, where
 * one datagram alone would be fragmented and go through). Other errors are
 * about the destination or the route (EACCES, ENETUNREACH while an uplink's
 * interface is down...) and say nothing about GSO. */
static bool is_gso_refusal(int err)
{
	return err == EINVAL || err == EIO || err == EMSGSIZE;
}

/* A sendmmsg batch: messages, their datagrams and UDP_SEGMENT cmsgs. */
struct tx_batch {
	struct mmsghdr msgs[UDPIO_BATCH];
	struct iovec iov[UDPIO_BATCH * GSO_SEGS_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[UDPIO_BATCH];
	size_t per_msg[UDPIO_BATCH]; /* entries in each message */
	size_t m;		     /* messages */
};

/* Message m is a GSO send of segments of seg bytes. */
static void set_segment(struct tx_batch *b, size_t m, uint16_t seg)
{
	struct msghdr *h = &b->msgs[m].msg_hdr;
	struct cmsghdr *c;

	/* Whole buffer zeroed: the kernel (and valgrind) reads the cmsg
	 * padding too. */
	memset(b->ctl[m].buf, 0, sizeof(b->ctl[m].buf));
	h->msg_control = b->ctl[m].buf;
	h->msg_controllen = sizeof(b->ctl[m].buf);
	c = CMSG_FIRSTHDR(h);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
}

/* Up to UDPIO_BATCH messages of the queued entries at the head that share fd. */
static void fill_batch(struct udpio_txq *q, int fd, struct tx_batch *b)
{
	size_t k = 0, v = 0;

	memset(b->msgs, 0, sizeof(b->msgs));
	b->m = 0;
	while (b->m < UDPIO_BATCH && k < q->n) {
		struct udpio_txq_entry *e = &q->ents[(q->head + k) % q->cap];
		struct msghdr *h = &b->msgs[b->m].msg_hdr;
		size_t g;

		if (e->fd != fd) {
			break;
		}
		g = gso_group(q, k, fd);
		h->msg_name = &e->dst;
		h->msg_namelen = e->dst_len;
		h->msg_iov = &b->iov[v];
		h->msg_iovlen = g;
		for (size_t i = 0; i < g; i++) {
			struct udpio_txq_entry *s = &q->ents[(q->head + k + i) % q->cap];

			b->iov[v].iov_base = s->data;
			b->iov[v].iov_len = s->len;
			v++;
		}
		if (g > 1) {
			set_segment(b, b->m, e->len);
		}
		b->per_msg[b->m++] = g;
		k += g;
	}
}

/* Send up to UDPIO_BATCH messages of queued entries that share the first
 * one's fd. Returns how many entries left the queue, or -EAGAIN. */
static int flush_run(struct udpio_txq *q)
{
	struct tx_batch b;
	int fd = q->ents[q->head].fd;
	size_t k = 0;
	int n, err;

	fill_batch(q, fd, &b);
	do {
		n = sendmmsg(fd, b.msgs, (unsigned)b.m, 0);
	} while (n < 0 && errno == EINTR);
	err = n < 0 ? errno : 0;
	if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)) {
		return -EAGAIN;
	}
	if (n <= 0 && b.per_msg[0] > 1 && !q->is_gso_off && is_gso_refusal(err)) {
		/* No GSO here (a device without checksum offload, a path
		 * MTU below our datagrams): send one datagram per message
		 * from now on (the kernel fragments those that need it). */
		q->is_gso_off = true;
		log_info("udp: the kernel refused a segmented send (%s); sending one datagram at a "
			 "time from now on",
			 strerror(err));
		return 0;
	}
	if (n <= 0) {
		/* The first message was refused (unreachable, down, too big...):
		 * drop it, all its datagrams (one fd, one destination), go on. */
		q->send_errors += b.per_msg[0];
		return (int)b.per_msg[0];
	}
	for (int i = 0; i < n; i++) {
		k += b.per_msg[i];
	}
	return (int)k;
}

/* Entries at the head that share its fd. */
static size_t head_run(const struct udpio_txq *q)
{
	int fd = q->ents[q->head].fd;
	size_t k = 1;

	while (k < q->n && q->ents[(q->head + k) % q->cap].fd == fd) {
		k++;
	}
	return k;
}

bool udpio_txq_flush(struct udpio_txq *q)
{
	/* Bounded: each round removes at least one entry, or turns GSO off
	 * (once). */
	while (q->n > 0) {
		int n = flush_run(q);
		if (n == -EAGAIN) {
			size_t run = head_run(q);

			if (run == q->n) {
				return false; /* only this socket waits: wait for room */
			}
			/* Other sockets' datagrams wait behind one without room
			 * (an uplink whose link is down fills its buffer): drop
			 * its run rather than hold everything. */
			q->dropped_blocked += run;
			n = (int)run;
		}
		q->head = (q->head + (size_t)n) % q->cap;
		q->n -= (size_t)n;
	}
	q->head = 0;
	return true;
}
