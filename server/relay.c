/* relay: port pairs that pipe datagrams between two clients (DESIGN §5.1,
 * §10; PROTOCOL.md "Relay"). Owns the pairs, their sockets and watchers, the
 * two port ranges and one send queue flushed once per loop pass. A side
 * forwards only for the address its client bound with an authenticated
 * RELAY_BIND; everything else is dropped and counted, never answered. Must
 * not: decrypt peer traffic (only top-bit-index transport packets, which are
 * client<->server, go to the session layer), allocate per packet. */
#include "relay.h"

#include "common/addr.h"
#include "common/compiler.h"
#include "common/diag.h"
#include "common/fdlimit.h"
#include "common/idpair.h"
#include "common/monotime.h"
#include "proto/wire_const.h"
#include "relaystate.h"
#include "routeset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- port ranges ---- */

int relay_ports_init(struct relay_ports *rp, struct routes_port_range range)
{
	memset(rp, 0, sizeof(*rp));
	if (range.lo == 0 || range.hi < range.lo) {
		return -EINVAL;
	}
	rp->range = range;
	rp->used = calloc((size_t)range.hi - range.lo + 1, 1);
	return rp->used ? 0 : -ENOMEM;
}

void relay_ports_fini(struct relay_ports *rp)
{
	free(rp->used);
	rp->used = NULL;
}

/* Bind port p of the range (offset off) on every address of ips: 0 with
 * fds filled, or the first bind's negative errno (nothing left open). */
static int open_port(struct relay_ports *rp, const struct sockaddr_storage *ips, unsigned n,
		     uint32_t off, int *fds)
{
	uint16_t p = (uint16_t)(rp->range.lo + off);

	for (unsigned i = 0; i < n; i++) {
		struct sockaddr_storage a = ips[i];
		int err;

		addr_set_port(&a, p);
		err = fds[i] = udpio_open((struct sockaddr *)&a, addr_len(&a), NULL, NULL);
		if (err < 0) {
			while (i > 0) {
				close(fds[--i]);
			}
			return err;
		}
	}
	rp->used[off] = 1;
	return 0;
}

int relay_ports_open_on(struct relay_ports *rp, const struct sockaddr_storage *ips, unsigned n,
			uint16_t *port, int *fds)
{
	uint32_t n_ports = (uint32_t)rp->range.hi - rp->range.lo + 1;

	for (uint32_t k = 0; k < n_ports; k++) {
		uint32_t off = (rp->next + k) % n_ports;
		int err;

		if (rp->used[off]) {
			continue;
		}
		err = open_port(rp, ips, n, off, fds);
		if (err == 0) {
			rp->next = (off + 1) % n_ports;
			*port = (uint16_t)(rp->range.lo + off);
			return 0;
		}
		/* A port another program holds (on any of the addresses) fails
		 * bind: skip it. Out of file descriptors, every port would
		 * fail: stop. */
		if (fdlimit_is_exhausted(err)) {
			return err;
		}
	}
	return -ENOSPC;
}

int relay_ports_open_at(struct relay_ports *rp, const struct sockaddr_storage *ips, unsigned n,
			uint16_t port, int *fds)
{
	if (port < rp->range.lo || port > rp->range.hi || rp->used[port - rp->range.lo]) {
		return -EADDRINUSE;
	}
	return open_port(rp, ips, n, (uint32_t)(port - rp->range.lo), fds);
}

void relay_ports_release(struct relay_ports *rp, uint16_t port)
{
	if (rp->used && port >= rp->range.lo && port <= rp->range.hi) {
		rp->used[port - rp->range.lo] = 0;
	}
}

/* ---- receive and forward ---- */

static bool is_for_server(const uint8_t *buf, size_t len)
{
	/* Receiver index top bit set: a client's packet to the server (a relay
	 * bind). Peer traffic carries client indices, top bit clear. */
	return len >= WIRE_TRANSPORT_MIN_LEN && buf[0] == WIRE_MSG_TRANSPORT && (buf[4] & 0x80);
}

/* The endpoint of s matching from, or NULL. */
static struct relay_endpoint *endpoint_of(struct relay_side *s, const struct sockaddr *from)
{
	for (unsigned i = 0; i < s->n_ep; i++) {
		if (addr_equal(from, (const struct sockaddr *)&s->ep[i].addr)) {
			return &s->ep[i];
		}
	}
	return NULL;
}

