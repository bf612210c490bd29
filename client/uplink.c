/* uplink: sockets, NAT watches and registrations of the client's uplinks
 * (see uplink.h). */
#include "client/uplink.h"

#include "client/client.h"
#include "client/direct.h"
#include "client/inbound.h"
#include "client/mainsock.h"
#include "client/peer.h"
#include "client/resolver.h"
#include "client/srvaddr.h"
#include "client/srvconn.h"
#include "common/addr.h"
#include "common/diag.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/udpio.h"
#include "config/client_ini.h"

#include <net/if.h>
#include <string.h>
#include <unistd.h>

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void readable_cb(struct ev_loop *loop, ev_io *w, int revents);

void uplink_init_all(struct client *cl)
{
	size_t n = cl->ini->n_uplinks ? cl->ini->n_uplinks : 1;

	if (n > WIRE_UPLINKS_MAX) {
		n = WIRE_UPLINKS_MAX;
	}
	cl->n_up = n;
	for (size_t i = 0; i < n; i++) {
		struct uplink *u = &cl->up[i];

		memset(u, 0, sizeof(*u));
		u->cl = cl;
		u->id = (uint8_t)i;
		u->name = cl->ini->n_uplinks ? cl->ini->uplinks[i].name : "";
		u->fd = -1;
		u->next_register_us = UINT64_MAX;
		natwatch_init(&u->nw);
		ev_init(&u->timer, timer_cb);
		ev_init(&u->io, readable_cb);
	}
}

struct uplink *uplink_by_fd(struct client *cl, int fd)
{
	if (fd < 0) {
		return &cl->up[0];
	}
	for (size_t i = 1; i < cl->n_up; i++) {
		if (cl->up[i].fd == fd) {
			return &cl->up[i];
		}
	}
	return NULL;
}

int uplink_send_fd(const struct client *cl, uint8_t id)
{
	if (id == 0) {
		return -1;
	}
	return id < cl->n_up && cl->up[id].fd >= 0 ? cl->up[id].fd : -2;
}

const char *uplink_label(const struct client *cl, uint8_t id)
{
	static const char *const digits[WIRE_UPLINKS_MAX] = {"0", "1", "2", "3",
							     "4", "5", "6", "7"};

	if (id >= WIRE_UPLINKS_MAX) {
		return "?";
	}
	return id < cl->n_up && cl->up[id].name[0] ? cl->up[id].name : digits[id];
}

int uplink_ctl_fd(const struct client *cl)
{
	int fd = uplink_send_fd(cl, cl->ctl);

	return fd == -2 ? -1 : fd;
}

uint8_t uplink_next_ctl(const struct client *cl)
{
	for (size_t k = 1; k <= cl->n_up; k++) {
		uint8_t id = (uint8_t)((cl->ctl + k) % cl->n_up);

		if (uplink_is_open(cl, id) && uplink_server_addr(cl, id)) {
			return id;
		}
	}
	return cl->ctl;
}

int uplink_family(const struct client *cl, uint8_t id)
{
	/* family 0: not opened yet. */
	return id == 0 || id >= cl->n_up || cl->up[id].family == 0 ? cl->family : cl->up[id].family;
}

const struct sockaddr_storage *uplink_server_addr(const struct client *cl, uint8_t id)
{
	return srvaddr_for_family(cl, cl->srv.server_i, uplink_family(cl, id));
}

void uplink_on_probe_answered(struct client *cl, uint8_t id, uint64_t now_us)
{
	struct natwatch *nw = &cl->up[id].nw;

	if (id >= cl->ctl || nw->answered_in_row < UPLINK_RETURN_PROBES || !srvconn_is_up(cl) ||
	    !uplink_is_open(cl, id)) {
		return;
	}
	log_info("server: uplink %s answers again (%u probes in a row), moving the session back "
		 "from uplink %s",
		 uplink_label(cl, id), nw->answered_in_row, uplink_label(cl, cl->ctl));
	/* Should the handshake fail there, srvconn moves on to the next
	 * uplink; this uplink must then prove itself again first. */
	nw->answered_in_row = 0;
	srvconn_move_ctl(cl, id, now_us);
}

