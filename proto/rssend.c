/* rssend: the sender of a reliable stream (rssend.h; PROTOCOL.md
 * "Streams"). The scoreboard is a ring of segments in sequence order; a
 * segment keeps its boundaries when it is resent, unless the segment size
 * shrinks below it (rssend_recut). Flags: SACKED (the peer
 * holds it above a hole), LOST (to be resent; not in flight), RETRANS (sent
 * more than once: no RTT sample, Karn's rule). inflight counts the bytes
 * of segments neither SACKED nor LOST. No clock; allocation only when a
 * smaller segment size cuts the scoreboard's segments (rssend_recut). */
#include "rssend.h"

#include "proto/frame.h"
#include "proto/rstream.h"

#include <stdlib.h>
#include <string.h>

#define SEG_SACKED 0x01
#define SEG_LOST 0x02
#define SEG_RETRANS 0x04
#define SEG_FIN 0x08
/* Declared lost by a timeout or a path change: if this copy arrives after
 * all, its delay says how long the path stalled (an outage: tens of s), not
 * its round trip, so it is no RTT sample (as a resent one is not, Karn). */
#define SEG_STALLED 0x10

/* The path's RTT floor is the smallest sample of the last 10 s (RFC 8985
 * §6.2 and RFC 9002 keep a min RTT; a window lets it follow a path switch). */
#define MIN_RTT_WINDOW_US 10000000ull
#define PERSIST_BACKOFF_MAX 6
#define PTO_BACKOFF_MAX 6

static struct rstream_seg *seg_at(struct rstream *s, uint32_t i)
{
	return &s->segs[(s->seg_head + i) % s->seg_cap];
}

static uint64_t seg_end(const struct rstream_seg *g)
{
	return g->seq + g->len;
}

static uint32_t seg_data_len(const struct rstream_seg *g)
{
	return g->len - ((g->flags & SEG_FIN) ? 1u : 0u);
}

static uint64_t backed_off_rto(const struct rstream *s)
{
	uint64_t rto = s->rto_us << s->rto_backoff;

	return rto > RSTREAM_RTO_MAX_US ? RSTREAM_RTO_MAX_US : rto;
}

/* The RTT floor: the smallest sample, kept 10 s. An older one may no
 * longer hold (the path's delay rose), but the current samples carry our
 * own queue, and taking one for the floor would let the floor, and the
 * queue congestion control allows above it, creep up every 10 s. So the
 * window is halved for three SRTT (rscc probe_floor: the queue drains) and
 * the smallest sample of that time is the new floor (BBR's ProbeRTT, made
 * short: our queue is at most half the floor). */
static void floor_sample(struct rstream *s, uint64_t rtt, uint64_t now_us)
{
	if (s->min_rtt_us == 0 || rtt <= s->min_rtt_us) {
		s->min_rtt_us = rtt;
		s->min_rtt_stamp_us = now_us;
	}
	if (s->floor_probe_end_us != 0) {
		s->floor_probe_min_us = rtt < s->floor_probe_min_us ? rtt : s->floor_probe_min_us;
		if (now_us >= s->floor_probe_end_us) {
			s->min_rtt_us = s->floor_probe_min_us;
			s->min_rtt_stamp_us = now_us;
			s->floor_probe_end_us = 0;
			s->cc.probe_floor = false;
		}
	} else if (now_us - s->min_rtt_stamp_us > MIN_RTT_WINDOW_US) {
		s->floor_probe_end_us = now_us + 3 * (s->srtt_us ? s->srtt_us : rtt);
		s->floor_probe_min_us = rtt;
		s->cc.probe_floor = true;
		s->stats.floor_probes++;
	}
}

/* RFC 6298 §2.2-2.4, with RSTREAM_RTO_MIN_US as the floor of the variance
 * term (as Linux's tcp_rto_min), not of the whole: RTO = SRTT + max(4 RTTVAR,
 * 200 ms). Floored as a whole, a steady 200 ms path had an RTO of one round
 * trip and a little: acks held back by decimation or a queue made it fire
 * again and again (79 timeouts, 969 spurious resends and a window of two
 * segments in a 10 MB copy at 10 Mbit/s, 200 ms, 3 % loss). */
