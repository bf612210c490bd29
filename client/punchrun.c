/* punchrun: one punch attempt's probes (see punchrun.h). */
#include "client/punchrun.h"

#include "client/client.h"
#include "client/direct.h"
#include "client/peer.h"
#include "client/xsock.h"
#include "common/addr.h"
#include "common/diag.h"
#include "common/log.h"
#include "nat/punch.h"
#include "proto/frameaddr.h"

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
	for (uint8_t i = 0; i < k->addr_count && i < WIRE_ADDR_MAX; i++) {
		frameaddr_to_sockaddr(&k->addrs[i], &r->cand[r->n_cand]);
		if (r->cand[r->n_cand].ss_family != AF_UNSPEC) {
			r->n_cand++;
		}
	}
	if (r->role == FRAME_PUNCH_ROLE_SPRAY && r->count > PUNCH_SPRAY_MAX) {
		r->count = PUNCH_SPRAY_MAX;
	}
	if (r->role == FRAME_PUNCH_ROLE_SCAN && r->count > PUNCH_SCAN_MAX) {
		r->count = PUNCH_SCAN_MAX;
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
	default:
		next = step_probe(r, now_us);
		break;
	}
	return next < r->end_us ? next : r->end_us;
}
