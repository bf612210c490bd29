/* punchrun: one punch attempt's probes (see punchrun.h). */
#include "client/punchrun.h"

#include "client/client.h"
#include "client/direct.h"
#include "client/mainsock.h"
#include "client/natwatch.h"
#include "client/peer.h"
#include "client/uplink.h"
#include "client/xsock.h"
#include "common/addr.h"
#include "common/diag.h"
#include "common/log.h"
#include "nat/punch.h"
#include "proto/frameaddr.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void send_probe(struct punchrun *r, int fd, const struct sockaddr_storage *dst,
		       uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_PATH;
	f.u.path.op = FRAME_PATH_PROBE;
	f.u.path.token = r->token;
	if (direct_seal_to(r->p, fd, dst, &f, now_us) == 0) {
		r->sent++;
	}
}

static bool is_predict(const struct punchrun *r);

/* How long the attempt lasts after its start. */
static uint64_t run_span_us(const struct punchrun *r)
{
	unsigned scan;

	switch (r->role) {
	case FRAME_PUNCH_ROLE_SCAN:
		return (uint64_t)r->count * PUNCH_SCAN_INTERVAL_US + PUNCHRUN_TAIL_US;
	case FRAME_PUNCH_ROLE_SPRAY:
		/* The scanning side starts after our sockets are open and
		 * sends as many probes as the birthday bound asks for. */
		scan = punch_scan_probes(r->count, PUNCH_PORT_HI - PUNCH_PORT_LO + 1,
					 PUNCH_SCAN_SUCCESS);
		return ((uint64_t)r->count * PUNCH_SPRAY_INTERVAL_US) +
		       (uint64_t)scan * PUNCH_SCAN_INTERVAL_US + PUNCHRUN_TAIL_US;
	case FRAME_PUNCH_ROLE_PREDICT:
	case FRAME_PUNCH_ROLE_PREDICT_ODD:
	case FRAME_PUNCH_ROLE_PREDICT_OPEN:
	case FRAME_PUNCH_ROLE_PREDICT_SCAN:
		/* Until the bases are known (start_sending then moves the end). */
		return PUNCH_PREDICT_EXCHANGE_US;
	default:
		return PUNCH_ATTEMPT_US;
	}
}

struct punchrun *punchrun_new(struct peer *p, const struct frame_punch *k, int fd, uint64_t now_us)
{
	struct punchrun *r = calloc(1, sizeof(*r));

	if (!r) {
		return NULL;
	}
	r->p = p;
	r->fd = fd;
	r->uplink = k->uplink;
	r->token = k->token;
	r->strategy = k->strategy;
	r->role = k->role;
	r->count = k->count;
	r->peer_uplink = k->peer_uplink;
	for (uint8_t i = 0; i < k->addr_count && i < WIRE_ADDR_MAX; i++) {
		/* Of our uplink's family only (an IPv4 peer on an IPv6-only
		 * network without a NAT64 prefix: nothing to send to). */
		client_peer_addr(p->cl, k->uplink, &k->addrs[i], &r->cand[r->n_cand]);
		if (r->cand[r->n_cand].ss_family == uplink_family(p->cl, k->uplink)) {
			r->n_cand++;
		}
	}
	if (r->role == FRAME_PUNCH_ROLE_SPRAY && r->count > PUNCH_SPRAY_MAX) {
		r->count = PUNCH_SPRAY_MAX;
	}
	if (r->role == FRAME_PUNCH_ROLE_SCAN && r->count > PUNCH_SCAN_MAX) {
		r->count = PUNCH_SCAN_MAX;
	}
	if (is_predict(r)) {
		if (r->count > PUNCH_SPRAY_MAX) {
			r->count = PUNCH_SPRAY_MAX;
		}
		if (r->uplink < p->cl->n_up) {
			r->step = natwatch_frame_alloc_step(&p->cl->up[r->uplink].nw);
		}
	}
	if (r->role == FRAME_PUNCH_ROLE_SPRAY && r->count > 0) {
		r->socks = calloc(r->count, sizeof(*r->socks));
		if (!r->socks) {
			free(r);
			return NULL;
		}
	}
	if (r->role == FRAME_PUNCH_ROLE_SCAN) {
		r->ports = malloc(sizeof(*r->ports));
		if (!r->ports) {
			free(r);
			return NULL;
		}
		punch_ports_init(r->ports,
				 ((uint64_t)randombytes_random() << 32) | randombytes_random());
	}
	r->start_us = now_us + (uint64_t)k->delay_ms * 1000;
	r->end_us = r->start_us + run_span_us(r);
	return r;
}

