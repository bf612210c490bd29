/* test_noise: proto/noise between two of our own endpoints — IK end to end,
 * every supported pattern, psk modifier and hash, wrong keys, tampering at
 * every byte, truncation, low-order public keys, unsupported names, missing
 * keys, and calls out of turn. Byte-exact interop is tests/prog/noise_vectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/aead.h"
#include "proto/noise.h"

#define IK "Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define MSG_CAP 1024

struct peer {
	struct noise_keypair s;
	struct noise_handshake hs;
	uint8_t send_key[NOISE_KEY_LEN], recv_key[NOISE_KEY_LEN];
};

struct pair {
	struct peer ini, resp;
	uint8_t psk[NOISE_PSK_LEN];
};

static const char *const low_order_hex[] = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	/* the same points with the ignored top bit set (RFC 7748 §5) */
	"0000000000000000000000000000000000000000000000000000000000000080",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
};

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

/* The letters of the pattern: first for the initiator's static (N none, K known,
 * X/I sent), second for the responder's (N none, K known, X sent). One-way
 * patterns always have a responder static known to the initiator. */
static void pattern_letters(const char *name, char *li, char *lr)
{
	const char *p = name + strlen("Noise_");

	*li = p[0];
	*lr = (p[1] >= 'A' && p[1] <= 'Z') ? p[1] : 'K';
}

static int pair_init(struct pair *pr, const char *name, const uint8_t *ini_rs)
{
	char li, lr;
	bool has_psk = strstr(name, "psk") != NULL;
	int rc;

	pattern_letters(name, &li, &lr);
	assert_int_equal(noise_keypair_generate(&pr->ini.s), 0);
	assert_int_equal(noise_keypair_generate(&pr->resp.s), 0);
	randombytes_buf(pr->psk, sizeof(pr->psk));
	rc = noise_handshake_init(&pr->ini.hs, name, true, (const uint8_t *)"prologue", 8,
				  li != 'N' ? &pr->ini.s : NULL, NULL,
				  lr == 'K' ? (ini_rs != NULL ? ini_rs : pr->resp.s.pub) : NULL,
				  has_psk ? pr->psk : NULL);
	if (rc != 0) {
		return rc;
	}
	return noise_handshake_init(&pr->resp.hs, name, false, (const uint8_t *)"prologue", 8,
				    lr != 'N' ? &pr->resp.s : NULL, NULL,
				    li == 'K' ? pr->ini.s.pub : NULL, has_psk ? pr->psk : NULL);
}

/* Run messages until both sides complete; each carries a small payload. */
static int pair_handshake(struct pair *pr)
{
	uint8_t msg[MSG_CAP], payload[MSG_CAP];
	size_t msg_len, payload_len;
	struct peer *w = &pr->ini, *r = &pr->resp, *t;
	int rc;

	for (int i = 0; !noise_handshake_is_complete(&pr->ini.hs); i++) {
		char text[32];
		int n = snprintf(text, sizeof(text), "payload %d", i);

		rc = noise_write_message(&w->hs, (const uint8_t *)text, (size_t)n, msg, sizeof(msg),
					 &msg_len);
		if (rc != 0) {
			return rc;
		}
		rc = noise_read_message(&r->hs, msg, msg_len, payload, sizeof(payload),
					&payload_len);
		if (rc != 0) {
			return rc;
		}
		assert_int_equal(payload_len, (size_t)n);
		assert_memory_equal(payload, text, (size_t)n);
		t = w;
		w = r;
		r = t;
	}
	assert_true(noise_handshake_is_complete(&pr->resp.hs));
	return 0;
}

/* Both sides agree: hashes, remote statics, and split keys crosswise; one
 * transport packet each way opens on the other side. */
