/* framectl: the control-plane frames (route sets, registration, joins)
 * for frame.c's dispatch table: their readers, writers, sizes and
 * validators, with the same rules as frame.c's (every decoded frame goes
 * through the validator the writer uses). Owns nothing; never allocates. */
#include "proto/frame.h"

#include "proto/framecodec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- route distribution (server -> client; SYNC both ways) ---- */

/* An optional address: family u8 (0 = none) [ip port]. */
static void read_opt_addr(struct wire_reader *r, struct frame_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = wire_read_u8(r);
	if (a->family == 0) {
		return;
	}
	if (a->family != FRAME_ADDR_IPV4 && a->family != FRAME_ADDR_IPV6) {
		r->err = true;
		return;
	}
	wire_read_bytes(r, a->ip, framecodec_addr_ip_len(a->family));
	a->port = wire_read_u16(r);
}

static void write_opt_addr(struct wire_writer *w, const struct frame_addr *a)
{
	wire_write_u8(w, a->family);
	if (a->family != 0) {
		wire_write_bytes(w, a->ip, framecodec_addr_ip_len(a->family));
		wire_write_u16(w, a->port);
	}
}

static void route_read(struct wire_reader *r, struct frame *f)
{
	struct frame_route *rt = &f->u.route;

	rt->generation = wire_read_u64(r);
	rt->flow_id = wire_read_u32(r);
	framecodec_read_name(r, &rt->flow);
	rt->proto = wire_read_u8(r);
	rt->port = wire_read_u16(r);
	rt->listen_port = wire_read_u16(r);
	read_opt_addr(r, &rt->deliver);
	rt->mtu = wire_read_u16(r);
	rt->member_count = wire_read_u8(r);
	if (rt->member_count > WIRE_MEMBERS_MAX) {
		r->err = true;
		return;
	}
	for (size_t i = 0; i < rt->member_count; i++) {
		framecodec_read_name(r, &rt->members[i].name);
		rt->members[i].roles = wire_read_u8(r);
	}
}

static void route_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_route *rt = &f->u.route;

	wire_write_u64(w, rt->generation);
	wire_write_u32(w, rt->flow_id);
	framecodec_write_name(w, &rt->flow);
	wire_write_u8(w, rt->proto);
	wire_write_u16(w, rt->port);
	wire_write_u16(w, rt->listen_port);
	write_opt_addr(w, &rt->deliver);
	wire_write_u16(w, rt->mtu);
	wire_write_u8(w, rt->member_count);
	for (size_t i = 0; i < rt->member_count; i++) {
		framecodec_write_name(w, &rt->members[i].name);
		wire_write_u8(w, rt->members[i].roles);
	}
}

static size_t route_size(const struct frame *f)
{
	const struct frame_route *rt = &f->u.route;
	size_t deliver =
		rt->deliver.family ? 1 + framecodec_addr_ip_len(rt->deliver.family) + 2 : 1;
	size_t n = 8 + 4 + 1 + (size_t)rt->flow.len + 1 + 2 + 2 + deliver + 2 + 1;

	for (size_t i = 0; i < rt->member_count && i < WIRE_MEMBERS_MAX; i++) {
		n += 1 + (size_t)rt->members[i].name.len + 1;
	}
	return n;
}

static int route_validate(const struct frame *f)
{
	const struct frame_route *rt = &f->u.route;
	const struct frame_addr *d = &rt->deliver;

	if (rt->proto < FRAME_PROTO_UDP || rt->proto > FRAME_PROTO_MAX) {
		return -EINVAL;
	}
	if (!framecodec_name_ok(&rt->flow, false) || rt->member_count > WIRE_MEMBERS_MAX) {
		return -EINVAL;
	}
	if (d->family != 0 && d->family != FRAME_ADDR_IPV4 && d->family != FRAME_ADDR_IPV6) {
		return -EINVAL;
	}
	for (size_t i = 0; i < rt->member_count; i++) {
		const struct frame_member *m = &rt->members[i];
		if (!framecodec_name_ok(&m->name, false) || m->roles == 0 ||
		    (m->roles & ~FRAME_ROLES_ALL)) {
			return -EINVAL;
		}
	}
	return 0;
}

