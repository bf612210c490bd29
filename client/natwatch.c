/* natwatch: drives the nat/natclass engine from the daemon's main socket and
 * watches the mapped address (DESIGN §5.2, §5.4; PROTOCOL.md "Client <->
 * server", "Relay"; issues #4, #5). Owns the run in progress and one timer
 * set to the earliest of the run's wake time, the probe's retransmission and
 * the next probe (one per keepalive interval). Sends go through the main
 * socket's queue; answers come from inbound.c (DEMUX_STUN). Never runs two
 * classifications at once, never probes while one runs (the run's binding
 * test tells the mapped address too), and keeps at most one probe in
 * flight. Parsing and policy stay in nat/: this file moves datagrams, keeps
 * time and tells srvconn and the peers what changed. */
#include "natwatch.h"

#include "client/client.h"
#include "client/natcheck.h"
#include "client/peer.h"
#include "client/srvconn.h"
#include "client/uplink.h"
#include "common/addr.h"
#include "common/compiler.h"
#include "common/monotime.h"
#include "config/client_ini.h"
#include "proto/frame.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static const uint8_t frame_class[NATCLASS_TYPE_COUNT] = {
	[NATCLASS_OPEN] = FRAME_NAT_OPEN,
	[NATCLASS_FULL_CONE] = FRAME_NAT_FULL_CONE,
	[NATCLASS_RESTRICTED_CONE] = FRAME_NAT_RESTRICTED,
	[NATCLASS_PORT_RESTRICTED_CONE] = FRAME_NAT_PORT_RESTRICTED,
	[NATCLASS_SYMMETRIC] = FRAME_NAT_SYMMETRIC,
	[NATCLASS_UDP_BLOCKED] = FRAME_NAT_UNKNOWN, /* nothing to tell the server */
};

void natwatch_init(struct natwatch *nw)
{
	memset(nw, 0, sizeof(*nw));
	nw->armed_us = UINT64_MAX;
	nw->natclass = FRAME_NAT_UNKNOWN;
	ev_init(&nw->timer, timer_cb);
}

uint8_t natwatch_frame_natclass(const struct natwatch *nw)
{
	return nw->natclass;
}

int8_t natwatch_frame_alloc_step(const struct natwatch *nw)
{
	return nw->alloc_step;
}

/* The socket the watch runs on: its fd for the send queue (-1: the main
 * socket) and the real descriptor. */
static int real_fd(const struct natwatch *nw)
{
	return nw->fd < 0 ? nw->cl->ms.fd : nw->fd;
}

/* Tell who depends on the mapping or the class: every uplink binds the
 * relay ports (a new mapping binds them again), and registers again: the
 * control uplink's is the server session's REGISTER. */
static void tell_changed(struct natwatch *nw, bool mapping, uint64_t now_us)
{
	struct client *cl = nw->cl;

	if (mapping) {
		peer_all_rebind(cl, now_us);
	}
	uplink_reregister(cl, nw->uplink, now_us);
}

static const char *format_mapped(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == 0) {
		return "none";
	}
	return addr_format((const struct sockaddr *)ss, buf, len);
}

static uint64_t deadline(const struct natwatch *nw)
{
	const struct client *cl = nw->cl;

	if (nw->run) {
		return nw->run_wake_us;
	}
	if (nw->is_probing && nw->probe_tries < NATWATCH_PROBE_TRIES) {
		return nw->probe_start_us + (uint64_t)nw->probe_tries * NATWATCH_PROBE_RTO_US;
	}
	return nw->probe_start_us + srvconn_keepalive_us(cl);
}

/* Events are rare (a timer, a STUN answer): set the timer whenever the
 * deadline moved or it fired. */
static void rearm(struct natwatch *nw, uint64_t now_us)
{
	struct client *cl = nw->cl;
	uint64_t d = deadline(nw);

	if (d == nw->armed_us && ev_is_active(&nw->timer)) {
		return;
	}
	ev_timer_stop(cl->loop, &nw->timer);
	nw->armed_us = d;
	ev_timer_set(&nw->timer, d > now_us ? (double)(d - now_us) / 1e6 : 0.0, 0.0);
	ev_timer_start(cl->loop, &nw->timer);
}

