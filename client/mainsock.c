/* mainsock: the client's one socket towards the network, with batched
 * receive and the daemon's send queue (STYLE §6, DESIGN §3, §10). Knows
 * nothing of sessions or frames: datagrams go to the on_rx handler. */
#include "mainsock.h"

#include "common/addr.h"
#include "common/compiler.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"
#include "config/client_ini.h"
#include "proto/frame.h"
#include "proto/frameaddr.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static void flush(struct mainsock *ms)
{
	int fd;

	if (ms->txq.n == 0) {
		return;
	}
	if (udpio_txq_flush(&ms->txq)) {
		ev_io_stop(ms->loop, &ms->tx_io);
		return;
	}
	/* The entry at the head met EAGAIN: wait until its socket has room. */
	fd = ms->txq.ents[ms->txq.head].fd;
	if (ev_is_active(&ms->tx_io) && ms->tx_io.fd == fd) {
		return;
	}
	ev_io_stop(ms->loop, &ms->tx_io);
	ev_io_set(&ms->tx_io, fd, EV_WRITE);
	ev_io_start(ms->loop, &ms->tx_io);
}

void mainsock_flush(struct mainsock *ms)
{
	(void)udpio_txq_flush(&ms->txq);
}

static void flush_prep_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	flush(container_of(w, struct mainsock, flush_prep));
}

static void writable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	flush(container_of(w, struct mainsock, tx_io));
}

static void readable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mainsock *ms = container_of(w, struct mainsock, rx_io);
	uint64_t now_us = monotime_now_us();
	struct udpio_dgram d;

	(void)loop;
	(void)revents;
	/* One bounded batch per callback (STYLE §6). */
	if (udpio_rx_batch(ms->rx, ms->fd) < 0) {
		ms->rx_errors++;
		return;
	}
	while (udpio_rx_next(ms->rx, &d)) {
		if (d.is_truncated) {
			ms->rx_truncated++;
			continue;
		}
		ms->rx_packets++;
		ms->on_rx(ms, d.data, d.len, d.from, now_us);
	}
}

int mainsock_open_fd(const struct client_ini *ini, int family, size_t uplink, struct diag *d)
{
	struct sockaddr_storage bind_addr;
	const char *ifname = NULL;

	memset(&bind_addr, 0, sizeof(bind_addr));
	bind_addr.ss_family = (sa_family_t)family;
	if (uplink < ini->n_uplinks && !ini->uplinks[uplink].has_interface) {
		bind_addr = ini->uplinks[uplink].source;
	} else if (uplink < ini->n_uplinks) {
		ifname = ini->uplinks[uplink].interface;
	}
	addr_set_port(&bind_addr, 0);
	return udpio_open((struct sockaddr *)&bind_addr, addr_len(&bind_addr), ifname, d);
}

int mainsock_init(struct mainsock *ms, struct ev_loop *loop, const struct client_ini *ini,
		  struct udpio_rx *rx, mainsock_rx_fn *on_rx, struct diag *d)
{
	socklen_t len = sizeof(ms->local);
	char text[ADDR_TEXT_MAX];
	int rc;

	memset(ms, 0, sizeof(*ms));
	ms->fd = -1;
	ms->loop = loop;
	ms->rx = rx;
	ms->on_rx = on_rx;
	ev_prepare_init(&ms->flush_prep, flush_prep_cb);
	ev_io_init(&ms->tx_io, writable_cb, -1, EV_WRITE);
	rc = udpio_txq_init(&ms->txq, UDPIO_TXQ_DEFAULT);
	if (rc != 0) {
		diag_set(d, NULL, 0, "out of memory for the send queue");
		return rc;
	}
	rc = mainsock_open_fd(ini, ini->family, 0, d);
	if (rc < 0) {
		return rc;
	}
	ms->fd = rc;
	/* Peers' GSO runs arrive whole (rx is a GRO one); refused by an old
	 * kernel, datagrams simply come one by one. */
	(void)udpio_enable_gro(ms->fd);
	if (udpio_local_addr(ms->fd, &ms->local, &len) == 0) {
		log_info("mainsock: bound %s",
			 addr_format((struct sockaddr *)&ms->local, text, sizeof(text)));
	}
	ev_io_init(&ms->rx_io, readable_cb, ms->fd, EV_READ);
	return 0;
}

