/* pmtu: does a path carry full-size packets? Packetization-layer path MTU
 * discovery (RFC 8899, DPLPMTUD) reduced to two sizes: the full size the
 * stream would send on the path (its links' MTU allows it) and a base every
 * path takes (IPv6's minimum MTU, 1280 bytes). A narrower link in the middle
 * whose router sends no ICMP "too big" (filtered), a link-layer MTU mismatch
 * or a middlebox that drops fragments is a black hole for full-size packets
 * while pings pass: the route MTU the kernel reports cannot tell.
 *
 * A probe is a PING padded to the full size (RFC 8899 §4.1: a probe packet
 * the peer answers); the peer answers every PING, any version. Until a probe
 * of the size is answered the path counts as not carrying it: the owner sends
 * base-size stream segments (RFC 8899 §5.2: no data above the confirmed
 * size), so a black hole costs nothing but the larger segments' gain.
 *   SEARCHING  no answer yet: the next probe as soon as the last one is
 *              judged lost or went into an outage (pmtu_on_timer);
 *   FULL       a probe of the size was answered: probed again every
 *              PMTU_CONFIRM_US (a route may change), a lost one retried
 *              at once;
 *   BASE       PMTU_MAX_PROBES probes in a row were lost while the path
 *              answered its small pings (RFC 8899 MAX_PROBES; an outage
 *              is no black hole): probed again every PMTU_RAISE_US.
 * A FULL or BASE path that carried none of the owner's traffic since its
 * last probe (pmtu_note_sent) is not probed again until it does: nothing
 * on an idle path depends on the size, and a full-size probe every 30 s is
 * most of what an idle path costs a metered link besides its pings. A
 * stream that starts on a path narrowed meanwhile times out and probes it
 * at once (pmtu_suspect), as one that runs when it narrows does.
 * No I/O: the owner sends the probe when pmtu_probe_due says so, with the id
 * it returns (PMTU_ID_BIT set: never a pathmon id), and feeds the answers. */
#ifndef WH_PMTU_H
#define WH_PMTU_H

#include <stdbool.h>
#include <stdint.h>

#define PMTU_BASE_MTU 1280u	      /* IP packet every path takes (RFC 8200 §5) */
#define PMTU_PROBE_WAIT_US 1000000ull /* unanswered this long: lost, if the path lives */
#define PMTU_LIFE_WAIT_US 3000000ull  /* no sign of life this long after: an outage */
#define PMTU_LIFE_POLL_US 100000ull   /* meanwhile, how often to look again */
#define PMTU_MAX_PROBES 3	      /* lost in a row: the path drops the size */
#define PMTU_CONFIRM_US 30000000ull   /* FULL: the next probe */
#define PMTU_RAISE_US 60000000ull     /* BASE: the next probe */
#define PMTU_ID_BIT 0x80000000u	      /* in a probe's PING id */

enum pmtu_state {
	PMTU_SEARCHING = 0,
	PMTU_FULL,
	PMTU_BASE,
};

struct pmtu {
	uint8_t state;	   /* enum pmtu_state */
	uint8_t lost;	   /* probes lost in a row */
	uint16_t ok_size;  /* the largest probe answered (FULL); 0: none */
	uint16_t size;	   /* the probe in flight's size */
	uint32_t id;	   /* the probe in flight; 0: none */
	uint32_t seq;	   /* probes sent */
	uint64_t sent_us;  /* the probe in flight went out */
	uint64_t judge_us; /* pmtu_on_timer looks at the probe in flight */
	uint64_t next_us;  /* the next probe is due */
	uint64_t traffic;  /* the owner's count at pmtu_note_sent */
	bool is_used;	   /* the count moved since the last probe went out */
};

/* The path came up: SEARCHING, a probe due at once. */
void pmtu_start(struct pmtu *pm, uint64_t now_us);

/* A probe of size bytes (the UDP payload) is due now: returns its PING id
 * and notes it as in flight; 0: none is due. A size above the one
 * confirmed makes a FULL path search again. */
uint32_t pmtu_probe_due(struct pmtu *pm, uint16_t size, uint64_t now_us);

/* Whether id is a probe's (PMTU_ID_BIT), to be fed to pmtu_on_pong. */
bool pmtu_is_probe_id(uint32_t id);

/* The answer to probe id came back. Returns true when the path's state
 * changed (to FULL). */
bool pmtu_on_pong(struct pmtu *pm, uint32_t id, uint64_t now_us);

/* Run the probe timeout. life_us: the path's last sign of life (a PONG to
 * one of its small pings). A probe unanswered PMTU_PROBE_WAIT_US after it
 * went out, while the path answered pings after it left, is lost to its
 * size. Until the path shows life after the probe (its pongs may be held
 * up to a ping interval: pathmon.h), the probe stays in flight, looked at
 * every PMTU_LIFE_POLL_US (an answer still counts); none by
 * PMTU_LIFE_WAIT_US: an outage, which says nothing of the size, and the
 * probe is sent again. Returns true when the state changed (to BASE). */
bool pmtu_on_timer(struct pmtu *pm, uint64_t life_us, uint64_t now_us);

/* Data on the path timed out (a stream's RTO): a FULL path is probed at
 * once rather than at its next confirmation (the route may have narrowed),
 * idle or not (linkmtu suspects every path of the peer: the stream may move
 * to another), unless its last probe went out less than PMTU_PROBE_WAIT_US
 * ago (a lossy path's timeouts send at most one probe a second). */
void pmtu_suspect(struct pmtu *pm, uint64_t now_us);

/* The owner's count of packets it sent on the path (its traffic, not its
 * pings or probes), before pmtu_probe_due: a FULL or BASE path whose count
 * has not moved since its last probe postpones the next by its interval. */
void pmtu_note_sent(struct pmtu *pm, uint64_t traffic, uint64_t now_us);

/* When pmtu_on_timer or pmtu_probe_due has work next. */
uint64_t pmtu_next_us(const struct pmtu *pm);

/* Whether packets of size bytes are known to pass. */
bool pmtu_carries(const struct pmtu *pm, uint16_t size);

const char *pmtu_state_name(const struct pmtu *pm);

#endif
