/* connhs: the server's side of session handshakes (PROTOCOL.md "Sessions",
 * "Cookies", "Stamps"; DESIGN §3). An initiation is checked cheapest first
 * (STYLE §7): mac1 -> load (a cookie reply instead of a response to sources
 * without a valid mac2 while initiations exceed CONN_LOAD_INITS_PER_S a
 * second, and a rate per source network for those with one) -> per-source
 * rate -> Noise -> client lookup -> stamp; then the client gets a fresh
 * receiver index and a response. Also takes responses and cookie replies to
 * the initiations the server sends when it rekeys.
 * Part of conn.c (uses struct conn). */
#include "connhs.h"
#include "conn.h"
#include "conntwin.h"

#include "common/addr.h"
#include "common/b64key.h"
#include "common/log.h"
#include "listener.h"
#include "proto/cookie.h"
#include "proto/session.h"
#include "proto/wire.h"
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The source as bytes (ip || port) for cookies and the rate limiter. */
static size_t src_bytes(const struct sockaddr *from, uint8_t out[18])
{
	uint16_t port = addr_port(from);
	size_t n = addr_ip_bytes(from, out);

	memcpy(out + n, &port, 2);
	return n + 2;
}

/* The source's network as bytes for the load limiter: the IPv4 address
 * (also when it comes IPv4-mapped on an IPv6 socket), or the IPv6 /64, the
 * smallest block a host is usually given. */
