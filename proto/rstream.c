/* rstream: the buffers, the receiver and the local-side calls of one
 * reliable stream (rstream.h; PROTOCOL.md "Streams"). The sender's
 * scoreboard, loss detection and timers are in rssend.c. Owns the two
 * buffers and the scoreboard, allocated in rstream_init and doubled by
 * grow_snd/grow_rcv; nothing here allocates per packet, touches a socket or
 * reads a clock. */
#include "rstream.h"

#include "proto/rssend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The shared budget's account of s's buffers: take bytes in, give bytes back. */
static void budget_move(struct rstream *s, size_t take, size_t give)
{
	if (s->budget) {
		s->budget->used = s->budget->used + take - give;
	}
}

int rstream_init(struct rstream *s, uint32_t id, size_t snd_cap, size_t rcv_cap)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	if (snd_cap < RSTREAM_MSS || rcv_cap < RSTREAM_INIT_WINDOW || rcv_cap > UINT32_MAX) {
		return -EINVAL;
	}
	s->snd_buf = malloc(snd_cap);
	s->rcv_buf = malloc(rcv_cap);
	s->segs = calloc(RSTREAM_SEGS_MIN, sizeof(*s->segs));
	if (!s->snd_buf || !s->rcv_buf || !s->segs) {
		rstream_fini(s);
		return -ENOMEM;
	}
	s->seg_cap = RSTREAM_SEGS_MIN;
	s->snd_cap = s->snd_max = snd_cap;
	s->rcv_cap = s->rcv_max = rcv_cap;
	s->peer_right = RSTREAM_INIT_WINDOW;
	s->adv_right = RSTREAM_INIT_WINDOW;
	s->rto_us = RSTREAM_RTO_INIT_US;
	s->mss = RSTREAM_MSS;
	rscc_init(&s->cc, RSTREAM_MSS);
	return 0;
}

void rstream_fini(struct rstream *s)
{
	budget_move(s, 0, s->snd_cap + s->rcv_cap);
	s->budget = NULL;
	free(s->snd_buf);
	free(s->rcv_buf);
	free(s->segs);
	s->snd_buf = NULL;
	s->rcv_buf = NULL;
	s->segs = NULL;
}

/* ---- growth ---- */

static uint64_t snd_data_una(const struct rstream *s)
{
	return s->snd_una < s->snd_end ? s->snd_una : s->snd_end;
}

/* End of the readable data: the FIN, once it is in order, is not data. */
static uint64_t rcv_data_end(const struct rstream *s)
{
	return s->has_rcv_fin && s->rcv_nxt > s->rcv_fin_seq ? s->rcv_fin_seq : s->rcv_nxt;
}

void rstream_set_rtt_hint(struct rstream *s, uint64_t rtt_us)
{
	uint64_t rto = 3 * rtt_us;

	if (s->srtt_us != 0 || rtt_us == 0 || rtt_us > RSTREAM_RTO_INIT_US) {
		return;
	}
	s->rtt_hint_us = rtt_us;
	s->rto_us = rto < RSTREAM_RTO_MIN_US ? RSTREAM_RTO_MIN_US : rto;
}

void rstream_set_mss(struct rstream *s, uint32_t mss)
{
	uint32_t was = s->mss;

	mss = mss < RSTREAM_MSS_MIN ? RSTREAM_MSS_MIN : mss;
	mss = mss > RSTREAM_MSS ? RSTREAM_MSS : mss;
	s->mss = mss;
	if (mss < was) {
		rssend_recut(s);
	}
	/* The window counts bytes; the congestion controller's segment unit
	 * (initial and minimum window, CUBIC's scale) follows. */
	s->cc.mss = mss;
}

void rstream_set_growth(struct rstream *s, size_t snd_max, size_t rcv_max,
			struct rstream_budget *budget)
{
	s->snd_max = snd_max > s->snd_cap ? snd_max : s->snd_cap;
	s->rcv_max = rcv_max > s->rcv_cap ? rcv_max : s->rcv_cap;
	s->rcv_max = s->rcv_max > UINT32_MAX ? UINT32_MAX : s->rcv_max;
	budget_move(s, 0, s->snd_cap + s->rcv_cap);
	s->budget = budget;
	budget_move(s, s->snd_cap + s->rcv_cap, 0);
}

