/* flow_udp: the UDP flows' local sockets and their datagrams (DESIGN §4,
 * PROTOCOL.md "Flow datagrams"). Owns each flow's listening socket and its
 * per-source sending sockets; routing decisions come from flowrole.c,
 * sessions from peer.c. One bounded recvmmsg batch per callback into the
 * daemon's shared buffers; sends go to the daemon's queue; nothing is
 * allocated per packet. Must not parse wire bytes by hand. */
#include "flow_udp.h"

#include "client/client.h"
#include "client/flowqos.h"
#include "client/flowrole.h"
#include "client/linkmtu.h"
#include "client/peer.h"
#include "common/addr.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"
#include "config/client_ini.h"
#include "proto/frameaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLOW_UDP_LOCAL_IP "127.1.0.1"

static void listen_cb(struct ev_loop *loop, ev_io *w, int revents);
static void src_cb(struct ev_loop *loop, ev_io *w, int revents);

static void open_listen(struct flow_udp *f);

static void listen_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	open_listen(container_of(w, struct flow_udp, listen_retry));
}

struct flow_udp *flow_udp_find(struct client *cl, uint32_t flow_id)
{
	for (struct flow_udp *f = cl->flows; f; f = f->next) {
		if (f->route.flow_id == flow_id) {
			return f;
		}
	}
	return NULL;
}

static const char *self_id(const struct flow_udp *f)
{
	return f->cl->ini->id;
}

/* A socket on 127.1.0.1:port (0: ephemeral). Returns the fd or -errno. */
static int open_local(uint16_t port, struct diag *d)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	(void)inet_pton(AF_INET, FLOW_UDP_LOCAL_IP, &sin.sin_addr);
	return udpio_open((struct sockaddr *)&sin, sizeof(sin), NULL, d);
}

/* Where a source's sending socket is bound for the flow's delivery target:
 * 127.1.0.1 for a target on loopback (DESIGN §4); a socket bound there
 * cannot send anywhere else, so a target on the LAN (or an IPv6 one) gets
 * the wildcard address of its family, the kernel choosing the source. */
static enum flow_udp_src_bind src_bind_for(const struct sockaddr_storage *deliver)
{
	if (deliver->ss_family == AF_INET6) {
		return FLOW_UDP_SRC_ANY6;
	}
	if (deliver->ss_family == AF_INET &&
	    (ntohl(((const struct sockaddr_in *)deliver)->sin_addr.s_addr) >> 24) != 127) {
		return FLOW_UDP_SRC_ANY4;
	}
	return FLOW_UDP_SRC_LOCAL;
}

/* A source's sending socket, on an ephemeral port of src_bind_for's
 * address. Returns the fd or -errno. */
static int open_src_socket(enum flow_udp_src_bind bind, struct diag *d)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (bind == FLOW_UDP_SRC_LOCAL) {
		return open_local(0, d);
	}
	ss.ss_family = bind == FLOW_UDP_SRC_ANY6 ? AF_INET6 : AF_INET;
	return udpio_open((struct sockaddr *)&ss, addr_len(&ss), NULL, d);
}

static void close_fd(struct flow_udp *f, ev_io *io, int *fd)
{
	if (*fd < 0) {
		return;
	}
	ev_io_stop(f->cl->loop, io);
	mainsock_forget_fd(&f->cl->ms, *fd);
	close(*fd);
	*fd = -1;
}

static void stop_listen_retry(struct flow_udp *f)
{
	ev_timer_stop(f->cl->loop, &f->listen_retry);
	f->listen_wait_us = 0;
}

/* Open the listening socket if self is a source with a listen port. A taken
 * port gets one clear line; the flow keeps delivering (DESIGN §4) and tries
 * again, 1 s later and then less and less often
 * (FLOW_UDP_LISTEN_RETRY_*_US), until it listens (one line then too) or
 * the flow goes away or changes (stop_listen_retry). */