const struct relay_endpoint *relay_side_target(const struct relay_side *s, uint64_t now_us)
{
	const struct relay_endpoint *last = NULL, *primary = NULL;

	for (unsigned i = 0; i < s->n_ep; i++) {
		if (!last || s->ep[i].last_rx_us > last->last_rx_us) {
			last = &s->ep[i];
		}
		if (s->ep[i].is_primary) {
			primary = &s->ep[i];
		}
	}
	if (primary &&
	    (primary == last || now_us <= primary->last_rx_us + RELAY_PRIMARY_QUIET_US)) {
		return primary;
	}
	return last;
}

/* Queue one datagram to endpoint to of side o. True when queued. */
static bool send_to(struct relay *rl, struct relay_side *s, struct relay_side *o,
		    const struct relay_endpoint *to, const uint8_t *buf, size_t len)
{
	if (udpio_txq_send(&rl->txq, o->socks[to->sock].fd, (const struct sockaddr *)&to->addr,
			   to->len, buf, len) != 0) {
		rl->stats.drop_txq_full++;
		s->drops++;
		return false;
	}
	return true;
}

static void forward(struct relay *rl, struct relay_side *s, const uint8_t *buf, size_t len,
		    uint64_t now_us)
{
	struct relay_side *o = &s->pair->side[1 - s->index];
	const struct relay_endpoint *to = relay_side_target(o, now_us);

	s->last_rx_us = now_us;
	s->rx_packets++;
	s->rx_bytes += len;
	if (!to || o->n_socks == 0) {
		rl->stats.drop_peer_unbound++;
		s->drops++;
		return;
	}
	if (now_us - to->last_rx_us > RELAY_SIDE_SILENT_US) {
		rl->stats.drop_peer_silent++;
		s->drops++;
		return;
	}
	if (!send_to(rl, s, o, to, buf, len)) {
		return;
	}
	rl->stats.forwarded++;
	if (!s->pair->is_redundant) {
		return;
	}
	for (unsigned i = 0; i < o->n_ep; i++) {
		const struct relay_endpoint *ep = &o->ep[i];

		if (ep != to && now_us - ep->last_rx_us <= RELAY_FANOUT_LIVE_US &&
		    send_to(rl, s, o, ep, buf, len)) {
			rl->stats.copies++;
		}
	}
}

static void handle(struct relay *rl, struct relay_sock *rs, const uint8_t *buf, size_t len,
		   const struct sockaddr *from, uint64_t now_us)
{
	struct relay_side *s = rs->side;

	if (is_for_server(buf, len)) {
		rl->stats.to_server++;
		if (rl->on_server) {
			rl->on_server(rl->on_server_ctx, rs, buf, len, from, now_us);
		}
		return;
	}
	struct relay_endpoint *ep = endpoint_of(s, from);

	if (!ep) {
		char text[ADDR_TEXT_MAX];

		rl->stats.drop_unbound_src++;
		log_ratelimited(
			&rl->log_bucket, now_us, LOG_LEVEL_DEBUG,
			"relay port %u (%s): dropped a datagram from %s, not a bound address",
			(unsigned)s->port, s->id, addr_format(from, text, sizeof(text)));
		if (rl->on_stranger && len >= WIRE_RESTARTED_LEN &&
		    (s->stranger_told_us == 0 ||
		     now_us - s->stranger_told_us >= RELAY_STRANGER_TELL_US)) {
			s->stranger_told_us = now_us;
			rl->on_stranger(rl->on_server_ctx, rs, from, now_us);
		}
		return;
	}
	ep->last_rx_us = now_us;
	/* A client that moved to another server address (of the same
	 * mapping) expects the relay to answer from there. */
	ep->sock = (unsigned)(rs - s->socks);
	forward(rl, s, buf, len, now_us);
}

static void side_readable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay_sock *rs = container_of(w, struct relay_sock, io);
	struct relay *rl = rs->side->pair->owner;
	uint64_t now_us = monotime_now_us();
	struct udpio_dgram d;

	(void)loop;
	(void)revents;
	/* One bounded batch; the loop calls again if more wait. */
	if (udpio_rx_batch(&rl->rx, rs->fd) <= 0) {
		return;
	}
	while (rs->fd >= 0 && udpio_rx_next(&rl->rx, &d)) {
		rl->stats.rx_packets++;
		if (d.is_truncated) {
			rl->stats.drop_truncated++;
			continue;
		}
		handle(rl, rs, d.data, d.len, (const struct sockaddr *)d.from, now_us);
	}
}