/* ---- the mapped address ---- */

/* A mapped address towards the server's primary address, from a probe or a
 * run. Returns true if it differs from the one known before; then every
 * relay port is bound again at once (PROTOCOL.md "Relay": after any change
 * of the mapped address) and the server hears from the new address. */
static bool note_mapped(struct natwatch *nw, const struct sockaddr_storage *mapped, uint64_t now_us)
{
	char a[ADDR_TEXT_MAX], b[ADDR_TEXT_MAX];

	if (nw->mapped.ss_family == 0) {
		nw->mapped = *mapped;
		return false;
	}
	if (addr_equal((const struct sockaddr *)&nw->mapped, (const struct sockaddr *)mapped)) {
		return false;
	}
	/* An answer needs our random transaction id, one per probe: at most a
	 * few lines per keepalive interval; the bucket bounds it anyway. */
	log_ratelimited(&nw->log, now_us, LOG_LEVEL_INFO, "nat%s: mapped address changed %s -> %s",
			nw->tag, format_mapped(&nw->mapped, a, sizeof(a)),
			format_mapped(mapped, b, sizeof(b)));
	nw->mapped = *mapped;
	nw->changes++;
	tell_changed(nw, true, now_us);
	return true;
}

/* ---- classification runs ---- */

static void drive(struct natwatch *nw, uint64_t now_us);

static void start_run(struct natwatch *nw, uint64_t now_us)
{
	struct client *cl = nw->cl;
	struct natclass_params p;
	int rc;

	if (!uplink_server_addr(cl, nw->uplink)) {
		/* A server name with no address (of this uplink's family) yet:
		 * natwatch_on_server_addr. */
		nw->is_waiting_server = true;
		log_debug("nat%s: waiting for the server's address", nw->tag);
		return;
	}
	nw->is_waiting_server = false;
	memset(&p, 0, sizeof(p));
	p.server = *uplink_server_addr(cl, nw->uplink);
	p.pref64 = cl->sa.pref64;
	natcheck_local_addrs(real_fd(nw), &p);
	randombytes_buf(p.seed, sizeof(p.seed));
	rc = natclass_new(&p, now_us, &nw->run);
	sodium_memzero(p.seed, sizeof(p.seed));
	if (rc != 0) {
		nw->run = NULL;
		nw->can_classify = false;
		log_warn("nat%s: cannot classify: %s", nw->tag, strerror(-rc));
		return;
	}
	nw->can_classify = true;
	/* The run's first test is a binding request to the same address: no
	 * probe of our own until it is over. */
	nw->is_probing = false;
	log_debug("nat%s: classifying", nw->tag);
	drive(nw, now_us);
}

/* Classify now, or right after the run in progress: never two at once. */
static void want_run(struct natwatch *nw, uint64_t now_us)
{
	if (nw->run) {
		nw->is_rerun_wanted = true;
		return;
	}
	start_run(nw, now_us);
}

static bool result_differs(const struct natclass_result *a, const struct natclass_result *b)
{
	return a->type != b->type || a->mapping != b->mapping || a->filtering != b->filtering ||
	       a->allocation != b->allocation || a->allocation_step != b->allocation_step ||
	       a->mapped.ss_family != b->mapped.ss_family ||
	       (a->mapped.ss_family != 0 && !addr_equal((const struct sockaddr *)&a->mapped,
							(const struct sockaddr *)&b->mapped));
}

