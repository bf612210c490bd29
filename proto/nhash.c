/* nhash: HASH, HMAC-HASH and HKDF for the Noise hash functions (Noise spec
 * §4.3 and §12.8/§12.10, RFC 2104). HMAC is built by hand over an
 * init/update/final hash so that BLAKE2b (BLOCKLEN 128) and SHA-256
 * (BLOCKLEN 64) share one code path; libsodium 1.0.18 has no HMAC-BLAKE2b.
 * Owns no state; wipes every key-derived intermediate. No I/O. */
#include "proto/nhash.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#define NHASH_MAX_BLOCK 128

struct hstate {
	enum nhash_kind kind;
	union {
		crypto_generichash_state b2;
		crypto_hash_sha256_state sha;
	} u;
};

static size_t block_len(enum nhash_kind kind)
{
	return kind == NHASH_BLAKE2B ? 128 : 64;
}

size_t nhash_len(enum nhash_kind kind)
{
	switch (kind) {
	case NHASH_BLAKE2B:
		return NHASH_BLAKE2B_LEN;
	case NHASH_SHA256:
		return NHASH_SHA256_LEN;
	}
	return 0;
}

static int hs_init(struct hstate *st, enum nhash_kind kind)
{
	int rc;

	st->kind = kind;
	if (kind == NHASH_BLAKE2B) {
		rc = crypto_generichash_init(&st->u.b2, NULL, 0, NHASH_BLAKE2B_LEN);
	} else {
		rc = crypto_hash_sha256_init(&st->u.sha);
	}
	return rc == 0 ? 0 : -EIO;
}

static int hs_update(struct hstate *st, const uint8_t *p, size_t len)
{
	int rc;

	if (len == 0) {
		return 0;
	}
	if (st->kind == NHASH_BLAKE2B) {
		rc = crypto_generichash_update(&st->u.b2, p, len);
	} else {
		rc = crypto_hash_sha256_update(&st->u.sha, p, len);
	}
	return rc == 0 ? 0 : -EIO;
}

static int hs_final(struct hstate *st, uint8_t *out)
{
	int rc;

	if (st->kind == NHASH_BLAKE2B) {
		rc = crypto_generichash_final(&st->u.b2, out, NHASH_BLAKE2B_LEN);
	} else {
		rc = crypto_hash_sha256_final(&st->u.sha, out);
	}
	sodium_memzero(st, sizeof(*st));
	return rc == 0 ? 0 : -EIO;
}

/* HASH(pad || a || b) with one pass through the state. */
static int hash3(enum nhash_kind kind, uint8_t *out, const uint8_t *p, size_t plen,
		 const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	struct hstate st;
	int rc;

	rc = hs_init(&st, kind);
	if (rc == 0) {
		rc = hs_update(&st, p, plen);
	}
	if (rc == 0) {
		rc = hs_update(&st, a, alen);
	}
	if (rc == 0) {
		rc = hs_update(&st, b, blen);
	}
	if (rc == 0) {
		return hs_final(&st, out);
	}
	sodium_memzero(&st, sizeof(st));
	return rc;
}

int nhash_hash(enum nhash_kind kind, uint8_t *out, const uint8_t *a, size_t alen, const uint8_t *b,
	       size_t blen)
{
	if (nhash_len(kind) == 0) {
		return -EINVAL;
	}
	return hash3(kind, out, NULL, 0, a, alen, b, blen);
}

/* RFC 2104: HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m)), where K0 is K
 * zero-padded to BLOCKLEN, or H(K) zero-padded if K is longer than BLOCKLEN. */
int nhash_hmac(enum nhash_kind kind, uint8_t *out, const uint8_t *key, size_t key_len,
	       const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	uint8_t pad[NHASH_MAX_BLOCK];
	uint8_t inner[NHASH_MAX_LEN];
	size_t bl = block_len(kind);
	size_t hl = nhash_len(kind);
	int rc = 0;

	if (hl == 0) {
		return -EINVAL;
	}
	memset(pad, 0, sizeof(pad));
	if (key_len > bl) {
		rc = hash3(kind, pad, NULL, 0, key, key_len, NULL, 0);
	} else if (key_len > 0) {
		memcpy(pad, key, key_len);
	}
	for (size_t i = 0; i < bl; i++) {
		pad[i] ^= 0x36;
	}
	if (rc == 0) {
		rc = hash3(kind, inner, pad, bl, a, alen, b, blen);
	}
	for (size_t i = 0; i < bl; i++) {
		pad[i] ^= 0x36 ^ 0x5c;
	}
	if (rc == 0) {
		rc = hash3(kind, out, pad, bl, inner, hl, NULL, 0);
	}
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	return rc;
}

/* Noise spec §4.3 HKDF(chaining_key, input_key_material, num_outputs):
 *   temp_key = HMAC-HASH(chaining_key, input_key_material)
 *   output1  = HMAC-HASH(temp_key, byte(0x01))
 *   output2  = HMAC-HASH(temp_key, output1 || byte(0x02))
 *   output3  = HMAC-HASH(temp_key, output2 || byte(0x03)) */
int nhash_hkdf(enum nhash_kind kind, const uint8_t *ck, const uint8_t *ikm, size_t ikm_len,
	       uint8_t *out1, uint8_t *out2, uint8_t *out3)
{
	uint8_t temp[NHASH_MAX_LEN];
	size_t hl = nhash_len(kind);
	const uint8_t one = 0x01, two = 0x02, three = 0x03;
	int rc;

	if (hl == 0) {
		return -EINVAL;
	}
	rc = nhash_hmac(kind, temp, ck, hl, ikm, ikm_len, NULL, 0);
	if (rc == 0) {
		rc = nhash_hmac(kind, out1, temp, hl, &one, 1, NULL, 0);
	}
	if (rc == 0) {
		rc = nhash_hmac(kind, out2, temp, hl, out1, hl, &two, 1);
	}
	if (rc == 0 && out3 != NULL) {
		rc = nhash_hmac(kind, out3, temp, hl, out2, hl, &three, 1);
	}
	sodium_memzero(temp, sizeof(temp));
	return rc;
}

int nhash_blake2b(uint8_t out[NHASH_BLAKE2B_LEN], const uint8_t *a, size_t alen, const uint8_t *b,
		  size_t blen)
{
	return nhash_hash(NHASH_BLAKE2B, out, a, alen, b, blen);
}

int nhash_hmac_blake2b(uint8_t out[NHASH_BLAKE2B_LEN], const uint8_t *key, size_t key_len,
		       const uint8_t *data, size_t data_len)
{
	return nhash_hmac(NHASH_BLAKE2B, out, key, key_len, data, data_len, NULL, 0);
}

int nhash_hkdf2(uint8_t out1[NHASH_BLAKE2B_LEN], uint8_t out2[NHASH_BLAKE2B_LEN],
		const uint8_t ck[NHASH_BLAKE2B_LEN], const uint8_t *ikm, size_t ikm_len)
{
	return nhash_hkdf(NHASH_BLAKE2B, ck, ikm, ikm_len, out1, out2, NULL);
}

int nhash_hkdf3(uint8_t out1[NHASH_BLAKE2B_LEN], uint8_t out2[NHASH_BLAKE2B_LEN],
		uint8_t out3[NHASH_BLAKE2B_LEN], const uint8_t ck[NHASH_BLAKE2B_LEN],
		const uint8_t *ikm, size_t ikm_len)
{
	return nhash_hkdf(NHASH_BLAKE2B, ck, ikm, ikm_len, out1, out2, out3);
}
