/* linkmtu: route MTU per uplink -> stream segment size (linkmtu.h). */
#include "client/linkmtu.h"

#include "client/client.h"
#include "client/direct.h"
#include "client/flowrole.h"
#include "client/mainsock.h"
#include "client/peer.h"
#include "client/sealout.h"
#include "client/srvaddr.h"
#include "client/uplink.h"
#include "common/addr.h"
#include "common/diag.h"
#include "common/log.h"
#include "config/client_ini.h"
#include "nat/pmtu.h"
#include "proto/frame.h"
#include "proto/rstream.h"
#include "proto/wire_const.h"

#include "common/monotime.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

uint32_t linkmtu_mss_for(int family, unsigned mtu)
{
	unsigned hdr = (family == AF_INET6 ? 40u : 20u) + 8u; /* IP and UDP */
	unsigned over = hdr + WIRE_TRANSPORT_MIN_LEN + RSTREAM_FRAME_OVERHEAD;

	if (mtu < over + RSTREAM_MSS_MIN) {
		return RSTREAM_MSS_MIN;
	}
	return mtu - over < RSTREAM_MSS ? mtu - over : RSTREAM_MSS;
}

/* The route MTU from uplink u's address or interface to dst, or 0. */
static unsigned route_mtu(const struct client *cl, uint8_t u, const struct sockaddr_storage *dst)
{
	struct diag d;
	int fd, mtu = 0;
	socklen_t len = sizeof(mtu);

	diag_clear(&d);
	fd = mainsock_open_fd(cl->ini, uplink_family(cl, u), u, &d);
	if (fd < 0) {
		return 0;
	}
	if (connect(fd, (const struct sockaddr *)dst, addr_len(dst)) != 0 ||
	    getsockopt(fd, dst->ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       dst->ss_family == AF_INET6 ? IPV6_MTU : IP_MTU, &mtu, &len) != 0 ||
	    mtu < 0) {
		mtu = 0;
	}
	close(fd);
	return (unsigned)mtu;
}

/* The family whose headers are the larger among the uplinks' (IPv6 when
 * any uplink is): segments must fit the tightest path. */
static int widest_family(const struct client *cl)
{
	for (uint8_t u = 0; u < cl->n_up; u++) {
		if (uplink_family(cl, u) == AF_INET6) {
			return AF_INET6;
		}
	}
	return cl->family;
}

/* The stream's full segment size towards p as the links' MTU allow: ours,
 * the peer's and, over the relay (is_relay), the server's. */
static uint32_t links_mss(const struct peer *p, bool is_relay)
{
	int fam = widest_family(p->cl);
	uint32_t mss = p->cl->stream_mss;
	uint32_t theirs = p->link_mtu ? linkmtu_mss_for(fam, p->link_mtu) : RSTREAM_MSS;
	uint32_t relay =
		is_relay && p->cl->relay_mtu ? linkmtu_mss_for(fam, p->cl->relay_mtu) : RSTREAM_MSS;

	mss = theirs < mss ? theirs : mss;
	return relay < mss ? relay : mss;
}

/* The sealed datagram that carries a segment of mss bytes. */
static uint16_t packet_of(uint32_t mss)
{
	return (uint16_t)(mss + RSTREAM_FRAME_OVERHEAD + WIRE_TRANSPORT_MIN_LEN);
}

/* The segment size every path takes (pmtu.h). */
static uint32_t base_mss(const struct client *cl)
{
	return linkmtu_mss_for(widest_family(cl), PMTU_BASE_MTU);
}

