/* cookie: WireGuard-style MACs on handshake messages and the stateless
 * cookie used under load (WireGuard whitepaper §5.4.4, §5.4.7; DESIGN §3).
 *   mac1 = BLAKE2b-128(key = HASH("mac1----" || receiver's static pub),
 *                      message up to mac1)
 *   mac2 = BLAKE2b-128(key = cookie, message up to mac2), or zeros
 *   cookie = BLAKE2b-128(key = secret rotated every 2 min, source address bytes)
 *   cookie reply = XChaCha20-Poly1305(key = HASH("cookie--" || responder pub),
 *                  random nonce, cookie, AD = the message's mac1)
 * HASH is BLAKE2b with a 32-byte output. mac1 sits at len - 32 and mac2 at
 * len - 16 in every message that carries them (initiation, response).
 * A cookie reply (64 bytes) is never larger than the message it answers. */
#ifndef WH_COOKIE_H
#define WH_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "proto/wire_const.h"

/* Receiving side, one per local static key: checks MACs, makes cookies. */
struct cookie_checker {
	uint8_t mac1_key[WIRE_KEY_LEN];		/* HASH("mac1----" || local pub) */
	uint8_t cookie_key[WIRE_KEY_LEN];	/* HASH("cookie--" || local pub) */
	uint8_t secret[WIRE_COOKIE_SECRET_LEN]; /* secret */
	uint64_t secret_born_us;
	bool has_secret;
};

/* Sending side, one per remote peer: adds MACs, keeps the last cookie. */
struct cookie_maker {
	uint8_t mac1_key[WIRE_KEY_LEN];	  /* HASH("mac1----" || peer pub) */
	uint8_t cookie_key[WIRE_KEY_LEN]; /* HASH("cookie--" || peer pub) */
	uint8_t cookie[WIRE_COOKIE_LEN];
	uint64_t cookie_born_us;
	bool has_cookie;
	uint8_t last_mac1[WIRE_MAC_LEN]; /* AD expected on a cookie reply */
	bool has_last_mac1;
};

enum cookie_verdict {
	COOKIE_BAD_MAC1 = 0, /* drop, without a reply */
	COOKIE_VALID_MAC1,   /* mac1 ok; mac2 missing or stale: under load, reply with a cookie */
	COOKIE_VALID_MAC2,   /* both ok: the source address is proven */
};

/* Derive the checker's keys from our static public key. Returns 0 or -EIO. */
WH_MUST_CHECK int cookie_checker_init(struct cookie_checker *c,
				      const uint8_t local_pub[WIRE_KEY_LEN]);
/* Wipe everything. */
void cookie_checker_fini(struct cookie_checker *c);

/* Check the MACs of a handshake message msg (len bytes) from source src.
 * mac2 is only checked when mac1 is valid. */
enum cookie_verdict cookie_check(struct cookie_checker *c, const uint8_t *msg, size_t len,
				 const uint8_t *src, size_t src_len, uint64_t now_us);

/* Build a cookie reply to msg (whose mac1 must already be valid) for source
 * src into out (WIRE_COOKIE_REPLY_LEN bytes). receiver_index is the sender
 * index found in msg. Returns 0, -EINVAL (msg too short) or -EIO. */
WH_MUST_CHECK int cookie_reply_create(struct cookie_checker *c, const uint8_t *msg, size_t len,
				      uint32_t receiver_index, const uint8_t *src, size_t src_len,
				      uint64_t now_us, uint8_t out[WIRE_COOKIE_REPLY_LEN]);

/* Derive the maker's keys from the peer's static public key. Returns 0 or -EIO. */
WH_MUST_CHECK int cookie_maker_init(struct cookie_maker *m, const uint8_t peer_pub[WIRE_KEY_LEN]);
/* Wipe everything. */
void cookie_maker_fini(struct cookie_maker *m);

/* Fill mac1 and mac2 (the last 32 bytes of msg). mac2 is zero unless a cookie
 * younger than WIRE_COOKIE_VALID_US is held. Returns 0, -EINVAL or -EIO. */
WH_MUST_CHECK int cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len,
				  uint64_t now_us);

/* Take a cookie reply (whole datagram) answering our last MAC'd message.
 * Returns 0 (cookie stored), -EPROTO (malformed) or -EBADMSG (does not
 * authenticate, or no message of ours is outstanding). */
WH_MUST_CHECK int cookie_on_reply(struct cookie_maker *m, const uint8_t *buf, size_t len,
				  uint64_t now_us);

#endif
