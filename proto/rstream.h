/* rstream: one reliable, ordered byte stream over the encrypted datagram
 * session (DESIGN §3, §4, §9; PROTOCOL.md "Streams"). STREAM frames carry
 * data at byte offsets, STREAM_ACK frames a cumulative ack, a receive window
 * and SACK ranges. The sender keeps a bounded send buffer and a scoreboard of
 * segments; losses are found by RACK (RFC 8985) with a tail-loss probe and
 * an RTO from RTT samples (RFC 6298); congestion control and pacing are
 * rscc.h; the receive window is the room the owner has not drained from the
 * bounded receive buffer. FIN is one sequence number past the data (as in
 * TCP), so an ack covering it proves the FIN arrived; RST aborts.
 *
 * Pure engine: no sockets, no clock (time is passed in), no allocation per
 * packet. Both buffers and the scoreboard are allocated in rstream_init; with
 * rstream_set_growth they double (a few times in a stream's life, up to the
 * owner's limits) when the path, not the local app, is what they hold back:
 * the receive buffer when over half of it arrived in one round trip, the
 * send buffer when it is full and three quarters of it are in flight.
 * The owner pulls frames with rstream_next_frame until it returns 0, and
 * calls rstream_on_timer at rstream_deadline_us. */
#ifndef WH_RSTREAM_H
#define WH_RSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/frame.h"
#include "proto/rscc.h"
#include "proto/wire_const.h"

/* What a STREAM frame adds to its data: the frame header and stream_id
 * u32 | offset u64 | flags u8. */
#define RSTREAM_FRAME_OVERHEAD (WIRE_FRAME_HEADER_LEN + 13)
/* Data per STREAM frame: one sealed packet's plaintext minus that. */
#define RSTREAM_MSS (WIRE_MAX_PLAINTEXT - RSTREAM_FRAME_OVERHEAD)
/* The smallest segment rstream_set_mss takes. */
#define RSTREAM_MSS_MIN 256u
/* Scoreboard entries (segments in flight or unacked) at first; the
 * scoreboard grows with the send buffer, to two entries per full segment. */
#define RSTREAM_SEGS_MIN 512u
#define RSTREAM_RANGES_MAX 128 /* out-of-order ranges held by the receiver */
/* With more ranges than an ack holds, each ack carries the lowest few, the
 * highest, the latest one and the others in turn. */
#define RSTREAM_SACK_LOWEST 4
#define RSTREAM_ACK_DELAY_US 2000
/* A receiver acks every second segment for the first RSTREAM_ACK_QUICK_SEGS
 * of a stream, then every RSTREAM_ACK_EVERY (or RSTREAM_ACK_DELAY_US after
 * the first unacked one, or at once when something is out of order). */
#define RSTREAM_ACK_QUICK_SEGS 100u
#define RSTREAM_ACK_EVERY 10u
/* What a sender may send before the first ack tells it the window; every
 * receiver's buffer holds at least this much. */
#define RSTREAM_INIT_WINDOW 65536u
#define RSTREAM_RTO_INIT_US 1000000ull
/* The floor of the RTO's variance term: RTO = SRTT + max(4 RTTVAR, this),
 * as Linux's tcp_rto_min (rssend.c rtt_sample); before the first sample,
 * the floor of the whole (rstream_set_rtt_hint). */
#define RSTREAM_RTO_MIN_US 200000ull
#define RSTREAM_RTO_MAX_US 30000000ull
#define RSTREAM_PTO_MIN_US 5000ull
/* A stream gives up (the peer is gone) when its data has gone
 * unacknowledged this long since its first retransmission timeout, and, idle
 * or not, when nothing at all has been heard from the peer this long
 * (rstream_on_peer_silence: an idle stream has no timer of its own, and
 * would wait forever for a peer whose client died). Long enough to ride out
 * a coverage gap of an LTE modem, as kernel TCP would (it waits ~15 min);
 * the owner resends at once when the peer is heard again
 * (rstream_on_path_change), so a long backoff does not delay the resume. */
#define RSTREAM_GIVEUP_US 120000000ull

