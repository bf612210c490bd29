/* routespeers: who shares a flow with whom in a parsed routes.conf (one
 * sends into a flow the other receives from: the two sinks of a 1:N flow
 * share nothing through it), and the flows of each client (the indexes of
 * struct routes, see routes.h). Built in O(sum over flows of members^2)
 * plus a sort, once per parse; queried per client in O(its peers). */
#include "config/routespeers.h"
#include "config/routes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One direction of one shared flow: client a sees client b. */
struct edge {
	uint32_t a;
	uint32_t b;
	uint8_t modes;
};

static int edge_cmp(const void *x, const void *y)
{
	const struct edge *p = x, *q = y;

	if (p->a != q->a) {
		return p->a < q->a ? -1 : 1;
	}
	return p->b < q->b ? -1 : p->b > q->b;
}

/* A member's part in a flow: it sends into it, it receives from it, or
 * both (every member of an N:N flow). */
#define ROLE_SOURCE 1u
#define ROLE_SINK 2u

/* Indices of a flow's members (from and to, or members), each once, and
 * their roles. */
static size_t flow_members(const struct routes *r, const struct routes_flow *f,
			   uint32_t out[2 * ROUTES_MEMBERS_MAX],
			   uint8_t roles[2 * ROUTES_MEMBERS_MAX])
{
	char(*lists[3])[ROUTES_NAME_SIZE] = {f->from, f->to, f->members};
	const size_t counts[3] = {f->is_nn ? 0 : f->n_from, f->is_nn ? 0 : f->n_to,
				  f->is_nn ? f->n_members : 0};
	const uint8_t role_of[3] = {ROLE_SOURCE, ROLE_SINK, ROLE_SOURCE | ROLE_SINK};
	size_t n = 0;

	for (size_t l = 0; l < 3; l++) {
		for (size_t k = 0; k < counts[l] && n < 2 * ROUTES_MEMBERS_MAX; k++) {
			size_t idx = routes_client_index(r, lists[l][k]);
			size_t j = 0;

			if (idx == SIZE_MAX) {
				continue;
			}
			while (j < n && out[j] != idx) {
				j++;
			}
			if (j == n) {
				out[n] = (uint32_t)idx;
				roles[n++] = 0;
			}
			roles[j] |= role_of[l];
		}
	}
	return n;
}

/* Every flow's members as client indices, resolved once: flow i's are
 * fm->idx[fm->start[i] .. fm->start[i + 1]), with their roles in fm->role. */
struct flow_members {
	size_t *start;
	uint32_t *idx;
	uint8_t *role;
};

static int resolve_members(const struct routes *r, struct flow_members *fm)
{
	uint32_t m[2 * ROUTES_MEMBERS_MAX];
	uint8_t roles[2 * ROUTES_MEMBERS_MAX];
	size_t cap = 0;

	fm->start = calloc(r->n_flows + 1, sizeof(*fm->start));
	for (size_t i = 0; i < r->n_flows; i++) {
		cap += r->flows[i].n_from + r->flows[i].n_to + r->flows[i].n_members;
	}
	fm->idx = calloc(cap ? cap : 1, sizeof(*fm->idx));
	fm->role = calloc(cap ? cap : 1, sizeof(*fm->role));
	if (!fm->start || !fm->idx || !fm->role) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->n_flows; i++) {
		size_t n = flow_members(r, &r->flows[i], m, roles);

		memcpy(&fm->idx[fm->start[i]], m, n * sizeof(m[0]));
		memcpy(&fm->role[fm->start[i]], roles, n * sizeof(roles[0]));
		fm->start[i + 1] = fm->start[i] + n;
	}
	return 0;
}

/* Datagrams or streams go between x and y in this flow: one sends into it
 * and the other receives from it. Two sinks of a 1:N flow (or two sources
 * of an N:1 flow) exchange nothing: they are no peers through it. */
static bool exchange(uint8_t role_x, uint8_t role_y)
{
	return ((role_x & ROLE_SOURCE) && (role_y & ROLE_SINK)) ||
	       ((role_x & ROLE_SINK) && (role_y & ROLE_SOURCE));
}

