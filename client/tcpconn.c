/* tcpconn: a TCP flow's connection: local socket <-> stream (tcpconn.h).
 * Owns the socket, its two watchers and the stream's buffers. Reads the app
 * only while the stream's send buffer has room and writes what the stream
 * delivered, so memory per connection is bounded by the two stream buffers;
 * frames go out through peer_send within the pass's share of the send
 * queue. Must not parse wire bytes by hand. */
#include "tcpconn.h"

#include "client/client.h"
#include "client/direct.h"
#include "client/flow_tcp.h"
#include "client/flowrole.h"
#include "client/linkmtu.h"
#include "client/peer.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/monotime.h"
#include "config/client_ini.h"
#include "proto/frameaddr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAMES_PER_CONN 64 /* per pass, so one stream cannot take every slot */

/* May a line about a peer's streams go out now (bucket b: 5 at once, then
 * one a second, as log_ratelimited)? An app that retries 20 connections a
 * second to a refused target, or to a peer that is gone, would otherwise
 * log as many lines. more gets what the line adds: how many like it were
 * left out since the last one (the counters keep counting them all). */
static bool stream_log_take(struct log_bucket *b, uint64_t now_us, char *more, size_t len)
{
	uint32_t left_out = b->suppressed;

	if (log_current_level < LOG_LEVEL_INFO || !log_bucket_take(b, now_us, 5, 1000000)) {
		return false;
	}
	b->suppressed = 0;
	more[0] = '\0';
	if (left_out > 0) {
		(void)snprintf(more, len, " (%u more like it not logged)", (unsigned)left_out);
	}
	return true;
}