static void flush(struct relay *rl)
{
	ev_io_stop(rl->loop, &rl->write_watch);
	if (udpio_txq_flush(&rl->txq)) {
		return;
	}
	/* EAGAIN: wait until the blocking socket can take more. */
	ev_io_set(&rl->write_watch, rl->txq.ents[rl->txq.head].fd, EV_WRITE);
	ev_io_start(rl->loop, &rl->write_watch);
}

static void flush_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct relay *rl = container_of(w, struct relay, flush_watch);

	(void)loop;
	(void)revents;
	if (rl->txq.n > 0 && !ev_is_active(&rl->write_watch)) {
		flush(rl);
	}
}

static void writable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay *rl = container_of(w, struct relay, write_watch);

	(void)loop;
	(void)revents;
	flush(rl);
}

bool relay_side_is_open(const struct relay_side *s)
{
	return s->n_socks > 0;
}

int relay_side_send(struct relay_sock *rs, const struct sockaddr *dst, const void *data, size_t len)
{
	struct relay *rl = rs->side->pair->owner;
	socklen_t dst_len = addr_len((const struct sockaddr_storage *)(const void *)dst);

	if (rs->fd < 0) {
		return -ENOTCONN;
	}
	return udpio_txq_send(&rl->txq, rs->fd, dst, dst_len, data, len);
}

/* ep becomes s's primary endpoint (logged when it changes). */
static void set_primary(struct relay_side *s, struct relay_endpoint *ep)
{
	char text[ADDR_TEXT_MAX];

	if (ep->is_primary) {
		return;
	}
	for (unsigned i = 0; i < s->n_ep; i++) {
		s->ep[i].is_primary = false;
	}
	ep->is_primary = true;
	log_info("relay %s<->%s: %s primary %s", s->pair->side[0].id, s->pair->side[1].id, s->id,
		 addr_format((const struct sockaddr *)&ep->addr, text, sizeof(text)));
}

void relay_side_bind(struct relay_sock *rs, const struct sockaddr *from, bool primary,
		     uint64_t now_us)
{
	char text[ADDR_TEXT_MAX];
	struct relay_side *s = rs->side;
	struct relay_pair *p = s->pair;
	struct relay_endpoint *ep = endpoint_of(s, from);
	unsigned sock = (unsigned)(rs - s->socks);

	s->last_rx_us = now_us;
	if (ep) {
		ep->last_rx_us = now_us;
		ep->sock = sock;
		if (primary) {
			set_primary(s, ep);
		}
		return;
	}
	/* A new address: another uplink of the client, or its mapping moved.
	 * Endpoints silent too long go first; when all are in use, the one
	 * heard least recently makes room. */
	for (unsigned i = 0; i < s->n_ep;) {
		if (now_us - s->ep[i].last_rx_us > RELAY_SIDE_SILENT_US) {
			s->ep[i] = s->ep[--s->n_ep];
		} else {
			i++;
		}
	}
	if (s->n_ep == RELAY_ENDPOINTS_MAX) {
		unsigned old = 0;

		for (unsigned i = 1; i < s->n_ep; i++) {
			if (s->ep[i].last_rx_us < s->ep[old].last_rx_us) {
				old = i;
			}
		}
		s->ep[old] = s->ep[--s->n_ep];
	}
	ep = &s->ep[s->n_ep++];
	memset(ep, 0, sizeof(*ep));
	ep->len = addr_len((const struct sockaddr_storage *)(const void *)from);
	memcpy(&ep->addr, from, ep->len);
	ep->last_rx_us = now_us;
	ep->sock = sock;
	s->is_bound = true;
	log_info("relay %s<->%s: %s bound %s port=%u endpoints=%u", p->side[0].id, p->side[1].id,
		 s->id, addr_format(from, text, sizeof(text)), (unsigned)s->port, s->n_ep);
	if (primary) {
		set_primary(s, ep);
	}
}