/* The flows of each client, in file order (flow_start, member_flows). */
static int index_flows(struct routes *r, const struct flow_members *fm)
{
	size_t total = fm->start[r->n_flows];

	r->flow_start = calloc(r->n_clients + 1, sizeof(*r->flow_start));
	r->member_flows = calloc(total ? total : 1, sizeof(*r->member_flows));
	if (!r->flow_start || !r->member_flows) {
		return -ENOMEM;
	}
	for (size_t k = 0; k < total; k++) {
		r->flow_start[fm->idx[k] + 1]++;
	}
	for (size_t i = 0; i < r->n_clients; i++) {
		r->flow_start[i + 1] += r->flow_start[i];
	}
	/* Fill in file order; flow_start[c] walks to flow_start[c + 1] and is
	 * set back after. */
	for (size_t i = 0; i < r->n_flows; i++) {
		for (size_t k = fm->start[i]; k < fm->start[i + 1]; k++) {
			r->member_flows[r->flow_start[fm->idx[k]]++] = (uint32_t)i;
		}
	}
	for (size_t i = r->n_clients; i > 0; i--) {
		r->flow_start[i] = r->flow_start[i - 1];
	}
	r->flow_start[0] = 0;
	return 0;
}

/* Who shares a flow with whom (peer_start, peers). */
static int index_peers(struct routes *r, const struct flow_members *fm)
{
	struct edge *e = NULL;
	size_t n_e = 0, n_out = 0;

	for (size_t i = 0; i < r->n_flows; i++) {
		size_t n = fm->start[i + 1] - fm->start[i];

		n_e += n * (n > 0 ? n - 1 : 0);
	}
	r->peer_start = calloc(r->n_clients + 1, sizeof(*r->peer_start));
	e = calloc(n_e ? n_e : 1, sizeof(*e));
	if (!r->peer_start || !e) {
		free(e);
		return -ENOMEM;
	}
	n_e = 0;
	for (size_t i = 0; i < r->n_flows; i++) {
		const uint32_t *m = &fm->idx[fm->start[i]];
		const uint8_t *role = &fm->role[fm->start[i]];
		size_t n = fm->start[i + 1] - fm->start[i];
		uint8_t mode = (uint8_t)(1u << r->flows[i].multipath);

		for (size_t x = 0; x < n; x++) {
			for (size_t y = 0; y < n; y++) {
				if (x != y && exchange(role[x], role[y])) {
					e[n_e++] = (struct edge){m[x], m[y], mode};
				}
			}
		}
	}
	if (n_e > 0) {
		qsort(e, n_e, sizeof(*e), edge_cmp);
	}
	/* Merge the edges of a pair that share several flows, in place. */
	for (size_t i = 0; i < n_e; i++) {
		if (n_out > 0 && e[n_out - 1].a == e[i].a && e[n_out - 1].b == e[i].b) {
			e[n_out - 1].modes |= e[i].modes;
		} else {
			e[n_out++] = e[i];
		}
	}
	r->peers = calloc(n_out ? n_out : 1, sizeof(*r->peers));
	if (!r->peers) {
		free(e);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_out; i++) {
		r->peers[i].client = e[i].b;
		r->peers[i].modes = e[i].modes;
		r->peer_start[e[i].a + 1]++;
	}
	for (size_t i = 0; i < r->n_clients; i++) {
		r->peer_start[i + 1] += r->peer_start[i];
	}
	free(e);
	return 0;
}

int routespeers_build(struct routes *r)
{
	struct flow_members fm = {NULL, NULL, NULL};
	int err = resolve_members(r, &fm);

	if (err == 0) {
		err = index_flows(r, &fm);
	}
	if (err == 0) {
		err = index_peers(r, &fm);
	}
	free(fm.start);
	free(fm.idx);
	free(fm.role);
	return err;
}

size_t routes_client_index(const struct routes *r, const char *id)
{
	for (size_t i = 0; i < r->n_clients; i++) {
		if (strcmp(r->clients[i].id, id) == 0) {
			return i;
		}
	}
	return SIZE_MAX;
}

const struct routes_peer *routes_peers_of(const struct routes *r, size_t i, size_t *n)
{
	if (!r->peer_start || i >= r->n_clients) {
		*n = 0;
		return NULL;
	}
	*n = r->peer_start[i + 1] - r->peer_start[i];
	return &r->peers[r->peer_start[i]];
}

const uint32_t *routes_flows_of(const struct routes *r, size_t i, size_t *n)
{
	if (!r->flow_start || i >= r->n_clients) {
		*n = 0;
		return NULL;
	}
	*n = r->flow_start[i + 1] - r->flow_start[i];
	return &r->member_flows[r->flow_start[i]];
}

unsigned routes_shared_modes(const struct routes *r, const char *a, const char *b)
{
	size_t ia = routes_client_index(r, a), ib = routes_client_index(r, b);
	size_t n, lo = 0, hi;
	const struct routes_peer *p;

	if (ia == SIZE_MAX || ib == SIZE_MAX) {
		return 0;
	}
	p = routes_peers_of(r, ia, &n);
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p[mid].client == ib) {
			return p[mid].modes;
		}
		if (p[mid].client < ib) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return 0;
}
