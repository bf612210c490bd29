/* frame: reader and writers for the TLV frames inside the encryption
 * (DESIGN §3 "Inside the encryption"). Owns nothing; never allocates.
 * Dispatch is through a const table indexed by the frame type. Every decoded
 * frame goes through the same validator the writer uses, so we never emit a
 * frame we would refuse. Unknown types are skipped by length (frame.h states
 * the extension rule). Must not: do I/O, keep state between packets, or let a
 * length taken off the wire build a pointer (lengths are compared with what
 * is left, STYLE §7). Here: the table, names and addresses, and the
 * data-path frames (datagrams, streams, pings, paths, congestion); the
 * control-plane frames are framectl.c's, and framecodec.h is what the two
 * share. */
#include "proto/frame.h"

#include "proto/framecodec.h"

#include <errno.h>
#include <string.h>

/* ---- names and addresses ---- */

static bool name_char_ok(char c, bool first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
		return true;
	}
	return !first && (c == '_' || c == '.' || c == '-');
}

bool frame_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > WIRE_NAME_MAX) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (!name_char_ok(s[i], i == 0)) {
			return false;
		}
	}
	return true;
}

int frame_name_set(struct frame_name *n, const char *s)
{
	size_t len = strnlen(s, WIRE_NAME_MAX + 1);

	memset(n, 0, sizeof(*n));
	if (!frame_name_valid(s, len)) {
		return -EINVAL;
	}
	memcpy(n->text, s, len);
	n->len = (uint8_t)len;
	return 0;
}

/* An optional name may be empty; a required one may not. */
bool framecodec_name_ok(const struct frame_name *n, bool optional)
{
	if (n->len == 0) {
		return optional;
	}
	return n->len <= WIRE_NAME_MAX && frame_name_valid(n->text, n->len);
}

void framecodec_read_name(struct wire_reader *r, struct frame_name *n)
{
	size_t len = wire_read_u8(r);

	memset(n, 0, sizeof(*n));
	if (len > WIRE_NAME_MAX) {
		r->err = true;
		return;
	}
	wire_read_bytes(r, (uint8_t *)n->text, len);
	n->len = (uint8_t)len;
}

void framecodec_write_name(struct wire_writer *w, const struct frame_name *n)
{
	wire_write_u8(w, n->len);
	wire_write_bytes(w, (const uint8_t *)n->text, n->len);
}

size_t framecodec_addr_ip_len(uint8_t family)
{
	return family == FRAME_ADDR_IPV4 ? 4 : 16;
}

void framecodec_read_addrs(struct wire_reader *r, struct frame_addr *a, uint8_t *count)
{
	*count = wire_read_u8(r);
	if (*count > WIRE_ADDR_MAX) {
		r->err = true;
		return;
	}
	for (size_t i = 0; i < *count; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].family = wire_read_u8(r);
		if (a[i].family != FRAME_ADDR_IPV4 && a[i].family != FRAME_ADDR_IPV6) {
			r->err = true;
			return;
		}
		wire_read_bytes(r, a[i].ip, framecodec_addr_ip_len(a[i].family));
		a[i].port = wire_read_u16(r);
	}
}

void framecodec_write_addrs(struct wire_writer *w, const struct frame_addr *a, uint8_t count)
{
	wire_write_u8(w, count);
	for (size_t i = 0; i < count; i++) {
		wire_write_u8(w, a[i].family);
		wire_write_bytes(w, a[i].ip, framecodec_addr_ip_len(a[i].family));
		wire_write_u16(w, a[i].port);
	}
}

size_t framecodec_addrs_size(const struct frame_addr *a, uint8_t count)
{
	size_t n = 1;

	for (size_t i = 0; i < count && i < WIRE_ADDR_MAX; i++) {
		n += 1 + framecodec_addr_ip_len(a[i].family) + 2;
	}
	return n;
}

bool framecodec_addrs_ok(const struct frame_addr *a, uint8_t count)
{
	if (count > WIRE_ADDR_MAX) {
		return false;
	}
	for (size_t i = 0; i < count; i++) {
		if (a[i].family != FRAME_ADDR_IPV4 && a[i].family != FRAME_ADDR_IPV6) {
			return false;
		}
	}
	return true;
}

/* ---- datagram ---- */