static void open_listen(struct flow_udp *f)
{
	struct diag d;
	char line[DIAG_MSG_MAX + DIAG_FILE_MAX];
	int fd;

	if (!flowrole_listens(&f->route, self_id(f))) {
		return;
	}
	diag_clear(&d);
	fd = open_local(f->route.listen_port, &d);
	if (fd < 0) {
		if (f->listen_wait_us == 0) {
			log_error("flow %s: cannot listen on %s:%u (%s); delivering only, trying "
				  "again until it is free; or give this member another listen "
				  "port in routes.conf",
				  f->route.flow.text, FLOW_UDP_LOCAL_IP,
				  (unsigned)f->route.listen_port,
				  diag_format(&d, line, sizeof(line)));
			f->listen_wait_us = FLOW_UDP_LISTEN_RETRY_MIN_US;
		} else if (f->listen_wait_us < FLOW_UDP_LISTEN_RETRY_MAX_US / 2) {
			f->listen_wait_us *= 2;
		} else {
			f->listen_wait_us = FLOW_UDP_LISTEN_RETRY_MAX_US;
		}
		ev_timer_set(&f->listen_retry, (double)f->listen_wait_us / 1e6, 0.0);
		ev_timer_start(f->cl->loop, &f->listen_retry);
		return;
	}
	if (f->listen_wait_us != 0) {
		log_info("flow %s: listening on %s:%u now", f->route.flow.text, FLOW_UDP_LOCAL_IP,
			 (unsigned)f->route.listen_port);
		f->listen_wait_us = 0;
	}
	f->listen_fd = fd;
	ev_io_init(&f->listen_io, listen_cb, fd, EV_READ);
	ev_io_start(f->cl->loop, &f->listen_io);
}

static struct flow_udp_src *find_src(struct flow_udp *f, const char *name)
{
	for (size_t i = 0; i < WIRE_MEMBERS_MAX; i++) {
		if (f->srcs[i].fd >= 0 && strcmp(f->srcs[i].name.text, name) == 0) {
			return &f->srcs[i];
		}
	}
	return NULL;
}

static void open_src(struct flow_udp *f, const struct frame_name *name)
{
	struct flow_udp_src *s = NULL;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct diag d;
	char line[DIAG_MSG_MAX + DIAG_FILE_MAX];
	int fd;

	for (size_t i = 0; i < WIRE_MEMBERS_MAX && !s; i++) {
		if (f->srcs[i].fd < 0) {
			s = &f->srcs[i];
		}
	}
	if (!s) {
		return;
	}
	diag_clear(&d);
	fd = open_src_socket(f->src_bind, &d);
	if (fd < 0) {
		log_error("flow %s: no socket for source %s: %s", f->route.flow.text, name->text,
			  diag_format(&d, line, sizeof(line)));
		return;
	}
	s->fd = fd;
	s->name = *name;
	s->flow = f;
	s->port =
		udpio_local_addr(fd, &local, &len) == 0 ? addr_port((struct sockaddr *)&local) : 0;
	ev_io_init(&s->io, src_cb, fd, EV_READ);
	ev_io_start(f->cl->loop, &s->io);
	log_info("flow %s: source %s delivers from %s:%u", f->route.flow.text, name->text,
		 f->src_bind == FLOW_UDP_SRC_LOCAL  ? FLOW_UDP_LOCAL_IP
		 : f->src_bind == FLOW_UDP_SRC_ANY4 ? "0.0.0.0"
						    : "[::]",
		 (unsigned)s->port);
}

/* Keep the sending sockets of sources that stay; close the others; open
 * one for each new remote source. */
static void sync_srcs(struct flow_udp *f)
{
	const struct frame_route *r = &f->route;
	enum flow_udp_src_bind bind = src_bind_for(&f->deliver);
	bool rebind = bind != f->src_bind;

	f->src_bind = bind;
	for (size_t i = 0; i < WIRE_MEMBERS_MAX; i++) {
		struct flow_udp_src *s = &f->srcs[i];
		bool keep = false;

		if (s->fd < 0) {
			continue;
		}
		for (size_t m = 0; m < r->member_count && !keep && !rebind; m++) {
			keep = flowrole_is_remote_source(r, self_id(f), m) &&
			       strcmp(r->members[m].name.text, s->name.text) == 0;
		}
		if (!keep) {
			close_fd(f, &s->io, &s->fd);
		}
	}
	for (size_t m = 0; m < r->member_count; m++) {
		if (flowrole_is_remote_source(r, self_id(f), m) &&
		    !find_src(f, r->members[m].name.text)) {
			open_src(f, &r->members[m].name);
		}
	}
}