size_t rstream_budget_first_cap(const struct rstream_budget *b, size_t want, size_t min)
{
	size_t room = b->used < b->limit ? b->limit - b->used : 0;
	size_t cap = want;

	while (cap / 2 >= min && 2 * cap > room) {
		cap /= 2;
	}
	return 2 * cap <= room ? cap : min;
}

/* Twice cap, within max and the budget; 0 when it may not grow. */
static size_t next_cap(const struct rstream *s, size_t cap, size_t max)
{
	size_t next = cap * 2 < max ? cap * 2 : max;

	if (next <= cap || (s->budget && s->budget->used + (next - cap) > s->budget->limit)) {
		return 0;
	}
	return next;
}

/* Copy len bytes of sequence space from seq on, between two rings that
 * hold byte q at q % cap. */
static void ring_copy(uint8_t *dst, size_t dst_cap, const uint8_t *src, size_t src_cap,
		      uint64_t seq, size_t len)
{
	while (len > 0) {
		size_t d = (size_t)(seq % dst_cap), o = (size_t)(seq % src_cap);
		size_t n = len;

		n = n < dst_cap - d ? n : dst_cap - d;
		n = n < src_cap - o ? n : src_cap - o;
		memcpy(dst + d, src + o, n);
		seq += n;
		len -= n;
	}
}

/* The send buffer is full and three quarters of it are on the way: the
 * window and cwnd would take more than the buffer holds. Double it, and the
 * scoreboard with it. On failure (no memory) nothing changes. */
static void grow_snd(struct rstream *s)
{
	size_t cap = next_cap(s, s->snd_cap, s->snd_max);
	uint32_t seg_cap;
	uint8_t *buf;
	struct rstream_seg *segs;

	if (cap == 0) {
		return;
	}
	seg_cap = (uint32_t)(2 * cap / s->mss);
	seg_cap = seg_cap > s->seg_cap ? seg_cap : s->seg_cap;
	buf = malloc(cap);
	segs = malloc((size_t)seg_cap * sizeof(*segs));
	if (!buf || !segs) {
		free(buf);
		free(segs);
		return;
	}
	ring_copy(buf, cap, s->snd_buf, s->snd_cap, snd_data_una(s), rstream_send_buffered(s));
	for (uint32_t i = 0; i < s->seg_n; i++) {
		segs[i] = s->segs[(s->seg_head + i) % s->seg_cap];
	}
	free(s->snd_buf);
	free(s->segs);
	budget_move(s, cap, s->snd_cap);
	s->snd_buf = buf;
	s->snd_cap = cap;
	s->segs = segs;
	s->seg_cap = seg_cap;
	s->seg_head = 0;
	s->stats.snd_grows++;
}

/* Double the receive buffer (and so the window); the next ack, sent at
 * once, tells the peer. */
static void grow_rcv(struct rstream *s)
{
	size_t cap = next_cap(s, s->rcv_cap, s->rcv_max);
	uint8_t *buf;

	if (cap == 0 || (buf = malloc(cap)) == NULL) {
		return;
	}
	ring_copy(buf, cap, s->rcv_buf, s->rcv_cap, s->rcv_read, s->rcv_cap);
	free(s->rcv_buf);
	budget_move(s, cap, s->rcv_cap);
	s->rcv_buf = buf;
	s->rcv_cap = cap;
	s->is_ack_now = true;
	s->stats.rcv_grows++;
}

/* Receive-buffer tuning (after Linux's tcp_rcv_space_adjust): the
 * receiver's RTT is the time the peer takes to send up to the edge of a
 * window we offer (an RTT when the window is the limit, longer otherwise:
 * the smallest sample wins, a larger one moves it by an eighth). Once per
 * such RTT, if more than half a buffer of new data arrived in it (holes
 * included: loss must not hide a full window) and the app has left less
 * than a quarter unread, the window holds the sender back: double the
 * buffer. So too when data held above holes fills half of it. A slow app
 * leaves data unread, and the buffer stays as it is (back-pressure). */
