/* test_restarted: the restart notice (proto/restarted.h). The server's and
 * the client's ends derive one key; a notice under it reads back with its
 * stamp, and one under any other key, altered in any byte, cut short or
 * with a reserved bit set is refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/restarted.h"

struct keypair {
	uint8_t priv[WIRE_KEY_LEN];
	uint8_t pub[WIRE_KEY_LEN];
};

static struct keypair keypair(void)
{
	struct keypair k;

	randombytes_buf(k.priv, sizeof(k.priv));
	assert_int_equal(crypto_scalarmult_base(k.pub, k.priv), 0);
	return k;
}

static void test_restarted_both_ends_share_the_key_and_the_stamp(void **state)
{
	struct keypair server = keypair(), client = keypair(), other = keypair();
	uint8_t ks[WIRE_KEY_LEN], kc[WIRE_KEY_LEN], ko[WIRE_KEY_LEN];
	uint8_t notice[WIRE_RESTARTED_LEN];
	uint64_t stamp = 0;

	(void)state;
	assert_int_equal(restarted_key(ks, server.priv, client.pub), 0);
	assert_int_equal(restarted_key(kc, client.priv, server.pub), 0);
	assert_memory_equal(ks, kc, sizeof(ks));
	/* Another client's key is another key. */
	assert_int_equal(restarted_key(ko, server.priv, other.pub), 0);
	assert_memory_not_equal(ks, ko, sizeof(ks));

	restarted_write(notice, ks, 1764300000123456ull);
	assert_int_equal(notice[0], WIRE_MSG_RESTARTED);
	assert_int_equal(restarted_read(notice, sizeof(notice), kc, &stamp), 0);
	assert_int_equal(stamp, 1764300000123456ull);
	assert_int_equal(restarted_read(notice, sizeof(notice), ko, &stamp), -EBADMSG);
}

static void test_restarted_any_change_is_refused(void **state)
{
	struct keypair server = keypair(), client = keypair();
	uint8_t key[WIRE_KEY_LEN], notice[WIRE_RESTARTED_LEN], bad[WIRE_RESTARTED_LEN + 1];
	uint64_t stamp = 7;

	(void)state;
	assert_int_equal(restarted_key(key, server.priv, client.pub), 0);
	restarted_write(notice, key, 42);
	for (size_t i = 0; i < sizeof(notice); i++) {
		memcpy(bad, notice, sizeof(notice));
		bad[i] ^= 0x01;
		/* The type and reserved bytes are checked first, the rest by
		 * the mac. */
		assert_int_equal(restarted_read(bad, sizeof(notice), key, &stamp),
				 i < WIRE_MSG_TYPE_LEN ? -EPROTO : -EBADMSG);
	}
	memcpy(bad, notice, sizeof(notice));
	assert_int_equal(restarted_read(bad, sizeof(notice) - 1, key, &stamp), -EPROTO);
	assert_int_equal(restarted_read(bad, sizeof(notice) + 1, key, &stamp), -EPROTO);
	assert_int_equal(restarted_read(NULL, 0, key, &stamp), -EPROTO);
	assert_int_equal(stamp, 7); /* untouched */
}

static void test_restarted_a_low_order_key_has_no_secret(void **state)
{
	struct keypair server = keypair();
	static const uint8_t zero[WIRE_KEY_LEN];
	uint8_t key[WIRE_KEY_LEN];

	(void)state;
	memset(key, 0xaa, sizeof(key));
	assert_int_equal(restarted_key(key, server.priv, zero), -EINVAL);
	assert_memory_equal(key, zero, sizeof(key));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restarted_both_ends_share_the_key_and_the_stamp),
		cmocka_unit_test(test_restarted_any_change_is_refused),
		cmocka_unit_test(test_restarted_a_low_order_key_has_no_secret),
	};

	if (sodium_init() < 0) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