static void finish_run(struct natwatch *nw, uint64_t now_us)
{
	struct natclass_result r;
	char text[ADDR_TEXT_MAX];
	uint8_t fc;
	int8_t step;
	int rc = natclass_get_result(nw->run, &r);

	natclass_free(nw->run);
	nw->run = NULL;
	nw->runs++;
	nw->probe_start_us = now_us;
	if (rc != 0) {
		log_warn("nat%s: classification ended without a result", nw->tag);
	} else {
		if (!nw->has_result || result_differs(&r, &nw->result)) {
			log_ratelimited(
				&nw->log, now_us, LOG_LEVEL_INFO,
				"nat%s: %s mapping=%s filtering=%s mapped=%s ports=%s step=%d "
				"elapsed_ms=%llu",
				nw->tag, natclass_type_name(r.type),
				natclass_behaviour_name(r.mapping),
				natclass_behaviour_name(r.filtering),
				format_mapped(&r.mapped, text, sizeof(text)),
				natclass_alloc_name(r.allocation), r.allocation_step,
				(unsigned long long)(r.elapsed_us / 1000));
		}
		nw->result = r;
		nw->has_result = true;
		if (r.mapped.ss_family != 0) {
			/* This run saw the current mapping: a change is handled now. */
			(void)note_mapped(nw, &r.mapped, now_us);
		}
		fc = (unsigned)r.type < NATCLASS_TYPE_COUNT ? frame_class[r.type]
							    : FRAME_NAT_UNKNOWN;
		step = r.allocation == NATCLASS_ALLOC_SEQUENTIAL &&
				       abs(r.allocation_step) <= WIRE_ALLOC_STEP_MAX
			       ? (int8_t)r.allocation_step
			       : 0;
		if (fc != nw->natclass || step != nw->alloc_step) {
			nw->natclass = fc;
			nw->alloc_step = step;
			tell_changed(nw, false, now_us);
		}
	}
	if (nw->is_rerun_wanted) {
		nw->is_rerun_wanted = false;
		start_run(nw, now_us);
	}
}

/* Do what the engine asks until it waits or is done. */
static void drive(struct natwatch *nw, uint64_t now_us)
{
	struct natclass_send send;

	for (unsigned i = 0; i < NATWATCH_SENDS_PER_PASS && nw->run; i++) {
		switch (natclass_next(nw->run, now_us, &send)) {
		case NATCLASS_SEND:
			/* A full queue is like a lost datagram: the engine retries
			 * or gives up within its bounded run. */
			(void)mainsock_send(&nw->cl->ms, nw->fd, &send.to, send.buf, send.len);
			break;
		case NATCLASS_WAIT:
			nw->run_wake_us = send.wake_us;
			return;
		case NATCLASS_DONE:
			finish_run(nw, now_us);
			return;
		}
	}
	/* More to send: go on in the next loop pass. */
	nw->run_wake_us = now_us;
}

/* ---- the watch probe ---- */

static void send_probe(struct natwatch *nw)
{
	struct client *cl = nw->cl;
	uint8_t buf[STUN_REQUEST_MAX];
	size_t len = 0;
	const struct sockaddr_storage *server = uplink_server_addr(cl, nw->uplink);

	nw->probe_tries++;
	if (!server || stun_write_request(nw->txid, 0, buf, sizeof(buf), &len) != 0) {
		return;
	}
	(void)mainsock_send(&cl->ms, nw->fd, server, buf, len);
}

static void probe_timer(struct natwatch *nw, uint64_t now_us)
{
	struct client *cl = nw->cl;

	if (nw->is_probing && nw->probe_tries < NATWATCH_PROBE_TRIES) {
		/* RFC 8489 §6.2.1: retransmit with the same transaction id. */
		if (now_us >=
		    nw->probe_start_us + (uint64_t)nw->probe_tries * NATWATCH_PROBE_RTO_US) {
			send_probe(nw);
		}
		return;
	}
	if (now_us < nw->probe_start_us + srvconn_keepalive_us(cl)) {
		return;
	}
	if (nw->is_probing) {
		nw->probes_lost++;
		nw->answered_in_row = 0;
	}
	/* RFC 8489 §6: a fresh, unpredictable transaction id per request. */
	randombytes_buf(nw->txid, sizeof(nw->txid));
	nw->is_probing = true;
	nw->probe_tries = 0;
	nw->probe_start_us = now_us;
	nw->probes++;
	send_probe(nw);
}

/* The answer to our probe: a Binding success with its transaction id, from
 * the server's primary address (no CHANGE-REQUEST was asked for). */