static void pair_check_complete(struct pair *pr, const char *name)
{
	uint8_t hi[NOISE_HASH_MAX], hr[NOISE_HASH_MAX], pkt[5 + AEAD_TAG_LEN], out[5];
	size_t li, lr;
	char ci, cr;
	const uint8_t *rs;

	pattern_letters(name, &ci, &cr);
	noise_handshake_hash(&pr->ini.hs, hi, &li);
	noise_handshake_hash(&pr->resp.hs, hr, &lr);
	assert_int_equal(li, strstr(name, "SHA256") != NULL ? 32 : 64);
	assert_int_equal(li, lr);
	assert_memory_equal(hi, hr, li);
	rs = noise_remote_static(&pr->resp.hs);
	if (ci == 'N') {
		assert_null(rs);
	} else {
		assert_non_null(rs);
		assert_memory_equal(rs, pr->ini.s.pub, 32);
	}
	rs = noise_remote_static(&pr->ini.hs);
	if (cr == 'N') {
		assert_null(rs);
	} else {
		assert_non_null(rs);
		assert_memory_equal(rs, pr->resp.s.pub, 32);
	}
	assert_int_equal(noise_split(&pr->ini.hs, pr->ini.send_key, pr->ini.recv_key), 0);
	assert_int_equal(noise_split(&pr->resp.hs, pr->resp.send_key, pr->resp.recv_key), 0);
	assert_memory_equal(pr->ini.send_key, pr->resp.recv_key, NOISE_KEY_LEN);
	assert_memory_equal(pr->ini.recv_key, pr->resp.send_key, NOISE_KEY_LEN);
	assert_memory_not_equal(pr->ini.send_key, pr->ini.recv_key, NOISE_KEY_LEN);
	assert_int_equal(aead_seal(pr->ini.send_key, 0, NULL, 0, (const uint8_t *)"hello", 5, pkt),
			 0);
	assert_int_equal(aead_open(pr->resp.recv_key, 0, NULL, 0, pkt, sizeof(pkt), out), 0);
	assert_int_equal(aead_seal(pr->resp.send_key, 0, NULL, 0, (const uint8_t *)"world", 5, pkt),
			 0);
	assert_int_equal(aead_open(pr->ini.recv_key, 0, NULL, 0, pkt, sizeof(pkt), out), 0);
	assert_memory_equal(out, "world", 5);
}

static void test_ik_handshake_completes_and_split_keys_match_crosswise(void **state)
{
	struct pair pr;

	(void)state;
	assert_int_equal(pair_init(&pr, IK, NULL), 0);
	assert_false(noise_handshake_is_complete(&pr.ini.hs));
	assert_null(noise_remote_static(&pr.resp.hs));
	assert_int_equal(pair_handshake(&pr), 0);
	pair_check_complete(&pr, IK);
	/* after split the secrets are gone but the identity stays readable */
	assert_true(sodium_is_zero(pr.ini.hs.ck, sizeof(pr.ini.hs.ck)));
	assert_true(sodium_is_zero(pr.ini.hs.e.priv, sizeof(pr.ini.hs.e.priv)));
	assert_true(sodium_is_zero(pr.ini.hs.s.priv, sizeof(pr.ini.hs.s.priv)));
	assert_non_null(noise_remote_static(&pr.resp.hs));
	noise_handshake_wipe(&pr.ini.hs);
	noise_handshake_wipe(&pr.resp.hs);
}