static void datagram_read(struct wire_reader *r, struct frame *f)
{
	struct frame_datagram *d = &f->u.datagram;

	d->flow_id = wire_read_u32(r);
	d->flags = wire_read_u8(r);
	d->seq = wire_read_u32(r);
	d->payload_len = wire_reader_left(r);
	d->payload = wire_read_ptr(r, d->payload_len);
}

static void datagram_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_datagram *d = &f->u.datagram;

	wire_write_u32(w, d->flow_id);
	wire_write_u8(w, d->flags);
	wire_write_u32(w, d->seq);
	wire_write_bytes(w, d->payload, d->payload_len);
}

static size_t datagram_size(const struct frame *f)
{
	return 9 + f->u.datagram.payload_len;
}

static int datagram_validate(const struct frame *f)
{
	const struct frame_datagram *d = &f->u.datagram;

	if (d->flags & ~FRAME_DATAGRAM_FLAGS_ALL) {
		return -EINVAL;
	}
	return (d->payload_len > 0 && !d->payload) ? -EINVAL : 0;
}

/* ---- stream ---- */

static void stream_read(struct wire_reader *r, struct frame *f)
{
	struct frame_stream *s = &f->u.stream;

	s->stream_id = wire_read_u32(r);
	s->offset = wire_read_u64(r);
	s->flags = wire_read_u8(r);
	s->data_len = wire_reader_left(r);
	s->data = wire_read_ptr(r, s->data_len);
}

static void stream_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_stream *s = &f->u.stream;

	wire_write_u32(w, s->stream_id);
	wire_write_u64(w, s->offset);
	wire_write_u8(w, s->flags);
	wire_write_bytes(w, s->data, s->data_len);
}

static size_t stream_size(const struct frame *f)
{
	return 13 + f->u.stream.data_len;
}

static int stream_validate(const struct frame *f)
{
	const struct frame_stream *s = &f->u.stream;

	if (s->flags & ~FRAME_STREAM_FLAGS_ALL) {
		return -EINVAL;
	}
	if ((s->flags & FRAME_STREAM_RST) && s->data_len > 0) {
		return -EINVAL;
	}
	if (s->data_len > 0 && !s->data) {
		return -EINVAL;
	}
	/* The byte range [offset, offset + len) must not wrap. */
	if (s->data_len > UINT64_MAX - s->offset) {
		return -EINVAL;
	}
	return 0;
}

/* ---- stream ack ---- */

static void stream_ack_read(struct wire_reader *r, struct frame *f)
{
	struct frame_stream_ack *a = &f->u.stream_ack;
	uint64_t at;

	a->stream_id = wire_read_u32(r);
	a->ack_offset = wire_read_u64(r);
	a->window = wire_read_u32(r);
	a->sack_count = wire_read_u8(r);
	if (a->sack_count > WIRE_SACK_MAX) {
		r->err = true;
		return;
	}
	/* Each range as (gap, length) from the end of the one before it (the
	 * first from the cumulative ack); validate refuses empty ones. */
	at = a->ack_offset;
	for (size_t i = 0; i < a->sack_count; i++) {
		uint32_t gap = wire_read_u32(r);
		uint32_t len = wire_read_u32(r);

		if (at > UINT64_MAX - gap - (uint64_t)len) {
			r->err = true;
			return;
		}
		a->sack[i].start = at + gap;
		a->sack[i].end = a->sack[i].start + len;
		at = a->sack[i].end;
	}
}

static void stream_ack_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_stream_ack *a = &f->u.stream_ack;
	uint64_t at = a->ack_offset;

	wire_write_u32(w, a->stream_id);
	wire_write_u64(w, a->ack_offset);
	wire_write_u32(w, a->window);
	wire_write_u8(w, a->sack_count);
	for (size_t i = 0; i < a->sack_count; i++) {
		wire_write_u32(w, (uint32_t)(a->sack[i].start - at));
		wire_write_u32(w, (uint32_t)(a->sack[i].end - a->sack[i].start));
		at = a->sack[i].end;
	}
}

static size_t stream_ack_size(const struct frame *f)
{
	return 17 + 8 * (size_t)f->u.stream_ack.sack_count;
}

