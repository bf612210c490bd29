/* cookie: mac1/mac2 and the stateless cookie (WireGuard whitepaper §5.4.4
 * and §5.4.7; formulas in cookie.h). Owns only key material inside the two
 * structs; never allocates; reads no clock (now_us comes in). The checker
 * keeps no per-source state: a cookie is recomputed from the rotating secret
 * and the source bytes, so a flood of initiations costs no memory.
 * Every libsodium return value is checked; MACs compare with sodium_memcmp. */
#include "proto/cookie.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "proto/msg.h"
#include "proto/wire.h"

_Static_assert(WIRE_COOKIE_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	       "cookie nonce is an XChaCha20 nonce");
_Static_assert(WIRE_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "cookie tag");
_Static_assert(WIRE_MAC_LEN >= crypto_generichash_BYTES_MIN, "BLAKE2b output size");

/* out = BLAKE2b-256(label || pub). */
static int label_hash(uint8_t out[WIRE_KEY_LEN], const char label[8], const uint8_t *pub)
{
	crypto_generichash_state st;
	int rc = 0;

	if (crypto_generichash_init(&st, NULL, 0, WIRE_KEY_LEN) != 0 ||
	    crypto_generichash_update(&st, (const uint8_t *)label, 8) != 0 ||
	    crypto_generichash_update(&st, pub, WIRE_KEY_LEN) != 0 ||
	    crypto_generichash_final(&st, out, WIRE_KEY_LEN) != 0) {
		rc = -EIO;
	}
	sodium_memzero(&st, sizeof(st));
	return rc;
}

/* out = BLAKE2b-128 keyed with key over data. */
static int mac(uint8_t out[WIRE_MAC_LEN], const uint8_t *key, size_t key_len, const uint8_t *data,
	       size_t len)
{
	return crypto_generichash(out, WIRE_MAC_LEN, data, len, key, key_len) == 0 ? 0 : -EIO;
}

static bool has_macs(size_t len)
{
	return len > 2 * WIRE_MAC_LEN;
}

int cookie_checker_init(struct cookie_checker *c, const uint8_t local_pub[WIRE_KEY_LEN])
{
	memset(c, 0, sizeof(*c));
	if (sodium_init() < 0 || label_hash(c->mac1_key, "mac1----", local_pub) != 0 ||
	    label_hash(c->cookie_key, "cookie--", local_pub) != 0) {
		cookie_checker_fini(c);
		return -EIO;
	}
	return 0;
}

void cookie_checker_fini(struct cookie_checker *c)
{
	sodium_memzero(c, sizeof(*c));
}

/* The cookie for src under the current secret, rotating it when old. */
static int make_cookie(struct cookie_checker *c, const uint8_t *src, size_t src_len,
		       uint64_t now_us, uint8_t out[WIRE_COOKIE_LEN])
{
	if (!c->has_secret || now_us - c->secret_born_us >= WIRE_COOKIE_SECRET_MAX_AGE_US ||
	    now_us < c->secret_born_us) {
		randombytes_buf(c->secret, sizeof(c->secret));
		c->secret_born_us = now_us;
		c->has_secret = true;
	}
	return mac(out, c->secret, sizeof(c->secret), src, src_len);
}

enum cookie_verdict cookie_check(struct cookie_checker *c, const uint8_t *msg, size_t len,
				 const uint8_t *src, size_t src_len, uint64_t now_us)
{
	uint8_t want[WIRE_MAC_LEN];
	uint8_t cookie[WIRE_COOKIE_LEN];
	size_t mac1_off = len - 2 * WIRE_MAC_LEN;
	enum cookie_verdict v = COOKIE_BAD_MAC1;

	if (!has_macs(len) || mac(want, c->mac1_key, WIRE_KEY_LEN, msg, mac1_off) != 0 ||
	    sodium_memcmp(want, msg + mac1_off, WIRE_MAC_LEN) != 0) {
		return COOKIE_BAD_MAC1;
	}
	v = COOKIE_VALID_MAC1;
	/* A secret past its age gives a fresh cookie, so a stale mac2 fails. */
	if (make_cookie(c, src, src_len, now_us, cookie) == 0 &&
	    mac(want, cookie, sizeof(cookie), msg, mac1_off + WIRE_MAC_LEN) == 0 &&
	    sodium_memcmp(want, msg + mac1_off + WIRE_MAC_LEN, WIRE_MAC_LEN) == 0) {
		v = COOKIE_VALID_MAC2;
	}
	sodium_memzero(cookie, sizeof(cookie));
	return v;
}