static void peer_read(struct wire_reader *r, struct frame *f)
{
	struct frame_peer *p = &f->u.peer;

	p->generation = wire_read_u64(r);
	framecodec_read_name(r, &p->peer);
	wire_read_bytes(r, p->key, WIRE_KEY_LEN);
	p->relay_port = wire_read_u16(r);
	if (r->left > 0) {
		p->uplinks = wire_read_u8(r);
	}
	if (r->left > 0) {
		p->boot_id = wire_read_u64(r);
	}
}

static void peer_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_peer *p = &f->u.peer;

	wire_write_u64(w, p->generation);
	framecodec_write_name(w, &p->peer);
	wire_write_bytes(w, p->key, WIRE_KEY_LEN);
	wire_write_u16(w, p->relay_port);
	/* Optional tails, each written when it or a later one is not default. */
	if (p->uplinks > 1 || p->boot_id != 0) {
		wire_write_u8(w, p->uplinks);
	}
	if (p->boot_id != 0) {
		wire_write_u64(w, p->boot_id);
	}
}

static size_t peer_size(const struct frame *f)
{
	const struct frame_peer *p = &f->u.peer;

	return 8 + 1 + (size_t)p->peer.len + WIRE_KEY_LEN + 2 +
	       (p->uplinks > 1 || p->boot_id != 0) + (p->boot_id != 0 ? 8 : 0);
}

static int peer_validate(const struct frame *f)
{
	const struct frame_peer *p = &f->u.peer;

	return (framecodec_name_ok(&p->peer, false) && p->relay_port != 0) ? 0 : -EINVAL;
}

static void sync_read(struct wire_reader *r, struct frame *f)
{
	f->u.sync.generation = wire_read_u64(r);
	f->u.sync.count = wire_read_u16(r);
	f->u.sync.keepalive_s = wire_read_u16(r);
}

static void sync_write(struct wire_writer *w, const struct frame *f)
{
	wire_write_u64(w, f->u.sync.generation);
	wire_write_u16(w, f->u.sync.count);
	wire_write_u16(w, f->u.sync.keepalive_s);
}

static size_t sync_size(const struct frame *f)
{
	(void)f;
	return 8 + 2 + 2;
}

static void flow_opts_read(struct wire_reader *r, struct frame *f)
{
	struct frame_flow_opts *o = &f->u.flow_opts;

	o->generation = wire_read_u64(r);
	o->flow_id = wire_read_u32(r);
	o->multipath = wire_read_u8(r);
	o->flags = wire_read_u8(r);
	o->loss_ppb = wire_read_u32(r);
	o->loss_burst_ppb = wire_read_u32(r);
	o->corrupt_ppb = wire_read_u32(r);
	o->duplicate_ppb = wire_read_u32(r);
	o->reorder_ppb = wire_read_u32(r);
	o->delay_ms = wire_read_u32(r);
	o->jitter_ms = wire_read_u32(r);
	o->rate_kbps = wire_read_u32(r);
	o->seed = wire_read_u64(r);
}

static void flow_opts_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_flow_opts *o = &f->u.flow_opts;

	wire_write_u64(w, o->generation);
	wire_write_u32(w, o->flow_id);
	wire_write_u8(w, o->multipath);
	wire_write_u8(w, o->flags);
	wire_write_u32(w, o->loss_ppb);
	wire_write_u32(w, o->loss_burst_ppb);
	wire_write_u32(w, o->corrupt_ppb);
	wire_write_u32(w, o->duplicate_ppb);
	wire_write_u32(w, o->reorder_ppb);
	wire_write_u32(w, o->delay_ms);
	wire_write_u32(w, o->jitter_ms);
	wire_write_u32(w, o->rate_kbps);
	wire_write_u64(w, o->seed);
}

static size_t flow_opts_size(const struct frame *f)
{
	(void)f;
	return 8 + 4 + 1 + 1 + 8 * 4 + 8;
}