void tcpconn_close_fd(struct tcpconn *c, bool is_abort)
{
	struct ev_loop *loop = c->set->cl->loop;

	if (c->fd < 0) {
		return;
	}
	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	if (is_abort) {
		/* An RST to the app: the far side reset or was unreachable. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
}

void tcpconn_free(struct tcpconn *c)
{
	tcpconn_close_fd(c, true);
	rstream_fini(&c->rs);
	free(c);
}

/* Abort: RST both ways (the stream sends it in the next pass). */
void tcpconn_start_source(struct tcpconn *c, uint32_t flow_id)
{
	uint8_t hdr[FLOW_TCP_HEADER_LEN];

	c->flow_id = flow_id;
	c->has_header = true;
	c->is_source = true;
	c->open_us = monotime_now_us();
	hdr[0] = (uint8_t)(flow_id >> 24);
	hdr[1] = (uint8_t)(flow_id >> 16);
	hdr[2] = (uint8_t)(flow_id >> 8);
	hdr[3] = (uint8_t)flow_id;
	(void)rstream_write(&c->rs, hdr, sizeof(hdr));
	ev_io_start(c->set->cl->loop, &c->rio);
}

void tcpconn_abort(struct tcpconn *c)
{
	if (!c->rs.is_rst_sent && !c->rs.is_peer_reset) {
		c->set->stats.resets_tx++;
	}
	rstream_reset(&c->rs);
	tcpconn_close_fd(c, true);
}

static void rio_cb(struct ev_loop *loop, ev_io *w, int revents);
static void wio_cb(struct ev_loop *loop, ev_io *w, int revents);

struct tcpconn *tcpconn_new(struct flow_tcp_set *set, struct peer *p, uint32_t id, int fd)
{
	struct direct_report path;
	struct tcpconn *c, **pp = &set->conns;
	uint64_t now_us = monotime_now_us();
	size_t first;

	if (set->n_conns >= FLOW_TCP_CONNS_MAX) {
		set->stats.refused_full++;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		return NULL;
	}
	c->fd = -1;
	first = rstream_budget_first_cap(&set->mem, FLOW_TCP_BUF_FIRST, FLOW_TCP_BUF_MIN);
	if (rstream_init(&c->rs, id, first, first) != 0) {
		tcpconn_free(c);
		return NULL;
	}
	rstream_set_growth(&c->rs, FLOW_TCP_BUF_MAX, FLOW_TCP_BUF_MAX, &set->mem);
	rstream_set_mss(&c->rs, linkmtu_peer_mss(p, now_us));
	direct_report(p, now_us, &path);
	rstream_set_rtt_hint(&c->rs, (uint64_t)(path.rtt_ms * 1000.0));
	c->set = set;
	c->peer = p;
	c->open_us = now_us;
	c->was_direct = direct_in_use(p);
	c->returns = p->returns;
	c->mtu_drops = p->mtu_drops;
	c->fd = fd;
	ev_io_init(&c->rio, rio_cb, fd, EV_READ);
	ev_io_init(&c->wio, wio_cb, fd, EV_WRITE);
	/* At the end: passes visit connections in the order they opened, so
	 * the sink connects to its target in the order the source accepted
	 * (iperf3 --bidir, for one, tells its data connections apart by that
	 * order; newest first, it could cross them and stall both). At most
	 * FLOW_TCP_CONNS_MAX to walk, once per connection. */
	while (*pp) {
		pp = &(*pp)->next;
	}
	*pp = c;
	set->n_conns++;
	set->stats.opened++;
	return c;
}

/* Read the app's bytes into the stream while it has room. */
static void read_local(struct tcpconn *c)
{
	for (int i = 0; i < 8 && c->fd >= 0 && !c->is_local_eof; i++) {
		uint8_t *ptr;
		size_t room;
		ssize_t n;

		rstream_write_space(&c->rs, &ptr, &room);
		if (room == 0) {
			/* Back-pressure: the app waits until the peer acks. */
			ev_io_stop(c->set->cl->loop, &c->rio);
			return;
		}
		n = read(c->fd, ptr, room);
		if (n > 0) {
			rstream_write_commit(&c->rs, (size_t)n);
			continue;
		}
		if (n == 0) {
			c->is_local_eof = true; /* half-close: FIN */
			c->eof_check_us = monotime_now_us() + FLOW_TCP_EOF_CHECK_US;
			rstream_shutdown(&c->rs);
			ev_io_stop(c->set->cl->loop, &c->rio);
			return;
		}
		if (errno == EAGAIN || errno == EINTR) {
			return;
		}
		tcpconn_abort(c);
		return;
	}
}

static void rio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	read_local(container_of(w, struct tcpconn, rio));
}

/* Deliver the stream's bytes to the app; after the peer's FIN, shut the
 * app's read side (half-close). */
static void write_local(struct tcpconn *c)
{
	if (c->fd < 0 || c->is_connecting) {
		return; /* the connect's EV_WRITE is pending */
	}
	for (int i = 0; i < 16 && c->fd >= 0; i++) {
		const uint8_t *ptr;
		size_t len;
		ssize_t n;

		rstream_read_peek(&c->rs, &ptr, &len);
		if (len == 0) {
			break;
		}
		n = send(c->fd, ptr, len, MSG_NOSIGNAL);
		if (n > 0) {
			rstream_read_consume(&c->rs, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			ev_io_start(c->set->cl->loop, &c->wio);
			return;
		}
		tcpconn_abort(c);
		return;
	}
	if (c->fd >= 0) {
		ev_io_stop(c->set->cl->loop, &c->wio);
	}
	if (c->fd >= 0 && !c->is_wr_shut && rstream_at_eof(&c->rs)) {
		(void)shutdown(c->fd, SHUT_WR);
		c->is_wr_shut = true;
	}
}

static void connect_done(struct tcpconn *c, int err)
{
	char a[ADDR_TEXT_MAX], more[48];
	const struct frame_route *r = flow_tcp_route(c->set, c->flow_id);
	struct sockaddr_storage dst;

	c->is_connecting = false;
	if (err == 0) {
		ev_io_start(c->set->cl->loop, &c->rio);
		return;
	}
	c->set->stats.connect_failed++;
	memset(&dst, 0, sizeof(dst));
	if (r) {
		frameaddr_to_sockaddr(&r->deliver, &dst);
	}
	if (stream_log_take(&c->peer->connect_log, monotime_now_us(), more, sizeof(more))) {
		log_info("flow %s: stream %u from %s: connect %s: %s; reset%s",
			 r ? r->flow.text : "?", (unsigned)c->rs.id, c->peer->def.peer.text,
			 addr_format((const struct sockaddr *)&dst, a, sizeof(a)), strerror(err),
			 more);
	}
	tcpconn_abort(c);
}

static void wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcpconn *c = container_of(w, struct tcpconn, wio);

	(void)loop;
	(void)revents;
	if (c->is_connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
			err = errno;
		}
		ev_io_stop(loop, &c->wio);
		connect_done(c, err);
		return;
	}
	write_local(c);
}