/* Point the flow at the peers that exist now (after every apply). */
static void refresh_peers(struct flow_udp *f)
{
	for (size_t m = 0; m < WIRE_MEMBERS_MAX; m++) {
		f->peers[m] = m < f->route.member_count
				      ? peer_find(f->cl, f->route.members[m].name.text)
				      : NULL;
	}
	for (size_t i = 0; i < WIRE_MEMBERS_MAX; i++) {
		if (f->srcs[i].fd >= 0) {
			f->srcs[i].peer = peer_find(f->cl, f->srcs[i].name.text);
		}
	}
}

static void flow_free(struct flow_udp *f)
{
	if (!f) {
		return;
	}
	flowqos_free(f->qos);
	stop_listen_retry(f);
	close_fd(f, &f->listen_io, &f->listen_fd);
	for (size_t i = 0; i < WIRE_MEMBERS_MAX; i++) {
		close_fd(f, &f->srcs[i].io, &f->srcs[i].fd);
	}
	free(f);
}

/* Take route r as the flow's definition: reopen the listening socket only
 * when the listen port or role changed, keep the sources' sockets that stay. */
static void set_route(struct flow_udp *f, const struct frame_route *r)
{
	bool relisten = f->listen_fd < 0 || r->listen_port != f->route.listen_port ||
			!flowrole_listens(r, self_id(f));
	bool same_members = r->member_count == f->route.member_count;

	for (size_t m = 0; m < r->member_count && same_members; m++) {
		same_members = strcmp(r->members[m].name.text, f->route.members[m].name.text) == 0;
	}
	if (!same_members) {
		flowqos_remap_members(f->qos, &f->route, r); /* member indices change meaning */
	}
	f->route = *r;
	frameaddr_to_sockaddr(&r->deliver, &f->deliver);
	if (relisten) {
		/* A changed route tries its port afresh (and says so once). */
		stop_listen_retry(f);
		close_fd(f, &f->listen_io, &f->listen_fd);
		f->has_app = false;
		open_listen(f);
	}
	sync_srcs(f);
}

static struct flow_udp *flow_new(struct client *cl, const struct frame_route *r)
{
	struct flow_udp *f = calloc(1, sizeof(*f));

	if (!f) {
		return NULL;
	}
	f->cl = cl;
	f->listen_fd = -1;
	ev_init(&f->listen_retry, listen_retry_cb);
	for (size_t i = 0; i < WIRE_MEMBERS_MAX; i++) {
		f->srcs[i].fd = -1;
	}
	f->qos = flowqos_new(f);
	if (!f->qos) {
		flow_free(f);
		return NULL;
	}
	set_route(f, r);
	return f;
}

/* "source, listen 127.1.0.1:5600" / "sink, deliver 127.0.0.1:5600" / both. */
static const char *describe(const struct flow_udp *f, char *buf, size_t len)
{
	uint8_t roles = flowrole_self(&f->route, self_id(f));
	char dl[ADDR_TEXT_MAX];
	int n = 0;

	buf[0] = '\0';
	if (roles & FRAME_ROLE_SOURCE) {
		n = snprintf(buf, len, "source, listen %s:%u", FLOW_UDP_LOCAL_IP,
			     (unsigned)f->route.listen_port);
	}
	if ((roles & FRAME_ROLE_SINK) && n >= 0 && (size_t)n < len) {
		(void)snprintf(
			buf + n, len - (size_t)n, "%ssink, deliver %s", n > 0 ? "; " : "",
			f->route.deliver.family
				? addr_format((const struct sockaddr *)&f->deliver, dl, sizeof(dl))
				: "none");
	}
	return buf;
}