static void rtt_sample(struct rstream *s, uint64_t rtt, uint64_t now_us)
{
	uint64_t var;

	rtt = rtt ? rtt : 1;
	s->latest_rtt_us = rtt;
	floor_sample(s, rtt, now_us);
	if (s->srtt_us == 0) {
		s->srtt_us = rtt;
		s->rttvar_us = rtt / 2;
	} else {
		uint64_t diff = s->srtt_us > rtt ? s->srtt_us - rtt : rtt - s->srtt_us;

		s->rttvar_us = (3 * s->rttvar_us + diff) / 4;
		s->srtt_us = (7 * s->srtt_us + rtt) / 8;
	}
	var = 4 * s->rttvar_us;
	s->rto_us = s->srtt_us + (var > RSTREAM_RTO_MIN_US ? var : RSTREAM_RTO_MIN_US);
	if (s->rto_us > RSTREAM_RTO_MAX_US) {
		s->rto_us = RSTREAM_RTO_MAX_US;
	}
}

/* A segment reached the peer: RTT candidate and RACK state (RFC 8985
 * §6.2: the most recently sent delivered segment; a resent one acked
 * faster than the RTT floor was the original's ack, and says nothing). */
static void on_delivered(struct rstream *s, const struct rstream_seg *g, uint64_t *rtt,
			 uint64_t now_us)
{
	uint64_t sample = now_us - g->sent_us;

	if (g->flags & SEG_STALLED) {
		return;
	}
	if (!(g->flags & SEG_RETRANS)) {
		*rtt = sample;
	} else if (sample < s->min_rtt_us) {
		s->stats.spurious_segs++;
		return;
	}
	if (g->tx_seq > s->rack_tx_seq) {
		s->rack_tx_seq = g->tx_seq;
		s->rack_sent_us = g->sent_us;
		s->rack_rtt_us = sample;
	}
}

static void mark_lost(struct rstream *s, struct rstream_seg *g, bool is_congestion, uint64_t now_us)
{
	g->flags |= SEG_LOST;
	s->inflight -= g->len;
	s->n_lost++;
	if (is_congestion) {
		rscc_on_loss(&s->cc, g->seq, g->len, s->snd_nxt, s->latest_rtt_us, s->min_rtt_us,
			     now_us);
	}
}

/* RFC 8985 §6.2 step 5: a segment sent before the most recently delivered
 * one is lost once RACK.rtt + reo_wnd has passed since it was sent; the
 * earliest of the others sets the reorder timer. reo_wnd = min_rtt / 4. */
static void detect_losses(struct rstream *s, uint64_t now_us)
{
	uint64_t reo = s->min_rtt_us / 4;

	s->reo_at_us = 0;
	if (s->rack_tx_seq == 0) {
		return;
	}
	for (uint32_t i = 0; i < s->seg_n; i++) {
		struct rstream_seg *g = seg_at(s, i);
		uint64_t when;

		if (g->tx_seq >= s->rack_tx_seq) {
			if (!(g->flags & SEG_RETRANS)) {
				/* New data goes out in sequence order, so every
				 * later segment was first sent later still: the
				 * scan ends here, not at the top of the window. */
				break;
			}
			continue;
		}
		if (g->flags & (SEG_SACKED | SEG_LOST)) {
			continue;
		}
		when = g->sent_us + s->rack_rtt_us + reo;
		if (when <= now_us) {
			mark_lost(s, g, true, now_us);
		} else if (s->reo_at_us == 0 || when < s->reo_at_us) {
			s->reo_at_us = when;
		}
	}
}

/* RFC 8985 §7.2: PTO = 2 SRTT, plus the peer's ack delay when one segment
 * is in flight; never later than the RTO. Armed after every send, so a lost
 * resend or probe is probed again (RFC 9002 §6.2.1 re-arms the PTO on every
 * ack-eliciting packet), doubling per probe that brought no ack
 * (pto_backoff, RFC 9002 §6.2.1), until an ack delivers something. */
