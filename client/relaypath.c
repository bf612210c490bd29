/* relaypath: the relay path of a peer, kept warm beside any direct path
 * (direct.h): a round of pings out of every uplink (every
 * DIRECT_RELAY_PING_US, DIRECT_RELAY_PING_MULTI_US with several), the
 * server probed when the relay goes silent, and which of our uplinks the
 * relay answers (DIRECT_RELAY_CTL_WAIT_*). The relay sends to the control
 * uplink's address while it hears it (its bind is PRIMARY, server/relay.c).
 * Each datagram from the relay is noted per uplink, fan-out copies of a
 * redundant pair too (refused as replays, recognised by the tag of one that
 * authenticated). A round answered on another uplink and not on the
 * control one means the relay no longer hears the control uplink: relay
 * traffic leaves by that uplink too (pathsel.c add_relay), and the server
 * session is probed so that it moves sooner than its keepalive would. */
#include "client/direct.h"

#include "client/client.h"
#include "client/linkmtu.h"
#include "client/natwatch.h"
#include "client/peer.h"
#include "client/srvconn.h"
#include "client/uplink.h"
#include "common/log.h"
#include "nat/pathmon.h"

#include <sodium.h>
#include <string.h>

void direct_relay_start(struct peer *p, uint64_t now_us)
{
	struct direct *dp = &p->dp;

	pathmon_init(&dp->relay_mon, now_us,
		     p->cl->n_up > 1 ? DIRECT_RELAY_PING_MULTI_US : DIRECT_RELAY_PING_US,
		     UINT64_MAX / 4, UINT64_MAX / 4);
	dp->is_relay_silent = false;
	dp->relay_round_us = 0;
	memset(dp->relay_rx_us, 0, sizeof(dp->relay_rx_us));
	dp->relay_alt = -1;
	dp->relay_tag_next = 0;
	pmtu_start(&dp->relay_pmtu, now_us);
	dp->relay_pmtu_ctl = p->cl->ctl;
}

/* The relay's ping goes out of every open uplink, with one id (the first
 * pong counts): each uplink's relay binding stays fresh, so when the
 * control uplink dies the relay answers another at the next round, and a
 * round answered elsewhere only tells that it died (direct_relay_check).
 * The control uplink's last, and its bind is the primary one: the relay
 * answers it while it hears it. */
static void send_relay_ping(struct peer *p, uint64_t now_us)
{
	struct client *cl = p->cl;
	struct frame f[2];
	size_t n = 1;

	memset(f, 0, sizeof(f));
	f[0].type = FRAME_PING;
	f[0].u.ping.tx_us = now_us;
	f[0].u.ping.id = pathmon_on_ping_sent(&p->dp.relay_mon, now_us);
	p->dp.relay_round_us = now_us;
	p->dp.relay_round_ctl = cl->ctl;
	for (uint8_t u = 0; u < cl->n_up; u++) {
		if (u != cl->ctl && uplink_is_open(cl, u) && peer_relay_via(p, u)) {
			(void)direct_seal_to(p, uplink_send_fd(cl, u), peer_relay_via(p, u), f,
					     now_us);
		}
	}
	/* The PONG we owe the peer's relay PING, if one waits (directrx.c:
	 * one uplink on each side), rides with ours. */
	if (pathmon_take_pong(&p->dp.relay_mon, now_us, &f[1].u.pong.id, &f[1].u.pong.echo_tx_us,
			      &f[1].u.pong.hold_us)) {
		f[1].type = FRAME_PONG;
		n = 2;
	}
	(void)direct_seal_frames_to(p, uplink_ctl_fd(cl), &p->relay, f, n, now_us);
}

uint64_t direct_relay_tick(struct peer *p, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	uint64_t check, probe;

	if (pathmon_ping_due(&dp->relay_mon, now_us)) {
		send_relay_ping(p, now_us);
	}
	/* A silent relay: a restarted server forgot our bindings, a NAT gave
	 * us a new mapping the relay does not know (for the relay flow alone,
	 * maybe), or our uplink or the peer is gone. Probing the server and
	 * our mappings tells which (a new mapping binds the relay again), and
	 * binding again from where we send now needs no probe to find out. */
	if (now_us - dp->relay_mon.last_life_us > DIRECT_RELAY_SILENT_US) {
		if (!dp->is_relay_silent) {
			dp->is_relay_silent = true;
			dp->relay_rebind_us = now_us;
			dp->relay_rebind_gap_us = DIRECT_RELAY_REBIND_MIN_US;
			srvconn_suspect(p->cl, "the relay went silent", now_us);
			for (uint8_t u = 0; u < p->cl->n_up; u++) {
				if (uplink_is_open(p->cl, u)) {
					natwatch_probe_now(&p->cl->up[u].nw, now_us);
				}
			}
		}
		if (now_us >= dp->relay_rebind_us) {
			peer_bind_soon(p, now_us);
			dp->relay_rebind_us = now_us + dp->relay_rebind_gap_us;
			dp->relay_rebind_gap_us = 2 * dp->relay_rebind_gap_us;
			if (dp->relay_rebind_gap_us > srvconn_keepalive_us(p->cl)) {
				dp->relay_rebind_gap_us = srvconn_keepalive_us(p->cl);
			}
		}
	} else {
		dp->is_relay_silent = false;
	}
	check = direct_relay_check(p, now_us);
	check = check < dp->relay_mon.next_ping_us ? check : dp->relay_mon.next_ping_us;
	if (dp->is_relay_silent && dp->relay_rebind_us < check) {
		check = dp->relay_rebind_us;
	}
	probe = linkmtu_probe_relay(p, now_us);
	return check < probe ? check : probe;
}