static void rcv_autotune(struct rstream *s, uint64_t now_us)
{
	uint64_t high = s->n_ranges ? s->ranges[s->n_ranges - 1].end : s->rcv_nxt;
	bool app_keeps_up = rcv_data_end(s) - s->rcv_read < s->rcv_cap / 4;

	if (s->rcv_cap >= s->rcv_max) {
		return;
	}
	/* Data held above holes fills half the buffer while the app has read
	 * what it could: loss, not the app, is stalling the window. */
	if (high - s->rcv_nxt >= s->rcv_cap / 2 && app_keeps_up) {
		grow_rcv(s);
		return;
	}
	if (s->rrtt_at_us == 0) {
		s->rrtt_seq = s->rcv_read + s->rcv_cap;
		s->rrtt_at_us = now_us;
	} else if (high >= s->rrtt_seq) {
		uint64_t sample = now_us - s->rrtt_at_us;

		sample = sample ? sample : 1;
		s->rcv_rtt_us = s->rcv_rtt_us == 0 || sample < s->rcv_rtt_us
					? sample
					: (7 * s->rcv_rtt_us + sample) / 8;
		s->rrtt_at_us = 0;
	}
	if (s->rcv_rtt_us == 0) {
		return;
	}
	if (s->space_at_us == 0) {
		s->space_at_us = now_us;
		s->space_bytes = s->stats.rx_bytes;
	} else if (now_us - s->space_at_us >= s->rcv_rtt_us) {
		if (2 * (s->stats.rx_bytes - s->space_bytes) > s->rcv_cap && app_keeps_up) {
			grow_rcv(s);
		}
		s->space_at_us = now_us;
		s->space_bytes = s->stats.rx_bytes;
	}
}

/* ---- the local side ---- */

size_t rstream_send_buffered(const struct rstream *s)
{
	return (size_t)(s->snd_end - snd_data_una(s));
}

void rstream_write_space(struct rstream *s, uint8_t **ptr, size_t *len)
{
	size_t used = rstream_send_buffered(s);
	size_t at, room;

	if (used == s->snd_cap && s->snd_cap < s->snd_max &&
	    4 * (s->snd_nxt - s->snd_una) >= 3 * s->snd_cap) {
		grow_snd(s);
	}
	at = (size_t)(s->snd_end % s->snd_cap);
	room = s->snd_cap - used;
	*ptr = s->snd_buf + at;
	*len = 0;
	if (s->is_fin_queued || s->is_rst_queued || s->is_rst_sent || s->is_peer_reset) {
		return;
	}
	*len = room < s->snd_cap - at ? room : s->snd_cap - at;
}

void rstream_write_commit(struct rstream *s, size_t n)
{
	s->snd_end += n;
}

size_t rstream_write(struct rstream *s, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		uint8_t *p;
		size_t room;

		rstream_write_space(s, &p, &room);
		if (room == 0) {
			break;
		}
		room = room < len - done ? room : len - done;
		memcpy(p, buf + done, room);
		rstream_write_commit(s, room);
		done += room;
	}
	return done;
}

void rstream_shutdown(struct rstream *s)
{
	if (s->is_fin_queued) {
		return;
	}
	s->is_fin_queued = true;
	s->fin_seq = s->snd_end;
}

void rstream_reset(struct rstream *s)
{
	if (s->is_rst_sent || s->is_peer_reset) {
		return;
	}
	s->is_rst_queued = true;
}

void rstream_read_peek(const struct rstream *s, const uint8_t **ptr, size_t *len)
{
	size_t at = (size_t)(s->rcv_read % s->rcv_cap);
	size_t avail = (size_t)(rcv_data_end(s) - s->rcv_read);

	*ptr = s->rcv_buf + at;
	*len = avail < s->rcv_cap - at ? avail : s->rcv_cap - at;
	if (s->is_peer_reset || s->is_rst_sent || s->is_rst_queued) {
		*len = 0;
	}
}

void rstream_read_consume(struct rstream *s, size_t n)
{
	uint64_t right;

	s->rcv_read += n;
	/* Window update: tell the sender once a quarter of the buffer opened
	 * (RFC 1122 §4.2.3.3 receiver SWS avoidance, with a larger step). */
	right = s->rcv_read + s->rcv_cap;
	if (right >= s->adv_right + s->rcv_cap / 4) {
		s->is_ack_now = true;
	}
}

bool rstream_at_eof(const struct rstream *s)
{
	return s->has_rcv_fin && s->rcv_nxt > s->rcv_fin_seq && s->rcv_read == s->rcv_fin_seq;
}

