/* natclass: NAT behaviour discovery (RFC 5780 §4.3 mapping, §4.4 filtering,
 * §4.5 hairpinning, §4.6 port allocation hints; RFC 3489 §10.1 names) as an
 * engine without I/O: no sockets, no clocks, no logging. It owns its probe
 * table and nothing else; the caller sends what natclass_next() returns and
 * feeds back what the main socket receives.
 *
 * Order of the tests (issue #5: packets sent earlier change the NAT's state,
 * so the filtering tests run before anything goes to the server's alternate
 * address):
 *   phase 1  T1 binding to the primary address -> mapped address M1, OTHER-ADDRESS
 *   phase 2  T2 CHANGE-REQUEST ip+port, T3 CHANGE-REQUEST port (both sent to the
 *            primary address only), and the hairpin request to M1, together
 *   phase 3  T4 alternate IP/primary port, T5 alternate IP/alternate port,
 *            T6 primary IP/alternate port, together: the mapping tests, whose
 *            first sends create new mappings in that order (the allocation
 *            pattern is read from them)
 * Each test sends at 0, RTO and 3 RTO and gives up at 7 RTO; a phase ends when
 * all its tests are answered or given up, so a run is bounded by
 * NATCLASS_MAX_RUN_US. A test counts only a success response from the address
 * it expects: a server that ignored CHANGE-REQUEST cannot fake a filter. */
#include "nat/natclass.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"

enum probe_id {
	P_BIND = 0,    /* T1 */
	P_CHANGE_BOTH, /* T2 */
	P_CHANGE_PORT, /* T3 */
	P_HAIRPIN,
	P_ALT_IP,   /* T4 */
	P_ALT_BOTH, /* T5 */
	P_ALT_PORT, /* T6 */
	P_COUNT
};

enum phase { PHASE_BIND = 0, PHASE_FILTER, PHASE_MAPPING, PHASE_DONE };

enum probe_state {
	PROBE_IDLE = 0, /* not started (or skipped: no alternate address) */
	PROBE_RUNNING,
	PROBE_ANSWERED,
	PROBE_FAILED, /* given up, refused with an error, or no longer needed */
};

static const enum phase probe_phase[P_COUNT] = {
	[P_BIND] = PHASE_BIND,		[P_CHANGE_BOTH] = PHASE_FILTER,
	[P_CHANGE_PORT] = PHASE_FILTER, [P_HAIRPIN] = PHASE_FILTER,
	[P_ALT_IP] = PHASE_MAPPING,	[P_ALT_BOTH] = PHASE_MAPPING,
	[P_ALT_PORT] = PHASE_MAPPING,
};

static const uint32_t probe_flags[P_COUNT] = {
	[P_CHANGE_BOTH] = STUN_CHANGE_IP | STUN_CHANGE_PORT,
	[P_CHANGE_PORT] = STUN_CHANGE_PORT,
};

struct probe {
	enum probe_state state;
	uint8_t txid[STUN_TXID_LEN];
	struct sockaddr_storage to;
	struct sockaddr_storage expect_from; /* AF_UNSPEC: the hairpin request */
	int sent;
	uint64_t start_us, next_us, deadline_us, rto_us;
	struct sockaddr_storage mapped;
};

struct natclass {
	struct natclass_params p;
	enum phase phase;
	uint64_t start_us, done_us;
	uint64_t rto_us; /* for phases 2 and 3, from T1's round trip */
	bool has_other;
	struct sockaddr_storage other; /* alternate IP and port (OTHER-ADDRESS) */
	struct probe probes[P_COUNT];
	struct natclass_result result;
};

static const char *const type_names[NATCLASS_TYPE_COUNT] = {
	[NATCLASS_OPEN] = "open",
	[NATCLASS_FULL_CONE] = "full-cone",
	[NATCLASS_RESTRICTED_CONE] = "restricted-cone",
	[NATCLASS_PORT_RESTRICTED_CONE] = "port-restricted-cone",
	[NATCLASS_SYMMETRIC] = "symmetric",
	[NATCLASS_UDP_BLOCKED] = "udp-blocked",
};