void relay_side_restore(struct relay_side *s, unsigned sock, const struct sockaddr_storage *addr,
			socklen_t len, uint64_t last_rx_us, bool primary)
{
	struct relay_endpoint *ep;

	if (sock >= s->n_socks || s->n_ep == RELAY_ENDPOINTS_MAX || len > sizeof(ep->addr) ||
	    endpoint_of(s, (const struct sockaddr *)addr)) {
		return;
	}
	ep = &s->ep[s->n_ep++];
	memset(ep, 0, sizeof(*ep));
	memcpy(&ep->addr, addr, len);
	ep->len = len;
	ep->last_rx_us = last_rx_us;
	ep->sock = sock;
	if (primary) {
		for (unsigned i = 0; i < s->n_ep; i++) {
			s->ep[i].is_primary = false;
		}
		ep->is_primary = true;
	}
	/* An older address does not age the side: its ports were opened now,
	 * which gives its client RELAY_PAIR_IDLE_US to be heard again. */
	if (last_rx_us > s->last_rx_us) {
		s->last_rx_us = last_rx_us;
	}
	s->is_bound = true;
}

/* ---- pairs ---- */

/* Datagrams still queued for fd must not leave from whatever socket reuses
 * its number: mark them (sendmmsg on -1 fails and they are dropped, counted
 * in send_errors), and stop waiting for fd to become writable. */
static void forget_fd(struct relay *rl, int fd)
{
	for (size_t k = 0; k < rl->txq.n; k++) {
		struct udpio_txq_entry *e = &rl->txq.ents[(rl->txq.head + k) % rl->txq.cap];

		if (e->fd == fd) {
			e->fd = -1;
		}
	}
	if (ev_is_active(&rl->write_watch) && rl->write_watch.fd == fd) {
		ev_io_stop(rl->loop, &rl->write_watch);
	}
}

static void side_close(struct relay *rl, struct relay_side *s)
{
	for (unsigned k = 0; k < s->n_socks; k++) {
		struct relay_sock *rs = &s->socks[k];

		ev_io_stop(rl->loop, &rs->io);
		forget_fd(rl, rs->fd);
		close(rs->fd);
		rs->fd = -1;
		rl->n_fds--;
	}
	if (s->n_socks > 0) {
		relay_ports_release(&rl->ports[s->index], s->port);
	}
	s->n_socks = 0;
	s->port = 0;
	s->is_bound = false;
	s->n_ep = 0;
}

static void pair_close(struct relay_pair *p)
{
	side_close(p->owner, &p->side[0]);
	side_close(p->owner, &p->side[1]);
	p->has_ports = false;
}

/* Bind both ports, or neither. Returns 0, -ENOSPC (the range is full) or
 * -EMFILE/-ENFILE (out of file descriptors), logged by the caller. */
static int pair_open(struct relay_pair *p, uint64_t now_us, int *failed_range)
{
	struct relay *rl = p->owner;

	if (rl->fd_budget > 0 && rl->n_fds + 2 * rl->n_ips > rl->fd_budget) {
		*failed_range = 0;
		return -EMFILE;
	}
	for (int k = 0; k < 2; k++) {
		struct relay_side *s = &p->side[k];
		int fds[ROUTES_LISTEN_MAX];
		uint16_t saved = relaystate_claim(rl->saved, rl, p->side[0].id, p->side[1].id, k);
		int rc = -EADDRINUSE;

		/* At start, the port this pair had before the restart, so the
		 * clients' bindings hold (relaystate). */
		if (saved != 0) {
			rc = relay_ports_open_at(&rl->ports[k], rl->ips, rl->n_ips, saved, fds);
		}
		if (rc == 0) {
			s->port = saved;
		} else {
			rc = relay_ports_open_on(&rl->ports[k], rl->ips, rl->n_ips, &s->port, fds);
		}

		if (rc < 0) {
			*failed_range = k;
			pair_close(p);
			return rc;
		}
		s->last_rx_us = now_us;
		for (unsigned i = 0; i < rl->n_ips; i++) {
			struct relay_sock *rs = &s->socks[i];

			rs->side = s;
			rs->fd = fds[i];
			ev_io_init(&rs->io, side_readable_cb, rs->fd, EV_READ);
			if (rl->is_started) {
				ev_io_start(rl->loop, &rs->io);
			}
		}
		s->n_socks = rl->n_ips;
		rl->n_fds += rl->n_ips;
	}
	p->has_ports = true;
	p->ports_since_us = now_us;
	log_info("relay %s<->%s: ports %s=%u %s=%u", p->side[0].id, p->side[1].id, p->side[0].id,
		 (unsigned)p->side[0].port, p->side[1].id, (unsigned)p->side[1].port);
	return 0;
}

