/* test_natclass: nat/natclass driven against NATs simulated in the test. A
 * table-driven fake NAT (mapping EIM/ADM/APDM or none; port preservation,
 * sequential or random allocation; filtering EIF/ADF/APDF; hairpin on/off;
 * UDP blocked) sits between the engine and a fake STUN server that uses
 * stun_server_answer() on four addresses. Time is injected; no sockets, no
 * sleeps. Every combination is classified and checked, and so are the
 * degraded cases: a silent alternate IP, a server that ignores
 * CHANGE-REQUEST, a lost first request. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"
#include "nat/natclass.h"
#include "nat/stun.h"

enum map_kind { MAP_NONE, MAP_EIM, MAP_ADM, MAP_APDM };
enum filt_kind { FILT_EIF, FILT_ADF, FILT_APDF };
/* PRESERVE: the local port when free, else the next free one above it. */
enum alloc_kind { ALLOC_PRESERVE, ALLOC_SEQ, ALLOC_RANDOM };

struct nat_model {
	enum map_kind map;
	enum filt_kind filt;
	enum alloc_kind alloc;
	int step; /* ALLOC_SEQ */
	/* ALLOC_SEQ: ports other hosts take before our k-th new mapping (a
	 * busy office NAT), k < 8. */
	uint8_t others[8];
	bool hairpin;
	bool blocked;
	bool alt_ip_dead;	    /* the server's alternate IP never answers */
	bool server_ignores_change; /* a broken server: replies from the receiving socket */
	bool server_single_ip;	    /* no alternate IP: no OTHER-ADDRESS */
	int lose_first;		    /* outbound packets lost at the start */
	uint64_t rtt_us;
};

#define BINDINGS_MAX 32
#define REMOTES_MAX 16
#define QUEUE_MAX 64
#define LOCAL_PORT 40000

struct binding {
	struct sockaddr_storage key; /* the destination it was made for */
	uint16_t pub_port;
	struct sockaddr_storage remotes[REMOTES_MAX]; /* where it has sent to */
	size_t n_remotes;
};

struct packet {
	uint64_t at_us;
	uint8_t buf[STUN_RESPONSE_MAX];
	size_t len;
	struct sockaddr_storage from;
};

struct sim {
	struct nat_model m;
	struct sockaddr_storage local, pub_ip;
	struct stun_server_addrs server;
	struct binding b[BINDINGS_MAX];
	size_t n_b;
	uint16_t next_port;
	unsigned n_alloc; /* new mappings made so far */
	uint32_t rng;
	struct packet q[QUEUE_MAX];
	size_t q_head, q_len;
	uint64_t now_us;
	int sent;
};

static struct sockaddr_storage ss(const char *text)
{
	struct sockaddr_storage out;

	assert_int_equal(addr_parse(text, &out, NULL), 0);
	return out;
}

static bool eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return addr_equal((const struct sockaddr *)a, (const struct sockaddr *)b);
}

static uint32_t ip_of(const struct sockaddr_storage *a)
{
	return ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr);
}

static uint16_t port_of(const struct sockaddr_storage *a)
{
	return addr_port((const struct sockaddr *)a);
}

static void sim_init(struct sim *s, const struct nat_model *m)
{
	memset(s, 0, sizeof(*s));
	s->m = *m;
	if (s->m.rtt_us == 0) {
		s->m.rtt_us = 20000;
	}
	s->local = ss("10.0.0.2:40000");
	s->pub_ip = ss("203.0.113.5:40000");
	if (m->map == MAP_NONE) {
		s->local = ss("198.51.100.20:40000");
		s->pub_ip = s->local;
	}
	s->server.local[STUN_SOCK_PRIMARY_MAIN] = ss("192.0.2.1:3478");
	s->server.local[STUN_SOCK_PRIMARY_ALT] = ss("192.0.2.1:3479");
	s->server.local[STUN_SOCK_ALT_MAIN] = ss("192.0.2.2:3478");
	s->server.local[STUN_SOCK_ALT_ALT] = ss("192.0.2.2:3479");
	if (m->server_single_ip) {
		memset(&s->server.local[STUN_SOCK_ALT_MAIN], 0, sizeof(s->server.local[0]));
		memset(&s->server.local[STUN_SOCK_ALT_ALT], 0, sizeof(s->server.local[0]));
	}
	s->next_port = 50000;
	s->rng = 12345u + (uint32_t)m->map * 7u + (uint32_t)m->filt * 131u;
	s->now_us = 1000000;
}

