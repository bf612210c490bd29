/* inbound: the client's receive path for the main socket. Checks are
 * cheapest first (STYLE §7): demux (size, type, reserved bytes) -> mac1 on
 * handshakes -> receiver-index lookup -> the owner's session opens it.
 * Unauthenticated input never allocates, never gets a reply here and only
 * bumps a drop counter. STUN goes to natwatch (or, on a socket of its own,
 * to a PREDICT punch attempt), which only take answers to their own
 * requests. Owns nothing. */
#include "inbound.h"

#include "client/client.h"
#include "client/direct.h"
#include "client/natwatch.h"
#include "client/peer.h"
#include "client/srvconn.h"
#include "client/uplink.h"
#include "common/addr.h"
#include "proto/cookie.h"
#include "proto/demux.h"
#include "proto/msg.h"
#include "proto/wire.h"

#include <netinet/in.h>
#include <string.h>

typedef void inbound_fn(struct client *cl, int fd, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *from, uint64_t now_us);

/* The source address bytes the cookie MACs bind to (ip || port). */
static size_t source_bytes(const struct sockaddr_storage *from, uint8_t out[18])
{
	uint16_t port = addr_port((const struct sockaddr *)from);

	if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)from;

		memcpy(out, &s6->sin6_addr, 16);
		out[16] = (uint8_t)(port >> 8);
		out[17] = (uint8_t)port;
		return 18;
	}
	memcpy(out, &((const struct sockaddr_in *)(const void *)from)->sin_addr, 4);
	out[4] = (uint8_t)(port >> 8);
	out[5] = (uint8_t)port;
	return 6;
}

static bool mac1_ok(struct client *cl, const uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from, uint64_t now_us)
{
	uint8_t src[18];
	size_t n = source_bytes(from, src);

	if (cookie_check(&cl->cookies, buf, len, src, n, now_us) == COOKIE_BAD_MAC1) {
		cl->drop_bad_mac++;
		return false;
	}
	return true;
}

static void on_initiation(struct client *cl, int fd, const uint8_t *buf, size_t len,
			  const struct sockaddr_storage *from, uint64_t now_us)
{
	if (mac1_ok(cl, buf, len, from, now_us)) {
		peer_on_initiation(cl, fd, buf, len, from, now_us);
	}
}

static void on_response(struct client *cl, int fd, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *from, uint64_t now_us)
{
	struct msg_response m;
	uint8_t kind = IDXMAP_NONE;
	void *owner;

	(void)fd;
	if (!mac1_ok(cl, buf, len, from, now_us) || msg_read_response(buf, len, &m) != 0) {
		return;
	}
	owner = idxmap_find(&cl->idx, m.receiver_index, &kind);
	if (kind == IDXMAP_SERVER) {
		srvconn_on_response(cl, buf, len, now_us);
	} else if (kind == IDXMAP_PEER) {
		peer_on_response(owner, buf, len, now_us);
	} else {
		cl->drop_no_owner++;
	}
}

static void on_cookie_reply(struct client *cl, int fd, const uint8_t *buf, size_t len,
			    const struct sockaddr_storage *from, uint64_t now_us)
{
	struct msg_cookie_reply m;
	uint8_t kind = IDXMAP_NONE;
	void *owner;

	(void)fd;
	(void)from;
	if (msg_read_cookie_reply(buf, len, &m) != 0) {
		return;
	}
	owner = idxmap_find(&cl->idx, m.receiver_index, &kind);
	if (kind == IDXMAP_SERVER) {
		srvconn_on_cookie_reply(cl, buf, len, now_us);
	} else if (kind == IDXMAP_PEER) {
		peer_on_cookie_reply(owner, buf, len, now_us);
	} else {
		cl->drop_no_owner++;
	}
}

static void on_transport(struct client *cl, int fd, const uint8_t *buf, size_t len,
			 const struct sockaddr_storage *from, uint64_t now_us)
{
	uint8_t kind = IDXMAP_NONE;
	void *owner;

	/* demux checked the size and type: the receiver index follows them. */
	owner = idxmap_find(&cl->idx, wire_get_u32(buf + WIRE_MSG_TYPE_LEN), &kind);
	if (kind == IDXMAP_SERVER) {
		srvconn_on_transport(cl, fd, buf, len, now_us);
	} else if (kind == IDXMAP_PEER) {
		peer_on_transport(owner, fd, buf, len, from, now_us);
	} else {
		cl->drop_no_owner++;
	}
}

static void on_stun(struct client *cl, int fd, const uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from, uint64_t now_us)
{
	/* Answers to our classification run or mapped-address probe (on an
	 * uplink's socket) or to a PREDICT attempt's (on its own); any other STUN (requests from
	 * outside, stale answers) is dropped. */
	struct uplink *u = uplink_by_fd(cl, fd);

	if (u ? !natwatch_on_stun(&u->nw, buf, len, from, now_us)
	      : !direct_on_stun(cl, fd, buf, len, from, now_us)) {
		cl->drop_stun++;
	}
}

static void on_restarted(struct client *cl, int fd, const uint8_t *buf, size_t len,
			 const struct sockaddr_storage *from, uint64_t now_us)
{
	(void)fd;
	srvconn_on_restarted(cl, buf, len, from, now_us);
}

static inbound_fn *const handlers[] = {
	[DEMUX_STUN] = on_stun,		  [DEMUX_INITIATION] = on_initiation,
	[DEMUX_RESPONSE] = on_response,	  [DEMUX_COOKIE_REPLY] = on_cookie_reply,
	[DEMUX_TRANSPORT] = on_transport, [DEMUX_RESTARTED] = on_restarted,
};

void inbound_on_datagram(struct mainsock *ms, const uint8_t *buf, size_t len,
			 const struct sockaddr_storage *from, uint64_t now_us)
{
	inbound_dispatch(container_of(ms, struct client, ms), -1, buf, len, from, now_us);
}

void inbound_dispatch(struct client *cl, int fd, const uint8_t *buf, size_t len,
		      const struct sockaddr_storage *from, uint64_t now_us)
{
	enum demux_kind kind = demux_classify(buf, len, NULL);

	if (kind == DEMUX_DROP || (size_t)kind >= WH_ARRAY_LEN(handlers) || !handlers[kind]) {
		cl->drop_demux++;
		return;
	}
	handlers[kind](cl, fd, buf, len, from, now_us);
}