static bool pair_try_open(struct relay_pair *p, uint64_t now_us)
{
	struct relay *rl = p->owner;
	int k = 0, rc;

	p->last_try_us = now_us;
	rc = pair_open(p, now_us, &k);
	if (rc == 0) {
		return true;
	}
	rl->stats.alloc_failures++;
	/* Every pair without ports retries on its own: a few lines per retry
	 * round, not one per pair. */
	if (!log_bucket_take(&rl->alloc_log, now_us, 3, RELAY_RETRY_US)) {
		return false;
	}
	if (fdlimit_is_exhausted(rc)) {
		log_error("relay %s<->%s: out of file descriptors (this process may open %lu, "
			  "%u of them kept for the rest of the server; %zu relay sockets open, %u "
			  "per pair): raise the server's limit (ulimit -n, systemd LimitNOFILE=); "
			  "retrying every %us",
			  p->side[0].id, p->side[1].id, fdlimit_current(),
			  (unsigned)RELAY_FD_RESERVE, rl->n_fds, 2 * rl->n_ips,
			  (unsigned)(RELAY_RETRY_US / 1000000));
	} else {
		log_error("relay %s<->%s: no free port in relay_%c range %u-%u (range "
			  "exhausted; retrying every %us)",
			  p->side[0].id, p->side[1].id, k == 0 ? 'a' : 'b',
			  (unsigned)rl->ports[k].range.lo, (unsigned)rl->ports[k].range.hi,
			  (unsigned)(RELAY_RETRY_US / 1000000));
	}
	return false;
}

static void pair_free(struct relay_pair *p)
{
	if (!p) {
		return;
	}
	pair_close(p);
	free(p);
}

static struct relay_pair *pair_new(struct relay *rl, const char *a, const char *b)
{
	struct relay_pair *p = calloc(1, sizeof(*p));

	if (!p) {
		return NULL;
	}
	p->owner = rl;
	for (int k = 0; k < 2; k++) {
		p->side[k].pair = p;
		p->side[k].index = k;
		for (unsigned i = 0; i < ROUTES_LISTEN_MAX; i++) {
			p->side[k].socks[i].fd = -1;
		}
		snprintf(p->side[k].id, sizeof(p->side[k].id), "%s", k == 0 ? a : b);
	}
	return p;
}

void relay_count_pairs(const struct relay *rl, struct relay_pair_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < rl->n_pairs; i++) {
		const struct relay_pair *p = rl->pairs[i];

		if (p->has_ports) {
			out->with_ports++;
		} else if (p->last_try_us == UINT64_MAX) {
			out->idle++; /* relay_tick released it; relay_wake tries again */
		} else {
			out->waiting++;
		}
	}
}

/* ---- the pairs by their ids ---- */

static size_t home_of(const struct relay *rl, const struct relay_pair *p)
{
	return idpair_hash(p->side[0].id, p->side[1].id) & (rl->cap_index - 1);
}

static void index_add(struct relay *rl, struct relay_pair *p)
{
	size_t mask = rl->cap_index - 1, i = home_of(rl, p);

	while (rl->index[i]) {
		i = (i + 1) & mask;
	}
	rl->index[i] = p;
}

/* Take p out of the index. The entries after it in its run move back into
 * the hole when their home slot allows (backward shift), so a lookup never
 * stops at a hole before the pair it looks for. */
static void index_del(struct relay *rl, const struct relay_pair *p)
{
	size_t mask = rl->cap_index - 1, i = home_of(rl, p);

	while (rl->index[i] != p) {
		if (!rl->index[i]) {
			return;
		}
		i = (i + 1) & mask;
	}
	for (size_t j = (i + 1) & mask; rl->index[j]; j = (j + 1) & mask) {
		/* The entry at j may fill hole i when i lies between its home
		 * and j (cyclically). */
		if (((j - home_of(rl, rl->index[j])) & mask) >= ((j - i) & mask)) {
			rl->index[i] = rl->index[j];
			i = j;
		}
	}
	rl->index[i] = NULL;
}

/* Room in the index for want pairs (at most half full, so every probe ends
 * at a free slot). Returns 0 or -ENOMEM, the index unchanged. */
static int index_reserve(struct relay *rl, size_t want)
{
	size_t cap = idpair_index_cap(rl->cap_index, want);
	struct relay_pair **ni;

	if (cap == rl->cap_index) {
		return 0;
	}
	ni = calloc(cap, sizeof(*ni));
	if (!ni) {
		return -ENOMEM;
	}
	free(rl->index);
	rl->index = ni;
	rl->cap_index = cap;
	for (size_t i = 0; i < rl->n_pairs; i++) {
		index_add(rl, rl->pairs[i]);
	}
	return 0;
}