static int flow_opts_validate(const struct frame *f)
{
	const struct frame_flow_opts *o = &f->u.flow_opts;
	const uint32_t probs[] = {o->loss_ppb, o->loss_burst_ppb, o->corrupt_ppb, o->duplicate_ppb,
				  o->reorder_ppb};

	if (o->multipath > FRAME_MULTIPATH_MAX || (o->flags & ~FRAME_FLOW_OPTS_FLAGS_ALL)) {
		return -EINVAL;
	}
	if (!(o->flags & FRAME_FLOW_OPTS_IMPAIR)) {
		/* No impairment: every impair field is zero, so that one set of
		 * options has exactly one encoding (the server hashes sets). */
		bool any = o->flags != 0 || o->delay_ms || o->jitter_ms || o->rate_kbps || o->seed;

		for (size_t i = 0; i < WH_ARRAY_LEN(probs); i++) {
			any |= probs[i] != 0;
		}
		return any ? -EINVAL : 0;
	}
	for (size_t i = 0; i < WH_ARRAY_LEN(probs); i++) {
		if (probs[i] > FRAME_PPB_ONE) {
			return -EINVAL;
		}
	}
	if (o->delay_ms > FRAME_FLOW_OPTS_MS_MAX || o->jitter_ms > FRAME_FLOW_OPTS_MS_MAX ||
	    o->rate_kbps > FRAME_FLOW_OPTS_KBPS_MAX) {
		return -EINVAL;
	}
	return (!(o->flags & FRAME_FLOW_OPTS_HAS_SEED) && o->seed != 0) ? -EINVAL : 0;
}

static void relay_bind_read(struct wire_reader *r, struct frame *f)
{
	struct frame_relay_bind *b = &f->u.relay_bind;

	framecodec_read_name(r, &b->peer);
	b->relay_port = wire_read_u16(r);
	b->flags = wire_read_u8(r);
}

static void relay_bind_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_relay_bind *b = &f->u.relay_bind;

	framecodec_write_name(w, &b->peer);
	wire_write_u16(w, b->relay_port);
	wire_write_u8(w, b->flags);
}

static size_t relay_bind_size(const struct frame *f)
{
	return 1 + (size_t)f->u.relay_bind.peer.len + 2 + 1;
}

static int relay_bind_validate(const struct frame *f)
{
	const struct frame_relay_bind *b = &f->u.relay_bind;

	if (!framecodec_name_ok(&b->peer, false) || b->relay_port == 0 ||
	    (b->flags & ~(FRAME_RELAY_BIND_ACK | FRAME_RELAY_BIND_PRIMARY))) {
		return -EINVAL;
	}
	return 0;
}

/* ---- join request (client -> server) ---- */

static void join_read(struct wire_reader *r, struct frame *f)
{
	struct frame_join *j = &f->u.join;

	framecodec_read_name(r, &j->client);
	j->version = wire_read_u8(r);
	j->uplink_id = wire_read_u8(r);
	j->caps = wire_read_u32(r);
}

static void join_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_join *j = &f->u.join;

	framecodec_write_name(w, &j->client);
	wire_write_u8(w, j->version);
	wire_write_u8(w, j->uplink_id);
	wire_write_u32(w, j->caps);
}

static size_t join_size(const struct frame *f)
{
	return 1 + (size_t)f->u.join.client.len + 6;
}

static int join_validate(const struct frame *f)
{
	const struct frame_join *j = &f->u.join;

	return (framecodec_name_ok(&j->client, false) && j->version != 0) ? 0 : -EINVAL;
}

/* ---- register (client -> server: uplink and local candidates) ---- */

static void register_read(struct wire_reader *r, struct frame *f)
{
	struct frame_register *g = &f->u.reg;

	g->uplink_id = wire_read_u8(r);
	g->natclass = wire_read_u8(r);
	framecodec_read_addrs(r, g->addrs, &g->addr_count);
	if (r->left > 0) {
		framecodec_read_name(r, &g->name);
	}
	if (r->left > 0) {
		g->boot_id = wire_read_u64(r);
	}
	if (r->left > 0) {
		g->alloc_step = (int8_t)wire_read_u8(r);
	}
}

