/* wire_const: every wormhole protocol size, limit and timer in one header
 * (STYLE §2, DESIGN §3). Values that depend on each other are tied together
 * with _Static_assert, so changing one without the others fails the build.
 * Times are microseconds on the monotonic clock. */
#ifndef WH_WIRE_CONST_H
#define WH_WIRE_CONST_H

#include <stdint.h>

/* Protocol version carried in the encrypted handshake payloads. */
#define WIRE_PROTOCOL_VERSION 1
/* The Noise protocol every session runs, and the prologue both sides mix in
 * (a peer speaking another protocol fails the handshake instead of
 * misreading it). */
#define WIRE_NOISE_PROTOCOL "Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define WIRE_NOISE_PROLOGUE "wormhole/1"

/* ---- Outer message types: the first byte of every wormhole datagram. ----
 * RFC 7983 §7 demultiplexing: 0..3 STUN, 16..19 ZRTP, 20..63 DTLS, 64..79 TURN
 * channel, 128..191 RTP/RTCP. 0xD1..0xD5 sit outside every one of those ranges. */
#define WIRE_MSG_INITIATION 0xD1
#define WIRE_MSG_RESPONSE 0xD2
#define WIRE_MSG_COOKIE_REPLY 0xD3
#define WIRE_MSG_TRANSPORT 0xD4
#define WIRE_MSG_RESTARTED 0xD5 /* server -> client, outside any session (proto/restarted.h) */
#define WIRE_MSG_FIRST WIRE_MSG_INITIATION
#define WIRE_MSG_LAST WIRE_MSG_RESTARTED
/* Every message starts with type (1 byte) + 3 reserved bytes that must be zero. */
#define WIRE_MSG_TYPE_LEN 4

/* ---- Crypto sizes ---- */
#define WIRE_KEY_LEN 32
#define WIRE_TAG_LEN 16
#define WIRE_MAC_LEN 16 /* mac1, mac2: keyed BLAKE2b-128 */
#define WIRE_COOKIE_LEN 16
#define WIRE_COOKIE_NONCE_LEN 24 /* XChaCha20-Poly1305 */
#define WIRE_COOKIE_SECRET_LEN 32
#define WIRE_INDEX_LEN 4
#define WIRE_COUNTER_LEN 8

/* ---- Handshake payloads (inside Noise encryption) ----
 * Initiation payload: version u8 || stamp u64 (caller-provided monotonic value,
 * never wall time: drones boot without an RTC). Response payload: version u8. */
#define WIRE_INIT_PAYLOAD_LEN (1 + 8)
#define WIRE_RESP_PAYLOAD_LEN 1

/* Noise IK message 1: e (32) || enc(s) (32+16) || enc(payload) (payload+16). */
#define WIRE_INIT_NOISE_LEN \
	(WIRE_KEY_LEN + WIRE_KEY_LEN + WIRE_TAG_LEN + WIRE_INIT_PAYLOAD_LEN + WIRE_TAG_LEN)
/* Noise IK message 2: e (32) || enc(payload) (payload+16). */
#define WIRE_RESP_NOISE_LEN (WIRE_KEY_LEN + WIRE_RESP_PAYLOAD_LEN + WIRE_TAG_LEN)

/* initiation: type+rsv (4) | sender index (4) | noise msg1 | mac1 | mac2 */
#define WIRE_INIT_LEN (WIRE_MSG_TYPE_LEN + WIRE_INDEX_LEN + WIRE_INIT_NOISE_LEN + 2 * WIRE_MAC_LEN)
#define WIRE_INIT_MAC1_OFF (WIRE_INIT_LEN - 2 * WIRE_MAC_LEN)
/* response: type+rsv (4) | sender index (4) | receiver index (4) | noise msg2 | mac1 | mac2 */
#define WIRE_RESP_LEN \
	(WIRE_MSG_TYPE_LEN + 2 * WIRE_INDEX_LEN + WIRE_RESP_NOISE_LEN + 2 * WIRE_MAC_LEN)
#define WIRE_RESP_MAC1_OFF (WIRE_RESP_LEN - 2 * WIRE_MAC_LEN)
/* cookie reply: type+rsv (4) | receiver index (4) | nonce (24) | enc(cookie) (16+16) */
#define WIRE_COOKIE_REPLY_LEN                                                           \
	(WIRE_MSG_TYPE_LEN + WIRE_INDEX_LEN + WIRE_COOKIE_NONCE_LEN + WIRE_COOKIE_LEN + \
	 WIRE_TAG_LEN)
/* transport: type+rsv (4) | receiver index (4) | counter (8) | AEAD(frames) */
#define WIRE_TRANSPORT_HEADER_LEN (WIRE_MSG_TYPE_LEN + WIRE_INDEX_LEN + WIRE_COUNTER_LEN)
#define WIRE_TRANSPORT_MIN_LEN (WIRE_TRANSPORT_HEADER_LEN + WIRE_TAG_LEN)

