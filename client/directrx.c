/* directrx: what a peer sends on its direct paths and what each packet
 * says about the path it came by: PATH probes, their answers (a path
 * validated), mapping and down reports; PINGs (answered, and a new address
 * of the peer probed); PONGs (liveness, RTT, path MTU probes); datagrams
 * counted per path and per uplink of the relay. Part of direct
 * (direct_internal.h). */
#include "client/direct.h"

#include "client/client.h"
#include "client/direct_internal.h"
#include "client/linkmtu.h"
#include "client/peer.h"
#include "client/punchrun.h"
#include "client/uplink.h"
#include "client/xsock.h"
#include "common/addr.h"
#include "common/log.h"
#include "nat/pathmon.h"
#include "nat/pmtu.h"
#include "proto/frame.h"

#include <string.h>

bool direct_is_path(const struct peer *p, int fd, const struct sockaddr_storage *from)
{
	return direct_slot_by_path(p, fd, from) != NULL;
}

static bool from_relay(const struct peer *p, int fd, const struct sockaddr_storage *from)
{
	/* The relay answers on whichever of our uplinks it heard last. */
	return uplink_by_fd(p->cl, fd) != NULL && peer_is_relay(p, from);
}

/* The relay's PONG may wait for our next relay PING when neither side has
 * several uplinks. With several, a side learns which of its uplinks the
 * relay answers from how soon a round of its pings is answered
 * (relaypath.c), so the answer goes at once. */
static bool relay_pong_may_wait(const struct peer *p, int fd, const struct sockaddr_storage *from)
{
	return p->cl->n_up == 1 && (p->def.uplinks | 1u) == 1u && fd == uplink_ctl_fd(p->cl) &&
	       addr_equal((const struct sockaddr *)from, (const struct sockaddr *)&p->relay);
}

void direct_send_probe(struct peer *p, uint8_t op, int fd, const struct sockaddr_storage *to,
		       uint64_t token, uint64_t now_us)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_PATH;
	f.u.path.op = op;
	f.u.path.token = token;
	(void)direct_seal_to(p, fd, to, &f, now_us);
}

/* A PROBE_ACK for s came back on fd from: the socket, if it is one s may
 * use, taken over (*xs: a spray socket, or NULL for an uplink's). */
static bool socket_for(struct peer *p, struct direct_path *s, int fd, struct xsock **xs)
{
	struct uplink *u = uplink_by_fd(p->cl, fd);

	*xs = NULL;
	if (u) {
		return u->id == s->uplink;
	}
	*xs = s->run ? punchrun_take(s->run, fd) : NULL;
	if (*xs) {
		return true;
	}
	if (s->xs && s->xs->fd == fd) {
		*xs = s->xs; /* same socket, new peer address */
		s->xs = NULL;
		return true;
	}
	return false; /* a socket we no longer own */
}

/* Did fd serve s's attempt: its uplink's socket, or one of its spray's? */
static bool served(const struct peer *p, const struct direct_path *s, int fd)
{
	const struct uplink *u = uplink_by_fd(p->cl, fd);

	return u ? u->id == s->uplink : s->run && punchrun_owns(s->run, fd);
}

/* Answer on the path it came by; and probe back once, so the peer's probe
 * and ours both prove a direction. */
static void on_probe(struct peer *p, int fd, const struct sockaddr_storage *from, uint64_t token,
		     uint64_t now_us)
{
	struct direct *dp = &p->dp;

	direct_send_probe(p, FRAME_PATH_PROBE_ACK, fd, from, token, now_us);
	if (!direct_is_path(p, fd, from) && now_us - dp->last_reprobe_us >= 20000) {
		dp->last_reprobe_us = now_us;
		direct_send_probe(p, FRAME_PATH_PROBE, fd, from, token, now_us);
	}
}

/* The decider's PATH UP, on the path itself (direct_validated): take the
 * path, whether we validated another path of the attempt or none (our
 * probes may all have missed its spray sockets). */
static void on_peer_up(struct peer *p, int fd, const struct sockaddr_storage *from, uint64_t token,
		       uint64_t now_us)
{
	struct direct_path *s = direct_slot_by_token(p, token);
	struct xsock *xs;

	if (!s || direct_is_decider(p, s) || direct_slot_by_path(p, fd, from) == s) {
		return;
	}
	if (socket_for(p, s, fd, &xs)) {
		direct_adopt(p, s, fd, xs, from, now_us);
	}
}