bool rstream_is_closed(const struct rstream *s)
{
	if (s->is_failed || s->is_peer_reset || s->is_rst_sent) {
		return true;
	}
	return s->is_fin_acked && rstream_at_eof(s) && s->ack_pending == 0 && !s->is_ack_now;
}

/* ---- the receiver ---- */

static void copy_in(struct rstream *s, uint64_t seq, const uint8_t *data, size_t len)
{
	size_t at = (size_t)(seq % s->rcv_cap);
	size_t first = len < s->rcv_cap - at ? len : s->rcv_cap - at;

	memcpy(s->rcv_buf + at, data, first);
	memcpy(s->rcv_buf, data + first, len - first);
}

/* Record [a, b) as received (a >= rcv_nxt), merging with the ranges it
 * touches; a range reaching rcv_nxt moves it. Returns false when a new
 * hole would not fit. */
static bool mark_received(struct rstream *s, uint64_t a, uint64_t b)
{
	uint32_t i = 0, j;

	while (i < s->n_ranges && s->ranges[i].end < a) {
		i++;
	}
	j = i;
	while (j < s->n_ranges && s->ranges[j].start <= b) {
		a = s->ranges[j].start < a ? s->ranges[j].start : a;
		b = s->ranges[j].end > b ? s->ranges[j].end : b;
		j++;
	}
	if (i == j && a <= s->rcv_nxt) {
		s->rcv_nxt = b; /* in order, touching no held range */
		return true;
	}
	if (i == j) {
		if (s->n_ranges == RSTREAM_RANGES_MAX) {
			return false;
		}
		memmove(&s->ranges[i + 1], &s->ranges[i], (s->n_ranges - i) * sizeof(s->ranges[0]));
		s->n_ranges++;
	} else if (j > i + 1) {
		memmove(&s->ranges[i + 1], &s->ranges[j], (s->n_ranges - j) * sizeof(s->ranges[0]));
		s->n_ranges -= j - i - 1;
	}
	s->ranges[i].start = a;
	s->ranges[i].end = b;
	if (s->ranges[0].start <= s->rcv_nxt) {
		s->rcv_nxt = s->ranges[0].end;
		s->n_ranges--;
		memmove(&s->ranges[0], &s->ranges[1], s->n_ranges * sizeof(s->ranges[0]));
	}
	return true;
}

/* [a, b) lies within one range already received above rcv_nxt. */
static bool is_held(const struct rstream *s, uint64_t a, uint64_t b)
{
	for (uint32_t i = 0; i < s->n_ranges && s->ranges[i].start <= a; i++) {
		if (b <= s->ranges[i].end) {
			return true;
		}
	}
	return false;
}

/* A FIN fixes the stream's length; data past it, or a second FIN
 * elsewhere, is a broken peer. Returns false to drop the frame. */
static bool check_fin(struct rstream *s, const struct frame_stream *f)
{
	uint64_t end = f->offset + f->data_len;

	if (f->flags & FRAME_STREAM_FIN) {
		if (s->has_rcv_fin && s->rcv_fin_seq != end) {
			return false;
		}
		if (end < rcv_data_end(s) ||
		    (s->n_ranges && s->ranges[s->n_ranges - 1].end > end)) {
			return false;
		}
		s->has_rcv_fin = true;
		s->rcv_fin_seq = end;
	}
	return !s->has_rcv_fin || end <= s->rcv_fin_seq;
}

/* Ack every second segment for the stream's first RSTREAM_ACK_QUICK_SEGS
 * (slow start grows by what is acked), then every RSTREAM_ACK_EVERY (ack
 * decimation, as Google QUIC's and as Linux's GRO does in effect: an ack per
 * pair of segments costs the sender a wakeup per pair, and at 200 Mbit/s
 * that CPU latency alone cost 5 % of the path); at once when a segment opens
 * a hole, fills one or is duplicated (RFC 9000 §13.2.1), else after
 * RSTREAM_ACK_DELAY_US (RFC 9293 §3.8.6.3). */
static void schedule_ack(struct rstream *s, bool urgent, uint64_t now_us)
{
	uint32_t every = s->stats.rx_segs > RSTREAM_ACK_QUICK_SEGS ? RSTREAM_ACK_EVERY : 2;

	s->ack_pending++;
	if (urgent || s->ack_pending >= every) {
		s->is_ack_now = true;
	} else if (s->ack_at_us == 0) {
		s->ack_at_us = now_us + RSTREAM_ACK_DELAY_US;
	}
}

