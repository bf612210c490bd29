/* test_aead: proto/aead — round trip, in-place use, every-bit tamper rejection,
 * the RFC 8439 §2.8.2 known answer (showing the variant is the IETF one with a
 * 96-bit nonce) and the Noise nonce layout (4 zero bytes || LE u64 counter). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/aead.h"

static const uint8_t rfc_key[32] = {
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
	0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
	0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};

static const char rfc_pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you only "
			     "one tip for the future, sunscreen would be it.";

/* RFC 8439 §2.8.2: ciphertext || tag. */
static const char rfc_ct_hex[] = "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
				 "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
				 "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
				 "3ff4def08e4b7a9de576d26586cec64b6116"
				 "1ae10b594f09e26a7e902ecbd0600691";

static void unhex(const char *hex, uint8_t *out, size_t len)
{
	size_t got = 0;

	assert_int_equal(sodium_hex2bin(out, len, hex, strlen(hex), NULL, &got, NULL), 0);
	assert_int_equal(got, len);
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void test_aead_matches_rfc8439_section_2_8_2(void **state)
{
	static const uint8_t nonce[12] = {0x07, 0,    0,    0,	  0x40, 0x41,
					  0x42, 0x43, 0x44, 0x45, 0x46, 0x47};
	static const uint8_t ad[12] = {0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1,
				       0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7};
	size_t pt_len = strlen(rfc_pt);
	uint8_t want[sizeof(rfc_pt) - 1 + AEAD_TAG_LEN];
	uint8_t got[sizeof(want)];
	unsigned long long got_len = 0;

	(void)state;
	unhex(rfc_ct_hex, want, sizeof(want));
	/* The raw IETF call: the original ChaCha20-Poly1305 has an 8-byte nonce
	 * and a different MAC input, so it could not produce this. */
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_encrypt(
				 got, &got_len, (const uint8_t *)rfc_pt, pt_len, ad, sizeof(ad),
				 NULL, nonce, rfc_key),
			 0);
	assert_int_equal(got_len, sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
}

static void test_aead_seal_uses_the_noise_nonce_layout(void **state)
{
	/* Independent answer (OpenSSL ChaCha20-Poly1305, nonce 00000000 ||
	 * 0807060504030201) for key 80..9f, counter 0x0102030405060708. */
	static const char want_hex[] = "83de9cd638b537b80b3cb7e0d702b43b89c42c8179a6e35c";
	uint8_t want[8 + AEAD_TAG_LEN], got[8 + AEAD_TAG_LEN], back[8];
	uint8_t nonce[AEAD_NONCE_LEN];
	static const uint8_t nonce_want[AEAD_NONCE_LEN] = {0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};

	(void)state;
	unhex(want_hex, want, sizeof(want));
	aead_nonce(nonce, 0x0102030405060708ull);
	assert_memory_equal(nonce, nonce_want, sizeof(nonce));
	assert_int_equal(aead_seal(rfc_key, 0x0102030405060708ull, (const uint8_t *)"ad", 2,
				   (const uint8_t *)"wormhole", 8, got),
			 0);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(aead_open(rfc_key, 0x0102030405060708ull, (const uint8_t *)"ad", 2, got,
				   sizeof(got), back),
			 0);
	assert_memory_equal(back, "wormhole", 8);
}

static void test_aead_round_trip_recovers_plaintext_in_place_and_apart(void **state)
{
	uint8_t key[AEAD_KEY_LEN], pt[300], buf[300 + AEAD_TAG_LEN], out[300];

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(pt, sizeof(pt));
	for (size_t len = 0; len <= sizeof(pt); len += 37) {
		assert_int_equal(aead_seal(key, len, pt, 5, pt, len, buf), 0);
		assert_int_equal(aead_open(key, len, pt, 5, buf, len + AEAD_TAG_LEN, out), 0);
		assert_memory_equal(out, pt, len);
		/* in place: out == pt for seal, out == ct for open */
		memcpy(buf, pt, len);
		assert_int_equal(aead_seal(key, 7, NULL, 0, buf, len, buf), 0);
		assert_int_equal(aead_open(key, 7, NULL, 0, buf, len + AEAD_TAG_LEN, buf), 0);
		assert_memory_equal(buf, pt, len);
	}
}

static void test_aead_rejects_every_single_bit_flip(void **state)
{
	uint8_t key[AEAD_KEY_LEN], pt[64], ct[64 + AEAD_TAG_LEN], out[64];

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(pt, sizeof(pt));
	assert_int_equal(aead_seal(key, 1, NULL, 0, pt, sizeof(pt), ct), 0);
	for (size_t bit = 0; bit < sizeof(ct) * 8; bit++) {
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(aead_open(key, 1, NULL, 0, ct, sizeof(ct), out), -EBADMSG);
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(aead_open(key, 1, NULL, 0, ct, sizeof(ct), out), 0);
}

static void test_aead_rejects_wrong_counter_key_or_ad(void **state)
{
	uint8_t key[AEAD_KEY_LEN], ct[10 + AEAD_TAG_LEN], out[10];

	(void)state;
	randombytes_buf(key, sizeof(key));
	assert_int_equal(
		aead_seal(key, 5, (const uint8_t *)"a", 1, (const uint8_t *)"0123456789", 10, ct),
		0);
	assert_int_equal(aead_open(key, 6, (const uint8_t *)"a", 1, ct, sizeof(ct), out), -EBADMSG);
	assert_int_equal(aead_open(key, 5, (const uint8_t *)"b", 1, ct, sizeof(ct), out), -EBADMSG);
	assert_int_equal(aead_open(key, 5, NULL, 0, ct, sizeof(ct), out), -EBADMSG);
	key[0] ^= 1;
	assert_int_equal(aead_open(key, 5, (const uint8_t *)"a", 1, ct, sizeof(ct), out), -EBADMSG);
}

static void test_aead_open_rejects_input_shorter_than_a_tag(void **state)
{
	uint8_t key[AEAD_KEY_LEN] = {0}, ct[AEAD_TAG_LEN] = {0}, out[1];

	(void)state;
	assert_int_equal(aead_open(key, 0, NULL, 0, ct, AEAD_TAG_LEN - 1, out), -EINVAL);
	assert_int_equal(aead_open(key, 0, NULL, 0, ct, 0, out), -EINVAL);
	/* an empty message with a wrong tag is an authentication failure */
	assert_int_equal(aead_open(key, 0, NULL, 0, ct, AEAD_TAG_LEN, out), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aead_matches_rfc8439_section_2_8_2),
		cmocka_unit_test(test_aead_seal_uses_the_noise_nonce_layout),
		cmocka_unit_test(test_aead_round_trip_recovers_plaintext_in_place_and_apart),
		cmocka_unit_test(test_aead_rejects_every_single_bit_flip),
		cmocka_unit_test(test_aead_rejects_wrong_counter_key_or_ad),
		cmocka_unit_test(test_aead_open_rejects_input_shorter_than_a_tag),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
