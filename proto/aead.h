/* aead: ChaCha20-Poly1305 (IETF, RFC 8439) with the Noise nonce layout.
 * The nonce is 4 zero bytes || little-endian u64 counter (Noise spec §12.3).
 * No allocation and no copies beyond the one in-place pass: the transport layer
 * calls these once per packet. */
#ifndef WH_AEAD_H
#define WH_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define AEAD_KEY_LEN 32
#define AEAD_TAG_LEN 16
#define AEAD_NONCE_LEN 12

/* Build the 12-byte IETF nonce for a Noise counter. */
void aead_nonce(uint8_t nonce[AEAD_NONCE_LEN], uint64_t counter);

/* Encrypt pt (pt_len bytes) under key and counter, authenticating ad.
 * out receives pt_len + AEAD_TAG_LEN bytes (ciphertext || tag); out may equal pt
 * (in place), other overlaps are not allowed. ad may be NULL when ad_len is 0.
 * Returns 0, -EMSGSIZE if pt_len is too large, or -EIO if libsodium fails. */
WH_MUST_CHECK int aead_seal(const uint8_t key[AEAD_KEY_LEN], uint64_t counter, const uint8_t *ad,
			    size_t ad_len, const uint8_t *pt, size_t pt_len, uint8_t *out);

/* Verify and decrypt ct (ct_len bytes = ciphertext || tag). out receives
 * ct_len - AEAD_TAG_LEN bytes and may equal ct. The tag is verified before
 * anything is written to out. Returns 0, -EINVAL if ct_len < AEAD_TAG_LEN, or
 * -EBADMSG if authentication fails. */
WH_MUST_CHECK int aead_open(const uint8_t key[AEAD_KEY_LEN], uint64_t counter, const uint8_t *ad,
			    size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *out);

#endif