_Static_assert(RSTREAM_MSS > 0 && RSTREAM_MSS <= 0xFFFF, "stream segment size");
_Static_assert(WIRE_SACK_MAX > RSTREAM_SACK_LOWEST + 2 && WIRE_SACK_MAX < RSTREAM_RANGES_MAX,
	       "an ack picks the lowest, the highest, the latest and some in turn");

enum rstream_drop {
	RSTREAM_DROP_BEYOND_WINDOW = 0, /* data past the receive window */
	RSTREAM_DROP_RANGES_FULL,	/* too many holes to remember */
	RSTREAM_DROP_BAD_FIN,		/* FIN at another offset, or data past it */
	RSTREAM_DROP_BAD_ACK,		/* ack of bytes never sent */
	RSTREAM_DROP_COUNT
};

/* What keeps a sender from sending (stats.limited_us). */
enum rstream_limit {
	RSTREAM_LIMIT_NONE = 0, /* sending */
	RSTREAM_LIMIT_APP,	/* nothing buffered to send */
	RSTREAM_LIMIT_SNDBUF,	/* all sent: the send buffer is full of unacked data */
	RSTREAM_LIMIT_RWND,	/* the peer's window is full */
	RSTREAM_LIMIT_CWND,	/* the congestion window is full */
	RSTREAM_LIMIT_PACE,	/* the pacer holds the next segment */
	RSTREAM_LIMIT_SEGS,	/* the scoreboard is full */
	RSTREAM_LIMIT_COUNT
};

struct rstream_seg {
	uint64_t seq;	  /* first sequence number */
	uint64_t sent_us; /* last transmission */
	uint64_t tx_seq;  /* transmission order (RACK) */
	uint32_t len;	  /* data bytes; + 1 if FIN */
	uint8_t flags;	  /* RSTREAM_SEG_* (rstream.c) */
};

struct rstream_range {
	uint64_t start, end;
};

struct rstream_stats {
	uint64_t tx_segs, tx_bytes, rexmit_segs, rexmit_bytes;
	uint64_t rx_segs, rx_bytes, rx_dup_bytes; /* rx_bytes: new data; dup: had it */
	uint64_t spurious_segs;			  /* resent, then the original's ack came (Karn) */
	uint64_t acks_tx, acks_rx, rtos, ptos, probes;
	uint64_t snd_grows, rcv_grows; /* buffer doublings */
	uint64_t floor_probes;	       /* RTT floor re-measured (window halved a moment) */
	uint64_t limited_us[RSTREAM_LIMIT_COUNT]; /* time the sender could not send, by cause */
	uint64_t drops[RSTREAM_DROP_COUNT];
};

/* Buffer memory several streams share: growth stops while used + the
 * growth would pass limit. The owner sets limit; streams keep used. */
struct rstream_budget {
	size_t used;
	size_t limit;
};