static void remove_missing(struct client *cl, const struct frame_route *routes, size_t n)
{
	struct flow_udp **pp = &cl->flows;

	while (*pp) {
		struct flow_udp *f = *pp;
		const struct frame_route *r = routeintake_find_route(routes, n, f->route.flow_id);

		if (r && r->proto == FRAME_PROTO_UDP) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		log_info("flow %s: removed", f->route.flow.text);
		flow_free(f);
	}
}

/* Close the listening socket of every flow that will listen elsewhere (or
 * not at all) before any flow opens one: two flows that swap ports in one
 * save (or one moving to the port another leaves) would otherwise find the
 * port still taken, and stay without a listening socket. */
static void release_moved_ports(struct client *cl, const struct frame_route *routes, size_t n)
{
	for (struct flow_udp *f = cl->flows; f; f = f->next) {
		const struct frame_route *r = routeintake_find_route(routes, n, f->route.flow_id);

		if (r && f->listen_fd >= 0 &&
		    (r->listen_port != f->route.listen_port || !flowrole_listens(r, self_id(f)))) {
			close_fd(f, &f->listen_io, &f->listen_fd);
			f->has_app = false;
		}
	}
}

void flow_udp_apply(struct client *cl, const struct frame_route *routes, size_t n,
		    const struct frame_flow_opts *opts, size_t n_opts, uint64_t now_us)
{
	char text[160];

	remove_missing(cl, routes, n);
	release_moved_ports(cl, routes, n);
	for (size_t i = 0; i < n; i++) {
		const struct frame_route *r = &routes[i];
		struct flow_udp *f = flow_udp_find(cl, r->flow_id);

		if (r->proto != FRAME_PROTO_UDP) {
			continue; /* TCP flows are flow_tcp.c's */
		}
		if (f && routeintake_route_equal(&f->route, r)) {
			f->route.generation = r->generation;
		} else if (f) {
			set_route(f, r);
			log_info("flow %s: changed (%s)", r->flow.text,
				 describe(f, text, sizeof(text)));
		} else {
			f = flow_new(cl, r);
			if (!f) {
				log_error("flow %s: out of memory", r->flow.text);
				continue;
			}
			f->next = cl->flows;
			cl->flows = f;
			log_info("flow %s: added (%s)", r->flow.text,
				 describe(f, text, sizeof(text)));
		}
		/* Options apply live, sockets untouched (issue #9). */
		flowqos_set_opts(f->qos, routeintake_find_opts(opts, n_opts, r->flow_id), now_us);
	}
	for (struct flow_udp *f = cl->flows; f; f = f->next) {
		refresh_peers(f);
	}
}

void flow_udp_free_all(struct client *cl)
{
	while (cl->flows) {
		struct flow_udp *f = cl->flows;
		const struct flow_udp_stats *s = &f->stats;

		cl->flows = f->next;
		log_debug("flow %s: tx_packets=%llu tx_bytes=%llu rx_packets=%llu rx_bytes=%llu "
			  "drop_too_big=%llu drop_no_peer=%llu drop_no_session=%llu "
			  "drop_not_member=%llu drop_wrong_role=%llu drop_no_app=%llu "
			  "drop_no_socket=%llu drop_queue_full=%llu drop_not_target=%llu "
			  "drop_peer_gone=%llu",
			  f->route.flow.text, (unsigned long long)s->tx_packets,
			  (unsigned long long)s->tx_bytes, (unsigned long long)s->rx_packets,
			  (unsigned long long)s->rx_bytes,
			  (unsigned long long)s->drops[FLOW_UDP_DROP_TOO_BIG],
			  (unsigned long long)s->drops[FLOW_UDP_DROP_NO_PEER],
			  (unsigned long long)s->drops[FLOW_UDP_DROP_NO_SESSION],
			  (unsigned long long)s->drops[FLOW_UDP_DROP_NOT_MEMBER],
			  (unsigned long long)s->drops[FLOW_UDP_DROP_WRONG_ROLE],
			  (unsigned long long)s->drops[FLOW_UDP_DROP_NO_APP],
			  (unsigned long long)s->drops[FLOW_UDP_DROP_NO_SOCKET],
			  (unsigned long long)s->drops[FLOW_UDP_DROP_QUEUE_FULL],
			  (unsigned long long)s->drops[FLOW_UDP_DROP_NOT_TARGET],
			  (unsigned long long)s->drops[FLOW_UDP_DROP_PEER_GONE]);
		flow_free(f);
	}
}