static const char *const behaviour_names[NATCLASS_BEHAVIOUR_COUNT] = {
	[NATCLASS_BEHAVIOUR_UNKNOWN] = "unknown",
	[NATCLASS_ENDPOINT_INDEPENDENT] = "endpoint-independent",
	[NATCLASS_ADDRESS_DEPENDENT] = "address-dependent",
	[NATCLASS_ADDRESS_AND_PORT_DEPENDENT] = "address-and-port-dependent",
};

static const char *const alloc_names[NATCLASS_ALLOC_COUNT] = {
	[NATCLASS_ALLOC_UNKNOWN] = "unknown",
	[NATCLASS_ALLOC_PRESERVING] = "preserving",
	[NATCLASS_ALLOC_SEQUENTIAL] = "sequential",
	[NATCLASS_ALLOC_RANDOM] = "random",
};

const char *natclass_type_name(enum natclass_type t)
{
	return (unsigned)t < NATCLASS_TYPE_COUNT ? type_names[t] : "invalid";
}

const char *natclass_behaviour_name(enum natclass_behaviour b)
{
	return (unsigned)b < NATCLASS_BEHAVIOUR_COUNT ? behaviour_names[b] : "invalid";
}

const char *natclass_alloc_name(enum natclass_alloc a)
{
	return (unsigned)a < NATCLASS_ALLOC_COUNT ? alloc_names[a] : "invalid";
}

static bool same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return addr_equal((const struct sockaddr *)a, (const struct sockaddr *)b);
}

/* Same IP, ports ignored. */
static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	struct sockaddr_storage c = *a;

	addr_set_port(&c, addr_port((const struct sockaddr *)b));
	return same(&c, b);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return addr_port((const struct sockaddr *)ss);
}

static bool family_ok(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET || ss->ss_family == AF_INET6;
}

int natclass_new(const struct natclass_params *p, uint64_t now_us, struct natclass **out)
{
	struct natclass *nc;

	*out = NULL;
	if (!family_ok(&p->server) || p->n_local > NATCLASS_LOCAL_MAX) {
		return -EINVAL;
	}
	nc = calloc(1, sizeof(*nc));
	if (!nc) {
		return -ENOMEM;
	}
	nc->p = *p;
	nc->start_us = now_us;
	nc->rto_us = NATCLASS_RTO_MAX_US;
	/* RFC 8489 §6: every transaction has its own id; ours are the run's
	 * random seed with the test number folded in. */
	for (int i = 0; i < P_COUNT; i++) {
		memcpy(nc->probes[i].txid, p->seed, STUN_TXID_LEN);
		nc->probes[i].txid[STUN_TXID_LEN - 1] ^= (uint8_t)(i + 1);
		nc->probes[i].txid[0] ^= p->seed[STUN_TXID_LEN];
	}
	nc->phase = PHASE_BIND;
	nc->probes[P_BIND].to = p->server;
	nc->probes[P_BIND].expect_from = p->server;
	nc->probes[P_BIND].state = PROBE_RUNNING;
	nc->probes[P_BIND].start_us = now_us;
	nc->probes[P_BIND].next_us = now_us;
	nc->probes[P_BIND].rto_us = NATCLASS_RTO_FIRST_US;
	nc->probes[P_BIND].deadline_us = now_us + NATCLASS_TEST_SPAN(NATCLASS_RTO_FIRST_US);
	*out = nc;
	return 0;
}

void natclass_free(struct natclass *nc)
{
	free(nc);
}

static void start_probe(struct natclass *nc, enum probe_id id, const struct sockaddr_storage *to,
			const struct sockaddr_storage *expect_from, uint64_t now_us)
{
	struct probe *pr = &nc->probes[id];

	pr->to = *to;
	if (expect_from) {
		pr->expect_from = *expect_from;
	}
	pr->state = PROBE_RUNNING;
	pr->start_us = now_us;
	pr->next_us = now_us;
	pr->rto_us = nc->rto_us;
	pr->deadline_us = now_us + NATCLASS_TEST_SPAN(nc->rto_us);
}

/* Phase 2: the filtering tests (RFC 5780 §4.4) and hairpinning (§4.5), all
 * sent to the primary address or to ourselves. */