/* Sink: the stream's first bytes name the flow; connect to its target. */
static void take_header(struct tcpconn *c, uint64_t now_us)
{
	struct flow_tcp_set *set = c->set;
	const uint8_t *ptr;
	size_t len;
	const struct frame_route *r;
	struct sockaddr_storage dst;
	socklen_t dlen;
	int fd;

	rstream_read_peek(&c->rs, &ptr, &len);
	if (len < FLOW_TCP_HEADER_LEN) {
		return; /* the buffer is far larger: no header straddles its end */
	}
	c->flow_id =
		(uint32_t)ptr[0] << 24 | (uint32_t)ptr[1] << 16 | (uint32_t)ptr[2] << 8 | ptr[3];
	rstream_read_consume(&c->rs, FLOW_TCP_HEADER_LEN);
	c->has_header = true;
	r = flow_tcp_route(set, c->flow_id);
	if (!r || !r->deliver.family ||
	    flowrole_on_datagram(r, set->cl->ini->id, c->peer->def.peer.text, 0) !=
		    FLOWROLE_DELIVER) {
		set->stats.bad_header++;
		tcpconn_abort(c);
		return;
	}
	frameaddr_to_sockaddr(&r->deliver, &dst);
	dlen = addr_len(&dst);
	fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		connect_done(c, errno);
		return;
	}
	c->fd = fd;
	ev_io_set(&c->rio, fd, EV_READ);
	ev_io_set(&c->wio, fd, EV_WRITE);
	c->is_connecting = true;
	c->connect_until_us = now_us + FLOW_TCP_CONNECT_US;
	if (connect(fd, (const struct sockaddr *)&dst, dlen) == 0) {
		connect_done(c, 0);
	} else if (errno == EINPROGRESS) {
		ev_io_start(set->cl->loop, &c->wio);
	} else {
		connect_done(c, errno);
	}
}

/* Send what the stream has, within this pass's share of the send queue. */
static void send_frames(struct tcpconn *c, uint64_t now_us)
{
	struct udpio_txq *q = &c->set->cl->ms.txq;
	struct frame f;

	for (int i = 0; i < FRAMES_PER_CONN; i++) {
		/* Half the queue stays free for datagrams (UDP flows, pings). */
		if (q->n >= q->cap / 2) {
			c->set->stats.tx_budget_waits++;
			return;
		}
		if (rstream_next_frame(&c->rs, &f, now_us) != 1) {
			return;
		}
		(void)peer_send(c->peer, &f, now_us);
	}
}