/* Something from the relay on our uplink up. */
static void relay_heard(struct peer *p, uint8_t up, uint64_t now_us)
{
	struct direct *dp = &p->dp;

	dp->relay_rx_us[up] = now_us;
	if (dp->relay_alt >= 0 && up == p->cl->ctl) {
		log_info("peer %s: the relay answers uplink %s again", p->def.peer.text,
			 uplink_label(p->cl, up));
		dp->relay_alt = -1;
	} else {
		(void)direct_relay_check(p, now_us);
	}
}

void direct_relay_rx(struct peer *p, uint8_t up, const uint8_t *tag, uint64_t now_us)
{
	struct direct *dp = &p->dp;

	if (up >= WIRE_UPLINKS_MAX) {
		return;
	}
	memcpy(dp->relay_tags[dp->relay_tag_next % DIRECT_RELAY_TAGS], tag, WIRE_TAG_LEN);
	dp->relay_tag_next++;
	relay_heard(p, up, now_us);
}

void direct_relay_copy(struct peer *p, uint8_t up, const uint8_t *tag, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	unsigned n =
		dp->relay_tag_next < DIRECT_RELAY_TAGS ? dp->relay_tag_next : DIRECT_RELAY_TAGS;

	if (up >= WIRE_UPLINKS_MAX) {
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (sodium_memcmp(dp->relay_tags[i], tag, WIRE_TAG_LEN) == 0) {
			relay_heard(p, up, now_us);
			return;
		}
	}
}

void direct_relay_rtt(struct peer *p, uint8_t up, uint64_t rtt_us)
{
	uint32_t *rtt;

	if (up >= WIRE_UPLINKS_MAX || rtt_us > DIRECT_RELAY_SILENT_US) {
		return;
	}
	rtt = &p->dp.relay_rtt_us[up];
	*rtt = *rtt ? (uint32_t)((7ull * *rtt + rtt_us) / 8) : (uint32_t)rtt_us;
}

uint64_t direct_relay_check(struct peer *p, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	struct client *cl = p->cl;
	uint8_t ctl = cl->ctl;
	uint64_t wait, due;
	int alt = -1, was;

	if (dp->relay_alt == ctl) {
		dp->relay_alt = -1; /* the session moved there */
	}
	was = dp->relay_alt;
	/* Nothing to decide: no round yet, a round sent before the session
	 * moved (the relay learns the new primary from its binds), or one the
	 * control uplink answered, or the uplink relay traffic moved to. */
	if (cl->n_up < 2 || ctl >= WIRE_UPLINKS_MAX || dp->relay_round_us == 0 ||
	    dp->relay_round_ctl != ctl || dp->relay_rx_us[ctl] >= dp->relay_round_us ||
	    (was >= 0 && dp->relay_rx_us[was] >= dp->relay_round_us)) {
		return UINT64_MAX;
	}
	wait = dp->relay_rtt_us[ctl] ? 2ull * dp->relay_rtt_us[ctl] + 50000
				     : DIRECT_RELAY_CTL_WAIT_MAX_US;
	wait = wait < DIRECT_RELAY_CTL_WAIT_MIN_US   ? DIRECT_RELAY_CTL_WAIT_MIN_US
	       : wait > DIRECT_RELAY_CTL_WAIT_MAX_US ? DIRECT_RELAY_CTL_WAIT_MAX_US
						     : wait;
	due = dp->relay_round_us + wait;
	if (now_us < due) {
		return due;
	}
	/* The round's answers: on which other uplink, last? */
	for (uint8_t u = 0; u < cl->n_up && u < WIRE_UPLINKS_MAX; u++) {
		if (u != ctl && uplink_is_open(cl, u) && dp->relay_rx_us[u] >= dp->relay_round_us &&
		    (alt < 0 || dp->relay_rx_us[u] > dp->relay_rx_us[alt])) {
			alt = u;
		}
	}
	if (alt < 0) {
		return UINT64_MAX; /* unanswered so far; an answer checks again */
	}
	/* The relay answers alt now (a third uplink when the one relay
	 * traffic moved to died as well). */
	dp->relay_alt = alt;
	log_info("peer %s: the relay answers uplink %s, not the control uplink %s%s%s: relay "
		 "traffic leaves by both",
		 p->def.peer.text, uplink_label(cl, (uint8_t)alt), uplink_label(cl, ctl),
		 was >= 0 ? " nor uplink " : "", was >= 0 ? uplink_label(cl, (uint8_t)was) : "");
	srvconn_suspect(cl, "the relay does not answer the control uplink", now_us);
	return UINT64_MAX;
}