static void arm_pto(struct rstream *s, uint64_t now_us)
{
	uint64_t pto;

	s->pto_at_us = 0;
	if (s->seg_n == 0 || s->inflight == 0) {
		return;
	}
	pto = s->srtt_us       ? 2 * s->srtt_us
	      : s->rtt_hint_us ? 2 * s->rtt_hint_us
			       : RSTREAM_RTO_INIT_US;
	if (s->inflight <= s->mss + 1u) {
		pto += RSTREAM_ACK_DELAY_US;
	}
	pto = pto < RSTREAM_PTO_MIN_US ? RSTREAM_PTO_MIN_US : pto;
	pto <<= s->pto_backoff;
	if (s->rto_at_us == 0 || now_us + pto < s->rto_at_us) {
		s->pto_at_us = now_us + pto;
	}
}

/* SACK ranges (ascending) mark the segments they cover. Returns the bytes
 * newly delivered. */
static uint64_t take_sacks(struct rstream *s, const struct frame_stream_ack *a, uint64_t *rtt,
			   uint64_t now_us)
{
	uint64_t bytes = 0;
	uint32_t k = 0;

	for (uint32_t i = 0; i < s->seg_n && k < a->sack_count; i++) {
		struct rstream_seg *g = seg_at(s, i);

		while (k < a->sack_count && a->sack[k].end <= g->seq) {
			k++;
		}
		if (k == a->sack_count || a->sack[k].start > g->seq ||
		    seg_end(g) > a->sack[k].end || (g->flags & SEG_SACKED)) {
			continue;
		}
		if (g->flags & SEG_LOST) {
			g->flags &= (uint8_t)~SEG_LOST;
			s->n_lost--;
		} else {
			s->inflight -= g->len;
		}
		g->flags |= SEG_SACKED;
		bytes += g->len;
		on_delivered(s, g, rtt, now_us);
	}
	return bytes;
}

/* Segments wholly below the cumulative ack leave the scoreboard. */
static uint64_t take_cumulative(struct rstream *s, uint64_t ack, uint64_t *rtt, uint64_t now_us)
{
	uint64_t bytes = 0;

	while (s->seg_n > 0) {
		struct rstream_seg *g = seg_at(s, 0);

		if (seg_end(g) > ack) {
			break;
		}
		if (!(g->flags & SEG_SACKED)) {
			bytes += g->len;
			if (g->flags & SEG_LOST) {
				s->n_lost--;
			} else {
				s->inflight -= g->len;
			}
			on_delivered(s, g, rtt, now_us);
		}
		s->seg_head = (s->seg_head + 1) % s->seg_cap;
		s->seg_n--;
	}
	return bytes;
}

void rssend_on_ack(struct rstream *s, const struct frame_stream_ack *a, uint64_t now_us)
{
	uint64_t rtt = 0;
	uint64_t bytes;
	uint64_t inflight = s->inflight;
	bool is_advanced = a->ack_offset > s->snd_una;

	s->stats.acks_rx++;
	if (a->ack_offset > s->snd_nxt ||
	    (a->sack_count > 0 && a->sack[a->sack_count - 1].end > s->snd_nxt)) {
		s->stats.drops[RSTREAM_DROP_BAD_ACK]++;
		return;
	}
	if (a->ack_offset >= s->snd_una) {
		/* An older (reordered) ack does not move the window. */
		s->peer_right = a->ack_offset + a->window;
	}
	bytes = take_cumulative(s, a->ack_offset, &rtt, now_us);
	if (is_advanced) {
		s->snd_una = a->ack_offset;
	}
	bytes += take_sacks(s, a, &rtt, now_us);
	if (s->is_fin_queued && s->snd_una > s->fin_seq) {
		s->is_fin_acked = true;
	}
	if (rtt) {
		rtt_sample(s, rtt, now_us);
	}
	if (is_advanced || bytes) {
		s->rto_backoff = 0;
		s->pto_backoff = 0;
		s->stall_since_us = 0;
	}
	if (is_advanced) {
		/* RFC 6298 §5.3: restart the timer when new data is acked. */
		s->rto_at_us = s->seg_n ? now_us + backed_off_rto(s) : 0;
	}
	detect_losses(s, now_us);
	rscc_on_ack(&s->cc, bytes, s->snd_una, s->snd_nxt, inflight, rtt, s->min_rtt_us, now_us);
	arm_pto(s, now_us);
}