/* ---- datagrams ---- */

/* The index of peer p in the flow's member list, or WIRE_MEMBERS_MAX. */
static size_t member_of(const struct flow_udp *f, const struct peer *p)
{
	for (size_t m = 0; m < f->route.member_count; m++) {
		if (p && f->peers[m] == p) {
			return m;
		}
	}
	return WIRE_MEMBERS_MAX;
}

/* An app datagram of len bytes went to p, whose path drops full-size
 * packets, and len is over what is known to pass (linkmtu.h): say so, once
 * a minute per flow. Sent all the same: the path may widen (probed every
 * minute), and a lost datagram is what plain UDP would give. */
static void warn_narrow(struct flow_udp *f, const struct peer *p, size_t len, uint64_t now_us)
{
	size_t max = linkmtu_base_payload(p->cl);

	/* Most datagrams stop at the first test: no path lookup per packet. */
	if (len <= max ||
	    (f->narrow_warned_us != 0 && now_us - f->narrow_warned_us < FLOW_UDP_WARN_US) ||
	    !linkmtu_is_narrow(p,
			       f->qos->has_opts ? f->qos->opts.multipath : FRAME_MULTIPATH_FAILOVER,
			       now_us)) {
		return;
	}
	f->narrow_warned_us = now_us;
	log_warn("flow %s: datagrams of %zu bytes to %s may be lost: its path drops full-size "
		 "packets (found by probing); datagrams of up to %zu bytes get through (the flow's "
		 "mtu)",
		 f->route.flow.text, len, p->def.peer.text, max);
}

/* Is p gone (FLOW_UDP_PEER_GONE_US)? Then a datagram for it is dropped and
 * counted, and said once a minute per flow: sent, it would cost the uplink
 * and go nowhere (the relay drops what it has no live side for, a dead
 * direct address answers nothing), and the flow's drops would not show
 * that the sink is missing. Anything authenticated from the peer (a ping, a
 * handshake when it comes back) ends it. */
static bool peer_is_gone(struct flow_udp *f, const struct peer *p, uint64_t now_us)
{
	if (p->last_rx_us == 0 || now_us - p->last_rx_us < FLOW_UDP_PEER_GONE_US) {
		return false;
	}
	f->stats.drops[FLOW_UDP_DROP_PEER_GONE]++;
	if (f->gone_warned_us == 0 || now_us - f->gone_warned_us >= FLOW_UDP_WARN_US) {
		f->gone_warned_us = now_us;
		log_warn("flow %s: %s not heard for %llu s (offline?): its datagrams are dropped "
			 "until it is",
			 f->route.flow.text, p->def.peer.text,
			 (unsigned long long)((now_us - p->last_rx_us) / 1000000));
	}
	return true;
}

/* Send one app datagram to member m (peer p) as DATAGRAM with flags; each
 * member has its own sequence numbers (its losses are gaps in them). */