void linkmtu_refresh(struct client *cl)
{
	unsigned least = 0;
	uint32_t mss;
	uint8_t at = 0;

	for (uint8_t u = 0; u < cl->n_up; u++) {
		const struct sockaddr_storage *dst = uplink_server_addr(cl, u);
		unsigned mtu = uplink_is_open(cl, u) && dst ? route_mtu(cl, u, dst) : 0;

		if (mtu != 0 && (least == 0 || mtu < least)) {
			least = mtu;
			at = u;
		}
	}
	if (least == 0 || least == cl->link_mtu) {
		return;
	}
	mss = linkmtu_mss_for(widest_family(cl), least);
	if (mss != cl->stream_mss) {
		log_info(
			"link mtu: %u bytes on uplink %s: stream segments of %u bytes (was %u), so "
			"that packets leave unfragmented",
			least, uplink_label(cl, at), (unsigned)mss, (unsigned)cl->stream_mss);
	} else {
		log_debug("link mtu: %u bytes on uplink %s", least, uplink_label(cl, at));
	}
	cl->stream_mss = mss;
	cl->link_mtu = least > 0xFFFF ? 0xFFFF : least;
	for (struct peer *p = cl->peers; p; p = p->next) {
		linkmtu_tell_peer(p, monotime_now_us());
	}
}

void linkmtu_tell_peer(struct peer *p, uint64_t now_us)
{
	struct frame f;

	if (!p->is_up || p->cl->link_mtu < FRAME_LINK_MTU_MIN) {
		return;
	}
	memset(&f, 0, sizeof(f));
	f.type = FRAME_LINK_MTU;
	f.u.link_mtu.mtu = (uint16_t)p->cl->link_mtu;
	p->link_mtu_sent_us = now_us;
	(void)peer_send(p, &f, now_us);
}

void linkmtu_on_frame(struct peer *p, const struct frame_link_mtu *m, uint64_t now_us)
{
	uint32_t before = links_mss(p, false);

	if (p->link_mtu_sent_us == 0 || now_us - p->link_mtu_sent_us >= LINKMTU_ANSWER_GAP_US) {
		linkmtu_tell_peer(p, now_us);
	}
	if (m->mtu == p->link_mtu) {
		return;
	}
	p->link_mtu = m->mtu;
	if (links_mss(p, false) != before) {
		log_info("peer %s: its links take packets of %u bytes: stream segments to it of %u "
			 "bytes",
			 p->def.peer.text, (unsigned)m->mtu, (unsigned)links_mss(p, false));
	}
}

void linkmtu_keep_told(struct peer *p, uint64_t now_us)
{
	if (now_us - p->link_mtu_sent_us >= LINKMTU_RETELL_US) {
		linkmtu_tell_peer(p, now_us);
	}
}

void linkmtu_on_relay(struct client *cl, const struct frame_link_mtu *m)
{
	if (m->mtu == cl->relay_mtu) {
		return;
	}
	cl->relay_mtu = m->mtu;
	if (linkmtu_mss_for(widest_family(cl), m->mtu) < RSTREAM_MSS) {
		log_info("relay: the server's links take packets of %u bytes: stream segments over "
			 "the relay of at most %u bytes",
			 (unsigned)m->mtu, (unsigned)linkmtu_mss_for(widest_family(cl), m->mtu));
	}
}

uint32_t linkmtu_peer_mss(const struct peer *p, uint64_t now_us)
{
	const struct direct_path *s = direct_failover_path(p, now_us);
	uint32_t mss = links_mss(p, s == NULL);

	if (mss > base_mss(p->cl) &&
	    !pmtu_carries(s ? &s->pmtu : &p->dp.relay_pmtu, packet_of(mss))) {
		return base_mss(p->cl); /* not known to carry full-size packets */
	}
	return mss;
}

/* One path's probe work (see linkmtu.h): returns its next deadline.
 * life_us: the path's last sign of life (pmtu_on_timer); sent: the
 * packets of ours it carried (pmtu_note_sent). */