static bool port_taken(const struct sim *s, uint16_t port)
{
	for (size_t i = 0; i < s->n_b; i++) {
		if (s->b[i].pub_port == port) {
			return true;
		}
	}
	return false;
}

static uint16_t alloc_port(struct sim *s)
{
	uint16_t p = LOCAL_PORT;

	if (s->m.map == MAP_NONE || s->m.alloc == ALLOC_PRESERVE) {
		while (port_taken(s, p)) {
			p++;
		}
		return p;
	}
	if (s->m.alloc == ALLOC_SEQ) {
		unsigned k = s->n_alloc++;

		if (k < WH_ARRAY_LEN(s->m.others)) {
			s->next_port = (uint16_t)(s->next_port + s->m.step * s->m.others[k]);
		}
		p = s->next_port;
		s->next_port = (uint16_t)(s->next_port + s->m.step);
		return p;
	}
	do {
		s->rng = s->rng * 1103515245u + 12345u;
		p = (uint16_t)(20000 + (s->rng >> 8) % 40000);
	} while (p == LOCAL_PORT || port_taken(s, p));
	return p;
}

/* The mapping for traffic to dest: found by the NAT's mapping rule, or new. */
static struct binding *mapping_for(struct sim *s, const struct sockaddr_storage *dest)
{
	for (size_t i = 0; i < s->n_b; i++) {
		const struct sockaddr_storage *k = &s->b[i].key;
		bool hit = s->m.map == MAP_NONE || s->m.map == MAP_EIM ||
			   (s->m.map == MAP_ADM && ip_of(k) == ip_of(dest)) ||
			   (s->m.map == MAP_APDM && eq(k, dest));

		if (hit) {
			return &s->b[i];
		}
	}
	assert_true(s->n_b < BINDINGS_MAX);
	s->b[s->n_b].key = *dest;
	s->b[s->n_b].pub_port = alloc_port(s);
	return &s->b[s->n_b++];
}

static void note_remote(struct binding *b, const struct sockaddr_storage *dest)
{
	for (size_t i = 0; i < b->n_remotes; i++) {
		if (eq(&b->remotes[i], dest)) {
			return;
		}
	}
	assert_true(b->n_remotes < REMOTES_MAX);
	b->remotes[b->n_remotes++] = *dest;
}

static bool filter_passes(const struct sim *s, const struct binding *b,
			  const struct sockaddr_storage *from)
{
	for (size_t i = 0; i < b->n_remotes; i++) {
		if (s->m.filt == FILT_EIF ||
		    (s->m.filt == FILT_ADF && ip_of(&b->remotes[i]) == ip_of(from)) ||
		    eq(&b->remotes[i], from)) {
			return true;
		}
	}
	return false;
}

static void deliver(struct sim *s, const uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from)
{
	struct packet *p;

	assert_true(s->q_len < QUEUE_MAX);
	assert_true(len <= sizeof(p->buf));
	p = &s->q[(s->q_head + s->q_len++) % QUEUE_MAX];
	p->at_us = s->now_us + s->m.rtt_us;
	memcpy(p->buf, buf, len);
	p->len = len;
	p->from = *from;
}

/* A datagram arriving at the NAT's public side, for public port `port`. */
static void inbound(struct sim *s, const uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from, uint16_t port)
{
	for (size_t i = 0; i < s->n_b; i++) {
		if (s->b[i].pub_port == port && filter_passes(s, &s->b[i], from)) {
			deliver(s, buf, len, from);
			return;
		}
	}
}

static int server_socket(const struct sim *s, const struct sockaddr_storage *dest)
{
	for (int i = 0; i < STUN_SOCK_COUNT; i++) {
		if (eq(&s->server.local[i], dest)) {
			return i;
		}
	}
	return -1;
}