static int stream_ack_validate(const struct frame *f)
{
	const struct frame_stream_ack *a = &f->u.stream_ack;
	uint64_t floor = a->ack_offset;

	if (a->sack_count > WIRE_SACK_MAX) {
		return -EINVAL;
	}
	/* Each range starts strictly above the previous end (or the cumulative
	 * ack: a range touching it would have been folded into it); gaps and
	 * lengths fit u32 (a receive window is at most 4 GiB). */
	for (size_t i = 0; i < a->sack_count; i++) {
		if (a->sack[i].start <= floor || a->sack[i].end <= a->sack[i].start ||
		    a->sack[i].start - floor > UINT32_MAX ||
		    a->sack[i].end - a->sack[i].start > UINT32_MAX) {
			return -EINVAL;
		}
		floor = a->sack[i].end;
	}
	return 0;
}

/* ---- ping / pong ---- */

static void ping_read(struct wire_reader *r, struct frame *f)
{
	f->u.ping.id = wire_read_u32(r);
	f->u.ping.tx_us = wire_read_u64(r);
}

static void ping_write(struct wire_writer *w, const struct frame *f)
{
	wire_write_u32(w, f->u.ping.id);
	wire_write_u64(w, f->u.ping.tx_us);
}

static size_t ping_size(const struct frame *f)
{
	(void)f;
	return 12;
}

static void pong_read(struct wire_reader *r, struct frame *f)
{
	f->u.pong.id = wire_read_u32(r);
	f->u.pong.echo_tx_us = wire_read_u64(r);
	f->u.pong.hold_us = wire_read_u32(r);
}

static void pong_write(struct wire_writer *w, const struct frame *f)
{
	wire_write_u32(w, f->u.pong.id);
	wire_write_u64(w, f->u.pong.echo_tx_us);
	wire_write_u32(w, f->u.pong.hold_us);
}

static size_t pong_size(const struct frame *f)
{
	(void)f;
	return 16;
}

static int always_valid(const struct frame *f)
{
	(void)f;
	return 0;
}

/* ---- path / punch control ---- */

/* The optional uplink tail of PATH and PUNCH: two bytes, present only when
 * one of them is not 0 (PROTOCOL.md "Multipath"). */
static void read_uplinks(struct wire_reader *r, uint8_t *uplink, uint8_t *peer_uplink)
{
	if (r->left > 0) {
		*uplink = wire_read_u8(r);
		*peer_uplink = wire_read_u8(r);
	}
}

static void write_uplinks(struct wire_writer *w, uint8_t uplink, uint8_t peer_uplink)
{
	if (uplink != 0 || peer_uplink != 0) {
		wire_write_u8(w, uplink);
		wire_write_u8(w, peer_uplink);
	}
}

static size_t uplinks_size(uint8_t uplink, uint8_t peer_uplink)
{
	return uplink != 0 || peer_uplink != 0 ? 2 : 0;
}

static void path_read(struct wire_reader *r, struct frame *f)
{
	struct frame_path *p = &f->u.path;

	p->op = wire_read_u8(r);
	p->token = wire_read_u64(r);
	framecodec_read_name(r, &p->peer);
	framecodec_read_addrs(r, p->addrs, &p->addr_count);
	read_uplinks(r, &p->uplink, &p->peer_uplink);
}

static void path_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_path *p = &f->u.path;

	wire_write_u8(w, p->op);
	wire_write_u64(w, p->token);
	framecodec_write_name(w, &p->peer);
	framecodec_write_addrs(w, p->addrs, p->addr_count);
	write_uplinks(w, p->uplink, p->peer_uplink);
}

static size_t path_size(const struct frame *f)
{
	const struct frame_path *p = &f->u.path;

	return 9 + 1 + (size_t)p->peer.len + framecodec_addrs_size(p->addrs, p->addr_count) +
	       uplinks_size(p->uplink, p->peer_uplink);
}

static int path_validate(const struct frame *f)
{
	const struct frame_path *p = &f->u.path;

	if (p->op < FRAME_PATH_PROBE || p->op > FRAME_PATH_OP_MAX) {
		return -EINVAL;
	}
	if (!framecodec_name_ok(&p->peer, true) || !framecodec_addrs_ok(p->addrs, p->addr_count) ||
	    p->uplink >= WIRE_UPLINKS_MAX || p->peer_uplink >= WIRE_UPLINKS_MAX) {
		return -EINVAL;
	}
	return 0;
}