static void send_to_peer(struct flow_udp *f, size_t m, struct peer *p, uint8_t flags,
			 const uint8_t *buf, size_t len, uint64_t now_us)
{
	struct frame fr;
	uint32_t seq;
	int rc;

	if (!p || p->is_refused || m >= WIRE_MEMBERS_MAX) {
		f->stats.drops[FLOW_UDP_DROP_NO_PEER]++;
		return;
	}
	if (peer_is_gone(f, p, now_us)) {
		return;
	}
	memset(&fr, 0, sizeof(fr));
	fr.type = FRAME_DATAGRAM;
	fr.u.datagram.flow_id = f->route.flow_id;
	fr.u.datagram.flags = flags;
	seq = flowqos_next_seq(f->qos, m, &p->dg_seq_top);
	fr.u.datagram.seq = seq;
	fr.u.datagram.payload = buf;
	fr.u.datagram.payload_len = len;
	rc = peer_send_mode(p, &fr,
			    f->qos->has_opts ? f->qos->opts.multipath : FRAME_MULTIPATH_FAILOVER,
			    now_us);
	if (rc == 0) {
		f->stats.tx_packets++;
		f->stats.tx_bytes += len;
		flowqos_on_sent(f->qos, m, seq, len, now_us);
		warn_narrow(f, p, len, now_us);
	} else if (rc == -ENOTCONN || rc == -ESHUTDOWN) {
		/* The relay is the fast path; until the session is up, drop. */
		f->stats.drops[FLOW_UDP_DROP_NO_SESSION]++;
	} else {
		f->stats.drops[FLOW_UDP_DROP_QUEUE_FULL]++;
	}
}

/* Is datagram d from an app acceptable for f? Counts a refusal and says
 * so once a minute per flow: an app whose datagrams are all too large (iperf3
 * -u picks 32 KiB on loopback) would otherwise see nothing arrive and no
 * reason. */
static bool fits(struct flow_udp *f, const struct udpio_dgram *d, uint64_t now_us)
{
	size_t max = flowrole_payload_max(&f->route);

	/* A datagram over the mtu is refused, never truncated; the receive
	 * buffer is larger than any allowed one, so a truncated one is too big. */
	if (!d->is_truncated && d->len <= max) {
		return true;
	}
	f->stats.drops[FLOW_UDP_DROP_TOO_BIG]++;
	if (f->big_warned_us == 0 || now_us - f->big_warned_us >= FLOW_UDP_WARN_US) {
		f->big_warned_us = now_us;
		log_warn("flow %s: datagrams of %s%zu bytes from the app refused: over the flow's "
			 "limit of %zu (its mtu%s); send smaller ones (iperf3 -u: -l 1200)",
			 f->route.flow.text, d->is_truncated ? "more than " : "", d->len, max,
			 max == FLOWROLE_PAYLOAD_MAX ? ", or one encrypted packet's room" : "");
	}
	return false;
}

static void listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct flow_udp *f = container_of(w, struct flow_udp, listen_io);
	struct udpio_rx *rx = &f->cl->rx;
	uint64_t now_us = monotime_now_us();
	struct udpio_dgram d;

	(void)loop;
	(void)revents;
	if (udpio_rx_batch(rx, f->listen_fd) <= 0) {
		return;
	}
	while (udpio_rx_next(rx, &d)) {
		if (!fits(f, &d, now_us)) {
			continue;
		}
		/* Replies go to the app's last address. */
		f->app = *d.from;
		f->has_app = true;
		for (size_t m = 0; m < f->route.member_count; m++) {
			if (flowrole_is_remote_sink(&f->route, self_id(f), m)) {
				send_to_peer(f, m, f->peers[m], 0, d.data, d.len, now_us);
			}
		}
	}
}

/* A reply to a source's socket bound to a wildcard address (a delivery
 * target off loopback) is taken only from the target's host: that socket is
 * open on every interface, the modem's too. On 127.1.0.1 only this
 * machine's apps can reach it. */
static bool from_target_host(struct flow_udp *f, const struct sockaddr_storage *from)
{
	uint8_t a[16], b[16];
	size_t n;

	if (f->src_bind == FLOW_UDP_SRC_LOCAL) {
		return true;
	}
	n = addr_ip_bytes((const struct sockaddr *)from, a);
	if (n != 0 && n == addr_ip_bytes((const struct sockaddr *)&f->deliver, b) &&
	    memcmp(a, b, n) == 0) {
		return true;
	}
	f->stats.drops[FLOW_UDP_DROP_NOT_TARGET]++;
	return false;
}