void uplink_on_ctl_lost(struct client *cl, uint8_t id)
{
	if (id < cl->n_up) {
		cl->up[id].nw.answered_in_row = 0;
	}
}

bool uplink_is_open(const struct client *cl, uint8_t id)
{
	return id == 0 ? !cl->up[0].is_gone : uplink_send_fd(cl, id) >= 0;
}

uint8_t uplink_open_mask(const struct client *cl)
{
	uint8_t m = 0;

	for (size_t i = 0; i < cl->n_up; i++) {
		if (uplink_is_open(cl, (uint8_t)i)) {
			m |= (uint8_t)(1u << i);
		}
	}
	return m;
}

/* ---- sockets ---- */

static void readable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct uplink *u = container_of(w, struct uplink, io);
	struct client *cl = u->cl;
	uint64_t now_us = monotime_now_us();
	int fd = u->fd;
	struct udpio_dgram d;

	(void)loop;
	(void)revents;
	if (udpio_rx_batch(&cl->rx, fd) <= 0) {
		return;
	}
	while (udpio_rx_next(&cl->rx, &d)) {
		bool alive = true;

		if (d.is_truncated) {
			continue;
		}
		u->rx_packets++;
		/* The handler may close this uplink (its interface is gone):
		 * then the batch ends here. */
		u->alive = &alive;
		inbound_dispatch(cl, fd, d.data, d.len, d.from, now_us);
		if (!alive) {
			return;
		}
		u->alive = NULL;
	}
}

/* The interface uplink id is bound to, or NULL (a source address, or none). */
static const char *interface_of(const struct client *cl, uint8_t id)
{
	return client_ini_interface(cl->ini, id);
}

static void rearm(struct uplink *u, uint64_t now_us)
{
	bool closed = u->id != 0 && u->fd < 0;
	uint64_t d = closed ? u->next_open_us : u->next_register_us;

	if (!closed && interface_of(u->cl, u->id) && u->next_check_us < d) {
		d = u->next_check_us;
	}

	ev_timer_stop(u->cl->loop, &u->timer);
	if (d == UINT64_MAX) {
		return;
	}
	ev_timer_set(&u->timer, d > now_us ? (double)(d - now_us) / 1e6 : 0.0, 0.0);
	ev_timer_start(u->cl->loop, &u->timer);
}

/* The family uplink u (>= 1) opens its socket in (uplink_family);
 * *is_routed: the server has an address of it with a route through u's
 * interface (false: no family has, or u has a source address). */
static int choose_family(const struct uplink *u, bool *is_routed)
{
	const struct client *cl = u->cl;
	const char *ifname = interface_of(cl, u->id);
	int other = cl->family == AF_INET ? AF_INET6 : AF_INET;
	const struct sockaddr_storage *a;

	*is_routed = false;
	if (!ifname) {
		return u->id < cl->ini->n_uplinks && cl->ini->uplinks[u->id].source.ss_family != 0
			       ? cl->ini->uplinks[u->id].source.ss_family
			       : cl->family;
	}
	*is_routed = true;
	a = srvaddr_for_family(cl, cl->srv.server_i, cl->family);
	if (a && resolver_has_route(a, ifname)) {
		return cl->family;
	}
	a = srvaddr_for_family(cl, cl->srv.server_i, other);
	if (a && resolver_has_route(a, ifname)) {
		return other;
	}
	*is_routed = false;
	return cl->family;
}

