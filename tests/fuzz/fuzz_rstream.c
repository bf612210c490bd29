/* fuzz_rstream: drive one reliable stream (proto/rstream.h) with the frames
 * an authenticated but hostile peer could send (decoded by the production
 * reader), interleaved with app writes, reads, sends, timers and changes of
 * the segment size (a LINK_MTU frame's mtu / 4), and check
 * its invariants after every step: buffers stay within their bounds (they
 * may grow, within their limits and a shared budget), the scoreboard's
 * segments tile the sequence space sent and its in-flight and lost counts
 * match them, and every frame it emits is valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/rstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 65536

static void check(int ok)
{
	if (!ok) {
		abort();
	}
}

static void check_invariants(const struct rstream *s)
{
	uint64_t inflight = 0;
	uint32_t lost = 0;

	check(rstream_send_buffered(s) <= s->snd_cap);
	check(s->snd_cap <= s->snd_max && s->rcv_cap <= s->rcv_max);
	check(s->budget->used <= s->budget->limit);
	check(s->snd_una <= s->snd_nxt);
	check(s->n_ranges <= RSTREAM_RANGES_MAX);
	check(s->rcv_read <= s->rcv_nxt);
	check(s->rcv_nxt - s->rcv_read <= s->rcv_cap + 1);
	check(s->seg_n <= s->seg_cap);
	for (uint32_t i = 0; i < s->seg_n; i++) {
		const struct rstream_seg *g = &s->segs[(s->seg_head + i) % s->seg_cap];

		/* Segments tile [first, snd_nxt) in order, cut or not. */
		check(g->len >= 1 && g->len <= RSTREAM_MSS + 1);
		if (i + 1 < s->seg_n) {
			check(g->seq + g->len == s->segs[(s->seg_head + i + 1) % s->seg_cap].seq);
		} else {
			check(g->seq + g->len == s->snd_nxt);
		}
		if (g->flags & 0x02) {
			lost++;
		} else if (!(g->flags & 0x01)) {
			inflight += g->len;
		}
	}
	check(inflight == s->inflight);
	check(lost == s->n_lost);
	for (uint32_t i = 1; i < s->n_ranges; i++) {
		check(s->ranges[i - 1].end < s->ranges[i].start);
	}
}

static void app_and_send(struct rstream *s, uint64_t now_us, uint8_t op)
{
	static uint8_t junk[4096];
	struct frame f;
	const uint8_t *p;
	size_t len;

	if (op & 1) {
		(void)rstream_write(s, junk, (size_t)(op & 0x3F) * 64);
	}
	if (op & 0x40) {
		rstream_read_peek(s, &p, &len);
		rstream_read_consume(s, len);
	}
	if (op == 0xFE) {
		rstream_shutdown(s);
	}
	if (op == 0xFF) {
		rstream_reset(s);
	}
	for (int i = 0; i < 64 && rstream_next_frame(s, &f, now_us) == 1; i++) {
		check(frame_validate(&f) == 0);
	}
	check_invariants(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rstream_budget budget = {.limit = 6 * CAP};
	struct frame_reader fr;
	struct rstream s;
	struct frame f;
	uint64_t now_us = 1000000;
	uint8_t op = 0;

	if (rstream_init(&s, 7, CAP, CAP) != 0) {
		return 0;
	}
	rstream_set_growth(&s, 4 * CAP, 4 * CAP, &budget);
	frame_reader_init(&fr, data, size);
	app_and_send(&s, now_us, 0x3F);
	while (frame_read_next(&fr, &f) == 1) {
		switch (f.type) {
		case FRAME_STREAM:
			rstream_on_stream(&s, &f.u.stream, now_us);
			break;
		case FRAME_STREAM_ACK:
			rstream_on_ack(&s, &f.u.stream_ack, now_us);
			break;
		case FRAME_LINK_MTU:
			/* The path's segment size changes (a smaller one cuts
			 * the scoreboard's segments). */
			rstream_set_mss(&s, f.u.link_mtu.mtu / 4);
			break;
		case FRAME_PING:
			/* Time passes: the ping's id says how much, its low
			 * byte what the app does. */
			now_us += f.u.ping.id % 3000000;
			op = (uint8_t)f.u.ping.tx_us;
			rstream_on_timer(&s, now_us);
			break;
		default:
			break;
		}
		check_invariants(&s);
		app_and_send(&s, now_us, op);
		now_us += 100;
	}
	rstream_fini(&s);
	check(budget.used == 0);
	return 0;
}