static void src_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct flow_udp_src *s = container_of(w, struct flow_udp_src, io);
	struct flow_udp *f = s->flow;
	struct udpio_rx *rx = &f->cl->rx;
	uint64_t now_us = monotime_now_us();
	struct udpio_dgram d;

	(void)loop;
	(void)revents;
	if (udpio_rx_batch(rx, s->fd) <= 0) {
		return;
	}
	while (udpio_rx_next(rx, &d)) {
		if (!from_target_host(f, d.from) || !fits(f, &d, now_us)) {
			continue;
		}
		send_to_peer(f, member_of(f, s->peer), s->peer, FRAME_DATAGRAM_REPLY, d.data, d.len,
			     now_us);
	}
}

static bool send_local(struct flow_udp *f, int fd, const struct sockaddr_storage *dst,
		       const uint8_t *data, size_t len)
{
	if (mainsock_send(&f->cl->ms, fd, dst, data, len) != 0) {
		f->stats.drops[FLOW_UDP_DROP_QUEUE_FULL]++;
		return false;
	}
	f->stats.rx_packets++;
	f->stats.rx_bytes += len;
	return true;
}

bool flow_udp_deliver(struct flow_udp *f, size_t m, bool is_reply, const uint8_t *data, size_t len)
{
	struct flow_udp_src *s;

	if (is_reply) {
		if (f->listen_fd < 0 || !f->has_app) {
			f->stats.drops[FLOW_UDP_DROP_NO_APP]++;
			return false;
		}
		return send_local(f, f->listen_fd, &f->app, data, len);
	}
	s = m < f->route.member_count ? find_src(f, f->route.members[m].name.text) : NULL;
	if (!s) {
		f->stats.drops[FLOW_UDP_DROP_NO_SOCKET]++;
		return false;
	}
	return send_local(f, s->fd, &f->deliver, data, len);
}

void flow_udp_on_datagram(struct client *cl, struct peer *p, const struct frame_datagram *dg,
			  uint64_t now_us)
{
	struct flow_udp *f = flow_udp_find(cl, dg->flow_id);
	size_t m;

	if (!f) {
		cl->drop_frames++;
		return;
	}
	switch (flowrole_on_datagram(&f->route, cl->ini->id, p->def.peer.text, dg->flags)) {
	case FLOWROLE_DELIVER:
	case FLOWROLE_REPLY:
		m = member_of(f, p);
		if (m >= WIRE_MEMBERS_MAX) {
			f->stats.drops[FLOW_UDP_DROP_NOT_MEMBER]++;
			return;
		}
		/* Impairment, then flow_udp_deliver (client/flowqos.c). */
		flowqos_on_datagram(f->qos, m, (dg->flags & FRAME_DATAGRAM_REPLY) != 0, dg->seq,
				    dg->payload, dg->payload_len, now_us);
		return;
	case FLOWROLE_DROP_NOT_MEMBER:
		f->stats.drops[FLOW_UDP_DROP_NOT_MEMBER]++;
		return;
	case FLOWROLE_DROP_NOT_SINK:
	case FLOWROLE_DROP_NOT_SOURCE:
		f->stats.drops[FLOW_UDP_DROP_WRONG_ROLE]++;
		return;
	}
}

void flow_udp_on_cc(struct client *cl, struct peer *p, const struct frame *fr, uint64_t now_us)
{
	uint32_t flow_id = fr->type == FRAME_CC ? fr->u.cc.flow_id : fr->u.cc_echo.flow_id;
	struct flow_udp *f = flow_udp_find(cl, flow_id);
	size_t m = f ? member_of(f, p) : WIRE_MEMBERS_MAX;

	if (m >= WIRE_MEMBERS_MAX) {
		cl->drop_frames++;
		return;
	}
	flowqos_on_cc(f->qos, m, fr, now_us);
}

size_t flow_udp_report(struct client *cl, struct flow_udp_state *out, size_t max)
{
	size_t n = 0;

	for (struct flow_udp *f = cl->flows; f && n < max; f = f->next) {
		flow_udp_state_of(f, &out[n++]);
	}
	return n;
}

void flow_udp_state_of(struct flow_udp *f, struct flow_udp_state *st)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->name, f->route.flow.text, sizeof(st->name));
	st->flow_id = f->route.flow_id;
	st->stats = f->stats;
	flowqos_state(f->qos, st);
}