void rstream_on_stream(struct rstream *s, const struct frame_stream *f, uint64_t now_us)
{
	bool fin = (f->flags & FRAME_STREAM_FIN) != 0;
	uint64_t end = f->offset + f->data_len;
	uint64_t seq_end = end + (fin ? 1 : 0);
	uint64_t from;
	/* Not the next segment at the top: a new hole below it, or a hole or
	 * older data it fills. */
	bool is_ooo = f->offset != (s->n_ranges ? s->ranges[s->n_ranges - 1].end : s->rcv_nxt);

	if (s->is_rst_sent || s->is_rst_queued) {
		/* We aborted: answer anything but an RST with another RST. */
		s->is_rst_queued = (f->flags & FRAME_STREAM_RST) == 0;
		return;
	}
	if (f->flags & FRAME_STREAM_RST) {
		s->is_peer_reset = true;
		return;
	}
	s->stats.rx_segs++;
	if (f->data_len == 0 && !fin) {
		s->is_ack_now = true; /* a window probe */
		return;
	}
	if (!check_fin(s, f)) {
		s->stats.drops[RSTREAM_DROP_BAD_FIN]++;
		return;
	}
	if (end > s->rcv_read + s->rcv_cap) {
		s->stats.drops[RSTREAM_DROP_BEYOND_WINDOW]++;
		s->is_ack_now = true;
		return;
	}
	if (seq_end <= s->rcv_nxt || is_held(s, f->offset, seq_end)) {
		s->stats.rx_dup_bytes += f->data_len;
		s->is_ack_now = true;
		return;
	}
	from = f->offset > s->rcv_nxt ? f->offset : s->rcv_nxt;
	if (from < end) {
		copy_in(s, from, f->data + (from - f->offset), (size_t)(end - from));
	}
	if (!mark_received(s, from, seq_end)) {
		s->stats.drops[RSTREAM_DROP_RANGES_FULL]++;
		s->is_ack_now = true;
		return;
	}
	if (from >= s->rcv_nxt) {
		s->sack_recent = from; /* it sits in a range above a hole */
	}
	s->stats.rx_bytes += f->data_len;
	schedule_ack(s, fin || is_ooo, now_us);
	rcv_autotune(s, now_us);
}

/* The range holding offset x (n_ranges: none). */
static uint32_t range_of(const struct rstream *s, uint64_t x)
{
	uint32_t i = 0;

	while (i < s->n_ranges && s->ranges[i].end <= x) {
		i++;
	}
	return i < s->n_ranges && s->ranges[i].start <= x ? i : s->n_ranges;
}

/* More ranges than an ack holds: pick the lowest RSTREAM_SACK_LOWEST (the
 * sender repairs those holes first), the highest (it drives RACK), the one
 * the latest segment landed in, and fill the rest in turn from a cursor
 * that moves on with every ack. The sender remembers what was sacked, so
 * every range is reported within a few acks, long before RACK's reorder
 * window would call its data lost (with only the lowest and highest, a
 * resend filling a hole in the middle went unreported and was resent
 * again: 2 of 3 resends at 3 % loss on a 20 ms path were spurious). */
static void pick_sacks(struct rstream *s, bool pick[RSTREAM_RANGES_MAX])
{
	uint32_t n = s->n_ranges, left = WIRE_SACK_MAX, span, r, k;

	memset(pick, 0, n * sizeof(pick[0]));
	for (uint32_t i = 0; i < RSTREAM_SACK_LOWEST; i++) {
		pick[i] = true;
	}
	pick[n - 1] = true;
	left -= RSTREAM_SACK_LOWEST + 1;
	r = range_of(s, s->sack_recent);
	if (r < n && !pick[r]) {
		pick[r] = true;
		left--;
	}
	span = n - 1 - RSTREAM_SACK_LOWEST; /* the middle: LOWEST .. n-2 */
	for (k = 0; k < span && left > 0; k++) {
		uint32_t i = RSTREAM_SACK_LOWEST + (s->sack_rot + k) % span;

		if (!pick[i]) {
			pick[i] = true;
			left--;
		}
	}
	s->sack_rot = (s->sack_rot + k) % span;
}