struct rstream {
	uint32_t id;
	/* ---- send side: sequence space [snd_una, snd_end) buffered ---- */
	uint8_t *snd_buf; /* owns: snd_cap bytes, byte s at s % snd_cap */
	size_t snd_cap;
	uint64_t snd_una;	  /* oldest unacked sequence number */
	uint64_t snd_nxt;	  /* next new sequence number to send */
	uint64_t snd_end;	  /* end of buffered data */
	uint64_t fin_seq;	  /* valid once is_fin_queued */
	uint64_t peer_right;	  /* peer's window edge: ack + window */
	struct rstream_seg *segs; /* owns: ring of seg_cap */
	uint32_t seg_head, seg_n, seg_cap;
	uint64_t inflight; /* bytes sent, not acked, not sacked, not lost */
	uint32_t mss;	   /* new segments carry at most this (rstream_set_mss) */
	uint64_t tx_count;
	uint64_t srtt_us, rttvar_us, rto_us, min_rtt_us, min_rtt_stamp_us, latest_rtt_us;
	uint64_t rtt_hint_us; /* the path's RTT as the owner knew it; 0: none */
	uint64_t floor_probe_end_us, floor_probe_min_us; /* 0: no floor probe (rssend.c) */
	uint64_t rto_at_us;				 /* 0: not armed */
	uint64_t pace_at_us; /* data waits for the pacer until then; 0: not */
	uint32_t n_lost;     /* segments marked lost, not yet resent */
	bool is_tlp;	     /* a tail-loss probe may exceed cwnd once */
	uint64_t pto_at_us;
	uint64_t reo_at_us;
	uint32_t rto_backoff;
	uint64_t stall_since_us; /* first RTO without an ack since; 0: none */
	uint32_t pto_backoff;	 /* probes in a row without an ack delivering data */
	uint8_t limit;		 /* enum rstream_limit, since limit_since_us */
	uint64_t limit_since_us;
	uint64_t rack_tx_seq, rack_sent_us, rack_rtt_us;
	struct rscc cc;
	/* ---- receive side: [rcv_read, rcv_nxt) readable ---- */
	uint8_t *rcv_buf; /* owns: rcv_cap bytes */
	size_t rcv_cap;
	uint64_t rcv_read;
	uint64_t rcv_nxt;
	uint64_t rcv_fin_seq;				 /* valid once has_rcv_fin */
	uint64_t adv_right;				 /* right edge last advertised */
	struct rstream_range ranges[RSTREAM_RANGES_MAX]; /* ascending, above rcv_nxt */
	uint32_t n_ranges;
	uint64_t sack_recent;		   /* where the latest segment above a hole landed */
	uint32_t sack_rot;		   /* next range an ack reports when not all fit */
	uint64_t rrtt_seq, rrtt_at_us;	   /* receiver RTT: when the window to rrtt_seq opened */
	uint64_t rcv_rtt_us;		   /* 0: no sample yet */
	uint64_t space_bytes, space_at_us; /* stats.rx_bytes at the start of this RTT */
	uint32_t ack_pending;		   /* segments received since the last ack */
	uint64_t ack_at_us;		   /* delayed-ack deadline; 0: none */
	bool is_ack_now;
	/* ---- state ---- */
	bool is_fin_queued; /* shutdown: FIN follows the buffered data */
	bool is_fin_acked;
	bool has_rcv_fin;   /* FIN offset known */
	bool is_rst_queued; /* we abort: send RST */
	bool is_rst_sent;
	bool is_peer_reset; /* the peer aborted */
	bool is_failed;	    /* gave up: stalled, or the peer silent, RSTREAM_GIVEUP_US */
	bool is_probe_due;  /* zero-window probe */
	/* ---- growth (rstream_set_growth; equal to the caps: none) ---- */
	size_t snd_max, rcv_max;
	struct rstream_budget *budget; /* borrowed; NULL: no shared limit */
	uint8_t scratch[RSTREAM_MSS];  /* data of the frame last returned */
	struct rstream_stats stats;
};

/* Allocate the buffers (snd_cap, rcv_cap bytes; snd_cap >= RSTREAM_MSS,
 * rcv_cap >= RSTREAM_INIT_WINDOW).
 * Returns 0 or -ENOMEM/-EINVAL; rstream_fini is safe after a failure. */
WH_MUST_CHECK int rstream_init(struct rstream *s, uint32_t id, size_t snd_cap, size_t rcv_cap);
void rstream_fini(struct rstream *s);
/* Let the send and receive buffers double, up to snd_max and rcv_max bytes
 * (rcv_max at most UINT32_MAX), while budget (NULL: none) has room. The
 * buffers count in budget->used from now until rstream_fini. */
void rstream_set_growth(struct rstream *s, size_t snd_max, size_t rcv_max,
			struct rstream_budget *budget);
/* The first size of a new stream's two buffers (each) under budget b: want,
 * or half of it and so on down to min, the largest whose two fit in b's room;
 * min when none does. So a budget whose limit keeps min x 2 free for every
 * stream the owner admits holds all of them: what passes the limit is only
 * streams at min. */
size_t rstream_budget_first_cap(const struct rstream_budget *b, size_t want, size_t min);