void direct_on_path(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_path *f, uint64_t now_us)
{
	bool relay = from_relay(p, fd, from);
	struct direct_path *s;
	struct xsock *xs;
	char a[ADDR_TEXT_MAX];

	log_debug("peer %s: path op=%u token=%llx from %s fd=%d%s", p->def.peer.text,
		  (unsigned)f->op, (unsigned long long)f->token,
		  addr_format((const struct sockaddr *)from, a, sizeof(a)), fd,
		  relay ? " (relay)" : "");
	switch (f->op) {
	case FRAME_PATH_PROBE:
		if (!relay) {
			on_probe(p, fd, from, f->token, now_us);
		}
		break;
	case FRAME_PATH_PROBE_ACK:
		s = direct_slot_by_token(p, f->token);
		if (relay || !s || direct_slot_by_path(p, fd, from) == s) {
			return;
		}
		/* A round trip on (fd, from): both directions work. Take it if
		 * the pair has no path, or its path is in doubt (the peer moved). */
		if ((!s->is_up || pathmon_state(&s->mon, now_us) != PATHMON_UP) &&
		    socket_for(p, s, fd, &xs)) {
			direct_validated(p, s, fd, xs, from, now_us);
		}
		break;
	case FRAME_PATH_UP:
		if (!relay) {
			on_peer_up(p, fd, from, f->token, now_us);
		}
		break;
	case FRAME_PATH_MAPPING:
		/* The peer's NAT base for a PREDICT attempt (over the relay). */
		s = direct_slot_by_token(p, f->token);
		if (s && s->run && punchrun_on_mapping(s->run, f, now_us) == 0) {
			direct_tick(p, now_us);
		} else {
			log_debug("peer %s: PATH MAPPING for no prediction of ours",
				  p->def.peer.text);
		}
		break;
	case FRAME_PATH_DOWN:
		/* The peer's view: its uplink is our peer_uplink. */
		s = direct_slot_for(p, f->peer_uplink, f->uplink);
		if (s) {
			direct_fall_back(p, s, "the peer lost it", false, now_us);
			direct_tick(p, now_us);
		}
		break;
	default:
		break;
	}
}

void direct_on_ping(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_ping *f, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	struct direct_path *on = (struct direct_path *)direct_slot_by_path(p, fd, from);
	struct pathmon *owes = on				  ? &on->mon
			       : relay_pong_may_wait(p, fd, from) ? &dp->relay_mon
								  : NULL;
	struct frame pong;

	/* On a path up, the PONG rides with our next PING (pathmon.h); a path
	 * MTU probe is answered at once (nat/pmtu times it). */
	if (owes && !pmtu_is_probe_id(f->id) && pathmon_owe_pong(owes, f->id, f->tx_us, now_us)) {
		return;
	}
	memset(&pong, 0, sizeof(pong));
	pong.type = FRAME_PONG;
	pong.u.pong.id = f->id;
	pong.u.pong.echo_tx_us = f->tx_us;
	pong.u.pong.hold_us = 0;
	(void)direct_seal_to(p, fd, from, &pong, now_us);
	/* Pings from an address that is not a path: the peer's mapping
	 * changed (NAT rebinding), or the peer has a path of an attempt whose
	 * path we never validated (its PATH UP lost). Probe it with the token
	 * of each path up on this socket, and of each pair without a path
	 * whose attempt this socket served; the answer moves that path there
	 * once it is in doubt, or brings the pair up. */
	if (direct_is_path(p, fd, from) || from_relay(p, fd, from) ||
	    now_us - dp->last_reprobe_us < DIRECT_REPROBE_US) {
		return;
	}
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		const struct direct_path *s = &dp->paths[i];

		if ((s->is_up && s->fd == fd) || (!s->is_up && s->token != 0 && served(p, s, fd))) {
			dp->last_reprobe_us = now_us;
			direct_send_probe(p, FRAME_PATH_PROBE, fd, from, s->token, now_us);
		}
	}
}

void direct_on_pong(struct peer *p, int fd, const struct sockaddr_storage *from,
		    const struct frame_pong *f, uint64_t now_us)
{
	struct direct_path *s = (struct direct_path *)direct_slot_by_path(p, fd, from);

	if (pmtu_is_probe_id(f->id)) {
		if (s || from_relay(p, fd, from)) {
			linkmtu_on_probe_answer(p, s ? &s->pmtu : &p->dp.relay_pmtu, f->id, now_us);
		}
		return;
	}
	if (s) {
		(void)pathmon_on_pong(&s->mon, f->id, f->echo_tx_us, f->hold_us, now_us);
		if (s->is_doubt && pathmon_state(&s->mon, now_us) == PATHMON_UP) {
			char tag[64];

			s->is_doubt = false;
			log_info("peer %s: direct path back (quiet spell over)%s", p->def.peer.text,
				 direct_path_tag(p, s, tag, sizeof(tag)));
		}
	} else if (from_relay(p, fd, from)) {
		(void)pathmon_on_pong(&p->dp.relay_mon, f->id, f->echo_tx_us, f->hold_us, now_us);
		if (f->echo_tx_us <= now_us) {
			uint64_t rtt = now_us - f->echo_tx_us;

			direct_relay_rtt(p, uplink_by_fd(p->cl, fd)->id,
					 rtt > f->hold_us ? rtt - f->hold_us : rtt);
		}
	}
}

void direct_note_rx(struct peer *p, int fd, const struct sockaddr_storage *from, const uint8_t *buf,
		    size_t len, uint64_t now_us)
{
	struct direct_path *s = (struct direct_path *)direct_slot_by_path(p, fd, from);

	if (s) {
		s->rx_packets++;
	} else if (p->cl->n_up > 1 && len >= WIRE_TAG_LEN && from_relay(p, fd, from)) {
		/* Which uplink the relay answers matters with several only. */
		direct_relay_rx(p, uplink_by_fd(p->cl, fd)->id, buf + len - WIRE_TAG_LEN, now_us);
	}
}

void direct_note_copy(struct peer *p, int fd, const struct sockaddr_storage *from,
		      const uint8_t *buf, size_t len, uint64_t now_us)
{
	if (p->cl->n_up > 1 && len >= WIRE_TAG_LEN && from_relay(p, fd, from)) {
		direct_relay_copy(p, uplink_by_fd(p->cl, fd)->id, buf + len - WIRE_TAG_LEN, now_us);
	}
}