static bool try_open(struct uplink *u, uint64_t now_us)
{
	struct client *cl = u->cl;
	bool is_routed;
	socklen_t len = sizeof(u->local);
	char text[ADDR_TEXT_MAX];
	struct diag d;
	int fd;

	diag_clear(&d);
	u->family = choose_family(u, &is_routed);
	fd = mainsock_open_fd(cl->ini, u->family, u->id, &d);
	if (fd < 0) {
		if (u->open_failures++ == 0) {
			log_warn("uplink %s: cannot open its socket (%s); retrying every %llu s",
				 u->name, d.msg,
				 (unsigned long long)(UPLINK_REOPEN_US / 1000000ull));
		}
		u->next_open_us = now_us + UPLINK_REOPEN_US;
		return false;
	}
	(void)udpio_enable_gro(fd); /* read through the client's GRO rx */
	u->fd = fd;
	u->open_failures = 0;
	u->is_no_server_logged = false;
	u->has_bound = false;
	u->ifindex = interface_of(cl, u->id) ? if_nametoindex(interface_of(cl, u->id)) : 0;
	u->next_check_us = now_us + UPLINK_CHECK_US;
	if (udpio_local_addr(fd, &u->local, &len) == 0) {
		log_info("uplink %s: bound %s", u->name,
			 addr_format((struct sockaddr *)&u->local, text, sizeof(text)));
	}
	ev_io_set(&u->io, fd, EV_READ);
	ev_io_start(cl->loop, &u->io);
	natwatch_init(&u->nw);
	natwatch_start(&u->nw, cl, u->id, fd);
	u->next_register_us = now_us;
	return true;
}

static void close_uplink(struct uplink *u, uint64_t now_us)
{
	if (u->fd < 0) {
		return;
	}
	/* Paths on it must not send on a closed (and maybe reused) fd; the
	 * server session moves when it ran on it. */
	direct_on_uplink_down(u->cl, u->id, now_us);
	if (u->id == u->cl->ctl) {
		srvconn_on_ctl_down(u->cl, now_us);
	}
	if (u->alive) {
		*u->alive = false;
	}
	natwatch_fini(&u->nw);
	ev_io_stop(u->cl->loop, &u->io);
	mainsock_forget_fd(&u->cl->ms, u->fd);
	close(u->fd);
	u->fd = -1;
}

/* ---- registration ---- */

static void send_register(struct uplink *u, uint64_t now_us)
{
	struct client *cl = u->cl;
	uint64_t keepalive_us = srvconn_keepalive_us(cl);
	const struct sockaddr_storage *dst;
	struct frame fs[2];
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_REGISTER;
	f.u.reg.uplink_id = u->id;
	f.u.reg.boot_id = cl->boot_id; /* the same process whichever uplink says it */
	f.u.reg.natclass = natwatch_frame_natclass(&u->nw);
	f.u.reg.alloc_step = natwatch_frame_alloc_step(&u->nw);
	if (u->name[0] && frame_name_set(&f.u.reg.name, u->name) != 0) {
		memset(&f.u.reg.name, 0, sizeof(f.u.reg.name)); /* not a valid name: none */
	}
	/* With a PING in the same packet (alone, from an address the server
	 * does not know as this uplink's, it would count as the session's):
	 * the PONG comes back on this socket and shows the REGISTER got through. */
	fs[0] = f;
	memset(&fs[1], 0, sizeof(fs[1]));
	fs[1].type = FRAME_PING;
	fs[1].u.ping.tx_us = now_us;
	dst = uplink_server_addr(cl, u->id);
	if (!dst) {
		if (!u->is_no_server_logged) {
			log_info("uplink %s: the server has no IPv%c address: it cannot register",
				 uplink_label(cl, u->id),
				 uplink_family(cl, u->id) == AF_INET6 ? '6' : '4');
			u->is_no_server_logged = true;
		}
	} else if (srvconn_send_frames_fd(cl, u->id == 0 ? -1 : u->fd, fs, 2, dst, now_us) == 0) {
		u->registers++;
	}
	if (u->register_retry_us < UPLINK_REGISTER_RETRY_MIN_US) {
		u->register_retry_us = UPLINK_REGISTER_RETRY_MIN_US;
	}
	u->register_sent_us = now_us;
	u->is_register_answered = false;
	u->next_register_us = now_us + (u->register_retry_us < keepalive_us ? u->register_retry_us
									    : keepalive_us);
	u->register_retry_us *= 2;
}

const char *uplink_server_state(const struct client *cl, uint8_t id)
{
	const struct uplink *u = id < cl->n_up ? &cl->up[id] : NULL;

	if (!u || !srvconn_is_up(cl) || !uplink_is_open(cl, id)) {
		return "none";
	}
	if (id == cl->ctl) {
		return "session";
	}
	return u->register_sent_us != 0 && u->is_register_answered ? "registered" : "registering";
}