/* The path's RTT as the owner measured it (its pings), for the timers
 * until the stream's own first sample: a lost first segment is probed
 * after 2 x rtt_us and resent by an RTO of 3 x rtt_us (at least 200 ms),
 * not after the 1 s of a stream that knows nothing (RFC 6298 §2.1; RFC
 * 9002 §6.2.2 lets an initial RTT come from earlier measurements). The
 * first sample of its own replaces it. 0, or after a sample: no effect. */
void rstream_set_rtt_hint(struct rstream *s, uint64_t rtt_us);

/* New segments carry at most mss bytes (clamped to RSTREAM_MSS_MIN ..
 * RSTREAM_MSS; RSTREAM_MSS at init): the owner keeps sealed packets within
 * its path's MTU. A smaller size also cuts the segments sent and not yet
 * delivered, so that their resends fit the narrower path (a path that drops
 * full-size packets would otherwise never take them). */
void rstream_set_mss(struct rstream *s, uint32_t mss);

/* ---- the local side ---- */
/* Contiguous free room in the send buffer (*len 0: full or shut down). */
void rstream_write_space(struct rstream *s, uint8_t **ptr, size_t *len);
/* n bytes were written into the room rstream_write_space gave. */
void rstream_write_commit(struct rstream *s, size_t n);
/* Copy up to len bytes into the send buffer; returns how many fitted. */
size_t rstream_write(struct rstream *s, const uint8_t *buf, size_t len);
/* Bytes buffered and not yet acked (the local socket's share of memory). */
size_t rstream_send_buffered(const struct rstream *s);
/* Half-close: FIN after what is buffered. Writes are refused afterwards. */
void rstream_shutdown(struct rstream *s);
/* Abort both ways: RST to the peer, nothing more is sent or delivered. */
void rstream_reset(struct rstream *s);
/* Contiguous readable bytes (*len 0: none now). */
void rstream_read_peek(const struct rstream *s, const uint8_t **ptr, size_t *len);
/* n readable bytes were delivered; may open the window (an ack follows). */
void rstream_read_consume(struct rstream *s, size_t n);
/* Every byte was read and the FIN came: the peer finished sending. */
bool rstream_at_eof(const struct rstream *s);
/* Both directions are finished (FINs sent, acked and received), or the
 * stream was reset and the RST is out, or it failed: the owner may free it
 * (after a linger, so a late retransmission still gets an ack). */
bool rstream_is_closed(const struct rstream *s);

/* ---- the network side ---- */
void rstream_on_stream(struct rstream *s, const struct frame_stream *f, uint64_t now_us);
void rstream_on_ack(struct rstream *s, const struct frame_stream_ack *a, uint64_t now_us);
/* The next frame to send now into *f (data borrowed from s until the next
 * call): an ack, an RST, a retransmission, new data or a window probe.
 * Returns 1 with *f filled, or 0 when nothing may go now. */
int rstream_next_frame(struct rstream *s, struct frame *f, uint64_t now_us);
/* When rstream_on_timer or rstream_next_frame has work next (UINT64_MAX:
 * nothing pending). */
uint64_t rstream_deadline_us(struct rstream *s, uint64_t now_us);
/* The session's path changed (relay <-> direct): what was in flight on
 * the old path is resent at once, congestion control starts afresh. */
void rstream_on_path_change(struct rstream *s, uint64_t now_us);
/* Run the timers that are due (RTO, tail-loss probe, RACK reorder timer,
 * delayed ack). */
void rstream_on_timer(struct rstream *s, uint64_t now_us);
/* heard_us: when the owner last heard anything from the peer (any
 * authenticated packet of the session, a ping's answer too), or when the
 * stream opened if that is later. When the stream gives up for the peer's
 * silence (RSTREAM_GIVEUP_US after heard_us; UINT64_MAX: it has ended, or
 * finished and only lingers). */
uint64_t rstream_silence_deadline_us(const struct rstream *s, uint64_t heard_us);
/* The stream fails (is_failed, rstream_is_closed) once its silence
 * deadline has passed, with or without data outstanding. Returns true when
 * it failed now; the owner then resets both ends. */
bool rstream_on_peer_silence(struct rstream *s, uint64_t heard_us, uint64_t now_us);

#endif