void punchrun_free(struct punchrun *r)
{
	if (!r) {
		return;
	}
	for (unsigned i = 0; i < r->n_open; i++) {
		xsock_close(r->socks[i]);
	}
	xsock_close(r->measure);
	free(r->socks);
	free(r->ports);
	free(r);
}

struct xsock *punchrun_take(struct punchrun *r, int fd)
{
	for (unsigned i = 0; i < r->n_open; i++) {
		struct xsock *xs = r->socks[i];

		if (xs && xs->fd == fd) {
			r->socks[i] = NULL;
			return xs;
		}
	}
	return NULL;
}

bool punchrun_owns(const struct punchrun *r, int fd)
{
	for (unsigned i = 0; i < r->n_open; i++) {
		if (r->socks[i] && r->socks[i]->fd == fd) {
			return true;
		}
	}
	return false;
}

/* PROBE role: every candidate, every PUNCH_PROBE_INTERVAL_US. */
static uint64_t step_probe(struct punchrun *r, uint64_t now_us)
{
	uint64_t slot = (now_us - r->start_us) / PUNCH_PROBE_INTERVAL_US;

	if (r->slots_done <= slot) {
		for (uint8_t i = 0; i < r->n_cand; i++) {
			send_probe(r, r->fd, &r->cand[i], now_us);
		}
		r->slots_done = slot + 1;
	}
	return r->start_us + r->slots_done * PUNCH_PROBE_INTERVAL_US;
}

/* SPRAY role: slot k opens socket k (while k < count) or reuses socket
 * k % count, and sends one probe to the peer's mapped address. */
static void spray_slot(struct punchrun *r, uint64_t k, uint64_t now_us)
{
	unsigned i = (unsigned)(k % r->count);
	struct diag d;

	if (i >= r->n_open) {
		struct xsock *xs = xsock_open(r->p->cl, r->uplink, &d);

		if (!xs) {
			/* Out of ports or descriptors: spray with what we have. */
			if (r->open_errors++ == 0) {
				log_warn("peer %s: punch: cannot open spray socket %u: %s",
					 r->p->def.peer.text, i, d.msg);
			}
			r->count = (uint16_t)r->n_open;
			return;
		}
		r->socks[r->n_open++] = xs;
	}
	if (r->socks[i]) {
		send_probe(r, r->socks[i]->fd, &r->cand[0], now_us);
	}
}

/* SCAN role: slot k probes one not yet probed random port of the peer's IP. */
static void scan_slot(struct punchrun *r, uint64_t now_us)
{
	struct sockaddr_storage dst = r->cand[0];
	uint16_t port = punch_ports_next(r->ports);

	if (port != 0) {
		addr_set_port(&dst, port);
		send_probe(r, r->fd, &dst, now_us);
	}
}

static uint64_t step_paced(struct punchrun *r, uint64_t now_us, uint64_t interval_us,
			   uint64_t slots)
{
	uint64_t due = (now_us - r->start_us) / interval_us + 1;
	unsigned burst = 0;

	if (due > slots) {
		due = slots;
	}
	while (r->slots_done < due && burst++ < PUNCHRUN_BURST_MAX) {
		if (r->role == FRAME_PUNCH_ROLE_SPRAY) {
			if (r->count == 0) {
				return r->end_us;
			}
			spray_slot(r, r->slots_done, now_us);
		} else {
			scan_slot(r, now_us);
		}
		r->slots_done++;
	}
	if (r->slots_done >= slots) {
		return r->end_us;
	}
	return r->slots_done < due ? now_us : r->start_us + r->slots_done * interval_us;
}