static void start_filter(struct natclass *nc, uint64_t now_us)
{
	struct sockaddr_storage port_only = nc->p.server, self;

	if (nc->has_other) {
		/* T2: the reply comes from the alternate IP and port. */
		start_probe(nc, P_CHANGE_BOTH, &nc->p.server, &nc->other, now_us);
		/* T3: the reply comes from the primary IP, alternate port. */
		addr_set_port(&port_only, port_of(&nc->other));
		start_probe(nc, P_CHANGE_PORT, &nc->p.server, &port_only, now_us);
	}
	/* Our mapped address: IPv4 behind a NAT64, reached through its
	 * prefix, else not at all (hairpinning stays unknown). */
	nat64_reach(&nc->p.pref64, nc->p.server.ss_family, &nc->probes[P_BIND].mapped, &self);
	if (self.ss_family == nc->p.server.ss_family) {
		start_probe(nc, P_HAIRPIN, &self, NULL, now_us);
	}
}

/* Phase 3: the mapping tests (RFC 5780 §4.3), each answered by the socket it
 * is sent to. */
static void start_mapping(struct natclass *nc, uint64_t now_us)
{
	struct sockaddr_storage alt_ip = nc->other, alt_port = nc->p.server;

	addr_set_port(&alt_ip, port_of(&nc->p.server));
	addr_set_port(&alt_port, port_of(&nc->other));
	start_probe(nc, P_ALT_IP, &alt_ip, &alt_ip, now_us);
	start_probe(nc, P_ALT_BOTH, &nc->other, &nc->other, now_us);
	start_probe(nc, P_ALT_PORT, &alt_port, &alt_port, now_us);
}

static void classify(struct natclass *nc);

static void advance(struct natclass *nc, uint64_t now_us)
{
	if (nc->phase == PHASE_BIND && nc->probes[P_BIND].state == PROBE_ANSWERED) {
		nc->phase = PHASE_FILTER;
		start_filter(nc, now_us);
		return;
	}
	if (nc->phase == PHASE_FILTER && nc->has_other) {
		nc->phase = PHASE_MAPPING;
		start_mapping(nc, now_us);
		return;
	}
	nc->phase = PHASE_DONE;
	nc->done_us = now_us;
	classify(nc);
}

static void fill_send(const struct natclass *nc, enum probe_id id, struct natclass_send *out)
{
	const struct probe *pr = &nc->probes[id];

	/* Cannot fail: STUN_REQUEST_MAX holds a request with CHANGE-REQUEST. */
	if (stun_write_request(pr->txid, probe_flags[id], out->buf, sizeof(out->buf), &out->len) !=
	    0) {
		out->len = 0;
	}
	out->to = pr->to;
	out->is_hairpin = id == P_HAIRPIN;
	out->wake_us = 0;
}

/* One pass over the running tests of the current phase. Returns
 * NATCLASS_SEND or NATCLASS_WAIT, or NATCLASS_DONE when the phase is over. */
static enum natclass_action step_phase(struct natclass *nc, uint64_t now_us,
				       struct natclass_send *out)
{
	uint64_t wake = UINT64_MAX;

	for (int i = 0; i < P_COUNT; i++) {
		struct probe *pr = &nc->probes[i];

		if (probe_phase[i] != nc->phase || pr->state != PROBE_RUNNING) {
			continue;
		}
		if (now_us >= pr->deadline_us) {
			pr->state = PROBE_FAILED;
			continue;
		}
		if (pr->sent < NATCLASS_TRIES && now_us >= pr->next_us) {
			/* RFC 8489 §6.2.1: retransmit with a doubling interval
			 * (here RTO, 2 RTO), then wait 4 RTO for the last. */
			pr->sent++;
			pr->next_us = pr->start_us + pr->rto_us * ((1u << pr->sent) - 1);
			fill_send(nc, (enum probe_id)i, out);
			return NATCLASS_SEND;
		}
		if (pr->sent < NATCLASS_TRIES && pr->next_us < wake) {
			wake = pr->next_us;
		}
		if (pr->deadline_us < wake) {
			wake = pr->deadline_us;
		}
	}
	if (wake == UINT64_MAX) {
		return NATCLASS_DONE;
	}
	out->len = 0;
	out->wake_us = wake;
	return NATCLASS_WAIT;
}

enum natclass_action natclass_next(struct natclass *nc, uint64_t now_us, struct natclass_send *out)
{
	while (nc->phase != PHASE_DONE) {
		enum natclass_action act = step_phase(nc, now_us, out);

		if (act != NATCLASS_DONE) {
			return act;
		}
		advance(nc, now_us);
	}
	out->len = 0;
	out->wake_us = 0;
	return NATCLASS_DONE;
}