static void test_every_supported_pattern_psk_and_hash_completes(void **state)
{
	static const char *const bases[] = {"N",  "K",	"X",  "NN", "NK", "NX", "XN", "XK",
					    "XX", "KN", "KK", "KX", "IN", "IK", "IX"};
	static const char *const mods[] = {"", "psk0", "psk1", "psk2", "psk3", "psk0+psk2"};
	static const char *const hashes[] = {"BLAKE2b", "SHA256"};
	char name[96];
	int ran = 0;

	(void)state;
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		/* one-way: 1 message; X?: 3 messages; the rest: 2 */
		size_t n_msgs = strlen(bases[b]) == 1 ? 1 : (bases[b][0] == 'X' ? 3 : 2);
		for (size_t m = 0; m < sizeof(mods) / sizeof(mods[0]); m++) {
			/* pskN needs a message N (N >= 1) */
			size_t need = strlen(mods[m]) == 4 ? (size_t)(mods[m][3] - '0') : 2;
			if (strlen(mods[m]) > 0 && need > n_msgs) {
				continue;
			}
			for (size_t h = 0; h < 2; h++) {
				struct pair pr;
				snprintf(name, sizeof(name), "Noise_%s%s_25519_ChaChaPoly_%s",
					 bases[b], mods[m], hashes[h]);
				if (pair_init(&pr, name, NULL) != 0 || pair_handshake(&pr) != 0) {
					fail_msg("%s failed", name);
				}
				pair_check_complete(&pr, name);
				ran++;
			}
		}
	}
	assert_true(ran > 100);
}

static void test_ik_initiator_with_wrong_responder_key_fails_at_responder(void **state)
{
	struct pair pr;
	struct noise_keypair other;
	uint8_t msg[MSG_CAP], payload[MSG_CAP];
	size_t msg_len, payload_len;

	(void)state;
	assert_int_equal(noise_keypair_generate(&other), 0);
	assert_int_equal(pair_init(&pr, IK, other.pub), 0);
	assert_int_equal(noise_write_message(&pr.ini.hs, NULL, 0, msg, sizeof(msg), &msg_len), 0);
	assert_int_equal(noise_read_message(&pr.resp.hs, msg, msg_len, payload, sizeof(payload),
					    &payload_len),
			 -EBADMSG);
	/* the handshake is dead: nothing after the failure succeeds */
	assert_int_equal(noise_read_message(&pr.resp.hs, msg, msg_len, payload, sizeof(payload),
					    &payload_len),
			 -EPIPE);
	assert_int_equal(noise_write_message(&pr.resp.hs, NULL, 0, msg, sizeof(msg), &msg_len),
			 -EPIPE);
	assert_false(noise_handshake_is_complete(&pr.resp.hs));
	assert_true(sodium_is_zero(pr.resp.hs.s.priv, 32));
}

static void test_ikpsk2_with_different_psks_fails_at_initiator(void **state)
{
	struct pair pr;
	uint8_t msg[MSG_CAP], payload[MSG_CAP];
	size_t msg_len, payload_len;
	const char *name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";
	uint8_t other_psk[NOISE_PSK_LEN];

	(void)state;
	assert_int_equal(pair_init(&pr, name, NULL), 0);
	randombytes_buf(other_psk, sizeof(other_psk));
	assert_int_equal(noise_handshake_init(&pr.resp.hs, name, false, (const uint8_t *)"prologue",
					      8, &pr.resp.s, NULL, NULL, other_psk),
			 0);
	assert_int_equal(noise_write_message(&pr.ini.hs, NULL, 0, msg, sizeof(msg), &msg_len), 0);
	assert_int_equal(noise_read_message(&pr.resp.hs, msg, msg_len, payload, sizeof(payload),
					    &payload_len),
			 0);
	assert_int_equal(noise_write_message(&pr.resp.hs, NULL, 0, msg, sizeof(msg), &msg_len), 0);
	assert_int_equal(noise_read_message(&pr.ini.hs, msg, msg_len, payload, sizeof(payload),
					    &payload_len),
			 -EBADMSG);
}

/* Flip every byte of message `which` (0: initiator's, 1: responder's) in turn,
 * and also cut it short and extend it: the reader must reject each one. */
