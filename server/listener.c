/* listener: the server's UDP sockets (every listen address x {main port,
 * alt_port}) and the first look at every datagram (DESIGN §3, §5.2).
 * Checks run cheapest first (STYLE §7): demux by the first bytes, then STUN
 * is answered statelessly by nat/stun, wormhole messages go to the session
 * layer. Nothing here allocates per packet; replies queue in one txq that
 * is flushed once per loop pass. */
#include "listener.h"

#include "common/addr.h"
#include "common/compiler.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"
#include "config/routes.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* socks[] layout: address i on the main port at 2i, on alt_port at 2i+1. */
static struct listener_sock *sock_at(struct listener *l, int addr_index, bool is_alt)
{
	size_t i = (size_t)addr_index * 2 + (is_alt ? 1 : 0);

	return i < l->n_socks ? &l->socks[i] : NULL;
}

/* RFC 5780 §4.2: the alternate address differs in IP from the primary; it
 * must be of the same family to be usable by the client. */
static int other_addr_index(const struct listener *l, int k)
{
	int fam = l->socks[2 * k].local.ss_family;

	for (size_t i = 0; i < l->n_socks / 2; i++) {
		if ((int)i != k && l->socks[2 * i].local.ss_family == fam) {
			return (int)i;
		}
	}
	return -1;
}

/* Only requests that would be answered take a token: junk costs the
 * source's real requests nothing. */
static bool source_may_have_answer(struct listener *l, const struct sockaddr *from, uint64_t now_us)
{
	uint8_t ip[16];
	size_t n = addr_ip_bytes(from, ip);
	char text[ADDR_TEXT_MAX];

	if (ratelimit_check(&l->stun_limit, ip, n, now_us) == RATELIMIT_ALLOW) {
		return true;
	}
	if (log_current_level >= LOG_LEVEL_WARN &&
	    log_bucket_take(&l->stun_limit_log, now_us, 3, LISTENER_STUN_LOG_US)) {
		log_warn("listener: STUN answers to %s held back: over %d requests a second from "
			 "its address (a spoofed flood, or more clients behind one NAT address "
			 "than a burst of %d serves)",
			 addr_format(from, text, sizeof(text)), LISTENER_STUN_PER_SECOND,
			 LISTENER_STUN_BURST);
	}
	return false;
}

static void answer_stun(struct listener *l, struct listener_sock *s, const uint8_t *buf, size_t len,
			const struct sockaddr *from, uint64_t now_us)
{
	struct stun_server_addrs addrs;
	uint8_t out[STUN_PADDED_MAX];
	size_t out_len = 0;
	int idx = -1, other = other_addr_index(l, s->addr_index);
	enum stun_drop why;

	memset(&addrs, 0, sizeof(addrs));
	for (int sk = 0; sk < STUN_SOCK_COUNT; sk++) {
		int ai = (sk & 2) ? other : s->addr_index;
		struct listener_sock *t = ai >= 0 ? sock_at(l, ai, (sk & 1) != 0) : NULL;
		if (t) {
			addrs.local[sk] = t->advertised;
		}
	}
	addrs.received_on = s->is_alt_port ? STUN_SOCK_PRIMARY_ALT : STUN_SOCK_PRIMARY_MAIN;
	why = stun_server_answer(buf, len, from, &addrs, out, sizeof(out), &out_len, &idx);
	if (why == STUN_DROP_NONE && !source_may_have_answer(l, from, now_us)) {
		why = STUN_DROP_RATE_LIMITED;
	}
	if (why != STUN_DROP_NONE) {
		l->stats.drop_stun[why]++;
		return;
	}
	struct listener_sock *tx = sock_at(l, (idx & 2) ? other : s->addr_index, (idx & 1) != 0);
	if (!tx) {
		l->stats.drop_stun[STUN_DROP_NO_SOCKET]++;
		return;
	}
	/* from points at a sockaddr_storage in the receive batch. */
	socklen_t from_len = addr_len((const struct sockaddr_storage *)(const void *)from);
	if (listener_send(l, tx, from, from_len, out, out_len) == 0) {
		l->stats.stun_answered++;
	}
}

