/* test_rstream: proto/rstream — two endpoints joined by a simulated channel
 * (deterministic PRNG: loss, delay, jitter that reorders, an optional
 * bottleneck with a queue that overflows). Frames go through frame_write and
 * frame_read_next as on the wire. Checked: byte-identical delivery both ways,
 * FIN and RST, window stalls and their recovery (with the window update
 * lost), memory bounds, giving up on a dead peer, and the congestion
 * window's reaction to queue overflow. The seed is printed on failure and
 * can be overridden with WH_TEST_SEED. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/frame.h"
#include "proto/rstream.h"
#include "proto/wire.h"

#define QMAX 8192
#define BUF_CAP (256 * 1024)

static uint64_t seed = 0x5eed2026;

struct pkt {
	uint64_t at_us;
	size_t len;
	uint8_t buf[WIRE_MAX_PLAINTEXT];
};

struct link {
	unsigned loss_pct;
	uint64_t delay_us, jitter_us;
	double rate_bpus;     /* bottleneck bytes per microsecond; 0: none */
	uint64_t queue_bytes; /* bottleneck queue limit */
	uint64_t drop_offset; /* the next drop_count STREAM frames at this offset are lost */
	unsigned drop_count;
	size_t mtu; /* frames longer than this vanish (a path's black hole); 0: none */
	uint64_t free_at_us;
	uint64_t sent, dropped, overflowed;
	size_t max_len; /* the longest frame put on the link */
	struct pkt *q;	/* QMAX */
	size_t n;
};