static uint64_t probe_path(struct peer *p, struct pmtu *pm, uint64_t life_us, uint64_t sent,
			   bool is_relay, int fd, const struct sockaddr_storage *dst,
			   const char *what, uint64_t now_us)
{
	uint32_t mss = links_mss(p, is_relay);
	struct frame f;
	uint32_t id;

	if (mss <= base_mss(p->cl)) {
		return UINT64_MAX; /* the links are no wider than the base */
	}
	if (pmtu_on_timer(pm, life_us, now_us)) {
		p->mtu_drops++;
		log_info("peer %s: packets of %u bytes do not get through %s (a narrower link on "
			 "the way that does not say so): stream segments of %u bytes on it, probed "
			 "again in %u s",
			 p->def.peer.text, (unsigned)packet_of(mss), what,
			 (unsigned)base_mss(p->cl), (unsigned)(PMTU_RAISE_US / 1000000));
	}
	pmtu_note_sent(pm, sent, now_us);
	id = pmtu_probe_due(pm, packet_of(mss), now_us);
	if (id != 0) {
		memset(&f, 0, sizeof(f));
		f.type = FRAME_PING;
		f.u.ping.id = id;
		f.u.ping.tx_us = now_us;
		if (p->sess) {
			(void)sealout_padded_fd(p->cl, fd, p->sess, dst, &f, packet_of(mss),
						now_us);
		}
	}
	return pmtu_next_us(pm);
}

uint64_t linkmtu_probe_direct(struct peer *p, struct direct_path *s, uint64_t now_us)
{
	return probe_path(p, &s->pmtu, s->mon.last_life_us, s->tx_packets, false, s->fd, &s->addr,
			  "the direct path", now_us);
}

uint64_t linkmtu_probe_relay(struct peer *p, uint64_t now_us)
{
	struct direct *dp = &p->dp;
	/* The probe leaves by the control uplink: with several, only the
	 * relay's datagrams on that uplink show it alive (relay_rx_us; the
	 * relay answers another uplink while it does not hear this one). */
	uint64_t life = p->cl->n_up > 1 ? dp->relay_rx_us[p->cl->ctl] : dp->relay_mon.last_life_us;

	if (dp->relay_pmtu_ctl != p->cl->ctl) {
		/* The relay is reached by another uplink now: another way. */
		dp->relay_pmtu_ctl = p->cl->ctl;
		pmtu_start(&dp->relay_pmtu, now_us);
	}
	return probe_path(p, &dp->relay_pmtu, life, dp->relay_tx_packets, true,
			  uplink_ctl_fd(p->cl), &p->relay, "the relay", now_us);
}

size_t linkmtu_base_payload(const struct client *cl)
{
	/* The DATAGRAM frame's room in a full packet, less what the base
	 * packet is smaller by. */
	return FLOWROLE_PAYLOAD_MAX - (RSTREAM_MSS - base_mss(cl));
}

bool linkmtu_is_narrow(const struct peer *p, uint8_t mode, uint64_t now_us)
{
	const struct direct *dp = &p->dp;
	const struct direct_path *s = direct_failover_path(p, now_us);
	bool narrow = (s ? &s->pmtu : &dp->relay_pmtu)->state == PMTU_BASE;

	/* balance spreads datagrams over every answering path. */
	for (int i = 0; mode == FRAME_MULTIPATH_BALANCE && i < DIRECT_PATHS_MAX; i++) {
		narrow |= dp->paths[i].is_up && dp->paths[i].pmtu.state == PMTU_BASE;
	}
	return narrow;
}

const char *linkmtu_probe_text(const struct peer *p, const struct pmtu *pm, bool is_relay)
{
	return links_mss(p, is_relay) <= base_mss(p->cl) ? NULL : pmtu_state_name(pm);
}

void linkmtu_suspect(struct peer *p, uint64_t now_us)
{
	pmtu_suspect(&p->dp.relay_pmtu, now_us);
	for (int i = 0; i < DIRECT_PATHS_MAX; i++) {
		if (p->dp.paths[i].is_up) {
			pmtu_suspect(&p->dp.paths[i].pmtu, now_us);
		}
	}
}

void linkmtu_on_probe_answer(struct peer *p, struct pmtu *pm, uint32_t id, uint64_t now_us)
{
	bool was_base = pm->state == PMTU_BASE;

	if (pmtu_on_pong(pm, id, now_us) && was_base) {
		log_info("peer %s: packets of %u bytes get through %s again: full-size stream "
			 "segments",
			 p->def.peer.text, (unsigned)pm->ok_size,
			 pm == &p->dp.relay_pmtu ? "the relay" : "the direct path");
	}
}