static void handle_datagram(struct listener *l, struct listener_sock *s, const uint8_t *buf,
			    size_t len, const struct sockaddr *from, uint64_t now_us)
{
	enum demux_reason reason;
	enum demux_kind kind = demux_classify(buf, len, &reason);

	switch (kind) {
	case DEMUX_DROP:
		l->stats.drop_demux[reason]++;
		return;
	case DEMUX_STUN:
		answer_stun(l, s, buf, len, from, now_us);
		return;
	default:
		if (!l->on_wh) {
			l->stats.drop_no_handler++;
			return;
		}
		l->on_wh(l->on_wh_ctx, s, kind, buf, len, from, now_us);
		return;
	}
}

static void sock_readable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener_sock *s = container_of(w, struct listener_sock, io);
	struct listener *l = s->owner;
	uint64_t now_us = monotime_now_us();
	struct udpio_dgram d;

	(void)loop;
	(void)revents;
	/* One bounded batch per callback; the loop calls again if more wait. */
	if (udpio_rx_batch(&l->rx, s->fd) <= 0) {
		return;
	}
	while (udpio_rx_next(&l->rx, &d)) {
		l->stats.rx_packets++;
		if (d.is_truncated) {
			l->stats.drop_truncated++;
			continue;
		}
		handle_datagram(l, s, d.data, d.len, (const struct sockaddr *)d.from, now_us);
	}
}

static void flush(struct listener *l)
{
	if (udpio_txq_flush(&l->txq)) {
		ev_io_stop(l->loop, &l->write_watch);
		return;
	}
	/* EAGAIN: wait until the blocking socket can take more. */
	ev_io_stop(l->loop, &l->write_watch);
	ev_io_set(&l->write_watch, l->txq.ents[l->txq.head].fd, EV_WRITE);
	ev_io_start(l->loop, &l->write_watch);
}

static void flush_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct listener *l = container_of(w, struct listener, flush_watch);

	(void)loop;
	(void)revents;
	if (l->txq.n > 0 && !ev_is_active(&l->write_watch)) {
		flush(l);
	}
}

static void writable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = container_of(w, struct listener, write_watch);

	(void)loop;
	(void)revents;
	flush(l);
}

int listener_send(struct listener *l, const struct listener_sock *sock, const struct sockaddr *dst,
		  socklen_t dst_len, const void *data, size_t len)
{
	return udpio_txq_send(&l->txq, sock->fd, dst, dst_len, data, len);
}

static int open_sock(struct listener *l, const struct routes_server *srv, int addr_index,
		     bool is_alt, uint16_t port, struct diag *d)
{
	struct listener_sock *s = &l->socks[l->n_socks];
	int fd;

	s->local = srv->listen[addr_index];
	addr_set_port(&s->local, port);
	s->advertised = srv->has_public ? srv->public_ip[addr_index] : s->local;
	addr_set_port(&s->advertised, port);
	s->local_len = addr_len(&s->local);
	fd = udpio_open((struct sockaddr *)&s->local, s->local_len, NULL, d);
	if (fd < 0) {
		return fd;
	}
	s->owner = l;
	s->fd = fd;
	s->addr_index = addr_index;
	s->is_alt_port = is_alt;
	ev_io_init(&s->io, sock_readable_cb, fd, EV_READ);
	l->n_socks++;
	return 0;
}

int listener_init(struct listener *l, struct ev_loop *loop, const struct routes *r, struct diag *d)
{
	const struct routes_server *srv = &r->server;
	int err;

	memset(l, 0, sizeof(*l));
	l->loop = loop;
	ev_prepare_init(&l->flush_watch, flush_prepare_cb);
	ev_io_init(&l->write_watch, writable_cb, -1, EV_WRITE);
	if (udpio_rx_init(&l->rx, false) != 0 || udpio_txq_init(&l->txq, UDPIO_TXQ_DEFAULT) != 0 ||
	    ratelimit_init(&l->stun_limit, LISTENER_STUN_SOURCES, LISTENER_STUN_PER_SECOND,
			   LISTENER_STUN_BURST) != 0) {
		diag_set(d, r->path, srv->line, "out of memory for socket buffers");
		return -ENOMEM;
	}
	for (size_t i = 0; i < srv->n_listen && i < LISTENER_SOCKS_MAX / 2; i++) {
		uint16_t port = addr_port((const struct sockaddr *)&srv->listen[i]);
		err = open_sock(l, srv, (int)i, false, port, d);
		if (err == 0) {
			err = open_sock(l, srv, (int)i, true, srv->alt_port, d);
		}
		if (err != 0) {
			return err;
		}
	}
	return 0;
}

/* The MTU of interface name, or 0. */
static unsigned if_mtu(const char *name)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned mtu = 0;

	if (fd < 0) {
		return 0;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0) {
		mtu = (unsigned)ifr.ifr_mtu;
	}
	close(fd);
	return mtu;
}

