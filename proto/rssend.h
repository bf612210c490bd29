/* rssend: the sending half of a reliable stream (rstream.h): the segment
 * scoreboard, acks with SACK, RTT estimation (RFC 6298), RACK loss
 * detection with a tail-loss probe (RFC 8985), the RTO, and the choice of
 * the next data segment under the peer's window, cwnd and the pacer
 * (rscc.h). Called only by rstream.c, which owns the struct. */
#ifndef WH_RSSEND_H
#define WH_RSSEND_H

#include <stdint.h>

struct frame;
struct frame_stream_ack;
struct rstream;

/* Take an ack from the peer (already past the RST checks). */
void rssend_on_ack(struct rstream *s, const struct frame_stream_ack *a, uint64_t now_us);
/* The next retransmission, new data or window probe into *f: 1, or 0 when
 * nothing may go now (s->pace_at_us says when the pacer allows more). */
int rssend_next_frame(struct rstream *s, struct frame *f, uint64_t now_us);
/* Earliest sender timer or pacer release (UINT64_MAX: none). */
uint64_t rssend_deadline_us(const struct rstream *s, uint64_t now_us);
/* The path changed: resend what was in flight, reset the window. */
void rssend_on_path_change(struct rstream *s, uint64_t now_us);
/* s->mss shrank: cut every segment not yet delivered (SACKED) into pieces
 * of at most s->mss data bytes, in flight or lost as it was, so a resend
 * fits a narrower path. A segment sent whole that arrives whole is acked
 * piece by piece. On allocation failure the segments stay whole. */
void rssend_recut(struct rstream *s);
/* Run the sender timers that are due. */
void rssend_on_timer(struct rstream *s, uint64_t now_us);

#endif