int cookie_reply_create(struct cookie_checker *c, const uint8_t *msg, size_t len,
			uint32_t receiver_index, const uint8_t *src, size_t src_len,
			uint64_t now_us, uint8_t out[WIRE_COOKIE_REPLY_LEN])
{
	struct msg_cookie_reply reply;
	struct wire_writer w;
	uint8_t cookie[WIRE_COOKIE_LEN];
	const uint8_t *mac1;
	int rc = -EIO;

	if (!has_macs(len)) {
		return -EINVAL;
	}
	mac1 = msg + len - 2 * WIRE_MAC_LEN;
	reply.receiver_index = receiver_index;
	randombytes_buf(reply.nonce, sizeof(reply.nonce));
	if (make_cookie(c, src, src_len, now_us, cookie) != 0) {
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(reply.cookie_enc, NULL, cookie,
						       sizeof(cookie), mac1, WIRE_MAC_LEN, NULL,
						       reply.nonce, c->cookie_key) != 0) {
		goto out;
	}
	wire_writer_init(&w, out, WIRE_COOKIE_REPLY_LEN);
	rc = msg_write_cookie_reply(&w, &reply);
out:
	sodium_memzero(cookie, sizeof(cookie));
	return rc;
}

int cookie_maker_init(struct cookie_maker *m, const uint8_t peer_pub[WIRE_KEY_LEN])
{
	memset(m, 0, sizeof(*m));
	if (sodium_init() < 0 || label_hash(m->mac1_key, "mac1----", peer_pub) != 0 ||
	    label_hash(m->cookie_key, "cookie--", peer_pub) != 0) {
		cookie_maker_fini(m);
		return -EIO;
	}
	return 0;
}

void cookie_maker_fini(struct cookie_maker *m)
{
	sodium_memzero(m, sizeof(*m));
}

int cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_us)
{
	size_t mac1_off;
	uint8_t *mac2;

	if (!has_macs(len)) {
		return -EINVAL;
	}
	mac1_off = len - 2 * WIRE_MAC_LEN;
	mac2 = msg + mac1_off + WIRE_MAC_LEN;
	if (mac(msg + mac1_off, m->mac1_key, WIRE_KEY_LEN, msg, mac1_off) != 0) {
		return -EIO;
	}
	memcpy(m->last_mac1, msg + mac1_off, WIRE_MAC_LEN);
	m->has_last_mac1 = true;
	if (m->has_cookie && now_us >= m->cookie_born_us &&
	    now_us - m->cookie_born_us < WIRE_COOKIE_VALID_US) {
		return mac(mac2, m->cookie, sizeof(m->cookie), msg, mac1_off + WIRE_MAC_LEN);
	}
	memset(mac2, 0, WIRE_MAC_LEN);
	return 0;
}

int cookie_on_reply(struct cookie_maker *m, const uint8_t *buf, size_t len, uint64_t now_us)
{
	struct msg_cookie_reply reply;
	uint8_t cookie[WIRE_COOKIE_LEN];

	if (msg_read_cookie_reply(buf, len, &reply) != 0) {
		return -EPROTO;
	}
	if (!m->has_last_mac1) {
		return -EBADMSG;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    cookie, NULL, NULL, reply.cookie_enc, sizeof(reply.cookie_enc), m->last_mac1,
		    WIRE_MAC_LEN, reply.nonce, m->cookie_key) != 0) {
		return -EBADMSG;
	}
	memcpy(m->cookie, cookie, sizeof(cookie));
	sodium_memzero(cookie, sizeof(cookie));
	m->cookie_born_us = now_us;
	m->has_cookie = true;
	/* One reply per message: a second copy must not refresh the cookie. */
	m->has_last_mac1 = false;
	return 0;
}