void tcpconn_on_timer(struct tcpconn *c, uint64_t now_us)
{
	const struct rstream *s = &c->rs;
	uint64_t rtos = s->stats.rtos, una = s->snd_una, inflight = s->inflight;
	uint64_t ago_ms;

	rstream_on_timer(&c->rs, now_us);
	/* A timeout collapses the window; rare under random loss, so worth a
	 * line with what was outstanding (not for the persist timer). */
	if (s->stats.rtos == rtos || s->seg_n == 0) {
		return;
	}
	ago_ms = s->rack_sent_us ? (now_us - s->rack_sent_us) / 1000 : 0;
	log_debug("stream %u with %s: retransmission timeout %llu: una=%llu nxt=%llu inflight=%llu "
		  "segs=%u srtt_us=%llu rto_us=%llu backoff=%u last_delivered_sent_ms_ago=%llu",
		  (unsigned)s->id, c->peer->def.peer.text, (unsigned long long)s->stats.rtos,
		  (unsigned long long)una, (unsigned long long)s->snd_nxt,
		  (unsigned long long)inflight, s->seg_n, (unsigned long long)s->srtt_us,
		  (unsigned long long)s->rto_us, s->rto_backoff, (unsigned long long)ago_ms);
}

static void log_stream(const struct tcpconn *c)
{
	const struct rstream_stats *st = &c->rs.stats;
	const struct rscc *cc = &c->rs.cc;

	log_debug("stream %u with %s: closed tx_bytes=%llu rexmit_segs=%llu rx_bytes=%llu "
		  "rtos=%llu ptos=%llu srtt_us=%llu min_rtt_us=%llu cwnd=%llu ssthresh=%llu "
		  "loss_events=%llu "
		  "random_losses=%llu hystart_exits=%llu tx_segs=%llu acks_tx=%llu acks_rx=%llu "
		  "snd_cap=%zu rcv_cap=%zu bw_mbit=%.1f fast_grows=%llu delay_holds=%llu "
		  "delay_cuts=%llu rx_dup_bytes=%llu spurious_segs=%llu drops=%llu/%llu/%llu/%llu "
		  "limited_ms=app:%llu,sndbuf:%llu,rwnd:%llu,cwnd:%llu,pace:%llu,segs:%llu",
		  (unsigned)c->rs.id, c->peer->def.peer.text, (unsigned long long)st->tx_bytes,
		  (unsigned long long)st->rexmit_segs, (unsigned long long)st->rx_bytes,
		  (unsigned long long)st->rtos, (unsigned long long)st->ptos,
		  (unsigned long long)c->rs.srtt_us, (unsigned long long)c->rs.min_rtt_us,
		  (unsigned long long)cc->cwnd, (unsigned long long)cc->ssthresh,
		  (unsigned long long)cc->loss_events, (unsigned long long)cc->random_losses,
		  (unsigned long long)cc->hystart_exits, (unsigned long long)st->tx_segs,
		  (unsigned long long)st->acks_tx, (unsigned long long)st->acks_rx, c->rs.snd_cap,
		  c->rs.rcv_cap, cc->bw_max * 8.0, (unsigned long long)cc->fast_grows,
		  (unsigned long long)cc->delay_holds, (unsigned long long)cc->delay_cuts,
		  (unsigned long long)st->rx_dup_bytes, (unsigned long long)st->spurious_segs,
		  (unsigned long long)st->drops[0], (unsigned long long)st->drops[1],
		  (unsigned long long)st->drops[2], (unsigned long long)st->drops[3],
		  (unsigned long long)(st->limited_us[RSTREAM_LIMIT_APP] / 1000),
		  (unsigned long long)(st->limited_us[RSTREAM_LIMIT_SNDBUF] / 1000),
		  (unsigned long long)(st->limited_us[RSTREAM_LIMIT_RWND] / 1000),
		  (unsigned long long)(st->limited_us[RSTREAM_LIMIT_CWND] / 1000),
		  (unsigned long long)(st->limited_us[RSTREAM_LIMIT_PACE] / 1000),
		  (unsigned long long)(st->limited_us[RSTREAM_LIMIT_SEGS] / 1000));
}

/* Keep the stream in step with its peer's paths: the segment size a link's
 * MTU allows, and a resend of what a changed, narrowed or restored path may
 * have lost. */
