/* msg: the outer wormhole messages (DESIGN §3), before and around the
 * encryption. Sizes are in proto/wire_const.h. Every message starts with
 * type u8 | 3 reserved zero bytes; integers are big-endian.
 *   initiation:   type | sender u32 | noise msg1 (WIRE_INIT_NOISE_LEN) | mac1 | mac2
 *   response:     type | sender u32 | receiver u32 | noise msg2 | mac1 | mac2
 *   cookie reply: type | receiver u32 | nonce[24] | enc cookie[32]
 *   transport:    type | receiver u32 | counter u64 | AEAD payload (>= tag)
 * Readers check the exact size (or the minimum for transport), the type and
 * the reserved bytes, and return 0 or -EPROTO. Writers return 0 or -ENOSPC. */
#ifndef WH_MSG_H
#define WH_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/wire.h"
#include "proto/wire_const.h"

struct msg_initiation {
	uint32_t sender_index;
	uint8_t noise[WIRE_INIT_NOISE_LEN];
	uint8_t mac1[WIRE_MAC_LEN];
	uint8_t mac2[WIRE_MAC_LEN];
};

struct msg_response {
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t noise[WIRE_RESP_NOISE_LEN];
	uint8_t mac1[WIRE_MAC_LEN];
	uint8_t mac2[WIRE_MAC_LEN];
};

struct msg_cookie_reply {
	uint32_t receiver_index;
	uint8_t nonce[WIRE_COOKIE_NONCE_LEN];
	uint8_t cookie_enc[WIRE_COOKIE_LEN + WIRE_TAG_LEN];
};

struct msg_transport {
	uint32_t receiver_index;
	uint64_t counter;
	const uint8_t *header;	   /* borrowed: the 16 header bytes (the AEAD's AD) */
	const uint8_t *ciphertext; /* borrowed: ciphertext || tag */
	size_t ciphertext_len;	   /* >= WIRE_TAG_LEN */
};

/* The message type of a datagram (its first byte), or 0 if empty. */
uint8_t msg_type(const uint8_t *buf, size_t len);

WH_MUST_CHECK int msg_read_initiation(const uint8_t *buf, size_t len, struct msg_initiation *m);
WH_MUST_CHECK int msg_write_initiation(struct wire_writer *w, const struct msg_initiation *m);

WH_MUST_CHECK int msg_read_response(const uint8_t *buf, size_t len, struct msg_response *m);
WH_MUST_CHECK int msg_write_response(struct wire_writer *w, const struct msg_response *m);

WH_MUST_CHECK int msg_read_cookie_reply(const uint8_t *buf, size_t len, struct msg_cookie_reply *m);
WH_MUST_CHECK int msg_write_cookie_reply(struct wire_writer *w, const struct msg_cookie_reply *m);

/* Borrows buf: the pointers in *m are valid while buf lives. */
WH_MUST_CHECK int msg_read_transport(const uint8_t *buf, size_t len, struct msg_transport *m);
/* Write the 16-byte transport header; the caller appends the AEAD output. */
WH_MUST_CHECK int msg_write_transport_header(struct wire_writer *w, uint32_t receiver_index,
					     uint64_t counter);

#endif