static void to_server(struct sim *s, const uint8_t *buf, size_t len, int sock,
		      const struct sockaddr_storage *src)
{
	struct stun_server_addrs a = s->server;
	uint8_t out[STUN_RESPONSE_MAX];
	size_t out_len;
	int idx;

	a.received_on = sock;
	if (stun_server_answer(buf, len, (const struct sockaddr *)src, &a, out, sizeof(out),
			       &out_len, &idx) != STUN_DROP_NONE) {
		return;
	}
	assert_true(out_len <= STUN_RESPONSE_MAX);
	if (s->m.server_ignores_change) {
		idx = sock;
	}
	if (s->m.alt_ip_dead && (idx & STUN_SOCK_ALT_MAIN)) {
		return;
	}
	inbound(s, out, out_len, &s->server.local[idx], port_of(src));
}

/* The client's main socket sends buf to dest. */
static void outbound(struct sim *s, const uint8_t *buf, size_t len,
		     const struct sockaddr_storage *dest)
{
	struct sockaddr_storage src = s->pub_ip;
	struct binding *b;
	int sock;

	s->sent++;
	if (s->m.blocked || s->m.lose_first-- > 0) {
		return;
	}
	if (eq(dest, &s->local)) {
		deliver(s, buf, len, &s->local); /* to ourselves, no NAT involved */
		return;
	}
	b = mapping_for(s, dest);
	note_remote(b, dest);
	addr_set_port(&src, b->pub_port);
	if (ip_of(dest) == ip_of(&s->pub_ip)) {
		if (s->m.hairpin) {
			inbound(s, buf, len, &src, port_of(dest));
		}
		return;
	}
	sock = server_socket(s, dest);
	if (sock < 0 || (s->m.alt_ip_dead && (sock & STUN_SOCK_ALT_MAIN))) {
		return;
	}
	to_server(s, buf, len, sock, &src);
}

/* Feed queued datagrams due by `until`; returns false if none was due. */
static bool feed_one(struct sim *s, struct natclass *nc, uint64_t until)
{
	struct packet *p;

	if (s->q_len == 0 || s->q[s->q_head].at_us > until) {
		return false;
	}
	p = &s->q[s->q_head];
	s->q_head = (s->q_head + 1) % QUEUE_MAX;
	s->q_len--;
	if (p->at_us > s->now_us) {
		s->now_us = p->at_us;
	}
	(void)natclass_on_packet(nc, s->now_us, p->buf, p->len, (const struct sockaddr *)&p->from);
	return true;
}

static void run(const struct nat_model *m, struct natclass_result *res, struct sim *s)
{
	struct natclass_params p = {.n_local = 1};
	struct natclass *nc;
	struct natclass_send send;
	uint64_t start;
	int guard;

	sim_init(s, m);
	p.server = s->server.local[STUN_SOCK_PRIMARY_MAIN];
	p.local[0] = s->local;
	for (int i = 0; i < NATCLASS_SEED_LEN; i++) {
		p.seed[i] = (uint8_t)(0x40 + i * 7);
	}
	start = s->now_us;
	assert_int_equal(natclass_new(&p, s->now_us, &nc), 0);
	assert_int_equal(natclass_get_result(nc, res), -EAGAIN);
	for (guard = 0; guard < 1000; guard++) {
		enum natclass_action act = natclass_next(nc, s->now_us, &send);

		if (act == NATCLASS_DONE) {
			break;
		}
		if (act == NATCLASS_SEND) {
			assert_true(send.len > 0 && send.len <= STUN_REQUEST_MAX);
			outbound(s, send.buf, send.len, &send.to);
			continue;
		}
		assert_true(send.wake_us > s->now_us);
		if (!feed_one(s, nc, send.wake_us)) {
			s->now_us = send.wake_us;
		}
	}
	assert_true(guard < 1000);
	assert_int_equal(natclass_get_result(nc, res), 0);
	assert_true(s->now_us - start <= NATCLASS_MAX_RUN_US);
	assert_int_equal(res->elapsed_us, s->now_us - start);
	natclass_free(nc);
}

static const char *const map_names[] = {"none", "EIM", "ADM", "APDM"};
static const char *const filt_names[] = {"EIF", "ADF", "APDF"};
static const char *const alloc_kind_names[] = {"preserve", "seq", "random"};

static enum natclass_behaviour want_behaviour(int kind)
{
	static const enum natclass_behaviour b[] = {NATCLASS_ENDPOINT_INDEPENDENT,
						    NATCLASS_ADDRESS_DEPENDENT,
						    NATCLASS_ADDRESS_AND_PORT_DEPENDENT};
	return b[kind];
}