static int find_probe(const struct natclass *nc, const struct stun_msg *m)
{
	for (int i = 0; i < P_COUNT; i++) {
		if (memcmp(nc->probes[i].txid, m->txid, STUN_TXID_LEN) == 0) {
			return i;
		}
	}
	return -1;
}

/* T1 answered: keep the alternate address and time the round trip. */
static void on_bind_answer(struct natclass *nc, const struct stun_msg *m, uint64_t now_us)
{
	const struct probe *pr = &nc->probes[P_BIND];
	const struct sockaddr_storage *other = NULL;
	struct sockaddr_storage reach;

	/* RFC 5780 §7.4 OTHER-ADDRESS, or RFC 3489 CHANGED-ADDRESS from an old
	 * server. Both IP and port must differ from the primary's (RFC 5780 §6). */
	if (m->has_other) {
		other = &m->other;
	} else if (m->has_changed) {
		other = &m->changed;
	}
	if (other) {
		/* Through a NAT64 the server names its IPv4 address. */
		nat64_reach(&nc->p.pref64, nc->p.server.ss_family, other, &reach);
	}
	if (other && reach.ss_family == nc->p.server.ss_family && !same_ip(&reach, &nc->p.server) &&
	    port_of(&reach) != port_of(&nc->p.server)) {
		nc->other = reach;
		nc->has_other = true;
	}
	/* Karn: only an unambiguous sample (one request sent) times the path. */
	if (pr->sent == 1) {
		uint64_t rto = (now_us - pr->start_us) * NATCLASS_RTT_FACTOR;

		if (rto < NATCLASS_RTO_MIN_US) {
			rto = NATCLASS_RTO_MIN_US;
		}
		nc->rto_us = rto < NATCLASS_RTO_MAX_US ? rto : NATCLASS_RTO_MAX_US;
	}
}

static void on_answer(struct natclass *nc, enum probe_id id, const struct stun_msg *m,
		      const struct sockaddr *from, uint64_t now_us)
{
	struct probe *pr = &nc->probes[id];
	const struct sockaddr *mapped = stun_msg_mapped(m);

	/* An error response (e.g. 420: the server has no alternate address)
	 * ends the test without an answer, whoever sent it. */
	if (m->type == STUN_BINDING_ERROR) {
		pr->state = PROBE_FAILED;
		return;
	}
	/* A success from elsewhere proves nothing about our filter. */
	if (!addr_equal(from, (const struct sockaddr *)&pr->expect_from)) {
		return;
	}
	/* RFC 8489 §6.3.4: unknown comprehension-required attributes in a
	 * response fail the transaction. */
	if (m->n_unknown > 0 || !mapped) {
		pr->state = PROBE_FAILED;
		return;
	}
	memcpy(&pr->mapped, mapped, sizeof(pr->mapped));
	pr->state = PROBE_ANSWERED;
	if (id == P_BIND) {
		on_bind_answer(nc, m, now_us);
	}
	/* Endpoint-independent filtering is shown; T3 adds nothing (RFC 5780
	 * §4.4 runs it only when T2 fails). */
	if (id == P_CHANGE_BOTH && nc->probes[P_CHANGE_PORT].state == PROBE_RUNNING) {
		nc->probes[P_CHANGE_PORT].state = PROBE_FAILED;
	}
}

bool natclass_on_packet(struct natclass *nc, uint64_t now_us, const uint8_t *buf, size_t len,
			const struct sockaddr *from)
{
	struct stun_msg m;
	int id;

	if (stun_read(buf, len, &m, NULL) != 0 || m.is_classic) {
		return false;
	}
	id = find_probe(nc, &m);
	if (id < 0) {
		return false;
	}
	if (nc->probes[id].state != PROBE_RUNNING || !from) {
		return true; /* ours, but late or duplicate */
	}
	/* RFC 5780 §4.5: our own request coming back to the main socket means
	 * the NAT hairpins. */
	if (m.type == STUN_BINDING_REQUEST) {
		if (id == P_HAIRPIN) {
			nc->probes[id].state = PROBE_ANSWERED;
		}
		return true;
	}
	if (m.type == STUN_BINDING_SUCCESS || m.type == STUN_BINDING_ERROR) {
		on_answer(nc, (enum probe_id)id, &m, from, now_us);
	}
	return true;
}

