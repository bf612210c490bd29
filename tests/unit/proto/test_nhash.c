/* test_nhash: proto/nhash — BLAKE2b and SHA-256 hashes of concatenations, the
 * hand-built HMAC against RFC 4231 and independent HMAC-BLAKE2b answers
 * (Python hmac + hashlib.blake2b), long keys, and HKDF's chaining rule. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/nhash.h"

static void unhex(const char *hex, uint8_t *out, size_t len)
{
	size_t got = 0;

	assert_int_equal(sodium_hex2bin(out, len, hex, strlen(hex), NULL, &got, NULL), 0);
	assert_int_equal(got, len);
}

static const uint8_t jefe[] = "Jefe";
static const uint8_t what[] = "what do ya want for nothing?";

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void test_nhash_blake2b_hashes_the_concatenation(void **state)
{
	uint8_t want[64], got[64];

	(void)state;
	unhex("ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
	      "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
	      want, sizeof(want));
	assert_int_equal(nhash_blake2b(got, (const uint8_t *)"a", 1, (const uint8_t *)"bc", 2), 0);
	assert_memory_equal(got, want, 64);
	assert_int_equal(nhash_blake2b(got, (const uint8_t *)"abc", 3, NULL, 0), 0);
	assert_memory_equal(got, want, 64);
}

static void test_nhash_hmac_sha256_matches_rfc4231_case_2(void **state)
{
	uint8_t want[32], got[32];

	(void)state;
	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want,
	      sizeof(want));
	assert_int_equal(nhash_hmac(NHASH_SHA256, got, jefe, 4, what, 28, NULL, 0), 0);
	assert_memory_equal(got, want, 32);
	/* split input gives the same MAC */
	assert_int_equal(nhash_hmac(NHASH_SHA256, got, jefe, 4, what, 10, what + 10, 18), 0);
	assert_memory_equal(got, want, 32);
}

static void test_nhash_hmac_blake2b_matches_independent_answers(void **state)
{
	uint8_t want[64], got[64], long_key[200];

	(void)state;
	unhex("6ff884f8ddc2a6586b3c98a4cd6ebdf14ec10204b6710073eb5865ade37a2643"
	      "b8807c1335d107ecdb9ffeaeb6828c4625ba172c66379efcd222c2de11727ab4",
	      want, sizeof(want));
	assert_int_equal(nhash_hmac_blake2b(got, jefe, 4, what, 28), 0);
	assert_memory_equal(got, want, 64);
	/* a key longer than BLOCKLEN (128) is hashed first */
	for (size_t i = 0; i < sizeof(long_key); i++) {
		long_key[i] = (uint8_t)i;
	}
	unhex("feb09eb5b1c557085c0a53bdf39ef7bc9af291f21d7c917cd1cf09542aab9536"
	      "2de79b3925fe55d92997423b5a68be1bda2f6518df34fa1053bb3ef559b08200",
	      want, sizeof(want));
	assert_int_equal(
		nhash_hmac_blake2b(got, long_key, sizeof(long_key), (const uint8_t *)"abc", 3), 0);
	assert_memory_equal(got, want, 64);
}

static void test_nhash_hmac_sha256_agrees_with_libsodium_for_all_key_lengths(void **state)
{
	uint8_t key[150], msg[77], got[32], want[32];
	crypto_auth_hmacsha256_state st;

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(msg, sizeof(msg));
	for (size_t kl = 0; kl <= sizeof(key); kl++) {
		assert_int_equal(crypto_auth_hmacsha256_init(&st, key, kl), 0);
		assert_int_equal(crypto_auth_hmacsha256_update(&st, msg, sizeof(msg)), 0);
		assert_int_equal(crypto_auth_hmacsha256_final(&st, want), 0);
		assert_int_equal(nhash_hmac(NHASH_SHA256, got, key, kl, msg, sizeof(msg), NULL, 0),
				 0);
		assert_memory_equal(got, want, 32);
	}
}

static void test_nhash_hkdf_follows_the_noise_chaining_rule(void **state)
{
	uint8_t ck[64], ikm[40], temp[64], o1[64], o2[64], o3[64], w1[64], w2[64], w3[64];
	const uint8_t one = 1, two = 2, three = 3;

	(void)state;
	randombytes_buf(ck, sizeof(ck));
	randombytes_buf(ikm, sizeof(ikm));
	assert_int_equal(nhash_hmac_blake2b(temp, ck, 64, ikm, sizeof(ikm)), 0);
	assert_int_equal(nhash_hmac_blake2b(w1, temp, 64, &one, 1), 0);
	assert_int_equal(nhash_hmac(NHASH_BLAKE2B, w2, temp, 64, w1, 64, &two, 1), 0);
	assert_int_equal(nhash_hmac(NHASH_BLAKE2B, w3, temp, 64, w2, 64, &three, 1), 0);
	assert_int_equal(nhash_hkdf3(o1, o2, o3, ck, ikm, sizeof(ikm)), 0);
	assert_memory_equal(o1, w1, 64);
	assert_memory_equal(o2, w2, 64);
	assert_memory_equal(o3, w3, 64);
	/* out1 may alias ck (MixKey writes the new chaining key over the old) */
	assert_int_equal(nhash_hkdf2(ck, o2, ck, ikm, sizeof(ikm)), 0);
	assert_memory_equal(ck, w1, 64);
	assert_memory_equal(o2, w2, 64);
}

static void test_nhash_rejects_unknown_kind(void **state)
{
	uint8_t out[64];

	(void)state;
	assert_int_equal(nhash_len((enum nhash_kind)7), 0);
	assert_int_equal(nhash_hash((enum nhash_kind)7, out, NULL, 0, NULL, 0), -EINVAL);
	assert_int_equal(nhash_hmac((enum nhash_kind)7, out, NULL, 0, NULL, 0, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nhash_blake2b_hashes_the_concatenation),
		cmocka_unit_test(test_nhash_hmac_sha256_matches_rfc4231_case_2),
		cmocka_unit_test(test_nhash_hmac_blake2b_matches_independent_answers),
		cmocka_unit_test(test_nhash_hmac_sha256_agrees_with_libsodium_for_all_key_lengths),
		cmocka_unit_test(test_nhash_hkdf_follows_the_noise_chaining_rule),
		cmocka_unit_test(test_nhash_rejects_unknown_kind),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
