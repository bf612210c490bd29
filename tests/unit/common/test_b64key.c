/* test_b64key: base64 X25519 keys, key files, fingerprints (common/b64key.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/b64key.h"
#include "common/diag.h"

/* A WireGuard-style key: 32 bytes 0x00..0x1f. */
static const char *const KEY_TEXT = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

static void fill_key(uint8_t key[32])
{
	for (int i = 0; i < 32; i++) {
		key[i] = (uint8_t)i;
	}
}

static void test_b64key_encodes_like_wireguard(void **state)
{
	uint8_t key[32];
	char text[B64KEY_TEXT_MAX];

	(void)state;
	fill_key(key);
	b64key_encode(key, text);
	assert_string_equal(text, KEY_TEXT);
	assert_int_equal(strlen(text), 44);
}

static void test_b64key_round_trips_every_byte_pattern(void **state)
{
	uint8_t key[32], back[32];
	char text[B64KEY_TEXT_MAX];

	(void)state;
	for (int seed = 0; seed < 256; seed++) {
		for (int i = 0; i < 32; i++) {
			key[i] = (uint8_t)(seed * 31 + i * 7);
		}
		b64key_encode(key, text);
		assert_int_equal(b64key_decode(text, back), 0);
		assert_memory_equal(key, back, 32);
	}
}

static void test_b64key_decode_trims_trailing_whitespace(void **state)
{
	char text[64];
	uint8_t key[32], want[32];

	(void)state;
	fill_key(want);
	snprintf(text, sizeof(text), "%s \t\r\n", KEY_TEXT);
	assert_int_equal(b64key_decode(text, key), 0);
	assert_memory_equal(key, want, 32);
}

static void test_b64key_decode_rejects_malformed_keys(void **state)
{
	static const char *const bad[] = {
		"",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",	 /* no padding */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==", /* too long */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==",	 /* 31 bytes */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",	 /* unused bits set */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-=",	 /* url-safe alphabet */
		" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", /* leading space */
		"AAECAwQFBgcICQoLDA0ODxAREhMU FRYXGBkaGxwdHh8=", /* inner space */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=x", /* trailing junk */
	};
	uint8_t key[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (b64key_decode(bad[i], key) != -EINVAL) {
			fail_msg("accepted \"%s\"", bad[i]);
		}
	}
	assert_int_equal(b64key_decode(NULL, key), -EINVAL);
}

/* RFC 7748 §6.1's low-order points (as the curve25519 literature lists
 * them: 0, 1, the two points of order 8, p-1, p, p+1) are refused; real
 * public keys are not. */
static void test_b64key_low_order_points_are_told_apart(void **state)
{
	static const char *const low[] = {
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=",
		"X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=",
		"7P///////////////////////////////////////38=",
		"7f///////////////////////////////////////38=",
		"7v///////////////////////////////////////38=",
	};
	uint8_t key[32];
	uint8_t sk[32];

	(void)state;
	for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
		assert_int_equal(b64key_decode(low[i], key), 0);
		assert_true(b64key_is_low_order(key));
	}
	fill_key(key);
	assert_false(b64key_is_low_order(key));
	for (int i = 0; i < 100; i++) {
		randombytes_buf(sk, sizeof(sk));
		assert_int_equal(crypto_scalarmult_base(key, sk), 0);
		assert_false(b64key_is_low_order(key));
	}
}

static void test_b64key_fingerprint_is_the_first_8_characters(void **state)
{
	uint8_t key[32];
	char fp[B64KEY_FINGERPRINT_MAX];

	(void)state;
	fill_key(key);
	b64key_fingerprint(key, fp);
	assert_string_equal(fp, "AAECAwQF");
}

/* Write text to a fresh temp file with the given mode; returns its path. */
static char *temp_key_file(const char *text, mode_t mode)
{
	char *path = strdup("/tmp/wh_test_b64key_XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void test_b64key_load_file_reads_a_key_and_reports_exposure(void **state)
{
	char text[64];
	char *path;
	uint8_t key[32], want[32];
	bool is_exposed = true;
	struct diag d;

	(void)state;
	fill_key(want);
	snprintf(text, sizeof(text), "%s\n", KEY_TEXT);
	path = temp_key_file(text, 0600);
	diag_clear(&d);
	assert_int_equal(b64key_load_file(path, key, &is_exposed, &d), 0);
	assert_memory_equal(key, want, 32);
	assert_false(is_exposed);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(b64key_load_file(path, key, &is_exposed, &d), 0);
	assert_true(is_exposed);
	assert_false(d.is_set);
	unlink(path);
	free(path);
}

/* A FIFO named as a key file is refused at once: opened blocking, the
 * daemon waited for a writer forever. */
static void test_b64key_load_file_refuses_a_fifo_without_waiting(void **state)
{
	char dir[] = "/tmp/b64key-fifo-XXXXXX";
	char path[64];
	uint8_t key[32];
	bool is_exposed;
	struct diag d;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k.key", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	diag_clear(&d);
	assert_true(b64key_load_file(path, key, &is_exposed, &d) < 0);
	assert_true(d.is_set);
	assert_non_null(strstr(d.msg, "not a regular file"));
	unlink(path);
	rmdir(dir);
}

static void test_b64key_load_file_names_the_file_on_error(void **state)
{
	char *path;
	uint8_t key[32];
	struct diag d;
	char want[256], got[DIAG_FILE_MAX + DIAG_MSG_MAX];

	(void)state;
	diag_clear(&d);
	assert_int_equal(b64key_load_file("/nonexistent/drone3.key", key, NULL, &d), -ENOENT);
	assert_string_equal(diag_format(&d, got, sizeof(got)),
			    "/nonexistent/drone3.key: cannot read: No such file or directory");
	path = temp_key_file("not a key\n", 0600);
	diag_clear(&d);
	assert_int_equal(b64key_load_file(path, key, NULL, &d), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a base64 X25519 key", path);
	assert_string_equal(diag_format(&d, got, sizeof(got)), want);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64key_encodes_like_wireguard),
		cmocka_unit_test(test_b64key_round_trips_every_byte_pattern),
		cmocka_unit_test(test_b64key_decode_trims_trailing_whitespace),
		cmocka_unit_test(test_b64key_decode_rejects_malformed_keys),
		cmocka_unit_test(test_b64key_low_order_points_are_told_apart),
		cmocka_unit_test(test_b64key_fingerprint_is_the_first_8_characters),
		cmocka_unit_test(test_b64key_load_file_reads_a_key_and_reports_exposure),
		cmocka_unit_test(test_b64key_load_file_refuses_a_fifo_without_waiting),
		cmocka_unit_test(test_b64key_load_file_names_the_file_on_error),
	};

	if (sodium_init() < 0) {
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