/* ---- PREDICT ---- */

static bool is_predict(const struct punchrun *r)
{
	return r->role >= FRAME_PUNCH_ROLE_PREDICT && r->role <= FRAME_PUNCH_ROLE_PREDICT_SCAN;
}

/* Does r learn its own NAT's base (every predicting role but the cone
 * side's, whose mapping is the candidate the peer got)? */
static bool measures(const struct punchrun *r)
{
	return r->role != FRAME_PUNCH_ROLE_PREDICT_SCAN;
}

/* Does r aim at the peer's predicted ports (all but the symmetric side
 * facing a cone, which probes the cone's one mapping)? */
static bool aims_at_peer_base(const struct punchrun *r)
{
	return r->role != FRAME_PUNCH_ROLE_PREDICT_OPEN;
}

/* Between two new destinations (the side facing a cone has one). */
static uint64_t predict_interval_us(const struct punchrun *r)
{
	return aims_at_peer_base(r) ? PUNCH_PREDICT_INTERVAL_US : PUNCH_PROBE_INTERVAL_US;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return addr_port((const struct sockaddr *)ss);
}

static void send_base_request(struct punchrun *r)
{
	struct client *cl = r->p->cl;
	const struct sockaddr_storage *server = uplink_server_addr(cl, r->uplink);
	uint8_t buf[STUN_REQUEST_MAX];
	size_t len = 0;

	r->stun_sends++;
	if (server && stun_write_request(r->txid, 0, buf, sizeof(buf), &len) == 0) {
		(void)mainsock_send(&cl->ms, r->measure->fd, server, buf, len);
	}
}

/* Open the fresh socket and ask the server which mapping it got. False
 * when prediction cannot work from here. */
static bool start_measure(struct punchrun *r)
{
	const struct sockaddr_storage *server = uplink_server_addr(r->p->cl, r->uplink);
	struct diag d;

	if (r->step == 0 || !server || server->ss_family != r->cand[0].ss_family) {
		log_info("peer %s: punch: our NAT's port allocation is not known to be "
			 "sequential now; no prediction",
			 r->p->def.peer.text);
		return false;
	}
	r->measure = xsock_open(r->p->cl, r->uplink, &d);
	if (!r->measure) {
		log_warn("peer %s: punch: cannot open a socket to learn our NAT's next port: %s",
			 r->p->def.peer.text, d.msg);
		return false;
	}
	randombytes_buf(r->txid, sizeof(r->txid));
	send_base_request(r);
	return true;
}

static void send_mapping(struct punchrun *r, uint64_t now_us)
{
	struct sockaddr_storage next = r->base;
	uint16_t port = punch_predict_port(port_of(&r->base), r->step, 1);
	struct frame f;

	r->mapping_sends++;
	memset(&f, 0, sizeof(f));
	f.type = FRAME_PATH;
	f.u.path.op = FRAME_PATH_MAPPING;
	f.u.path.token = r->token;
	f.u.path.uplink = r->uplink;
	f.u.path.peer_uplink = r->peer_uplink;
	addr_set_port(&next, port);
	if (port == 0 ||
	    !frameaddr_from_sockaddr(&f.u.path.addrs[0], (const struct sockaddr *)&r->base) ||
	    !frameaddr_from_sockaddr(&f.u.path.addrs[1], (const struct sockaddr *)&next)) {
		return;
	}
	f.u.path.addr_count = 2;
	/* Over the relay: no direct path exists yet. */
	(void)direct_seal_to(r->p, uplink_ctl_fd(r->p->cl), &r->p->relay, &f, now_us);
}