static enum natclass_type want_type(const struct nat_model *m)
{
	static const enum natclass_type cone[] = {NATCLASS_FULL_CONE, NATCLASS_RESTRICTED_CONE,
						  NATCLASS_PORT_RESTRICTED_CONE};

	if (m->map == MAP_NONE) {
		return NATCLASS_OPEN; /* a firewall shows in `filtering` */
	}
	return m->map == MAP_EIM ? cone[m->filt] : NATCLASS_SYMMETRIC;
}

/* Allocation as the model makes it: only APDM creates enough new mappings
 * in the mapping phase to show a pattern. */
static enum natclass_alloc want_alloc(const struct nat_model *m, int *step)
{
	*step = 0;
	if (m->map == MAP_NONE || (m->map == MAP_EIM && m->alloc == ALLOC_PRESERVE)) {
		return NATCLASS_ALLOC_PRESERVING;
	}
	if (m->map != MAP_APDM) {
		return NATCLASS_ALLOC_UNKNOWN;
	}
	if (m->alloc == ALLOC_RANDOM) {
		return NATCLASS_ALLOC_RANDOM;
	}
	/* PRESERVE falls back to the next free port above the local one. */
	*step = m->alloc == ALLOC_PRESERVE ? 1 : m->step;
	return NATCLASS_ALLOC_SEQUENTIAL;
}

static void check_case(const struct nat_model *m)
{
	struct natclass_result r;
	struct sim s;
	char json[NATCLASS_JSON_MAX];
	int step;
	enum natclass_alloc alloc = want_alloc(m, &step);
	bool hairpin =
		m->map == MAP_NONE || (m->hairpin && (m->map == MAP_EIM || m->filt == FILT_EIF));

	run(m, &r, &s);
	assert_int_equal(natclass_result_format_json(&r, json, sizeof(json)), 0);
	if (getenv("WH_TEST_VERBOSE")) {
		print_message("  %-4s %-4s %-8s step=%d hairpin=%d -> %s\n", map_names[m->map],
			      filt_names[m->filt], alloc_kind_names[m->alloc], m->step, m->hairpin,
			      json);
	}
	assert_int_equal(r.type, want_type(m));
	assert_int_equal(r.behind_nat, m->map != MAP_NONE);
	assert_int_equal(r.mapping, m->map == MAP_NONE ? NATCLASS_ENDPOINT_INDEPENDENT
						       : want_behaviour(m->map - 1));
	assert_int_equal(r.filtering, want_behaviour(m->filt));
	assert_int_equal(port_of(&r.mapped), s.b[0].pub_port);
	assert_int_equal(r.port_preserving, s.b[0].pub_port == LOCAL_PORT);
	assert_int_equal(r.allocation, alloc);
	assert_int_equal(r.allocation_step, step);
	assert_int_equal(r.hairpin, hairpin ? NATCLASS_HAIRPIN_YES : NATCLASS_HAIRPIN_NO);
	assert_true(r.alternate_answered);
	/* Issue #5 acceptance 4: within 2 s on a clean path. */
	assert_true(r.elapsed_us < 2000000);
}

static void test_natclass_classifies_every_nat_combination(void **state)
{
	const struct {
		enum alloc_kind alloc;
		int step;
	} allocs[] = {{ALLOC_PRESERVE, 0},
		      {ALLOC_SEQ, 1},
		      {ALLOC_SEQ, 2},
		      {ALLOC_SEQ, -3},
		      {ALLOC_RANDOM, 0}};
	int n = 0;

	(void)state;
	for (int map = MAP_EIM; map <= MAP_APDM; map++) {
		for (int filt = FILT_EIF; filt <= FILT_APDF; filt++) {
			for (size_t a = 0; a < WH_ARRAY_LEN(allocs); a++) {
				for (int hp = 0; hp < 2; hp++) {
					struct nat_model m = {.map = (enum map_kind)map,
							      .filt = (enum filt_kind)filt,
							      .alloc = allocs[a].alloc,
							      .step = allocs[a].step,
							      .hairpin = hp};

					check_case(&m);
					n++;
				}
			}
		}
	}
	assert_int_equal(n, 3 * 3 * 5 * 2);
}