struct relay_pair *relay_find_pair(struct relay *rl, const char *a, const char *b)
{
	const char *lo = strcmp(a, b) < 0 ? a : b;
	const char *hi = lo == a ? b : a;
	size_t mask = rl->cap_index - 1;

	if (rl->cap_index == 0) {
		return NULL;
	}
	for (size_t i = idpair_hash(lo, hi) & mask; rl->index[i]; i = (i + 1) & mask) {
		struct relay_pair *p = rl->index[i];

		if (strcmp(p->side[0].id, lo) == 0 && strcmp(p->side[1].id, hi) == 0) {
			return p;
		}
	}
	return NULL;
}

uint16_t relay_port_for(void *rl_ctx, const char *self, const char *peer)
{
	struct relay_pair *p = relay_find_pair(rl_ctx, self, peer);

	if (!p || !p->has_ports) {
		return 0;
	}
	return strcmp(p->side[0].id, self) == 0 ? p->side[0].port : p->side[1].port;
}

static int pairs_reserve(struct relay *rl, size_t want)
{
	struct relay_pair **np;
	size_t cap = rl->cap_pairs ? rl->cap_pairs : 16;

	if (want <= rl->cap_pairs) {
		return 0;
	}
	while (cap < want) {
		cap *= 2;
	}
	np = realloc(rl->pairs, cap * sizeof(*np));
	if (!np) {
		return -ENOMEM;
	}
	rl->pairs = np;
	rl->cap_pairs = cap;
	return 0;
}

static void set_redundant(struct relay_pair *p, bool on)
{
	if (p->is_redundant == on) {
		return;
	}
	p->is_redundant = on;
	log_info("relay %s<->%s: forwarding to %s", p->side[0].id, p->side[1].id,
		 on ? "every endpoint (a redundant flow)"
		    : "one endpoint (the primary while it is heard, else the one heard last)");
}

/* Keep or add the pair of clients a and b (a sorts first). */
static int want_pair(struct relay *rl, const char *a, const char *b, bool redundant,
		     uint64_t now_us)
{
	struct relay_pair *p = relay_find_pair(rl, a, b);

	if (p) {
		p->is_wanted = true;
		set_redundant(p, redundant);
		return 0;
	}
	if (pairs_reserve(rl, rl->n_pairs + 1) != 0 || index_reserve(rl, rl->n_pairs + 1) != 0) {
		return -ENOMEM;
	}
	p = pair_new(rl, a, b);
	if (!p) {
		return -ENOMEM;
	}
	p->is_wanted = true;
	rl->pairs[rl->n_pairs++] = p;
	index_add(rl, p);
	set_redundant(p, redundant);
	(void)pair_try_open(p, now_us);
	return 0;
}

static void drop_unwanted(struct relay *rl)
{
	size_t j = 0;

	for (size_t i = 0; i < rl->n_pairs; i++) {
		struct relay_pair *p = rl->pairs[i];

		if (p->is_wanted) {
			rl->pairs[j++] = p;
			continue;
		}
		log_info("relay %s<->%s: released (no shared flow)", p->side[0].id, p->side[1].id);
		index_del(rl, p);
		pair_free(p);
	}
	rl->n_pairs = j;
}

int relay_update(struct relay *rl, const struct routes *r, uint64_t now_us)
{
	int err = 0;

	for (size_t i = 0; i < rl->n_pairs; i++) {
		rl->pairs[i]->is_wanted = false;
	}
	for (size_t i = 0; i < r->n_clients; i++) {
		size_t n = 0;
		const struct routes_peer *peers = routes_peers_of(r, i, &n);

		for (size_t k = 0; k < n; k++) {
			const char *a = r->clients[i].id, *b;
			unsigned modes = peers[k].modes;

			if (peers[k].client <= i) {
				continue; /* each pair once, as (lower index, higher) */
			}
			b = r->clients[peers[k].client].id;
			if (strcmp(a, b) > 0) {
				const char *t = a;
				a = b;
				b = t;
			}
			if (want_pair(rl, a, b, modes & (1u << ROUTES_MULTIPATH_REDUNDANT),
				      now_us) != 0) {
				log_error("relay %s<->%s: out of memory", a, b);
				err = -ENOMEM;
			}
		}
	}
	drop_unwanted(rl);
	return err;
}

