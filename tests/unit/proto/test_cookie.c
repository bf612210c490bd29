/* test_cookie: mac1 known answer, verify and tamper; the cookie reply round
 * trip that turns mac2 valid for one source address; cookie and secret
 * expiry with injected time. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/cookie.h"

#define SEC 1000000ull
#define T0 (500 * SEC)

static const uint8_t src_a[] = {203, 0, 113, 10, 0x1c, 0xe8};
static const uint8_t src_b[] = {203, 0, 113, 11, 0x1c, 0xe8};

struct fixture {
	uint8_t responder_pub[WIRE_KEY_LEN];
	struct cookie_checker checker; /* at the responder */
	struct cookie_maker maker;     /* at the initiator, for the responder */
	uint8_t msg[WIRE_INIT_LEN];
};

static void setup(struct fixture *f)
{
	randombytes_buf(f->responder_pub, sizeof(f->responder_pub));
	assert_int_equal(cookie_checker_init(&f->checker, f->responder_pub), 0);
	assert_int_equal(cookie_maker_init(&f->maker, f->responder_pub), 0);
	for (size_t i = 0; i < sizeof(f->msg); i++) {
		f->msg[i] = (uint8_t)i;
	}
}

static void teardown(struct fixture *f)
{
	cookie_checker_fini(&f->checker);
	cookie_maker_fini(&f->maker);
}

static void test_cookie_mac1_matches_its_definition(void **state)
{
	struct fixture f;
	uint8_t key[32];
	uint8_t want[16];
	crypto_generichash_state st;
	const size_t off = WIRE_INIT_LEN - 32;

	(void)state;
	setup(&f);
	assert_int_equal(cookie_add_macs(&f.maker, f.msg, sizeof(f.msg), T0), 0);
	/* mac1 = BLAKE2b-128(key = BLAKE2b-256("mac1----" || pub), msg[..mac1]) */
	assert_int_equal(crypto_generichash_init(&st, NULL, 0, sizeof(key)), 0);
	assert_int_equal(crypto_generichash_update(&st, (const uint8_t *)"mac1----", 8), 0);
	assert_int_equal(crypto_generichash_update(&st, f.responder_pub, 32), 0);
	assert_int_equal(crypto_generichash_final(&st, key, sizeof(key)), 0);
	assert_int_equal(crypto_generichash(want, sizeof(want), f.msg, off, key, sizeof(key)), 0);
	assert_memory_equal(f.msg + off, want, sizeof(want));
	/* No cookie yet: mac2 is zero. */
	for (size_t i = 0; i < 16; i++) {
		assert_int_equal(f.msg[off + 16 + i], 0);
	}
	teardown(&f);
}

static void test_cookie_mac1_verifies_and_any_tamper_fails(void **state)
{
	struct fixture f;
	struct cookie_checker other;
	uint8_t other_pub[WIRE_KEY_LEN];

	(void)state;
	setup(&f);
	assert_int_equal(cookie_add_macs(&f.maker, f.msg, sizeof(f.msg), T0), 0);
	assert_int_equal(cookie_check(&f.checker, f.msg, sizeof(f.msg), src_a, sizeof(src_a), T0),
			 COOKIE_VALID_MAC1);
	/* Every byte covered by mac1, and mac1 itself. */
	for (size_t i = 0; i < sizeof(f.msg) - 16; i++) {
		f.msg[i] ^= 0x40;
		assert_int_equal(
			cookie_check(&f.checker, f.msg, sizeof(f.msg), src_a, sizeof(src_a), T0),
			COOKIE_BAD_MAC1);
		f.msg[i] ^= 0x40;
	}
	/* A responder with another key rejects it; short messages too. */
	randombytes_buf(other_pub, sizeof(other_pub));
	assert_int_equal(cookie_checker_init(&other, other_pub), 0);
	assert_int_equal(cookie_check(&other, f.msg, sizeof(f.msg), src_a, sizeof(src_a), T0),
			 COOKIE_BAD_MAC1);
	assert_int_equal(cookie_check(&f.checker, f.msg, 32, src_a, sizeof(src_a), T0),
			 COOKIE_BAD_MAC1);
	assert_int_equal(cookie_add_macs(&f.maker, f.msg, 32, T0), -EINVAL);
	cookie_checker_fini(&other);
	teardown(&f);
}