static void tamper_ik_message(int which)
{
	uint8_t good[MSG_CAP], bad[MSG_CAP], payload[MSG_CAP];
	size_t good_len, payload_len;
	struct pair base, pr;

	assert_int_equal(pair_init(&base, IK, NULL), 0);
	for (size_t i = 0; i <= 2 * MSG_CAP; i++) {
		pr = base; /* a plain struct: copying restarts from the same state */
		if (which == 1) {
			assert_int_equal(
				noise_write_message(&pr.ini.hs, NULL, 0, good, MSG_CAP, &good_len),
				0);
			assert_int_equal(noise_read_message(&pr.resp.hs, good, good_len, payload,
							    MSG_CAP, &payload_len),
					 0);
		}
		struct peer *w = which == 0 ? &pr.ini : &pr.resp;
		struct peer *r = which == 0 ? &pr.resp : &pr.ini;
		assert_int_equal(noise_write_message(&w->hs, (const uint8_t *)"secret payload", 14,
						     good, MSG_CAP, &good_len),
				 0);
		if (i > 2 * good_len) {
			break;
		}
		memcpy(bad, good, good_len);
		size_t bad_len = good_len;
		if (i < good_len) {
			bad[i] ^= 0x01; /* flip one byte (low bit) */
		} else if (i < 2 * good_len) {
			bad_len = i - good_len; /* truncated */
		} else {
			bad[good_len] = 0;
			bad_len = good_len + 1; /* extended */
		}
		int rc = noise_read_message(&r->hs, bad, bad_len, payload, MSG_CAP, &payload_len);
		if (rc != -EBADMSG) {
			fail_msg("message %d variant %zu: got %d, want -EBADMSG", which, i, rc);
		}
	}
}

static void test_tampered_ik_messages_fail_at_every_byte(void **state)
{
	(void)state;
	tamper_ik_message(0);
	tamper_ik_message(1);
}

static void test_low_order_public_keys_are_rejected(void **state)
{
	uint8_t bad_key[32], msg[MSG_CAP], payload[MSG_CAP];
	size_t msg_len, payload_len;
	struct noise_handshake hs;
	struct pair pr;

	(void)state;
	for (size_t i = 0; i < sizeof(low_order_hex) / sizeof(low_order_hex[0]); i++) {
		unhex(low_order_hex[i], bad_key, sizeof(bad_key));
		/* as a pinned remote static */
		assert_int_equal(pair_init(&pr, IK, NULL), 0);
		assert_int_equal(noise_handshake_init(&hs, IK, true, NULL, 0, &pr.ini.s, NULL,
						      bad_key, NULL),
				 -EINVAL);
		/* as the initiator's ephemeral on the wire: "es" at the responder */
		assert_int_equal(
			noise_write_message(&pr.ini.hs, NULL, 0, msg, sizeof(msg), &msg_len), 0);
		memcpy(msg, bad_key, 32);
		assert_int_equal(noise_read_message(&pr.resp.hs, msg, msg_len, payload,
						    sizeof(payload), &payload_len),
				 -EINVAL);
		/* as the responder's ephemeral: "ee" at the initiator (XX message 2) */
		assert_int_equal(pair_init(&pr, "Noise_XX_25519_ChaChaPoly_BLAKE2b", NULL), 0);
		assert_int_equal(
			noise_write_message(&pr.ini.hs, NULL, 0, msg, sizeof(msg), &msg_len), 0);
		assert_int_equal(noise_read_message(&pr.resp.hs, msg, msg_len, payload,
						    sizeof(payload), &payload_len),
				 0);
		assert_int_equal(
			noise_write_message(&pr.resp.hs, NULL, 0, msg, sizeof(msg), &msg_len), 0);
		memcpy(msg, bad_key, 32);
		assert_int_equal(noise_read_message(&pr.ini.hs, msg, msg_len, payload,
						    sizeof(payload), &payload_len),
				 -EINVAL);
	}
}