static void follow_path(struct tcpconn *c, uint64_t now_us)
{
	uint32_t mss;

	linkmtu_keep_told(c->peer, now_us);
	mss = linkmtu_peer_mss(c->peer, now_us);
	if (c->rs.mss != mss) {
		/* A link's MTU changed, or a path's probe answered or not. */
		rstream_set_mss(&c->rs, mss);
	}
	if (c->rs.stats.rtos != c->rtos) {
		/* Data timed out: a path may have narrowed. */
		c->rtos = c->rs.stats.rtos;
		linkmtu_suspect(c->peer, now_us);
	}
	if (c->mtu_drops != c->peer->mtu_drops) {
		/* A path drops full-size packets: what went out full-size is
		 * lost; resend it now, cut to the smaller size. */
		c->mtu_drops = c->peer->mtu_drops;
		rstream_on_path_change(&c->rs, now_us);
	}
	if (direct_in_use(c->peer) != c->was_direct) {
		/* Relay <-> direct: resend what the old path may have lost. */
		c->was_direct = direct_in_use(c->peer);
		rstream_on_path_change(&c->rs, now_us);
	}
	if (c->peer->returns != c->returns) {
		/* The peer is heard again after an outage: a stream that timed
		 * out meanwhile (data or a shut window's probe) resends now,
		 * not at its backed-off timer (up to RSTREAM_RTO_MAX_US away). */
		c->returns = c->peer->returns;
		if (c->rs.stall_since_us != 0 || c->rs.rto_backoff > 0) {
			log_debug("stream %u with %s: the peer is back, resending (rto backoff %u)",
				  (unsigned)c->rs.id, c->peer->def.peer.text,
				  (unsigned)c->rs.rto_backoff);
			rstream_on_path_change(&c->rs, now_us);
		}
	}
}

/* A source's stream that the peer has acknowledged nothing of yet (not even
 * the header): when is it reset, the peer having been silent since it opened
 * or longer (FLOW_TCP_OPEN_SILENCE_US)? The open counts as the last sign of
 * life, so a live peer heard a moment before is given the whole time to
 * answer. UINT64_MAX: not such a stream. */
static uint64_t open_deadline_us(const struct tcpconn *c)
{
	uint64_t since;

	if (!c->is_source || !c->peer || c->rs.snd_una != 0 || c->rs.is_rst_queued ||
	    c->rs.is_rst_sent || c->rs.is_peer_reset) {
		return UINT64_MAX;
	}
	since = c->peer->last_rx_us > c->open_us ? c->peer->last_rx_us : c->open_us;
	return since + FLOW_TCP_OPEN_SILENCE_US;
}

static void reset_unanswered_open(struct tcpconn *c, uint64_t now_us)
{
	uint64_t open_ms = (now_us - c->open_us) / 1000;
	char more[48];

	if (now_us < open_deadline_us(c)) {
		return;
	}
	c->set->stats.open_timeouts++;
	if (stream_log_take(&c->peer->silent_log, now_us, more, sizeof(more))) {
		log_info("stream %u to %s: no answer in %llu ms, the peer silent for %llu ms; "
			 "reset%s",
			 (unsigned)c->rs.id, c->peer->def.peer.text, (unsigned long long)open_ms,
			 (unsigned long long)((now_us - c->peer->last_rx_us) / 1000), more);
	}
	tcpconn_abort(c);
}

/* The last sign of life of c's peer: its last authenticated packet, or the
 * stream's open if later (a sink's stream opens on a packet from it). */
static uint64_t heard_us(const struct tcpconn *c)
{
	return c->peer->last_rx_us > c->open_us ? c->peer->last_rx_us : c->open_us;
}

/* A stream gives up when its data went unacknowledged RSTREAM_GIVEUP_US
 * since its first timeout (rssend.c), or, idle or not, when nothing was
 * heard from the peer that long (its client killed or powered off for
 * good, or out of reach longer than an outage we ride out): both local
 * ends are reset. Without the second rule an idle connection, which has no
 * timer, held its app and its stream slot forever. Said once per stream. */
