/* aead: per-packet ChaCha20-Poly1305 (IETF, RFC 8439 §2.8) with the Noise nonce
 * layout (Noise spec §12.3: 32 bits of zeros followed by the little-endian
 * 64-bit counter). Owns nothing; no allocation, no I/O. The detached libsodium
 * calls let the tag sit right after the ciphertext and allow in-place use.
 * It does not enforce nonce uniqueness: the session layer owns the counters. */
#include "proto/aead.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

_Static_assert(AEAD_KEY_LEN == crypto_aead_chacha20poly1305_IETF_KEYBYTES, "key length");
_Static_assert(AEAD_TAG_LEN == crypto_aead_chacha20poly1305_IETF_ABYTES, "tag length");
_Static_assert(AEAD_NONCE_LEN == crypto_aead_chacha20poly1305_IETF_NPUBBYTES, "nonce length");

void aead_nonce(uint8_t nonce[AEAD_NONCE_LEN], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++) {
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
	}
}

int aead_seal(const uint8_t key[AEAD_KEY_LEN], uint64_t counter, const uint8_t *ad, size_t ad_len,
	      const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	uint8_t nonce[AEAD_NONCE_LEN];

	if (pt_len > crypto_aead_chacha20poly1305_IETF_MESSAGEBYTES_MAX) {
		return -EMSGSIZE;
	}
	aead_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + pt_len, NULL, pt, pt_len,
							       ad, ad_len, NULL, nonce, key) != 0) {
		return -EIO;
	}
	return 0;
}

int aead_open(const uint8_t key[AEAD_KEY_LEN], uint64_t counter, const uint8_t *ad, size_t ad_len,
	      const uint8_t *ct, size_t ct_len, uint8_t *out)
{
	uint8_t nonce[AEAD_NONCE_LEN];
	size_t body_len;

	if (ct_len < AEAD_TAG_LEN) {
		return -EINVAL;
	}
	body_len = ct_len - AEAD_TAG_LEN;
	aead_nonce(nonce, counter);
	/* libsodium verifies the tag (in constant time) before it decrypts. */
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
		    out, NULL, ct, body_len, ct + body_len, ad, ad_len, nonce, key) != 0) {
		return -EBADMSG;
	}
	return 0;
}