/* May len bytes go now? Sets pace_at_us when only the pacer holds them. */
static bool gate(struct rstream *s, uint64_t len, uint64_t now_us)
{
	uint64_t at;

	if (!s->is_tlp && !rscc_window_allows(&s->cc, s->inflight, len)) {
		s->pace_at_us = 0; /* an ack opens the window */
		return false;
	}
	at = rscc_pace_at_us(&s->cc, len, s->srtt_us, now_us);
	if (at > now_us) {
		s->pace_at_us = at;
		return false;
	}
	s->pace_at_us = 0;
	return true;
}

static void copy_out(const struct rstream *s, uint64_t seq, uint8_t *dst, size_t len)
{
	size_t at = (size_t)(seq % s->snd_cap);
	size_t first = len < s->snd_cap - at ? len : s->snd_cap - at;

	memcpy(dst, s->snd_buf + at, first);
	memcpy(dst + first, s->snd_buf, len - first);
}

static void send_seg(struct rstream *s, struct rstream_seg *g, struct frame *f, uint64_t now_us)
{
	uint32_t data_len = seg_data_len(g);

	copy_out(s, g->seq, s->scratch, data_len);
	memset(f, 0, sizeof(*f));
	f->type = FRAME_STREAM;
	f->u.stream.stream_id = s->id;
	f->u.stream.offset = g->seq;
	f->u.stream.flags = (g->flags & SEG_FIN) ? FRAME_STREAM_FIN : 0;
	f->u.stream.data = data_len ? s->scratch : NULL;
	f->u.stream.data_len = data_len;
	g->sent_us = now_us;
	g->tx_seq = ++s->tx_count;
	s->inflight += g->len;
	s->is_tlp = false;
	s->stats.tx_segs++;
	s->stats.tx_bytes += data_len;
	rscc_on_send(&s->cc, g->len, s->srtt_us, now_us);
	if (s->rto_at_us == 0) {
		s->rto_at_us = now_us + backed_off_rto(s);
	}
	arm_pto(s, now_us);
}

static int resend_lost(struct rstream *s, struct frame *f, uint64_t now_us)
{
	for (uint32_t i = 0; i < s->seg_n; i++) {
		struct rstream_seg *g = seg_at(s, i);

		if (!(g->flags & SEG_LOST)) {
			continue;
		}
		if (!gate(s, g->len, now_us)) {
			return 0;
		}
		/* The new copy is timed afresh (and, resent, is no sample). */
		g->flags = (uint8_t)((g->flags & ~(SEG_LOST | SEG_STALLED)) | SEG_RETRANS);
		s->n_lost--;
		s->stats.rexmit_segs++;
		s->stats.rexmit_bytes += seg_data_len(g);
		send_seg(s, g, f, now_us);
		return 1;
	}
	return 0;
}

/* Nothing may go while the peer's window is shut: probe it with an empty
 * segment when the persist timer (the RTO timer) says so. */
static int window_probe(struct rstream *s, struct frame *f, uint64_t now_us)
{
	if (s->seg_n == 0 && s->rto_at_us == 0) {
		s->rto_at_us = now_us + backed_off_rto(s);
	}
	if (!s->is_probe_due) {
		return 0;
	}
	s->is_probe_due = false;
	s->stats.probes++;
	memset(f, 0, sizeof(*f));
	f->type = FRAME_STREAM;
	f->u.stream.stream_id = s->id;
	f->u.stream.offset = s->snd_nxt;
	return 1;
}

static uint64_t unsent(const struct rstream *s)
{
	return s->snd_nxt < s->snd_end ? s->snd_end - s->snd_nxt : 0;
}

/* The sender's state changes to why: the time in the one before counts in
 * stats.limited_us. */
static void note_limit(struct rstream *s, enum rstream_limit why, uint64_t now_us)
{
	if (why == s->limit) {
		return;
	}
	if (s->limit != RSTREAM_LIMIT_NONE && now_us > s->limit_since_us) {
		s->stats.limited_us[s->limit] += now_us - s->limit_since_us;
	}
	s->limit = (uint8_t)why;
	s->limit_since_us = now_us;
}

/* gate said no: the pacer (it set pace_at_us) or the window. */
static enum rstream_limit gate_limit(const struct rstream *s)
{
	return s->pace_at_us ? RSTREAM_LIMIT_PACE : RSTREAM_LIMIT_CWND;
}

/* Nothing new may go: the peer's window is full, or everything buffered
 * was sent and the buffer is full of unacked data, or the app wrote
 * nothing more. */
