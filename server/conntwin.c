/* conntwin: one identity, two processes (see conntwin.h). */
#include "conntwin.h"

#include "common/addr.h"
#include "common/log.h"
#include "conn.h"
#include "listener.h"
#include "proto/frameaddr.h"
#include "proto/session.h"
#include "registry.h"

#include <string.h>

/* A probe of the holder: a PING under its keys to its main address; any
 * authenticated packet from it after this (its PONG, or its own traffic)
 * shows it is alive. */
static void ping_holder(struct conn *cn, struct registry_client *c, uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_PING;
	f.u.ping.id = (uint32_t)(now_us / 1000);
	f.u.ping.tx_us = now_us;
	(void)conn_send_frame_to(cn, c, c->sock, (const struct sockaddr *)&c->addr, &f, now_us);
}

/* Seal IN_USE under the newcomer's keys (current), drop them and give the
 * holder's back, then send it. False when the keys could not be refused
 * (nothing to go back to): the newcomer is then taken. */
static bool refuse(struct conn *cn, struct registry_client *c, uint32_t idx,
		   const struct listener_sock *sock, const struct sockaddr *from, uint8_t flags,
		   uint32_t retry_ms, uint64_t now_us)
{
	struct frame f;
	size_t n = 0;
	bool is_sealed;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_IN_USE;
	f.u.in_use.flags = flags;
	f.u.in_use.retry_ms = retry_ms;
	if (c->addr_len != 0 &&
	    frameaddr_from_sockaddr(&f.u.in_use.holder[0], (const struct sockaddr *)&c->addr)) {
		f.u.in_use.n_holder = 1;
	}
	is_sealed = conn_seal_frame(cn, c, &f, now_us, &n) == 0;
	if (session_refuse_current(c->session, idx) != 0) {
		return false;
	}
	if (is_sealed &&
	    listener_send(cn->listener, sock, from,
			  addr_len((const struct sockaddr_storage *)(const void *)from), cn->tx_pkt,
			  n) != 0) {
		conn_count_drop(cn, CONN_DROP_TX_FAILED);
	}
	return true;
}

bool conntwin_refuses(struct conn *cn, struct registry_client *c, uint32_t idx,
		      const struct frame_register *reg, const struct listener_sock *sock,
		      const struct sockaddr *from, uint64_t now_us)
{
	char holder[ADDR_TEXT_MAX], newcomer[ADDR_TEXT_MAX];
	uint64_t age = c->twin_probe_us ? now_us - c->twin_probe_us : UINT64_MAX;
	bool is_checking = true;
	uint32_t retry_ms;

	/* The same process (a new session, another uplink), a client that
	 * sends no boot id, or a holder silent for the offline interval: no
	 * question of who holds it. */
	if (c->boot_id == 0 || reg->boot_id == 0 || reg->boot_id == c->boot_id ||
	    conn_client_silent(cn, c, now_us) || c->addr_len == 0) {
		return false;
	}
	addr_format((const struct sockaddr *)&c->addr, holder, sizeof(holder));
	addr_format(from, newcomer, sizeof(newcomer));
	if (age <= CONNTWIN_PROBE_VALID_US && c->last_rx_us > c->twin_probe_us) {
		is_checking = false; /* it answered: it keeps the identity */
		retry_ms = CONNTWIN_RETRY_MS;
	} else if (age < CONNTWIN_PROBE_US) {
		retry_ms = (uint32_t)((CONNTWIN_PROBE_US - age) / 1000) + CONNTWIN_RETRY_SLACK_MS;
	} else if (age <= CONNTWIN_PROBE_VALID_US) {
		log_info("client %s: the process at %s left %u ms of probes unanswered: the one at "
			 "%s takes over",
			 c->id, holder, (unsigned)(CONNTWIN_PROBE_US / 1000), newcomer);
		c->twin_probe_us = 0;
		return false;
	} else {
		retry_ms = (uint32_t)(CONNTWIN_PROBE_US / 1000) + CONNTWIN_RETRY_SLACK_MS;
		age = UINT64_MAX; /* a new probe */
	}
	if (!refuse(cn, c, idx, sock, from, is_checking ? FRAME_IN_USE_CHECKING : 0, retry_ms,
		    now_us)) {
		return false;
	}
	c->twin_refusals++;
	c->twin_refused_us = now_us;
	memset(&c->twin_refused_addr, 0, sizeof(c->twin_refused_addr));
	memcpy(&c->twin_refused_addr, from,
	       addr_len((const struct sockaddr_storage *)(const void *)from));
	cn->stats.identity_refusals++;
	if (age == UINT64_MAX) {
		c->twin_probe_us = now_us;
		ping_holder(cn, c, now_us);
		log_debug("client %s: another process registers from %s while the one at %s is "
			  "live: checking that one still answers",
			  c->id, newcomer, holder);
	}
	if (!is_checking &&
	    (c->twin_warned_us == 0 || now_us - c->twin_warned_us >= CONN_TWIN_WARN_US)) {
		c->twin_warned_us = now_us;
		log_warn("client %s: two processes with this identity: the one at %s holds it and "
			 "answers, the one at %s is refused (%llu times so far): give each machine "
			 "its own id and key",
			 c->id, holder, newcomer, (unsigned long long)c->twin_refusals);
	}
	return true;
}

bool conntwin_holder_gone(const struct registry_client *c, uint64_t now_us)
{
	uint64_t age = now_us - c->twin_probe_us;

	return c->twin_probe_us != 0 && age >= CONNTWIN_PROBE_US &&
	       age <= CONNTWIN_PROBE_VALID_US && c->last_rx_us <= c->twin_probe_us;
}

void conntwin_on_stale_stamp(struct conn *cn, struct registry_client *c,
			     const struct sockaddr *from, uint64_t now_us)
{
	char holder[ADDR_TEXT_MAX], newcomer[ADDR_TEXT_MAX];

	if (c->addr_len == 0 || conn_client_silent(cn, c, now_us) ||
	    (c->twin_probe_us != 0 && now_us - c->twin_probe_us <= CONNTWIN_PROBE_VALID_US)) {
		return;
	}
	c->twin_probe_us = now_us;
	ping_holder(cn, c, now_us);
	log_ratelimited(
		&cn->log_bucket, now_us, LOG_LEVEL_INFO,
		"client %s: a handshake from %s with an older stamp while the process at %s "
		"is live (a restart on a machine whose clock went back, or a replay): "
		"checking that one still answers",
		c->id, addr_format(from, newcomer, sizeof(newcomer)),
		addr_format((const struct sockaddr *)&c->addr, holder, sizeof(holder)));
}

void conntwin_tick(struct conn *cn, struct registry_client *c, uint64_t now_us)
{
	if (c->twin_probe_us != 0 && now_us - c->twin_probe_us < CONNTWIN_PROBE_US &&
	    c->last_rx_us <= c->twin_probe_us && c->addr_len != 0) {
		ping_holder(cn, c, now_us);
	}
}