/* restarted: type+rsv (4) | stamp u64 (8) | mac (16) */
#define WIRE_RESTARTED_LEN (WIRE_MSG_TYPE_LEN + 8 + WIRE_MAC_LEN)

/* Largest datagram we build or accept (fits a 1500 MTU path with IPv6+UDP). */
#define WIRE_MAX_PACKET 1452
#define WIRE_MAX_PLAINTEXT (WIRE_MAX_PACKET - WIRE_TRANSPORT_MIN_LEN)

_Static_assert(WIRE_INIT_LEN == 145, "initiation size is part of the wire format");
_Static_assert(WIRE_RESP_LEN == 93, "response size is part of the wire format");
_Static_assert(WIRE_COOKIE_REPLY_LEN == 64, "cookie reply size is part of the wire format");
/* No amplification (DESIGN §3): a cookie reply answers an initiation or a
 * response and must never be larger than either. */
_Static_assert(WIRE_COOKIE_REPLY_LEN <= WIRE_RESP_LEN, "cookie reply larger than a response");
_Static_assert(WIRE_COOKIE_REPLY_LEN <= WIRE_INIT_LEN, "cookie reply larger than an initiation");
_Static_assert(WIRE_RESTARTED_LEN == 28, "restart notice size is part of the wire format");
_Static_assert(WIRE_MAX_PLAINTEXT > 0, "packet too small for a transport header");

/* ---- STUN (RFC 8489 §5) ---- */
#define WIRE_STUN_HEADER_LEN 20
#define WIRE_STUN_MAGIC_COOKIE 0x2112A442u

/* ---- Frames (inside the encryption) ----
 * frame: type u8 | length u16 | value[length]. */
#define WIRE_FRAME_HEADER_LEN 3
#define WIRE_NAME_MAX 32      /* client and flow names: [A-Za-z0-9][A-Za-z0-9_.-]{0,31} */
#define WIRE_SACK_MAX 32      /* SACK ranges per stream ack (8 bytes each) */
#define WIRE_ADDR_MAX 8	      /* candidate addresses per path/register frame */
#define WIRE_MEMBERS_MAX 32   /* members per flow in a route set */
#define WIRE_JOIN_MSG_MAX 160 /* FLOW_JOIN_ACK message text, bytes */
_Static_assert(WIRE_MAX_PLAINTEXT <= 0xFFFF, "frame length field is u16");
_Static_assert(WIRE_JOIN_MSG_MAX <= 255, "FLOW_JOIN_ACK message length is u8");

/* ---- Session timers and limits (WireGuard values, whitepaper §6.1) ---- */
#define WIRE_SEC_US 1000000ull
#define WIRE_REKEY_AFTER_MESSAGES (1ull << 60)
/* Stop well before the counter (the nonce) could repeat; leave room for the
 * replay window so the receiver's bound is below 2^64 too. */
#define WIRE_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ull << 13) - 1)
#define WIRE_REKEY_AFTER_TIME_US (120 * WIRE_SEC_US)
#define WIRE_REJECT_AFTER_TIME_US (180 * WIRE_SEC_US)
#define WIRE_REKEY_ATTEMPT_TIME_US (90 * WIRE_SEC_US)
#define WIRE_REKEY_TIMEOUT_US (5 * WIRE_SEC_US)
/* A responder rekeys itself only if the initiator did not, a little before
 * the keys would be rejected. */
#define WIRE_RESPONDER_REKEY_US (WIRE_REJECT_AFTER_TIME_US - WIRE_REKEY_TIMEOUT_US * 3)
/* Previous keys live this long after a rotation, for packets in flight. */
#define WIRE_PREVIOUS_KEEP_US (3 * WIRE_REKEY_TIMEOUT_US)
/* An unconfirmed "next" keypair (responder side) is dropped after this. */
#define WIRE_NEXT_KEEP_US (WIRE_REKEY_TIMEOUT_US * 3)
/* Cookie secret rotation and cookie validity (WireGuard: 2 minutes). */
#define WIRE_COOKIE_SECRET_MAX_AGE_US (120 * WIRE_SEC_US)
#define WIRE_COOKIE_VALID_US (WIRE_COOKIE_SECRET_MAX_AGE_US - WIRE_REKEY_TIMEOUT_US)

_Static_assert(WIRE_REKEY_AFTER_MESSAGES < WIRE_REJECT_AFTER_MESSAGES, "rekey before reject");
_Static_assert(WIRE_REKEY_AFTER_TIME_US < WIRE_RESPONDER_REKEY_US, "initiator rekeys first");
_Static_assert(WIRE_RESPONDER_REKEY_US < WIRE_REJECT_AFTER_TIME_US, "responder rekey in time");
_Static_assert(WIRE_REKEY_ATTEMPT_TIME_US + WIRE_REKEY_AFTER_TIME_US > WIRE_REJECT_AFTER_TIME_US,
	       "rekey attempts span the end of the keys' life");

/* ---- Initiation rate limit, per source (WireGuard ratelimiter values) ---- */
#define WIRE_INIT_PER_SECOND 20
#define WIRE_INIT_BURST 5

#endif
