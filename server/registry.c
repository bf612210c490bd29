/* registry: who the server's clients are and how to find them (PROTOCOL.md
 * "Sessions", "Client <-> server"; DESIGN §1). Owns each client and its
 * session; the id, key and receiver-index lookups only borrow. A client's
 * session lives as long as the client stays in routes.conf with the same
 * key, so the last accepted stamp survives reloads. Must not: do I/O, read
 * a clock, decide protocol policy (server/conn.c does). */
#include "registry.h"

#include "common/addr.h"
#include "proto/session.h"

#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- receiver indices ---- */

void registry_index_purge(struct registry *reg, struct registry_client *c)
{
	for (size_t k = 0; k < REGISTRY_INDICES_MAX; k++) {
		uint32_t idx = c->indices[k];

		if (idx != 0 && !session_owns_index(c->session, idx)) {
			rxindex_del(&reg->indices, idx);
			c->indices[k] = 0;
		}
	}
}

uint32_t registry_index_new(struct registry *reg, struct registry_client *c)
{
	size_t k;
	uint32_t idx;
	int rc;

	registry_index_purge(reg, c);
	for (k = 0; k < REGISTRY_INDICES_MAX && c->indices[k] != 0; k++) {
	}
	if (k == REGISTRY_INDICES_MAX) {
		return 0;
	}
	/* PROTOCOL.md: the server's indices always have the top bit set. */
	do {
		idx = REGISTRY_INDEX_TOP | randombytes_random();
		rc = rxindex_add(&reg->indices, idx, c);
	} while (rc == -EEXIST);
	if (rc != 0) {
		return 0;
	}
	c->indices[k] = idx;
	return idx;
}

struct registry_client *registry_find_by_index(struct registry *reg, uint32_t idx)
{
	struct registry_client *c = rxindex_find(&reg->indices, idx);

	if (!c || !session_owns_index(c->session, idx)) {
		return NULL;
	}
	return c;
}

/* ---- uplinks ---- */

bool registry_uplink_is_present(const struct registry_client *c, unsigned u)
{
	if (u == c->main_uplink) {
		return c->addr_len != 0;
	}
	return u < WIRE_UPLINKS_MAX && c->uplinks[u].is_present;
}

uint8_t registry_uplink_mask(const struct registry_client *c)
{
	uint8_t mask = (uint8_t)(1u << c->main_uplink);

	for (unsigned u = 0; u < WIRE_UPLINKS_MAX; u++) {
		if (u != c->main_uplink && c->uplinks[u].is_present) {
			mask |= (uint8_t)(1u << u);
		}
	}
	return mask;
}

unsigned registry_uplink_find(const struct registry_client *c, const struct listener_sock *sock,
			      const struct sockaddr *from)
{
	for (unsigned u = 0; u < WIRE_UPLINKS_MAX; u++) {
		const struct registry_uplink *up = &c->uplinks[u];

		if (u != c->main_uplink && up->is_present && up->sock == sock &&
		    addr_equal(from, (const struct sockaddr *)&up->addr)) {
			return u;
		}
	}
	return REGISTRY_UPLINK_NONE;
}

enum registry_uplink_change registry_uplink_note(struct registry_client *c, unsigned u,
						 const struct listener_sock *sock,
						 const struct sockaddr *from,
						 const struct frame_register *reg, uint64_t now_us)
{
	struct registry_uplink *up = &c->uplinks[u];
	enum registry_uplink_change ch = REGISTRY_UPLINK_SAME;

	assert(u < WIRE_UPLINKS_MAX && u != c->main_uplink);
	if (!up->is_present) {
		memset(up, 0, sizeof(*up));
		up->is_present = true;
		ch = REGISTRY_UPLINK_ADDED;
	}
	if (up->sock != sock || up->addr_len == 0 ||
	    !addr_equal(from, (const struct sockaddr *)&up->addr)) {
		memset(&up->addr, 0, sizeof(up->addr));
		up->addr_len = addr_len((const struct sockaddr_storage *)(const void *)from);
		memcpy(&up->addr, from, up->addr_len);
		up->sock = sock;
		ch = ch == REGISTRY_UPLINK_SAME ? REGISTRY_UPLINK_MOVED : ch;
	}
	if (reg) {
		if (ch == REGISTRY_UPLINK_SAME &&
		    (up->natclass != reg->natclass || up->alloc_step != reg->alloc_step ||
		     strcmp(up->name, reg->name.text) != 0)) {
			ch = REGISTRY_UPLINK_UPDATED;
		}
		up->natclass = reg->natclass;
		up->alloc_step = reg->alloc_step;
		/* Validated names are shorter than the field: the copy terminates. */
		snprintf(up->name, sizeof(up->name), "%s", reg->name.text);
		up->registered_us = now_us;
	}
	up->last_rx_us = now_us;
	up->rx_packets++;
	return ch;
}

