/* connuplink: which of a client's uplinks a packet came from, and their
 * registrations and expiry (see connuplink.h). */
#include "connuplink.h"

#include "common/addr.h"
#include "common/log.h"
#include "conn.h"
#include "proto/frame.h"
#include "registry.h"

#include <string.h>

void connuplink_peek(struct conn *cn, size_t len, struct connuplink_peek *pk)
{
	struct frame_reader fr;
	struct frame f;

	memset(pk, 0, sizeof(*pk));
	frame_reader_init(&fr, cn->rx_pt, len);
	/* A malformed packet is dropped and counted by handle_frames. */
	while (frame_read_next(&fr, &f) == 1) {
		if (f.type != FRAME_REGISTER) {
			continue;
		}
		if (!pk->has_reg) {
			pk->has_reg = true;
			pk->reg = f.u.reg;
		}
	}
}

static const char *uplink_name(const char *name)
{
	return name[0] ? name : "-";
}

static void drop_uplink(struct conn *cn, struct registry_client *c, unsigned u, const char *why)
{
	log_info("client %s: uplink %u (%s) gone: %s", c->id, u, uplink_name(c->uplinks[u].name),
		 why);
	registry_uplink_del(c, u);
	cn->uplinks_changed = true;
}

/* Which of c's uplinks sent this packet: CONN_RX_MAIN for the main
 * address, else a secondary uplink's id (see connuplink.h). A REGISTER is the main uplink's
 * when it comes from the main address, names the main uplink (which moved:
 * NAT rebinding), or is the first packet of a new session (is_fresh);
 * otherwise it registers the uplink it names from this address. A packet
 * without one is a present secondary uplink's when its address and socket
 * are that uplink's, else the main one's. An address now claimed by another
 * uplink (or by the main one) is taken from the uplink that had it. */
unsigned connuplink_classify(struct conn *cn, struct registry_client *c,
			     const struct listener_sock *sock, const struct sockaddr *from,
			     const struct connuplink_peek *pk, bool is_fresh)
{
	unsigned had = registry_uplink_find(c, sock, from);
	bool is_main = c->addr_len != 0 && c->sock == sock &&
		       addr_equal(from, (const struct sockaddr *)&c->addr);
	unsigned u = had == REGISTRY_UPLINK_NONE ? CONN_RX_MAIN : had;

	if (pk->has_reg) {
		u = is_main || is_fresh || pk->reg.uplink_id == c->main_uplink ? CONN_RX_MAIN
									       : pk->reg.uplink_id;
	}
	if (had != REGISTRY_UPLINK_NONE && had != u) {
		drop_uplink(cn, c, had,
			    u == CONN_RX_MAIN ? "its address is the main one now"
					      : "address reused");
	}
	return u;
}

/* Note a packet of secondary uplink u; log when it appears or moves. */
void connuplink_note(struct conn *cn, struct registry_client *c, unsigned u,
		     const struct listener_sock *sock, const struct sockaddr *from,
		     const struct connuplink_peek *pk, uint64_t now_us)
{
	const struct frame_register *reg = pk->has_reg ? &pk->reg : NULL;
	const struct registry_uplink *up = &c->uplinks[u];
	char text[ADDR_TEXT_MAX];
	enum registry_uplink_change ch = registry_uplink_note(c, u, sock, from, reg, now_us);

	if (ch == REGISTRY_UPLINK_SAME) {
		return;
	}
	if (ch == REGISTRY_UPLINK_ADDED) {
		cn->uplinks_changed = true;
	}
	log_info("client %s: uplink %u (%s) addr=%s nat=%s", c->id, u, uplink_name(up->name),
		 addr_format((const struct sockaddr *)&up->addr, text, sizeof(text)),
		 conn_natclass_name(up->natclass));
}

/* Secondary uplinks silent for CONN_OFFLINE_INTERVALS keepalive intervals go. */
void connuplink_expire(struct conn *cn, struct registry_client *c, uint64_t now_us)
{
	uint8_t silent = registry_uplink_silent(
		c, now_us,
		CONN_OFFLINE_INTERVALS * (uint64_t)cn->routes->server.keepalive_s * 1000000ull);

	for (unsigned u = 0; silent != 0 && u < WIRE_UPLINKS_MAX; u++) {
		if (silent & (1u << u)) {
			drop_uplink(cn, c, u, "silent");
		}
	}
}