static void punch_read(struct wire_reader *r, struct frame *f)
{
	struct frame_punch *p = &f->u.punch;

	p->token = wire_read_u64(r);
	framecodec_read_name(r, &p->peer);
	p->strategy = wire_read_u8(r);
	p->role = wire_read_u8(r);
	p->delay_ms = wire_read_u16(r);
	p->count = wire_read_u16(r);
	framecodec_read_addrs(r, p->addrs, &p->addr_count);
	read_uplinks(r, &p->uplink, &p->peer_uplink);
}

static void punch_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_punch *p = &f->u.punch;

	wire_write_u64(w, p->token);
	framecodec_write_name(w, &p->peer);
	wire_write_u8(w, p->strategy);
	wire_write_u8(w, p->role);
	wire_write_u16(w, p->delay_ms);
	wire_write_u16(w, p->count);
	framecodec_write_addrs(w, p->addrs, p->addr_count);
	write_uplinks(w, p->uplink, p->peer_uplink);
}

static size_t punch_size(const struct frame *f)
{
	const struct frame_punch *p = &f->u.punch;

	return 8 + 1 + (size_t)p->peer.len + 1 + 1 + 2 + 2 +
	       framecodec_addrs_size(p->addrs, p->addr_count) +
	       uplinks_size(p->uplink, p->peer_uplink);
}

static int punch_validate(const struct frame *f)
{
	const struct frame_punch *p = &f->u.punch;

	if (!framecodec_name_ok(&p->peer, false) || p->strategy > FRAME_PUNCH_STRATEGY_MAX ||
	    p->role < FRAME_PUNCH_ROLE_PROBE || p->role > FRAME_PUNCH_ROLE_MAX ||
	    !framecodec_addrs_ok(p->addrs, p->addr_count) || p->addr_count == 0 ||
	    p->uplink >= WIRE_UPLINKS_MAX || p->peer_uplink >= WIRE_UPLINKS_MAX) {
		return -EINVAL;
	}
	return 0;
}

static void path_stats_read(struct wire_reader *r, struct frame *f)
{
	struct frame_path_stats *p = &f->u.path_stats;

	framecodec_read_name(r, &p->peer);
	p->kind = wire_read_u8(r);
	p->rtt_us = wire_read_u32(r);
	p->loss_ppm = wire_read_u32(r);
	p->relay_rtt_us = wire_read_u32(r);
	p->relay_loss_ppm = wire_read_u32(r);
}

static void path_stats_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_path_stats *p = &f->u.path_stats;

	framecodec_write_name(w, &p->peer);
	wire_write_u8(w, p->kind);
	wire_write_u32(w, p->rtt_us);
	wire_write_u32(w, p->loss_ppm);
	wire_write_u32(w, p->relay_rtt_us);
	wire_write_u32(w, p->relay_loss_ppm);
}

static size_t path_stats_size(const struct frame *f)
{
	return 1 + (size_t)f->u.path_stats.peer.len + 1 + 16;
}

static int path_stats_validate(const struct frame *f)
{
	const struct frame_path_stats *p = &f->u.path_stats;

	if (!framecodec_name_ok(&p->peer, false) || p->kind > FRAME_PATH_KIND_DIRECT ||
	    p->loss_ppm > 1000000 || p->relay_loss_ppm > 1000000) {
		return -EINVAL;
	}
	return 0;
}

static void flow_stats_read(struct wire_reader *r, struct frame *f)
{
	struct frame_flow_stats *s = &f->u.flow_stats;

	framecodec_read_name(r, &s->flow);
	s->flags = wire_read_u8(r);
	s->tx_packets = wire_read_u64(r);
	s->tx_bytes = wire_read_u64(r);
	s->rx_packets = wire_read_u64(r);
	s->rx_bytes = wire_read_u64(r);
	s->drops = wire_read_u64(r);
	s->capacity_kbps = wire_read_u32(r);
	s->send_kbps = wire_read_u32(r);
	s->loss_ppm = wire_read_u32(r);
}

static void flow_stats_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_flow_stats *s = &f->u.flow_stats;

	framecodec_write_name(w, &s->flow);
	wire_write_u8(w, s->flags);
	wire_write_u64(w, s->tx_packets);
	wire_write_u64(w, s->tx_bytes);
	wire_write_u64(w, s->rx_packets);
	wire_write_u64(w, s->rx_bytes);
	wire_write_u64(w, s->drops);
	wire_write_u32(w, s->capacity_kbps);
	wire_write_u32(w, s->send_kbps);
	wire_write_u32(w, s->loss_ppm);
}