/* Other hosts behind a sequential NAT take ports between ours: the step is
 * still found (the gcd of the steps seen). */
static void test_natclass_finds_the_step_despite_other_hosts(void **state)
{
	static const struct {
		int step;
		uint8_t others[8];
	} cases[] = {
		{1, {0, 0, 0, 0, 1, 0, 0, 0}},
		{1, {0, 0, 0, 0, 2, 1, 3, 0}},
		{2, {0, 0, 0, 0, 0, 1, 0, 0}},
		{-3, {0, 0, 0, 0, 1, 2, 1, 0}},
	};
	struct natclass_result r;
	struct sim s;

	(void)state;
	for (size_t i = 0; i < WH_ARRAY_LEN(cases); i++) {
		struct nat_model m = {.map = MAP_APDM,
				      .filt = FILT_APDF,
				      .alloc = ALLOC_SEQ,
				      .step = cases[i].step};

		memcpy(m.others, cases[i].others, sizeof(m.others));
		run(&m, &r, &s);
		assert_int_equal(r.type, NATCLASS_SYMMETRIC);
		assert_int_equal(r.allocation, NATCLASS_ALLOC_SEQUENTIAL);
		assert_int_equal(r.allocation_step, cases[i].step);
	}
}

static void test_natclass_reports_no_nat_as_open_with_its_filtering(void **state)
{
	(void)state;
	for (int filt = FILT_EIF; filt <= FILT_APDF; filt++) {
		struct nat_model m = {.map = MAP_NONE, .filt = (enum filt_kind)filt};

		check_case(&m);
	}
}

static void test_natclass_reports_udp_blocked_within_two_seconds(void **state)
{
	struct nat_model m = {.map = MAP_EIM, .blocked = true};
	struct natclass_result r;
	struct sim s;
	char json[NATCLASS_JSON_MAX];

	(void)state;
	run(&m, &r, &s);
	assert_int_equal(r.type, NATCLASS_UDP_BLOCKED);
	assert_int_equal(r.mapping, NATCLASS_BEHAVIOUR_UNKNOWN);
	assert_int_equal(r.hairpin, NATCLASS_HAIRPIN_UNKNOWN);
	assert_int_equal(s.sent, NATCLASS_TRIES);
	assert_int_equal(r.elapsed_us, NATCLASS_TEST_SPAN(NATCLASS_RTO_FIRST_US));
	assert_int_equal(natclass_result_format_json(&r, json, sizeof(json)), 0);
	assert_string_equal(json,
			    "{\"type\":\"udp-blocked\",\"behind_nat\":null,\"mapping\":\"unknown\","
			    "\"filtering\":\"unknown\",\"mapped_address\":null,"
			    "\"port_preserving\":false,\"allocation\":\"unknown\","
			    "\"allocation_step\":0,\"hairpin\":null,"
			    "\"alternate_answered\":false,\"elapsed_ms\":1750,"
			    "\"nat64_prefix\":null}");
}

static void test_natclass_gives_an_answer_when_the_alternate_ip_is_silent(void **state)
{
	struct nat_model cone = {.map = MAP_EIM, .filt = FILT_EIF, .alt_ip_dead = true};
	struct nat_model sym = {
		.map = MAP_APDM, .filt = FILT_APDF, .alloc = ALLOC_RANDOM, .alt_ip_dead = true};
	struct natclass_result r;
	struct sim s;

	(void)state;
	/* Only the alternate port answers: the cone is seen as at least
	 * address-dependent filtering, the mapping as unknown. */
	run(&cone, &r, &s);
	assert_int_equal(r.type, NATCLASS_RESTRICTED_CONE);
	assert_int_equal(r.mapping, NATCLASS_BEHAVIOUR_UNKNOWN);
	assert_int_equal(r.filtering, NATCLASS_ADDRESS_DEPENDENT);
	assert_false(r.alternate_answered);
	assert_true(r.elapsed_us <= 3000000);
	/* A new port on the primary IP still shows the port dependence. */
	run(&sym, &r, &s);
	assert_int_equal(r.type, NATCLASS_SYMMETRIC);
	assert_int_equal(r.mapping, NATCLASS_ADDRESS_AND_PORT_DEPENDENT);
	assert_int_equal(r.filtering, NATCLASS_ADDRESS_AND_PORT_DEPENDENT);
	assert_false(r.alternate_answered);
	assert_true(r.elapsed_us <= 3000000);
}