int mainsock_reopen(struct mainsock *ms, const struct client_ini *ini, int family, struct diag *d)
{
	socklen_t len = sizeof(ms->local);
	char text[ADDR_TEXT_MAX];
	int fd = mainsock_open_fd(ini, family, 0, d);

	if (fd < 0) {
		return fd;
	}
	ev_io_stop(ms->loop, &ms->rx_io);
	mainsock_forget_fd(ms, ms->fd);
	close(ms->fd);
	ms->fd = fd;
	(void)udpio_enable_gro(ms->fd);
	if (udpio_local_addr(ms->fd, &ms->local, &len) == 0) {
		log_info("mainsock: bound %s",
			 addr_format((struct sockaddr *)&ms->local, text, sizeof(text)));
	}
	ev_io_set(&ms->rx_io, ms->fd, EV_READ);
	ev_io_start(ms->loop, &ms->rx_io);
	return 0;
}

void mainsock_start(struct mainsock *ms)
{
	ev_io_start(ms->loop, &ms->rx_io);
	ev_prepare_start(ms->loop, &ms->flush_prep);
}

void mainsock_fini(struct mainsock *ms)
{
	if (ms->loop) {
		ev_io_stop(ms->loop, &ms->rx_io);
		ev_io_stop(ms->loop, &ms->tx_io);
		ev_prepare_stop(ms->loop, &ms->flush_prep);
	}
	if (ms->fd >= 0) {
		close(ms->fd);
		ms->fd = -1;
	}
	udpio_txq_fini(&ms->txq);
}

int mainsock_send(struct mainsock *ms, int fd, const struct sockaddr_storage *dst, const void *data,
		  size_t len)
{
	return udpio_txq_send(&ms->txq, fd < 0 ? ms->fd : fd, (const struct sockaddr *)dst,
			      addr_len(dst), data, len);
}

void mainsock_forget_fd(struct mainsock *ms, int fd)
{
	for (size_t k = 0; k < ms->txq.n; k++) {
		struct udpio_txq_entry *e = &ms->txq.ents[(ms->txq.head + k) % ms->txq.cap];

		if (e->fd == fd) {
			e->fd = -1;
		}
	}
	if (ev_is_active(&ms->tx_io) && ms->tx_io.fd == fd) {
		ev_io_stop(ms->loop, &ms->tx_io);
	}
}

static bool to_frame_addr(const struct sockaddr *sa, uint16_t port, struct frame_addr *out)
{
	bool ok = frameaddr_from_sockaddr(out, sa);

	out->port = port;
	return ok;
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (ss->ss_family == AF_INET) {
		return ((const struct sockaddr_in *)(const void *)ss)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	}
	return memcmp(&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, &any6,
		      sizeof(any6)) == 0;
}

void mainsock_local_addrs(const struct sockaddr_storage *local, struct frame_addr *out, uint8_t *n)
{
	uint16_t port = addr_port((const struct sockaddr *)local);
	struct ifaddrs *ifs = NULL;

	*n = 0;
	if (!is_wildcard(local)) {
		if (to_frame_addr((const struct sockaddr *)local, port, &out[0])) {
			*n = 1;
		}
		return;
	}
	if (getifaddrs(&ifs) != 0) {
		return;
	}
	for (struct ifaddrs *i = ifs; i && *n < WIRE_ADDR_MAX; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != local->ss_family ||
		    (i->ifa_flags & IFF_LOOPBACK)) {
			continue;
		}
		if (to_frame_addr(i->ifa_addr, port, &out[*n])) {
			(*n)++;
		}
	}
	freeifaddrs(ifs);
}