/* The ack we owe: cumulative, window from it, and SACK ranges (all of them
 * when they fit, else pick_sacks's choice). */
static void build_ack(struct rstream *s, struct frame *f)
{
	struct frame_stream_ack *a = &f->u.stream_ack;
	uint64_t room = s->rcv_read + s->rcv_cap - rcv_data_end(s);
	bool pick[RSTREAM_RANGES_MAX];
	uint32_t n = 0;

	memset(f, 0, sizeof(*f));
	f->type = FRAME_STREAM_ACK;
	a->stream_id = s->id;
	a->ack_offset = s->rcv_nxt;
	a->window = room > UINT32_MAX ? UINT32_MAX : (uint32_t)room;
	if (s->n_ranges > WIRE_SACK_MAX) {
		pick_sacks(s, pick);
	}
	for (uint32_t i = 0; i < s->n_ranges; i++) {
		if (s->n_ranges <= WIRE_SACK_MAX || pick[i]) {
			a->sack[n].start = s->ranges[i].start;
			a->sack[n].end = s->ranges[i].end;
			n++;
		}
	}
	a->sack_count = (uint8_t)n;
	s->adv_right = rcv_data_end(s) + a->window;
	s->ack_pending = 0;
	s->ack_at_us = 0;
	s->is_ack_now = false;
	s->stats.acks_tx++;
}

static bool ack_due(const struct rstream *s, uint64_t now_us)
{
	return s->is_ack_now || (s->ack_at_us != 0 && now_us >= s->ack_at_us);
}

/* ---- the owner's calls; the sender's half is rssend.c ---- */

void rstream_on_ack(struct rstream *s, const struct frame_stream_ack *a, uint64_t now_us)
{
	if (s->is_rst_sent || s->is_rst_queued || s->is_peer_reset) {
		return;
	}
	rssend_on_ack(s, a, now_us);
}

int rstream_next_frame(struct rstream *s, struct frame *f, uint64_t now_us)
{
	if (s->is_rst_queued) {
		memset(f, 0, sizeof(*f));
		f->type = FRAME_STREAM;
		f->u.stream.stream_id = s->id;
		f->u.stream.offset = s->snd_nxt;
		f->u.stream.flags = FRAME_STREAM_RST;
		s->is_rst_queued = false;
		s->is_rst_sent = true;
		return 1;
	}
	if (s->is_rst_sent || s->is_peer_reset) {
		return 0;
	}
	if (ack_due(s, now_us)) {
		build_ack(s, f);
		return 1;
	}
	if (s->is_failed) {
		return 0;
	}
	return rssend_next_frame(s, f, now_us);
}

uint64_t rstream_deadline_us(struct rstream *s, uint64_t now_us)
{
	uint64_t d;

	if (s->is_rst_queued || s->is_ack_now) {
		return now_us;
	}
	if (s->is_rst_sent || s->is_peer_reset || s->is_failed) {
		return UINT64_MAX;
	}
	d = rssend_deadline_us(s, now_us);
	if (s->ack_at_us != 0 && s->ack_at_us < d) {
		d = s->ack_at_us;
	}
	return d;
}

void rstream_on_path_change(struct rstream *s, uint64_t now_us)
{
	if (s->is_rst_sent || s->is_peer_reset || s->is_failed) {
		return;
	}
	rssend_on_path_change(s, now_us);
}

void rstream_on_timer(struct rstream *s, uint64_t now_us)
{
	if (s->is_rst_sent || s->is_peer_reset || s->is_failed) {
		return;
	}
	if (s->ack_at_us != 0 && now_us >= s->ack_at_us) {
		s->is_ack_now = true;
	}
	rssend_on_timer(s, now_us);
}

uint64_t rstream_silence_deadline_us(const struct rstream *s, uint64_t heard_us)
{
	if (s->is_rst_queued || rstream_is_closed(s)) {
		return UINT64_MAX;
	}
	return heard_us + RSTREAM_GIVEUP_US;
}

bool rstream_on_peer_silence(struct rstream *s, uint64_t heard_us, uint64_t now_us)
{
	if (now_us < rstream_silence_deadline_us(s, heard_us)) {
		return false;
	}
	s->is_failed = true;
	return true;
}