/* ---- Classification ---- */

static bool answered(const struct natclass *nc, enum probe_id id)
{
	return nc->probes[id].state == PROBE_ANSWERED;
}

static const struct sockaddr_storage *mapped_of(const struct natclass *nc, enum probe_id id)
{
	return &nc->probes[id].mapped;
}

/* RFC 5780 §4.3: M2 (alternate IP) == M1 -> endpoint-independent; else M3
 * (alternate IP and port) == M2 -> address-dependent, else address-and-port-
 * dependent. T6 (primary IP, alternate port) stands in when T4 or T5 is
 * missing. *not_eim is set when the mapping is shown to depend on the
 * destination even if the exact kind stays unknown. */
static enum natclass_behaviour mapping_of(const struct natclass *nc, bool *not_eim)
{
	const struct sockaddr_storage *m1 = mapped_of(nc, P_BIND);
	bool a4 = answered(nc, P_ALT_IP), a5 = answered(nc, P_ALT_BOTH);
	bool a6 = answered(nc, P_ALT_PORT);
	const struct sockaddr_storage *alt =
		a4 ? mapped_of(nc, P_ALT_IP) : mapped_of(nc, P_ALT_BOTH);

	*not_eim = false;
	if (a4 || a5) {
		if (same(alt, m1)) {
			return NATCLASS_ENDPOINT_INDEPENDENT;
		}
		*not_eim = true;
		if (a4 && a5) {
			return same(mapped_of(nc, P_ALT_BOTH), alt)
				       ? NATCLASS_ADDRESS_DEPENDENT
				       : NATCLASS_ADDRESS_AND_PORT_DEPENDENT;
		}
		if (a6) {
			return same(mapped_of(nc, P_ALT_PORT), m1)
				       ? NATCLASS_ADDRESS_DEPENDENT
				       : NATCLASS_ADDRESS_AND_PORT_DEPENDENT;
		}
		return NATCLASS_BEHAVIOUR_UNKNOWN;
	}
	/* The alternate IP is silent: another port on the primary IP still
	 * shows port dependence, but cannot tell EIM from ADM. */
	if (a6 && !same(mapped_of(nc, P_ALT_PORT), m1)) {
		*not_eim = true;
		return NATCLASS_ADDRESS_AND_PORT_DEPENDENT;
	}
	return NATCLASS_BEHAVIOUR_UNKNOWN;
}

/* RFC 5780 §4.4: a reply to T2 (from the alternate IP and port) ->
 * endpoint-independent; else a reply to T3 (alternate port) -> address-
 * dependent; else address-and-port-dependent, but only when T6 shows the
 * alternate port does answer (otherwise silence proves nothing). */
static enum natclass_behaviour filtering_of(const struct natclass *nc)
{
	if (answered(nc, P_CHANGE_BOTH)) {
		return NATCLASS_ENDPOINT_INDEPENDENT;
	}
	if (answered(nc, P_CHANGE_PORT)) {
		return NATCLASS_ADDRESS_DEPENDENT;
	}
	if (answered(nc, P_ALT_PORT)) {
		return NATCLASS_ADDRESS_AND_PORT_DEPENDENT;
	}
	return NATCLASS_BEHAVIOUR_UNKNOWN;
}

/* Signed distance a -> b on the 16-bit port ring. */
static int port_step(uint16_t a, uint16_t b)
{
	return (int)(int16_t)(uint16_t)(b - a);
}