static void register_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_register *g = &f->u.reg;

	wire_write_u8(w, g->uplink_id);
	wire_write_u8(w, g->natclass);
	framecodec_write_addrs(w, g->addrs, g->addr_count);
	/* Optional tails, each written when it or a later one is not default. */
	if (g->name.len > 0 || g->boot_id != 0 || g->alloc_step != 0) {
		framecodec_write_name(w, &g->name);
	}
	if (g->boot_id != 0 || g->alloc_step != 0) {
		wire_write_u64(w, g->boot_id);
	}
	if (g->alloc_step != 0) {
		wire_write_u8(w, (uint8_t)g->alloc_step);
	}
}

static size_t register_size(const struct frame *f)
{
	const struct frame_register *g = &f->u.reg;

	bool step = g->alloc_step != 0;

	return 2 + framecodec_addrs_size(g->addrs, g->addr_count) +
	       (g->name.len > 0 || g->boot_id != 0 || step ? 1 + g->name.len : 0) +
	       (g->boot_id != 0 || step ? 8 : 0) + (step ? 1 : 0);
}

static int register_validate(const struct frame *f)
{
	const struct frame_register *g = &f->u.reg;

	if (g->natclass > FRAME_NAT_MAX || !framecodec_addrs_ok(g->addrs, g->addr_count) ||
	    g->uplink_id >= WIRE_UPLINKS_MAX || !framecodec_name_ok(&g->name, true) ||
	    g->alloc_step < -WIRE_ALLOC_STEP_MAX || g->alloc_step > WIRE_ALLOC_STEP_MAX) {
		return -EINVAL;
	}
	return 0;
}

/* ---- flow join (client -> server) and its ack ---- */

static void flow_join_read(struct wire_reader *r, struct frame *f)
{
	struct frame_flow_join *j = &f->u.flow_join;

	j->request_id = wire_read_u32(r);
	framecodec_read_name(r, &j->flow);
	j->role = wire_read_u8(r);
}

static void flow_join_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_flow_join *j = &f->u.flow_join;

	wire_write_u32(w, j->request_id);
	framecodec_write_name(w, &j->flow);
	wire_write_u8(w, j->role);
}

static size_t flow_join_size(const struct frame *f)
{
	return 4 + 1 + (size_t)f->u.flow_join.flow.len + 1;
}

static int flow_join_validate(const struct frame *f)
{
	const struct frame_flow_join *j = &f->u.flow_join;

	return (framecodec_name_ok(&j->flow, false) && j->role <= FRAME_JOIN_ROLE_MAX) ? 0
										       : -EINVAL;
}

static bool msg_char_ok(char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static void flow_join_ack_read(struct wire_reader *r, struct frame *f)
{
	struct frame_flow_join_ack *a = &f->u.flow_join_ack;
	size_t len;

	a->request_id = wire_read_u32(r);
	a->status = wire_read_u8(r);
	len = wire_read_u8(r);
	if (len > WIRE_JOIN_MSG_MAX) {
		r->err = true;
		return;
	}
	wire_read_bytes(r, (uint8_t *)a->msg, len);
	a->msg_len = (uint8_t)len;
	a->msg[len] = '\0';
}

static void flow_join_ack_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_flow_join_ack *a = &f->u.flow_join_ack;

	wire_write_u32(w, a->request_id);
	wire_write_u8(w, a->status);
	wire_write_u8(w, a->msg_len);
	wire_write_bytes(w, (const uint8_t *)a->msg, a->msg_len);
}

static size_t flow_join_ack_size(const struct frame *f)
{
	return 4 + 1 + 1 + (size_t)f->u.flow_join_ack.msg_len;
}

/* The message is shown to people as it is: printable ASCII only, so a
 * server cannot put control characters on an operator's terminal. */