static void start_sending(struct punchrun *r, uint64_t now_us)
{
	char a[ADDR_TEXT_MAX], b[ADDR_TEXT_MAX];

	r->send_start_us = now_us;
	r->slots_done = 0;
	r->end_us =
		now_us + (uint64_t)r->count * PUNCH_PREDICT_INTERVAL_US + PUNCH_PREDICT_CYCLE_US;
	if (!aims_at_peer_base(r)) {
		log_info("peer %s: punch: predicted: our port %s (step %d) is the last before the "
			 "one we open to %s",
			 r->p->def.peer.text,
			 addr_format((const struct sockaddr *)&r->base, a, sizeof(a)), r->step,
			 addr_format((const struct sockaddr *)&r->cand[0], b, sizeof(b)));
	} else if (!measures(r)) {
		log_info("peer %s: punch: probing the ports after %s (step %d)",
			 r->p->def.peer.text,
			 addr_format((const struct sockaddr *)&r->peer_base, b, sizeof(b)),
			 r->peer_step);
	} else {
		log_info("peer %s: punch: predicting from our port %s (step %d) and the peer's "
			 "%s (step %d)",
			 r->p->def.peer.text,
			 addr_format((const struct sockaddr *)&r->base, a, sizeof(a)), r->step,
			 addr_format((const struct sockaddr *)&r->peer_base, b, sizeof(b)),
			 r->peer_step);
	}
}

bool punchrun_on_stun(struct punchrun *r, int fd, const uint8_t *buf, size_t len,
		      const struct sockaddr_storage *from, uint64_t now_us)
{
	struct client *cl = r->p->cl;
	const struct sockaddr *m_addr;
	struct stun_msg m;

	if (!r->measure || r->measure->fd != fd || stun_read(buf, len, &m, NULL) != 0 ||
	    m.is_classic || m.type != STUN_BINDING_SUCCESS ||
	    memcmp(m.txid, r->txid, STUN_TXID_LEN) != 0 ||
	    !addr_equal((const struct sockaddr *)from,
			(const struct sockaddr *)uplink_server_addr(cl, r->uplink))) {
		return false;
	}
	m_addr = stun_msg_mapped(&m);
	if (!m_addr || m_addr->sa_family != r->cand[0].ss_family) {
		return true; /* the run ends at its deadline */
	}
	memset(&r->base, 0, sizeof(r->base));
	memcpy(&r->base, m_addr, addr_len((const struct sockaddr_storage *)(const void *)m_addr));
	r->base_us = now_us;
	/* The mapping stays in the NAT; the socket is of no more use. */
	xsock_close(r->measure);
	r->measure = NULL;
	send_mapping(r, now_us);
	if (!aims_at_peer_base(r) || r->peer_base.ss_family != 0) {
		start_sending(r, now_us);
	}
	return true;
}

int punchrun_on_mapping(struct punchrun *r, const struct frame_path *f, uint64_t now_us)
{
	struct sockaddr_storage m0, m1;
	int step;

	if (!is_predict(r) || !aims_at_peer_base(r) || f->addr_count < 2) {
		return -EINVAL;
	}
	client_peer_addr(r->p->cl, r->uplink, &f->addrs[0], &m0);
	client_peer_addr(r->p->cl, r->uplink, &f->addrs[1], &m1);
	step = (int)(int16_t)(uint16_t)(port_of(&m1) - port_of(&m0));
	/* Both of the peer's public IP as the server saw it. */
	addr_set_port(&m1, port_of(&r->cand[0]));
	if (m0.ss_family != r->cand[0].ss_family ||
	    !addr_equal((const struct sockaddr *)&m1, (const struct sockaddr *)&r->cand[0]) ||
	    step == 0 || abs(step) > WIRE_ALLOC_STEP_MAX) {
		return -EINVAL;
	}
	addr_set_port(&m1, port_of(&m0));
	if (!addr_equal((const struct sockaddr *)&m1, (const struct sockaddr *)&m0)) {
		return -EINVAL;
	}
	if (r->peer_base.ss_family != 0) {
		return 0; /* a repeat */
	}
	r->peer_base = m0;
	r->peer_step = step;
	if (!measures(r) || r->base.ss_family != 0) {
		start_sending(r, now_us);
	}
	return 0;
}