static bool on_probe_answer(struct natwatch *nw, const uint8_t *buf, size_t len,
			    const struct sockaddr_storage *from, uint64_t now_us)
{
	struct client *cl = nw->cl;
	struct sockaddr_storage mapped;
	const struct sockaddr *m_addr;
	struct stun_msg m;

	if (!nw->is_probing || stun_read(buf, len, &m, NULL) != 0 || m.is_classic ||
	    m.type != STUN_BINDING_SUCCESS || memcmp(m.txid, nw->txid, STUN_TXID_LEN) != 0 ||
	    !addr_equal((const struct sockaddr *)from,
			(const struct sockaddr *)uplink_server_addr(cl, nw->uplink))) {
		return false;
	}
	m_addr = stun_msg_mapped(&m);
	nw->is_probing = false;
	nw->last_answer_us = now_us;
	nw->answered_in_row++;
	uplink_on_probe_answered(cl, nw->uplink, now_us);
	if (!m_addr) {
		return true;
	}
	memset(&mapped, 0, sizeof(mapped));
	memcpy(&mapped, m_addr, addr_len((const struct sockaddr_storage *)(const void *)m_addr));
	if (note_mapped(nw, &mapped, now_us) ||
	    (nw->can_classify && (!nw->has_result || nw->result.type == NATCLASS_UDP_BLOCKED))) {
		/* A new mapping may be a new NAT; and a server that did not
		 * answer the last run does now. */
		want_run(nw, now_us);
	}
	return true;
}

/* ---- entry points ---- */

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct natwatch *nw = container_of(w, struct natwatch, timer);
	uint64_t now_us = monotime_now_us();

	(void)loop;
	(void)revents;
	nw->armed_us = UINT64_MAX;
	if (nw->run) {
		drive(nw, now_us);
	} else {
		probe_timer(nw, now_us);
	}
	rearm(nw, now_us);
}

bool natwatch_on_stun(struct natwatch *nw, const uint8_t *buf, size_t len,
		      const struct sockaddr_storage *from, uint64_t now_us)
{
	bool is_ours;

	if (!nw->cl) {
		return false; /* not started */
	}
	if (nw->run &&
	    natclass_on_packet(nw->run, now_us, buf, len, (const struct sockaddr *)from)) {
		drive(nw, now_us);
		is_ours = true;
	} else {
		is_ours = on_probe_answer(nw, buf, len, from, now_us);
	}
	if (is_ours) {
		rearm(nw, now_us);
	}
	return is_ours;
}

void natwatch_on_keepalive(struct natwatch *nw, uint64_t now_us)
{
	if (nw->cl) {
		rearm(nw, now_us);
	}
}

void natwatch_probe_now(struct natwatch *nw, uint64_t now_us)
{
	uint64_t ka;

	if (!nw->cl) {
		return;
	}
	ka = srvconn_keepalive_us(nw->cl);

	if (nw->run || (nw->is_probing && nw->probe_tries < NATWATCH_PROBE_TRIES)) {
		return; /* one is under way */
	}
	/* Make the next probe due now (deadline: probe_start + keepalive). */
	nw->probe_start_us = now_us > ka ? now_us - ka : 0;
	rearm(nw, now_us);
}

void natwatch_on_server_addr(struct natwatch *nw, uint64_t now_us)
{
	if (!nw->cl || !nw->is_waiting_server) {
		return;
	}
	want_run(nw, now_us);
	rearm(nw, now_us);
}

void natwatch_start(struct natwatch *nw, struct client *cl, uint8_t uplink, int fd)
{
	uint64_t now_us = monotime_now_us();

	nw->cl = cl;
	nw->uplink = uplink;
	nw->fd = fd;
	if (uplink != 0) {
		snprintf(nw->tag, sizeof(nw->tag), "[uplink %u]", (unsigned)uplink);
	}
	nw->probe_start_us = now_us;
	nw->can_classify = true;
	start_run(nw, now_us);
	rearm(nw, now_us);
}

void natwatch_fini(struct natwatch *nw)
{
	if (!nw->cl) {
		return;
	}
	ev_timer_stop(nw->cl->loop, &nw->timer);
	natclass_free(nw->run);
	nw->run = NULL;
	nw->cl = NULL;
	log_debug("nat%s: runs=%llu probes=%llu probes_lost=%llu changes=%llu", nw->tag,
		  (unsigned long long)nw->runs, (unsigned long long)nw->probes,
		  (unsigned long long)nw->probes_lost, (unsigned long long)nw->changes);
}