static void give_up(struct tcpconn *c, uint64_t now_us)
{
	char more[48];

	(void)rstream_on_peer_silence(&c->rs, heard_us(c), now_us);
	if (!c->rs.is_failed || c->rs.is_rst_queued || c->rs.is_rst_sent) {
		return;
	}
	c->set->stats.gave_up++;
	if (stream_log_take(&c->peer->silent_log, now_us, more, sizeof(more))) {
		log_info("stream %u to %s: peer unreachable; reset (last heard %llu ms ago)%s",
			 (unsigned)c->rs.id, c->peer->def.peer.text,
			 (unsigned long long)((now_us - heard_us(c)) / 1000), more);
	}
	tcpconn_abort(c);
}

/* The app shut its write side and then reset (or its socket failed): pass
 * the reset on. Its socket, readable for good since the FIN, is looked at
 * every FLOW_TCP_EOF_CHECK_US (FIN-WAIT and CLOSE-WAIT apps waited forever
 * for a reset that never came). */
static void check_after_eof(struct tcpconn *c, uint64_t now_us)
{
	int err = 0;
	socklen_t len = sizeof(err);
	char more[48];

	if (c->fd < 0 || !c->is_local_eof || now_us < c->eof_check_us) {
		return;
	}
	c->eof_check_us = now_us + FLOW_TCP_EOF_CHECK_US;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
		err = errno;
	}
	if (err == 0) {
		return;
	}
	if (stream_log_take(&c->peer->connect_log, now_us, more, sizeof(more))) {
		log_info(
			"stream %u with %s: the local connection failed after its half-close (%s); "
			"reset%s",
			(unsigned)c->rs.id, c->peer->def.peer.text, strerror(err), more);
	}
	tcpconn_abort(c);
}

/* One pass over a connection: sockets, stream state, frames. */
void tcpconn_pass(struct tcpconn *c, uint64_t now_us)
{
	struct ev_loop *loop = c->set->cl->loop;
	size_t room;
	uint8_t *ptr;

	if (c->rs.is_peer_reset) {
		c->set->stats.resets_rx++;
		tcpconn_close_fd(c, true);
		c->is_dead = true;
		return;
	}
	follow_path(c, now_us);
	reset_unanswered_open(c, now_us);
	check_after_eof(c, now_us);
	if (!c->has_header && c->peer && c->fd < 0 && !c->rs.is_rst_queued && !c->rs.is_rst_sent) {
		take_header(c, now_us);
	}
	if (c->is_connecting && now_us >= c->connect_until_us) {
		connect_done(c, ETIMEDOUT);
	}
	write_local(c);
	rstream_write_space(&c->rs, &ptr, &room);
	if (c->fd >= 0 && !c->is_connecting && !c->is_local_eof && room > 0) {
		ev_io_start(loop, &c->rio);
	}
	give_up(c, now_us);
	send_frames(c, now_us);
	if (c->linger_until_us == 0 && rstream_is_closed(&c->rs)) {
		log_stream(c);
		tcpconn_close_fd(c, false);
		c->linger_until_us = now_us + FLOW_TCP_LINGER_US;
		c->set->stats.closed++;
	}
	if (c->linger_until_us != 0 && now_us >= c->linger_until_us) {
		c->is_dead = true;
	}
}

uint64_t tcpconn_deadline_us(struct tcpconn *c, uint64_t now_us)
{
	uint64_t d = rstream_deadline_us(&c->rs, now_us);

	if (open_deadline_us(c) < d) {
		d = open_deadline_us(c);
	}
	if (rstream_silence_deadline_us(&c->rs, heard_us(c)) < d) {
		d = rstream_silence_deadline_us(&c->rs, heard_us(c));
	}
	if (c->is_connecting && c->connect_until_us < d) {
		d = c->connect_until_us;
	}
	if (c->fd >= 0 && c->is_local_eof && c->eof_check_us < d) {
		d = c->eof_check_us;
	}
	if (c->linger_until_us != 0 && c->linger_until_us < d) {
		d = c->linger_until_us;
	}
	return d;
}