void uplink_on_server_rx(struct client *cl, int fd, uint64_t now_us)
{
	struct uplink *u = uplink_by_fd(cl, fd);

	if (!u || u->id == cl->ctl || u->register_sent_us == 0 || u->is_register_answered) {
		return;
	}
	if (!u->has_bound) {
		/* It may have opened after the peers bound the relay from
		 * every uplink: bind from it too now, not a keepalive later. */
		u->has_bound = true;
		peer_all_bind_now(cl, now_us);
	}
	u->is_register_answered = true;
	u->register_retry_us = UPLINK_REGISTER_RETRY_MIN_US;
	u->next_register_us = u->register_sent_us + srvconn_keepalive_us(cl);
	rearm(u, now_us);
}

/* An interface uplink whose interface is gone or was re-created (another
 * index): reopen its socket (uplink 0: the main socket). */
static void check_interface(struct uplink *u, uint64_t now_us)
{
	struct client *cl = u->cl;
	const char *ifname = interface_of(cl, u->id);
	unsigned idx;
	struct diag d;

	if (!ifname || now_us < u->next_check_us) {
		return;
	}
	u->next_check_us = now_us + UPLINK_CHECK_US;
	idx = if_nametoindex(ifname);
	if (idx == u->ifindex) {
		return;
	}
	log_info("uplink %s: interface %s %s, reopening its socket", u->name, ifname,
		 idx == 0 ? "is gone" : "was re-created");
	if (u->id != 0) {
		close_uplink(u, now_us);
		u->ifindex = 0;
		u->next_open_us = now_us;
		return;
	}
	diag_clear(&d);
	direct_on_uplink_down(cl, 0, now_us);
	if (mainsock_reopen(&cl->ms, cl->ini, cl->family, &d) != 0) {
		log_warn("uplink %s: cannot reopen the main socket (%s); retrying", u->name, d.msg);
		u->ifindex = 0; /* try again at the next check */
		if (!u->is_gone) {
			/* Down like a closed uplink: no paths on it, and the
			 * server session moves when it ran on it. */
			u->is_gone = true;
			if (cl->ctl == 0) {
				srvconn_on_ctl_down(cl, now_us);
			}
		}
		return;
	}
	u->is_gone = false;
	u->ifindex = idx;
	u->local = cl->ms.local;
	/* Where are we now: a new mapping rebinds the relay and registers
	 * (uplink 0 as another uplink when the session moved away). */
	natwatch_probe_now(&u->nw, now_us);
	if (cl->ctl == 0) {
		srvconn_ping_now(cl, now_us);
	} else {
		uplink_reregister(cl, 0, now_us);
	}
}

/* An uplink >= 1 that the server has not answered (its REGISTER, or no
 * session yet) and whose family no longer routes while the other does:
 * close it, to reopen in that family now (with neither routed, as while a
 * modem reconnects, it stays). True when it did. */
static bool refamily(struct uplink *u, uint64_t now_us)
{
	struct client *cl = u->cl;
	bool is_routed;
	int family;

	if (u->id == 0 || u->fd < 0 || u->id == cl->ctl ||
	    (u->register_sent_us != 0 && u->is_register_answered)) {
		return false;
	}
	family = choose_family(u, &is_routed);
	if (family == u->family || !is_routed) {
		return false;
	}
	log_info("uplink %s: the server is reached over IPv%c through it now: reopening its socket",
		 uplink_label(cl, u->id), family == AF_INET6 ? '6' : '4');
	close_uplink(u, now_us);
	u->next_open_us = now_us;
	return true;
}