static void test_unsupported_protocol_names_are_rejected(void **state)
{
	static const char *const names[] = {
		"",
		"Noise",
		"Noise_IK",
		"Noise_IK_25519_ChaChaPoly",
		"Noise_IK_448_ChaChaPoly_BLAKE2b",
		"Noise_IK_25519_AESGCM_BLAKE2b",
		"Noise_IK_25519_ChaChaPoly_BLAKE2s",
		"Noise_IK_25519_ChaChaPoly_SHA512",
		"Noise_IK_25519_ChaChaPoly_BLAKE2b_",
		"Noise_IK_25519_ChaChaPoly_BLAKE2bX",
		"Noise_ZZ_25519_ChaChaPoly_BLAKE2b",
		"Noise_ik_25519_ChaChaPoly_BLAKE2b",
		"Noise_IKpsk4_25519_ChaChaPoly_BLAKE2b",
		"Noise_IKpsk3_25519_ChaChaPoly_BLAKE2b", /* IK has only two messages */
		"Noise_IKpsk1+psk1_25519_ChaChaPoly_BLAKE2b",
		"Noise_IKpsk1+_25519_ChaChaPoly_BLAKE2b",
		"Noise_IKpsk_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXfallback_25519_ChaChaPoly_BLAKE2b",
		"Noise_XXhfs_25519+Kyber1024_ChaChaPoly_BLAKE2b",
		"Noise_NK1_25519_ChaChaPoly_BLAKE2b",
		"NoiseX_IK_25519_ChaChaPoly_BLAKE2b",
	};
	struct noise_keypair kp;
	struct noise_handshake hs;
	uint8_t psk[32] = {1};

	(void)state;
	assert_int_equal(noise_keypair_generate(&kp), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int rc = noise_handshake_init(&hs, names[i], true, NULL, 0, &kp, NULL, kp.pub, psk);
		if (rc != -EPROTONOSUPPORT) {
			fail_msg("\"%s\": got %d, want -EPROTONOSUPPORT", names[i], rc);
		}
		/* a failed init leaves a dead handshake */
		assert_int_equal(noise_write_message(&hs, NULL, 0, NULL, 0, NULL), -EPIPE);
	}
	assert_int_equal(noise_handshake_init(&hs, NULL, true, NULL, 0, &kp, NULL, kp.pub, NULL),
			 -EPROTONOSUPPORT);
}

static void test_missing_or_unusable_keys_are_rejected(void **state)
{
	struct noise_keypair kp;
	struct noise_handshake hs;
	uint8_t psk[32] = {1};
	const char *xx = "Noise_XX_25519_ChaChaPoly_BLAKE2b";

	(void)state;
	assert_int_equal(noise_keypair_generate(&kp), 0);
	/* IK initiator: needs s and rs; responder: needs s, no rs */
	assert_int_equal(noise_handshake_init(&hs, IK, true, NULL, 0, &kp, NULL, NULL, NULL),
			 -EINVAL);
	assert_int_equal(noise_handshake_init(&hs, IK, true, NULL, 0, NULL, NULL, kp.pub, NULL),
			 -EINVAL);
	assert_int_equal(noise_handshake_init(&hs, IK, false, NULL, 0, NULL, NULL, NULL, NULL),
			 -EINVAL);
	assert_int_equal(noise_handshake_init(&hs, IK, true, NULL, 0, &kp, NULL, kp.pub, NULL), 0);
	/* a remote static the pattern transmits cannot be pinned */
	assert_int_equal(noise_handshake_init(&hs, xx, true, NULL, 0, &kp, NULL, kp.pub, NULL),
			 -EINVAL);
	/* psk: required by a psk name, refused by a name without one */
	assert_int_equal(noise_handshake_init(&hs, "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", true,
					      NULL, 0, &kp, NULL, NULL, NULL),
			 -EINVAL);
	assert_int_equal(noise_handshake_init(&hs, xx, true, NULL, 0, &kp, NULL, NULL, psk),
			 -EINVAL);
	assert_int_equal(noise_handshake_init_psks(&hs, "Noise_NNpsk0+psk2_25519_ChaChaPoly_SHA256",
						   true, NULL, 0, NULL, NULL, NULL, psk, 1),
			 -EINVAL);
	/* a prologue length without a prologue */
	assert_int_equal(noise_handshake_init(&hs, xx, true, NULL, 5, &kp, NULL, NULL, NULL),
			 -EINVAL);
}