static void test_cookie_reply_round_trip_makes_mac2_valid_for_that_source(void **state)
{
	uint8_t reply[WIRE_COOKIE_REPLY_LEN];
	struct fixture f;

	(void)state;
	setup(&f);
	assert_int_equal(cookie_add_macs(&f.maker, f.msg, sizeof(f.msg), T0), 0);
	assert_int_equal(cookie_reply_create(&f.checker, f.msg, sizeof(f.msg), 0x1234, src_a,
					     sizeof(src_a), T0, reply),
			 0);
	/* No amplification: the reply is never larger than the request. */
	assert_true(sizeof(reply) <= sizeof(f.msg));
	assert_int_equal(reply[0], WIRE_MSG_COOKIE_REPLY);
	assert_int_equal(reply[7], 0x34);
	assert_int_equal(cookie_on_reply(&f.maker, reply, sizeof(reply), T0), 0);
	/* The same reply again is refused: one reply per message. */
	assert_int_equal(cookie_on_reply(&f.maker, reply, sizeof(reply), T0), -EBADMSG);
	assert_int_equal(cookie_add_macs(&f.maker, f.msg, sizeof(f.msg), T0 + SEC), 0);
	assert_int_equal(
		cookie_check(&f.checker, f.msg, sizeof(f.msg), src_a, sizeof(src_a), T0 + SEC),
		COOKIE_VALID_MAC2);
	/* The cookie is bound to the source address. */
	assert_int_equal(
		cookie_check(&f.checker, f.msg, sizeof(f.msg), src_b, sizeof(src_b), T0 + SEC),
		COOKIE_VALID_MAC1);
	teardown(&f);
}

static void test_cookie_reply_tampered_or_for_another_message_is_refused(void **state)
{
	uint8_t reply[WIRE_COOKIE_REPLY_LEN];
	uint8_t bad[WIRE_COOKIE_REPLY_LEN];
	struct fixture f;

	(void)state;
	setup(&f);
	assert_int_equal(cookie_on_reply(&f.maker, f.msg, WIRE_COOKIE_REPLY_LEN, T0), -EPROTO);
	assert_int_equal(cookie_add_macs(&f.maker, f.msg, sizeof(f.msg), T0), 0);
	assert_int_equal(cookie_reply_create(&f.checker, f.msg, sizeof(f.msg), 1, src_a,
					     sizeof(src_a), T0, reply),
			 0);
	for (size_t i = 8; i < sizeof(reply); i++) {
		memcpy(bad, reply, sizeof(bad));
		bad[i] ^= 1;
		assert_int_equal(cookie_on_reply(&f.maker, bad, sizeof(bad), T0), -EBADMSG);
	}
	assert_int_equal(cookie_on_reply(&f.maker, reply, sizeof(reply) - 1, T0), -EPROTO);
	/* After we MAC a newer message, the reply to the old one no longer
	 * authenticates (its AD is the old mac1). */
	f.msg[10] ^= 1;
	assert_int_equal(cookie_add_macs(&f.maker, f.msg, sizeof(f.msg), T0), 0);
	assert_int_equal(cookie_on_reply(&f.maker, reply, sizeof(reply), T0), -EBADMSG);
	teardown(&f);
}

static void test_cookie_expires_with_the_rotating_secret(void **state)
{
	uint8_t reply[WIRE_COOKIE_REPLY_LEN];
	struct fixture f;
	const size_t off = WIRE_INIT_LEN - 16;
	const uint8_t zero[16] = {0};

	(void)state;
	setup(&f);
	assert_int_equal(cookie_add_macs(&f.maker, f.msg, sizeof(f.msg), T0), 0);
	assert_int_equal(cookie_reply_create(&f.checker, f.msg, sizeof(f.msg), 1, src_a,
					     sizeof(src_a), T0, reply),
			 0);
	assert_int_equal(cookie_on_reply(&f.maker, reply, sizeof(reply), T0), 0);
	/* Past the secret's 2 minutes the responder no longer accepts mac2. */
	assert_int_equal(cookie_add_macs(&f.maker, f.msg, sizeof(f.msg), T0 + SEC), 0);
	assert_int_equal(cookie_check(&f.checker, f.msg, sizeof(f.msg), src_a, sizeof(src_a),
				      T0 + WIRE_COOKIE_SECRET_MAX_AGE_US),
			 COOKIE_VALID_MAC1);
	/* And the initiator stops sending a stale cookie. */
	assert_int_equal(cookie_add_macs(&f.maker, f.msg, sizeof(f.msg), T0 + WIRE_COOKIE_VALID_US),
			 0);
	assert_memory_equal(f.msg + off, zero, 16);
	teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_mac1_matches_its_definition),
		cmocka_unit_test(test_cookie_mac1_verifies_and_any_tamper_fails),
		cmocka_unit_test(test_cookie_reply_round_trip_makes_mac2_valid_for_that_source),
		cmocka_unit_test(test_cookie_reply_tampered_or_for_another_message_is_refused),
		cmocka_unit_test(test_cookie_expires_with_the_rotating_secret),
	};

	if (sodium_init() < 0) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
