/* nhash: the Noise hash functions, HMAC and HKDF (Noise spec §4.3, RFC 2104)
 * over BLAKE2b (HASHLEN 64, BLOCKLEN 128) and SHA-256 (HASHLEN 32, BLOCKLEN 64).
 * libsodium 1.0.18 has no BLAKE2b HMAC, so HMAC is built here for both hashes.
 * All functions return 0 or a negative errno (-EINVAL on a bad kind or length,
 * -EIO if libsodium fails) and wipe their intermediate secrets. */
#ifndef WH_NHASH_H
#define WH_NHASH_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define NHASH_MAX_LEN 64
#define NHASH_BLAKE2B_LEN 64
#define NHASH_SHA256_LEN 32

enum nhash_kind {
	NHASH_BLAKE2B = 0,
	NHASH_SHA256,
};

/* HASHLEN of kind (64 or 32), 0 for an unknown kind. */
size_t nhash_len(enum nhash_kind kind);

/* out = HASH(a || b). b may be NULL when blen is 0. out gets nhash_len(kind) bytes. */
WH_MUST_CHECK int nhash_hash(enum nhash_kind kind, uint8_t *out, const uint8_t *a, size_t alen,
			     const uint8_t *b, size_t blen);

/* out = HMAC-HASH(key, a || b). Any key length (long keys are hashed first). */
WH_MUST_CHECK int nhash_hmac(enum nhash_kind kind, uint8_t *out, const uint8_t *key, size_t key_len,
			     const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Noise HKDF(ck, ikm): out1, out2 and (if out3 != NULL) out3, each
 * nhash_len(kind) bytes. ck is nhash_len(kind) bytes; ikm_len may be 0
 * (then ikm may be NULL) or any length. Outputs may alias ck or ikm (both are
 * consumed before any output is written) but not each other. */
WH_MUST_CHECK int nhash_hkdf(enum nhash_kind kind, const uint8_t *ck, const uint8_t *ikm,
			     size_t ikm_len, uint8_t *out1, uint8_t *out2, uint8_t *out3);

/* BLAKE2b shorthands used by the session and cookie layers. */
WH_MUST_CHECK int nhash_blake2b(uint8_t out[NHASH_BLAKE2B_LEN], const uint8_t *a, size_t alen,
				const uint8_t *b, size_t blen);
WH_MUST_CHECK int nhash_hmac_blake2b(uint8_t out[NHASH_BLAKE2B_LEN], const uint8_t *key,
				     size_t key_len, const uint8_t *data, size_t data_len);
WH_MUST_CHECK int nhash_hkdf2(uint8_t out1[NHASH_BLAKE2B_LEN], uint8_t out2[NHASH_BLAKE2B_LEN],
			      const uint8_t ck[NHASH_BLAKE2B_LEN], const uint8_t *ikm,
			      size_t ikm_len);
WH_MUST_CHECK int nhash_hkdf3(uint8_t out1[NHASH_BLAKE2B_LEN], uint8_t out2[NHASH_BLAKE2B_LEN],
			      uint8_t out3[NHASH_BLAKE2B_LEN], const uint8_t ck[NHASH_BLAKE2B_LEN],
			      const uint8_t *ikm, size_t ikm_len);

#endif