static void test_calls_out_of_turn_fail_without_harm(void **state)
{
	uint8_t msg[MSG_CAP], payload[MSG_CAP], k1[32], k2[32];
	size_t msg_len, payload_len;
	struct pair pr;

	(void)state;
	assert_int_equal(pair_init(&pr, IK, NULL), 0);
	assert_int_equal(noise_write_message(&pr.resp.hs, NULL, 0, msg, sizeof(msg), &msg_len),
			 -EAGAIN);
	assert_int_equal(
		noise_read_message(&pr.ini.hs, msg, 48, payload, sizeof(payload), &payload_len),
		-EAGAIN);
	assert_int_equal(noise_split(&pr.ini.hs, k1, k2), -EAGAIN);
	/* too small an output buffer is reported before anything changes */
	assert_int_equal(noise_write_message(&pr.ini.hs, NULL, 0, msg, 95, &msg_len), -EMSGSIZE);
	assert_int_equal(
		noise_write_message(&pr.ini.hs, msg, NOISE_MAX_MSG, msg, sizeof(msg), &msg_len),
		-EMSGSIZE);
	assert_int_equal(pair_handshake(&pr), 0);
	assert_int_equal(noise_write_message(&pr.ini.hs, NULL, 0, msg, sizeof(msg), &msg_len),
			 -EAGAIN);
	assert_int_equal(noise_split(&pr.ini.hs, k1, k2), 0);
	assert_int_equal(noise_split(&pr.ini.hs, k1, k2), -EPIPE);
	assert_int_equal(noise_write_message(&pr.ini.hs, NULL, 0, msg, sizeof(msg), &msg_len),
			 -EPIPE);
}

static void test_payload_that_does_not_fit_the_reader_buffer_is_emsgsize(void **state)
{
	uint8_t msg[MSG_CAP], payload[MSG_CAP];
	size_t msg_len, payload_len;
	struct pair pr;

	(void)state;
	assert_int_equal(pair_init(&pr, IK, NULL), 0);
	assert_int_equal(noise_write_message(&pr.ini.hs, (const uint8_t *)"0123456789", 10, msg,
					     sizeof(msg), &msg_len),
			 0);
	assert_int_equal(msg_len, 32 + 48 + 10 + 16);
	assert_int_equal(noise_read_message(&pr.resp.hs, msg, msg_len, payload, 9, &payload_len),
			 -EMSGSIZE);
}

static void test_keypair_from_private_matches_generated_public_key(void **state)
{
	struct noise_keypair a, b;

	(void)state;
	assert_int_equal(noise_keypair_generate(&a), 0);
	assert_int_equal(noise_keypair_from_private(&b, a.priv), 0);
	assert_memory_equal(a.pub, b.pub, 32);
	assert_int_equal(noise_keypair_from_private(&b, b.priv), 0); /* priv may alias */
	assert_memory_equal(a.pub, b.pub, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ik_handshake_completes_and_split_keys_match_crosswise),
		cmocka_unit_test(test_every_supported_pattern_psk_and_hash_completes),
		cmocka_unit_test(test_ik_initiator_with_wrong_responder_key_fails_at_responder),
		cmocka_unit_test(test_ikpsk2_with_different_psks_fails_at_initiator),
		cmocka_unit_test(test_tampered_ik_messages_fail_at_every_byte),
		cmocka_unit_test(test_low_order_public_keys_are_rejected),
		cmocka_unit_test(test_unsupported_protocol_names_are_rejected),
		cmocka_unit_test(test_missing_or_unusable_keys_are_rejected),
		cmocka_unit_test(test_calls_out_of_turn_fail_without_harm),
		cmocka_unit_test(test_payload_that_does_not_fit_the_reader_buffer_is_emsgsize),
		cmocka_unit_test(test_keypair_from_private_matches_generated_public_key),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