static void test_natclass_is_not_fooled_by_a_server_ignoring_change_request(void **state)
{
	struct nat_model m = {.map = MAP_EIM, .filt = FILT_EIF, .server_ignores_change = true};
	struct natclass_result r;
	struct sim s;

	(void)state;
	/* Replies to T2/T3 come from the primary address: not evidence. */
	run(&m, &r, &s);
	assert_int_equal(r.mapping, NATCLASS_ENDPOINT_INDEPENDENT);
	assert_int_not_equal(r.filtering, NATCLASS_ENDPOINT_INDEPENDENT);
	assert_int_not_equal(r.type, NATCLASS_FULL_CONE);
}

static void test_natclass_finishes_against_a_server_without_other_address(void **state)
{
	struct nat_model m = {.map = MAP_APDM, .filt = FILT_APDF, .server_single_ip = true};
	struct natclass_result r;
	struct sim s;

	(void)state;
	/* Nothing but T1 and the hairpin test can run: no claim beyond them. */
	run(&m, &r, &s);
	assert_int_equal(r.type, NATCLASS_PORT_RESTRICTED_CONE);
	assert_true(r.behind_nat);
	assert_int_equal(r.mapping, NATCLASS_BEHAVIOUR_UNKNOWN);
	assert_int_equal(r.filtering, NATCLASS_BEHAVIOUR_UNKNOWN);
	assert_int_equal(r.hairpin, NATCLASS_HAIRPIN_NO);
	assert_false(r.alternate_answered);
	assert_int_equal(s.sent, 1 + NATCLASS_TRIES);
	assert_true(r.elapsed_us < 1000000);
}

static void test_natclass_retransmits_a_lost_first_request(void **state)
{
	struct nat_model m = {.map = MAP_EIM, .filt = FILT_ADF, .lose_first = 1};
	struct natclass_result r;
	struct sim s;

	(void)state;
	run(&m, &r, &s);
	assert_int_equal(r.type, NATCLASS_RESTRICTED_CONE);
	/* The second try went out one first-test RTO later. */
	assert_true(r.elapsed_us >= NATCLASS_RTO_FIRST_US);
}

static void test_natclass_allows_a_slow_path(void **state)
{
	struct nat_model m = {.map = MAP_EIM, .filt = FILT_EIF, .rtt_us = 400000};
	struct natclass_result r;
	struct sim s;

	(void)state;
	/* RTT above every RTO: answers to earlier tries still count. */
	run(&m, &r, &s);
	assert_int_equal(r.type, NATCLASS_FULL_CONE);
	assert_int_equal(r.mapping, NATCLASS_ENDPOINT_INDEPENDENT);
}

static void test_natclass_ignores_foreign_packets(void **state)
{
	struct natclass_params p = {.n_local = 1};
	struct natclass *nc;
	struct natclass_send send;
	struct sockaddr_storage from = ss("192.0.2.1:3478");
	const uint8_t other_txid[STUN_TXID_LEN] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
	uint8_t buf[STUN_REQUEST_MAX];
	size_t n;

	(void)state;
	p.server = from;
	p.local[0] = ss("10.0.0.2:40000");
	assert_int_equal(natclass_new(&p, 0, &nc), 0);
	assert_int_equal(natclass_next(nc, 0, &send), NATCLASS_SEND);
	assert_int_equal(stun_write_request(other_txid, 0, buf, sizeof(buf), &n), 0);
	assert_false(natclass_on_packet(nc, 1000, buf, n, (struct sockaddr *)&from));
	assert_false(natclass_on_packet(nc, 1000, (const uint8_t *)"hello", 5,
					(struct sockaddr *)&from));
	/* Our own request echoed back is ours, but is no answer to T1. */
	assert_true(natclass_on_packet(nc, 1000, send.buf, send.len, (struct sockaddr *)&from));
	assert_int_equal(natclass_next(nc, 1000, &send), NATCLASS_WAIT);
	assert_int_equal(send.wake_us, NATCLASS_RTO_FIRST_US);
	natclass_free(nc);
	natclass_free(NULL);
	p.server.ss_family = AF_UNIX;
	assert_int_equal(natclass_new(&p, 0, &nc), -EINVAL);
	assert_null(nc);
}

