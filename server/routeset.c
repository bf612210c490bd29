/* routeset: build one client's route set from validated routes (PROTOCOL.md
 * "Route sets", DESIGN §4). Owns nothing and keeps no state: the same routes,
 * relay ports and generation always give the same bytes, which is what lets
 * the caller compare a hash of the set (generation left out) to decide
 * whether a client needs a new generation at all. Must not: touch sockets,
 * read a clock, seal packets. */
#include "routeset.h"

#include "common/diag.h"
#include "config/routes.h"
#include "proto/frame.h"
#include "proto/frameaddr.h"
#include "proto/wire.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct packer {
	uint8_t buf[WIRE_MAX_PLAINTEXT];
	struct wire_writer w;
	routeset_emit_fn *emit;
	void *emit_ctx;
	crypto_generichash_state hash;
	size_t n_packets;
	int err;
};

uint32_t routeset_flow_id(const char *name)
{
	uint8_t h[crypto_generichash_BYTES];

	/* crypto_generichash cannot fail with a valid output length. */
	(void)crypto_generichash(h, sizeof(h), (const uint8_t *)name, strlen(name), NULL, 0);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

struct flow_id {
	uint32_t id;
	size_t flow; /* index in routes.flows */
};

static int flow_id_cmp(const void *a, const void *b)
{
	const struct flow_id *x = a, *y = b;

	if (x->id != y->id) {
		return x->id < y->id ? -1 : 1;
	}
	return x->flow < y->flow ? -1 : x->flow > y->flow;
}

int routeset_check_ids(const struct routes *r, struct diag *d)
{
	struct flow_id *ids = calloc(r->n_flows ? r->n_flows : 1, sizeof(*ids));
	size_t first = SIZE_MAX, later = SIZE_MAX;

	if (!ids) {
		diag_set(d, r->path, 0, "out of memory");
		return -ENOMEM;
	}
	/* Sorted by id (then file order), equal ids sit side by side: report
	 * the collision whose later flow comes first in the file, as a pass
	 * over every earlier flow would, without hashing F^2 names. */
	for (size_t i = 0; i < r->n_flows; i++) {
		ids[i] = (struct flow_id){routeset_flow_id(r->flows[i].name), i};
	}
	qsort(ids, r->n_flows, sizeof(*ids), flow_id_cmp);
	for (size_t i = 1; i < r->n_flows; i++) {
		if (ids[i].id == ids[i - 1].id && (i < 2 || ids[i - 2].id != ids[i].id) &&
		    ids[i].flow < later) {
			first = ids[i - 1].flow;
			later = ids[i].flow;
		}
	}
	free(ids);
	if (later != SIZE_MAX) {
		diag_set(d, r->path, r->flows[later].line,
			 "flow \"%s\": flow id 0x%08x collides with flow \"%s\" (rename one of "
			 "them)",
			 r->flows[later].name, (unsigned)routeset_flow_id(r->flows[later].name),
			 r->flows[first].name);
		return -EEXIST;
	}
	return 0;
}

static void packer_flush(struct packer *p)
{
	if (p->w.len == 0) {
		return;
	}
	if (p->emit) {
		p->emit(p->emit_ctx, p->buf, p->w.len);
	}
	p->n_packets++;
	wire_writer_init(&p->w, p->buf, sizeof(p->buf));
}

/* Append f (whose generation field the caller set to gen) to the packet,
 * starting a new packet when it does not fit. The hash covers the frame
 * encoded with generation 0, so it does not change with the generation. */
static void packer_add(struct packer *p, struct frame *f, uint64_t *gen_field, uint64_t gen)
{
	uint8_t tmp[WIRE_MAX_PLAINTEXT];
	struct wire_writer hw;
	size_t len = 0;

	if (p->err != 0) {
		return;
	}
	*gen_field = 0;
	wire_writer_init(&hw, tmp, sizeof(tmp));
	if (frame_write(&hw, f) != 0 || wire_writer_done(&hw, &len) != 0) {
		p->err = -EINVAL;
		return;
	}
	crypto_generichash_update(&p->hash, tmp, len);
	*gen_field = gen;
	if (p->w.len + frame_size(f) > ROUTESET_PACKET_MAX) {
		packer_flush(p);
	}
	if (frame_write(&p->w, f) != 0) {
		p->err = -EINVAL;
	}
}

/* Add id to the member list with roles, merging with an earlier entry. */
static int add_member(struct frame_route *rt, const char *id, uint8_t roles)
{
	for (size_t i = 0; i < rt->member_count; i++) {
		if (strcmp(rt->members[i].name.text, id) == 0) {
			rt->members[i].roles |= roles;
			return 0;
		}
	}
	if (rt->member_count >= WIRE_MEMBERS_MAX) {
		return -E2BIG;
	}
	if (frame_name_set(&rt->members[rt->member_count].name, id) != 0) {
		return -EINVAL;
	}
	rt->members[rt->member_count++].roles = roles;
	return 0;
}

static int fill_members(struct frame_route *rt, const struct routes_flow *fl)
{
	int err = 0;

	if (fl->is_nn) {
		for (size_t i = 0; i < fl->n_members && err == 0; i++) {
			err = add_member(rt, fl->members[i], FRAME_ROLES_ALL);
		}
		return err;
	}
	for (size_t i = 0; i < fl->n_from && err == 0; i++) {
		err = add_member(rt, fl->from[i], FRAME_ROLE_SOURCE);
	}
	for (size_t i = 0; i < fl->n_to && err == 0; i++) {
		err = add_member(rt, fl->to[i], FRAME_ROLE_SINK);
	}
	return err;
}

static int fill_route(struct frame *f, const struct routes_flow *fl, const char *id)
{
	struct frame_route *rt = &f->u.route;
	struct sockaddr_storage ss;
	socklen_t ss_len = 0;

	memset(f, 0, sizeof(*f));
	f->type = FRAME_ROUTE;
	rt->flow_id = routeset_flow_id(fl->name);
	if (frame_name_set(&rt->flow, fl->name) != 0) {
		return -EINVAL;
	}
	rt->proto = fl->proto == ROUTES_PROTO_TCP ? FRAME_PROTO_TCP : FRAME_PROTO_UDP;
	rt->port = fl->port;
	rt->listen_port = routes_flow_listen_port(fl, id);
	if (routes_flow_deliver_addr(fl, id, &ss, &ss_len) == 0) {
		(void)frameaddr_from_sockaddr(&rt->deliver, (const struct sockaddr *)&ss);
	}
	rt->mtu = (uint16_t)fl->mtu;
	return fill_members(rt, fl);
}

static uint32_t to_ppb(double prob)
{
	/* Validated to 0..1 by the parser; rounded so 0.1 is 100000000 exactly. */
	return (uint32_t)llround(prob * FRAME_PPB_ONE);
}

/* The flow's FLOW_OPTS; false when every option has its default (no frame). */
static bool fill_opts(struct frame *f, const struct routes_flow *fl)
{
	struct frame_flow_opts *o = &f->u.flow_opts;
	const struct routes_impair *im = &fl->impair;

	memset(f, 0, sizeof(*f));
	f->type = FRAME_FLOW_OPTS;
	o->flow_id = routeset_flow_id(fl->name);
	o->multipath = fl->multipath == ROUTES_MULTIPATH_REDUNDANT ? FRAME_MULTIPATH_REDUNDANT
		       : fl->multipath == ROUTES_MULTIPATH_BALANCE ? FRAME_MULTIPATH_BALANCE
								   : FRAME_MULTIPATH_FAILOVER;
	if (fl->has_impair) {
		o->flags = FRAME_FLOW_OPTS_IMPAIR | (im->has_seed ? FRAME_FLOW_OPTS_HAS_SEED : 0);
		o->loss_ppb = to_ppb(im->loss);
		o->loss_burst_ppb = to_ppb(im->loss_burst);
		o->corrupt_ppb = to_ppb(im->corrupt);
		o->duplicate_ppb = to_ppb(im->duplicate);
		o->reorder_ppb = to_ppb(im->reorder);
		o->delay_ms = im->delay_ms;
		o->jitter_ms = im->jitter_ms;
		o->rate_kbps = im->rate_kbps;
		o->seed = im->has_seed ? im->seed : 0;
	}
	return o->flags != 0 || o->multipath != FRAME_MULTIPATH_FAILOVER;
}

static void add_routes(struct packer *p, const struct routes *r, const char *id, uint64_t gen,
		       uint16_t *count)
{
	struct frame f;
	size_t n = 0;
	const uint32_t *flows = routes_flows_of(r, routes_client_index(r, id), &n);

	for (size_t k = 0; k < n && p->err == 0; k++) {
		size_t i = flows[k];

		p->err = fill_route(&f, &r->flows[i], id);
		packer_add(p, &f, &f.u.route.generation, gen);
		(*count)++;
		/* Options travel in their own frame (frame.h extension rule). Being
		 * part of the set, they are in its hash: an edit of only `impair`
		 * makes a new generation. */
		if (p->err == 0 && fill_opts(&f, &r->flows[i])) {
			packer_add(p, &f, &f.u.flow_opts.generation, gen);
			(*count)++;
		}
	}
}

static void add_peers(struct packer *p, const struct routes *r, const char *id, uint64_t gen,
		      routeset_peer_fn *peer_info, void *peer_ctx, uint16_t *count)
{
	struct routeset_peer info;
	struct frame f;
	size_t n = 0;
	const struct routes_peer *peers = routes_peers_of(r, routes_client_index(r, id), &n);

	for (size_t i = 0; i < n && p->err == 0; i++) {
		const struct routes_client *c = &r->clients[peers[i].client];

		memset(&f, 0, sizeof(f));
		f.type = FRAME_PEER;
		memset(&info, 0, sizeof(info));
		if (peer_info) {
			peer_info(peer_ctx, id, c->id, &info);
		}
		f.u.peer.relay_port = info.relay_port;
		/* The mask is encoded (when not main-only), so the hash covers it
		 * and a change of the peer's uplinks makes a new generation. */
		f.u.peer.uplinks = info.uplinks;
		/* Likewise the peer's boot id: a restarted peer makes a new
		 * generation, and its peers reset their streams with it. */
		f.u.peer.boot_id = info.boot_id;
		/* A PEER always names a relay port (frame.c refuses 0): a peer
		 * whose pair has no ports (range exhausted, or released while
		 * idle) is left out until it has them, and comes back with a new
		 * generation. */
		if (f.u.peer.relay_port == 0) {
			continue;
		}
		if (frame_name_set(&f.u.peer.peer, c->id) != 0) {
			p->err = -EINVAL;
			return;
		}
		memcpy(f.u.peer.key, c->key, WIRE_KEY_LEN);
		packer_add(p, &f, &f.u.peer.generation, gen);
		(*count)++;
	}
}

int routeset_build(const struct routes *r, const char *id, uint64_t gen,
		   routeset_peer_fn *peer_info, void *peer_ctx, routeset_emit_fn *emit,
		   void *emit_ctx, struct routeset_info *info)
{
	struct packer p;
	struct frame f;
	uint16_t count = 0;

	if (!routes_find_client(r, id)) {
		return -ENOENT;
	}
	memset(&p, 0, sizeof(p));
	wire_writer_init(&p.w, p.buf, sizeof(p.buf));
	p.emit = emit;
	p.emit_ctx = emit_ctx;
	crypto_generichash_init(&p.hash, NULL, 0, ROUTESET_HASH_LEN);
	add_routes(&p, r, id, gen, &count);
	add_peers(&p, r, id, gen, peer_info, peer_ctx, &count);
	memset(&f, 0, sizeof(f));
	f.type = FRAME_SYNC;
	f.u.sync.count = count;
	f.u.sync.keepalive_s = (uint16_t)r->server.keepalive_s;
	packer_add(&p, &f, &f.u.sync.generation, gen);
	if (p.err != 0) {
		return p.err;
	}
	packer_flush(&p);
	info->count = count;
	info->n_packets = p.n_packets;
	crypto_generichash_final(&p.hash, info->hash, ROUTESET_HASH_LEN);
	return 0;
}