uint8_t registry_uplink_silent(const struct registry_client *c, uint64_t now_us, uint64_t max_us)
{
	uint8_t mask = 0;

	for (unsigned u = 0; u < WIRE_UPLINKS_MAX; u++) {
		if (u != c->main_uplink && c->uplinks[u].is_present &&
		    now_us - c->uplinks[u].last_rx_us > max_us) {
			mask |= (uint8_t)(1u << u);
		}
	}
	return mask;
}

void registry_uplink_del(struct registry_client *c, unsigned u)
{
	if (u < WIRE_UPLINKS_MAX && u != c->main_uplink) {
		memset(&c->uplinks[u], 0, sizeof(c->uplinks[u]));
	}
}

uint8_t registry_uplink_clear(struct registry_client *c)
{
	uint8_t was = registry_uplink_mask(c) & (uint8_t) ~(1u << c->main_uplink);

	for (unsigned u = 0; u < WIRE_UPLINKS_MAX; u++) {
		registry_uplink_del(c, u);
	}
	return was;
}

bool registry_uplink_set_main(struct registry_client *c, unsigned u)
{
	if (u >= WIRE_UPLINKS_MAX || u == c->main_uplink) {
		return false;
	}
	memset(&c->uplinks[c->main_uplink], 0, sizeof(c->uplinks[0]));
	c->main_uplink = (uint8_t)u;
	memset(&c->uplinks[u], 0, sizeof(c->uplinks[u]));
	return true;
}

/* ---- clients ---- */

static void client_free(struct registry *reg, struct registry_client *c)
{
	if (!c) {
		return;
	}
	for (size_t k = 0; k < REGISTRY_INDICES_MAX; k++) {
		if (c->indices[k] != 0) {
			rxindex_del(&reg->indices, c->indices[k]);
		}
	}
	session_free(c->session);
	free(c->fstats);
	free(c);
}

/* A counter's total after a report of now, prev in the report before. */
static uint64_t count_on(uint64_t total, uint64_t prev, uint64_t now, bool restarted)
{
	return restarted ? total + now : total - prev + now;
}

/* Take report s into e: counters count on from e's totals; a counter lower
 * than before means the client counts from 0 again (its process or its flow
 * started again), so every counter adds its whole value. */
static void add_report(struct registry_flowstat *e, const struct frame_flow_stats *s)
{
	const struct frame_flow_stats *p = &e->sent;
	bool restarted = s->tx_packets < p->tx_packets || s->tx_bytes < p->tx_bytes ||
			 s->rx_packets < p->rx_packets || s->rx_bytes < p->rx_bytes ||
			 s->drops < p->drops;
	struct frame_flow_stats t = *s;

	t.tx_packets = count_on(e->s.tx_packets, p->tx_packets, s->tx_packets, restarted);
	t.tx_bytes = count_on(e->s.tx_bytes, p->tx_bytes, s->tx_bytes, restarted);
	t.rx_packets = count_on(e->s.rx_packets, p->rx_packets, s->rx_packets, restarted);
	t.rx_bytes = count_on(e->s.rx_bytes, p->rx_bytes, s->rx_bytes, restarted);
	t.drops = count_on(e->s.drops, p->drops, s->drops, restarted);
	e->s = t;
	e->sent = *s;
}

/* Drop c's flow stats of flows r does not make it a member of. */
static void flowstat_prune(struct registry_client *c, const struct routes *r)
{
	for (size_t i = 0; i < c->n_fstats;) {
		const struct routes_flow *fl = routes_find_flow(r, c->fstats[i].flow);

		if (fl && routes_flow_has_member(fl, c->id)) {
			i++;
		} else {
			c->fstats[i] = c->fstats[--c->n_fstats];
		}
	}
}

int registry_flowstat_put(struct registry_client *c, const struct frame_flow_stats *s,
			  uint64_t now_us)
{
	struct registry_flowstat *e =
		(struct registry_flowstat *)registry_flowstat_get(c, s->flow.text);

	if (!e) {
		if (c->n_fstats == REGISTRY_FLOWSTATS_MAX) {
			return -ENOSPC;
		}
		if (c->n_fstats == c->cap_fstats) {
			size_t cap = c->cap_fstats ? 2 * c->cap_fstats : 4;
			struct registry_flowstat *n = realloc(c->fstats, cap * sizeof(*n));

			if (!n) {
				return -ENOMEM;
			}
			c->fstats = n;
			c->cap_fstats = cap;
		}
		e = &c->fstats[c->n_fstats++];
		memset(e, 0, sizeof(*e));
		snprintf(e->flow, sizeof(e->flow), "%s", s->flow.text);
	}
	add_report(e, s);
	e->updated_us = now_us;
	return 0;
}