static size_t flow_stats_size(const struct frame *f)
{
	return 1 + (size_t)f->u.flow_stats.flow.len + 1 + 5 * 8 + 3 * 4;
}

static int flow_stats_validate(const struct frame *f)
{
	const struct frame_flow_stats *s = &f->u.flow_stats;

	if (!framecodec_name_ok(&s->flow, false) || (s->flags & ~FRAME_FLOW_STATS_FLAGS_ALL) ||
	    s->loss_ppm > 1000000) {
		return -EINVAL;
	}
	return 0;
}

/* ---- congestion feedback ---- */

static void cc_read(struct wire_reader *r, struct frame *f)
{
	struct frame_cc *c = &f->u.cc;

	c->flow_id = wire_read_u32(r);
	c->interval_us = wire_read_u32(r);
	c->rx_packets = wire_read_u32(r);
	c->lost_packets = wire_read_u32(r);
	c->rx_bytes = wire_read_u64(r);
	c->rate_bps = wire_read_u64(r);
}

static void cc_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_cc *c = &f->u.cc;

	wire_write_u32(w, c->flow_id);
	wire_write_u32(w, c->interval_us);
	wire_write_u32(w, c->rx_packets);
	wire_write_u32(w, c->lost_packets);
	wire_write_u64(w, c->rx_bytes);
	wire_write_u64(w, c->rate_bps);
}

static size_t cc_size(const struct frame *f)
{
	(void)f;
	return 32;
}

static void cc_echo_read(struct wire_reader *r, struct frame *f)
{
	f->u.cc_echo.flow_id = wire_read_u32(r);
	f->u.cc_echo.echo_seq = wire_read_u32(r);
	f->u.cc_echo.echo_hold_us = wire_read_u32(r);
}

static void cc_echo_write(struct wire_writer *w, const struct frame *f)
{
	wire_write_u32(w, f->u.cc_echo.flow_id);
	wire_write_u32(w, f->u.cc_echo.echo_seq);
	wire_write_u32(w, f->u.cc_echo.echo_hold_us);
}

static size_t cc_echo_size(const struct frame *f)
{
	(void)f;
	return 12;
}

static void link_mtu_read(struct wire_reader *r, struct frame *f)
{
	f->u.link_mtu.mtu = wire_read_u16(r);
}

static void link_mtu_write(struct wire_writer *w, const struct frame *f)
{
	wire_write_u16(w, f->u.link_mtu.mtu);
}

static size_t link_mtu_size(const struct frame *f)
{
	(void)f;
	return 2;
}

static int link_mtu_validate(const struct frame *f)
{
	return f->u.link_mtu.mtu >= FRAME_LINK_MTU_MIN ? 0 : -EINVAL;
}

/* ---- dispatch table and the public reader/writer ---- */

static const struct frame_ops datagram_ops = {datagram_read, datagram_write, datagram_size,
					      datagram_validate};
static const struct frame_ops stream_ops = {stream_read, stream_write, stream_size,
					    stream_validate};
static const struct frame_ops stream_ack_ops = {stream_ack_read, stream_ack_write, stream_ack_size,
						stream_ack_validate};
static const struct frame_ops ping_ops = {ping_read, ping_write, ping_size, always_valid};
static const struct frame_ops pong_ops = {pong_read, pong_write, pong_size, always_valid};
static const struct frame_ops path_ops = {path_read, path_write, path_size, path_validate};
static const struct frame_ops cc_ops = {cc_read, cc_write, cc_size, always_valid};
static const struct frame_ops punch_ops = {punch_read, punch_write, punch_size, punch_validate};
static const struct frame_ops path_stats_ops = {path_stats_read, path_stats_write, path_stats_size,
						path_stats_validate};
static const struct frame_ops flow_stats_ops = {flow_stats_read, flow_stats_write, flow_stats_size,
						flow_stats_validate};
static const struct frame_ops cc_echo_ops = {cc_echo_read, cc_echo_write, cc_echo_size,
					     always_valid};
static const struct frame_ops link_mtu_ops = {link_mtu_read, link_mtu_write, link_mtu_size,
					      link_mtu_validate};