static int gcd(int a, int b)
{
	while (b != 0) {
		int t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* RFC 5780 §4.6 hints: the new mappings of phase 3 in creation order (T4,
 * T5, T6 each create one unless equal to an earlier one). M1 is left out of
 * the steps: the hairpin request may have taken a port after it. Sequential
 * when every step goes the same way and is small: other hosts behind the NAT
 * may take a port between two of ours, so the step is the steps' greatest
 * common divisor (steps 1 and 2 are step 1 with one port taken by someone
 * else; a random allocator over 64512 ports makes two small steps the same
 * way about once in 500,000 runs). */
static void allocation_of(const struct natclass *nc, struct natclass_result *r)
{
	static const enum probe_id order[] = {P_ALT_IP, P_ALT_BOTH, P_ALT_PORT};
	const struct sockaddr_storage *seen[4] = {mapped_of(nc, P_BIND)};
	uint16_t local_port = nc->p.n_local ? port_of(&nc->p.local[0]) : 0;
	bool all_preserved = r->port_preserving;
	size_t n = 1, steps = 0;
	int step = 0;
	bool steady = true;

	for (size_t i = 0; i < WH_ARRAY_LEN(order); i++) {
		const struct sockaddr_storage *m = mapped_of(nc, order[i]);
		bool fresh = answered(nc, order[i]);

		for (size_t k = 0; fresh && k < n; k++) {
			fresh = !same(m, seen[k]);
		}
		if (!fresh) {
			continue;
		}
		all_preserved = all_preserved && port_of(m) == local_port;
		if (n >= 2) {
			int d = port_step(port_of(seen[n - 1]), port_of(m));

			steady = steady && d != 0 && abs(d) <= NATCLASS_SEQ_STEP_MAX &&
				 (steps == 0 || (d > 0) == (step > 0));
			step = steps == 0 ? d : (d > 0 ? 1 : -1) * gcd(abs(step), abs(d));
			steps++;
		}
		seen[n++] = m;
	}
	if (all_preserved) {
		r->allocation = NATCLASS_ALLOC_PRESERVING;
	} else if (steps >= 2 && steady) {
		r->allocation = NATCLASS_ALLOC_SEQUENTIAL;
		r->allocation_step = step;
	} else if (steps >= 2) {
		r->allocation = NATCLASS_ALLOC_RANDOM;
	}
}

static bool is_local(const struct natclass *nc, const struct sockaddr_storage *m)
{
	for (size_t i = 0; i < nc->p.n_local; i++) {
		if (same(&nc->p.local[i], m)) {
			return true;
		}
	}
	return false;
}

/* RFC 3489 §10.1 names from the RFC 5780 behaviours. No NAT is "open"
 * whatever the filtering (issue #5 allows only the six names; a firewall
 * shows in `filtering` and `behind_nat`). Unknown filtering is taken as the
 * strictest (port-restricted); an unknown mapping with no sign of
 * destination dependence is taken as a cone. */
static enum natclass_type type_of(const struct natclass_result *r, bool not_eim)
{
	if (!r->behind_nat) {
		return NATCLASS_OPEN;
	}
	if (not_eim) {
		return NATCLASS_SYMMETRIC;
	}
	if (r->filtering == NATCLASS_ENDPOINT_INDEPENDENT) {
		return NATCLASS_FULL_CONE;
	}
	if (r->filtering == NATCLASS_ADDRESS_DEPENDENT) {
		return NATCLASS_RESTRICTED_CONE;
	}
	return NATCLASS_PORT_RESTRICTED_CONE;
}

static void classify(struct natclass *nc)
{
	struct natclass_result *r = &nc->result;
	bool not_eim = false;

	memset(r, 0, sizeof(*r));
	r->elapsed_us = nc->done_us - nc->start_us;
	if (nc->p.server.ss_family == AF_INET6 && nat64_len_ok(nc->p.pref64.len)) {
		r->nat64 = nc->p.pref64;
	}
	if (!answered(nc, P_BIND)) {
		r->type = NATCLASS_UDP_BLOCKED;
		return;
	}
	r->mapped = *mapped_of(nc, P_BIND);
	r->behind_nat = !is_local(nc, &r->mapped);
	r->port_preserving = nc->p.n_local > 0 && port_of(&r->mapped) == port_of(&nc->p.local[0]);
	r->mapping = mapping_of(nc, &not_eim);
	r->filtering = filtering_of(nc);
	r->alternate_answered = answered(nc, P_ALT_IP) || answered(nc, P_ALT_BOTH);
	if (nc->probes[P_HAIRPIN].state != PROBE_IDLE) {
		r->hairpin = answered(nc, P_HAIRPIN) ? NATCLASS_HAIRPIN_YES : NATCLASS_HAIRPIN_NO;
	}
	allocation_of(nc, r);
	r->type = type_of(r, not_eim);
}

int natclass_get_result(const struct natclass *nc, struct natclass_result *out)
{
	if (nc->phase != PHASE_DONE) {
		return -EAGAIN;
	}
	*out = nc->result;
	return 0;
}

/* ---- Formatting ---- */

static const char *hairpin_json(enum natclass_hairpin h)
{
	if (h == NATCLASS_HAIRPIN_UNKNOWN) {
		return "null";
	}
	return h == NATCLASS_HAIRPIN_YES ? "true" : "false";
}

static const char *behind_json(const struct natclass_result *r)
{
	if (!family_ok(&r->mapped)) {
		return "null";
	}
	return r->behind_nat ? "true" : "false";
}

static int checked(int n, char *buf, size_t len)
{
	if (n < 0 || (size_t)n >= len) {
		if (len > 0) {
			buf[0] = '\0';
		}
		return -ENOSPC;
	}
	return 0;
}

int natclass_result_format_json(const struct natclass_result *r, char *buf, size_t len)
{
	char addr[ADDR_TEXT_MAX + 2] = "null";
	char pref64[INET6_ADDRSTRLEN + 8] = "null";

	/* addr_format writes only digits, dots, colons, brackets and hex:
	 * nothing that needs escaping in JSON. */
	if (family_ok(&r->mapped)) {
		char text[ADDR_TEXT_MAX];

		snprintf(addr, sizeof(addr), "\"%s\"",
			 addr_format((const struct sockaddr *)&r->mapped, text, sizeof(text)));
	}
	if (r->nat64.len != 0) {
		char text[INET6_ADDRSTRLEN + 4];

		snprintf(pref64, sizeof(pref64), "\"%s\"",
			 nat64_prefix_format(&r->nat64, text, sizeof(text)));
	}
	return checked(
		snprintf(buf, len,
			 "{\"type\":\"%s\",\"behind_nat\":%s,\"mapping\":\"%s\",\"filtering\":\"%"
			 "s\","
			 "\"mapped_address\":%s,\"port_preserving\":%s,\"allocation\":\"%s\","
			 "\"allocation_step\":%d,\"hairpin\":%s,\"alternate_answered\":%s,"
			 "\"elapsed_ms\":%llu,\"nat64_prefix\":%s}",
			 natclass_type_name(r->type), behind_json(r),
			 natclass_behaviour_name(r->mapping), natclass_behaviour_name(r->filtering),
			 addr, r->port_preserving ? "true" : "false",
			 natclass_alloc_name(r->allocation), r->allocation_step,
			 hairpin_json(r->hairpin), r->alternate_answered ? "true" : "false",
			 (unsigned long long)(r->elapsed_us / 1000), pref64),
		buf, len);
}

int natclass_result_format_text(const struct natclass_result *r, char *buf, size_t len)
{
	char addr[ADDR_TEXT_MAX] = "none";
	char pref64[INET6_ADDRSTRLEN + 24] = "", text[INET6_ADDRSTRLEN + 4];
	static const char *const hairpin_text[] = {"unknown", "yes", "no"};
	bool no_nat = family_ok(&r->mapped) && !r->behind_nat;

	if (family_ok(&r->mapped)) {
		addr_format((const struct sockaddr *)&r->mapped, addr, sizeof(addr));
	}
	if (r->nat64.len != 0) {
		snprintf(pref64, sizeof(pref64), "NAT64 prefix:    %s\n",
			 nat64_prefix_format(&r->nat64, text, sizeof(text)));
	}
	return checked(snprintf(buf, len,
				"NAT type:        %s%s\n"
				"mapping:         %s\n"
				"filtering:       %s\n"
				"mapped address:  %s\n"
				"port preserving: %s\n"
				"allocation:      %s (step %d)\n"
				"hairpinning:     %s\n"
				"alternate IP:    %s\n"
				"%s"
				"took:            %llu ms\n",
				natclass_type_name(r->type), no_nat ? " (no NAT)" : "",
				natclass_behaviour_name(r->mapping),
				natclass_behaviour_name(r->filtering), addr,
				r->port_preserving ? "yes" : "no",
				natclass_alloc_name(r->allocation), r->allocation_step,
				hairpin_text[r->hairpin % 3],
				r->alternate_answered ? "answered" : "silent", pref64,
				(unsigned long long)(r->elapsed_us / 1000)),
		       buf, len);
}