const struct registry_flowstat *registry_flowstat_get(const struct registry_client *c,
						      const char *flow)
{
	for (size_t i = 0; i < c->n_fstats; i++) {
		if (strcmp(c->fstats[i].flow, flow) == 0) {
			return &c->fstats[i];
		}
	}
	return NULL;
}

static struct registry_client *client_new(struct registry *reg, const struct routes_client *rc)
{
	struct registry_client *c = calloc(1, sizeof(*c));

	if (!c) {
		return NULL;
	}
	snprintf(c->id, sizeof(c->id), "%s", rc->id);
	memcpy(c->key, rc->key, WIRE_KEY_LEN);
	c->session = session_new(&reg->local, rc->key, NULL);
	if (!c->session) {
		free(c);
		return NULL;
	}
	/* Generations grow across restarts of the server: start from its
	 * start time (wall-clock µs), one step per new set after that. */
	c->gen_sent = reg->gen_base;
	return c;
}

struct registry_client *registry_find_by_id(struct registry *reg, const char *id)
{
	for (size_t i = 0; i < reg->n_clients; i++) {
		if (strcmp(reg->clients[i]->id, id) == 0) {
			return reg->clients[i];
		}
	}
	return NULL;
}

struct registry_client *registry_find_by_key(struct registry *reg, const uint8_t key[WIRE_KEY_LEN])
{
	for (size_t i = 0; i < reg->n_clients; i++) {
		if (memcmp(reg->clients[i]->key, key, WIRE_KEY_LEN) == 0) {
			return reg->clients[i];
		}
	}
	return NULL;
}

/* The kept client for rc, or NULL when it is new or its key changed. */
static struct registry_client *keep(struct registry *reg, const struct routes_client *rc)
{
	struct registry_client *c = registry_find_by_id(reg, rc->id);

	return c && memcmp(c->key, rc->key, WIRE_KEY_LEN) == 0 ? c : NULL;
}

static bool in_list(struct registry_client **list, size_t n, const struct registry_client *c)
{
	for (size_t i = 0; i < n; i++) {
		if (list[i] == c) {
			return true;
		}
	}
	return false;
}

int registry_update(struct registry *reg, const struct routes *r)
{
	struct registry_client **next = calloc(r->n_clients ? r->n_clients : 1, sizeof(*next));
	size_t i;

	if (!next || rxindex_reserve(&reg->indices, r->n_clients * REGISTRY_INDICES_MAX) != 0) {
		goto fail;
	}
	for (i = 0; i < r->n_clients; i++) {
		next[i] = keep(reg, &r->clients[i]);
		if (!next[i]) {
			next[i] = client_new(reg, &r->clients[i]);
			if (!next[i]) {
				goto fail;
			}
		}
	}
	/* Commit: nothing below fails. Clients not kept go, indices first;
	 * those kept forget the flows they left. */
	for (i = 0; i < reg->n_clients; i++) {
		if (!in_list(next, r->n_clients, reg->clients[i])) {
			client_free(reg, reg->clients[i]);
		}
	}
	for (i = 0; i < r->n_clients; i++) {
		flowstat_prune(next[i], r);
	}
	free(reg->clients);
	reg->clients = next;
	reg->n_clients = r->n_clients;
	return 0;
fail:
	for (i = 0; next && i < r->n_clients; i++) {
		if (next[i] && !in_list(reg->clients, reg->n_clients, next[i])) {
			client_free(reg, next[i]);
		}
	}
	free(next);
	return -ENOMEM;
}

int registry_init(struct registry *reg, const struct routes *r, uint64_t gen_base)
{
	memset(reg, 0, sizeof(*reg));
	reg->gen_base = gen_base;
	if (noise_keypair_from_private(&reg->local, r->server.key) != 0) {
		return -EINVAL;
	}
	return registry_update(reg, r);
}

void registry_fini(struct registry *reg)
{
	for (size_t i = 0; i < reg->n_clients; i++) {
		client_free(reg, reg->clients[i]);
	}
	free(reg->clients);
	rxindex_fini(&reg->indices);
	sodium_memzero(&reg->local, sizeof(reg->local));
	memset(reg, 0, sizeof(*reg));
}
