/* demux: tell STUN from wormhole messages arriving on one UDP port
 * (DESIGN §3, RFC 7983 style). Only the cheapest checks: first byte, size,
 * reserved bytes, STUN magic cookie and length. No state, no crypto. */
#ifndef WH_DEMUX_H
#define WH_DEMUX_H

#include <stddef.h>
#include <stdint.h>

enum demux_kind {
	DEMUX_DROP = 0,
	DEMUX_STUN,
	DEMUX_INITIATION,
	DEMUX_RESPONSE,
	DEMUX_COOKIE_REPLY,
	DEMUX_TRANSPORT,
	DEMUX_RESTARTED,
};

/* Why a datagram was dropped; one counter per reason (STYLE §4). */
enum demux_reason {
	DEMUX_OK = 0,
	DEMUX_EMPTY,
	DEMUX_UNKNOWN_TYPE,    /* first byte neither STUN nor a wormhole type */
	DEMUX_STUN_SHORT,      /* shorter than the 20-byte STUN header */
	DEMUX_STUN_BAD_LENGTH, /* length field != size - 20, or not a multiple of 4 */
	DEMUX_BAD_SIZE,	       /* wormhole type with the wrong size */
	DEMUX_BAD_RESERVED,    /* wormhole reserved bytes not zero */
	DEMUX_REASON_COUNT
};

/* Classify one datagram. *reason (may be NULL) gets DEMUX_OK, or the drop
 * reason when DEMUX_DROP is returned. buf may be NULL when len is 0. */
enum demux_kind demux_classify(const uint8_t *buf, size_t len, enum demux_reason *reason);

/* A short, stable name for a reason ("stun_bad_cookie"), for metrics. */
const char *demux_reason_name(enum demux_reason reason);

#endif