static void test_natclass_formats_json_and_text(void **state)
{
	struct natclass_result r = {
		.type = NATCLASS_SYMMETRIC,
		.behind_nat = true,
		.mapping = NATCLASS_ADDRESS_AND_PORT_DEPENDENT,
		.filtering = NATCLASS_ADDRESS_DEPENDENT,
		.mapped = ss("[2001:db8::5]:50002"),
		.allocation = NATCLASS_ALLOC_SEQUENTIAL,
		.allocation_step = 2,
		.hairpin = NATCLASS_HAIRPIN_NO,
		.alternate_answered = true,
		.elapsed_us = 812345,
	};
	char buf[NATCLASS_TEXT_MAX];

	(void)state;
	assert_int_equal(natclass_result_format_json(&r, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"type\":\"symmetric\",\"behind_nat\":true,\"mapping\":"
				 "\"address-and-port-dependent\","
				 "\"filtering\":\"address-dependent\","
				 "\"mapped_address\":\"[2001:db8::5]:50002\","
				 "\"port_preserving\":false,\"allocation\":\"sequential\","
				 "\"allocation_step\":2,\"hairpin\":false,"
				 "\"alternate_answered\":true,\"elapsed_ms\":812,"
				 "\"nat64_prefix\":null}");
	assert_int_equal(natclass_result_format_text(&r, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "NAT type:        symmetric\n"));
	assert_non_null(strstr(buf, "allocation:      sequential (step 2)\n"));
	assert_int_equal(natclass_result_format_json(&r, buf, 40), -ENOSPC);
	assert_string_equal(buf, "");
	/* Through a NAT64 (the longest prefix text there is): said in both, and
	 * the longest result still fits the documented sizes. */
	r.type = NATCLASS_PORT_RESTRICTED_CONE;
	r.mapping = r.filtering = NATCLASS_ADDRESS_AND_PORT_DEPENDENT;
	r.mapped = ss("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	r.allocation_step = -32768;
	r.elapsed_us = UINT64_MAX;
	r.nat64.len = 96;
	memset(&r.nat64.prefix, 0xff, 12);
	assert_int_equal(natclass_result_format_json(&r, buf, NATCLASS_JSON_MAX), 0);
	assert_non_null(strstr(buf, ",\"nat64_prefix\":\"ffff:ffff:ffff:ffff:ffff:ffff::/96\"}"));
	assert_int_equal(natclass_result_format_text(&r, buf, NATCLASS_TEXT_MAX), 0);
	assert_non_null(strstr(buf, "\nNAT64 prefix:    ffff:ffff:ffff:ffff:ffff:ffff::/96\n"));
	assert_string_equal(natclass_type_name(NATCLASS_PORT_RESTRICTED_CONE),
			    "port-restricted-cone");
	assert_string_equal(natclass_type_name(NATCLASS_FULL_CONE), "full-cone");
	assert_string_equal(natclass_type_name(NATCLASS_RESTRICTED_CONE), "restricted-cone");
	assert_string_equal(natclass_type_name(NATCLASS_OPEN), "open");
	assert_string_equal(natclass_alloc_name(NATCLASS_ALLOC_RANDOM), "random");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_natclass_classifies_every_nat_combination),
		cmocka_unit_test(test_natclass_finds_the_step_despite_other_hosts),
		cmocka_unit_test(test_natclass_reports_no_nat_as_open_with_its_filtering),
		cmocka_unit_test(test_natclass_reports_udp_blocked_within_two_seconds),
		cmocka_unit_test(test_natclass_gives_an_answer_when_the_alternate_ip_is_silent),
		cmocka_unit_test(test_natclass_is_not_fooled_by_a_server_ignoring_change_request),
		cmocka_unit_test(test_natclass_finishes_against_a_server_without_other_address),
		cmocka_unit_test(test_natclass_retransmits_a_lost_first_request),
		cmocka_unit_test(test_natclass_allows_a_slow_path),
		cmocka_unit_test(test_natclass_ignores_foreign_packets),
		cmocka_unit_test(test_natclass_formats_json_and_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