bool relay_tick(struct relay *rl, uint64_t now_us)
{
	bool changed = false;

	for (size_t i = 0; i < rl->n_pairs; i++) {
		struct relay_pair *p = rl->pairs[i];
		uint64_t last = p->side[0].last_rx_us > p->side[1].last_rx_us
					? p->side[0].last_rx_us
					: p->side[1].last_rx_us;

		if (p->has_ports && now_us - last > RELAY_PAIR_IDLE_US) {
			log_info("relay %s<->%s: released (both sides silent %us)", p->side[0].id,
				 p->side[1].id, (unsigned)(RELAY_PAIR_IDLE_US / 1000000));
			pair_close(p);
			p->last_try_us = UINT64_MAX; /* idle: wait for relay_wake */
			rl->stats.pairs_released_idle++;
			changed = true;
		} else if (!p->has_ports && p->last_try_us != UINT64_MAX &&
			   now_us - p->last_try_us >= RELAY_RETRY_US) {
			changed |= pair_try_open(p, now_us);
		}
	}
	return changed;
}

bool relay_wake(struct relay *rl, const struct routes *r, const char *id, uint64_t now_us)
{
	size_t n = 0, i = routes_client_index(r, id);
	const struct routes_peer *peers = i == SIZE_MAX ? NULL : routes_peers_of(r, i, &n);
	bool changed = false;

	/* The pairs are those of r (relay_update): id's are found by its
	 * peers, not by a scan of every pair of the fleet per REGISTER. */
	for (size_t k = 0; k < n; k++) {
		struct relay_pair *p = relay_find_pair(rl, id, r->clients[peers[k].client].id);

		if (p && !p->has_ports) {
			changed |= pair_try_open(p, now_us);
		}
	}
	return changed;
}

/* ---- lifecycle ---- */

int relay_init(struct relay *rl, struct ev_loop *loop, const struct routes *r, struct diag *d)
{
	memset(rl, 0, sizeof(*rl));
	rl->loop = loop;
	for (size_t i = 0; i < r->server.n_listen && i < ROUTES_LISTEN_MAX; i++) {
		rl->ips[i] = r->server.listen[i];
		addr_set_port(&rl->ips[i], 0);
		rl->n_ips++;
	}
	unsigned long lim = fdlimit_current();
	rl->fd_budget = lim == 0		     ? 0
			: lim > 2 * RELAY_FD_RESERVE ? lim - RELAY_FD_RESERVE
						     : lim / 2;
	ev_prepare_init(&rl->flush_watch, flush_prepare_cb);
	ev_io_init(&rl->write_watch, writable_cb, -1, EV_WRITE);
	if (relay_ports_init(&rl->ports[0], r->server.relay_a) != 0 ||
	    relay_ports_init(&rl->ports[1], r->server.relay_b) != 0 ||
	    udpio_rx_init(&rl->rx, false) != 0 ||
	    udpio_txq_init(&rl->txq, UDPIO_TXQ_DEFAULT) != 0) {
		diag_set(d, r->path, r->server.line, "out of memory for the relay");
		return -ENOMEM;
	}
	return 0;
}

void relay_start(struct relay *rl)
{
	rl->is_started = true;
	ev_prepare_start(rl->loop, &rl->flush_watch);
	for (size_t i = 0; i < rl->n_pairs; i++) {
		for (int k = 0; k < 2; k++) {
			struct relay_side *s = &rl->pairs[i]->side[k];

			for (unsigned j = 0; j < s->n_socks; j++) {
				ev_io_start(rl->loop, &s->socks[j].io);
			}
		}
	}
}

void relay_fini(struct relay *rl)
{
	if (!rl->loop) {
		return;
	}
	ev_prepare_stop(rl->loop, &rl->flush_watch);
	ev_io_stop(rl->loop, &rl->write_watch);
	for (size_t i = 0; i < rl->n_pairs; i++) {
		pair_free(rl->pairs[i]);
	}
	free(rl->pairs);
	rl->pairs = NULL;
	rl->n_pairs = 0;
	rl->cap_pairs = 0;
	free(rl->index);
	rl->index = NULL;
	rl->cap_index = 0;
	relay_ports_fini(&rl->ports[0]);
	relay_ports_fini(&rl->ports[1]);
	udpio_rx_fini(&rl->rx);
	udpio_txq_fini(&rl->txq);
	rl->loop = NULL;
}
