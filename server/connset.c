/* connset: route-set delivery (see connset.h). Part of conn.c: uses struct
 * conn and sends through conn_send_sealed_to. */
#include "connset.h"

#include "common/log.h"
#include "conn.h"
#include "proto/wire_const.h"
#include "registry.h"
#include "relay.h"
#include "routeset.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

struct emit_ctx {
	struct conn *cn;
	struct registry_client *c;
	uint64_t now_us;
	bool is_fanout; /* to every secondary uplink too */
};

static void emit_packet_cb(void *ctx, const uint8_t *pt, size_t len)
{
	struct emit_ctx *e = ctx;
	struct registry_client *c = e->c;

	(void)conn_send_sealed_to(e->cn, c, c->sock, (const struct sockaddr *)&c->addr, pt, len,
				  e->now_us);
	for (unsigned u = 0; e->is_fanout && u < WIRE_UPLINKS_MAX; u++) {
		if (u != c->main_uplink && c->uplinks[u].is_present) {
			(void)conn_send_sealed_to(e->cn, c, c->uplinks[u].sock,
						  (const struct sockaddr *)&c->uplinks[u].addr, pt,
						  len, e->now_us);
		}
	}
}

/* routeset_peer_fn: self's relay port towards peer, and peer's uplinks. */
static void peer_info_cb(void *ctx, const char *self, const char *peer, struct routeset_peer *out)
{
	struct conn *cn = ctx;
	const struct registry_client *p = registry_find_by_id(cn->reg, peer);

	out->relay_port = relay_port_for(cn->relay, self, peer);
	out->uplinks = p ? registry_uplink_mask(p) : 0;
	out->boot_id = p ? p->boot_id : 0;
}

void connset_push(struct conn *cn, struct registry_client *c, uint64_t now_us, bool force)
{
	struct emit_ctx e = {cn, c, now_us, false};
	struct routeset_info info;

	if (!c->is_online) {
		return;
	}
	if (routeset_build(cn->routes, c->id, 0, peer_info_cb, cn, NULL, NULL, &info) != 0) {
		log_ratelimited(&cn->log_bucket, now_us, LOG_LEVEL_ERROR,
				"client %s: cannot build route set", c->id);
		return;
	}
	if (!c->has_set || memcmp(info.hash, c->set_hash, sizeof(info.hash)) != 0) {
		c->gen_sent++;
		memcpy(c->set_hash, info.hash, sizeof(info.hash));
		c->set_count = info.count;
		c->has_set = true;
		force = true;
	} else if (!force &&
		   (c->gen_acked == c->gen_sent || now_us - c->set_sent_us < CONN_SET_RESEND_US)) {
		return;
	} else if (!force) {
		e.is_fanout = true; /* unacked for CONN_SET_RESEND_US */
	}
	if (routeset_build(cn->routes, c->id, c->gen_sent, peer_info_cb, cn, emit_packet_cb, &e,
			   &info) != 0) {
		return;
	}
	c->set_sent_us = now_us;
	cn->stats.sets_sent++;
	log_debug("client %s: route set generation=%llu count=%u packets=%zu%s", c->id,
		  (unsigned long long)c->gen_sent, (unsigned)info.count, info.n_packets,
		  e.is_fanout ? " (unacked: again, by every uplink)" : "");
}

void connset_push_all(struct conn *cn, uint64_t now_us)
{
	for (size_t i = 0; i < cn->reg->n_clients; i++) {
		connset_push(cn, cn->reg->clients[i], now_us, false);
	}
}

void connset_on_ack(struct conn *cn, struct registry_client *c, const struct frame *f)
{
	if (f->u.sync.generation != c->gen_sent || f->u.sync.count != c->set_count) {
		conn_count_drop(cn, CONN_DROP_STALE_ACK);
		return;
	}
	if (c->gen_acked != c->gen_sent) {
		log_debug("client %s: route set acked generation=%llu", c->id,
			  (unsigned long long)c->gen_sent);
	}
	c->gen_acked = c->gen_sent;
}

void connset_tick(struct conn *cn, struct registry_client *c, uint64_t now_us)
{
	/* Only what is unacked: building sets for every client on every tick
	 * would cost O(clients^2) four times a second. */
	if (c->is_online && c->has_set && c->gen_acked != c->gen_sent &&
	    now_us - c->set_sent_us >= CONN_SET_RESEND_US) {
		connset_push(cn, c, now_us, false);
	}
}