static enum rstream_limit idle_limit(const struct rstream *s)
{
	if (unsent(s) > 0) {
		return RSTREAM_LIMIT_RWND;
	}
	return s->snd_end - s->snd_una >= s->snd_cap ? RSTREAM_LIMIT_SNDBUF : RSTREAM_LIMIT_APP;
}

int rssend_next_frame(struct rstream *s, struct frame *f, uint64_t now_us)
{
	uint64_t win = s->peer_right > s->snd_nxt ? s->peer_right - s->snd_nxt : 0;
	uint64_t len = unsent(s);
	bool fin;
	struct rstream_seg *g;

	if (s->n_lost > 0) {
		int n = resend_lost(s, f, now_us);

		note_limit(s, n ? RSTREAM_LIMIT_NONE : gate_limit(s), now_us);
		return n;
	}
	len = len < s->mss ? len : s->mss;
	len = len < win ? len : win;
	fin = s->is_fin_queued && s->snd_nxt <= s->fin_seq && s->snd_nxt + len == s->fin_seq;
	if (len == 0 && !fin) {
		note_limit(s, idle_limit(s), now_us);
		return unsent(s) > 0 ? window_probe(s, f, now_us) : 0;
	}
	if (s->seg_n == s->seg_cap) {
		note_limit(s, RSTREAM_LIMIT_SEGS, now_us);
		return 0;
	}
	if (!gate(s, len + fin, now_us)) {
		note_limit(s, gate_limit(s), now_us);
		return 0;
	}
	note_limit(s, RSTREAM_LIMIT_NONE, now_us);
	g = seg_at(s, s->seg_n++);
	g->seq = s->snd_nxt;
	g->len = (uint32_t)len + (fin ? 1u : 0u);
	g->flags = fin ? SEG_FIN : 0;
	s->snd_nxt += g->len;
	send_seg(s, g, f, now_us);
	return 1;
}

static uint64_t earliest(uint64_t d, uint64_t t)
{
	return t != 0 && t < d ? t : d;
}

uint64_t rssend_deadline_us(const struct rstream *s, uint64_t now_us)
{
	uint64_t d = UINT64_MAX;

	if (s->is_probe_due) {
		return now_us;
	}
	d = earliest(d, s->rto_at_us);
	d = earliest(d, s->pto_at_us);
	d = earliest(d, s->reo_at_us);
	return earliest(d, s->pace_at_us);
}

static void on_rto(struct rstream *s, uint64_t now_us)
{
	uint64_t before = s->inflight;

	s->stats.rtos++;
	s->pto_at_us = 0;
	if (s->seg_n == 0) {
		/* The persist timer: probe a shut window, backing off. */
		bool is_shut = unsent(s) > 0 && s->peer_right <= s->snd_nxt;

		s->is_probe_due = is_shut;
		if (s->rto_backoff < PERSIST_BACKOFF_MAX) {
			s->rto_backoff++;
		}
		s->rto_at_us = is_shut ? now_us + backed_off_rto(s) : 0;
		return;
	}
	/* RFC 6298 §5.4-5.6 with RFC 8985 §6.3: everything unacked is lost,
	 * the timer backs off. */
	for (uint32_t i = 0; i < s->seg_n; i++) {
		struct rstream_seg *g = seg_at(s, i);

		if (!(g->flags & (SEG_SACKED | SEG_LOST))) {
			mark_lost(s, g, false, now_us);
			g->flags |= SEG_STALLED;
		}
	}
	rscc_on_rto(&s->cc, before, s->snd_nxt, s->rto_backoff > 0);
	s->rto_backoff++;
	if (s->stall_since_us == 0) {
		s->stall_since_us = now_us;
	} else if (now_us - s->stall_since_us >= RSTREAM_GIVEUP_US) {
		s->is_failed = true;
	}
	s->rto_at_us = now_us + backed_off_rto(s);
}

/* RFC 8985 §7.3: send new data if there is some, else resend the last
 * segment; either may exceed cwnd once. No window reduction. */