/* The smallest MTU among the interfaces that hold a listen address (for a
 * wildcard, every interface of its family but loopback). */
static unsigned measure_link_mtu(const struct listener *l)
{
	struct ifaddrs *ifs = NULL;
	unsigned least = 0;

	if (getifaddrs(&ifs) != 0) {
		return 0;
	}
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		bool is_ours = false;

		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK)) {
			continue;
		}
		for (size_t k = 0; k < l->n_socks && !is_ours; k += 2) {
			const struct sockaddr_storage *a = &l->socks[k].local;
			struct sockaddr_storage ip;

			if (i->ifa_addr->sa_family != a->ss_family) {
				continue;
			}
			memset(&ip, 0, sizeof(ip));
			memcpy(&ip, i->ifa_addr, addr_len(a));
			addr_set_port(&ip, addr_port((const struct sockaddr *)a));
			is_ours = addr_is_unspecified((const struct sockaddr *)a) ||
				  addr_equal((const struct sockaddr *)&ip,
					     (const struct sockaddr *)a);
		}
		if (is_ours) {
			unsigned mtu = if_mtu(i->ifa_name);

			if (mtu != 0 && (least == 0 || mtu < least)) {
				least = mtu;
			}
		}
	}
	freeifaddrs(ifs);
	return least;
}

/* Addresses of family fam on this host, loopback aside. */
static unsigned host_addresses(int fam)
{
	struct ifaddrs *ifs = NULL;
	unsigned n = 0;

	if (getifaddrs(&ifs) != 0) {
		return 0;
	}
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (i->ifa_addr && i->ifa_addr->sa_family == fam &&
		    !(i->ifa_flags & IFF_LOOPBACK)) {
			n++;
		}
	}
	freeifaddrs(ifs);
	return n;
}

/* A wildcard listen address on a host with several addresses: a reply
 * leaves from the address the routing picks for the client, not always the
 * one the client sent to, and a NAT that filters by address drops it. */
static void warn_wildcard(const struct listener_sock *s)
{
	char text[ADDR_TEXT_MAX];
	unsigned n;

	if (s->is_alt_port || !addr_is_unspecified((const struct sockaddr *)&s->local)) {
		return;
	}
	n = host_addresses(s->local.ss_family);
	if (n > 1) {
		log_warn("listener: %s is a wildcard on a host with %u addresses: replies leave "
			 "from "
			 "the one the routing picks, which a client behind a filtering NAT drops "
			 "when "
			 "it sent to another; list the addresses in server.listen",
			 addr_format((const struct sockaddr *)&s->local, text, sizeof(text)), n);
	}
}

void listener_start(struct listener *l)
{
	char text[ADDR_TEXT_MAX], pub[ADDR_TEXT_MAX];

	for (size_t i = 0; i < l->n_socks; i++) {
		const struct listener_sock *s = &l->socks[i];
		bool is_nat = !addr_equal((const struct sockaddr *)&s->local,
					  (const struct sockaddr *)&s->advertised);

		ev_io_start(l->loop, &l->socks[i].io);
		log_info("listener: udp %s%s%s%s%s",
			 addr_format((const struct sockaddr *)&s->local, text, sizeof(text)),
			 is_nat ? " (public " : "",
			 is_nat ? addr_format((const struct sockaddr *)&s->advertised, pub,
					      sizeof(pub))
				: "",
			 is_nat ? ")" : "", s->is_alt_port ? " (alt port)" : "");
		warn_wildcard(s);
	}
	l->link_mtu = measure_link_mtu(l);
	if (l->link_mtu != 0) {
		log_info("listener: link mtu %u", l->link_mtu);
	} else {
		log_debug("listener: link mtu unknown (no interface but loopback holds a listen "
			  "address)");
	}
	ev_prepare_start(l->loop, &l->flush_watch);
}

void listener_fini(struct listener *l)
{
	if (!l->loop) {
		return;
	}
	ev_prepare_stop(l->loop, &l->flush_watch);
	ev_io_stop(l->loop, &l->write_watch);
	for (size_t i = 0; i < l->n_socks; i++) {
		ev_io_stop(l->loop, &l->socks[i].io);
		close(l->socks[i].fd);
	}
	l->n_socks = 0;
	udpio_rx_fini(&l->rx);
	udpio_txq_fini(&l->txq);
	ratelimit_fini(&l->stun_limit);
}