static size_t net_bytes(const struct sockaddr *from, uint8_t out[16])
{
	/* RFC 4291 §2.5.5.2: ::ffff:a.b.c.d */
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	size_t n = addr_ip_bytes(from, out);

	if (n == 16 && memcmp(out, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(out, out + 12, 4);
		return 4;
	}
	return n == 16 ? 8 : n;
}

/* Under load an initiation with a valid mac2 has proved its address and
 * port, not that it is one of few: a host with many ports holds a cookie
 * for each. So such initiations are limited per network too (WireGuard
 * does the same). */
static bool net_over_rate(struct conn *cn, const struct sockaddr *from, uint64_t now_us)
{
	uint8_t net[16];
	size_t net_len = net_bytes(from, net);

	return ratelimit_check(&cn->net_limiter, net, net_len, now_us) != RATELIMIT_ALLOW;
}

static bool under_load(struct conn *cn, uint64_t now_us)
{
	if (now_us - cn->load_start_us >= 1000000ull) {
		cn->load_start_us = now_us;
		cn->load_count = 0;
	}
	return ++cn->load_count > CONN_LOAD_INITS_PER_S;
}

static void send_cookie_reply(struct conn *cn, struct listener_sock *sock, const uint8_t *buf,
			      size_t len, const struct sockaddr *from, const uint8_t *src,
			      size_t src_len, uint64_t now_us)
{
	uint8_t out[WIRE_COOKIE_REPLY_LEN];
	uint32_t sender = wire_get_u32(buf + WIRE_MSG_TYPE_LEN);
	socklen_t from_len = addr_len((const struct sockaddr_storage *)(const void *)from);

	if (cookie_reply_create(&cn->checker, buf, len, sender, src, src_len, now_us, out) != 0 ||
	    listener_send(cn->listener, sock, from, from_len, out, sizeof(out)) != 0) {
		conn_count_drop(cn, CONN_DROP_TX_FAILED);
		return;
	}
	cn->stats.cookie_replies_sent++;
}

/* Answer a consumed initiation from client c. */
static void respond(struct conn *cn, struct registry_client *c, struct session_pending *p,
		    struct listener_sock *sock, const struct sockaddr *from, uint64_t now_us)
{
	uint8_t resp[WIRE_RESP_LEN];
	socklen_t from_len = addr_len((const struct sockaddr_storage *)(const void *)from);
	uint32_t idx;
	int rc;

	/* PROTOCOL.md "Stamps": a client that has been offline, or whose
	 * process left a probe unanswered, may come back with a lower stamp (a
	 * drone rebooted without a real-time clock). */
	if (conn_client_silent(cn, c, now_us) || conntwin_holder_gone(c, now_us)) {
		session_forget_stamp(c->session);
	}
	idx = registry_index_new(cn->reg, c);
	if (idx == 0) {
		session_pending_wipe(p);
		conn_count_drop(cn, CONN_DROP_NO_INDEX);
		return;
	}
	rc = session_response_create(c->session, p, idx, now_us, resp);
	if (rc != 0) {
		registry_index_purge(cn->reg, c);
		conn_count_drop(cn, rc == -ESTALE ? CONN_DROP_STALE_STAMP
						  : CONN_DROP_HANDSHAKE_INVALID);
		log_ratelimited(&cn->log_bucket, now_us, LOG_LEVEL_DEBUG,
				"client %s: initiation refused err=%d", c->id, rc);
		if (rc == -ESTALE) {
			conntwin_on_stale_stamp(cn, c, from, now_us);
		}
		return;
	}
	if (listener_send(cn->listener, sock, from, from_len, resp, sizeof(resp)) != 0) {
		conn_count_drop(cn, CONN_DROP_TX_FAILED);
		return;
	}
	cn->stats.responses_sent++;
	c->fresh_index = idx;
}

/* One info line for an initiation the server refuses for its key: three,
 * then one per CONN_HS_LOG_US, whatever sends them. */
static void refused(struct conn *cn, const struct sockaddr *from, uint64_t now_us, const char *why)
{
	char text[ADDR_TEXT_MAX];

	if (log_current_level >= LOG_LEVEL_INFO &&
	    log_bucket_take(&cn->hs_log, now_us, 3, CONN_HS_LOG_US)) {
		log_info("handshake from %s refused: %s", addr_format(from, text, sizeof(text)),
			 why);
	}
}

void connhs_on_initiation(struct conn *cn, struct listener_sock *sock, const uint8_t *buf,
			  size_t len, const struct sockaddr *from, uint64_t now_us)
{
	struct session_pending p;
	struct registry_client *c;
	uint8_t src[18];
	size_t src_len = src_bytes(from, src);
	enum cookie_verdict v;
	bool is_loaded;

	cn->stats.initiations++;
	v = cookie_check(&cn->checker, buf, len, src, src_len, now_us);
	if (v == COOKIE_BAD_MAC1) {
		conn_count_drop(cn, CONN_DROP_BAD_MAC1);
		refused(cn, from, now_us,
			"not made for this server's key (a client.ini with another server_key?)");
		return;
	}
	/* Under load only sources that proved their address (mac2) go on, at
	 * most CONN_LOAD_NET_INITS_PER_S a second per network; the others get
	 * a cookie reply, smaller than their initiation. */
	is_loaded = under_load(cn, now_us);
	if (is_loaded && v != COOKIE_VALID_MAC2) {
		send_cookie_reply(cn, sock, buf, len, from, src, src_len, now_us);
		return;
	}
	if (ratelimit_check(&cn->limiter, src, src_len, now_us) != RATELIMIT_ALLOW ||
	    (is_loaded && net_over_rate(cn, from, now_us))) {
		conn_count_drop(cn, CONN_DROP_RATELIMIT);
		return;
	}
	if (session_initiation_consume(&cn->reg->local, buf, len, &p) != 0) {
		conn_count_drop(cn, CONN_DROP_HANDSHAKE_INVALID);
		return;
	}
	c = registry_find_by_key(cn->reg, p.remote_pub);
	if (!c) {
		char fp[B64KEY_FINGERPRINT_MAX];
		char why[96];

		b64key_fingerprint(p.remote_pub, fp);
		snprintf(why, sizeof(why), "from a key no client in routes.conf has (%s...)", fp);
		session_pending_wipe(&p);
		conn_count_drop(cn, CONN_DROP_UNKNOWN_KEY);
		refused(cn, from, now_us, why);
		return;
	}
	respond(cn, c, &p, sock, from, now_us);
}

/* A response or cookie reply to an initiation the server sent (rekey). */
void connhs_on_reply(struct conn *cn, enum demux_kind kind, const uint8_t *buf, size_t len,
		     const struct sockaddr *from, uint64_t now_us)
{
	size_t off = WIRE_MSG_TYPE_LEN + (kind == DEMUX_RESPONSE ? WIRE_INDEX_LEN : 0);
	struct registry_client *c = registry_find_by_index(cn->reg, wire_get_u32(buf + off));
	uint8_t src[18];
	size_t src_len = src_bytes(from, src);
	int rc;

	/* A response carries mac1 like an initiation: check it before any DH. */
	if (kind == DEMUX_RESPONSE &&
	    cookie_check(&cn->checker, buf, len, src, src_len, now_us) == COOKIE_BAD_MAC1) {
		conn_count_drop(cn, CONN_DROP_BAD_MAC1);
		return;
	}
	if (!c) {
		conn_count_drop(cn, CONN_DROP_UNKNOWN_INDEX);
		return;
	}
	if (kind == DEMUX_RESPONSE) {
		rc = session_on_response(c->session, buf, len, now_us);
	} else {
		rc = session_on_cookie_reply(c->session, buf, len, now_us);
	}
	if (rc != 0) {
		conn_count_drop(cn, CONN_DROP_RESPONSE_INVALID);
	}
}