struct side {
	struct rstream s;
	uint64_t tx_total; /* bytes the app will write, then FIN */
	uint64_t tx_done;
	uint64_t rx_done;
	uint64_t tx_seed, rx_seed; /* byte generators of each direction */
	uint64_t read_limit;	   /* the app reads at most this much */
	bool is_kept_open;	   /* no FIN after tx_total: the connection idles */
	bool got_eof;
	bool mismatch;
	size_t max_buffered;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The byte at position i of a direction's content. */
static uint8_t content(uint64_t dir_seed, uint64_t i)
{
	uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ull ^ dir_seed;

	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 29;
	return (uint8_t)(x >> ((i % 8) * 8));
}

static void link_init(struct link *l, unsigned loss, uint64_t delay, uint64_t jitter)
{
	memset(l, 0, sizeof(*l));
	l->loss_pct = loss;
	l->delay_us = delay;
	l->jitter_us = jitter;
	l->q = calloc(QMAX, sizeof(*l->q));
	assert_non_null(l->q);
}

static void link_put(struct link *l, const struct frame *f, uint64_t now_us)
{
	struct wire_writer w;
	struct pkt *p;
	uint64_t at = now_us;

	l->sent++;
	if (l->drop_count > 0 && f->type == FRAME_STREAM && f->u.stream.offset == l->drop_offset) {
		l->drop_count--;
		l->dropped++;
		return;
	}
	if ((unsigned)(rnd() % 100) < l->loss_pct || (l->mtu && frame_size(f) > l->mtu)) {
		l->dropped++;
		return;
	}
	if (l->rate_bpus > 0) {
		uint64_t start = l->free_at_us > now_us ? l->free_at_us : now_us;
		double backlog = (double)(start - now_us) * l->rate_bpus;

		if (backlog > (double)l->queue_bytes) {
			l->overflowed++;
			return;
		}
		l->free_at_us = start + (uint64_t)((double)(frame_size(f) + 32) / l->rate_bpus);
		at = l->free_at_us;
	}
	assert_true(l->n < QMAX);
	p = &l->q[l->n++];
	wire_writer_init(&w, p->buf, sizeof(p->buf));
	assert_int_equal(frame_write(&w, f), 0);
	assert_int_equal(wire_writer_done(&w, &p->len), 0);
	l->max_len = p->len > l->max_len ? p->len : l->max_len;
	p->at_us = at + l->delay_us + (l->jitter_us ? rnd() % l->jitter_us : 0);
}

static void app_io(struct side *me)
{
	const uint8_t *rp;
	uint8_t *wp;
	size_t len;

	for (int k = 0; k < 4; k++) {
		rstream_write_space(&me->s, &wp, &len);
		if (len > me->tx_total - me->tx_done) {
			len = (size_t)(me->tx_total - me->tx_done);
		}
		for (size_t i = 0; i < len; i++) {
			wp[i] = content(me->tx_seed, me->tx_done + i);
		}
		rstream_write_commit(&me->s, len);
		me->tx_done += len;
	}
	if (me->tx_done == me->tx_total && !me->is_kept_open) {
		rstream_shutdown(&me->s);
	}
	if (rstream_send_buffered(&me->s) > me->max_buffered) {
		me->max_buffered = rstream_send_buffered(&me->s);
	}
	for (int k = 0; k < 4; k++) {
		rstream_read_peek(&me->s, &rp, &len);
		if (len > me->read_limit - me->rx_done) {
			len = (size_t)(me->read_limit - me->rx_done);
		}
		for (size_t i = 0; i < len; i++) {
			if (rp[i] != content(me->rx_seed, me->rx_done + i)) {
				me->mismatch = true;
			}
		}
		rstream_read_consume(&me->s, len);
		me->rx_done += len;
	}
	if (rstream_at_eof(&me->s)) {
		me->got_eof = true;
	}
}

static void pump(struct side *me, struct link *out, uint64_t now_us)
{
	struct frame f;
	int n = 0;

	while (n++ < 256 && rstream_next_frame(&me->s, &f, now_us) == 1) {
		link_put(out, &f, now_us);
	}
}

/* Deliver what is due on l to dst. */
static void deliver(struct link *l, struct side *dst, uint64_t now_us)
{
	size_t i = 0;

	while (i < l->n) {
		struct frame_reader fr;
		struct frame f;

		if (l->q[i].at_us > now_us) {
			i++;
			continue;
		}
		frame_reader_init(&fr, l->q[i].buf, l->q[i].len);
		assert_int_equal(frame_read_next(&fr, &f), 1);
		if (f.type == FRAME_STREAM) {
			rstream_on_stream(&dst->s, &f.u.stream, now_us);
		} else {
			assert_int_equal(f.type, FRAME_STREAM_ACK);
			rstream_on_ack(&dst->s, &f.u.stream_ack, now_us);
		}
		l->q[i] = l->q[--l->n];
	}
}

static uint64_t next_event(const struct link *l, uint64_t d)
{
	for (size_t i = 0; i < l->n; i++) {
		d = l->q[i].at_us < d ? l->q[i].at_us : d;
	}
	return d;
}

struct sim {
	struct side a, b;
	struct link ab, ba;
	uint64_t now_us;
};

static void sim_init(struct sim *m, uint64_t a_bytes, uint64_t b_bytes, unsigned loss,
		     uint64_t delay, uint64_t jitter)
{
	memset(m, 0, sizeof(*m));
	rng_state = seed;
	assert_int_equal(rstream_init(&m->a.s, 7, BUF_CAP, BUF_CAP), 0);
	assert_int_equal(rstream_init(&m->b.s, 7, BUF_CAP, BUF_CAP), 0);
	m->a.tx_total = a_bytes;
	m->b.tx_total = b_bytes;
	m->a.tx_seed = m->b.rx_seed = 0xA11CE;
	m->b.tx_seed = m->a.rx_seed = 0xB0B;
	m->a.read_limit = m->b.read_limit = UINT64_MAX;
	link_init(&m->ab, loss, delay, jitter);
	link_init(&m->ba, loss, delay, jitter);
	m->now_us = 1000000;
}

static void sim_fini(struct sim *m)
{
	rstream_fini(&m->a.s);
	rstream_fini(&m->b.s);
	free(m->ab.q);
	free(m->ba.q);
}

/* One step: apps, timers, sends, then time moves to the next event. */
static void sim_step(struct sim *m)
{
	uint64_t d, db;

	app_io(&m->a);
	app_io(&m->b);
	rstream_on_timer(&m->a.s, m->now_us);
	rstream_on_timer(&m->b.s, m->now_us);
	pump(&m->a, &m->ab, m->now_us);
	pump(&m->b, &m->ba, m->now_us);
	d = rstream_deadline_us(&m->a.s, m->now_us);
	db = rstream_deadline_us(&m->b.s, m->now_us);
	d = d < db ? d : db;
	d = next_event(&m->ab, d);
	d = next_event(&m->ba, d);
	if (d > m->now_us + 1000000) {
		d = m->now_us + 1000000;
	}
	m->now_us = d > m->now_us ? d : m->now_us + 1;
	deliver(&m->ab, &m->b, m->now_us);
	deliver(&m->ba, &m->a, m->now_us);
}

static bool both_done(const struct sim *m)
{
	return rstream_is_closed(&m->a.s) && rstream_is_closed(&m->b.s);
}

/* Run until both streams closed or max_steps; returns the steps taken. */
static long sim_run(struct sim *m, long max_steps)
{
	long n = 0;

	while (n < max_steps && !both_done(m)) {
		sim_step(m);
		n++;
	}
	return n;
}

static void check_delivery(const struct sim *m)
{
	if (m->a.mismatch || m->b.mismatch || m->b.rx_done != m->a.tx_total ||
	    m->a.rx_done != m->b.tx_total) {
		fprintf(stderr,
			"seed %" PRIu64 ": a->b %" PRIu64 "/%" PRIu64 " b->a %" PRIu64 "/%" PRIu64
			" mismatch %d %d\n",
			seed, m->b.rx_done, m->a.tx_total, m->a.rx_done, m->b.tx_total,
			m->a.mismatch, m->b.mismatch);
	}
	assert_false(m->a.mismatch);
	assert_false(m->b.mismatch);
	assert_true(m->b.rx_done == m->a.tx_total);
	assert_true(m->a.rx_done == m->b.tx_total);
	assert_true(m->a.got_eof && m->b.got_eof);
	assert_true(m->a.s.is_fin_acked && m->b.s.is_fin_acked);
	assert_true(m->a.max_buffered <= m->a.s.snd_max && m->b.max_buffered <= m->b.s.snd_max);
}

static void test_rstream_delivers_bytes_identically_on_a_clean_channel(void **state)
{
	struct sim m;

	(void)state;
	sim_init(&m, 3 << 20, 100000, 0, 10000, 0);
	assert_true(sim_run(&m, 2000000) < 2000000);
	check_delivery(&m);
	assert_int_equal(m.a.s.stats.rexmit_segs, 0);
	assert_int_equal(m.a.s.cc.loss_events, 0);
	sim_fini(&m);
}

/* A sender told a smaller segment size (a link with a smaller MTU) keeps
 * every frame within it, through loss; the size is clamped. */
static void test_rstream_keeps_segments_within_the_mss_it_is_given(void **state)
{
	struct sim m;

	(void)state;
	sim_init(&m, 1 << 20, 300000, 3, 20000, 5000);
	rstream_set_mss(&m.a.s, 1000);
	rstream_set_mss(&m.b.s, 700);
	assert_true(sim_run(&m, 4000000) < 4000000);
	check_delivery(&m);
	assert_true(m.a.s.stats.rexmit_segs > 0);
	assert_true(m.ab.max_len <= 1000 + RSTREAM_FRAME_OVERHEAD);
	assert_true(m.ab.max_len > 900);
	assert_true(m.ba.max_len <= 700 + RSTREAM_FRAME_OVERHEAD);
	assert_int_equal(m.a.s.cc.mss, 1000);
	sim_fini(&m);

	sim_init(&m, 1000, 0, 0, 1000, 0);
	rstream_set_mss(&m.a.s, 10);
	assert_int_equal(m.a.s.mss, RSTREAM_MSS_MIN);
	rstream_set_mss(&m.a.s, 65535);
	assert_int_equal(m.a.s.mss, RSTREAM_MSS);
	sim_fini(&m);
}

/* A path that silently drops full-size frames (a narrower link, no ICMP):
 * the owner finds out and gives a smaller segment size; the segments
 * already sent, lost and backed off, are cut to it and resent, and the
 * copy completes. Kept whole (the build before), they were resent whole
 * for ever. */
static void test_rstream_cuts_segments_sent_when_the_mss_shrinks(void **state)
{
	struct sim m;
	size_t small = 900 + RSTREAM_FRAME_OVERHEAD;

	(void)state;
	sim_init(&m, 1 << 20, 50000, 0, 20000, 0);
	m.ab.mtu = m.ba.mtu = small;
	for (long n = 0; n < 100000 && m.now_us < 1500000; n++) {
		sim_step(&m);
	}
	assert_int_equal(m.b.rx_done, 0); /* nothing full-size got through */
	assert_true(m.a.s.seg_n > 1);
	rstream_set_mss(&m.a.s, 900);
	rstream_set_mss(&m.b.s, 900);
	for (uint32_t i = 0; i < m.a.s.seg_n; i++) {
		const struct rstream_seg *g = &m.a.s.segs[(m.a.s.seg_head + i) % m.a.s.seg_cap];

		assert_true(g->len <= 900 + 1);
	}
	rstream_on_path_change(&m.a.s, m.now_us);
	rstream_on_path_change(&m.b.s, m.now_us);
	assert_true(sim_run(&m, 4000000) < 4000000);
	check_delivery(&m);
	assert_true(m.ab.dropped > 0 && m.ab.max_len <= small);
	sim_fini(&m);
}

/* Cutting keeps the scoreboard's accounting: a stream with segments in
 * flight, lost and SACKED, and a FIN, cut smaller and smaller, still
 * delivers every byte once through loss. */
static void test_rstream_cut_keeps_the_scoreboard_through_loss(void **state)
{
	struct sim m;

	(void)state;
	sim_init(&m, 300000, 300000, 5, 15000, 5000);
	for (long n = 0; n < 100000 && m.now_us < 1100000; n++) {
		sim_step(&m);
	}
	rstream_set_mss(&m.a.s, 1000);
	rstream_set_mss(&m.b.s, 700);
	for (long n = 0; n < 100000 && m.now_us < 1200000; n++) {
		sim_step(&m);
	}
	rstream_set_mss(&m.a.s, RSTREAM_MSS_MIN);
	rstream_set_mss(&m.b.s, 300);
	assert_true(sim_run(&m, 4000000) < 4000000);
	check_delivery(&m);
	assert_true(m.a.s.stats.rexmit_segs > 0);
	assert_int_equal(m.a.s.inflight, 0);
	assert_int_equal(m.a.s.n_lost, 0);
	sim_fini(&m);
}

static void test_rstream_delivers_both_ways_through_loss_and_reordering(void **state)
{
	static const unsigned losses[] = {1, 3, 10, 25};

	(void)state;
	for (size_t i = 0; i < sizeof(losses) / sizeof(losses[0]); i++) {
		struct sim m;

		sim_init(&m, 1 << 20, 600000, losses[i], 20000, 15000);
		assert_true(sim_run(&m, 4000000) < 4000000);
		check_delivery(&m);
		assert_true(m.a.s.stats.rexmit_segs > 0);
		assert_true(m.ab.dropped > 0);
		sim_fini(&m);
	}
}

static void test_rstream_stalls_on_a_full_window_and_recovers_a_lost_update(void **state)
{
	struct sim m;
	uint64_t stall_end;

	(void)state;
	sim_init(&m, 2 << 20, 0, 0, 5000, 0);
	m.b.read_limit = 0; /* the reader does not drain */
	for (long n = 0; n < 200000 && m.now_us < 3000000; n++) {
		sim_step(&m);
	}
	/* Nothing beyond the receive buffer went out; the sender's buffer
	 * filled and writes stopped there. */
	assert_int_equal(m.b.s.rcv_nxt, BUF_CAP);
	assert_true(m.a.s.snd_nxt <= BUF_CAP + 0u);
	assert_int_equal(rstream_send_buffered(&m.a.s), BUF_CAP);
	assert_true(m.a.tx_done < m.a.tx_total);
	/* The reader drains, but the window updates are lost for a while:
	 * the persist probe brings the transfer back. */
	m.ba.loss_pct = 100;
	m.b.read_limit = UINT64_MAX;
	stall_end = m.now_us + 500000;
	while (m.now_us < stall_end) {
		sim_step(&m);
	}
	m.ba.loss_pct = 0;
	assert_true(sim_run(&m, 2000000) < 2000000);
	check_delivery(&m);
	assert_true(m.a.s.stats.probes > 0);
	sim_fini(&m);
}

static void test_rstream_reset_reaches_the_peer_and_stops_both(void **state)
{
	struct sim m;
	const uint8_t *p;
	uint8_t *w;
	size_t len;

	(void)state;
	sim_init(&m, 1 << 20, 1 << 20, 0, 5000, 0);
	/* Mid-transfer: a quarter has arrived. */
	for (int n = 0; n < 100000 && m.b.rx_done < (1 << 18); n++) {
		sim_step(&m);
	}
	assert_true(m.b.rx_done >= (1 << 18) && m.b.rx_done < (1 << 20));
	rstream_reset(&m.a.s);
	assert_true(sim_run(&m, 10000) < 10000);
	assert_true(m.a.s.is_rst_sent);
	assert_true(m.b.s.is_peer_reset);
	assert_false(m.b.got_eof);
	rstream_read_peek(&m.b.s, &p, &len);
	assert_int_equal(len, 0);
	rstream_write_space(&m.b.s, &w, &len);
	assert_int_equal(len, 0);
	sim_fini(&m);
}

static void test_rstream_half_close_keeps_the_other_direction_open(void **state)
{
	struct sim m;

	(void)state;
	/* a finishes at once; b keeps sending a long reply after a's FIN: 2.5 s
	 * at 200 kB/s, so a's FIN arrives first even when its only segment is
	 * lost and waits for the first RTO (1 s: no RTT sample yet). */
	sim_init(&m, 1000, 500000, 2, 8000, 4000);
	m.ba.rate_bpus = 0.2;
	m.ba.queue_bytes = 60000;
	while (!m.b.got_eof && m.now_us < 10000000) {
		sim_step(&m);
	}
	assert_true(m.b.got_eof);
	assert_true(m.a.rx_done < 500000);
	assert_true(sim_run(&m, 2000000) < 2000000);
	check_delivery(&m);
	sim_fini(&m);
}

static void test_rstream_gives_up_when_the_peer_is_gone(void **state)
{
	struct sim m;

	(void)state;
	sim_init(&m, 100000, 0, 0, 5000, 0);
	m.ab.loss_pct = 100;
	assert_true(sim_run(&m, 100000) < 100000);
	assert_true(m.a.s.is_failed);
	/* The first RTO comes 1 s in (no sample yet); the stream gives up at
	 * the first RTO RSTREAM_GIVEUP_US after it, the timer backed off to at
	 * most RSTREAM_RTO_MAX_US. */
	assert_true(m.now_us - 2000000 >= RSTREAM_GIVEUP_US);
	assert_true(m.now_us - 2000000 <= RSTREAM_GIVEUP_US + RSTREAM_RTO_MAX_US);
	sim_fini(&m);
}

/* An idle stream (everything acked, no FIN) has no timer of its own: it
 * gives up only once nothing has been heard from the peer for
 * RSTREAM_GIVEUP_US, counted from the last sign of life the owner passes
 * in, so a peer heard again before that (an outage shorter than it) keeps
 * it. A stream that finished normally never fails that way. */
static void test_rstream_an_idle_stream_gives_up_on_a_silent_peer(void **state)
{
	struct sim m;
	struct frame f;
	uint64_t heard_us;

	(void)state;
	sim_init(&m, 1000, 1000, 0, 5000, 0);
	m.a.is_kept_open = m.b.is_kept_open = true;
	while (m.now_us < 2000000) {
		sim_step(&m);
	}
	assert_int_equal(m.b.rx_done, 1000);
	assert_int_equal(m.a.rx_done, 1000);
	assert_int_equal(m.a.s.seg_n, 0);
	assert_int_equal(rstream_deadline_us(&m.a.s, m.now_us), UINT64_MAX);
	heard_us = m.now_us;
	assert_int_equal(rstream_silence_deadline_us(&m.a.s, heard_us),
			 heard_us + RSTREAM_GIVEUP_US);
	/* 100 s of silence (a long coverage gap), then the peer is heard. */
	assert_false(rstream_on_peer_silence(&m.a.s, heard_us, heard_us + 100000000));
	heard_us += 100000000;
	assert_false(rstream_on_peer_silence(&m.a.s, heard_us, heard_us + RSTREAM_GIVEUP_US - 1));
	assert_false(m.a.s.is_failed);
	assert_false(rstream_is_closed(&m.a.s));
	/* Then silent for good (its client killed): the stream fails once. */
	assert_true(rstream_on_peer_silence(&m.a.s, heard_us, heard_us + RSTREAM_GIVEUP_US));
	assert_true(m.a.s.is_failed);
	assert_true(rstream_is_closed(&m.a.s));
	assert_false(rstream_on_peer_silence(&m.a.s, heard_us, heard_us + RSTREAM_GIVEUP_US + 1));
	assert_int_equal(rstream_silence_deadline_us(&m.a.s, heard_us), UINT64_MAX);
	/* The owner resets it: the RST still goes out (a peer that comes back
	 * learns the stream is gone). */
	rstream_reset(&m.a.s);
	assert_int_equal(rstream_next_frame(&m.a.s, &f, heard_us + RSTREAM_GIVEUP_US), 1);
	assert_true(f.u.stream.flags & FRAME_STREAM_RST);
	sim_fini(&m);
	/* A stream that finished normally (both FINs acked) only lingers. */
	sim_init(&m, 1000, 1000, 0, 5000, 0);
	assert_true(sim_run(&m, 100000) < 100000);
	assert_int_equal(rstream_silence_deadline_us(&m.a.s, 0), UINT64_MAX);
	assert_false(rstream_on_peer_silence(&m.a.s, 0, m.now_us + RSTREAM_GIVEUP_US));
	assert_false(m.a.s.is_failed);
	sim_fini(&m);
}

/* With data outstanding the peer's silence counts too: a stream gives up
 * RSTREAM_GIVEUP_US after the peer was last heard, not later (its own rule
 * counts from its first timeout). */
static void test_rstream_a_busy_stream_gives_up_on_a_silent_peer(void **state)
{
	struct sim m;
	uint64_t heard_us;

	(void)state;
	sim_init(&m, 2000000, 0, 0, 5000, 0);
	while (m.now_us < 1100000) {
		sim_step(&m);
	}
	heard_us = m.now_us;
	m.ab.loss_pct = m.ba.loss_pct = 100;
	while (m.now_us < heard_us + RSTREAM_GIVEUP_US - 1000000) {
		sim_step(&m);
		assert_false(rstream_on_peer_silence(&m.a.s, heard_us, m.now_us));
	}
	assert_false(m.a.s.is_failed);
	assert_true(m.a.s.seg_n > 0);
	assert_true(rstream_on_peer_silence(&m.a.s, heard_us, heard_us + RSTREAM_GIVEUP_US));
	assert_true(m.a.s.is_failed);
	sim_fini(&m);
}

static void test_rstream_rides_out_a_long_outage_and_resumes_when_told(void **state)
{
	struct sim m;
	uint64_t back_us;

	(void)state;
	sim_init(&m, 2000000, 500000, 0, 5000, 0);
	m.ab.rate_bpus = m.ba.rate_bpus = 0.5; /* 500 kB/s: 4 s of data */
	m.ab.queue_bytes = m.ba.queue_bytes = 100000;
	while (m.now_us < 1500000) {
		sim_step(&m);
	}
	/* 90 s of silence both ways (a coverage gap): no giving up. */
	assert_true(m.b.rx_done > 0 && m.b.rx_done < m.a.tx_total);
	m.ab.loss_pct = m.ba.loss_pct = 100;
	while (m.now_us < 91500000) {
		sim_step(&m);
	}
	assert_false(m.a.s.is_failed);
	assert_false(m.b.s.is_failed);
	assert_true(m.a.s.rto_backoff > 4);
	/* The owner hears the peer again: both resend at once, not at their
	 * backed-off timeouts (up to 30 s away), and finish soon. */
	m.ab.loss_pct = m.ba.loss_pct = 0;
	back_us = m.now_us;
	rstream_on_path_change(&m.a.s, m.now_us);
	rstream_on_path_change(&m.b.s, m.now_us);
	assert_true(sim_run(&m, 1000000) < 1000000);
	check_delivery(&m);
	/* The rest (under 4 s at 500 kB/s), with no wait for a timeout. */
	assert_true(m.now_us - back_us < 5000000);
	sim_fini(&m);
}

/* A reader that stopped shut the window; it reads again during an outage,
 * so the update that opens the window is lost, and the persist probes back
 * off (seconds apart). When the owner hears the peer again, the
 * sender probes the shut window at once and the transfer ends soon. */
static void test_rstream_probes_a_shut_window_when_the_peer_is_back(void **state)
{
	struct sim m;
	uint64_t back_us, probes;

	(void)state;
	sim_init(&m, 2000000, 0, 0, 20000, 0);
	m.b.read_limit = 300000;
	while (m.now_us < 3000000) {
		sim_step(&m);
	}
	assert_int_equal(m.b.rx_done, 300000);
	assert_int_equal(m.a.s.seg_n, 0);
	assert_true(m.a.s.peer_right <= m.a.s.snd_nxt);
	m.ab.loss_pct = m.ba.loss_pct = 100;
	m.b.read_limit = UINT64_MAX;
	while (m.now_us < 20000000) {
		sim_step(&m);
	}
	/* The peer is back just after a (lost) persist probe: the next one is
	 * seconds away. */
	probes = m.a.s.stats.rtos;
	while (m.a.s.stats.rtos == probes) {
		sim_step(&m);
	}
	assert_true(m.a.s.rto_backoff >= 5);
	m.ab.loss_pct = m.ba.loss_pct = 0;
	back_us = m.now_us;
	rstream_on_path_change(&m.a.s, m.now_us);
	assert_true(sim_run(&m, 1000000) < 1000000);
	check_delivery(&m);
	fprintf(stderr,
		"shut window: done %.3f s after the peer came back (probes %" PRIu64
		", acks_tx b %" PRIu64 ")\n",
		(double)(m.now_us - back_us) / 1e6, m.a.s.stats.rtos, m.b.s.stats.acks_tx);
	assert_true(m.now_us - back_us < 2000000);
	sim_fini(&m);
}

static void test_rstream_data_acked_after_an_outage_is_no_rtt_sample(void **state)
{
	struct sim m;
	uint64_t back_us, una;

	(void)state;
	sim_init(&m, 2000000, 0, 0, 50000, 0); /* 100 ms round trips */
	m.ab.rate_bpus = m.ba.rate_bpus = 0.5;
	m.ab.queue_bytes = m.ba.queue_bytes = 100000;
	while (m.now_us < 1500000) {
		sim_step(&m);
	}
	/* The acks are lost first: what is on its way still arrives, and is
	 * acknowledged only after the 15 s outage. */
	m.ba.loss_pct = 100;
	while (m.now_us < 1560000) {
		sim_step(&m);
	}
	m.ab.loss_pct = 100;
	while (m.now_us < 16500000) {
		sim_step(&m);
	}
	m.ab.loss_pct = m.ba.loss_pct = 0;
	back_us = m.now_us;
	una = m.a.s.snd_una;
	rstream_on_path_change(&m.a.s, m.now_us); /* the owner heard the peer */
	while (m.a.s.snd_una == una && m.now_us < back_us + 5000000) {
		sim_step(&m);
	}
	/* The first ack after the outage covers data sent before it: that
	 * measured the outage, not the path, and is no sample, so the RTT and
	 * the pacing that follows it stay the path's. */
	assert_true(m.a.s.snd_una > una);
	assert_true(m.a.s.srtt_us < 1000000);
	assert_true(sim_run(&m, 1000000) < 1000000);
	check_delivery(&m);
	sim_fini(&m);
}

static void test_rstream_holes_beyond_the_range_table_are_dropped_and_counted(void **state)
{
	static uint8_t data[1000];
	struct rstream s;
	struct frame_stream f = {.stream_id = 1, .data = data, .data_len = 100};

	(void)state;
	assert_int_equal(rstream_init(&s, 1, BUF_CAP, BUF_CAP), 0);
	for (int i = 0; i < RSTREAM_RANGES_MAX + 5; i++) {
		f.offset = 1000 + (uint64_t)i * 200; /* every segment leaves a hole */
		rstream_on_stream(&s, &f, 1);
	}
	assert_int_equal(s.n_ranges, RSTREAM_RANGES_MAX);
	assert_int_equal(s.stats.drops[RSTREAM_DROP_RANGES_FULL], 5);
	/* Past the window: dropped. */
	f.offset = BUF_CAP;
	rstream_on_stream(&s, &f, 1);
	assert_int_equal(s.stats.drops[RSTREAM_DROP_BEYOND_WINDOW], 1);
	/* The missing start joins the first range, up to the next hole. */
	f.offset = 0;
	f.data_len = 1000;
	rstream_on_stream(&s, &f, 1);
	assert_int_equal(s.rcv_nxt, 1100);
	assert_int_equal(s.n_ranges, RSTREAM_RANGES_MAX - 1);
	rstream_fini(&s);
}

/* Take the ack s owes (after a segment that left it due now). */
static void take_ack(struct rstream *s, struct frame_stream_ack *a)
{
	struct frame f;

	assert_int_equal(rstream_next_frame(s, &f, 1), 1);
	assert_int_equal(f.type, FRAME_STREAM_ACK);
	*a = f.u.stream_ack;
}

/* 40 ranges above holes, more than an ack holds: each ack carries the
 * lowest, the highest and the one the latest segment landed in, and two
 * acks in a row report every range between them. */
static void test_rstream_acks_report_every_range_in_turn_when_not_all_fit(void **state)
{
	static uint8_t data[100];
	struct frame_stream f = {.stream_id = 1, .data = data, .data_len = 100};
	struct frame_stream_ack a;
	bool seen[40] = {false};
	struct rstream s;

	(void)state;
	assert_int_equal(rstream_init(&s, 1, BUF_CAP, BUF_CAP), 0);
	for (int i = 0; i < 40; i++) {
		f.offset = 1000 + (uint64_t)i * 200;
		rstream_on_stream(&s, &f, 1);
	}
	assert_int_equal(s.n_ranges, 40);
	/* The latest segment extends range 20, twice (it stays apart from 21). */
	for (int round = 0; round < 2; round++) {
		f.offset = 1000 + 20 * 200 + (round == 0 ? 100 : 150);
		f.data_len = round == 0 ? 50 : 25;
		rstream_on_stream(&s, &f, 1);
		take_ack(&s, &a);
		assert_int_equal(a.sack_count, WIRE_SACK_MAX);
		assert_int_equal(a.ack_offset, 0);
		for (uint32_t k = 0; k < a.sack_count; k++) {
			uint64_t i = (a.sack[k].start - 1000) / 200;

			assert_true(k == 0 || a.sack[k].start > a.sack[k - 1].end);
			assert_int_equal(a.sack[k].start, s.ranges[i].start);
			assert_int_equal(a.sack[k].end, s.ranges[i].end);
			seen[i] = true;
		}
		for (uint64_t i = 0; i < RSTREAM_SACK_LOWEST; i++) {
			assert_int_equal(a.sack[i].start, 1000 + i * 200);
		}
		assert_int_equal(a.sack[a.sack_count - 1].start, 1000 + 39 * 200);
		assert_true(seen[20]);
		seen[20] = round == 0 ? false : seen[20];
	}
	for (int i = 0; i < 40; i++) {
		assert_true(seen[i]);
	}
	/* A segment continuing the top above holes is acked every second. */
	f.offset = 1000 + 39 * 200 + 100;
	f.data_len = 100;
	rstream_on_stream(&s, &f, 1);
	assert_int_equal(rstream_next_frame(&s, &(struct frame){0}, 1), 0);
	f.offset += 100;
	rstream_on_stream(&s, &f, 1);
	take_ack(&s, &a);
	rstream_fini(&s);
}

/* Acks come every second segment for a stream's first
 * RSTREAM_ACK_QUICK_SEGS, then every RSTREAM_ACK_EVERY, or
 * RSTREAM_ACK_DELAY_US after the first unacked one, and at once for a
 * segment out of order. */
static void test_rstream_acks_are_decimated_after_the_first_segments(void **state)
{
	static uint8_t data[100];
	struct frame_stream f = {.stream_id = 1, .data = data, .data_len = 100};
	struct frame_stream_ack a;
	struct rstream s;
	struct frame fr;
	uint64_t acks = 0;

	(void)state;
	assert_int_equal(rstream_init(&s, 1, BUF_CAP, BUF_CAP), 0);
	for (uint32_t i = 0; i < RSTREAM_ACK_QUICK_SEGS; i++) {
		f.offset = (uint64_t)i * 100;
		rstream_on_stream(&s, &f, 1);
		acks += rstream_next_frame(&s, &fr, 1) == 1;
	}
	assert_int_equal(acks, RSTREAM_ACK_QUICK_SEGS / 2);
	for (uint32_t i = 1; i <= 3 * RSTREAM_ACK_EVERY; i++) {
		f.offset += 100;
		rstream_on_stream(&s, &f, 1);
		if (i % RSTREAM_ACK_EVERY != 0) {
			assert_int_equal(rstream_next_frame(&s, &fr, 1), 0);
			continue;
		}
		take_ack(&s, &a);
		assert_int_equal(a.ack_offset, f.offset + 100);
	}
	/* One segment alone: acked when the delayed-ack timer runs out. */
	f.offset += 100;
	rstream_on_stream(&s, &f, 1000);
	assert_int_equal(rstream_next_frame(&s, &fr, 1000), 0);
	assert_int_equal(rstream_deadline_us(&s, 1000), 1000 + RSTREAM_ACK_DELAY_US);
	rstream_on_timer(&s, 1000 + RSTREAM_ACK_DELAY_US);
	assert_int_equal(rstream_next_frame(&s, &fr, 1000 + RSTREAM_ACK_DELAY_US), 1);
	/* Out of order: at once. */
	f.offset += 300;
	rstream_on_stream(&s, &f, 5000);
	take_ack(&s, &a);
	assert_int_equal(a.sack_count, 1);
	rstream_fini(&s);
}

static void test_rstream_cwnd_shrinks_when_a_bottleneck_queue_overflows(void **state)
{
	struct sim m;
	uint64_t peak = 0;

	(void)state;
	sim_init(&m, 8 << 20, 0, 0, 10000, 0);
	/* 10 MB/s bottleneck, 10 ms delay each way, 60 kB of queue. */
	m.ab.rate_bpus = 10.0;
	m.ab.queue_bytes = 60000;
	for (long n = 0; n < 4000000 && !both_done(&m); n++) {
		sim_step(&m);
		peak = m.a.s.cc.cwnd > peak ? m.a.s.cc.cwnd : peak;
	}
	check_delivery(&m);
	fprintf(stderr,
		"bottleneck: overflowed %" PRIu64 " loss_events %" PRIu64 " random %" PRIu64
		" hystart %" PRIu64 " peak %" PRIu64 " cwnd %" PRIu64 " rtos %" PRIu64
		" time %.2f s\n",
		m.ab.overflowed, m.a.s.cc.loss_events, m.a.s.cc.random_losses,
		m.a.s.cc.hystart_exits, peak, m.a.s.cc.cwnd, m.a.s.stats.rtos,
		(double)(m.now_us - 1000000) / 1e6);
	/* A standing queue (RTT above its floor) made the losses congestion:
	 * the window came down. */
	assert_true(m.a.s.cc.loss_events > 0 || m.a.s.cc.hystart_exits > 0);
	assert_true(m.a.s.cc.cwnd < peak);
	sim_fini(&m);
}

static void test_rstream_resends_in_flight_data_at_once_after_a_path_change(void **state)
{
	struct sim m;
	uint64_t before;

	(void)state;
	sim_init(&m, 4 << 20, 0, 0, 20000, 0);
	for (int n = 0; n < 300; n++) {
		sim_step(&m);
	}
	assert_true(m.a.s.inflight > 0);
	/* The old path dies with everything on it. */
	m.ab.n = 0;
	m.ba.n = 0;
	before = m.a.s.stats.rexmit_segs;
	rstream_on_path_change(&m.a.s, m.now_us);
	assert_int_equal(m.a.s.cc.cwnd, (uint64_t)RSCC_INIT_SEGS * RSTREAM_MSS);
	pump(&m.a, &m.ab, m.now_us);
	assert_true(m.a.s.stats.rexmit_segs > before);
	assert_true(sim_run(&m, 2000000) < 2000000);
	check_delivery(&m);
	assert_int_equal(m.a.s.stats.rtos, 0);
	sim_fini(&m);
}

/* The tail of a transfer: segment 8 of 10 is lost, so is RACK's resend, and
 * so is the tail-loss probe's. Nothing else is in flight: only the probe
 * timer, armed again by each resend and doubling, can find it (2 then 4
 * SRTT later), not the 200 ms RTO (which stalls a fast path for dozens of
 * round trips and collapses the window). */
static void test_rstream_a_lost_resend_is_probed_not_left_to_the_rto(void **state)
{
	struct sim m;

	(void)state;
	sim_init(&m, 10 * RSTREAM_MSS, 0, 0, 10000, 0);
	m.ab.drop_offset = 7 * RSTREAM_MSS;
	m.ab.drop_count = 3;
	assert_true(sim_run(&m, 100000) < 100000);
	check_delivery(&m);
	assert_int_equal(m.ab.drop_count, 0);
	assert_int_equal(m.a.s.stats.rtos, 0);
	assert_true(m.a.s.stats.ptos >= 2);
	/* 20 ms round trips: RACK's resend at ~27 ms, probes at ~60 and ~140 ms. */
	assert_true(m.now_us - 1000000 < 200000);
	sim_fini(&m);
}

/* A new stream's only segment is lost. Knowing nothing, the stream waits
 * the first RTO (1 s); given the path's RTT by its owner (30 ms from pings,
 * the path has 20), it probes after 2 x 30 ms and the exchange ends within
 * ~100 ms. */
static void test_rstream_an_rtt_hint_finds_a_lost_first_segment_fast(void **state)
{
	uint64_t took[2];

	(void)state;
	for (int hinted = 0; hinted < 2; hinted++) {
		struct sim m;

		sim_init(&m, 100, 100, 0, 10000, 0);
		m.ab.drop_offset = 0;
		m.ab.drop_count = 1;
		if (hinted) {
			rstream_set_rtt_hint(&m.a.s, 30000);
			rstream_set_rtt_hint(&m.b.s, 30000);
		}
		assert_true(sim_run(&m, 100000) < 100000);
		check_delivery(&m);
		assert_int_equal(m.ab.drop_count, 0);
		took[hinted] = m.now_us - 1000000;
		/* b's segment arrived: its first sample replaced the hint. */
		assert_true(m.b.s.srtt_us >= 19000 && m.b.s.srtt_us <= 21000);
		sim_fini(&m);
	}
	fprintf(stderr, "lost first segment: %.0f ms without a hint, %.0f ms with\n",
		(double)took[0] / 1000, (double)took[1] / 1000);
	assert_true(took[0] >= 1000000);
	assert_true(took[1] < 150000);
}

/* A long fat path: 200 Mbit/s, 20 ms round trips, 1.25 MB of queue. */
static void long_fat_path(struct sim *m, uint64_t bytes)
{
	sim_init(m, bytes, 0, 0, 10000, 0);
	m->ab.rate_bpus = 25.0;
	m->ab.queue_bytes = 1250000;
}

/* Both streams' buffers may grow to 4 MiB, within budget. */
static void let_grow(struct sim *m, struct rstream_budget *budget)
{
	rstream_set_growth(&m->a.s, 4 << 20, 4 << 20, budget);
	rstream_set_growth(&m->b.s, 4 << 20, 4 << 20, budget);
}

static uint64_t run_to_end(struct sim *m)
{
	for (long n = 0; n < 20000000 && !both_done(m); n++) {
		sim_step(m);
	}
	check_delivery(m);
	return m->now_us - 1000000;
}

/* 40 Mbit/s, 100 ms round trips (an LTE link to a relay): everything in
 * flight, over a megabyte, is lost in a burst (a radio fade) that lasts
 * until the retransmission timeout, which declares all of it lost. Slow start from the
 * collapsed window must regrow with the acks of those resends (RFC 5681
 * §3.1): held at two segments until the last of them is acked, the stream
 * crawled at two segments a round trip for half a minute. */
static void test_rstream_regrows_in_slow_start_after_a_timeout(void **state)
{
	struct rstream_budget budget = {.limit = 64 << 20};
	struct sim m;
	uint64_t lost_in_flight, back_us, rest;

	(void)state;
	sim_init(&m, 8 << 20, 0, 0, 50000, 0);
	let_grow(&m, &budget);
	m.ab.rate_bpus = 5.0;
	m.ab.queue_bytes = 250000;
	while (m.b.rx_done < (3u << 20) && m.now_us < 20000000) {
		sim_step(&m);
	}
	/* Nothing gets through until the timeout, and what was on its way
	 * when it fired is gone too. */
	m.ab.loss_pct = m.ba.loss_pct = 100;
	lost_in_flight = m.a.s.snd_nxt - m.a.s.snd_una;
	while (m.a.s.stats.rtos == 0 && m.now_us < 30000000) {
		sim_step(&m);
	}
	m.ab.n = m.ba.n = 0;
	m.ab.loss_pct = m.ba.loss_pct = 0;
	back_us = m.now_us;
	rest = m.a.tx_total - m.b.rx_done;
	(void)run_to_end(&m);
	fprintf(stderr,
		"after a timeout with %" PRIu64 " kB in flight lost: the last %" PRIu64
		" kB took %.2f s (%" PRIu64 " timeouts, cwnd %" PRIu64 " kB)\n",
		lost_in_flight / 1000, rest / 1000, (double)(m.now_us - back_us) / 1e6,
		m.a.s.stats.rtos, m.a.s.cc.cwnd / 1000);
	assert_true(lost_in_flight > 200000);
	/* At 5 MB/s the rest takes a second; slow start a few round trips more. */
	assert_true(m.now_us - back_us < 3000000);
	sim_fini(&m);
}

/* A long lossy path: 10 Mbit/s, 100 ms each way, 3 % random loss both ways.
 * RTO = SRTT + max(4 RTTVAR, 200 ms): floored as a whole at 200 ms, it was
 * barely above the round trip, fired on every late ack and collapsed the
 * window again and again. Losses are repaired by RACK and the probes; a
 * timeout stays rare. */
static void test_rstream_timeouts_stay_rare_on_a_long_lossy_path(void **state)
{
	struct rstream_budget budget = {.limit = 64 << 20};
	struct sim m;
	uint64_t took;

	(void)state;
	sim_init(&m, 4 << 20, 0, 3, 100000, 0);
	let_grow(&m, &budget);
	m.ab.rate_bpus = 1.25;
	m.ab.queue_bytes = 125000;
	took = run_to_end(&m);
	fprintf(stderr,
		"4 MiB at 10 Mbit/s, 200 ms, 3 %% loss: %.2f s, %" PRIu64 " timeouts, %" PRIu64
		" spurious resends, rto %" PRIu64 " ms, srtt %" PRIu64 " ms\n",
		(double)took / 1e6, m.a.s.stats.rtos, m.a.s.stats.spurious_segs,
		m.a.s.rto_us / 1000, m.a.s.srtt_us / 1000);
	assert_true(m.a.s.rto_us >= m.a.s.srtt_us + RSTREAM_RTO_MIN_US);
	assert_true(m.a.s.stats.rtos <= 3);
	sim_fini(&m);
}

/* 256 KiB buffers hold a 20 ms path to 100 Mbit/s; growing, they let the
 * stream fill the 200 Mbit/s: in the same simulated path, the transfer
 * takes well under 3/4 of the time, and both buffers grew. */
static void test_rstream_buffers_grow_on_a_long_fat_path(void **state)
{
	struct rstream_budget budget = {.limit = 64 << 20};
	struct sim m;
	uint64_t fixed_us, grown_us, fixed_wait;

	(void)state;
	long_fat_path(&m, 16 << 20);
	fixed_us = run_to_end(&m);
	assert_int_equal(m.b.s.rcv_cap, BUF_CAP);
	/* The sender says why it waited: mostly for acks to free its full
	 * send buffer (the receive window is as small, but fills later). */
	fixed_wait = m.a.s.stats.limited_us[RSTREAM_LIMIT_SNDBUF];
	assert_true(fixed_wait > fixed_us / 2);
	sim_fini(&m);

	long_fat_path(&m, 16 << 20);
	let_grow(&m, &budget);
	grown_us = run_to_end(&m);
	fprintf(stderr,
		"16 MiB over 200 Mbit/s, 20 ms: %.3f s fixed (%.3f s with a full send buffer), "
		"%.3f s growing (%.3f s; rcv %zu, snd %zu)\n",
		(double)fixed_us / 1e6, (double)fixed_wait / 1e6, (double)grown_us / 1e6,
		(double)m.a.s.stats.limited_us[RSTREAM_LIMIT_SNDBUF] / 1e6, m.b.s.rcv_cap,
		m.a.s.snd_cap);
	assert_true(m.b.s.rcv_cap > BUF_CAP);
	assert_true(m.a.s.snd_cap > BUF_CAP);
	assert_true(m.a.s.seg_cap >= 2 * m.a.s.snd_cap / RSTREAM_MSS);
	assert_true(grown_us * 4 < fixed_us * 3);
	assert_true(m.a.s.stats.limited_us[RSTREAM_LIMIT_SNDBUF] * 4 < fixed_wait);
	assert_true(m.a.s.stats.limited_us[RSTREAM_LIMIT_CWND] > 0);
	assert_int_equal(budget.used,
			 m.a.s.snd_cap + m.a.s.rcv_cap + m.b.s.snd_cap + m.b.s.rcv_cap);
	sim_fini(&m);
	assert_int_equal(budget.used, 0);
}

/* An app that stops reading: the window closes, and neither buffer grows
 * however long the sender waits (memory stays bounded by back-pressure). */
static void test_rstream_a_slow_reader_keeps_the_buffers_small(void **state)
{
	struct rstream_budget budget = {.limit = 64 << 20};
	struct sim m;

	(void)state;
	long_fat_path(&m, 16 << 20);
	m.b.read_limit = 100000;
	let_grow(&m, &budget);
	while (m.now_us < 4000000) {
		sim_step(&m);
	}
	assert_int_equal(m.b.rx_done, 100000);
	assert_int_equal(m.b.s.rcv_cap, BUF_CAP);
	assert_int_equal(m.a.s.snd_cap, BUF_CAP);
	assert_int_equal(budget.used, 4 * (size_t)BUF_CAP);
	sim_fini(&m);
}

/* Growth stops at the shared budget; fini gives the memory back. */
static void test_rstream_growth_stays_within_the_budget(void **state)
{
	struct rstream_budget budget = {.limit = 4 * (size_t)BUF_CAP + BUF_CAP};
	struct sim m;

	(void)state;
	long_fat_path(&m, 16 << 20);
	let_grow(&m, &budget);
	(void)run_to_end(&m);
	assert_true(budget.used <= budget.limit);
	assert_int_equal(m.a.s.snd_cap + m.a.s.rcv_cap + m.b.s.snd_cap + m.b.s.rcv_cap,
			 budget.used);
	assert_int_equal(m.a.s.stats.snd_grows + m.b.s.stats.rcv_grows, 1);
	sim_fini(&m);
	assert_int_equal(budget.used, 0);
}

/* New streams' first buffers under a budget whose limit keeps 2 x min free
 * for each of n streams (as a TCP flow's client does): the full size while
 * it fits, halves as the room runs out, then min. With the budget grown to
 * its limit first, n streams more still fit in limit + n x 2 x min (they
 * did not: each took its full first size whatever the budget said). */
static void test_rstream_first_buffers_keep_within_the_budget(void **state)
{
	enum { N = 128, WANT = 256 << 10, MIN = 64 << 10 };
	const size_t total = (size_t)48 << 20;
	struct rstream_budget b = {.limit = total - (size_t)N * 2 * MIN};
	static struct rstream s[N];
	size_t caps[N];

	(void)state;
	assert_int_equal(rstream_budget_first_cap(&b, WANT, MIN), WANT);
	b.used = b.limit - 2 * WANT + 1; /* no room for two of WANT: half */
	assert_int_equal(rstream_budget_first_cap(&b, WANT, MIN), WANT / 2);
	b.used = b.limit - 2 * MIN;
	assert_int_equal(rstream_budget_first_cap(&b, WANT, MIN), MIN);
	b.used = b.limit + 1; /* over it: still MIN */
	assert_int_equal(rstream_budget_first_cap(&b, WANT, MIN), MIN);

	/* Streams arrive while others grew the budget full. */
	b.used = 0;
	for (int i = 0; i < N; i++) {
		if (i == N / 4) {
			b.used += b.limit - b.used; /* the first ones grew to the limit */
		}
		caps[i] = rstream_budget_first_cap(&b, WANT, MIN);
		assert_int_equal(rstream_init(&s[i], (uint32_t)i, caps[i], caps[i]), 0);
		rstream_set_growth(&s[i], 4 << 20, 4 << 20, &b);
	}
	assert_int_equal(caps[0], WANT);
	assert_int_equal(caps[N - 1], MIN);
	assert_true(b.used <= total);
	for (int i = 0; i < N; i++) {
		rstream_fini(&s[i]);
	}
}

/* 16 s through a 20 Mbit/s bottleneck with a deep buffer, 20 ms round
 * trips: congestion control keeps a queue of at most half the floor, so
 * every RTT sample carries some. When the 10-s floor expires, the stream
 * halves its window for a moment and takes the new floor from that moment:
 * still the path's 20 ms, not 20 ms plus our own queue (which would let the
 * queue grow by as much every 10 s). */
static void test_rstream_the_rtt_floor_is_remeasured_without_our_queue(void **state)
{
	struct rstream_budget budget = {.limit = 64 << 20};
	struct sim m;

	(void)state;
	sim_init(&m, 40 << 20, 0, 0, 10000, 0);
	m.ab.rate_bpus = 2.5;
	m.ab.queue_bytes = 1250000;
	let_grow(&m, &budget);
	(void)run_to_end(&m);
	fprintf(stderr, "floor after %.1f s: %.2f ms (%" PRIu64 " probes, srtt %.2f ms)\n",
		(double)(m.now_us - 1000000) / 1e6, (double)m.a.s.min_rtt_us / 1000.0,
		m.a.s.stats.floor_probes, (double)m.a.s.srtt_us / 1000.0);
	assert_true(m.now_us - 1000000 > 12000000);
	assert_true(m.a.s.stats.floor_probes >= 1);
	assert_true(m.a.s.min_rtt_us < 21000);
	sim_fini(&m);
}

/* 3 % loss both ways on a long fat path: about a dozen holes in flight, so
 * resends fill holes above others that are still open. Every received
 * segment is reported before RACK would call it lost: almost no resend is
 * spurious (with the lowest seven ranges and the highest only, two in three
 * were). */
static void test_rstream_resends_are_not_spurious_with_many_holes(void **state)
{
	struct sim m;

	(void)state;
	long_fat_path(&m, 16 << 20);
	m.ab.loss_pct = m.ba.loss_pct = 3;
	let_grow(&m, NULL);
	run_to_end(&m);
	fprintf(stderr,
		"resent %" PRIu64 " spurious %" PRIu64 " dup bytes at the receiver %" PRIu64 "\n",
		m.a.s.stats.rexmit_segs, m.a.s.stats.spurious_segs, m.b.s.stats.rx_dup_bytes);
	assert_true(m.a.s.stats.rexmit_segs > 100);
	assert_true(m.a.s.stats.spurious_segs * 100 <= m.a.s.stats.rexmit_segs);
	assert_true(m.b.s.stats.rx_dup_bytes * 100 <= m.a.s.stats.rexmit_segs * RSTREAM_MSS);
	sim_fini(&m);
}

int main(void)
{
	const char *env = getenv("WH_TEST_SEED");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rstream_delivers_bytes_identically_on_a_clean_channel),
		cmocka_unit_test(test_rstream_keeps_segments_within_the_mss_it_is_given),
		cmocka_unit_test(test_rstream_cuts_segments_sent_when_the_mss_shrinks),
		cmocka_unit_test(test_rstream_cut_keeps_the_scoreboard_through_loss),
		cmocka_unit_test(test_rstream_delivers_both_ways_through_loss_and_reordering),
		cmocka_unit_test(test_rstream_stalls_on_a_full_window_and_recovers_a_lost_update),
		cmocka_unit_test(test_rstream_reset_reaches_the_peer_and_stops_both),
		cmocka_unit_test(test_rstream_half_close_keeps_the_other_direction_open),
		cmocka_unit_test(test_rstream_gives_up_when_the_peer_is_gone),
		cmocka_unit_test(test_rstream_an_idle_stream_gives_up_on_a_silent_peer),
		cmocka_unit_test(test_rstream_a_busy_stream_gives_up_on_a_silent_peer),
		cmocka_unit_test(test_rstream_rides_out_a_long_outage_and_resumes_when_told),
		cmocka_unit_test(test_rstream_data_acked_after_an_outage_is_no_rtt_sample),
		cmocka_unit_test(test_rstream_probes_a_shut_window_when_the_peer_is_back),
		cmocka_unit_test(test_rstream_holes_beyond_the_range_table_are_dropped_and_counted),
		cmocka_unit_test(test_rstream_acks_report_every_range_in_turn_when_not_all_fit),
		cmocka_unit_test(test_rstream_resends_are_not_spurious_with_many_holes),
		cmocka_unit_test(test_rstream_acks_are_decimated_after_the_first_segments),
		cmocka_unit_test(test_rstream_cwnd_shrinks_when_a_bottleneck_queue_overflows),
		cmocka_unit_test(test_rstream_resends_in_flight_data_at_once_after_a_path_change),
		cmocka_unit_test(test_rstream_a_lost_resend_is_probed_not_left_to_the_rto),
		cmocka_unit_test(test_rstream_an_rtt_hint_finds_a_lost_first_segment_fast),
		cmocka_unit_test(test_rstream_buffers_grow_on_a_long_fat_path),
		cmocka_unit_test(test_rstream_regrows_in_slow_start_after_a_timeout),
		cmocka_unit_test(test_rstream_timeouts_stay_rare_on_a_long_lossy_path),
		cmocka_unit_test(test_rstream_a_slow_reader_keeps_the_buffers_small),
		cmocka_unit_test(test_rstream_growth_stays_within_the_budget),
		cmocka_unit_test(test_rstream_first_buffers_keep_within_the_budget),
		cmocka_unit_test(test_rstream_the_rtt_floor_is_remeasured_without_our_queue),
	};

	if (env) {
		seed = strtoull(env, NULL, 0);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