static const struct frame_ops *const frame_table[FRAME_TYPE_COUNT] = {
	[FRAME_DATAGRAM] = &datagram_ops,
	[FRAME_STREAM] = &stream_ops,
	[FRAME_STREAM_ACK] = &stream_ack_ops,
	[FRAME_PING] = &ping_ops,
	[FRAME_PONG] = &pong_ops,
	[FRAME_PATH] = &path_ops,
	[FRAME_CC] = &cc_ops,
	[FRAME_ROUTE] = &framectl_route_ops,
	[FRAME_JOIN] = &framectl_join_ops,
	[FRAME_REGISTER] = &framectl_register_ops,
	[FRAME_PEER] = &framectl_peer_ops,
	[FRAME_SYNC] = &framectl_sync_ops,
	[FRAME_RELAY_BIND] = &framectl_relay_bind_ops,
	[FRAME_PUNCH] = &punch_ops,
	[FRAME_PATH_STATS] = &path_stats_ops,
	[FRAME_FLOW_STATS] = &flow_stats_ops,
	[FRAME_FLOW_OPTS] = &framectl_flow_opts_ops,
	[FRAME_CC_ECHO] = &cc_echo_ops,
	[FRAME_FLOW_JOIN] = &framectl_flow_join_ops,
	[FRAME_FLOW_JOIN_ACK] = &framectl_flow_join_ack_ops,
	[FRAME_LINK_MTU] = &link_mtu_ops,
	[FRAME_IN_USE] = &framectl_in_use_ops,
	[FRAME_LEAVE] = &framectl_leave_ops,
};

/* The ops for a type we can decode, or NULL (padding and unknown types). */
static const struct frame_ops *ops_for(unsigned type)
{
	return type < WH_ARRAY_LEN(frame_table) ? frame_table[type] : NULL;
}

void frame_reader_init(struct frame_reader *fr, const uint8_t *buf, size_t len)
{
	wire_reader_init(&fr->r, buf, len);
	fr->skipped = 0;
}

int frame_read_next(struct frame_reader *fr, struct frame *f)
{
	while (!fr->r.err && fr->r.left > 0) {
		uint8_t type = wire_read_u8(&fr->r);
		size_t len = wire_read_u16(&fr->r);
		struct wire_reader sub;
		const struct frame_ops *ops = ops_for(type);

		wire_read_sub(&fr->r, len, &sub);
		if (fr->r.err) {
			break;
		}
		if (!ops) {
			/* Extension rule: unknown types are skipped by length. */
			fr->skipped++;
			continue;
		}
		memset(f, 0, sizeof(*f));
		f->type = (enum frame_type)type;
		ops->read(&sub, f);
		if (wire_reader_done(&sub) != 0 || ops->validate(f) != 0) {
			fr->r.err = true;
			break;
		}
		return 1;
	}
	return fr->r.err ? -EPROTO : 0;
}

int frame_validate(const struct frame *f)
{
	const struct frame_ops *ops = ops_for((unsigned)f->type);

	return ops ? ops->validate(f) : -EINVAL;
}

size_t frame_size(const struct frame *f)
{
	const struct frame_ops *ops = ops_for((unsigned)f->type);

	return ops ? WIRE_FRAME_HEADER_LEN + ops->size(f) : 0;
}

int frame_write(struct wire_writer *w, const struct frame *f)
{
	const struct frame_ops *ops = ops_for((unsigned)f->type);
	size_t value_len;

	if (!ops || ops->validate(f) != 0) {
		return -EINVAL;
	}
	value_len = ops->size(f);
	if (value_len > 0xFFFF) {
		return -EINVAL;
	}
	wire_write_u8(w, (uint8_t)f->type);
	wire_write_u16(w, (uint16_t)value_len);
	ops->write(w, f);
	return w->err ? -ENOSPC : 0;
}

int frame_write_padding(struct wire_writer *w, size_t len)
{
	if (len < WIRE_FRAME_HEADER_LEN || len - WIRE_FRAME_HEADER_LEN > 0xFFFF) {
		return -EINVAL;
	}
	wire_write_u8(w, FRAME_PADDING);
	wire_write_u16(w, (uint16_t)(len - WIRE_FRAME_HEADER_LEN));
	wire_write_zeros(w, len - WIRE_FRAME_HEADER_LEN);
	return w->err ? -ENOSPC : 0;
}