static void on_pto(struct rstream *s, uint64_t now_us)
{
	uint64_t win = s->peer_right > s->snd_nxt ? s->peer_right - s->snd_nxt : 0;

	s->pto_at_us = 0;
	s->stats.ptos++;
	s->is_tlp = true;
	if (s->pto_backoff < PTO_BACKOFF_MAX) {
		s->pto_backoff++;
	}
	if (unsent(s) > 0 && win > 0) {
		return;
	}
	for (uint32_t i = s->seg_n; i > 0; i--) {
		struct rstream_seg *g = seg_at(s, i - 1);

		if (!(g->flags & (SEG_SACKED | SEG_LOST))) {
			mark_lost(s, g, false, now_us);
			return;
		}
	}
}

void rssend_on_path_change(struct rstream *s, uint64_t now_us)
{
	/* What was in flight went on the old path: resend it now on the new
	 * one, from a fresh window and RTT floor, without the old backoff. */
	for (uint32_t i = 0; i < s->seg_n; i++) {
		struct rstream_seg *g = seg_at(s, i);

		if (!(g->flags & (SEG_SACKED | SEG_LOST))) {
			mark_lost(s, g, false, now_us);
			g->flags |= SEG_STALLED;
		}
	}
	rscc_on_path_change(&s->cc);
	s->min_rtt_us = 0;
	s->floor_probe_end_us = 0;
	s->rack_tx_seq = 0;
	s->rto_backoff = 0;
	s->pto_backoff = 0;
	s->pto_at_us = 0;
	s->reo_at_us = 0;
	/* A shut window: probe it now (the update that opened it may have
	 * been lost with the old path), not at the backed-off persist timer. */
	if (s->seg_n == 0 && unsent(s) > 0 && s->peer_right <= s->snd_nxt) {
		s->is_probe_due = true;
	}
	s->rto_at_us = s->seg_n ? now_us + backed_off_rto(s) : 0;
}

/* Pieces segment g becomes at s->mss bytes of data each (a FIN alone: 1). */
static uint32_t pieces_of(const struct rstream *s, const struct rstream_seg *g)
{
	uint32_t data = seg_data_len(g);

	if ((g->flags & SEG_SACKED) || data <= s->mss) {
		return 1;
	}
	return (data + s->mss - 1) / s->mss;
}

void rssend_recut(struct rstream *s)
{
	uint32_t n = 0, cap, at = 0;
	struct rstream_seg *segs;

	for (uint32_t i = 0; i < s->seg_n; i++) {
		n += pieces_of(s, seg_at(s, i));
	}
	if (n == s->seg_n) {
		return;
	}
	/* Room for the pieces and for a buffer's worth of new segments of
	 * the smaller size (grow_snd's rule). */
	cap = (uint32_t)(2 * s->snd_cap / s->mss);
	cap = cap > s->seg_cap ? cap : s->seg_cap;
	cap = cap > n ? cap : n;
	segs = malloc((size_t)cap * sizeof(*segs));
	if (!segs) {
		return; /* kept whole: resent as before */
	}
	for (uint32_t i = 0; i < s->seg_n; i++) {
		const struct rstream_seg *g = seg_at(s, i);
		uint32_t k = pieces_of(s, g);
		uint32_t left = seg_data_len(g);

		for (uint32_t j = 0; j < k; j++) {
			struct rstream_seg *c = &segs[at++];
			uint32_t len = left < s->mss ? left : s->mss;

			*c = *g;
			if (k > 1) {
				c->seq = g->seq + (uint64_t)j * s->mss;
				c->len = len;
				c->flags &= (uint8_t)~SEG_FIN;
				if (j == k - 1 && (g->flags & SEG_FIN)) {
					c->len++;
					c->flags |= SEG_FIN;
				}
			}
			left -= len;
		}
		if (k > 1 && (g->flags & SEG_LOST)) {
			s->n_lost += k - 1;
		}
	}
	free(s->segs);
	s->segs = segs;
	s->seg_cap = cap;
	s->seg_head = 0;
	s->seg_n = n;
}

void rssend_on_timer(struct rstream *s, uint64_t now_us)
{
	if (s->reo_at_us != 0 && now_us >= s->reo_at_us) {
		detect_losses(s, now_us);
	}
	if (s->rto_at_us != 0 && now_us >= s->rto_at_us) {
		on_rto(s, now_us);
	} else if (s->pto_at_us != 0 && now_us >= s->pto_at_us) {
		on_pto(s, now_us);
	}
	if (s->pace_at_us != 0 && now_us >= s->pace_at_us) {
		s->pace_at_us = 0;
	}
}