static int flow_join_ack_validate(const struct frame *f)
{
	const struct frame_flow_join_ack *a = &f->u.flow_join_ack;

	if (a->status > FRAME_JOIN_STATUS_MAX || a->msg_len > WIRE_JOIN_MSG_MAX) {
		return -EINVAL;
	}
	for (size_t i = 0; i < a->msg_len; i++) {
		if (!msg_char_ok(a->msg[i])) {
			return -EINVAL;
		}
	}
	return 0;
}

void frame_join_ack_set_msg(struct frame_flow_join_ack *a, const char *fmt, ...)
{
	char buf[WIRE_JOIN_MSG_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0) {
		n = 0;
	}
	a->msg_len = (uint8_t)((size_t)n < WIRE_JOIN_MSG_MAX ? (size_t)n : WIRE_JOIN_MSG_MAX);
	for (size_t i = 0; i < a->msg_len; i++) {
		a->msg[i] = msg_char_ok(buf[i]) ? buf[i] : '?';
	}
	a->msg[a->msg_len] = '\0';
}

static void in_use_read(struct wire_reader *r, struct frame *f)
{
	struct frame_in_use *u = &f->u.in_use;

	u->flags = wire_read_u8(r);
	u->retry_ms = wire_read_u32(r);
	framecodec_read_addrs(r, u->holder, &u->n_holder);
}

static void in_use_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_in_use *u = &f->u.in_use;

	wire_write_u8(w, u->flags);
	wire_write_u32(w, u->retry_ms);
	framecodec_write_addrs(w, u->holder, u->n_holder);
}

static size_t in_use_size(const struct frame *f)
{
	return 1 + 4 + framecodec_addrs_size(f->u.in_use.holder, f->u.in_use.n_holder);
}

static int in_use_validate(const struct frame *f)
{
	const struct frame_in_use *u = &f->u.in_use;

	if ((u->flags & ~FRAME_IN_USE_FLAGS_ALL) != 0 || u->retry_ms < FRAME_IN_USE_RETRY_MIN_MS ||
	    u->retry_ms > FRAME_IN_USE_RETRY_MAX_MS || u->n_holder > 1 ||
	    !framecodec_addrs_ok(u->holder, u->n_holder)) {
		return -EINVAL;
	}
	return 0;
}

/* LEAVE has no fields. */
static void leave_read(struct wire_reader *r, struct frame *f)
{
	(void)r;
	(void)f;
}

static void leave_write(struct wire_writer *w, const struct frame *f)
{
	(void)w;
	(void)f;
}

static size_t leave_size(const struct frame *f)
{
	(void)f;
	return 0;
}

/* SYNC (and LEAVE) have no field to check. */
static int sync_validate(const struct frame *f)
{
	(void)f;
	return 0;
}

/* ---- the ops frame.c dispatches to ---- */

const struct frame_ops framectl_route_ops = {route_read, route_write, route_size, route_validate};
const struct frame_ops framectl_join_ops = {join_read, join_write, join_size, join_validate};
const struct frame_ops framectl_register_ops = {register_read, register_write, register_size,
						register_validate};
const struct frame_ops framectl_peer_ops = {peer_read, peer_write, peer_size, peer_validate};
const struct frame_ops framectl_sync_ops = {sync_read, sync_write, sync_size, sync_validate};
const struct frame_ops framectl_relay_bind_ops = {relay_bind_read, relay_bind_write,
						  relay_bind_size, relay_bind_validate};
const struct frame_ops framectl_flow_opts_ops = {flow_opts_read, flow_opts_write, flow_opts_size,
						 flow_opts_validate};
const struct frame_ops framectl_flow_join_ops = {flow_join_read, flow_join_write, flow_join_size,
						 flow_join_validate};
const struct frame_ops framectl_flow_join_ack_ops = {flow_join_ack_read, flow_join_ack_write,
						     flow_join_ack_size, flow_join_ack_validate};
const struct frame_ops framectl_in_use_ops = {in_use_read, in_use_write, in_use_size,
					      in_use_validate};
const struct frame_ops framectl_leave_ops = {leave_read, leave_write, leave_size, sync_validate};