void uplink_check_families(struct client *cl, uint64_t now_us)
{
	for (size_t i = 1; i < cl->n_up; i++) {
		if (refamily(&cl->up[i], now_us)) {
			rearm(&cl->up[i], now_us);
		}
	}
	for (size_t i = 0; i < cl->n_up; i++) {
		natwatch_on_server_addr(&cl->up[i].nw, now_us);
	}
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct uplink *u = container_of(w, struct uplink, timer);
	uint64_t now_us = monotime_now_us();

	(void)loop;
	(void)revents;
	check_interface(u, now_us);
	if (u->id != 0 && u->fd < 0) {
		if (!try_open(u, now_us)) {
			rearm(u, now_us);
			return;
		}
	}
	if (now_us >= u->next_register_us && refamily(u, now_us)) {
		rearm(u, now_us);
		return;
	}
	if (now_us >= u->next_register_us) {
		if (srvconn_is_registered(u->cl) && u->id != u->cl->ctl) {
			send_register(u, now_us);
		} else {
			u->next_register_us = UINT64_MAX; /* uplink_on_server_up */
		}
	}
	rearm(u, now_us);
}

void uplink_on_server_up(struct client *cl, uint64_t now_us)
{
	for (size_t i = 0; i < cl->n_up; i++) {
		if (i != cl->ctl) {
			cl->up[i].register_retry_us = 0; /* a new session: retries start short */
			uplink_reregister(cl, (uint8_t)i, now_us);
		}
	}
}

void uplink_reregister(struct client *cl, uint8_t id, uint64_t now_us)
{
	struct uplink *u;

	if (id == cl->ctl) {
		srvconn_reregister(cl, now_us);
		return;
	}
	if (!uplink_is_open(cl, id) || id >= cl->n_up) {
		return;
	}
	u = &cl->up[id];
	if (srvconn_is_registered(cl)) {
		send_register(u, now_us);
	}
	rearm(u, now_us);
}

int uplink_set_family(struct client *cl, int family, uint64_t now_us)
{
	int was = cl->family;
	struct diag d;

	diag_clear(&d);
	cl->family = family;
	if (mainsock_reopen(&cl->ms, cl->ini, family, &d) != 0) {
		cl->family = was;
		log_warn("uplink %s: cannot open a socket of IPv%c (%s); staying on IPv%c",
			 uplink_label(cl, 0), family == AF_INET6 ? '6' : '4', d.msg,
			 was == AF_INET6 ? '6' : '4');
		return -1;
	}
	cl->up[0].local = cl->ms.local;
	direct_on_uplink_down(cl, 0, now_us);
	/* What it learnt of its NAT was through the other family: classify
	 * anew (the others do as they reopen). */
	natwatch_fini(&cl->up[0].nw);
	natwatch_init(&cl->up[0].nw);
	natwatch_start(&cl->up[0].nw, cl, 0, -1);
	for (size_t i = 1; i < cl->n_up; i++) {
		struct uplink *u = &cl->up[i];

		close_uplink(u, now_us);
		u->next_open_us = now_us;
		rearm(u, now_us);
	}
	return 0;
}

void uplink_on_keepalive(struct client *cl, uint64_t now_us)
{
	for (size_t i = 0; i < cl->n_up; i++) {
		natwatch_on_keepalive(&cl->up[i].nw, now_us);
	}
}

void uplink_start_all(struct client *cl)
{
	uint64_t now_us = monotime_now_us();

	cl->up[0].local = cl->ms.local;
	natwatch_start(&cl->up[0].nw, cl, 0, -1);
	if (interface_of(cl, 0)) {
		cl->up[0].ifindex = if_nametoindex(interface_of(cl, 0));
		cl->up[0].next_check_us = now_us + UPLINK_CHECK_US;
		rearm(&cl->up[0], now_us);
	}
	for (size_t i = 1; i < cl->n_up; i++) {
		struct uplink *u = &cl->up[i];

		if (!try_open(u, now_us)) {
			rearm(u, now_us);
		}
	}
}

void uplink_fini_all(struct client *cl)
{
	for (size_t i = 0; i < cl->n_up; i++) {
		struct uplink *u = &cl->up[i];

		if (cl->loop) {
			ev_timer_stop(cl->loop, &u->timer);
		}
		if (i == 0) {
			natwatch_fini(&u->nw);
			continue;
		}
		close_uplink(u, 0);
	}
	cl->n_up = 0;
}