/* Slot k makes (first pass) or refreshes (later passes) our mapping
 * k % count + 1, towards the peer's predicted port for it; facing a cone,
 * every slot probes the cone's mapping. */
static void predict_slot(struct punchrun *r, uint64_t k, uint64_t now_us)
{
	uint32_t idx = punch_predict_target(r->role, (uint32_t)(k % r->count) + 1);
	uint16_t port = punch_predict_port(port_of(&r->peer_base), r->peer_step, idx);
	struct sockaddr_storage dst = r->peer_base;

	if (!aims_at_peer_base(r)) {
		send_probe(r, r->fd, &r->cand[0], now_us);
	} else if (port != 0) {
		addr_set_port(&dst, port);
		send_probe(r, r->fd, &dst, now_us);
	}
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* PREDICT roles: learn our base, swap bases, then one new mapping per
 * PUNCH_PREDICT_INTERVAL_US, cycling. 0 when the run cannot go on. */
static uint64_t step_predict(struct punchrun *r, uint64_t now_us)
{
	uint64_t next = r->end_us;
	uint64_t due;

	if (measures(r) && r->base.ss_family == 0) {
		if (!r->measure) { /* the first pass: measure is open until answered */
			return start_measure(r)
				       ? min_u64(next, r->start_us + PUNCH_PREDICT_STUN_RTO_US)
				       : 0;
		}
		due = r->start_us + (uint64_t)r->stun_sends * PUNCH_PREDICT_STUN_RTO_US;
		if (now_us >= due) {
			send_base_request(r); /* RFC 8489 §6.2.1: same transaction id */
			due += PUNCH_PREDICT_STUN_RTO_US;
		}
		return min_u64(next, due);
	}
	if (measures(r) && r->mapping_sends < PUNCH_PREDICT_MAPPING_SENDS) {
		due = r->base_us + (uint64_t)r->mapping_sends * PUNCH_PREDICT_MAPPING_GAP_US;
		if (now_us >= due) {
			send_mapping(r, now_us);
			due += PUNCH_PREDICT_MAPPING_GAP_US;
		}
		next = min_u64(next, due);
	}
	if (r->send_start_us != 0 && r->count > 0) {
		unsigned burst = 0;

		due = (now_us - r->send_start_us) / predict_interval_us(r) + 1;
		while (r->slots_done < due && burst++ < PUNCHRUN_BURST_MAX) {
			predict_slot(r, r->slots_done++, now_us);
		}
		next = min_u64(next,
			       r->slots_done < due
				       ? now_us
				       : r->send_start_us + r->slots_done * predict_interval_us(r));
	}
	return next;
}

uint64_t punchrun_step(struct punchrun *r, uint64_t now_us)
{
	uint64_t next;

	if (now_us >= r->end_us) {
		return 0;
	}
	if (now_us < r->start_us || r->n_cand == 0) {
		return r->n_cand == 0 ? r->end_us : r->start_us;
	}
	switch (r->role) {
	case FRAME_PUNCH_ROLE_SPRAY:
		/* Keep cycling through the sockets until the end: a probe that
		 * the peer's NAT dropped early may pass once it has sent to us. */
		next = step_paced(r, now_us, PUNCH_SPRAY_INTERVAL_US,
				  (r->end_us - r->start_us) / PUNCH_SPRAY_INTERVAL_US);
		break;
	case FRAME_PUNCH_ROLE_SCAN:
		next = step_paced(r, now_us, PUNCH_SCAN_INTERVAL_US, r->count);
		break;
	case FRAME_PUNCH_ROLE_PREDICT:
	case FRAME_PUNCH_ROLE_PREDICT_ODD:
	case FRAME_PUNCH_ROLE_PREDICT_OPEN:
	case FRAME_PUNCH_ROLE_PREDICT_SCAN:
		next = step_predict(r, now_us);
		if (next == 0) {
			return 0;
		}
		break;
	default:
		next = step_probe(r, now_us);
		break;
	}
	return next < r->end_us ? next : r->end_us;
}
